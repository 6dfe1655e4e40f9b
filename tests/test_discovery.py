"""Discovery from PMM's inventory, in both API dialects, against the simulated PMM Server and simulated clusters."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from exporter.config.config_file import Config, DiscoveryConfig, MongoDBCredentials, PMMConfig
from exporter.results.check_result import Status
from exporter.run.scheduler import ProbeCycle
from exporter.snapshots.cluster_snapshot import SnapshotStore
from pbm_pmm_simulator import SimReplicaSet, SimShardedCluster
from pbm_pmm_simulator.pmm_server import SimPMMServer
from tests.probing import cluster_config, probe_clusters

TOKEN = "glsa_discovery_0001"
CREDENTIALS = MongoDBCredentials("pmm", "secret", "admin")


def discovery(keep_for: float = 600.0) -> DiscoveryConfig:
    return DiscoveryConfig(keep_for, CREDENTIALS)


@pytest.fixture(params=["2.44.0", "3.4.0"], ids=["pmm2", "pmm3"])
def pmm(request: pytest.FixtureRequest) -> Iterator[SimPMMServer]:
    with SimPMMServer(version=request.param, token=TOKEN) as server:
        server.add_location_s3("s3-main", "pbm-backups", "https://s3.example", "AK", "SK")
        yield server


def run(pmm: SimPMMServer, store: SnapshotStore | None = None, static: list | None = None,  # type: ignore[type-arg]
        keep_for: float = 600.0) -> SnapshotStore:
    return probe_clusters(static or [], pmm=PMMConfig(pmm.url, TOKEN), discovery=discovery(keep_for), store=store)


class Exporter:
    """One long-lived ProbeCycle on one event loop, cycle after cycle, as the running exporter has."""

    def __init__(self, pmm: SimPMMServer, keep_for: float = 600.0, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.store = SnapshotStore()
        config = Config("test", 60.0, 2.0, (), PMMConfig(pmm.url, TOKEN), discovery(keep_for))
        self.runner = asyncio.Runner()
        self.cycle = self.runner.run(self._make(config, clock))

    async def _make(self, config: Config, clock: Callable[[], float]) -> ProbeCycle:
        return ProbeCycle(config, self.store, clock=clock)

    def cycle_once(self) -> SnapshotStore:
        self.runner.run(self.cycle.run_once())
        return self.store

    def close(self) -> None:
        self.runner.run(self.cycle.close())
        self.runner.close()


def test_two_replica_sets_and_a_sharded_cluster_are_found(pmm: SimPMMServer) -> None:
    with SimReplicaSet(name="rsA") as a, SimReplicaSet(name="rsB") as b, SimShardedCluster() as sharded:
        pmm.register_replica_set(a, cluster="alpha", style="loopback")
        pmm.register_replica_set(b, cluster="beta")
        for rs in sharded.replica_sets:
            pmm.register_replica_set(rs, cluster="big")
        node = pmm.add_node("mongos-1", "127.0.0.1")
        pmm.add_mongodb_service(node, "mongos-1", "127.0.0.1", sharded.mongos.port, cluster="big")
        store = run(pmm)
        assert store.discovery is not None and store.discovery.success and store.discovery.clusters == 3
        snaps = {s.cluster: s for s in store.all()}
        assert set(snaps) == {"alpha", "beta", "big"}
        assert {s.source for s in snaps.values()} == {"pmm"}
        for name, snap in snaps.items():
            assert snap.ready is True, (name, [r for r in snap.results if r.status is not Status.PASS])
        assert {r.replica_set for r in snaps["big"].results} == {"cfg", "shard0", "shard1"}


def test_a_sharded_cluster_without_a_mongos_in_pmm_is_read_replica_set_by_replica_set(pmm: SimPMMServer) -> None:
    with SimShardedCluster() as sharded:
        for rs in sharded.replica_sets:
            pmm.register_replica_set(rs, cluster="big")
        snap = run(pmm).get("big")
        assert snap is not None and snap.ready is True, snap
        assert {r.replica_set for r in snap.results} == {"cfg", "shard0", "shard1"}
        reason = next(r.reason for r in snap.results if r.check == "supported_configuration" and r.replica_set == "cfg")
        assert "sharded cluster of 2 shards" in reason and "balancer full" in reason


def test_a_service_without_a_cluster_name_becomes_its_own_entry_and_fails(pmm: SimPMMServer) -> None:
    with SimReplicaSet() as rs:
        ids = pmm.register_replica_set(rs, cluster="")
        store = run(pmm)
        names = {s.cluster for s in store.all()}
        expected = {s.service_name for sid, s in pmm._services.items() if sid in ids.values()}
        assert names == expected  # one entry per unlabelled service, named after it
        snap = store.get(sorted(names)[0])
        assert snap is not None
        failing = {r.node: r.reason for r in snap.results
                   if r.check == "service_cluster_name" and r.status is Status.FAIL}
        assert set(failing) == set(rs.hosts)
        assert all("has no cluster name" in reason for reason in failing.values())


def test_clusters_added_and_removed_between_cycles(pmm: SimPMMServer, caplog: pytest.LogCaptureFixture) -> None:
    with SimReplicaSet(name="rsA") as a, SimReplicaSet(name="rsB") as b:
        first = pmm.register_replica_set(a, cluster="alpha")
        exporter = Exporter(pmm)
        try:
            assert {s.cluster for s in exporter.cycle_once().all()} == {"alpha"}
            pmm.register_replica_set(b, cluster="beta")
            for service_id in first.values():
                pmm.remove_service(service_id)
            with caplog.at_level("INFO", logger="exporter.run.scheduler"):
                store = exporter.cycle_once()
                exporter.cycle_once()
            assert {s.cluster for s in store.all()} == {"beta"}  # alpha's series are gone, not stale
            assert caplog.text.count("cluster alpha is no longer in PMM's inventory; no longer probed") == 1
            assert caplog.text.count("cluster beta discovered in PMM's inventory") == 1
        finally:
            exporter.close()


def test_a_static_entry_wins_over_the_discovered_one(pmm: SimPMMServer) -> None:
    with SimReplicaSet() as rs:
        pmm.register_replica_set(rs, cluster="prod-rs")
        store = run(pmm, static=[cluster_config(rs, "prod-rs", mode="physical")])
        snap = store.get("prod-rs")
        assert snap is not None and snap.source == "static"
        assert store.discovery is not None and store.discovery.clusters == 0
        reason = next(r.reason for r in snap.results if r.check == "supported_configuration")
        assert "physical" in reason  # the static entry's settings are the ones used


def test_pmm_unreachable_keeps_the_last_list_for_a_bounded_time(pmm: SimPMMServer,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    with SimReplicaSet() as rs:
        pmm.register_replica_set(rs, cluster="prod-rs")
        now = [0.0]  # a fake monotonic clock: keep_for is stepped over, not raced against by the probes' own time
        exporter = Exporter(pmm, keep_for=600.0, clock=lambda: now[0])
        try:
            exporter.cycle_once()
            pmm.stop()
            now[0] += 599.0
            store = exporter.cycle_once()
            assert store.discovery is not None and not store.discovery.success
            assert "cannot connect to PMM" in store.discovery.error
            assert store.discovery.clusters == 1 and store.discovery.last_success_timestamp is not None
            snap = store.get("prod-rs")
            assert snap is not None and snap.probe_success  # still probed from the last known list
            now[0] += 2.0
            with caplog.at_level("WARNING", logger="exporter.run.scheduler"):
                exporter.cycle_once()
            assert store.get("prod-rs") is None and store.discovery.clusters == 0
            assert "PMM's inventory could not be read for 600s" in caplog.text
        finally:
            exporter.close()


def test_only_pmm_url_token_and_one_set_of_credentials(tmp_path: Path) -> None:
    """The README's first setup: the real `check` command with discovery, a password file and a static entry."""
    directory = tmp_path
    with SimPMMServer(version="3.4.0", token=TOKEN) as pmm, SimReplicaSet(name="rsA") as a, \
            SimReplicaSet(name="rsB") as b:
        pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.example", "AK", "SK")
        pmm.register_replica_set(a, cluster="alpha")
        pmm.register_replica_set(b, cluster="beta")
        (directory / "mongo-password").write_text("secret\n")
        (directory / "exporter.yml").write_text(f"""pmm:
  url: {pmm.url}
  token: ${{TEST_PMM_TOKEN}}
discovery:
  from_pmm: true
mongodb:
  username: pmm
  password_file: mongo-password
clusters:
  - name: beta
    uri: {b.uri()}
""")
        env = {**os.environ, "TEST_PMM_TOKEN": TOKEN}
        command = [sys.executable, "-m", "exporter", "check", "--config", str(directory / "exporter.yml")]
        table = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
        assert table.returncode == 0, table.stdout + table.stderr
        assert table.stdout.startswith("Discovery from PMM: 1 cluster\n")
        assert "\nbeta: READY" in table.stdout and "\nalpha (from PMM): READY" in table.stdout
        document = json.loads(subprocess.run([*command, "--output", "json"], capture_output=True, text=True,
                                             timeout=60, env=env).stdout)
        assert document["discovery"]["success"] is True
        assert {(c["cluster"], c["source"]) for c in document["clusters"]} == {("beta", "static"), ("alpha", "pmm")}
        assert TOKEN not in table.stdout + table.stderr and "secret" not in table.stdout
