"""What /metrics serves: the snapshot's families rendered once per published version, plus the few live
process metrics rendered per scrape. A fleet's exposition (tens of thousands of series) then costs a scrape about
what serving the same bytes from a file costs."""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector

from exporter.collector import SnapshotCollector
from exporter.snapshot import SnapshotStore

OPENMETRICS_EOF = b"# EOF\n"


class Exposition:
    def __init__(self, store: SnapshotStore) -> None:
        self.store = store
        self.snapshot_registry = CollectorRegistry()
        self.snapshot_registry.register(SnapshotCollector(store))
        self.live_registry = CollectorRegistry()
        ProcessCollector(registry=self.live_registry)
        self._cache: dict[str, tuple[int, bytes]] = {}  # content type -> (store version, rendered families)
        self._lock = threading.Lock()

    def render(self, accept: str) -> tuple[bytes, str]:
        encoder, content_type = choose_encoder(accept)
        version = self.store.version
        with self._lock:
            cached = self._cache.get(content_type)
            if cached is None or cached[0] != version:
                body = encoder(self.snapshot_registry)
                if body.endswith(OPENMETRICS_EOF):  # OpenMetrics ends once, after the live part
                    body = body[: -len(OPENMETRICS_EOF)]
                cached = self._cache[content_type] = (version, body)
        return cached[1] + encoder(self.live_registry), content_type
