"""PMM's own backup and restore rules end to end: the exporter's real PMM client against the simulated PMM Server in
both dialects, next to a simulated replica set; restore readiness through to the metrics, `check` and the status
page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter.config.config_file import PMMConfig
from exporter.exposition.collector import SnapshotCollector
from exporter.model.cluster_settings import ClusterSettings
from exporter.probes import pmm_compatibility
from exporter.probes.mongodb import ProbeOutcome
from exporter.probes.pmm import PMMProber
from exporter.report.check_report import render_json, render_table
from exporter.results.check_result import Status
from exporter.snapshots.cluster_snapshot import ClusterSnapshot, SnapshotStore, build_snapshot
from exporter.web.status_page import render_status_page
from pbm_pmm_simulator import SimReplicaSet
from pbm_pmm_simulator.pmm.server import PMM_SERVER_ID
from pbm_pmm_simulator.pmm_server import SimPMMServer
from tests.probing import cluster_config, probe_clusters, result

TOKEN = "glsa_simulatedToken_0123"
NEW_CHECKS = {"pmm_agent_version_supported", "pmm_service_user_matches", "pmm_cluster_services_connected",
              "pmm_service_agents_unique",
              "pmm_agent_on_mongodb_node", "pmm_scheduled_backups_enabled", "pmm_backup_folder_unique",
              "restore_version_compatible", "containerized_node", "pmm_retention_effective",
              "pmm_snapshot_backups_allowed", "pmm_restore_supported"}


@dataclass
class Setup:
    rs: SimReplicaSet
    pmm: SimPMMServer
    location: str
    services: dict[str, str]  # member host -> service ID
    artifact: str
    schedule: str = ""  # the nightly logical snapshot schedule

    def probe(self, cycles: int = 1) -> ClusterSnapshot:
        store = probe_clusters([cluster_config(self.rs)], cycles=cycles, pmm=PMMConfig(self.pmm.url, TOKEN))
        snapshot = store.get("prod-rs")
        assert snapshot is not None
        return snapshot

    def service(self, i: int) -> str:
        return self.services[self.rs.hosts[i]]


@pytest.fixture(params=["2.44.0", "3.4.0"], ids=["pmm2", "pmm3"])
def setup(request: pytest.FixtureRequest) -> Iterator[Setup]:
    with SimReplicaSet() as rs, SimPMMServer(version=request.param, token=TOKEN) as pmm:
        location = pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.us-east-1.amazonaws.com",
                                       "AKIASIMULATED", "SIMULATED/SECRET/KEY")
        services = pmm.register_replica_set(rs, cluster="prod-rs")
        first = services[rs.hosts[0]]
        schedule = pmm.add_scheduled_backup(first, location, name="nightly", folder="prod-rs")
        artifact = pmm.add_artifact(first, location, name="nightly-1", folder="prod-rs",
                                    created_at="2026-11-30T01:00:00Z")
        yield Setup(rs, pmm, location, services, artifact, schedule)


def verdicts(snap: ClusterSnapshot, check: str) -> dict[str, tuple[Status, tuple[str, ...]]]:
    return {r.node: (r.status, r.blocks) for r in snap.results if r.check == check}


def test_a_healthy_cluster_passes_every_new_check(setup: Setup) -> None:
    snap = setup.probe()
    assert {r.status for r in snap.results if r.check in NEW_CHECKS} == {Status.PASS}
    assert {r.check for r in snap.results} >= NEW_CHECKS
    assert snap.ready is True and snap.operations["logical_restore"] is True
    assert "PMM would restore the newest artifact 'nightly-1' (logical, 2026-11-30T01:00:00Z)" in \
        result(snap, "restore_version_compatible")[1]


def test_pmm_agents_too_old_for_the_backups_block_them(setup: Setup) -> None:
    for host in setup.rs.hosts:
        setup.pmm.set_pmm_agent_version(setup.services[host], "2.18.1")
    snap = setup.probe()
    assert verdicts(snap, "pmm_agent_version_supported")[setup.rs.hosts[0]][0] is Status.FAIL
    assert snap.operations["logical_backup"] is False and snap.ready is False


@pytest.mark.parametrize("setup", ["3.4.0"], indirect=True)  # PMM 2 has no versions list: always asked per node
def test_pmm_3_without_the_versions_list_asks_per_node(setup: Setup) -> None:
    setup.pmm.fail_with(404, paths=["/v1/management/agents/versions"])
    setup.pmm.set_pmm_agent_version(setup.service(1), "2.34.0")
    snap = setup.probe()
    states = verdicts(snap, "pmm_agent_version_supported")
    assert states[setup.rs.hosts[1]] == (Status.FAIL, ())  # PMM skips its software check: a warning
    assert states[setup.rs.hosts[0]] == (Status.PASS, ())
    assert any(path == "/v1/management/agents" for _, path, _ in setup.pmm.requests_seen)


def test_pmm_agent_versions_per_node_are_kept_between_cycles(setup: Setup) -> None:
    setup.pmm.clear_requests()
    setup.probe(cycles=3)
    per_node = "/v1/management/Agent/List" if setup.pmm.major == 2 else "/v1/management/agents"
    calls = sum(1 for _, path, _ in setup.pmm.requests_seen if path == per_node)
    assert calls == (3 if setup.pmm.major == 2 else 0)  # one per node in the first cycle, then kept


def test_a_service_added_with_another_user_is_a_warning(setup: Setup) -> None:
    with SimReplicaSet(name="rs9") as other:
        setup.pmm.register_replica_set(other, cluster="other", username="backup_admin")
        store = probe_clusters([cluster_config(other, "other")], pmm=PMMConfig(setup.pmm.url, TOKEN))
    snap = store.get("other")
    assert snap is not None
    states = verdicts(snap, "pmm_service_user_matches")
    assert set(states.values()) == {(Status.FAIL, ())}
    _, reason, fix = result(snap, "pmm_service_user_matches", other.hosts[0])
    assert "as MongoDB user backup_admin" in reason
    assert "pmm-admin inventory add agent mongodb-exporter" in fix and "Do not remove and re-add the service" in fix


def test_a_stale_service_of_the_cluster_blocks_physical_restores(setup: Setup) -> None:
    gone = setup.pmm.add_node("old-db1", "10.0.0.99")
    setup.pmm.add_mongodb_service(gone, "old-db1-mongodb", "10.0.0.99", 27017, cluster="prod-rs",
                                  replication_set=setup.rs.name)
    setup.pmm.set_agent_connected(gone, False)
    snap = setup.probe()
    status, reason, fix = result(snap, "pmm_cluster_services_connected")
    assert status is Status.FAIL and "service old-db1-mongodb has its pmm-agent on old-db1 disconnected" in reason
    assert "pmm-admin remove mongodb old-db1-mongodb" in fix
    assert verdicts(snap, "pmm_cluster_services_connected")[""][1] == ("physical_restore",)


def test_removing_a_stale_service_that_owns_backups_is_fixed_with_a_warning(setup: Setup) -> None:
    gone = setup.pmm.add_node("old-db1", "10.0.0.99")
    old = setup.pmm.add_mongodb_service(gone, "old-db1-mongodb", "10.0.0.99", 27017, cluster="prod-rs",
                                        replication_set=setup.rs.name)
    setup.pmm.add_artifact(old, setup.location, name="old-1", folder="prod-rs", created_at="2026-10-01T01:00:00Z")
    setup.pmm.set_agent_connected(gone, False)
    fix = result(setup.probe(), "pmm_cluster_services_connected")[2]
    # models.RemoveService(RemoveCascade) empties the artifact's service ID: "Empty Service ID." on restore
    assert "pmm-admin remove mongodb old-db1-mongodb" in fix and "it owns 1 artifact" in fix
    assert "which PMM then can never restore" in fix


def test_a_remotely_monitored_member_blocks_physical_restores(setup: Setup) -> None:
    host = setup.rs.hosts[2]
    setup.pmm.remove_service(setup.services[host])
    monitor = setup.pmm.add_node("monitoring-host", "10.0.0.50")
    name, _, port = host.rpartition(":")
    node = setup.pmm.add_node(f"{name}-{port}-db", name)
    setup.pmm.add_mongodb_service(node, f"{name}-{port}-remote", name, int(port), cluster="prod-rs",
                                  replication_set=setup.rs.name, pmm_agent_node_id=monitor)
    snap = setup.probe()
    assert verdicts(snap, "pmm_agent_on_mongodb_node")[host] == (Status.FAIL, ("physical_restore",))
    assert "its pmm-agent runs on monitoring-host" in result(snap, "pmm_agent_on_mongodb_node", host)[1]


def test_remote_instances_pmm_server_monitors_block_every_backup_and_restore(setup: Setup) -> None:
    # added in PMM's UI as remote instances: PMM Server's own pmm-agent runs their agents, without mongod or pbm
    for host in setup.rs.hosts:
        setup.pmm.remove_service(setup.services[host])
        name, _, port = host.rpartition(":")
        node = setup.pmm.add_node(f"{name}-{port}-remote", name, node_type="REMOTE_NODE")
        setup.pmm.add_mongodb_service(node, f"{name}-{port}-mongodb", name, int(port), cluster="prod-rs",
                                      replication_set=setup.rs.name, pmm_agent_node_id=PMM_SERVER_ID)
    snap = setup.probe()
    status, reason, fix = result(snap, "pmm_agent_on_mongodb_node", setup.rs.hosts[0])
    assert status is Status.FAIL and "PMM Server's own pmm-agent (pmm-server)" in reason
    assert "deletes its scheduled backups" in fix
    assert verdicts(snap, "pmm_agent_on_mongodb_node")[setup.rs.hosts[1]][1] == (
        "logical_backup", "physical_backup", "pitr", "logical_restore", "physical_restore", "pitr_restore")
    assert snap.operations["logical_backup"] is False and snap.operations["logical_restore"] is False


def test_a_second_profiler_agent_for_a_service_fails_its_scheduled_backups(setup: Setup) -> None:
    setup.pmm.add_service_agent(setup.service(0), "QAN_MONGODB_PROFILER_AGENT", username="qan")
    snap = setup.probe()
    status, reason, fix = result(snap, "pmm_service_agents_unique", setup.rs.hosts[0])
    assert status is Status.FAIL and "there should be only one agent" in reason
    assert verdicts(snap, "pmm_service_agents_unique")[setup.rs.hosts[0]][1] == ("logical_backup",)  # 'nightly'
    assert "pmm-admin inventory remove agent" in fix
    assert snap.operations["logical_backup"] is False and snap.operations["logical_restore"] is True


def test_a_restore_from_pmm_leaves_the_schedules_disabled_and_the_cluster_not_ready(setup: Setup) -> None:
    setup.pmm.restore_artifact(setup.artifact, setup.service(0))
    snap = setup.probe()
    status, reason, fix = result(snap, "pmm_scheduled_backups_enabled")
    assert status is Status.FAIL and "none of the cluster's 1 scheduled backup ('nightly') is enabled" in reason
    assert "enable 'nightly'" in fix
    assert snap.operations["logical_backup"] is True and snap.ready is False  # by hand it runs; on schedule not
    assert "blocks the scheduled backups" in render_table([snap])


def test_a_restore_onto_another_member_leaves_the_pitr_schedule_enabled_and_pitr_off(setup: Setup) -> None:
    setup.pmm.remove_scheduled_backup(next(iter(setup.pmm._scheduled_backups)))  # PITR alone (PMM's precondition)
    setup.pmm.add_scheduled_backup(setup.service(1), setup.location, name="pitr", mode="PITR", folder="prod-rs")
    setup.rs.pbm.configure_as_pmm(pitr=True)  # the PITR schedule ran: PITR on, slicing
    setup.rs.pbm.start_pitr(span_min=1, since=setup.rs.cluster_time().time - 30)
    assert setup.probe().operations["pitr"] is not False
    setup.pmm.restore_artifact(setup.artifact, setup.service(0))  # disables service 0's schedules only
    setup.rs.pbm.configure_as_pmm(pitr=False)  # what the restore job writes before pbm restore
    snap = setup.probe()
    status, reason, fix = result(snap, "pmm_pitr_schedule_applied")
    assert status is Status.FAIL and "PMM's PITR schedule 'pitr' is enabled, but PITR is off" in reason
    assert "make the PITR schedule 'pitr' run soon" in fix
    assert result(snap, "pitr_running")[0] is Status.SKIPPED
    assert snap.operations["pitr"] is False


def test_pitr_with_snapshots_on_schedule_blocks_snapshots_and_pitr(setup: Setup) -> None:
    setup.pmm.add_scheduled_backup(setup.service(1), setup.location, name="pitr", mode="PITR", folder="prod-rs")
    snap = setup.probe()
    # CheckMongoDBBackupPreconditions refuses the snapshots (case Snapshot) and the PITR schedule's runs (case PITR)
    assert verdicts(snap, "pmm_scheduled_backups_enabled")[""] == (Status.FAIL, ("logical_backup",
                                                                                 "physical_backup", "pitr"))
    assert "so 'pitr' takes no base backup" in result(snap, "pmm_scheduled_backups_enabled")[1]
    assert snap.operations["pitr"] is False


def metrics_of(snap: ClusterSnapshot) -> str:
    store = SnapshotStore()
    store.put(snap)
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(store))
    return generate_latest(registry).decode()


def test_a_pitr_schedule_alone_refuses_every_snapshot_backup(setup: Setup) -> None:
    setup.pmm.remove_scheduled_backup(setup.schedule)
    setup.pmm.add_scheduled_backup(setup.service(1), setup.location, name="pitr", mode="PITR", folder="prod-rs")
    setup.rs.pbm.configure_as_pmm(pitr=True)  # the PITR schedule ran: PITR on, slicing for 5 minutes
    setup.rs.pbm.start_pitr(span_min=1, since=setup.rs.cluster_time().time - 300)
    snap = setup.probe()
    status, reason, fix = result(snap, "pmm_snapshot_backups_allowed")
    assert (status, verdicts(snap, "pmm_snapshot_backups_allowed")[""][1]) == \
        (Status.FAIL, ("logical_backup", "physical_backup"))
    assert "PITR schedule 'pitr' is enabled: PMM refuses every snapshot backup" in reason
    assert "disable 'pitr' before an on-demand or physical backup" in fix
    assert result(snap, "pmm_scheduled_backups_enabled")[0] is Status.PASS  # its runs are not refused
    assert snap.operations["logical_backup"] is False and snap.operations["physical_backup"] is False
    assert snap.operations["pitr"] is True


def test_pmms_recommended_pitr_setup_keeps_the_cluster_ready(setup: Setup) -> None:
    # PMM's PITR schedule alone: its runs take logical base backups, so the backups PMM takes of the cluster run
    # while PMM refuses the on-demand snapshot backups (CheckMongoDBBackupPreconditions, case Snapshot)
    setup.pmm.remove_scheduled_backup(setup.schedule)
    setup.pmm.add_scheduled_backup(setup.service(1), setup.location, name="pitr", mode="PITR", folder="prod-rs")
    setup.rs.pbm.configure_as_pmm(pitr=True)
    setup.rs.pbm.start_pitr(span_min=1, since=setup.rs.cluster_time().time - 300)
    snap = setup.probe()
    assert snap.pitr_enabled and snap.ready is True
    metrics = metrics_of(snap)
    assert 'pmm_backup_prereq_cluster_ready{cluster="prod-rs"} 1.0' in metrics
    assert 'pmm_backup_prereq_operation_ready{cluster="prod-rs",operation="logical_backup"} 0.0' in metrics
    assert ('pmm_backup_prereq_blocking{check="pmm_snapshot_backups_allowed",cluster="prod-rs",node="",'
            f'operation="logical_backup",replica_set="{setup.rs.name}"}} 1.0') in metrics
    table = render_table([snap])
    assert table.startswith("prod-rs: READY for logical backups and PITR") and "logical_backup BLOCKED" in table
    assert "pmm_snapshot_backups_allowed" in table
    assert '<span class="badge ready">READY</span> <small>for' in render_status_page([snap], None)
    assert json.loads(render_json([snap]))["clusters"][0]["ready"] is True
    setup.rs.members[0].stop_agent(at=setup.rs.cluster_time().time - 120)  # the leader's: every other blocker counts
    assert setup.probe().ready is False


def test_pitr_beside_a_snapshot_schedule_is_not_ready(setup: Setup) -> None:
    setup.pmm.add_scheduled_backup(setup.service(1), setup.location, name="pitr", mode="PITR", folder="prod-rs")
    setup.rs.pbm.configure_as_pmm(pitr=True)
    setup.rs.pbm.start_pitr(span_min=1, since=setup.rs.cluster_time().time - 300)
    snap = setup.probe()
    assert result(snap, "pmm_scheduled_backups_enabled")[0] is Status.FAIL  # PMM refuses both schedules' runs
    assert snap.ready is False
    assert 'pmm_backup_prereq_cluster_ready{cluster="prod-rs"} 0.0' in metrics_of(snap)


def test_two_pitr_schedules_refuse_each_other(setup: Setup) -> None:
    setup.pmm.remove_scheduled_backup(setup.schedule)
    for i, name in ((0, "pitr-a"), (1, "pitr-b")):
        setup.pmm.add_scheduled_backup(setup.service(i), setup.location, name=name, mode="PITR", folder="prod-rs")
    snap = setup.probe()
    assert verdicts(snap, "pmm_scheduled_backups_enabled")[""] == (Status.FAIL, ("logical_backup",
                                                                                 "physical_backup", "pitr"))


def test_a_folder_another_cluster_uses_blocks_backups(setup: Setup) -> None:
    with SimReplicaSet(name="rs1") as billing:
        theirs = setup.pmm.register_replica_set(billing, cluster="billing")
        setup.pmm.add_artifact(next(iter(theirs.values())), setup.location, folder="prod-rs")
        snap = setup.probe()
    status, reason, _ = result(snap, "pmm_backup_folder_unique")
    assert status is Status.FAIL and "of cluster 'billing'" in reason
    assert snap.operations["logical_backup"] is False


def test_old_artifacts_in_a_shared_folder_do_not_block_backups_that_go_elsewhere(setup: Setup) -> None:
    # the cluster once backed up into the bucket root, which 'billing' uses; its schedule now writes to 'prod-rs'
    setup.pmm.add_artifact(setup.service(0), setup.location, name="old-1", folder="",
                           created_at="2026-10-01T01:00:00Z")
    with SimReplicaSet(name="rs1") as billing:
        theirs = setup.pmm.register_replica_set(billing, cluster="billing")
        setup.pmm.add_scheduled_backup(next(iter(theirs.values())), setup.location, name="billing-nightly")
        snap = setup.probe()
    status, reason, _ = result(snap, "pmm_backup_folder_unique")
    assert status is Status.PASS and "older artifacts share other pairs" in reason  # CheckArtifactOverlapping
    assert "'billing-nightly' of service" in reason  # judges only where the new backup goes
    assert snap.operations["logical_backup"] is True and snap.operations["pitr"] is True


def test_an_orphaned_mysql_artifact_in_the_folder_is_skipped_as_pmm_skips_it(setup: Setup) -> None:
    node = setup.pmm.add_node("mysql-old", "10.0.0.70")
    mysql = setup.pmm.add_mysql_service(node, "mysql-old-mysql", "10.0.0.70")
    setup.pmm.add_artifact(mysql, setup.location, name="xtrabackup-1", folder="prod-rs", data_model="PHYSICAL")
    live = verdicts(setup.probe(), "pmm_backup_folder_unique")[""]
    assert live == (Status.FAIL, ("logical_backup", "physical_backup", "pitr"))  # a live MySQL service: PMM refuses
    setup.pmm.remove_service(mysql)  # RemoveCascade: the artifact stays, with service_id ""
    snap = setup.probe()
    assert verdicts(snap, "pmm_backup_folder_unique")[""] == (Status.PASS, ())
    assert snap.operations["logical_backup"] is True


@pytest.mark.parametrize("version", ["2.44.0", "3.4.0"], ids=["pmm2", "pmm3"])
def test_pmms_own_cluster_label_drives_the_checks_when_the_config_names_the_cluster_otherwise(version: str) -> None:
    # PMM labels the cluster 'orders-prod'; the exporter's config calls it 'prod-rs'
    with SimReplicaSet() as rs, SimPMMServer(version=version, token=TOKEN) as pmm:
        location = pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.us-east-1.amazonaws.com",
                                       "AKIASIMULATED", "SIMULATED/SECRET/KEY")
        services = pmm.register_replica_set(rs, cluster="orders-prod")
        pmm.add_scheduled_backup(services[rs.hosts[0]], location, name="pitr", mode="PITR", folder="orders")
        gone = pmm.add_node("old-db1", "10.0.0.99")
        pmm.add_mongodb_service(gone, "old-db1-mongodb", "10.0.0.99", 27017, cluster="orders-prod",
                                replication_set=rs.name)
        pmm.set_agent_connected(gone, False)
        store = probe_clusters([cluster_config(rs)], pmm=PMMConfig(pmm.url, TOKEN))
    snap = store.get("prod-rs")
    assert snap is not None
    label = "(PMM's cluster label 'orders-prod', on the members' services; the exporter's config says 'prod-rs')"
    status, reason, _ = result(snap, "pmm_snapshot_backups_allowed")
    assert status is Status.FAIL and "PITR schedule 'pitr' is enabled" in reason and label in reason
    status, reason, _ = result(snap, "pmm_cluster_services_connected")
    assert status is Status.FAIL and "service old-db1-mongodb has its pmm-agent on old-db1 disconnected" in reason
    assert result(snap, "pmm_backup_folder_unique")[0] is Status.PASS
    assert snap.operations["logical_backup"] is False and snap.operations["physical_restore"] is False
    status, reason, fix = result(snap, "service_cluster_name", rs.hosts[0])
    assert status is Status.FAIL and "the exporter's PMM checks follow it, so this blocks nothing" in reason
    assert "rename the cluster to 'orders-prod' in the exporter's config" in fix
    assert ("PUT /v1/inventory/services/" if version.startswith("3") else "POST /v1/inventory/Services/Change") \
        in fix and "deletes every scheduled backup of the old and the new cluster's services" in fix
    assert "can never restore" in fix  # what pmm-admin remove destroys


def test_retention_on_a_filesystem_location_warns_that_the_files_stay(setup: Setup) -> None:
    nfs = setup.pmm.add_location_filesystem("nfs", "/mnt/backups")
    setup.pmm.add_scheduled_backup(setup.service(1), nfs, name="weekly", folder="prod-rs", retention=4,
                                   cron_expression="0 2 * * 0")
    snap = setup.probe()
    status, reason, fix = result(snap, "pmm_retention_effective")
    # GetStorageForLocation has no storage for filesystem locations: removal_service deletes only the records
    assert status is Status.FAIL and "'weekly' keeps 4 artifacts on filesystem location 'nfs'" in reason
    assert "'nightly' keeps 7: PMM Server deletes older ones from S3 location 's3-main' itself" in reason
    assert verdicts(snap, "pmm_retention_effective")[""][1] == ()
    assert "pbm delete-pitr --older-than=<time>" in fix


def test_an_upgrade_after_the_last_backup_blocks_restores_end_to_end(setup: Setup) -> None:
    for host in setup.rs.hosts:  # the cluster moved to 8.0; the artifact was taken on 7.0.14
        setup.pmm.set_service_version(setup.services[host], "8.0.4")
    snap = setup.probe()
    status, reason, fix = result(snap, "restore_version_compatible")
    assert status is Status.FAIL and "'nightly-1' (logical, 2026-11-30T01:00:00Z)" in reason
    assert "run MongoDB 8.0.4" in reason and "fresh backup" in fix
    assert snap.operations["logical_restore"] is False and snap.ready is True  # backups still run
    store = SnapshotStore()
    store.put(snap)
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(store))
    metrics = generate_latest(registry).decode()
    assert 'pmm_backup_prereq_operation_ready{cluster="prod-rs",operation="logical_restore"} 0.0' in metrics
    assert ('pmm_backup_prereq_blocking{check="restore_version_compatible",cluster="prod-rs",node="",'
            f'operation="logical_restore",replica_set="{setup.rs.name}"}} 1.0') in metrics
    assert "logical_restore BLOCKED" in render_table([snap])
    assert "restore_version_compatible" in render_status_page([snap], None)


def test_re_adding_a_service_orphans_its_artifacts_and_pmm_cannot_restore_them(setup: Setup) -> None:
    # pmm-admin remove mongodb, then add again: a new service ID; the schedule is gone, the artifact orphaned
    old = setup.service(0)
    node = setup.pmm._services[old].node_id
    name, _, port = setup.rs.hosts[0].rpartition(":")
    setup.pmm.remove_service(old)
    setup.pmm.add_mongodb_service(node, f"{name}-{port}-mongodb", name, int(port), cluster="prod-rs",
                                  replication_set=setup.rs.name)
    snap = setup.probe()
    status, reason, fix = result(snap, "restore_version_compatible")
    assert status is Status.FAIL and "belong to no service" in reason and "'nightly-1'" in reason
    assert "pbm restore 2026-11-30T01:00:00Z" in fix  # the PBM backup name from the artifact's metadata
    assert snap.operations["logical_restore"] is False


def upgrade(setup: Setup, version: str) -> None:
    """mongod upgraded on every member; PMM's software-version cache still holds the old version (24 h)."""
    setup.rs.upgrade(version)  # every member restarted on it, the primary re-elected
    for host in setup.rs.hosts:
        setup.pmm.set_service_version(setup.services[host], version, cached=False)


