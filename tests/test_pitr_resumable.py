"""pitr_resumable (issue 29 item 2): PITR that will not resume, as PBM's Slicer.Catchup refuses it; through the
simulator (replica set and sharded) and as a pure function, plus the probe's bounded pbmLog read."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from bson.timestamp import Timestamp

from exporter.facts.observed import Observed
from exporter.model.pitr_catchup import EPOCH_LOG_INDEX, catchup_blocker, last_backup
from exporter.probes.mongodb import BACKUP_REREAD_EVERY, MongoDBProber, _pitr_errors
from exporter.results.check_result import Status
from pbm_pmm_simulator import AgentSpec, MemberSpec, SimReplicaSet, SimShardedCluster
from tests.probing import cluster_config, probe, result, statuses
from tests.test_checks import NOW, facts, results
from tests.test_sharded_scenarios import by_set
from tests.test_sharded_scenarios import probe as probe_sharded

NEW_PBM = AgentSpec(version="2.14.0")  # its agents create pbmLog's indexes (PBM 2.13+): the error is read


@pytest.fixture
def rs() -> Iterator[SimReplicaSet]:
    with SimReplicaSet(members=[MemberSpec(agent=NEW_PBM) for _ in range(3)]) as sim:
        yield sim


def pbmlog_finds(rs: SimReplicaSet) -> list[dict[str, Any]]:
    return [body for node in rs.members for _, _, body in node.command_log if body.get("find") == "pbmLog"]


def test_no_base_backup_fails_quoting_pbm_then_a_backup_resumes_it(rs: SimReplicaSet) -> None:
    assert statuses(probe(rs), "pitr_resumable") == {"": Status.SKIPPED}  # PITR off
    assert rs.pbm.enable_pitr() == ["rs0"]  # the agent's Catchup refuses: no backup
    rs.advance_clock(40)
    snap = probe(rs)
    status, reason, fix = result(snap, "pitr_resumable")
    assert status is Status.FAIL
    assert reason.startswith('PITR will not resume on rs0: PBM\'s slicer refuses to start (Slicer.Catchup: "no '
                             'backup found. full backup is required to start PITR")')
    # PBM's own newest error, as pbm status shows it (getPitrErr, Entry.StringNode)
    assert "; pbm status shows: " in reason and " E [rs0/" in reason
    assert reason.endswith("[pitr] init: catchup: get last backup: no backup found. full backup is required to start "
                           "PITR")
    assert "full backup" in fix
    assert snap.operations["pitr"] is False
    assert [r.blocks for r in snap.results if r.check == "pitr_resumable"] == [("pitr",)]
    # read through PBM's index, hinted, one entry, for this epoch
    [error_read, start_read] = pbmlog_finds(rs)[-2:]
    assert error_read["hint"] == EPOCH_LOG_INDEX and error_read["limit"] == 1
    assert error_read["filter"]["ep"] == Timestamp(1_700_000_000, 1) and error_read["filter"]["s"] == 1
    assert start_read["filter"]["msg"] == "start_ok"

    rs.pbm.start_backup(name="2026-12-06T05:00:00Z")  # a full backup runs: Catchup runs again when it ends
    rs.advance_clock(20)
    status, reason, _ = result(probe(rs), "pitr_resumable")
    assert status is Status.PASS and "but the full backup 2026-12-06T05:00:00Z runs" in reason
    rs.pbm.finish_backup()  # the agent's next try finds it: slicing starts, "start_ok"
    rs.advance_clock(20)
    reads = len(pbmlog_finds(rs))
    status, reason, _ = result(probe(rs), "pitr_resumable")
    assert status is Status.PASS and "runs on" in reason
    assert len(pbmlog_finds(rs)) == reads  # nothing to quote: pbmLog is not read


def test_a_restore_newer_than_the_last_backup_fails_until_a_new_backup(rs: SimReplicaSet) -> None:
    backup = rs.pbm.add_backup()
    rs.advance_clock(60)
    rs.pbm.start_logical_restore(backup)
    rs.advance_clock(60)
    rs.pbm.finish_logical_restore()
    rs.advance_clock(60)
    assert rs.pbm.enable_pitr() == ["rs0"]
    rs.advance_clock(30)
    status, reason, _ = result(probe(rs), "pitr_resumable")
    assert status is Status.FAIL
    assert f'"no backup found after the restored {backup}, a new backup is required to resume PITR")' in reason
    assert reason.endswith(f"[pitr] init: catchup: no backup found after the restored {backup}, a new backup is "
                           f"required to resume PITR")
    rs.pbm.add_backup(start=rs.cluster_time().time - 10)
    rs.advance_clock(20)
    assert statuses(probe(rs), "pitr_resumable") == {"": Status.PASS}


def test_a_backup_to_a_profile_or_selective_is_no_base(rs: SimReplicaSet) -> None:
    rs.pbm.add_backup(profile="archive")
    rs.pbm.add_backup(nss=["db.coll"])
    rs.pbm.enable_pitr()
    rs.advance_clock(20)
    status, reason, _ = result(probe(rs), "pitr_resumable")
    assert status is Status.FAIL and "no backup found. full backup is required" in reason


def test_old_pbm_without_the_log_index_fails_without_reading_pbmlog() -> None:
    with SimReplicaSet() as rs:  # PBM 2.7: no index on pbmLog
        rs.pbm.enable_pitr()
        rs.advance_clock(20)
        status, reason, _ = result(probe(rs), "pitr_resumable")
        assert status is Status.FAIL and reason.endswith(
            "; PBM's own PITR error could not be read (PBM before 2.13 keeps no index on admin.pbmLog to read it "
            "through)")
        assert not pbmlog_finds(rs)


def test_a_shard_added_after_the_last_backup_will_not_resume() -> None:
    new = [MemberSpec(agent=NEW_PBM) for _ in range(3)]
    with SimShardedCluster(shard_members=[new, new], config_member_specs=new) as cluster:
        name = cluster.config.pbm.add_backup(without=("shard1",))  # taken before shard1 joined
        assert cluster.config.pbm.enable_pitr() == ["shard1"]  # the others slice
        cluster.config.advance_clock(20)
        snap = probe_sharded(cluster)
        assert by_set(snap, "pitr_resumable") == {"cfg": {"": Status.PASS}, "shard0": {"": Status.PASS},
                                                  "shard1": {"": Status.FAIL}}
        [reason] = [r.reason for r in snap.results if r.check == "pitr_resumable" and r.replica_set == "shard1"]
        assert f'no replset "shard1" in the last backup "{name}". full backup is required to start PITR' in reason
        assert " E [shard1/" in reason  # PBM's error, from the CSRS's pbmLog
        cluster.config.pbm.add_backup()
        cluster.config.advance_clock(20)
        assert {s for v in by_set(probe_sharded(cluster), "pitr_resumable").values() for s in v.values()} == \
            {Status.PASS}


# --- pure functions --------------------------------------------------------------------------------------------

PITR_ON = {"storage": {"type": "s3", "s3": {"bucket": "b"}}, "pitr": {"enabled": True},
           "epoch": Timestamp(1_700_000_000, 1)}


def backup(name: str, start: int, replsets: tuple[str, ...] = ("rs0",), **over: Any) -> dict[str, Any]:
    return {"name": name, "type": "logical", "status": "done", "start_ts": start, "store": {},
            "replsets": [{"name": r} for r in replsets], **over}


def test_last_backup_follows_getlastbackup() -> None:
    catalogue = [backup("ext", 5, type="external"), backup("prof", 4, store={"profile": True}),
                 backup("sel", 3, nss=["a.b"]), backup("err", 2, status="error"), backup("base", 1)]
    assert (last_backup(catalogue) or {})["name"] == "base"
    assert last_backup(catalogue[:4]) is None


@pytest.mark.parametrize(("catalogue", "restore", "expected"), [
    ([], None, "no backup found. full backup is required to start PITR"),
    ([backup("b1", NOW - 100, ("shard0",))], None,
     'no replset "rs0" in the last backup "b1". full backup is required to start PITR'),
    ([backup("b1", NOW - 100)], {"backup": "b0", "start_ts": NOW - 50},
     "no backup found after the restored b0, a new backup is required to resume PITR"),
    ([backup("b1", NOW - 100)], {"backup": "b0", "start_ts": NOW - 100}, None),  # not newer: StartTS < only
    ([backup("b1", NOW - 100)], None, None),
])
def test_catchup_rules(catalogue: list[dict[str, Any]], restore: dict[str, Any] | None, expected: str | None) -> None:
    blocker = catchup_blocker("rs0", catalogue, restore)
    assert (blocker.message if blocker else None) == expected


def test_the_check_as_a_pure_function() -> None:
    assert results(facts(pbm_config=PITR_ON, catalogue=Observed([]), last_done_restore=Observed(None)),
                   "pitr_resumable")[""][0] is Status.FAIL
    oplog_only = {**PITR_ON, "pitr": {"enabled": True, "oplogOnly": True}}
    assert results(facts(pbm_config=oplog_only, catalogue=Observed([])), "pitr_resumable")[""][0] is Status.SKIPPED
    assert results(facts(pbm_config=PITR_ON, catalogue=Observed.failed("boom"), last_done_restore=Observed(None)),
                   "pitr_resumable")[""] == (Status.UNKNOWN, "cannot read admin.pbmBackups: boom")
    # a slicer holding a fresh lock passed its Catchup
    lock = {"type": "pitr", "replset": "rs0", "node": "db2:27017", "opid": "x", "hb": Timestamp(NOW - 3, 1)}
    assert results(facts(pbm_config=PITR_ON, catalogue=Observed([]), last_done_restore=Observed(None),
                         locks=Observed([]), op_locks=Observed([lock])), "pitr_resumable")[""][0] is Status.PASS
    # a catalogue cut at its limit with no base in it may hide an older one
    many = [backup(f"e{i}", NOW - i, status="error") for i in range(1000)]
    assert results(facts(pbm_config=PITR_ON, catalogue=Observed(many), last_done_restore=Observed(None)),
                   "pitr_resumable")[""][0] is Status.UNKNOWN


def test_the_probe_quotes_only_an_error_no_start_ok_followed() -> None:
    """getPitrErr: the newest error of the epoch per replica set, unless a later start_ok (a strictly later ts)."""
    log = [{"ep": PITR_ON["epoch"], "rs": "rs0", "e": "pitr", "s": 1, "ts": 100, "node": "n", "msg": "old"},
           {"ep": PITR_ON["epoch"], "rs": "rs0", "e": "pitr", "s": 4, "ts": 100, "node": "n", "msg": "start_ok"}]
    calls: list[tuple[Any, ...]] = []

    async def read(coll: str, query: dict[str, Any], projection: dict[str, Any], limit: int,
                   sort: list[tuple[str, int]] | None = None, hint: str | None = None) -> Observed[Any]:
        calls.append((coll, query, limit, sort, hint))
        found = [d for d in log if all(d.get(k) == v for k, v in query.items() if k != "ts")
                 and ("ts" not in query or d["ts"] > query["ts"]["$gt"])]
        return Observed(sorted(found, key=lambda d: -d["ts"])[:limit])

    pbm = {"agents": Observed([{"v": "2.14.0"}]), "catalogue": Observed([]), "last_done_restore": Observed(None)}
    errors = asyncio.run(_pitr_errors(read, PITR_ON, pbm, ("rs0",)))
    assert [e["msg"] for e in errors.value or []] == ["old"]  # the start_ok in the same second is not after it
    assert all(c[0] == "pbmLog" and c[2] == 1 and c[3] == [("ts", -1)] and c[4] == EPOCH_LOG_INDEX for c in calls)
    log.append({**log[1], "ts": 101})
    assert asyncio.run(_pitr_errors(read, PITR_ON, pbm, ("rs0",))).value == []
    # nothing is read while every replica set can resume, nor with PITR off
    calls.clear()
    pbm["catalogue"] = Observed([backup("b", 1)])
    assert asyncio.run(_pitr_errors(read, PITR_ON, pbm, ("rs0",))).value == []
    assert asyncio.run(_pitr_errors(read, {**PITR_ON, "pitr": {"enabled": False}}, pbm, ("rs0",))).value == []
    assert calls == []


def test_a_long_lived_prober_reads_pbmrestores_rarely_and_pbmlog_only_while_pitr_will_not_resume(
        rs: SimReplicaSet) -> None:
    """admin.pbmRestores has no index: its newest document is read with the newest backup, again only after a
    restore's lock was seen or every BACKUP_REREAD_EVERY probes; pbmLog only while a replica set will not resume."""
    def finds(coll: str) -> int:
        return sum(1 for node in rs.members for _, _, body in node.command_log if body.get("find") == coll)

    backup = rs.pbm.add_backup()
    rs.advance_clock(60)
    rs.pbm.start_logical_restore(backup)
    rs.pbm.finish_logical_restore()
    rs.pbm.enable_pitr()
    runner = asyncio.Runner()
    prober = MongoDBProber(cluster_config(rs), 2.0, 2.0)
    try:
        for _ in range(BACKUP_REREAD_EVERY - 1):
            rs.advance_clock(60)
            outcome = runner.run(prober.probe())
            assert outcome.facts is not None and outcome.facts.control_facts is not None
            [error] = outcome.facts.control_facts.pitr_errors.value or []
            assert "no backup found after the restored" in error["msg"]
        # the newest restore is done, so it is GetLastRestore's too: one read, then reused
        assert finds("pbmRestores") == 1
        assert finds("pbmLog") == 2 * (BACKUP_REREAD_EVERY - 1)  # the error, and a start_ok after it, each probe
        rs.pbm.start_backup()  # a new base: the prober sees its lock, and reads the catalogue again after it
        runner.run(prober.probe())
        rs.pbm.finish_backup()  # PITR resumes: nothing more to quote
        rs.advance_clock(60)
        runner.run(prober.probe())
        reads = finds("pbmLog")
        for _ in range(2 * BACKUP_REREAD_EVERY):
            rs.advance_clock(60)
            runner.run(prober.probe())
        assert finds("pbmLog") == reads
        # 1 + the probe that saw the backup's lock + the one after it + one every BACKUP_REREAD_EVERY probes
        assert finds("pbmRestores") == 5
    finally:
        runner.run(prober.close())
        runner.close()
