"""What a restore can reach: PBM's PITR timelines, its valid base snapshots, and so the restorable window.

Computed as `pbm status` computes it (percona/percona-backup-mongodb, read at v2.15.0 and HEAD 6f9fc3bf; the same
functions since v2.0.1):
- One replica set's timelines (pbm/oplog/chunk.go `gettimelines`): its chunks from admin.pbmPITRChunks (OplogChunk
  {rs, start_ts, end_ts}) sorted by start_ts; a new timeline starts wherever the previous chunk's end_ts is before
  the next chunk's start_ts (`prevEnd.Compare(s.StartTS) == -1`); a timeline spans the seconds (`.T`) of its first
  start and last end. `PITRGetValidTimelines` reads the chunks whose start_ts is not after the cluster time.
- The cluster's timelines (`MergeTimelines`): from the latest first start to the earliest last end over every
  replica set that has chunks (shards and config servers; `getPITRranges` skips one without any: `tlns == nil`),
  minus every replica set's gaps, merged. One lagging or holed shard caps the whole cluster.
- A base snapshot (cmd/pbm/status.go `isValidBaseSnapshot`): status "done", type not "external", no namespaces
  (`nss`: not selective) and no error, and it matches the cluster as it runs now (model/pbm_backup_match.py:
  `getStorageStat` runs `bcpsMatchCluster` first, whose SetRuntimeError turns a backup of another FCV, MongoDB
  version or replica sets into status error, which isValidBaseSnapshot refuses before it looks at the error; and a
  physical restore refuses another major.minor, pbm/restore/physical.go prepareBackup). A backup that cannot be
  judged (the running FCV unread) still counts.
- The ranges (`getPITRranges` and cmd/pbm/list.go `splitByBaseSnapshot`): for each cluster timeline, the valid base
  with the oldest last_write_ts whose first_write_ts..last_write_ts touches it (`bcp.LastWriteTS.T < tl.Start ||
  bcp.FirstWriteTS.T > tl.End` is skipped); a point-in-time restore reaches last_write_ts + 1 .. the timeline's end
  from it; the part before (and a timeline without such a base) is "no base snapshot": not restorable.
- Without PITR the restorable points are the valid base snapshots' last_write_ts (a snapshot restore).

Every function is pure; a malformed document is left out and counted, never raised on.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bson.timestamp import Timestamp

from exporter.facts.observed import ReplicaSetFacts, ShardingFacts
from exporter.model.pbm_backup_match import Mismatch, RunningCluster, mismatch, replset_names, running_cluster


@dataclass(frozen=True, slots=True)
class Chunk:
    """One admin.pbmPITRChunks document (pbm/oplog/chunk.go OplogChunk): its replica set and span."""

    rs: str
    start: Timestamp
    end: Timestamp


@dataclass(frozen=True, slots=True)
class Timeline:
    """A continuous span, in cluster seconds (oplog.Timeline Start, End: uint32 .T)."""

    start: int
    end: int

    @property
    def seconds(self) -> int:
        return max(0, self.end - self.start)


@dataclass(frozen=True, slots=True)
class Hole:
    """A span of one replica set with no chunk, between two of its timelines (from, to: cluster seconds)."""

    rs: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Backup:
    """What the window needs of one admin.pbmBackups document (pbm/backup/types.go BackupMeta)."""

    name: str
    type: str
    status: str
    selective: bool
    error: str
    first_write: int  # first_write_ts.T
    last_write: int  # last_write_ts.T: the data the backup holds ends here
    start: int | None  # start_ts, Unix seconds
    end: int | None  # last_transition_ts, Unix seconds
    size: int | None
    fcv: str = ""  # the cluster's FCV when it was taken ("" before PBM recorded it)
    mongodb_version: str = ""  # buildInfo's version when it was taken
    replsets: tuple[str, ...] = ()  # the replica sets it holds (replsets[].name)

    def mismatch(self, cluster: RunningCluster) -> Mismatch | None:
        """Why it does not restore onto the cluster as it runs now (None: it does); pbm_backup_match.mismatch."""
        return mismatch(self.type, self.fcv, self.mongodb_version, self.replsets, cluster)

    @property
    def is_valid_base(self) -> bool:
        """cmd/pbm/status.go isValidBaseSnapshot (v2.15.0): done, not external, not selective, no error. PBM
        initialises both write timestamps to Timestamp(1, 1) (pbm/backup/backup.go Init), so a backup whose
        last_write_ts is still that holds no restorable point."""
        return (self.status == "done" and self.type != "external" and not self.selective and not self.error
                and self.last_write > 1)


@dataclass(frozen=True, slots=True)
class PitrRange:
    """A cluster timeline, or part of it, as `pbm status` lists it: restorable from a base snapshot or not."""

    start: int
    end: int
    base: str  # the base snapshot's name; "" = "no base snapshot"


@dataclass(frozen=True)
class Window:
    """What a restore can reach now, by the cluster's clock."""

    ranges: tuple[PitrRange, ...]  # every PITR range, oldest first, with and without base
    points: tuple[int, ...]  # the valid base snapshots' last_write_ts, oldest first
    gaps: tuple[Timeline, ...]  # the holes between the cluster's timelines (inside the chunks' span)
    holes: tuple[Hole, ...]  # each replica set's holes inside the cluster's span, to name them
    malformed: int = 0  # documents left out: a field missing or of the wrong type

    @property
    def restorable(self) -> tuple[PitrRange, ...]:
        return tuple(r for r in self.ranges if r.base)

    @property
    def newest(self) -> int | None:
        """The newest point a restore can reach: the end of a range with a base, or a base's last write."""
        ends = [r.end for r in self.restorable] + list(self.points)
        return max(ends) if ends else None

    @property
    def oldest(self) -> int | None:
        starts = [r.start for r in self.restorable] + list(self.points)
        return min(starts) if starts else None

    @property
    def gap_seconds(self) -> int:
        return sum(g.seconds for g in self.gaps)


