"""What PBM's agents do to their collections when an operation starts, as the simulated replica set shows it.

Read from PBM's source (percona/percona-backup-mongodb, v2.15):
- A backup: the cluster leader lists the steady agents first (cmd/pbm-agent/backup.go ListSteadyAgents), which runs
  AgentStatusGC: agent documents whose `hb` is older than cluster time - 35 s are deleted (pbm/topo/agent.go,
  "stalesec ... 35"). A stopped pbm-agent (it does not catch SIGTERM) so loses its document until it runs again.
  The agent that runs the backup holds the lock in admin.pbmLock (pbm/lock/lock.go LockData: type, replset, node,
  opid, epoch, hb; hb refreshed every 5 s) and the backup's metadata is in admin.pbmBackups (pbm/backup/types.go
  BackupMeta, every field it writes without omitempty: type opid name replsets compression store size
  size_uncompressed mongodb_version fcv start_ts last_transition_ts first_write_ts last_write_ts hb status conditions
  n pbm_version balancer; nss, src_backup and error only when set. Backup.Init (pbm/backup/backup.go) writes both
  write timestamps as Timestamp(1, 1) until the backup sets them, conditions as [{timestamp: start_ts, status}]
  (saveBackupMeta), and every state change $sets `error` (possibly "") and $pushes a condition (changeBackupState).
- A physical restore: `pbm restore` inserts the command into admin.pbmCmd (pbm/ctrl/send.go, ctrl.Cmd {cmd:
  "restore", restore: RestoreCmd {name, backupName, fallbackEnabled, allowPartlyDone, external, ...}, ts}; its _id
  is the opid). The cluster leader turns PITR off in the config (cmd/pbm-agent/restore.go SetConfigVar
  "pitr.enabled" false), the primary's restore lock is released at once ("the lock gonna disappear after the
  restore"), every agent pauses its heartbeats (a.HbPause passed to PhysRestore.Snapshot) and then stops mongod
  (pbm/restore/physical.go flush). Its metadata goes to the storage only (PhysRestore.toState, dumpMeta), never to
  admin.pbmRestores (only a logical restore writes there: pbm/restore/logical.go SetRestoreMeta, a RestoreMeta of
  pbm/restore/types.go: status name opid backup bcp_chain start_pitr pitr replsets hb start_ts last_transition_ts
  conditions type, with replsets[] RestoreReplset: name start_ts status committed_txn txn_set partial_txn op
  last_transition_ts last_write_ts conditions hb stat). On the restored
  data PBM empties its collections (physical.go cleanUpPBMCollections: pbmCmd, pbmLock, pbmBackups, pbmRestores,
  pbmAgents, ...); mongod and the agents are started again by hand (or by PMM).
- PITR: one agent per replica set slices the oplog, holding its lock in admin.pbmLockOp (cmd/pbm-agent/pitr.go
  NewOpLock, type "pitr") and writing a chunk to admin.pbmPITRChunks every span (pbm/oplog/chunk.go OplogChunk:
  rs, fname, compression, start_ts, end_ts, size; pitr.oplogSpanMin, 10 minutes by default). In a sharded cluster
  every shard's and the config servers' chunks are in the CSRS's collection. A hole (the oplog rolled over, an agent
  down: pbm/slicer/slicer.go) is a span with no chunk for that replica set; retention (`pbm cleanup`,
  pbm/resync/...DeletePITR) deletes the oldest chunks.
- PITR pauses during a logical backup to the main storage (cmd/pbm-agent/backup.go wakes the slicer "to slice and
  pause the main PITR"; cmd/pbm-agent/pitr.go canSlicingNow returns ConcurrentOpError while that backup's lock is
  fresh, so no agent takes the pitr lock): the slicer's lock is gone and its last chunk ends at the backup's start.
  Afterwards pbm/slicer/slicer.go Catchup copies the backup's oplog into chunks, so the chunks run on without a hole.
  A stale backup lock pauses nothing (canSlicingNow: "lock is stale, PITR can ignore it").
- A crashed agent leaves its lock behind, its hb no longer refreshed: stale 30 s later.
- PITR starting (again): an agent that takes up slicing first runs pbm/slicer/slicer.go Slicer.Catchup (v2.15.0),
  which needs the last backup (pbm/backup/query.go GetLastBackup: the newest done, non-selective, non-external one
  to the main storage) to cover the replica set and to be newer than the last done restore (pbm/restore/query.go
  GetLastRestore). When it is not, the agent logs to admin.pbmLog, every pitrCheckPeriod (15 s), the pbm/log Entry
  {ts, ns, tz, s: 1 (Error), rs, node, e: "pitr", eobj: "", ep: the config's epoch, msg: "init: catchup: ..."}
  (cmd/pbm-agent/pitr.go PITR) and tries again; when it starts, the slicer logs "start_ok" at Debug (s: 4) with
  the same keys (Slicer.Stream, LogStartMsg). In a sharded cluster these go to the CSRS's pbmLog.
"""

