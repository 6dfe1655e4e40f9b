"""Readiness per operation, as pure functions: which operations each failing check blocks, decided the way PBM's
and PMM's code decide it (the examples of the readiness issue), and how the results add up per operation."""

from __future__ import annotations

from typing import Any

from exporter.checks.registry import run_checks
from exporter.facts.observed import Observed, ReplicaSetFacts
from exporter.model.cluster_settings import ClusterSettings
from exporter.readiness.cluster_readiness import cluster_ready
from exporter.results.check_result import CheckResult, Status, failed, passed, readiness, ruled_out, unknown
from exporter.results.operations import EVERYTHING, OPERATIONS
from exporter.results.result_report import check_document, result_rows, summary
from exporter.snapshots.cluster_snapshot import ClusterSnapshot
from exporter.web.status_page import render_status_page
from tests.test_checks import HOSTS, agent, facts
from tests.test_pmm_checks import pmm_facts

ALL = tuple(OPERATIONS)
# PBM has a config: the agents' storage checks count (with none yet, PBM's storStatus fails them all, and they re-check
# within 5 s once PMM writes it)
CONFIGURED = {"storage": {"type": "s3", "s3": {"bucket": "b"}}}


def blocked(f: ReplicaSetFacts, mode: str = "logical", pmm: Any = None) -> dict[tuple[str, str], tuple[str, ...]]:
    """{(check, node): the operations it blocks} of the failing results."""
    out = run_checks(f, ClusterSettings(mode, "prod-rs"), pmm)
    return {(r.check, r.node): r.blocks for r in out if r.status is Status.FAIL}


def ready(f: ReplicaSetFacts, mode: str = "logical", pmm: Any = None) -> dict[str, bool | None]:
    out = run_checks(f, ClusterSettings(mode, "prod-rs"), pmm)
    return readiness(out, () if mode == "physical" else ("physical_backup", "physical_restore"))


def test_a_dead_agent_on_a_secondary_blocks_only_a_physical_restore() -> None:
    f = facts(agents=[agent(HOSTS[0]), agent(HOSTS[1]), agent(HOSTS[2], age=300)])
    assert blocked(f) == {("pbm_agent_running", HOSTS[2]): ("physical_restore",)}
    assert ready(f, "physical") == {"logical_backup": True, "physical_backup": True, "pitr": True,
                                    "logical_restore": True, "physical_restore": False, "pitr_restore": True}


def test_the_leaders_agent_dead_blocks_every_backup_and_pitr() -> None:
    f = facts(agents=[agent(HOSTS[0], age=300), agent(HOSTS[1]), agent(HOSTS[2])])  # HOSTS[0] is the primary
    assert blocked(f) == {("pbm_agent_running", HOSTS[0]): ALL,
                          ("backup_candidate_available", ""): ("logical_backup", "physical_backup", "pitr")}
    assert set(ready(f).values()) == {False}


def test_with_no_other_candidate_a_secondarys_agent_blocks_backups_too() -> None:
    # the other secondary is delayed: PBM never nominates a delayed member (pbm/topo/agent.go ListSteadyAgents)
    f = facts(agents=[agent(HOSTS[0], stors={"ok": False, "e": "AccessDenied"}), agent(HOSTS[1]),
                      agent(HOSTS[2], age=300)], pbm_config=CONFIGURED)
    config = f.config.value
    assert config is not None
    config["config"]["members"][1]["secondaryDelaySecs"] = 3600
    # not the primary, so a logical restore (on the primary's agent) can still run
    assert blocked(f)[("pbm_agent_running", HOSTS[2])] == ("logical_backup", "physical_backup", "pitr",
                                                             "physical_restore")
    assert ready(f)["logical_backup"] is False


def test_no_percona_server_blocks_only_the_physical_backup() -> None:
    # one Community member: PBM takes the physical backup from a Percona Server one (getValidCandidates), and its
    # physical restore tests no server build (checkMongod: major.minor only)
    docs = [agent(HOSTS[0]), agent(HOSTS[1]), {k: v for k, v in agent(HOSTS[2]).items() if k != "pv"}]
    assert blocked(facts(agents=docs), "physical") == {("supported_configuration", ""): ()}
    assert set(ready(facts(agents=docs), "physical").values()) == {True}
    # no Percona Server member at all: no physical backup, nor a physical restore through PMM (issue 29 item 8)
    docs = [{k: v for k, v in agent(h).items() if k != "pv"} for h in HOSTS]
    physical_off = {"logical_backup": True, "physical_backup": False, "pitr": True, "logical_restore": True,
                    "physical_restore": False, "pitr_restore": True}
    assert ready(facts(agents=docs), "physical") == physical_off
    # on a logical cluster the same is known impossible, not unknown, without a failing prerequisite
    assert blocked(facts(agents=docs)) == {}
    assert ready(facts(agents=docs)) == physical_off


