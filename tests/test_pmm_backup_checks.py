"""PMM's own pre-backup and pre-restore rules (issue 18) as pure checks: PMM's facts in, verdicts and what they
block out."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from bson import Timestamp

from exporter.checks.registry import run_checks
from exporter.facts.observed import Observed, PMMFacts
from exporter.model.cluster_settings import ClusterSettings
from exporter.readiness.cluster_readiness import backups_ready, cluster_ready, schedules_ready
from exporter.results.check_result import CheckResult, Status, readiness
from tests.test_checks import HOSTS, NOW, agent, facts
from tests.test_pmm_checks import artifact, pmm_facts, schedule, service

S3 = {"name": "s3-main", "location_id": "loc1", "type": "s3", "bucket": "b", "endpoint": "https://s3.example"}
DISK = {"name": "nfs", "location_id": "loc2", "type": "filesystem", "path": "/mnt/backups"}


def run(pmm: PMMFacts, mode: str = "logical", **fact_over: Any) -> list[CheckResult]:
    fact_over.setdefault("pbm_config", {"storage": {"type": "s3", "s3": {"bucket": "b"}}})
    return run_checks(facts(**fact_over), ClusterSettings(mode, "prod-rs"), pmm)


def of(results: list[CheckResult], check: str) -> dict[str, CheckResult]:
    return {r.node: r for r in results if r.check == check}


# --- pmm_agent_version_supported --------------------------------------------------------------------------------

def test_pmm_agents_too_old_for_logical_backups_block_them() -> None:
    out = run(pmm_facts(agent_versions=Observed({f"pa{i}": "2.18.0" for i in (1, 2, 3)})))
    result = of(out, "pmm_agent_version_supported")[HOSTS[0]]
    assert result.status is Status.FAIL
    assert result.blocks == ("logical_backup", "physical_backup", "pitr", "logical_restore", "physical_restore",
                             "pitr_restore")
    assert "pmm-agent 2.18.0 of service db1-mongodb is too old" in result.reason and "need 2.31.0" in result.reason
    assert "upgrade PMM Client" in result.fix and "db1" in result.fix
    assert readiness(out)["logical_backup"] is False


def test_one_old_pmm_agent_is_a_warning_unless_a_schedule_runs_through_it() -> None:
    versions = Observed({"pa1": "2.30.0", "pa2": "3.4.0", "pa3": "3.4.0"})
    result = of(run(pmm_facts(agent_versions=versions), "physical"), "pmm_agent_version_supported")[HOSTS[0]]
    assert result.status is Status.FAIL and result.blocks == ()
    assert "can run them through another node's" in result.reason
    physical = Observed([schedule("nightly", "s1", data_model="PHYSICAL")])
    scheduled = run(pmm_facts(agent_versions=versions, scheduled_backups=physical), "physical")
    assert of(scheduled, "pmm_agent_version_supported")[HOSTS[0]].blocks == ("physical_backup",)
    assert of(scheduled, "pmm_agent_version_supported")[HOSTS[1]].status is Status.PASS


def test_a_filesystem_location_needs_pmm_agent_2_32() -> None:
    versions = Observed({f"pa{i}": "2.31.2" for i in (1, 2, 3)})
    on_disk = Observed([schedule("daily", location_id="loc2", location_name="nfs")])
    result = of(run(pmm_facts(agent_versions=versions, locations=[S3, DISK], scheduled_backups=on_disk)),
                "pmm_agent_version_supported")[HOSTS[0]]
    assert result.status is Status.FAIL and "need 2.32.0 (the cluster's backups go to a filesystem location)" in \
        result.reason
    on_s3 = run(pmm_facts(agent_versions=versions, locations=[S3, DISK]))
    assert of(on_s3, "pmm_agent_version_supported")[HOSTS[0]].blocks == ()  # only the software-check note


def test_below_2_35_pmm_skips_its_software_check_a_warning() -> None:
    result = of(run(pmm_facts(agent_versions=Observed({f"pa{i}": "2.34.0" for i in (1, 2, 3)}))),
                "pmm_agent_version_supported")[HOSTS[0]]
    assert result.status is Status.FAIL and result.warning
    assert "PMM skips its check of mongod and pbm" in result.reason


def test_a_pmm_agent_version_not_read_yet_is_unknown() -> None:
    partial = run(pmm_facts(agent_versions=Observed({"pa2": "3.4.0", "pa3": "3.4.0"})))
    assert of(partial, "pmm_agent_version_supported")[HOSTS[0]].status is Status.UNKNOWN
    failed = run(pmm_facts(agent_versions=Observed.failed("PMM 2.30.0 cannot tell pmm-agent versions")))
    assert of(failed, "pmm_agent_version_supported")[""].status is Status.UNKNOWN


# --- pmm_service_user_matches ---------------------------------------------------------------------------------------

def test_pmm_taking_the_dsn_of_another_user_is_a_warning_with_the_fix() -> None:
    pmm = pmm_facts()
    assert pmm.qan_agents.value is not None
    qan = [{**q, "username": "backup_admin"} if q["service_id"] == "s1" else q for q in pmm.qan_agents.value]
    result = of(run(replace(pmm, qan_agents=Observed(qan))), "pmm_service_user_matches")[HOSTS[0]]
    assert result.status is Status.FAIL and result.warning
    assert "as MongoDB user backup_admin (from its QAN MongoDB profiler agent)" in result.reason
    assert "exporter connects as pmm" in result.reason
    # the fix keeps the service, whose removal would delete its schedules and orphan its artifacts
    assert "pmm-admin inventory remove agent e1 and q1" in result.fix
    assert "pmm-admin inventory add agent mongodb-exporter --password=<password> pa1 s1 pmm" in result.fix
    assert "pmm-admin inventory add agent qan-mongodb-profiler-agent --password=<password> pa1 s1 pmm" in result.fix
    assert "Do not remove and re-add the service" in result.fix and "PMM can never restore them" in result.fix
    # without a QAN agent PMM takes the exporter's DSN, whose user is the exporter's own
    without_qan = run(replace(pmm, qan_agents=Observed([q for q in qan if q["service_id"] != "s1"])))
    assert of(without_qan, "pmm_service_user_matches")[HOSTS[0]].status is Status.PASS


# --- pmm_cluster_services_connected ---------------------------------------------------------------------------------

def test_a_stale_service_with_the_cluster_name_blocks_physical_restores() -> None:
    pmm = pmm_facts()
    assert pmm.services.value is not None and pmm.exporters.value is not None and pmm.pmm_agents.value is not None
    old = service(4, address="old-db1")  # the node re-registered under a new name; its old service stayed
    pmm = replace(pmm, services=Observed([*pmm.services.value, old]),
                  exporters=Observed([*pmm.exporters.value, {"agent_id": "e4", "pmm_agent_id": "pa4",
                                                             "service_id": "s4", "status": "DONE"}]),
                  pmm_agents=Observed([*pmm.pmm_agents.value, {"agent_id": "pa4", "runs_on_node_id": "n4"}]))
    out = run(pmm)
    result = of(out, "pmm_cluster_services_connected")[""]
    assert result.status is Status.FAIL and result.blocks == ("physical_restore",)
    assert "service db4-mongodb has its pmm-agent on n4 disconnected and matches no member" in result.reason
    assert "pmm-admin remove mongodb db4-mongodb" in result.fix
    assert of(run(pmm_facts()), "pmm_cluster_services_connected")[""].status is Status.PASS


# --- pmm_agent_on_mongodb_node --------------------------------------------------------------------------------------

def remote(pmm: PMMFacts, agents: dict[str, str]) -> PMMFacts:
    """The pmm-agents named (ID -> the node they run on) moved off their service's node."""
    assert pmm.pmm_agents.value is not None
    moved = [{**a, "runs_on_node_id": agents[a["agent_id"]]} if a["agent_id"] in agents else a
             for a in pmm.pmm_agents.value]
    return replace(pmm, pmm_agents=Observed(moved))


