"""PBM's catalogue as the simulator keeps it, read with real pymongo: admin.pbmBackups documents shaped as PBM's
BackupMeta writes them (pbm/backup/types.go), admin.pbmRestores as RestoreMeta (pbm/restore/types.go), and
admin.pbmPITRChunks per replica set (pbm/oplog/chunk.go OplogChunk) moving with the cluster's clock, with holes and
retention a test can make, on every shard and the config servers of a sharded cluster."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
from bson.timestamp import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import MongoClient

from exporter.config.config_file import ClusterConfig
from exporter.facts.observed import Observed, ReplicaSetFacts
from exporter.model.pbm_timeline import Chunk, chunk_of, timelines
from exporter.probes import pbm_catalogue
from exporter.probes.mongodb import MongoDBProber
from exporter.probes.pbm_catalogue import CHUNK_PAGE, RETENTION_EVERY, Catalogue
from pbm_pmm_simulator import SimReplicaSet, SimShardedCluster
from pbm_pmm_simulator.query import matches, project, sort_docs
from tests.probing import cluster_config

# pbm/backup/types.go BackupMeta: the fields without omitempty (plus the _id MongoDB adds)
BACKUP_FIELDS = {"_id", "type", "opid", "name", "replsets", "compression", "store", "size", "size_uncompressed",
                 "mongodb_version", "fcv", "start_ts", "last_transition_ts", "first_write_ts", "last_write_ts", "hb",
                 "status", "conditions", "n", "pbm_version", "balancer"}
# BackupReplset's fields without omitempty
BACKUP_RS_FIELDS = {"name", "start_ts", "status", "size", "size_uncompressed", "last_transition_ts", "first_write_ts",
                    "last_write_ts", "node", "conditions"}
# pbm/restore/types.go RestoreMeta and RestoreReplset: the fields without omitempty
RESTORE_FIELDS = {"_id", "status", "name", "opid", "backup", "bcp_chain", "start_pitr", "pitr", "replsets", "hb",
                  "start_ts", "last_transition_ts", "conditions", "type"}
RESTORE_RS_FIELDS = {"name", "start_ts", "status", "committed_txn", "txn_set", "partial_txn", "op",
                     "last_transition_ts", "last_write_ts", "conditions", "hb", "stat"}


@pytest.fixture
def rs() -> Iterator[SimReplicaSet]:
    with SimReplicaSet() as replica_set:
        yield replica_set


def test_backups_carry_every_field_backupmeta_writes_and_their_write_timestamps(
        rs: SimReplicaSet, admin_of: Callable[[str], Any]) -> None:
    admin = admin_of(rs.uri())
    now = int(rs.cluster_time().time)
    opid = rs.pbm.start_backup("physical")
    running = admin["pbmBackups"].find_one({"opid": opid})
    assert set(running) == BACKUP_FIELDS | {"error"}  # changeBackupState $sets error, "" when none
    assert running["first_write_ts"] == running["last_write_ts"] == Timestamp(1, 1)  # Backup.Init
    assert running["fcv"] == "7.0" and running["mongodb_version"] == "7.0.14" and running["balancer"] == "off"
    assert [c["status"] for c in running["conditions"]] == ["starting", "running"]
    rs.advance_clock(300)
    rs.pbm.finish_backup()
    done = admin["pbmBackups"].find_one({"opid": opid})
    assert set(done) == BACKUP_FIELDS | {"error"} and done["status"] == "done" and done["error"] == ""
    assert done["first_write_ts"].time == done["start_ts"] and now + 300 <= done["last_write_ts"].time <= now + 302
    assert done["hb"].time == done["last_write_ts"].time and done["size"] > 0
    [replset] = done["replsets"]
    assert set(replset) == BACKUP_RS_FIELDS and replset["status"] == "done"
    assert [c["status"] for c in done["conditions"]] == ["starting", "running", "done"]
    # a backup that failed in its upload: PBM had set its write timestamps, its size stays 0
    failed = rs.pbm.add_backup("logical", "error", end=now, error="upload file: AccessDenied")
    doc = admin["pbmBackups"].find_one({"name": failed})
    assert doc["status"] == "error" and doc["last_write_ts"] == Timestamp(now, 1) and doc["size"] == 0
    assert doc["error"] == "upload file: AccessDenied" and doc["conditions"][-1]["error"] == doc["error"]
    selective = admin["pbmBackups"].find_one({"name": rs.pbm.add_backup(nss=["shop.orders"])})
    assert selective["nss"] == ["shop.orders"]
    assert "nss" not in done and "src_backup" not in done


def test_a_logical_restore_writes_restoremeta_with_hb_and_replsets(
        rs: SimReplicaSet, admin_of: Callable[[str], Any]) -> None:
    admin = admin_of(rs.uri())
    backup = rs.pbm.add_backup()
    name = rs.pbm.start_logical_restore(backup)
    [running] = list(admin["pbmRestores"].find())
    assert set(running) == RESTORE_FIELDS | {"error"} and running["name"] == name and running["backup"] == backup
    [replset] = running["replsets"]
    assert set(replset) == RESTORE_RS_FIELDS | {"error"} and replset["name"] == "rs0"
    assert admin["pbmLock"].find_one()["type"] == "restore"
    hb = running["hb"].time
    rs.advance_clock(30)
    assert admin["pbmRestores"].find_one()["hb"].time >= hb + 30  # RestoreHB while it runs
    rs.pbm.finish_logical_restore()
    [done] = list(admin["pbmRestores"].find())
    assert done["status"] == "done" and [c["status"] for c in done["conditions"]] == ["starting", "running", "done"]
    assert list(admin["pbmLock"].find()) == []


def test_chunks_move_with_the_clock_and_a_test_can_make_holes_and_retention(
        rs: SimReplicaSet, admin_of: Callable[[str], Any]) -> None:
    admin = admin_of(rs.uri())
    now = int(rs.cluster_time().time)
    rs.pbm.start_pitr(span_min=10, since=now - 6 * 600)

    def spans() -> list[tuple[int, int]]:
        return [(c["start_ts"].time - now, c["end_ts"].time - now)
                for c in admin["pbmPITRChunks"].find({"rs": "rs0"}).sort("start_ts", 1)]

    assert spans() == [(-3600 + i * 600, -3000 + i * 600) for i in range(6)]
    rs.advance_clock(600)
    assert spans()[-1] == (0, 600)
    rs.pbm.make_pitr_hole("rs0", now - 2000, now - 1900)  # inside the 4th chunk only
    assert (-2400, -1800) not in spans() and len(spans()) == 6
    rs.pbm.delete_chunks_before(now - 2900)
    assert spans()[0] == (-3000, -2400)


def test_a_sharded_clusters_chunks_are_on_the_config_servers_per_replica_set(
        admin_of: Callable[[str], Any]) -> None:
    with SimShardedCluster() as cluster:
        now = int(cluster.config.cluster_time().time)
        cluster.config.pbm.start_pitr(span_min=10, since=now - 1800)
        cluster.config.pbm.make_pitr_hole("shard1", now - 1000, now - 900)
        admin = admin_of(cluster.config.uri())
        counts = {rs: len(list(admin["pbmPITRChunks"].find({"rs": rs}))) for rs in ("cfg", "shard0", "shard1")}
        assert counts == {"cfg": 3, "shard0": 3, "shard1": 2}
        name = cluster.config.pbm.add_backup()
        backup = admin["pbmBackups"].find_one({"name": name})
        assert {r["name"] for r in backup["replsets"]} == {"cfg", "shard0", "shard1"}
        assert backup["balancer"] == "full"


# The probe reads the catalogue incrementally (exporter/probes/pbm_catalogue.py)

def probe_facts(runner: asyncio.Runner, prober: MongoDBProber) -> ReplicaSetFacts:
    outcome = runner.run(prober.probe())
    assert outcome.facts is not None, outcome.error
    control = outcome.facts.control_facts
    assert control is not None
    return control


def test_the_probe_reads_only_the_chunks_written_since_the_previous_probe(rs: SimReplicaSet) -> None:
    now = int(rs.cluster_time().time)
    rs.pbm.add_backup("logical", "done", now - 7 * 86400 - 600, now - 7 * 86400)
    rs.pbm.start_pitr(span_min=10, since=now - 7 * 86400)  # a week of 10-minute chunks: 1008
    assert rs.pbm_config is not None
    rs.pbm_config["pitr"] = {"enabled": True}
    runner = asyncio.Runner()
    prober = MongoDBProber(cluster_config(rs), 2.0, 2.0)
    try:
        facts = probe_facts(runner, prober)
        assert facts.pitr_timelines.value == {"rs0": ((now - 7 * 86400, now),)}
        assert rs.documents_returned["admin.pbmPITRChunks"] == 1008
        assert [b["status"] for b in facts.catalogue.value or []] == ["done"]
        assert rs.documents_returned["admin.pbmBackups"] <= 2  # the newest, then the catalogue
        rs.advance_clock(1200)  # two more chunks
        facts = probe_facts(runner, prober)
        assert facts.pitr_timelines.value == {"rs0": ((now - 7 * 86400, now + 1200),)}
        assert rs.documents_returned["admin.pbmPITRChunks"] == 1008 + 2  # only the new ones
        assert rs.documents_returned["admin.pbmBackups"] <= 2  # the catalogue did not change: not read again
        [newest] = facts.pitr_chunks.value or []  # pitr_running's newest chunk, from the same read
        assert newest["end_ts"].time == now + 1200
        # a hole: PBM's slicer lost 10 minutes on rs0
        rs.pbm.make_pitr_hole("rs0", now + 1300, now + 1400)
        rs.advance_clock(1200)
        facts = probe_facts(runner, prober)
        assert facts.pitr_timelines.value == {"rs0": ((now - 7 * 86400, now + 1200), (now + 1800, now + 2400))}
        # retention deletes the first day of chunks: noticed within RETENTION_EVERY probes
        rs.pbm.delete_chunks_before(now - 6 * 86400)  # the chunk that ends there stays
        seen = [probe_facts(runner, prober).pitr_timelines.value for _ in range(RETENTION_EVERY)]
        assert seen[-1] == {"rs0": ((now - 6 * 86400 - 600, now + 1200), (now + 1800, now + 2400))}
        assert rs.documents_returned["admin.pbmPITRChunks"] <= 1008 + 2 + 1 + 2 * RETENTION_EVERY
        # a new backup ends: the catalogue is read again
        rs.pbm.add_backup("physical", "done")
        rs.advance_clock(60)
        for _ in range(10):  # the newest backup is re-read within ten probes (BACKUP_REREAD_EVERY)
            facts = probe_facts(runner, prober)
        assert [b["type"] for b in facts.catalogue.value or []] == ["physical", "logical"]
        # never the storage's credentials: of `store`, only whether it went to a profile (GetLastBackup)
        assert set((facts.catalogue.value or [{}])[0].get("store") or {}) <= {"profile"}
    finally:
        runner.run(prober.close())
        runner.close()


def test_a_sharded_clusters_chunks_are_read_on_the_config_servers_for_every_replica_set() -> None:
    with SimShardedCluster() as cluster:
        now = int(cluster.config.cluster_time().time)
        cluster.config.pbm.start_pitr(span_min=10, since=now - 1800)
        cluster.config.pbm.make_pitr_hole("shard1", now - 1000, now + 10 ** 6)
        runner = asyncio.Runner()
        prober = MongoDBProber(ClusterConfig(name="big", uri=cluster.uri(), backup_mode="logical",
                                             seeds=(cluster.mongos.host,), username="pmm", password="secret"),
                               2.0, 2.0)
        try:
            facts = probe_facts(runner, prober)
            assert facts.pitr_timelines.value == {"cfg": ((now - 1800, now),), "shard0": ((now - 1800, now),),
                                                  "shard1": ((now - 1800, now - 1200),)}
        finally:
            runner.run(prober.close())
            runner.close()


# What reading the catalogue costs: the simulator answers chunk queries through PBM's index, as mongod does, and the
# probe reads a backlog a page at a time, keeping each page

CHUNK_FIELDS = {"_id": 0, "rs": 1, "start_ts": 1, "end_ts": 1}


@pytest.fixture(scope="module")
def chunked() -> Iterator[tuple[SimReplicaSet, Any]]:
    """Two days of 10-minute chunks with a hole, the first hours deleted by retention."""
    with SimReplicaSet() as replica_set:
        now = int(replica_set.cluster_time().time)
        replica_set.pbm.start_pitr(span_min=10, since=now - 2 * 86400)
        replica_set.pbm.make_pitr_hole("rs0", now - 86400, now - 86400 + 1800)
        replica_set.pbm.delete_chunks_before(now - 2 * 86400 + 3 * 3600)
        client: Any = MongoClient(replica_set.uri())
        try:
            yield replica_set, client.admin
        finally:
            client.close()


TS_BOUNDS = st.dictionaries(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]),
                            st.builds(Timestamp, st.integers(0, 2 * 86400 + 600), st.integers(0, 2)), max_size=2)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rs_name=st.sampled_from(["rs0", "shard9"]), bounds=st.none() | TS_BOUNDS | st.just({"$gt": 5}),
       equal=st.booleans(), sort=st.sampled_from([None, 1, -1, "end_ts"]), skip=st.integers(0, 2),
       limit=st.sampled_from([0, 1, 2, 500]))
def test_the_simulators_chunk_index_answers_as_a_scan_of_every_chunk_would(
        chunked: tuple[SimReplicaSet, Any], rs_name: str, bounds: dict[str, Any] | None, equal: bool,
        sort: int | str | None, skip: int, limit: int) -> None:
    rs, admin = chunked
    origin = int(rs.cluster_time().time) - 2 * 86400  # bounds are drawn relative to the first chunk
    query: dict[str, Any] = {"rs": rs_name}
    if bounds is not None:
        shifted = {op: Timestamp(v.time + origin, v.inc) if isinstance(v, Timestamp) else v for op, v in bounds.items()}
        query["start_ts"] = shifted.get("$gte", Timestamp(origin + 3 * 3600 + 600, 1)) if equal else shifted
    order = None if sort is None else [("end_ts", -1)] if sort == "end_ts" else [("start_ts", sort)]
    got = list(admin["pbmPITRChunks"].find(query, CHUNK_FIELDS, sort=order, skip=skip, limit=limit))
    # the reference: every document through the simulator's query semantics, as it answered before the index
    every = rs.pbm._pitr_chunks()
    expected = sort_docs([d for d in every if matches(d, query)], dict(order) if order else None)[skip:]
    expected = [{k: d[k] for k in ("rs", "start_ts", "end_ts")} for d in (expected[:limit] if limit else expected)]
    assert got == expected


def test_the_simulator_examines_only_the_chunks_inside_the_index_bounds(chunked: tuple[SimReplicaSet, Any]) -> None:
    rs, admin = chunked
    ns, chunks = "admin.pbmPITRChunks", admin["pbmPITRChunks"]
    newest = chunks.find_one({"rs": "rs0"}, CHUNK_FIELDS, sort=[("start_ts", -1)])
    before = rs.documents_examined[ns]
    assert list(chunks.find({"rs": "rs0", "start_ts": {"$gt": newest["start_ts"]}}, sort=[("start_ts", 1)])) == []
    assert chunks.find_one({"rs": "rs0"}, sort=[("start_ts", 1)]) is not None  # the oldest
    assert rs.documents_examined[ns] == before + 1  # nothing after the newest; the oldest is the first key
    total = len(rs.pbm._pitr_chunks())
    chunks.find_one({"rs": "rs0"}, sort=[("end_ts", -1)])  # no index serves this sort: every chunk is examined
    assert rs.documents_examined[ns] == before + 1 + total


def test_the_probe_reads_a_backlog_a_page_at_a_time_through_the_index(rs: SimReplicaSet) -> None:
    now = int(rs.cluster_time().time)
    rs.pbm.start_pitr(span_min=10, since=now - 7 * 86400)  # 1008 chunks
    assert rs.pbm_config is not None
    rs.pbm_config["pitr"] = {"enabled": True}
    runner = asyncio.Runner()
    prober = MongoDBProber(cluster_config(rs), 2.0, 2.0)
    ns = "admin.pbmPITRChunks"
    try:
        assert probe_facts(runner, prober).pitr_timelines.value == {"rs0": ((now - 7 * 86400, now),)}
        assert rs.documents_returned[ns] == 1008
        assert rs.documents_examined[ns] <= 1008 + 1  # pages of CHUNK_PAGE, each from where the last one ended
        examined = rs.documents_examined[ns]
        probe_facts(runner, prober)
        assert rs.documents_examined[ns] == examined  # nothing new: the index has no key after the newest
        rs.advance_clock(600)
        probe_facts(runner, prober)
        assert rs.documents_examined[ns] == examined + 1 and rs.documents_returned[ns] == 1009
    finally:
        runner.run(prober.close())
        runner.close()


# The incremental read against a from-scratch computation (gettimelines over every chunk there is)

class FakeChunks:
    """admin.pbmPITRChunks in memory, queried with the simulator's query semantics; a read can be made to fail."""

    def __init__(self) -> None:
        self.docs: list[dict[str, Any]] = []
        self.calls = 0
        self.fail_at: int | None = None  # the read (counted from 1) that fails
        self.returned = 0

    async def read(self, coll: str, query: dict[str, Any], projection: dict[str, Any], limit: int,
                   sort: list[tuple[str, int]] | None = None) -> Observed[Any]:
        assert coll == "pbmPITRChunks" and set(query) <= {"rs", "start_ts"}  # what the index {rs, start_ts} serves
        self.calls += 1
        if self.calls == self.fail_at:
            return Observed.failed("timed out")
        found = sort_docs([d for d in self.docs if matches(d, query)], dict(sort) if sort else None)[:limit]
        self.returned += len(found)
        return Observed([project(d, projection) for d in found])

    def expected(self) -> dict[str, tuple[tuple[int, int], ...]]:
        per_rs: dict[str, list[Chunk]] = {}
        for doc in self.docs:
            chunk = chunk_of(doc)
            assert chunk is not None
            per_rs.setdefault(chunk.rs, []).append(chunk)
        return {rs: tuple((t.start, t.end) for t in timelines(chunks)) for rs, chunks in per_rs.items()}