def test_an_upgrade_pmms_cache_has_not_seen_blocks_the_restore_pmms_list_still_allows(setup: Setup) -> None:
    setup.rs.pbm.start_backup("logical", name="2026-11-30T01:00:00Z")  # the PBM backup of 'nightly-1'
    setup.rs.pbm.finish_backup()
    upgrade(setup, "7.0.15")
    snap = setup.probe()
    status, reason, _ = result(snap, "restore_version_compatible")
    assert status is Status.FAIL and "taken on MongoDB 7.0.14, but the cluster runs 7.0.15" in reason
    assert "PMM's list of compatible services still names" in reason
    assert snap.operations["logical_restore"] is False


def test_a_backup_after_the_upgrade_restores_before_pmms_cache_sees_it(setup: Setup) -> None:
    upgrade(setup, "7.0.15")
    created = "2026-12-01T01:00:00Z"
    setup.pmm.add_artifact(setup.service(0), setup.location, name="nightly-2", folder="prod-rs", created_at=created)
    setup.rs.pbm.start_backup("logical", name=created)
    setup.rs.pbm.finish_backup()
    snap = setup.probe()
    status, reason, _ = result(snap, "restore_version_compatible")
    assert status is Status.PASS and "'nightly-2'" in reason and "taken on MongoDB 7.0.15" in reason
    assert "does not name the cluster's yet" in reason
    assert snap.operations["logical_restore"] is True


