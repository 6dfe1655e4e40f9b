"""The config file: what a user gets for good and bad input (errors name file, line and key; no secrets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.config.config_file import ConfigError, load_config, parse_duration


def write(tmp_path: Path, text: str, name: str = "exporter.yml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def problems(path: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


def test_minimal_config_gets_defaults_and_env_expansion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMM_MONGO_PASSWORD", "s3cret")
    path = write(tmp_path, """
clusters:
  - name: prod-rs
    uri: mongodb://pmm:${PMM_MONGO_PASSWORD}@db1:27017,db2:27017/?replicaSet=rs0
""")
    config = load_config(path)
    assert config.interval == 60.0 and config.timeout == 10.0
    cluster = config.clusters[0]
    assert cluster.name == "prod-rs" and cluster.backup_mode == "logical"
    assert cluster.seeds == ("db1:27017", "db2:27017")
    assert cluster.uri.startswith("mongodb://pmm:s3cret@")
    assert "s3cret" not in cluster.display_uri and "s3cret" not in repr(cluster)


def test_durations() -> None:
    assert parse_duration("1m30s") == 90.0
    assert parse_duration("500ms") == 0.5
    assert parse_duration(15) == 15.0
    for bad in ("10", "1x", "", "-5s", True, "0s"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_uri_file_is_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "uri.txt").write_text("mongodb://pmm:pw@db1:27017/?replicaSet=rs0\n")
    path = write(tmp_path, "interval: 30s\ntimeout: 5s\nclusters:\n  - name: a\n    uri_file: uri.txt\n"
                           "    backup_mode: physical\n")
    cluster = load_config(path).clusters[0]
    assert cluster.uri == "mongodb://pmm:pw@db1:27017/?replicaSet=rs0"
    assert cluster.backup_mode == "physical"


def test_every_problem_is_reported_with_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, """interval: 60x
clusters:
  - name: prod
    uri: mongodb://pmm:${SURELY_NOT_SET_VAR}@db1:27017/?replicaSet=rs0
    backup_mode: snapshot
    colour: blue
  - name: other
    uri: mongodb://a:b@h/
    uri_file: f
""")
    found = problems(path)
    assert found == [
        f"{path}:1: interval: '60x' is not a duration; use a number with a unit, such as 30s, 1m or 1m30s",
        f"{path}:4: clusters[0].uri: environment variable SURELY_NOT_SET_VAR is not set",
        f"{path}:5: clusters[0].backup_mode: Input should be 'logical' or 'physical'",
        f"{path}:6: clusters[0].colour: unknown key",
        f"{path}:7: clusters[1]: give exactly one of uri or uri_file",
    ]


def test_duplicate_names_and_bad_uris_never_echo_the_password(tmp_path: Path) -> None:
    path = write(tmp_path, """clusters:
  - name: prod
    uri: mongodb://pmm:hunter2@db1:27017/?replicaSet=rs0
  - name: prod
    uri: "mongodb://pmm:hunter2@db1:notaport/"
  - name: srv
    uri: mongodb+srv://pmm:hunter2@cluster.example.com/
  - name: http
    uri: http://pmm:hunter2@db1/
""")
    found = problems(path)
    assert found[0] == f"{path}:4: clusters[1].name: duplicate cluster name 'prod' (also clusters[0])"
    assert found[1].startswith(f"{path}:5: clusters[1].uri: not a valid MongoDB URI")
    assert found[2].startswith(f"{path}:7: clusters[2].uri: mongodb+srv:// URIs are not supported")
    assert found[3] == f"{path}:9: clusters[3].uri: must start with mongodb://"
    assert not any("hunter2" in p for p in found)


@pytest.mark.parametrize(("text", "expected"), [
    ("", "the config file is empty"),
    ("clusters: [\n", "not valid YAML"),
    ("- a\n- b\n", "the top level must be a mapping"),
    ("clusters: []\n", "list clusters, or discover them from PMM (discovery: {from_pmm: true})"),
    ("discovery: {from_pmm: true}\n", "discovery.from_pmm needs the pmm: section"),
    ("clusters:\n  - name: a\n    uri: mongodb://h/\n    uri: mongodb://g/\n", "4: clusters[0].uri: duplicate key"),
    ("interval: 10s\ntimeout: 20s\nclusters:\n  - {name: a, uri: 'mongodb://h/'}\n",
     "2: timeout: must not be longer than interval"),
    ("clusters:\n  - name: 12\n    uri: mongodb://h/\n", "2: clusters[0].name: Input should be a valid string"),
])
def test_bad_files(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(write(tmp_path, text))
    assert expected in found[0], found


def test_missing_file(tmp_path: Path) -> None:
    found = problems(str(tmp_path / "nope.yml"))
    assert found == [f"{tmp_path / 'nope.yml'}: cannot read the config file: No such file or directory"]


def test_binary_config_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "exporter.yml"
    path.write_bytes(b"clusters:\n  - name: \xff\xfe\n")
    assert problems(str(path)) == [f"{path}:2: the config file is not UTF-8 text"]


def test_pmm_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMM_TOKEN", "glsa_abcdef0123")
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    path = write(tmp_path, """pmm:
  url: https://pmm.example.com/
  token: ${PMM_TOKEN}
  ca_file: ca.pem
clusters:
  - name: prod-rs
    uri: mongodb://pmm:pw@db1:27017/?replicaSet=rs0
    pmm_services:
      "db1:27017": db1-mongodb
