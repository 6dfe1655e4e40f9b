"""`demo`: the real exporter against a simulated 3-member replica set on loopback, so a newcomer sees real
output with no MongoDB installed. One pbm-agent is stopped on purpose, to show a failing check and its fix."""

from __future__ import annotations

import sys

from exporter.config import ClusterConfig, Config
from exporter.http import ListenAddressError, parse_listen_address
from exporter.simulator import DEFAULT_PASSWORD, DEFAULT_USER, SimReplicaSet

DEMO_CLUSTER = "demo-rs"
STOPPED_AGENT_AGE = 120  # seconds before the demo starts


def run_demo(listen_address: str, interval: float) -> int:
    from exporter.cli import run_check, serve  # the CLI imports this module lazily; import back the same way

    try:
        address = parse_listen_address(listen_address)
    except ListenAddressError as exc:
        print(f"pmm-backup-prereq-exporter demo: error: {exc}", file=sys.stderr)
        return 2
    replica_set = SimReplicaSet(name="rs0").start()
    try:
        stopped = replica_set.members[2]
        stopped.stop_agent(at=replica_set.cluster_time().time - STOPPED_AGENT_AGE)
        cluster = ClusterConfig(DEMO_CLUSTER, replica_set.uri(), "logical", tuple(replica_set.hosts),
                                DEFAULT_USER, DEFAULT_PASSWORD)
        config = Config("(demo)", interval, min(5.0, interval), (cluster,))
        message = (
            f"Demo: simulated replica set rs0 at {', '.join(replica_set.hosts)} (PSMDB 7.0, PBM 2.7.0 agents).\n"
            f"The pbm-agent on {stopped.host} was stopped {STOPPED_AGENT_AGE} s ago, so pbm_agent_running fails "
            f"there and the cluster is not ready.\n"
            f"Metrics: http://localhost:{{port}}/metrics  (curl -s localhost:{{port}}/metrics | grep ^pmm_backup)\n"
            f"Stop with Ctrl-C."
        )
        print("What `pmm-backup-prereq-exporter check` says about it:\n", flush=True)
        run_check(config, "table")
        return serve(config, address, ready_message=message)
    finally:
        replica_set.stop()
