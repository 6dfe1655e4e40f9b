"""The outcome of a check: what the exporter exports, the `check` command prints and the status page shows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


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


def failed(check: str, reason: str, fix: str, node: str = "", replica_set: str = "") -> CheckResult:
    return CheckResult(check, Status.FAIL, reason, fix, node, replica_set)


def unknown(check: str, reason: str, node: str = "", replica_set: str = "") -> CheckResult:
    return CheckResult(check, Status.UNKNOWN, reason, "", node, replica_set)


def skipped(check: str, reason: str, node: str = "", replica_set: str = "") -> CheckResult:
    return CheckResult(check, Status.SKIPPED, reason, "", node, replica_set)
