"""No secret ever leaves the exporter, and it only ever reads.

The exporter runs as a user runs it (a subprocess, `--log.level debug`) against a simulated replica set, a
simulated sharded cluster and a simulated PMM Server, with known secrets everywhere: the MongoDB passwords (in the
config, in the environment, in a uri_file, a password_file and a shard_uris entry), the PMM token, the S3 keys of
PMM's storage location and of PBM's config. Everything it emits is collected: the debug log, /metrics, the status
page, /api/status, `check` and `check --output json`, and its error messages while things go wrong (a wrong
password, PMM answering 401, an unreachable node, an invalid config holding a secret, a refused reload). No secret
may appear in any of it, in clear or URL-encoded.

Every simulated node records each command it received: only reads may be among them, in a replica-set run, a
sharded run and a discovery run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from pbm_pmm_simulator import PMM_USER_ROLES, SimNode, SimReplicaSet, SimShardedCluster, SimUser
from pbm_pmm_simulator.pmm_server import SimPMMServer
from pbm_pmm_simulator.query import project
from tests.exporter_process import COMMAND, WAIT, Exporter

MONGO_PW = "Mongo-Pw!7xQ2v"  # in the environment, ${NS_MONGO_PW} in the config; URL-encoded in URIs
FILE_PW = "UriFile-Pw-7xQ2v"  # in a uri_file
SHARD_PW = "Shard-Pw-7xQ2v"  # in shard_uris
DISCOVERY_PW = "Discovery-Pw-7xQ2v"  # in mongodb.password_file
WRONG_PW = "Wrong-Pw-7xQ2v"  # a password the servers reject
PMM_TOKEN = "glsa_NoSecretsToken_7xQ2v"
WRONG_TOKEN = "glsa_WrongToken_7xQ2v"
PMM_ACCESS_KEY, PMM_SECRET_KEY = "AKIAPMMLOCATION7XQ2V", "Pmm/Location+Secret/7xQ2v"
PBM_ACCESS_KEY, PBM_SECRET_KEY = "AKIAPBMCONFIG7XQ2V", "Pbm/Config+Secret/7xQ2v"
INVALID_PW = "Invalid-Config-Pw-7xQ2v"  # only in config files that do not load
SECRETS = [MONGO_PW, FILE_PW, SHARD_PW, DISCOVERY_PW, WRONG_PW, PMM_TOKEN, WRONG_TOKEN, PMM_ACCESS_KEY,
           PMM_SECRET_KEY, PBM_ACCESS_KEY, PBM_SECRET_KEY, INVALID_PW]

# What the exporter may send: the handshake and authentication, then the reads its README lists
READ_COMMANDS = {"hello", "isMaster", "ismaster", "saslStart", "saslContinue", "authenticate", "ping", "buildInfo",
                 "buildinfo", "replSetGetStatus", "replSetGetConfig", "connectionStatus", "find", "getMore",
                 "killCursors", "endSessions", "listShards", "getShardMap", "balancerStatus", "currentOp", "usersInfo",
                 "getParameter"}

USERS = [SimUser("pmm", MONGO_PW, roles=PMM_USER_ROLES), SimUser("filer", FILE_PW, roles=PMM_USER_ROLES),
         SimUser("sharder", SHARD_PW, roles=PMM_USER_ROLES), SimUser("finder", DISCOVERY_PW, roles=PMM_USER_ROLES)]
PBM_CONFIG = {"storage": {"type": "s3", "s3": {
    "region": "us-east-1", "bucket": "pbm-backups", "endpointUrl": "https://s3.example.com", "prefix": "pmm",
    "credentials": {"access-key-id": PBM_ACCESS_KEY, "secret-access-key": PBM_SECRET_KEY}}},
    "pitr": {"enabled": False}}


def leaked(text: str) -> list[str]:
    """The secrets found in `text`, in clear or URL-encoded."""
    return [s for s in SECRETS if any(form in text for form in {s, quote(s, safe=""), quote_plus(s)})]


def assert_read_only(nodes: list[SimNode]) -> None:
    """Only reads reached the nodes, and PBM's config was read without its storage credentials."""
    seen: set[str] = set()
    config_reads = 0
    for node in nodes:
        assert node.commands_seen, f"{node} never saw the exporter"
        seen |= set(node.commands_seen)
        writes = [(name, db, body) for name, db, body in node.command_log if name not in READ_COMMANDS]
        assert not writes, f"{node} received commands that are not reads: {writes[:5]}"
        for name, _, body in node.command_log:
            if name == "find" and body.get("find") == "pbmConfig":
                config_reads += 1
                assert not leaked(repr(project(PBM_CONFIG, body.get("projection")))), body
    assert {"find", "replSetGetStatus"} <= seen and config_reads


