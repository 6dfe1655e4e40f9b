"""What the PMM prober's parts share: an API endpoint, and the error of a call to one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    body_or_query: dict[str, str] | None = None


class PMMError(Exception):
    """A failed call, with a message meant for the user (no secrets, no response bodies beyond PMM's message)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


Call = Callable[[Endpoint, float], Any]  # (endpoint, deadline) -> the answer's JSON; raises PMMError
