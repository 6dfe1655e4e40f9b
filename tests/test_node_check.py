"""node-check against fake node roots: every node-side check passing and failing, and the textfile output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.node import inspect as node_inspect
from exporter.node.checks import NODE_CHECKS, NodeIdentity, run_node_checks
from exporter.node.inspect import inspect_node
from exporter.node.textfile import FILE_NAME, exposition, write_results
from exporter.results.check_result import Status
from tests.promtool import promtool_check

ME = NodeIdentity("prod-rs", "db1:27017", "rs0")
PBM_URI = "mongodb://pbmuser:Sup3rS3cret@localhost:27017/?authSource=admin"


def write(root: Path, path: str, text: str, mode: int = 0o644) -> Path:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    target.chmod(mode)
    return target


def process(root: Path, pid: int, name: str, cmdline: list[str], cgroup: str) -> None:
    write(root, f"proc/{pid}/comm", name + "\n")
    (root / f"proc/{pid}/cmdline").write_bytes("\0".join(cmdline).encode() + b"\0")
    write(root, f"proc/{pid}/cgroup", cgroup)


def healthy_node(root: Path) -> Path:
    """A node as Percona's packages leave it: mongod and pbm-agent as enabled services, PMM Client installed."""
    write(root, "etc/passwd", "root:x:0:0::/root:/bin/bash\nmongod:x:998:998::/var/lib/mongo:/bin/false\n"
                              "pmm-agent:x:997:997::/usr/local/percona:/bin/false\n")
    write(root, "etc/group", "root:x:0:\nmongod:x:998:\npmm-agent:x:997:\n")
    write(root, "usr/bin/mongod", "#!/bin/sh\n", 0o755)
    # `pbm version` prints to stdout, `pbm-agent version` to stderr from 2.9.0 (cmd/pbm-agent/main.go)
    write(root, "usr/bin/pbm", "#!/bin/sh\necho 'Version:   2.7.0'\necho 'Platform:  linux/amd64'\n", 0o755)
    write(root, "usr/bin/pbm-agent", "#!/bin/sh\necho 'Version:   2.7.0' >&2\n", 0o755)
    write(root, "usr/lib/systemd/system/mongod.service",
          "[Unit]\nDescription=MongoDB\n[Service]\nUser=mongod\nExecStart=/usr/bin/mongod -f /etc/mongod.conf\n"
          "Restart=on-failure\n[Install]\nWantedBy=multi-user.target\n")
    write(root, "usr/lib/systemd/system/pbm-agent.service",
          "[Service]\nEnvironmentFile=-/etc/default/pbm-agent\nUser=mongod\nExecStart=/usr/bin/pbm-agent\n"
          "Restart=on-failure\n")
    write(root, "usr/lib/systemd/system/pmm-agent.service",
          "[Service]\nUser=pmm-agent\nExecStart=/usr/local/percona/pmm/bin/pmm-agent\n")
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    for unit in ("mongod.service", "pbm-agent.service", "pmm-agent.service"):
        (wants / unit).symlink_to(f"/usr/lib/systemd/system/{unit}")
    write(root, "etc/default/pbm-agent", f'PBM_MONGODB_URI="{PBM_URI}"\n')
    write(root, "etc/mongod.conf", "storage:\n  dbPath: /var/lib/mongo\nnet:\n  port: 27017\n  bindIp: 0.0.0.0\n"
                                   "replication:\n  replSetName: rs0\n")
    data = root / "var/lib/mongo"
    data.mkdir(parents=True)
    os.chown(data, 998, 998)
    data.chmod(0o750)
    process(root, 812, "mongod", ["/usr/bin/mongod", "-f", "/etc/mongod.conf"], "0::/system.slice/mongod.service\n")
    process(root, 901, "pbm-agent", ["/usr/bin/pbm-agent"], "0::/system.slice/pbm-agent.service\n")
    process(root, 1, "systemd", ["/sbin/init"], "0::/init.scope\n")
    storage = root / "mnt/pbm"
    storage.mkdir(parents=True)
    os.chown(storage, 998, 998)
    storage.chmod(0o750)
    write(root, "proc/mounts", "/dev/sda1 / ext4 rw 0 0\nnfs:/backups /mnt/pbm nfs4 rw 0 0\n")
    return root


