"""Faults, MongoDB's and PMM's, injected while one long-lived ProbeCycle probes a faulty and a healthy cluster.

Each test checks what the exporter reports during the fault (on the snapshots and on the exposition text), that a
failing check never turns into a pass while the fault lasts, that the healthy cluster stays READY, and that the
same ProbeCycle (the same clients, as the running exporter has) reports READY again once the fault clears.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pymongo
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pymongo.errors import AutoReconnect

import exporter.probes.pmm as pmm_probe
from exporter.config.config_file import ClusterConfig, Config, PMMConfig
from exporter.exposition.collector import SnapshotCollector
from exporter.probes.mongodb import MongoDBProber
from exporter.results.check_result import Status
from exporter.run.scheduler import ProbeCycle
from exporter.snapshots.cluster_snapshot import ClusterSnapshot, SnapshotStore
from pbm_pmm_simulator import PMM_USER_ROLES, SimNode, SimReplicaSet, SimTLS, SimUser
from pbm_pmm_simulator.pmm_server import SimPMMServer
from tests.certs import Certs, make_certs
from tests.probing import cluster_config, result, statuses

TIMEOUT = 1.0
TOKEN = "glsa_faultsToken_0001"
MONGODB_CHECKS = {"replica_set_member", "pbm_agent_running", "pbm_version_supported", "pbm_storage_reachable",
                  "mongodb_user_permissions", "supported_configuration"}
PMM_CHECKS = {"backup_management_enabled", "storage_location_configured", "pmm_client_connected",
              "service_cluster_name", "pbm_config_managed_by_pmm"}
PBM_CHECKS = {"pbm_agent_running", "pbm_version_supported", "pbm_storage_reachable"}


class LiveExporter:
    """One ProbeCycle on one event loop, cycle after cycle, as the running exporter has, and its exposition."""

    def __init__(self, clusters: list[ClusterConfig], timeout: float = TIMEOUT, pmm: PMMConfig | None = None
                 ) -> None:
        self.store = SnapshotStore()
        self.config = Config("test", 60.0, timeout, tuple(clusters), pmm)
        self.registry = CollectorRegistry()
        self.registry.register(SnapshotCollector(self.store))
        self.runner = asyncio.Runner()
        self.probe_cycle = self.runner.run(self._make())

    async def _make(self) -> ProbeCycle:
        return ProbeCycle(self.config, self.store)

    def cycle(self) -> float:
        """One probe cycle over every cluster and PMM; returns how long it took."""
        started = time.monotonic()
        self.runner.run(self.probe_cycle.run_once())
        return time.monotonic() - started

    def snap(self, cluster: str) -> ClusterSnapshot:
        snapshot = self.store.get(cluster)
        assert snapshot is not None, cluster
        return snapshot

    def cycle_until(self, cluster: str, ready: Callable[[ClusterSnapshot], bool], cycles: int = 6) -> ClusterSnapshot:
        """Cycle until `ready` holds for the cluster (pymongo may need a cycle or two to see a member again)."""
        for _ in range(cycles):
            self.cycle()
            if ready(self.snap(cluster)):
                return self.snap(cluster)
        raise AssertionError(f"{cluster} did not recover in {cycles} cycles: {self.snap(cluster)}")

    def apply(self, config: Config) -> None:
        self.config = config
        self.runner.run(self.probe_cycle.apply_config(config))

    def exposition(self) -> str:
        return generate_latest(self.registry).decode()

    def close(self) -> None:
        self.runner.run(self.probe_cycle.close())
        self.runner.close()


def samples(text: str, name: str, **labels: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The exposition's samples of metric `name` whose labels include `labels`, by their full label set."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def value(text: str, name: str, **labels: str) -> float | None:
    found = samples(text, name, **labels)
    assert len(found) <= 1, found
    return next(iter(found.values()), None)


def ok_series(text: str, cluster: str) -> dict[tuple[str, str], float]:
    """{(check, node): value} of the cluster's pmm_backup_prereq_ok series."""
    return {(dict(k)["check"], dict(k)["node"]): v
            for k, v in samples(text, "pmm_backup_prereq_ok", cluster=cluster).items()}


