"""probes/quiet_client.py: pymongo's background tasks wake only when they have work, and still when they must.

The module relies on pymongo internals pymongo does not document; `test_the_pymongo_internals_relied_on_are_unchanged`
pins their source and fails the day a pymongo release changes one of them (then re-read quiet_client.py's
assumptions against the new code, run this file and tests/test_member_reaction.py, and update the hashes).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import time
from collections.abc import Callable, Iterator
from typing import Any

import pymongo
import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous import monitor, topology
from pymongo.asynchronous.mongo_client import AsyncMongoClient as ClientClass
from pymongo.errors import ServerSelectionTimeoutError
from pymongo.periodic_executor import AsyncPeriodicExecutor
from pymongo.read_preferences import Secondary

from exporter.probes.mongodb import MongoDBProber
from exporter.probes.quiet_client import QuietClient, QuietMonitor, quiet
from pbm_pmm_simulator import SimReplicaSet
from tests.probing import cluster_config

# sha256 (first 16 hex digits) of the source of what quiet_client.py relies on, as of pymongo 4.20.1
PINNED = {
    "AsyncPeriodicExecutor.__init__": "317b9459d1d82506",
    "AsyncPeriodicExecutor.wake": "f811c2b621d1b7f0",
    "AsyncPeriodicExecutor.update_interval": "243adf2ff0d1be76",
    "AsyncPeriodicExecutor.skip_sleep": "391817c0f294da4f",
    "AsyncPeriodicExecutor.close": "194a40b13d2e432f",
    "AsyncPeriodicExecutor._run": "1060776a8852d82d",
    "MonitorBase.__init__": "44888b01802a6ff8",
    "MonitorBase.request_check": "2eb5cb6905bb382d",
    "Monitor.__init__": "7d30b0bbfee71315",
    "AsyncMongoClient._init_background": "000a11fe910f8e3b",
    # the round-trip-time monitor's pool, replaced by the monitor's own in poll mode (QuietMonitor)
    "_RttMonitor.__init__": "c3b2b3d33b11b32e",
    "_RttMonitor.close": "2d9c6bada0d16438",
    "_RttMonitor._run": "98ae7fa42edf687e",
    "_RttMonitor._ping": "5bd9cdcc56243419",
    "Monitor.close": "abeb8c3b8ec9cddb",
    "Monitor._run": "94f73d57de555e97",
    "Monitor._check_once": "b9cd7298ded3e9ca",
}
OBJECTS: dict[str, Callable[..., Any]] = {
    "AsyncPeriodicExecutor.__init__": AsyncPeriodicExecutor.__init__,
    "AsyncPeriodicExecutor.wake": AsyncPeriodicExecutor.wake,
    "AsyncPeriodicExecutor.update_interval": AsyncPeriodicExecutor.update_interval,
    "AsyncPeriodicExecutor.skip_sleep": AsyncPeriodicExecutor.skip_sleep,
    "AsyncPeriodicExecutor.close": AsyncPeriodicExecutor.close,
    "AsyncPeriodicExecutor._run": AsyncPeriodicExecutor._run,
    "MonitorBase.__init__": monitor.MonitorBase.__init__,
    "MonitorBase.request_check": monitor.MonitorBase.request_check,
    "Monitor.__init__": monitor.Monitor.__init__,
    "AsyncMongoClient._init_background": ClientClass._init_background,
    "_RttMonitor.__init__": monitor._RttMonitor.__init__,
    "_RttMonitor.close": monitor._RttMonitor.close,
    "_RttMonitor._run": monitor._RttMonitor._run,
    "_RttMonitor._ping": monitor._RttMonitor._ping,
    "Monitor.close": monitor.Monitor.close,
    "Monitor._run": monitor.Monitor._run,
    "Monitor._check_once": monitor.Monitor._check_once,
}


def digest(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def test_the_pymongo_internals_relied_on_are_unchanged() -> None:
    changed = {name: digest(function) for name, function in OBJECTS.items() if digest(function) != PINNED[name]}
    assert not changed, (f"pymongo {pymongo.version} changed what exporter/probes/quiet_client.py relies on: re-read "
                         f"it against the new code, then update PINNED: {changed}")
    # the keyword that makes every member's monitor a QuietMonitor, and where the topology uses it
    assert 'kwargs.pop("_monitor_class", None)' in inspect.getsource(ClientClass.__init__)
    assert "self._settings.monitor_class(" in inspect.getsource(topology.Topology)
    assert "self._kill_cursors_executor = executor" in inspect.getsource(ClientClass._init_background)


# --- the executor on its own ------------------------------------------------------------------------------------


class Runs:
    """A target that counts its runs and lets a test await the next one."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.ran = asyncio.Event()
        self.executor: AsyncPeriodicExecutor | None = None
        self.skip_once = False

    async def __call__(self) -> bool:
        self.times.append(time.monotonic())
        self.ran.set()
        if self.skip_once and self.executor is not None:
            self.skip_once = False
            self.executor.skip_sleep()
        return True

    async def next(self, timeout: float = 10.0) -> None:
        self.ran.clear()
        await asyncio.wait_for(self.ran.wait(), timeout)