def test_a_passing_result_that_rules_operations_out_blocks_them_without_failing() -> None:
    results = [ruled_out("supported_configuration", "Community", {"physical_backup", "physical_restore"}, "", "rs0"),
               passed("replica_set_member", "ok", "db1:27017", "rs0")]
    assert results[0].status is Status.PASS and results[0].rules_out and not results[0].warning
    assert not results[1].rules_out
    assert readiness(results, unjudged=["physical_backup", "physical_restore"]) == {
        "logical_backup": True, "physical_backup": False, "pitr": True, "logical_restore": True,
        "physical_restore": False, "pitr_restore": True}
    assert summary(results) == "2 pass, 0 fail, 0 unknown"
    rows = "\n".join(result_rows(results, 200))
    assert "rules out physical_backup, physical_restore (impossible here, nothing to fix)" in rows
    assert check_document(results[0])["blocks"] == ["physical_backup", "physical_restore"]
    snap = ClusterSnapshot("a", True, results=tuple(results))
    assert snap.ready is True and snap.operations["physical_restore"] is False
    page = render_status_page([snap], None, now=0.0)
    assert '<span class="blocks warn">rules out physical_backup, physical_restore (impossible here, nothing to ' \
           'fix)</span>' in page
    assert "Failing (" not in page  # it passes


def test_arbiters_block_a_physical_restore() -> None:
    assert blocked(facts(arbiter="arb:27017"), "physical") == {("supported_configuration", ""): ("physical_restore",)}


def test_missing_privileges_or_no_location_block_everything_backup_management_off_all_but_pitr() -> None:
    assert blocked(facts(privileges=[{"resource": {"db": "admin", "collection": ""}, "actions": ["find"]}])) == {
        ("mongodb_user_permissions", ""): ALL}
    f = facts(pbm_config={"storage": {"type": "s3", "s3": {"bucket": "b"}}})
    # enabled schedules keep running with it off (PMM's scheduler does not read the setting): pitr is not blocked
    assert blocked(f, pmm=pmm_facts(backup=False))[("backup_management_enabled", "")] == (
        "logical_backup", "physical_backup", "logical_restore", "physical_restore", "pitr_restore")
    assert blocked(f, pmm=pmm_facts(locations=[]))[("storage_location_configured", "")] == ALL


def test_warnings_block_nothing_and_leave_every_operation_ready() -> None:
    f = facts(version="6.0.18", agents=[agent(h, version="2.11.0", mv="6.0.18") for h in HOSTS])
    assert blocked(f) == {("supported_configuration", ""): ()}  # outside PBM's docs table: a warning
    assert ready(f, "physical") == dict.fromkeys(OPERATIONS, True)


def test_unknown_leaves_unknown_what_it_could_block_unless_something_blocks_it() -> None:
    results = [
        unknown("pbm_storage_reachable", "?", "db2:27017", "rs0", {"physical_restore"}),
        failed("pbm_agent_running", "gone", "fix", "db3:27017", "rs0", {"physical_restore", "logical_restore"}),
        unknown("mongodb_user_permissions", "?", blocks=EVERYTHING),
        passed("replica_set_member", "ok", "db1:27017", "rs0"),
    ]
    assert readiness(results) == {"logical_backup": None, "physical_backup": None, "pitr": None,
                                  "logical_restore": False, "physical_restore": False, "pitr_restore": False}
    assert readiness(results[:2]) == {"logical_backup": True, "physical_backup": True, "pitr": True,
                                      "logical_restore": False, "physical_restore": False, "pitr_restore": False}
    assert readiness(results[3:], unjudged=["physical_backup"])["physical_backup"] is None


def test_cluster_ready_is_the_backup_of_its_mode_and_pitr_when_it_is_on() -> None:
    operations = {"logical_backup": True, "physical_backup": False, "pitr": False, "logical_restore": False,
                  "physical_restore": False, "pitr_restore": False}
    assert cluster_ready(operations, "logical", pitr_enabled=False) is True  # restores blocked: still ready
    assert cluster_ready(operations, "logical", pitr_enabled=True) is False
    assert cluster_ready(operations, "physical", pitr_enabled=False) is False
    assert cluster_ready({**operations, "pitr": None}, "logical", pitr_enabled=True) is None


def test_a_snapshot_reads_pitr_from_pbms_config_and_judges_physical_operations_only_for_physical_clusters() -> None:
    results = (CheckResult("pbm_agent_running", Status.PASS, "ok", node="db1:27017", replica_set="rs0"),)
    logical = ClusterSnapshot("a", True, results=results)
    assert logical.operations["physical_backup"] is None and logical.operations["logical_backup"] is True
    physical = ClusterSnapshot("b", True, results=results, backup_mode="physical")
    assert physical.operations["physical_backup"] is True
    assert ClusterSnapshot("c", False).operations == dict.fromkeys(OPERATIONS)  # a failed probe says nothing
    assert ClusterSnapshot("c", False).ready is None