def results(root: Path, storage: str | None = "/mnt/pbm") -> dict[str, tuple[Status, str, str]]:
    facts = inspect_node(str(root), storage, hostnames=("db1", "db1.example.com"))
    return {r.check: (r.status, r.reason, r.fix) for r in run_node_checks(facts, ME)}


def test_a_healthy_node_passes_every_check(tmp_path: Path) -> None:
    out = results(healthy_node(tmp_path))
    assert {k: v[0] for k, v in out.items()} == dict.fromkeys(
        ["mongod_on_pmm_agent_path", "mongod_systemd_service", "single_mongod_per_node", "pbm_installed",
         "pbm_agent_service_enabled", "pbm_agent_uri_configured", "pbm_storage_path_writable",
         "systemd_restart_policy_safe", "mongod_on_pbm_agent_path", "dbpath_accessible_by_pbm_agent",
         "pbm_cli_matches_agent", "containerized_node"], Status.PASS)
    assert out["pbm_storage_path_writable"][1] == "/mnt/pbm is mounted (/mnt/pbm, nfs4 from nfs:/backups) and " \
                                                  "writable by mongod"
    assert "Sup3rS3cret" not in repr(out)


def test_mongod_missing_from_pmm_agents_path_or_not_executable(tmp_path: Path) -> None:
    root = healthy_node(tmp_path)
    (root / "usr/bin/mongod").rename(root / "opt-mongod")
    status, reason, fix = results(root)["mongod_on_pmm_agent_path"]
    assert status is Status.FAIL and reason.startswith("mongod is not on the PATH of pmm-agent's user pmm-agent")
    assert "ln -s" in fix
    (root / "opt-mongod").rename(root / "usr/bin/mongod")
    (root / "usr/bin/mongod").chmod(0o750)  # owned by root: pmm-agent may not run it
    assert results(root)["mongod_on_pmm_agent_path"][1] == "/usr/bin/mongod is not executable by pmm-agent's user " \
                                                           "pmm-agent"
    # a PATH set in pmm-agent's unit is the one that counts
    write(root, "usr/local/mongodb/bin/mongod", "", 0o755)
    write(root, "etc/systemd/system/pmm-agent.service.d/path.conf",
          "[Service]\nEnvironment=PATH=/usr/local/mongodb/bin:/usr/bin\n")
    assert results(root)["mongod_on_pmm_agent_path"][:2] == (
        Status.PASS, "mongod at /usr/local/mongodb/bin/mongod, executable by pmm-agent")


def test_mongod_not_a_systemd_service(tmp_path: Path) -> None:
    root = healthy_node(tmp_path)
    write(root, "proc/812/cgroup", "0::/user.slice/user-1000.slice/session-3.scope\n")
    assert results(root)["mongod_systemd_service"][1] == "mongod (pid 812) runs outside systemd, not as mongod.service"
    (root / "etc/systemd/system/multi-user.target.wants/mongod.service").unlink()
    assert results(root)["mongod_systemd_service"][:2] == (Status.FAIL, "mongod.service is not enabled")


def test_two_mongods_on_one_node(tmp_path: Path) -> None:
    root = healthy_node(tmp_path)
    process(root, 813, "mongod", ["/usr/bin/mongod", "--port", "27018"], "0::/system.slice/mongod2.service\n")
    status, reason, _ = results(root)["single_mongod_per_node"]
    assert status is Status.FAIL and reason.startswith("2 mongod processes run here (pids 812, 813)")


def test_pbm_missing_and_agent_not_running(tmp_path: Path) -> None:
    root = healthy_node(tmp_path)
    (root / "usr/bin/pbm").unlink()
    assert results(root)["pbm_installed"][1].startswith("pbm not found on pmm-agent's PATH")
    for name in ("comm", "cmdline", "cgroup"):
        (root / f"proc/901/{name}").unlink()
    (root / "proc/901").rmdir()
    assert results(root)["pbm_agent_service_enabled"][1] == "pbm-agent.service is enabled but no pbm-agent runs"


