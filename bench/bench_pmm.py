#!/usr/bin/env python3
"""Benchmark: the PMM part of a probe cycle at fleet scale, PMM 2 and PMM 3.

A simulated PMM Server runs in its own process (bench/simpmm.py) with N clusters of three nodes registered, each
with a nightly schedule and a week of artifacts. This process reads it the way the exporter does, once per cycle
for the whole fleet (PMMProber.read: the lists, the pmm-agent versions, the compatible services of each cluster's
newest artifact), and then runs every check of every cluster on facts of a real probe of a simulated replica set,
renamed per cluster, with PMM's facts and without them. It reports, per read: wall time, this process's CPU time
and the HTTP calls made; and the CPU the PMM checks add to a cycle.

    .venv/bin/python bench/bench_pmm.py                   # N = 1000, PMM 2.44.0 and 3.4.0, 12 reads
    .venv/bin/python bench/bench_pmm.py --clusters 100 --reads 35

The first reads ask PMM about at most 100 artifacts (and, on PMM 2, 100 nodes' pmm-agent versions) each, so they
are the dearest; later ones ask only what changed or expired (every 30 reads).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporter.checks.registry import run_cluster_checks  # noqa: E402
from exporter.config.config_file import ClusterConfig, PMMConfig  # noqa: E402
from exporter.facts.observed import ClusterFacts  # noqa: E402
from exporter.model.cluster_settings import ClusterSettings  # noqa: E402
from exporter.probes.mongodb import MongoDBProber  # noqa: E402
from exporter.probes.pmm import PMMProber  # noqa: E402
from exporter.snapshots.cluster_snapshot import member_identities  # noqa: E402
from pbm_pmm_simulator import DEFAULT_PASSWORD, DEFAULT_USER, SimReplicaSet  # noqa: E402

TOKEN = "glsa_simulatedToken_0123"
BASELINE_MS = 14.3  # CPU per cluster per cycle of 0.2.0 at 1,000 clusters, without PMM (BENCHMARKS.md)


def real_facts() -> tuple[ClusterFacts, list[str], str]:
    """One probe of a healthy simulated replica set, through the exporter's own MongoDB prober."""
    with SimReplicaSet() as rs:
        cluster = ClusterConfig("template", rs.uri(DEFAULT_USER, DEFAULT_PASSWORD), "logical", tuple(rs.hosts),
                                DEFAULT_USER, DEFAULT_PASSWORD)
        prober = MongoDBProber(cluster, 5.0)

        async def once() -> Any:
            try:
                return await prober.probe()
            finally:
                await prober.close()

        outcome = asyncio.run(once())
        assert outcome.facts is not None, outcome.error
        return outcome.facts, list(rs.hosts), rs.name


