"""The operations PMM runs through PBM: the values of the `operation` label, and the sets checks block.

A failing result names the operations it blocks (CheckResult.blocks); one that blocks none is a warning: the
prerequisite as PMM's docs state it does not hold, but PBM and PMM would still run everything. An unknown result
names the operations it would block if it failed. Which check blocks what is decided in each check's file, next
to the rule and its upstream source; check_result.readiness adds them up per operation.

Shared with node-check, which runs on the MongoDB hosts' own Pythons: Python 3.6 and the standard library only.
"""

from functools import lru_cache
from typing import FrozenSet, Iterable, Tuple

LOGICAL_BACKUP = "logical_backup"
PHYSICAL_BACKUP = "physical_backup"
PITR = "pitr"
LOGICAL_RESTORE = "logical_restore"
PHYSICAL_RESTORE = "physical_restore"
# A restore to a point in time: PBM restores a base snapshot, then replays the PITR chunks up to the point
# (pbm/restore/logical.go PITR: the snapshot restore, then applyOplog), and PMM offers it only from a logical
# artifact (managed/services/backup/backup_service.go checkArtifactModePreconditions: "PITR is only supported for
# logical backups"). So whatever blocks a logical restore blocks it too (see _ordered).
PITR_RESTORE = "pitr_restore"
OPERATIONS = (LOGICAL_BACKUP, PHYSICAL_BACKUP, PITR, LOGICAL_RESTORE, PHYSICAL_RESTORE,
              PITR_RESTORE)  # a contract: label values

BACKUPS = frozenset({LOGICAL_BACKUP, PHYSICAL_BACKUP})
RESTORES = frozenset({LOGICAL_RESTORE, PHYSICAL_RESTORE, PITR_RESTORE})
PHYSICAL = frozenset({PHYSICAL_BACKUP, PHYSICAL_RESTORE})
EVERYTHING = frozenset(OPERATIONS)
NOTHING: FrozenSet[str] = frozenset()


def ordered(operations: Iterable[str]) -> Tuple[str, ...]:
    """Operations in the contract's order, for labels and for people; a name that is none is a bug. The same set
    gives the same tuple object, so that a fleet's results share a few (pickled once between the processes).
    What blocks a logical restore blocks a point-in-time restore too, which begins with one."""
    return _ordered(frozenset(operations))


@lru_cache(maxsize=None)
def _ordered(wanted: FrozenSet[str]) -> Tuple[str, ...]:
    if wanted - EVERYTHING:
        raise ValueError(f"not operations: {sorted(wanted - EVERYTHING)}")
    if LOGICAL_RESTORE in wanted:
        wanted = wanted | {PITR_RESTORE}
    return tuple(op for op in OPERATIONS if op in wanted)


def backup_operation(backup_mode: str) -> str:
    """The backup PMM takes of a cluster of this backup_mode."""
    return PHYSICAL_BACKUP if backup_mode == "physical" else LOGICAL_BACKUP
