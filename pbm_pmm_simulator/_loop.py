"""The one asyncio event loop, in one daemon thread, that serves every simulated node of the process."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_instance: SimLoop | None = None


class SimLoop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mongo-sim-loop", daemon=True)
        self.thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    def in_loop_thread(self) -> bool:
        return threading.current_thread() is self.thread

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run `coro` on the simulator loop and wait for its result (from any other thread)."""
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError("the simulator's sync API cannot be called from the simulator's own loop thread")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


def sim_loop() -> SimLoop:
    """The process-wide simulator loop, started on first use."""
    global _instance
    with _lock:
        if _instance is None:
            _instance = SimLoop()
        return _instance
