"""restore_point_available: the cluster has at least one point a restore can reach.

A restore needs a backup PBM can restore from: in PBM's catalogue (admin.pbmBackups) a backup whose status is
"done", not external, not selective (no `nss`) and without error: the backups cmd/pbm/status.go
`isValidBaseSnapshot` accepts (PBM v2.15.0; the same since v2.0.1), which are also the only starts of a
point-in-time restore (`getPITRranges`), and which still match the cluster as it runs now (its FCV, MongoDB version
and replica sets: cmd/pbm/backup.go bcpMatchCluster, see backup_matches_cluster). The restorable points are then
those backups' last_write_ts and the PITR ranges that start from them (model/pbm_timeline.py). A backup that ended
in error, or one still running, is no restore point: `pbm restore` refuses it ("backup '<name>' didn't finish
successfully", cmd/pbm/restore.go checkBackup: `bcp.Status != defs.StatusDone`).

- No usable backup while the catalogue holds backups: fails, blocking the restores.
- An empty catalogue (no backup was ever taken): skipped, as before PMM's first backup nothing could be restored
  and nothing has gone wrong yet; pmm_scheduled_backups_enabled says whether backups are scheduled.
- The catalogue cannot be read, or no backup can be restored but some documents could not be parsed: unknown.
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_timeline import memo_recoverability, utc
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import RESTORES

CHECK = "restore_point_available"
MAY_BLOCK = RESTORES
FIX = ("Take a full backup from PMM now (Backup > All Backups > Create backup, or run the cluster's scheduled "
       "backup), then see why the earlier ones failed: pbm list and pbm logs -e backup on a node, and the backup's "
       "error in PMM")


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    rec = memo_recoverability(inp.memo, inp.mongo, inp.sharding)
    if rec.window is None:
        return [unknown(CHECK, f"cannot tell what a restore can reach: {rec.error}", "", rs)]
    docs = inp.mongo.catalogue.value or []
    if not docs:
        # a physical restore empties PBM's collections but pbmConfig (pbm/restore/physical.go
        # cleanUpPBMCollections, v2.15.0) until a resync reads the storage's backups back
        return [skipped(CHECK, "no backup in PBM's catalogue (admin.pbmBackups) yet: nothing to restore until the "
                               "first backup (after a physical restore PBM's catalogue stays empty until a resync: "
                               "pbm config --force-resync)", "", rs)]
    window = rec.window
    newest, oldest = window.newest, window.oldest
    if (newest is None or oldest is None) and window.malformed:
        return [unknown(CHECK, f"{window.malformed} record(s) of PBM's catalogue (admin.pbmBackups, "
                               f"admin.pbmPITRChunks) could not be read (a field "
                               f"missing or of the wrong type), and none of the others can be restored", "", rs)]
    unmatched = [b.name for b, why in rec.unmatched if why.known]
    if (newest is None or oldest is None) and unmatched:
        return [failed(CHECK, f"no backup in PBM's catalogue can be restored: the {len(unmatched)} that ended done "
                              f"as full backups ({', '.join(unmatched[:5])}{', ...' if len(unmatched) > 5 else ''}) "
                              f"no longer match the cluster (its FCV, MongoDB version or replica sets changed: "
                              f"backup_matches_cluster says which rule)", FIX, "", rs, blocks=RESTORES)]
    if newest is None or oldest is None:
        ended = sorted({str(d.get("status")) for d in docs if isinstance(d, dict)})
        return [failed(CHECK, f"no backup in PBM's catalogue can be restored: none of its {len(docs)} backups ended "
                              f"done as a full, non-external backup without error (their statuses: "
                              f"{', '.join(ended)})", FIX, "", rs, blocks=RESTORES)]
    ranges = len(window.restorable)
    extra = f" and {ranges} point-in-time range{'s' if ranges != 1 else ''}" if ranges else ""
    rpo = f" (RPO {rec.rpo} s)" if rec.rpo is not None else ""
    return [passed(CHECK, f"restorable from {utc(oldest)} to {utc(newest)}{rpo}: {len(window.points)} usable "
                          f"backup{'s' if len(window.points) != 1 else ''}{extra}", "", rs)]
