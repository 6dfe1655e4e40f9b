"""Test helper: the exporter as a user runs it, in a subprocess, with a config written as a user writes it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from exporter.simulator import SimReplicaSet

COMMAND = [sys.executable, "-m", "exporter"]


def write_config(tmp_path: Path, rs: SimReplicaSet, timeout: str = "1s", interval: str = "1s") -> str:
    """A config as a user writes it: the password comes from the environment."""
    uri = rs.uri(password="${TEST_MONGO_PASSWORD}").replace("%24%7BTEST_MONGO_PASSWORD%7D", "${TEST_MONGO_PASSWORD}")
    path = tmp_path / "exporter.yml"
    path.write_text(f"interval: {interval}\ntimeout: {timeout}\nclusters:\n  - name: prod-rs\n    uri: {uri}\n")
    return str(path)


def env() -> dict[str, str]:
    return {**os.environ, "TEST_MONGO_PASSWORD": "secret"}


class Exporter:
    """The exporter in a subprocess, listening on an ephemeral port that it logs."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([*COMMAND, *args, "--web.listen-address", "127.0.0.1:0"], env=env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.log: list[str] = []
        assert self.proc.stderr is not None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            self.log.append(line)
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                return
            if not line and self.proc.poll() is not None:
                break
        raise AssertionError(f"exporter did not start: {''.join(self.log)}")

    def get(self, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
            return str(response.read().decode())

    def metrics_when(self, pattern: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.get("/metrics")
            if re.search(pattern, text, re.M) or time.monotonic() > deadline:
                return text
            time.sleep(0.1)

    def terminate(self) -> tuple[int, float, str]:
        """SIGTERM; returns the exit code, how long it took to exit, and everything it printed."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=10)
        return self.proc.returncode, time.monotonic() - started, out + "".join(self.log) + err