def test_remote_monitoring_blocks_physical_restores() -> None:
    result = of(run(remote(pmm_facts(), {"pa2": "n9"})), "pmm_agent_on_mongodb_node")
    assert result[HOSTS[0]].status is Status.PASS
    assert result[HOSTS[1]].status is Status.FAIL and result[HOSTS[1]].blocks == ("physical_restore",)
    assert "its pmm-agent runs on n9, not on its node db2" in result[HOSTS[1]].reason
    assert "Install PMM Client (with pbm) on db2" in result[HOSTS[1]].fix
    assert "" not in result  # db1 and db3 have their own pmm-agents: PMM runs the rest through them


def test_the_fix_says_what_removing_the_service_destroys_in_pmm() -> None:
    fix = of(run(remote(pmm_facts(), {"pa2": "n9"})), "pmm_agent_on_mongodb_node")[HOSTS[1]].fix
    assert "pmm-admin remove mongodb db2-mongodb" in fix
    assert "deletes its scheduled backups" in fix and "PMM can no longer restore them" in fix
    assert "pbm restore <its PBM backup name>" in fix


def test_services_pmm_server_monitors_cannot_be_backed_up_or_restored() -> None:
    # a remote instance added in PMM's UI: PMM Server's own pmm-agent runs its agents, and it has no mongod or pbm
    everything = ("logical_backup", "physical_backup", "pitr", "logical_restore", "physical_restore",
                  "pitr_restore")
    out = run(remote(pmm_facts(), {"pa1": "pmm-server", "pa2": "pmm-server", "pa3": "pmm-server"}))
    result = of(out, "pmm_agent_on_mongodb_node")[HOSTS[0]]
    assert result.status is Status.FAIL and result.blocks == everything
    assert "PMM Server's own pmm-agent (pmm-server), which has neither mongod nor pbm" in result.reason
    assert readiness(out)["logical_backup"] is False and readiness(out)["logical_restore"] is False
    # one such node: PMM backs up through another, but not on the schedule that runs through it
    one = of(run(remote(pmm_facts(), {"pa1": "pmm-server"})), "pmm_agent_on_mongodb_node")
    assert one[HOSTS[0]].blocks == ("logical_backup", "physical_restore")  # the daily schedule runs through s1
    assert one[HOSTS[1]].status is Status.PASS


