"""The restorable window (exporter/model/pbm_timeline.py) as `pbm status` computes it: PBM's own examples, then the
catalogue read with real pymongo from the simulated replica set and sharded cluster."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bson.timestamp import Timestamp

from exporter.model.pbm_timeline import (
    Chunk,
    Timeline,
    extend_timelines,
    merge_timelines,
    timelines,
    trim_timelines,
    window,
)
from pbm_pmm_simulator import SimReplicaSet, SimShardedCluster


def tl(*spans: tuple[int, int]) -> list[Timeline]:
    return [Timeline(s, e) for s, e in spans]


def test_merge_timelines_follows_pbms_own_example() -> None:
    # pbm/oplog/chunk.go MergeTimelines' comment: three replica sets, each with gaps
    merged = merge_timelines([tl((1, 4), (7, 11), (16, 20)), tl((3, 12), (15, 17)), tl((1, 12), (16, 18))])
    assert merged == tl((3, 4), (7, 11), (16, 17))
    assert merge_timelines([tl((1, 5)), []]) == tl((1, 5))  # a replica set without chunks is left out, as in PBM
    assert merge_timelines([]) == []


def test_a_chunk_that_starts_after_the_previous_end_starts_a_new_timeline() -> None:
    chunks = [Chunk("rs0", Timestamp(s, 1), Timestamp(e, 1)) for s, e in ((0, 10), (10, 20), (25, 30), (30, 40))]
    assert timelines(chunks) == tl((0, 20), (25, 40))
    assert timelines(chunks, until=24) == tl((0, 20))  # PITRGetValidTimelines: chunks up to the cluster time
    assert timelines([Chunk("rs0", Timestamp(0, 1), Timestamp(10, 2)), Chunk("rs0", Timestamp(10, 2),
                                                                            Timestamp(20, 1))]) == tl((0, 20))
    # the same second, a later increment: PBM compares whole timestamps, so that is a gap
    assert timelines([Chunk("rs0", Timestamp(0, 1), Timestamp(10, 1)), Chunk("rs0", Timestamp(10, 2),
                                                                            Timestamp(20, 1))]) == tl((0, 10),
                                                                                                       (10, 20))


def test_malformed_documents_are_left_out_and_counted() -> None:
    good = {"rs": "rs0", "start_ts": Timestamp(0, 1), "end_ts": Timestamp(600, 1)}
    w = window({"rs0": [good, {"rs": "rs0", "start_ts": 5}, "x"]}, [{"name": "b", "type": "logical"}, None], 900)
    assert w.malformed == 4 and w.ranges[0].start == 0 and w.newest is None  # a range, but no base


def read_window(admin: Any, replsets: list[str], now: int) -> Any:
    chunks = {rs: list(admin["pbmPITRChunks"].find({"rs": rs})) for rs in replsets}
    return window(chunks, admin["pbmBackups"].find(), now)


def test_without_pitr_the_restorable_points_are_the_done_backups_and_an_error_is_none(
        admin_of: Callable[[str], Any]) -> None:
    with SimReplicaSet() as rs:
        admin = admin_of(rs.uri())
        now = int(rs.cluster_time().time)
        rs.pbm.add_backup("logical", "error", end=now, error="AccessDenied")
        empty = read_window(admin, ["rs0"], now)
        assert empty.newest is None and empty.oldest is None and empty.points == ()
        rs.pbm.add_backup("logical", "done", now - 7200, now - 6600)
        rs.pbm.add_backup("physical", "done", now - 3600, now - 3000)
        rs.pbm.add_backup("logical", "done", now - 1800, now - 1200, nss=["shop.orders"])  # selective: no base
        rs.pbm.add_backup("external", "done", now - 900, now - 600)  # external: no base
        w = read_window(admin, ["rs0"], now)
        assert w.points == (now - 6600, now - 3000) and w.newest == now - 3000 and w.oldest == now - 6600
        assert w.ranges == () and w.gaps == ()


def test_a_hole_after_the_newest_base_snapshot_ends_the_window_at_the_hole(admin_of: Callable[[str], Any]) -> None:
    with SimReplicaSet() as rs:
        admin = admin_of(rs.uri())
        now = int(rs.cluster_time().time)
        base = rs.pbm.add_backup("logical", "done", now - 4200, now - 3600)
        rs.pbm.start_pitr(span_min=10, since=now - 4200)
        w = read_window(admin, ["rs0"], now)
        assert [(r.start, r.end, r.base) for r in w.ranges] == [(now - 4200, now - 3600, ""),
                                                                 (now - 3599, now, base)]
        assert w.newest == now and w.oldest == now - 3600 and w.gaps == ()
        rs.pbm.make_pitr_hole("rs0", now - 1500, now - 1400)  # the chunk 1800..1200 ago is lost
        w = read_window(admin, ["rs0"], now)
        assert [(r.start, r.end, r.base) for r in w.restorable] == [(now - 3599, now - 1800, base)]
        assert w.newest == now - 1800  # the points after the hole need a new full backup
        assert [(g.start, g.end) for g in w.gaps] == [(now - 1800, now - 1200)] and w.gap_seconds == 600
        assert [(h.rs, h.start, h.end) for h in w.holes] == [("rs0", now - 1800, now - 1200)]


def test_a_hole_on_one_shard_caps_the_whole_clusters_window(admin_of: Callable[[str], Any]) -> None:
    with SimShardedCluster() as cluster:
        admin = admin_of(cluster.config.uri())
        now = int(cluster.config.cluster_time().time)
        base = cluster.config.pbm.add_backup("logical", "done", now - 4200, now - 3600)
        cluster.config.pbm.start_pitr(span_min=10, since=now - 4200)
        sets = ["cfg", "shard0", "shard1"]
        assert read_window(admin, sets, now).newest == now
        cluster.config.pbm.make_pitr_hole("shard1", now - 1000, now + 10 ** 6)  # shard1's slicer lost its oplog
        w = read_window(admin, sets, now)
        assert w.newest == now - 1200  # the other replica sets' chunks up to now do not help
        assert [(r.start, r.end, r.base) for r in w.restorable] == [(now - 3599, now - 1200, base)]
        cluster.config.pbm.make_pitr_hole("shard0", now - 2500, now - 2450)
        w = read_window(admin, sets, now)
        assert w.newest == now - 3000 and [(h.rs, h.start, h.end) for h in w.holes] == [
            ("shard0", now - 3000, now - 2400)]


def test_extending_timelines_chunk_by_chunk_gives_what_gettimelines_gives() -> None:
    spans = [(0, 10), (10, 20), (25, 30), (30, 40), (40, 50), (55, 60)]
    chunks = [Chunk("rs0", Timestamp(s, 1), Timestamp(e, 1)) for s, e in spans]
    lines, last = extend_timelines([], None, chunks[:3])
    lines, last = extend_timelines(lines, last, chunks[1:5])  # the overlap is not counted twice
    lines, last = extend_timelines(lines, last, chunks[5:])
    assert lines == timelines(chunks) == tl((0, 20), (25, 50), (55, 60)) and last == chunks[-1]
    assert trim_timelines(lines, 25) == tl((25, 50), (55, 60))  # retention deleted the chunks before 25
    assert trim_timelines(lines, 30) == tl((30, 50), (55, 60))