def assert_probe_failed(live: LiveExporter, cluster: str, *reason: str) -> ClusterSnapshot:
    """The probe failed, says why, and nothing of the cluster's checks is left to read as current."""
    snap = live.snap(cluster)
    assert not snap.probe_success, snap
    assert snap.results == () and snap.agents == () and snap.ready is None
    for part in reason:
        assert part in snap.probe_error, snap.probe_error
    text = live.exposition()
    assert ok_series(text, cluster) == {}
    assert value(text, "pmm_backup_prereq_cluster_ready", cluster=cluster) is None
    assert value(text, "pmm_backup_prereq_probe_success", cluster=cluster, target="mongodb") == 0.0
    assert samples(text, "pmm_backup_prereq_pbm_agent_info", cluster=cluster) == {}
    return snap


def assert_ready(live: LiveExporter, cluster: str) -> None:
    snap = live.snap(cluster)
    assert snap.probe_success and snap.ready is True, (snap.probe_error, [r for r in snap.results
                                                                          if r.status is not Status.PASS])


def ready(snap: ClusterSnapshot) -> bool:
    return snap.ready is True


def when_received(node: SimNode, command: str, action: Callable[[], None]) -> threading.Event:
    """Run `action` once `node` has received `command`, before it answers: while the reply is pending, whatever the
    load (a thread polling for the command could miss a reply delay); the event is set once `action` returned."""
    done = threading.Event()

    def act() -> None:
        action()
        done.set()

    node.on_receive(command, act)
    return done


@pytest.fixture
def clusters() -> Iterator[tuple[SimReplicaSet, SimReplicaSet]]:
    with SimReplicaSet(name="rs0") as faulty, SimReplicaSet(name="rs1") as healthy:
        yield faulty, healthy


@pytest.fixture
def live(clusters: tuple[SimReplicaSet, SimReplicaSet]) -> Iterator[LiveExporter]:
    faulty, healthy = clusters
    exporter = LiveExporter([cluster_config(faulty, "faulty"), cluster_config(healthy, "healthy")])
    try:
        exporter.cycle()
        assert_ready(exporter, "faulty")
        assert_ready(exporter, "healthy")
        yield exporter
    finally:
        exporter.close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


# --- members down, hung, slow, stepping down --------------------------------------------------------------------


def test_node_down_before_the_probe_fails_that_node_only_and_clears(clusters: tuple[SimReplicaSet, SimReplicaSet],
                                                                     live: LiveExporter) -> None:
    rs, _ = clusters
    down = rs.members[2]
    down.stop()
    rs.advance_clock(60)  # its agent's heartbeat (frozen when its mongod went away) is now stale
    others = [m.host for m in rs.members if m is not down]
    for _ in range(2):  # and it stays failed while the fault lasts
        live.cycle()
        snap = live.snap("faulty")
        assert snap.probe_success
        assert statuses(snap, "replica_set_member") == {**dict.fromkeys(others, Status.PASS), down.host: Status.FAIL}
        assert statuses(snap, "pbm_agent_running") == {**dict.fromkeys(others, Status.PASS), down.host: Status.FAIL}
        # a secondary down: backups run from the others, a physical restore would wait for it
        assert snap.ready is True and snap.operations["physical_restore"] is False
        text = live.exposition()
        assert ok_series(text, "faulty")[("replica_set_member", down.host)] == 0.0
        assert ok_series(text, "faulty")[("pbm_agent_running", down.host)] == 0.0
        assert value(text, "pmm_backup_prereq_cluster_ready", cluster="faulty") == 1.0
        assert value(text, "pmm_backup_prereq_operation_ready", cluster="faulty", operation="physical_restore") == 0.0
        assert_ready(live, "healthy")
    down.start()
    live.cycle_until("faulty", ready)
    assert_ready(live, "healthy")