def test_a_probe_that_fails_mid_backlog_keeps_the_pages_it_read() -> None:
    fake = FakeChunks()
    fake.docs = [{"rs": "rs0", "start_ts": Timestamp(600 * i, 1), "end_ts": Timestamp(600 * (i + 1), 1)}
                 for i in range(1, 1009)]
    catalogue = Catalogue()
    fake.fail_at = 2  # the second page
    assert not asyncio.run(catalogue.read_chunks(fake.read, ("rs0",))).ok
    assert fake.returned == CHUNK_PAGE
    fake.fail_at = None
    assert asyncio.run(catalogue.read_chunks(fake.read, ("rs0",))).value == {"rs0": ((600, 600 * 1009),)}
    assert fake.returned == 1008  # the pages read before the failure were not read again


def test_new_chunks_are_read_when_the_slicer_can_have_cut_one_and_on_every_retention_probe() -> None:
    """PBM's slicer cuts a chunk every span, ending at the last write before its tick (pbm/slicer/slicer.go
    Stream): none can end before the newest one's end plus the span."""
    fake, catalogue = FakeChunks(), Catalogue()
    end = 6000
    fake.docs = [{"rs": "rs0", "start_ts": Timestamp(end - 600 * i, 1), "end_ts": Timestamp(end - 600 * (i - 1), 1)}
                 for i in (3, 2, 1)]

    def probe(now: int, span: int | None = 600) -> tuple[int, Any]:
        calls = fake.calls
        found = asyncio.run(catalogue.read_chunks(fake.read, ("rs0",), span, now))
        return fake.calls - calls, found.value["rs0"][-1][1]

    assert probe(end) == (1, end)  # the first probe reads
    assert probe(end + 599) == (0, end)  # the next chunk cannot be there yet
    assert probe(end + 600) == (1, end)  # it can: read, not there yet (the slicer uploads it)
    fake.docs.append({"rs": "rs0", "start_ts": Timestamp(end, 1), "end_ts": Timestamp(end + 600, 1)})
    assert probe(end + 610) == (1, end + 600)
    assert probe(end + 620) == (2, end + 600)  # probe 5: the oldest chunk (retention) and the new ones
    # a last slice when PITR stops, before the span: seen on the next retention probe (10), as with PITR off
    fake.docs.append({"rs": "rs0", "start_ts": Timestamp(end + 600, 1), "end_ts": Timestamp(end + 700, 1)})
    assert [probe(end + 710, span) for span in (600, 600, None, None)] == [(0, end + 600)] * 4
    assert probe(end + 720, None) == (2, end + 700)
    # a read that failed is done again at the next probe, whatever the clock and PITR say
    catalogue, fake.calls, fake.fail_at = Catalogue(), 0, 1
    assert not asyncio.run(catalogue.read_chunks(fake.read, ("rs0",), None, end + 720)).ok
    fake.fail_at = None
    assert probe(end + 720, None) == (1, end + 700)


