"""A failing cluster is logged when it starts failing and when it recovers, not once per cycle: the wording of a
failure varies from probe to probe (which member's connection was lost, a selection or a socket timeout), but one
state deserves one line in the log."""

from __future__ import annotations

import asyncio
import logging

import pytest

from exporter.config.config_file import Config
from exporter.run.scheduler import ProbeCycle
from exporter.snapshots.cluster_snapshot import SnapshotStore
from pbm_pmm_simulator import SimReplicaSet
from tests.probing import cluster_config


def test_one_line_per_state_change_through_many_failing_cycles(caplog: pytest.LogCaptureFixture) -> None:
    rs = SimReplicaSet(name="rs0").start()
    store = SnapshotStore()
    config = Config("test", 60.0, 0.5, (cluster_config(rs),))
    errors: list[str] = []

    async def run() -> None:
        cycle = ProbeCycle(config, store)
        try:
            await cycle.run_once()
            rs.stop()
            for _ in range(5):
                await cycle.run_once()
                snapshot = store.get("prod-rs")
                assert snapshot is not None and not snapshot.probe_success
                errors.append(snapshot.probe_error)
            rs.start()
            for _ in range(2):
                await cycle.run_once()
        finally:
            await cycle.close()

    try:
        with caplog.at_level(logging.INFO, logger="exporter.run.scheduler"):
            asyncio.run(run())
    finally:
        rs.stop()
    failed = [r.getMessage() for r in caplog.records if "probe failed" in r.getMessage()]
    recovered = [r.getMessage() for r in caplog.records if "probe succeeds again" in r.getMessage()]
    assert len(failed) == 1, (failed, errors)
    assert failed[0].startswith("cluster prod-rs: probe failed: ") and failed[0].endswith(errors[0])
    assert len(recovered) == 1