def test_pmm_agents_only_on_other_hosts_leave_backups_and_restores_unknown() -> None:
    out = run(remote(pmm_facts(), {"pa1": "n9", "pa2": "n9", "pa3": "n9"}))
    result = of(out, "pmm_agent_on_mongodb_node")
    assert result[HOSTS[0]].status is Status.FAIL and result[HOSTS[0]].blocks == ("physical_restore",)
    assert result[""].status is Status.UNKNOWN
    assert result[""].blocks == ("logical_backup", "physical_backup", "pitr", "logical_restore", "pitr_restore")
    assert "which the exporter cannot see" in result[""].reason
    assert readiness(out)["logical_backup"] is None


# --- pmm_service_agents_unique -------------------------------------------------------------------------------------

def twice(pmm: PMMFacts, field: str, services: tuple[int, ...]) -> PMMFacts:
    """A second agent of the same type for these services on their pmm-agent (pmm-admin inventory add agent)."""
    agents = getattr(pmm, field).value
    extra = [{**a, "agent_id": a["agent_id"] + "b"} for a in agents if int(a["service_id"][1:]) in services]
    return replace(pmm, **{field: Observed([*agents, *extra])})


def test_two_agents_of_a_type_for_a_service_block_what_runs_through_it() -> None:
    result = of(run(twice(pmm_facts(), "qan_agents", (1,))), "pmm_service_agents_unique")
    assert result[HOSTS[0]].status is Status.FAIL
    assert result[HOSTS[0]].blocks == ("logical_backup",)  # the daily schedule runs through s1; others run elsewhere
    assert "2 QAN MongoDB profiler agents on pmm-agent pa1" in result[HOSTS[0]].reason
    assert "Couldn't resolve dsn, as there should be only one agent" in result[HOSTS[0]].reason
    assert "q1, q1b" in result[HOSTS[0]].fix and "pmm-admin inventory remove agent" in result[HOSTS[0]].fix
    assert result[HOSTS[1]].status is Status.PASS
    everywhere = run(twice(pmm_facts(), "qan_agents", (1, 2, 3)))
    assert of(everywhere, "pmm_service_agents_unique")[HOSTS[1]].blocks == (
        "logical_backup", "physical_backup", "pitr", "logical_restore", "physical_restore", "pitr_restore")
    assert readiness(everywhere)["logical_restore"] is False


def test_a_second_exporter_matters_only_without_a_profiler_and_is_unknown_on_pmm_3() -> None:
    with_profiler = run(twice(pmm_facts(), "exporters", (1, 2, 3)))
    assert {r.status for r in of(with_profiler, "pmm_service_agents_unique").values()} == {Status.PASS}
    pmm2 = run(twice(pmm_facts(version="2.44.0", qan=()), "exporters", (1, 2, 3)))
    assert of(pmm2, "pmm_service_agents_unique")[HOSTS[0]].status is Status.FAIL
    assert readiness(pmm2)["logical_backup"] is False
    pmm3 = run(twice(pmm_facts(qan=()), "exporters", (1, 2, 3)))  # a single mongolog agent would still serve
    result = of(pmm3, "pmm_service_agents_unique")[HOSTS[0]]
    assert result.status is Status.UNKNOWN and "QAN mongolog agent" in result.reason
    assert readiness(pmm3)["logical_backup"] is None


# --- restore_version_compatible: the artifact's version against the members', as the restore compares ------------

def test_the_restore_compares_the_artifacts_version_with_the_members_not_pmms_24_hour_cache() -> None:
    taken = {"name": "2026-11-30T01:00:04Z", "status": "done", "mongodb_version": "7.0.14"}  # PBM's newest backup
    newest = Observed([artifact("a1", "2026-11-30T01:00:00Z", pbm_backup_name="2026-11-30T01:00:04Z")])
    upgraded = [agent(h, mv="7.0.15", pv="7.0.15-9") for h in HOSTS]
    # mongod was upgraded after the backup; PMM's cached answer still names the cluster's services
    out = run(pmm_facts(artifacts=newest), agents=upgraded, version="7.0.15", last_backup=Observed(taken))
    result = of(out, "restore_version_compatible")[""]
    assert result.status is Status.FAIL and result.blocks == ("logical_restore", "pitr_restore")
    assert "taken on MongoDB 7.0.14, but the cluster runs 7.0.15 (db1:27017, db2:27017, db3:27017)" in result.reason
    assert "PMM's list of compatible services still names db1-mongodb, db2-mongodb, db3-mongodb" in result.reason
    assert "refreshed every 24 h" in result.reason and "fresh backup" in result.fix
    # a backup taken on the new version: PMM's cached answer leaves the services out, the restore accepts them
    fresh = {**taken, "mongodb_version": "7.0.15"}
    out = run(pmm_facts(artifacts=newest, compatible_services={"a1": Observed([])}), agents=upgraded,
              version="7.0.15", last_backup=Observed(fresh))
    result = of(out, "restore_version_compatible")[""]
    assert result.status is Status.PASS and "db1:27017, db2:27017, db3:27017 run" in result.reason
    assert "does not name the cluster's yet" in result.reason
    # PBM's newest backup is another one: PMM's answer is all there is
    other = {**taken, "name": "2026-12-01T01:00:00Z"}
    out = run(pmm_facts(artifacts=newest, compatible_services={"a1": Observed([])}), agents=upgraded,
              version="7.0.15", last_backup=Observed(other))
    assert of(out, "restore_version_compatible")[""].status is Status.FAIL


