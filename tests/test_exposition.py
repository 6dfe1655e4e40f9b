"""The exact exposition text for known snapshots (golden file), and that it passes promtool's lint.

Regenerate after an intended change with: UPDATE_GOLDEN=1 pytest tests/test_exposition.py
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from prometheus_client import CollectorRegistry, Metric, generate_latest

from exporter.exposition.collector import SnapshotCollector
from exporter.exposition.prerendered import Exposition
from exporter.model.pbm_timeline import Hole, LastBackup, PitrRange, Recoverability, Timeline, Window
from exporter.results.check_result import CheckResult, Status
from exporter.snapshots.cluster_snapshot import (
    AgentObservation,
    ClusterSnapshot,
    DiscoveryStatus,
    MemberIdentity,
    OplogWindow,
    PMMStatus,
    SnapshotStore,
)
from tests.promtool import promtool_check

GOLDEN = Path(__file__).parent / "golden" / "metrics.prom"


def store() -> SnapshotStore:
    s = SnapshotStore()
    s.put(ClusterSnapshot(
        "prod-rs", True, "", 0.25, 1_800_000_000.0,
        (
            CheckResult("replica_set_member", Status.PASS, "PRIMARY", node="db1:27017", replica_set="rs0"),
            CheckResult("replica_set_member", Status.PASS, "SECONDARY", node="db2:27017", replica_set="rs0"),
            CheckResult("pbm_agent_running", Status.PASS, "ok", node="db1:27017", replica_set="rs0"),
            CheckResult("pbm_agent_running", Status.FAIL, "stale", "restart", node="db2:27017", replica_set="rs0",
                        blocks=("physical_restore",)),  # a secondary's agent: backups run from db1
            CheckResult("pbm_version_supported", Status.PASS, "2.7.0", node="db1:27017", replica_set="rs0"),
            CheckResult("pbm_version_supported", Status.UNKNOWN, "?", node="db2:27017", replica_set="rs0",
                        blocks=("physical_restore",)),
            CheckResult("pbm_storage_reachable", Status.SKIPPED, "no config", replica_set="rs0"),
            CheckResult("mongodb_user_permissions", Status.PASS, "ok", replica_set="rs0"),
            CheckResult("pbm_config_managed_by_pmm", Status.FAIL, "by hand", "let PMM", replica_set="rs0"),  # warning
        ),
        (AgentObservation("db1:27017", "rs0", "2.7.0", 3), AgentObservation("db2:27017", "rs0", "2.7.0", 95)),
        PMMStatus("3.4.0", True, "", 0.25),
        # db2 matches no PMM service: its node_info says so with empty pmm_ labels
        members=(MemberIdentity("db1:27017", "rs0", "db1-mongodb", "prod"), MemberIdentity("db2:27017", "rs0")),
        # PITR from a base at ..400 to ..1800 with a 10-minute hole on rs0 from ..1200: restorable to ..1200
        recoverability=Recoverability(1_800_000_060, Window(
            (PitrRange(1_799_990_000, 1_799_990_400, ""), PitrRange(1_799_990_401, 1_799_991_200, "base"),
             PitrRange(1_799_991_800, 1_800_000_000, "")),
            (1_799_990_400,), (Timeline(1_799_991_200, 1_799_991_800),),
            (Hole("rs0", 1_799_991_200, 1_799_991_800),)),
            (LastBackup("logical", "done", "base", 1_799_990_400, 600, 64 << 20),
             LastBackup("logical", "error", "later", 1_799_999_000, 30, 0))),
    ))
    s.put(ClusterSnapshot("all-good", True, "", 0.125, 1_800_000_001.0,
                          (CheckResult("replica_set_member", Status.PASS, "PRIMARY", node="a:1", replica_set="rs1"),),
                          source="pmm",
                          # no backup yet: nothing to restore, so no timestamp (absent, never 0), no holes
                          recoverability=Recoverability(1_800_000_001, Window((), (), (), ()))))
    # a physical cluster with PITR on, whose leader's agent is gone: every backup and PITR blocked
    s.put(ClusterSnapshot("billing", True, "", 0.5, 1_800_000_003.0, (
        CheckResult("pbm_agent_running", Status.FAIL, "no document", "start it", node="b1:27017", replica_set="rs2",
                    blocks=("logical_backup", "physical_backup", "pitr", "logical_restore", "physical_restore",
                            "pitr_restore")),
        CheckResult("supported_configuration", Status.UNKNOWN, "psmdb?", replica_set="rs2",
                    blocks=("physical_backup", "physical_restore")),
    ), backup_mode="physical", pitr_enabled=True, running=("backup", "pitr"),
        # the oplog windows of the members PBM could slice on; b3's oldest entry unread: absent, never 0
        oplog_windows=(OplogWindow("b2:27017", "rs2", 86_400),)))
    s.put(ClusterSnapshot("gone", False, "no usable member answered", 10.5, 1_799_999_000.0))
    s.put(ClusterSnapshot("never-seen", False, "authentication failed", 0.01, None,
                          pmm=PMMStatus("3.4.0", False, "PMM answered 500", 0.5)))
    s.pmm = PMMStatus("3.4.0", True, "", 0.25)
    s.discovery = DiscoveryStatus(True, "", 1, 1_800_000_002.0)
    s.interval = 60.0
    return s


def exposition() -> str:
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(store()))
    return generate_latest(registry).decode()


def test_exposition_matches_the_golden_file() -> None:
    text = exposition()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_golden_exposition_passes_promtool() -> None:
    promtool_check(exposition())


def test_a_snapshot_published_across_processes_is_exported_unchanged() -> None:
    """The probing process pickles what it published through a pipe; the serving process exports that."""
    served = SnapshotStore()
    served.publish(pickle.loads(pickle.dumps(store().published())))
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(served))
    assert generate_latest(registry).decode() == GOLDEN.read_text()
    assert served.first_cycle_done.is_set() == (store().cycles > 0)


class Broken:
    def collect(self) -> list[Metric]:
        raise AssertionError("a scrape rendered the snapshot")


def test_a_published_snapshot_is_rendered_before_any_scrape_asks() -> None:
    served = SnapshotStore()
    exposition = Exposition(served)
    exposition.render("")  # a scraper asked for the text format once
    served.publish(store().published())
    exposition.prerender()
    exposition.snapshot_registry = CollectorRegistry()
    exposition.snapshot_registry.register(Broken())  # type: ignore[arg-type]
    parts, content_type, _ = exposition.render("")
    assert parts[0].decode() == GOLDEN.read_text()
    assert content_type.startswith("text/plain")
