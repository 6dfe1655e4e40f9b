"""Host name resolution for matching replica-set members to PMM services, cached and bounded in time.

A fleet's names are looked up once per TTL, not once per probe, and a slow resolver costs at most the bound:
names not resolved by then count as resolving to nothing this time.
"""

from __future__ import annotations

import asyncio
import socket
import time

RESOLVED_TTL = 300.0
FAILED_TTL = 60.0


class HostResolver:
    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def resolve(self, names: set[str], timeout: float) -> dict[str, frozenset[str]]:
        now = time.monotonic()
        out = {n: ips for n in names if (entry := self._cache.get(n)) and entry[0] > now for ips in [entry[1]]}
        pending = {asyncio.ensure_future(self._lookup(n)): n for n in names if n not in out}
        if pending:
            done, not_done = await asyncio.wait(pending, timeout=timeout)
            for task in not_done:
                task.cancel()
            for task in done:
                out[pending[task]] = task.result()
        return out

    async def _lookup(self, name: str) -> frozenset[str]:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(name, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            self._cache[name] = (time.monotonic() + FAILED_TTL, frozenset())
            return frozenset()
        ips = frozenset(str(info[4][0]) for info in infos)
        self._cache[name] = (time.monotonic() + RESOLVED_TTL, ips)
        return ips