@pytest.mark.parametrize(("uri", "expected"), [
    ("", "pbm-agent has no MongoDB URI (looked at --mongodb-uri on its ExecStart, PBM_MONGODB_URI in its "
         "environment, or a -f config file): the service cannot start"),
    ("mongodb://pbmuser:Sup3rS3cret@db1:27017,db2:27017/?replicaSet=rs0",
     "names 2 hosts: pbm-agent connects directly to one, its local mongod, and refuses a multi-host URI"),
    ("mongodb+srv://pbmuser:Sup3rS3cret@cluster.example.com/", "is a mongodb+srv:// URI, which pbm-agent refuses"),
    ("mongodb://pbmuser:Sup3rS3cret@db2.example.com:27017/", "points at db2.example.com:27017, not at this node"),
    ("mongodb://pbmuser:Sup3rS3cret@localhost:27018/", "points at localhost:27018, not at this node's mongod"),
    ("mongodb://pbmuser:Sup3rS3cret@localhost:notaport/", "does not parse as a MongoDB URI"),
    ("mongodb://pbmuser:Sup3rS3cret@db1.example.com:27017/?authSource=admin", None),
])
def test_pbm_agent_uri(tmp_path: Path, uri: str, expected: str | None) -> None:
    root = healthy_node(tmp_path)
    write(root, "etc/default/pbm-agent", f"PBM_MONGODB_URI={uri}\n" if uri else "# nothing here\n")
    status, reason, fix = results(root)["pbm_agent_uri_configured"]
    if expected is None:
        assert status is Status.PASS
    else:
        assert status is Status.FAIL and expected in reason
        assert 'PBM_MONGODB_URI="mongodb://<pbm-user>:<password>@localhost:27017/?authSource=admin"' in fix
        assert "/etc/default/pbm-agent" in fix
    assert "Sup3rS3cret" not in reason + fix


def test_a_single_host_uri_with_a_replica_set_passes_with_a_note(tmp_path: Path) -> None:
    # pbm-agent connects directly whatever the URI says (cmd/pbm-agent/agent.go, connect.Direct(true))
    root = healthy_node(tmp_path)
    write(root, "etc/default/pbm-agent", 'PBM_MONGODB_URI="mongodb://pbmuser:Sup3rS3cret@localhost:27017/'
                                         '?replicaSet=rs0&authSource=admin"\n')
    status, reason, _ = results(root)["pbm_agent_uri_configured"]
    assert status is Status.PASS and "replicaSet=rs0, which pbm-agent's direct connection ignores" in reason


def test_the_uri_on_exec_start_wins_over_the_environment(tmp_path: Path) -> None:
    root = healthy_node(tmp_path)
    write(root, "etc/systemd/system/pbm-agent.service.d/uri.conf",
          "[Service]\nExecStart=\nExecStart=/usr/bin/pbm-agent --mongodb-uri=mongodb://pbmuser:Sup3rS3cret@"
          "db2:27017/\n")
    status, reason, fix = results(root)["pbm_agent_uri_configured"]
    assert status is Status.FAIL and "(--mongodb-uri on the ExecStart of pbm-agent.service) points at db2:27017" \
        in reason
    assert "Set the URI in --mongodb-uri on the ExecStart of pbm-agent.service" in fix
    assert "Sup3rS3cret" not in reason + fix


@pytest.mark.parametrize(("config", "expected"), [
    ("mongodb-uri: mongodb://pbmuser:Sup3rS3cret@localhost:27017/\nlog:\n  level: I\n", None),
    ("log:\n  level: I\n", "pbm-agent has no MongoDB URI (looked at mongodb-uri in /etc/pbm-agent.yaml"),
    ("mongodb-uri: [unclosed\n", "/etc/pbm-agent.yaml line 1: mongodb-uri is written in YAML node-check does not read"),
    ("log:\n  level: I\n mongodb-uri: x\n", "/etc/pbm-agent.yaml is not YAML node-check can read (line 3: "),
    ("\0\0binary", "/etc/pbm-agent.yaml is not a text file"),
    (None, "cannot read /etc/pbm-agent.yaml"),
])
def test_the_uri_in_pbm_agents_config_file(tmp_path: Path, config: str | None, expected: str | None) -> None:
    # PBM 2.9+: pbm-agent -f <yaml> with mongodb-uri: (cmd/pbm-agent/main.go setRootFlags)
    root = healthy_node(tmp_path)
    write(root, "etc/default/pbm-agent", "# the URI moved to the config file\n")
    write(root, "etc/systemd/system/pbm-agent.service.d/config.conf",
          "[Service]\nExecStart=\nExecStart=/usr/bin/pbm-agent -f /etc/pbm-agent.yaml\n")
    if config is not None:
        write(root, "etc/pbm-agent.yaml", config, 0o640)
    status, reason, _ = results(root)["pbm_agent_uri_configured"]
    if expected is None:
        assert status is Status.PASS and "(mongodb-uri in /etc/pbm-agent.yaml" in reason
    else:
        assert status in (Status.FAIL, Status.UNKNOWN) and expected in reason, reason
    assert "Sup3rS3cret" not in reason


