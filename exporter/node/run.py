"""`node-check`: inspect this node, print the results, and write them for PMM's textfile collector."""

from __future__ import annotations

import argparse
import socket
import sys
import time

from exporter.check_result import Status
from exporter.node.checks import NodeIdentity, run_node_checks
from exporter.node.inspect import inspect_node
from exporter.node.textfile import default_textfile_dir, write_results
from exporter.report import render_json, render_table
from exporter.snapshot import ClusterSnapshot


def run_node_check(args: argparse.Namespace) -> int:
    hostnames = (socket.gethostname(), socket.getfqdn())
    facts = inspect_node(args.root, args.storage_path, args.pmm_agent_user, hostnames)
    me = NodeIdentity(args.cluster, args.node or f"{socket.getfqdn()}:{facts.mongod_port}",
                      args.replica_set or facts.replica_set)
    results = run_node_checks(facts, me)
    if not args.no_textfile:
        directory = args.textfile_dir or default_textfile_dir()
        if directory is None:
            print("pmm-backup-prereq-exporter node-check: error: no PMM textfile collector directory here (is PMM "
                  "Client installed?); pass --textfile-dir DIR or --no-textfile", file=sys.stderr)
            return 2
        try:
            write_results(directory, results, me, time.time())
        except OSError as exc:
            print(f"pmm-backup-prereq-exporter node-check: error: cannot write to {directory}: {exc.strerror}",
                  file=sys.stderr)
            return 2
    snapshot = ClusterSnapshot(f"{me.cluster}, node {me.node}", True, results=tuple(results))
    if args.output == "table":
        print(render_table([snapshot]))
    elif args.output == "json":
        print(render_json([snapshot]))
    return 1 if any(r.status in (Status.FAIL, Status.UNKNOWN) for r in results) else 0
