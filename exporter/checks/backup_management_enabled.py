"""backup_management_enabled: PMM's settings have Backup Management on (PMM omits the field when it is off).

With it off, pmm-managed's interceptor refuses every call to the backup API with FailedPrecondition "Service %s is
disabled." (managed/utils/interceptors/service.go UnaryServiceEnabledInterceptor; BackupService, RestoreService
and LocationsService Enabled() return settings.IsBackupManagementEnabled(); PMM v3.9.0 and 2.x alike): on-demand
backups, restores and every schedule change. The schedules already enabled keep running: the scheduler is started
as a leader service without reading the setting (cmd/pmm-managed/main.go `ha.NewContextService("scheduler", ...)`)
and a task calls PerformBackup directly, past the interceptor (managed/services/scheduler/task.go
mongoDBBackupTask.Run).

Blocks logical_backup, physical_backup, logical_restore and physical_restore (started by hand). Not pitr: PITR is
only a schedule's, and an enabled PITR schedule keeps running; the schedules cannot be read while the API is off,
so pmm_scheduled_backups_enabled leaves it unknown.
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import pmm_unavailable, pmm_version
from exporter.results.check_result import CheckResult, failed, passed
from exporter.results.operations import BACKUPS, RESTORES

CHECK = "backup_management_enabled"
MAY_BLOCK = BACKUPS | RESTORES


def enable_fix(pmm3: bool) -> str:
    if pmm3:
        return ("In PMM: PMM Configuration > Settings > Advanced Settings > Backup Management: on, then Apply changes "
                "(API: PUT /v1/server/settings {\"enable_backup_management\": true}); if PMM Server runs with "
                "PMM_ENABLE_BACKUP_MANAGEMENT=false, remove that variable and recreate the container")
    return ("In PMM: Configuration > Settings > Advanced Settings > Backup Management: on, then Apply changes "
            "(API: POST /v1/Settings/Change {\"enable_backup_management\": true}); if PMM Server runs with "
            "DISABLE_BACKUP_MANAGEMENT=1, remove that variable and recreate the container")


def evaluate(inp: CheckInput) -> list[CheckResult]:
    unavailable = pmm_unavailable(CHECK, inp, *([inp.pmm.settings] if inp.pmm else []))
    if unavailable is not None:
        return unavailable
    assert inp.pmm is not None and inp.pmm.settings.value is not None
    rs = inp.view.replica_set
    if inp.pmm.settings.value.get("backup_management_enabled") is True:
        return [passed(CHECK, f"Backup Management is enabled in PMM {inp.pmm.version}", "", rs)]
    version = pmm_version(inp)
    return [failed(CHECK, f"Backup Management is disabled in PMM {inp.pmm.version}: PMM refuses on-demand backups, "
                          f"restores and schedule changes (\"Service ... is disabled.\"); the schedules already "
                          f"enabled keep running, as PMM's scheduler does not read the setting",
                   enable_fix(version is not None and version >= (3, 0, 0)), "", rs, MAY_BLOCK)]
