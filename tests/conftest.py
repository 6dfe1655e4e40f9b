"""Fixtures several test files share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pymongo
import pytest


@pytest.fixture
def admin_of() -> Iterator[Callable[[str], Any]]:
    """connect(uri) -> the admin database of a sync pymongo client to it, closed after the test."""
    clients: list[pymongo.MongoClient[dict[str, Any]]] = []

    def connect(uri: str) -> Any:
        clients.append(pymongo.MongoClient(uri, serverSelectionTimeoutMS=3000))
        return clients[-1]["admin"]

    yield connect
    for client in clients:
        client.close()
