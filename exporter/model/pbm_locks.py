"""PBM's locks and running operations, read defensively from admin.pbmLock, admin.pbmLockOp and admin.pbmCmd.

Shape and rules (percona/percona-backup-mongodb v2.15): a lock is pbm/lock/lock.go LockData {type, replset, node,
opid, epoch, hb}, its hb refreshed every 5 s by the agent that holds it; it is stale when hb.T + 30 < cluster time
(defs.StaleFrameSec), and PBM deletes a stale lock only when its next operation tries to take one (lock.go
Acquire). Backups, logical restores, resyncs and deletes lock admin.pbmLock; PITR slicing locks admin.pbmLockOp
(cmd/pbm-agent/pitr.go NewOpLock, type "pitr").

A physical restore (HEAD 6f9fc3bf; the same in v2.0.1, v2.5.0 and v2.9.0) leaves little in MongoDB: the primary's
agent releases its restore lock at once (cmd/pbm-agent/restore.go: "the lock gonna disappear after the restore"),
every agent pauses its heartbeat (HbPause passed to PhysRestore.Snapshot) and then stops mongod
(pbm/restore/physical.go flush), and the restore's metadata goes only to the storage (PhysRestore.toState,
dumpMeta; `pbm restore` itself reads it there, cmd/pbm/restore.go waitForRestoreStatus GetPhysRestoreMeta). Only a
logical restore writes admin.pbmRestores (pbm/restore/logical.go SetRestoreMeta, under IsLeader). What stays is the
command: `pbm restore` inserts it into admin.pbmCmd (pbm/ctrl/send.go; ctrl.Cmd {cmd: "restore", restore:
RestoreCmd {name, backupName, external}}), and the backup it names has a physical, incremental or external type in
admin.pbmBackups. So a physical restore runs while the newest command is such a restore and an agent's heartbeat is
stale (paused). It ends when the restarted agents heartbeat again; the restored data also comes back with pbmCmd
emptied (v2.9.0 and HEAD physical.go cleanUpPBMCollections) or as it was at the backup (before).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson.timestamp import Timestamp

from exporter.facts.observed import ReplicaSetFacts
from exporter.model.pbm_agents import STALE_FRAME_SEC

# pbm/defs/defs.go BackupType: the backups a physical restore restores (cmd/pbm-agent/restore.go)
PHYSICAL_BACKUP_TYPES = {"physical", "incremental", "external"}
# pbm/defs/defs.go Status.IsRunning: a backup is over in one of these
BACKUP_DONE = {"done", "error", "canceled"}


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


def _agent_paused(facts: ReplicaSetFacts) -> bool:
    now = facts.cluster_time.value
    return now is None or any(not isinstance(d, dict) or not isinstance(d.get("hb"), Timestamp) or
                              d["hb"].time + STALE_FRAME_SEC < now for d in facts.agents.value or [])


def running_physical_restore(facts: ReplicaSetFacts) -> dict[str, Any] | None:
    """The newest admin.pbmCmd command's restore ({name, backupName, ...}) while a physical restore runs, else None."""
    command = facts.last_command.value
    restore = command.get("restore") if isinstance(command, dict) and command.get("cmd") == "restore" else None
    if not isinstance(restore, dict) or not _agent_paused(facts):
        return None
    backup = facts.restore_backup.value
    physical = restore.get("external") is True or (
        isinstance(backup, dict) and backup.get("name") == restore.get("backupName") and
        backup.get("type") in PHYSICAL_BACKUP_TYPES)
    return restore if physical else None


def running_operations(facts: ReplicaSetFacts) -> set[str]:
    """The types of PBM's operations running now: fresh locks' types, and a physical restore."""
    now = facts.cluster_time.value
    out = {lock.type for lock in locks(facts) if now is not None and lock.type and not lock.is_stale(now)}
    if running_physical_restore(facts) is not None:
        out.add("restore")
    return out


def backup_pausing_pitr(facts: ReplicaSetFacts) -> tuple[Lock, dict[str, Any] | None] | None:
    """A running logical backup to the main storage, which pauses PITR slicing on every replica set: its fresh lock
    and its admin.pbmBackups document (None when that could not be read or names no such backup), else None.

    PBM (percona/percona-backup-mongodb HEAD 6f9fc3bf): cmd/pbm-agent/backup.go wakes the slicer for
    `cmd.Type == defs.LogicalBackup && cmd.Profile == ""` ("This will slice and pause the main PITR"; v2.6.0 to
    v2.12.x for every logical backup); cmd/pbm-agent/pitr.go canSlicingNow then skips stale locks ("lock is stale,
    PITR can ignore it") and returns ConcurrentOpError for a backup lock whose BackupMeta has `Type ==
    defs.LogicalBackup && Store.IsSameStorage(main storage)` (Store.Equal from v2.6.0, so a profile's backup lets
    slicing resume at the next tick there too), so pitr() logs "oplog slicer is paused" and takes no pitr lock; then
    pbm/slicer/slicer.go Catchup copies the backup's oplog into chunks (copyReplsetOplog), leaving no hole. v2.5.0
    (cmd/pbm-agent/restore.go canSlicingNow) pauses for any logical backup, with no profiles to tell apart. A
    profile's backup carries store.profile=true (pbm/backup/types.go Storage.IsProfile); its storage is taken as
    not the main one (comparing the two would mean reading the credentials). A stale lock never pauses here: on
    v2.6+ PBM resumes slicing, and before that the slicer really stays stopped, which pitr_running reports.
    """
    now = facts.cluster_time.value
    if now is None:
        return None
    metas = {d.get("opid"): d for d in facts.backups.value or [] if isinstance(d, dict)}
    unread: tuple[Lock, None] | None = None
    for lock in locks(facts):
        if lock.collection != "pbmLock" or lock.type != "backup" or lock.is_stale(now):
            continue
        meta = metas.get(lock.opid)
        if meta is None:
            unread = unread or (lock, None)
            continue
        store = meta.get("store")
        profile = isinstance(store, dict) and store.get("profile") is True
        if meta.get("type") == "logical" and not profile and meta.get("status") not in BACKUP_DONE:
            return lock, meta
    return unread