def executor(runs: Runs, interval: float, min_interval: float) -> AsyncPeriodicExecutor:
    made = AsyncPeriodicExecutor(interval=interval, min_interval=min_interval, target=runs, name="test")
    runs.executor = made
    quiet(made)
    return made


def test_a_woken_executor_runs_at_once_not_at_its_interval() -> None:
    async def run() -> None:
        runs = Runs()
        made = executor(runs, interval=3600, min_interval=0.05)
        made.open()
        await runs.next()
        await asyncio.sleep(0.1)  # past the rate limit
        made.wake()
        await runs.next(timeout=10)  # not an hour: the wake was heard
        made.close()
        await made.join(5)
        assert len(runs.times) == 2

    asyncio.run(run())


def test_a_wake_within_min_interval_of_a_run_waits_for_it() -> None:
    """pymongo's rate limit: a monitor that server selection keeps waking checks at most once per min_interval."""
    async def run() -> None:
        runs = Runs()
        made = executor(runs, interval=3600, min_interval=0.3)
        made.open()
        await runs.next()
        made.wake()
        await runs.next()
        assert runs.times[1] - runs.times[0] >= 0.29, runs.times
        made.close()

    asyncio.run(run())


def test_skip_sleep_still_runs_again_at_once_and_the_interval_still_ends_a_wait() -> None:
    async def run() -> None:
        runs = Runs()
        runs.skip_once = True  # as a monitor does after a network error, to retry at once
        made = executor(runs, interval=3.0, min_interval=2.0)
        made.open()
        await runs.next()
        await runs.next(timeout=10)  # the retry
        await runs.next(timeout=10)  # the interval: no wake needed
        assert runs.times[1] - runs.times[0] < 1.0, runs.times  # not after min_interval: at once
        assert runs.times[2] - runs.times[1] >= 2.99, runs.times
        made.close()

    asyncio.run(run())


def test_closing_a_waiting_executor_ends_its_task() -> None:
    async def run() -> None:
        runs = Runs()
        made = executor(runs, interval=3600, min_interval=0.01)
        made.open()
        await runs.next()
        await asyncio.sleep(0.05)  # now waiting on its event
        made.close()
        await made.join(5)
        assert made._task is not None and made._task.done()

    asyncio.run(run())


# --- clients against a simulated replica set ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def rs() -> Iterator[SimReplicaSet]:
    with SimReplicaSet(name="rs0") as replica_set:
        yield replica_set


