"""The outcome of a check, the exporter's and node-check's alike: what is exported, what `check` and node-check
print, what the status page shows, and readiness per operation added up from it.

Shared with node-check, which runs on the MongoDB hosts' own Pythons: Python 3.6 and the standard library only
(a NamedTuple, not a dataclass; typing's generics, not the builtins').
"""

from enum import Enum
from typing import Dict, Iterable, NamedTuple, Optional, Set, Tuple

from exporter.results.operations import LOGICAL_RESTORE, OPERATIONS, PITR_RESTORE, ordered


class Status(Enum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"  # could not be evaluated: never exported as 0 or 1
    SKIPPED = "skipped"  # does not apply (e.g. no PBM storage configured yet): shown, never exported


class CheckResult(NamedTuple):
    check: str
    status: Status
    reason: str
    fix: str = ""
    node: str = ""  # host:port as in the replica-set config; "" for cluster-wide checks
    replica_set: str = ""
    # FAIL: the operations (results/operations.py) this failure blocks; none makes it a warning.
    # UNKNOWN: the operations it would block if it failed, which are unknown while it is.
    # PASS: the operations known impossible here (ruled_out): nothing to fix, but they cannot run.
    blocks: Tuple[str, ...] = ()

    @property
    def warning(self) -> bool:
        """A failing prerequisite that blocks no operation: PBM and PMM would still run everything."""
        return self.status is Status.FAIL and not self.blocks

    @property
    def rules_out(self) -> bool:
        """A passing result that says some operations cannot run here at all (ruled_out): they are not ready,
        but no prerequisite fails, so it lowers operation_ready without pmm_backup_prereq_ok or its alert."""
        return self.status is Status.PASS and bool(self.blocks)

    @property
    def exported(self) -> bool:
        return self.status in (Status.PASS, Status.FAIL)


def passed(check: str, reason: str, node: str = "", replica_set: str = "") -> CheckResult:
    return CheckResult(check, Status.PASS, reason, "", node, replica_set)


def ruled_out(check: str, reason: str, operations: Iterable[str], node: str = "",
              replica_set: str = "") -> CheckResult:
    """The check passes (nothing to fix for what the cluster uses), and `operations` are known impossible here, such
    as physical backups on a server without Percona Server's $backupCursor: readiness counts them blocked."""
    return CheckResult(check, Status.PASS, reason, "", node, replica_set, ordered(operations))


def failed(check: str, reason: str, fix: str, node: str = "", replica_set: str = "",
           blocks: Iterable[str] = ()) -> CheckResult:
    return CheckResult(check, Status.FAIL, reason, fix, node, replica_set, ordered(blocks))


def unknown(check: str, reason: str, node: str = "", replica_set: str = "", blocks: Iterable[str] = ()) -> CheckResult:
    return CheckResult(check, Status.UNKNOWN, reason, "", node, replica_set, ordered(blocks))


def skipped(check: str, reason: str, node: str = "", replica_set: str = "") -> CheckResult:
    return CheckResult(check, Status.SKIPPED, reason, "", node, replica_set)


def readiness(results: Iterable[CheckResult], unjudged: Iterable[str] = ()) -> Dict[str, Optional[bool]]:
    """{operation: True (nothing blocks it), False (a failing result does, or a passing one rules it out), None
    (a result that could block it is unknown, or it is not judged here, and nothing blocks it)}."""
    blocked: Set[str] = set()
    uncertain = set(unjudged)
    for result in results:
        if result.status is Status.FAIL or result.rules_out:
            blocked.update(result.blocks)
        elif result.status is Status.UNKNOWN:
            uncertain.update(result.blocks)
    for found in (blocked, uncertain):  # a point-in-time restore begins with a logical one (results/operations.py)
        if LOGICAL_RESTORE in found:
            found.add(PITR_RESTORE)
    return {op: False if op in blocked else None if op in uncertain else True for op in OPERATIONS}


def blocks_in_words(result: CheckResult) -> str:
    """What a failing result blocks: "blocks physical_restore", or "warning: blocks nothing"; what a passing one
    rules out: "rules out physical_backup (impossible here, nothing to fix)"."""
    if result.rules_out:
        return "rules out " + ", ".join(result.blocks) + " (impossible here, nothing to fix)"
    return "blocks " + ", ".join(result.blocks) if result.blocks else "warning: blocks nothing"
