"""The PMM checks as pure functions: PMM's facts (as the prober normalizes them) in, results out."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from exporter.checks.registry import names_to_resolve, run_checks
from exporter.facts.observed import ClusterFacts, Observed, PMMFacts
from exporter.model.cluster_settings import ClusterSettings
from exporter.results.check_result import Status
from tests.test_checks import HOSTS, agent, facts

HOST_IPS = {"db1": "10.0.0.1", "db2": "10.0.0.2", "db3": "10.0.0.3"}


def service(i: int, **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"service_id": f"s{i}", "service_name": f"db{i}-mongodb", "node_id": f"n{i}",
                           "address": f"db{i}", "port": 27017, "cluster": "prod-rs", "replication_set": "rs0"}
    doc.update(over)
    return {k: v for k, v in doc.items() if v not in ("", None)}  # PMM omits empty fields


def pmm_facts(services: list[dict[str, Any]] | None = None, version: str = "3.4.0", backup: bool = True,
              locations: list[dict[str, Any]] | None = None, disconnected: tuple[int, ...] = (),
              exporter_status: dict[int, str] | None = None, qan: tuple[int, ...] = (1, 2, 3), **over: Any) -> PMMFacts:
    services = [service(i) for i in (1, 2, 3)] if services is None else services
    values: dict[str, Any] = {
        "version": version,
        "settings": Observed({"backup_management_enabled": True} if backup else {"telemetry_enabled": True}),
        "locations": Observed([{"name": "s3-main", "location_id": "loc1", "type": "s3", "bucket": "b",
                                "endpoint": "https://s3.example"}]
                              if locations is None else locations),
        "services": Observed(services),
        "pmm_agents": Observed([{"agent_id": f"pa{i}", "runs_on_node_id": f"n{i}",
                                 **({} if i in disconnected else {"connected": True})} for i in (1, 2, 3)]),
        "exporters": Observed([{"agent_id": f"e{i}", "pmm_agent_id": f"pa{i}", "service_id": f"s{i}",
                                "username": "pmm", "status": (exporter_status or {}).get(i, "RUNNING")}
                               for i in (1, 2, 3)]),
        # pmm-admin add mongodb registers a QAN profiler agent beside the exporter (PMM takes the DSN from it first)
        "qan_agents": Observed([{"agent_id": f"q{i}", "pmm_agent_id": f"pa{i}", "service_id": f"s{i}",
                                 "username": "pmm", "status": "RUNNING"} for i in qan]),
        "nodes": Observed([{"node_id": f"n{i}", "node_name": f"db{i}", "address": HOST_IPS[f"db{i}"],
                            "kind": "generic"} for i in (1, 2, 3)]),
        "scheduled_backups": Observed([schedule("daily")]),
        "artifacts": Observed([artifact("a1", "2026-11-30T01:00:00Z")]),
        "agent_versions": Observed({f"pa{i}": version for i in (1, 2, 3)}),
        "compatible_services": {"a1": Observed([service(i) for i in (1, 2, 3)])},
    }
    values.update(over)
    return PMMFacts(**values)


def schedule(name: str, service_id: str = "s1", **over: Any) -> dict[str, Any]:
    """A ScheduledBackup as the prober keeps it (enums without their prefixes)."""
    return {"scheduled_backup_id": f"sb-{name}", "name": name, "service_id": service_id, "location_id": "loc1",
            "location_name": "s3-main", "enabled": True, "data_model": "LOGICAL", "mode": "SNAPSHOT",
            "vendor": "mongodb", **over}


def artifact(artifact_id: str, created_at: str, service_id: str = "s1", **over: Any) -> dict[str, Any]:
    return {"artifact_id": artifact_id, "name": f"backup-{artifact_id}", "service_id": service_id,
            "location_id": "loc1", "location_name": "s3-main", "data_model": "LOGICAL", "mode": "SNAPSHOT",
            "status": "SUCCESS", "created_at": created_at, "vendor": "mongodb", **over}


def check(pmm: PMMFacts | None, name: str, mode: str = "logical", mapping: tuple[tuple[str, str], ...] = (),
          addresses: dict[str, frozenset[str]] | None = None, **fact_over: Any) -> dict[str, tuple[Status, str]]:
    settings = ClusterSettings(mode, "prod-rs", mapping)
    out = run_checks(facts(**fact_over), settings, pmm, addresses or {})
    return {r.node: (r.status, r.reason) for r in out if r.check == name}


def test_healthy_pmm_passes_every_pmm_check() -> None:
    out = run_checks(facts(pbm_config={"storage": {"type": "s3", "s3": {"bucket": "b"}}}),
                     ClusterSettings("logical", "prod-rs"), pmm_facts())
    # PITR off and no PITR schedule, an S3 storage, no backup in PBM's catalogue, no schedule with a cron: their
    # checks are skipped (tests/test_recoverability.py)
    skipped = {"pitr_running", "pitr_resumable", "pmm_pitr_schedule_applied", "pbm_storage_shared",
               "pbm_no_stuck_operation", "pitr_timeline_continuous", "restore_point_available",
               "recovery_objectives_met", "backup_matches_cluster", "pitr_oplog_sufficient", "write_majority_available"}
    assert {r.status for r in out if r.check not in skipped} == {Status.PASS}
    assert {r.check for r in out} >= {"backup_management_enabled", "storage_location_configured",
                                      "pmm_client_connected", "service_cluster_name", "pbm_config_managed_by_pmm",
                                      "pmm_agent_version_supported", "pmm_service_user_matches",
                                      "pmm_cluster_services_connected", "pmm_agent_on_mongodb_node",
                                      "pmm_scheduled_backups_enabled", "pmm_backup_folder_unique",
                                      "restore_version_compatible"}


def test_backup_management_off_fails_and_locations_go_unknown() -> None:
    pmm = replace(pmm_facts(backup=False), locations=Observed.failed("PMM answered 501 ..."))
    assert check(pmm, "backup_management_enabled")[""][0] is Status.FAIL
    assert check(pmm, "storage_location_configured")[""] == (
        Status.UNKNOWN, "PMM lists no storage locations while Backup Management is disabled")


def test_storage_locations_are_named_without_keys() -> None:
    pmm = pmm_facts(locations=[{"name": "nfs", "type": "filesystem", "path": "/mnt/b"},
                               {"name": "s3-main", "type": "s3", "bucket": "b", "endpoint": "https://s3.example"}])
    assert check(pmm, "storage_location_configured")[""] == (
        Status.PASS, "2 storage locations: 'nfs': filesystem path /mnt/b; 's3-main': s3 bucket b at https://s3.example")
    assert check(pmm_facts(locations=[]), "storage_location_configured")[""] == (
        Status.FAIL, "PMM has no backup storage location")


def test_members_match_services_by_resolved_ip_when_names_differ() -> None:
    # replica set config says db1:27017..., PMM services were added by IP address
    services = [service(i, address=HOST_IPS[f"db{i}"]) for i in (1, 2, 3)]
    addresses = {h.split(":")[0]: frozenset({HOST_IPS[h.split(":")[0]]}) for h in HOSTS}
    assert names_to_resolve(ClusterFacts((facts(),), "rs0"), ClusterSettings("logical", "prod-rs"),
                            pmm_facts(services)) == {"db1", "db2", "db3"}
    out = check(pmm_facts(services), "pmm_client_connected", addresses=addresses)
    assert {s for s, _ in out.values()} == {Status.PASS}
    assert "(by its resolved IP address)" in out[HOSTS[0]][1]
    # without the names resolving there is no match, and the reason says what was looked for
    status, reason = check(pmm_facts(services), "pmm_client_connected")[HOSTS[0]]
    assert status is Status.FAIL
    assert reason == ("no PMM Client monitors this node: no MongoDB service in PMM's inventory has address "
                      "db1:27017, or a name resolving to the same IP, on port 27017 (no node of rs0 has a PMM service "
                      "PMM could run pbm through)")


def test_loopback_services_match_through_their_node() -> None:
    # pmm-admin add mongodb's default: 127.0.0.1:27017 on the node itself; the node is registered as its IP
    services = [service(i, address="127.0.0.1") for i in (1, 2, 3)]
    out = check(pmm_facts(services), "pmm_client_connected")  # node_name db1 == member host db1
    assert {s for s, _ in out.values()} == {Status.PASS}


def test_explicit_mapping_wins_and_a_wrong_one_says_so() -> None:
    services = [service(1, address="weird-alias"), service(2), service(3)]
    mapping = ((HOSTS[0], "db1-mongodb"),)
    out = check(pmm_facts(services), "pmm_client_connected", mapping=mapping)
    assert out[HOSTS[0]] == (Status.PASS, "service db1-mongodb (named 'db1-mongodb' in the config's pmm_services): "
                                          "pmm-agent connected, mongodb_exporter RUNNING")
    out = check(pmm_facts(services), "pmm_client_connected", mapping=((HOSTS[0], "nope"),))
    assert out[HOSTS[0]][1].startswith("no PMM Client monitors this node: the config's pmm_services maps it to "
                                       "service 'nope', which PMM's inventory does not have")


def test_disconnected_agent_and_stopped_exporter_fail_their_node() -> None:
    pmm = pmm_facts(disconnected=(2,), exporter_status={3: "INITIALIZATION_ERROR"})
    out = check(pmm, "pmm_client_connected")
    assert out[HOSTS[0]][0] is Status.PASS
    assert out[HOSTS[1]] == (Status.FAIL, "the pmm-agent serving service db2-mongodb is not connected to PMM Server "
                                          "(a physical restore restarts mongod through every node's pmm-agent; "
                                          "backups can run through db1:27017, db3:27017)")
    # PMM takes the DSN from the agents' settings, not their state: an exporter not RUNNING is only a warning
    assert out[HOSTS[2]] == (Status.FAIL, "the mongodb_exporter of service db3-mongodb is INITIALIZATION_ERROR, "
                                          "not RUNNING (PMM still takes the DSN from its settings or the QAN agent, "
                                          "so backups are not stopped)")
    blocked = {r.node: r.blocks for r in run_checks(facts(), ClusterSettings("logical", "prod-rs"), pmm)
               if r.check == "pmm_client_connected"}
    assert blocked == {HOSTS[0]: (), HOSTS[1]: ("physical_restore",), HOSTS[2]: ()}


def test_a_qan_profiler_agent_alone_gives_pmm_its_dsn() -> None:
    # PMM's FindDSNByServiceIDandPMMAgentID takes the DSN from the QAN MongoDB profiler agent, else the exporter
    pmm = pmm_facts(exporters=Observed([{"agent_id": f"e{i}", "pmm_agent_id": f"pa{i}", "service_id": f"s{i}",
                                         "status": "RUNNING"} for i in (1, 3)]))
    out = check(pmm, "pmm_client_connected")
    assert out[HOSTS[1]] == (Status.PASS, "service db2-mongodb (by its address): pmm-agent connected, DSN from its QAN "
                                          "MongoDB profiler agent")
    # neither agent: no DSN, so PMM cannot run pbm through this service
    out = check(replace(pmm, qan_agents=Observed([])), "pmm_client_connected")
    assert out[HOSTS[1]][0] is Status.FAIL
    assert out[HOSTS[1]][1].startswith("service db2-mongodb has neither a mongodb_exporter nor a QAN MongoDB "
                                       "profiler agent in PMM")
    fixes = {r.node: r.fix for r in run_checks(facts(), ClusterSettings("logical", "prod-rs"),
                                                replace(pmm, qan_agents=Observed([])))
             if r.check == "pmm_client_connected"}
    assert "pmm-admin remove deletes the service's scheduled backups" in fixes[HOSTS[1]]  # RemoveCascade


@pytest.mark.parametrize(("version", "mode", "expected"), [
    ("2.37.1", "logical", Status.PASS),  # one node with PMM Client is enough for logical backups before 2.38
    ("2.37.1", "physical", Status.FAIL),
    ("2.38.0", "logical", Status.FAIL),
    ("3.4.0", "logical", Status.FAIL),
])
def test_pmm_client_rules_follow_the_pmm_version(version: str, mode: str, expected: Status) -> None:
    pmm = pmm_facts([service(1)], version=version)  # only db1 is registered
    out = check(pmm, "pmm_client_connected", mode=mode)
    assert out[HOSTS[0]][0] is Status.PASS
    assert out[HOSTS[1]][0] is expected


def test_cluster_names() -> None:
    pmm = pmm_facts([service(1), service(2, cluster=""), service(3, cluster="prod")])
    out = check(pmm, "service_cluster_name")
    assert out[HOSTS[0]] == (Status.PASS, "service db1-mongodb has cluster name 'prod-rs'")
    assert out[HOSTS[1]] == (Status.FAIL, "service db2-mongodb has no cluster name: PMM refuses to back it up, and a "
                                          "physical restore would not restart it; the replica set's other services "
                                          "say 'prod', 'prod-rs'; backups can be started through db1:27017, "
                                          "db3:27017")
    assert out[HOSTS[2]][1].startswith("service db3-mongodb has cluster name 'prod', not 'prod-rs', which most of "
                                       "the replica set's services carry")


@pytest.mark.parametrize(("storage", "expected"), [
    ({"type": "s3", "s3": {"bucket": "b", "endpointUrl": "https://s3.example/", "prefix": "prod-rs"}}, Status.PASS),
    ({"type": "s3", "s3": {"bucket": "other"}}, Status.FAIL),
    ({"type": "s3", "s3": {"bucket": "b", "endpointUrl": "https://elsewhere"}}, Status.FAIL),
    ({"type": "filesystem", "filesystem": {"path": "/mnt/b/prod-rs"}}, Status.PASS),  # location path + folder
    ({"type": "filesystem", "filesystem": {"path": "/mnt/bb"}}, Status.FAIL),
    ({"type": "azure", "azure": {"container": "c"}}, Status.FAIL),
])
def test_pbm_config_must_be_one_pmm_wrote(storage: dict[str, Any], expected: Status) -> None:
    pmm = pmm_facts(locations=[{"name": "nfs", "type": "filesystem", "path": "/mnt/b"},
                               {"name": "s3-main", "type": "s3", "bucket": "b", "endpoint": "https://s3.example"}])
    status, reason = check(pmm, "pbm_config_managed_by_pmm", pbm_config={"storage": storage})[""]
    assert status is expected, reason
    if expected is Status.FAIL:
        assert reason.endswith("PBM was configured by hand (a warning: PMM writes PBM's whole config again before "
                               "each of its backups)")


def test_pbm_config_check_waits_for_a_config() -> None:
    assert check(pmm_facts(), "pbm_config_managed_by_pmm")[""][0] is Status.SKIPPED


@pytest.mark.parametrize(("pmm_version", "expected"), [("3.4.0", Status.FAIL), ("3.9.0", Status.PASS),
                                                        ("2.44.0", Status.FAIL)])
def test_pbm_2_10_needs_pmm_3_9(pmm_version: str, expected: Status) -> None:
    out = check(pmm_facts(version=pmm_version), "pbm_version_supported",
                agents=[agent(h, version="2.10.0") for h in HOSTS])
    assert out[HOSTS[0]][0] is expected
    if expected is Status.FAIL:
        assert out[HOSTS[0]][1] == f"PBM 2.10.0 needs PMM 3.9.0 or later, and PMM Server is {pmm_version}"


def test_unreachable_pmm_makes_pmm_checks_unknown_and_leaves_mongodb_checks() -> None:
    failed: Observed[Any] = Observed.failed("cannot connect to PMM at https://pmm: connection refused")
    pmm = PMMFacts("", "cannot connect to PMM at https://pmm: connection refused", failed, failed, failed, failed,
                   failed, failed)
    out = run_checks(facts(), ClusterSettings("logical", "prod-rs"), pmm)
    pmm_checks = {"backup_management_enabled", "storage_location_configured", "pmm_client_connected",
                  "service_cluster_name"}
    assert {r.status for r in out if r.check in pmm_checks} == {Status.UNKNOWN}
    assert {r.status for r in out if r.check == "pbm_agent_running"} == {Status.PASS}
    assert all("connection refused" in r.reason for r in out if r.check in pmm_checks)
