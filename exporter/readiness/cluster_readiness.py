"""A cluster's readiness: whether PMM's backups of it will run, from its readiness per operation
(check_result.readiness) and its scheduled backups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from exporter.results.check_result import CheckResult, Status, blocks_in_words, readiness
from exporter.results.operations import PITR, backup_operation

# Its failures count against cluster_ready whatever they block: the scheduled backups will not run (or not usefully)
SCHEDULES_CHECK = "pmm_scheduled_backups_enabled"
# PMM refuses snapshot backups while a PITR schedule is enabled (checks/pmm_snapshot_backups_allowed.py); when that
# schedule stands alone its runs take the cluster's backups, so the refusal does not count against cluster_ready
SNAPSHOTS_CHECK = "pmm_snapshot_backups_allowed"


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


def backups_ready(results: Sequence[CheckResult], operations: dict[str, bool | None], backup_mode: str,
                  pitr_enabled: bool, unjudged: Iterable[str] = ()) -> bool | None:
    """cluster_ready from a cluster's results and their readiness per operation (`operations`, computed from
    `results` with `unjudged`). When PMM refuses the snapshot backups only because a PITR schedule is enabled and
    the scheduled backups will run (the PITR schedule stands alone: CheckMongoDBBackupPreconditions, case PITR,
    refuses its runs only beside another enabled schedule), the backups are the PITR schedule's, with their own
    logical base backups: the refusal is left out and every other blocker still counts. Readiness is recomputed
    only then."""
    schedules = schedules_ready(results)
    if schedules is True and any(r.check == SNAPSHOTS_CHECK and r.status is Status.FAIL for r in results):
        operations = readiness([r for r in results if r.check != SNAPSHOTS_CHECK], unjudged)
    return cluster_ready(operations, backup_mode, pitr_enabled, schedules)


def describe_blocks(result: CheckResult) -> str:
    """What a failing result blocks, in words: "blocks physical_restore", or "warning: blocks nothing"."""
    if result.check == SCHEDULES_CHECK and not result.blocks:
        return "blocks the scheduled backups: no operation, but cluster_ready"
    return blocks_in_words(result)