def test_members_from_replsetgetstatus_when_the_config_is_refused() -> None:
    f = facts(agents=[agent(HOSTS[0]), agent(HOSTS[1]), agent(HOSTS[2], age=300)],
              config=Observed.failed("Unauthorized: not authorized on admin to execute command replSetGetConfig"))
    out = run_checks(f, ClusterSettings())
    running = {r.node: r.status for r in out if r.check == "pbm_agent_running"}
    assert running == {HOSTS[0]: Status.PASS, HOSTS[1]: Status.PASS, HOSTS[2]: Status.FAIL}
    # hello lists no members here, so none is known not to be delayed: no other candidate, backups blocked too
    [dead] = [r for r in out if r.check == "pbm_agent_running" and r.node == HOSTS[2]]
    assert dead.blocks == ("logical_backup", "physical_backup", "pitr", "physical_restore")
    hello = dict(f.hello.value or {}, hosts=HOSTS)
    out = run_checks(facts(agents=[agent(HOSTS[0]), agent(HOSTS[1]), agent(HOSTS[2], age=300)],
                           config=f.config, hello=Observed(hello)), ClusterSettings())
    [dead] = [r for r in out if r.check == "pbm_agent_running" and r.node == HOSTS[2]]
    assert dead.blocks == ("physical_restore",)  # hello lists the others: they are not hidden, so not delayed


# ---------------------------------------------------------------------------------------------------------------
# backup_candidate_available: PBM's own nomination filters


def candidate(f: ReplicaSetFacts, mode: str = "logical") -> CheckResult:
    [result] = [r for r in run_checks(f, ClusterSettings(mode, "prod-rs")) if r.check == "backup_candidate_available"]
    return result


def test_pbm_picks_a_secondary_over_the_primary_and_honours_backup_priority() -> None:
    f = facts(agents=[agent(HOSTS[0], s=1, str="PRIMARY"), agent(HOSTS[1]), agent(HOSTS[2])],  # as PBM writes them
              pbm_config=CONFIGURED)
    assert candidate(f).reason == (f"PBM would take the logical backup of rs0 from {HOSTS[1]} (priority 1, by PBM's "
                                   f"default: hidden, then secondary, then primary); also {HOSTS[2]}, {HOSTS[0]}")
    prio = facts(agents=f.agents.value, pbm_config={"backup": {"priority": {HOSTS[0]: 3.0, HOSTS[2]: 2.0}}})
    assert candidate(prio).reason.startswith(f"PBM would take the logical backup of rs0 from {HOSTS[0]} (priority 3, "
                                             f"by backup.priority in PBM's config); also {HOSTS[2]}, {HOSTS[1]}")


def test_no_candidate_when_every_member_is_stale_lagging_delayed_or_failing_storage() -> None:
    # each secondary fails one of PBM's filters; the primary's agent cannot reach the storage
    f = facts(agents=[agent(HOSTS[0], stors={"ok": False, "e": "AccessDenied"}), agent(HOSTS[1], repl_lag=30),
                      agent(HOSTS[2], delay=3600)], pbm_config=CONFIGURED)
    result = candidate(f)
    assert result.status is Status.FAIL
    assert result.reason == (f"PBM has no agent it would nominate for a logical backup of rs0 ({HOSTS[0]}: its "
                             f"agent's storage check fail; {HOSTS[1]}: 30 s behind the primary (PBM's limit is 21 "
                             f"s); {HOSTS[2]}: delayed 3600 s)")
    assert result.blocks == ("logical_backup", "physical_backup", "pitr")
    # one lag under the limit is enough
    f = facts(agents=[agent(HOSTS[0]), agent(HOSTS[1], repl_lag=20), agent(HOSTS[2], delay=3600)])
    assert candidate(f).status is Status.PASS


def test_physical_backups_need_a_percona_server_candidate() -> None:
    community = {k: v for k, v in agent(HOSTS[1]).items() if k != "pv"}
    f = facts(agents=[agent(HOSTS[0], age=1), community, {**community, "n": HOSTS[2]}])
    assert candidate(f, "physical").status is Status.PASS  # the primary runs Percona Server: PBM falls back to it
    f = facts(agents=[{**community, "n": h} for h in HOSTS])
    result = candidate(f, "physical")
    assert result.status is Status.FAIL and result.blocks == ("physical_backup",)
    assert f"{HOSTS[1]}: not Percona Server for MongoDB" in result.reason
    assert candidate(f, "logical").status is Status.PASS