def test_primary_going_down_during_a_probe(clusters: tuple[SimReplicaSet, SimReplicaSet], live: LiveExporter) -> None:
    rs, _ = clusters
    primary = rs.members[0]

    def crash() -> None:  # mongod dies with a reply pending; the others elect a new primary
        primary.stop()
        rs.step_down()

    crashed = when_received(primary, "replSetGetStatus", crash)
    live.cycle()
    assert crashed.wait(30)
    assert_probe_failed(live, "faulty", f"lost the connection to {primary.host} during the probe")
    assert_ready(live, "healthy")

    rs.advance_clock(60)
    snap = live.cycle_until("faulty", lambda s: s.probe_success)
    others = [m.host for m in rs.members if m is not primary]
    assert statuses(snap, "replica_set_member") == {**dict.fromkeys(others, Status.PASS), primary.host: Status.FAIL}
    assert statuses(snap, "pbm_agent_running") == {**dict.fromkeys(others, Status.PASS), primary.host: Status.FAIL}
    assert "PRIMARY" in result(snap, "replica_set_member", rs.members[1].host)[1]

    primary.start()
    live.cycle_until("faulty", ready)
    assert_ready(live, "healthy")


@pytest.mark.parametrize("member", [0, 1], ids=["primary", "secondary"])
def test_member_that_accepts_and_never_answers(clusters: tuple[SimReplicaSet, SimReplicaSet], live: LiveExporter,
                                               member: int) -> None:
    rs, _ = clusters
    hung = rs.members[member]
    hung.hang()
    try:
        for attempt in range(2):
            took = live.cycle()
            assert took < TIMEOUT + 0.75, took  # bounded by the timeout, not by the hung member
            assert_ready(live, "healthy")
            if member == 1:  # the probe reads the primary and does not wait on a secondary
                assert_ready(live, "faulty")
                continue
            snap = assert_probe_failed(live, "faulty", hung.host)
            if attempt == 0:
                assert took > TIMEOUT * 0.8, took
                assert snap.probe_error == f"probe timed out after 1 s ({hung.host} did not answer in time)"
    finally:
        hung.unhang()
    live.cycle_until("faulty", ready)
    assert_ready(live, "healthy")


def test_slow_primary_just_under_and_just_over_the_timeout(clusters: tuple[SimReplicaSet, SimReplicaSet]) -> None:
    faulty, healthy = clusters
    timeout = 1.5
    live = LiveExporter([cluster_config(faulty, "faulty"), cluster_config(healthy, "healthy")], timeout=timeout)
    try:
        live.cycle()
        round_trips = 9  # hello, replSetGetStatus, replSetGetConfig, buildInfo, connectionStatus, 3 finds, ping
        faulty.members[0].set_delay(timeout * 0.5 / round_trips)
        took = live.cycle()
        assert_ready(live, "faulty")
        assert took < timeout, took

        faulty.members[0].set_delay(timeout * 1.5 / round_trips)
        took = live.cycle()
        assert_probe_failed(live, "faulty", "probe timed out after 1.5 s")
        assert timeout * 0.6 < took < timeout + 0.5, took  # about the timeout, not the whole probe's slowness
        assert_ready(live, "healthy")

        faulty.members[0].set_delay(0)
        live.cycle_until("faulty", ready)
    finally:
        live.close()


def test_the_timeout_bounds_the_whole_probe_not_each_step() -> None:
    """Every member slow from the start: the first hello (connect, authenticate) and the reads after it share one
    deadline. They used to get one each, so a probe could succeed, or fail, well after its timeout."""
    timeout, delay = 2.0, 0.2  # first hello: 5 round trips (1 s); the rest: 8 (1.6 s); 2.6 s in all
    with SimReplicaSet() as rs:
        for node in rs.members:
            node.set_delay(delay)

        async def run() -> tuple[float, bool, str]:
            prober = MongoDBProber(cluster_config(rs), timeout)
            started = time.monotonic()
            outcome = await prober.probe()
            took = time.monotonic() - started
            await prober.close()
            return took, outcome.success, outcome.error

        took, success, error = asyncio.run(run())
        assert took < timeout + 0.4, (took, success, error)
        assert not success and error.startswith("probe timed out after 2 s ("), error


def test_primary_stepping_down_mid_probe(clusters: tuple[SimReplicaSet, SimReplicaSet], live: LiveExporter) -> None:
    rs, _ = clusters
    old = rs.members[0]
    stepped = when_received(old, "find", rs.step_down)  # PBM's collections are read on a primary that is no more
    live.cycle()
    assert stepped.wait(30) and rs.primary is rs.members[1]
    assert_probe_failed(live, "faulty", "the primary changed during the probe (not primary")
    assert_ready(live, "healthy")
    snap = live.cycle_until("faulty", ready)
    assert result(snap, "replica_set_member", old.host)[1] == "member of replica set rs0: SECONDARY"
    assert result(snap, "replica_set_member", rs.members[1].host)[1] == "member of replica set rs0: PRIMARY"