def _ts(value: Any) -> Timestamp | None:
    return value if isinstance(value, Timestamp) else None


def chunk_of(doc: Any) -> Chunk | None:
    """The chunk of a pbmPITRChunks document, or None when rs, start_ts or end_ts is missing or odd."""
    if not isinstance(doc, Mapping):
        return None
    rs, start, end = doc.get("rs"), _ts(doc.get("start_ts")), _ts(doc.get("end_ts"))
    if not isinstance(rs, str) or not rs or start is None or end is None or end < start:
        return None
    return Chunk(rs, start, end)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def backup_of(doc: Any) -> Backup | None:
    """The backup of a pbmBackups document, or None when name, type, status or a write timestamp is missing or odd
    (nss, error, start_ts, last_transition_ts and size are optional)."""
    if not isinstance(doc, Mapping):
        return None
    name, kind, status = doc.get("name"), doc.get("type"), doc.get("status")
    first, last = _ts(doc.get("first_write_ts")), _ts(doc.get("last_write_ts"))
    if not all(isinstance(v, str) for v in (name, kind, status)) or first is None or last is None:
        return None
    nss, error = doc.get("nss"), doc.get("error")
    fcv, version = doc.get("fcv"), doc.get("mongodb_version")
    return Backup(str(name), str(kind), str(status), bool(nss) if isinstance(nss, list) else False,
                  error if isinstance(error, str) else "", first.time, last.time, _int(doc.get("start_ts")),
                  _int(doc.get("last_transition_ts")), _int(doc.get("size")), fcv if isinstance(fcv, str) else "",
                  version if isinstance(version, str) else "", replset_names(doc.get("replsets")))


def timelines(chunks: Iterable[Chunk], until: int | None = None) -> list[Timeline]:
    """One replica set's timelines (pbm/oplog/chunk.go gettimelines), from its chunks that start by `until`
    (PITRGetChunksSlice `start_ts <= until`). No chunk: no timeline."""
    ordered = sorted((c for c in chunks if until is None or c.start.time <= until), key=lambda c: (c.start, c.end))
    lines: list[Timeline] = []
    prev_end: Timestamp | None = None
    start = end = 0
    for chunk in ordered:
        if prev_end is not None and prev_end < chunk.start:  # a gap: the previous timeline ends here
            lines.append(Timeline(start, end))
            prev_end = None
        if prev_end is None:
            start = chunk.start.time
        prev_end, end = chunk.end, chunk.end.time
    if prev_end is not None:
        lines.append(Timeline(start, end))
    return lines


def merge_timelines(per_rs: Sequence[Sequence[Timeline]]) -> list[Timeline]:
    """The cluster's timelines (pbm/oplog/chunk.go MergeTimelines): the span every replica set covers, minus the
    union of their gaps. A replica set without timelines is left out, as PBM leaves it out."""
    present = [list(t) for t in per_rs if t]
    if not present:
        return []
    if len(present) == 1:
        return present[0]
    start = max(t[0].start for t in present)
    end = min(t[-1].end for t in present)
    gaps = sorted((a.end, b.start) for t in present for a, b in itertools.pairwise(t))
    merged: list[list[int]] = []
    for gs, ge in gaps:
        if ge <= start:
            continue
        if gs >= end:
            break
        if merged and gs <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], ge)
        else:
            merged.append([gs, ge])
    out: list[Timeline] = []
    for gs, ge in merged:
        if start < gs:
            out.append(Timeline(start, gs))
        start = ge
    if start < end:
        out.append(Timeline(start, end))
    return out


