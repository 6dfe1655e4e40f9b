"""What PBM's agents do to their collections when an operation starts, as the simulated replica set shows it.

Read from PBM's source (percona/percona-backup-mongodb, v2.15):
- A backup: the cluster leader lists the steady agents first (cmd/pbm-agent/backup.go ListSteadyAgents), which runs
  AgentStatusGC: agent documents whose `hb` is older than cluster time - 35 s are deleted (pbm/topo/agent.go,
  "stalesec ... 35"). A stopped pbm-agent (it does not catch SIGTERM) so loses its document until it runs again.
  The agent that runs the backup holds the lock in admin.pbmLock (pbm/lock/lock.go LockData: type, replset, node,
  opid, epoch, hb; hb refreshed every 5 s) and the backup's metadata is in admin.pbmBackups (pbm/backup/types.go
  BackupMeta: name, opid, type, status, start_ts, last_transition_ts, size, replsets[{name, node, status}]).
- A physical restore: `pbm restore` inserts the command into admin.pbmCmd (pbm/ctrl/send.go, ctrl.Cmd {cmd:
  "restore", restore: RestoreCmd {name, backupName, fallbackEnabled, allowPartlyDone, external, ...}, ts}; its _id
  is the opid). The cluster leader turns PITR off in the config (cmd/pbm-agent/restore.go SetConfigVar
  "pitr.enabled" false), the primary's restore lock is released at once ("the lock gonna disappear after the
  restore"), every agent pauses its heartbeats (a.HbPause passed to PhysRestore.Snapshot) and then stops mongod
  (pbm/restore/physical.go flush). Its metadata goes to the storage only (PhysRestore.toState, dumpMeta), never to
  admin.pbmRestores (only a logical restore writes there: pbm/restore/logical.go SetRestoreMeta). On the restored
  data PBM empties its collections (physical.go cleanUpPBMCollections: pbmCmd, pbmLock, pbmBackups, pbmRestores,
  pbmAgents, ...); mongod and the agents are started again by hand (or by PMM).
- PITR: one agent per replica set slices the oplog, holding its lock in admin.pbmLockOp (cmd/pbm-agent/pitr.go
  NewOpLock, type "pitr") and writing a chunk to admin.pbmPITRChunks every span (pbm/oplog/chunk.go OplogChunk:
  rs, fname, compression, start_ts, end_ts, size; pitr.oplogSpanMin, 10 minutes by default).
- PITR pauses during a logical backup to the main storage (cmd/pbm-agent/backup.go wakes the slicer "to slice and
  pause the main PITR"; cmd/pbm-agent/pitr.go canSlicingNow returns ConcurrentOpError while that backup's lock is
  fresh, so no agent takes the pitr lock): the slicer's lock is gone and its last chunk ends at the backup's start.
  Afterwards pbm/slicer/slicer.go Catchup copies the backup's oplog into chunks, so the chunks run on without a hole.
  A stale backup lock pauses nothing (canSlicingNow: "lock is stale, PITR can ignore it").
- A crashed agent leaves its lock behind, its hb no longer refreshed: stale 30 s later.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bson import ObjectId, Timestamp

if TYPE_CHECKING:
    from .node import SimNode
    from .replset import SimReplicaSet

STALE_FRAME_SECS = 30  # pbm/defs/defs.go StaleFrameSec
AGENT_GC_SECS = 35  # pbm/topo/agent.go AgentStatusGC: max(3 * AgentsStatCheckRange, 35)
BACKUP_SIZE = 64 * 1024 * 1024  # what a finished backup's metadata says it holds (BackupMeta.size)


class PBMOperations:
    """The operations PBM runs on a cluster, played on its control replica set (the only one, or the CSRS, whose
    admin collections hold every agent's document, the locks and the backups)."""

    def __init__(self, rs: SimReplicaSet) -> None:
        self._rs = rs
        self._lock: dict[str, Any] | None = None
        self._lock_frozen_at: int | None = None  # a crashed holder: hb no longer refreshed
        self._backup: dict[str, Any] = {}  # the running backup: {type, profile, start}
        self._pitr: dict[str, Any] | None = None  # {since, span, crashed_at, opid}
        self._old_chunks: list[dict[str, Any]] = []  # chunks of an earlier slicing run, kept after stop_pitr
        rs.dynamic_collections[("admin", "pbmLock")] = self._lock_documents
        rs.dynamic_collections[("admin", "pbmLockOp")] = self._pitr_locks
        rs.dynamic_collections[("admin", "pbmPITRChunks")] = self._pitr_chunks
        rs.read_hooks[("admin", "pbmBackups")] = self._beat_backup

    def _members(self) -> Iterator[SimNode]:
        """Every member whose agent writes its document into this set's admin.pbmAgents."""
        rs = self._rs
        sets = ([rs] if rs.serves_own_agents else []) + list(rs.agent_sources)
        for each in sets:
            yield from each.members

    def _pitr_paused_since(self) -> int | None:
        """The start of the running logical backup to the main storage, while its lock is fresh: PITR is paused."""
        if self._lock is None or self._lock.get("type") != "backup" or self._backup.get("type") != "logical" or \
                self._backup.get("profile"):
            return None
        if self._lock_frozen_at is not None and \
                self._lock_frozen_at + STALE_FRAME_SECS < self._rs.cluster_time().time:
            return None
        return int(self._backup["start"])

    def _lock_documents(self) -> list[dict[str, Any]]:
        with self._rs.lock:
            if self._lock is None:
                return []
            hb = self._rs.cluster_time() if self._lock_frozen_at is None else Timestamp(self._lock_frozen_at, 1)
            return [{**self._lock, "hb": hb}]  # a running operation heartbeats its lock; a crashed one no more

    def _replica_sets(self) -> list[SimReplicaSet]:
        rs = self._rs
        return ([rs] if rs.serves_own_agents else []) + list(rs.agent_sources)

    def _pitr_locks(self) -> list[dict[str, Any]]:
        with self._rs.lock:
            if self._pitr is None or self._pitr_paused_since() is not None:
                return []  # paused by a logical backup: the slicer released its lock
            now = self._rs.cluster_time().time
            hb = now if self._pitr["crashed_at"] is None else self._pitr["crashed_at"]
            return [{"_id": ObjectId(), "type": "pitr", "replset": each.name,
                     "node": (each.members[1] if len(each.members) > 1 else each.members[0]).host,
                     "opid": self._pitr["opid"], "epoch": Timestamp(int(self._pitr["since"]) - 3600, 1),
                     "hb": Timestamp(int(hb), 1)} for each in self._replica_sets()]

    def _pitr_chunks(self) -> list[dict[str, Any]]:
        """One chunk per replica set for every span elapsed since slicing started (until it crashed)."""
        with self._rs.lock:
            if self._pitr is None:
                return self._old_chunks
            since, span = int(self._pitr["since"]), int(self._pitr["span"])
            until = self._pitr["crashed_at"] or self._rs.cluster_time().time
            paused = self._pitr_paused_since()
            if paused is not None:
                until = min(until, paused)
            chunks = []
            for each in self._replica_sets():
                for i in range(max(0, (int(until) - since) // span)):
                    start, end = since + i * span, since + (i + 1) * span
                    chunks.append({"_id": ObjectId(), "rs": each.name, "fname": f"pbmPitr/{each.name}/{start}.s2",
                                   "compression": "s2", "start_ts": Timestamp(start, 1), "end_ts": Timestamp(end, 1),
                                   "size": 1 << 20})
            return self._old_chunks + chunks

    def start_pitr(self, span_min: float = 10.0, since: float | None = None) -> None:
        """PITR slicing starts on every replica set (at `since`, cluster seconds; default now)."""
        with self._rs.lock:
            start = self._rs.cluster_time().time if since is None else since
            self._pitr = {"since": start, "span": span_min * 60, "crashed_at": None, "opid": str(ObjectId())}

    def configure_as_pmm(self, pitr: bool) -> None:
        """`pbm config --file` with the config PMM's jobs write before they run pbm (agent/runner/jobs/pbm_helpers.go
        createPBMConfig: the location's storage, and PITRConf{Enabled: pitr}): pitr=True before a PITR schedule's
        backup (mongodb_backup_job.go), False before every restore (mongodb_restore_job.go Run,
        createPBMConfig(..., false)). The storage is kept as configured here. With PITR off the slicers stop."""
        with self._rs.lock:
            config = self._rs.pbm_config if self._rs.pbm_config is not None else {}
            config["pitr"] = {**(config.get("pitr") or {}), "enabled": pitr}
            self._rs.pbm_config = config
        if not pitr:
            self.stop_pitr()

    def stop_pitr(self, crash: bool = False) -> None:
        """Slicing stops: a crash leaves the locks, no longer heartbeating, and writes no more chunks; a clean stop
        releases them. The chunks written so far stay."""
        with self._rs.lock:
            if self._pitr is None:
                return
            if crash:
                self._pitr["crashed_at"] = self._rs.cluster_time().time
                return
            self._old_chunks = self._pitr_chunks()
            self._pitr = None

    def _take_lock(self, kind: str, opid: str) -> None:
        primary = self._rs.primary
        self._lock = {"_id": ObjectId(), "type": kind, "replset": self._rs.name,
                      "node": primary.host if primary is not None else "", "opid": opid,
                      "epoch": Timestamp(int(self._rs.now_secs()) - 3600, 1)}  # the config's epoch, older

    def collect_stale_agents(self) -> list[str]:
        """AgentStatusGC: delete the documents of agents whose heartbeat is older than cluster time - 35 s; returns
        their hosts. A stopped agent writes it again only when it runs again (start_agent)."""
        with self._rs.lock:
            now = self._rs.cluster_time().time
            hbs = {d["n"]: d["hb"].time for d in self._rs.agent_documents() if isinstance(d.get("hb"), Timestamp)}
            gone = []
            for node in self._members():
                if node.agent is not None and hbs.get(node.host, now) < now - AGENT_GC_SECS:
                    node.agent.document_deleted = True
                    gone.append(node.host)
            return gone

    def start_backup(self, kind: str = "logical", name: str | None = None, profile: str = "") -> str:
        """A backup starts: stale agent documents are deleted, the lock is taken and the metadata written; returns
        the backup's opid. It runs (its lock heartbeating) until finish_backup(). `profile`: to that storage profile
        rather than the main storage."""
        with self._rs.lock:
            self.collect_stale_agents()
            now = int(self._rs.now_secs())
            opid = str(ObjectId())
            self._take_lock("backup", opid)
            self._backup = {"type": kind, "profile": profile, "start": int(self._rs.cluster_time().time)}
            # pbm/backup/types.go Storage: the storage's config.StorageConf inlined (credentials too, in clear text, as
            # PBM writes them), and for a profile its name and profile: true (the profile's storage: the main one here)
            conf = self._rs.pbm_config or {}
            storage: dict[str, Any] = conf.get("storage") or {}
            store: dict[str, Any] = {"name": profile, "profile": True} if profile else {}
            store.update({k: copy.deepcopy(v) for k, v in storage.items() if k == "type" or k == storage.get("type")})
            backups = [d for d in self._rs.collections.get(("admin", "pbmBackups"), []) if d.get("opid") != opid]
            node = self._lock["node"] if self._lock else ""
            primary = self._rs.primary
            # BackupMeta.MongoVersion: the running agent's mongod buildInfo version (cmd/pbm-agent/backup.go
            # bcp.SetMongoVersion(a.brief.Version.VersionString))
            # hb: BackupMeta.Hb, the cluster time BackupHB writes every 5 s while the backup runs
            # (pbm/backup/query.go); _beat_backup keeps it as fresh as the lock's
            version = primary.mongo_version if primary is not None else self._rs.mongo_version
            backups.append({"_id": ObjectId(), "name": name or f"backup-{now}", "opid": opid, "type": kind,
                            "status": "running", "start_ts": now, "last_transition_ts": now, "size": 0,
                            "store": store, "hb": self._rs.cluster_time(),
                            "mongodb_version": version,
                            "replsets": [{"name": self._rs.name, "node": node, "status": "running"}]})
            self._rs.collections[("admin", "pbmBackups")] = backups
            return opid

    def finish_backup(self, status: str = "done", error: str = "") -> None:
        """The running backup ends: done, or error with PBM's error text (e.g. the storage's AccessDenied)."""
        with self._rs.lock:
            if self._lock is None:
                return
            opid = self._lock["opid"]
            for doc in self._rs.collections.get(("admin", "pbmBackups"), []):
                if doc.get("opid") == opid:
                    doc.update(status=status, last_transition_ts=int(self._rs.now_secs()), hb=self._rs.cluster_time())
                    doc["size"] = BACKUP_SIZE if status == "done" else 0
                    for replset in doc.get("replsets") or []:
                        replset["status"] = status
                    if error:
                        doc["error"] = error
            self._lock, self._lock_frozen_at = None, None

    def _beat_backup(self) -> None:
        """Before pbmBackups is read: the running backup's hb as its agent last wrote it (fresh while the agent
        lives, frozen when it crashed; with no lock left, frozen where it was)."""
        with self._rs.lock:
            if self._lock is None or self._lock.get("type") != "backup":
                return
            hb = self._rs.cluster_time() if self._lock_frozen_at is None else Timestamp(self._lock_frozen_at, 1)
            for doc in self._rs.collections.get(("admin", "pbmBackups"), []):
                if doc.get("opid") == self._lock["opid"] and doc.get("status") == "running":
                    doc["hb"] = hb

    def drop_lock(self) -> None:
        """The lock document goes while the operation's metadata still says running (removed by hand from
        admin.pbmLock, or lost with the collection): nothing marks the backup stale then (only a new operation's
        lock.Acquire over a stale lock does, cmd/pbm-agent/agent.go acquireLock, markBcpStale)."""
        with self._rs.lock:
            self._beat_backup()
            self._lock, self._lock_frozen_at = None, None

    def crash_backup(self) -> None:
        """The agent running the backup dies: its lock stays, no longer heartbeating, the backup still running."""
        with self._rs.lock:
            if self._lock is not None:
                self._lock_frozen_at = self._rs.cluster_time().time

    def send_restore(self, backup: str, name: str | None = None) -> str:
        """`pbm restore <backup>`: the command in admin.pbmCmd (a capped collection, newest last); returns its name."""
        with self._rs.lock:
            now = self._rs.cluster_time().time
            name = name or datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.000000000Z")
            cmd = {"_id": ObjectId(), "cmd": "restore", "restore": {
                "name": name, "backupName": backup, "fallbackEnabled": None, "allowPartlyDone": None,
                "external": False, "extConf": {}, "extTS": Timestamp(0, 0), "exit": False}, "ts": now}
            self._rs.collections.setdefault(("admin", "pbmCmd"), []).append(cmd)
            return name

    def start_physical_restore(self, backup: str = "2026-12-01T00:00:00Z") -> str:
        """A physical restore of `backup` (its physical metadata is written to admin.pbmBackups when missing) starts
        and reaches the point where every agent pauses its heartbeats: PITR is turned off and no lock stays. mongod
        still runs until stop_mongod_for_restore(). Returns the restore's name."""
        with self._rs.lock:
            backups = self._rs.collections.setdefault(("admin", "pbmBackups"), [])
            if not any(d.get("name") == backup for d in backups):
                start = int(self._rs.now_secs()) - 86400
                backups.append({"_id": ObjectId(), "name": backup, "opid": str(ObjectId()), "type": "physical",
                                "status": "done", "start_ts": start, "last_transition_ts": start + 600,
                                "size": BACKUP_SIZE, "replsets": [{"name": self._rs.name, "status": "done"}]})
            name = self.send_restore(backup)
            if self._rs.pbm_config is not None and isinstance(self._rs.pbm_config.get("pitr"), dict):
                self._rs.pbm_config["pitr"]["enabled"] = False
            self.stop_pitr()
            now = self._rs.cluster_time().time
            for node in self._members():
                if node.agent is not None and node.agent.paused_at is None:
                    node.agent.paused_at = float(now)
            self._lock = None
            return name

    def stop_mongod_for_restore(self) -> None:
        """The restore's flush (pbm/restore/physical.go flush): mongod stops on every member but the arbiters, which
        take no part ("arbiter node. skip" in cmd/pbm-agent/restore.go)."""
        for node in list(self._members()):
            if not node.arbiter:
                node.stop()

    def finish_physical_restore(self) -> None:
        """The restore is over and mongod and the agents were started again: PBM's collections on the restored data
        were emptied (cleanUpPBMCollections), and the agents heartbeat again."""
        with self._rs.lock:
            for coll in ("pbmCmd", "pbmLock", "pbmBackups", "pbmRestores", "pbmPITRChunks"):
                self._rs.collections.pop(("admin", coll), None)
            self._lock, self._old_chunks = None, []
            nodes = list(self._members())
            for node in nodes:
                if node.agent is not None:
                    node.agent.paused_at = None
        for node in nodes:
            if not node.is_up:
                node.start()
