"""pitr_oplog_sufficient and write_majority_available: pure, then through the simulator (pass and fail each)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import pytest
from bson.timestamp import Timestamp

from exporter.facts.observed import Observed, ReplicaSetFacts
from exporter.probes.mongodb import MongoDBProber
from exporter.probes.oplog import OPLOG_REREAD_EVERY
from exporter.results.check_result import Status
from pbm_pmm_simulator import MemberSpec, SimReplicaSet, SimShardedCluster
from tests.probing import cluster_config, probe, probe_clusters, result
from tests.test_checks import HOSTS, NOW, blocks, facts, results
from tests.test_sharded_scenarios import probe as probe_sharded

PITR_ON = {"storage": {"type": "s3", "s3": {"bucket": "b"}}, "pitr": {"enabled": True}}
CHUNK_END = NOW - 300


def oplog_facts(firsts: dict[str, Any], lock_node: str | None = HOSTS[1], pbm_config: Any = PITR_ON,
                **over: Any) -> ReplicaSetFacts:
    """PITR on, the newest chunk ending 300 s ago, and each member's oldest oplog entry (a second, or an error)."""
    oplog_first = {h: Observed(Timestamp(v, 1)) if isinstance(v, int) else Observed.failed(v)
                   for h, v in firsts.items()}
    status = {"set": "rs0", "members": [
        {"name": h, "health": 1.0, "state": 1 if i == 0 else 2, "stateStr": "PRIMARY" if i == 0 else "SECONDARY",
         "optime": {"ts": Timestamp(NOW, 1), "t": 1}} for i, h in enumerate(HOSTS)]}
    lock = [{"type": "pitr", "replset": "rs0", "node": lock_node, "opid": "p", "hb": Timestamp(NOW - 2, 1)}]
    values: dict[str, Any] = {
        "status": Observed(status), "locks": Observed([]), "op_locks": Observed(lock if lock_node else []),
        "pitr_chunks": Observed([{"rs": "rs0", "start_ts": Timestamp(CHUNK_END - 600, 1),
                                  "end_ts": Timestamp(CHUNK_END, 1)}]),
        "oplog_first": oplog_first}
    values.update(over)
    return facts(pbm_config=pbm_config, **values)


CHECK = "pitr_oplog_sufficient"


@pytest.mark.parametrize(("firsts", "lock_node", "status", "says", "blocked"), [
    ({h: NOW - 86400 for h in HOSTS}, HOSTS[1], Status.PASS, "with 86100 s to spare", ()),
    # IsSufficient: the oldest entry at the chunk's end still holds it
    ({h: CHUNK_END for h in HOSTS}, HOSTS[1], Status.FAIL, "keeps only 0 s", ()),
    ({h: NOW - 1000 for h in HOSTS}, HOSTS[1], Status.FAIL, "keeps only 700 s before", ()),
    ({h: CHUNK_END + 1 for h in HOSTS}, HOSTS[1], Status.FAIL, "no member PBM could slice rs0 on", ("pitr",)),
    # the slicing member lost it, another holds it: PBM stops there and may not move
    ({HOSTS[0]: NOW - 86400, HOSTS[1]: CHUNK_END + 60, HOSTS[2]: CHUNK_END + 60}, HOSTS[1], Status.FAIL,
     "the member slicing rs0 now, db2:27017, no longer holds", ()),
    # no lock: the member with the most headroom is judged
    ({HOSTS[0]: NOW - 86400, HOSTS[1]: CHUNK_END + 60, HOSTS[2]: CHUNK_END + 60}, None, Status.PASS,
     "the oplog of db1:27017 holds", ()),
    ({HOSTS[0]: "Unauthorized: not authorized on local", HOSTS[1]: CHUNK_END + 60, HOSTS[2]: CHUNK_END + 60},
     HOSTS[1], Status.UNKNOWN, "cannot read the oldest oplog entry of db1:27017: Unauthorized", ("pitr",)),
    ({}, HOSTS[1], Status.UNKNOWN, "db1:27017: not read", ("pitr",)),
])
def test_oplog_headroom(firsts: dict[str, Any], lock_node: str | None, status: Status, says: str,
                        blocked: tuple[str, ...]) -> None:
    f = oplog_facts(firsts, lock_node)
    got = results(f, CHECK)[""]
    assert got[0] is status and says in got[1], got
    assert blocks(f, CHECK)[""] == blocked


