"""The checks as pure functions: facts in, results out, no I/O. Edge cases a server may really send."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from bson.timestamp import Timestamp

from exporter.checks.registry import run_checks
from exporter.facts.observed import Observed, ReplicaSetFacts
from exporter.model import mongodb_roles
from exporter.model.cluster_settings import ClusterSettings
from exporter.model.pbm_agents import parse_version
from exporter.model.pbm_locks import running_operations, running_physical_restore
from exporter.model.privileges import resource_covers
from exporter.results.check_result import Status, readiness

HOSTS = ["db1:27017", "db2:27017", "db3:27017"]
NOW = 1_800_000_000  # cluster time; deliberately far from the test machine's clock


def agent(host: str, version: str = "2.7.0", age: int = 2, **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"n": host, "rs": "rs0", "v": version, "hb": Timestamp(NOW - age, 1), "s": 2,
                           "str": "SECONDARY", "pbms": {"ok": True, "e": ""}, "nodes": {"ok": True, "e": ""},
                           "stors": {"ok": True, "e": ""}, "mv": "7.0.14", "pv": "7.0.14-8", "e": ""}
    doc.update(over)
    return doc


def facts(agents: list[Any] | None = None, arbiter: str | None = None, privileges: list[Any] | None = None,
          roles: list[Any] | None = None, version: str = "7.0.14", psmdb: bool = True,
          pbm_config: dict[str, Any] | None = None, **over: Any) -> ReplicaSetFacts:
    hosts = HOSTS + ([arbiter] if arbiter else [])
    members = [{"_id": i, "host": h, "arbiterOnly": h == arbiter, "hidden": False, "priority": 1.0,
                "secondaryDelaySecs": 0} for i, h in enumerate(hosts)]
    states = [{"name": h, "health": 1.0, "state": 7 if h == arbiter else (1 if i == 0 else 2),
               "stateStr": "ARBITER" if h == arbiter else ("PRIMARY" if i == 0 else "SECONDARY")}
              for i, h in enumerate(hosts)]
    build: dict[str, Any] = {"version": version, "ok": 1.0}
    if psmdb:
        build["psmdbVersion"] = f"{version}-8"
    values: dict[str, Any] = {
        "seeds": tuple(HOSTS),
        "hello": Observed({"setName": "rs0", "isWritablePrimary": True, "primary": HOSTS[0], "me": HOSTS[0],
                           "maxWireVersion": 21}),
        "status": Observed({"set": "rs0", "members": states}),
        "config": Observed({"config": {"_id": "rs0", "members": members}}),
        "build_info": Observed(build),
        "connection_status": Observed({"authInfo": {
            "authenticatedUsers": [{"user": "pmm", "db": "admin"}],
            "authenticatedUserRoles": roles if roles is not None else [],
            "authenticatedUserPrivileges": privileges if privileges is not None else mongodb_roles.any_action()}}),
        "agents": Observed([agent(h) for h in HOSTS] if agents is None else agents),
        "pbm_config": Observed(pbm_config),
        "cluster_time": Observed(NOW),
        # pbm-agent's connections run as PMM's user, the setup PMM's docs describe
        "agent_users": Observed([{"user": "pmm", "db": "admin"}]),
        "agent_user_info": Observed([]),
    }
    values.update(over)
    return ReplicaSetFacts(**values)


def results(f: ReplicaSetFacts, check: str, mode: str = "logical") -> dict[str, tuple[Status, str]]:
    return {r.node: (r.status, r.reason) for r in run_checks(f, ClusterSettings(mode)) if r.check == check}


def blocks(f: ReplicaSetFacts, check: str, mode: str = "logical") -> dict[str, tuple[str, ...]]:
    return {r.node: r.blocks for r in run_checks(f, ClusterSettings(mode)) if r.check == check}


def test_healthy_replica_set_passes_everything() -> None:
    out = run_checks(facts(pbm_config={"storage": {"type": "s3", "s3": {"bucket": "b"}}}),
                             ClusterSettings())
    assert {r.check for r in out if r.status is Status.PASS} == {
        "replica_set_member", "pbm_agent_running", "pbm_version_supported", "pbm_versions_consistent",
        "pbm_storage_reachable", "backup_candidate_available", "pbm_no_stale_lock", "mongodb_user_permissions",
        "supported_configuration"}
    # without a pmm: section the PMM checks are skipped, with the reason, and never exported
    skipped = {r.check: r.reason for r in out if r.status is Status.SKIPPED
               and r.check not in ("pitr_running", "pitr_resumable", "pbm_storage_shared", "pbm_no_stuck_operation",
                                   "pitr_timeline_continuous", "restore_point_available", "recovery_objectives_met",
                                   "backup_matches_cluster", "pitr_oplog_sufficient", "write_majority_available")}
    assert skipped == dict.fromkeys(
        ["backup_management_enabled", "storage_location_configured", "pmm_client_connected",
         "pmm_agent_version_supported", "pmm_agent_on_mongodb_node", "pmm_service_agents_unique",
         "pmm_service_user_matches",
         "pmm_cluster_services_connected", "containerized_node", "service_cluster_name",
         "pmm_scheduled_backups_enabled", "pmm_snapshot_backups_allowed", "pmm_pitr_schedule_applied",
         "pmm_retention_effective",
         "pmm_backup_folder_unique",
         "restore_version_compatible", "pmm_restore_supported",
         "pbm_config_managed_by_pmm"],
        "no pmm: section in the config, so PMM Server is not checked")


def test_heartbeat_is_judged_by_cluster_time_at_pbm_threshold() -> None:
    out = results(facts(agents=[agent(HOSTS[0], age=30), agent(HOSTS[1], age=31), agent(HOSTS[2], age=-50)]),
                  "pbm_agent_running")
    assert out[HOSTS[0]][0] is Status.PASS  # hb + 30 == ct is not yet lost (PBM: hb.T + 30 < ct.T)
    assert out[HOSTS[1]] == (Status.FAIL, "pbm-agent heartbeat is stale: last heartbeat 31 s ago by the cluster's "
                                          "clock (PBM calls an agent lost after 30 s) (a physical restore needs "
                                          "every node's agent; backups and PITR can run from db1:27017, db3:27017)")
    assert out[HOSTS[2]][0] is Status.PASS  # ahead of cluster time counts as fresh


def test_duplicate_agent_documents_keep_the_newest_heartbeat() -> None:
    docs = [agent(HOSTS[0], age=500), agent(HOSTS[0], age=1), agent(HOSTS[1]), agent(HOSTS[2], age=900),
            agent(HOSTS[2], age=400)]
    out = results(facts(agents=docs), "pbm_agent_running")
    assert out[HOSTS[0]][0] is Status.PASS
    assert out[HOSTS[2]][0] is Status.FAIL and "400 s ago" in out[HOSTS[2]][1]


def test_agent_errors_and_missing_agents_name_the_problem() -> None:
    docs = [agent(HOSTS[0], nodes={"ok": False, "e": "ping: server selection timeout"}),
            agent(HOSTS[1], rs="other-rs")]
    out = results(facts(agents=docs), "pbm_agent_running")
    assert out[HOSTS[0]] == (Status.FAIL, "pbm-agent reports an error: node connection: ping: server selection "
                                          "timeout (a physical restore needs every node's agent; a logical restore "
                                          "runs on the primary's agent; this is the cluster leader, whose agent "
                                          "starts every backup and PITR)")
    # PBM deletes stale documents when a backup starts: no document does not mean the agent never ran
    assert out[HOSTS[1]][0] is Status.FAIL and "no pbm-agent has ever reported" not in out[HOSTS[1]][1]
    assert out[HOSTS[1]][1].startswith("no pbm-agent document for this node (rs0/db2:27017) in admin.pbmAgents: "
                                       "its pbm-agent is not running, or it stopped and PBM deleted its stale "
                                       "document")
    assert out[HOSTS[2]][0] is Status.FAIL


@pytest.mark.parametrize("doc", [
    {"n": HOSTS[0], "rs": "rs0"},
    {"n": HOSTS[0], "rs": "rs0", "hb": "yesterday", "v": 2},
    {"n": HOSTS[0], "rs": "rs0", "hb": Timestamp(NOW, 1), "v": "2.7.0", "pbms": "ok", "nodes": None, "stors": []},
    {"n": 5, "rs": None},
    "not a document",
    {},
])
def test_malformed_agent_documents_fail_with_a_reason_never_raise(doc: Any) -> None:
    out = run_checks(facts(agents=[doc, agent(HOSTS[1]), agent(HOSTS[2])]), ClusterSettings())
    running = {r.node: r for r in out if r.check == "pbm_agent_running"}
    assert running[HOSTS[0]].status is Status.FAIL
    assert running[HOSTS[0]].reason and running[HOSTS[0]].fix
    assert all("internal error" not in r.reason for r in out)


@pytest.mark.parametrize(("version", "status"), [
    ("2.0.1", Status.PASS), ("2.0.0", Status.FAIL), ("1.8.1", Status.FAIL), ("v2.7.0", Status.PASS),
    ("2.10.0-rc1", Status.PASS), ("2.13", Status.PASS), ("two", Status.FAIL), ("", Status.FAIL),
])
def test_pbm_version_is_compared_on_the_core_version(version: str, status: Status) -> None:
    out = results(facts(agents=[agent(h, version=version) for h in HOSTS]), "pbm_version_supported")
    assert out[HOSTS[0]][0] is status


def test_pbm_2_14_blocks_restores_from_pmm_unless_a_node_runs_an_older_pbm() -> None:
    # percona/pmm#5877: PMM's restore job does not answer PBM 2.14's confirmation prompt
    every = run_checks(facts(agents=[agent(h, version="2.14.0") for h in HOSTS]), ClusterSettings())
    prompt = [r for r in every if r.check == "pbm_version_supported"]
    assert {r.status for r in prompt} == {Status.FAIL}
    assert prompt[0].blocks == ("logical_restore", "physical_restore", "pitr_restore")
    assert "percona/pmm#5877" in prompt[0].reason and "--yes" in prompt[0].fix
    assert readiness(every)["logical_restore"] is False and readiness(every)["logical_backup"] is True
    mixed = results(facts(agents=[agent(HOSTS[0], version="2.15.1"), *(agent(h, version="2.13.0")
                                                                        for h in HOSTS[1:])]), "pbm_version_supported")
    assert mixed[HOSTS[0]][0] is Status.FAIL and f"restore through {HOSTS[1]}" in mixed[HOSTS[0]][1]
    assert mixed[HOSTS[1]][0] is Status.PASS


def test_parse_version() -> None:
    assert parse_version("2.0.1") == (2, 0, 1)
    assert parse_version("v2.10.0+meta") == (2, 10, 0)
    assert parse_version(None) is None
    assert parse_version("2.x.1") is None


def test_arbiter_needs_no_agent_but_is_a_member() -> None:
    f = facts(arbiter="arb:27017")
    assert "arb:27017" not in results(f, "pbm_agent_running")
    assert results(f, "replica_set_member")["arb:27017"][0] is Status.PASS
    physical = results(f, "supported_configuration", "physical")[""]
    assert physical[0] is Status.FAIL and "physical restores are not supported with arbiter nodes" in physical[1]


def test_down_member_fails_membership_and_its_agent_says_mongod_is_down() -> None:
    f = facts(agents=[agent(HOSTS[0]), agent(HOSTS[1]), agent(HOSTS[2], age=120)])
    status = f.status.value
    assert status is not None
    status["members"][2].update(health=0.0, state=8, stateStr="(not reachable/healthy)")
    assert results(f, "replica_set_member")[HOSTS[2]] == (
        Status.FAIL, "member of replica set rs0 but not healthy: (not reachable/healthy) (health 0) (a physical "
                     "restore needs every data-bearing member; backups run from the healthy ones)")
    assert blocks(f, "replica_set_member")[HOSTS[2]] == ("physical_restore",)
    assert "mongod is down too" in results(f, "pbm_agent_running")[HOSTS[2]][1]


def test_a_running_agent_whose_mongod_is_down_names_mongod_as_the_cause() -> None:
    f = facts(agents=[agent(HOSTS[0]), agent(HOSTS[1]),
                      agent(HOSTS[2], nodes={"ok": False, "e": "ping: connection refused"})])
    status = f.status.value
    assert status is not None
    status["members"][2].update(health=0.0, state=8, stateStr="(not reachable/healthy)")
    out = run_checks(f, ClusterSettings())
    [running] = [r for r in out if r.check == "pbm_agent_running" and r.node == HOSTS[2]]
    assert running.reason.startswith("the node's mongod is down: its pbm-agent reports node connection: ping: "
                                     "connection refused")
    assert running.fix.startswith("On db3: start mongod first (sudo systemctl start mongod)")
    # no document at all, and the mongod down: mongod is named as the cause too
    f = facts(agents=[agent(HOSTS[0]), agent(HOSTS[1])])
    status = f.status.value
    assert status is not None
    status["members"][2].update(health=0.0, state=8, stateStr="(not reachable/healthy)")
    [running] = [r for r in run_checks(f, ClusterSettings()) if r.check == "pbm_agent_running" and r.node == HOSTS[2]]
    assert "the node's mongod is down, so no agent can report for it" in running.reason
    assert running.fix.startswith("On db3: start mongod first")


def test_standalone_fails_membership() -> None:
    f = ReplicaSetFacts(seeds=("solo:27017",), hello=Observed({"isWritablePrimary": True, "maxWireVersion": 21}),
                        status=Observed.failed("NoReplicationEnabled: not running with --replSet"),
                        config=Observed.failed("NoReplicationEnabled: not running with --replSet"))
    out = results(f, "replica_set_member")
    assert out["solo:27017"][0] is Status.FAIL and "standalone" in out["solo:27017"][1]


def test_unreadable_facts_give_unknown_not_failures() -> None:
    f = facts(agents=None, cluster_time=Observed.failed("no $clusterTime"))
    assert {s for s, _ in results(f, "pbm_agent_running").values()} == {Status.UNKNOWN}
    f = facts(agents=[], connection_status=Observed.failed("Unauthorized: not authorized"))
    assert results(f, "mongodb_user_permissions")[""][0] is Status.UNKNOWN


def test_storage_check_waits_for_a_pbm_config() -> None:
    assert results(facts(), "pbm_storage_reachable")[""][0] is Status.SKIPPED
    f = facts(pbm_config={"storage": {"type": "filesystem", "filesystem": {"path": "/backup"}}},
              agents=[agent(HOSTS[0], stors={"ok": False, "e": "stat /backup/.pbm.init: permission denied"}),
                      agent(HOSTS[1]), agent(HOSTS[2])])
    out = results(f, "pbm_storage_reachable")
    assert out[HOSTS[0]] == (Status.FAIL, "pbm-agent cannot use the storage (filesystem path /backup): "
                                          "stat /backup/.pbm.init: permission denied (a physical restore needs every "
                                          "node's agent; a logical restore runs on the primary's agent; backups and "
                                          "PITR can run from db2:27017, db3:27017)")
    # the leader still nominates the other agents, so a storage failure on the primary blocks no backup
    assert blocks(f, "pbm_storage_reachable")[HOSTS[0]] == ("logical_restore", "physical_restore", "pitr_restore")
    assert out[HOSTS[1]] == (Status.PASS, "pbm-agent reaches the storage (filesystem path /backup)")


def test_permissions_judge_effective_privileges() -> None:
    # A custom role that grants anyAction on anyResource works like pbmAnyAction
    assert results(facts(privileges=[{"resource": {"anyResource": True}, "actions": ["anyAction"]}]),
                   "mongodb_user_permissions")[""][0] is Status.PASS
    # The documented roles without pbmAnyAction: exactly that is missing
    privileges = (mongodb_roles.read_write("admin") + mongodb_roles.backup() + mongodb_roles.restore()
                  + mongodb_roles.cluster_monitor())
    out = results(facts(privileges=privileges), "mongodb_user_permissions")[""]
    assert out == (Status.FAIL, "pbm-agent's user pmm@admin, which runs PBM's backups and restores, lacks the "
                                "privileges of pbmAnyAction@admin (anyAction on anyResource)")
    # Built-in roles held by name count even when the server's action list differs from ours
    roles = [{"role": r, "db": "admin"} for r in ("readWrite", "backup", "restore", "clusterMonitor")]
    out = results(facts(privileges=mongodb_roles.cluster_monitor()[:1], roles=roles), "mongodb_user_permissions")[""]
    assert out[1] == ("pbm-agent's user pmm@admin, which runs PBM's backups and restores, lacks the privileges of "
                      "pbmAnyAction@admin (anyAction on anyResource)")


def test_pbm_agents_user_unseen_or_malformed_is_unknown() -> None:
    ok = mongodb_roles.any_action()
    refused = facts(privileges=ok, agent_users=Observed.failed("Unauthorized: not authorized on admin to execute "
                                                               "command { currentOp: 1 }"))
    status, reason = results(refused, "mongodb_user_permissions")[""]
    assert status is Status.UNKNOWN
    assert reason.startswith("cannot see which user pbm-agent runs as (currentOp: Unauthorized")
    assert "grant the exporter's user pmm@admin clusterMonitor (its inprog action)" in reason
    for malformed in ({"user": "pbmuser"}, ["pbmuser"], "pbmuser"):  # never an exception
        assert results(facts(privileges=ok, agent_users=Observed(malformed)),
                       "mongodb_user_permissions")[""][0] is Status.UNKNOWN
    none = facts(privileges=ok, agent_users=Observed([]))
    assert results(none, "mongodb_user_permissions")[""][0] is Status.UNKNOWN
    odd = facts(privileges=ok, agent_users=Observed([{"user": "pbmuser", "db": "admin"}]),
                agent_user_info=Observed([{"user": "pbmuser", "db": "admin", "inheritedPrivileges": "x"}]))
    status, reason = results(odd, "mongodb_user_permissions")[""]
    assert (status, reason) == (Status.UNKNOWN, "usersInfo does not show the privileges of pbm-agent's user "
                                                "pbmuser@admin; the exporter's user pmm@admin holds what PMM's pbm "
                                                "CLI runs")
    # a failure of one user is reported with what is unknown of the other
    weak = facts(privileges=mongodb_roles.cluster_monitor(), agent_users=Observed([]))
    status, reason = results(weak, "mongodb_user_permissions")[""]
    assert status is Status.FAIL
    assert reason.startswith("the exporter's user pmm@admin, which PMM runs the pbm CLI as, lacks find on "
                             "admin.pbmAgents")
    assert reason.endswith("no authenticated pbm-agent connection on the primary (currentOp appName \"pbm-agent\"): "
                           "pbm-agent's user cannot be judged")


def test_the_exporters_user_needs_what_pmms_pbm_status_reads() -> None:
    # PMM polls the full `pbm status`, which stops at its first failing section (cmd/pbm/status.go statusOut.set):
    # it reads admin.pbmLog and admin.pbmPITRChunks, and replSetGetConfig on every replica set
    pbm_collections = ["pbmAgents", "pbmLock", "pbmLockOp", "pbmConfig", "pbmBackups", "pbmRestores"]
    held = [{"resource": {"cluster": True}, "actions": ["getCmdLineOpts"]},
            *({"resource": {"db": "admin", "collection": c}, "actions": ["find"]} for c in pbm_collections),
            {"resource": {"db": "admin", "collection": "pbmCmd"}, "actions": ["insert"]},
            {"resource": {"db": "admin", "collection": "pbmConfig"}, "actions": ["insert", "update"]}]
    status, reason = results(facts(privileges=held, agent_users=Observed([])), "mongodb_user_permissions")[""]
    assert status is Status.FAIL
    assert reason.startswith("the exporter's user pmm@admin, which PMM runs the pbm CLI as, lacks replSetGetConfig on "
                             "cluster, find on admin.pbmLog, find on admin.pbmPITRChunks;")


def test_roles_without_privileges_are_unknown_not_a_failure() -> None:
    # a real mongod always expands the roles into privileges; a server that lists roles and no privileges cannot
    # be judged (before: "lacks the privileges of ..." for every role)
    roles = [{"role": r, "db": "admin"} for r in ("readWrite", "backup", "restore", "clusterMonitor", "pbmAnyAction")]
    out = run_checks(facts(privileges=[], roles=roles), ClusterSettings())
    [permissions] = [r for r in out if r.check == "mongodb_user_permissions"]
    assert permissions.status is Status.UNKNOWN
    assert permissions.reason == ("connectionStatus lists the user's roles but no privileges (a real mongod always "
                                  "expands them): the privileges cannot be judged")
    assert permissions.blocks == ("logical_backup", "physical_backup", "pitr", "logical_restore", "physical_restore",
                                 "pitr_restore")


def test_permissions_on_mongodb_8_need_direct_shard_operations() -> None:
    privileges = (mongodb_roles.read_write("admin") + mongodb_roles.backup() + mongodb_roles.restore()
                  + mongodb_roles.cluster_monitor())
    out = results(facts(privileges=privileges, version="8.0.4"), "mongodb_user_permissions")[""]
    assert "directShardOperations@admin (issueDirectShardOperations on cluster)" in out[1]


def test_resource_matching() -> None:
    assert resource_covers({"db": "", "collection": ""}, {"db": "admin", "collection": "pbmAgents"})
    assert not resource_covers({"db": "", "collection": ""}, {"db": "admin", "collection": "system.version"})
    assert resource_covers({"db": "admin", "collection": ""}, {"db": "admin", "collection": ""})
    assert not resource_covers({"db": "admin", "collection": ""}, {"db": "", "collection": ""})
    assert not resource_covers({"db": "local", "collection": ""}, {"cluster": True})
    assert resource_covers({"anyResource": True}, {"cluster": True})


@pytest.mark.parametrize(("held", "needed", "covers"), [
    # anyNormalResource never matches local or config (server ResourcePatternSearchList)
    ({"db": "", "collection": ""}, {"db": "local", "collection": ""}, False),
    ({"db": "", "collection": ""}, {"db": "config", "collection": ""}, False),
    ({"db": "", "collection": ""}, {"db": "local", "collection": "oplog.rs"}, False),
    ({"db": "", "collection": ""}, {"db": "config", "collection": "chunks"}, False),
    ({"db": "", "collection": ""}, {"db": "admin", "collection": ""}, True),
    # a database pattern does cover its own normal collections, local's and config's too
    ({"db": "local", "collection": ""}, {"db": "local", "collection": "oplog.rs"}, True),
    # a collection-name pattern matches that collection in every database, local and config included
    ({"db": "", "collection": "system.js"}, {"db": "local", "collection": "system.js"}, True),
    ({"db": "", "collection": "oplog.rs"}, {"db": "local", "collection": "oplog.rs"}, True),
    ({"db": "", "collection": "oplog.rs"}, {"db": "local", "collection": ""}, False),
    # a collection-name pattern is matched only by itself (and anyResource), not by anyNormalResource
    ({"db": "", "collection": ""}, {"db": "", "collection": "pbmAgents"}, False),
    ({"db": "", "collection": "system.users"}, {"db": "", "collection": "system.users"}, True),
])
def test_resource_matching_follows_the_servers_search_list(held: dict[str, str], needed: dict[str, str],
                                                           covers: bool) -> None:
    assert resource_covers(held, needed) is covers


@pytest.mark.parametrize(("version", "pbm", "expected"), [
    ("7.0.14", "2.7.0", None),
    ("8.0.4", "2.11.0", None),
    ("6.0.18", "2.11.0", "by PBM's docs table (Supported MongoDB versions) PBM 2.11.0 supports MongoDB 7.0, 8.0, "
                         "not 6.0 (warning: PBM's own check (version.go PBMSupport) logs WARNING and does not "
                         "refuse it)"),
    ("8.2.1", "2.12.0", "PBM 2.12.0 supports MongoDB 7.0, 8.0, not 8.2 (warning: PBM's own check"),
    # outside the docs table (6.0-8.0) but in what PBM 2.7's code knows (5.0-8.0)
    ("5.0.28", "2.8.0", "PBM 2.8.0 supports MongoDB 6.0, 7.0, 8.0, not 5.0 (warning: PBM's own check (version.go "
                        "PBMSupport) knows it and does not refuse it)"),
    ("4.2.24", "2.0.1", "MongoDB 4.2 is older than 4.4, the oldest PMM's docs name (warning: neither PMM nor PBM "
                        "refuses it)"),
])
def test_mongodb_version_rules(version: str, pbm: str, expected: str | None) -> None:
    # PBM's code never refuses a MongoDB version (pbm/version/version.go PBMSupport only warns), and neither does
    # PMM: outside the docs table is a warning, which blocks no operation
    f = facts(version=version, agents=[agent(h, version=pbm, mv=version) for h in HOSTS])
    status, reason = results(f, "supported_configuration")[""]
    if expected is None:
        assert status is Status.PASS
    else:
        assert status is Status.FAIL and expected in reason
        assert blocks(f, "supported_configuration")[""] == ()


def test_physical_mode_needs_one_psmdb_member_per_replica_set() -> None:
    # PBM picks one candidate per replica set (getValidCandidates); its physical restore tests no server build
    docs = [agent(HOSTS[0]), agent(HOSTS[1]), {k: v for k, v in agent(HOSTS[2]).items() if k != "pv"}]
    status, reason = results(facts(agents=docs), "supported_configuration", "physical")[""]
    assert status is Status.FAIL
    assert reason.startswith("physical backups need Percona Server for MongoDB 4.2.15, 4.4.6 or 5.0+ on the node PBM "
                             "takes them from; db3:27017 (not Percona Server for MongoDB); PBM takes them from "
                             "db1:27017, db2:27017")
    assert blocks(facts(agents=docs), "supported_configuration", "physical")[""] == ()
    assert results(facts(agents=docs), "supported_configuration", "logical")[""][0] is Status.PASS


def pitr_facts(backup_age: int, backup: dict[str, Any] | None, **over: Any) -> ReplicaSetFacts:
    """PITR on, no pitr lock, the newest chunk 40 minutes old, and a backup holding PBM's lock."""
    lock = {"type": "backup", "replset": "rs0", "node": HOSTS[1], "opid": "b1", "hb": Timestamp(NOW - backup_age, 1)}
    values: dict[str, Any] = {
        "locks": Observed([lock]), "op_locks": Observed([]), "backups": Observed([backup] if backup else []),
        "pitr_chunks": Observed([{"rs": "rs0", "start_ts": Timestamp(NOW - 2460, 1),
                                  "end_ts": Timestamp(NOW - 2400, 1)}])}
    values.update(over)
    return facts(pbm_config={"storage": {"type": "s3", "s3": {"bucket": "b"}}, "pitr": {"enabled": True}}, **values)


