#!/usr/bin/env python3
"""Benchmark: one exporter process probing N simulated 3-member replica sets (5% of members dead), measured from
outside. The simulators run in their own processes, so they don't share the exporter's CPU budget.

    .venv/bin/python bench/bench.py                      # N = 1, 10, 100, 1000; interval 60 s, timeout 10 s
    .venv/bin/python bench/bench.py --sizes 100 --interval 20

For each N it reports: the probe cycle's duration (the exporter's own pmm_backup_prereq_last_cycle_duration_seconds),
average CPU over one interval (utime+stime), resident memory, threads and open file descriptors (all the exporter's
processes added up), the per-cluster cost, and /metrics scrape latency (p50/p99) next to the same ThreadingHTTPServer
serving the same bytes as a static file, measured in the same run: once right after a cycle, and once spread over a
whole interval, so that some scrapes land while a cycle runs, as a Prometheus server's do.

It prints a second line per N, the idle floor: the exporter's CPU between two cycles, its clients held and nothing
probed (pymongo's monitors and periodic tasks), and the load on each running mongod, as the simulated fleet counts
it: connections held between cycles, connections opened and commands received per cycle.

    .venv/bin/python bench/bench.py --sizes 300 --interval 30 --root /tmp/other-checkout   # A/B: another tree's
                                                                                           # exporter, same fleet
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def start_fleet(total: int, processes: int, dead: float, pitr_days: float = 7.0
                ) -> tuple[list[subprocess.Popen[str]], list[dict[str, str]]]:
    procs, clusters = [], []
    per = [total // processes + (1 if i < total % processes else 0) for i in range(processes)]
    offset = 0
    for count in per:
        if count == 0:
            continue
        proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "simfleet.py"), "--count", str(count),
                                 "--offset", str(offset), "--dead", str(dead),
                                 "--pitr-days", str(pitr_days)], stdout=subprocess.PIPE, text=True,
                                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        procs.append(proc)
        offset += count
    for proc in procs:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "ready":
                break
            clusters.append(json.loads(line))
    return procs, clusters


def fleet_load(fleet: list[subprocess.Popen[str]]) -> dict[str, int]:
    """What the simulated fleet's running members have seen so far (bench/simfleet.py answers SIGUSR1)."""
    total: dict[str, int] = {}
    for proc in fleet:
        proc.send_signal(signal.SIGUSR1)
    for proc in fleet:
        assert proc.stdout is not None
        for key, count in json.loads(proc.stdout.readline()).items():
            total[key] = total.get(key, 0) + count
    return total


