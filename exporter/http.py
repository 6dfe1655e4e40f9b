"""The HTTP endpoint: /metrics for Prometheus/VictoriaMetrics, / as a landing page, /-/healthy."""

from __future__ import annotations

import gzip
import html
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from exporter import __version__
from exporter.snapshot import SnapshotStore


class ListenAddressError(ValueError):
    pass


def parse_listen_address(address: str) -> tuple[str, int]:
    """(host, port) from ":9787", "127.0.0.1:9787" or "[::1]:9787"; host "" means every interface."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ListenAddressError(f"--web.listen-address {address!r}: expected [host]:port, such as :9787")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port_text)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], registry: CollectorRegistry, store: SnapshotStore) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.registry = registry
        self.store = store
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = f"pmm-backup-prereq-exporter/{__version__}"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._send(200, content_type, encoder(self.server.registry))
        elif path == "/":
            self._send(200, "text/html; charset=utf-8", self._landing_page().encode())
        elif path == "/-/healthy":
            self._send(200, "text/plain; charset=utf-8", b"OK\n")
        else:
            self._send(404, "text/plain; charset=utf-8", b"Not found. Try /metrics.\n")

    def _landing_page(self) -> str:
        rows = []
        for snap in sorted(self.server.store.all(), key=lambda s: s.cluster):
            state = {True: "ready", False: "NOT READY", None: "unknown"}[snap.ready]
            if not snap.probe_success:
                state = f"probe failed: {snap.probe_error}"
            rows.append(f"<li>{html.escape(snap.cluster)}: {html.escape(state)}</li>")
        clusters = "".join(rows) or "<li>no probe has finished yet</li>"
        return (f"<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' "
                f"content='width=device-width'><title>PMM backup prerequisites</title></head><body>"
                f"<h1>PMM backup prerequisites exporter {html.escape(__version__)}</h1>"
                f"<ul>{clusters}</ul><p><a href='/metrics'>Metrics</a></p></body></html>")

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        if "gzip" in self.headers.get("Accept-Encoding", "") and len(body) > 1024:
            body = gzip.compress(body)
            encoding: str | None = "gzip"
        else:
            encoding = None
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes every 10 s would flood the log


class HTTPEndpoint:
    """Serves in a background thread until `stop()`."""

    def __init__(self, address: tuple[str, int], registry: CollectorRegistry, store: SnapshotStore) -> None:
        self._server = _Server(address, registry, store)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