LOGICAL = {"name": "nightly", "opid": "b1", "type": "logical", "status": "running", "store": {}}


@pytest.mark.parametrize(("age", "backup", "status", "says"), [
    (3, LOGICAL, Status.PASS, "is paused by the running logical backup nightly"),
    (3, {**LOGICAL, "status": "dumpDone"}, Status.PASS, "is paused by the running logical backup nightly"),
    (45, LOGICAL, Status.FAIL, "no PITR slicer runs for rs0"),  # a stale backup lock pauses nothing
    (3, {**LOGICAL, "type": "physical"}, Status.FAIL, "no PITR slicer runs for rs0"),
    (3, {**LOGICAL, "store": {"profile": True, "name": "archive"}}, Status.FAIL, "no PITR slicer runs"),
    (3, {**LOGICAL, "status": "error"}, Status.FAIL, "no PITR slicer runs for rs0"),
    (3, None, Status.UNKNOWN, "its admin.pbmBackups document could not be read"),
    (3, {**LOGICAL, "store": "odd", "name": 7}, Status.PASS, "paused by the running logical backup b1"),
])
def test_pitr_paused_by_a_running_logical_backup_to_the_main_storage(
        age: int, backup: dict[str, Any] | None, status: Status, says: str) -> None:
    result = results(pitr_facts(age, backup), "pitr_running")[""]
    assert result[0] is status and says in result[1], result
    assert blocks(pitr_facts(age, backup), "pitr_running")[""] == (() if status is Status.PASS else ("pitr",))


