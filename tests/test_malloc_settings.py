"""run/malloc_settings.py: with the mmap threshold fixed, a large block freed is given back to the system even after
glibc would have raised its threshold (the serving process's exposition, rendered once a cycle)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# In a fresh interpreter: a 6 MB block freed (glibc then raises its threshold to 6 MB), a second one allocated,
# a 1 KB block allocated above it (a malloc'd object, not one of Python's small-object arenas) so that the heap
# cannot shrink from its top, then the second block freed: how much of it the process still holds.
SCRIPT = r"""
import re, sys
sys.path.insert(0, ".")
from exporter.run.malloc_settings import fix_mmap_threshold
if sys.argv[1] == "fixed":
    assert fix_mmap_threshold()
def rss():
    return int(re.search(r"VmRSS:\s+(\d+)", open("/proc/self/status").read()).group(1))
first = bytearray(6 << 20)
del first
before = rss()
second = bytearray(6 << 20)
pin = bytearray(1024)
del second
print(rss() - before)
"""


def held_kb(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_a_large_block_freed_is_given_back_with_the_threshold_fixed_and_kept_without() -> None:
    assert held_kb("default") > 5 * 1024  # glibc's dynamic threshold: the freed block stays in the heap
    assert held_kb("fixed") < 1024