def test_backup_management_off_leaves_the_backup_rules_unknown(setup: Setup) -> None:
    setup.pmm.backup_management = False
    snap = setup.probe()
    assert snap.pmm is not None and snap.pmm.success  # the backup API is off by design, not failing
    for check in ("pmm_scheduled_backups_enabled", "pmm_backup_folder_unique", "restore_version_compatible"):
        assert result(snap, check)[0] is Status.UNKNOWN
        assert "disabled (Backup Management is off)" in result(snap, check)[1]


def test_compatible_services_are_asked_a_bounded_number_a_read_and_kept(setup: Setup,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pmm_compatibility, "MAX_CALLS", 1)
    with SimReplicaSet(name="rs1") as second:
        theirs = setup.pmm.register_replica_set(second, cluster="second")
        setup.pmm.add_artifact(next(iter(theirs.values())), setup.location, folder="second")
        prober = PMMProber(PMMConfig(setup.pmm.url, TOKEN), 5.0)
        try:
            first = prober.read()
            assert len(first.compatible_services) == 1  # one asked, the other waits
            second_read = prober.read()
            assert len(second_read.compatible_services) == 2
            setup.pmm.clear_requests()
            prober.read()
            assert not [r for r in setup.pmm.requests_seen if "ompatible" in r[1]]  # answers kept
        finally:
            prober.close()