def test_primary_changed_between_probes(clusters: tuple[SimReplicaSet, SimReplicaSet], live: LiveExporter) -> None:
    """The driver learns of an election at its next heartbeat (once per interval); until then it sends "primary"
    reads to the old primary. The probe must not blame the uri ("connected directly") nor stay stuck on it."""
    rs, _ = clusters
    rs.step_down()
    for _ in range(3):
        live.cycle()
        snap = live.snap("faulty")
        assert "connected directly" not in repr(snap)
        if snap.ready is True:
            break
        assert_probe_failed(live, "faulty", "the primary changed")
        assert_ready(live, "healthy")
    assert_ready(live, "faulty")
    assert result(live.snap("faulty"), "replica_set_member", rs.members[1].host)[1] == \
        "member of replica set rs0: PRIMARY"


def test_replica_set_that_loses_its_primary(clusters: tuple[SimReplicaSet, SimReplicaSet], live: LiveExporter) -> None:
    rs, _ = clusters
    rs.primary_index = None
    for _ in range(2):
        live.cycle()
        snap = live.snap("faulty")
        assert snap.probe_success and snap.ready is None
        for check in PBM_CHECKS:  # unknown, not failing: without a primary no heartbeat can be judged
            assert {r.status for r in snap.results if r.check == check} == {Status.UNKNOWN}, check
        assert statuses(snap, "replica_set_member") == dict.fromkeys(rs.hosts, Status.PASS)
        series = ok_series(live.exposition(), "faulty")
        assert not {check for check, _ in series} & PBM_CHECKS
        assert set(series.values()) == {1.0}
        assert_ready(live, "healthy")
    rs.set_primary(0)
    live.cycle_until("faulty", ready)


# --- names, TLS, credentials, privileges ------------------------------------------------------------------------


def test_a_host_name_that_does_not_resolve_next_to_real_members(clusters: tuple[SimReplicaSet, SimReplicaSet]
                                                                 ) -> None:
    rs, healthy = clusters
    uri = rs.uri().replace("@", "@nonexistent.invalid:27017,", 1)
    partly = ClusterConfig("partly", uri, "logical", ("nonexistent.invalid:27017", *rs.hosts), "pmm", "secret")
    nowhere = ClusterConfig("nowhere", "mongodb://pmm:secret@nonexistent.invalid:27017/?replicaSet=rs0",
                            "logical", ("nonexistent.invalid:27017",), "pmm", "secret")
    live = LiveExporter([partly, nowhere, cluster_config(healthy, "healthy")])
    try:
        for _ in range(2):
            took = live.cycle()
            assert took < TIMEOUT + 0.75, took
            assert_ready(live, "partly")  # the other members are all checked
            snap = live.snap("partly")
            assert set(statuses(snap, "replica_set_member")) == set(rs.hosts)
            assert "nonexistent.invalid:27017" not in {r.node for r in snap.results}
            assert_probe_failed(live, "nowhere", "no usable member answered: nonexistent.invalid:27017: ")
            assert_ready(live, "healthy")
    finally:
        live.close()


def test_tls_handshake_failure(certs: Certs, clusters: tuple[SimReplicaSet, SimReplicaSet]) -> None:
    _, healthy = clusters
    with SimReplicaSet(name="tls", tls=SimTLS(certs.server_cert, certs.server_key)) as rs:
        untrusted = ClusterConfig("tls", rs.uri(tls=True), "logical", tuple(rs.hosts), "pmm", "secret")
        live = LiveExporter([untrusted, cluster_config(healthy, "healthy")])
        try:
            took = live.cycle()
            assert took < TIMEOUT + 0.75, took
            snap = assert_probe_failed(live, "tls", "no usable member answered: ")
            assert snap.probe_error.count("certificate verify failed") == 3, snap.probe_error
            assert_ready(live, "healthy")
            # the fix the reason points at: the CA in the uri (a reload); the cluster then answers
            trusted = replace(untrusted, uri=rs.uri(tls=True, tlsCAFile=str(certs.ca)))
            live.apply(replace(live.config, clusters=(trusted, cluster_config(healthy, "healthy"))))
            live.cycle_until("tls", ready)
            assert_ready(live, "healthy")
        finally:
            live.close()


