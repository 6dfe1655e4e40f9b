"""The HTTP side an operator lives with: readiness, the JSON status, TLS and basic auth, reload, log lines."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
import requests

from pbm_pmm_simulator import SimReplicaSet
from tests.certs import make_certs
from tests.exporter_process import COMMAND, WAIT, Exporter, env, write_config


@pytest.fixture
def rs() -> Iterator[SimReplicaSet]:
    with SimReplicaSet() as replica_set:
        yield replica_set


def test_ready_only_after_the_first_cycle_and_healthy_always(tmp_path: Path, rs: SimReplicaSet) -> None:
    release = threading.Event()  # the first probe cycle waits on the primary until the test lets it go on
    rs.members[0].on_receive("replSetGetStatus", lambda: release.wait(WAIT))
    exporter = Exporter("--config", write_config(tmp_path, rs, timeout="30s", interval="60s"))
    try:
        assert exporter.get("/-/healthy") == "OK\n"
        with pytest.raises(urllib.error.HTTPError) as not_ready:
            exporter.get("/-/ready")
        assert not_ready.value.code == 503
        release.set()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                assert exporter.get("/-/ready") == "OK\n"
                break
            except urllib.error.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("never ready")
    finally:
        release.set()
        exporter.terminate()


def test_api_status_is_the_check_commands_json(tmp_path: Path, rs: SimReplicaSet) -> None:
    rs.members[2].stop_agent(at=rs.cluster_time().time - 200)
    config = write_config(tmp_path, rs, timeout="2s", interval="30s")
    exporter = Exporter("--config", config)
    try:
        exporter.metrics_when(r"^pmm_backup_prereq_cluster_ready")
        served = json.loads(exporter.get("/api/status"))
    finally:
        exporter.terminate()
    printed = json.loads(subprocess.run([*COMMAND, "check", "--config", config, "--output", "json"], env=env(),
                                        capture_output=True, text=True, timeout=60).stdout)

    def shape(document: dict) -> list:  # type: ignore[type-arg]
        return [(c["cluster"], c["ready"], sorted((x["check"], x["node"], x["status"]) for x in c["checks"]))
                for c in document["clusters"]]

    assert set(served) == set(printed) and set(served["clusters"][0]) == set(printed["clusters"][0])
    assert shape(served) == shape(printed)
    assert served["clusters"][0]["ready"] is True  # a secondary's agent: backups run, a physical restore not
    assert served["clusters"][0]["operations"]["physical_restore"] == "blocked"


def _web_config(tmp_path: Path, client_auth: str = "NoClientCert") -> tuple[Path, Path]:
    certs = make_certs(tmp_path / "certs")
    hashed = bcrypt.hashpw(b"scrape-Pa55", bcrypt.gensalt(rounds=4)).decode().replace("$2b$", "$2y$", 1)
    web = tmp_path / "web.yml"
    web.write_text(f"""tls_server_config:
  cert_file: {certs.server_cert}
  key_file: {certs.server_key}
  client_auth_type: {client_auth}
  client_ca_file: {certs.ca}
http_server_config:
  headers:
    X-Content-Type-Options: nosniff
basic_auth_users:
  pmm: '{hashed}'