@pytest.mark.parametrize(("versions", "blocked"), [
    (["2.5.0", "2.5.0", "v2.0.1"], False),  # pbm status skips stale locks before 2.6
    (["2.5.0", "2.6.0", "2.5.0"], True),  # PMM may run the 2.6 pbm status
    (["2.7.0"] * 3, True),
    (["2.5.0", None, "2.5.0"], True),  # a version that cannot be read counts as 2.6+
    (["2.5.0", 7, "2.5.0"], True),
    ([], True),  # no agent document: cannot tell
])
def test_a_stale_lock_blocks_everything_only_where_pbm_status_reports_it(
        versions: list[Any], blocked: bool) -> None:
    agents = [agent(h, version=v) for h, v in zip(HOSTS, versions, strict=False)]
    lock = {"type": "backup", "replset": "rs0", "node": HOSTS[0], "opid": "b1", "hb": Timestamp(NOW - 45, 1)}
    f = facts(agents=agents, locks=Observed([lock]), op_locks=Observed([]))
    status, reason = results(f, "pbm_no_stale_lock")[""]
    assert status is Status.FAIL and ("A warning" not in reason) is blocked
    assert len(blocks(f, "pbm_no_stale_lock")[""]) == (6 if blocked else 0)


@pytest.mark.parametrize(("kind", "storage", "error", "storage_error"), [
    ("physical", "s3", "upload file `/data/db/x.wt`: get file stat: stat /data/db/x.wt: permission denied", False),
    ("incremental", "s3", "upload file `/data/db/x.wt`: open /data/db/x.wt: no such file or directory", False),
    ("physical", "s3", "upload file `/data/db/x.wt`: upload: AccessDenied: Access Denied", True),
    ("logical", "filesystem", "create destination file: open /mnt/pbm/b/rs0/oplog: permission denied", True),
    ("physical", "filesystem", "open /mnt/pbm/2026-12-03T10:00:00Z/rs0/x.wt: permission denied", True),
    ("physical", "s3", "upload file `/data/db/x.wt`: open /data/db/2026-12-03T10:00:00Z.wt: permission denied", False),
    ("physical", "filesystem", "stat /mnt/pbmx/y.wt: permission denied", False),  # not under /mnt/pbm
    ("physical", "filesystem", "open /data/db/x.wt: read-only file system", True),  # not a read error
])
def test_a_physical_backups_dbpath_error_is_not_the_storages(kind: str, storage: str, error: str,
                                                             storage_error: bool) -> None:
    config = {"storage": {"type": storage, storage: {"bucket": "b"} if storage == "s3" else {"path": "/mnt/pbm/"}}}
    last = {"name": "b", "type": kind, "status": "error", "error": error}
    out = [r for r in run_checks(facts(pbm_config=config, last_backup=Observed(last)), ClusterSettings("logical"))
           if r.check == "pbm_storage_reachable" and r.node == ""]
    assert [(r.status, r.blocks) for r in out] == ([(Status.FAIL, ())] if storage_error else [])


