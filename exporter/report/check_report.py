"""What `check` prints: a table for people, or JSON for scripts (the schema the status API will share)."""

from __future__ import annotations

import json
import shutil
from typing import Any

from exporter import __version__
from exporter.readiness.cluster_readiness import describe_blocks
from exporter.report.recoverability import recoverability_document, recoverability_line
from exporter.results.result_report import (
    READY_WORDS,
    check_document,
    failing,
    operations_document,
    operations_line,
    result_rows,
    summary,
    wrap,
)
from exporter.snapshots.cluster_snapshot import ClusterSnapshot, DiscoveryStatus


def cluster_document(snap: ClusterSnapshot) -> dict[str, Any]:
    return {
        "cluster": snap.cluster,
        "source": snap.source,
        "ready": snap.ready,
        "backup_mode": snap.backup_mode,
        "pitr_enabled": snap.pitr_enabled,
        "operations": operations_document(snap.operations),
        "recoverability": recoverability_document(snap.recoverability if snap.probe_success else None),
        "probes": [{"target": "mongodb", "success": snap.probe_success, "error": snap.probe_error,
                    "duration_seconds": round(snap.probe_duration, 3)}] + (
            [{"target": "pmm", "success": snap.pmm.success, "error": snap.pmm.error,
              "duration_seconds": round(snap.pmm.duration, 3), "pmm_version": snap.pmm.version}]
            if snap.pmm is not None else []),
        "last_probe_timestamp_seconds": snap.last_success_timestamp,
        "checks": [check_document(r) for r in snap.results],
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
                   if discovery.success else wrap(f"Discovery from PMM failed: {discovery.error}", width, "  ", ""))
        out.append("")
    for snap in snapshots:
        status = summary(snap.results) if snap.probe_success else f"probe failed: {snap.probe_error}"
        source = " (from PMM)" if snap.source == "pmm" else ""
        out.append(f"{snap.cluster}{source}: {READY_WORDS[snap.ready]} for {snap.backup_mode} backups"
                   f"{' and PITR' if snap.pitr_enabled else ''} ({status})")
        out.append(f"  operations: {operations_line(snap.operations)}")  # one line, so that it greps whole
        if snap.probe_success:
            out.append(wrap(f"recoverability: {recoverability_line(snap.recoverability)}", width, "    ", "  "))
        if not snap.probe_success:
            out.append(wrap("fix: check that the exporter can reach the cluster with the uri in its config "
                            "(network, firewall, user and password), then run check again", width, "    "))
        out += result_rows(snap.results, width, describe_blocks)
        out.append("")
    return "\n".join(out)


def exit_code(snapshots: list[ClusterSnapshot]) -> int:
    """0 when every check of every cluster passes; 1 when any fails or could not be evaluated."""
    return 1 if any(not snap.probe_success or failing(snap.results) for snap in snapshots) else 0
