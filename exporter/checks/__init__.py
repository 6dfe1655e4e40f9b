"""The MongoDB-side backup prerequisites: each check a pure function from observed facts to results."""

from __future__ import annotations

from collections.abc import Callable

from exporter.checks import (
    mongodb_user_permissions,
    pbm_agent_running,
    pbm_storage_reachable,
    pbm_version_supported,
    replica_set_member,
    supported_configuration,
)
from exporter.checks.results import CheckResult, ClusterSettings, Status
from exporter.checks.view import ClusterView, build_view
from exporter.facts import ReplicaSetFacts

Check = Callable[[ReplicaSetFacts, ClusterView, ClusterSettings], list[CheckResult]]

# Order is the order `check` prints them in. The names are a contract (the `check` label).
MONGODB_CHECKS: dict[str, Check] = {
    replica_set_member.CHECK: replica_set_member.evaluate,
    pbm_agent_running.CHECK: pbm_agent_running.evaluate,
    pbm_version_supported.CHECK: pbm_version_supported.evaluate,
    pbm_storage_reachable.CHECK: pbm_storage_reachable.evaluate,
    mongodb_user_permissions.CHECK: mongodb_user_permissions.evaluate,
    supported_configuration.CHECK: supported_configuration.evaluate,
}


def run_mongodb_checks(facts: ReplicaSetFacts, settings: ClusterSettings) -> list[CheckResult]:
    """Every MongoDB check on one replica set's facts. A check that raises gives an unknown result, not a crash."""
    view = build_view(facts)
    results: list[CheckResult] = []
    for name, check in MONGODB_CHECKS.items():
        try:
            results.extend(check(facts, view, settings))
        except Exception as exc:  # a bug or an input we did not foresee must not take the exporter down
            results.append(CheckResult(name, Status.UNKNOWN, f"internal error while checking: {exc!r}",
                                       replica_set=view.replica_set))
    return results


__all__ = ["MONGODB_CHECKS", "CheckResult", "ClusterSettings", "Status", "run_mongodb_checks"]