from __future__ import annotations

import bisect
import copy
import datetime
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bson import Int64, ObjectId, Timestamp

if TYPE_CHECKING:
    from .node import SimNode
    from .replset import SimReplicaSet

STALE_FRAME_SECS = 30  # pbm/defs/defs.go StaleFrameSec
AGENT_GC_SECS = 35  # pbm/topo/agent.go AgentStatusGC: max(3 * AgentsStatCheckRange, 35)
BACKUP_SIZE = 64 * 1024 * 1024  # what a finished backup's metadata says it holds (BackupMeta.size)
PBM_VERSION = "2.12.0"  # BackupMeta.pbm_version: version.Current() of the agent that ran the backup
TERMINAL = ("done", "error", "cancelled", "partlyDone")  # pbm/defs: a backup in these no longer heartbeats
PITR_CHECK_PERIOD = 15  # cmd/pbm-agent/pitr.go pitrCheckPeriod: how often an agent retries starting PITR
LOG_HISTORY = 600  # the seconds of repeated errors kept (pbmLog is capped; pbm_log.HISTORY)


def chunk_document(replset: str, start: int, end: int) -> dict[str, Any]:
    """pbm/oplog/chunk.go OplogChunk: rs fname compression start_ts end_ts size (no omitempty)."""
    return {"_id": ObjectId(), "rs": replset, "fname": f"pbmPitr/{replset}/{start}.s2", "compression": "s2",
            "start_ts": Timestamp(start, 1), "end_ts": Timestamp(end, 1), "size": 1 << 20}


def condition(ts: int, status: str, error: str = "") -> dict[str, Any]:
    """pbm/backup/types.go Condition: timestamp, status, error (omitempty)."""
    return {"timestamp": ts, "status": status, **({"error": error} if error else {})}


