"""Test helper: the exporter as a user runs it, in a subprocess, with a config written as a user writes it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO

from pbm_pmm_simulator import SimReplicaSet

COMMAND = [sys.executable, "-m", "exporter"]
# Bounds on waiting for what must happen (a start, a metric, a log line): generous, since they only cost time when a
# test fails, and a loaded CI machine may take many seconds for what takes milliseconds here
WAIT = 60.0


def write_config(tmp_path: Path, rs: SimReplicaSet, timeout: str = "1s", interval: str = "1s") -> str:
    """A config as a user writes it: the password comes from the environment."""
    uri = rs.uri(password="${TEST_MONGO_PASSWORD}").replace("%24%7BTEST_MONGO_PASSWORD%7D", "${TEST_MONGO_PASSWORD}")
    path = tmp_path / "exporter.yml"
    path.write_text(f"interval: {interval}\ntimeout: {timeout}\nclusters:\n  - name: prod-rs\n    uri: {uri}\n")
    return str(path)


def env() -> dict[str, str]:
    return {**os.environ, "TEST_MONGO_PASSWORD": "secret"}


class Exporter:
    """The exporter in a subprocess, listening on an ephemeral port that it logs.

    Its output is read as it comes, by a thread per stream: a test can wait for a log line, and a chatty exporter
    (--log.level debug) never blocks on a full pipe.
    """

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([*COMMAND, *args, "--web.listen-address", "127.0.0.1:0"], env=env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.log: list[str] = []  # stderr, line by line
        self._out: list[str] = []
        self._changed = threading.Condition()
        self._ended = 0  # streams read to the end
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.proc.stderr, self.log), (self.proc.stdout, self._out))]
        for reader in self._readers:
            reader.start()
        with self._changed:
            self._changed.wait_for(lambda: self._port() is not None or self._ended == 2, WAIT)
        port = self._port()
        if port is None:
            self.proc.kill()
            raise AssertionError(f"exporter did not start: {''.join(self.log)}")
        self.port = port

    def _read(self, stream: IO[str], lines: list[str]) -> None:
        for line in stream:
            with self._changed:
                lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._ended += 1
            self._changed.notify_all()

    def _port(self) -> int | None:
        for line in self.log:
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if match:
                return int(match.group(1))
        return None

    def wait_for_log(self, text: str, count: int = 1, timeout: float = WAIT) -> str:
        """Wait until `count` lines of stderr contain `text`; returns stderr so far (check it: this does not)."""
        with self._changed:
            self._changed.wait_for(lambda: sum(text in line for line in self.log) >= count, timeout)
            return "".join(self.log)

    def get(self, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=WAIT) as response:
            return str(response.read().decode())

    def metrics_when(self, pattern: str, timeout: float = WAIT) -> str:
        """Scrape until `pattern` matches; returns the last scrape (check it: this does not)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.get("/metrics")
            if re.search(pattern, text, re.M) or time.monotonic() > deadline:
                return text
            time.sleep(0.1)

    def cycles(self) -> float:
        """pmm_backup_prereq_cycles_total now."""
        match = re.search(r"^pmm_backup_prereq_cycles_total (\S+)$", self.get("/metrics"), re.M)
        assert match, "no pmm_backup_prereq_cycles_total"
        return float(match.group(1))

    def cycles_after(self, cycles: float, more: int = 1, timeout: float = WAIT) -> float:
        """Wait until `more` probe cycles completed after the count `cycles`: the cycles themselves, not a sleep
        that guesses how long they take. Returns the count then."""
        deadline = time.monotonic() + timeout
        while (now := self.cycles()) < cycles + more:
            assert time.monotonic() < deadline, f"{now - cycles:g} of {more} cycles in {timeout:g}s"
            time.sleep(0.1)
        return now

    def terminate(self) -> tuple[int, float, str]:
        """SIGTERM; returns the exit code, how long it took to exit, and everything it printed."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        for reader in self._readers:  # to the end of its output: the probing child's as well, which shares it
            reader.join(10)
        took = time.monotonic() - started
        with self._changed:
            return self.proc.returncode, took, "".join(self._out) + "".join(self.log)
