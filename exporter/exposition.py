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

from exporter.collector import SnapshotCollector
from exporter.snapshot import SnapshotStore

OPENMETRICS_EOF = b"# EOF\n"
LIVE_TTL = 5.0  # seconds the process metrics may be old


class Exposition:
    def __init__(self, store: SnapshotStore) -> None:
        self.store = store
        self.snapshot_registry = CollectorRegistry()
        self.snapshot_registry.register(SnapshotCollector(store))
        self.live_registry = CollectorRegistry()
        ProcessCollector(registry=self.live_registry)
        self._cache: dict[str, tuple[int, bytes]] = {}  # content type -> (store version, rendered families)
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
        version = self.store.version
        key = f"{content_type}|{'gzip' if gzip_ok else ''}"
        with self._lock:
            cached = self._cache.get(key)
            if cached is None or cached[0] != version:
                body = encoder(self.snapshot_registry)
                if body.endswith(OPENMETRICS_EOF):  # OpenMetrics ends once, after the live part
                    body = body[: -len(OPENMETRICS_EOF)]
                if gzip_ok:
                    body = gzip.compress(body, compresslevel=6)
                cached = self._cache[key] = (version, body)
        live = self._live(content_type, encoder)
        if gzip_ok:
            return [cached[1], gzip.compress(live, compresslevel=1)], content_type, "gzip"
        return [cached[1], live], content_type, None
