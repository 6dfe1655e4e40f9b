#!/usr/bin/env python3
"""What a fleet's MongoDB clients cost in the exporter when they do nothing, and what a client made per cycle costs.

    .venv/bin/python bench/idle_clients.py --clusters 300 --idle 30

Starts `bench/simfleet.py` (every member up, no PITR catalogue), then in this process, on one event loop, with the
exporter's client options (`MongoDBProber._client_options`, 60-s heartbeat):
- **idle**: one client per replica set, each has answered a ping; then this process's CPU (user+system) over
  `--idle` seconds while they do nothing, for pymongo's own `AsyncMongoClient` and for the exporter's `QuietClient`
  (probes/quiet_client.py), in ms per client per minute;
- **per-cycle client**: for each replica set, a new client that connects, authenticates (SCRAM-SHA-256) and runs
  one ping on the primary, then closes: CPU per replica set, which a design with no long-lived clients pays every
  cycle, before it reads anything.
Each figure is CPU seconds of this process alone: the simulators run in their own processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporter.config.config_file import ClusterConfig  # noqa: E402
from exporter.probes.mongodb import MongoDBProber  # noqa: E402
from exporter.probes.quiet_client import QuietClient  # noqa: E402


def cpu() -> float:
    return time.process_time()


async def idle(uris: list[str], options: dict[str, Any], quiet: bool, seconds: float) -> float:
    clients: list[AsyncMongoClient[dict[str, Any]]] = [
        QuietClient(uri, cursor_interval=60, **options) if quiet else AsyncMongoClient(uri, **options) for uri in uris]
    await asyncio.gather(*(c.admin.command("ping") for c in clients))
    await asyncio.sleep(2)  # the monitors' first checks are over
    started = cpu()
    await asyncio.sleep(seconds)
    used = cpu() - started
    await asyncio.gather(*(c.close() for c in clients))
    return used * 1000 * 60 / seconds / len(uris)


async def per_cycle(uris: list[str], options: dict[str, Any]) -> float:
    started = cpu()
    for uri in uris:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, **options)
        await client.admin.command("ping")
        await client.close()
    return (cpu() - started) * 1000 / len(uris)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=300)
    parser.add_argument("--idle", type=float, default=30.0)
    args = parser.parse_args()
    fleet = subprocess.Popen([sys.executable, str(ROOT / "bench" / "simfleet.py"), "--count", str(args.clusters),
                              "--dead", "0", "--pitr-days", "0"], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert fleet.stdout is not None
        uris = []
        for line in fleet.stdout:
            if line.strip() == "ready":
                break
            uris.append(json.loads(line)["uri"])
        options = MongoDBProber(ClusterConfig("bench", uris[0], "logical", (), None), 10.0, 60.0)._client_options()
        figures = {
            "clusters": len(uris),
            "idle_pymongo_ms_per_client_minute": round(asyncio.run(idle(uris, options, False, args.idle)), 3),
            "idle_quiet_ms_per_client_minute": round(asyncio.run(idle(uris, options, True, args.idle)), 3),
            "new_client_ping_close_ms": round(asyncio.run(per_cycle(uris, options)), 2),
        }
        print(json.dumps(figures), flush=True)
    finally:
        fleet.terminate()
        fleet.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