RESTORE_CMD = {"cmd": "restore", "restore": {"name": "r1", "backupName": "b1", "external": False}, "ts": NOW - 90}


@pytest.mark.parametrize(("command", "backup", "age", "running"), [
    (RESTORE_CMD, {"name": "b1", "type": "physical"}, 90, True),
    (RESTORE_CMD, {"name": "b1", "type": "incremental"}, 90, True),
    (RESTORE_CMD, {"name": "b1", "type": "physical"}, 2, False),  # heartbeats fresh: the restore ended or waits
    (RESTORE_CMD, {"name": "b1", "type": "logical"}, 90, False),  # a logical restore pauses no heartbeat
    (RESTORE_CMD, None, 90, False),  # no metadata for its backup: its type is unknown
    (RESTORE_CMD, {"name": "b2", "type": "physical"}, 90, False),
    ({**RESTORE_CMD, "restore": {"name": "r1", "backupName": "", "external": True}}, None, 90, True),
    ({"cmd": "backup", "backup": {"name": "b1"}}, {"name": "b1", "type": "physical"}, 90, False),
    ({"cmd": "restore", "restore": "odd"}, {"name": "b1", "type": "physical"}, 90, False),
    ("odd", [], 90, False),
    (None, None, 90, False),
])
def test_a_physical_restore_runs_while_its_command_is_the_newest_and_the_agents_are_paused(
        command: Any, backup: Any, age: int, running: bool) -> None:
    f = facts(agents=[agent(h, age=age) for h in HOSTS], last_command=Observed(command),
              restore_backup=Observed(backup), locks=Observed([]), op_locks=Observed([]))
    assert (running_physical_restore(f) is not None) is running
    assert running_operations(f) == ({"restore"} if running else set())
    # no member with Percona Server: no physical backup, nor a physical restore through PMM (issue 29 item 8)
    docs = [{k: v for k, v in agent(h).items() if k != "pv"} for h in HOSTS]
    assert blocks(facts(agents=docs), "supported_configuration", "physical")[""] == ("physical_backup",
                                                                                     "physical_restore")