def test_a_mongodb_service_without_a_mongod_name_fails(tmp_path: Path) -> None:
    # after a physical restore pmm-agent runs `systemctl restart mongod`, hard-coded (agent/client/client.go)
    root = healthy_node(tmp_path)
    unit = root / "usr/lib/systemd/system/mongod.service"
    unit.rename(root / "usr/lib/systemd/system/mongodb.service")
    (root / "etc/systemd/system/multi-user.target.wants/mongod.service").unlink()
    (root / "etc/systemd/system/multi-user.target.wants/mongodb.service").symlink_to(
        "/usr/lib/systemd/system/mongodb.service")
    write(root, "proc/812/cgroup", "0::/system.slice/mongodb.service\n")
    status, reason, fix = results(root)["mongod_systemd_service"]
    assert status is Status.FAIL and "PMM restarts it as `systemctl restart mongod`" in reason
    assert "ln -s /usr/lib/systemd/system/mongodb.service /etc/systemd/system/mongod.service" in fix
    (root / "etc/systemd/system/mongod.service").symlink_to("/usr/lib/systemd/system/mongodb.service")  # an alias
    assert results(root)["mongod_systemd_service"][0] is Status.PASS


def test_storage_path(tmp_path: Path) -> None:
    root = healthy_node(tmp_path)
    assert results(root, None)["pbm_storage_path_writable"][0] is Status.SKIPPED
    assert results(root, "/mnt/missing")["pbm_storage_path_writable"][1] == "the backup path /mnt/missing does " \
                                                                             "not exist"
    write(root, "proc/mounts", "/dev/sda1 / ext4 rw 0 0\n")
    assert "is not on a mounted filesystem of its own" in results(root)["pbm_storage_path_writable"][1]
    write(root, "proc/mounts", "/dev/sda1 / ext4 rw 0 0\nnfs:/backups /mnt nfs4 rw 0 0\n")  # a parent mount counts
    assert results(root)["pbm_storage_path_writable"][0] is Status.PASS
    os.chown(root / "mnt/pbm", 0, 0)  # root's, 0750: mongod may not write
    assert results(root)["pbm_storage_path_writable"][1] == "/mnt/pbm is not writable by mongod"


def test_storage_path_on_a_local_file_system_or_another_share(tmp_path: Path) -> None:
    # issue 29 item 4: an NFS mount missing on this node leaves the path on the root file system, or on a local disk
    root = healthy_node(tmp_path)
    mountinfo = ("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
                 "97 22 8:17 / /mnt/pbm rw,relatime shared:50 - xfs /dev/sdb1 rw,attr2\n")
    write(root, "proc/self/mountinfo", mountinfo)  # read before /proc/mounts, which still says nfs4
    status, reason, fix = results(root)["pbm_storage_path_writable"]
    assert status is Status.FAIL
    assert reason == ("/mnt/pbm is on a local file system (xfs on /dev/sdb1, mounted at /mnt/pbm), not a network or "
                      "cluster one: each node would write its own disk, and PBM needs the same shared storage on "
                      "every node")
    assert "Mount the shared backup filesystem at /mnt/pbm on every node" in fix
    write(root, "proc/self/mountinfo", mountinfo.splitlines()[0] + "\n")  # unmounted: the path is on /
    assert "is not on a mounted filesystem of its own (it is on /)" in results(root)["pbm_storage_path_writable"][1]
    # a CIFS share mounted with its password in the source: the series names the source, never the password
    write(root, "proc/self/mountinfo", mountinfo.splitlines()[0] + "\n"
          "98 22 0:52 / /mnt rw,relatime - cifs //backup:S3cretPw@files.example.com/pbm rw,vers=3.1.1\n")
    facts = inspect_node(str(root), "/mnt/pbm", hostnames=("db1",))
    status, reason, _ = results(root)["pbm_storage_path_writable"]
    assert status is Status.PASS and "cifs from //backup@files.example.com/pbm" in reason
    text = exposition(run_node_checks(facts, ME), ME, 1.0, facts.storage)
    assert ('pmm_backup_prereq_storage_mount_info{cluster="prod-rs",fstype="cifs",mount_point="/mnt",node="db1:27017",'
            'path="/mnt/pbm",replica_set="rs0",source="//backup@files.example.com/pbm"} 1.0') in text
    assert "S3cretPw" not in text + reason


