"""Command line: serve the exporter (default), `check` once, or run the `demo` against a simulated replica set."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import select
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace

from exporter import __version__
from exporter.config import Config, ConfigError, Shard, load_config
from exporter.exposition import Exposition
from exporter.http import AddressError, HTTPEndpoint, parse_external_url, parse_listen_address
from exporter.logs import set_secrets, setup_logging
from exporter.node.cli import add_arguments as add_node_check_arguments
from exporter.node.cli import run_node_check
from exporter.prober_process import ProberProcess
from exporter.report import exit_code, render_json, render_table
from exporter.scheduler import ProbeCycle
from exporter.snapshot import SnapshotStore
from exporter.webconfig import WebConfig, load_web_config

DEFAULT_LISTEN_ADDRESS = ":9787"
EXIT_USAGE = 2
log = logging.getLogger("exporter")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pmm-backup-prereq-exporter",
        description="Checks, per MongoDB cluster and node, whether PMM can take a backup, and exports the "
                    "results as Prometheus metrics.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", help="the YAML config file (serve mode)")
    parser.add_argument("--web.listen-address", dest="listen_address", default=DEFAULT_LISTEN_ADDRESS,
                        help="address to serve /metrics on (default %(default)s)")
    parser.add_argument("--web.external-url", dest="external_url", help="the URL the exporter is reached at, e.g. "
                        "behind a reverse proxy; the runbook links of the alert files it serves at /alerts/ go under "
                        "it (default http://<this host>:<port>)")
    parser.add_argument("--shard", help="INDEX/COUNT: probe only this replica's share of the clusters (by a stable "
                        "hash of their names); INDEX may be 'auto', the trailing number of a StatefulSet pod's name")
    parser.add_argument("--web.config.file", dest="web_config", help="TLS and basic auth for the HTTP endpoint, "
                        "in the Prometheus exporter-toolkit format")
    parser.add_argument("--log.level", dest="log_level", default="info",
                        choices=["debug", "info", "warning", "error"], help="log level (default %(default)s)")
    parser.add_argument("--log.format", dest="log_format", default="logfmt", choices=["logfmt", "json"],
                        help="log line format (default %(default)s)")
    commands = parser.add_subparsers(dest="command", metavar="{check,node-check,demo}")
    check = commands.add_parser("check", help="probe every cluster once and print what to fix")
    check.add_argument("--config", default=argparse.SUPPRESS, help="the YAML config file")
    check.add_argument("--output", choices=["table", "json"], default="table", help="default %(default)s")
    node = commands.add_parser("node-check", help="check this MongoDB node locally and write the results for PMM's "
                                                  "textfile collector")
    add_node_check_arguments(node)
    demo = commands.add_parser("demo", help="serve the exporter against a simulated replica set on loopback")
    demo.add_argument("--web.listen-address", dest="listen_address", default=DEFAULT_LISTEN_ADDRESS,
                      help="address to serve /metrics on (default %(default)s)")
    demo.add_argument("--web.external-url", dest="external_url", help="the URL the exporter is reached at, e.g. "
                        "behind a reverse proxy; the runbook links of the alert files it serves at /alerts/ go under "
                        "it (default http://<this host>:<port>)")
    demo.add_argument("--interval", type=float, default=10.0, help="probe interval in seconds (default 10)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    if args.command == "node-check":
        return run_node_check(args)
    if args.command == "demo":
        from exporter.demo import run_demo  # the simulator is only loaded when asked for

        return run_demo(args.listen_address, args.interval, args.external_url)
    if args.config is None:
        parser.print_usage(sys.stderr)
        needs = "check needs --config FILE" if args.command == "check" else \
            "--config FILE is required (or use the check or demo command)"
        print(f"{parser.prog}: error: {needs}", file=sys.stderr)
        return EXIT_USAGE
    try:
        config = load_config(args.config)
        shard = Shard.parse(args.shard, socket.gethostname()) if args.shard else None
    except ConfigError as exc:
        print(f"{parser.prog}: invalid configuration:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if shard is not None:
        config = replace(config, shard=shard)
    if args.command == "check":
        return run_check(config, args.output)
    try:
        address = parse_listen_address(args.listen_address)
        external_url = parse_external_url(args.external_url) if args.external_url else None
        web = load_web_config(args.web_config) if args.web_config else WebConfig()
    except AddressError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"{parser.prog}: invalid web configuration:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    return serve(config, address, web=web, web_config_path=args.web_config, external_url=external_url)


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


if __name__ == "__main__":
    sys.exit(main())