def test_a_nightly_artifact_carries_the_last_answer_until_pmm_is_asked(setup: Setup,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pmm_compatibility, "MAX_CALLS", 1)
    with SimReplicaSet(name="rs1") as second:
        theirs = next(iter(setup.pmm.register_replica_set(second, cluster="second").values()))
        setup.pmm.add_artifact(theirs, setup.location, folder="second")
        prober = PMMProber(PMMConfig(setup.pmm.url, TOKEN), 5.0)
        try:
            prober.read()
            assert len(prober.read().compatible_services) == 2  # both answered, one a read
            # the nightly backups of both clusters land at once; one is asked, the other carries its answer
            new = [setup.pmm.add_artifact(setup.service(0), setup.location, folder="prod-rs"),
                   setup.pmm.add_artifact(theirs, setup.location, folder="second")]
            facts = prober.read()
            assert set(facts.compatible_services) == set(new)
            assert len(facts.compatible_carried) == 1
            assert len(prober.read().compatible_carried) == 0  # asked at the next read
            # after an upgrade the old answer proves nothing: a new artifact waits for PMM's own
            for service in (setup.service(0), setup.service(1), setup.service(2)):
                setup.pmm.set_service_version(service, "8.0.4")
            setup.pmm.add_artifact(setup.service(0), setup.location, folder="prod-rs")
            setup.pmm.set_service_version(theirs, "7.0.15")
            setup.pmm.add_artifact(theirs, setup.location, folder="second")
            assert len(prober.read().compatible_services) == 1 and not prober.read().compatible_carried
        finally:
            prober.close()


