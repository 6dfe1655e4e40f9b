"""What /metrics serves: the snapshot's families rendered once per published version, plus the few live
process metrics rendered per scrape. A fleet's exposition (tens of thousands of series) then costs a scrape about
what serving the same bytes from a file costs."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector

from exporter.exposition.collector import SnapshotCollector
from exporter.snapshots.cluster_snapshot import SnapshotStore

OPENMETRICS_EOF = b"# EOF\n"
PROBER_NAMESPACE = "pmm_backup_prereq_prober"  # pmm_backup_prereq_prober_process_resident_memory_bytes, ...
LIVE_TTL = 5.0  # seconds the process metrics may be old


class Exposition:
    def __init__(self, store: SnapshotStore, prober_pid: Callable[[], int | None] | None = None) -> None:
        self.store = store
        self.snapshot_registry = CollectorRegistry()
        self.snapshot_registry.register(SnapshotCollector(store))
        self.live_registry = CollectorRegistry()
        ProcessCollector(registry=self.live_registry)  # process_*: this process, which serves HTTP
        if prober_pid is not None:  # the probing process's own figures, where a fleet's CPU and memory go
            ProcessCollector(namespace=PROBER_NAMESPACE, pid=lambda: prober_pid() or "missing",
                             registry=self.live_registry)
        self._cache: dict[tuple[str, bool], tuple[int, bytes]] = {}  # (type, gzip) -> (store version, families)
        self._formats: dict[tuple[str, bool], Callable[[CollectorRegistry], bytes]] = {}  # asked for so far
        self._live_cache: dict[str, tuple[float, bytes]] = {}  # content type -> (when, process metrics)
        self._lock = threading.Lock()

    def _live(self, content_type: str, encoder: Callable[[CollectorRegistry], bytes]) -> bytes:
        """The process metrics, at most LIVE_TTL old: counting a fleet's thousands of open sockets costs several
        milliseconds, more than serving the cached exposition itself."""
        now = time.monotonic()
        with self._lock:
            cached = self._live_cache.get(content_type)
        if cached is not None and now - cached[0] < LIVE_TTL:
            return cached[1]
        body = encoder(self.live_registry)
        with self._lock:
            self._live_cache[content_type] = (now, body)
        return body

    def refresh_live(self) -> None:
        """Render the process metrics ahead of the scrapes (called every few seconds by a background thread)."""
        for accept in ("", "application/openmetrics-text; version=1.0.0"):
            encoder, content_type = choose_encoder(accept)
            body = encoder(self.live_registry)
            with self._lock:
                self._live_cache[content_type] = (time.monotonic(), body)

    def start_refresher(self, stop: threading.Event) -> None:
        def loop() -> None:
            while not stop.wait(LIVE_TTL / 2):
                self.refresh_live()

        self.refresh_live()
        threading.Thread(target=loop, name="process-metrics", daemon=True).start()

    def render(self, accept: str, gzip_ok: bool = False) -> tuple[list[bytes], str, str | None]:
        """The body as parts to write one after the other (no copy of the large cached part), its content type and
        its encoding. With gzip, the cached part is compressed once per version too: gzip members may follow one
        another in one stream (RFC 1952), which Go's, Python's and browsers' readers all accept."""
        encoder, content_type = choose_encoder(accept)
        key = (content_type, gzip_ok)
        with self._lock:
            self._formats[key] = encoder
            body = self._cached(key)
        live = self._live(content_type, encoder)
        if gzip_ok:
            return [body, gzip.compress(live, compresslevel=1)], content_type, "gzip"
        return [body, live], content_type, None

    def prerender(self) -> None:
        """Render a newly published snapshot ahead of the scrapes, in each format asked for so far: at a fleet's
        size that takes a while, which would otherwise fall on the first scrape after every cycle."""
        with self._lock:
            for key in list(self._formats):
                self._cached(key)

    def _cached(self, key: tuple[str, bool]) -> bytes:
        """The snapshot's families in one format, rendered if the store published since (hold the lock)."""
        version = self.store.version
        cached = self._cache.get(key)
        if cached is None or cached[0] != version:
            body = self._formats[key](self.snapshot_registry)
            if body.endswith(OPENMETRICS_EOF):  # OpenMetrics ends once, after the live part
                body = body[: -len(OPENMETRICS_EOF)]
            if key[1]:
                body = gzip.compress(body, compresslevel=6)
            cached = self._cache[key] = (version, body)
        return cached[1]
