"""Runs every cluster's probe on the interval, concurrently, in one asyncio loop on one background thread.

One loop for the whole fleet (no thread per cluster or node): a dead or slow cluster only occupies its own
coroutine until the timeout, and each cluster's snapshot is stored the moment its probe ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable

from exporter.checks.registry import names_to_resolve
from exporter.config.config_file import ClusterConfig, Config
from exporter.facts.observed import PMMFacts
from exporter.model.cluster_settings import ClusterSettings
from exporter.probes.dns import HostResolver
from exporter.probes.mongodb import MongoDBProber, ProbeOutcome
from exporter.probes.pmm import PMMProber
from exporter.run.discovery import discover
from exporter.run.gc_schedule import CollectionSchedule
from exporter.snapshots.cluster_snapshot import DiscoveryStatus, PMMStatus, SnapshotStore, build_snapshot, pmm_status

RESOLVE_TIMEOUT = 2.0  # bound on name lookups for one cluster's matching to PMM services
# Probes at once: enough that a fleet's cycle is bound by CPU, not by waiting; few enough to keep bursts of sockets
# and memory small (each running probe holds a few connections and a page of PBM's chunks). Memory a first cycle's
# burst takes is not given back: at 1,000 clusters 256 left the prober 24 MB larger than 64, with the same cycle
# time (BENCHMARKS.md, issue 30)
MAX_CONCURRENT_PROBES = 64

log = logging.getLogger(__name__)


class ProbeCycle:
    """The probers of every configured cluster and of PMM Server, and one pass over all of them.

    PMM is read once per cycle, concurrently with the clusters, and shared by all of them. Use inside one loop.
    """

    def __init__(self, config: Config, store: SnapshotStore, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.store = store
        self.clock = clock  # what discovery's keep_for is measured on: tests step a fake one instead of sleeping
        store.interval = config.interval
        self.static = {cluster.name: cluster for cluster in config.clusters}
        self.probers = {cluster.name: MongoDBProber(cluster, config.timeout, config.interval)
                        for cluster in config.clusters if config.shard is None or config.shard.owns(cluster.name)}
        self.pmm_prober = PMMProber(config.pmm, config.timeout) if config.pmm is not None else None
        self.resolver = HostResolver()
        self.discovered: dict[str, ClusterConfig] = {}
        self._discovered_at: float | None = None  # self.clock() at the last successful discovery
        self._said: set[str] = set()  # discovery problems already logged

    async def apply_config(self, config: Config) -> None:
        """Swap in a reloaded config: unchanged clusters keep their clients and their metrics."""
        old, self.config = self.config, config
        self.store.interval = config.interval
        self.static = {cluster.name: cluster for cluster in config.clusters}
        if config.pmm != old.pmm or config.timeout != old.timeout:
            if self.pmm_prober is not None:
                self.pmm_prober.close()
            self.pmm_prober = PMMProber(config.pmm, config.timeout) if config.pmm is not None else None
            if config.pmm is None:
                self.store.pmm = None
        if config.discovery is None:
            self.discovered, self.store.discovery = {}, None
        if config.timeout != old.timeout:
            for name, prober in list(self.probers.items()):  # the timeout is baked into each client
                await prober.close()
                self.probers[name] = MongoDBProber(prober.cluster, config.timeout, config.interval)
        await self._apply_clusters()
        self.store.end_cycle(None)

    async def run_once(self) -> None:
        if self.config.discovery is not None:
            # the cluster list comes from PMM: read it first, then probe what it lists
            pmm_read: asyncio.Future[tuple[PMMFacts, PMMStatus]] | None = asyncio.ensure_future(self._probe_pmm())
            assert pmm_read is not None
            await self._reconcile((await pmm_read)[0])
        else:
            pmm_read = asyncio.ensure_future(self._probe_pmm()) if self.pmm_prober is not None else None
        started = time.monotonic()
        slots = asyncio.Semaphore(MAX_CONCURRENT_PROBES)

        async def probe(prober: MongoDBProber) -> None:
            async with slots:
                await self._probe(prober, pmm_read)

        await asyncio.gather(*(probe(p) for p in list(self.probers.values())))
        if pmm_read is not None:
            await pmm_read
        self.store.end_cycle(time.monotonic() - started)
        self.store.first_cycle_done.set()

    async def _reconcile(self, pmm: PMMFacts) -> None:
        """Make the probers match the static clusters plus what PMM lists now (static ones win by name)."""
        discovery = self.config.discovery
        assert discovery is not None
        now = self.clock()
        error = pmm.error or pmm.services.error or pmm.nodes.error
        if error is None:
            found = discover(pmm, discovery)
            for problem in set(found.problems) - self._said:
                log.warning("discovery: %s", problem)
            self._said = set(found.problems)
            self.discovered = {c.name: c for c in found.clusters if c.name not in self.static}
            self._discovered_at = now
        elif self.discovered and self._discovered_at is not None and now - self._discovered_at > discovery.keep_for:
            log.warning("discovery: PMM's inventory could not be read for %gs (%s); no longer probing the %d "
                        "clusters it listed", discovery.keep_for, error, len(self.discovered))
            self.discovered = {}
        await self._apply_clusters()
        wall = time.time()
        previous = self.store.discovery
        self.store.discovery = DiscoveryStatus(
            error is None, error or "", len(self.discovered),
            wall if error is None else (previous.last_success_timestamp if previous else None))

    async def _apply_clusters(self) -> None:
        """Make the probers match the static clusters plus the discovered ones (static ones win by name)."""
        wanted = {**self.discovered, **self.static}
        if self.config.shard is not None:  # several replicas split the clusters; this one probes its share
            wanted = {name: c for name, c in wanted.items() if self.config.shard.owns(name)}
        for name in set(self.probers) - set(wanted):
            gone = self.probers.pop(name)
            log.info("cluster %s is no longer %s; no longer probed", name,
                     "in PMM's inventory" if gone.cluster.source == "pmm" else "in the config")
            await gone.close()
        for snapshot in self.store.all():
            if snapshot.cluster not in wanted:
                self.store.remove(snapshot.cluster)
        for name, cluster in wanted.items():
            current = self.probers.get(name)
            if current is None or current.cluster != cluster:
                if current is not None:
                    await current.close()
                elif cluster.source == "pmm":
                    log.info("cluster %s discovered in PMM's inventory", name)
                self.probers[name] = MongoDBProber(cluster, self.config.timeout, self.config.interval)

    async def _probe_pmm(self) -> tuple[PMMFacts, PMMStatus]:
        assert self.pmm_prober is not None
        started = time.monotonic()
        facts = await self.pmm_prober.probe()
        status = pmm_status(facts, time.monotonic() - started)
        previous, self.store.pmm = self.store.pmm, status
        if not status.success and (previous is None or previous.error != status.error):
            log.warning("PMM Server: %s", status.error)
        elif status.success and previous is not None and not previous.success:
            log.info("PMM Server answers again")
        return facts, status

    async def _probe(self, prober: MongoDBProber, pmm_read: asyncio.Future[tuple[PMMFacts, PMMStatus]] | None
                     ) -> None:
        cluster: ClusterConfig = prober.cluster
        outcome = await prober.probe()
        pmm, pmm_probe = await asyncio.shield(pmm_read) if pmm_read is not None else (None, None)
        settings = ClusterSettings(cluster.backup_mode, cluster.name, cluster.pmm_services, cluster.restore_from_pmm,
                                   cluster.objectives or self.config.objectives)
        previous = self.store.get(cluster.name)
        try:
            addresses = {}
            if outcome.facts is not None and pmm is not None and pmm.ok:
                names = names_to_resolve(outcome.facts, settings, pmm)
                addresses = await self.resolver.resolve(names, min(RESOLVE_TIMEOUT, self.config.timeout))
            snapshot = build_snapshot(cluster.name, settings, outcome, previous, pmm, pmm_probe, addresses,
                                      source=cluster.source)
        except Exception as exc:  # a bug must cost one cluster one probe, not the prober thread
            log.exception("cluster %s: cannot evaluate the probe's results", cluster.name)
            outcome = ProbeOutcome(None, f"internal error evaluating the results: {exc!r}", outcome.duration,
                                   "internal error")
            snapshot = build_snapshot(cluster.name, settings, outcome, previous, pmm_probe=pmm_probe,
                                      source=cluster.source)
        if self.probers.get(cluster.name) is not prober:
            return  # the cluster left (a reload or PMM's inventory) while it was being probed
        self.store.put(snapshot)
        if not outcome.success and (previous is None or previous.probe_success or
                                    previous.probe_cause != outcome.cause):
            log.warning("cluster %s: probe failed: %s", cluster.name, outcome.error)
        elif outcome.success and previous is not None and not previous.probe_success:
            log.info("cluster %s: probe succeeds again", cluster.name)

    async def close(self, timeout: float = 1.0) -> None:
        if self.pmm_prober is not None:
            self.pmm_prober.close()
        closing = asyncio.gather(*(p.close() for p in self.probers.values()), return_exceptions=True)
        try:
            await asyncio.wait_for(closing, timeout)
        except TimeoutError:
            log.warning("some MongoDB clients did not close within %.1f s", timeout)


class BackgroundProber:
    """Owns the event-loop thread that probes every interval until stopped."""

    def __init__(self, config: Config, store: SnapshotStore) -> None:
        self.config = config
        self.store = store
        self._thread = threading.Thread(target=self._run, name="prober", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._probe_cycle: ProbeCycle | None = None
        self._started = threading.Event()

    def start(self) -> None:
        self._thread.start()
        self._started.wait()

    def reload(self, config: Config) -> None:
        """Swap in a new config from any thread; it takes effect at once and for the next cycle."""
        loop, cycle = self._loop, self._probe_cycle
        if loop is not None and cycle is not None:
            asyncio.run_coroutine_threadsafe(cycle.apply_config(config), loop).result(timeout=10)
        self.config = config

    def stop(self, timeout: float = 1.5) -> None:
        """Stop probing and close every client; returns within about `timeout` seconds."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def _run(self) -> None:
        asyncio.run(self._main())

    @staticmethod
    async def _cycle(cycle: ProbeCycle) -> None:
        try:
            await cycle.run_once()
        except Exception:  # keep probing: the next cycle may well succeed
            log.exception("probe cycle failed")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        cycle = self._probe_cycle = ProbeCycle(self.config, self.store)
        collections = CollectionSchedule()
        collections.start()
        self._started.set()
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                run = asyncio.ensure_future(self._cycle(cycle))
                stopper = asyncio.ensure_future(self._stop.wait())
                await asyncio.wait({run, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if not run.done():  # stopping mid-cycle: abandon the probes
                    run.cancel()
                    await asyncio.gather(run, return_exceptions=True)
                    break
                stopper.cancel()
                collections.after_cycle()
                delay = max(0.0, cycle.config.interval - (time.monotonic() - started))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
        finally:
            await cycle.close()
