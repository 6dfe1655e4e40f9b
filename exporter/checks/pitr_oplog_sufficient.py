"""pitr_oplog_sufficient: with PITR on, a member PBM could slice on still holds, in its oplog, the newest chunk's end.

PBM's rule (percona/percona-backup-mongodb v2.15.0, model/oplog_window.py): the slicer continues from the newest
chunk's end_ts (pbm/slicer/slicer.go Catchup, OplogOnlyCatchup), and before streaming and at every slice checks that
the oplog of the member it runs on still has an entry at or before it (pbm/oplog/backup.go IsSufficient, Stream,
WriteTo). When none does, slicing stops with "oplog has insufficient range ... Run `pbm backup` to create a valid
starting point for the PITR": the oplog since that chunk is lost for good, and only a new full backup starts PITR
again. Blocks pitr.

The members judged are those PBM could nominate to slice (cmd/pbm-agent/pitr.go leadNomination;
model/pbm_agent_duties.py candidates); their oldest oplog entry is read on each of them (probes/oplog.py). While
one holds the end, a headroom (the newest chunk's end minus that member's oldest entry) under WARN_SPANS slice spans
is a warning: the oplog rolls past the end before long if the slicer falls behind or writes burst. So is the member
slicing now (its pitr lock in admin.pbmLockOp) no longer holding it while another does: its slicer stops with that
error, and PITR goes on only if PBM nominates another member. Skipped while PITR is off, until the replica set
has a chunk, and while PBM's last backup ends after the newest chunk (Catchup starts the slicer from that backup's
last write instead; pitr_running judges the slicer's start).
"""

from __future__ import annotations

from typing import Any

from bson.timestamp import Timestamp

from exporter.model.cluster_view import CheckInput
from exporter.model.oplog_window import WARN_SPANS, first_entries, holds, newest_entries
from exporter.model.pbm_agent_duties import candidates
from exporter.model.pbm_locks import locks
from exporter.model.pbm_pitr_config import pitr_config, span_seconds
from exporter.model.pbm_timeline import Backup, backup_of
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import PITR

CHECK = "pitr_oplog_sufficient"
MAY_BLOCK = frozenset({PITR})
FIX_LOST = ("PBM's slicer cannot go on (\"oplog has insufficient range\"): take a new full backup from PMM, which "
            "PITR restarts from (the oplog since the newest chunk is lost, and a point-in-time restore cannot reach "
            "it); then make the oplog of the members PBM slices on cover several slice spans more than it does "
            "(db.adminCommand({replSetResizeOplog: 1, size: <MB>}) or minRetentionHours)")
FIX_SHORT = ("make the oplog of the members PBM slices on longer (db.adminCommand({replSetResizeOplog: 1, size: <MB>}) "
             "or minRetentionHours) so that it covers several slice spans past the newest chunk; if it runs out, "
             "PBM stops PITR and needs a new full backup")


def _when(ts: Timestamp) -> str:
    return f"{ts.time}"


def _newer_backup(catalogue: Any, end: Timestamp) -> Backup | None:
    """PBM's last backup (pbm/backup/query.go GetLastBackup: the newest by start_ts that is done, not external, not
    selective) when it ends after the newest chunk: Slicer.Catchup then starts the slicer from its last write, not
    from the chunk. The catalogue has no store.profile, so a newer backup to a profile's storage (which GetLastBackup
    skips) also counts here: the check then skips rather than fail on a backup PBM would not use."""
    for doc in catalogue if isinstance(catalogue, list) else []:
        backup = backup_of(doc)
        if backup is not None and backup.status == "done" and backup.type != "external" and not backup.selective:
            return backup if backup.last_write > end.time else None
    return None


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, view, rs = inp.mongo, inp.view, inp.view.replica_set
    config, cannot = pitr_config(CHECK, facts, rs)
    if cannot:
        return cannot
    if facts.pitr_chunks.error is not None:
        return [unknown(CHECK, f"cannot read admin.pbmPITRChunks: {facts.pitr_chunks.error}", "", rs)]
    chunk = next((c for c in facts.pitr_chunks.value or [] if c.get("rs") == rs), None)
    end = chunk.get("end_ts") if chunk else None
    if not isinstance(end, Timestamp):
        return [skipped(CHECK, f"{rs} has no PITR chunk yet: the slicer starts from the last backup "
                               f"(pitr_running judges it)", "", rs)]
    restart = _newer_backup(facts.catalogue.value, end)
    if restart is not None:
        return [skipped(CHECK, f"the newest backup {restart.name} ends after the newest chunk of {rs}: PBM's slicer "
                               f"starts again from that backup, not from the chunk (Slicer.Catchup); pitr_running "
                               f"judges whether it does", "", rs)]
    users = candidates(view)
    if not users:
        return [unknown(CHECK, f"no member of {rs} is one PBM could nominate to slice the oplog "
                               f"(backup_candidate_available says why)", "", rs)]
    span = span_seconds(config)
    firsts, newest = first_entries(facts), newest_entries(facts.status.value)
    unread = {h: (facts.oplog_first[h].error if h in facts.oplog_first else "not read")
              for h in users if h not in firsts}
    holding = {h: end.time - firsts[h].time for h in users if h in firsts and holds(firsts[h], end)}
    short = [h for h in users if h in firsts and not holds(firsts[h], end)]

    def described(hosts: list[str]) -> str:
        return ", ".join(f"{h} (oldest entry {_when(firsts[h])}" +
                         (f", window {newest[h].time - firsts[h].time} s)" if h in newest else ")") for h in hosts)

    if not holding:
        if unread:
            return [unknown(CHECK, "cannot read the oldest oplog entry of " + "; ".join(
                f"{h}: {why}" for h, why in unread.items()), "", rs, {PITR})]
        return [failed(CHECK, f"no member PBM could slice {rs} on still holds the newest chunk's end "
                              f"({_when(end)}) in its oplog: {described(short)}; PBM's slicer stops with \"oplog has "
                              f"insufficient range\" and the oplog since then is lost", FIX_LOST, "", rs, {PITR})]
    lock = next((lk for lk in locks(facts) if lk.type == "pitr" and lk.replset == rs), None)
    slicing = lock.node if lock is not None and lock.node in users else None
    best = max(holding, key=lambda h: holding[h])
    if slicing is not None and slicing in short:
        return [failed(CHECK, f"the member slicing {rs} now, {slicing}, no longer holds the newest chunk's end "
                              f"({_when(end)}): {described([slicing])}; its slicer stops with \"oplog has "
                              f"insufficient range\", and PITR goes on only if PBM nominates "
                              f"{', '.join(sorted(holding))} (a warning)", FIX_SHORT, "", rs)]
    judged = slicing if slicing is not None and slicing in holding else best
    headroom = holding[judged]
    if headroom < WARN_SPANS * span:
        return [failed(CHECK, f"the oplog of {judged} keeps only {headroom} s before the newest chunk's end of {rs}, "
                              f"under {WARN_SPANS} slice spans of {span} s: if the slicer falls behind or writes "
                              f"burst, it rolls past and PBM stops PITR (a warning)", FIX_SHORT, "", rs)]
    return [passed(CHECK, f"the oplog of {judged} holds the newest chunk's end of {rs} with {headroom} s to spare "
                          f"({headroom // span} slice spans of {span} s)", "", rs)]
