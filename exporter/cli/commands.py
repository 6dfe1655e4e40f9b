"""The exporter's two commands: `check` (probe every cluster once and print the report) and serving (probe in a
child process, serve /metrics and the pages, reload on SIGHUP)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import select
import signal
import socket
import sys
import threading
from dataclasses import replace

from exporter.config.config_file import Config, ConfigError, load_config
from exporter.config.web_config_file import WebConfig, load_web_config
from exporter.exposition.prerendered import Exposition
from exporter.report.check_report import exit_code, render_json, render_table
from exporter.run.logs import set_secrets
from exporter.run.malloc_settings import fix_mmap_threshold
from exporter.run.prober_process import ProberProcess
from exporter.run.scheduler import ProbeCycle
from exporter.snapshots.cluster_snapshot import SnapshotStore
from exporter.web.server import HTTPEndpoint

log = logging.getLogger("exporter")

def run_check(config: Config, output: str) -> int:
    store = SnapshotStore()

    async def once() -> None:
        cycle = ProbeCycle(config, store)
        try:
            await cycle.run_once()
        finally:
            await cycle.close()

    asyncio.run(once())
    order = {c.name: i for i, c in enumerate(config.clusters)}  # the config's order, then discovered by name
    snapshots = sorted(store.all(), key=lambda s: (order.get(s.cluster, len(order)), s.cluster))
    discovery = store.discovery
    print(render_json(snapshots, discovery) if output == "json" else render_table(snapshots, discovery=discovery))
    failed_discovery = discovery is not None and not discovery.success
    return 1 if failed_discovery else exit_code(snapshots)


def serve(config: Config, address: tuple[str, int], ready_message: str = "", web: WebConfig | None = None,
          web_config_path: str | None = None, external_url: str | None = None) -> int:
    """Probe in a child process and serve until SIGTERM or SIGINT; SIGHUP or POST /-/reload reload the config."""
    set_secrets(config.secrets)
    fix_mmap_threshold()  # the exposition, rendered once a cycle, is given back to the system (run/malloc_settings.py)
    store = SnapshotStore()
    exposition = Exposition(store, prober_pid=lambda: prober.pid)
    prober = ProberProcess(config, store, on_publish=exposition.prerender)
    reload_lock = threading.Lock()
    reloadable = config.path if not config.path.startswith("(") else None  # "(demo)" has no file

    def reload() -> list[str] | None:
        """Load the config file again and swap it in; a bad one is refused and the running one stays."""
        assert reloadable is not None
        with reload_lock:
            try:
                new = replace(load_config(reloadable), shard=config.shard)
                new_web = load_web_config(web_config_path) if web_config_path else WebConfig()
            except ConfigError as exc:
                log.error("config reload failed, keeping the running config: %s", "; ".join(exc.problems))
                return exc.problems
            set_secrets(new.secrets)
            prober.reload(new)
            endpoint.set_web_config(new_web)
            log.info("config reloaded: %d cluster(s), interval %gs", len(new.clusters), new.interval)
            return None

    try:
        endpoint = HTTPEndpoint(address, exposition, store, web, reload if reloadable else None, external_url)
    except OSError as exc:
        print(f"pmm-backup-prereq-exporter: cannot listen on {address[0] or '*'}:{address[1]}: {exc.strerror}",
              file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if reloadable:
        signal.signal(signal.SIGHUP, lambda *_: threading.Thread(target=reload, name="reload", daemon=True).start())
    prober.start()
    exposition.start_refresher(stop)
    endpoint.start()
    log.info("listening on %s:%d (%s); probing %d cluster(s) every %gs (config %s)", address[0] or "*",
             endpoint.port, endpoint.scheme, len(config.clusters), config.interval, config.path)
    if ready_message:
        print(ready_message.format(port=endpoint.port), flush=True)
    wait_for_stop(stop)
    log.info("shutting down")
    endpoint.stop()
    prober.stop(timeout=1.5)
    return 0


def wait_for_stop(stop: threading.Event) -> None:
    """Block the main thread until a signal handler sets `stop`, running every handler as its signal arrives.

    Linux hands a signal to whichever thread does not block it, and CPython runs the Python handler in the main
    thread only, the next time that thread runs Python code: a main thread asleep in Event.wait() missed a SIGHUP
    that the HTTP or receiver thread got, until some later signal woke it. The wakeup fd is written whichever
    thread receives the signal, so the main thread wakes at once."""
    reader, writer = socket.socketpair()
    with reader, writer:
        reader.setblocking(False)
        writer.setblocking(False)
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        try:
            while not stop.is_set():
                select.select([reader], [], [], 1.0)  # the timeout is a backstop only
                with contextlib.suppress(BlockingIOError):
                    reader.recv(512)
        finally:
            signal.set_wakeup_fd(previous)