def test_oplog_headroom_is_skipped_with_pitr_off_or_before_the_first_chunk() -> None:
    assert results(oplog_facts({}, pbm_config={"storage": {"type": "s3"}}), CHECK)[""][0] is Status.SKIPPED
    assert results(oplog_facts({}, pitr_chunks=Observed([])), CHECK)[""][0] is Status.SKIPPED
    assert results(oplog_facts({}, pitr_chunks=Observed.failed("boom")), CHECK)[""][0] is Status.UNKNOWN


def backup(name: str, last_write: int, **over: Any) -> dict[str, Any]:
    return {"name": name, "type": "logical", "status": "done", "first_write_ts": Timestamp(last_write - 60, 1),
            "last_write_ts": Timestamp(last_write, 1), "start_ts": last_write - 600, **over}


@pytest.mark.parametrize(("catalogue", "status"), [
    ([backup("new", CHUNK_END + 100)], Status.SKIPPED),  # Catchup starts the slicer from it
    ([backup("old", CHUNK_END - 100)], Status.FAIL),
    ([backup("new", CHUNK_END + 100, status="error"), backup("old", CHUNK_END - 100)], Status.FAIL),
    ([backup("new", CHUNK_END + 100, type="external")], Status.FAIL),
    ([backup("new", CHUNK_END + 100, nss=["db.c"])], Status.FAIL),
])
def test_a_backup_newer_than_the_newest_chunk_is_where_the_slicer_restarts(catalogue: list[Any],
                                                                           status: Status) -> None:
    f = oplog_facts({h: CHUNK_END + 1 for h in HOSTS}, catalogue=Observed(catalogue))
    assert results(f, CHECK)[""][0] is status


def test_only_members_pbm_could_nominate_count() -> None:
    # db1 holds the end but its agent is stale: PBM would not nominate it (ListSteadyAgents)
    agents = [{"n": h, "rs": "rs0", "v": "2.7.0", "hb": Timestamp(NOW - (100 if h == HOSTS[0] else 2), 1), "s": 2,
               "pbms": {"ok": True}, "nodes": {"ok": True}, "stors": {"ok": True}} for h in HOSTS]
    f = oplog_facts({HOSTS[0]: NOW - 86400, HOSTS[1]: CHUNK_END + 60, HOSTS[2]: CHUNK_END + 60},
                    agents=agents)
    assert results(f, CHECK)[""][0] is Status.FAIL and blocks(f, CHECK)[""] == ("pitr",)


MAJORITY = "write_majority_available"


def psa_facts(secondary: dict[str, Any], votes: int = 1) -> ReplicaSetFacts:
    hosts = [*HOSTS[:2], "arb:27017"]
    members = [{"_id": i, "host": h, "arbiterOnly": i == 2, "votes": votes if i == 1 else 1}
               for i, h in enumerate(hosts)]
    states = [{"name": HOSTS[0], "health": 1.0, "state": 1, "stateStr": "PRIMARY"},
              {"name": HOSTS[1], **secondary}, {"name": hosts[2], "health": 1.0, "state": 7, "stateStr": "ARBITER"}]
    status = {"set": "rs0", "members": states, "writeMajorityCount": 2 if votes else 1,
              "optimes": {"lastCommittedOpTime": {"ts": Timestamp(NOW - 900, 1)},
                          "appliedOpTime": {"ts": Timestamp(NOW, 1)}}}
    return facts(pbm_config=PITR_ON, status=Observed(status),
                 config=Observed({"config": {"_id": "rs0", "members": members}}))


UP = {"health": 1.0, "state": 2, "stateStr": "SECONDARY"}
DOWN = {"health": 0.0, "state": 8, "stateStr": "(not reachable/healthy)"}


