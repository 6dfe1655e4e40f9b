"""An AsyncMongoClient whose background tasks sleep until they have work: a fleet's idle clients cost nothing.

pymongo runs, per client, a periodic task that kills abandoned cursors and tends the pools (every
`common.KILL_CURSOR_FREQUENCY`, 1 s), and per member a monitor that sends hello every `heartbeatFrequencyMS`. Both
are `periodic_executor.AsyncPeriodicExecutor`s, and its `_run` waits out the interval in steps of `min_interval`
(`common.MIN_HEARTBEAT_INTERVAL`, 0.5 s) so as to notice `wake()` (a monitor is woken when server selection finds
no suitable member). So each of a fleet's 4,000 tasks woke twice a second whatever the heartbeat: 300 idle clients
cost 0.043 cores, 8.6 ms of CPU per client per minute (issue 30; BENCHMARKS.md).

Here every such executor waits on one timer and an `asyncio.Event` that `wake()` sets: it wakes when its interval
ends or when it is woken, never in between. What pymongo does at each wake-up is unchanged: pymongo's own `_run`
still drives the executor (closing, cancellation, `skip_sleep`, its context resets); only the wait between two runs
is taken over, inside the target, which then asks `_run` to skip its own sleep. The rate limit `min_interval` sets
is kept: after a check, a wake is honoured no sooner than `min_interval` later, so a server selection that keeps
waking a dead member's monitor cannot make it spin. A woken monitor checks at once instead of at its next 0.5-s
step, so a probe that finds its primary gone gets a new one sooner (tests/test_member_reaction.py).

The cursor task runs once per heartbeat (the probe interval, at least 10 s) instead of every second: its work is to
kill the server cursors of operations abandoned mid-way (a probe that timed out; the server would drop them after
10 minutes anyway) and to drop pooled connections past maxIdleTimeMS (the exporter's is two heartbeats) or of an older
pool generation (a checkout discards a stale connection itself).

This relies on pymongo internals it does not document: `AsyncPeriodicExecutor`'s `_target`, `_skip_sleep`,
`_interval`, `_min_interval`, `_event` and `wake()`; `Monitor._executor`, `_stream`, `_pool` and `_rtt_monitor`, and
`_RttMonitor`'s `_pool` (used by its ping, close and run only); `AsyncMongoClient`'s `_monitor_class`
keyword ("for deep customization") and its `_init_background` and `_kill_cursors_executor`. tests/test_quiet_client.py
pins the source of each and fails the day a pymongo release changes one (README: the pymongo versions tested).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.monitor import Monitor
from pymongo.periodic_executor import AsyncPeriodicExecutor


def quiet(executor: AsyncPeriodicExecutor, interval: float | None = None) -> None:
    """Make `executor` wait on a timer and an event instead of polling every `min_interval`."""
    if interval is not None:
        executor.update_interval(interval)
    target: Callable[[], Awaitable[bool]] = executor._target
    woken = asyncio.Event()  # bound to a loop on first wait only (Python 3.10+)
    wake = executor.wake

    def wake_now() -> None:
        wake()  # pymongo's flag, which its own sleep (never reached now) would read
        woken.set()

    async def run_then_wait() -> bool:
        if not await target():
            return False  # the executor stops (its monitor or client is gone)
        if executor._skip_sleep:  # pymongo asked for an immediate retry (a network error, streaming)
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + executor._interval
        await asyncio.sleep(executor._min_interval)  # the rate limit: one timer per run, not a step of the wait
        if not woken.is_set():
            try:
                async with asyncio.timeout_at(deadline):
                    await woken.wait()
            except TimeoutError:
                pass
        woken.clear()
        executor._skip_sleep = True  # the wait is done: _run goes straight to the next run (and clears _event)
        return True

    executor._target = run_then_wait
    executor.wake = wake_now  # type: ignore[method-assign]


class QuietMonitor(Monitor):
    """pymongo's server monitor, its executor quiet (AsyncMongoClient's `_monitor_class`: every member's monitor,
    the seeds' and those of members found later, is made by this class).

    In poll mode (the exporter's serverMonitoringMode) the monitor's round-trip-time monitor never runs: only its
    averages are used, which the monitor's own hello feeds. Yet pymongo gives it a connection pool of its own, whose
    only use is that monitor's ping in stream mode; it is given the monitor's pool instead, and its own is let go
    (19 KB of a connected client's 174 at 300 clusters: bench/client_memory.py). Closing it then resets the
    monitor's pool, which closing the monitor does anyway."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        quiet(self._executor)
        if not self._stream:
            self._rtt_monitor._pool = self._pool


class QuietClient(AsyncMongoClient[dict[str, Any]]):
    """AsyncMongoClient with quiet monitors and a cursor task that runs once every `cursor_interval` seconds."""

    def __init__(self, *args: Any, cursor_interval: float, **kwargs: Any) -> None:
        self._cursor_interval = cursor_interval
        super().__init__(*args, _monitor_class=QuietMonitor, **kwargs)

    def _init_background(self, old_pid: int | None = None) -> None:
        """Where pymongo makes the cursor task: at construction, or at the first operation of a mongodb+srv URI."""
        super()._init_background(old_pid)
        quiet(self._kill_cursors_executor, self._cursor_interval)