def test_authentication_failure_and_recovery(clusters: tuple[SimReplicaSet, SimReplicaSet], live: LiveExporter
                                             ) -> None:
    rs, _ = clusters
    rs.stop()  # the password is changed and mongod restarted: the exporter's connections are gone
    rs.add_user(SimUser("pmm", "rotated-Passw0rd", roles=PMM_USER_ROLES))
    rs.start()
    expected = "authentication failed for user pmm: check the user and password in the cluster's uri"
    for _ in range(4):
        live.cycle()
        assert_probe_failed(live, "faulty")  # never a stale result, whatever the first failure says
        assert_ready(live, "healthy")
        if live.snap("faulty").probe_error == expected:
            break
    assert live.snap("faulty").probe_error == expected
    assert "rotated-Passw0rd" not in live.exposition() + repr(live.store.all())
    rs.add_user(SimUser("pmm", "secret", roles=PMM_USER_ROLES))
    live.cycle_until("faulty", ready)


def test_privileges_revoked_between_probes(clusters: tuple[SimReplicaSet, SimReplicaSet], live: LiveExporter) -> None:
    rs, _ = clusters
    rs.revoke_role("pmm", "backup", "admin")
    rs.revoke_role("pmm", "pbmAnyAction", "admin")
    for _ in range(2):  # the same authenticated connections: the privileges are read anew on every probe
        live.cycle()
        status, reason, _ = result(live.snap("faulty"), "mongodb_user_permissions")
        assert status is Status.FAIL and reason.startswith("pbm-agent's user pmm@admin, which runs PBM's backups and "
                                                           "restores, lacks the privileges of backup@admin (")
        assert ok_series(live.exposition(), "faulty")[("mongodb_user_permissions", "")] == 0.0
        assert_ready(live, "healthy")

    for role in ("readWrite", "clusterMonitor", "restore", "pmmMonitor"):  # nothing left to read the set with
        rs.revoke_role("pmm", role, "admin")
    live.cycle()
    snap = live.snap("faulty")
    assert result(snap, "mongodb_user_permissions")[0] is Status.FAIL
    assert statuses(snap, "replica_set_member") == dict.fromkeys(rs.hosts, Status.UNKNOWN)
    assert "Unauthorized" in result(snap, "replica_set_member", rs.hosts[0])[1]
    assert not [r for r in snap.results if r.status is Status.PASS]
    assert set(ok_series(live.exposition(), "faulty").values()) == {0.0}

    for role, db in PMM_USER_ROLES:
        rs.grant_role("pmm", role, db)
    live.cycle()
    assert_ready(live, "faulty")
    assert ok_series(live.exposition(), "faulty")[("mongodb_user_permissions", "")] == 1.0


@pytest.mark.parametrize("commands", [("replSetGetStatus",), ()], ids=["one-command", "every-reply"])
def test_connection_reset_mid_reply(clusters: tuple[SimReplicaSet, SimReplicaSet], live: LiveExporter,
                                    commands: tuple[str, ...]) -> None:
    rs, _ = clusters
    primary = rs.members[0]
    primary.reset_mid_reply(*commands)
    try:
        for attempt in range(3):
            took = live.cycle()
            assert took < TIMEOUT + 0.75, took
            snap = assert_probe_failed(live, "faulty", primary.host)
            if attempt == 0:
                assert snap.probe_error == f"lost the connection to {primary.host} during the probe (connection " \
                                          f"closed)"
            else:
                assert "connection closed" in snap.probe_error
            assert_ready(live, "healthy")
        assert primary.resets >= 3
    finally:
        primary.clear_reset_mid_reply()
    live.cycle_until("faulty", ready)