""")
    return web, certs.ca


def test_tls_and_basic_auth_the_prometheus_way(tmp_path: Path, rs: SimReplicaSet) -> None:
    web, ca = _web_config(tmp_path)
    exporter = Exporter("--config", write_config(tmp_path, rs), "--web.config.file", str(web))
    url = f"https://127.0.0.1:{exporter.port}"
    try:
        ok = requests.get(f"{url}/metrics", auth=("pmm", "scrape-Pa55"), verify=str(ca), timeout=5)
        assert ok.status_code == 200 and "pmm_backup_prereq_exporter_build_info" in ok.text
        assert ok.headers["X-Content-Type-Options"] == "nosniff"
        assert requests.get(f"{url}/metrics", verify=str(ca), timeout=5).status_code == 401
        assert requests.get(f"{url}/", auth=("pmm", "wrong"), verify=str(ca), timeout=5).status_code == 401
        assert requests.get(f"{url}/metrics", auth=("nobody", "x"), verify=str(ca), timeout=5).status_code == 401
        assert requests.get(f"{url}/-/healthy", verify=str(ca), timeout=5).status_code == 200  # liveness stays open
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"http://127.0.0.1:{exporter.port}/metrics", timeout=5)  # plain HTTP is refused
    finally:
        _, _, log = exporter.terminate()
    assert "scrape-Pa55" not in log


def test_client_certificates_can_be_required(tmp_path: Path, rs: SimReplicaSet) -> None:
    web, ca = _web_config(tmp_path, "RequireAndVerifyClientCert")
    certs = tmp_path / "certs"
    exporter = Exporter("--config", write_config(tmp_path, rs), "--web.config.file", str(web))
    url = f"https://127.0.0.1:{exporter.port}/metrics"
    try:
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url, auth=("pmm", "scrape-Pa55"), verify=str(ca), timeout=5)
        ok = requests.get(url, auth=("pmm", "scrape-Pa55"), verify=str(ca), timeout=5,
                          cert=(str(certs / "client.crt"), str(certs / "client.key")))
        assert ok.status_code == 200
    finally:
        exporter.terminate()


@pytest.mark.parametrize(("content", "expected"), [
    ("tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n", "cannot load cert_file/key_file"),
    ("basic_auth_users:\n  pmm: plain-text-password\n", "basic_auth_users.pmm: not a bcrypt hash"),
    ("tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", "cipher_suites: not supported"),
    ("colour: red\n", "colour: unknown key"),
])
def test_bad_web_config_is_refused_at_start(tmp_path: Path, rs: SimReplicaSet, content: str, expected: str) -> None:
    web = tmp_path / "web.yml"
    web.write_text(content)
    done = subprocess.run([*COMMAND, "--config", write_config(tmp_path, rs), "--web.config.file", str(web)],
                          env=env(), capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and expected in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_reload_swaps_config_and_keeps_unchanged_clusters(tmp_path: Path) -> None:
    with SimReplicaSet(name="rsA") as a, SimReplicaSet(name="rsB") as b:
        config = tmp_path / "exporter.yml"
        uri_a = a.uri(password="${TEST_MONGO_PASSWORD}").replace("%24%7BTEST_MONGO_PASSWORD%7D",
                                                                 "${TEST_MONGO_PASSWORD}")
        uri_b = b.uri(password="${TEST_MONGO_PASSWORD}").replace("%24%7BTEST_MONGO_PASSWORD%7D",
                                                                 "${TEST_MONGO_PASSWORD}")
        config.write_text(f"interval: 1s\ntimeout: 1s\nclusters:\n  - name: alpha\n    uri: {uri_a}\n")
        exporter = Exporter("--config", str(config), "--log.format", "json")
        try:
            exporter.metrics_when(r'^pmm_backup_prereq_cluster_ready\{cluster="alpha"\}')
            # SIGHUP with a second cluster: alpha's series never go away, beta's appear
            config.write_text(f"interval: 1s\ntimeout: 1s\nclusters:\n  - name: alpha\n    uri: {uri_a}\n"
                              f"  - name: beta\n    uri: {uri_b}\n")
            exporter.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + WAIT  # beta's first probe: a bound, not a guess at how long it takes
            while True:
                text = exporter.get("/metrics")
                assert 'pmm_backup_prereq_cluster_ready{cluster="alpha"}' in text
                if 'pmm_backup_prereq_cluster_ready{cluster="beta"}' in text:
                    break
                assert time.monotonic() < deadline, "beta never appeared"
                time.sleep(0.1)
            # an invalid config is refused with its reason, and the running one stays
            config.write_text("interval: 1s\nclusters:\n  - name: alpha\n    colour: red\n")
            refused = requests.post(f"http://127.0.0.1:{exporter.port}/-/reload", timeout=10)
            assert refused.status_code == 400
            assert f"{config}:4: clusters[0].colour: unknown key" in refused.text
            text = exporter.get("/metrics")
            assert 'cluster="alpha"' in text and 'cluster="beta"' in text
            # POST /-/reload with a valid config dropping beta
            config.write_text(f"interval: 1s\ntimeout: 1s\nclusters:\n  - name: alpha\n    uri: {uri_a}\n")
            assert requests.post(f"http://127.0.0.1:{exporter.port}/-/reload", timeout=10).status_code == 200
            text = exporter.get("/metrics")
            assert 'cluster="beta"' not in text and 'pmm_backup_prereq_cluster_ready{cluster="alpha"}' in text
        finally:
            code, _, log = exporter.terminate()
    assert code == 0
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    messages = [line["msg"] for line in lines]
    assert any(m.startswith("config reload failed, keeping the running config:") for m in messages)
    assert sum(m.startswith("config reloaded: ") for m in messages) == 2
    assert {line["level"] for line in lines} <= {"info", "warning", "error"}


def signal_thread(pid: int, tid: int, sig: int) -> None:
    """Send a signal to one thread of another process, as the kernel may pick any thread for kill()."""
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "tgkill"):
        pytest.skip("this C library has no tgkill")
    if libc.tgkill(pid, tid, sig) != 0:
        raise OSError(ctypes.get_errno(), "tgkill")


def test_signals_that_another_thread_receives_act_at_once(tmp_path: Path, rs: SimReplicaSet) -> None:
    path = Path(write_config(tmp_path, rs))
    exporter = Exporter("--config", str(path))
    pid = exporter.proc.pid
    try:
        exporter.metrics_when(r'^pmm_backup_prereq_cluster_ready\{cluster="prod-rs"\}')
        # the oldest thread after the main one: long-lived (the HTTP server runs a short one per request)
        helper = min(int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid)
        path.write_text(path.read_text().replace("name: prod-rs", "name: renamed-rs"))
        signal_thread(pid, helper, signal.SIGHUP)
        # the bug was a signal never acted on (until another one came): generous bounds still catch it, short ones
        # would race a loaded machine
        text = exporter.metrics_when(r'^pmm_backup_prereq_cluster_ready\{cluster="renamed-rs"\}')
        assert 'pmm_backup_prereq_cluster_ready{cluster="renamed-rs"}' in text, "SIGHUP was not acted on"
        signal_thread(pid, helper, signal.SIGTERM)
        try:
            exporter.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            raise AssertionError("SIGTERM was not acted on") from None
    finally:
        code = exporter.terminate()[0] if exporter.proc.poll() is None else exporter.proc.returncode
    assert code == 0


def test_a_probe_failure_is_logged_once_per_state_change(tmp_path: Path, rs: SimReplicaSet) -> None:
    exporter = Exporter("--config", write_config(tmp_path, rs, timeout="1s", interval="1s"))
    try:
        exporter.metrics_when(r'^pmm_backup_prereq_probe_success\{cluster="prod-rs",target="mongodb"\} 1')
        rs.stop()
        exporter.metrics_when(r'^pmm_backup_prereq_probe_success\{cluster="prod-rs",target="mongodb"\} 0')
        exporter.cycles_after(exporter.cycles(), 3)  # three more failing cycles: counted, not guessed from a sleep
        rs.start()
        exporter.metrics_when(r'^pmm_backup_prereq_probe_success\{cluster="prod-rs",target="mongodb"\} 1')
    finally:
        _, _, log = exporter.terminate()
    failures = [line for line in log.splitlines() if "probe failed" in line]
    assert len(failures) == 1, failures
    assert failures[0].startswith("ts=") and " level=warning " in failures[0]
    assert sum("probe succeeds again" in line for line in log.splitlines()) == 1
    assert "secret" not in log


def test_metrics_are_served_gzipped_when_asked(tmp_path: Path, rs: SimReplicaSet) -> None:
    exporter = Exporter("--config", write_config(tmp_path, rs))
    try:
        plain = exporter.metrics_when(r"^pmm_backup_prereq_cluster_ready")
        zipped = requests.get(f"http://127.0.0.1:{exporter.port}/metrics", headers={"Accept-Encoding": "gzip"},
                              timeout=5)
        assert zipped.headers["Content-Encoding"] == "gzip"
        text = zipped.text  # requests inflates every gzip member of the stream
        assert "pmm_backup_prereq_cluster_ready{" in text and "process_resident_memory_bytes" in text
        assert text.splitlines()[:5] == plain.splitlines()[:5]
        openmetrics = requests.get(f"http://127.0.0.1:{exporter.port}/metrics",
                                   headers={"Accept": "application/openmetrics-text; version=1.0.0"}, timeout=5)
        assert openmetrics.text.endswith("# EOF\n") and openmetrics.text.count("# EOF") == 1
    finally:
        exporter.terminate()
