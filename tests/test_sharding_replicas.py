"""--shard: replicas split a large config with no coordination; every cluster is probed by exactly one."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from exporter.config.config_file import ClusterConfig, Config, Shard
from exporter.run.scheduler import ProbeCycle
from exporter.snapshots.cluster_snapshot import SnapshotStore


def test_parse() -> None:
    assert Shard.parse("1/3", "anything") == Shard(1, 3)
    assert Shard.parse("auto/3", "pmm-backup-prereq-exporter-2") == Shard(2, 3)
    for bad, host in (("3/3", "x"), ("1", "x"), ("a/3", "x"), ("auto/3", "exporter"), ("0/0", "x")):
        with pytest.raises(ValueError):
            Shard.parse(bad, host)


def test_replicas_split_the_clusters_exactly_once() -> None:
    names = [f"cluster-{i:04d}" for i in range(1000)]
    shares = [{n for n in names if Shard(i, 3).owns(n)} for i in range(3)]
    assert set().union(*shares) == set(names)
    assert sum(len(s) for s in shares) == len(names)  # disjoint
    assert all(280 < len(s) < 390 for s in shares), [len(s) for s in shares]  # roughly even


def test_a_cycle_only_builds_probers_for_its_share() -> None:
    clusters = tuple(ClusterConfig(f"c{i}", f"mongodb://h{i}:27017/", "logical", (f"h{i}:27017",), None)
                     for i in range(30))
    config = Config("test", 60.0, 1.0, clusters)
    owned = [set(ProbeCycle(replace(config, shard=Shard(i, 2)), SnapshotStore()).probers) for i in range(2)]
    assert owned[0] | owned[1] == {c.name for c in clusters} and not owned[0] & owned[1]


def test_bad_shard_flag_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "exporter.yml"
    config.write_text("clusters:\n  - name: a\n    uri: mongodb://h:27017/\n")
    done = subprocess.run([sys.executable, "-m", "exporter", "--config", str(config), "--shard", "5/2"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip().endswith("--shard '5/2': the index must be 0 to 1")