def test_reset_mid_reply_is_a_lost_connection_to_pymongo(clusters: tuple[SimReplicaSet, SimReplicaSet]) -> None:
    rs, _ = clusters
    node = rs.members[0]
    with pymongo.MongoClient(node.uri(), serverSelectionTimeoutMS=2000) as client:
        assert client.admin.command("ping")["ok"] == 1.0
        node.reset_mid_reply("ping")
        with pytest.raises(AutoReconnect, match="connection closed"):
            client.admin.command("ping")
        assert client.admin.command("buildInfo")["ok"] == 1.0  # other commands are answered
        assert node.resets == 1
        node.clear_faults()
        assert client.admin.command("ping")["ok"] == 1.0


# --- no stale truth -----------------------------------------------------------------------------------------------


def test_an_unreachable_cluster_keeps_no_stale_series(clusters: tuple[SimReplicaSet, SimReplicaSet],
                                                      live: LiveExporter) -> None:
    rs, _ = clusters
    before = live.exposition()
    assert len(ok_series(before, "faulty")) == len(ok_series(before, "healthy")) > 10
    last_success = value(before, "pmm_backup_prereq_last_probe_timestamp_seconds", cluster="faulty")
    assert last_success is not None
    rs.stop()
    stamps = []
    for _ in range(2):
        time.sleep(0.01)
        live.cycle()
        text = live.exposition()
        snap = assert_probe_failed(live, "faulty")
        assert any(host in snap.probe_error for host in rs.hosts), snap.probe_error
        assert value(text, "pmm_backup_prereq_last_probe_timestamp_seconds", cluster="faulty") == last_success
        assert samples(text, "pmm_backup_prereq_pbm_agent_heartbeat_age_seconds", cluster="faulty") == {}
        assert value(text, "pmm_backup_prereq_cluster_info", cluster="faulty", source="static") == 1.0
        assert ok_series(text, "healthy") == ok_series(before, "healthy")
        stamps.append(value(text, "pmm_backup_prereq_last_probe_timestamp_seconds", cluster="healthy"))
    assert stamps[0] is not None and stamps[1] is not None and stamps[1] > stamps[0]  # the healthy one advances
    for line in live.exposition().splitlines():  # and not one line of the faulty cluster's checks is left
        assert not re.match(r'pmm_backup_prereq_(ok|cluster_ready|pbm_agent_\w+)\{.*cluster="faulty"', line), line
    rs.start()
    live.cycle_until("faulty", ready)
    after = live.exposition()
    assert ok_series(after, "faulty") == ok_series(before, "faulty")
    assert value(after, "pmm_backup_prereq_last_probe_timestamp_seconds", cluster="faulty") > last_success  # type: ignore[operator]


# --- PMM Server's faults ----------------------------------------------------------------------------------------


LOCATIONS_PATHS = ["/v1/backups/locations", "/v1/management/backup/Locations/List"]
PROXY_502 = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
Fault = Callable[[SimPMMServer, pytest.MonkeyPatch], None]


def _deny_with_403(pmm: SimPMMServer, _: pytest.MonkeyPatch) -> None:
    pmm.denied_status = 403  # PMM after 3.x answers 403 to a role too low for the path
    pmm.add_token(TOKEN, "Viewer")  # the service account's role was lowered


def _huge(pmm: SimPMMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pmm_probe, "MAX_RESPONSE_BYTES", 1024 * 1024)
    pmm.huge_response_bytes = 2 * 1024 * 1024