# --- restore_version_compatible: orphaned artifacts ----------------------------------------------------------------

def test_a_cluster_whose_only_artifacts_are_orphaned_cannot_restore_through_pmm() -> None:
    # pmm-admin remove mongodb: the artifact keeps no service ID (the prober drops the empty field), its schedule goes
    orphan = {k: v for k, v in artifact("a1", "2026-11-30T01:00:00Z", folder="prod-rs",
                                        pbm_backup_name="2026-11-30T01:00:04Z").items() if k != "service_id"}
    out = run(pmm_facts(artifacts=Observed([orphan]), scheduled_backups=Observed([])))
    result = of(out, "restore_version_compatible")[""]
    assert result.status is Status.FAIL and result.blocks == ("logical_restore", "pitr_restore")
    assert "belong to no service" in result.reason and "Empty Service ID." in result.reason
    assert "pbm restore 2026-11-30T01:00:04Z" in result.fix and "folder 'prod-rs'" in result.fix
    assert readiness(out)["logical_restore"] is False
    # another cluster's folder: not this cluster's orphan
    elsewhere = {**orphan, "folder": "billing"}
    assert of(run(pmm_facts(artifacts=Observed([elsewhere]), scheduled_backups=Observed([]))),
              "restore_version_compatible")[""].status is Status.SKIPPED
    # in the folder the cluster's schedule writes to, whatever its name
    ours = Observed([schedule("daily", folder="nightly")])
    assert of(run(pmm_facts(artifacts=Observed([{**orphan, "folder": "nightly"}]), scheduled_backups=ours)),
              "restore_version_compatible")[""].status is Status.FAIL
    # a live artifact of the cluster: PMM restores that one
    assert of(run(pmm_facts(artifacts=Observed([orphan, artifact("a2", "2026-11-29T01:00:00Z")]))),
              "restore_version_compatible")[""].status is Status.UNKNOWN  # not asked about a2 yet


# --- pmm_pitr_schedule_applied -------------------------------------------------------------------------------------

def test_an_enabled_pitr_schedule_with_pitr_off_in_pbm_blocks_pitr() -> None:
    pitr = Observed([schedule("pitr", "s2", mode="PITR")])
    out = run(pmm_facts(scheduled_backups=pitr))  # PBM's config as a restore from PMM leaves it: no pitr section on
    result = of(out, "pmm_pitr_schedule_applied")[""]
    assert result.status is Status.FAIL and result.blocks == ("pitr",)
    assert "PMM's PITR schedule 'pitr' is enabled, but PITR is off in PBM's config" in result.reason
    assert "a restore from PMM writes PBM's config with PITR off" in result.reason
    assert "make the PITR schedule 'pitr' run soon" in result.fix
    assert of(out, "pitr_running")[""].status is Status.SKIPPED  # PBM's own check has nothing to judge
    assert readiness(out)["pitr"] is False
    on = run(pmm_facts(scheduled_backups=pitr),
             pbm_config={"storage": {"type": "s3", "s3": {"bucket": "b"}}, "pitr": {"enabled": True}})
    assert of(on, "pmm_pitr_schedule_applied")[""].status is Status.PASS
    disabled = Observed([schedule("pitr", "s2", mode="PITR", enabled=False)])
    assert of(run(pmm_facts(scheduled_backups=disabled)), "pmm_pitr_schedule_applied")[""].status is Status.SKIPPED


# --- containerized_node, from PMM's node type -----------------------------------------------------------------------

def test_a_service_on_a_container_node_is_a_warning() -> None:
    pmm = pmm_facts()
    assert pmm.nodes.value is not None
    nodes = [{**n, "kind": "container"} if n["node_id"] == "n2" else n for n in pmm.nodes.value]
    result = of(run(replace(pmm, nodes=Observed(nodes))), "containerized_node")
    assert result[HOSTS[0]].status is Status.PASS and "on db1, a generic node" in result[HOSTS[0]].reason
    assert result[HOSTS[1]].status is Status.FAIL and result[HOSTS[1]].blocks == ()
    assert "PMM registers service db2-mongodb on db2, a container node" in result[HOSTS[1]].reason
    assert "percona/pmm#1552" in result[HOSTS[1]].reason and "--node-type=generic" in result[HOSTS[1]].fix
    assert readiness(run(replace(pmm, nodes=Observed(nodes))))["physical_restore"] is True  # a warning only


# --- pmm_scheduled_backups_enabled ----------------------------------------------------------------------------------

def test_schedules_all_disabled_fail_and_lower_cluster_ready_without_blocking_operations() -> None:
    off = Observed([schedule("daily", enabled=False), schedule("weekly", "s2", enabled=False)])
    out = run(pmm_facts(scheduled_backups=off))
    result = of(out, "pmm_scheduled_backups_enabled")[""]
    assert result.status is Status.FAIL and result.blocks == ()
    assert "none of the cluster's 2 scheduled backups ('daily', 'weekly') is enabled" in result.reason
    assert "enable 'daily', 'weekly'" in result.fix
    operations = readiness(out)
    assert operations["logical_backup"] is True  # a backup started by hand still runs
    assert cluster_ready(operations, "logical", False, schedules_ready(out)) is False
    ok = run(pmm_facts())
    assert cluster_ready(readiness(ok), "logical", False, schedules_ready(ok)) is True


