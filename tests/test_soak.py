"""Soak: many probe cycles of one long-lived ProbeCycle, with faults injected at random, on loopback only.

Faults (seeded RNG): members stopped and started, hung and unhung, slowed, refusing commands, roles revoked and
granted, the primary stepping down, PMM Server failing, slow or stopped. After every cycle the results must not lie
about what was injected. At the end, with every fault cleared and a few clean cycles run, threads, open file
descriptors, MongoDB connections held by the exporter and resident memory must be back within a small bound of
where they were after the warm-up. The figures are printed (see them with -s) and are in any assertion message.

Default (CI): 200 cycles, well under a minute. The full run, 2,000 cycles:

    SOAK_CYCLES=2000 .venv/bin/pytest -s tests/test_soak.py

SOAK_SEED picks another random sequence; SOAK_SECONDS bounds the faulty phase (default: 0.3 s per cycle, at least 45 s).
"""

from __future__ import annotations

import gc
import os
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from exporter.config.config_file import PMMConfig
from exporter.results.check_result import Status
from pbm_pmm_simulator import PMM_USER_ROLES, SimNode, SimReplicaSet
from pbm_pmm_simulator.pmm import _http as pmm_http
from pbm_pmm_simulator.pmm_server import SimPMMServer
from tests.probing import cluster_config
from tests.test_faults import PMM_CHECKS, LiveExporter, ok_series
from tests.test_simulator import wait_for

CYCLES = int(os.environ.get("SOAK_CYCLES", "200"))
SEED = int(os.environ.get("SOAK_SEED", "20261127"))
SECONDS = float(os.environ.get("SOAK_SECONDS", str(max(45.0, CYCLES * 0.3))))
TIMEOUT = 0.3
TOKEN = "glsa_soakToken_0001"
WARM_UP, CLEAN = 20, 10
QUIET_EVERY = 20  # cycles between two clearings of every fault
FAULT_RATE = 0.4  # chance that a cycle starts with one more fault injected (or one toggled back)
# How far the end may be from the start. Each member holds a monitoring connection, and a pool of at most 2 (a
# secondary keeps the one it was read through while there was no primary): one more connection per member at most,
# two descriptors per connection (both ends are in this process). A leak per fault or per cycle is far beyond.
MAX_THREADS, MAX_CONNECTIONS_PER_MEMBER, MAX_RSS_MB = 2, 1, 20.0
REFUSABLE = {"connectionStatus": "mongodb_user_permissions", "replSetGetStatus": "replica_set_member"}


def threads() -> int:
    return threading.active_count()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_mb() -> float:
    gc.collect()
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


@dataclass
class Faults:
    """What is injected right now, so that each cycle's results can be judged against it."""

    stopped: set[SimNode] = field(default_factory=set)
    hung: set[SimNode] = field(default_factory=set)
    slow: set[SimNode] = field(default_factory=set)
    refused: dict[SimNode, str] = field(default_factory=dict)
    revoked: dict[SimReplicaSet, set[str]] = field(default_factory=dict)
    pmm_down: bool = False  # PMM stopped, or failing every request
    pmm_slow: bool = False


