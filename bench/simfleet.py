#!/usr/bin/env python3
"""A fleet of simulated replica sets in one process, for the benchmark: prints one JSON line per replica set
({"name", "uri"}) and then "ready", and serves until SIGTERM. A share of the members is stopped (dead nodes): each
keeps its port, which refuses connections (pbm_pmm_simulator's SimNode.stop), and where the primary is among them
and a majority is left, one of the others is primary, as after the election a replica set holds.

    python bench/simfleet.py --count 500 --offset 0 --dead 0.05 --seed 1 --pitr-days 7

Each replica set's PBM catalogue holds a full backup taken `--pitr-days` ago and, PITR on, a chunk every 10 minutes
since then (a week: 1008 chunks per replica set), as a cluster with PMM's PITR schedule has: what the exporter's
recoverability reads (incrementally) each cycle.

On SIGUSR1 it prints one JSON line of what its running members have seen: {"members", "open_connections",
"connections_total", "commands"}, for bench.py's load per mongod.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import threading

from pbm_pmm_simulator import SimReplicaSet


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--dead", type=float, default=0.05, help="share of members to stop")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pitr-days", type=float, default=7.0, help="PITR chunks since a base backup this old")
    args = parser.parse_args()
    rng = random.Random(args.seed + args.offset)
    fleet = []
    for i in range(args.offset, args.offset + args.count):
        rs = SimReplicaSet(name=f"rs{i}").start()
        if args.pitr_days > 0 and rs.pbm_config is not None:
            since = int(rs.cluster_time().time - args.pitr_days * 86400)
            rs.pbm.add_backup("logical", "done", since - 600, since)
            rs.pbm_config["pitr"] = {"enabled": True, "oplogSpanMin": 10}
            rs.pbm.start_pitr(span_min=10, since=since)
        for member in rs.members:
            if rng.random() < args.dead:
                member.stop()
        primary = rs.primary
        if primary is not None and not primary.up and sum(m.up for m in rs.members) * 2 > len(rs.members):
            rs.step_down()  # the members left elect one of them, as a replica set does within electionTimeoutMillis
        fleet.append(rs)
        print(json.dumps({"name": f"cluster-{i:04d}", "uri": rs.uri()}), flush=True)
    print("ready", flush=True)
    stop = threading.Event()

    def load(*_: object) -> None:
        members = [m for rs in fleet for m in rs.members if m.up]
        print(json.dumps({"members": len(members), "open_connections": sum(len(m._conns) for m in members),
                          "connections_total": sum(m.total_connections for m in members),
                          "commands": sum(len(m.commands_seen) for m in members)}), flush=True)

    signal.signal(signal.SIGUSR1, load)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for rs in fleet:
        rs.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
