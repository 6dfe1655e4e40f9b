"""backup_matches_cluster: the newest usable backup of each kind still restores onto the cluster as it runs now.

PBM's rule (percona/percona-backup-mongodb v2.15.0; model/pbm_backup_match.py has it with its sources): a done
backup whose FCV differs from the cluster's featureCompatibilityVersion (or, when it recorded none, whose MongoDB
major.minor differs), or that holds a replica set the cluster no longer has, or lacks the config servers' (or the
sole replica set's), is no restore point: cmd/pbm/backup.go bcpMatchCluster marks it an error in `pbm status` and
`pbm list`, which hide it and take no PITR range from it, and the restore refuses the replica sets ("extra/unknown
replica set found in the backup", pbm/restore/logical.go setShards, physical.go prepareBackup). A physical or
incremental backup also needs the same major.minor whatever the FCV (pbm/restore/physical.go prepareBackup:
"backup's Mongo version (%s) is not compatible with Mongo %s"). The usual causes: an upgrade (new binaries, then
setFeatureCompatibilityVersion), a shard removed, a replica set turned into a sharded cluster. A shard added is
not one: PBM restores the backup's shards and leaves the new one alone.
PBM's code disagrees with itself on one case: a logical backup whose only mismatch is its FCV (or, without an FCV,
its major.minor) is refused by `pbm status` and `pbm list`, but a logical restore of it started anyway only logs
"backup FCV ... is incompatible with the running mongo FCV" and goes on (pbm/restore/logical.go checkSnapshot).
The verdict follows `pbm status`, the window PBM shows and PMM's users see, and the reason says the restore would
only warn.

Such backups leave the restorable window (model/pbm_timeline.py), so restore_point_available, pitr_timeline_continuous
and the restorable metrics follow; this check names which backup fell away and by which rule. It compares the
newest usable backup of each kind (done, full, not external, no stored error: isValidBaseSnapshot) with the cluster:
- it matches: passes;
- it does not, and no backup of that kind matches: fails, blocking that kind's restore (logical_restore, and so
  pitr_restore; physical_restore for physical and incremental backups);
- it does not, but an older one of that kind still matches: a warning (a restore goes back to that older one);
- it cannot be judged (the cluster's FCV or version unread): unknown.
This is PBM's rule; restore_version_compatible is PMM's stricter one (the exact version), and both show.
The FCV is read with `getParameter {featureCompatibilityVersion: 1}` only when PBM's catalogue is (see
probes/pbm_catalogue.py); the backups' fcv, mongodb_version and replica set names come with the catalogue.
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_backup_match import PHYSICAL_TYPES, Mismatch
from exporter.model.pbm_timeline import Backup, memo_recoverability, utc
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import LOGICAL_RESTORE, PHYSICAL_RESTORE, RESTORES

CHECK = "backup_matches_cluster"
MAY_BLOCK = RESTORES
FIX = ("Take a full backup from PMM now (Backup > All Backups > Create backup), so that a backup of the cluster as it "
       "runs now exists; keep the old one for a restore onto a cluster like the one it was taken from")
RULES = {"fcv": "FCV", "mongodb_version": "MongoDB version", "replica_sets": "replica sets",
         "physical_version": "physical restore's MongoDB version"}


def restore_of(kind: str) -> str:
    return PHYSICAL_RESTORE if kind in PHYSICAL_TYPES else LOGICAL_RESTORE


def describe(backup: Backup) -> str:
    return f"{backup.name} ({backup.type}, data to {utc(backup.last_write)})"


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    rec = memo_recoverability(inp.memo, inp.mongo, inp.sharding)
    if rec.window is None or rec.cluster is None:
        return [unknown(CHECK, f"cannot read PBM's catalogue: {rec.error}", "", rs)]
    if not rec.usable:
        return [skipped(CHECK, "no usable backup in PBM's catalogue (admin.pbmBackups) to compare with the cluster "
                               "(restore_point_available judges that)", "", rs)]
    why = {b.name: m for b, m in rec.unmatched}
    kinds: dict[str, list[Backup]] = {}
    for backup in rec.usable:  # newest first
        kinds.setdefault(restore_of(backup.type), []).append(backup)
    fails: list[str] = []
    warnings: list[str] = []
    unknowns: list[str] = []
    blocks: set[str] = set()
    unsure: set[str] = set()
    fine: list[str] = []
    for restore, backups in sorted(kinds.items()):
        newest = backups[0]
        found: Mismatch | None = why.get(newest.name)
        if found is None:
            fine.append(f"{describe(newest)}")
            continue
        if not found.known:
            unknowns.append(f"whether {describe(newest)} restores here: {found.text}")
            unsure.add(restore)
            continue
        still = next((b for b in backups if b.name not in why), None)
        text = f"{describe(newest)} no longer restores here, by its {RULES.get(found.rule, found.rule)}: {found.text}"
        if restore == LOGICAL_RESTORE and found.rule in ("fcv", "mongodb_version"):
            text += (" (pbm status and pbm list refuse it; a logical restore started anyway only logs a warning and "
                     "goes on, pbm/restore/logical.go checkSnapshot)")
        if still is None:
            fails.append(f"{text}; no {newest.type} backup matches the cluster, so {restore} has nothing to restore")
            blocks.add(restore)
        else:
            warnings.append(f"{text}; a {restore.replace('_', ' ')} goes back to {describe(still)} at the newest")
    cluster = rec.cluster.describe()
    if fails or warnings:
        reason = "; ".join(fails + warnings) + f" (the cluster runs {cluster})"
        if unknowns:
            reason += f" (also: {'; '.join(unknowns)})"
        return [failed(CHECK, reason, FIX, "", rs, blocks)]
    if unknowns:
        return [unknown(CHECK, "; ".join(unknowns), "", rs, unsure)]
    return [passed(CHECK, f"the newest usable backup{'s' if len(fine) > 1 else ''} {', '.join(fine)} "
                          f"match{'' if len(fine) > 1 else 'es'} the cluster ({cluster})", "", rs)]
