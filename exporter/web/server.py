"""The HTTP endpoint: /metrics, the status page at /, /api/status, the runbooks at /runbooks/, the alert files at
/alerts/, /-/healthy, /-/ready and POST /-/reload.

TLS and basic authentication follow `--web.config.file` (exporter/config/web_config_file.py). The TLS handshake runs
in the connection's own thread, so a slow or silent client never holds up the others.
"""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from exporter import __version__, alerting
from exporter.config.web_config_file import WebConfig
from exporter.exposition.prerendered import Exposition
from exporter.report.check_report import status_document
from exporter.snapshots.cluster_snapshot import SnapshotStore
from exporter.web.runbooks import render_index, render_runbook
from exporter.web.status_page import render_status_page

HANDSHAKE_TIMEOUT = 10.0
# Reload callback: returns None when the new config was applied, else the problems that kept the old one
Reloader = Callable[[], list[str] | None]


class AddressError(ValueError):
    """A --web.listen-address or --web.external-url that cannot be used."""


def parse_listen_address(address: str) -> tuple[str, int]:
    """(host, port) from ":9787", "127.0.0.1:9787" or "[::1]:9787"; host "" means every interface."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise AddressError(f"--web.listen-address {address!r}: expected [host]:port, such as :9787")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port_text)


def parse_external_url(url: str) -> str:
    """The --web.external-url, checked: an http(s) URL with a host and no credentials, query or fragment; returned
    without its trailing slash, as the base that links are put under."""
    parts = urlsplit(url)
    if parts.username or parts.password or parts.query or parts.fragment:  # said before the URL is ever echoed
        raise AddressError("--web.external-url: give only scheme, host, port and path (no credentials, query or "
                           "fragment)")
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise AddressError(f"--web.external-url {url!r}: the port is not a number") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressError(f"--web.external-url {url!r}: expected an http:// or https:// URL, such as "
                           f"https://pmm.example.com/backup-prereq")
    return url.rstrip("/")


def default_external_url(address: tuple[str, int], scheme: str) -> str:
    """As Prometheus derives it: this host's name and the port listened on."""
    host = address[0] if address[0] not in ("", "0.0.0.0", "::") else socket.getfqdn()
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{address[1]}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], exposition: Exposition, store: SnapshotStore,
                 web: WebConfig, reload: Reloader | None, external_url: str | None) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.exposition, self.store, self.web, self.reload = exposition, store, web, reload
        super().__init__(address, _Handler)
        base = external_url or default_external_url((address[0], self.server_address[1]),
                                                    "https" if web.tls is not None else "http")
        self.alert_files = {name: text.encode() for name, text in alerting.files(base).items()}

    def finish_request(self, request: Any, client_address: Any) -> None:
        tls = self.web.tls
        if tls is not None:  # in this connection's thread, bounded
            request.settimeout(HANDSHAKE_TIMEOUT)
            try:
                request = tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                request.close()
                return
            request.settimeout(None)
        super().finish_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = f"pmm-backup-prereq-exporter/{__version__}"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: don't hold the body back for an ACK

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/-/healthy":  # liveness tells nothing about the clusters: open, like a load balancer needs it
            self._send(200, "text/plain; charset=utf-8", b"OK\n")
            return
        if not self._authorized():
            return
        store = self.server.store
        if path == "/metrics":
            gzip_ok = "gzip" in self.headers.get("Accept-Encoding", "")
            parts, content_type, encoding = self.server.exposition.render(self.headers.get("Accept", ""), gzip_ok)
            self._send(200, content_type, *parts, encoding=encoding)
        elif path == "/":
            page = render_status_page(store.all(), store.discovery)
            self._send(200, "text/html; charset=utf-8", page.encode())
        elif path == "/api/status":
            body = json.dumps(status_document(store.all(), store.discovery), indent=2).encode()
            self._send(200, "application/json", body)
        elif path == "/runbooks":  # relative links in the pages need the slash
            self._redirect("runbooks/")
        elif path == "/runbooks/":
            self._send(200, "text/html; charset=utf-8", render_index().encode())
        elif path.startswith("/runbooks/") and (runbook := render_runbook(unquote(path[len("/runbooks/"):]))):
            self._send(200, "text/html; charset=utf-8", runbook.encode())
        elif path.startswith("/alerts/") and path[len("/alerts/"):] in self.server.alert_files:
            self._send(200, "application/yaml; charset=utf-8", self.server.alert_files[path[len("/alerts/"):]])
        elif path == "/-/ready":
            if store.first_cycle_done.is_set():
                self._send(200, "text/plain; charset=utf-8", b"OK\n")
            else:
                self._send(503, "text/plain; charset=utf-8", b"Not ready: the first probe cycle is running.\n")
        else:
            files = " or ".join(f"/alerts/{name}" for name in self.server.alert_files)
            self._send(404, "text/plain; charset=utf-8",
                       f"Not found. Try /, /metrics, /runbooks/ or {files}.\n".encode())

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if not self._authorized():
            return
        if path != "/-/reload":
            self._send(405 if path in ("/", "/metrics", "/api/status") else 404, "text/plain; charset=utf-8",
                       b"Only POST /-/reload is accepted.\n")
            return
        if self.server.reload is None:
            self._send(400, "text/plain; charset=utf-8", b"This process has no config file to reload.\n")
            return
        problems = self.server.reload()
        if problems is None:
            self._send(200, "text/plain; charset=utf-8", b"Reloaded.\n")
        else:
            body = "Config not reloaded; the running one stays:\n" + "".join(f"  {p}\n" for p in problems)
            self._send(400, "text/plain; charset=utf-8", body.encode())

    def _redirect(self, location: str) -> None:
        self.send_response(301)
        self.send_header("Location", location)  # relative, so a path prefix in front of the exporter stays
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _authorized(self) -> bool:
        if self.server.web.authorized(self.headers.get("Authorization")):
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="pmm-backup-prereq-exporter"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def _send(self, code: int, content_type: str, *parts: bytes, encoding: str | None = None) -> None:
        if encoding is None and "gzip" in self.headers.get("Accept-Encoding", "") and sum(map(len, parts)) > 1024:
            parts, encoding = (gzip.compress(b"".join(parts), compresslevel=1),), "gzip"
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(sum(map(len, parts))))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        for name, value in self.server.web.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            for part in parts:
                self.wfile.write(part)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes every 10 s would flood the log


class HTTPEndpoint:
    """Serves in a background thread until `stop()`."""

    def __init__(self, address: tuple[str, int], exposition: Exposition, store: SnapshotStore,
                 web: WebConfig | None = None, reload: Reloader | None = None, external_url: str | None = None) -> None:
        self._server = _Server(address, exposition, store, web or WebConfig(), reload, external_url)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def scheme(self) -> str:
        return "https" if self._server.web.tls is not None else "http"

    def set_web_config(self, web: WebConfig) -> None:
        self._server.web = web

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