def process_tree(pid: int) -> list[int]:
    """pid and its descendants: the exporter serves HTTP in one process and probes in a child."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        for task in Path(f"/proc/{current}/task").iterdir():
            todo += [int(c) for c in (task / "children").read_text().split()]
    return tree


def proc_stat(pid: int) -> dict[str, float]:
    """CPU, memory, threads and descriptors of the exporter, all its processes added up."""
    total = {"cpu": 0.0, "rss_mb": 0.0, "threads": 0, "fds": 0}
    for member in process_tree(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{member}/status").read_text()
        total["cpu"] += (int(fields[11]) + int(fields[12])) / TICKS
        total["rss_mb"] += int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
        total["threads"] += int(re.search(r"Threads:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        total["fds"] += len(os.listdir(f"/proc/{member}/fd"))
    return total


def metric(text: str, name: str) -> float | None:
    match = re.search(rf"^{name}(?:\{{[^}}]*\}})? (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


def timed_get(url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        body = response.read()
    return time.perf_counter() - started, body


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency(name: str, seconds: list[float]) -> dict[str, float]:
    return {f"{name}_p50_ms": round(statistics.median(seconds) * 1000, 2),
            f"{name}_p99_ms": round(percentile(seconds, 0.99) * 1000, 2)}


class _Static(BaseHTTPRequestHandler):
    body = b""
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


def cycles_done(url: str) -> tuple[float, float]:
    text = timed_get(url)[1].decode()
    return (metric(text, "pmm_backup_prereq_cycles_total") or 0,
            metric(text, "pmm_backup_prereq_last_cycle_duration_seconds") or 0.0)


def next_cycle_end(url: str, cycles: float) -> tuple[float, float, float]:
    """Wait until a cycle after `cycles` ends: (cycles, that cycle's duration, when the end was seen)."""
    while True:
        done, took = cycles_done(url)
        if done > cycles:
            return done, took, time.monotonic()
        time.sleep(0.2)


def idle_floor(url: str, pid: int, fleet: list[subprocess.Popen[str]], size: int, interval: float
               ) -> dict[str, float | int]:
    """CPU between two cycles (no scrape meanwhile), and the fleet's load: held connections between cycles, opened
    connections and commands over one whole cycle (from one idle window's start to the next one's)."""
    cycles, took, seen = next_cycle_end(url, cycles_done(url)[0])
    next_start = seen - took + interval  # the cycle started `took` before its end was seen; the next one interval after
    time.sleep(1.0)
    before, load_before, started = proc_stat(pid), fleet_load(fleet), time.monotonic()
    time.sleep(max(1.0, next_start - 1.0 - time.monotonic()))
    after, load_after, ended = proc_stat(pid), fleet_load(fleet), time.monotonic()
    next_cycle_end(url, cycles)
    time.sleep(1.0)
    load_cycle = fleet_load(fleet)  # one full interval after load_before: a cycle plus the idle time around it
    members = max(1, load_before["members"])
    cores = (after["cpu"] - before["cpu"]) / (ended - started)
    return {
        "clusters": size, "idle_floor_window_s": round(ended - started, 1), "idle_cpu_cores": round(cores, 4),
        "idle_ms_per_cluster_minute": round(cores * 60_000 / size, 3),
        "members_up": load_before["members"],
        "connections_held_per_member": round(load_before["open_connections"] / members, 2),
        "commands_per_member_idle_minute": round((load_after["commands"] - load_before["commands"]) / members * 60
                                                 / (ended - started), 2),
        "commands_per_member_cycle": round((load_cycle["commands"] - load_before["commands"]) / members, 2),
        "connections_opened_per_cycle": load_cycle["connections_total"] - load_before["connections_total"],
    }


def run(size: int, interval: float, timeout: float, scrapes: int, dead: float, root: Path = ROOT,
        uri_options: str = "", pitr_days: float = 7.0) -> tuple[dict[str, float | int], dict[str, float | int]]:
    fleet, clusters = start_fleet(size, 2 if size >= 100 else 1, dead, pitr_days)
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    config = work / "exporter.yml"
    config.write_text(f"interval: {interval:g}s\ntimeout: {timeout:g}s\nclusters:\n" + "".join(
        f"  - name: {c['name']}\n    uri: \"{c['uri']}{'&' + uri_options if uri_options else ''}\"\n"
        for c in clusters))
    exporter = subprocess.Popen([sys.executable, "-m", "exporter", "--config", str(config), "--web.listen-address",
                                 "127.0.0.1:0"], stderr=subprocess.PIPE, text=True,
                                cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    try:
        assert exporter.stderr is not None
        port, printed = None, []
        for line in exporter.stderr:  # "listening on 127.0.0.1:PORT"
            printed.append(line)
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if match:
                port = int(match.group(1))
                break
        assert port, "the exporter did not start:\n" + "".join(printed)
        threading.Thread(target=exporter.stderr.read, daemon=True).start()  # keep draining its log
        url = f"http://127.0.0.1:{port}/metrics"
        # wait for the first complete cycle
        while True:
            _, body = timed_get(url)
            text = body.decode()
            if (metric(text, "pmm_backup_prereq_cycles_total") or 0) >= 1:
                break
            time.sleep(0.5)
        first_cycle = metric(text, "pmm_backup_prereq_last_cycle_duration_seconds") or 0.0
        before = proc_stat(exporter.pid)
        started = time.monotonic()
        time.sleep(interval)  # one full interval: one probe cycle plus the idle time after it
        after = proc_stat(exporter.pid)
        cpu = (after["cpu"] - before["cpu"]) / (time.monotonic() - started)
        _, body = timed_get(url)
        text = body.decode()
        cycle = metric(text, "pmm_backup_prereq_last_cycle_duration_seconds") or 0.0
        ready = len(re.findall(r"^pmm_backup_prereq_cluster_ready\{", text, re.M))
        series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        floor = idle_floor(url, exporter.pid, fleet, size, interval)
        # scrapes between cycles, as most are (a cycle takes a fraction of the interval): wait for one to end
        cycles = metric(text, "pmm_backup_prereq_cycles_total") or 0
        while (metric(timed_get(url)[1].decode(), "pmm_backup_prereq_cycles_total") or 0) <= cycles:
            time.sleep(0.2)
        # scrape latency against the same server class serving the same bytes from memory (a static file)
        _Static.body = body
        static = ThreadingHTTPServer(("127.0.0.1", 0), _Static)
        threading.Thread(target=static.serve_forever, daemon=True).start()
        static_url = f"http://127.0.0.1:{static.server_address[1]}/metrics"
        scrape, baseline = [], []
        for _ in range(scrapes):
            scrape.append(timed_get(url)[0])
            baseline.append(timed_get(static_url)[0])
        # the same, spread over one interval: some scrapes land during a probe cycle
        spread, spread_baseline = [], []
        for _ in range(scrapes):
            spread.append(timed_get(url)[0])
            spread_baseline.append(timed_get(static_url)[0])
            time.sleep(interval / scrapes)
        static.shutdown()
        return floor, {
            "clusters": size, "first_cycle_s": round(first_cycle, 2), "cycle_s": round(cycle, 2),
            "cpu_cores": round(cpu, 3), "rss_mb": round(after["rss_mb"], 1), "threads": int(after["threads"]),
            "fds": int(after["fds"]), "series": series, "clusters_reported": ready,
            "cpu_ms_per_cluster_cycle": round(cpu * interval * 1000 / size, 2),
            "rss_kb_per_cluster": round(after["rss_mb"] * 1024 / size, 1),
            **latency("scrape", scrape), **latency("static", baseline),
            **latency("spread", spread), **latency("spread_static", spread_baseline),
            "bytes": len(body),
        }
    finally:
        exporter.terminate()
        exporter.wait(timeout=10)
        for proc in fleet:
            proc.terminate()
        for proc in fleet:
            proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,100,1000")
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--dead", type=float, default=0.05)
    parser.add_argument("--root", type=Path, default=ROOT, help="the source tree whose exporter runs (A/B)")
    parser.add_argument("--uri-options", default="", help="appended to every cluster's URI, e.g. maxIdleTimeMS=1000")
    parser.add_argument("--pitr-days", type=float, default=7.0,
                        help="days of 10-minute PITR chunks per replica set (simfleet.py); 0: PITR off, no chunks")
    args = parser.parse_args()
    print(f"# {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; interval {args.interval:g}s, "
          f"timeout {args.timeout:g}s, {args.dead:.0%} of members dead, {args.pitr_days:g} days of PITR chunks",
          flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        floor, figures = run(size, args.interval, args.timeout, args.scrapes, args.dead, args.root,
                             args.uri_options, args.pitr_days)
        print(json.dumps(figures), flush=True)
        print(json.dumps({"idle_floor": floor}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
