"""pmm_retention_effective: what each enabled scheduled backup's retention really does, by its location's type.

A schedule's `retention` is how many of its artifacts PMM keeps, 0 for all (api/backup/v1/backup.proto and PMM 2's
api/managementpb/backup/backups.proto ScheduledBackup.retention, "How many artifacts keep. 0 - unlimited"). After
each scheduled backup pmm-managed removes the older ones (managed/services/backup/retention_service.go, called from
managed/services/agents/jobs.go for scheduled artifacts with retention > 0). It deletes files only where it has a
storage client: GetStorageForLocation returns minio for S3 and nil for anything else (managed/services/backup
storage.go), and the removal service then only deletes its records (removal_service.go: `if storage == nil ...
return nil`). PMM v3.9.0 and 2.x alike.

- On a filesystem location, PMM forgets the old artifacts but their PBM backups and PITR chunks stay on disk: the
  disk fills until backups fail, and `pbm list` still shows them.
- On S3, PMM Server itself deletes the files (through minio): it needs to reach the bucket and delete in it; the
  reason says so.

A warning: it blocks nothing (every backup runs until the disk is full), and it does not lower cluster_ready.
"""

from __future__ import annotations

from typing import Any

from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import usable_pmm
from exporter.model.pmm_schedules import cluster_label, label_note, location_type, name_of, our_schedules
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import NOTHING

CHECK = "pmm_retention_effective"
MAY_BLOCK = NOTHING


def retention(schedule: dict[str, Any]) -> int | None:
    """How many artifacts PMM keeps, 0 for all (the probe drops a 0, as PMM 2 omits it); None when malformed."""
    value = schedule.get("retention", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _location(schedule: dict[str, Any]) -> str:
    return repr(str(schedule.get("location_name") or schedule.get("location_id") or "?"))


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = usable_pmm(CHECK, inp, "services", "scheduled_backups", "locations")
    if isinstance(pmm, list):
        return pmm
    enabled = [s for s in our_schedules(inp) if s.get("enabled")]
    if not enabled:
        return [skipped(CHECK, f"PMM has no enabled scheduled backup of cluster {cluster_label(inp)!r}"
                               f"{label_note(inp)}", "", rs)]
    on_disk: list[str] = []
    notes: list[str] = []
    odd: list[str] = []
    for schedule in enabled:
        keep, where = retention(schedule), location_type(inp, schedule.get("location_id"))
        name = repr(name_of(schedule))
        if keep is None:
            odd.append(f"{name} has a retention PMM's API does not define ({schedule.get('retention')!r})")
        elif keep == 0:
            notes.append(f"{name} keeps every artifact (retention 0)")
        elif where == "filesystem":
            on_disk.append(f"{name} keeps {keep} artifact{'s' if keep != 1 else ''} on filesystem location "
                           f"{_location(schedule)}")
        elif where == "s3":
            notes.append(f"{name} keeps {keep}: PMM Server deletes older ones from S3 location "
                         f"{_location(schedule)} itself, so it needs to reach the bucket and delete in it")
        else:
            odd.append(f"{name} writes to location {_location(schedule)}, which PMM does not list")
    if on_disk:
        return [failed(CHECK, f"{'; '.join(on_disk)}: PMM removes only its records of the older artifacts there, "
                              f"not their files (it deletes files on S3 only), so the PBM backups and PITR chunks "
                              f"stay on disk until it fills and backups fail" +
                       (f" ({'; '.join(notes + odd)})" if notes or odd else "") + label_note(inp),
                       # pbm's delete-backup and delete-pitr take --older-than since 2.0.1, cleanup exists since
                       # 2.1.0 (cli/cli.go)
                       "Delete old backups on the location yourself, on a schedule: on a MongoDB host, pbm "
                       "delete-backup --older-than=<time> and pbm delete-pitr --older-than=<time> (PBM 2.1+: pbm "
                       "cleanup --older-than=<time>); or move the schedule to an S3-compatible location (PMM: "
                       "Backup > Scheduled backup jobs)", "", rs, NOTHING)]
    if odd:
        return [unknown(CHECK, "; ".join(odd + notes), "", rs)]
    return [passed(CHECK, "; ".join(notes), "", rs)]