def test_restart_always_is_unsafe(tmp_path: Path) -> None:
    root = healthy_node(tmp_path)
    write(root, "etc/systemd/system/pbm-agent.service.d/override.conf", "[Service]\nRestart=always\n")
    status, reason, fix = results(root)["systemd_restart_policy_safe"]
    assert status is Status.FAIL and reason.startswith("pbm-agent.service has Restart=always")
    assert "systemctl edit pbm-agent" in fix


def test_textfile_is_valid_and_written_atomically(tmp_path: Path) -> None:
    root = healthy_node(tmp_path / "node")
    facts = inspect_node(str(root), "/mnt/pbm")
    out_dir = tmp_path / "textfile"
    out_dir.mkdir()
    target = out_dir / FILE_NAME
    seen: list[str] = []
    stop = threading.Event()

    def watch() -> None:  # a reader racing the writer, as node_exporter does: never a partial file
        while not stop.is_set():
            if target.exists():
                seen.append(target.read_text())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for i in range(50):
            write_results(str(out_dir), run_node_checks(facts, ME), ME, 1_800_000_000.0 + i)
    finally:
        stop.set()
        watcher.join()
    assert seen and all(text.endswith("\n") and "pmm_backup_prereq_node_check_timestamp_seconds" in text
                        for text in seen)
    text = target.read_text()
    promtool_check(text)
    assert ('pmm_backup_prereq_ok{check="pbm_agent_uri_configured",cluster="prod-rs",node="db1:27017",'
            'replica_set="rs0"} 1.0') in text
    assert sorted(p.name for p in out_dir.iterdir()) == [FILE_NAME]  # no temporary file left behind


