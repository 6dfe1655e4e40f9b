"""Test helper: PMM's metrics stack on loopback -- VictoriaMetrics, vmalert, Alertmanager -- plus a webhook receiver.

Every process is started on a free loopback port with its data in a temporary directory, logs to a file there,
and is stopped (SIGTERM, then SIGKILL) by `Stack.close()`, which the test calls from a fixture's finalizer.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import requests
import yaml

T = TypeVar("T")


def binary(*names: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError(f"{names[0]} is missing: install Debian's victoria-metrics and prometheus-alertmanager "
                         f"packages (make test does: Makefile target system-deps)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seconds(duration: str) -> float:
    """A Prometheus duration such as 5m, 1m30s or 500ms, in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * units[u] for n, u in parts)


class ProcessExited(AssertionError):
    """A process the test needs has exited: no use waiting for it."""


def wait_until(condition: Callable[[], T], timeout: float, what: str, diagnostics: Callable[[], str] = str,
               interval: float = 0.2) -> T:
    """Poll until condition() returns something truthy; an AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            result = condition()
            if result:
                return result
        except ProcessExited as exc:
            raise AssertionError(f"{exc} while waiting for {what}\n{diagnostics()}") from None
        except (requests.RequestException, AssertionError) as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}"
                                 f"{f' (last error: {last})' if last else ''}\n{diagnostics()}")
        time.sleep(interval)


class Process:
    """One child process, its output in a log file."""

    def __init__(self, name: str, args: Sequence[str], log_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(list(args), stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=dict(env) if env is not None else None)

    def running(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\n".join(f"  {self.name}| {line}" for line in text)

    def stop(self, timeout: float = 5.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self._log.close()
        return self.proc.returncode


# ---------------------------------------------------------------------------------------------------------------
# the webhook receiver (Alertmanager's webhook_configs), which also serves a node's textfile like node_exporter


@dataclass(frozen=True)
class Notification:
    """One alert of one webhook notification, as Alertmanager delivered it."""

    received: float  # time.time()
    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.labels.get("alertname", ""), self.labels.get("cluster", ""), self.labels.get("check", ""),
                self.labels.get("node", ""))


class Receiver:
    """Loopback HTTP server: POST /hook collects Alertmanager's webhook payloads; POST /sink/api/v2/alerts takes
    alerts from a vmalert that must not notify; GET /textfile/metrics serves `textfile` as node_exporter would, and
    GET /mongodb/<i>/metrics what `mongodb(i)` returns, as member i's mongodb_exporter would."""

    def __init__(self, textfile: Path, mongodb: Callable[[int], bytes] | None = None) -> None:
        self.textfile = textfile
        self.mongodb = mongodb
        self.notifications: list[Notification] = []
        self.payloads: list[dict[str, Any]] = []
        self.sunk: list[Any] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/hook":
                    payload = json.loads(body)
                    now = time.time()
                    with receiver.lock:
                        receiver.payloads.append(payload)
                        receiver.notifications.extend(
                            Notification(now, a["status"], dict(a["labels"]), dict(a["annotations"]))
                            for a in payload["alerts"])
                elif self.path == "/sink/api/v2/alerts":
                    with receiver.lock:
                        receiver.sunk.append(json.loads(body))
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                member = re.fullmatch(r"/mongodb/(\d+)/metrics(\?.*)?", self.path)
                if member and receiver.mongodb is not None:
                    data = receiver.mongodb(int(member.group(1)))
                elif self.path.startswith("/textfile/metrics"):
                    data = receiver.textfile.read_bytes()
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       name="vm-chain-receiver", daemon=True)
        self.thread.start()

    def since(self, mark: int) -> list[Notification]:
        with self.lock:
            return list(self.notifications[mark:])

    def mark(self) -> int:
        with self.lock:
            return len(self.notifications)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------------------------------------------
# the stack