def test_no_schedule_is_skipped_with_the_reason() -> None:
    result = of(run(pmm_facts(scheduled_backups=Observed([]))), "pmm_scheduled_backups_enabled")[""]
    assert (result.status, result.reason) == (Status.SKIPPED, "PMM has no scheduled backup of cluster 'prod-rs'")


def test_an_enabled_pitr_schedule_with_snapshot_schedules_blocks_snapshots_and_pitr() -> None:
    both = Observed([schedule("pitr", mode="PITR"), schedule("daily")])
    result = of(run(pmm_facts(scheduled_backups=both)), "pmm_scheduled_backups_enabled")[""]
    assert result.status is Status.FAIL and result.blocks == ("logical_backup", "physical_backup", "pitr")
    assert "PMM refuses every run of a PITR schedule while another one is" in result.reason
    assert "so snapshot schedule 'daily' never runs" in result.reason


def test_pitr_on_a_filesystem_location_fails() -> None:
    pitr = Observed([schedule("pitr", mode="PITR", location_id="loc2")])
    result = of(run(pmm_facts(scheduled_backups=pitr, locations=[S3, DISK])), "pmm_scheduled_backups_enabled")[""]
    assert result.status is Status.FAIL and "PMM restores to a point in time only from S3" in result.reason


# --- pmm_snapshot_backups_allowed -----------------------------------------------------------------------------------

def slicing(pmm: PMMFacts, **over: Any) -> list[CheckResult]:
    """As after a PITR schedule ran: PITR on in PBM's config, a slicer holding its lock, a fresh chunk."""
    return run(pmm, pbm_config={"storage": {"type": "s3", "s3": {"bucket": "b"}}, "pitr": {"enabled": True}},
               locks=Observed([]), op_locks=Observed([{"type": "pitr", "replset": "rs0", "node": HOSTS[1],
                                                        "opid": "p1", "hb": Timestamp(NOW - 2, 1)}]),
               pitr_chunks=Observed([{"rs": "rs0", "start_ts": Timestamp(NOW - 660, 1),
                                      "end_ts": Timestamp(NOW - 60, 1)}]),
               # a day of oplog on every member (pitr_oplog_sufficient)
               **{"oplog_first": {h: Observed(Timestamp(NOW - 86400, 1)) for h in HOSTS}, **over})


def _ready(out: list[CheckResult], mode: str = "logical", pitr: bool = True) -> bool | None:
    unjudged = () if mode == "physical" else ("physical_backup", "physical_restore")
    return backups_ready(out, readiness(out, unjudged), mode, pitr, unjudged)


def test_a_pitr_schedule_alone_refuses_snapshots_but_its_own_runs_keep_the_cluster_ready() -> None:
    out = slicing(pmm_facts(scheduled_backups=Observed([schedule("pitr", mode="PITR")])))
    assert {r.check for r in out if r.status in (Status.FAIL, Status.UNKNOWN) and r.check.startswith("pmm_")} == \
        {"pmm_snapshot_backups_allowed"}
    refusal = of(out, "pmm_snapshot_backups_allowed")[""]
    assert (refusal.status, refusal.blocks) == (Status.FAIL, ("logical_backup", "physical_backup"))
    assert "PITR schedule 'pitr' is enabled: PMM refuses every snapshot backup" in refusal.reason
    assert "disable 'pitr' before an on-demand or physical backup" in refusal.fix
    assert of(out, "pmm_scheduled_backups_enabled")[""].status is Status.PASS
    assert readiness(out)["logical_backup"] is False  # on demand, PMM refuses it
    assert _ready(out) is True  # the PITR schedule's runs take the base backups


def test_the_snapshot_refusal_leaves_every_other_blocker_of_cluster_ready() -> None:
    pitr = Observed([schedule("pitr", mode="PITR")])
    down = slicing(pmm_facts(scheduled_backups=pitr), agents=[agent(h, age=120) for h in HOSTS])
    assert of(down, "pbm_agent_running")[HOSTS[0]].status is Status.FAIL
    assert _ready(down) is False  # no pbm-agent runs the PITR schedule's base backup either
    both = slicing(pmm_facts(scheduled_backups=Observed([schedule("pitr", mode="PITR"), schedule("daily")])))
    assert of(both, "pmm_snapshot_backups_allowed")[""].status is Status.FAIL
    assert _ready(both) is False  # PMM refuses the PITR schedule's runs too


def test_no_enabled_pitr_schedule_allows_snapshots() -> None:
    out = run(pmm_facts(scheduled_backups=Observed([schedule("pitr", mode="PITR", enabled=False),
                                                    schedule("daily")])))
    assert of(out, "pmm_snapshot_backups_allowed")[""].status is Status.PASS
    assert readiness(out)["logical_backup"] is True and _ready(out, pitr=False) is True