STEPS = st.lists(st.one_of(
    st.tuples(st.just("write"), st.sampled_from(["rs0", "rs1"]), st.integers(1, 12), st.integers(-1, 3)),
    st.tuples(st.just("retain"), st.sampled_from(["rs0", "rs1"]), st.integers(1, 8), st.just(0)),
    st.tuples(st.just("empty"), st.just(""), st.just(0), st.just(0)),  # a physical restore, a resync
    st.tuples(st.just("probe"), st.just(""), st.integers(0, 4), st.just(0))), max_size=25)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(steps=STEPS, page=st.integers(1, 6), most=st.integers(1, 15), span=st.sampled_from([None, 10, 600]),
       lag=st.none() | st.integers(-20, 20))
def test_the_incremental_timelines_equal_gettimelines_over_every_chunk(
        steps: list[tuple[str, str, int, int]], page: int, most: int, span: int | None, lag: int | None) -> None:
    """Chunks written (contiguous, after a gap, or overlapping their predecessor by a second), deleted oldest first
    by retention, or all at once; probes in between, some failing at one of their reads: once the reads catch up
    and RETENTION_EVERY probes ran, the timelines are gettimelines' over the chunks there are, whatever the page
    size, the per-probe bound, PITR on (its span) or off, and the cluster time (`lag` from the newest chunk's end,
    None: not known)."""
    fake, catalogue = FakeChunks(), Catalogue()

    def probe() -> Observed[Any]:
        ends = [d["end_ts"].time for d in fake.docs]
        now = None if lag is None else max(ends, default=0) + lag
        return asyncio.run(catalogue.read_chunks(fake.read, ("rs0", "rs1"), span, now))
    clock = {"rs0": 100, "rs1": 100}
    with mock.patch.object(pbm_catalogue, "CHUNK_PAGE", page), \
            mock.patch.object(pbm_catalogue, "MAX_NEW_CHUNKS", max(most, page)):
        for kind, rs, count, gap in steps:
            if kind == "write":
                for _ in range(count):
                    start = clock[rs] + gap if gap >= 0 else clock[rs] - 1
                    clock[rs] = start + 10
                    fake.docs.append({"rs": rs, "start_ts": Timestamp(start, 1), "end_ts": Timestamp(clock[rs], 1)})
                    gap = 0
            elif kind == "retain":
                ours = [d for d in fake.docs if d["rs"] == rs][:count]
                fake.docs = [d for d in fake.docs if not any(d is o for o in ours)]
            elif kind == "empty":
                fake.docs = []
            else:
                fake.calls, fake.fail_at = 0, count or None
                probe()
        fake.fail_at = None
        for _ in range(RETENTION_EVERY + len(fake.docs) // max(most, page) + 2):
            found = probe()
    assert found.ok and found.value == fake.expected()
    newest = {rs: max((d for d in fake.docs if d["rs"] == rs), key=lambda d: d["start_ts"])["end_ts"]
              for rs in fake.expected()}
    assert {c["rs"]: c["end_ts"] for c in catalogue.newest_chunks()} == newest
