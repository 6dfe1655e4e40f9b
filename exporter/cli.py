"""Command line: serve the exporter (default), `check` once, or run the `demo` against a simulated replica set."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.process_collector import ProcessCollector

from exporter import __version__
from exporter.collector import SnapshotCollector
from exporter.config import Config, ConfigError, load_config
from exporter.http import HTTPEndpoint, ListenAddressError, parse_listen_address
from exporter.report import exit_code, render_json, render_table
from exporter.scheduler import BackgroundProber, ProbeCycle
from exporter.snapshot import SnapshotStore

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
    parser.add_argument("--log.level", dest="log_level", default="info",
                        choices=["debug", "info", "warning", "error"], help="log level (default %(default)s)")
    commands = parser.add_subparsers(dest="command", metavar="{check,node-check,demo}")
    check = commands.add_parser("check", help="probe every cluster once and print what to fix")
    check.add_argument("--config", default=argparse.SUPPRESS, help="the YAML config file")
    check.add_argument("--output", choices=["table", "json"], default="table", help="default %(default)s")
    node = commands.add_parser("node-check", help="check this MongoDB node locally and write the results for PMM's "
                                                  "textfile collector")
    node.add_argument("--cluster", required=True, help="the cluster name, as PMM's inventory and the exporter use it")
    node.add_argument("--node", help="this member's host:port as in the replica-set config (default: "
                                     "<this host's FQDN>:<mongod's port>)")
    node.add_argument("--replica-set", help="the replica set name (default: from mongod's configuration)")
    node.add_argument("--storage-path", help="PBM's filesystem storage path, to check it is mounted and writable")
    node.add_argument("--pmm-agent-user", help="the user pmm-agent runs as (default: from pmm-agent.service)")
    node.add_argument("--textfile-dir", help="where to write pmm_backup_prereq.prom (default: PMM's "
                                             "medium-resolution textfile collector directory)")
    node.add_argument("--no-textfile", action="store_true", help="only print, write no .prom file")
    node.add_argument("--output", choices=["table", "json", "none"], default="table", help="default %(default)s")
    node.add_argument("--root", default="/", help=argparse.SUPPRESS)  # for tests: a fake node's root directory
    demo = commands.add_parser("demo", help="serve the exporter against a simulated replica set on loopback")
    demo.add_argument("--web.listen-address", dest="listen_address", default=DEFAULT_LISTEN_ADDRESS,
                      help="address to serve /metrics on (default %(default)s)")
    demo.add_argument("--interval", type=float, default=10.0, help="probe interval in seconds (default 10)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper()), stream=sys.stderr,
                        format="ts=%(asctime)s level=%(levelname)s msg=%(message)s")
    logging.getLogger("pymongo").setLevel(logging.WARNING)
    if args.command == "node-check":
        from exporter.node.run import run_node_check

        return run_node_check(args)
    if args.command == "demo":
        from exporter.demo import run_demo  # the simulator is only loaded when asked for

        return run_demo(args.listen_address, args.interval)
    if args.config is None:
        parser.print_usage(sys.stderr)
        needs = "check needs --config FILE" if args.command == "check" else \
            "--config FILE is required (or use the check or demo command)"
        print(f"{parser.prog}: error: {needs}", file=sys.stderr)
        return EXIT_USAGE
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"{parser.prog}: invalid configuration:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "check":
        return run_check(config, args.output)
    try:
        address = parse_listen_address(args.listen_address)
    except ListenAddressError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return serve(config, address)


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


def make_registry(store: SnapshotStore, interval: float) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(store, interval))
    ProcessCollector(registry=registry)
    return registry


def serve(config: Config, address: tuple[str, int], ready_message: str = "") -> int:
    """Probe in the background and serve /metrics until SIGTERM or SIGINT."""
    store = SnapshotStore()
    try:
        endpoint = HTTPEndpoint(address, make_registry(store, config.interval), store)
    except OSError as exc:
        print(f"pmm-backup-prereq-exporter: cannot listen on {address[0] or '*'}:{address[1]}: {exc.strerror}",
              file=sys.stderr)
        return 1
    prober = BackgroundProber(config, store)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    prober.start()
    endpoint.start()
    log.info("listening on %s:%d; probing %d cluster(s) every %gs (config %s)",
             address[0] or "*", endpoint.port, len(config.clusters), config.interval, config.path)
    if ready_message:
        print(ready_message.format(port=endpoint.port), flush=True)
    stop.wait()
    log.info("shutting down")
    endpoint.stop()
    prober.stop(timeout=1.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
