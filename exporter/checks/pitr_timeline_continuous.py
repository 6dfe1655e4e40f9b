"""pitr_timeline_continuous: with PITR on, every point since the newest base snapshot can be restored.

Computed as `pbm status` computes its PITR ranges (PBM v2.15.0, model/pbm_timeline.py): each replica set's
timelines from its chunks (pbm/oplog/chunk.go gettimelines), their intersection over every shard and the config
servers (MergeTimelines), and the ranges a valid base snapshot starts (cmd/pbm/status.go getPITRranges,
isValidBaseSnapshot; cmd/pbm/list.go splitByBaseSnapshot). A restore to a point in a hole, or in a range no base
snapshot starts, fails in PBM: "integrity vilolated, expect chunk with start_ts ..." and "no chunk with the
target time" (pbm/restore/restore.go chunks), "no base snapshot found" (cmd/pbm/restore.go); once the slicer lost
oplog it needs a new full backup to start again ("oplog has insufficient range ... Run `pbm backup` to create a
valid starting point for the PITR", pbm/oplog/backup.go IsSufficient).

- No range has a base snapshot: fails, blocking pitr_restore (no point in time can be restored).
- A hole after the newest base snapshot, or a newest range without base: fails as a warning (the points before
  still restore), naming each hole (replica set, from, to): the points inside and after it need a new full backup.
- PITR off in PBM's config: skipped. The chunks or the catalogue cannot be read: unknown.
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_pitr_config import pitr_enabled
from exporter.model.pbm_timeline import memo_recoverability, utc
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import NOTHING, PITR_RESTORE

CHECK = "pitr_timeline_continuous"
MAY_BLOCK = frozenset({PITR_RESTORE})
FIX = ("Take a full backup from PMM now: the point-in-time range starts again from it. Then find why PITR lost oplog "
       "(pbm logs -e pitr on the replica set named; an oplog too small for the slicer's span, an agent down, or "
       "storage errors) so that it does not happen again")


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    config = inp.mongo.pbm_config
    if not config.ok:
        return [unknown(CHECK, f"cannot read PBM's config: {config.error}", "", rs)]
    if not pitr_enabled(config.value):
        return [skipped(CHECK, "PITR is off in PBM's config (pitr.enabled)", "", rs)]
    rec = memo_recoverability(inp.memo, inp.mongo, inp.sharding)
    window = rec.window
    if window is None:
        return [unknown(CHECK, f"cannot tell what a point-in-time restore can reach: {rec.error}", "", rs)]
    if not window.restorable:
        what = (f"PBM's chunks cover {len(window.ranges)} range{'s' if len(window.ranges) != 1 else ''} but no "
                f"usable backup starts any" if window.ranges else "PBM has written no PITR chunk yet")
        return [failed(CHECK, f"no point in time can be restored: {what}", FIX, "", rs, blocks=(PITR_RESTORE,))]
    base = max(r.start for r in window.restorable) - 1  # the newest base's last write (splitByBaseSnapshot: + 1)
    holes = [h for h in window.holes if h.end > base]
    newest = window.ranges[-1]
    problems = [f"no chunk on {h.rs} from {utc(h.start)} to {utc(h.end)}" for h in holes]
    if not newest.base:
        problems.append(f"the newest range ({utc(newest.start)} to {utc(newest.end)}) has no base snapshot")
    if problems:
        cut = window.newest
        return [failed(CHECK, f"{'; '.join(problems)}: a restore reaches no later than {utc(cut or 0)}; the points "
                              f"inside and after that need a new full backup. A warning: the points before still "
                              f"restore", FIX, "", rs, blocks=NOTHING)]
    last = window.restorable[-1]
    return [passed(CHECK, f"no hole since the newest base snapshot: a point-in-time restore reaches "
                          f"{utc(last.start)} to {utc(last.end)} (base {last.base})", "", rs)]
