"""PBM's catalogue read incrementally: the PITR chunks written since the previous probe, and the backups when the
newest one changed. A prober keeps one `Catalogue` per cluster between probes.

Cost (percona/percona-backup-mongodb cmd/pbm-agent/setup.go, v2.15.0, creates the indexes used): admin.pbmPITRChunks
holds a chunk per replica set every pitr.oplogSpanMin (10 min: about a thousand a week per replica set). Each probe
reads only the chunks of each replica set that start after the newest one it read, `{rs, start_ts: {$gt}}` sorted by
start_ts, through the unique index {rs: 1, start_ts: 1, end_ts: 1}: in steady state one find, about once a span
(below), that returns the chunk written since. A backlog (the first probe reads a week's thousand chunks) is read in
pages of CHUNK_PAGE, each folded into the timelines as it comes, so that a probe holds at most a page of documents at
once (a fleet's first probes run by the hundred together) and keeps what it read should it time out later; at most
MAX_NEW_CHUNKS a probe (a longer backlog is read over the next probes). Only each replica set's timelines
(pbm/oplog/chunk.go gettimelines: a few spans) and newest chunk are kept, never the chunks.

And a replica set's chunks are read only when a new one can be there: PBM's slicer cuts one every span on a ticker,
ending at the last write before the tick (pbm/slicer/slicer.go Stream), so none ends before the newest one's end
plus the span: with PITR on they are read once the cluster time reaches that, and at every probe after until it
comes. A chunk cut early (the slicer wakes when a backup starts, and makes a last slice when PITR stops) and, PITR
off, the chunks of an earlier slicing are read on the probes that look for retention, every RETENTION_EVERY.

Retention deletes the oldest chunks (`pbm cleanup`, `pbm delete-pitr`), and a physical restore or a resync empties
the collection: every RETENTION_EVERY probes the oldest chunk of each replica set is read (the same index, one
document) and the timelines are cut to it, or forgotten when there is none. admin.pbmBackups changes only when a
backup runs or is deleted: it is read again (newest first by the index {start_ts: 1, status: 1}, at most
MAX_BACKUPS) when the newest backup's document changed, and every CATALOGUE_REREAD_EVERY probes. The cluster's
featureCompatibilityVersion, which a backup must match to restore (cmd/pbm/backup.go bcpMatchCluster), changes only
when someone runs setFeatureCompatibilityVersion after an upgrade: it is read with the backups (one getParameter
command), not every probe.

Known limit: a chunk inserted with a start_ts older than (or equal to) the newest one read is seen only after the
collection is read whole again, which happens when the oldest chunk read shows a reset. PBM's slicer starts each
chunk where the previous one ended (pbm/slicer/slicer.go lastTS), so its chunks come in start_ts order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bson.timestamp import Timestamp

from exporter.facts.observed import Observed
from exporter.model.pbm_timeline import Chunk, Timeline, chunk_of, extend_timelines, trim_timelines
from exporter.model.pitr_catchup import CATALOGUE_LIMIT

MAX_NEW_CHUNKS = 2000  # per replica set and probe: two weeks of 10-minute chunks
# chunks a find: within the server's first batch (101 documents by default), so that a page is one round trip and
# the server closes its cursor; a find whose limit ends in a later batch leaves one for the driver to kill, which
# cost the prober 20 to 45 MB more at 150 clusters (pages of 250 and 500, measured with the week's backlog)
CHUNK_PAGE = 100
RETENTION_EVERY = 5  # probes between reads of each replica set's oldest chunk
MAX_BACKUPS = CATALOGUE_LIMIT  # the newest backups kept for the window, the last-backup metrics and PITR's base
CATALOGUE_REREAD_EVERY = 30  # probes between reads of the backups when the newest did not change
# pbm/oplog/chunk.go OplogChunk: what the timelines need
CHUNK_PROJECTION = {"_id": 0, "rs": 1, "start_ts": 1, "end_ts": 1}
# pbm/backup/types.go BackupMeta: what the window (isValidBaseSnapshot, getPITRranges, bcpMatchCluster), the
# last-backup metrics and PITR's base (GetLastBackup: store.profile; Slicer.Catchup: replsets' names) need; never
# the rest of `store`, which inlines the storage's credentials, and of `replsets` only the names (a physical
# backup's lists every file)
CATALOGUE_PROJECTION = {"_id": 0, "name": 1, "type": 1, "status": 1, "nss": 1, "error": 1, "first_write_ts": 1,
                        "last_write_ts": 1, "start_ts": 1, "last_transition_ts": 1, "size": 1, "fcv": 1,
                        "mongodb_version": 1, "replsets.name": 1, "store.profile": 1}

Command = Callable[[], Awaitable[Observed[Any]]]
Read = Callable[[str, dict[str, Any], dict[str, Any], int, list[tuple[str, int]] | None], Awaitable[Observed[Any]]]


@dataclass
class _ReplicaSetChunks:
    lines: list[Timeline] = field(default_factory=list)
    last: Chunk | None = None  # the newest chunk read, by start_ts
    after: Timestamp | None = None  # the start_ts the next read starts after (the newest read, malformed or not)
    newest: Chunk | None = None  # the newest chunk there is, read directly while a backlog is being read
    synced: bool = False  # its last read of new chunks reached the newest (not failed, no backlog left)


def _may_have_new(last: Chunk | None, span: int | None, now: int | None) -> bool:
    """Whether PBM's slicer can have cut a chunk after `last` by the cluster time `now` (see above)."""
    if span is None:  # PITR off
        return False
    return last is None or now is None or now >= last.end.time + span