# --- pmm_retention_effective ---------------------------------------------------------------------------------------

def test_retention_on_a_filesystem_location_is_a_warning_that_the_disk_fills() -> None:
    kept = Observed([schedule("daily", retention=7, location_id="loc2", location_name="nfs"),
                     schedule("weekly", "s2", retention=4)])
    out = run(pmm_facts(scheduled_backups=kept, locations=[S3, DISK]))
    result = of(out, "pmm_retention_effective")[""]
    assert (result.status, result.blocks) == (Status.FAIL, ())
    assert "'daily' keeps 7 artifacts on filesystem location 'nfs': PMM removes only its records" in result.reason
    assert "'weekly' keeps 4: PMM Server deletes older ones from S3 location 's3-main' itself" in result.reason
    assert "pbm delete-backup --older-than=<time>" in result.fix
    assert schedules_ready(out) is True and readiness(out)["logical_backup"] is True  # a warning only


@pytest.mark.parametrize(("retention", "status", "words"), [
    (None, Status.PASS, "'daily' keeps every artifact (retention 0)"),
    (7, Status.PASS, "'daily' keeps 7: PMM Server deletes older ones from S3 location 's3-main' itself, so it needs "
                     "to reach the bucket and delete in it"),
    ("seven", Status.UNKNOWN, "'daily' has a retention PMM's API does not define ('seven')"),
])
def test_retention_on_s3_says_pmm_server_deletes(retention: Any, status: Status, words: str) -> None:
    doc = schedule("daily", **({} if retention is None else {"retention": retention}))
    result = of(run(pmm_facts(scheduled_backups=Observed([doc]))), "pmm_retention_effective")[""]
    assert (result.status, result.reason) == (status, words)


# --- pmm_backup_folder_unique ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("other_cluster", "folder", "clash"), [
    ("billing", "", True), ("billing", "billing", False), ("prod-rs", "", False),
])
def test_a_location_and_folder_another_cluster_uses_blocks_backups(other_cluster: str, folder: str,
                                                                   clash: bool) -> None:
    pmm = pmm_facts()
    assert pmm.services.value is not None and pmm.artifacts.value is not None
    theirs = service(9, cluster=other_cluster, address="bill1")
    foreign = artifact("b1", "2026-11-29T01:00:00Z", "s9", folder=folder)
    result = of(run(replace(pmm, services=Observed([*pmm.services.value, theirs]),
                            artifacts=Observed([*pmm.artifacts.value, foreign]))), "pmm_backup_folder_unique")[""]
    if clash:
        assert result.status is Status.FAIL and result.blocks == ("logical_backup", "physical_backup", "pitr")
        assert "location 's3-main' (no folder) is also used by artifact 'backup-b1' of service db9-mongodb of " \
               "cluster 'billing'" in result.reason
    else:
        assert result.status is Status.PASS


# --- restore_version_compatible -------------------------------------------------------------------------------------

def test_an_artifact_pmm_would_restore_nowhere_blocks_the_restore_of_its_data_model() -> None:
    upgraded = [service(i, version="8.0.4") for i in (1, 2, 3)]
    out = run(pmm_facts(services=upgraded, compatible_services={"a1": Observed([])}))
    result = of(out, "restore_version_compatible")[""]
    assert result.status is Status.FAIL and result.blocks == ("logical_restore", "pitr_restore")
    assert "'backup-a1' (logical, 2026-11-30T01:00:00Z)" in result.reason and "no service at all" in result.reason
    assert "run MongoDB 8.0.4" in result.reason and "fresh backup" in result.fix
    assert readiness(out)["logical_restore"] is False and readiness(out)["logical_backup"] is True
    physical = Observed([artifact("a1", "2026-11-30T01:00:00Z", data_model="PHYSICAL")])
    out = run(pmm_facts(artifacts=physical, compatible_services={"a1": Observed([])}), "physical")
    assert of(out, "restore_version_compatible")[""].blocks == ("physical_restore",)


def test_the_newest_successful_artifact_is_the_one_judged() -> None:
    history = Observed([artifact("a0", "2026-11-28T01:00:00Z"), artifact("a1", "2026-11-30T01:00:00Z"),
                        artifact("a2", "2026-12-01T01:00:00Z", status="ERROR")])
    result = of(run(pmm_facts(artifacts=history)), "restore_version_compatible")[""]
    assert result.status is Status.PASS and "'backup-a1'" in result.reason
    assert "db1-mongodb, db2-mongodb, db3-mongodb" in result.reason


def test_no_artifact_is_skipped_and_one_not_asked_about_is_unknown() -> None:
    assert of(run(pmm_facts(artifacts=Observed([]))), "restore_version_compatible")[""].status is Status.SKIPPED
    unasked = of(run(pmm_facts(compatible_services={})), "restore_version_compatible")[""]
    assert unasked.status is Status.UNKNOWN and unasked.blocks == ("logical_restore", "pitr_restore")
    refused = of(run(pmm_facts(compatible_services={"a1": Observed.failed("PMM answered 500")})),
                 "restore_version_compatible")[""]
    assert refused.status is Status.UNKNOWN and "PMM answered 500" in refused.reason


# --- pmm_client_connected and the service PMM will use --------------------------------------------------------------