def backup_document(name: str, opid: str, kind: str, status: str, start: int, end: int | None, hb: int,
                    replsets: list[tuple[str, str]], store: dict[str, Any], mongo_version: str, fcv: str,
                    balancer: str, error: str = "", nss: list[str] | None = None) -> dict[str, Any]:
    """A BackupMeta as PBM writes it (pbm/backup/types.go, PBM 2.x): every field without omitempty, and nss, error
    only when set. `replsets`: (name, node) that ran it. `end`: when it reached `status` (None: still running).
    Its data ends at last_write_ts, which PBM sets while the backup runs (SetFirstWrite, SetLastWrite: before its
    upload ends), Timestamp(1, 1) as Backup.Init writes them until then: so a backup that ended (done, or in error
    in its upload, the usual failure) carries both."""
    done = status == "done" and end is not None
    first, last = (Timestamp(start, 1), Timestamp(end, 1)) if end is not None else \
        (Timestamp(1, 1), Timestamp(1, 1))
    ended = end if end is not None else start
    conds = [condition(start, "starting"), condition(start, "running")]
    if end is not None:
        conds.append(condition(end, status, error))
    size = BACKUP_SIZE if done else 0
    doc: dict[str, Any] = {
        "_id": ObjectId(), "type": kind, "opid": opid, "name": name}
    if nss:
        doc["nss"] = list(nss)
    doc.update({
        "replsets": [{"name": rs, "start_ts": start, "status": status if end is not None else "running",
                      "size": size // max(1, len(replsets)), "size_uncompressed": 2 * size // max(1, len(replsets)),
                      "last_transition_ts": ended, "first_write_ts": first, "last_write_ts": last, "node": node,
                      "conditions": conds[1:2] + conds[2:]} for rs, node in replsets],
        "compression": "s2", "store": store, "size": size, "size_uncompressed": 2 * size,
        "mongodb_version": mongo_version, "fcv": fcv, "start_ts": start, "last_transition_ts": ended,
        "first_write_ts": first, "last_write_ts": last, "hb": Timestamp(hb, 1), "status": status,
        "conditions": conds, "n": [{"rs": rs, "n": [node], "ack": node} for rs, node in replsets],
        # changeBackupState $sets error on every state change, so it is there ("" when none) once the backup runs
        "error": error, "pbm_version": PBM_VERSION, "balancer": balancer})
    return doc


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
        self._holes: list[tuple[str, int, int]] = []  # (replica set, from, to): no chunk overlaps the span
        self._retained_from = 0  # retention deleted every chunk that ends before this cluster second
        self._chunk_cache: tuple[Any, list[dict[str, Any]]] | None = None
        self._chunk_count = 0  # the chunks per replica set of the running slicer in `_chunk_cache`
        # the index pbm-agent creates, unique {rs: 1, start_ts: 1, end_ts: 1} (cmd/pbm-agent/setup.go, v2.15.0):
        # per replica set, its chunks in that order and their start_ts as (time, inc), to bisect on
        self._chunk_index: dict[str, tuple[list[tuple[int, int]], list[dict[str, Any]]]] = {}
        rs.dynamic_collections[("admin", "pbmLock")] = self._lock_documents
        rs.dynamic_collections[("admin", "pbmLockOp")] = self._pitr_locks
        rs.dynamic_collections[("admin", "pbmPITRChunks")] = self._pitr_chunks
        rs.dynamic_indexes[("admin", "pbmPITRChunks")] = self._chunk_scan
        rs.read_hooks[("admin", "pbmBackups")] = self._beat_backup
        self._restore: dict[str, Any] | None = None  # the running logical restore's RestoreMeta
        self._pitr_log: list[dict[str, Any]] = []  # entries logged once ("start_ok")
        self._refused: dict[str, tuple[int, str, str]] = {}  # replica set -> (since, node, message): Catchup fails
        self._pitr_span = 10.0
        rs.dynamic_collections[("admin", "pbmRestores")] = self._running_restore

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

    def _slicing_sets(self) -> list[SimReplicaSet]:
        """The replica sets whose slicer runs (all, or those whose Catchup passed, see enable_pitr)."""
        only = self._pitr.get("sets") if self._pitr is not None else None
        return [each for each in self._replica_sets() if only is None or each.name in only]

    def _pitr_locks(self) -> list[dict[str, Any]]:
        with self._rs.lock:
            if self._pitr is None or self._pitr_paused_since() is not None:
                return []  # paused by a logical backup: the slicer released its lock
            now = self._rs.cluster_time().time
            hb = now if self._pitr["crashed_at"] is None else self._pitr["crashed_at"]
            return [{"_id": ObjectId(), "type": "pitr", "replset": each.name,
                     "node": (each.members[1] if len(each.members) > 1 else each.members[0]).host,
                     "opid": self._pitr["opid"], "epoch": Timestamp(int(self._pitr["since"]) - 3600, 1),
                     "hb": Timestamp(int(hb), 1)} for each in self._slicing_sets()]

    def _pitr_chunks(self) -> list[dict[str, Any]]:
        """One chunk per replica set for every span elapsed since slicing started (until it crashed), but none in a
        hole, nor before what retention deleted."""
        with self._rs.lock:
            count, since, span = 0, 0, 1
            if self._pitr is not None:
                since, span = int(self._pitr["since"]), int(self._pitr["span"])
                until = self._pitr["crashed_at"] or self._rs.cluster_time().time
                paused = self._pitr_paused_since()
                if paused is not None:
                    until = min(until, paused)
                count = max(0, (int(until) - since) // span)
            sets = tuple(each.name for each in self._slicing_sets())
            # a week of chunks is thousands of documents: built again only when holes, retention or the slicer
            # change; when only more chunks are due, the new ones are added (the slicer writes the newest last)
            key = (id(self._old_chunks), len(self._old_chunks), since, span, sets, tuple(self._holes),
                   self._retained_from)
            cached = self._chunk_cache
            if cached is not None and cached[0] == key and self._chunk_count == count:
                return cached[1]
            first = self._chunk_count if cached is not None and cached[0] == key and self._chunk_count < count else 0
            new = [] if first else list(self._old_chunks)
            for name in sets:
                new += [chunk_document(name, since + i * span, since + (i + 1) * span) for i in range(first, count)]
            new = [c for c in new if c["end_ts"].time >= self._retained_from and not any(
                rs == c["rs"] and c["start_ts"].time < to and c["end_ts"].time > start
                for rs, start, to in self._holes)]
            kept = cached[1] + new if first and cached is not None else new
            self._chunk_cache, self._chunk_count = (key, kept), count
            self._index_chunks(new, rebuild=not first)
            return kept

    def _index_chunks(self, chunks: list[dict[str, Any]], rebuild: bool) -> None:
        """Adds `chunks` to the index {rs, start_ts, end_ts}, or builds it again from them alone."""
        index = {} if rebuild else dict(self._chunk_index)
        by_rs: dict[str, list[dict[str, Any]]] = {}
        for chunk in chunks:
            by_rs.setdefault(chunk["rs"], []).append(chunk)
        for rs, added in by_rs.items():
            docs = sorted(index.get(rs, ([], []))[1] + added,
                          key=lambda c: (c["start_ts"].time, c["start_ts"].inc, c["end_ts"].time, c["end_ts"].inc))
            index[rs] = ([(c["start_ts"].time, c["start_ts"].inc) for c in docs], docs)
        self._chunk_index = index

    def _chunk_scan(self, query: Mapping[str, Any], sort: Mapping[str, Any] | None
                    ) -> tuple[Sequence[dict[str, Any]], bool] | None:
        """How mongod answers PBM's and the exporter's chunk queries, {rs, start_ts: {$gt...}} sorted by start_ts
        (pbm/oplog/chunk.go pitrChunk, pitrGetChunksSlice): through the index {rs, start_ts, end_ts}, reading only
        the keys inside the bounds, in index order (forwards or backwards for the sort). Other queries (no rs
        equality, another sort) scan the collection (None)."""
        rs = query.get("rs")
        if not isinstance(rs, str) or (sort and dict(sort) not in ({"start_ts": 1}, {"start_ts": -1})):
            return None
        self._pitr_chunks()  # brings the index up to date
        keys, docs = self._chunk_index.get(rs, ([], []))
        lo, hi = 0, len(docs)
        bounds = query.get("start_ts", {})
        if isinstance(bounds, Timestamp):
            bounds = {"$gte": bounds, "$lte": bounds}
        for op, value in (bounds.items() if isinstance(bounds, Mapping) else ()):
            if not isinstance(value, Timestamp):
                continue  # no bound from it: the filter still applies to every document given
            at = (value.time, value.inc)
            if op == "$gt":
                lo = max(lo, bisect.bisect_right(keys, at))
            elif op == "$gte":
                lo = max(lo, bisect.bisect_left(keys, at))
            elif op == "$lt":
                hi = min(hi, bisect.bisect_left(keys, at))
            elif op == "$lte":
                hi = min(hi, bisect.bisect_right(keys, at))
        part = docs[lo:hi] if lo < hi else []
        return (part[::-1] if sort and dict(sort) == {"start_ts": -1} else part), True

    def make_pitr_hole(self, replset: str, since: float, until: float) -> None:
        """No chunk of `replset` covers any second of since..until (cluster seconds): the slicer lost that oplog."""
        with self._rs.lock:
            self._holes.append((replset, int(since), int(until)))

    def delete_chunks_before(self, when: float) -> None:
        """Retention: the chunks that end before `when` (cluster seconds) are deleted."""
        with self._rs.lock:
            self._retained_from = int(when)

    def start_pitr(self, span_min: float = 10.0, since: float | None = None) -> None:
        """PITR slicing starts on every replica set (at `since`, cluster seconds; default now)."""
        with self._rs.lock:
            start = self._rs.cluster_time().time if since is None else since
            self._pitr = {"since": start, "span": span_min * 60, "crashed_at": None, "opid": str(ObjectId())}

    @staticmethod
    def _node_of(each: SimReplicaSet) -> str:
        return (each.members[1] if len(each.members) > 1 else each.members[0]).host

    def _catchup_error(self, replset: str) -> str | None:
        """What Slicer.Catchup returns for `replset`, as the agent logs it ("init: " + "catchup: " + the error, each
        wrap of pkg/errors WithMessage), or None when it finds its starting point."""
        backups = [d for d in self._rs.collections.get(("admin", "pbmBackups"), [])
                   if d.get("status") == "done" and d.get("nss") is None and d.get("type") != "external"
                   and (d.get("store") or {}).get("profile") is None]
        if not backups:
            return "init: catchup: get last backup: no backup found. full backup is required to start PITR"
        last = max(backups, key=lambda d: d.get("start_ts", 0))
        if replset not in {r.get("name") for r in last.get("replsets") or []}:
            return (f'init: catchup: no replset "{replset}" in the last backup "{last["name"]}". full backup is '
                    f"required to start PITR")
        restores = [d for d in self._rs.collections.get(("admin", "pbmRestores"), []) if d.get("status") == "done"]
        if restores:
            restore = max(restores, key=lambda d: d.get("start_ts", 0))
            if last.get("start_ts", 0) < restore.get("start_ts", 0):
                return (f"init: catchup: no backup found after the restored {restore.get('backup')}, a new backup is "
                        f"required to resume PITR")
        return None

    def _log_entry(self, ts: int, severity: int, replset: str, node: str, msg: str) -> dict[str, Any]:
        # pbm/log/history.go Entry: ts ns tz, LogKeys s rs node e eobj (ep, opid omitempty), msg
        epoch = (self._rs.pbm_config or {}).get("epoch")
        entry: dict[str, Any] = {"_id": ObjectId(), "ts": Int64(ts), "ns": 0, "tz": 0, "s": severity, "rs": replset,
                                 "node": node, "e": "pitr", "eobj": ""}
        if isinstance(epoch, Timestamp):
            entry["ep"] = epoch
        entry["msg"] = msg
        return entry

    def enable_pitr(self, span_min: float = 10.0) -> list[str]:
        """`pbm config --set pitr.enabled=true`: each replica set's agent runs Catchup; those that pass start slicing
        now (logging "start_ok"), the others log their error every 15 s and try again, which finds a backup that
        ended since (add_backup, finish_backup try again for them). Returns the replica sets that refused."""
        with self._rs.lock:
            config = self._rs.pbm_config if self._rs.pbm_config is not None else {}
            config["pitr"] = {**(config.get("pitr") or {}), "enabled": True}
            self._rs.pbm_config = config
            self._pitr_span = span_min
            self._try_catchup()
            return sorted(self._refused)

    def _try_catchup(self) -> None:
        now = int(self._rs.cluster_time().time)
        slicing = {each.name for each in self._slicing_sets()} if self._pitr is not None else set()
        for each in self._replica_sets():
            if each.name in slicing:
                continue
            error = self._catchup_error(each.name)
            if error is None:
                if each.name in self._refused:  # its errors stay in the log, before the start_ok
                    self._pitr_log += self._refused_entries(each.name, now - 1)
                    del self._refused[each.name]
                slicing.add(each.name)
                self._pitr_log.append(self._log_entry(now, 4, each.name, self._node_of(each), "start_ok"))
            elif each.name not in self._refused or self._refused[each.name][2] != error:
                self._refused[each.name] = (now, self._node_of(each), error)
        if slicing and self._pitr is None:
            self.start_pitr(self._pitr_span)
        if self._pitr is not None:
            self._pitr["sets"] = slicing

    def log_entries(self) -> list[dict[str, Any]]:
        """PITR's entries in this set's admin.pbmLog: each refused start, every 15 s (the last LOG_HISTORY seconds),
        and each "start_ok"."""
        with self._rs.lock:
            now = int(self._rs.cluster_time().time)
            entries = list(self._pitr_log)
            for replset in self._refused:
                entries += self._refused_entries(replset, now)
            return sorted(entries, key=lambda e: e["ts"])

    def _refused_entries(self, replset: str, now: int) -> list[dict[str, Any]]:
        since, node, error = self._refused[replset]
        first = since + max(0, now - LOG_HISTORY - since) // PITR_CHECK_PERIOD * PITR_CHECK_PERIOD
        return [self._log_entry(ts, 1, replset, node, error) for ts in range(first, now + 1, PITR_CHECK_PERIOD)]

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
            store = self._store(profile)
            backups = [d for d in self._rs.collections.get(("admin", "pbmBackups"), []) if d.get("opid") != opid]
            primary = self._rs.primary
            # BackupMeta.MongoVersion: the running agent's mongod buildInfo version (cmd/pbm-agent/backup.go
            # bcp.SetMongoVersion(a.brief.Version.VersionString)); hb: BackupMeta.Hb, which BackupHB refreshes
            # every 5 s while the backup runs (pbm/backup/query.go): _beat_backup keeps it as fresh as the lock's
            version = primary.mongo_version if primary is not None else self._rs.mongo_version
            backups.append(backup_document(
                name or f"backup-{now}", opid, kind, "running", now, None, int(self._rs.cluster_time().time),
                self._backup_replsets(), store, version, self._fcv(), self._balancer()))
            self._rs.collections[("admin", "pbmBackups")] = backups
            return opid

    def _backup_replsets(self) -> list[tuple[str, str]]:
        """(replica set, node) of every replica set a backup covers: the shards and the config servers."""
        return [(each.name, (each.members[1] if len(each.members) > 1 else each.members[0]).host)
                for each in self._replica_sets()]

    def _fcv(self) -> str:
        for doc in self._rs.collections.get(("admin", "system.version"), []):
            if doc.get("_id") == "featureCompatibilityVersion":
                return str(doc.get("version", ""))
        return ""

    def _balancer(self) -> str:
        # cmd/pbm-agent/backup.go: topo.BalancerModeOff unless the cluster is sharded and its balancer is on ("full")
        return "full" if self._rs.agent_sources else "off"

    def _store(self, profile: str = "") -> dict[str, Any]:
        # pbm/backup/types.go Storage: the storage's config.StorageConf inlined (credentials too, in clear text, as
        # PBM writes them), and for a profile its name and profile: true (the profile's storage: the main one here)
        conf = self._rs.pbm_config or {}
        storage: dict[str, Any] = conf.get("storage") or {}
        store: dict[str, Any] = {"name": profile, "profile": True} if profile else {}
        store.update({k: copy.deepcopy(v) for k, v in storage.items() if k == "type" or k == storage.get("type")})
        return store

    def add_backup(self, kind: str = "logical", status: str = "done", start: float | None = None,
                   end: float | None = None, name: str | None = None, error: str = "",
                   nss: list[str] | None = None, profile: str = "", without: tuple[str, ...] = ()) -> str:
        """A backup that ran earlier and ended `status` at `end` (cluster seconds; default: a 10-minute backup that
        ended now), as it stays in admin.pbmBackups; returns its name. `without`: replica sets it does not cover,
        as a backup taken before they joined the cluster (a shard added since)."""
        with self._rs.lock:
            stop = int(self._rs.cluster_time().time if end is None else end)
            begin = int(stop - 600 if start is None else start)
            name = name or datetime.datetime.fromtimestamp(begin, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._rs.collections.setdefault(("admin", "pbmBackups"), []).append(backup_document(
                name, str(ObjectId()), kind, status, begin, stop, stop,
                [r for r in self._backup_replsets() if r[0] not in without],
                self._store(profile), self._rs.mongo_version, self._fcv(), self._balancer(), error, nss))
            if self._refused:
                self._try_catchup()
            return name

    def finish_backup(self, status: str = "done", error: str = "") -> None:
        """The running backup ends: done, or error with PBM's error text (e.g. the storage's AccessDenied)."""
        with self._rs.lock:
            if self._lock is None:
                return
            opid = self._lock["opid"]
            now = int(self._rs.cluster_time().time)
            backups = self._rs.collections.get(("admin", "pbmBackups"), [])
            for i, doc in enumerate(backups):
                if doc.get("opid") == opid:
                    replsets = [(r.get("name", ""), r.get("node", "")) for r in doc.get("replsets") or []]
                    finished = backup_document(doc["name"], opid, doc["type"], status, int(doc["start_ts"]), now,
                                               now, replsets, doc["store"], doc["mongodb_version"], doc["fcv"],
                                               doc["balancer"], error, doc.get("nss"))
                    backups[i] = {**finished, "_id": doc["_id"]}
            self._lock, self._lock_frozen_at = None, None
            if self._refused:
                self._try_catchup()

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
            if self._restore is not None and self._lock is not None and self._lock.get("type") == "restore":
                # the restore's metadata stays, its heartbeat where its agent last wrote it
                self._restore["frozen_at"] = self._lock_frozen_at or self._rs.cluster_time().time
            self._lock, self._lock_frozen_at = None, None

    def crash_backup(self) -> None:
        """The agent running the backup (or the logical restore) dies: its lock stays, no longer heartbeating, the
        operation's metadata still running."""
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

    def _running_restore(self) -> list[dict[str, Any]]:
        with self._rs.lock:
            if self._restore is None:
                return []
            # RestoreHB: every 5 s while the restore runs (pbm/restore/logical.go); frozen when its agent crashed
            frozen = self._restore.get("frozen_at") or self._lock_frozen_at
            hb = self._rs.cluster_time() if frozen is None else Timestamp(int(frozen), 1)
            meta = {k: v for k, v in self._restore.items() if k != "frozen_at"}
            return [{**meta, "hb": hb, "replsets": [{**r, "hb": hb} for r in self._restore["replsets"]]}]

    def start_logical_restore(self, backup: str, pitr: float = 0) -> str:
        """A logical restore of `backup` (to the point `pitr`, cluster seconds, when given) runs: its lock in
        admin.pbmLock and its RestoreMeta in admin.pbmRestores (pbm/restore/logical.go Snapshot/PITR: SetRestoreMeta
        with status starting, then each replica set's RestoreReplset via AddRestoreRSMeta and changeRestoreState
        running), heartbeating until finish_logical_restore(). Returns its name."""
        with self._rs.lock:
            name = self.send_restore(backup)
            opid = str(ObjectId())
            self._take_lock("restore", opid)
            now = int(self._rs.cluster_time().time)
            running = [condition(now, "starting"), condition(now, "running")]
            self._restore = {
                "_id": ObjectId(), "status": "running", "error": "", "name": name, "opid": opid, "backup": backup,
                "bcp_chain": None, "start_pitr": 0, "pitr": int(pitr),
                "replsets": [{"name": each.name, "start_ts": now, "status": "running", "committed_txn": None,
                              "txn_set": False, "partial_txn": None, "op": Timestamp(0, 0),
                              "last_transition_ts": now, "last_write_ts": Timestamp(0, 0),
                              "conditions": running[:], "error": "", "hb": Timestamp(0, 0),
                              "stat": {"txn": {"partial": 0, "shard_uncommitted": 0, "left_uncommitted": 0},
                                       "d": None}}
                             for each in self._replica_sets()],
                "hb": Timestamp(now, 1), "start_ts": now, "last_transition_ts": now, "conditions": running,
                "type": "logical"}
            return name

    def finish_logical_restore(self, status: str = "done", error: str = "") -> None:
        """The running logical restore ends (changeRestoreState, ChangeRestoreRSState): its document stays."""
        with self._rs.lock:
            running = self._running_restore()
            if not running:
                return
            doc = running[0]
            now = int(self._rs.cluster_time().time)
            doc.update(status=status, error=error, last_transition_ts=now,
                       conditions=[*doc["conditions"], condition(now, status, error)])
            for each in doc["replsets"]:
                each.update(status=status, last_transition_ts=now,
                            conditions=[*each["conditions"], condition(now, status, error)])
                if error:
                    each["error"] = error
            self._rs.collections.setdefault(("admin", "pbmRestores"), []).append(doc)
            self._restore, self._lock, self._lock_frozen_at = None, None, None

    def start_physical_restore(self, backup: str = "2026-12-01T00:00:00Z") -> str:
        """A physical restore of `backup` (its physical metadata is written to admin.pbmBackups when missing) starts
        and reaches the point where every agent pauses its heartbeats: PITR is turned off and no lock stays. mongod
        still runs until stop_mongod_for_restore(). Returns the restore's name."""
        with self._rs.lock:
            backups = self._rs.collections.setdefault(("admin", "pbmBackups"), [])
            if not any(d.get("name") == backup for d in backups):
                start = int(self._rs.now_secs()) - 86400
                self.add_backup("physical", "done", start, start + 600, backup)
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
            self._lock, self._old_chunks, self._restore = None, [], None
            nodes = list(self._members())
            for node in nodes:
                if node.agent is not None:
                    node.agent.paused_at = None
        for node in nodes:
            if not node.is_up:
                node.start()