@pytest.mark.parametrize(("secondary", "votes", "status", "says"), [
    (UP, 1, Status.PASS, "2 voting data-bearing members of rs0 apply writes, writeMajorityCount 2"),
    (DOWN, 1, Status.FAIL, "rs0 cannot acknowledge majority writes: 1 voting data-bearing member apply"),
    ({"health": 1.0, "state": 3, "stateStr": "RECOVERING"}, 1, Status.FAIL, "db2:27017 (RECOVERING) cannot"),
    (DOWN, 0, Status.PASS, "1 voting data-bearing members"),  # its vote taken away, as MongoDB advises
])
def test_write_majority(secondary: dict[str, Any], votes: int, status: Status, says: str) -> None:
    got = results(psa_facts(secondary, votes), MAJORITY)[""]
    assert got[0] is status and says in got[1], got
    assert blocks(psa_facts(secondary, votes), MAJORITY)[""] == (("pitr",) if status is Status.FAIL else ())
    if status is Status.FAIL:
        assert "the majority commit point is 900 s behind the last write" in got[1]


def test_write_majority_unknown_or_skipped() -> None:
    assert results(facts(pbm_config={"storage": {"type": "s3"}}), MAJORITY)[""][0] is Status.SKIPPED
    f = facts(pbm_config=PITR_ON, status=Observed.failed("Unauthorized"))
    assert results(f, MAJORITY)[""] == (Status.UNKNOWN, "cannot read replSetGetStatus: Unauthorized")


# --- through the simulator ----------------------------------------------------------------------------------


def pitr_set(rs: SimReplicaSet, chunks_since: int) -> None:
    rs.pbm_config["pitr"] = {"enabled": True}
    rs.pbm.start_pitr(span_min=10, since=rs.cluster_time().time - chunks_since)


def test_oplog_headroom_through_the_simulator() -> None:
    with SimReplicaSet().start() as rs:
        pitr_set(rs, 4000)  # six 10-minute chunks: the newest ends 400 s ago
        assert result(probe(rs), CHECK)[0] is Status.PASS
        for member in rs.members:
            member.oplog_window_secs = 2000  # the oplog keeps 1600 s before that end: under three spans
        status, reason, _ = result(probe(rs), CHECK)
        assert status is Status.FAIL and "under 3 slice spans" in reason
        for member in rs.members:
            member.oplog_window_secs = 300  # rolled past the newest chunk's end on every member
        snap = probe(rs)
        status, reason, fix = result(snap, CHECK)
        assert status is Status.FAIL and "no member PBM could slice rs0 on still holds" in reason
        assert "take a new full backup" in fix and snap.operations["pitr"] is False
        rs.pbm.start_backup()  # the fix: PBM's slicer starts again from the new backup
        rs.pbm.finish_backup()
        status, reason, _ = result(probe(rs), CHECK)
        assert status is Status.SKIPPED and "starts again from that backup" in reason, reason


def test_oplog_window_is_read_on_each_member_rarely_and_only_with_pitr_on() -> None:
    with SimReplicaSet().start() as rs:
        cluster = cluster_config(rs)

        def finds() -> list[int]:
            return [sum(1 for name, db, body in m.command_log if name == "find" and body.get("find") == "oplog.rs")
                    for m in rs.members]

        async def run(cycles: int) -> Any:
            prober = MongoDBProber(cluster, 2.0)
            try:
                outcome = None
                for _ in range(cycles):
                    outcome = await prober.probe()
                return outcome
            finally:
                await prober.close()

        asyncio.run(run(2))
        assert finds() == [0, 0, 0]  # PITR off: never read
        pitr_set(rs, 4000)
        asyncio.run(run(3))
        assert finds() == [1, 1, 1]  # each member, on itself, once: not every probe while the headroom is ample
        outcome = asyncio.run(run(OPLOG_REREAD_EVERY + 1))
        assert finds() == [3, 3, 3]  # and again after OPLOG_REREAD_EVERY probes
        firsts = outcome.facts.replica_sets[0].oplog_first
        assert set(firsts) == set(rs.hosts) and all(isinstance(f.value, Timestamp) for f in firsts.values())
        for member in rs.members:
            member.oplog_window_secs = 2000  # headroom near the warning: read every probe
        asyncio.run(run(3))
        assert finds() == [6, 6, 6]


