#!/usr/bin/env python3
"""What a long-lived MongoDB client costs the prober in memory, per replica set, connected and idle.

    .venv/bin/python bench/client_memory.py --clusters 300

Starts `bench/simfleet.py` (every member up, no PITR catalogue); then, for each kind of client, a fresh Python
process makes one client per replica set with the exporter's options (`MongoDBProber._client_options`, 60-s
heartbeat), pings each (so that every member's monitor has connected and the primary's pool holds a connection),
and reports its RSS growth per client: pymongo's own `AsyncMongoClient`, and the exporter's `QuietClient`
(probes/quiet_client.py, whose monitors share their pool with their unused round-trip-time monitor).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]


def rss_mb() -> float:
    match = re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text())
    assert match
    return int(match.group(1)) / 1024


async def measure(kind: str, uris: list[str]) -> float:
    from pymongo import AsyncMongoClient

    from exporter.config.config_file import ClusterConfig
    from exporter.probes.mongodb import MongoDBProber
    from exporter.probes.quiet_client import QuietClient

    options = MongoDBProber(ClusterConfig("c", uris[0], "logical", (), None), 10.0, 60.0)._client_options()
    gc.collect()
    before = rss_mb()
    clients: list[Any] = [QuietClient(uri, cursor_interval=60.0, **options) if kind == "quiet"
                          else AsyncMongoClient(uri, **options) for uri in uris]
    await asyncio.gather(*(c.admin.command("ping") for c in clients))
    await asyncio.sleep(2.0)  # every monitor's first check done
    gc.collect()
    per_client_kb = (rss_mb() - before) * 1024 / len(clients)
    await asyncio.gather(*(c.close() for c in clients))
    return per_client_kb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=300)
    parser.add_argument("--measure", choices=("pymongo", "quiet"), help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args()
    if args.measure:
        uris = json.loads(sys.stdin.read())
        print(json.dumps({"client": args.measure, "kb_per_client": round(asyncio.run(measure(args.measure, uris)),
                                                                          1)}))
        return 0
    from bench import start_fleet
    fleet, clusters = start_fleet(args.clusters, 2 if args.clusters >= 100 else 1, 0.0, 0.0)
    try:
        uris = json.dumps([c["uri"] for c in clusters])
        for kind in ("pymongo", "quiet"):
            done = subprocess.run([sys.executable, __file__, "--measure", kind], input=uris, text=True,
                                  capture_output=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            print(done.stdout.strip(), flush=True)
    finally:
        for proc in fleet:
            proc.terminate()
        for proc in fleet:
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
