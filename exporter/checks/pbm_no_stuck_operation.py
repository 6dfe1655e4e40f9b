"""pbm_no_stuck_operation: PBM's newest backup is not left running with no agent behind it and no lock.

`pbm status` (cmd/pbm/status.go getStorageStat, v2.15.0) judges each backup's metadata in admin.pbmBackups: one
that is not done, error or canceled and whose heartbeat is stale, `bcp.Hb.T+defs.StaleFrameSec < now.T` (30 s,
pbm/defs/defs.go; now the cluster time, topo.GetClusterTime), is shown as "Backup stuck at `<status>` stage, last
beat ts: <hb>". The agent running a backup writes that heartbeat every 5 s (pbm/backup/backup.go Run,
query.go BackupHB). While the backup's lock is there, pbm_no_stale_lock judges it; this check looks at the case
that no lock shows: the lock is gone (removed by hand, or lost) and the metadata still says running. Nothing in
PBM marks such a backup failed (only a new operation taking over a stale *lock* does, cmd/pbm-agent/agent.go
acquireLock, markBcpStale), so it stays "running" for ever.

A warning: it blocks nothing (the next backup takes the free lock and runs), but that backup is no restore point,
and PMM's artifact for it ends in an error. It reads the newest pbmBackups document the exporter already reads
(probes/mongodb.py last_backup), with its `hb`: no extra read.

Restores (admin.pbmRestores, cmd/pbm/restore.go checkRestoreStale: a logical restore whose hb is 30 s older than
the cluster time) are not judged yet.
"""

from __future__ import annotations

from typing import Any

from bson.timestamp import Timestamp

from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_agents import STALE_FRAME_SEC
from exporter.model.pbm_locks import locks
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import NOTHING

CHECK = "pbm_no_stuck_operation"
MAY_BLOCK = NOTHING
FINAL = {"done", "error", "canceled"}  # status.go: these are never "stuck" (defs.StatusDone, StatusError, ...)


def _seconds(hb: Any) -> int | None:
    if isinstance(hb, Timestamp):
        return hb.time
    return None


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts = inp.mongo
    rs = inp.view.replica_set
    backup = facts.last_backup.value
    if facts.last_backup.error is not None:
        return [unknown(CHECK, f"cannot read admin.pbmBackups: {facts.last_backup.error}", "", rs)]
    if not isinstance(backup, dict):
        return [skipped(CHECK, "PBM has no backup metadata yet", "", rs)]
    name, status = str(backup.get("name") or "?"), backup.get("status")
    if not isinstance(status, str):
        return [unknown(CHECK, f"PBM's newest backup {name} has no readable status", "", rs)]
    if status in FINAL:
        return [passed(CHECK, f"PBM's newest backup {name} is {status}", "", rs)]
    held = [lock for lock in locks(facts) if lock.opid and lock.opid == backup.get("opid")]
    if held:
        return [passed(CHECK, f"PBM's newest backup {name} is {status} and holds its lock (pbm_no_stale_lock judges "
                              f"it)", "", rs)]
    now, hb = facts.cluster_time.value, _seconds(backup.get("hb"))
    if now is None:
        return [unknown(CHECK, f"cannot read the cluster time: {facts.cluster_time.error}", "", rs)]
    if hb is None:
        return [unknown(CHECK, f"PBM's newest backup {name} is {status} with no heartbeat (hb) to judge it by", "",
                        rs)]
    age = now - hb
    if age <= STALE_FRAME_SEC:
        return [passed(CHECK, f"PBM's newest backup {name} is {status}, its heartbeat {age} s old", "", rs)]
    return [failed(
        CHECK, f"PBM's newest backup {name} still says {status}, but its heartbeat is {age} s old by the cluster's "
               f"clock and no lock holds it: it is stuck (pbm status shows \"Backup stuck at `{status}` stage\"), "
               f"nothing will finish it, and it is no restore point (warning: the next backup runs)",
        f"Read why its agent stopped (pbm logs -e backup/{name} -t 0, journalctl -u pbm-agent on the node that ran "
        f"it), then remove it (pbm delete-backup {name}) and take a new backup", "", rs, NOTHING)]