@pytest.mark.parametrize(("mv", "ok"), [("4.4.5", False), ("4.4.6", True), ("4.2.14", False), ("4.2.15", True),
                                        ("4.0.28", False), ("5.0.0", True), ("7.0.14-8", True)])
def test_physical_backups_need_psmdb_4_2_15_or_4_4_6(mv: str, ok: bool) -> None:
    # pbm/version/version.go FullPhysicalBackup
    docs = [agent(h, mv=mv, pv=f"{mv}-7") for h in HOSTS]
    status, reason = results(facts(agents=docs), "backup_candidate_available", "physical")[""]
    assert (status is Status.PASS) is ok, reason
    if not ok:
        assert "older than PBM's floor for physical backups" in reason
        assert blocks(facts(agents=docs), "backup_candidate_available", "physical")[""] == ("physical_backup",)


def test_pbm_2_5_pre_check_reason_carries_no_secret_from_the_agents_error() -> None:
    err = "connect to mongodb://pbm:Secr3tPass@db1:27017/?authSource=admin: server selection timeout"
    f = facts(agents=[agent(h, version="2.5.0", e=err) for h in HOSTS])
    status, reason = results(f, "backup_candidate_available")[""]
    assert status is Status.FAIL and "no available agent(s) on replsets: rs0" in reason
    assert "Secr3tPass" not in reason and "<redacted>" in reason
    # from 2.9.1 the agents' `e` no longer matters to the pre-check
    f = facts(agents=[agent(h, version="2.9.1", e=err) for h in HOSTS])
    assert results(f, "backup_candidate_available")[""][0] is Status.PASS


