"""recovery_objectives_met: the cluster's RPO, the age of its newest successful backup and its restorable window
meet their targets. A warning that blocks nothing: freshness never stops a backup or a restore (Barman's `backup
maximum age` is a non-critical check for the same reason).

Measured from PBM's catalogue as `pbm status` reads it (model/pbm_timeline.py): RPO = cluster time minus the
newest restorable point; backup age = cluster time minus the end (last_transition_ts) of the newest backup that
ended `done`; window = newest minus oldest restorable point.

Targets: what the config states (`recovery_objectives`, per cluster or global: docs/configuration.md), else
derived from what PMM is asked to do:
- max_backup_age: the shortest interval between two runs of the cluster's enabled PMM snapshot schedules (their
  cron expressions, read with cronsim, in UTC as PMM's scheduler runs them: managed/services/scheduler), plus an
  hour for the backup to run;
- rpo: with PITR on in PBM's config, three oplog spans (pitr.oplogSpanMin, 10 minutes by default: the slicer
  writes a chunk each span, pbm/slicer/slicer.go); without PITR, the backup age target (the newest backup is the
  newest restorable point);
- min_window: only when the config states it (PMM's retention counts backups, not time).
An objective without a target is not judged; none at all: skipped. The reason says where each target came from.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from itertools import islice, pairwise

from cronsim import CronSim, CronSimError

from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_pitr_config import pitr_enabled, span_seconds
from exporter.model.pbm_timeline import backup_of, memo_recoverability
from exporter.model.pmm_schedules import name_of, our_schedules
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import NOTHING

CHECK = "recovery_objectives_met"
MAY_BLOCK = NOTHING
BACKUP_RUN_ALLOWANCE = 3600  # a scheduled backup's own run time, on top of its schedule's interval
PITR_SPANS = 3  # RPO target with PITR on: this many oplog spans
FIX = ("Find what keeps backups or PITR from keeping up: the failing checks above, pbm status and pbm logs on a "
       "node, and PMM's backup list; or set recovery_objectives in the exporter's config to the targets you need")

Target = tuple[float, str]  # seconds, where it came from


def duration(seconds: float) -> str:
    """45 s, 15 min, 25 h, 7.5 d: rounded, so that a second more or less reads the same."""
    s = round(seconds)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{round(s / 60)} min"
    if s < 172800:
        return f"{round(s / 3600, 1):g} h"
    return f"{round(s / 86400, 1):g} d"


def _interval(cron: str, now: int) -> int | None:
    """The shortest interval between the schedule's next runs after `now` (a week of them at most)."""
    try:
        runs: Iterator[datetime.datetime] = CronSim(cron, datetime.datetime.fromtimestamp(now, datetime.UTC))
        times = [int(t.timestamp()) for t in islice(runs, 8)]
    except (CronSimError, ValueError, OverflowError):
        return None
    gaps = [b - a for a, b in pairwise(times) if b > a]
    return min(gaps) if gaps else None


def targets(inp: CheckInput, now: int) -> dict[str, Target]:
    out: dict[str, Target] = {key: (seconds, f"from the config ({where})")
                              for key, seconds, where in inp.settings.objectives}
    if "max_backup_age" not in out:
        best: Target | None = None
        for schedule in our_schedules(inp):
            if not schedule.get("enabled") or schedule.get("mode") == "PITR":
                continue
            cron = schedule.get("cron_expression")
            interval = _interval(cron, now) if isinstance(cron, str) else None
            if interval is not None and (best is None or interval + BACKUP_RUN_ALLOWANCE < best[0]):
                best = (interval + BACKUP_RUN_ALLOWANCE,
                        f"from PMM schedule '{name_of(schedule)}' {cron} plus {duration(BACKUP_RUN_ALLOWANCE)}")
        if best is not None:
            out["max_backup_age"] = best
    if "rpo" not in out:
        config = inp.mongo.pbm_config.value
        if pitr_enabled(config):
            assert isinstance(config, dict)
            span = span_seconds(config)
            out["rpo"] = (PITR_SPANS * span, f"from PITR's oplog span {duration(span)} x {PITR_SPANS}")
        elif "max_backup_age" in out:
            seconds, where = out["max_backup_age"]
            out["rpo"] = (seconds, f"without PITR, the backup age target ({where})")
    return out


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    rec = memo_recoverability(inp.memo, inp.mongo, inp.sharding)
    if rec.window is None or rec.now is None:
        return [unknown(CHECK, f"cannot measure the recovery objectives: {rec.error or 'no cluster time'}", "", rs)]
    now = rec.now
    wanted = targets(inp, now)
    if not wanted:
        return [skipped(CHECK, "no recovery objective: the config states none (recovery_objectives), and no "
                               "enabled PMM schedule or PITR gives one", "", rs)]
    ends = [b.end for b in (backup_of(d) for d in inp.mongo.catalogue.value or [])
            if b is not None and b.status == "done" and b.end is not None]
    newest, oldest = rec.window.newest, rec.window.oldest
    measured: dict[str, tuple[int | None, str]] = {
        "rpo": (rec.rpo, "RPO"),
        "max_backup_age": (max(0, now - max(ends)) if ends else None, "newest successful backup age"),
        "min_window": (newest - oldest if newest is not None and oldest is not None else None, "restorable window"),
    }
    met, missed = [], []
    for key in ("rpo", "max_backup_age", "min_window"):
        if key not in wanted:
            continue
        target, where = wanted[key]
        value, label = measured[key]
        if value is None:
            missed.append(f"{label}: none (no {'successful backup' if key == 'max_backup_age' else 'restorable point'})"
                          f", target {duration(target)} {where}")
        elif (value < target) if key == "min_window" else (value > target):
            missed.append(f"{label} {duration(value)} {'under' if key == 'min_window' else 'over'} its target "
                          f"{duration(target)} {where}")
        else:
            met.append(f"{label} {duration(value)} within {duration(target)} {where}")
    if missed:
        return [failed(CHECK, "; ".join(missed) + (f" (met: {'; '.join(met)})" if met else "") +
                       ". A warning: nothing is blocked", FIX, "", rs, blocks=NOTHING)]
    return [passed(CHECK, "; ".join(met), "", rs)]