class Soak:
    def __init__(self, sets: list[SimReplicaSet], pmm: SimPMMServer, live: LiveExporter, rng: random.Random) -> None:
        self.sets, self.pmm, self.live, self.rng = sets, pmm, live, rng
        self.nodes = [node for rs in sets for node in rs.members]
        self.faults = Faults()
        self.injected: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.last_success = {rs.name: live.snap(rs.name).last_success_timestamp for rs in sets}
        self.actions: list[Callable[[], None]] = [
            self.stop_or_start, self.hang_or_unhang, self.slow_or_not, self.refuse_or_not, self.revoke_or_grant,
            self.step_down, self.pmm_fault_or_clear, self.pmm_fault_or_clear,
        ]

    def node(self) -> SimNode:
        return self.rng.choice(self.nodes)

    def stop_or_start(self) -> None:
        node = self.node()
        if node in self.faults.stopped:
            node.start()
            self.faults.stopped.discard(node)
        else:
            node.stop()
            self.faults.stopped.add(node)
        self.injected["stop/start"] += 1

    def hang_or_unhang(self) -> None:
        node = self.node()
        if node in self.faults.hung:
            node.unhang()
            self.faults.hung.discard(node)
        else:
            node.hang()
            self.faults.hung.add(node)
        self.injected["hang/unhang"] += 1

    def slow_or_not(self) -> None:
        node = self.node()
        if node in self.faults.slow:
            node.set_delay(0)
            self.faults.slow.discard(node)
        else:
            node.set_delay(self.rng.choice([0.01, 0.05, 0.2, 0.5]))
            self.faults.slow.add(node)
        self.injected["delay"] += 1

    def refuse_or_not(self) -> None:
        node = self.node()
        if node in self.faults.refused:
            node.unrefuse(self.faults.refused.pop(node))
        else:
            command = self.rng.choice(sorted(REFUSABLE))
            node.refuse(command)
            self.faults.refused[node] = command
        self.injected["refuse"] += 1

    def revoke_or_grant(self) -> None:
        rs = self.rng.choice(self.sets)
        role = self.rng.choice(["backup", "pbmAnyAction", "clusterMonitor"])
        revoked = self.faults.revoked.setdefault(rs, set())
        if role in revoked:
            rs.grant_role("pmm", role, "admin")
            revoked.discard(role)
        else:
            rs.revoke_role("pmm", role, "admin")
            revoked.add(role)
        self.injected["revoke/grant"] += 1

    def step_down(self) -> None:
        self.rng.choice(self.sets).step_down()
        self.injected["step down"] += 1

    def pmm_fault_or_clear(self) -> None:
        if self.faults.pmm_down or self.faults.pmm_slow:
            self.pmm.clear_faults()
            self.pmm.start()
            self.faults.pmm_down = self.faults.pmm_slow = False
        else:
            kind = self.rng.choice(["500", "502", "invalid json", "stop", "slow"])
            if kind == "stop":
                self.pmm.stop()
            elif kind == "slow":
                self.pmm.delay = self.rng.choice([0.05, 0.5])
            elif kind == "invalid json":
                self.pmm.invalid_json = True
            else:
                self.pmm.fail_with(int(kind))
            self.faults.pmm_down = kind != "slow"
            self.faults.pmm_slow = kind == "slow"
        self.injected["pmm"] += 1

    def clear(self) -> None:
        for node in self.nodes:
            node.clear_faults()
            node.start()
        for rs in self.sets:
            for role, db in PMM_USER_ROLES:
                rs.grant_role("pmm", role, db)
            if rs.primary is None or not rs.primary.is_up:
                rs.set_primary(0)
        self.pmm.clear_faults()
        self.pmm.start()
        self.faults = Faults()

    def cycle(self) -> None:
        self.live.cycle()
        for rs in self.sets:
            self.judge(rs)

    def judge(self, rs: SimReplicaSet) -> None:
        """The results hold for the faults injected during the whole cycle (they change only between cycles)."""
        snap = self.live.snap(rs.name)
        previous, self.last_success[rs.name] = self.last_success[rs.name], snap.last_success_timestamp
        if not snap.probe_success:
            self.outcomes["probe failed"] += 1
            assert snap.results == () and snap.agents == () and snap.ready is None, snap
            assert snap.probe_error and snap.last_success_timestamp == previous, snap
            return
        self.outcomes["probe succeeded"] += 1
        assert previous is None or (snap.last_success_timestamp or 0) > previous, snap
        passed = {(r.check, r.node) for r in snap.results if r.status is Status.PASS}
        for node in self.faults.stopped & set(rs.members):
            assert ("replica_set_member", node.host) not in passed, (node, snap)
        if "pbmAnyAction" in self.faults.revoked.get(rs, set()):
            assert ("mongodb_user_permissions", "") not in passed, snap
        primary = rs.primary  # a primary that is up is where the probe reads (a refusal elsewhere may not matter)
        if primary is not None and primary.is_up and primary in self.faults.refused:
            check = REFUSABLE[self.faults.refused[primary]]
            assert not {c for c, _ in passed if c == check}, (primary, check, snap)
        if self.faults.pmm_down:
            assert not {c for c, _ in passed if c in PMM_CHECKS}, snap
            assert not [r for r in snap.results if r.check in PMM_CHECKS and r.status is Status.FAIL], snap
        if snap.ready is True:
            self.outcomes["ready"] += 1


