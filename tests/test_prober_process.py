"""The probing runs in a child process of the exporter (so that scrapes never wait for it): the child must never
outlive the exporter, and the exporter must outlive the child."""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from exporter.run.prober_process import PUBLISH_CHUNK, _Channel
from exporter.snapshots.cluster_snapshot import ClusterSnapshot, SnapshotStore
from pbm_pmm_simulator import SimReplicaSet
from tests.exporter_process import Exporter, write_config
from tests.test_simulator import wait_for


@pytest.fixture
def rs() -> Iterator[SimReplicaSet]:
    with SimReplicaSet() as replica_set:
        yield replica_set


def children(pid: int) -> list[int]:
    """The probing processes among pid's children."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return [c for c in found if b"exporter.run.prober_process" in Path(f"/proc/{c}/cmdline").read_bytes()]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def cycles(text: str) -> float:
    match = re.search(r"^pmm_backup_prereq_cycles_total (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_probing_runs_in_one_child_whose_figures_are_exported(tmp_path: Path, rs: SimReplicaSet) -> None:
    exporter = Exporter("--config", write_config(tmp_path, rs))
    try:
        text = exporter.metrics_when(r'^pmm_backup_prereq_cluster_ready\{cluster="prod-rs"\} 1')
        assert 'pmm_backup_prereq_cluster_ready{cluster="prod-rs"} 1' in text
        (child,) = children(exporter.proc.pid)
        # the process metrics are rendered every few seconds: wait for a render after pymongo was loaded
        rendered_late = r"^pmm_backup_prereq_prober_process_resident_memory_bytes ([2-9]\.\d+e\+07|\S+e\+0[89])$"
        text = exporter.metrics_when(rendered_late)
        rss = re.search(r"^pmm_backup_prereq_prober_process_resident_memory_bytes (\S+)$", text, re.M)
        assert rss and float(rss.group(1)) > 20e6, text  # pymongo and the probe loop live there
        assert re.search(r"^process_resident_memory_bytes \S+$", text, re.M)  # and the serving process's own
        fds = len(os.listdir(f"/proc/{child}/fd"))
        exported = re.search(r"^pmm_backup_prereq_prober_process_open_fds (\S+)$", text, re.M)
        assert exported and abs(float(exported.group(1)) - fds) <= 5
    finally:
        exporter.terminate()


def test_a_dead_child_is_replaced_and_counting_goes_on(tmp_path: Path, rs: SimReplicaSet) -> None:
    exporter = Exporter("--config", write_config(tmp_path, rs))
    try:
        exporter.metrics_when(r"^pmm_backup_prereq_cycles_total [3-9]")
        (child,) = children(exporter.proc.pid)
        before = cycles(exporter.get("/metrics"))
        os.kill(child, signal.SIGKILL)  # as the OOM killer would
        assert wait_for(lambda: children(exporter.proc.pid) not in ([], [child]))
        text = exporter.metrics_when(rf"^pmm_backup_prereq_cycles_total (?!{before:g}\b)")
        assert cycles(text) > before  # a counter: it goes on from where the dead child left it
        assert 'pmm_backup_prereq_cluster_ready{cluster="prod-rs"} 1' in text
    finally:
        _, _, log = exporter.terminate()
    assert "the probing process exited (code -9); starting a new one" in log


def test_the_child_ends_with_the_exporter_even_when_it_is_killed(tmp_path: Path, rs: SimReplicaSet) -> None:
    exporter = Exporter("--config", write_config(tmp_path, rs))
    try:
        exporter.metrics_when(r"^pmm_backup_prereq_cycles_total [1-9]")
        (child,) = children(exporter.proc.pid)
    finally:
        exporter.proc.kill()
        exporter.proc.wait(5)
    assert wait_for(lambda: not alive(child)), "the probing process outlived the exporter"


def test_sigterm_to_both_at_once_stops_quietly(tmp_path: Path, rs: SimReplicaSet) -> None:
    """systemd stops a service by signalling every process of its control group at once."""
    exporter = Exporter("--config", write_config(tmp_path, rs))
    try:
        exporter.metrics_when(r"^pmm_backup_prereq_cycles_total [1-9]")
        (child,) = children(exporter.proc.pid)
        os.kill(child, signal.SIGTERM)
    finally:
        code, took, log = exporter.terminate()
    assert code == 0 and took < 3, (code, took)
    assert "starting a new one" not in log and "Traceback" not in log, log
    assert wait_for(lambda: not alive(child))


def test_a_fleets_publication_travels_in_chunks_so_scrapes_get_the_gil_between_them() -> None:
    ours, theirs = socket.socketpair()
    sender, receiver = Connection(ours.detach()), Connection(theirs.detach())
    store = SnapshotStore()
    for i in range(2 * PUBLISH_CHUNK + 20):
        store.put(ClusterSnapshot(f"c{i}", True))
    store.end_cycle(1.0)
    sent = store.published()
    threading.Thread(target=_Channel(sender).send_published, args=(sent,), daemon=True).start()
    messages = [receiver.recv() for _ in range(4)]
    assert [(kind, len(payload.snapshots) if kind == "published" else len(payload)) for kind, payload in messages] == [
        ("snapshots", PUBLISH_CHUNK), ("snapshots", PUBLISH_CHUNK), ("snapshots", 20), ("published", 0)]
    assert [s for _, chunk in messages[:3] for s in chunk] == list(sent.snapshots)
    assert messages[3][1].cycles == 1
    sender.close()
    receiver.close()