def test_the_oplog_is_read_only_on_members_pbm_could_slice_on() -> None:
    with SimReplicaSet().start() as rs:
        pitr_set(rs, 4000)
        rs.members[2].stop_agent(at=rs.cluster_time().time - 120)  # PBM would not nominate it
        snap = probe(rs)
        assert [sum(1 for name, _, body in m.command_log if name == "find" and body.get("find") == "oplog.rs")
                for m in rs.members] == [1, 1, 0]
        assert {w.node for w in snap.oplog_windows} == set(rs.hosts[:2])


def test_a_slow_member_costs_its_own_oplog_read_not_the_probe() -> None:
    with SimReplicaSet().start() as rs:
        pitr_set(rs, 4000)
        probe(rs)  # the agents' documents are read once the set answers
        rs.members[2].set_delay(30)  # its hello and find hang far past the 2 s probe timeout
        started = time.monotonic()
        snap = probe(rs)
        assert snap.probe_success and time.monotonic() - started < 4
        assert result(snap, CHECK)[0] is Status.PASS
        assert {w.node for w in snap.oplog_windows} == set(rs.hosts[:2])


def test_write_majority_lost_through_the_simulator() -> None:
    with SimReplicaSet(members=[MemberSpec(), MemberSpec(), MemberSpec(arbiter=True)]).start() as rs:
        pitr_set(rs, 4000)
        assert result(probe(rs), MAJORITY)[0] is Status.PASS
        rs.members[1].stop()
        rs.advance_clock(120)
        snap = probe(rs)
        status, reason, fix = result(snap, MAJORITY)
        assert status is Status.FAIL and "cannot acknowledge majority writes" in reason
        assert "the majority commit point is 120 s behind the last write" in reason and "votes: 0" in fix
        assert snap.operations["pitr"] is False
        assert result(snap, "pitr_running")[0] is Status.PASS  # its lock is fresh: only this check sees it


def test_each_shard_is_judged_on_its_own_members_oplog() -> None:
    with SimShardedCluster() as cluster:
        cluster.config.pbm_config["pitr"] = {"enabled": True}
        cluster.config.pbm.start_pitr(span_min=10, since=cluster.config.cluster_time().time - 4000)
        snap = probe_sharded(cluster)
        verdicts = {r.replica_set: r for r in snap.results if r.check == CHECK}
        assert {rs: r.status for rs, r in verdicts.items()} == dict.fromkeys(("cfg", "shard0", "shard1"), Status.PASS)
        assert {w.replica_set for w in snap.oplog_windows} == {"cfg", "shard0", "shard1"}
        shard1 = next(rs for rs in cluster.replica_sets if rs.name == "shard1")
        for member in shard1.members:
            member.oplog_window_secs = 300  # shard1's oplog rolled past its newest chunk's end
        snap = probe_sharded(cluster)
        verdicts = {r.replica_set: r for r in snap.results if r.check == CHECK}
        assert verdicts["shard1"].status is Status.FAIL and verdicts["shard1"].blocks == ("pitr",)
        assert verdicts["shard0"].status is Status.PASS and snap.operations["pitr"] is False
        assert {w.seconds for w in snap.oplog_windows if w.replica_set == "shard1"} == {300}


