"""pmm_restore_supported: the restores PMM itself refuses, or cannot finish, through PMM (whatever PBM could do).

Rules (PMM v3.9.0, managed/services/backup/backup_service.go checkArtifactModePreconditions and checkArtifactMode;
PMM's docs, backup/mongodb-backup/mongodb_limitations.md), and what each blocks:
- An artifact of a sharded cluster: `if artifact.IsShardedCluster { ... "artifact %q was made for a sharded cluster
  and cannot be restored from UI" }`. The restore of the newest successful artifact's data model is blocked when
  the config expects restores from PMM (restore_from_pmm: true); otherwise the reason only names the `pbm restore`
  command to use, as supported_configuration does for the cluster.
- A PITR artifact on a filesystem location: checkArtifactMode demands a time for a PITR artifact ("requires 'time'
  parameter to be restored to"), and checkArtifactModePreconditions refuses any time on a location that is not S3
  ("point in time recovery available only for S3 locations"): PMM cannot restore it at all. It blocks the
  point-in-time restore through PMM, which PMM runs as the PITR artifact's (logical) restore; it blocks
  logical_restore when the cluster has no logical snapshot artifact PMM could restore instead, else a warning.
- A physical restore of a replica set with an arbiter (PMM's docs: "not supported with arbiter nodes"), or of
  members PMM registers on container nodes (PMM's docs: "NO support for containerized deployments"; the
  restore's last step, jobs.go runMongoPostRestore, restarts mongod and pbm-agent through each pmm-agent's
  RestartSystemService action, systemd, which a container does not run): blocks physical_restore, judged when the
  cluster takes physical backups or PMM holds a successful physical artifact of it.
"""

from __future__ import annotations

from typing import Any

from exporter.facts.pmm_indexes import ByKey, newest_restorable
from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import ServiceMatch, match_members, usable_pmm
from exporter.model.pmm_schedules import location_type, our_artifacts, our_services
from exporter.results.check_result import CheckResult, failed, passed
from exporter.results.operations import LOGICAL_RESTORE, NOTHING, PHYSICAL_RESTORE, RESTORES

CHECK = "pmm_restore_supported"
MAY_BLOCK = RESTORES
CONTAINER = "container"  # the inventory list a container node comes in (probes/pmm.py: "kind")


def _describe(artifact: dict[str, Any]) -> str:
    model = str(artifact.get("data_model") or "LOGICAL").lower()
    mode = " PITR" if artifact.get("mode") == "PITR" else ""
    return f"{artifact.get('name') or artifact.get('artifact_id')!r} ({model}{mode}, {artifact.get('created_at', '?')})"


def _restore_of(artifact: dict[str, Any]) -> str:
    return PHYSICAL_RESTORE if artifact.get("data_model") == "PHYSICAL" else LOGICAL_RESTORE


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = usable_pmm(CHECK, inp, "services", "artifacts", "locations", "nodes")
    if isinstance(pmm, list):
        return pmm
    service_ids = [s.get("service_id") for s in our_services(inp)]
    done = [a for a in our_artifacts(inp) if a.get("status") == "SUCCESS"]
    problems: list[tuple[str, str, frozenset[str]]] = []  # (reason, fix, operations it blocks)
    notes: list[str] = []
    if inp.control:  # the artifacts are the cluster's: judged once
        _artifact_rules(inp, done, service_ids, problems, notes)
    if inp.settings.backup_mode == "physical" or any(a.get("data_model") == "PHYSICAL" for a in done):
        _physical_rules(inp, pmm.inventory.nodes, problems)
    if problems:
        reason = "; ".join(p[0] for p in problems)
        fix = " ".join(f"{i}. {p[1]}." for i, p in enumerate(problems, 1)) if len(problems) > 1 else problems[0][1]
        return [failed(CHECK, reason, fix, "", rs, frozenset().union(*(p[2] for p in problems)))]
    note = f" ({'; '.join(notes)})" if notes else ""
    return [passed(CHECK, f"nothing PMM refuses to restore{note}", "", rs)]


