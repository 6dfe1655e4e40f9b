"""The PBM failures users hit that PMM's page does not list, through the simulated replica set and real pymongo:
stale locks (pbmLock, and pbmLockOp as older PBM used it), mixed agent versions, a lagging or delayed member, PITR
that stopped slicing, a backup the storage refused, and a physical restore that legitimately disturbs the others."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from bson.timestamp import Timestamp

from exporter.probes.mongodb import MongoDBProber
from exporter.results.check_result import Status
from exporter.snapshots.cluster_snapshot import ClusterSnapshot
from pbm_pmm_simulator import SimReplicaSet
from tests.probing import cluster_config, probe, result, statuses


@pytest.fixture
def rs() -> Iterator[SimReplicaSet]:
    with SimReplicaSet() as replica_set:
        yield replica_set


def one(snap: ClusterSnapshot, check: str, node: str = "") -> tuple[Status, str, tuple[str, ...]]:
    [r] = [r for r in snap.results if r.check == check and r.node == node]
    return r.status, r.reason, r.blocks


def test_a_fresh_lock_names_the_running_backup_and_a_crashed_ones_lock_goes_stale(rs: SimReplicaSet) -> None:
    opid = rs.pbm.start_backup()
    snap = probe(rs)
    status, reason, _ = one(snap, "pbm_no_stale_lock")
    assert status is Status.PASS
    assert reason.startswith(f"no stale lock; running now: backup on rs0/{rs.hosts[0]} (opid {opid}, admin.pbmLock), "
                             f"heartbeat ")
    assert snap.running == ("backup",)
    rs.pbm.crash_backup()
    rs.advance_clock(45)
    snap = probe(rs)
    status, reason, blocks = one(snap, "pbm_no_stale_lock")
    assert status is Status.FAIL and blocks == ("logical_backup", "physical_backup", "pitr", "logical_restore",
                                                "physical_restore", "pitr_restore")
    assert f"PBM's lock for backup on rs0/{rs.hosts[0]} (opid {opid}, admin.pbmLock) is stale: its last heartbeat " \
           f"was 4" in reason
    [lock] = [r for r in snap.results if r.check == "pbm_no_stale_lock"]
    assert f'db.getSiblingDB("admin").pbmLock.deleteOne({{opid: "{opid}"}})' in lock.fix
    assert snap.running == () and snap.ready is False  # stale: nothing runs, and PMM would wait and fail


def test_a_stale_lock_in_pbmlockop_as_older_pbm_took_for_deletes_is_reported_too(rs: SimReplicaSet) -> None:
    for member in rs.members:  # PBM 2.5 and older kept other operations' locks in pbmLockOp too
        assert member.agent is not None
        member.agent.version = "2.5.0"
    now = rs.cluster_time().time
    rs.set_collection("admin", "pbmLockOp", [{"type": "delete", "replset": "rs0", "node": rs.hosts[1],
                                              "opid": "65aa01", "hb": Timestamp(now - 300, 1)}])
    status, reason, blocks = one(probe(rs), "pbm_no_stale_lock")
    assert status is Status.FAIL and "delete on rs0/" in reason and "admin.pbmLockOp" in reason
    assert blocks == ()  # PBM 2.5's pbm status skips it: a warning (see the next test)
    # PITR's own lock there is pitr_running's business, not a stale operation lock
    rs.set_collection("admin", "pbmLockOp", [{"type": "pitr", "replset": "rs0", "node": rs.hosts[1],
                                              "opid": "65aa02", "hb": Timestamp(now - 300, 1)}])
    assert one(probe(rs), "pbm_no_stale_lock")[0] is Status.PASS


def test_a_stale_lock_under_pbm_2_5_is_a_warning_and_blocks_everything_once_an_agent_runs_2_6(
        rs: SimReplicaSet) -> None:
    for member in rs.members:
        assert member.agent is not None
        member.agent.version = "2.5.0"
    opid = rs.pbm.start_backup(kind="physical")  # physical: PITR is off anyway; this is about PMM's wait
    rs.pbm.crash_backup()
    rs.advance_clock(45)
    snap = probe(rs)
    status, reason, blocks = one(snap, "pbm_no_stale_lock")
    # PBM 2.5's pbm status skips a stale lock (cmd/pbm/main.go findLock), so PMM's wait passes and PBM's next
    # operation takes the lock over
    assert status is Status.FAIL and blocks == ()
    assert f"PBM's lock for backup on rs0/{rs.hosts[0]} (opid {opid}, admin.pbmLock) is stale" in reason
    assert "A warning: the pbm-agents run PBM 2.5.0, whose `pbm status` skips stale locks" in reason
    assert snap.ready is True
    agent = rs.members[2].agent
    assert agent is not None
    agent.version = "2.6.0"  # a rolling upgrade: PMM may run this node's pbm status, which reports the lock
    status, reason, blocks = one(probe(rs), "pbm_no_stale_lock")
    assert status is Status.FAIL and len(blocks) == 6 and "A warning" not in reason


def test_mixed_agent_versions_are_a_warning(rs: SimReplicaSet) -> None:
    agent = rs.members[2].agent
    assert agent is not None
    agent.version = "2.8.0"
    snap = probe(rs)
    status, reason, blocks = one(snap, "pbm_versions_consistent")
    assert status is Status.FAIL and blocks == ()
    assert reason.startswith(f"the pbm-agents run different PBM versions (2.7.0: {', '.join(sorted(rs.hosts[:2]))}; "
                             f"2.8.0: {rs.hosts[2]})")
    assert snap.ready is True  # a warning blocks nothing


def test_a_lagging_member_is_no_backup_candidate(rs: SimReplicaSet) -> None:
    rs.members[1].lag_secs = 40
    rs.members[2].lag_secs = 25
    snap = probe(rs)
    status, reason, _ = one(snap, "backup_candidate_available")
    # both secondaries lag past PBM's 21 s: only the primary is left, at the lowest priority
    assert status is Status.PASS and reason.startswith(f"PBM would take the logical backup of rs0 from {rs.hosts[0]} "
                                                       f"(priority 0.5")
    rs.members[0].stop_agent(at=rs.cluster_time().time - 120)
    status, reason, _ = one(probe(rs), "backup_candidate_available")
    assert status is Status.FAIL and f"{rs.hosts[1]}: 40 s behind the primary (PBM's limit is 21 s)" in reason


def test_pitr_that_stopped_slicing_blocks_pitr_with_the_gap(rs: SimReplicaSet) -> None:
    assert one(probe(rs), "pitr_running")[0] is Status.SKIPPED  # PITR off
    assert rs.pbm_config is not None
    rs.pbm_config["pitr"] = {"enabled": True, "oplogSpanMin": 1}
    status, reason, blocks = one(probe(rs), "pitr_running")
    assert status is Status.FAIL and blocks == ("pitr",) and "no PITR slicer runs for rs0" in reason
    rs.pbm.start_pitr(span_min=1, since=rs.cluster_time().time - 150)
    snap = probe(rs)
    status, reason, _ = one(snap, "pitr_running")
    assert status is Status.PASS and "the newest chunk of rs0 ends 3" in reason  # 30 s, give or take
    assert snap.pitr_enabled and snap.ready is True and "pitr" in snap.running
    rs.pbm.stop_pitr(crash=True)
    rs.advance_clock(300)
    snap = probe(rs)
    status, reason, _ = one(snap, "pitr_running")
    assert status is Status.FAIL
    assert "the PITR slicer of rs0 on " in reason and "stopped: its lock's last heartbeat was 30" in reason
    assert "the newest oplog chunk of rs0 ends 33" in reason and "more than the 60 s span plus 120 s" in reason
    assert snap.ready is False  # PITR is on: the cluster's backups include it


def test_pitr_paused_by_a_logical_backup_passes_naming_it_and_a_crashed_backup_keeps_no_pause(
        rs: SimReplicaSet) -> None:
    # PMM's PITR mode: a nightly logical base backup with pitr.enabled; PBM pauses slicing for the whole backup
    assert rs.pbm_config is not None
    rs.pbm_config["pitr"] = {"enabled": True, "oplogSpanMin": 1}
    rs.pbm.start_pitr(span_min=1, since=rs.cluster_time().time - 150)
    assert one(probe(rs), "pitr_running")[0] is Status.PASS
    rs.pbm.start_backup(name="2026-12-06T01:00:00Z")
    rs.advance_clock(40 * 60)  # a 40-minute backup: no pitr lock, the newest chunk 40 minutes old
    snap = probe(rs)
    status, reason, blocks = one(snap, "pitr_running")
    assert (status, blocks) == (Status.PASS, ())
    assert reason.startswith("PITR slicing of rs0 is paused by the running logical backup 2026-12-06T01:00:00Z")
    assert snap.ready is True
    rs.pbm.finish_backup()  # PBM's Catchup turns the backup's oplog into chunks: no hole
    status, reason, _ = one(probe(rs), "pitr_running")
    assert status is Status.PASS and "PITR slicing runs on" in reason
    # a crashed backup's lock goes stale: PBM resumes slicing (the simulator does too), and the check does not
    # keep reporting a pause
    rs.pbm.start_backup(name="2026-12-07T01:00:00Z")
    assert "paused by the running logical backup" in one(probe(rs), "pitr_running")[1]
    rs.pbm.crash_backup()
    rs.advance_clock(45)
    status, reason, _ = one(probe(rs), "pitr_running")
    assert status is Status.PASS and "PITR slicing runs on" in reason


def test_a_physical_backup_or_one_to_a_profile_does_not_pause_pitr(rs: SimReplicaSet) -> None:
    assert rs.pbm_config is not None
    rs.pbm_config["pitr"] = {"enabled": True, "oplogSpanMin": 1}
    for kind, profile in (("physical", ""), ("logical", "archive")):
        rs.pbm.start_backup(kind=kind, profile=profile)
        rs.advance_clock(5)
        status, reason, _ = one(probe(rs), "pitr_running")
        # PITR was never started: slicing would run during these backups, so its absence is a failure
        assert status is Status.FAIL and "no PITR slicer runs for rs0" in reason, (kind, profile)
        rs.pbm.finish_backup()


def test_a_backup_the_storage_refused_fails_storage_without_leaking_the_url(rs: SimReplicaSet) -> None:
    rs.pbm.start_backup(name="2026-12-01T10:00:00Z")
    rs.pbm.finish_backup("error", "upload file `2026-12-01T10:00:00Z/rs0/oplog`: AccessDenied: Access Denied, "
                                  "https://pbm-backups.s3.amazonaws.com/x?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F")
    snap = probe(rs)
    status, reason, blocks = one(snap, "pbm_storage_reachable")
    # a warning: PBM runs the next backup as usual, and one refusal may have been a blip
    assert status is Status.FAIL and blocks == () and snap.ready is True
    assert reason.startswith("the last backup (2026-12-01T10:00:00Z) failed writing to the storage (s3 bucket "
                             "pbm-backups): upload file")
    assert "AccessDenied: Access Denied" in reason and "AKIA" not in reason and "amazonaws" not in reason
    assert reason.endswith("A warning: PBM runs the next backup as usual, which fails too unless the cause is gone")
    # every agent's own storage check still passes: it only stats PBM's .pbm.init
    assert set(statuses(snap, "pbm_storage_reachable").values()) == {Status.PASS, Status.FAIL}
    rs.advance_clock(3600)  # an hour later, the storage fixed, a backup succeeds
    rs.pbm.start_backup()
    rs.pbm.finish_backup()
    status, reason, _ = one(probe(rs), "pbm_storage_reachable")
    assert status is Status.PASS and reason.startswith("the last backup (backup-")


def test_a_physical_backup_that_could_not_read_the_dbpath_is_no_storage_error(rs: SimReplicaSet) -> None:
    # pbm/backup/physical.go writeFile: os.Stat of a dbPath file, wrapped "get file stat", then "upload file `...`"
    rs.pbm.start_backup(kind="physical", name="2026-12-02T10:00:00Z")
    rs.pbm.finish_backup("error", "upload files: upload file `/var/lib/mongo/collection-7-123.wt`: get file stat: "
                                  "stat /var/lib/mongo/collection-7-123.wt: permission denied")
    snap = probe(rs)
    assert [r for r in snap.results if r.check == "pbm_storage_reachable" and r.node == ""] == []
    assert set(statuses(snap, "pbm_storage_reachable").values()) == {Status.PASS}
    # on a filesystem storage, the same error under the storage's path is the storage's
    assert rs.pbm_config is not None
    rs.pbm_config["storage"] = {"type": "filesystem", "filesystem": {"path": "/mnt/pbm"}}
    rs.advance_clock(3600)
    rs.pbm.start_backup(kind="physical", name="2026-12-03T10:00:00Z")
    rs.pbm.finish_backup("error", "upload file `/var/lib/mongo/x.wt`: upload file: create destination file "
                                  "</mnt/pbm/2026-12-03T10:00:00Z/rs0/x.wt>: "
                                  "open /mnt/pbm/2026-12-03T10:00:00Z/rs0/x.wt: permission denied")
    status, reason, blocks = one(probe(rs), "pbm_storage_reachable")
    assert status is Status.FAIL and blocks == ()
    assert reason.startswith("the last backup (2026-12-03T10:00:00Z) failed writing to the storage (filesystem path "
                             "/mnt/pbm)")


def test_a_running_physical_restore_is_reported_not_failed(rs: SimReplicaSet) -> None:
    # PBM writes no admin.pbmRestores document for a physical restore: it shows as its command in admin.pbmCmd,
    # naming a physical backup, with every agent's heartbeat paused
    name = rs.pbm.start_physical_restore("2026-12-01T00:00:00Z")
    assert rs.collections.get(("admin", "pbmRestores"), []) == []
    rs.advance_clock(90)  # the agents' heartbeats are paused: 90 s stale
    snap = probe(rs)
    status, reason, _ = result(snap, "pbm_agent_running", rs.hosts[1])
    assert status is Status.UNKNOWN
    assert reason.startswith(f"a physical restore ({name}) is running, which pauses the agents' heartbeats and "
                             f"restarts mongod: pbm-agent heartbeat is stale")
    assert snap.running == ("restore",)
    rs.pbm.stop_mongod_for_restore()  # PBM's flush: from here on nothing answers on the members' ports
    assert probe(rs).probe_success is False
    rs.pbm.finish_physical_restore()  # mongod and the agents started again on the restored data
    snap = probe(rs)
    assert result(snap, "pbm_agent_running", rs.hosts[1])[0] is Status.PASS and snap.running == ()


def test_a_restore_command_masks_nothing_unless_it_restores_a_physical_backup(rs: SimReplicaSet) -> None:
    rs.pbm.start_backup(name="2026-12-01T00:00:00Z")  # a logical backup
    rs.pbm.finish_backup()
    rs.pbm.send_restore("2026-12-01T00:00:00Z")  # a logical restore, which pauses no heartbeat
    rs.members[1].stop_agent(at=rs.cluster_time().time - 120)  # and a pbm-agent that really died
    snap = probe(rs)
    status, reason, _ = result(snap, "pbm_agent_running", rs.hosts[1])
    assert status is Status.FAIL and not reason.startswith("a physical restore")
    assert snap.running == ()
    rs.pbm.send_restore("2026-11-01T00:00:00Z")  # a backup PBM has no metadata for: its type is unknown
    assert result(probe(rs), "pbm_agent_running", rs.hosts[1])[0] is Status.FAIL


def test_the_newest_backup_is_read_again_after_a_backup_ran_or_every_ten_probes(rs: SimReplicaSet) -> None:
    # it changes only when a backup runs, which holds PBM's lock: one long-lived prober, cycle after cycle
    runner = asyncio.Runner()  # the prober's client lives on one loop, as in the exporter
    prober = MongoDBProber(cluster_config(rs), 2.0, 2.0)

    def last_backup() -> Any:
        outcome = runner.run(prober.probe())
        assert outcome.facts is not None
        return outcome.facts.replica_sets[0].last_backup.value

    try:
        assert last_backup() is None  # no backup yet
        rs.pbm.start_backup(name="b1")  # a backup runs during a probe: its lock is seen, so the next one re-reads
        assert last_backup()["name"] == "b1"
        rs.pbm.finish_backup("error", "AccessDenied")
        assert last_backup()["status"] == "error"
        # a backup that starts and ends between two probes leaves no lock behind: seen within ten probes
        rs.advance_clock(60)
        rs.pbm.start_backup(name="b2")
        rs.pbm.finish_backup()
        seen = [last_backup()["name"] for _ in range(10)]
        assert seen[0] == "b1" and seen[-1] == "b2" and seen.count("b1") < 10
    finally:
        runner.run(prober.close())
        runner.close()


def test_an_agent_older_than_2_3_crashes_the_backups_of_a_newer_leader(rs: SimReplicaSet) -> None:
    # a rolling upgrade 2.2.1 -> 2.9.1, primary first: the 2.2.1 agent writes no `mv`, and PBM >= 2.3 reads it with
    # AgentStat.MongoVersion(), whose semver.Canonical("v")[1:] panics (CheckTopoForBackup, getValidCandidates)
    for member in rs.members:
        assert member.agent is not None
        member.agent.version = "2.9.1"
    old = rs.members[2].agent
    assert old is not None
    old.version = "2.2.1"
    assert all("mv" not in d for d in rs.agent_documents() if d["n"] == rs.hosts[2])
    snap = probe(rs, mode="physical")
    status, reason, blocks = one(snap, "pbm_versions_consistent")
    assert snap.operations["logical_backup"] is False and snap.operations["physical_backup"] is False
    assert status is Status.FAIL and blocks == ("logical_backup", "physical_backup")
    assert f"{rs.hosts[2]} (PBM 2.2.1) writes no MongoDB version" in reason and "panics" in reason
    # restores and PITR slicing never read `mv`
    assert snap.operations["logical_restore"] is True and snap.operations["pitr"] is True


def test_an_old_leader_with_newer_agents_elsewhere_warns_about_the_pbm_cli(rs: SimReplicaSet) -> None:
    # the leader (primary) is still 2.2.1: it reads no `mv`; PMM's `pbm backup` panics only when run on a >= 2.3 node
    for member in rs.members[:2]:
        assert member.agent is not None
        member.agent.version = "2.2.1"
    snap = probe(rs)
    status, reason, blocks = one(snap, "pbm_versions_consistent")
    assert status is Status.FAIL and blocks == ()
    assert "pbm backup" in reason and rs.hosts[2] in reason
    assert snap.ready is True