def measure(sets: list[SimReplicaSet], pmm: SimPMMServer) -> dict[str, float]:
    # the simulators' own request logs are not the exporter's memory: keep them out of the figures
    for rs in sets:
        for node in rs.members:
            node.commands_seen.clear()
            node.command_log.clear()
    pmm.clear_requests()
    return {"threads": threads(), "fds": open_fds(), "connections": sum(n.connection_count for rs in sets
                                                                         for n in rs.members),
            "rss_mb": rss_mb()}


def test_soak_with_random_faults_leaks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # The simulated PMM writes headers and body apart; with Nagle's algorithm each answer then waits for the
    # client's delayed ACK (40 ms), and 7 requests no longer fit the 0.3 s timeout. nginx sets tcp_nodelay.
    monkeypatch.setattr(pmm_http._RequestHandler, "disable_nagle_algorithm", True)
    rng = random.Random(SEED)
    with SimReplicaSet(name="soak-a") as a, SimReplicaSet(name="soak-b") as b, \
            SimPMMServer(version="3.4.0", token=TOKEN) as pmm:
        sets = [a, b]
        for rs in sets:
            for node in rs.members:
                node.command_log = deque(maxlen=100)  # the simulator's log, not the exporter's memory
            pmm.register_replica_set(rs, cluster=rs.name)
        pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.us-east-1.amazonaws.com", "AKIA", "SECRET/KEY")
        live = LiveExporter([cluster_config(rs, rs.name) for rs in sets], timeout=TIMEOUT,
                            pmm=PMMConfig(pmm.url, TOKEN))
        try:
            for _ in range(WARM_UP):
                live.cycle()
            assert all(live.snap(rs.name).ready is True for rs in sets)
            start = measure(sets, pmm)
            soak = Soak(sets, pmm, live, rng)
            started = time.monotonic()
            done = 0
            while done < CYCLES and time.monotonic() - started < SECONDS:
                if rng.random() < FAULT_RATE:
                    rng.choice(soak.actions)()
                if done % QUIET_EVERY == QUIET_EVERY - 1:  # faults clear now and then: recovery is part of the soak
                    soak.clear()
                soak.cycle()
                done += 1
                if done % 100 == 0:
                    for rs in sets:
                        for node in rs.members:
                            node.commands_seen.clear()
                    pmm.clear_requests()
            faulty_seconds = time.monotonic() - started
            soak.clear()
            # the slowest injected replies (0.5 s) are answered, or dropped, before the clean cycles: waited for, as
            # a sleep would guess how long they take on a loaded machine
            assert wait_for(lambda: not pmm.requests_delayed and not any(n.replies_delayed for n in soak.nodes))
            for _ in range(CLEAN):
                soak.cycle()
            for rs in sets:
                snap = live.snap(rs.name)
                assert snap.ready is True, (snap.probe_error, [r for r in snap.results if r.status is not Status.PASS])
            text = live.exposition()
            assert all(set(ok_series(text, rs.name).values()) == {1.0} for rs in sets)
            end = measure(sets, pmm)
        finally:
            live.close()

    figures = "\n".join(f"  {name:12} start {start[name]:8.1f}  end {end[name]:8.1f}  "
                        f"delta {end[name] - start[name]:+7.1f}" for name in start)
    report = (f"soak: {done} cycles ({CLEAN} clean after) in {faulty_seconds:.1f} s, seed {SEED}, timeout {TIMEOUT} s\n"
              f"  faults injected: {dict(soak.injected)}\n  outcomes: {dict(soak.outcomes)}\n{figures}")
    print("\n" + report)
    assert done >= min(CYCLES, 100), report
    assert soak.outcomes["probe failed"] > 0 and soak.outcomes["ready"] > 0, report  # the faults did bite
    assert end["threads"] - start["threads"] <= MAX_THREADS, report
    extra_connections = MAX_CONNECTIONS_PER_MEMBER * len(soak.nodes)
    assert end["connections"] - start["connections"] <= extra_connections, report
    assert end["connections"] <= 3 * len(soak.nodes), report  # a monitor and at most a pool of 2 per member
    assert end["fds"] - start["fds"] <= 2 * extra_connections + 4, report
    assert end["rss_mb"] - start["rss_mb"] <= MAX_RSS_MB, report