def split_by_base(tl: Timeline, base: Backup | None) -> list[PitrRange]:
    """cmd/pbm/list.go splitByBaseSnapshot: restorable from the base's last write + 1 to the timeline's end."""
    if base is None or base.last_write < tl.start or base.last_write > tl.end:
        return [PitrRange(tl.start, tl.end, "")]
    ranges = []
    if base.last_write > tl.start:
        ranges.append(PitrRange(tl.start, base.last_write, ""))
    if base.last_write < tl.end:
        ranges.append(PitrRange(base.last_write + 1, tl.end, base.name))
    return ranges


def extend_timelines(lines: list[Timeline], last: Chunk | None, chunks: Iterable[Chunk]
                     ) -> tuple[list[Timeline], Chunk | None]:
    """gettimelines continued: `lines` built from the chunks up to `last`, extended with newer chunks (sorted by
    start_ts, each starting after `last`): what an incremental read of admin.pbmPITRChunks needs to keep."""
    out = list(lines)
    # compared as (time, inc) tuples, in C: bson's Timestamp compares in Python, and a first probe folds in a
    # week of chunks per replica set (the same order as Timestamp's)
    last_start = (last.start.time, last.start.inc) if last is not None else None
    last_end = (last.end.time, last.end.inc) if last is not None else None
    keyed = sorted((((c.start.time, c.start.inc), (c.end.time, c.end.inc), c) for c in chunks),
                   key=lambda k: (k[0], k[1]))
    for start, end, chunk in keyed:
        if last_start is not None and start <= last_start:
            continue  # already counted
        if out and last_end is not None and not last_end < start:
            out[-1] = Timeline(out[-1].start, end[0])
        else:
            out.append(Timeline(start[0], end[0]))
        last, last_start, last_end = chunk, start, end
    return out, last


def trim_timelines(lines: Sequence[Timeline], oldest_start: int) -> list[Timeline]:
    """The timelines once retention deleted every chunk before the one that now starts at `oldest_start` (PBM
    deletes the oldest chunks first: `pbm cleanup`, `pbm delete-pitr --older-than`)."""
    return [Timeline(max(t.start, oldest_start), t.end) for t in lines if t.end > oldest_start]


def window(chunk_docs: Mapping[str, Iterable[Any]], backup_docs: Iterable[Any], now: int | None) -> Window:
    """The restorable window from each replica set's chunk documents (every shard and the config servers; {} =
    PITR never wrote any) and the backup documents, by the cluster time `now`."""
    malformed = 0
    per_rs: dict[str, list[Timeline]] = {}
    for rs, docs in chunk_docs.items():
        chunks = []
        for doc in docs:
            chunk = chunk_of(doc)
            if chunk is None:
                malformed += 1
            else:
                chunks.append(chunk)
        per_rs[rs] = timelines(chunks, now)
    return window_of(per_rs, backup_docs, malformed)


def window_of(per_rs: Mapping[str, Sequence[Timeline]], backup_docs: Iterable[Any], malformed: int = 0,
              running: RunningCluster | None = None) -> Window:
    """The restorable window from each replica set's timelines and the backup documents; with `running`, only
    the backups that restore onto it as it runs now are bases (a backup that cannot be judged still is)."""
    backups = []
    for doc in backup_docs:
        backup = backup_of(doc)
        if backup is None:
            malformed += 1
        else:
            backups.append(backup)
    bases = sorted((b for b in backups if b.is_valid_base and not _unmatched(b, running)), key=lambda b: b.last_write)
    cluster = merge_timelines(list(per_rs.values()))
    ranges: list[PitrRange] = []
    for tl in cluster:
        # getPITRranges: the first valid base, by last_write_ts ascending, that touches the timeline
        base = next((b for b in bases if not (b.last_write < tl.start or b.first_write > tl.end)), None)
        ranges.extend(split_by_base(tl, base))
    gaps = tuple(Timeline(a.end, b.start) for a, b in itertools.pairwise(cluster))
    holes: list[Hole] = []
    if cluster:
        lo, hi = cluster[0].start, cluster[-1].end
        for rs, lines in sorted(per_rs.items()):
            holes.extend(Hole(rs, a.end, b.start) for a, b in itertools.pairwise(lines)
                         if b.start > lo and a.end < hi)
    return Window(tuple(ranges), tuple(b.last_write for b in bases), gaps, tuple(holes), malformed)


