"""The probing in a process of its own, so that serving /metrics never waits for it.

A Python process runs Python code in one thread at a time. At 1,000 clusters the probe loop keeps its process busy
for seconds each cycle, and between cycles pymongo's 4,000 background tasks (a monitor per member, a periodic task
per client) wake together every half second: a scrape arriving then waited for them, up to 70 ms (BENCHMARKS.md).
So the exporter's main process only serves HTTP, and a child process runs the probe loop. After each cycle (and
each reload) the child sends what it published; the main process swaps it into the store that scrapes read.

The child follows its parent: it stops when told to, when the parent's end of the pipe closes (the parent died),
or on SIGTERM (systemd signals a whole control group). If the child dies, the parent logs it and starts another.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any

from exporter.config.config_file import Config
from exporter.run.logs import log_settings, set_secrets, setup_logging
from exporter.run.scheduler import BackgroundProber
from exporter.snapshots.cluster_snapshot import ClusterSnapshot, Published, SnapshotStore

RELOAD_TIMEOUT = 10.0
RESTART_DELAY = 1.0  # after the child died: long enough not to spin should it die at once again
PUBLISH_CHUNK = 50  # snapshots a message: a few ms to unpickle, so scrapes get the GIL between chunks

log = logging.getLogger(__name__)


class _Channel:
    """One end of the pipe, safe to send on from several threads."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    def send(self, message: tuple[str, Any]) -> None:
        with self._lock:
            self.conn.send(message)

    def send_published(self, state: Published) -> None:
        """The snapshots in chunks, then the rest: the parent unpickles each chunk in one call that holds its GIL,
        so a fleet's snapshots in one message held up its scrapes for the whole unpickling (~50 ms at 1,000)."""
        snapshots = state.snapshots
        with self._lock:
            for start in range(0, len(snapshots), PUBLISH_CHUNK):
                self.conn.send(("snapshots", snapshots[start:start + PUBLISH_CHUNK]))
            self.conn.send(("published", replace(state, snapshots=())))


class _PublishingStore(SnapshotStore):
    """The child's store: what a cycle publishes goes to the parent as well."""

    def __init__(self, channel: _Channel) -> None:
        super().__init__()
        self.channel = channel

    def end_cycle(self, duration: float | None) -> None:
        super().end_cycle(duration)
        with contextlib.suppress(OSError):  # the parent is gone: the main loop sees it and stops
            self.channel.send_published(self.published())


def child_main(fd: int) -> None:
    """The child: `python -m exporter.run.prober_process FD`, FD being its end of a socket pair to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent handles it
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # reloads come from the parent, which reads the file
    conn = Connection(fd)
    try:
        kind, (config, logging_settings) = conn.recv()
    except (EOFError, OSError):
        return
    setup_logging(*logging_settings)
    set_secrets(config.secrets)
    channel = _Channel(conn)
    prober = BackgroundProber(config, _PublishingStore(channel))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    prober.start()
    while not stopping.is_set():
        try:
            if not conn.poll(0.2):
                continue
            kind, payload = conn.recv()
        except (EOFError, OSError):
            break  # the parent is gone
        if kind == "reload":
            set_secrets(payload.secrets)
            try:
                prober.reload(payload)
            except Exception:  # the loop is stuck or gone: keep the old config rather than die
                log.exception("could not apply the reloaded config")
            channel.send(("reloaded", None))
        elif kind == "stop":
            break
    prober.stop(timeout=1.5)


class ProberProcess:
    """The BackgroundProber's interface (start, reload, stop), with the probing in a child process."""

    def __init__(self, config: Config, store: SnapshotStore, on_publish: Callable[[], None] = lambda: None) -> None:
        self.config = config
        self.store = store
        self.on_publish = on_publish  # called after each publication reached the store
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: _Channel | None = None
        self._reloaded = threading.Event()
        self._stopping = threading.Event()
        self._earlier_cycles = 0  # cycles run by children that died: cycles_total is a counter, it must not go back

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self._spawn()
        threading.Thread(target=self._receive, name="prober-receiver", daemon=True).start()

    def _spawn(self) -> None:
        # a fresh interpreter, not a fork: this process already runs threads. No multiprocessing either: it would
        # add a resource-tracker process this needs nothing from
        ours, theirs = socket.socketpair()
        with theirs:
            command = [sys.executable, "-m", "exporter.run.prober_process", str(theirs.fileno())]
            self._process = subprocess.Popen(command,
                                             pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                             start_new_session=True)  # a terminal's Ctrl-C is the parent's to handle
        self._channel = _Channel(Connection(ours.detach()))  # the child's death now reads as end-of-file
        self._channel.send(("start", (self.config, log_settings())))

    def _receive(self) -> None:
        chunks: list[ClusterSnapshot] = []  # a publication's snapshots, as they arrive
        while True:
            assert self._channel is not None and self._process is not None
            try:
                kind, payload = self._channel.conn.recv()
            except (EOFError, OSError):
                # the child ended: on purpose when we stop (a SIGTERM to the control group may reach it first)
                if self._stopping.wait(RESTART_DELAY):
                    return
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._process.wait(1.0)
                log.error("the probing process exited (code %s); starting a new one", self._process.returncode)
                chunks = []  # a publication cut short by the child's death
                self._channel.conn.close()
                self._earlier_cycles = self.store.cycles
                self._spawn()
                continue
            if kind == "snapshots":
                chunks.extend(payload)
            elif kind == "published":
                self.store.publish(replace(payload, snapshots=tuple(chunks),
                                           cycles=payload.cycles + self._earlier_cycles))
                chunks = []
                self.on_publish()
            elif kind == "reloaded":
                self._reloaded.set()

    def reload(self, config: Config) -> None:
        """Swap in a new config; it takes effect at once and for the next cycle."""
        self.config = config
        self._reloaded.clear()
        if self._channel is not None:
            try:
                self._channel.send(("reload", config))
            except OSError:
                return  # the child is being restarted, and starts with this config
            if not self._reloaded.wait(RELOAD_TIMEOUT):
                log.warning("the probing process did not confirm the reload within %gs", RELOAD_TIMEOUT)

    def stop(self, timeout: float = 1.5) -> None:
        """Stop probing; returns within about `timeout` seconds (the child is killed if it takes longer)."""
        self._stopping.set()
        if self._channel is not None:
            with contextlib.suppress(OSError):
                self._channel.send(("stop", None))
        if self._process is not None:
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(0.5)


if __name__ == "__main__":
    child_main(int(sys.argv[1]))
