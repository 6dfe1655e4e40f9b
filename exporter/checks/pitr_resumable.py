"""pitr_resumable: with PITR on, PBM's slicer of each replica set finds a starting point, so PITR starts (again).

Each time an agent takes up slicing (PITR turned on, or on again after a backup or a restore, an agent restarted),
PBM's Slicer.Catchup (percona/percona-backup-mongodb v2.15.0, pbm/slicer/slicer.go; rules in
model/pitr_catchup.py) needs the last backup (pbm/backup/query.go GetLastBackup: done, full, not external, to the
main storage) to cover the replica set, and to be newer than the last restore (pbm/restore/query.go
GetLastRestore). Otherwise it refuses: "no backup found. full backup is required to start PITR", "no replset
"<rs>" in the last backup ..." (a shard added since), "no backup found after the restored <backup>, a new backup is
required to resume PITR"; the agent logs that error every 15 s (cmd/pbm-agent/pitr.go) and no chunk is written
until a new backup. Blocks pitr. The reason quotes PBM's own newest PITR error of the replica set from
admin.pbmLog for the config's epoch, as `pbm status` shows it (cmd/pbm/status.go getPitrErr, log.Entry StringNode),
unless a later "start_ok" says slicing started.

A slicer that holds a fresh lock passed its Catchup and passes; so does a replica set while a full backup to the main
storage runs (its lock fresh): Catchup runs again when it ends and finds it (its metadata from admin.pbmBackups,
read for the backups that hold a lock). Skipped while PITR is off, and with pitr.oplogOnly (OplogOnlyCatchup needs
no backup).
"""

from __future__ import annotations

import datetime
from typing import Any

from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_locks import locks
from exporter.model.pbm_pitr_config import pitr_config
from exporter.model.pitr_catchup import CATALOGUE_LIMIT, catchup_blocker, last_backup, oplog_only, running_base
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import PITR

CHECK = "pitr_resumable"
MAY_BLOCK = frozenset({PITR})
FIX = ("Take a new full backup to the main storage (in PMM: Backup > Create backup, or let the PITR schedule run; "
       "with the PBM CLI: pbm backup): PBM's slicer starts from it within 15 s. Then check that pbm status shows no "
       "PITR error")


def as_pbm_status(entry: dict[str, Any]) -> str:
    """A pbmLog entry as `pbm status` prints it: log.Entry.StringNode, "<ts> E [rs/node] [pitr] <msg>" (the time in
    log.LogTimeFormat, here in UTC rather than the CLI's local zone)."""
    ts = entry.get("ts")
    when = (datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
            if isinstance(ts, int) else "?")
    return f"{when} E [{entry.get('rs', '')}/{entry.get('node', '')}] [pitr] {entry.get('msg', '')}"


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, rs = inp.mongo, inp.view.replica_set
    config, cannot = pitr_config(CHECK, facts, rs)
    if cannot:
        return cannot
    if oplog_only(config):
        return [skipped(CHECK, "PITR is oplog-only (pitr.oplogOnly): PBM's slicer starts without a base backup", "",
                        rs)]
    for fact, name in ((facts.catalogue, "admin.pbmBackups"), (facts.last_done_restore, "admin.pbmRestores")):
        if fact.error is not None:
            return [unknown(CHECK, f"cannot read {name}: {fact.error}", "", rs, {PITR})]
    now = facts.cluster_time.value
    running = next((lk for lk in locks(facts) if lk.type == "pitr" and lk.replset == rs
                    and now is not None and not lk.is_stale(now)), None)
    if running is not None:
        return [passed(CHECK, f"PITR slicing of {rs} runs on {running.node or '?'} (it found its starting point)",
                       "", rs)]
    catalogue = facts.catalogue.value or []
    restore = facts.last_done_restore.value if isinstance(facts.last_done_restore.value, dict) else None
    blocker = catchup_blocker(rs, catalogue, restore)
    if blocker is None:
        base = last_backup(catalogue) or {}
        after = f", after the last restore {restore.get('name') or '?'}" if restore else ""
        return [passed(CHECK, f"PBM's slicer of {rs} can start from the last backup {base.get('name') or '?'} (done, "
                              f"full, main storage{after})", "", rs)]
    ongoing = running_base(facts)
    if ongoing is not None:
        return [passed(CHECK, f"PBM's slicer of {rs} would not start now (\"{blocker.message}\"), but the full backup "
                              f"{ongoing.get('name') or '?'} runs: PBM starts slicing from it once it is done", "", rs)]
    if last_backup(catalogue) is None and len(catalogue) >= CATALOGUE_LIMIT:
        return [unknown(CHECK, f"none of the newest {CATALOGUE_LIMIT} backups is a done, full backup to the main "
                               f"storage; an older one may be PITR's base", "", rs, {PITR})]
    pbm_error = next((e for e in facts.pitr_errors.value or [] if isinstance(e, dict) and e.get("rs") == rs), None)
    said = (f"; pbm status shows: {as_pbm_status(pbm_error)}" if pbm_error is not None
            else "; PBM has logged no PITR error for it in this config epoch yet" if facts.pitr_errors.ok
            else f"; PBM's own PITR error could not be read ({facts.pitr_errors.error})")
    return [failed(CHECK, f"PITR will not resume on {rs}: PBM's slicer refuses to start (Slicer.Catchup: "
                          f"\"{blocker.message}\"), so PBM saves no oplog for point-in-time restores until a new "
                          f"backup{said}", FIX, "", rs, {PITR})]
