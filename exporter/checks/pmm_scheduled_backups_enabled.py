"""pmm_scheduled_backups_enabled: the cluster's scheduled backups in PMM will run: one is enabled, none is a
combination PMM refuses, and PITR goes where PMM can restore it from.

- A restore from PMM disables every scheduled backup of the service it restores to, before it starts, and leaves
  them off (PMM 3 managed/services/management/backup/restore_service.go RestoreBackup; PMM 2 backups_service.go
  RestoreBackup): after one, a cluster is silently left without backups.
- While a PITR schedule of the cluster is enabled, PMM refuses every snapshot backup (managed/services
  preconditions.go CheckMongoDBBackupPreconditions, case models.Snapshot): pmm_snapshot_backups_allowed says so for
  the backups started by hand; here it counts only beside a snapshot schedule, which then never runs.
- A PITR schedule's runs are refused while any other enabled schedule of the cluster exists, a second PITR one
  included: "A PITR backup for the cluster '%s' can be enabled only if there are no other scheduled backups for this
  cluster" (same function, case models.PITR: every enabled task of the cluster but the schedule itself).
- PMM restores to a point in time only from S3: "point in time recovery available only for S3 locations"
  (backup_service.go checkArtifactModePreconditions, ErrIncompatibleLocationType).

Blocks: a PITR schedule next to another enabled schedule blocks pitr (PMM refuses its runs, so no base backup is
taken) and the snapshot backups (PMM refuses them while the PITR schedule is enabled). No enabled schedule, and
PITR on a filesystem location, block no operation PMM would start by hand; they fail the check, and any failure
of it counts against cluster_ready (the backups PMM takes of the cluster will not run, or not usefully).
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_schedules import SCHEDULES_PAGE, cluster_schedules, label_note, location_type, names_of
from exporter.results.check_result import CheckResult, failed, passed
from exporter.results.operations import BACKUPS, NOTHING, PITR

CHECK = "pmm_scheduled_backups_enabled"
MAY_BLOCK = BACKUPS | {PITR}


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    schedules, stand_in = cluster_schedules(CHECK, inp)
    if stand_in:
        return stand_in
    enabled = [s for s in schedules if s.get("enabled")]
    pitr = [s for s in enabled if s.get("mode") == "PITR"]
    snapshots = [s for s in enabled if s.get("mode") != "PITR"]
    problems: list[tuple[str, str]] = []
    blocks: frozenset[str] = NOTHING
    if not enabled:
        problems.append((f"none of the cluster's {len(schedules)} scheduled backup"
                         f"{'s' if len(schedules) != 1 else ''} ({names_of(schedules)}) is enabled, so PMM takes no "
                         f"backup of it (a restore from PMM disables the restored service's schedules and leaves "
                         f"them off)", f"{SCHEDULES_PAGE}: enable {names_of(schedules)}"))
    if pitr and len(enabled) > 1:
        # case models.PITR: every other enabled task of the cluster, a second PITR one included, refuses its runs;
        # case models.Snapshot: the enabled PITR task refuses the snapshot schedules' runs
        blocks = blocks | BACKUPS | {PITR}
        never_run = (f", and PMM refuses every snapshot backup while a PITR schedule is enabled, so snapshot "
                     f"schedule{'s' if len(snapshots) != 1 else ''} {names_of(snapshots)} never "
                     f"run{'s' if len(snapshots) == 1 else ''}" if snapshots else "")
        problems.append((f"{len(enabled)} schedules of the cluster are enabled ({names_of(enabled)}), and PMM "
                         f"refuses every run of a PITR schedule while another one is (\"A PITR backup for the "
                         f"cluster ... can be enabled only if there are no other scheduled backups\"), so "
                         f"{names_of(pitr)} take{'s' if len(pitr) == 1 else ''} no base backup and PITR is not "
                         f"turned on{never_run}",
                         f"{SCHEDULES_PAGE}: keep one enabled schedule: the PITR one alone (it takes its own logical "
                         f"base backups), or the snapshot ones without PITR"))
    on_disk = [s for s in pitr if location_type(inp, s.get("location_id")) == "filesystem"]
    if on_disk:
        problems.append((f"PITR schedule {names_of(on_disk)} writes to a filesystem location, and PMM restores to a "
                         f"point in time only from S3", f"{SCHEDULES_PAGE}: recreate {names_of(on_disk)} on an "
                                                        f"S3-compatible location"))
    if problems:
        return [failed(CHECK, "; ".join(p for p, _ in problems) + label_note(inp), "; ".join(f for _, f in problems),
                       "", rs, blocks)]
    return [passed(CHECK, f"{len(enabled)} of {len(schedules)} scheduled backup{'s' if len(schedules) != 1 else ''} "
                          f"enabled: {names_of(enabled)}{label_note(inp)}", "", rs)]
