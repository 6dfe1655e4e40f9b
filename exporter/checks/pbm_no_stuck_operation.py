"""pbm_no_stuck_operation: PBM's newest backup, and newest logical restore, is not left running with no agent behind it
and no lock.

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

Restores: `pbm restore` judges a running restore by cmd/pbm/restore.go checkRestoreStale (v2.15.0): a logical one
(RestoreMeta.Type "logical", pbm/restore/types.go) whose `hb` (written every 5 s by pbm/restore/logical.go
RestoreHB) is more than 30 s (StaleFrameSec) older than the cluster time "operation staled, last heartbeat: <hb>".
The same is judged here on the newest admin.pbmRestores document (the exporter reads it anyway for pitr_resumable,
reused while no restore's lock shows), again only when no lock holds it, and it is a warning too: the next
operation takes the free lock. A physical restore's metadata lives on the storage while it runs (its heartbeat is
judged against the wall clock with a 3-minute frame, and admin.pbmRestores holds it only after a resync), so it is
not judged here. Whether PBM's catalogue was resynced after a physical restore is not judged either: the restore
empties pbmLog, pbmBackups and pbmRestores (pbm/restore/physical.go cleanUpPBMCollections), so nothing in MongoDB
tells that one ran until the resync brings its metadata back.
"""

from __future__ import annotations

from typing import Any

from bson.timestamp import Timestamp

from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_agents import STALE_FRAME_SEC
from exporter.model.pbm_locks import locks
from exporter.results.check_result import CheckResult, Status, failed, passed, skipped, unknown
from exporter.results.operations import NOTHING

CHECK = "pbm_no_stuck_operation"
MAY_BLOCK = NOTHING
FINAL = {"done", "error", "canceled"}  # status.go: these are never "stuck" (defs.StatusDone, StatusError, ...)
# waitRestore stops waiting at done, partlyDone and error (restore.go), and canceled is final for any operation
RESTORE_FINAL = {"done", "partlyDone", "error", "canceled"}


def _seconds(hb: Any) -> int | None:
    if isinstance(hb, Timestamp):
        return hb.time
    return None


def evaluate(inp: CheckInput) -> list[CheckResult]:
    backup, restore = _backup(inp), _restore(inp)
    failing = [r for r in (backup, restore) if r.status is Status.FAIL]
    if len(failing) == 2:
        return [failing[0]._replace(reason=f"{failing[0].reason}; and {failing[1].reason}",
                                    fix=f"{failing[0].fix}; {failing[1].fix}")]
    for status in (Status.FAIL, Status.UNKNOWN, Status.PASS):
        found = [r for r in (backup, restore) if r.status is status]
        if found:
            if status is Status.PASS and len(found) == 2:
                return [found[0]._replace(reason=f"{found[0].reason}; {found[1].reason}")]
            return [found[0]]
    return [backup._replace(reason=f"{backup.reason}, nor restore metadata")]


def _beating(inp: CheckInput, kind: str, name: str, status: str, doc: dict[str, Any]) -> CheckResult | tuple[int, int]:
    """An unfinished backup's or restore's metadata judged as `pbm status` does: passed while its lock holds it (the
    stale-lock check's case) or its heartbeat is fresh by the cluster time, unknown without either clock; else
    (its heartbeat's age, the heartbeat), for the caller to say how it is stuck."""
    facts, rs = inp.mongo, inp.view.replica_set
    if any(lock.opid and lock.opid == doc.get("opid") for lock in locks(facts)):
        return passed(CHECK, f"PBM's newest {kind} {name} is {status} and holds its lock (pbm_no_stale_lock judges "
                             f"it)", "", rs)
    now, hb = facts.cluster_time.value, _seconds(doc.get("hb"))
    if now is None:
        return unknown(CHECK, f"cannot read the cluster time: {facts.cluster_time.error}", "", rs)
    if hb is None:
        return unknown(CHECK, f"PBM's newest {kind} {name} is {status} with no heartbeat (hb) to judge it by", "", rs)
    age = now - hb
    if age <= STALE_FRAME_SEC:
        return passed(CHECK, f"PBM's newest {kind} {name} is {status}, its heartbeat {age} s old", "", rs)
    return age, hb


def _restore(inp: CheckInput) -> CheckResult:
    facts, rs = inp.mongo, inp.view.replica_set
    restore = facts.last_restore.value
    if facts.last_restore.error is not None:
        return unknown(CHECK, f"cannot read admin.pbmRestores: {facts.last_restore.error}", "", rs)
    if not isinstance(restore, dict):
        return skipped(CHECK, "PBM has no restore metadata", "", rs)
    name, status = str(restore.get("name") or "?"), restore.get("status")
    if not isinstance(status, str):
        return unknown(CHECK, f"PBM's newest restore {name} has no readable status", "", rs)
    if status in RESTORE_FINAL:
        return passed(CHECK, f"PBM's newest restore {name} is {status}", "", rs)
    if restore.get("type") != "logical":
        return passed(CHECK, f"PBM's newest restore {name} ({restore.get('type') or '?'}) is {status}: only a logical "
                             f"restore's heartbeat is judged by the cluster's clock", "", rs)
    judged = _beating(inp, "restore", name, status, restore)
    if isinstance(judged, CheckResult):
        return judged
    age, hb = judged
    return failed(
        CHECK, f"PBM's newest restore {name} (of {restore.get('backup') or '?'}) still says {status}, but its "
               f"heartbeat is {age} s old by the cluster's clock and no lock holds it: it is stuck (pbm restore "
               f"reports \"operation staled, last heartbeat: {hb}\"), nothing will finish it, and the data it was "
               f"restoring may be half restored (warning: the next operation runs)",
        f"Read why its agents stopped (pbm logs -e restore/{name} -t 0, journalctl -u pbm-agent), check the restored "
        f"data, and run the restore again", "", rs, NOTHING)


def _backup(inp: CheckInput) -> CheckResult:
    facts = inp.mongo
    rs = inp.view.replica_set
    backup = facts.last_backup.value
    if facts.last_backup.error is not None:
        return unknown(CHECK, f"cannot read admin.pbmBackups: {facts.last_backup.error}", "", rs)
    if not isinstance(backup, dict):
        return skipped(CHECK, "PBM has no backup metadata yet", "", rs)
    name, status = str(backup.get("name") or "?"), backup.get("status")
    if not isinstance(status, str):
        return unknown(CHECK, f"PBM's newest backup {name} has no readable status", "", rs)
    if status in FINAL:
        return passed(CHECK, f"PBM's newest backup {name} is {status}", "", rs)
    judged = _beating(inp, "backup", name, status, backup)
    if isinstance(judged, CheckResult):
        return judged
    age, _ = judged
    return failed(
        CHECK, f"PBM's newest backup {name} still says {status}, but its heartbeat is {age} s old by the cluster's "
               f"clock and no lock holds it: it is stuck (pbm status shows \"Backup stuck at `{status}` stage\"), "
               f"nothing will finish it, and it is no restore point (warning: the next backup runs)",
        f"Read why its agent stopped (pbm logs -e backup/{name} -t 0, journalctl -u pbm-agent on the node that ran "
        f"it), then remove it (pbm delete-backup {name}) and take a new backup", "", rs, NOTHING)
