"""pitr_running: with PITR on in PBM's config, each replica set's PITR slicer runs and keeps writing oplog chunks.

PBM's rules (percona/percona-backup-mongodb v2.15): PITR is on when pbmConfig.pitr.enabled; one agent per replica
set slices the oplog, holding a lock in admin.pbmLockOp (cmd/pbm-agent/pitr.go NewOpLock, type "pitr", its hb
refreshed every 5 s, stale past 30 s) and writing a chunk to admin.pbmPITRChunks every oplog span (pbm/oplog/chunk.go
OplogChunk {rs, fname, compression, start_ts, end_ts, size}; pitr.oplogSpanMin, default 10 minutes:
pbm/config/config.go OplogSlicerInterval). A missing or stale lock, or a newest chunk older than the span plus a
margin by the cluster's clock, means the recovery window stopped growing: blocks pitr. Skipped while PITR is off.

Except while a logical backup to the main storage runs (its backup lock fresh): PBM pauses slicing on purpose for
the whole backup and afterwards turns the backup's oplog into chunks, so the window has no hole
(model/pbm_locks.py backup_pausing_pitr, from cmd/pbm-agent/pitr.go canSlicingNow and pbm/slicer/slicer.go
Catchup). The missing lock and the growing gap then pass, naming the backup; a stale backup lock pauses nothing.
"""

from __future__ import annotations

from bson.timestamp import Timestamp

from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_locks import backup_pausing_pitr, locks
from exporter.model.pbm_pitr_config import pitr_config, span_seconds
from exporter.results.check_result import CheckResult, failed, passed, unknown
from exporter.results.operations import PITR

CHECK = "pitr_running"
MAY_BLOCK = frozenset({PITR})
MARGIN_SEC = 120  # slicing, uploading and the agents' 5 s ticks
FIX = ("PITR slicing stopped: check the agents (pbm status shows the PITR state and its errors; pbm logs -e pitr), "
       "fix what they report (often the storage, or a node's pbm-agent), then take a new backup from PMM, since PITR "
       "needs a base backup after the gap")


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, rs = inp.mongo, inp.view.replica_set
    config, cannot = pitr_config(CHECK, facts, rs)
    if cannot:
        return cannot
    now = facts.cluster_time.value
    for fact, name in ((facts.op_locks, "admin.pbmLockOp"), (facts.pitr_chunks, "admin.pbmPITRChunks")):
        if fact.error is not None:
            return [unknown(CHECK, f"cannot read {name}: {fact.error}", "", rs)]
    if now is None:
        return [unknown(CHECK, "the server returned no cluster time", "", rs)]
    span = span_seconds(config)
    lock = next((lk for lk in locks(facts) if lk.type == "pitr" and lk.replset == rs), None)
    chunk = next((c for c in facts.pitr_chunks.value or [] if c.get("rs") == rs), None)
    end = chunk.get("end_ts") if chunk else None
    gap = now - end.time if isinstance(end, Timestamp) else None
    problems = []
    if lock is None:
        problems.append(f"no PITR slicer runs for {rs} (no pitr lock in admin.pbmLockOp)")
    elif lock.is_stale(now):
        problems.append(f"the PITR slicer of {rs} on {lock.node or '?'} stopped: its lock's last heartbeat was "
                        f"{lock.age(now)} s ago (stale after 30 s)")
    if gap is not None and gap > span + MARGIN_SEC:
        problems.append(f"the newest oplog chunk of {rs} ends {gap} s ago, more than the {span} s span plus "
                        f"{MARGIN_SEC} s: a point-in-time restore cannot reach the last {gap} s")
    if problems:
        pausing = backup_pausing_pitr(facts)
        if pausing is not None:
            backup, meta = pausing
            if meta is None:
                return [unknown(CHECK, f"a backup runs ({backup.describe()}) but its admin.pbmBackups document could "
                                       f"not be read: PBM pauses PITR during a logical backup, so the slicer's state "
                                       f"cannot be judged until it ends ({'; '.join(problems)})", "", rs, {PITR})]
            named = meta.get("name")
            name = named if isinstance(named, str) and named else backup.opid or "?"
            return [passed(CHECK, f"PITR slicing of {rs} is paused by the running logical backup {name}, as PBM does "
                                  f"for every logical backup to the main storage; PBM resumes it when the backup ends "
                                  f"and fills the window from the backup's oplog", "", rs)]
        return [failed(CHECK, "; ".join(problems), FIX, "", rs, {PITR})]
    if gap is None:
        assert lock is not None
        return [unknown(CHECK, f"the PITR slicer of {rs} runs on {lock.node or '?'} but has written no chunk yet "
                               f"(the first comes after one {span} s span)", "", rs)]
    assert lock is not None
    return [passed(CHECK, f"PITR slicing runs on {lock.node or '?'}; the newest chunk of {rs} ends {gap} s ago "
                          f"(span {span} s)", "", rs)]