def test_a_disconnected_node_blocks_what_a_schedule_runs_through_it() -> None:
    plain = of(run(pmm_facts(disconnected=(1,), scheduled_backups=Observed([]))), "pmm_client_connected")[HOSTS[0]]
    assert plain.blocks == ("physical_restore",)  # backups can run through db2 and db3
    daily = of(run(pmm_facts(disconnected=(1,))), "pmm_client_connected")[HOSTS[0]]  # 'daily' runs through s1
    assert daily.blocks == ("logical_backup", "physical_restore")
    pitr = Observed([schedule("pitr", "s1", mode="PITR")])
    scheduled = of(run(pmm_facts(disconnected=(1,), scheduled_backups=pitr)), "pmm_client_connected")[HOSTS[0]]
    assert scheduled.blocks == ("pitr", "physical_restore")
    assert "PMM runs the scheduled pitr through this node's service" in scheduled.reason


def test_the_new_checks_are_unknown_when_pmm_cannot_be_read() -> None:
    failed: Observed[Any] = Observed.failed("cannot connect to PMM")
    down = PMMFacts("3.4.0", "cannot connect to PMM", failed, failed, failed, failed, failed, failed, failed,
                    failed, failed, failed)
    out = run(down, agents=[agent(h) for h in HOSTS])
    new = {"pmm_agent_version_supported", "pmm_service_user_matches", "pmm_cluster_services_connected",
           "pmm_agent_on_mongodb_node", "pmm_scheduled_backups_enabled", "pmm_backup_folder_unique",
           "restore_version_compatible", "containerized_node", "pmm_service_agents_unique",
           "pmm_pitr_schedule_applied", "pmm_retention_effective", "pmm_snapshot_backups_allowed"}
    assert {r.status for r in out if r.check in new} == {Status.UNKNOWN}
    assert {r.check for r in out if r.check in new} == new


def test_a_carried_answer_says_so() -> None:
    result = of(run(pmm_facts(compatible_carried={"a1": "a0"})), "restore_version_compatible")[""]
    assert result.status is Status.PASS
    assert "(PMM's answer for the previous artifact, a0, taken at the same MongoDB versions" in result.reason


# --- pmm_restore_supported (issue 29 item 5) ------------------------------------------------------------------------



def test_a_pitr_artifact_on_a_filesystem_location_cannot_be_restored_through_pmm() -> None:
    # checkArtifactMode: a PITR artifact needs a time; checkArtifactModePreconditions: a time needs an S3 location
    locations = [S3, DISK]
    pitr = artifact("p1", "2026-11-30T02:00:00Z", mode="PITR", location_id="loc2", location_name="nfs")
    out = run(pmm_facts(locations=locations, artifacts=Observed([pitr]), compatible_services={}))
    result = of(out, "pmm_restore_supported")[""]
    assert result.status is Status.FAIL and result.blocks == ("logical_restore", "pitr_restore")
    assert "PMM cannot restore the PITR artifact 'backup-p1' (logical PITR, 2026-11-30T02:00:00Z) on location 'nfs' " \
           "through PMM" in result.reason and "only for S3 locations" in result.reason
    assert "pbm restore --time=" in result.fix
    assert readiness(out)["logical_restore"] is False
    # with a logical snapshot beside it, PMM can still restore that one: a warning
    snap = artifact("a1", "2026-11-30T01:00:00Z")
    result = of(run(pmm_facts(locations=locations, artifacts=Observed([snap, pitr]))), "pmm_restore_supported")[""]
    assert result.status is Status.FAIL and result.blocks == () and "'backup-a1'" in result.reason
    # the same PITR artifact on S3 is restorable
    on_s3 = artifact("p1", "2026-11-30T02:00:00Z", mode="PITR")
    assert of(run(pmm_facts(artifacts=Observed([on_s3]), compatible_services={})),
              "pmm_restore_supported")[""].status is Status.PASS


def test_a_sharded_artifact_names_the_pbm_restore_command() -> None:
    sharded = Observed([artifact("a1", "2026-11-30T01:00:00Z", is_sharded_cluster=True)])
    passing = of(run(pmm_facts(artifacts=sharded)), "pmm_restore_supported")[""]
    assert passing.status is Status.PASS and "restore it with pbm restore, not through PMM" in passing.reason
    out = run_checks(facts(pbm_config={"storage": {"type": "s3", "s3": {"bucket": "b"}}}),
                     ClusterSettings("logical", "prod-rs", restore_from_pmm=True), pmm_facts(artifacts=sharded))
    result = of(out, "pmm_restore_supported")[""]
    assert result.status is Status.FAIL and result.blocks == ("logical_restore", "pitr_restore")
    assert "was made for a sharded cluster" in result.reason and "through PMM" in result.reason
    assert "pbm restore <backup name>" in result.fix


