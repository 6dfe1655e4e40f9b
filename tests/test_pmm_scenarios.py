"""The PMM checks end to end: the exporter's real PMM client against the simulated PMM Server, in both dialects,
next to a simulated replica set."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporter.config.config_file import PMMConfig
from exporter.results.check_result import Status
from exporter.snapshots.cluster_snapshot import ClusterSnapshot
from pbm_pmm_simulator import AgentSpec, MemberSpec, SimReplicaSet
from pbm_pmm_simulator.pmm_server import SimPMMServer
from tests.certs import make_certs
from tests.probing import cluster_config, probe_clusters, result, statuses

TOKEN = "glsa_simulatedToken_0123"
PMM_CHECKS = {"backup_management_enabled", "storage_location_configured", "pmm_client_connected",
              "service_cluster_name", "pbm_config_managed_by_pmm"}


@pytest.fixture
def rs() -> Iterator[SimReplicaSet]:
    with SimReplicaSet() as replica_set:
        yield replica_set


@pytest.fixture(params=["2.44.0", "3.4.0"], ids=["pmm2", "pmm3"])
def pmm(request: pytest.FixtureRequest, rs: SimReplicaSet) -> Iterator[SimPMMServer]:
    with SimPMMServer(version=request.param, token=TOKEN) as server:
        server.add_location_s3("s3-main", "pbm-backups", "https://s3.us-east-1.amazonaws.com", "AKIASIMULATED",
                               "SIMULATED/SECRET/KEY")
        server.register_replica_set(rs, cluster="prod-rs")
        yield server


def probe(rs: SimReplicaSet, pmm: SimPMMServer, token: str = TOKEN, timeout: float = 2.0, **kwargs: object
          ) -> ClusterSnapshot:
    cluster = cluster_config(rs, **kwargs)  # type: ignore[arg-type]
    store = probe_clusters([cluster], timeout, pmm=PMMConfig(pmm.url, token))
    snapshot = store.get(cluster.name)
    assert snapshot is not None
    return snapshot


def test_healthy_pmm_and_cluster_are_ready(rs: SimReplicaSet, pmm: SimPMMServer) -> None:
    snap = probe(rs, pmm)
    assert snap.ready is True, [r for r in snap.results if r.status is not Status.PASS]
    assert {r.check for r in snap.results if r.status is Status.PASS} >= PMM_CHECKS
    assert snap.pmm is not None and snap.pmm.success and snap.pmm.version == pmm.version
    assert statuses(snap, "pmm_client_connected") == dict.fromkeys(rs.hosts, Status.PASS)
    assert result(snap, "storage_location_configured")[1] == (
        "1 storage location: 's3-main': s3 bucket pbm-backups at https://s3.us-east-1.amazonaws.com")
    assert "SIMULATED/SECRET/KEY" not in repr(snap) and "AKIASIMULATED" not in repr(snap)


def test_backup_management_off(rs: SimReplicaSet, pmm: SimPMMServer) -> None:
    pmm.backup_management = False
    snap = probe(rs, pmm)
    status, reason, fix = result(snap, "backup_management_enabled")
    assert status is Status.FAIL and "Backup Management is disabled" in reason
    assert ("PUT /v1/server/settings" if pmm.major == 3 else "POST /v1/Settings/Change") in fix
    # PMM's scheduler is not gated by the setting: enabled schedules, PITR's among them, keep running
    assert "the schedules already enabled keep running" in reason
    assert [r.blocks for r in snap.results if r.check == "backup_management_enabled"] == [
        ("logical_backup", "physical_backup", "logical_restore", "physical_restore", "pitr_restore")]
    assert snap.operations["logical_restore"] is False and snap.operations["pitr"] is None
    assert result(snap, "storage_location_configured")[0] is Status.UNKNOWN
    assert snap.pmm is not None and snap.pmm.success  # a disabled backup API is PMM's answer, not a failed read


def test_no_storage_location(rs: SimReplicaSet, pmm: SimPMMServer) -> None:
    for location_id in list(pmm._locations):
        pmm.remove_location(location_id)
    snap = probe(rs, pmm)
    assert result(snap, "storage_location_configured")[:2] == (Status.FAIL, "PMM has no backup storage location")
    # PBM's S3 config now points at no PMM location: someone must have configured it by hand
    assert result(snap, "pbm_config_managed_by_pmm")[0] is Status.FAIL


def test_service_without_cluster_name(rs: SimReplicaSet) -> None:
    for version in ("2.44.0", "3.4.0"):
        with SimPMMServer(version=version, token=TOKEN) as server:
            ids = server.register_replica_set(rs, cluster="prod-rs")
            server.set_service_cluster(ids[rs.hosts[1]], "")
            snap = probe(rs, server)
            status, reason, fix = result(snap, "service_cluster_name", rs.hosts[1])
            assert status is Status.FAIL and "has no cluster name: PMM refuses to back it up" in reason
            assert "--cluster=prod-rs" in fix
            assert result(snap, "service_cluster_name", rs.hosts[0])[0] is Status.PASS


def test_disconnected_pmm_agent_and_stopped_exporter(rs: SimReplicaSet) -> None:
    for version in ("2.44.0", "3.4.0"):
        with SimPMMServer(version=version, token=TOKEN) as server:
            ids = server.register_replica_set(rs, cluster="prod-rs")
            server.set_agent_connected(ids[rs.hosts[1]], False)
            server.set_exporter_status(ids[rs.hosts[2]], "INITIALIZATION_ERROR")
            snap = probe(rs, server)
            out = {r.node: r.reason for r in snap.results if r.check == "pmm_client_connected"}
            assert statuses(snap, "pmm_client_connected") == {
                rs.hosts[0]: Status.PASS, rs.hosts[1]: Status.FAIL, rs.hosts[2]: Status.FAIL}
            assert "is not connected to PMM Server" in out[rs.hosts[1]]
            assert "is INITIALIZATION_ERROR, not RUNNING (PMM still takes the DSN" in out[rs.hosts[2]]


def test_member_without_service_gets_the_pmm_admin_command(rs: SimReplicaSet, pmm: SimPMMServer) -> None:
    services = {s.service_name: sid for sid, s in pmm._services.items()}
    missing = next(sid for name, sid in services.items() if rs.hosts[2].replace(":", "-") in name)
    pmm.remove_service(missing)
    status, reason, fix = result(probe(rs, pmm), "pmm_client_connected", rs.hosts[2])
    assert status is Status.FAIL and reason.startswith("no PMM Client monitors this node")
    port = rs.hosts[2].rsplit(":", 1)[1]
    assert f"pmm-admin add mongodb --username=<pmm user> --password=<password> --host=127.0.0.1 --port={port} " \
           f"--cluster=prod-rs --replication-set=rs0" in fix


@pytest.mark.parametrize("style", ["loopback", "ip"])
def test_members_named_by_host_match_services_added_by_ip_or_loopback(style: str) -> None:
    # the replica-set config names members "localhost:PORT"; PMM knows them as 127.0.0.1 (resolved, real DNS)
    with SimReplicaSet(host_name="localhost") as rs, SimPMMServer(version="3.4.0", token=TOKEN) as server:
        server.add_location_s3("s3-main", "pbm-backups", "", "AK", "SK")
        server.register_replica_set(rs, cluster="prod-rs", style=style,  # type: ignore[arg-type]
                                    resolve=lambda host: "127.0.0.1")
        snap = probe(rs, server, timeout=3.0)
        assert statuses(snap, "pmm_client_connected") == dict.fromkeys(rs.hosts, Status.PASS)
        how = {"loopback": "by its node's address", "ip": "by its node's resolved IP address"}[style]
        assert f"({how})" in result(snap, "pmm_client_connected", rs.hosts[0])[1]


def test_explicit_mapping_for_names_nothing_resolves(rs: SimReplicaSet) -> None:
    with SimPMMServer(version="2.44.0", token=TOKEN) as server:
        ids = server.register_replica_set(rs, cluster="prod-rs")
        port = int(rs.hosts[0].rsplit(":", 1)[1])
        server.set_service_address(ids[rs.hosts[0]], "db-legacy-alias.invalid", port)
        assert result(probe(rs, server), "pmm_client_connected", rs.hosts[0])[0] is Status.FAIL
        name = next(s.service_name for sid, s in server._services.items() if sid == ids[rs.hosts[0]])
        snap = probe(rs, server, pmm_services=((rs.hosts[0], name),))
        status, reason, _ = result(snap, "pmm_client_connected", rs.hosts[0])
        assert status is Status.PASS and "in the config's pmm_services" in reason


def test_pbm_2_10_needs_pmm_3_9() -> None:
    members = [MemberSpec(agent=AgentSpec(version="2.10.0")) for _ in range(3)]
    with SimReplicaSet(members=members) as rs:
        for version, expected in (("3.4.0", Status.FAIL), ("3.9.0", Status.PASS)):
            with SimPMMServer(version=version, token=TOKEN) as server:
                server.register_replica_set(rs, cluster="prod-rs")
                snap = probe(rs, server)
                assert statuses(snap, "pbm_version_supported") == dict.fromkeys(rs.hosts, expected)


def test_pbm_config_written_by_hand_is_caught(rs: SimReplicaSet, pmm: SimPMMServer) -> None:
    assert result(probe(rs, pmm), "pbm_config_managed_by_pmm")[0] is Status.PASS
    rs.pbm_config = {"storage": {"type": "filesystem", "filesystem": {"path": "/data/pbm"}}}
    status, reason, _ = result(probe(rs, pmm), "pbm_config_managed_by_pmm")
    assert status is Status.FAIL
    assert reason.startswith("PBM's storage (filesystem path /data/pbm) matches none of PMM's storage locations")


@pytest.mark.parametrize(("fault", "expected"), [
    ("bad token", "PMM rejected the credentials (401 Unauthorized)"),
    ("viewer", "needs the Admin role"),
    ("500", "PMM answered 500 to"),
    ("502 proxy", "PMM answered 502 to"),
    ("invalid json", "with invalid JSON"),
    ("slow", "PMM did not answer within 1 s"),
    ("down", "cannot connect to PMM at"),
])
def test_pmm_faults_make_pmm_checks_unknown_and_leave_mongodb_checks(rs: SimReplicaSet, pmm: SimPMMServer,
                                                                     fault: str, expected: str) -> None:
    token = TOKEN
    if fault == "bad token":
        token = "glsa_wrong"
    elif fault == "viewer":
        pmm.add_token("glsa_viewer", "Viewer")
        token = "glsa_viewer"
    elif fault == "500":
        pmm.fail_with(500)
    elif fault == "502 proxy":
        pmm.fail_with(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html")
    elif fault == "invalid json":
        pmm.invalid_json = True
    elif fault == "slow":
        pmm.delay = 3.0
    elif fault == "down":
        pmm.stop()
    snap = probe(rs, pmm, token=token, timeout=1.0)
    assert snap.pmm is not None and not snap.pmm.success
    assert expected in snap.pmm.error, snap.pmm.error
    pmm_results = [r for r in snap.results if r.check in PMM_CHECKS - {"pbm_config_managed_by_pmm"}]
    assert pmm_results and {r.status for r in pmm_results} == {Status.UNKNOWN}
    assert all(expected in r.reason for r in pmm_results)
    assert statuses(snap, "pbm_agent_running") == dict.fromkeys(rs.hosts, Status.PASS)
    assert token not in repr(snap) and TOKEN not in repr(snap)


def test_pmm_is_read_once_per_cycle_for_all_clusters(pmm: SimPMMServer) -> None:
    with SimReplicaSet(name="rs1") as second, SimReplicaSet(name="rs2") as third:
        pmm.register_replica_set(second, cluster="second")
        pmm.register_replica_set(third, cluster="third")
        pmm.clear_requests()
        clusters = [cluster_config(second, "second"), cluster_config(third, "third")]
        store = probe_clusters(clusters, cycles=2, pmm=PMMConfig(pmm.url, TOKEN))
        settings_path = "/v1/server/settings" if pmm.major == 3 else "/v1/Settings/Get"
        assert sum(1 for r in pmm.requests_seen if r[1] == settings_path) == 2
        assert all(store.get(name).ready for name in ("second", "third"))  # type: ignore[union-attr]


def test_pmm_over_tls_with_its_ca_and_a_client_certificate(rs: SimReplicaSet, tmp_path: Path) -> None:
    certs = make_certs(tmp_path / "certs")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certs.server_cert), str(certs.server_key))
    context.load_verify_locations(str(certs.ca))
    context.verify_mode = ssl.CERT_REQUIRED  # a proxy in front of PMM that wants client certificates
    with SimPMMServer(version="3.4.0", token=TOKEN, tls=context) as server:
        server.register_replica_set(rs, cluster="prod-rs")
        cluster = cluster_config(rs)
        trusted = PMMConfig(server.url, TOKEN, ca_file=str(certs.ca), cert_file=str(certs.client_cert),
                            key_file=str(certs.client_key))
        snap = probe_clusters([cluster], pmm=trusted).get(cluster.name)
        assert snap is not None and snap.pmm is not None and snap.pmm.success, snap.pmm
        untrusted = probe_clusters([cluster], pmm=PMMConfig(server.url, TOKEN)).get(cluster.name)
        assert untrusted is not None and untrusted.pmm is not None and not untrusted.pmm.success
        assert untrusted.pmm.error.startswith(f"TLS with PMM at {server.url} failed")
        assert "set pmm.ca_file" in untrusted.pmm.error
