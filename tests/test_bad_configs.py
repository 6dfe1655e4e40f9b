"""Broken config files, as users write them, against the real command: each must exit 2 with a message that names
the file, line and key, never a traceback, and never a secret written in the file.

`check` and the serve mode load the config the same way; the serve mode is also run for a few cases, and for
`--web.config.file` problems, which only it reads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

COMMAND = [sys.executable, "-m", "exporter"]
SECRET = "Hunter2-s3cret-Zq9"  # written in the files (or set in the environment) of every case
TOKEN = "glsa_Secr3tToken_Zq9"
GOOD_URI = f"mongodb://pmm:{SECRET}@db1:27017,db2:27017/?replicaSet=rs0"
CLUSTER = f"clusters:\n  - name: prod-rs\n    uri: {GOOD_URI}\n"
PMM = f"pmm:\n  url: https://pmm.example.com\n  token: {TOKEN}\n"
BCRYPT = "$2y$04$0RmTq8vKsuEwH9VAVsAbnO5Gm1dnzA7fkDcF8UwCcJMZBJ0rmygKK"  # any valid hash


@dataclass(frozen=True)
class Case:
    id: str
    text: str | bytes
    expected: list[str]  # each a line of stderr after "  ", "{file}" standing for the config's path
    files: dict[str, str | bytes] = field(default_factory=dict)  # more files next to the config
    serve: bool = False  # also run the serve mode
    web: str | bytes | None = None  # a --web.config.file (then only the serve mode reads it)
    xfail: str = ""  # a known bug, outside what these tests may fix


CASES = [
    # types
    Case("interval-list", f"interval: [1, 2]\n{CLUSTER}",
         ["{file}:1: interval: must be a duration such as 30s, 1m or 1m30s"]),
    Case("clusters-mapping", f"clusters:\n  name: prod-rs\n  uri: {GOOD_URI}\n",
         ["{file}:1: clusters: Input should be a valid list"]),
    Case("name-number", f"clusters:\n  - name: 12\n    uri: {GOOD_URI}\n",
         ["{file}:2: clusters[0].name: Input should be a valid string"]),
    Case("uri-number", "clusters:\n  - name: a\n    uri: 27017\n",
         ["{file}:3: clusters[0].uri: Input should be a valid string"]),
    Case("password-number", f"{PMM}discovery: {{from_pmm: true}}\nmongodb:\n  username: pmm\n  password: 123456789\n",
         ["{file}:7: mongodb.password: Input should be a valid string"], serve=True),
    Case("token-number", "pmm:\n  url: https://pmm.example.com\n  token: 987654321\n" + CLUSTER,
         ["{file}:3: pmm.token: Input should be a valid string"]),
    Case("restore-from-pmm-string", f"{CLUSTER}    restore_from_pmm: 'yes'\n",
         ["{file}:4: clusters[0].restore_from_pmm: Input should be a valid boolean"]),
    Case("options-list", f"{PMM}discovery: {{from_pmm: true}}\nmongodb:\n  username: pmm\n  password: {SECRET}\n"
                         "  options: [tls]\n",
         ["{file}:8: mongodb.options: Input should be a valid dictionary"]),
    # unknown keys, at every level
    Case("unknown-top", f"intervall: 30s\n{CLUSTER}", ["{file}:1: intervall: unknown key"], serve=True),
    Case("unknown-cluster", f"{CLUSTER}    passwrd: {SECRET}\n", ["{file}:4: clusters[0].passwrd: unknown key"]),
    Case("unknown-pmm", f"{PMM}  tokn: {SECRET}\n{CLUSTER}", ["{file}:4: pmm.tokn: unknown key"]),
    Case("unknown-discovery", f"{PMM}discovery:\n  from_pm: true\n{CLUSTER}",
         ["{file}:5: discovery.from_pm: unknown key"]),
    Case("unknown-override", f"{PMM}discovery:\n  from_pmm: true\n  overrides:\n    legacy:\n      pasword: {SECRET}\n"
                             "mongodb: {username: pmm}\n",
         ["{file}:8: discovery.overrides.legacy.pasword: unknown key"]),
    Case("unknown-mongodb", f"{PMM}discovery: {{from_pmm: true}}\nmongodb:\n  user: pmm\n",
         ["{file}:6: mongodb.user: unknown key"]),
    # environment variables
    Case("env-unset", "clusters:\n  - name: a\n    uri: mongodb://pmm:${SURELY_UNSET_VAR_Zq9}@db1:27017/\n",
         ["{file}:3: clusters[0].uri: environment variable SURELY_UNSET_VAR_Zq9 is not set"], serve=True),
    Case("env-unset-token", "pmm:\n  url: https://pmm.example.com\n  token: ${SURELY_UNSET_TOKEN_Zq9}\n" + CLUSTER,
         ["{file}:3: pmm.token: environment variable SURELY_UNSET_TOKEN_Zq9 is not set"]),
    # URIs
    Case("uri-srv", f"clusters:\n  - name: a\n    uri: mongodb+srv://pmm:{SECRET}@cluster.example.com/\n",
         ["{file}:3: clusters[0].uri: mongodb+srv:// URIs are not supported; list the members' host:port in a "
          "mongodb:// URI"]),
    Case("uri-http", f"clusters:\n  - name: a\n    uri: http://pmm:{SECRET}@db1:27017/\n",
         ["{file}:3: clusters[0].uri: must start with mongodb://"]),
    Case("uri-port", f"clusters:\n  - name: a\n    uri: 'mongodb://pmm:{SECRET}@db1:notaport/'\n",
         ["{file}:3: clusters[0].uri: not a valid MongoDB URI: "]),
    Case("uri-no-host", f"clusters:\n  - name: a\n    uri: 'mongodb://pmm:{SECRET}@/?replicaSet=rs0'\n",
         ["{file}:3: clusters[0].uri: not a valid MongoDB URI: "], serve=True),
    Case("uri-and-uri-file", f"{CLUSTER}    uri_file: prod.uri\n",
         ["{file}:2: clusters[0]: give exactly one of uri or uri_file"]),
    Case("shard-uri", f"{CLUSTER}    shard_uris:\n      shard0: 'mongodb://pmm:{SECRET}@db1:99999999/'\n",
         ["{file}:5: clusters[0].shard_uris.shard0: not a valid MongoDB URI: "]),
    Case("shard-uris-list", f"{CLUSTER}    shard_uris: ['{GOOD_URI}']\n",
         ["{file}:4: clusters[0].shard_uris: Input should be a valid dictionary"]),
    Case("override-uri", f"{PMM}discovery:\n  from_pmm: true\n  overrides:\n    legacy:\n"
                         f"      uri: mongodb+srv://pmm:{SECRET}@legacy.example.com/\n",
         ["{file}:8: discovery.overrides.legacy.uri: mongodb+srv:// URIs are not supported"]),
    # clusters
    Case("duplicate-names", f"{CLUSTER}  - name: prod-rs\n    uri: {GOOD_URI}\n",
         ["{file}:4: clusters[1].name: duplicate cluster name 'prod-rs' (also clusters[0])"], serve=True),
    Case("backup-mode-typo", f"{CLUSTER}    backup_mode: phyiscal\n",
         ["{file}:4: clusters[0].backup_mode: Input should be 'logical' or 'physical'"]),
    Case("pmm-services-list", f"{CLUSTER}    pmm_services: [db1-mongodb]\n",
         ["{file}:4: clusters[0].pmm_services: Input should be a valid dictionary"]),
    Case("pmm-services-value", f"{CLUSTER}    pmm_services:\n      'db1:27017': [db1-mongodb]\n",
         ["{file}:5: clusters[0].pmm_services.db1:27017: Input should be a valid string"]),
    Case("empty-name", f"clusters:\n  - name: ''\n    uri: {GOOD_URI}\n",
         ["{file}:2: clusters[0].name: String should have at least 1 character"]),
    Case("no-clusters", "clusters: []\n",
         ["{file}:1: (top level): list clusters, or discover them from PMM (discovery: {{from_pmm: true}})"]),
    # YAML
    Case("duplicate-key", f"clusters:\n  - name: a\n    uri: {GOOD_URI}\n    uri: mongodb://db9:27017/\n",
         ["{file}:4: clusters[0].uri: duplicate key"], serve=True),
    Case("duplicate-top-key", f"interval: 30s\ninterval: 60s\n{CLUSTER}", ["{file}:2: interval: duplicate key"]),
    Case("list", f"- name: a\n  uri: {GOOD_URI}\n",
         ["{file}:1: the top level must be a mapping of settings (interval, timeout, clusters)"], serve=True),
    Case("scalar", f"{GOOD_URI}\n",
         ["{file}:1: the top level must be a mapping of settings (interval, timeout, clusters)"]),
    Case("empty", "", ["{file}: the config file is empty; it needs at least a clusters: list"], serve=True),
    Case("comments-only", f"# uri: {GOOD_URI}\n",
         ["{file}: the config file is empty; it needs at least a clusters: list"]),
    Case("syntax", f"clusters:\n  - name: a\n    uri: {GOOD_URI}\n   bad: [\n",
         ["{file}:4: not valid YAML: "]),
    Case("tab-indent", f"clusters:\n\t- name: a\n\t  uri: {GOOD_URI}\n", ["{file}:2: not valid YAML: "]),
    Case("not-utf8", f"clusters:\n  - name: a\n    uri: {GOOD_URI}\n".encode() + b"    backup_mode: \xff\xfe\n",
         ["{file}:4: the config file is not UTF-8 text"]),
    Case("alias-loop", f"clusters: &all\n  - name: a\n    uri: {GOOD_URI}\n    pmm_services: *all\n",
         ["{file}:4: clusters[0].pmm_services: a YAML alias here refers to a value that contains it"]),
    Case("alias-bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
         + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(7))
         + f"{CLUSTER}",
         ["{file}: the config file expands to more than 100000 values through YAML aliases"]),
    Case("deep", "clusters: " + "[" * 2000 + "]" * 2000 + "\n",
         ["{file}: not valid YAML for this exporter: values nested too deeply"]),
    # durations
    Case("duration-unitless-string", f"interval: '10'\n{CLUSTER}",
         ["{file}:1: interval: '10' is not a duration; use a number with a unit, such as 30s, 1m or 1m30s"]),
    Case("duration-unit", f"interval: 1x\n{CLUSTER}",
         ["{file}:1: interval: '1x' is not a duration; use a number with a unit, such as 30s, 1m or 1m30s"]),
    Case("duration-negative", f"timeout: -5s\n{CLUSTER}",
         ["{file}:1: timeout: '-5s' is not a duration; use a number with a unit, such as 30s, 1m or 1m30s"]),
    Case("duration-zero", f"interval: 0s\n{CLUSTER}", ["{file}:1: interval: must be greater than zero"]),
    Case("duration-zero-number", f"timeout: 0\n{CLUSTER}", ["{file}:1: timeout: must be greater than zero"]),
    Case("duration-bool", f"interval: true\n{CLUSTER}",
         ["{file}:1: interval: must be a duration such as 30s, 1m or 1m30s"]),
    Case("duration-nan", f"interval: .nan\n{CLUSTER}",
         ["{file}:1: interval: must be a finite duration such as 30s, 1m or 1m30s"], serve=True),
    Case("duration-inf", f"timeout: .inf\n{CLUSTER}",
         ["{file}:1: timeout: must be a finite duration such as 30s, 1m or 1m30s"]),
    Case("duration-huge", f"interval: 400d\ntimeout: 12d\n{CLUSTER}",
         ["{file}:1: interval: must be at most 365d", "{file}:2: timeout: must be at most 1d"]),
    Case("keep-for", f"{PMM}discovery:\n  from_pmm: true\n  keep_for: forever\nmongodb: {{username: pmm}}\n",
         ["{file}:6: discovery.keep_for: 'forever' is not a duration"]),
    Case("timeout-over-interval", f"interval: 10s\ntimeout: 20s\n{CLUSTER}",
         ["{file}:2: timeout: must not be longer than interval (10s)"], serve=True),
    # files the config names
    Case("uri-file-missing", "clusters:\n  - name: a\n    uri_file: missing.uri\n",
         ["{file}:3: clusters[0].uri_file: cannot read {dir}/missing.uri: No such file or directory"], serve=True),
    Case("uri-file-directory", "clusters:\n  - name: a\n    uri_file: adir\n",
         ["{file}:3: clusters[0].uri_file: cannot read {dir}/adir: Is a directory"], files={"adir/x": ""}),
    Case("uri-file-binary", "clusters:\n  - name: a\n    uri_file: bin.uri\n",
         ["{file}:3: clusters[0].uri_file: cannot read {dir}/bin.uri: "],
         files={"bin.uri": b"\xff\xfe" + SECRET.encode()}),
    Case("uri-file-bad-uri", "clusters:\n  - name: a\n    uri_file: bad.uri\n",
         ["{file}:3: clusters[0].uri_file: must start with mongodb://"],
         files={"bad.uri": f"postgres://pmm:{SECRET}@db1/\n"}),
    Case("password-file-missing", f"{PMM}discovery: {{from_pmm: true}}\nmongodb:\n  username: pmm\n"
                                  "  password_file: /nonexistent/mongodb-password\n",
         ["{file}:7: mongodb.password_file: cannot read /nonexistent/mongodb-password: No such file or directory"],
         serve=True),
    Case("ca-file-missing", f"{PMM}  ca_file: missing-ca.pem\n{CLUSTER}",
         ["{file}:4: pmm.ca_file: {dir}/missing-ca.pem is not a readable file"]),
    # pmm
    Case("pmm-url-no-scheme", f"pmm:\n  url: pmm.example.com\n  token: {TOKEN}\n{CLUSTER}",
         ["{file}:2: pmm.url: must be the PMM Server's base URL, such as https://pmm.example.com"]),
    Case("pmm-url-credentials", f"pmm:\n  url: https://admin:{SECRET}@pmm.example.com\n  token: {TOKEN}\n{CLUSTER}",
         ["{file}:2: pmm.url: must not contain credentials; use token, or username and password"], serve=True),
    Case("pmm-url-bad-port", f"pmm:\n  url: 'https://pmm.example.com:99999'\n  token: {TOKEN}\n{CLUSTER}",
         ["{file}:2: pmm.url: port 99999 is not a port number (1 to 65535)"]),
    Case("pmm-token-and-user", f"{PMM}  username: admin\n  password: {SECRET}\n{CLUSTER}",
         ["{file}:1: pmm: give either token or username and password, not both"]),
    Case("pmm-no-credentials", f"pmm:\n  url: https://pmm.example.com\n{CLUSTER}",
         ["{file}:1: pmm: give token (a PMM 3 service-account token or PMM 2 API key) or username and password"]),
    Case("pmm-empty-token", f"pmm:\n  url: https://pmm.example.com\n  token: ''\n{CLUSTER}",
         ["{file}:3: pmm.token: String should have at least 1 character"]),
    Case("pmm-cert-without-key", f"{PMM}  cert_file: client.pem\n{CLUSTER}",
         ["{file}:1: pmm: give both cert_file and key_file"], files={"client.pem": "-----BEGIN CERTIFICATE-----\n"}),
    Case("discovery-without-pmm", "discovery:\n  from_pmm: true\nmongodb: {username: pmm}\n",
         ["{file}:1: (top level): discovery.from_pmm needs the pmm: section (PMM Server's url and token)"]),
    Case("password-and-file", f"{PMM}discovery: {{from_pmm: true}}\nmongodb:\n  username: pmm\n"
                              f"  password: {SECRET}\n  password_file: pw\n",
         ["{file}:5: mongodb: give password or password_file, not both"]),
    # --web.config.file (read by the serve mode only)
    Case("web-unknown-key", CLUSTER, ["{dir}/web.yml: tls_config: unknown key"], web="tls_config: {}\n"),
    Case("web-plain-password", CLUSTER,
         ["{dir}/web.yml: basic_auth_users.pmm: not a bcrypt hash (make one with htpasswd -nBC 10 \"\" | tr -d "
          "':\\n')"],
         web=f"basic_auth_users:\n  pmm: {SECRET}\n"),
    Case("web-missing-cert", CLUSTER, ["{dir}/web.yml: tls_server_config: cannot load cert_file/key_file: "],
         web=f"tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n"
             f"basic_auth_users: {{pmm: '{BCRYPT}'}}\n"),
    Case("web-go-only-key", CLUSTER,
         ["{dir}/web.yml: http_server_config.http2: not supported by this exporter; remove it"],
         web="http_server_config:\n  http2: true\n"),
    Case("web-list", CLUSTER, ["{dir}/web.yml: the top level must be a mapping"], web="- a\n- b\n"),
    Case("web-missing-file", CLUSTER, ["{dir}/nope.yml: cannot read the web config file: No such file or directory"],
         web=""),
    Case("web-not-utf8", CLUSTER, ["{dir}/web.yml: the web config file is not UTF-8 text"],
         web=b"basic_auth_users:\n  pmm: \xff\xfe\n"),
    Case("web-cert-not-a-string", CLUSTER, ["{dir}/web.yml: tls_server_config.cert_file: must be a file path"],
         web="tls_server_config:\n  cert_file: [a.crt]\n  key_file: a.key\n"),
    Case("web-headers-list", CLUSTER,
         ["{dir}/web.yml: http_server_config.headers: must map header names to values"],
         web="http_server_config:\n  headers: [X-A]\n"),
]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TEST_SECRET": SECRET}
    env.pop("SURELY_UNSET_VAR_Zq9", None)
    return subprocess.run([*COMMAND, *args], env=env, capture_output=True, text=True, timeout=60)


def _modes(case: Case) -> list[str]:
    if case.web is not None:
        return ["serve"]
    return ["check", "serve"] if case.serve else ["check"]


RUNS = [(case, mode) for case in CASES for mode in _modes(case)]


@dataclass(frozen=True)
class Outcome:
    config: Path
    directory: Path
    done: subprocess.CompletedProcess[str]


def _prepare_and_run(case: Case, mode: str, directory: Path) -> Outcome:
    config = directory / "exporter.yml"
    config.write_bytes(case.text if isinstance(case.text, bytes) else case.text.encode())
    for name, content in case.files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    args = ["check", "--config", str(config)] if mode == "check" else \
        ["--config", str(config), "--web.listen-address", "127.0.0.1:0"]
    if case.web is not None:
        web = directory / ("web.yml" if case.web else "nope.yml")
        if case.web:
            web.write_bytes(case.web if isinstance(case.web, bytes) else case.web.encode())
        args += ["--web.config.file", str(web)]
    return Outcome(config, directory, _run(args))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Outcome]:
    """Every run of the table, a few at a time (each is a Python start-up: half a second)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {(case.id, mode): pool.submit(_prepare_and_run, case, mode, tmp_path_factory.mktemp(case.id))
                   for case, mode in RUNS}
        return {key: future.result() for key, future in futures.items()}


@pytest.mark.parametrize(("case", "mode"), [
    pytest.param(c, m, id=f"{c.id}-{m}", marks=[pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else [])
    for c, m in RUNS])
def test_broken_config_exits_2_and_names_the_key(outcomes: dict[tuple[str, str], Outcome], case: Case,
                                                 mode: str) -> None:
    outcome = outcomes[(case.id, mode)]
    done = outcome.done
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output, output
    for secret in (SECRET, TOKEN):
        assert secret not in output, output
    lines = done.stderr.splitlines()
    for expected in case.expected:
        wanted = "  " + expected.format(file=outcome.config, dir=outcome.directory)
        assert any(line.startswith(wanted) for line in lines), f"{wanted!r} not in:\n{done.stderr}"
    assert "listening on" not in output  # nothing started


def test_the_table_is_long_enough() -> None:
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("mode", ["check", "serve"])
def test_a_config_that_is_a_directory_or_missing(tmp_path: Path, mode: str) -> None:
    for path in (tmp_path, tmp_path / "missing.yml"):
        args = ["check", "--config", str(path)] if mode == "check" else ["--config", str(path)]
        done = _run(args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert f"  {path}: cannot read the config file: " in done.stderr