@pytest.fixture(scope="module")
def rs() -> Iterator[SimReplicaSet]:
    with SimReplicaSet(users=USERS, pbm_config=PBM_CONFIG) as replica_set:
        yield replica_set


@pytest.fixture(scope="module")
def sharded() -> Iterator[SimShardedCluster]:
    with SimShardedCluster(users=USERS, pbm_config=PBM_CONFIG) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def pmm(rs: SimReplicaSet) -> Iterator[SimPMMServer]:
    with SimPMMServer(version="3.4.0", token=PMM_TOKEN) as server:
        server.add_location_s3("s3-main", "pbm-backups", "https://s3.example.com", PMM_ACCESS_KEY, PMM_SECRET_KEY)
        server.register_replica_set(rs, cluster="prod-rs")
        yield server


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NS_MONGO_PW", MONGO_PW)
    monkeypatch.setenv("NS_PMM_TOKEN", PMM_TOKEN)


def uri(hosts: list[str], user: str, password: str, replica_set: str | None = None) -> str:
    query = f"?replicaSet={replica_set}&authSource=admin" if replica_set else "?authSource=admin"
    return f"mongodb://{user}:{quote(password, safe='')}@{','.join(hosts)}/{query}"


def write_config(tmp_path: Path, rs: SimReplicaSet, sharded: SimShardedCluster, pmm: SimPMMServer,
                 token: str = "${NS_PMM_TOKEN}", name: str = "exporter.yml") -> Path:
    (tmp_path / "file.uri").write_text(uri(rs.hosts, "filer", FILE_PW, rs.name) + "\n")
    shard0 = sharded.shards[0]
    config = tmp_path / name
    config.write_text(f"""interval: 2s
timeout: 2s
pmm:
  url: {pmm.url}
  token: {token}
clusters:
  - name: prod-rs
    uri: "mongodb://pmm:${{NS_MONGO_PW}}@{','.join(rs.hosts)}/?replicaSet={rs.name}&authSource=admin"
  - name: file-rs
    uri_file: file.uri
  - name: wrong-pw
    uri: "{uri(rs.hosts, 'pmm', WRONG_PW, rs.name)}"
  - name: big
    uri: "{uri([sharded.mongos.host], 'pmm', MONGO_PW)}"
    shard_uris:
      {shard0.name}: "{uri(shard0.hosts, 'sharder', SHARD_PW, shard0.name)}"
""")
    return config


def invalid_config(tmp_path: Path) -> Path:
    config = tmp_path / "invalid.yml"
    config.write_text(f"""interval: 2s
pmm:
  url: https://admin:{INVALID_PW}@pmm.example.com
  token: {INVALID_PW}
clusters:
  - name: bad
    uri: "mongodb://pmm:{INVALID_PW}@db1:notaport/?replicaSet=rs0"
    passwrd: {INVALID_PW}
  - name: bad2
    uri: "http://pmm:{INVALID_PW}@db1/"
    shard_uris:
      shard0: "mongodb+srv://pmm:{INVALID_PW}@db1.example.com/"
""")
    return config