def renamed(value: Any, names: dict[str, str]) -> Any:
    """The facts with every string that is a host or the set's name replaced: another cluster's probe."""
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, dict):
        return {renamed(k, names): renamed(v, names) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(renamed(v, names) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return type(value)(**{f.name: renamed(getattr(value, f.name), names) for f in dataclasses.fields(value)})
    return value


def start_pmm(clusters: int, version: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "simpmm.py"), "--clusters", str(clusters),
                             "--version", version], stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert proc.stdout.readline().strip() == "ready"
    return proc, url


def run(clusters: int, version: str, reads: int) -> dict[str, Any]:
    started = time.monotonic()
    proc, url = start_pmm(clusters, version)
    setup = time.monotonic() - started
    try:
        prober = PMMProber(PMMConfig(url, TOKEN), 30.0)
        calls = [0]
        call = prober._call

        def counted(*args: Any) -> Any:
            calls[0] += 1
            return call(*args)

        prober._call = counted  # type: ignore[method-assign]
        per_read = []
        for _ in range(reads):
            calls[0] = 0
            wall, cpu = time.monotonic(), time.process_time()
            facts = prober.read()
            per_read.append({"wall_s": time.monotonic() - wall, "cpu_s": time.process_time() - cpu,
                             "calls": calls[0], "ok": facts.ok, "versions_known": len(facts.agent_versions.value or {}),
                             "artifacts_answered": len(facts.compatible_services)})
        prober.close()
        assert facts.ok, facts.error
        template, hosts, set_name = real_facts()
        fleet = []
        for i in range(clusters):
            names = {h: f"c{i:04d}-db{n + 1}:27017" for n, h in enumerate(hosts)} | {set_name: f"rs{i}"}
            fleet.append((renamed(template, names), ClusterSettings("logical", f"cluster-{i:04d}")))
        fresh = dataclasses.replace(facts)  # a new read: its index is built again, as each cycle's is
        cpu = time.process_time()
        with_pmm = [run_cluster_checks(f, s, fresh) for f, s in fleet]
        checks_pmm = time.process_time() - cpu
        cpu = time.process_time()
        named = sum(1 for f, s in fleet for m in member_identities(f, s, fresh, None) if m.pmm_service)
        members_pmm = time.process_time() - cpu  # each snapshot's node_info: the members matched once more
        cpu = time.process_time()
        for f, s in fleet:
            run_cluster_checks(f, s, None)
            member_identities(f, s, None, None)
        checks_none = time.process_time() - cpu
        failing = sum(1 for results in with_pmm for r in results if r.status.value == "fail")
    finally:
        proc.terminate()
        proc.wait()
    steady = per_read[min(len(per_read) - 1, 11):] or per_read[-1:]
    read_cpu = statistics.mean(r["cpu_s"] for r in steady)
    added = read_cpu + checks_pmm + members_pmm - checks_none
    return {
        "pmm": version, "clusters": clusters, "simulator_setup_s": round(setup, 1),
        "reads": [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in per_read],
        "first_read_wall_s": round(per_read[0]["wall_s"], 3),
        "max_read_wall_s": round(max(r["wall_s"] for r in per_read), 3),
        "steady_read_wall_s": round(statistics.mean(r["wall_s"] for r in steady), 3),
        "steady_read_cpu_s": round(read_cpu, 3),
        "checks_cpu_with_pmm_s": round(checks_pmm, 3), "checks_cpu_without_pmm_s": round(checks_none, 3),
        "node_info_cpu_s": round(members_pmm, 3), "members_named": named,
        "failing_results": failing,
        "pmm_cpu_per_cycle_s": round(added, 3),
        "artifacts_answered_per_read": round(per_read[-1]["artifacts_answered"] / len(per_read), 1),
        "versions_known_after": per_read[-1]["versions_known"],
        "pmm_share_of_baseline_cycle": round(added / (BASELINE_MS / 1000 * clusters), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--versions", default="2.44.0,3.4.0")
    parser.add_argument("--reads", type=int, default=12)
    args = parser.parse_args()
    print(f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{platform.platform()}", flush=True)
    for version in args.versions.split(","):
        report = run(args.clusters, version, args.reads)
        print(json.dumps(report), flush=True)
        print(f"PMM {version}, {args.clusters} clusters: first read {report['first_read_wall_s']} s, slowest "
              f"{report['max_read_wall_s']} s, steady {report['steady_read_wall_s']} s wall and "
              f"{report['steady_read_cpu_s']} s CPU; checks {report['checks_cpu_without_pmm_s']} s CPU without "
              f"PMM, {report['checks_cpu_with_pmm_s']} s with; PMM adds {report['pmm_cpu_per_cycle_s']} s CPU a "
              f"cycle, {report['pmm_share_of_baseline_cycle']:.1%} of a {BASELINE_MS} ms/cluster cycle; "
              f"{report['artifacts_answered_per_read']} artifacts answered a read, "
              f"{report['versions_known_after']} pmm-agent versions known after {len(report['reads'])} reads",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