""")
    config = load_config(path)
    assert config.pmm is not None
    assert config.pmm.url == "https://pmm.example.com"
    assert config.pmm.ca_file == str(tmp_path / "ca.pem")
    assert config.clusters[0].pmm_services == (("db1:27017", "db1-mongodb"),)
    assert "glsa_abcdef0123" in config.secrets and "glsa_abcdef0123" not in repr(config)


@pytest.mark.parametrize(("pmm", "expected"), [
    ("  url: https://pmm\n", "pmm: Value error, give token"),
    ("  url: https://pmm\n  token: t\n  username: u\n  password: p\n", "give either token or username and password"),
    ("  url: https://admin:secret@pmm\n  token: t\n", "pmm.url: must not contain credentials"),
    ("  url: pmm.example.com\n  token: t\n", "pmm.url: must be the PMM Server's base URL"),
    ("  url: https://pmm\n  token: t\n  ca_file: missing.pem\n", "pmm.ca_file: "),
    ("  url: https://pmm\n  token: t\n  insecure_skip_verify: 'yes'\n", "pmm.insecure_skip_verify: Input should be"),
])
def test_bad_pmm_sections(tmp_path: Path, pmm: str, expected: str) -> None:
    path = write(tmp_path, f"pmm:\n{pmm}clusters:\n  - name: a\n    uri: mongodb://h/\n")
    found = problems(path)
    assert any(expected.replace("Value error, ", "") in p for p in found), found
    assert not any("secret" in p for p in found)


def test_sharded_cluster_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PW", "s3cret-pw")
    path = write(tmp_path, """clusters:
  - name: big
    uri: mongodb://pmm:${PW}@mongos1:27017/?authSource=admin
    restore_from_pmm: true
    shard_uris:
      shard0: mongodb://pmm:${PW}@10.1.0.1:27018/?replicaSet=shard0
      shard1: "not a uri"
""")
    found = problems(path)
    assert found == [f"{path}:7: clusters[0].shard_uris.shard1: must start with mongodb://"]
    path = write(tmp_path, """clusters:
  - name: big
    uri: mongodb://pmm:${PW}@mongos1:27017/?authSource=admin
    restore_from_pmm: true
    shard_uris:
      shard0: mongodb://pmm:${PW}@10.1.0.1:27018/?replicaSet=shard0
""")
    cluster = load_config(path).clusters[0]
    assert cluster.restore_from_pmm is True
    assert cluster.shard_uris == (("shard0", "mongodb://pmm:s3cret-pw@10.1.0.1:27018/?replicaSet=shard0"),)
    assert "s3cret-pw" in cluster.secrets and "s3cret-pw" not in repr(cluster)


def test_discovery_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMM_TOKEN", "glsa_xyz")
    (tmp_path / "pw").write_text("m0ngo-pw\n")
    path = write(tmp_path, """pmm: {url: "https://pmm.example.com", token: "${PMM_TOKEN}"}
discovery:
  from_pmm: true
  keep_for: 5m
  overrides:
    legacy:
      username: old
      password: old-pw
      backup_mode: physical
mongodb:
  username: pmm
  password_file: pw
  options: {tls: true, tlsCAFile: /etc/ssl/mongo-ca.pem}
""")
    config = load_config(path)
    assert config.clusters == () and config.discovery is not None
    assert config.discovery.keep_for == 300.0
    credentials = config.discovery.credentials
    assert (credentials.username, credentials.password, credentials.auth_source) == ("pmm", "m0ngo-pw", "admin")
    assert credentials.options == (("tls", "true"), ("tlsCAFile", "/etc/ssl/mongo-ca.pem"))
    override = dict(config.discovery.overrides)["legacy"]
    assert override.backup_mode == "physical" and override.credentials is not None
    assert override.credentials.password == "old-pw" and override.credentials.auth_source == "admin"
    assert {"m0ngo-pw", "old-pw", "glsa_xyz"} <= set(config.secrets)
    assert "m0ngo-pw" not in repr(config) and "old-pw" not in repr(config)


def test_discovery_problems(tmp_path: Path) -> None:
    path = write(tmp_path, """pmm: {url: "https://pmm", token: t}
discovery: {from_pmm: true}
mongodb: {username: pmm, password: a, password_file: b}
""")
    assert problems(path) == [f"{path}:3: mongodb: Value error, give password or password_file, not both"
                              .replace("Value error, ", "")]
    path = write(tmp_path, """pmm: {url: "https://pmm", token: t}
discovery: {from_pmm: true}
mongodb: {username: pmm, password_file: missing}
""")
    assert problems(path)[0].startswith(f"{path}:3: mongodb.password_file: cannot read ")


def test_recovery_objectives_globally_and_per_cluster_say_where_they_were_set(tmp_path: Path) -> None:
    path = write(tmp_path, """
recovery_objectives:
  rpo: 15m
  max_backup_age: 25h
clusters:
  - name: prod-rs
    uri: mongodb://db1:27017/?replicaSet=rs0
    recovery_objectives:
      rpo: 5m
      min_window: 7d
  - name: other
    uri: mongodb://db2:27017/?replicaSet=rs1
""")
    config = load_config(path)
    assert config.clusters[0].objectives == (
        ("rpo", 300.0, "clusters[0].recovery_objectives.rpo"),
        ("max_backup_age", 90000.0, "recovery_objectives.max_backup_age"),
        ("min_window", 604800.0, "clusters[0].recovery_objectives.min_window"))
    assert config.clusters[1].objectives == (("rpo", 900.0, "recovery_objectives.rpo"),
                                             ("max_backup_age", 90000.0, "recovery_objectives.max_backup_age"))
    assert config.objectives == config.clusters[1].objectives  # what discovered clusters get
    bad = write(tmp_path, """
recovery_objectives:
  rpo: soon
clusters:
  - name: prod-rs
    uri: mongodb://db1:27017/?replicaSet=rs0
    recovery_objectives: {max_age: 1h}
""", "bad.yml")
    found = problems(bad)
    assert any("recovery_objectives.rpo" in p for p in found) and any("max_age" in p for p in found), found
