"""promtool, from Debian's prometheus package: the reference linter of the exposition format."""

from __future__ import annotations

import shutil
import subprocess


def promtool_check(text: str) -> None:
    """Fail unless `promtool check metrics` accepts the exposition text (it also lints names and units)."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: install Debian's prometheus package (make test does)"
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
