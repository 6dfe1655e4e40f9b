"""pmm_snapshot_backups_allowed: PMM starts a snapshot backup of the cluster (on demand or scheduled, logical or
physical): no PITR schedule of the cluster is enabled.

- While a PITR schedule of the cluster is enabled, PMM refuses every snapshot backup: "A snapshot backup for cluster
  '%s' can be performed only if there is no enabled PITR backup for this cluster" (managed/services/preconditions.go
  CheckMongoDBBackupPreconditions, case models.Snapshot: FindScheduledTasks with Disabled false, the cluster's name
  and Mode PITR; PMM v3.9.0 and 2.x alike). PerformBackup calls it for every MongoDB backup, and StartBackup (the
  on-demand one) always passes Snapshot.

Blocks logical_backup and physical_backup. It does not lower cluster_ready while the PITR schedule stands alone
(pmm_scheduled_backups_enabled passes): its runs are not refused (case models.PITR refuses them only beside another
enabled schedule) and take their own logical base backups (PMM agent/runner/jobs/mongodb_backup_job.go:
`pbm backup --type=logical` with pitr.enabled), so the backups PMM takes of the cluster run
(readiness/cluster_readiness.py).
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_schedules import SCHEDULES_PAGE, cluster_schedules, label_note, names_of
from exporter.results.check_result import CheckResult, failed, passed
from exporter.results.operations import BACKUPS

CHECK = "pmm_snapshot_backups_allowed"
MAY_BLOCK = BACKUPS


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    schedules, stand_in = cluster_schedules(CHECK, inp)
    if stand_in:
        return stand_in
    # CheckMongoDBBackupPreconditions, case models.Snapshot: any enabled PITR task of the cluster refuses it
    pitr = [s for s in schedules if s.get("enabled") and s.get("mode") == "PITR"]
    if pitr:
        names = names_of(pitr)
        alone = len([s for s in schedules if s.get("enabled")]) == len(pitr) == 1
        return [failed(CHECK, f"PITR schedule {names} is enabled: PMM refuses every snapshot backup of the cluster "
                              f"while it is, on demand or scheduled, logical or physical (\"A snapshot backup for "
                              f"cluster ... can be performed only if there is no enabled PITR backup\")"
                              + (" (its own runs take logical base backups)" if alone else "") + label_note(inp),
                       f"{SCHEDULES_PAGE}: disable {names} before an on-demand or physical backup, and enable it "
                       f"again after (its runs take their own logical base backups)", "", rs, BACKUPS)]
    return [passed(CHECK, f"no PITR schedule of the cluster is enabled, so PMM starts snapshot backups of it"
                          f"{label_note(inp)}", "", rs)]
