"""node-check's command line: inspect this node, print the results, and write them for PMM's textfile collector.

One set of options for both ways to run it: the packaged file (`pmm-backup-prereq-node-check ...`, main() below,
the zipapp's entry point) and the exporter's `pmm-backup-prereq-exporter node-check ...`. Like all of node-check:
Python 3.6 and the standard library only.
"""

import argparse
import json
import shutil
import socket
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

from exporter import __version__
from exporter.node.checks import NodeIdentity, run_node_checks
from exporter.node.inspect import inspect_node
from exporter.node.textfile import default_textfile_dir, write_results
from exporter.results.check_result import CheckResult, readiness
from exporter.results.operations import LOGICAL_BACKUP, PHYSICAL
from exporter.results.result_report import (
    READY_WORDS,
    check_document,
    failing,
    operations_document,
    operations_line,
    result_rows,
    summary,
)

PROGRAM = "pmm-backup-prereq-node-check"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", required=True, help="the cluster name, as PMM's inventory and the exporter use "
                                                         "it")
    parser.add_argument("--node", help="this member's host:port as in the replica-set config (default: "
                                       "<this host's FQDN>:<mongod's port>)")
    parser.add_argument("--replica-set", help="the replica set name (default: from mongod's configuration)")
    parser.add_argument("--storage-path", help="PBM's filesystem storage path, to check it is mounted and writable")
    parser.add_argument("--pmm-agent-user", help="the user pmm-agent runs as (default: from pmm-agent.service)")
    parser.add_argument("--textfile-dir", help="where to write pmm_backup_prereq.prom (default: PMM's "
                                               "medium-resolution textfile collector directory)")
    parser.add_argument("--no-textfile", action="store_true", help="only print, write no .prom file")
    parser.add_argument("--output", choices=["table", "json", "none"], default="table", help="default %(default)s")
    parser.add_argument("--root", default="/", help=argparse.SUPPRESS)  # for tests: a fake node's root directory


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog=PROGRAM, description="Checks this MongoDB node for what PMM's backups "
                                     "need of it, and writes the results for PMM Client's textfile collector.")
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {__version__}")
    add_arguments(parser)
    return run_node_check(parser.parse_args(argv))


def run_node_check(args: argparse.Namespace) -> int:
    if not args.cluster.strip():  # the shipped environment file leaves CLUSTER= empty until it is set
        print(f"{PROGRAM}: error: --cluster is empty: name the cluster as PMM does (CLUSTER= in "
              f"/etc/default/pmm-backup-prereq-node-check, or /etc/sysconfig/... on RPM systems)", file=sys.stderr)
        return 2
    hostnames = (socket.gethostname(), socket.getfqdn())
    facts = inspect_node(args.root, args.storage_path, args.pmm_agent_user, hostnames)
    me = NodeIdentity(args.cluster, args.node or f"{socket.getfqdn()}:{facts.mongod_port}",
                      args.replica_set or facts.replica_set)
    results = run_node_checks(facts, me)
    if not args.no_textfile:
        directory = args.textfile_dir or default_textfile_dir()
        if directory is None:
            print(f"{PROGRAM}: error: no PMM textfile collector directory here (is PMM Client installed?); pass "
                  f"--textfile-dir DIR or --no-textfile", file=sys.stderr)
            return 2
        try:
            write_results(directory, results, me, time.time(), facts.storage)
        except OSError as exc:
            print(f"{PROGRAM}: error: cannot write to {directory}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    if args.output == "table":
        print(render_table(results, me))
    elif args.output == "json":
        print(json.dumps(document(results, me), indent=2))
    return 1 if failing(results) else 0


def _operations(results: List[CheckResult]) -> Dict[str, Optional[bool]]:
    # a node does not know its cluster's backup_mode: physical operations are judged (UNKNOWN unless blocked) by
    # the exporter, which does, as for a logical cluster
    return readiness(results, unjudged=PHYSICAL)


def render_table(results: List[CheckResult], me: NodeIdentity) -> str:
    width = max(80, min(shutil.get_terminal_size((120, 24)).columns, 160))
    operations = _operations(results)
    out = [f"{me.cluster}, node {me.node}: {READY_WORDS[operations[LOGICAL_BACKUP]]} for logical backups "
           f"({summary(results)})", f"  operations: {operations_line(operations)}"]
    return "\n".join(out + result_rows(results, width) + [""])


def document(results: List[CheckResult], me: NodeIdentity) -> Dict[str, Any]:
    """The JSON of `check --output json`, for one node: its cluster, node, readiness and results."""
    operations = _operations(results)
    return {"exporter_version": __version__,
            "clusters": [{"cluster": me.cluster, "node": me.node, "replica_set": me.replica_set,
                          "ready": operations[LOGICAL_BACKUP], "operations": operations_document(operations),
                          "checks": [check_document(r) for r in results]}]}
