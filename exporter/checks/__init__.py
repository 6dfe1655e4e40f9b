"""The backup prerequisites, MongoDB's and PMM's: each check a pure function from observed facts to results."""

from __future__ import annotations

from collections.abc import Callable

from exporter.checks import (
    backup_management_enabled,
    mongodb_user_permissions,
    pbm_agent_running,
    pbm_config_managed_by_pmm,
    pbm_storage_reachable,
    pbm_version_supported,
    pmm_client_connected,
    pmm_inventory,
    replica_set_member,
    service_cluster_name,
    storage_location_configured,
    supported_configuration,
)
from exporter.checks.results import CheckResult, ClusterSettings, Status
from exporter.checks.view import CheckInput, build_view
from exporter.facts import ClusterFacts, PMMFacts, ReplicaSetFacts, ShardingFacts

Check = Callable[[CheckInput], list[CheckResult]]

# Order is the order `check` prints them in. The names are a contract (the `check` label).
CHECKS: dict[str, Check] = {
    replica_set_member.CHECK: replica_set_member.evaluate,
    pbm_agent_running.CHECK: pbm_agent_running.evaluate,
    pbm_version_supported.CHECK: pbm_version_supported.evaluate,
    pbm_storage_reachable.CHECK: pbm_storage_reachable.evaluate,
    mongodb_user_permissions.CHECK: mongodb_user_permissions.evaluate,
    supported_configuration.CHECK: supported_configuration.evaluate,
    backup_management_enabled.CHECK: backup_management_enabled.evaluate,
    storage_location_configured.CHECK: storage_location_configured.evaluate,
    pmm_client_connected.CHECK: pmm_client_connected.evaluate,
    service_cluster_name.CHECK: service_cluster_name.evaluate,
    pbm_config_managed_by_pmm.CHECK: pbm_config_managed_by_pmm.evaluate,
}


# Checks about the cluster as a whole, judged once: on the replica set, or on a sharded cluster's config servers.
# The others are judged on every replica set (users, builds and members are per shard).
CLUSTER_SCOPED = {backup_management_enabled.CHECK, storage_location_configured.CHECK, pbm_config_managed_by_pmm.CHECK}


def names_to_resolve(cluster: ClusterFacts, settings: ClusterSettings, pmm: PMMFacts | None) -> set[str]:
    """The host names whose addresses matching members to PMM services may need; the probe resolves them."""
    return {name for facts in cluster.replica_sets
            for name in pmm_inventory.names_to_resolve(CheckInput(facts, build_view(facts), settings, pmm))}


def run_cluster_checks(cluster: ClusterFacts, settings: ClusterSettings, pmm: PMMFacts | None = None,
                       addresses: dict[str, frozenset[str]] | None = None) -> list[CheckResult]:
    """Every check on every replica set of the cluster; cluster-wide ones once, on the control replica set."""
    results: list[CheckResult] = []
    for facts in cluster.replica_sets:
        control = facts.name == cluster.control
        results += run_checks(facts, settings, pmm, addresses, cluster_scope=control,
                              sharding=cluster.sharding if control else None)
    return results


def run_checks(facts: ReplicaSetFacts, settings: ClusterSettings, pmm: PMMFacts | None = None,
               addresses: dict[str, frozenset[str]] | None = None, *, cluster_scope: bool = True,
               sharding: ShardingFacts | None = None) -> list[CheckResult]:
    """Every check on one replica set's facts (and PMM's). A check that raises gives an unknown result."""
    view = build_view(facts)
    inp = CheckInput(facts, view, settings, pmm, addresses or {}, sharding)
    results: list[CheckResult] = []
    for name, check in CHECKS.items():
        if name in CLUSTER_SCOPED and not cluster_scope:
            continue
        try:
            results.extend(check(inp))
        except Exception as exc:  # a bug or an input we did not foresee must not take the exporter down
            results.append(CheckResult(name, Status.UNKNOWN, f"internal error while checking: {exc!r}",
                                       replica_set=view.replica_set))
    return results


__all__ = ["CHECKS", "CheckInput", "CheckResult", "ClusterSettings", "Status", "names_to_resolve", "run_checks",
           "run_cluster_checks"]
