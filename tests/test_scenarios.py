"""Every check, passing and failing, against a simulated replica set over the real wire protocol."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from bson.timestamp import Timestamp

from exporter.readiness.cluster_readiness import describe_blocks
from exporter.results.check_result import Status
from pbm_pmm_simulator import (
    DEFAULT_ROLES,
    PMM_BACKUP_ROLES,
    PMM_MONITOR_ROLES,
    AgentSpec,
    MemberSpec,
    SimReplicaSet,
    SimRole,
    SimUser,
)
from tests.probing import cluster_config, probe, probe_clusters, result, result_of, scrape, statuses

CHECKS = {"replica_set_member", "pbm_agent_running", "pbm_version_supported", "pbm_versions_consistent",
          "pbm_storage_reachable", "backup_candidate_available", "pbm_no_stale_lock", "mongodb_user_permissions",
          "supported_configuration"}


@pytest.fixture
def rs() -> Iterator[SimReplicaSet]:
    with SimReplicaSet() as replica_set:
        yield replica_set


def test_healthy_replica_set_is_ready(rs: SimReplicaSet) -> None:
    snap = probe(rs)
    assert snap.probe_success and snap.ready is True
    assert {r.check for r in snap.results if r.status is Status.PASS} == CHECKS
    assert {r.status for r in snap.results} == {Status.PASS, Status.SKIPPED}  # the PMM checks: no pmm: section
    assert {r.node for r in snap.results if r.check == "pbm_agent_running"} == set(rs.hosts)
    assert {r.replica_set for r in snap.results} == {"rs0"}
    assert [(a.node, a.version) for a in snap.agents] == [(h, "2.7.0") for h in rs.hosts]
    assert all(a.heartbeat_age is not None and a.heartbeat_age <= 5 for a in snap.agents)


def test_the_exporter_only_reads(rs: SimReplicaSet) -> None:
    probe(rs)
    seen = {c for node in rs.members for c in node.commands_seen}
    assert {"find", "replSetGetStatus", "replSetGetConfig", "buildInfo", "connectionStatus"} <= seen
    writes = {"insert", "update", "delete", "findAndModify", "create", "drop", "createIndexes", "aggregate"}
    assert not seen & writes


def test_stale_heartbeat_fails_with_its_age_and_the_fix(rs: SimReplicaSet) -> None:
    node = rs.members[1]
    node.stop_agent(at=rs.cluster_time().time - 95)
    snap = probe(rs)
    status, reason, fix = result(snap, "pbm_agent_running", node.host)
    assert status is Status.FAIL
    assert reason.startswith("pbm-agent heartbeat is stale: last heartbeat 9")  # 95 s, give or take a second
    assert "sudo systemctl restart pbm-agent" in fix
    # a secondary's agent: PBM takes the logical backup from another node, but a physical restore needs them all
    assert snap.ready is True
    assert snap.operations == {"logical_backup": True, "physical_backup": None, "pitr": True, "logical_restore": True,
                               "physical_restore": False, "pitr_restore": True}


def test_heartbeat_is_judged_by_the_cluster_clock_not_ours() -> None:
    two_days = 2 * 86400
    with SimReplicaSet(clock_offset=two_days) as rs:
        snap = probe(rs)
        assert statuses(snap, "pbm_agent_running") == dict.fromkeys(rs.hosts, Status.PASS)


def test_agent_never_seen_names_the_node_and_the_uri_to_configure() -> None:
    with SimReplicaSet(members=[MemberSpec(), MemberSpec(), MemberSpec(agent=None)]) as rs:
        snap = probe(rs)
        host = rs.hosts[2]
        status, reason, fix = result(snap, "pbm_agent_running", host)
        assert status is Status.FAIL and reason.startswith(f"no pbm-agent document for this node (rs0/{host})")
        port = host.rsplit(":", 1)[1]
        assert f'PBM_MONGODB_URI="mongodb://<pbm-user>:<password>@localhost:{port}/?authSource=admin"' in fix
        assert "systemctl enable --now pbm-agent" in fix
        # its version cannot be known: unknown, hence not exported, rather than a false failure
        assert result(snap, "pbm_version_supported", host)[0] is Status.UNKNOWN


def test_agent_reporting_an_error_carries_pbms_text() -> None:
    agent = AgentSpec(pbms_ok=False, pbms_err="connect to leader: auth error: sasl conversation error")
    with SimReplicaSet(members=[MemberSpec(), MemberSpec(agent=agent), MemberSpec()]) as rs:
        status, reason, _ = result(probe(rs), "pbm_agent_running", rs.hosts[1])
        assert status is Status.FAIL
        assert reason.startswith("pbm-agent reports an error: PBM connection: connect to leader: auth error: sasl "
                                 "conversation error (a physical restore needs every node's agent; backups and PITR "
                                 "can run from ")


@pytest.mark.parametrize(("version", "expected"), [
    ("1.8.1", Status.FAIL), ("2.0.0", Status.FAIL), ("2.0.1", Status.PASS), ("2.13.0", Status.PASS),
    ("2.15.0", Status.FAIL)])
def test_pbm_versions(version: str, expected: Status) -> None:
    members = [MemberSpec(agent=AgentSpec(version=version)) for _ in range(3)]
    mongo = "8.0.4" if version == "2.15.0" else "6.0.18"
    with SimReplicaSet(members=members, mongo_version=mongo) as rs:
        snap = probe(rs)
        assert statuses(snap, "pbm_version_supported") == dict.fromkeys(rs.hosts, expected)
        # old agents (1.8.1) write fewer fields; the agent check still works on them
        assert statuses(snap, "pbm_agent_running") == dict.fromkeys(rs.hosts, Status.PASS)
        reason = result(snap, "pbm_version_supported", rs.hosts[0])[1]
        if version == "2.15.0":  # backups run; restores from PMM stop at PBM's prompt (percona/pmm#5877)
            assert "asks for confirmation before a restore" in reason
            assert snap.operations["logical_backup"] is True and snap.operations["logical_restore"] is False
        elif expected is Status.FAIL:
            assert reason == f"PBM {version} is older than 2.0.1, the oldest PMM supports"


def test_arbiter_needs_no_agent_and_blocks_physical_restores() -> None:
    with SimReplicaSet(members=[MemberSpec(), MemberSpec(), MemberSpec(arbiter=True)]) as rs:
        logical = probe(rs)
        assert logical.ready is True
        assert rs.hosts[2] not in statuses(logical, "pbm_agent_running")
        assert statuses(logical, "replica_set_member")[rs.hosts[2]] is Status.PASS
        physical = probe(rs, mode="physical")
        status, reason, _ = result(physical, "supported_configuration")
        assert status is Status.FAIL
        assert reason == f"physical restores are not supported with arbiter nodes ({rs.hosts[2]})"


def test_hidden_and_delayed_members_need_an_agent() -> None:
    members = [MemberSpec(), MemberSpec(hidden=True, agent=None), MemberSpec(delay_secs=3600, agent=None)]
    with SimReplicaSet(members=members) as rs:
        snap = probe(rs)
        assert statuses(snap, "pbm_agent_running") == {
            rs.hosts[0]: Status.PASS, rs.hosts[1]: Status.FAIL, rs.hosts[2]: Status.FAIL}


def test_node_down_fails_only_that_node(rs: SimReplicaSet) -> None:
    down = rs.members[2]
    down.stop()
    rs.advance_clock(60)  # a minute later its agent (PBM 2.7: hb frozen when its mongod is gone) is stale
    snap = probe(rs)
    assert snap.probe_success
    assert statuses(snap, "replica_set_member") == {
        rs.hosts[0]: Status.PASS, rs.hosts[1]: Status.PASS, down.host: Status.FAIL}
    status, reason, fix = result(snap, "pbm_agent_running", down.host)
    assert status is Status.FAIL and "mongod is down too" in reason and "systemctl start mongod" in fix
    down.start()


def test_slow_secondary_is_not_waited_for_and_slow_primary_fails_the_probe_in_time(rs: SimReplicaSet) -> None:
    rs.members[1].set_delay(5)
    started = time.monotonic()
    snap = probe(rs, timeout=1.0)
    assert snap.probe_success and snap.ready is True
    rs.members[1].set_delay(0)
    rs.members[0].set_delay(5)  # the primary
    started = time.monotonic()
    snap = probe(rs, timeout=1.0)
    elapsed = time.monotonic() - started
    assert not snap.probe_success and "timed out" in snap.probe_error
    assert snap.results == () and snap.ready is None
    assert elapsed < 3.0, elapsed


def test_missing_privileges_via_a_custom_role_are_listed() -> None:
    # A custom role that bundles the documented roles but lacks anyAction on anyResource
    bundle = SimRole("pmmBackup", "admin", privileges=[], roles=[
        ("readWrite", "admin"), ("backup", "admin"), ("clusterMonitor", "admin"), ("restore", "admin")])
    user = SimUser("pmm", "secret", roles=[("pmmBackup", "admin")])
    with SimReplicaSet(users=[user], roles=[bundle]) as rs:
        status, reason, fix = result(probe(rs), "mongodb_user_permissions")
        assert status is Status.FAIL
        assert reason == ("pbm-agent's user pmm@admin, which runs PBM's backups and restores, lacks the privileges "
                          "of pbmAnyAction@admin (anyAction on anyResource)")
        assert 'grantRolesToUser("pmm", [{role: "pbmAnyAction", db: "admin"}])' in fix
        assert "createRole" in fix


def test_any_normal_resource_does_not_stand_for_local_and_config() -> None:
    # A custom role with restore's privileges, but its writes on local and config left to {db: "", collection: ""}:
    # the server never lets anyNormalResource match local or config (ResourcePatternSearchList), so a restore
    # into them is refused, and the user does not hold what restore grants
    from exporter.model import mongodb_roles

    def on_local_or_config(p: dict[str, object]) -> bool:
        return p["resource"] in ({"db": "local", "collection": ""}, {"db": "config", "collection": ""})

    almost = SimRole("restoreAlmost", "admin",
                     privileges=[p for p in mongodb_roles.restore() if not on_local_or_config(p)])
    user = SimUser("pmm", "secret", roles=[("readWrite", "admin"), ("backup", "admin"), ("clusterMonitor", "admin"),
                                          ("restoreAlmost", "admin")])
    with SimReplicaSet(users=[user], roles=[almost]) as rs:
        status, reason, _ = result(probe(rs), "mongodb_user_permissions")
        assert status is Status.FAIL
        assert "restore@admin (" in reason
        assert "insert, updateSearchIndex on database local" in reason
        assert "insert, updateSearchIndex on database config" in reason


# PBM's docs setup: pbm-agent runs as its own user (PBM_MONGODB_URI), PMM's pbm CLI as PMM's monitoring user
PBM_USER = SimUser("pbmuser", "pbm-secret", roles=PMM_BACKUP_ROLES)
VIEW_USERS = SimRole("viewUsers", "admin", privileges=[{"resource": {"db": "admin", "collection": ""},
                                                        "actions": ["viewUser"]}])
PMM_MONITORING = (*PMM_MONITOR_ROLES, ("readWrite", "admin"))  # pmm.md 1.3: the monitoring user, and readWrite@admin


def test_pbm_agents_own_user_is_judged_not_the_monitoring_users_backup_roles() -> None:
    # PMM's user lacks backup, restore and pbmAnyAction, but runs no backup: pbm-agent's own user does, and holds
    # them all (before: FAIL, "user pmm@admin lacks the privileges of backup@admin ..." blocking everything)
    pmm = SimUser("pmm", "secret", roles=[*PMM_MONITORING, ("viewUsers", "admin")])
    roles = [*DEFAULT_ROLES, VIEW_USERS]
    with SimReplicaSet(users=[pmm, PBM_USER], roles=roles, agent_user=("pbmuser", "admin")) as rs:
        snap = probe(rs)
        status, reason, _ = result(snap, "mongodb_user_permissions")
        assert status is Status.PASS, reason
        assert reason == ("the exporter's user pmm@admin holds what PMM's pbm CLI runs; pbm-agent's user "
                          "pbmuser@admin holds the privileges of readWrite, backup, clusterMonitor, restore and "
                          "pbmAnyAction")
        assert snap.ready is True


def test_pbm_agents_user_unreadable_is_unknown_with_what_to_grant() -> None:
    # without viewUser, another user's privileges cannot be read: unknown, not a guess either way
    pmm = SimUser("pmm", "secret", roles=PMM_MONITORING)
    with SimReplicaSet(users=[pmm, PBM_USER], agent_user=("pbmuser", "admin")) as rs:
        status, reason, _ = result(probe(rs), "mongodb_user_permissions")
        assert status is Status.UNKNOWN
        assert reason.startswith("cannot read the privileges of pbm-agent's user pbmuser@admin (usersInfo: ")
        assert "grant the exporter's user pmm@admin the viewUser action on database admin" in reason
        assert "pbm-secret" not in reason


def test_pbm_agents_user_without_restore_fails_though_pmms_user_has_it() -> None:
    # PMM's user holds every documented role, but pbm-agent runs as a user without restore (nor pbmAnyAction):
    # PBM's restores fail Unauthorized (before: PASS, judging PMM's user only)
    pmm = SimUser("pmm", "secret", roles=[*PMM_BACKUP_ROLES, ("viewUsers", "admin")])
    weak = SimUser("pbmuser", "pbm-secret", roles=[r for r in PMM_BACKUP_ROLES
                                                   if r[0] not in ("restore", "pbmAnyAction")])
    roles = [*DEFAULT_ROLES, VIEW_USERS]
    with SimReplicaSet(users=[pmm, weak], roles=roles, agent_user=("pbmuser", "admin")) as rs:
        snap = probe(rs)
        status, reason, fix = result(snap, "mongodb_user_permissions")
        assert status is Status.FAIL
        assert reason.startswith("pbm-agent's user pbmuser@admin, which runs PBM's backups and restores, lacks the "
                                 "privileges of restore@admin (")
        assert ('grantRolesToUser("pbmuser", [{role: "restore", db: "admin"}, {role: "pbmAnyAction", db: "admin"}])'
                in fix)
        assert snap.operations["logical_restore"] is False


def test_the_exporters_user_is_judged_for_what_pmms_pbm_cli_runs() -> None:
    # read@admin, not readWrite: PMM's `pbm backup` cannot insert its command into admin.pbmCmd, nor `pbm config
    # --file` write admin.pbmConfig (common.go sendCmd, config.go SetConfig)
    pmm = SimUser("pmm", "secret", roles=[*PMM_MONITOR_ROLES, ("read", "admin"), ("viewUsers", "admin")])
    roles = [*DEFAULT_ROLES, VIEW_USERS]
    with SimReplicaSet(users=[pmm, PBM_USER], roles=roles, agent_user=("pbmuser", "admin")) as rs:
        status, reason, fix = result(probe(rs), "mongodb_user_permissions")
        assert status is Status.FAIL
        assert reason == ("the exporter's user pmm@admin, which PMM runs the pbm CLI as, lacks insert on admin.pbmCmd, "
                          "insert, update on admin.pbmConfig")
        assert 'grantRolesToUser("pmm", [{role: "readWrite", db: "admin"}])' in fix


def test_a_custom_role_granting_the_same_privileges_passes() -> None:
    everything = SimRole("dbaEverything", "admin",
                         privileges=[{"resource": {"anyResource": True}, "actions": ["anyAction"]}])
    user = SimUser("pmm", "secret", roles=[("dbaEverything", "admin")])
    with SimReplicaSet(users=[user], roles=[everything]) as rs:
        assert result(probe(rs), "mongodb_user_permissions")[0] is Status.PASS


def test_revoked_role_is_seen_on_the_next_probe(rs: SimReplicaSet) -> None:
    cluster = cluster_config(rs)
    store = probe_clusters([cluster])
    assert result(store.get(cluster.name), "mongodb_user_permissions")[0] is Status.PASS  # type: ignore[arg-type]
    rs.revoke_role("pmm", "backup", "admin")
    rs.revoke_role("pmm", "pbmAnyAction", "admin")
    probe_clusters([cluster], store=store)
    snap = store.get(cluster.name)
    assert snap is not None
    status, reason, _ = result(snap, "mongodb_user_permissions")
    assert status is Status.FAIL
    assert reason.startswith("pbm-agent's user pmm@admin, which runs PBM's backups and restores, lacks the "
                             "privileges of backup@admin (")
    assert "appendOplogNote on cluster" in reason  # serverStatus comes with clusterMonitor, still held
    assert "pbmAnyAction@admin (anyAction on anyResource)" in reason


def test_community_build_with_physical_mode() -> None:
    with SimReplicaSet(psmdb=False) as rs:
        assert probe(rs).ready is True  # logical backups work on Community
        snap = probe(rs, mode="physical")
        status, reason, fix = result(snap, "supported_configuration")
        assert status is Status.FAIL
        assert reason.startswith("physical backups need Percona Server for MongoDB 4.2.15, 4.4.6 or 5.0+ on the node "
                                 "PBM takes them from")
        assert "backup_mode: logical" in fix
        # no physical artifact restores onto Community through PMM (exact version; issue 29 item 8)
        assert snap.operations["physical_backup"] is False and snap.operations["physical_restore"] is False
        assert set(result_of(snap, "supported_configuration").blocks) == {"physical_backup", "physical_restore"}


def test_community_build_rules_out_physical_operations_of_a_logical_cluster() -> None:
    # issue 29 item 8: no $backupCursor, so the physical operations are known impossible, not unknown; but the check
    # passes (nothing to fix for logical backups): pmm_backup_prereq_ok stays 1 and no prerequisite alert fires
    with SimReplicaSet(psmdb=False) as rs:
        snap = probe(rs)
        assert snap.ready is True
        assert snap.operations["physical_backup"] is False and snap.operations["physical_restore"] is False
        assert snap.operations["logical_backup"] is True
        found = result_of(snap, "supported_configuration")
        assert found.status is Status.PASS and found.rules_out
        assert "physical backups and restores are impossible here: no member of replica set" in found.reason
        assert describe_blocks(found) == ("rules out physical_backup, physical_restore (impossible here, nothing "
                                          "to fix)")
        metrics = scrape(snap)
        assert "pmm_backup_prereq_blocking{" not in metrics
        assert 'pmm_backup_prereq_ok{check="supported_configuration",cluster="prod-rs",node="",replica_set="rs0"} 1.0' \
            in metrics
        assert 'pmm_backup_prereq_operation_ready{cluster="prod-rs",operation="physical_restore"} 0.0' in metrics
    with SimReplicaSet(members=[MemberSpec(), MemberSpec(), MemberSpec(psmdb=False)]) as rs:
        snap = probe(rs)  # one PSMDB member is enough for PBM: still unjudged on a logical cluster
        assert snap.operations["physical_backup"] is None and snap.operations["physical_restore"] is None
        assert result_of(snap, "supported_configuration").status is Status.PASS


def test_physical_backup_from_the_percona_server_members_of_a_mixed_replica_set() -> None:
    # mid-migration from Community to Percona Server: PBM takes the backup from a PSMDB member (getValidCandidates)
    with SimReplicaSet(members=[MemberSpec(), MemberSpec(), MemberSpec(psmdb=False)]) as rs:
        snap = probe(rs, mode="physical")
        assert snap.operations["physical_backup"] is True and snap.operations["physical_restore"] is True
        status, reason, _ = result(snap, "supported_configuration")
        assert status is Status.FAIL and f"{rs.hosts[2]} (not Percona Server for MongoDB)" in reason
        assert result(snap, "backup_candidate_available")[0] is Status.PASS


def test_physical_backup_refused_below_percona_server_4_4_6() -> None:
    # pbm/version/version.go FullPhysicalBackup: "full physical backup works since PSMDB 4.2.15, 4.4.6"
    with SimReplicaSet(mongo_version="4.4.5", members=[MemberSpec(agent=AgentSpec(version="2.5.0"))
                                                      for _ in range(3)]) as rs:
        snap = probe(rs, mode="physical")
        assert snap.operations["physical_backup"] is False
        status, reason, _ = result(snap, "backup_candidate_available")
        assert status is Status.FAIL and "older than PBM's floor for physical backups" in reason
        assert snap.operations["logical_backup"] is True


def test_no_pbm_config_yet_skips_the_storage_check() -> None:
    with SimReplicaSet(pbm_config=None) as rs:
        # before PMM's first backup every agent reports "unable to get storage: get config" (PBM's storStatus)
        assert all(d["stors"]["ok"] is False for d in rs.agent_documents())
        snap = probe(rs)
        assert statuses(snap, "pbm_storage_reachable") == {"": Status.SKIPPED}
        # PMM writes the config just before `pbm backup` and the agents re-check within 5 s: backups will work
        assert snap.ready is True
        assert snap.operations["logical_backup"] is True and snap.operations["pitr"] is True
        status, reason, _ = result(snap, "backup_candidate_available")
        assert status is Status.PASS and "PBM has no config yet" in reason


def test_no_pbm_config_yet_one_dead_secondary_agent_leaves_backups_to_the_others() -> None:
    with SimReplicaSet(pbm_config=None) as rs:
        rs.members[2].stop_agent(at=rs.cluster_time().time - 95)
        snap = probe(rs)
        status, reason, _ = result(snap, "pbm_agent_running", rs.hosts[2])
        assert status is Status.FAIL and "backups and PITR can run from" in reason
        assert snap.operations["logical_backup"] is True and snap.operations["physical_restore"] is False


def test_storage_failure_is_reported_per_node() -> None:
    agent = AgentSpec(stors_ok=False, stors_err="storage check failed with: AccessDenied: Access Denied")
    with SimReplicaSet(members=[MemberSpec(agent=agent), MemberSpec(), MemberSpec()]) as rs:
        snap = probe(rs)
        status, reason, _ = result(snap, "pbm_storage_reachable", rs.hosts[0])
        assert status is Status.FAIL
        assert reason.startswith("pbm-agent cannot use the storage (s3 bucket pbm-backups): storage check failed "
                                 "with: AccessDenied: Access Denied (a physical restore needs every node's agent; a "
                                 "logical restore runs on the primary's agent; backups and PITR can run from ")
        # the primary's agent cannot read the storage: PBM restores logically on the primary only
        assert snap.operations["logical_restore"] is False and snap.operations["logical_backup"] is True


def test_pbm_config_is_read_without_its_credentials(rs: SimReplicaSet) -> None:
    snap = probe(rs)
    text = repr(snap)
    assert "SIMULATED/SECRET/KEY" not in text and "AKIASIMULATED" not in text


def test_bad_password_fails_the_probe_without_leaking_it(rs: SimReplicaSet) -> None:
    snap = probe(rs, password="wrong-Passw0rd")
    assert not snap.probe_success and snap.results == ()
    assert snap.probe_error == "authentication failed for user pmm: check the user and password in the cluster's uri"
    assert "wrong-Passw0rd" not in snap.probe_error


def test_unreachable_cluster_says_which_members_failed() -> None:
    with SimReplicaSet() as rs:
        cluster = cluster_config(rs)
    snap = probe_clusters([cluster], timeout=1.0).get(cluster.name)
    assert snap is not None and not snap.probe_success
    assert snap.probe_error.startswith("no usable member answered: 127.0.0.1:")
    assert snap.probe_error.count("Connect call failed") == 3 and "configured timeouts" not in snap.probe_error
    assert "secret" not in snap.probe_error


def test_malformed_pbm_agents_documents_fail_with_a_reason() -> None:
    with SimReplicaSet(members=[MemberSpec(), MemberSpec(), MemberSpec(agent=None)]) as rs:
        rs.extra_agent_docs = [
            {"n": rs.hosts[2], "rs": "rs0", "v": 2.7, "hb": "not a timestamp"},
            {"n": None, "rs": "rs0"},
            {"n": "gone:27017", "rs": "rs0", "v": "2.7.0", "hb": Timestamp(1, 1)},  # orphan of a removed member
        ]
        snap = probe(rs)
        status, reason, _ = result(snap, "pbm_agent_running", rs.hosts[2])
        assert status is Status.FAIL
        assert reason.startswith("the pbm-agent document for this node is malformed: field hb is not a timestamp; "
                                 "field v is not a string; field pbms is missing; field nodes is missing; "
                                 "field stors is missing (a physical restore needs every node's agent")
        assert result(snap, "pbm_version_supported", rs.hosts[2])[1] == "pbm-agent reports an unparsable version 2.7"
        assert "gone:27017" not in {r.node for r in snap.results}


def test_standalone_mongod_fails_membership() -> None:
    with SimReplicaSet(standalone=True) as rs:
        cluster = cluster_config(rs)
        snap = probe_clusters([cluster]).get(cluster.name)
        assert snap is not None and snap.probe_success
        status, reason, fix = result(snap, "replica_set_member", rs.hosts[0])
        assert status is Status.FAIL and reason.startswith("standalone mongod, not a replica-set member")
        assert "rs.initiate()" in fix
        assert snap.ready is False


def test_replica_set_without_primary_leaves_pbm_checks_unknown(rs: SimReplicaSet) -> None:
    rs.primary_index = None
    snap = probe(rs)
    assert snap.probe_success
    assert statuses(snap, "pbm_agent_running") == dict.fromkeys(rs.hosts, Status.UNKNOWN)
    assert snap.ready is None
    # pbm-agent's connections go to the primary: without one, its user is not seen, so not judged to pass
    status, reason, _ = result(snap, "mongodb_user_permissions")
    assert status is Status.UNKNOWN
    assert "cannot see which user pbm-agent runs as (currentOp: no primary" in reason


def test_refused_command_makes_only_its_check_unknown(rs: SimReplicaSet) -> None:
    rs.members[0].refuse("connectionStatus")
    snap = probe(rs)
    assert snap.probe_success
    assert result(snap, "mongodb_user_permissions")[0] is Status.UNKNOWN
    assert statuses(snap, "pbm_agent_running") == dict.fromkeys(rs.hosts, Status.PASS)
    rs.members[0].unrefuse("connectionStatus")
    rs.members[0].refuse("currentOp")  # as for a user without the inprog action
    status, reason, _ = result(probe(rs), "mongodb_user_permissions")
    assert status is Status.UNKNOWN
    assert reason.startswith("cannot see which user pbm-agent runs as (currentOp: ")
    assert "grant the exporter's user pmm@admin clusterMonitor (its inprog action)" in reason


def test_a_dead_cluster_does_not_delay_another() -> None:
    with SimReplicaSet() as healthy, SimReplicaSet(name="rs1") as hung:
        for node in hung.members:
            node.hang()
        started = time.monotonic()
        store = probe_clusters([cluster_config(healthy, "ok"), cluster_config(hung, "hung")], timeout=1.0)
        elapsed = time.monotonic() - started
        ok, dead = store.get("ok"), store.get("hung")
        assert ok is not None and ok.ready is True
        assert dead is not None and not dead.probe_success
        assert elapsed < 3.0, elapsed
        for node in hung.members:
            node.unhang()


def test_direct_connection_to_a_secondary_says_how_to_fix_the_uri(rs: SimReplicaSet) -> None:
    secondary = rs.members[1]
    cluster = cluster_config(rs)
    cluster = type(cluster)(cluster.name, secondary.uri(), "logical", (secondary.host,), "pmm", "secret")
    snap = probe_clusters([cluster]).get(cluster.name)
    assert snap is not None and snap.probe_success
    status, reason, _ = result(snap, "pbm_agent_running", rs.hosts[0])
    assert status is Status.UNKNOWN
    assert f"connected directly to {secondary.host}, not to the primary {rs.hosts[0]}" in reason
    assert statuses(snap, "replica_set_member") == dict.fromkeys(rs.hosts, Status.PASS)


def test_a_bug_in_evaluation_costs_one_probe_not_the_prober(rs: SimReplicaSet, monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    import exporter.run.scheduler as scheduler

    real = scheduler.build_snapshot
    calls = []

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(scheduler, "build_snapshot", flaky)
    cluster = cluster_config(rs)
    store = probe_clusters([cluster])
    snap = store.get(cluster.name)
    assert snap is not None and not snap.probe_success
    assert snap.probe_error == "internal error evaluating the results: RuntimeError('boom')"
    probe_clusters([cluster], store=store)
    assert store.get(cluster.name).ready is True  # type: ignore[union-attr]


def test_an_agent_whose_document_pbm_deleted_is_not_called_never_seen(rs: SimReplicaSet) -> None:
    # pbm-agent stopped on a secondary; the next backup's start deletes its stale document (AgentStatusGC)
    stopped = rs.members[2]
    stopped.stop_agent(at=rs.cluster_time().time - 60)
    rs.pbm.start_backup()
    rs.pbm.finish_backup()
    snap = probe(rs)
    status, reason, fix = result(snap, "pbm_agent_running", stopped.host)
    assert status is Status.FAIL
    assert reason.startswith(f"no pbm-agent document for this node (rs0/{stopped.host}) in admin.pbmAgents: its "
                             f"pbm-agent is not running, or it stopped and PBM deleted its stale document (as it "
                             f"does when a backup starts)")
    assert "never" not in reason and "systemctl enable --now pbm-agent" in fix
    # a secondary's: PBM takes the next backup from another node
    assert snap.ready is True and snap.operations["physical_restore"] is False


def test_per_node_checks_do_not_wait_for_a_refused_replsetgetconfig(rs: SimReplicaSet) -> None:
    for member in rs.members:
        member.refuse("replSetGetConfig")  # e.g. a custom role without the replSetGetConfig action
    rs.members[2].stop_agent(at=rs.cluster_time().time - 90)
    snap = probe(rs)
    # members and states come from replSetGetStatus: every node is still judged (before: all unknown)
    assert statuses(snap, "replica_set_member") == dict.fromkeys(rs.hosts, Status.PASS)
    assert statuses(snap, "pbm_agent_running") == {rs.hosts[0]: Status.PASS, rs.hosts[1]: Status.PASS,
                                                   rs.hosts[2]: Status.FAIL}
    assert statuses(snap, "pbm_version_supported") == dict.fromkeys(rs.hosts, Status.PASS)
    assert snap.ready is True and snap.operations["physical_restore"] is False


@pytest.mark.parametrize("state", [3, 5, 9])  # RECOVERING, STARTUP2, ROLLBACK
def test_member_recovering_with_a_live_agent_does_not_block_the_physical_restore(state: int) -> None:
    # PBM's physical restore waits for every non-arbiter member's agent and tests no member state
    # (pbm/restore/physical.go init, syncPathPeers; no NodeState in physical.go, v2.0.1..HEAD)
    with SimReplicaSet() as rs:
        rs.members[2].forced_state = state
        snap = probe(rs, mode="physical")
        status, reason, _ = result(snap, "replica_set_member", rs.hosts[2])
        name = {3: "RECOVERING", 5: "STARTUP2", 9: "ROLLBACK"}[state]
        assert snap.operations["physical_restore"] is True
        assert status is Status.FAIL and name in reason and "blocks nothing" in reason
        assert result(snap, "pbm_agent_running", rs.hosts[2])[0] is Status.PASS
        # backups are taken from the steady members (ListSteadyAgents)
        assert snap.operations["physical_backup"] is True and snap.operations["logical_backup"] is True


def test_member_down_still_blocks_the_physical_restore(rs: SimReplicaSet) -> None:
    rs.members[2].stop()
    snap = probe(rs, mode="physical")
    assert result(snap, "replica_set_member", rs.hosts[2])[0] is Status.FAIL
    assert snap.operations["physical_restore"] is False


def _hidden_member_only_reaches_the_storage(version: str, **agent: Any) -> SimReplicaSet:
    failing = {"stors_ok": False, "stors_err": "storage check failed with: AccessDenied: Access Denied", **agent}
    return SimReplicaSet(members=[MemberSpec(agent=AgentSpec(version=version, **failing)),
                                  MemberSpec(agent=AgentSpec(version=version, **failing)),
                                  MemberSpec(hidden=True, agent=AgentSpec(version=version))])


@pytest.mark.parametrize(("version", "ready"), [("2.9.0", False), ("2.3.0", False), ("2.9.1", True),
                                                ("2.15.0", True)])
def test_pbm_2_3_to_2_9_0_want_an_available_agent_on_an_electable_member(version: str, ready: bool) -> None:
    # P's and S's agents cannot reach the storage; only the hidden member's can. HEAD nominates the hidden member;
    # 2.3.0-2.9.0's CheckTopoForBackup skips passive members and refuses: "no available agent(s) on replsets: rs0"
    with _hidden_member_only_reaches_the_storage(version) as rs:
        snap = probe(rs)
        assert snap.operations["logical_backup"] is ready
        status, reason, fix = result(snap, "backup_candidate_available")
        if ready:
            assert status is Status.PASS and reason.startswith(f"PBM would take the logical backup of rs0 from "
                                                               f"{rs.hosts[2]}")
        else:
            assert status is Status.FAIL and "no available agent(s) on replsets: rs0" in reason
            assert f"{rs.hosts[2]}: passive" in reason and "2.9.1 or newer" in fix
        assert snap.operations["pitr"] is True  # PITR slicing does not run that pre-check


def test_pbm_2_5_refuses_a_backup_when_every_electable_agent_reports_an_error() -> None:
    err = "get replSetGetStatus: (Unauthorized) not authorized on admin"
    with SimReplicaSet(members=[MemberSpec(agent=AgentSpec(version="2.5.0", err=err)) for _ in range(3)]) as rs:
        snap = probe(rs)
        status, reason, _ = result(snap, "backup_candidate_available")
        assert snap.operations["logical_backup"] is False
        assert status is Status.FAIL and f"{rs.hosts[1]}: its agent reports an error: {err}" in reason


FILESYSTEM = {"storage": {"type": "filesystem", "filesystem": {"path": "/mnt/pbm"}}}


def test_an_agent_that_does_not_see_the_shared_filesystem_fails_its_node() -> None:
    # issue 29 item 4: PBM's storStatus logs "storage is not initialized" and still reports stors.ok
    agents = [AgentSpec(version="2.14.0"), AgentSpec(version="2.14.0"),
              AgentSpec(version="2.14.0", storage_initialized=False)]
    with SimReplicaSet(members=[MemberSpec(agent=a) for a in agents], pbm_config=FILESYSTEM) as rs:
        snap = probe(rs)
        status, reason, fix = result(snap, "pbm_storage_shared", rs.hosts[2])
        assert status is Status.FAIL
        assert reason.startswith("pbm-agent logged \"storage is not initialized\" in the last 60 s: it does not see "
                                 "PBM's .pbm.init in filesystem path /mnt/pbm")
        assert "Mount the shared backup directory on this node" in fix
        assert statuses(snap, "pbm_storage_shared")[rs.hosts[0]] is Status.PASS
        assert result(snap, "pbm_storage_reachable", rs.hosts[2])[0] is Status.PASS  # PBM says OK
        # a secondary: physical restores need every node's agent, a logical restore only the primary's
        blocks = {r.node: r.blocks for r in snap.results if r.check == "pbm_storage_shared"}
        assert blocks[rs.hosts[2]] == ("physical_restore",) and snap.operations["physical_restore"] is False
        # the read goes through PBM's index, newest first and bounded
        finds = [body for node in rs.members for name, _, body in node.command_log
                 if name == "find" and body.get("find") == "pbmLog"]
        assert finds and all(b.get("hint") == "event_severity_rs_ts" and b.get("limit") == 100 for b in finds)
        # an hour later the node mounts the share again: the warnings stop, and a minute later the check passes
        rs.members[2].agent.storage_initialized = True  # type: ignore[union-attr]
        rs.advance_clock(61)
        assert statuses(probe(rs), "pbm_storage_shared")[rs.hosts[2]] is Status.PASS


def test_pbmlog_is_not_read_for_s3_nor_without_its_index() -> None:
    with SimReplicaSet(members=[MemberSpec(agent=AgentSpec(version="2.14.0", storage_initialized=False))
                                for _ in range(3)]) as rs:
        snap = probe(rs)  # S3: the warning means nothing about a mount
        assert statuses(snap, "pbm_storage_shared") == {"": Status.SKIPPED}
        assert not [1 for node in rs.members for name, _, body in node.command_log if body.get("find") == "pbmLog"]
    with SimReplicaSet(members=[MemberSpec(agent=AgentSpec(version="2.12.0", storage_initialized=False))
                                for _ in range(3)], pbm_config=FILESYSTEM) as rs:
        status, reason, _ = result(probe(rs), "pbm_storage_shared")
        assert status is Status.SKIPPED and "keeps no index on admin.pbmLog" in reason
        assert not [1 for node in rs.members for name, _, body in node.command_log if body.get("find") == "pbmLog"]


def test_a_backup_left_running_without_its_lock_is_stuck(rs: SimReplicaSet) -> None:
    # issue 29 item 6: pbm status's rule (status.go getStorageStat): not done/error/canceled, hb 30 s older than
    # the cluster time
    rs.pbm.start_backup(name="2026-12-06T04:00:00Z")
    rs.advance_clock(60)
    assert statuses(probe(rs), "pbm_no_stuck_operation") == {"": Status.PASS}  # running, its lock heartbeats
    rs.pbm.crash_backup()
    rs.advance_clock(60)
    snap = probe(rs)  # the lock is still there, stale: pbm_no_stale_lock's case, not this one
    assert statuses(snap, "pbm_no_stuck_operation") == {"": Status.PASS}
    assert statuses(snap, "pbm_no_stale_lock") == {"": Status.FAIL}
    rs.pbm.drop_lock()  # the lock goes, the metadata still says running
    snap = probe(rs)
    status, reason, fix = result(snap, "pbm_no_stuck_operation")
    assert status is Status.FAIL
    assert reason.startswith("PBM's newest backup 2026-12-06T04:00:00Z still says running, but its heartbeat is 6")
    assert "Backup stuck at `running` stage" in reason and "pbm delete-backup 2026-12-06T04:00:00Z" in fix
    assert snap.operations["logical_backup"] is True  # a warning: the next backup runs
    rs.advance_clock(1)
    assert statuses(probe(rs), "pbm_no_stuck_operation") == {"": Status.FAIL}


def test_a_logical_restore_left_running_without_its_lock_is_stuck(rs: SimReplicaSet) -> None:
    # issue 29 item 6, restores: pbm restore's rule (restore.go checkRestoreStale): a logical restore's hb 30 s older
    # than the cluster time; its lock gone, nothing finishes it
    backup = rs.pbm.add_backup()
    name = rs.pbm.start_logical_restore(backup)
    rs.advance_clock(60)
    status, reason, _ = result(probe(rs), "pbm_no_stuck_operation")
    assert status is Status.PASS and f"restore {name} is running and holds its lock" in reason
    rs.pbm.crash_backup()  # the agent running the restore dies: its lock stays, stale
    rs.advance_clock(60)
    snap = probe(rs)
    assert statuses(snap, "pbm_no_stuck_operation") == {"": Status.PASS}  # pbm_no_stale_lock's case
    assert statuses(snap, "pbm_no_stale_lock") == {"": Status.FAIL}
    rs.pbm.drop_lock()
    snap = probe(rs)
    status, reason, fix = result(snap, "pbm_no_stuck_operation")
    assert status is Status.FAIL
    assert reason.startswith(f"PBM's newest restore {name} (of {backup}) still says running, but its heartbeat is 6")
    assert "operation staled, last heartbeat: " in reason and f"pbm logs -e restore/{name}" in fix
    assert [r.blocks for r in snap.results if r.check == "pbm_no_stuck_operation"] == [()]  # a warning
    for _ in range(3):  # reused from the cache, still judged by the advancing cluster clock
        rs.advance_clock(1)
        assert statuses(probe(rs), "pbm_no_stuck_operation") == {"": Status.FAIL}


def test_a_finished_restore_is_not_stuck_however_old(rs: SimReplicaSet) -> None:
    name = rs.pbm.start_logical_restore(rs.pbm.add_backup())
    rs.pbm.finish_logical_restore()
    rs.advance_clock(86400)
    status, reason, _ = result(probe(rs), "pbm_no_stuck_operation")
    assert status is Status.PASS and f"restore {name} is done" in reason


def test_a_finished_backup_is_not_stuck_however_old(rs: SimReplicaSet) -> None:
    rs.pbm.start_backup()
    rs.pbm.finish_backup()
    rs.advance_clock(86400)
    status, reason, _ = result(probe(rs), "pbm_no_stuck_operation")
    assert status is Status.PASS and reason.endswith(" is done")
