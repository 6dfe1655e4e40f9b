"""pmm_scheduled_backups_enabled: the cluster's scheduled backups in PMM will run: one is enabled, none is a
combination PMM refuses, and PITR goes where PMM can restore it from.

- A restore from PMM disables every scheduled backup of the service it restores to, before it starts, and leaves
  them off (PMM 3 managed/services/management/backup/restore_service.go RestoreBackup; PMM 2 backups_service.go
  RestoreBackup): after one, a cluster is silently left without backups.
- While a PITR schedule of the cluster is enabled, PMM refuses every snapshot: "A snapshot backup for cluster '%s'
  can be performed only if there is no enabled PITR backup for this cluster" (managed/services
  CheckMongoDBBackupPreconditions, enabled tasks of the cluster, or of the service when it has no cluster name).
- PMM restores to a point in time only from S3: "point in time recovery available only for S3 locations"
  (backup_service.go checkArtifactModePreconditions, ErrIncompatibleLocationType).

Blocks: the PITR-and-snapshot combination blocks snapshot backups, as PMM refuses them. No enabled schedule, and
PITR on a filesystem location, block no operation PMM would start by hand; they fail the check, and any failure
of it counts against cluster_ready (the backups PMM takes of the cluster will not run, or not usefully).
"""

from __future__ import annotations

from typing import Any

from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import usable_pmm
from exporter.model.pmm_schedules import location_type, name_of, our_schedules
from exporter.results.check_result import CheckResult, failed, passed, skipped
from exporter.results.operations import BACKUPS, NOTHING

CHECK = "pmm_scheduled_backups_enabled"
MAY_BLOCK = BACKUPS
SCHEDULES_PAGE = "PMM: Backup > Scheduled backup jobs"


def _names(schedules: list[dict[str, Any]]) -> str:
    return ", ".join(repr(name_of(s)) for s in schedules)


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = usable_pmm(CHECK, inp, "services", "scheduled_backups")
    if isinstance(pmm, list):
        return pmm
    schedules = our_schedules(inp)
    if not schedules:
        return [skipped(CHECK, f"PMM has no scheduled backup of cluster {inp.settings.name!r}", "", rs)]
    enabled = [s for s in schedules if s.get("enabled")]
    pitr = [s for s in enabled if s.get("mode") == "PITR"]
    snapshots = [s for s in enabled if s.get("mode") != "PITR"]
    problems: list[tuple[str, str]] = []
    blocks: frozenset[str] = NOTHING
    if not enabled:
        problems.append((f"none of the cluster's {len(schedules)} scheduled backup"
                         f"{'s' if len(schedules) != 1 else ''} ({_names(schedules)}) is enabled, so PMM takes no "
                         f"backup of it (a restore from PMM disables the restored service's schedules and leaves "
                         f"them off)", f"{SCHEDULES_PAGE}: enable {_names(schedules)}"))
    if pitr and snapshots:
        blocks = BACKUPS
        problems.append((f"PITR schedule {_names(pitr)} is enabled together with snapshot schedule"
                         f"{'s' if len(snapshots) != 1 else ''} {_names(snapshots)}: PMM refuses every snapshot "
                         f"while a PITR schedule of the cluster is enabled",
                         f"{SCHEDULES_PAGE}: disable {_names(snapshots)} (the PITR schedule takes its own base "
                         f"backups), or disable {_names(pitr)}"))
    on_disk = [s for s in pitr if location_type(inp, s.get("location_id")) == "filesystem"]
    if on_disk:
        problems.append((f"PITR schedule {_names(on_disk)} writes to a filesystem location, and PMM restores to a "
                         f"point in time only from S3", f"{SCHEDULES_PAGE}: recreate {_names(on_disk)} on an "
                                                        f"S3-compatible location"))
    if problems:
        return [failed(CHECK, "; ".join(p for p, _ in problems), "; ".join(f for _, f in problems), "", rs, blocks)]
    return [passed(CHECK, f"{len(enabled)} of {len(schedules)} scheduled backup{'s' if len(schedules) != 1 else ''} "
                          f"enabled: {_names(enabled)}", "", rs)]
