"""How soon a member's death, or its return, shows in its checks: the figure issue 30 must not make worse.

The probes are driven directly, cycle after cycle, on one event loop that keeps running between them, as in the
exporter, where pymongo's monitors send hello to each member once per heartbeat, the probe interval, and so about
once between two cycles. Here time is scaled down: the heartbeat is 0.5 s, a monitor's least (set on the prober
before its client exists), and cycles are `GAP` = 1.2 s apart. A reaction is counted in probe cycles (one interval
apart in the exporter) and in the seconds those cycles took.

Figures, this machine (2026-12-06), with pymongo's own client (before issue 30) and the exporter's
(probes/quiet_client.py), three runs each, the same for both: a secondary's death and its return, 1 cycle each
(8-27 ms); the primary's death (the others elect a new one), 2 cycles: the first fails at once ("lost the
connection"), the second (10-20 ms) reads the new primary; the old primary's return (as a secondary), 1 cycle.
Without a heartbeat between the cycles (heartbeat 60 s, cycles 1 s apart), both clients, about half the time, keep
the dead primary as the primary after a refused connection and fail every cycle until the next heartbeat: in the
exporter that is the next interval, the reaction above.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from exporter.probes.mongodb import MongoDBProber
from exporter.results.check_result import Status
from pbm_pmm_simulator import SimReplicaSet
from tests.probing import cluster_config, statuses
from tests.test_faults import LiveExporter, assert_ready

HEARTBEAT = 0.5  # no less: a monitor checks at most once per MIN_HEARTBEAT_INTERVAL, 0.5 s
GAP = 1.2  # seconds the loop runs between two cycles: a heartbeat comes in between (with room for a busy machine)


def plain_client(_prober: MongoDBProber, host: Any, **options: Any) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(host, **options)


@pytest.fixture
def rs() -> Iterator[SimReplicaSet]:
    with SimReplicaSet(name="rs0") as replica_set:
        yield replica_set


@pytest.fixture(params=["pymongo", "quiet"])
def live(request: pytest.FixtureRequest, rs: SimReplicaSet, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveExporter]:
    if request.param == "pymongo":  # the client before issue 30, for the figure to compare with
        monkeypatch.setattr(MongoDBProber, "_new_client", plain_client)
    exporter = LiveExporter([cluster_config(rs, "c")])
    exporter.probe_cycle.probers["c"].heartbeat = HEARTBEAT  # the client is made at the first probe
    try:
        exporter.cycle()
        exporter.cycle()  # a steady state: every connection made
        assert_ready(exporter, "c")
        yield exporter
    finally:
        exporter.close()


def idle(live: LiveExporter) -> None:
    """The loop runs, nothing is probed (pymongo's tasks go on as between two cycles of the exporter)."""
    live.runner.run(asyncio.sleep(GAP))


def react(live: LiveExporter, name: str, changed: Callable[[], bool], limit: int = 6) -> list[float]:
    """The seconds of each probe cycle until `changed` holds of the snapshot."""
    took: list[float] = []
    for _ in range(limit):
        took.append(live.cycle())
        if changed():
            print(f"\n{name}: {len(took)} cycle(s), {sum(took):.3f} s ({', '.join(f'{t:.3f}' for t in took)})")
            return took
        idle(live)
    raise AssertionError(f"{name}: no change in {limit} cycles: {live.snap('c')}")


def member(live: LiveExporter, host: str) -> Status | None:
    snap = live.snap("c")
    return statuses(snap, "replica_set_member").get(host) if snap.probe_success else None


def test_a_secondary_that_dies_and_comes_back(rs: SimReplicaSet, live: LiveExporter) -> None:
    secondary = rs.members[2]
    idle(live)
    secondary.stop()
    assert len(react(live, "secondary dies", lambda: member(live, secondary.host) is Status.FAIL)) == 1
    idle(live)
    secondary.start()
    assert len(react(live, "secondary returns", lambda: member(live, secondary.host) is Status.PASS)) == 1


def test_a_primary_that_dies_and_comes_back(rs: SimReplicaSet, live: LiveExporter) -> None:
    primary = rs.members[0]
    idle(live)
    primary.stop()
    rs.step_down()  # the others elect a new primary
    assert len(react(live, "primary dies", lambda: member(live, primary.host) is Status.FAIL)) <= 2
    idle(live)
    primary.start()  # back as a secondary
    assert len(react(live, "old primary returns", lambda: member(live, primary.host) is Status.PASS)) == 1