def timers_while_idle(make: Callable[[], AsyncMongoClient[dict[str, Any]]], seconds: float) -> tuple[int, int]:
    """Timers due within `seconds` that the event loop is asked for while a connected client does nothing (each a
    wake-up), and how many of the client's monitors are QuietMonitors."""
    async def run() -> tuple[int, int]:
        client = make()
        await client.admin.command("ping")
        while not all(sd.is_server_type_known for sd in client.topology_description.server_descriptions().values()):
            await asyncio.sleep(0.05)  # the monitors' first checks
        await asyncio.sleep(0.7)  # and the rate limit after them are over
        loop = asyncio.get_running_loop()
        original = loop.call_at
        due: list[float] = []

        def counting(when: float, callback: Any, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
            due.append(when)
            return original(when, callback, *args, **kwargs)

        end = loop.time() + seconds
        loop.call_at = counting  # type: ignore[method-assign]
        try:
            await asyncio.sleep(seconds)  # its own timer is due at `end`, not before
        finally:
            del loop.call_at
        monitors = sum(isinstance(s._monitor, QuietMonitor) for s in client._topology._servers.values())
        await client.close()
        return sum(when < end for when in due), monitors

    return asyncio.run(run())


def test_an_idle_quiet_client_sets_no_timer_where_pymongos_own_sets_several(rs: SimReplicaSet) -> None:
    options = cluster_config(rs).uri, MongoDBProber(cluster_config(rs), 2.0, 60.0)._client_options()
    timers, monitors = timers_while_idle(lambda: QuietClient(options[0], cursor_interval=60, **options[1]), 2.5)
    assert timers == 0 and monitors == 3, timers
    # the same client without it: 3 monitors and the cursor task, each a timer every 0.5 s (20 in 2.5 s). Should
    # pymongo stop polling one day, this fails too: then quiet_client.py may no longer be needed
    timers, monitors = timers_while_idle(lambda: AsyncMongoClient(options[0], **options[1]), 2.5)
    assert timers >= 10 and monitors == 0, timers


def test_monitors_of_members_found_later_are_quiet_too(rs: SimReplicaSet) -> None:
    """Seeded with one member, the client finds the others from its hello: their monitors are QuietMonitors."""
    async def run() -> int:
        client = QuietClient(rs.members[0].host, replicaSet="rs0", cursor_interval=60,
                             **{k: v for k, v in MongoDBProber(cluster_config(rs), 2.0)._client_options().items()})
        try:
            await client.admin.command("ping")
            return sum(isinstance(s._monitor, QuietMonitor) for s in client._topology._servers.values())
        finally:
            await client.close()

    assert asyncio.run(run()) == 3


def test_the_cursor_task_runs_once_per_given_interval() -> None:
    async def run() -> float:
        client = QuietClient("mongodb://127.0.0.1:1/", cursor_interval=42.0, connect=False)
        try:
            return float(client._kill_cursors_executor._interval)
        finally:
            await client.close()

    assert asyncio.run(run()) == 42.0


def test_a_server_selection_that_finds_no_member_wakes_every_monitor(rs: SimReplicaSet) -> None:
    """What a probe does when its primary is gone: pymongo wakes the monitors while it waits for a suitable member
    (Topology._select_servers_loop). With a 60-s heartbeat, only a heard wake makes them send hello meanwhile."""
    async def run() -> list[int]:
        options = MongoDBProber(cluster_config(rs), 2.0, 60.0)._client_options()
        client = QuietClient(cluster_config(rs).uri, cursor_interval=60, **{**options,
                                                                          "serverSelectionTimeoutMS": 1500})
        try:
            await client.admin.command("ping")
            await asyncio.sleep(0.7)  # past the monitors' rate limit
            seen = [len(m.commands_seen) for m in rs.members]
            nowhere = Secondary(tag_sets=[{"dc": "nowhere"}])  # no member matches: selection waits and wakes
            with pytest.raises(ServerSelectionTimeoutError):
                await client.admin.command("ping", read_preference=nowhere)
            return [sum(name.lower() in ("hello", "ismaster") for name in m.commands_seen[start:])
                    for m, start in zip(rs.members, seen, strict=True)]
        finally:
            await client.close()

    hellos = asyncio.run(run())
    assert all(count >= 1 for count in hellos), hellos  # at least once each within the 1.5 s (rate limit: 0.5 s)


def test_in_poll_mode_a_member_costs_one_monitoring_pool_and_its_round_trip_times_are_still_measured(
        rs: SimReplicaSet) -> None:
    """pymongo makes each monitor a second pool for its round-trip-time monitor, used only in stream mode: in poll
    mode a QuietMonitor's shares the monitor's own, so a client holds two pools a member, not three, and the
    round-trip times (fed by the monitor's hello) and closing work as before."""
    options = MongoDBProber(cluster_config(rs), 2.0, 60.0)._client_options()

    async def run() -> tuple[set[bool], list[float | None], int]:
        client = QuietClient(cluster_config(rs).uri, cursor_interval=60, **options)
        await client.admin.command("ping")
        while not all(sd.is_server_type_known for sd in client.topology_description.server_descriptions().values()):
            await asyncio.sleep(0.05)
        monitors = [s._monitor for s in client._topology._servers.values()]
        shared = {m._rtt_monitor._pool is m._pool for m in monitors}
        rtts = [sd.round_trip_time for sd in client.topology_description.server_descriptions().values()]
        await client.close()
        return shared, rtts, sum(len(m._pool.conns) for m in monitors)

    shared, rtts, left_open = asyncio.run(run())
    assert shared == {True}
    assert len(rtts) == 3 and all(isinstance(rtt, float) and rtt >= 0 for rtt in rtts)
    assert left_open == 0

    async def plain() -> set[bool]:  # pymongo's own monitor: the separate pool this saves
        client = AsyncMongoClient(cluster_config(rs).uri, **options)
        await client.admin.command("ping")
        shared = {s._monitor._rtt_monitor._pool is s._monitor._pool for s in client._topology._servers.values()}
        await client.close()
        return shared

    assert asyncio.run(plain()) == {False}
