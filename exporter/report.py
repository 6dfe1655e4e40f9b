"""What `check` prints: a table for people, or JSON for scripts (the schema the status API will share)."""

from __future__ import annotations

import json
import shutil
import textwrap
from typing import Any

from exporter import __version__
from exporter.checks import Status
from exporter.checks.readiness import describe_blocks
from exporter.snapshot import ClusterSnapshot, DiscoveryStatus

_ORDER = {Status.FAIL: 0, Status.UNKNOWN: 1, Status.PASS: 2, Status.SKIPPED: 3}
_READY = {True: "READY", False: "NOT READY", None: "UNKNOWN"}
OPERATION_STATES = {True: "ready", False: "blocked", None: "unknown"}  # the JSON's words, upper case in the table


def operations_line(snap: ClusterSnapshot) -> str:
    """"logical_backup READY · physical_backup UNKNOWN · ...": one readiness word per operation."""
    return " · ".join(f"{op} {OPERATION_STATES[state].upper()}" for op, state in snap.operations.items())


def cluster_document(snap: ClusterSnapshot) -> dict[str, Any]:
    return {
        "cluster": snap.cluster,
        "source": snap.source,
        "ready": snap.ready,
        "backup_mode": snap.backup_mode,
        "pitr_enabled": snap.pitr_enabled,
        "operations": {op: OPERATION_STATES[state] for op, state in snap.operations.items()},
        "probes": [{"target": "mongodb", "success": snap.probe_success, "error": snap.probe_error,
                    "duration_seconds": round(snap.probe_duration, 3)}] + (
            [{"target": "pmm", "success": snap.pmm.success, "error": snap.pmm.error,
              "duration_seconds": round(snap.pmm.duration, 3), "pmm_version": snap.pmm.version}]
            if snap.pmm is not None else []),
        "last_probe_timestamp_seconds": snap.last_success_timestamp,
        # blocks: for a failing result, the operations it blocks ([]: a warning); for an unknown one, those it would
        "checks": [{"check": r.check, "node": r.node, "replica_set": r.replica_set, "status": r.status.value,
                    "reason": r.reason, "fix": r.fix, "blocks": list(r.blocks)} for r in snap.results],
        "pbm_agents": [{"node": a.node, "replica_set": a.replica_set, "version": a.version,
                        "heartbeat_age_seconds": a.heartbeat_age} for a in snap.agents],
    }


def status_document(snapshots: list[ClusterSnapshot], discovery: DiscoveryStatus | None = None) -> dict[str, Any]:
    """What `check --output json` prints and /api/status serves."""
    document: dict[str, Any] = {"exporter_version": __version__}
    if discovery is not None:
        document["discovery"] = {"success": discovery.success, "error": discovery.error,
                                 "clusters": discovery.clusters,
                                 "last_success_timestamp_seconds": discovery.last_success_timestamp}
    document["clusters"] = [cluster_document(s) for s in sorted(snapshots, key=lambda s: s.cluster)]
    return document


def render_json(snapshots: list[ClusterSnapshot], discovery: DiscoveryStatus | None = None) -> str:
    return json.dumps(status_document(snapshots, discovery), indent=2)


def render_table(snapshots: list[ClusterSnapshot], width: int | None = None,
                 discovery: DiscoveryStatus | None = None) -> str:
    width = width or max(80, min(shutil.get_terminal_size((120, 24)).columns, 160))
    out: list[str] = []
    if discovery is not None:
        out.append(f"Discovery from PMM: {discovery.clusters} cluster{'s' if discovery.clusters != 1 else ''}"
                   if discovery.success else _wrap(f"Discovery from PMM failed: {discovery.error}", width, "  ", ""))
        out.append("")
    for snap in snapshots:
        counts = {s: sum(1 for r in snap.results if r.status is s) for s in Status}
        warnings = sum(1 for r in snap.results if r.warning)
        summary = (f"{counts[Status.PASS]} pass, {counts[Status.FAIL]} fail"
                   f"{f' ({warnings} warning{plural(warnings)})' if warnings else ''}, {counts[Status.UNKNOWN]} unknown"
                   if snap.probe_success else f"probe failed: {snap.probe_error}")
        source = " (from PMM)" if snap.source == "pmm" else ""
        out.append(f"{snap.cluster}{source}: {_READY[snap.ready]} for {snap.backup_mode} backups"
                   f"{' and PITR' if snap.pitr_enabled else ''} ({summary})")
        out.append(f"  operations: {operations_line(snap)}")  # one line, so that it greps whole
        if not snap.probe_success:
            out.append(_wrap("fix: check that the exporter can reach the cluster with the uri in its config "
                             "(network, firewall, user and password), then run check again", width, "    "))
        judged = [r for r in snap.results if r.status is not Status.SKIPPED]
        node_width = max([len(r.node) for r in judged] + [4])
        check_width = max([len(r.check) for r in judged] + [25])
        replica_sets = list(dict.fromkeys(r.replica_set for r in judged))
        for rs in replica_sets:  # a sharded cluster's shards and config servers each under their own heading
            rows = sorted((r for r in judged if r.replica_set == rs), key=lambda r: _ORDER[r.status])
            indent = "  "
            if len(replica_sets) > 1:
                out.append(f"  replica set {rs or '(unknown)'}:")
                indent = "    "
            for r in rows:
                head = f"{indent}{r.status.value.upper():<8} {r.check:<{check_width}} {r.node or '-':<{node_width}}  "
                out.append(_wrap(r.reason, width, " " * len(head), head))
                if r.status is Status.FAIL:
                    out.append(_wrap(describe_blocks(r), width, " " * len(head), " " * len(head)))
                if r.fix and r.status is Status.FAIL:
                    out.append(_wrap(r.fix, width, " " * (len(head) + 5), " " * len(head) + "fix: "))
        skipped: dict[str, list[str]] = {}  # said once per reason, not once per node and replica set
        for r in snap.results:
            if r.status is Status.SKIPPED and r.check not in skipped.setdefault(r.reason, []):
                skipped[r.reason].append(r.check)
        for reason, checks in skipped.items():
            out.append(_wrap(f"{', '.join(checks)}: {reason}", width, "           ", "  SKIPPED  "))
        out.append("")
    return "\n".join(out)


def plural(count: int) -> str:
    return "" if count == 1 else "s"


def _wrap(text: str, width: int, indent: str, first: str | None = None) -> str:
    return textwrap.fill(text, width, initial_indent=first if first is not None else indent,
                         subsequent_indent=indent, break_on_hyphens=False, break_long_words=False)


def exit_code(snapshots: list[ClusterSnapshot]) -> int:
    """0 when every check of every cluster passes; 1 when any fails or could not be evaluated."""
    for snap in snapshots:
        if not snap.probe_success or any(r.status in (Status.FAIL, Status.UNKNOWN) for r in snap.results):
            return 1
    return 0
