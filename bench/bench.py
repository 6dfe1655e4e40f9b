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
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
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


def run(size: int, interval: float, timeout: float, scrapes: int, dead: float, pitr_days: float = 7.0
        ) -> dict[str, float | int]:
    fleet, clusters = start_fleet(size, 2 if size >= 100 else 1, dead, pitr_days)
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    config = work / "exporter.yml"
    config.write_text(f"interval: {interval:g}s\ntimeout: {timeout:g}s\nclusters:\n" + "".join(
        f"  - name: {c['name']}\n    uri: \"{c['uri']}\"\n" for c in clusters))
    exporter = subprocess.Popen([sys.executable, "-m", "exporter", "--config", str(config), "--web.listen-address",
                                 "127.0.0.1:0"], stderr=subprocess.PIPE, text=True,
                                cwd=ROOT)
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
        return {
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
    parser.add_argument("--pitr-days", type=float, default=7.0,
                        help="days of 10-minute PITR chunks per replica set (simfleet.py); 0: PITR off, no chunks")
    args = parser.parse_args()
    print(f"# {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; interval {args.interval:g}s, "
          f"timeout {args.timeout:g}s, {args.dead:.0%} of members dead, {args.pitr_days:g} days of PITR chunks",
          flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        print(json.dumps(run(size, args.interval, args.timeout, args.scrapes, args.dead, args.pitr_days)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