def test_physical_restore_through_pmm_needs_no_arbiter_and_no_container_node() -> None:
    assert of(run(pmm_facts(), "physical"), "pmm_restore_supported")[""].status is Status.PASS
    nodes = Observed([{"node_id": f"n{i}", "node_name": f"db{i}", "address": f"10.0.0.{i}",
                       "kind": "container" if i == 2 else "generic"} for i in (1, 2, 3)])
    result = of(run(pmm_facts(nodes=nodes), "physical"), "pmm_restore_supported")[""]
    assert result.status is Status.FAIL and result.blocks == ("physical_restore",)
    assert f"on container nodes ({HOSTS[1]} (service db2-mongodb))" in result.reason
    assert "Restore with the PBM CLI" in result.fix
    # a logical cluster without physical artifacts does not restore physically: not judged
    assert of(run(pmm_facts(nodes=nodes)), "pmm_restore_supported")[""].status is Status.PASS
    arbiter = of(run(pmm_facts(), "physical", arbiter="db4:27017"), "pmm_restore_supported")[""]
    assert arbiter.status is Status.FAIL and arbiter.blocks == ("physical_restore",)
    assert "through PMM: it has arbiter nodes (db4:27017)" in arbiter.reason


# --- recovery_objectives_met -------------------------------------------------------------------------------------

def done_backup(ended: int, took: int = 600) -> dict[str, Any]:
    """An admin.pbmBackups document as the catalogue projection keeps it (pbm/backup/types.go BackupMeta)."""
    return {"name": f"b{ended}", "type": "logical", "status": "done", "start_ts": ended - took,
            "last_transition_ts": ended, "first_write_ts": Timestamp(ended - took, 1),
            "last_write_ts": Timestamp(ended, 1), "size": 1 << 20, "fcv": "7.0", "mongodb_version": "7.0.14-8",
            "replsets": [{"name": "rs0"}]}


def objectives(pmm: PMMFacts | None, settings: ClusterSettings | None = None, **fact_over: Any) -> CheckResult:
    fact_over.setdefault("pbm_config", {"storage": {"type": "s3", "s3": {"bucket": "b"}}})
    fact_over.setdefault("pitr_timelines", Observed({}))
    out = run_checks(facts(**fact_over), settings or ClusterSettings("logical", "prod-rs"), pmm)
    [result] = [r for r in out if r.check == "recovery_objectives_met"]
    return result


def test_the_backup_age_target_comes_from_the_clusters_pmm_schedule() -> None:
    nightly = pmm_facts(scheduled_backups=Observed([schedule("nightly", cron_expression="0 1 * * *")]))
    stale = objectives(nightly, catalogue=Observed([done_backup(NOW - 30 * 3600)]))
    assert stale.status is Status.FAIL and stale.blocks == ()  # a warning: freshness never blocks
    assert stale.reason.startswith("RPO 30 h over its target 25 h without PITR, the backup age target (from PMM "
                                   "schedule 'nightly' 0 1 * * * plus 60 min); newest successful backup age 30 h over "
                                   "its target 25 h from PMM schedule 'nightly' 0 1 * * * plus 60 min")
    fresh = objectives(nightly, catalogue=Observed([done_backup(NOW - 2 * 3600)]))
    assert fresh.status is Status.PASS and "newest successful backup age 2 h within 25 h" in fresh.reason
    # an hourly schedule beside it: the tighter one sets the target; a disabled or PITR schedule sets none
    both = pmm_facts(scheduled_backups=Observed([
        schedule("nightly", cron_expression="0 1 * * *"), schedule("hourly", cron_expression="0 * * * *"),
        schedule("off", cron_expression="*/5 * * * *", enabled=False),
        schedule("pitr", cron_expression="*/5 * * * *", mode="PITR")]))
    assert "over its target 2 h from PMM schedule 'hourly'" in objectives(
        both, catalogue=Observed([done_backup(NOW - 3 * 3600)])).reason


def test_with_pitr_the_rpo_target_is_three_oplog_spans_and_the_config_overrides_every_default() -> None:
    config = {"storage": {"type": "s3", "s3": {"bucket": "b"}}, "pitr": {"enabled": True, "oplogSpanMin": 10}}
    # PITR chunks to 45 min ago from a base an hour ago: RPO 45 min
    base = done_backup(NOW - 3600)
    timelines = Observed({"rs0": ((NOW - 3600 - 600, NOW - 2700),)})
    result = objectives(None, pbm_config=config, catalogue=Observed([base]), pitr_timelines=timelines)
    assert result.status is Status.FAIL
    assert result.reason.startswith("RPO 45 min over its target 30 min from PITR's oplog span 10 min x 3")
    stated = ClusterSettings("logical", "prod-rs", objectives=(
        ("rpo", 3600.0, "clusters[0].recovery_objectives.rpo"),
        ("min_window", 7200.0, "recovery_objectives.min_window")))
    result = objectives(None, stated, pbm_config=config, catalogue=Observed([base]), pitr_timelines=timelines)
    assert result.status is Status.FAIL and result.reason.startswith(
        "restorable window 15 min under its target 2 h from the config (recovery_objectives.min_window) (met: RPO "
        "45 min within 60 min from the config (clusters[0].recovery_objectives.rpo))")


def test_no_target_at_all_is_skipped_and_an_unreadable_catalogue_unknown() -> None:
    assert objectives(None, catalogue=Observed([done_backup(NOW - 60)])).status is Status.SKIPPED
    assert objectives(None, catalogue=Observed.failed("Unauthorized")).status is Status.UNKNOWN
