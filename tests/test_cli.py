"""End to end: the real command, as a user runs it, against the simulator over loopback."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pbm_pmm_simulator import SimReplicaSet
from pbm_pmm_simulator.pmm_server import SimPMMServer
from tests.exporter_process import COMMAND, Exporter, env, write_config
from tests.promtool import promtool_check
from tests.test_simulator import wait_for


@pytest.fixture
def rs() -> Iterator[SimReplicaSet]:
    with SimReplicaSet() as replica_set:
        yield replica_set


def test_serve_scrape_lint_and_stop(tmp_path: Path, rs: SimReplicaSet) -> None:
    rs.members[2].stop_agent(at=rs.cluster_time().time - 300)
    exporter = Exporter("--config", write_config(tmp_path, rs))
    try:
        text = exporter.metrics_when(r"^pmm_backup_prereq_cluster_ready")
        hosts = rs.hosts
        for line in (
            f'pmm_backup_prereq_ok{{check="pbm_agent_running",cluster="prod-rs",node="{hosts[0]}",'
            f'replica_set="rs0"}} 1.0',
            f'pmm_backup_prereq_ok{{check="pbm_agent_running",cluster="prod-rs",node="{hosts[2]}",'
            f'replica_set="rs0"}} 0.0',
            'pmm_backup_prereq_ok{check="mongodb_user_permissions",cluster="prod-rs",node="",replica_set="rs0"} 1.0',
            # a secondary's agent: the logical backup runs from another node; a physical restore needs it
            'pmm_backup_prereq_cluster_ready{cluster="prod-rs"} 1.0',
            'pmm_backup_prereq_operation_ready{cluster="prod-rs",operation="logical_backup"} 1.0',
            'pmm_backup_prereq_operation_ready{cluster="prod-rs",operation="physical_restore"} 0.0',
            f'pmm_backup_prereq_blocking{{check="pbm_agent_running",cluster="prod-rs",node="{hosts[2]}",'
            f'operation="physical_restore",replica_set="rs0"}} 1.0',
            'pmm_backup_prereq_probe_success{cluster="prod-rs",target="mongodb"} 1.0',
            f'pmm_backup_prereq_pbm_agent_info{{cluster="prod-rs",node="{hosts[1]}",replica_set="rs0",'
            f'version="2.7.0"}} 1.0',
            'pmm_backup_prereq_exporter_build_info{version="0.2.0"} 1.0',
        ):
            assert line in text.splitlines(), line
        age = re.search(rf'^pmm_backup_prereq_pbm_agent_heartbeat_age_seconds{{cluster="prod-rs",'
                        rf'node="{hosts[2]}",replica_set="rs0"}} (\S+)$', text, re.M)
        assert age and 300 <= float(age.group(1)) < 320
        assert re.search(r'^pmm_backup_prereq_last_probe_timestamp_seconds\{cluster="prod-rs"\} \S+$', text, re.M)
        assert "node_name" not in text and "service_name" not in text and "instance=" not in text
        assert "secret" not in text
        promtool_check(text)
        page = exporter.get("/")
        assert "prod-rs" in page and ">READY<" in page and ">BLOCKED</span> physical_restore" in page
        assert "pbm_agent_running" in page

        # the cluster goes away: its checks disappear instead of keeping their last values
        rs.stop()
        text = exporter.metrics_when(r'^pmm_backup_prereq_probe_success\{cluster="prod-rs",target="mongodb"\} 0')
        assert 'pmm_backup_prereq_probe_success{cluster="prod-rs",target="mongodb"} 0.0' in text
        assert "pmm_backup_prereq_ok{" not in text and "pmm_backup_prereq_cluster_ready{" not in text
        promtool_check(text)
    finally:
        code, took, log = exporter.terminate()
    assert code == 0 and took < 2.0, (code, took)
    assert "secret" not in log


def test_sigterm_stops_within_two_seconds_even_mid_probe(tmp_path: Path, rs: SimReplicaSet) -> None:
    for node in rs.members:
        node.hang()
    exporter = Exporter("--config", write_config(tmp_path, rs, timeout="30s", interval="60s"))
    # the first probe is now waiting on the hung members: seen to be, not assumed after a sleep
    assert wait_for(lambda: all(node.commands_seen for node in rs.members))
    code, took, _ = exporter.terminate()
    assert code == 0 and took < 2.0, (code, took)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], env=env(), capture_output=True, text=True, timeout=60)


def test_check_exit_codes_table_and_json(tmp_path: Path, rs: SimReplicaSet) -> None:
    config = write_config(tmp_path, rs)
    ok = run("check", "--config", config)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("prod-rs: READY for logical backups (17 pass, 0 fail, 0 unknown)\n"
                                "  operations: logical_backup READY · physical_backup UNKNOWN · pitr READY · "
                                "logical_restore READY · physical_restore UNKNOWN · pitr_restore READY\n")

    rs.members[0].stop_agent(at=rs.cluster_time().time - 120)  # the primary's: the cluster leader's
    failing = run("check", "--config", config)
    assert failing.returncode == 1
    assert failing.stdout.startswith("prod-rs: NOT READY for logical backups (")
    lines = failing.stdout.splitlines()
    # no backup in the simulator's catalogue yet: the recoverability line says so, under the operations
    assert lines[2] == "  recoverability: nothing to restore: no usable backup in PBM's catalogue"
    assert lines[3].split()[:3] == ["FAIL", "pbm_agent_running", rs.hosts[0]]
    words = " ".join(failing.stdout.split())  # the table wraps to the terminal's width
    assert "blocks logical_backup, physical_backup, pitr, logical_restore, physical_restore" in words
    assert "fix: On 127.0.0.1: sudo systemctl restart pbm-agent" in failing.stdout

    as_json = run("check", "--config", config, "--output", "json")
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    cluster = document["clusters"][0]
    assert cluster["cluster"] == "prod-rs" and cluster["ready"] is False
    assert cluster["operations"] == {"logical_backup": "blocked", "physical_backup": "blocked", "pitr": "blocked",
                                     "logical_restore": "blocked", "physical_restore": "blocked",
                                     "pitr_restore": "blocked"}
    [leader] = [c for c in cluster["checks"] if c["check"] == "pbm_agent_running" and c["status"] == "fail"]
    assert leader["blocks"] == ["logical_backup", "physical_backup", "pitr", "logical_restore", "physical_restore",
                                "pitr_restore"]
    assert cluster["probes"] == [{"target": "mongodb", "success": True, "error": "",
                                  "duration_seconds": cluster["probes"][0]["duration_seconds"]}]
    failed = [c for c in cluster["checks"] if c["status"] == "fail"]
    assert [(c["check"], c["node"]) for c in failed] == [("pbm_agent_running", rs.hosts[0]),
                                                         ("backup_candidate_available", "")]
    assert failed[0]["fix"]
    assert "secret" not in as_json.stdout


def test_check_unreachable_cluster_exits_1_without_leaking(tmp_path: Path, rs: SimReplicaSet) -> None:
    config = write_config(tmp_path, rs, timeout="1s")
    rs.stop()
    result = run("check", "--config", config)
    assert result.returncode == 1
    assert result.stdout.startswith("prod-rs: UNKNOWN for logical backups (probe failed: no usable member answered: ")
    assert "secret" not in result.stdout + result.stderr


def test_config_and_usage_errors_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("clusters:\n  - name: a\n    uri: mongodb://pmm:hunter2@db1/\n    colour: red\n")
    result = run("check", "--config", str(bad))
    assert result.returncode == 2
    assert result.stderr == (f"pmm-backup-prereq-exporter: invalid configuration:\n"
                             f"  {bad}:4: clusters[0].colour: unknown key\n")
    assert run("--config", str(bad)).returncode == 2
    assert run().returncode == 2
    assert run("check").returncode == 2
    assert run("check", "--config", str(bad), "--output", "xml").returncode == 2
    assert "Traceback" not in run("check", "--config", str(tmp_path / "missing.yml")).stderr


def test_demo_serves_real_output() -> None:
    exporter = Exporter("demo")
    try:
        text = exporter.metrics_when(r"^pmm_backup_prereq_cluster_ready")
        # the demo's broken agent is a secondary's: logical backups run, a physical restore would not
        assert 'pmm_backup_prereq_cluster_ready{cluster="demo-rs"} 1.0' in text
        assert 'pmm_backup_prereq_operation_ready{cluster="demo-rs",operation="physical_restore"} 0.0' in text
        # its newest backup in PMM predates an upgrade: PMM would restore it nowhere, before any emergency says so
        assert 'pmm_backup_prereq_operation_ready{cluster="demo-rs",operation="logical_restore"} 0.0' in text
        assert 'pmm_backup_prereq_probe_success{cluster="demo-rs",target="pmm"} 1.0' in text
        assert 'pmm_backup_prereq_pmm_server_info{version="3.4.0"} 1.0' in text
        assert re.search(r'^pmm_backup_prereq_ok\{check="pbm_agent_running",cluster="demo-rs",node="[^"]+",'
                         r'replica_set="rs0"\} 0\.0$', text, re.M)
        promtool_check(text)
    finally:
        code, took, log = exporter.terminate()
    assert code == 0 and took < 2.0
    assert ("was stopped 120 s ago (pbm_agent_running fails: a\n    secondary's agent, so PBM still takes the logical "
            "backup") in log
    assert "FAIL     pbm_agent_running" in log and "FAIL     service_cluster_name" in log  # the check table
    assert "FAIL     restore_version_compatible" in log
    assert "demo/secret" not in log and "glsa_demoToken" not in log


def test_serve_with_pmm_keeps_the_token_out_of_everything(tmp_path: Path, rs: SimReplicaSet) -> None:
    token = "glsa_e2eSecretToken_42"
    with SimPMMServer(version="2.44.0", token=token) as pmm:
        pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.example", "AKIAE2E", "e2e/secret/key")
        pmm.register_replica_set(rs, cluster="prod-rs")
        config = write_config(tmp_path, rs)
        with open(config, "a") as f:
            f.write(f"pmm:\n  url: {pmm.url}\n  token: ${{TEST_PMM_TOKEN}}\n")
        os.environ["TEST_PMM_TOKEN"] = token
        try:
            exporter = Exporter("--config", config)
            try:
                text = exporter.metrics_when(r'^pmm_backup_prereq_probe_success\{cluster="prod-rs",target="pmm"\}')
                assert 'pmm_backup_prereq_probe_success{cluster="prod-rs",target="pmm"} 1.0' in text
                assert 'pmm_backup_prereq_pmm_server_info{version="2.44.0"} 1.0' in text
                assert 'pmm_backup_prereq_cluster_ready{cluster="prod-rs"} 1.0' in text
                for host in rs.hosts:
                    assert (f'pmm_backup_prereq_ok{{check="pmm_client_connected",cluster="prod-rs",node="{host}",'
                            f'replica_set="rs0"}} 1.0') in text
                promtool_check(text)
                pmm.stop()  # PMM goes away: its checks vanish, the MongoDB checks stay
                text = exporter.metrics_when(r'^pmm_backup_prereq_probe_success\{cluster="prod-rs",target="pmm"\} 0')
                assert 'check="pmm_client_connected"' not in text
                assert 'check="pbm_agent_running"' in text
            finally:
                code, took, log = exporter.terminate()
        finally:
            del os.environ["TEST_PMM_TOKEN"]
        check = run("check", "--config", config, "--output", "json")
    assert code == 0 and took < 2.0
    for secret in (token, "e2e/secret/key", "AKIAE2E"):
        assert secret not in text + log + check.stdout + check.stderr
    assert "cannot connect to PMM" in log