def _artifact_rules(inp: CheckInput, done: list[dict[str, Any]], service_ids: list[Any],
                    problems: list[tuple[str, str, frozenset[str]]], notes: list[str]) -> None:
    newest = newest_restorable(done, service_ids)
    if newest is not None and newest.get("is_sharded_cluster"):
        what = (f"PMM cannot restore the newest artifact {_describe(newest)} through PMM: it was made for a sharded "
                f"cluster (\"cannot be restored from UI\", checkArtifactModePreconditions)")
        fix = ("Restore it with the PBM CLI on a host that reaches the cluster: pbm restore <backup name> (pbm list "
               "names it; PMM's artifact points to the same backup)")
        if inp.settings.restore_from_pmm:
            problems.append((what + ", and the config says restore_from_pmm: true", fix + ", and set "
                             "restore_from_pmm: false for this cluster", frozenset({_restore_of(newest)})))
        else:
            notes.append(f"sharded artifact {_describe(newest)}: restore it with pbm restore, not through PMM")
    pitr_fs = [a for a in done if a.get("mode") == "PITR" and not a.get("is_sharded_cluster")
               and location_type(inp, a.get("location_id")) == "filesystem"]
    if pitr_fs:
        snapshots = [a for a in done if a.get("mode") != "PITR" and a.get("data_model") != "PHYSICAL"
                     and not a.get("is_sharded_cluster")]
        instead = (f"; a logical snapshot ({_describe(max(snapshots, key=lambda a: str(a.get('created_at') or '')))})"
                   f" can still be restored through PMM (warning)") if snapshots else ""
        names = ", ".join(f"{_describe(a)} on location {a.get('location_name') or a.get('location_id')!r}"
                          for a in pitr_fs[:3])
        problems.append((
            f"PMM cannot restore the PITR artifact {names} through PMM: a PITR artifact restores only to a point in "
            f"time, and PMM restores to a point in time only from S3 locations (\"point in time recovery available "
            f"only for S3 locations\", checkArtifactModePreconditions){instead}",
            "Restore to a point in time with the PBM CLI instead (pbm restore --time=YYYY-MM-DDTHH:MM:SS, with the "
            "backup folder mounted on every node), or move the PITR schedule to an S3 location in PMM",
            NOTHING if snapshots else frozenset({LOGICAL_RESTORE})))


def _physical_rules(inp: CheckInput, nodes: ByKey[dict[str, Any]],
                    problems: list[tuple[str, str, frozenset[str]]]) -> None:
    members = inp.view.members or ()
    arbiters = [m.host for m in members if m.arbiter]
    if arbiters:
        problems.append((
            f"PMM cannot run a physical restore of this replica set through PMM: it has arbiter nodes "
            f"({', '.join(arbiters)}), which PMM's docs do not support for physical restores",
            "Restore with the PBM CLI, stopping the arbiters by hand as PBM's docs say, or replace each arbiter "
            "with a data-bearing member (rs.remove() it, then rs.add() a secondary)", frozenset({PHYSICAL_RESTORE})))
    matches = match_members(inp)
    contained = []
    for member in members:
        service = matches.get(member.host, ServiceMatch(None)).service
        node = nodes.get(service.get("node_id")) if service is not None else None
        if isinstance(node, dict) and node.get("kind") == CONTAINER:
            contained.append(f"{member.host} (service {service.get('service_name') if service else '?'})")
    if contained:
        problems.append((
            f"PMM cannot finish a physical restore through PMM on container nodes ({', '.join(contained)}): it "
            f"restarts mongod and pbm-agent through systemd on each node (runMongoPostRestore), and PMM's docs give "
            f"no support for containerized deployments",
            "Restore with the PBM CLI and restart mongod and pbm-agent yourself, or use logical backups and restores "
            "for this cluster", frozenset({PHYSICAL_RESTORE})))