@pytest.mark.parametrize("setup", ["2.44.0"], indirect=True)
def test_a_pmm_2_without_the_management_agent_list_leaves_versions_unknown(setup: Setup) -> None:
    setup.pmm.fail_with(404, paths=["/v1/management/Agent/List"])  # PMM 2 releases before the management API
    snap = setup.probe()
    status, reason, _ = result(snap, "pmm_agent_version_supported")
    assert status is Status.UNKNOWN and "PMM 2.44.0 cannot tell pmm-agent versions" in reason
    assert snap.pmm is not None and snap.pmm.success  # the lists answered: PMM is read
    assert result(snap, "restore_version_compatible")[0] is Status.PASS


@pytest.mark.parametrize("version", ["2.44.0", "3.4.0"], ids=["pmm2", "pmm3"])
def test_nodes_registered_as_containers_are_a_warning(version: str) -> None:
    with SimReplicaSet() as rs, SimPMMServer(version=version, token=TOKEN) as pmm:
        pmm.register_replica_set(rs, cluster="prod-rs", node_type="CONTAINER_NODE")
        store = probe_clusters([cluster_config(rs)], pmm=PMMConfig(pmm.url, TOKEN))
        snap = store.get("prod-rs")
        assert snap is not None
        assert set(verdicts(snap, "containerized_node").values()) == {(Status.FAIL, ())}
        assert "a container node: PMM does not support backups of containerized MongoDB" in \
            result(snap, "containerized_node", rs.hosts[0])[1]


