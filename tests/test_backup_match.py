"""backup_matches_cluster (issue 29 item 3): a backup whose FCV, MongoDB major.minor (physical) or replica sets no
longer match the cluster is no restore point (PBM v2.15.0 cmd/pbm/backup.go bcpMatchCluster, pbm/restore/physical.go
prepareBackup); pure rules, then through the simulator, replica set and sharded."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bson.timestamp import Timestamp

from exporter.config.config_file import ClusterConfig
from exporter.facts.observed import Observed, ReplicaSetFacts, ShardingFacts
from exporter.model.pbm_backup_match import RunningCluster, majmin, mismatch, running_cluster
from exporter.model.pbm_timeline import recoverability, window_of
from exporter.probes.pbm_catalogue import Catalogue
from exporter.results.check_result import CheckResult, Status
from pbm_pmm_simulator import SimReplicaSet, SimShardedCluster
from tests.probing import cluster_config
from tests.test_recoverability import one, snapshot

CHECK = "backup_matches_cluster"
RS0 = RunningCluster("7.0", "7.0.14", ("rs0",), "rs0")


@pytest.mark.parametrize(("version", "expected"), [
    ("7.0.14", "v7.0"), ("v8.0.4", "v8.0"), ("7.0.14-8", "v7.0"), ("7.0", "v7.0"), ("7", "v7.0"), ("", ""),
    ("7.0-rc1", ""), ("07.0.1", ""), ("seven", ""), ("7.0.14+build.1", "v7.0")])
def test_majmin_is_semvers_major_minor(version: str, expected: str) -> None:
    assert majmin(version) == expected


def test_the_fcv_decides_when_the_backup_recorded_one_else_the_major_minor() -> None:
    assert mismatch("logical", "7.0", "7.0.2", ["rs0"], RS0) is None
    found = mismatch("logical", "6.0", "7.0.14", ["rs0"], RS0)
    assert found is not None and found.rule == "fcv" and found.known
    assert found.text == "backup FCV '6.0' is incompatible with the running mongo FCV '7.0'"
    # a logical backup of another binary with the same FCV still matches (bcpMatchCluster looks at the FCV only)
    assert mismatch("logical", "7.0", "6.0.9", ["rs0"], RS0) is None
    # no FCV recorded: major.minor
    assert mismatch("logical", "", "7.0.1", ["rs0"], RS0) is None
    found = mismatch("logical", "", "6.0.9", ["rs0"], RS0)
    assert found is not None and found.rule == "mongodb_version"
    assert found.text == "backup mongo version 'v6.0' is incompatible with the running mongo version 'v7.0'"


def test_a_physical_restore_needs_the_same_major_minor_whatever_the_fcv() -> None:
    found = mismatch("physical", "7.0", "6.0.9-7", ["rs0"], RS0)
    assert found is not None and found.rule == "physical_version"
    assert found.text == "backup's Mongo version (6.0.9-7) is not compatible with Mongo 7.0.14"
    assert mismatch("incremental", "7.0", "7.0.2-1", ["rs0"], RS0) is None


def test_replica_sets_extra_ones_or_no_config_servers_but_a_shard_added_is_fine() -> None:
    sharded = RunningCluster("7.0", "7.0.14", ("cfg", "shard0", "shard1", "shard2"), "cfg")
    assert mismatch("logical", "7.0", "7.0.14", ["cfg", "shard0", "shard1"], sharded) is None  # shard2 added since
    found = mismatch("logical", "7.0", "7.0.14", ["cfg", "shard0", "shard9"], sharded)
    assert found is not None and found.rule == "replica_sets"
    assert found.text.endswith("The extra/unknown replica set names found in the backup are: shard9")
    found = mismatch("logical", "7.0", "7.0.14", ["rs0"], sharded)  # a replica set turned sharded
    assert found is not None and "rs0" in found.text
    assert found.text.endswith("Backup has no data for the config server or sole replicaset")


def test_unknown_when_the_running_fcv_or_version_is_not_known() -> None:
    blind = RunningCluster(None, None, ("rs0",), "rs0", "getParameter featureCompatibilityVersion: Unauthorized",
                           "buildInfo: no version")
    found = mismatch("logical", "7.0", "7.0.14", ["rs0"], blind)
    assert found is not None and not found.known and "Unauthorized" in found.text
    found = mismatch("logical", "", "7.0.14", ["rs0"], blind)
    assert found is not None and not found.known


def backup_doc(name: str, end: int, kind: str = "logical", fcv: str = "7.0", version: str = "7.0.14",
               replsets: tuple[str, ...] = ("rs0",)) -> dict[str, Any]:
    return {"name": name, "type": kind, "status": "done", "error": "", "first_write_ts": Timestamp(end - 60, 1),
            "last_write_ts": Timestamp(end, 1), "start_ts": end - 600, "last_transition_ts": end, "fcv": fcv,
            "mongodb_version": version, "replsets": [{"name": rs} for rs in replsets]}


def control(docs: list[dict[str, Any]], fcv: Any = None, version: str = "7.0.14", name: str = "rs0"
            ) -> ReplicaSetFacts:
    reply = Observed({"featureCompatibilityVersion": {"version": "7.0"}, "ok": 1.0}) if fcv is None else fcv
    return ReplicaSetFacts(name=name, build_info=Observed({"version": version}), cluster_time=Observed(10_000),
                           catalogue=Observed(docs), pitr_timelines=Observed({}), fcv=reply)


def test_a_backup_that_does_not_match_leaves_the_window() -> None:
    docs = [backup_doc("new", 9000, fcv="6.0"), backup_doc("old", 5000)]
    rec = recoverability(control(docs))
    assert rec.window is not None and rec.window.points == (5000,)
    assert [(b.name, m.rule) for b, m in rec.unmatched] == [("new", "fcv")]
    # without the running cluster (the old behaviour) both were bases
    assert window_of({}, docs).points == (5000, 9000)
    # the FCV unread: the backup cannot be judged and stays a base
    blind = recoverability(control(docs, Observed.failed("Unauthorized: not authorized on admin")))
    assert blind.window is not None and blind.window.points == (5000, 9000)


def test_running_cluster_names_the_shards_and_the_config_servers() -> None:
    shards = (({"_id": "shard0", "host": "shard0/a:1,b:1"}, {"_id": "shard1", "host": "shard1/c:1"}))
    found = running_cluster(control([], name="cfg"), ShardingFacts(shards, "cfg"))
    assert found.replica_sets == ("cfg", "shard0", "shard1") and found.required == "cfg"
    assert found.fcv == "7.0" and found.version == "7.0.14"
    unread = running_cluster(ReplicaSetFacts(name="rs0"))
    assert unread.fcv is None and unread.fcv_error == "featureCompatibilityVersion not read yet"


def test_the_fcv_is_read_with_the_catalogue_not_every_probe() -> None:
    calls: list[int] = []

    async def get_parameter() -> Observed[Any]:
        calls.append(1)
        return Observed({"featureCompatibilityVersion": {"version": "7.0"}})

    async def read(*_: Any) -> Observed[Any]:
        return Observed([])

    async def probes() -> None:
        catalogue = Catalogue()
        newest: Observed[Any] = Observed({"name": "b1", "status": "done", "last_transition_ts": 1})
        for _ in range(5):
            catalogue.probes += 1
            await catalogue.read_backups(read, newest)
            await catalogue.read_fcv(get_parameter)
        assert len(calls) == 1  # the backups were read once
        await catalogue.read_backups(read, Observed({"name": "b2", "status": "done", "last_transition_ts": 2}))
        await catalogue.read_fcv(get_parameter)
        assert len(calls) == 2  # a new backup: read again

    asyncio.run(probes())


# Through the simulator (one and snapshot: tests/test_recoverability.py)


def test_an_fcv_upgrade_takes_the_logical_backups_out_of_the_window_and_blocks_their_restore() -> None:
    with SimReplicaSet() as rs:
        now = int(rs.cluster_time().time)
        name = rs.pbm.add_backup("logical", "done", now - 4200, now - 3600)
        config = cluster_config(rs)
        snap = snapshot(config)
        result = one(snap, CHECK)
        assert result.status is Status.PASS, result
        assert result.reason == (f"the newest usable backup {name} (logical, data to ...) matches the cluster "
                                 f"(FCV 7.0, MongoDB 7.0.14, replica sets rs0)".replace("...", _utc(now - 3600)))
        rs.upgrade("8.0.4")  # new binaries, the FCV still 7.0: a logical backup of FCV 7.0 still matches
        snap = snapshot(config)
        assert one(snap, CHECK).status is Status.PASS and one(snap, "restore_point_available").status is Status.PASS
        rs.set_fcv("8.0")
        snap = snapshot(config)
        result = one(snap, CHECK)
        assert result.status is Status.FAIL and result.blocks == ("logical_restore", "pitr_restore")
        assert f"{name} (logical, data to {_utc(now - 3600)}) no longer restores here, by its FCV: backup FCV " \
               f"'7.0' is incompatible with the running mongo FCV '8.0' (pbm status and pbm list refuse it; a " \
               f"logical restore started anyway only logs a warning and goes on, pbm/restore/logical.go " \
               f"checkSnapshot); no logical backup matches" in result.reason
        assert snap.operations["logical_restore"] is False and snap.operations["logical_backup"] is True
        point = one(snap, "restore_point_available")
        assert point.status is Status.FAIL and "no longer match the cluster" in point.reason
        assert snap.recoverability is not None and snap.recoverability.window is not None
        assert snap.recoverability.window.newest is None  # the window and its metrics follow
        newer = rs.pbm.add_backup("logical", "done", now - 600, now - 300)
        snap = snapshot(config)
        assert one(snap, CHECK).status is Status.PASS and newer in one(snap, CHECK).reason


def test_a_newer_backup_that_falls_away_is_a_warning_while_an_older_one_still_restores() -> None:
    with SimReplicaSet() as rs:
        now = int(rs.cluster_time().time)
        old = rs.pbm.add_backup("logical", "done", now - 7200, now - 6600)
        rs.set_fcv("8.0")
        new = rs.pbm.add_backup("logical", "done", now - 1200, now - 600)
        rs.set_fcv("7.0")  # set back
        snap = snapshot(cluster_config(rs))
        result = one(snap, CHECK)
        assert result.status is Status.FAIL and result.blocks == () and result.warning
        assert result.reason.startswith(f"{new} (logical, data to {_utc(now - 600)}) no longer restores here, by "
                                        f"its FCV")
        assert f"a logical restore goes back to {old} (logical, data to {_utc(now - 6600)})" in result.reason
        assert snap.recoverability is not None and snap.recoverability.window is not None
        assert snap.recoverability.window.newest == now - 6600


def test_a_physical_backup_needs_the_same_major_minor_even_with_the_same_fcv() -> None:
    with SimReplicaSet() as rs:
        now = int(rs.cluster_time().time)
        name = rs.pbm.add_backup("physical", "done", now - 4200, now - 3600)
        rs.pbm.add_backup("logical", "done", now - 8200, now - 7600)
        config = cluster_config(rs, mode="physical")
        assert one(snapshot(config), CHECK).status is Status.PASS
        rs.upgrade("8.0.4")
        snap = snapshot(config)
        result = one(snap, CHECK)
        assert result.status is Status.FAIL and result.blocks == ("physical_restore",)
        assert f"{name} (physical, data to {_utc(now - 3600)}) no longer restores here, by its physical restore's " \
               f"MongoDB version: backup's Mongo version (7.0.14) is not compatible with Mongo 8.0.4" in result.reason
        assert snap.operations["physical_restore"] is False and snap.operations["logical_restore"] is not False
        assert one(snap, "restore_point_available").status is Status.PASS  # the logical backup still restores


def test_sharded_a_shard_removed_takes_the_backup_out_but_a_shard_added_does_not() -> None:
    with SimShardedCluster() as cluster:
        now = int(cluster.config.cluster_time().time)
        name = cluster.config.pbm.add_backup("logical", "done", now - 4200, now - 3600)
        config = ClusterConfig(name="big", uri=cluster.uri(), backup_mode="logical", seeds=(cluster.mongos.host,),
                               username="pmm", password="secret")
        assert one(snapshot(config), CHECK).status is Status.PASS
        cluster.add_shard()  # PBM restores the backup's shards and leaves the new one alone
        snap = snapshot(config)
        result = one(snap, CHECK)
        assert result.status is Status.PASS and "replica sets cfg, shard0, shard1, shard2" in result.reason
        cluster.remove_shard("shard1")
        snap = snapshot(config)
        result = one(snap, CHECK)
        assert result.status is Status.FAIL and result.blocks == ("logical_restore", "pitr_restore")
        assert f"{name} (logical, data to {_utc(now - 3600)}) no longer restores here, by its replica sets: " \
               "Backup doesn't match current cluster topology" in result.reason
        assert "found in the backup are: shard1" in result.reason
        assert one(snap, "restore_point_available").status is Status.FAIL


def _utc(seconds: int) -> str:
    from exporter.model.pbm_timeline import utc
    return utc(seconds)


def test_the_simulator_answers_getparameter_fcv_as_mongodb_does() -> None:
    import pymongo
    from pymongo.errors import OperationFailure

    with SimReplicaSet() as rs:
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(rs.uri())
        try:
            reply = client.admin.command({"getParameter": 1, "featureCompatibilityVersion": 1})
            assert reply["featureCompatibilityVersion"] == {"version": "7.0"} and reply["ok"] == 1.0
            rs.set_fcv("8.0")
            reply = client.admin.command({"getParameter": 1, "featureCompatibilityVersion": 1})
            assert reply["featureCompatibilityVersion"] == {"version": "8.0"}
            with pytest.raises(OperationFailure, match="no option found to get"):
                client.admin.command({"getParameter": 1, "noSuchParameter": 1})
        finally:
            client.close()


def judge(docs: list[dict[str, Any]], fcv: Any = None, version: str = "7.0.14") -> CheckResult:
    from exporter.checks import backup_matches_cluster
    from exporter.model.cluster_settings import ClusterSettings
    from exporter.model.cluster_view import CheckInput, build_view

    facts = control(docs, fcv, version)
    [found] = backup_matches_cluster.evaluate(CheckInput(facts, build_view(facts), ClusterSettings("logical", "c")))
    return found


def test_the_check_as_a_pure_function() -> None:
    assert judge([]).status is Status.SKIPPED
    assert judge([{**backup_doc("bad", 9000), "status": "error"}]).status is Status.SKIPPED
    ok = judge([backup_doc("new", 9000), backup_doc("phys", 8000, "physical", version="7.0.2-1")])
    assert ok.status is Status.PASS and "new (logical" in ok.reason and "phys (physical" in ok.reason
    # the newest physical one of another major.minor, the logical one fine: physical_restore only
    found = judge([backup_doc("new", 9000), backup_doc("phys", 8000, "physical", version="6.0.9-7")])
    assert found.status is Status.FAIL and found.blocks == ("physical_restore",)
    assert "phys (physical" in found.reason and "by its physical restore's MongoDB version" in found.reason
    # the newest logical one of another FCV while an older one matches: a warning naming the older one
    found = judge([backup_doc("new", 9000, fcv="8.0"), backup_doc("old", 5000)])
    assert found.status is Status.FAIL and found.warning and "goes back to old (logical" in found.reason
    # the FCV unread: unknown, and what it would block
    found = judge([backup_doc("new", 9000)], Observed.failed("Unauthorized: not authorized on admin"))
    assert found.status is Status.UNKNOWN and found.blocks == ("logical_restore", "pitr_restore")
    assert "Unauthorized" in found.reason