def run(*args: str) -> str:
    done = subprocess.run([*COMMAND, "--log.level", "debug", *args], env={**os.environ}, capture_output=True,
                          text=True, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout + done.stderr


def get(exporter: Exporter, path: str, method: str = "GET") -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{exporter.port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return str(response.read().decode())
    except urllib.error.HTTPError as exc:
        return f"{exc.code} {exc.read().decode()}"


def wait_for(exporter: Exporter, predicate: Any, timeout: float = WAIT) -> dict[str, Any]:
    """The status once `predicate` holds for it: each fault must show before its output is collected."""
    deadline = time.monotonic() + timeout
    while True:
        status = json.loads(exporter.get("/api/status"))
        if predicate(status):
            return status  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, status
        time.sleep(0.2)


def clusters(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["cluster"]: c for c in status["clusters"]}


def pmm_probe(cluster: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in cluster["probes"] if p["target"] == "pmm")


def test_serve_mode_shows_no_secret_even_while_things_go_wrong(
        tmp_path: Path, rs: SimReplicaSet, sharded: SimShardedCluster, pmm: SimPMMServer) -> None:
    config = write_config(tmp_path, rs, sharded, pmm)
    emitted: list[str] = []

    def collect() -> None:
        emitted.extend(get(exporter, path) for path in ("/metrics", "/", "/api/status", "/-/ready"))

    exporter = Exporter("--config", str(config), "--log.level", "debug")
    try:
        status = wait_for(exporter, lambda s: len(s["clusters"]) == 4 and all(
            c["checks"] or c["probes"][0]["error"] for c in s["clusters"]))
        found = clusters(status)
        assert found["prod-rs"]["ready"] is True, found["prod-rs"]
        assert found["file-rs"]["probes"][0]["success"] and found["big"]["probes"][0]["success"]
        assert "uthentication failed" in found["wrong-pw"]["probes"][0]["error"]
        collect()

        pmm.fail_with(401)  # PMM rejects the token for a while
        status = wait_for(exporter, lambda s: not pmm_probe(clusters(s)["prod-rs"])["success"])
        assert "401" in pmm_probe(clusters(status)["prod-rs"])["error"]
        collect()
        pmm.clear_faults()

        rs.members[2].stop()  # a node becomes unreachable
        status = wait_for(exporter, lambda s: any(
            r["status"] == "fail" and r["node"] == rs.members[2].host for r in clusters(s)["prod-rs"]["checks"]))
        collect()
        rs.members[2].start()

        sharded.shards[1].stop()  # a whole shard
        wait_for(exporter, lambda s: any(r["replica_set"] == "shard1" and r["status"] == "unknown"
                                         for r in clusters(s)["big"]["checks"]))
        collect()
        sharded.shards[1].start()

        # an invalid config holding secrets: refused by POST /-/reload and by SIGHUP, the running one stays
        config.write_text(invalid_config(tmp_path).read_text())
        refused = get(exporter, "/-/reload", "POST")
        assert refused.startswith("400 ") and "passwrd: unknown key" in refused, refused
        emitted.append(refused)
        exporter.proc.send_signal(signal.SIGHUP)
        exporter.wait_for_log("config reload failed", count=2)  # the POST's, then the SIGHUP's
        collect()
    finally:
        pmm.clear_faults()
        for node in rs.members:
            node.start()
        sharded.shards[1].start()
        code, _, log = exporter.terminate()
    assert code == 0
    assert log.count("config reload failed") >= 2 and "level=debug" in log  # refused by POST and by SIGHUP
    emitted.append(log)
    everything = "\n".join(emitted)
    assert not leaked(everything), leaked(everything)
    assert_read_only(rs.members)
    assert_read_only([*sharded.config.members, *(m for s in sharded.shards for m in s.members), sharded.mongos])


def test_check_command_shows_no_secret(tmp_path: Path, rs: SimReplicaSet, sharded: SimShardedCluster,
                                       pmm: SimPMMServer) -> None:
    config = write_config(tmp_path, rs, sharded, pmm)
    emitted = [run("check", "--config", str(config)), run("check", "--config", str(config), "--output", "json")]
    assert "prod-rs: READY" in emitted[0] and "wrong-pw: UNKNOWN" in emitted[0], emitted[0]
    document = json.loads(emitted[1][:emitted[1].rindex("}") + 1])
    assert {c["cluster"] for c in document["clusters"]} == {"prod-rs", "file-rs", "wrong-pw", "big"}

    wrong_token = write_config(tmp_path, rs, sharded, pmm, token=WRONG_TOKEN, name="wrong-token.yml")
    emitted.append(run("check", "--config", str(wrong_token)))
    assert "PMM rejected the credentials (401 Unauthorized)" in emitted[-1], emitted[-1]

    rs.members[1].stop()
    try:
        emitted.append(run("check", "--config", str(config), "--output", "json"))
    finally:
        rs.members[1].start()

    done = subprocess.run([*COMMAND, "--log.level", "debug", "check", "--config", str(invalid_config(tmp_path))],
                          env={**os.environ}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "passwrd: unknown key" in done.stderr, done.stderr
    emitted.append(done.stdout + done.stderr)
    everything = "\n".join(emitted)
    assert not leaked(everything), leaked(everything)
    assert_read_only(rs.members)
    assert_read_only([*sharded.config.members, *(m for s in sharded.shards for m in s.members), sharded.mongos])


def test_discovery_shows_no_secret_and_only_reads(tmp_path: Path, pmm: SimPMMServer) -> None:
    with SimReplicaSet(name="rsD", users=USERS, pbm_config=PBM_CONFIG) as discovered:
        pmm.register_replica_set(discovered, cluster="disc", style="loopback")
        (tmp_path / "mongodb-password").write_text(DISCOVERY_PW + "\n")
        config = tmp_path / "discovery.yml"
        config.write_text(f"""pmm:
  url: {pmm.url}
  token: ${{NS_PMM_TOKEN}}
discovery:
  from_pmm: true
mongodb:
  username: finder
  password_file: mongodb-password
""")
        emitted = [run("check", "--config", str(config)), run("check", "--config", str(config), "--output", "json")]
        assert "disc (from PMM): READY" in emitted[0], emitted[0]
        assert "prod-rs (from PMM)" in emitted[0]
        discovered.members[0].stop()
        try:
            emitted.append(run("check", "--config", str(config)))
        finally:
            discovered.members[0].start()
        everything = "\n".join(emitted)
        assert not leaked(everything), leaked(everything)
        assert_read_only(discovered.members)