def test_malformed_catalogue_documents_make_restore_point_available_unknown_never_raise() -> None:
    odd = Observed(["x", {"name": 1, "type": "logical"}, {"name": "b", "type": "logical", "status": "done",
                                                            "first_write_ts": 5, "last_write_ts": None}])
    out = run_checks(facts(catalogue=odd, pitr_timelines=Observed({"rs0": ((1, "x"),)})), ClusterSettings())
    [result] = [r for r in out if r.check == "restore_point_available"]
    assert result.status is Status.UNKNOWN
    assert "4 record(s) of PBM's catalogue (admin.pbmBackups, admin.pbmPITRChunks) could not" in result.reason


def _stuck_facts(backup_status: str, restore: dict[str, Any] | None, **over: Any) -> ReplicaSetFacts:
    backup = {"name": "b1", "opid": "o1", "status": backup_status, "hb": Timestamp(NOW - 100, 1)}
    return facts(pbm_config={"storage": {"type": "s3"}}, last_backup=Observed(backup), last_restore=Observed(restore),
                 locks=Observed([]), **over)


@pytest.mark.parametrize(("backup_status", "restore", "status", "says"), [
    ("done", None, Status.PASS, "PBM's newest backup b1 is done"),
    ("done", {"name": "r1", "opid": "o2", "status": "running", "type": "logical", "backup": "b1",
              "hb": Timestamp(NOW - 31, 1)}, Status.FAIL, "operation staled, last heartbeat: "),
    ("done", {"name": "r1", "opid": "o2", "status": "running", "type": "logical", "hb": Timestamp(NOW - 30, 1)},
     Status.PASS, "its heartbeat 30 s old"),  # StaleFrameSec: stale only past 30 s
    ("done", {"name": "r1", "status": "running", "type": "physical", "hb": Timestamp(NOW - 600, 1)}, Status.PASS,
     "only a logical restore's heartbeat is judged"),  # checkRestoreStale's wall-clock rule, not judged here
    ("done", {"name": "r1", "status": "partlyDone", "type": "logical", "hb": Timestamp(NOW - 600, 1)}, Status.PASS,
     "is partlyDone"),
    ("running", {"name": "r1", "opid": "o2", "status": "running", "type": "logical", "hb": Timestamp(NOW - 600, 1)},
     Status.FAIL, "Backup stuck at `running` stage\"), nothing will finish it, and it is no restore point (warning: "
                  "the next backup runs); and PBM's newest restore r1"),
])
def test_stuck_backups_and_logical_restores(backup_status: str, restore: dict[str, Any] | None, status: Status,
                                            says: str) -> None:
    found_status, reason = results(_stuck_facts(backup_status, restore), "pbm_no_stuck_operation")[""]
    assert found_status is status and says in reason


def test_a_stuck_restore_held_by_its_lock_is_left_to_the_stale_lock_check() -> None:
    restore = {"name": "r1", "opid": "o2", "status": "running", "type": "logical", "hb": Timestamp(NOW - 600, 1)}
    lock = {"type": "restore", "replset": "rs0", "node": HOSTS[0], "opid": "o2", "hb": Timestamp(NOW - 600, 1)}
    f = _stuck_facts("done", restore)
    f = replace(f, locks=Observed([lock]))
    assert results(f, "pbm_no_stuck_operation")[""][0] is Status.PASS
    unreadable = replace(f, last_restore=Observed.failed("boom"), locks=Observed([]))
    assert results(unreadable, "pbm_no_stuck_operation")[""] == (Status.UNKNOWN,
                                                                 "cannot read admin.pbmRestores: boom")
