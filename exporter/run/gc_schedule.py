"""When the long-running exporter lets Python's cyclic garbage collector scan the heap.

CPython scans every tracked object in a full collection, and starts one whenever the heap has grown by a quarter.
At 1,000 clusters the heap holds about 600,000 tracked objects, most of them pymongo's clients, pools and monitors
that live as long as the process: each full collection then held the GIL for about half a second, several times a
probe cycle. That added seconds to every cycle and left scrapes unanswered meanwhile (measured in BENCHMARKS.md).

Here automatic full collections are off. At the end of each cycle one collection scans only what was made since the
previous cycle, and its survivors are frozen (`gc.freeze`) so later scans skip them. Objects that die later are still
freed by reference counting; the rare cyclic ones among them wait for a full pass, which runs when the frozen set has
grown by a quarter since the last one: the same bound CPython itself puts on how long such garbage may wait.
"""

from __future__ import annotations

import gc
import logging
import time

FULL_PASS_GROWTH = 1.25  # a full pass once the frozen objects outnumber the last full pass's survivors by this
NO_AUTOMATIC_FULL = 1 << 30  # gen2 threshold: never reached, so only after_cycle starts full collections

log = logging.getLogger(__name__)


class CollectionSchedule:
    """Use from the thread that runs the probe cycles: start() once, then after_cycle() at the end of each cycle."""

    def __init__(self) -> None:
        self._frozen_at_full_pass = 0

    def start(self) -> None:
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, NO_AUTOMATIC_FULL)  # young collections go on as usual: they are cheap

    def after_cycle(self) -> None:
        started = time.perf_counter()
        if gc.get_freeze_count() >= self._frozen_at_full_pass * FULL_PASS_GROWTH:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self._frozen_at_full_pass = gc.get_freeze_count()
            kind = "full"
        else:
            gc.collect()  # frozen objects are not scanned: this costs what the cycle left behind
            gc.freeze()
            kind = "since the last cycle"
        log.debug("garbage collection (%s) took %.0f ms; %d objects frozen", kind,
                  (time.perf_counter() - started) * 1000, gc.get_freeze_count())
