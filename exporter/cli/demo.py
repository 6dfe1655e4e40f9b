"""`demo`: the real exporter against a simulated 3-member replica set and a simulated PMM Server on loopback, so a
newcomer sees real output with no MongoDB or PMM installed.

Three prerequisites are broken on purpose, to show failing checks and their fixes: the pbm-agent of one member is
stopped, PMM knows another member's service without a cluster name, and the cluster's newest backup in PMM was
taken before an upgrade of MongoDB, so PMM would restore it nowhere.
"""

from __future__ import annotations

import sys

from exporter.cli.commands import run_check, serve
from exporter.config.config_file import ClusterConfig, Config, PMMConfig
from exporter.web.server import AddressError, parse_external_url, parse_listen_address
from pbm_pmm_simulator import DEFAULT_PASSWORD, DEFAULT_USER, SimReplicaSet
from pbm_pmm_simulator.pmm_server import SimPMMServer

DEMO_CLUSTER = "demo-rs"
DEMO_TOKEN = "glsa_demoToken_0000"
STOPPED_AGENT_AGE = 120  # seconds before the demo starts


def run_demo(listen_address: str, interval: float, external_url: str | None = None) -> int:
    try:
        address = parse_listen_address(listen_address)
        external = parse_external_url(external_url) if external_url else None
    except AddressError as exc:
        print(f"pmm-backup-prereq-exporter demo: error: {exc}", file=sys.stderr)
        return 2
    replica_set = SimReplicaSet(name="rs0").start()
    pmm = SimPMMServer(version="3.4.0", token=DEMO_TOKEN).start()
    try:
        stopped, unlabelled = replica_set.members[2], replica_set.members[1]
        stopped.stop_agent(at=replica_set.cluster_time().time - STOPPED_AGENT_AGE)
        location = pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.us-east-1.amazonaws.com", "AKIADEMO",
                                       "demo/secret")
        services = pmm.register_replica_set(replica_set, cluster=DEMO_CLUSTER)
        pmm.set_service_cluster(services[unlabelled.host], "")
        first = services[replica_set.hosts[0]]
        pmm.add_scheduled_backup(first, location, name="nightly", folder=DEMO_CLUSTER)
        pmm.add_artifact(first, location, name="nightly-before-upgrade", folder=DEMO_CLUSTER, db_version="6.0.18")
        cluster = ClusterConfig(DEMO_CLUSTER, replica_set.uri(), "logical", tuple(replica_set.hosts),
                                DEFAULT_USER, DEFAULT_PASSWORD)
        config = Config("(demo)", interval, min(5.0, interval), (cluster,), PMMConfig(pmm.url, DEMO_TOKEN))
        message = (
            f"Demo: simulated replica set rs0 at {', '.join(replica_set.hosts)} (PSMDB 7.0, PBM 2.7.0 agents)\n"
            f"and simulated PMM Server {pmm.version} at {pmm.url}. Broken on purpose:\n"
            f"  - the pbm-agent on {stopped.host} was stopped {STOPPED_AGENT_AGE} s ago (pbm_agent_running fails: a\n"
            f"    secondary's agent, so PBM still takes the logical backup, but a physical restore is blocked);\n"
            f"  - PMM's service for {unlabelled.host} has no cluster name (service_cluster_name fails).\n"
            f"Metrics: http://localhost:{{port}}/metrics  (curl -s localhost:{{port}}/metrics | grep ^pmm_backup)\n"
            f"Stop with Ctrl-C."
        )
        print("What `pmm-backup-prereq-exporter check` says about it:\n", flush=True)
        run_check(config, "table")
        return serve(config, address, ready_message=message, external_url=external)
    finally:
        pmm.stop()
        replica_set.stop()