@dataclass
class Catalogue:
    """What one cluster's prober remembers of PBM's catalogue between probes."""

    sets: dict[str, _ReplicaSetChunks] = field(default_factory=dict)
    probes: int = 0
    backups: Observed[list[dict[str, Any]]] | None = None
    backups_key: Any = None  # the newest backup's (name, status, last_transition_ts) when `backups` was read
    backups_read_at: int = 0
    fcv: Observed[Any] | None = None  # getParameter featureCompatibilityVersion's reply, read with the backups
    fcv_read_with: Observed[Any] | None = None  # the backups it was read with

    async def read_chunks(self, read: Read, replica_sets: tuple[str, ...], span: int | None = None,
                          now: int | None = None) -> Observed[Any]:
        """Every replica set's timelines, brought up to date: {rs: ((start, end), ...)}. `span`: the slicer's span
        in seconds with PITR on (None: off); `now`: the cluster time (None: not known, read whatever it says)."""
        self.probes += 1
        for gone in set(self.sets) - set(replica_sets):  # a removed shard
            del self.sets[gone]
        periodic = self.probes % RETENTION_EVERY == 0
        for rs in replica_sets:
            entry = self.sets.setdefault(rs, _ReplicaSetChunks())
            if entry.synced and not periodic and not _may_have_new(entry.last, span, now):
                continue
            if entry.last is not None and periodic:
                oldest = await read("pbmPITRChunks", {"rs": rs}, CHUNK_PROJECTION, 1, [("start_ts", 1)])
                if not oldest.ok:
                    return oldest
                first = chunk_of(next(iter(oldest.value or []), None))
                if first is None or entry.last.start < first.start:  # emptied (a restore, a resync): read again
                    entry = self.sets[rs] = _ReplicaSetChunks()
                else:
                    entry.lines = trim_timelines(entry.lines, first.start.time)
            read_now, entry.synced = 0, False
            while read_now < MAX_NEW_CHUNKS:
                query: dict[str, Any] = {"rs": rs}
                if entry.after is not None:
                    query["start_ts"] = {"$gt": entry.after}
                page = min(CHUNK_PAGE, MAX_NEW_CHUNKS - read_now)
                found = await read("pbmPITRChunks", query, CHUNK_PROJECTION, page, [("start_ts", 1)])
                if not found.ok:
                    return found
                docs = found.value or []
                chunks = [c for c in (chunk_of(d) for d in docs) if c is not None and c.rs == rs]
                entry.lines, entry.last = extend_timelines(entry.lines, entry.last, chunks)
                starts = [d["start_ts"] for d in docs if isinstance(d, dict) and isinstance(d.get("start_ts"),
                                                                                             Timestamp)]
                if starts:
                    entry.after = max(starts)
                read_now += len(docs)
                if len(docs) < page or not starts:  # the end of the collection (or nothing to go on from)
                    break
            entry.newest, entry.synced = None, read_now < MAX_NEW_CHUNKS
            if read_now >= MAX_NEW_CHUNKS:  # a backlog, read over the next probes; the newest chunk meanwhile
                newest = await read("pbmPITRChunks", {"rs": rs}, CHUNK_PROJECTION, 1, [("start_ts", -1)])
                if not newest.ok:
                    return newest
                entry.newest = chunk_of(next(iter(newest.value or []), None))
        behind = sorted(rs for rs, entry in self.sets.items() if entry.newest is not None)
        if behind:
            return Observed.failed(f"PBM's PITR chunks of {', '.join(behind)} are still being read (at most "
                                   f"{MAX_NEW_CHUNKS} per replica set and probe)")
        return Observed({rs: tuple((t.start, t.end) for t in entry.lines)
                         for rs, entry in self.sets.items() if entry.lines})

    def newest_chunks(self) -> list[dict[str, Any]]:
        """Each replica set's newest chunk, as the document pitr_running reads (rs, start_ts, end_ts)."""
        return [{"rs": c.rs, "start_ts": c.start, "end_ts": c.end}
                for c in (e.newest or e.last for e in self.sets.values()) if c is not None]

    async def read_backups(self, read: Read, newest: Observed[Any]) -> Observed[list[dict[str, Any]]]:
        """The backups, newest first, reused while the newest backup's document is the same."""
        doc = newest.value if newest.ok and isinstance(newest.value, dict) else None
        key = (doc.get("name"), doc.get("status"), doc.get("last_transition_ts")) if doc else None
        if self.backups is not None and self.backups.ok and key == self.backups_key and \
                self.probes - self.backups_read_at < CATALOGUE_REREAD_EVERY:
            return self.backups
        found = await read("pbmBackups", {}, CATALOGUE_PROJECTION, MAX_BACKUPS, [("start_ts", -1)])
        self.backups, self.backups_key, self.backups_read_at = found, key, self.probes
        return found

    async def read_fcv(self, get_parameter: Command) -> Observed[Any]:
        """The cluster's featureCompatibilityVersion (pbm/version/version.go GetFCV), read again only when the
        backups were (read_backups: the newest changed, or every CATALOGUE_REREAD_EVERY probes); a refusal too."""
        if self.fcv is None or self.fcv_read_with is not self.backups:
            self.fcv, self.fcv_read_with = await get_parameter(), self.backups
        return self.fcv