def test_members_carry_their_pmm_service_for_the_dashboard(setup: Setup) -> None:
    snap = setup.probe()
    names = {host: host.replace(":", "-") + "-mongodb" for host in setup.rs.hosts}  # as register_replica_set does
    assert {(m.node, m.pmm_service) for m in snap.members} == set(names.items())
    registry = CollectorRegistry()
    store = SnapshotStore()
    store.put(snap)
    registry.register(SnapshotCollector(store))
    text = generate_latest(registry).decode()
    service = names[setup.rs.hosts[0]]
    assert (f'pmm_backup_prereq_node_info{{cluster="prod-rs",node="{setup.rs.hosts[0]}",pmm_environment="",'
            f'pmm_service="{service}",replica_set="rs0"}} 1.0') in text
    # a probe that fails keeps the members it last saw, so that the dashboard still names them
    failed = build_snapshot("prod-rs", ClusterSettings(), ProbeOutcome(None, "no usable member answered", 1.0), snap)
    assert failed.members == snap.members and not failed.results


def test_a_pitr_artifact_on_a_filesystem_location_blocks_its_restore_through_pmm(setup: Setup) -> None:
    # issue 29 item 5: PMM's checkArtifactModePreconditions refuses a point in time on a location that is not S3
    nfs = setup.pmm.add_location_filesystem("nfs", "/mnt/backups")
    setup.pmm.add_artifact(setup.service(0), nfs, name="pitr-1", mode="PITR", created_at="2026-11-30T02:00:00Z")
    snap = setup.probe()
    status, reason, fix = result(snap, "pmm_restore_supported")
    assert status is Status.FAIL and verdicts(snap, "pmm_restore_supported")[""][1] == ()  # nightly-1 is restorable
    assert "PMM cannot restore the PITR artifact 'pitr-1' (logical PITR, 2026-11-30T02:00:00Z) on location 'nfs' " \
           "through PMM" in reason and "pbm restore --time=" in fix
    assert "'nightly-1' (logical, 2026-11-30T01:00:00Z)) can still be restored through PMM" in reason


def test_the_backup_age_target_comes_from_pmms_nightly_schedule_end_to_end(setup: Setup) -> None:
    # the setup's schedule 'nightly' runs at 0 1 * * * (PMM 2 and PMM 3 both list its cron_expression)
    status, reason, _ = result(setup.probe(), "recovery_objectives_met")
    assert status is Status.FAIL and "newest successful backup age: none (no successful backup), target 25 h from " \
                                     "PMM schedule 'nightly' 0 1 * * * plus 60 min" in reason
    now = int(setup.rs.cluster_time().time)
    setup.rs.pbm.add_backup("logical", "done", now - 3 * 3600, now - 2 * 3600)
    status, reason, _ = result(setup.probe(), "recovery_objectives_met")
    assert status is Status.PASS and "newest successful backup age 2 h within 25 h from PMM schedule 'nightly'" \
        in reason
