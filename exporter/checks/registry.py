"""The registry of the backup prerequisites, MongoDB's and PMM's: every check in order, run on each replica set."""

from __future__ import annotations

from collections.abc import Callable

from exporter.checks import (
    backup_candidate_available,
    backup_management_enabled,
    backup_matches_cluster,
    containerized_node,
    mongodb_user_permissions,
    pbm_agent_running,
    pbm_config_managed_by_pmm,
    pbm_no_stale_lock,
    pbm_no_stuck_operation,
    pbm_storage_reachable,
    pbm_storage_shared,
    pbm_version_supported,
    pbm_versions_consistent,
    pitr_oplog_sufficient,
    pitr_resumable,
    pitr_running,
    pitr_timeline_continuous,
    pmm_agent_on_mongodb_node,
    pmm_agent_version_supported,
    pmm_backup_folder_unique,
    pmm_client_connected,
    pmm_cluster_services_connected,
    pmm_pitr_schedule_applied,
    pmm_restore_supported,
    pmm_retention_effective,
    pmm_scheduled_backups_enabled,
    pmm_service_agents_unique,
    pmm_service_user_matches,
    pmm_snapshot_backups_allowed,
    recovery_objectives_met,
    replica_set_member,
    restore_point_available,
    restore_version_compatible,
    service_cluster_name,
    storage_location_configured,
    supported_configuration,
    write_majority_available,
)
from exporter.facts.observed import ClusterFacts, PMMFacts, ReplicaSetFacts, ShardingFacts
from exporter.model import pmm_inventory
from exporter.model.cluster_settings import ClusterSettings
from exporter.model.cluster_view import CheckInput, build_view
from exporter.model.during_operations import while_operations_run
from exporter.model.pbm_agent_duties import leader_version
from exporter.results.check_result import CheckResult, Status
from exporter.results.operations import ordered

Check = Callable[[CheckInput], list[CheckResult]]

# Order is the order `check` prints them in. The names are a contract (the `check` label).
_MODULES = (replica_set_member, pbm_agent_running, pbm_version_supported, pbm_versions_consistent,
            pbm_storage_reachable, pbm_storage_shared, backup_candidate_available, pitr_running, pitr_resumable,
            pitr_oplog_sufficient, write_majority_available, pbm_no_stale_lock, pbm_no_stuck_operation,
            mongodb_user_permissions, supported_configuration, backup_management_enabled, storage_location_configured,
            pmm_client_connected, pmm_agent_version_supported, pmm_agent_on_mongodb_node,
            pmm_service_agents_unique, pmm_service_user_matches, pmm_cluster_services_connected, containerized_node,
            service_cluster_name, pmm_scheduled_backups_enabled, pmm_snapshot_backups_allowed,
            pmm_pitr_schedule_applied, pmm_retention_effective, pmm_backup_folder_unique,
            restore_version_compatible, pmm_restore_supported, pbm_config_managed_by_pmm,
            backup_matches_cluster, restore_point_available, pitr_timeline_continuous, recovery_objectives_met)
CHECKS: dict[str, Check] = {module.CHECK: module.evaluate for module in _MODULES}
# The operations each check's failure may block at most: what its unknown results leave unknown
MAY_BLOCK: dict[str, frozenset[str]] = {module.CHECK: module.MAY_BLOCK for module in _MODULES}


# Checks about the cluster as a whole, judged once: on the replica set, or on a sharded cluster's config servers.
# The others are judged on every replica set (users, builds and members are per shard).
CLUSTER_SCOPED = {backup_management_enabled.CHECK, storage_location_configured.CHECK, pbm_config_managed_by_pmm.CHECK,
                  pbm_no_stale_lock.CHECK, pbm_no_stuck_operation.CHECK, pbm_versions_consistent.CHECK,
                  pmm_scheduled_backups_enabled.CHECK, pmm_backup_folder_unique.CHECK, restore_version_compatible.CHECK,
                  pmm_pitr_schedule_applied.CHECK, pmm_retention_effective.CHECK, pmm_snapshot_backups_allowed.CHECK,
                  backup_matches_cluster.CHECK, restore_point_available.CHECK, pitr_timeline_continuous.CHECK,
                  recovery_objectives_met.CHECK}


def names_to_resolve(cluster: ClusterFacts, settings: ClusterSettings, pmm: PMMFacts | None) -> set[str]:
    """The host names whose addresses matching members to PMM services may need; the probe resolves them."""
    return {name for facts in cluster.replica_sets
            for name in pmm_inventory.names_to_resolve(CheckInput(facts, build_view(facts), settings, pmm))}


def run_cluster_checks(cluster: ClusterFacts, settings: ClusterSettings, pmm: PMMFacts | None = None,
                       addresses: dict[str, frozenset[str]] | None = None) -> list[CheckResult]:
    """Every check on every replica set of the cluster; cluster-wide ones once, on the control replica set."""
    results: list[CheckResult] = []
    leader = leader_version(build_view(cluster.control_facts)) if cluster.control_facts is not None else None
    for facts in cluster.replica_sets:
        control = facts.name == cluster.control
        results += run_checks(facts, settings, pmm, addresses, cluster_scope=control,
                              sharding=cluster.sharding if control else None, leader_pbm=leader)
    control_facts = cluster.control_facts
    return while_operations_run(results, control_facts) if control_facts is not None else results


def run_checks(facts: ReplicaSetFacts, settings: ClusterSettings, pmm: PMMFacts | None = None,
               addresses: dict[str, frozenset[str]] | None = None, *, cluster_scope: bool = True,
               sharding: ShardingFacts | None = None, leader_pbm: tuple[int, int, int] | None = None
               ) -> list[CheckResult]:
    """Every check on one replica set's facts (and PMM's). A check that raises gives an unknown result.
    `leader_pbm`: the cluster leader's PBM version, for a replica set that is not the control one."""
    view = build_view(facts)
    leader = leader_version(view) if cluster_scope else leader_pbm
    inp = CheckInput(facts, view, settings, pmm, addresses or {}, sharding, control=cluster_scope, leader_pbm=leader)
    results: list[CheckResult] = []
    for name, check in CHECKS.items():
        if name in CLUSTER_SCOPED and not cluster_scope:
            continue
        try:
            found = check(inp)
        except Exception as exc:  # a bug or an input we did not foresee must not take the exporter down
            found = [CheckResult(name, Status.UNKNOWN, f"internal error while checking: {exc!r}",
                                 replica_set=view.replica_set)]
        # an unknown result leaves unknown what the check could block
        results += [r._replace(blocks=ordered(MAY_BLOCK[name])) if r.status is Status.UNKNOWN and not r.blocks
                    else r for r in found]
    return results


__all__ = ["CHECKS", "CheckInput", "CheckResult", "ClusterSettings", "Status", "names_to_resolve", "run_checks",
           "run_cluster_checks"]
