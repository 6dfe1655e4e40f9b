"""Command line: serve the exporter (default), `check` once, `node-check`, or run the `demo` against a simulated
replica set."""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence
from dataclasses import replace

from exporter import __version__
from exporter.cli.commands import run_check, serve
from exporter.config.config_file import ConfigError, Shard, load_config
from exporter.config.web_config_file import WebConfig, load_web_config
from exporter.node.cli import add_arguments as add_node_check_arguments
from exporter.node.cli import run_node_check
from exporter.run.logs import setup_logging
from exporter.web.server import AddressError, parse_external_url, parse_listen_address

DEFAULT_LISTEN_ADDRESS = ":9787"
EXIT_USAGE = 2


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
        from exporter.cli.demo import run_demo  # the simulator is only loaded when asked for

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


if __name__ == "__main__":
    sys.exit(main())