PMM_FAULTS: list[tuple[str, str, Fault, str, set[str]]] = [
    ("refused", "3.4.0", lambda pmm, _: pmm.stop(), "cannot connect to PMM at http://127.0.0.1:", PMM_CHECKS),
    ("timeout", "3.4.0", lambda pmm, _: setattr(pmm, "delay", 3.0), "PMM did not answer within 1 s", PMM_CHECKS),
    ("401 token revoked", "3.4.0", lambda pmm, _: pmm.remove_token(TOKEN),
     "PMM rejected the credentials (401 Unauthorized)", PMM_CHECKS),
    ("403 viewer", "3.4.0", _deny_with_403, "(403, access denied): the exporter's token needs the Admin role",
     PMM_CHECKS),
    ("404 older PMM 3", "3.4.0", lambda pmm, _: pmm.fail_with(404, paths=LOCATIONS_PATHS),
     "PMM answered 404 to GET /v1/backups/locations", {"storage_location_configured", "pbm_config_managed_by_pmm"}),
    ("404 older PMM 2", "2.44.0", lambda pmm, _: pmm.fail_with(404, paths=LOCATIONS_PATHS),
     "PMM answered 404 to POST /v1/management/backup/Locations/List",
     {"storage_location_configured", "pbm_config_managed_by_pmm"}),
    ("500", "3.4.0", lambda pmm, _: pmm.fail_with(500), "PMM answered 500 to GET /v1/server/version", PMM_CHECKS),
    ("502 proxy", "3.4.0", lambda pmm, _: pmm.fail_with(502, PROXY_502, content_type="text/html"),
     "PMM answered 502 to GET /v1/server/version", PMM_CHECKS),
    ("truncated JSON", "3.4.0", lambda pmm, _: setattr(pmm, "invalid_json", True),
     "PMM answered GET /v1/server/version with invalid JSON (HTTP 200, ", PMM_CHECKS),
    ("not JSON", "2.44.0", lambda pmm, _: pmm.fail_with(200, b"<html><body>Welcome to nginx!</body></html>",
                                                       content_type="text/html"),
     "PMM answered GET /v1/server/version with invalid JSON (HTTP 200, 43 bytes)", PMM_CHECKS),
    ("huge", "3.4.0", _huge, "PMM's answer to GET /v1/inventory/services is larger than 1 MiB",
     {"pmm_client_connected", "service_cluster_name"}),
    ("not PMM's answer", "3.4.0", lambda pmm, _: pmm.fail_with(200, b"{}", paths=["/v1/inventory/services"]),
     "PMM's answer has no mongodb list", {"pmm_client_connected", "service_cluster_name"}),
]


@pytest.mark.parametrize(("version", "fault", "expected", "unknown"), [f[1:] for f in PMM_FAULTS],
                         ids=[f[0] for f in PMM_FAULTS])
def test_pmm_faults_leave_mongodb_checks_and_clear(clusters: tuple[SimReplicaSet, SimReplicaSet],
                                                   monkeypatch: pytest.MonkeyPatch, version: str, fault: Fault,
                                                   expected: str, unknown: set[str]) -> None:
    one, two = clusters
    with SimPMMServer(version=version, token=TOKEN) as pmm:
        pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.us-east-1.amazonaws.com", "AKIA", "SECRET/KEY")
        pmm.register_replica_set(one, cluster="one")
        pmm.register_replica_set(two, cluster="two")
        live = LiveExporter([cluster_config(one, "one"), cluster_config(two, "two")], pmm=PMMConfig(pmm.url, TOKEN))
        try:
            live.cycle()
            for name in ("one", "two"):
                assert_ready(live, name)
            fault(pmm, monkeypatch)
            took = live.cycle()
            assert took < TIMEOUT + 0.75, took
            text = live.exposition()
            for name in ("one", "two"):
                snap = live.snap(name)
                assert snap.pmm is not None and not snap.pmm.success and expected in snap.pmm.error, snap.pmm
                assert {r.status for r in snap.results if r.check in MONGODB_CHECKS} == {Status.PASS}
                judged = {r.check: r for r in snap.results if r.check in PMM_CHECKS}
                for check, outcome in judged.items():
                    if check in unknown:  # unknown with the reason, hence absent from the exposition
                        assert outcome.status is Status.UNKNOWN and expected in outcome.reason, outcome
                    else:  # what PMM did answer is still judged
                        assert outcome.status is Status.PASS, outcome
                series = ok_series(text, name)
                assert not {check for check, _ in series} & unknown
                assert set(series.values()) == {1.0}
                assert value(text, "pmm_backup_prereq_probe_success", cluster=name, target="mongodb") == 1.0
                assert value(text, "pmm_backup_prereq_probe_success", cluster=name, target="pmm") == 0.0
                assert snap.ready is None
            assert TOKEN not in text + repr(live.store.all()) and "SECRET/KEY" not in repr(live.store.all())

            monkeypatch.undo()
            pmm.clear_faults()
            pmm.denied_status = 401
            pmm.add_token(TOKEN, "Admin")
            pmm.start()
            live.cycle()
            for name in ("one", "two"):
                assert_ready(live, name)
                assert value(live.exposition(), "pmm_backup_prereq_probe_success", cluster=name, target="pmm") == 1.0
        finally:
            live.close()
