"""pmm_pitr_schedule_applied: while PMM has an enabled PITR schedule for the cluster, PITR is on in PBM's config.

A PITR schedule turns PBM's PITR on only when it runs: its job writes PBM's config with pitr.enabled true, then
takes its base backup (agent/runner/jobs/mongodb_backup_job.go, pbm_helpers.go createPBMConfig PITRConf{Enabled}).
Every restore from PMM writes PBM's config with pitr.enabled false (mongodb_restore_job.go Run:
createPBMConfig(..., false); PMM v3.9.0 and 2.x alike). PMM disables only the restored service's schedules, and
does that before it validates the restore (management/backup/restore_service.go RestoreBackup,
ScheduledTasksFilter{ServiceID}; PMM 2 backups_service.go RestoreBackup), so a PITR schedule of another member
stays enabled while nothing slices the oplog until its next run; re-enabling a schedule does not switch PITR on
either (ChangeScheduledBackup calls SwitchMongoPITR only to turn it off). A PITR schedule that has not run yet is
in the same state. pitr_running judges the slicers only while PBM's config has PITR on, so without this check
pitr would read ready.

Blocks pitr.
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_pitr_config import pitr_enabled
from exporter.model.pmm_inventory import usable_pmm
from exporter.model.pmm_schedules import names_of, our_schedules
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import PITR

CHECK = "pmm_pitr_schedule_applied"
MAY_BLOCK = frozenset({PITR})


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = usable_pmm(CHECK, inp, "scheduled_backups")
    if isinstance(pmm, list):
        return pmm
    schedules = [s for s in our_schedules(inp) if s.get("enabled") is True and s.get("mode") == "PITR"]
    if not schedules:
        return [skipped(CHECK, f"PMM has no enabled PITR schedule for cluster {inp.settings.name!r}", "", rs)]
    names = names_of(schedules)
    if inp.mongo.pbm_config.error is not None:
        return [unknown(CHECK, f"cannot read admin.pbmConfig: {inp.mongo.pbm_config.error}", "", rs)]
    if pitr_enabled(inp.mongo.pbm_config.value):
        return [passed(CHECK, f"PMM's PITR schedule {names} is enabled and PITR is on in PBM's config", "", rs)]
    return [failed(
        CHECK, f"PMM's PITR schedule {names} is enabled, but PITR is off in PBM's config (pitr.enabled), so nothing "
               f"slices the oplog: a restore from PMM writes PBM's config with PITR off and disables only the "
               f"restored service's schedules, and PMM turns PITR on again only when the PITR schedule next runs",
        f"In PMM (Backup > Scheduled backup jobs), make the PITR schedule {names} run soon: edit its start time or "
        f"cron. Its run writes PBM's config with PITR on and takes the base backup PITR needs after a restore. "
        f"Turning PITR on by hand (pbm config --set pitr.enabled=true) lasts only until PMM's next job rewrites "
        f"the config",
        "", rs, {PITR})]
