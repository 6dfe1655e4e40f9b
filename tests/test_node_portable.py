"""node-check as it ships to database hosts: one file, Python 3.6 and the standard library only, and the
hand-written parts it needs for that (URI, YAML, exposition) reading as the libraries it cannot import do."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from pymongo.errors import ConfigurationError, InvalidURI
from pymongo.uri_parser import parse_uri as pymongo_parse_uri

from exporter.node import config_yaml
from exporter.node.checks import NodeIdentity
from exporter.node.mongodb_uri import InvalidURI as NodeInvalidURI
from exporter.node.mongodb_uri import parse_uri
from exporter.node.textfile import exposition
from exporter.results.check_result import CheckResult, Status
from tests.promtool import promtool_check
from tests.repo_tools import tool
from tests.test_node_check import healthy_node

REPO = Path(__file__).resolve().parent.parent
build_node_check = tool("build_node_check")

SYSTEM_PYTHON = "/usr/bin/python3"  # the host's interpreter, as the artefact's shebang names it


@pytest.fixture(scope="module")
def artefact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_node_check.build(tmp_path_factory.mktemp("dist") / build_node_check.NAME)


def test_vermin_finds_python_3_6_enough_for_every_file_the_artefact_holds() -> None:
    files = [str(REPO / s) for s in build_node_check.sources()]
    vermin = shutil.which("vermin", path=str(Path(sys.executable).parent)) or shutil.which("vermin")
    assert vermin, "vermin is missing: pip install vermin (make test does)"
    done = subprocess.run([vermin, "--no-tips", "--violations", "-t=3.6-", *files], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    found = subprocess.run([vermin, "--no-tips", *files], capture_output=True, text=True, timeout=120).stdout
    assert re.search(r"^Minimum required versions: 3\.6$", found, re.MULTILINE), found
    for file in files:  # and the parser of 3.6's grammar accepts them (no walrus, no positional-only parameters)
        ast.parse(Path(file).read_text(), file, feature_version=(3, 6))


def test_the_artefact_holds_node_check_and_the_result_shape_only(artefact: Path) -> None:
    assert artefact.read_bytes().startswith(b"#!/usr/bin/python3 -IS\n")
    with zipfile.ZipFile(artefact) as archive:
        names = sorted(n for n in archive.namelist() if not n.endswith("/"))  # zipapp lists folders too
    assert names == sorted(["__main__.py", *(str(s) for s in build_node_check.sources())])
    assert all(n.startswith(("exporter/node/", "exporter/results/")) or n in ("__main__.py", "exporter/__init__.py")
               for n in names), names


def test_the_artefact_is_reproducible(tmp_path: Path, artefact: Path) -> None:
    again = build_node_check.build(tmp_path / "again")
    assert again.read_bytes() == artefact.read_bytes()


def test_the_artefact_runs_on_an_isolated_interpreter_with_the_standard_library_alone(tmp_path: Path,
                                                                                      artefact: Path) -> None:
    """Run as the host would (its shebang: -I -S, no site-packages), against a fake node; every module it
    loaded is the standard library's or its own, and its JSON is the exporter's node-check JSON."""
    root = healthy_node(tmp_path / "node")
    args = ["--root", str(root), "--cluster", "prod-rs", "--node", "db1:27017", "--storage-path", "/mnt/pbm",
            "--no-textfile", "--output", "json"]
    probe = ("import runpy, sys, json\n"
             f"sys.argv = [{str(artefact)!r}] + {args!r}\n"
             "try:\n"
             f"    runpy.run_path({str(artefact)!r}, run_name='__main__')\n"
             "except SystemExit as exc:\n"
             "    code = exc.code\n"
             "print('\\0' + json.dumps([code, sorted(sys.modules)]))\n")
    done = subprocess.run([SYSTEM_PYTHON, "-I", "-S", "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    printed, _, tail = done.stdout.rpartition("\0")
    code, modules = json.loads(tail)
    foreign = [m for m in modules if m.split(".")[0] not in sys.stdlib_module_names | {"exporter", "__main__"}]
    assert code == 0 and foreign == [], (code, foreign, done.stderr)
    assert {m.split(".")[1] for m in modules if m.startswith("exporter.")} <= {"node", "results"}, modules
    via_exporter = subprocess.run([sys.executable, "-m", "exporter", "node-check", *args], capture_output=True,
                                  text=True, timeout=60)
    assert json.loads(printed) == json.loads(via_exporter.stdout)
    assert {c["check"] for c in json.loads(printed)["clusters"][0]["checks"]} >= {"pbm_installed"}
    version = subprocess.run([str(artefact), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("pmm-backup-prereq-node-check 0.")


def test_bad_arguments_get_usage_not_a_traceback(artefact: Path) -> None:
    done = subprocess.run([str(artefact), "--output", "xml"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "usage: pmm-backup-prereq-node-check" in done.stderr
    assert "Traceback" not in done.stderr
    # what the timer runs before CLUSTER= is set in the environment file
    empty = subprocess.run([str(artefact), "--cluster", "", "--no-textfile"], capture_output=True, text=True,
                           timeout=60)
    assert empty.returncode == 2 and "--cluster is empty" in empty.stderr and "CLUSTER=" in empty.stderr


def test_the_artefact_is_the_same_whatever_the_umask(tmp_path: Path, artefact: Path) -> None:
    done = subprocess.run(["sh", "-c", f"umask 077 && {sys.executable} {REPO / 'tools/build_node_check.py'} "
                                       f"{tmp_path / 'strict'}"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "strict").read_bytes() == artefact.read_bytes()


# --- the MongoDB URI as pymongo reads it -------------------------------------------------------------------

HOST = st.sampled_from(["localhost", "127.0.0.1", "DB1.example.com", "[::1]", "db-2", "[fe80::1%25eth0]", "::1",
                        "", "h:1:2", "[::1"])
PORT = st.sampled_from(["", ":27017", ":0", ":65535", ":65536", ":x", ":", ":27017x", ":-1"])
USERINFO = st.sampled_from(["", "u:p@", "u%40x:p%3Ap@", "u:p:q@", ":p@", "u@", "u:p%zz@", "a@b:c@"])
TAIL = st.sampled_from(["", "/", "/?replicaSet=rs0", "/admin?authSource=admin&replicaSet=rs0", "?replicaSet=rs0",
                        "/?authSource=admin;replicaSet=x", "/db"])


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(userinfo=USERINFO, hosts=st.lists(st.tuples(HOST, PORT), min_size=1, max_size=3), tail=TAIL)
def test_the_uri_parser_reads_hosts_as_pymongo_does(userinfo: str, hosts: list[tuple[str, str]], tail: str) -> None:
    uri = "mongodb://" + userinfo + ",".join(h + p for h, p in hosts) + tail
    try:
        expected = pymongo_parse_uri(uri, validate=False)
    except (InvalidURI, ConfigurationError, ValueError):
        expected = None
    try:
        got = parse_uri(uri)
    except NodeInvalidURI as exc:
        assert expected is None, f"{uri}: node-check refused ({exc}), pymongo read {expected and expected['nodelist']}"
        assert "p@" not in str(exc)
        return
    assert expected is not None, f"{uri}: node-check read {got.hosts}, pymongo refuses it"
    assert got.hosts == [(h.lower(), p) for h, p in expected["nodelist"]]
    if "replicaSet=" in tail:
        assert got.options["replicaset"] == {k.lower(): v for k, v in expected["options"].items()}["replicaset"]


@pytest.mark.parametrize("uri", ["mongodb://localhost:\u0663", "mongodb://[::1]x"])
def test_the_uri_parser_refuses_what_pymongo_lets_through_but_is_no_host_and_port(uri: str) -> None:
    # pymongo reads the Arabic-Indic digit as port 3, and "[::1]x" as the host "::1]"
    pymongo_parse_uri(uri, validate=False)
    with pytest.raises(NodeInvalidURI):
        parse_uri(uri)


# --- the YAML of config files as PyYAML reads it -------------------------------------------------------------

KEY = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_.-]{0,11}", fullmatch=True).filter(
    lambda k: yaml.safe_load(k) == k)  # keys PyYAML reads as strings, as config keys are
SCALAR = (st.integers(-10**12, 10**12) | st.none()
          | st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=40)
          .filter(lambda s: isinstance(yaml.safe_load(yaml.safe_dump(s)), str) and s == s.strip()
                  and not re.fullmatch(r"[-+]?(0|[1-9][0-9]*)|~|null|Null|NULL", s))
          | st.sampled_from(["/var/lib/mongo", "mongodb://u:p@localhost:27017/?authSource=admin", "a #b", "it's",
                             'say "hi"', "x: y", "- not a list", "C:\\data", "#hash", "0.0.0.0,::1"]))
DOCUMENT = st.recursive(st.dictionaries(KEY, SCALAR, max_size=4),
                        lambda inner: st.dictionaries(KEY, inner | st.lists(SCALAR, max_size=3)
                                                      | st.lists(st.dictionaries(KEY, SCALAR, min_size=1,
                                                                                 max_size=2), max_size=2),
                                                      max_size=4), max_leaves=12)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(document=DOCUMENT, style=st.sampled_from([None, "'", '"']), indent=st.sampled_from([2, 4]),
       comments=st.booleans())
def test_the_yaml_reader_reads_config_files_as_pyyaml_does(document: dict[str, object], style: str | None,
                                                           indent: int, comments: bool) -> None:
    text = yaml.safe_dump(document, default_flow_style=False, default_style=style, indent=indent,
                          allow_unicode=True, width=1000)
    if document == {}:
        text = ""
    if comments:
        text = "# mongod.conf\n\n" + "\n".join(f"{line}  # note" if line.strip() and not line.endswith(("|", ">"))
                                                 and style is None else line for line in text.splitlines()) + "\n"
    expected = yaml.safe_load(text)
    if style is not None and _has_non_string(document):
        return  # a forced style tags other scalars (`!!int '0'`, `!!null 'null'`), which config files do not hold
    assert config_yaml.load(text) == expected, text


def _has_non_string(value: object) -> bool:
    if isinstance(value, dict):
        return any(_has_non_string(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_string(v) for v in value)
    return not isinstance(value, str)


def test_the_yaml_reader_reads_mongods_packaged_config() -> None:
    """mongod.conf as MongoDB's and Percona's packages install it (comments, blank lines, a key without value)."""
    text = ("# mongod.conf\n\n# for documentation of all options, see:\n"
            "#   http://docs.mongodb.org/manual/reference/configuration-options/\n\n"
            "# Where and how to store data.\nstorage:\n  dbPath: /var/lib/mongo\n#  engine:\n#  wiredTiger:\n\n"
            "# where to write logging data.\nsystemLog:\n  destination: file\n  logAppend: true\n"
            "  path: /var/log/mongodb/mongod.log\n\n# network interfaces\nnet:\n  port: 27017\n"
            "  bindIp: 127.0.0.1  # Enter 0.0.0.0,:: to bind to all IPv4 and IPv6 addresses\n\n"
            "#security:\n\n#operationProfiling:\n\nreplication:\n  replSetName: \"rs0\"\n\n#sharding:\n\n"
            "setParameter:\n  authenticationMechanisms: SCRAM-SHA-256\nsecurity:\n  clusterIpSourceAllowlist:\n"
            "    - 192.0.2.0/24\n    - 127.0.0.1\n  keyFile: '/etc/mongo key'\n")
    loaded = config_yaml.load(text)
    assert {k: v for k, v in loaded.items() if k != "systemLog"} == {
        k: v for k, v in yaml.safe_load(text).items() if k != "systemLog"}
    assert loaded["systemLog"]["logAppend"] == "true"  # only booleans differ: PyYAML's True; nothing reads it


@pytest.mark.parametrize(("text", "line"), [
    ("storage:\n\tdbPath: /x\n", 2),
    ("storage:\n  dbPath: /x\n   engine: wt\n", 3),
    ("storage:\n  dbPath: \"/x\n", 2),
    ("a: 1\n- b\n", 2),
    ("just text\n", 1),
    ("%YAML 1.2\n---\na: 1\n", 1),
])
def test_yaml_it_cannot_follow_names_the_line(text: str, line: int) -> None:
    with pytest.raises(config_yaml.ConfigError) as raised:
        config_yaml.load(text)
    assert raised.value.line == line and str(raised.value).startswith(f"line {line}: ")


def test_yaml_it_does_not_read_is_kept_as_unread_not_guessed() -> None:
    loaded = config_yaml.load("storage:\n  dbPath: &data /x\nnet: {port: 1}\nlog: |\n  a: b\n  c\nreplication:\n"
                              "  replSetName: rs0\n")
    assert loaded == {"storage": {"dbPath": config_yaml.Unread(2)}, "net": config_yaml.Unread(3),
                      "log": config_yaml.Unread(4), "replication": {"replSetName": "rs0"}}


# --- the exposition as prometheus_client reads it ------------------------------------------------------------

LABEL_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(cluster=LABEL_TEXT, node=LABEL_TEXT, checks=st.lists(st.tuples(LABEL_TEXT, st.sampled_from(list(Status)),
                                                                   st.booleans()), max_size=5))
def test_the_textfile_reads_back_as_written(cluster: str, node: str, checks: list[tuple[str, Status, bool]]) -> None:
    """Every label value (quotes, backslashes, newlines, any Unicode) survives prometheus_client's parser."""
    me = NodeIdentity(cluster, node, "rs0")
    results = [CheckResult(check, status, "r", "", node, "rs0", ("physical_restore",) if blocks else ())
               for check, status, blocks in checks]
    text = exposition(results, me, 1_800_000_000.5)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    ok = [(s.labels["check"], s.labels["cluster"], s.value) for s in families["pmm_backup_prereq_ok"].samples]
    assert ok == [(r.check, cluster, 1.0 if r.status is Status.PASS else 0.0) for r in results if r.exported]
    blocking = families["pmm_backup_prereq_blocking"].samples
    assert [s.labels["check"] for s in blocking] == [r.check for r in results if r.status is Status.FAIL and r.blocks]
    (when,) = families["pmm_backup_prereq_node_check_timestamp_seconds"].samples
    assert when.value == 1_800_000_000.5 and when.labels == {"cluster": cluster, "node": node, "replica_set": "rs0"}


def test_the_textfile_passes_promtool() -> None:
    me = NodeIdentity("prod-rs", "db1:27017", "rs0")
    text = exposition([CheckResult("pbm_installed", Status.FAIL, "no pbm", "install", "db1:27017", "rs0",
                                   ("logical_backup",))], me, 1_800_000_000.0)
    promtool_check(text)
    assert 'pmm_backup_prereq_ok{check="pbm_installed",cluster="prod-rs",node="db1:27017",replica_set="rs0"} 0.0' \
        in text