def _unmatched(backup: Backup, cluster: RunningCluster | None) -> bool:
    found = backup.mismatch(cluster) if cluster is not None else None
    return found is not None and found.known


@dataclass(frozen=True, slots=True)
class LastBackup:
    """The newest backup of one type that ended with one status: when it ended (last_transition_ts, Unix
    seconds), how long it ran (from start_ts) and its size (BackupMeta.size), each None when not known."""

    type: str
    status: str  # "done" or "error"
    name: str
    ended: int
    duration: int | None
    size: int | None


@dataclass(frozen=True)
class Recoverability:
    """What a restore of the cluster can reach now (`window`, None when PBM's catalogue could not be read, with
    `error` saying why), by the cluster time `now`, and the newest backups of each type."""

    now: int | None
    window: Window | None
    last_backups: tuple[LastBackup, ...] = ()
    error: str = ""
    cluster: RunningCluster | None = None  # what the backups were compared with
    # the backups a restore could use but for the cluster as it runs now (and those that could not be judged), newest
    # first, with why: bcpMatchCluster, prepareBackup
    unmatched: tuple[tuple[Backup, Mismatch], ...] = ()
    usable: tuple[Backup, ...] = ()  # every backup isValidBaseSnapshot accepts but for the match, newest first

    @property
    def rpo(self) -> int | None:
        """What a restore now would lose: cluster time minus the newest restorable point."""
        newest = self.window.newest if self.window is not None else None
        return None if newest is None or self.now is None else max(0, self.now - newest)


def last_backups(backups: Iterable[Backup]) -> tuple[LastBackup, ...]:
    """Per type, the newest backup that ended done and the newest that ended in error (by last_transition_ts)."""
    newest: dict[tuple[str, str], Backup] = {}
    for b in backups:
        if b.status in ("done", "error") and b.end is not None:
            known = newest.get((b.type, b.status))
            if known is None or (known.end or 0) < b.end:
                newest[(b.type, b.status)] = b
    return tuple(LastBackup(b.type, b.status, b.name, b.end or 0,
                            b.end - b.start if b.start is not None and b.end is not None and b.end >= b.start
                            else None, b.size)
                 for (_, _), b in sorted(newest.items()))


def recoverability(control: ReplicaSetFacts, sharding: ShardingFacts | None = None) -> Recoverability:
    """The cluster's recoverability from the facts of the replica set whose admin database PBM uses (and, for a
    sharded cluster, what mongos said of its shards)."""
    now = control.cluster_time.value if control.cluster_time.ok else None
    for fact, what in ((control.catalogue, "admin.pbmBackups"), (control.pitr_timelines, "admin.pbmPITRChunks")):
        if not fact.ok:
            return Recoverability(now, None, error=f"{what} could not be read: {fact.error}")
    docs = control.catalogue.value or []
    per_rs: dict[str, list[Timeline]] = {}
    malformed = 0
    known = control.pitr_timelines.value
    for rs, lines in (known.items() if isinstance(known, Mapping) else ()):
        for line in lines if isinstance(lines, (list, tuple)) else ():
            if isinstance(line, (list, tuple)) and len(line) == 2 and all(_int(v) is not None for v in line):
                per_rs.setdefault(str(rs), []).append(Timeline(line[0], line[1]))
            else:
                malformed += 1
    backups = [b for b in (backup_of(d) for d in docs) if b is not None]
    cluster = running_cluster(control, sharding)
    usable = tuple(sorted((b for b in backups if b.is_valid_base), key=lambda b: b.last_write, reverse=True))
    unmatched = tuple((b, found) for b in usable for found in [b.mismatch(cluster)] if found is not None)
    return Recoverability(now, window_of(per_rs, docs, malformed, cluster), last_backups(backups), cluster=cluster,
                          unmatched=unmatched, usable=usable)


def utc(seconds: int) -> str:
    """A cluster-time second as people read it: 2026-12-06T04:00:00Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def memo_recoverability(memo: dict[str, Any], control: ReplicaSetFacts, sharding: ShardingFacts | None = None
                        ) -> Recoverability:
    """recoverability(control, sharding), worked out once per check input (CheckInput.memo)."""
    found = memo.get("recoverability")
    if not isinstance(found, Recoverability):
        found = memo["recoverability"] = recoverability(control, sharding)
    return found
