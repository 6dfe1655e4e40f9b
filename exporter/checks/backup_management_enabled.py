"""backup_management_enabled: PMM's settings have Backup Management on (PMM omits the field when it is off).

Blocks everything: with it off, pmm-managed's interceptor refuses every backup API call, backups, restores and
schedules alike, with FailedPrecondition (shared/reference/real-behaviour.md section 2).
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import pmm_unavailable, pmm_version
from exporter.results.check_result import CheckResult, failed, passed
from exporter.results.operations import EVERYTHING

CHECK = "backup_management_enabled"
MAY_BLOCK = EVERYTHING


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
    return [failed(CHECK, f"Backup Management is disabled in PMM {inp.pmm.version}: PMM offers no backups",
                   enable_fix(version is not None and version >= (3, 0, 0)), "", rs, EVERYTHING)]
