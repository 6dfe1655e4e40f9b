#!/usr/bin/env python3
"""A simulated PMM Server with a fleet registered, for bench/bench_pmm.py: prints its URL and then "ready", and
serves until SIGTERM. Cluster i has three nodes c<i>-db<1..3>:27017 (one Node, pmm-agent, mongodb_exporter and QAN
agent each), one enabled nightly schedule into its own folder, and a week of successful nightly artifacts.

    python bench/simpmm.py --clusters 1000 --version 3.4.0
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from pbm_pmm_simulator.pmm_server import SimPMMServer

TOKEN = "glsa_simulatedToken_0123"


def hosts(i: int) -> list[str]:
    return [f"c{i:04d}-db{n}:27017" for n in (1, 2, 3)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clusters", type=int, required=True)
    parser.add_argument("--version", default="3.4.0")
    parser.add_argument("--artifacts", type=int, default=7, help="artifacts per cluster")
    args = parser.parse_args()
    pmm = SimPMMServer(version=args.version, token=TOKEN)
    location = pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.us-east-1.amazonaws.com", "AKIABENCH",
                                   "BENCH/SECRET")
    for i in range(args.clusters):
        services = pmm.register_replica_set(hosts(i), cluster=f"cluster-{i:04d}", replication_set=f"rs{i}")
        first = next(iter(services.values()))
        pmm.add_scheduled_backup(first, location, name=f"nightly-{i:04d}", folder=f"cluster-{i:04d}")
        for day in range(args.artifacts):
            pmm.add_artifact(first, location, folder=f"cluster-{i:04d}",
                             created_at=f"2026-11-{20 + day:02d}T01:{i % 60:02d}:00Z")
    pmm.start()
    print(pmm.url, flush=True)
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    pmm.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