def test_the_oplog_is_read_on_connections_the_prober_keeps() -> None:
    # each member's read goes through the replica set's long-lived client, aimed at the member: after the first
    # read, re-reading it opens no connection and authenticates nothing more (a short-lived client per read was
    # ~9 ms of CPU, a handshake and SCRAM-SHA-256 key derivation each time)
    with SimReplicaSet().start() as rs:
        pitr_set(rs, 4000)

        def count(command: str, **body: Any) -> list[int]:
            return [sum(1 for name, _, b in m.command_log if name == command
                        and all(b.get(k) == v for k, v in body.items())) for m in rs.members]

        async def run() -> Any:
            prober = MongoDBProber(cluster_config(rs), 2.0)
            try:
                await prober.probe()
                signed_in = count("saslStart")
                for _ in range(OPLOG_REREAD_EVERY):
                    outcome = await prober.probe()
                return signed_in, outcome
            finally:
                await prober.close()

        signed_in, outcome = asyncio.run(run())
        assert count("find", find="oplog.rs") == [2, 2, 2]  # read twice on each member
        assert count("saslStart") == signed_in  # and the second time, on the connections of the first
        assert all(isinstance(f.value, Timestamp) for f in outcome.facts.replica_sets[0].oplog_first.values())


def test_a_secondarys_connection_opened_for_its_oplog_is_not_held_between_reads() -> None:
    # maxIdleTimeMS is two heartbeats: the primary's pooled connection, used every probe, stays open; a secondary's,
    # used only to read its oplog every OPLOG_REREAD_EVERY probes, is closed once idle that long (the cursor task
    # prunes once a heartbeat), so that between reads each member holds the monitor's connection only
    with SimReplicaSet().start() as rs:
        pitr_set(rs, 4000)

        def held() -> list[int]:
            return [len(m._conns) for m in rs.members]

        async def run() -> tuple[list[int], list[int]]:
            prober = MongoDBProber(cluster_config(rs), 2.0)
            prober.heartbeat = 0.5  # before its client exists: maxIdleTimeMS 1 s, the cursor task every 0.5 s
            try:
                await prober.probe()
                after_read, now = held(), held()
                deadline = time.monotonic() + 30  # a bound for a loaded machine, not a wait: it ends when seen
                while now != [2, 1, 1] and time.monotonic() < deadline:
                    # probes 0.3 s apart keep the primary's connection in use; a secondary's is used every tenth
                    await asyncio.sleep(0.3)
                    await prober.probe()
                    now = held()
                return after_read, now
            finally:
                await prober.close()

        after_read, later = asyncio.run(run())
    assert after_read == [2, 2, 2]  # each member: the monitor's connection and the one its oplog was read on
    assert later == [2, 1, 1]  # the primary: the monitor's and the probe's; each secondary: the monitor's


def test_a_uri_to_one_member_reads_the_others_oplog_directly() -> None:
    # directConnection=true: the cluster's client sees one member, so the others are read through a client of
    # their own, with the same credentials
    with SimReplicaSet().start() as rs:
        pitr_set(rs, 4000)
        config = cluster_config(rs)
        direct = replace(config, uri=rs._build_uri(rs.hosts[:1], None, None, auth=True, replica_set=False,
                                                   options={"directConnection": True}))
        snapshot = probe_clusters([direct]).get(direct.name)
        assert snapshot is not None and "directConnection=true" in direct.uri
        assert {w.node for w in snapshot.oplog_windows} == set(rs.hosts)


def test_a_failed_oplog_read_is_tried_again_at_the_next_probe() -> None:
    # not carried for OPLOG_REREAD_EVERY probes: that would leave the check unknown for as many minutes after one
    # probe short of time (a fleet's first cycle) or one slow answer
    with SimReplicaSet().start() as rs:
        pitr_set(rs, 4000)

        probe(rs)  # the agents' documents are read once the set answers

        async def run() -> tuple[Any, Any]:
            prober = MongoDBProber(cluster_config(rs), 2.0)
            try:
                rs.members[2].set_delay(30)
                slow = await prober.probe()
                rs.members[2].set_delay(0)
                return slow, await prober.probe()
            finally:
                await prober.close()

        slow, back = asyncio.run(run())
        assert not slow.facts.replica_sets[0].oplog_first[rs.hosts[2]].ok
        assert isinstance(back.facts.replica_sets[0].oplog_first[rs.hosts[2]].value, Timestamp)
