"""Headless Chromium (Debian's chromium), as the page tests drive it: a DOM dump or a screenshot of one URL."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path


def chromium(*args: str, profile: Path, size: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium at a window of `size` ("width,height") on its own profile directory."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "chromium is missing: install Debian's chromium package (make test does)"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={size}"]
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=120)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height
