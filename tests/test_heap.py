"""The exporter's garbage-collection schedule: no full collection in the middle of a cycle (each one paused the
whole process for ~0.5 s at 1,000 clusters), and cyclic garbage still reclaimed, within a bounded delay."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from exporter.run.gc_schedule import CollectionSchedule


class Node:
    """A tracked object in a reference cycle: only the cyclic collector can free it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def restore_gc() -> Iterator[list[int]]:
    threshold = gc.get_threshold()
    started: list[int] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.collect()
    gc.callbacks.append(record)
    try:
        yield started
    finally:
        gc.callbacks.remove(record)
        gc.unfreeze()
        gc.set_threshold(*threshold)


def grow_heap(count: int) -> list[list[int]]:
    return [[i] for i in range(count)]  # long-lived containers the collector tracks, as a fleet's clients are


def enough_to_trigger_a_full_collection() -> int:
    return len(gc.get_objects()) // 2 + 100_000  # CPython's rule: a quarter more than the old generation holds


def test_default_collector_would_pause_mid_cycle(restore_gc: list[int]) -> None:
    """The control: without the schedule, a growing heap triggers full collections by itself."""
    keep = grow_heap(enough_to_trigger_a_full_collection())
    assert 2 in restore_gc, "the default collector did no full collection: the test below proves nothing"
    del keep


def test_no_full_collection_until_the_cycle_ends(restore_gc: list[int]) -> None:
    schedule = CollectionSchedule()
    schedule.start()
    keep = grow_heap(enough_to_trigger_a_full_collection())
    assert 2 not in restore_gc, "a full collection ran in the middle of a cycle"
    assert 0 in restore_gc, "young collections must go on"
    schedule.after_cycle()
    assert restore_gc.count(2) == 1
    del keep


def test_garbage_of_a_cycle_is_freed_when_it_ends(restore_gc: list[int]) -> None:
    schedule = CollectionSchedule()
    schedule.start()
    schedule.after_cycle()
    node = Node()
    gc.collect(1)  # survives the young collections while in use: it is in the oldest generation now
    dead = weakref.ref(node)
    del node
    gc.collect(1)
    assert dead() is not None  # no full collection yet
    schedule.after_cycle()
    assert dead() is None


def test_frozen_garbage_is_freed_once_the_heap_grows_by_a_quarter(restore_gc: list[int]) -> None:
    schedule = CollectionSchedule()
    schedule.start()
    schedule.after_cycle()  # the first pass is full; what lives is frozen
    node = Node()
    schedule.after_cycle()  # the node outlived a cycle: frozen too
    dead = weakref.ref(node)
    del node
    schedule.after_cycle()
    assert dead() is not None  # frozen objects are not scanned: this is the bounded delay
    keep = grow_heap(gc.get_freeze_count() // 3)  # a third more long-lived objects
    schedule.after_cycle()  # frozen, and past the quarter
    schedule.after_cycle()
    assert dead() is None
    del keep
