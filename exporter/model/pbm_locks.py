"""PBM's locks and running operations, read defensively from admin.pbmLock, admin.pbmLockOp and admin.pbmRestores.

Shape and rules (percona/percona-backup-mongodb v2.15): a lock is pbm/lock/lock.go LockData {type, replset, node,
opid, epoch, hb}, its hb refreshed every 5 s by the agent that holds it; it is stale when hb.T + 30 < cluster time
(defs.StaleFrameSec), and PBM deletes a stale lock only when its next operation tries to take one (lock.go
Acquire). Backups, logical restores, resyncs and deletes lock admin.pbmLock; PITR slicing locks admin.pbmLockOp
(cmd/pbm-agent/pitr.go NewOpLock, type "pitr"). A physical restore releases its lock at once and pauses every
agent's heartbeat (cmd/pbm-agent/restore.go), so it shows only as a running admin.pbmRestores document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson.timestamp import Timestamp

from exporter.facts.observed import ReplicaSetFacts
from exporter.model.pbm_agents import STALE_FRAME_SEC

# pbm/defs/defs.go Status: a restore is over in one of these
RESTORE_DONE = {"done", "error", "cancelled", "partlyDone"}


@dataclass(frozen=True, slots=True)
class Lock:
    collection: str  # pbmLock or pbmLockOp
    type: str
    replset: str
    node: str
    opid: str
    heartbeat: int | None  # hb.T, cluster-time seconds

    def age(self, now: int) -> int | None:
        return None if self.heartbeat is None else max(0, now - self.heartbeat)

    def is_stale(self, now: int) -> bool:
        return self.heartbeat is None or self.heartbeat + STALE_FRAME_SEC < now

    def describe(self) -> str:
        where = f" on {self.replset}/{self.node}" if self.node else f" on {self.replset}" if self.replset else ""
        return f"{self.type or 'an operation'}{where} (opid {self.opid or '?'}, admin.{self.collection})"


def _lock(doc: Any, collection: str) -> Lock | None:
    if not isinstance(doc, dict):
        return None
    hb = doc.get("hb")

    def text(key: str) -> str:
        value = doc.get(key)
        return value if isinstance(value, str) else ""

    return Lock(collection, text("type"), text("replset"), text("node"), text("opid"),
                hb.time if isinstance(hb, Timestamp) else None)


def locks(facts: ReplicaSetFacts) -> list[Lock]:
    """Every lock PBM holds, both collections; unreadable collections give none (their error is the check's)."""
    found = [_lock(d, "pbmLock") for d in facts.locks.value or []]
    found += [_lock(d, "pbmLockOp") for d in facts.op_locks.value or []]
    return [lock for lock in found if lock is not None]


def running_physical_restore(facts: ReplicaSetFacts) -> dict[str, Any] | None:
    """The newest admin.pbmRestores document while a physical restore runs, else None."""
    restore = facts.last_restore.value
    if isinstance(restore, dict) and restore.get("type") in ("physical", "incremental") and \
            restore.get("status") not in RESTORE_DONE:
        return restore
    return None


def running_operations(facts: ReplicaSetFacts) -> set[str]:
    """The types of PBM's operations running now: fresh locks' types, and a physical restore."""
    now = facts.cluster_time.value
    out = {lock.type for lock in locks(facts) if now is not None and lock.type and not lock.is_stale(now)}
    if running_physical_restore(facts) is not None:
        out.add("restore")
    return out
