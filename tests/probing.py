"""Test helpers: probe simulated replica sets with the exporter's real probe path (pymongo over loopback)."""

from __future__ import annotations

import asyncio

from exporter.config.config_file import ClusterConfig, Config, DiscoveryConfig, PMMConfig
from exporter.results.check_result import CheckResult, Status
from exporter.run.scheduler import ProbeCycle
from exporter.snapshots.cluster_snapshot import ClusterSnapshot, SnapshotStore
from pbm_pmm_simulator import DEFAULT_PASSWORD, DEFAULT_USER, SimReplicaSet


def cluster_config(rs: SimReplicaSet, name: str = "prod-rs", mode: str = "logical", user: str = DEFAULT_USER,
                   password: str = DEFAULT_PASSWORD, pmm_services: tuple[tuple[str, str], ...] = ()
                   ) -> ClusterConfig:
    return ClusterConfig(name, rs.uri(user, password), mode, tuple(rs.hosts), user, password, pmm_services)


def probe_clusters(clusters: list[ClusterConfig], timeout: float = 2.0, cycles: int = 1,
                   store: SnapshotStore | None = None, pmm: PMMConfig | None = None,
                   discovery: DiscoveryConfig | None = None) -> SnapshotStore:
    """Run `cycles` probe cycles with one long-lived ProbeCycle (one client per cluster), as the exporter does."""
    store = store or SnapshotStore()
    config = Config("test", 60.0, timeout, tuple(clusters), pmm, discovery)

    async def run() -> None:
        cycle = ProbeCycle(config, store)
        try:
            for _ in range(cycles):
                await cycle.run_once()
        finally:
            await cycle.close()

    asyncio.run(run())
    return store


def probe(rs: SimReplicaSet, mode: str = "logical", timeout: float = 2.0, **kwargs: str) -> ClusterSnapshot:
    cluster = cluster_config(rs, mode=mode, **kwargs)
    snapshot = probe_clusters([cluster], timeout).get(cluster.name)
    assert snapshot is not None
    return snapshot


def statuses(snapshot: ClusterSnapshot, check: str) -> dict[str, Status]:
    return {r.node: r.status for r in snapshot.results if r.check == check}


def result(snapshot: ClusterSnapshot, check: str, node: str = "") -> tuple[Status, str, str]:
    found = [r for r in snapshot.results if r.check == check and r.node == node]
    assert len(found) == 1, (check, node, snapshot.results)
    return found[0].status, found[0].reason, found[0].fix


def result_of(snapshot: ClusterSnapshot, check: str, node: str = "") -> CheckResult:
    """The one result of `check` (for `node`) in the snapshot, whole."""
    found = [r for r in snapshot.results if r.check == check and r.node == node]
    assert len(found) == 1, (check, node, snapshot.results)
    return found[0]


def scrape(*snapshots: ClusterSnapshot) -> str:
    """What /metrics serves for these snapshots."""
    from prometheus_client import CollectorRegistry, generate_latest

    from exporter.exposition.collector import SnapshotCollector

    store = SnapshotStore()
    for snap in snapshots:
        store.put(snap)
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(store))
    return generate_latest(registry).decode()