class Stack:
    """VictoriaMetrics, Alertmanager and vmalert instances, started on demand, all stopped by close()."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[Process] = []
        self.vm_url = ""
        self.am_url = ""

    def start(self, name: str, args: Sequence[str], ready_url: str, timeout: float = 20.0,
              env: Mapping[str, str] | None = None) -> Process:
        """Start a process and wait until `ready_url` answers 200 (fail at once if the process exits)."""
        process = Process(name, args, self.workdir, env)
        self.processes.append(process)

        def ready() -> bool:
            if not process.running():
                raise ProcessExited(f"{name} exited with {process.proc.returncode}")
            return requests.get(ready_url, timeout=2).status_code == 200

        wait_until(ready, timeout, f"{name} at {ready_url}", self.diagnostics)
        return process

    def start_victoria_metrics(self, scrape_config: dict[str, Any]) -> Process:
        config = self.workdir / "scrape.yml"
        config.write_text(yaml.safe_dump(scrape_config, sort_keys=False))
        port = free_port()
        self.vm_url = f"http://127.0.0.1:{port}"
        return self.start("victoria-metrics", [
            binary("victoria-metrics", "victoria-metrics-prod"),
            f"-httpListenAddr=127.0.0.1:{port}",
            f"-storageDataPath={self.workdir / 'vm-data'}",
            "-retentionPeriod=1d",
            f"-promscrape.config={config}",  # strict parsing (the default): an unknown field fails the start
            # VictoriaMetrics hides the newest 30 s of samples from queries by default; 1 s keeps the test short
            "-search.latencyOffset=1s",
            "-search.disableCache",  # no rollup result cache: every query sees the newest samples
            "-loggerLevel=WARN",
        ], f"{self.vm_url}/health")

    def start_alertmanager(self, receiver_url: str) -> Process:
        config = self.workdir / "alertmanager.yml"
        config.write_text(yaml.safe_dump({
            "global": {"resolve_timeout": "5s"},
            "route": {"receiver": "test", "group_by": ["..."],  # one notification per alert
                      "group_wait": "0s", "group_interval": "1s", "repeat_interval": "1h"},
            "receivers": [{"name": "test", "webhook_configs": [{"url": receiver_url, "send_resolved": True}]}],
        }))
        port = free_port()
        self.am_url = f"http://127.0.0.1:{port}"
        return self.start("alertmanager", [
            binary("prometheus-alertmanager", "alertmanager"),
            f"--config.file={config}",
            f"--storage.path={self.workdir / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no gossip port: a single Alertmanager
            "--log.level=warn",
        ], f"{self.am_url}/-/ready")

    def start_vmalert(self, name: str, rule_files: Sequence[Path], notifier_url: str) -> VMAlert:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = self.start(name, [
            binary("vmalert", "vmalert-prod"),
            f"-httpListenAddr=127.0.0.1:{port}",
            f"-datasource.url={self.vm_url}",
            f"-notifier.url={notifier_url}",
            "-evaluationInterval=1s",
            *(f"-rule={path}" for path in rule_files),
            "-loggerLevel=WARN",
        ], f"{url}/health")
        return VMAlert(url, process)

    def dry_run_vmalert(self, rule_files: Sequence[Path]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([binary("vmalert", "vmalert-prod"), "-dryRun", "-loggerLevel=ERROR",
                               *(f"-rule={path}" for path in rule_files)],
                              capture_output=True, text=True, timeout=30)

    def diagnostics(self) -> str:
        return "\n".join(p.log_tail() for p in self.processes)

    def close(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    # --- VictoriaMetrics' Prometheus-compatible query API --------------------------------------------------------

    def api(self, path: str, **params: Any) -> Any:
        response = requests.get(f"{self.vm_url}{path}", params=params, timeout=10)
        document = response.json()
        assert response.status_code == 200 and document.get("status") == "success", (path, params, document)
        return document["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.api("/api/v1/query", query=expr)
        assert data["resultType"] in ("vector", "scalar"), data
        return list(data["result"]) if data["resultType"] == "vector" else [{"metric": {}, "value": data["result"]}]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        data = self.api("/api/v1/query_range", query=expr, start=start, end=end, step=step)
        assert data["resultType"] == "matrix", data
        return list(data["result"])


@dataclass
class VMAlert:
    url: str
    process: Process

    def rules(self) -> list[dict[str, Any]]:
        document = requests.get(f"{self.url}/api/v1/rules", timeout=5).json()
        return list(document["data"]["groups"])

    def alerts(self) -> list[dict[str, Any]]:
        document = requests.get(f"{self.url}/api/v1/alerts", timeout=5).json()
        return list(document["data"]["alerts"] or [])
