"""The C allocator told to hand large blocks back to the system: the serving process renders a fleet's exposition
once a cycle, megabytes at a time.

glibc's malloc serves a block of 128 KB or more with its own mmap, unmapped when freed, but after freeing such a
block it raises that threshold to the block's size (up to 32 MB), so that the next blocks of that size come from
the heap, whose freed space is rarely given back (mallopt(3): M_MMAP_THRESHOLD, "dynamic adjustment"). The serving
process makes a few such blocks every cycle (the exposition's text, its bytes, a chunk of snapshots as it arrives),
and grew by about 15 MB over its first cycles at 1,000 clusters before leveling off (88 MB with the threshold set,
103 MB without: BENCHMARKS.md, issue 30). Setting the threshold explicitly turns the adjustment off.

Only glibc has mallopt; elsewhere (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import logging

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
MMAP_THRESHOLD = 128 * 1024  # glibc's default, kept fixed

log = logging.getLogger(__name__)


def fix_mmap_threshold(size: int = MMAP_THRESHOLD) -> bool:
    """Make blocks of `size` bytes or more be mapped and unmapped on their own, always; True when it took."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # this process's own C library
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(M_MMAP_THRESHOLD, size))
    log.debug("malloc's mmap threshold fixed at %d bytes: %s", size, done)
    return done
