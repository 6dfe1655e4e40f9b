"""Recoverability end to end: the simulator's catalogue, probed with real pymongo, as the exporter's metrics show
it (restorable window, RPO, PITR holes, last backups), replica set and sharded."""

from __future__ import annotations

import dataclasses

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.config.config_file import ClusterConfig
from exporter.exposition.collector import SnapshotCollector
from exporter.model.pbm_timeline import utc
from exporter.report.check_report import render_table, status_document
from exporter.results.check_result import CheckResult, Status
from exporter.snapshots.cluster_snapshot import ClusterSnapshot, SnapshotStore
from pbm_pmm_simulator import SimReplicaSet, SimShardedCluster
from tests.probing import cluster_config, probe_clusters

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
WINDOW = ("restorable_newest_timestamp_seconds", "restorable_oldest_timestamp_seconds", "rpo_seconds", "pitr_gaps",
          "pitr_gap_seconds")


def metrics(store: SnapshotStore) -> Samples:
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(store))
    out: Samples = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            name = sample.name.removeprefix("pmm_backup_prereq_")
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "cluster"))
            if name in WINDOW or name.startswith("last_backup"):
                out[(name, labels)] = sample.value
    return out


def of(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_a_failed_backup_is_no_restore_point_and_nothing_is_exported_as_zero() -> None:
    with SimReplicaSet() as rs:
        now = int(rs.cluster_time().time)
        rs.pbm.add_backup("logical", "error", now - 1000, now - 900, error="upload file: AccessDenied")
        m = metrics(probe_clusters([cluster_config(rs)]))
        for name in ("restorable_newest_timestamp_seconds", "restorable_oldest_timestamp_seconds", "rpo_seconds"):
            assert of(m, name) is None  # nothing to restore: absent, never 0
        assert of(m, "last_backup_timestamp_seconds", type="logical", status="error") == now - 900
        assert of(m, "last_backup_timestamp_seconds", type="logical", status="done") is None
        assert of(m, "last_backup_duration_seconds", type="logical") is None
        rs.pbm.add_backup("physical", "done", now - 3600, now - 3000)
        m = metrics(probe_clusters([cluster_config(rs)]))
        assert of(m, "restorable_newest_timestamp_seconds") == of(m, "restorable_oldest_timestamp_seconds") == \
            now - 3000
        rpo = of(m, "rpo_seconds")
        assert rpo is not None and 3000 <= rpo <= 3010  # cluster time minus the backup's last write
        assert of(m, "last_backup_duration_seconds", type="physical") == 600
        assert of(m, "last_backup_size_bytes", type="physical") == 64 * 1024 * 1024
        assert of(m, "pitr_gaps") == 0


def test_a_hole_after_the_newest_base_ends_the_exported_window_at_the_hole() -> None:
    with SimReplicaSet() as rs:
        now = int(rs.cluster_time().time)
        rs.pbm.add_backup("logical", "done", now - 4200, now - 3600)
        rs.pbm.start_pitr(span_min=10, since=now - 4200)
        m = metrics(probe_clusters([cluster_config(rs)]))
        assert of(m, "restorable_newest_timestamp_seconds") == now and of(m, "pitr_gaps") == 0
        rs.pbm.make_pitr_hole("rs0", now - 1500, now - 1400)
        m = metrics(probe_clusters([cluster_config(rs)]))
        assert of(m, "restorable_newest_timestamp_seconds") == now - 1800
        assert of(m, "restorable_oldest_timestamp_seconds") == now - 3600
        assert of(m, "pitr_gaps") == 1 and of(m, "pitr_gap_seconds") == 600
        rpo = of(m, "rpo_seconds")
        assert rpo is not None and 1800 <= rpo <= 1810


def test_a_hole_on_one_shard_caps_the_whole_clusters_newest_restorable_point() -> None:
    with SimShardedCluster() as cluster:
        now = int(cluster.config.cluster_time().time)
        cluster.config.pbm.add_backup("logical", "done", now - 4200, now - 3600)
        cluster.config.pbm.start_pitr(span_min=10, since=now - 4200)
        config = ClusterConfig(name="big", uri=cluster.uri(), backup_mode="logical", seeds=(cluster.mongos.host,),
                               username="pmm", password="secret")
        assert of(metrics(probe_clusters([config])), "restorable_newest_timestamp_seconds") == now
        cluster.config.pbm.make_pitr_hole("shard1", now - 1000, now + 10 ** 6)  # shard1's slicer stopped
        m = metrics(probe_clusters([config]))
        assert of(m, "restorable_newest_timestamp_seconds") == now - 1200


# The checks: restore_point_available and pitr_timeline_continuous, through the simulator

def one(snap: ClusterSnapshot, check: str) -> CheckResult:
    [found] = [r for r in snap.results if r.check == check]
    return found


def snapshot(config: ClusterConfig) -> ClusterSnapshot:
    snap = probe_clusters([config]).get(config.name)
    assert snap is not None
    return snap


def test_a_cluster_whose_backups_all_failed_has_no_restore_point_and_its_restores_are_blocked() -> None:
    with SimReplicaSet() as rs:
        config = cluster_config(rs)
        empty = one(snapshot(config), "restore_point_available")  # no backup yet
        # what an empty catalogue also means: a physical restore emptied it (cleanUpPBMCollections), no resync since
        assert empty.status is Status.SKIPPED and "pbm config --force-resync" in empty.reason
        now = int(rs.cluster_time().time)
        rs.pbm.add_backup("logical", "error", now - 1000, now - 900, error="upload file: AccessDenied")
        snap = snapshot(config)
        result = one(snap, "restore_point_available")
        assert result.status is Status.FAIL and result.blocks == ("logical_restore", "physical_restore",
                                                                  "pitr_restore")
        assert "none of its 1 backups ended done" in result.reason and "error" in result.reason
        assert snap.operations["logical_restore"] is False and snap.operations["pitr_restore"] is False
        assert snap.operations["logical_backup"] is True  # nothing to restore does not stop the next backup
        rs.pbm.add_backup("logical", "done", now - 7200, now - 6600)
        result = one(snapshot(config), "restore_point_available")
        assert result.status is Status.PASS
        assert result.reason.startswith(f"restorable from {utc(now - 6600)} to {utc(now - 6600)} (RPO ")


def test_a_hole_after_the_newest_base_is_named_and_no_base_at_all_blocks_pitr_restore() -> None:
    with SimReplicaSet() as rs:
        assert rs.pbm_config is not None
        rs.pbm_config["pitr"] = {"enabled": True}
        config = cluster_config(rs)
        now = int(rs.cluster_time().time)
        rs.pbm.start_pitr(span_min=10, since=now - 4200)
        result = one(snapshot(config), "pitr_timeline_continuous")
        assert result.status is Status.FAIL and result.blocks == ("pitr_restore",)
        assert "no usable backup starts any" in result.reason
        rs.pbm.add_backup("logical", "done", now - 4200, now - 3600)
        result = one(snapshot(config), "pitr_timeline_continuous")
        assert result.status is Status.PASS and f"reaches {utc(now - 3599)} to {utc(now)}" in result.reason
        rs.pbm.make_pitr_hole("rs0", now - 1500, now - 1400)
        snap = snapshot(config)
        result = one(snap, "pitr_timeline_continuous")
        assert result.status is Status.FAIL and result.blocks == ()  # a warning: the points before still restore
        assert result.reason.startswith(f"no chunk on rs0 from {utc(now - 1800)} to {utc(now - 1200)}; the newest "
                                        f"range ({utc(now - 1200)} to {utc(now)}) has no base snapshot: a restore "
                                        f"reaches no later than {utc(now - 1800)}")
        assert snap.operations["pitr_restore"] is True


def test_a_hole_on_one_shard_is_named_for_the_whole_cluster() -> None:
    with SimShardedCluster() as cluster:
        assert cluster.config.pbm_config is not None
        cluster.config.pbm_config["pitr"] = {"enabled": True}
        now = int(cluster.config.cluster_time().time)
        cluster.config.pbm.add_backup("logical", "done", now - 4200, now - 3600)
        cluster.config.pbm.start_pitr(span_min=10, since=now - 4200)
        cluster.config.pbm.make_pitr_hole("shard1", now - 2000, now - 1900)
        config = ClusterConfig(name="big", uri=cluster.uri(), backup_mode="logical", seeds=(cluster.mongos.host,),
                               username="pmm", password="secret")
        result = one(snapshot(config), "pitr_timeline_continuous")
        assert result.status is Status.FAIL
        assert f"no chunk on shard1 from {utc(now - 2400)} to {utc(now - 1800)}" in result.reason
        assert f"reaches no later than {utc(now - 2400)}" in result.reason


def test_recovery_objectives_from_the_config_are_judged_as_a_warning_through_the_simulator() -> None:
    with SimReplicaSet() as rs:
        now = int(rs.cluster_time().time)
        rs.pbm.add_backup("logical", "done", now - 7 * 3600, now - 6 * 3600)
        config = dataclasses.replace(cluster_config(rs), objectives=(
            ("max_backup_age", 4 * 3600.0, "clusters[0].recovery_objectives.max_backup_age"),))
        snap = snapshot(config)
        result = one(snap, "recovery_objectives_met")
        assert result.status is Status.FAIL and result.blocks == ()
        assert "newest successful backup age 6 h over its target 4 h from the config " \
               "(clusters[0].recovery_objectives.max_backup_age)" in result.reason
        assert snap.operations["logical_restore"] is True and snap.ready is True  # nothing blocked
        rs.pbm.add_backup("logical", "done", now - 1200, now - 600)
        assert one(snapshot(config), "recovery_objectives_met").status is Status.PASS


def test_check_prints_the_window_its_holes_and_the_last_backups_and_json_says_the_same() -> None:
    with SimReplicaSet() as rs:
        assert rs.pbm_config is not None
        rs.pbm_config["pitr"] = {"enabled": True}
        now = int(rs.cluster_time().time)
        rs.pbm.add_backup("logical", "done", now - 4200, now - 3600)
        rs.pbm.start_pitr(span_min=10, since=now - 4200)
        rs.pbm.make_pitr_hole("rs0", now - 1500, now - 1400)
        snap = snapshot(cluster_config(rs))
        line = " ".join(render_table([snap], width=300).split())
        assert f"recoverability: restorable from {utc(now - 3600)} to {utc(now - 1800)} (RPO 30 min); PITR hole " \
               f"{utc(now - 1800)} to {utc(now - 1200)} on rs0; last done: logical {utc(now - 3600)} (60 min ago)" \
               in line
        doc = status_document([snap])["clusters"][0]["recoverability"]
        assert doc["restorable_newest_timestamp_seconds"] == now - 1800 and doc["pitr_gaps"] == 1
        assert doc["pitr_holes"] == [{"replica_set": "rs0", "from": now - 1800, "to": now - 1200}]
        assert doc["last_backups"][0]["status"] == "done" and doc["last_backups"][0]["duration_seconds"] == 600
