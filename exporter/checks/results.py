"""The outcome of a check: what the exporter exports, the `check` command prints and the status page shows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from exporter.checks.operations import ordered


class Status(Enum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"  # could not be evaluated: never exported as 0 or 1
    SKIPPED = "skipped"  # does not apply (e.g. no PBM storage configured yet): shown, never exported


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: str
    status: Status
    reason: str
    fix: str = ""
    node: str = ""  # host:port as in the replica-set config; "" for cluster-wide checks
    replica_set: str = ""
    # FAIL: the operations (checks/operations.py) this failure blocks; none makes it a warning.
    # UNKNOWN: the operations it would block if it failed, which are unknown while it is.
    blocks: tuple[str, ...] = ()

    @property
    def warning(self) -> bool:
        """A failing prerequisite that blocks no operation: PBM and PMM would still run everything."""
        return self.status is Status.FAIL and not self.blocks

    @property
    def exported(self) -> bool:
        return self.status in (Status.PASS, Status.FAIL)


@dataclass(frozen=True)
class ClusterSettings:
    """What a check needs to know about the cluster's configuration, besides what it observed."""

    backup_mode: str = "logical"
    name: str = ""
    pmm_services: tuple[tuple[str, str], ...] = ()  # member host:port -> PMM service name, from the config
    restore_from_pmm: bool = False  # sharded clusters: restores are expected from PMM, which cannot do them


def passed(check: str, reason: str, node: str = "", replica_set: str = "") -> CheckResult:
    return CheckResult(check, Status.PASS, reason, "", node, replica_set)


def failed(check: str, reason: str, fix: str, node: str = "", replica_set: str = "",
           blocks: Iterable[str] = ()) -> CheckResult:
    return CheckResult(check, Status.FAIL, reason, fix, node, replica_set, ordered(blocks))


def unknown(check: str, reason: str, node: str = "", replica_set: str = "", blocks: Iterable[str] = ()) -> CheckResult:
    return CheckResult(check, Status.UNKNOWN, reason, "", node, replica_set, ordered(blocks))


def skipped(check: str, reason: str, node: str = "", replica_set: str = "") -> CheckResult:
    return CheckResult(check, Status.SKIPPED, reason, "", node, replica_set)
