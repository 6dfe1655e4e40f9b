"""Readiness per operation: whether PMM would run each operation now, from a cluster's check results."""

from __future__ import annotations

from collections.abc import Iterable

from exporter.checks.operations import OPERATIONS, PITR, backup_operation
from exporter.checks.results import CheckResult, Status


def readiness(results: Iterable[CheckResult], unjudged: Iterable[str] = ()) -> dict[str, bool | None]:
    """{operation: True (nothing blocks it), False (a failing result does), None (a result that could block it
    is unknown, or the exporter does not judge it for this cluster, and nothing blocks it)}."""
    blocked: set[str] = set()
    uncertain = set(unjudged)
    for result in results:
        if result.status is Status.FAIL:
            blocked.update(result.blocks)
        elif result.status is Status.UNKNOWN:
            uncertain.update(result.blocks)
    return {op: False if op in blocked else None if op in uncertain else True for op in OPERATIONS}


# Its failures count against cluster_ready whatever they block: the scheduled backups will not run (or not usefully)
SCHEDULES_CHECK = "pmm_scheduled_backups_enabled"


def schedules_ready(results: Iterable[CheckResult]) -> bool | None:
    """Whether the cluster's scheduled backups in PMM will run: False when the schedules check fails, None when it
    is unknown, True otherwise (it passes, is skipped without schedules, or PMM is not checked)."""
    states = {r.status for r in results if r.check == SCHEDULES_CHECK}
    return False if Status.FAIL in states else None if Status.UNKNOWN in states else True


def cluster_ready(operations: dict[str, bool | None], backup_mode: str, pitr_enabled: bool,
                  schedules: bool | None = True) -> bool | None:
    """Whether the backups PMM takes of the cluster will run: its backup_mode's backup, PITR when PBM's config
    has it on, and its scheduled backups in PMM. False when one is blocked; None when one is unknown."""
    wanted = [operations[backup_operation(backup_mode)], schedules] + ([operations[PITR]] if pitr_enabled else [])
    if False in wanted:
        return False
    return None if None in wanted else True


def describe_blocks(result: CheckResult) -> str:
    """What a failing result blocks, in words: "blocks physical_restore", or "warning: blocks nothing"."""
    if result.blocks:
        return f"blocks {', '.join(result.blocks)}"
    if result.check == SCHEDULES_CHECK:
        return "blocks the scheduled backups: no operation, but cluster_ready"
    return "warning: blocks nothing"