def test_node_check_command(tmp_path: Path) -> None:
    root = healthy_node(tmp_path / "node")
    write(root, "etc/systemd/system/mongod.service.d/restart.conf", "[Service]\nRestart=always\n")
    out_dir = tmp_path / "textfile"
    out_dir.mkdir()
    command = [sys.executable, "-m", "exporter", "node-check", "--root", str(root), "--cluster", "prod-rs",
               "--node", "db1:27017", "--storage-path", "/mnt/pbm", "--textfile-dir", str(out_dir)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    # Restart=always breaks a physical restore only: PBM stops mongod, and systemd would start it again
    assert done.stdout.startswith("prod-rs, node db1:27017: READY for logical backups (11 pass, 1 fail, 0 unknown)\n"
                                  "  operations: logical_backup READY · physical_backup UNKNOWN · pitr READY · "
                                  "logical_restore READY · physical_restore BLOCKED · pitr_restore READY\n")
    assert "FAIL     systemd_restart_policy_safe" in done.stdout and "blocks physical_restore" in done.stdout
    document = json.loads(subprocess.run([*command, "--output", "json", "--no-textfile"], capture_output=True,
                                         text=True, timeout=60).stdout)
    assert {c["check"] for c in document["clusters"][0]["checks"]} >= {"pbm_installed", "single_mongod_per_node"}
    textfile = (out_dir / FILE_NAME).read_text()
    assert 'check="systemd_restart_policy_safe",cluster="prod-rs",node="db1:27017",replica_set="rs0"} 0.0' in textfile
    assert ('pmm_backup_prereq_blocking{check="systemd_restart_policy_safe",cluster="prod-rs",node="db1:27017",'
            'operation="physical_restore",replica_set="rs0"} 1.0') in textfile
    assert "Sup3rS3cret" not in done.stdout + done.stderr
    missing = subprocess.run([sys.executable, "-m", "exporter", "node-check", "--root", str(root), "--cluster", "x",
                              "--textfile-dir", str(tmp_path / "nope")], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "cannot write to" in missing.stderr


def test_shipped_systemd_units_verify(tmp_path: Path) -> None:
    """systemd itself accepts the units (with the exporter's path pointed at a binary that exists here)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    units = Path(__file__).resolve().parent.parent / "deploy" / "systemd"
    for unit in [*units.glob("*.service"), *units.glob("*.timer")]:
        text = unit.read_text().replace("/usr/local/bin/pmm-backup-prereq-exporter", "/bin/true")
        (tmp_path / unit.name).write_text(text)
    done = subprocess.run([analyze, "verify", *sorted(str(p) for p in tmp_path.iterdir())], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    service = (units / "pmm-backup-prereq-node-check.service").read_text()
    assert "pmm-backup-prereq-node-check --output none --cluster" in service  # flags the command really has


def test_mongod_missing_from_pbm_agents_path(tmp_path: Path) -> None:
    # a physical restore starts mongod from pbm-agent's PATH (pbm/restore/physical.go startMongo)
    root = healthy_node(tmp_path)
    (root / "usr/bin/mongod").rename(root / "opt-mongod")
    write(root, "usr/local/mongodb/bin/mongod", "", 0o755)
    write(root, "etc/systemd/system/pmm-agent.service.d/path.conf",
          "[Service]\nEnvironment=PATH=/usr/local/mongodb/bin:/usr/bin\n")
    out = results(root)
    assert out["mongod_on_pmm_agent_path"][0] is Status.PASS  # pmm-agent's PATH has it; pbm-agent's does not
    status, reason, fix = out["mongod_on_pbm_agent_path"]
    assert status is Status.FAIL and reason.startswith("mongod is not on pbm-agent's PATH (/usr/local/sbin:")
    assert "sudo systemctl edit pbm-agent" in fix
    write(root, "etc/systemd/system/pbm-agent.service.d/path.conf",
          "[Service]\nEnvironment=PATH=/usr/local/mongodb/bin:/usr/bin\n")
    assert results(root)["mongod_on_pbm_agent_path"][:2] == (
        Status.PASS, "mongod at /usr/local/mongodb/bin/mongod on pbm-agent's PATH, executable by mongod")


@pytest.mark.parametrize(("conf", "mode", "expected"), [
    ("storage:\n  dbPath: /var/lib/mongo\n", 0o700, Status.PASS),
    ("storage:\n  dbPath: /var/lib/mongo\n", 0o500, Status.FAIL),  # read-only: no physical restore
    ("storage:\n  dbPath: /srv/none\n", 0o700, Status.FAIL),
    ("storage: [unclosed\n", 0o700, Status.UNKNOWN),
    ("net:\n  port: 27017\n", 0o700, Status.FAIL),  # mongod's default /data/db, absent here
])
def test_dbpath_accessible_by_pbm_agent(tmp_path: Path, conf: str, mode: int, expected: Status) -> None:
    root = healthy_node(tmp_path)
    write(root, "etc/mongod.conf", conf)
    (root / "var/lib/mongo").chmod(mode)
    status, reason, fix = results(root)["dbpath_accessible_by_pbm_agent"]
    assert status is expected, reason
    if expected is Status.FAIL and "cannot read and write" in reason:
        assert "pbm-agent's user mongod cannot read and write mongod's dbPath /var/lib/mongo" in reason
        assert "chown" in fix
    if expected is Status.UNKNOWN:
        assert "/etc/mongod.conf line 1: storage.dbPath is written in YAML node-check does not read" in reason


def test_a_containerized_mongod_is_a_warning(tmp_path: Path) -> None:
    root = healthy_node(tmp_path)
    write(root, "proc/812/cgroup", "0::/kubepods/besteffort/pod1234/cri-containerd-abcd\n")
    facts = inspect_node(str(root), "/mnt/pbm", hostnames=("db1",))
    result = next(r for r in run_node_checks(facts, ME) if r.check == "containerized_node")
    assert result.status is Status.FAIL and result.blocks == ()
    assert "mongod (pid 812) has the cgroup 0::/kubepods" in result.reason and "percona/pmm#1552" in result.reason
    write(root, ".dockerenv", "")
    assert "/.dockerenv exists" in results(root)["containerized_node"][1]


def test_a_pbm_cli_of_another_version_than_the_agent_is_a_warning(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    root = healthy_node(tmp_path)
    write(root, "usr/bin/pbm", "#!/bin/sh\necho 'Version:   2.3.1'\n", 0o755)
    facts = inspect_node(str(root), "/mnt/pbm", hostnames=("db1",))
    result = next(r for r in run_node_checks(facts, ME) if r.check == "pbm_cli_matches_agent")
    assert result.status is Status.FAIL and result.blocks == ()
    assert result.reason.startswith("pbm at /usr/bin/pbm is 2.3.1, and pbm-agent (/usr/bin/pbm-agent) 2.7.0")
    write(root, "usr/bin/pbm", "#!/bin/sh\nexec sleep 30\n", 0o755)  # hangs: far past the timeout below
    monkeypatch.setattr(node_inspect, "VERSION_TIMEOUT", 0.5)
    status, reason, _ = results(root)["pbm_cli_matches_agent"]
    assert status is Status.UNKNOWN and reason == "`/usr/bin/pbm version` did not answer within 0.5 s"
    write(root, "usr/bin/pbm", "#!/bin/sh\necho oops\nexit 3\n", 0o755)
    assert results(root)["pbm_cli_matches_agent"][1] == "`/usr/bin/pbm version` printed no version (exit 3)"


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root, as node-check's service has")
def test_pbm_and_pbm_agent_report_their_versions_as_the_users_that_run_them() -> None:
    """PMM runs pbm as pmm-agent's user, systemd runs pbm-agent as its unit's User=: a root node-check asks each
    binary as that user (here the fake binaries print the uid they ran as in their version)."""
    base = Path(tempfile.mkdtemp(prefix="node-as-users-"))
    try:
        base.chmod(0o755)  # the users switched to must reach the fake node's binaries
        root = healthy_node(base / "node")
        for binary in ("pbm", "pbm-agent"):
            write(root, f"usr/bin/{binary}", "#!/bin/sh\necho \"Version:   2.7.$(id -u)\"\n", 0o755)
        for as_users, expected in ((True, "pbm at /usr/bin/pbm is 2.7.997, and pbm-agent (/usr/bin/pbm-agent) 2.7.998"),
                                   (False, "pbm and pbm-agent are both 2.7.0")):
            facts = inspect_node(str(root), "/mnt/pbm", hostnames=("db1",), as_users=as_users)
            result = next(r for r in run_node_checks(facts, ME) if r.check == "pbm_cli_matches_agent")
            assert result.reason.startswith(expected), result
    finally:
        shutil.rmtree(base)


NODE_FILES = ["etc/pbm-agent.yaml", "etc/mongod.conf", "etc/default/pbm-agent",
              "etc/systemd/system/pbm-agent.service.d/fuzz.conf", "etc/systemd/system/mongod.service.d/fuzz.conf"]
FILE_TEXT = (st.binary(max_size=300) | st.text(max_size=300).map(str.encode)
             | st.sampled_from([b"mongodb-uri: [", b"storage:\n  dbPath: 7\n", b"storage: x\n", b"- a\n- b\n",
                                b"[Service]\nExecStart=/usr/bin/pbm-agent -f /etc/pbm-agent.yaml\n",
                                b"[Service]\nExecStart=/usr/bin/pbm-agent --mongodb-uri='unbalanced\n",
                                b"PBM_MONGODB_URI=mongodb://u:Sup3rS3cret@[::1/\n", b"\xff\xfe\x00"]))


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.dictionaries(st.sampled_from(NODE_FILES), FILE_TEXT, max_size=4))
def test_any_node_files_give_sound_results(tmp_path_factory: pytest.TempPathFactory,
                                           files: dict[str, bytes]) -> None:
    """Configs that are malformed, binary or odd give reasons, never a traceback, and never print the password."""
    root = healthy_node(tmp_path_factory.mktemp("node"))
    write(root, "etc/systemd/system/pbm-agent.service.d/config.conf",
          "[Service]\nExecStart=\nExecStart=/usr/bin/pbm-agent -f /etc/pbm-agent.yaml\n")
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    facts = inspect_node(str(root), "/mnt/pbm", hostnames=("db1",))
    out = run_node_checks(facts, ME)
    assert {r.check for r in out} == set(NODE_CHECKS)
    for r in out:
        assert "internal error" not in r.reason, r
        assert r.reason.strip() and "Sup3rS3cret" not in r.reason + r.fix, r
