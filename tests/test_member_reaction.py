"""How soon a member's death, or its return, shows in its checks: the figure issue 30 must not make worse.

The probes are driven directly, cycle after cycle, with no time between them: pymongo's monitors (one hello per
member per interval, 60 s here) get no heartbeat in between, so what is measured is the path a probe itself takes
when the driver's view of the replica set is out of date (the driver notices the dead member, wakes its monitors and
selects again). In the running exporter a heartbeat may also have come between two cycles, which can only make the
reaction sooner. A reaction is counted in probe cycles (each one interval apart in the exporter) and in the seconds
those cycles took.

Figures before issue 30 (pymongo's executors polling every 0.5 s), this machine: a secondary's death and return,
1 cycle each; the primary's death (the others elect a new one), 2 cycles (the first fails: "lost the connection");
its return, 1 cycle. Each cycle took 10-20 ms, but the second after the primary's death: 0.47-0.49 s, spent
waiting for the monitors, which notice a request to check only at their next 0.5-s step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from exporter.results.check_result import Status
from pbm_pmm_simulator import SimReplicaSet
from tests.probing import cluster_config, statuses
from tests.test_faults import LiveExporter, assert_ready

# (cycles, seconds) per scenario, printed with -s for BENCHMARKS.md
FIGURES: dict[str, tuple[int, float]] = {}


@pytest.fixture
def rs() -> Iterator[SimReplicaSet]:
    with SimReplicaSet(name="rs0") as replica_set:
        yield replica_set


@pytest.fixture
def live(rs: SimReplicaSet) -> Iterator[LiveExporter]:
    exporter = LiveExporter([cluster_config(rs, "c")])
    try:
        exporter.cycle()
        assert_ready(exporter, "c")
        yield exporter
    finally:
        exporter.close()


def react(live: LiveExporter, name: str, changed: Callable[[], bool], limit: int = 6) -> tuple[int, float]:
    """Probe cycles (and their seconds) until `changed` holds of the snapshot."""
    took: list[float] = []
    for cycles in range(1, limit + 1):
        took.append(live.cycle())
        if changed():
            spent = sum(took)
            FIGURES[name] = (cycles, round(spent, 3))
            print(f"\n{name}: {cycles} cycle(s), {spent:.3f} s ({', '.join(f'{t:.3f}' for t in took)})")
            return cycles, spent
    raise AssertionError(f"{name}: no change in {limit} cycles: {live.snap('c')}")


def member(live: LiveExporter, host: str) -> Status | None:
    snap = live.snap("c")
    return statuses(snap, "replica_set_member").get(host) if snap.probe_success else None


def test_a_secondary_that_dies_and_comes_back(rs: SimReplicaSet, live: LiveExporter) -> None:
    secondary = rs.members[2]
    live.cycle()  # a steady state: every connection made
    secondary.stop()
    cycles, _ = react(live, "secondary dies", lambda: member(live, secondary.host) is Status.FAIL)
    assert cycles == 1
    secondary.start()
    cycles, _ = react(live, "secondary returns", lambda: member(live, secondary.host) is Status.PASS)
    assert cycles == 1


def test_a_primary_that_dies_and_comes_back(rs: SimReplicaSet, live: LiveExporter) -> None:
    primary = rs.members[0]
    live.cycle()
    primary.stop()
    rs.step_down()  # the others elect a new primary
    cycles, _ = react(live, "primary dies", lambda: member(live, primary.host) is Status.FAIL)
    assert cycles <= 2
    primary.start()  # back as a secondary
    cycles, _ = react(live, "old primary returns", lambda: member(live, primary.host) is Status.PASS)
    assert cycles == 1
