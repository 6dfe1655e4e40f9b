"""PMM's own backup and restore rules end to end: the exporter's real PMM client against the simulated PMM Server in
both dialects, next to a simulated replica set; restore readiness through to the metrics, `check` and the status
page."""

from __future__ import annotations

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
from exporter.report.check_report import render_table
from exporter.results.check_result import Status
from exporter.snapshots.cluster_snapshot import ClusterSnapshot, SnapshotStore, build_snapshot
from exporter.web.status_page import render_status_page
from pbm_pmm_simulator import SimReplicaSet
from pbm_pmm_simulator.pmm_server import SimPMMServer
from tests.probing import cluster_config, probe_clusters, result

TOKEN = "glsa_simulatedToken_0123"
NEW_CHECKS = {"pmm_agent_version_supported", "pmm_service_user_matches", "pmm_cluster_services_connected",
              "pmm_agent_on_mongodb_node", "pmm_scheduled_backups_enabled", "pmm_backup_folder_unique",
              "restore_version_compatible", "containerized_node"}


@dataclass
class Setup:
    rs: SimReplicaSet
    pmm: SimPMMServer
    location: str
    services: dict[str, str]  # member host -> service ID
    artifact: str

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
        pmm.add_scheduled_backup(first, location, name="nightly", folder="prod-rs")
        artifact = pmm.add_artifact(first, location, name="nightly-1", folder="prod-rs",
                                    created_at="2026-11-30T01:00:00Z")
        yield Setup(rs, pmm, location, services, artifact)


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
    assert "as MongoDB user backup_admin" in result(snap, "pmm_service_user_matches", other.hosts[0])[1]


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


def test_a_restore_from_pmm_leaves_the_schedules_disabled_and_the_cluster_not_ready(setup: Setup) -> None:
    setup.pmm.restore_artifact(setup.artifact, setup.service(0))
    snap = setup.probe()
    status, reason, fix = result(snap, "pmm_scheduled_backups_enabled")
    assert status is Status.FAIL and "none of the cluster's 1 scheduled backup ('nightly') is enabled" in reason
    assert "enable 'nightly'" in fix
    assert snap.operations["logical_backup"] is True and snap.ready is False  # by hand it runs; on schedule not
    assert "blocks the scheduled backups" in render_table([snap])


def test_pitr_with_snapshots_on_schedule_blocks_snapshots(setup: Setup) -> None:
    setup.pmm.add_scheduled_backup(setup.service(1), setup.location, name="pitr", mode="PITR", folder="prod-rs")
    snap = setup.probe()
    assert verdicts(snap, "pmm_scheduled_backups_enabled")[""] == (Status.FAIL, ("logical_backup",
                                                                                 "physical_backup"))


def test_a_folder_another_cluster_uses_blocks_backups(setup: Setup) -> None:
    with SimReplicaSet(name="rs1") as billing:
        theirs = setup.pmm.register_replica_set(billing, cluster="billing")
        setup.pmm.add_artifact(next(iter(theirs.values())), setup.location, folder="prod-rs")
        snap = setup.probe()
    status, reason, _ = result(snap, "pmm_backup_folder_unique")
    assert status is Status.FAIL and "of cluster 'billing'" in reason
    assert snap.operations["logical_backup"] is False


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
