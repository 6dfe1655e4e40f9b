"""Property-based tests: whatever MongoDB, PBM's documents or PMM Server send, the checks answer.

Hypothesis feeds the checks replies that are well-formed, slightly wrong or plain junk: any mix of missing and
wrong-typed fields in `admin.pbmAgents` and `admin.pbmConfig` documents, odd version strings, arbitrary JSON-like
trees where MongoDB's replies have documents, and arbitrary PMM JSON. The properties:
- no exception escapes (`run_checks`, `run_cluster_checks`, `discover`, the PMM prober's normalization, `check`'s
  output), and no check crashes: `run_checks` turns a crash into an UNKNOWN "internal error while checking"
  result, which counts as a failure here;
- every result has a known status and a reason, and every FAIL has a fix;
- a node whose agent documents are all malformed never passes pbm_agent_running.

The examples are derandomized, so CI sees the same ones on every run; the example counts keep the file under
30 s. PROPERTY_EXAMPLES=5000 in the environment runs that many fresh random examples per property instead.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import pytest
from bson.timestamp import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.checks.registry import CHECKS, names_to_resolve, run_checks, run_cluster_checks
from exporter.config.config_file import ClusterOverride, DiscoveryConfig, MongoDBCredentials
from exporter.facts.observed import ClusterFacts, Observed, PMMFacts, ReplicaSetFacts, ShardingFacts
from exporter.model.cluster_settings import ClusterSettings
from exporter.model.pbm_agents import parse_agent, parse_version
from exporter.probes.pmm import DIALECTS, PMMError, _extract, location_summary
from exporter.report.check_report import render_json, render_table
from exporter.results.check_result import CheckResult, Status
from exporter.run.discovery import discover
from exporter.snapshots.cluster_snapshot import ClusterSnapshot, agent_observations

NOW = 1_800_000_000  # the cluster's clock
HOSTS = ["db1:27017", "db2:27017", "db3:27017"]
RS = "rs0"
MISSING = object()  # a key left out of a document

# PROPERTY_EXAMPLES=5000 explores further, with fresh random examples on each run (for hunting, not for CI)
STRESS = int(os.environ.get("PROPERTY_EXAMPLES", "0"))
PROPERTY = settings(max_examples=STRESS or 150, deadline=None, derandomize=not STRESS, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(PROPERTY, max_examples=STRESS or 60)

# --- values ----------------------------------------------------------------------------------------------------

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what BSON can carry
TEXT = st.text(max_size=12)
SCALARS = (st.none() | st.booleans() | INT64 | st.floats(allow_nan=True, allow_infinity=True) | TEXT
           | st.binary(max_size=4).map(bytes)
           | st.builds(Timestamp, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)))
JUNK = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(TEXT | st.sampled_from(["ok", "e", "host", "name", "type"]), inner, max_size=3),
                    max_leaves=6)

ODD_VERSIONS = st.one_of(
    st.sampled_from(["2.0.1", "2.0.0", "v2.7.0", "2.10.0-rc1", "2.11.0+meta", "2.15", "1.8.1", "2", "2.", ".2.1",
                     "2.0.1.4", " 2.7.0 ", "V2.7.0", "2.x.1", "².0.1", "2.²", "\u0662.\u0667.\u0660", "2.0.1-",
                     "-2.0.1", "+",
                     "9" * 5000 + ".0.1", "2." + "1" * 4400, "2.0.1\x00", "", "v", "vv2.0.1", "2..1", "2.0.-1",
                     "7.0.14", "8.0.4-2", "4.2", "8.2.1", "3.9.0", "2.38.0", "3.4.0", "100.0.0", "0.0.0"]),
    st.from_regex(r"\Av?[0-9]{1,3}(\.[0-9]{1,3}){0,3}(-[a-z0-9.]{0,5})?(\+[a-z0-9]{0,4})?\Z"),
    st.text(alphabet=st.sampled_from("0123456789.-+v²٣ x"), max_size=10),
    TEXT,
)


def maybe(good: st.SearchStrategy[Any], missing: bool = True) -> st.SearchStrategy[Any]:
    """Mostly the expected value, sometimes junk of any type, sometimes (for a field) left out."""
    options = [good, good, JUNK]
    if missing:
        options.append(st.just(MISSING))
    return st.one_of(*options)


@st.composite
def document(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]], extra: bool = True) -> dict[str, Any]:
    """A document with the given fields (each maybe missing), and maybe some unexpected ones."""
    doc = {key: value for key, strategy in fields.items() if (value := draw(strategy)) is not MISSING}
    if extra and draw(st.booleans()):
        doc.update(draw(st.dictionaries(TEXT, JUNK, max_size=2)))
    return doc


def observed(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Observed[Any]]:
    """A fact: read, failed with an error, or neither (nothing to read)."""
    return st.one_of(value.map(Observed), value.map(Observed), TEXT.map(Observed.failed), st.just(Observed()))


# --- MongoDB's replies and PBM's documents ---------------------------------------------------------------------

HOST = st.sampled_from(HOSTS) | st.sampled_from(["orphan:27017", "db1", "db1:", ":27017", "[::1]:27017",
                                                   "DB1:27017", "db1:x", "db1:²"]) | TEXT
SET_NAME = st.sampled_from([RS, "rs1", "cfg", ""]) | TEXT
HEARTBEAT = st.one_of(st.integers(-120, 60).map(lambda age: Timestamp(NOW - age, 1)),
                      st.builds(Timestamp, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)))
SUB_STATUS = document({"ok": maybe(st.booleans()), "e": maybe(TEXT)}, extra=False)


def agent_doc(host: st.SearchStrategy[str] = HOST) -> st.SearchStrategy[Any]:
    return document({
        "n": maybe(host), "rs": maybe(SET_NAME), "v": maybe(ODD_VERSIONS), "hb": maybe(HEARTBEAT),
        "pbms": maybe(SUB_STATUS), "nodes": maybe(SUB_STATUS), "stors": maybe(SUB_STATUS),
        "e": maybe(TEXT), "mv": maybe(ODD_VERSIONS), "pv": maybe(ODD_VERSIONS),
        "s": maybe(st.integers(0, 10)), "str": maybe(TEXT), "arb": maybe(st.booleans()),
    }) | JUNK


@st.composite
def agent_docs(draw: st.DrawFn) -> list[Any]:
    """pbmAgents: healthy documents for some members, malformed ones, orphans and duplicates."""
    docs: list[Any] = [draw(agent_doc()) for _ in range(draw(st.integers(0, 5)))]
    docs += [healthy_agent(h) for h in HOSTS if draw(st.booleans())]
    duplicate = draw(st.booleans())
    if docs and duplicate:
        docs.append(draw(st.sampled_from(docs)))  # PBM has no unique index on {n, rs}
    return draw(st.permutations(docs))


def healthy_agent(host: str) -> dict[str, Any]:
    return {"n": host, "rs": RS, "v": "2.7.0", "hb": Timestamp(NOW - 2, 1), "pbms": {"ok": True, "e": ""},
            "nodes": {"ok": True, "e": ""}, "stors": {"ok": True, "e": ""}, "mv": "7.0.14", "pv": "7.0.14-8", "e": ""}


STORAGE_TYPE = st.sampled_from(["s3", "filesystem", "azure", "gcs", "minio", "", "S3"]) | TEXT
PBM_CONFIG = document({
    "storage": maybe(document({
        "type": maybe(STORAGE_TYPE),
        "s3": maybe(document({"bucket": maybe(TEXT), "endpointUrl": maybe(TEXT), "prefix": maybe(TEXT)})),
        "filesystem": maybe(document({"path": maybe(st.sampled_from(["/backup", "/backup/x", "/"]) | TEXT)})),
        "azure": maybe(document({"container": maybe(TEXT)})),
    })),
    "pitr": maybe(JUNK),
})

CONFIG_MEMBER = document({"_id": maybe(INT64), "host": maybe(st.sampled_from(HOSTS) | HOST),
                          "arbiterOnly": maybe(st.booleans()), "hidden": maybe(st.booleans()),
                          "secondaryDelaySecs": maybe(INT64), "slaveDelay": maybe(INT64),
                          "priority": maybe(st.floats())}) | JUNK
CONFIG_REPLY = document({"config": maybe(document({"_id": maybe(SET_NAME),
                                                    "members": maybe(st.lists(CONFIG_MEMBER, max_size=4))})),
                         "ok": maybe(st.just(1.0))})
STATUS_MEMBER = document({"name": maybe(st.sampled_from(HOSTS) | HOST),
                          "health": maybe(st.sampled_from([0.0, 1.0, 1, 0, True]) | st.floats() | INT64),
                          "state": maybe(st.sampled_from([1, 2, 7, 8, 6]) | INT64),
                          "stateStr": maybe(st.sampled_from(["PRIMARY", "SECONDARY", "ARBITER"]) | TEXT)}) | JUNK
STATUS_REPLY = document({"set": maybe(SET_NAME), "members": maybe(st.lists(STATUS_MEMBER, max_size=4))})
HELLO_REPLY = document({"setName": maybe(SET_NAME), "msg": maybe(st.just("isdbgrid") | TEXT),
                        "primary": maybe(HOST), "me": maybe(HOST), "isWritablePrimary": maybe(st.booleans()),
                        "maxWireVersion": maybe(st.sampled_from([9, 17, 21, 25]) | INT64)})
BUILD_INFO_REPLY = document({"version": maybe(ODD_VERSIONS), "psmdbVersion": maybe(ODD_VERSIONS)})
PRIVILEGE = document({"resource": maybe(document({
    "db": maybe(st.sampled_from(["admin", ""]) | TEXT), "collection": maybe(st.sampled_from(["", "pbmAgents"]) | TEXT),
    "cluster": maybe(st.booleans()), "anyResource": maybe(st.booleans()), "system_buckets": maybe(TEXT)})),
    "actions": maybe(st.lists(st.sampled_from(["anyAction", "find", "insert", "listDatabases"]) | JUNK, max_size=4))})
CONNECTION_STATUS_REPLY = document({"authInfo": maybe(document({
    "authenticatedUsers": maybe(st.lists(document({"user": maybe(TEXT), "db": maybe(TEXT)}) | JUNK, max_size=2)),
    "authenticatedUserRoles": maybe(st.lists(document({"role": maybe(st.sampled_from(["backup", "restore"]) | TEXT),
                                                       "db": maybe(st.just("admin") | TEXT)}) | JUNK, max_size=3)),
    "authenticatedUserPrivileges": maybe(st.lists(PRIVILEGE | JUNK, max_size=4)),
}))})
LOCK = document({"type": maybe(st.sampled_from(["backup", "restore"]) | TEXT), "hb": maybe(HEARTBEAT),
                 "opid": maybe(TEXT)}) | JUNK

# pbm/backup/types.go BackupMeta and pbm/ctrl/cmd.go Cmd, as PBM writes them or not
BACKUP = document({"name": maybe(TEXT), "opid": maybe(TEXT), "type": maybe(st.sampled_from(
    ["logical", "physical", "incremental", "external"]) | JUNK), "status": maybe(TEXT | JUNK),
    "store": maybe(document({"profile": maybe(JUNK)}) | JUNK), "error": maybe(TEXT | JUNK)}) | JUNK
COMMAND = document({"cmd": maybe(st.sampled_from(["restore", "backup"]) | JUNK), "restore": maybe(document(
    {"name": maybe(TEXT | JUNK), "backupName": maybe(TEXT | JUNK), "external": maybe(JUNK)}) | JUNK)}) | JUNK


@st.composite
def replica_set_facts(draw: st.DrawFn, name: str = RS) -> ReplicaSetFacts:
    return ReplicaSetFacts(
        seeds=tuple(draw(st.lists(HOST, max_size=3))),
        name=draw(st.just(name) | TEXT),
        hello=draw(observed(HELLO_REPLY)),
        status=draw(observed(STATUS_REPLY)),
        config=draw(observed(CONFIG_REPLY)),
        build_info=draw(observed(BUILD_INFO_REPLY)),
        connection_status=draw(observed(CONNECTION_STATUS_REPLY)),
        agents=draw(observed(agent_docs())),
        pbm_config=draw(observed(PBM_CONFIG)),
        cluster_time=draw(observed(st.just(NOW) | st.integers(0, 2**32 - 1))),
        locks=draw(observed(st.lists(LOCK, max_size=3))),
        backups=draw(observed(st.lists(BACKUP, max_size=2))),
        last_backup=draw(observed(BACKUP)),
        last_command=draw(observed(COMMAND)),
        restore_backup=draw(observed(BACKUP)),
    )


@st.composite
def well_formed_set(draw: st.DrawFn) -> ReplicaSetFacts:
    """A healthy 3-member set, except for the agent documents."""
    members = [{"_id": i, "host": h} for i, h in enumerate(HOSTS)]
    states = [{"name": h, "health": 1.0, "state": 1 if i == 0 else 2, "stateStr": "PRIMARY" if i == 0 else "SECONDARY"}
              for i, h in enumerate(HOSTS)]
    return ReplicaSetFacts(
        seeds=tuple(HOSTS), name=RS,
        hello=Observed({"setName": RS, "primary": HOSTS[0]}),
        status=Observed({"set": RS, "members": states}),
        config=Observed({"config": {"_id": RS, "members": members}}),
        build_info=Observed({"version": "7.0.14", "psmdbVersion": "7.0.14-8"}),
        connection_status=Observed({"authInfo": {"authenticatedUsers": [], "authenticatedUserPrivileges": []}}),
        agents=Observed(draw(agent_docs())),
        pbm_config=draw(observed(PBM_CONFIG)),
        cluster_time=Observed(NOW),
    )


# --- PMM Server ------------------------------------------------------------------------------------------------

PMM_VERSION = ODD_VERSIONS
SERVICE = document({"service_id": maybe(st.sampled_from(["s1", "s2", "s3"]) | TEXT),
                    "service_name": maybe(st.sampled_from(["db1-mongodb", "db2-mongodb"]) | TEXT),
                    "node_id": maybe(st.sampled_from(["n1", "n2"]) | TEXT),
                    "address": maybe(st.sampled_from(["db1", "db2", "127.0.0.1", "::1", "localhost", "", "10.0.0.1",
                                                      "a/b", "h@x", "db1,db2", "[::1]"]) | TEXT),
                    "port": maybe(st.sampled_from([27017, 0, -1, 65536]) | INT64),
                    "cluster": maybe(st.sampled_from(["prod-rs", ""]) | TEXT),
                    "replication_set": maybe(st.sampled_from([RS, "rs1", ""]) | TEXT),
                    "socket": maybe(TEXT)})
PMM_AGENT = document({"agent_id": maybe(st.sampled_from(["pa1", "pa2"]) | TEXT),
                      "runs_on_node_id": maybe(TEXT), "connected": maybe(st.booleans())})
EXPORTER = document({"agent_id": maybe(TEXT), "pmm_agent_id": maybe(st.sampled_from(["pa1", "pa2"]) | TEXT),
                     "service_id": maybe(st.sampled_from(["s1", "s2"]) | TEXT),
                     "status": maybe(st.sampled_from(["RUNNING", "DONE", "AGENT_STATUS_RUNNING"]) | TEXT),
                     "disabled": maybe(st.booleans())})
NODE = document({"node_id": maybe(st.sampled_from(["n1", "n2"]) | TEXT),
                 "node_name": maybe(st.sampled_from(["db1", "db2"]) | TEXT),
                 "address": maybe(st.sampled_from(["db1", "10.0.0.1", "127.0.0.1", ""]) | TEXT)})
LOCATION = document({"name": maybe(TEXT), "type": maybe(st.sampled_from(["s3", "filesystem", "unknown"]) | TEXT),
                     "bucket": maybe(TEXT), "endpoint": maybe(TEXT), "path": maybe(TEXT)})
SETTINGS = document({"backup_management_enabled": maybe(st.booleans()), "telemetry_enabled": maybe(st.booleans())})
QAN_AGENT = document({"agent_id": maybe(TEXT), "pmm_agent_id": maybe(st.sampled_from(["pa1", "pa2"]) | TEXT),
                      "service_id": maybe(st.sampled_from(["s1", "s2"]) | TEXT), "username": maybe(TEXT)})
BACKUP_DOC = {"service_id": maybe(st.sampled_from(["s1", "s2", "s3"]) | TEXT),
              "location_id": maybe(st.sampled_from(["loc1", "loc2"]) | TEXT), "folder": maybe(TEXT),
              "name": maybe(TEXT), "data_model": maybe(st.sampled_from(["LOGICAL", "PHYSICAL", ""]) | TEXT),
              "mode": maybe(st.sampled_from(["SNAPSHOT", "PITR"]) | TEXT), "vendor": maybe(st.sampled_from(
                  ["mongodb", "mysql"]) | TEXT)}
SCHEDULE = document({**BACKUP_DOC, "scheduled_backup_id": maybe(TEXT), "enabled": maybe(st.booleans())})
ARTIFACT = document({**BACKUP_DOC, "artifact_id": maybe(st.sampled_from(["a1", "a2"]) | TEXT),
                     "status": maybe(st.sampled_from(["SUCCESS", "ERROR"]) | TEXT),
                     "created_at": maybe(st.sampled_from(["2026-11-30T01:00:00Z", ""]) | TEXT),
                     "is_sharded_cluster": maybe(st.booleans())})
AGENT_VERSIONS = st.dictionaries(st.sampled_from(["pa1", "pa2"]) | TEXT,
                                 st.sampled_from(["2.18.0", "2.31.0", "2.34.0", "3.4.0", "", "x"]) | TEXT, max_size=3)


@st.composite
def pmm_facts(draw: st.DrawFn) -> PMMFacts:
    def fact(item: st.SearchStrategy[Any]) -> Observed[Any]:
        return draw(observed(st.lists(item, max_size=4)))

    return PMMFacts(
        version=draw(PMM_VERSION),
        error=draw(st.none() | st.none() | TEXT),
        settings=draw(observed(SETTINGS)),
        locations=fact(LOCATION), services=fact(SERVICE), pmm_agents=fact(PMM_AGENT), exporters=fact(EXPORTER),
        qan_agents=fact(QAN_AGENT), nodes=fact(NODE), scheduled_backups=fact(SCHEDULE), artifacts=fact(ARTIFACT),
        agent_versions=draw(observed(AGENT_VERSIONS)),
        compatible_services=draw(st.dictionaries(st.sampled_from(["a1", "a2"]) | TEXT,
                                                 observed(st.lists(SERVICE, max_size=3)), max_size=2)),
    )


CLUSTER_SETTINGS = st.builds(
    ClusterSettings, backup_mode=st.sampled_from(["logical", "physical"]),
    name=st.sampled_from(["prod-rs", ""]) | TEXT,
    pmm_services=st.lists(st.tuples(st.sampled_from(HOSTS) | TEXT, TEXT), max_size=2).map(tuple),
    restore_from_pmm=st.booleans())
ADDRESSES = st.dictionaries(st.sampled_from(["db1", "db2", "localhost"]) | TEXT,
                            st.frozensets(st.sampled_from(["10.0.0.1", "127.0.0.1", "::1"]) | TEXT, max_size=2),
                            max_size=3)
SHARDING = st.builds(ShardingFacts, shards=st.lists(st.dictionaries(TEXT, JUNK, max_size=2), max_size=3).map(tuple),
                     config_server=SET_NAME, balancer=observed(document({"mode": maybe(st.sampled_from(["full", "off"])
                                                                                       | TEXT)})))


# --- the properties ---------------------------------------------------------------------------------------------


def assert_sound(results: list[CheckResult]) -> None:
    for r in results:
        assert isinstance(r.status, Status) and r.check in CHECKS, r
        assert "internal error" not in r.reason, r  # a check raised: run_checks caught it
        assert isinstance(r.reason, str) and r.reason.strip(), r
        if r.status is Status.FAIL:
            assert isinstance(r.fix, str) and r.fix.strip(), r
        assert isinstance(r.node, str) and isinstance(r.replica_set, str), r
    # what `check` prints and /api/status serves must not crash on it either
    snapshot = ClusterSnapshot("prod-rs", True, results=tuple(results))
    render_table([snapshot], width=100)
    render_json([snapshot])


@PROPERTY
@given(facts=replica_set_facts(), pmm=st.none() | pmm_facts(), cluster=CLUSTER_SETTINGS, addresses=ADDRESSES)
def test_any_replies_give_sound_results(facts: ReplicaSetFacts, pmm: PMMFacts | None, cluster: ClusterSettings,
                                        addresses: dict[str, frozenset[str]]) -> None:
    assert_sound(run_checks(facts, cluster, pmm, addresses))
    names_to_resolve(ClusterFacts((facts,), facts.name), cluster, pmm)
    agent_observations(facts)


@PROPERTY
@given(facts=well_formed_set(), pmm=st.none() | pmm_facts(), cluster=CLUSTER_SETTINGS)
def test_malformed_agent_documents_never_pass(facts: ReplicaSetFacts, pmm: PMMFacts | None,
                                              cluster: ClusterSettings) -> None:
    results = run_checks(facts, cluster, pmm)
    assert_sound(results)
    running = {r.node: r for r in results if r.check == "pbm_agent_running"}
    assert set(running) == set(HOSTS)
    assert facts.agents.value is not None
    for host in HOSTS:
        mine = [d for d in facts.agents.value if isinstance(d, dict) and d.get("n") == host and d.get("rs") == RS]
        if not mine or all(malformed(d) for d in mine):
            assert running[host].status is Status.FAIL, (host, mine, running[host])


def malformed(doc: dict[str, Any]) -> bool:
    """A document PBM itself would not write: a field it always writes is missing or of the wrong type."""
    def sub_status(value: Any) -> bool:
        return isinstance(value, dict) and isinstance(value.get("ok"), bool)

    return (not isinstance(doc.get("hb"), Timestamp) or not isinstance(doc.get("v"), str)
            or not sub_status(doc.get("pbms")) or not sub_status(doc.get("nodes"))
            or any(doc.get(k) is not None and not isinstance(doc[k], str) for k in ("mv", "pv")))  # null: absent


@FEW
@given(doc=agent_doc(st.just(HOSTS[0])))
def test_one_malformed_agent_document_never_passes(doc: Any) -> None:
    if isinstance(doc, dict):
        doc = {**doc, "n": HOSTS[0], "rs": RS}
    members = [{"_id": i, "host": h} for i, h in enumerate(HOSTS)]
    facts = ReplicaSetFacts(seeds=tuple(HOSTS), name=RS, hello=Observed({"setName": RS}),
                            status=Observed({"set": RS, "members": []}),
                            config=Observed({"config": {"_id": RS, "members": members}}),
                            agents=Observed([doc]), pbm_config=Observed(None), cluster_time=Observed(NOW))
    results = run_checks(facts, ClusterSettings())
    assert_sound(results)
    running = next(r for r in results if r.check == "pbm_agent_running" and r.node == HOSTS[0])
    if not isinstance(doc, dict) or malformed(doc):
        assert running.status is Status.FAIL, (doc, running)
    report = parse_agent(doc)
    assert report is None or isinstance(report.problems, tuple)


@FEW
@given(sets=st.lists(replica_set_facts(name="shard0") | replica_set_facts(name="cfg"), min_size=1, max_size=3),
       control=st.sampled_from(["cfg", "shard0", ""]), sharding=st.none() | SHARDING,
       pmm=st.none() | pmm_facts(), cluster=CLUSTER_SETTINGS)
def test_any_sharded_cluster_gives_sound_results(sets: list[ReplicaSetFacts], control: str,
                                                 sharding: ShardingFacts | None, pmm: PMMFacts | None,
                                                 cluster: ClusterSettings) -> None:
    facts = ClusterFacts(tuple(sets), control, sharding)
    assert_sound(run_cluster_checks(facts, cluster, pmm))
    names_to_resolve(facts, cluster, pmm)


@PROPERTY
@given(version=ODD_VERSIONS | JUNK)
def test_parse_version_never_raises(version: Any) -> None:
    parsed = parse_version(version)
    assert parsed is None or (len(parsed) == 3 and all(isinstance(n, int) and n >= 0 for n in parsed))
    if isinstance(version, str) and version.count(".") == 2 and all(
            p.isascii() and p.isdigit() and len(p) < 10 for p in version.split(".")):
        assert parsed == tuple(int(p) for p in version.split("."))


OVERRIDES = st.lists(st.tuples(st.sampled_from(["prod-rs", "db1-mongodb"]) | TEXT, st.builds(
    ClusterOverride, backup_mode=st.none() | st.sampled_from(["logical", "physical"]),
    credentials=st.none() | st.builds(MongoDBCredentials, username=st.none() | TEXT, password=st.none() | TEXT),
)), max_size=2).map(tuple)


@PROPERTY
@given(pmm=pmm_facts(), overrides=OVERRIDES,
       credentials=st.builds(MongoDBCredentials, username=st.none() | TEXT, password=st.none() | TEXT,
                             auth_source=st.just("admin") | TEXT,
                             options=st.lists(st.tuples(TEXT, TEXT), max_size=2).map(tuple)))
def test_discovery_takes_any_inventory(pmm: PMMFacts, overrides: tuple[tuple[str, ClusterOverride], ...],
                                       credentials: MongoDBCredentials) -> None:
    found = discover(pmm, DiscoveryConfig(600.0, credentials, overrides))
    names = [c.name for c in found.clusters]
    assert len(names) == len(set(names)) and all(names)
    for cluster in found.clusters:
        assert cluster.uri.startswith("mongodb://") and cluster.source == "pmm"
    assert all(isinstance(p, str) and p for p in found.problems)


SECRET = "S3CR3T-never-kept"
RAW_LOCATION = document({
    "location_id": maybe(TEXT), "name": maybe(TEXT), "description": maybe(TEXT),
    "s3_config": maybe(document({"endpoint": maybe(TEXT), "bucket_name": maybe(TEXT),
                                 "access_key": st.just(SECRET + "-ak"), "secret_key": st.just(SECRET + "-sk")})),
    "filesystem_config": maybe(document({"path": maybe(TEXT)})),
    "pmm_client_config": maybe(document({"path": maybe(TEXT)})),
})
RAW_LIST = st.lists(SERVICE | PMM_AGENT | EXPORTER | NODE | RAW_LOCATION | JUNK, max_size=3)
RAW_REPLY = JUNK | st.fixed_dictionaries({}, optional={
    "settings": SETTINGS | JUNK, "mongodb": RAW_LIST, "pmm_agent": RAW_LIST, "mongodb_exporter": RAW_LIST,
    "generic": RAW_LIST, "container": RAW_LIST, "locations": st.lists(RAW_LOCATION | JUNK, max_size=3) | JUNK,
    "totalItems": JUNK})


@PROPERTY
@given(what=st.sampled_from(sorted(DIALECTS)), reply=RAW_REPLY, dialect=st.sampled_from([0, 1]))
def test_pmm_normalization_takes_any_json(what: str, reply: Any, dialect: int) -> None:
    try:
        value = _extract(what, reply, dialect)
    except PMMError as exc:
        assert str(exc)
        return
    if what == "settings":
        assert isinstance(value, dict)
        return
    assert isinstance(value, list) and all(isinstance(v, dict) for v in value)
    if what == "locations":
        for location in value:
            assert set(location) <= {"name", "location_id", "type", "bucket", "endpoint", "path"}
            assert all(isinstance(v, str) for v in location.values())
            assert SECRET not in repr(location)


@PROPERTY
@given(doc=RAW_LOCATION)
def test_location_summary_keeps_no_keys(doc: dict[str, Any]) -> None:
    summary = location_summary(doc)
    assert summary["type"] in ("s3", "filesystem", "unknown")
    assert SECRET not in repr(summary)


# --- what the properties found, kept as plain examples ---------------------------------------------------------

HEALTHY: dict[str, Any] = {
    "config": Observed({"config": {"_id": RS, "members": [{"_id": i, "host": h} for i, h in enumerate(HOSTS)]}}),
    "status": Observed({"set": RS, "members": [{"name": h, "health": 1.0, "state": 2, "stateStr": "SECONDARY"}
                                               for h in HOSTS]}),
    "agents": Observed([healthy_agent(h) for h in HOSTS]), "cluster_time": Observed(NOW),
    "pbm_config": Observed(None), "seeds": tuple(HOSTS), "name": RS}
GOOD_PMM = PMMFacts("3.4.0", None, Observed({"backup_management_enabled": True}), Observed([]), Observed([]),
                    Observed([]), Observed([]), Observed([]))
USER = {"authenticatedUsers": [{"user": "pmm", "db": "admin"}], "authenticatedUserPrivileges": []}


@pytest.mark.parametrize(("over", "pmm", "sharding"), [
    ({"config": Observed({"config": [None]})}, None, None),  # escaped run_checks (the replica set's name)
    ({"connection_status": Observed({"authInfo": {**USER, "authenticatedUserRoles": 5}})}, None, None),
    ({"connection_status": Observed({"authInfo": {**USER, "authenticatedUserRoles": [{"role": [], "db": "admin"}]}})},
     None, None),
    ({"locks": Observed([1])}, None, ShardingFacts((), "cfg", Observed({"mode": "full"}))),
    ({"agents": Observed([healthy_agent(HOSTS[0]) | {"v": "².0.1"}])}, None, None),  # isdigit() but not int()
    ({"agents": Observed([healthy_agent(HOSTS[0]) | {"v": "2." + "1" * 4400}])}, None, None),  # int()'s limit
    ({}, replace(GOOD_PMM, settings=Observed()), None),  # a fact neither read nor failed
    ({}, replace(GOOD_PMM, services=Observed()), None),
    ({"pbm_config": Observed({"storage": {"type": "s3", "s3": {"bucket": "b"}}})},
     replace(GOOD_PMM, locations=Observed()), None),
], ids=["config-not-a-document", "roles-not-a-list", "role-not-a-string", "lock-not-a-document",
        "superscript-version", "long-version", "settings-unread", "services-unread", "locations-unread"])
def test_inputs_that_crashed_a_check(over: dict[str, Any], pmm: PMMFacts | None, sharding: ShardingFacts | None
                                     ) -> None:
    facts = ReplicaSetFacts(**{**HEALTHY, **over})
    assert_sound(run_checks(facts, ClusterSettings(name="prod-rs"), pmm, sharding=sharding))


@pytest.mark.parametrize("over", [{"v": None}, {"v": 2.7}, {"mv": 7}, {"pv": ["7.0.14-8"]}],
                         ids=["no-version", "version-not-a-string", "mv-not-a-string", "pv-not-a-string"])
def test_agent_documents_that_passed_while_malformed(over: dict[str, Any]) -> None:
    doc = {k: v for k, v in (healthy_agent(HOSTS[0]) | over).items() if v is not None}
    facts = ReplicaSetFacts(**{**HEALTHY, "agents": Observed([doc, healthy_agent(HOSTS[1]), healthy_agent(HOSTS[2])])})
    running = {r.node: r for r in run_checks(facts, ClusterSettings()) if r.check == "pbm_agent_running"}
    assert running[HOSTS[0]].status is Status.FAIL
    assert running[HOSTS[0]].reason.startswith("the pbm-agent document for this node is malformed: field ")
    assert running[HOSTS[1]].status is Status.PASS
