"""Each member's oplog window, and whether PBM's PITR slicer can go on from where its last chunk ends.

Read from PBM's source (percona/percona-backup-mongodb v2.15.0):
- pbm/oplog/backup.go OplogBackup.IsSufficient(from): `count({ts: {$lte: from}}, limit 1) != 0` on the slicing
  member's local.oplog.rs, i.e. its oldest entry is at or before `from`. Otherwise InsuffRangeError, "oplog has
  insufficient range, some records since the last saved ts ... are missing. Run `pbm backup` to create a valid
  starting point for the PITR".
- pbm/slicer/slicer.go Stream checks it against lastTS before streaming ("early check"), and OplogBackup.WriteTo at
  every slice, every pitr.oplogSpanMin; Catchup (and OplogOnlyCatchup) start lastTS from the newest chunk's end_ts
  (oplog.PITRLastChunkMeta) when it is newer than the last backup's. So the slicer needs, on the member it runs on,
  an oplog that still holds the newest chunk's end until its next slice.
- cmd/pbm-agent/pitr.go leadNomination nominates, by descending priority, each member whose agent is steady and OK
  (topo.ListSteadyAgents, prio.CalcNodesPriority) and whose node suits (topo.NodeSuits): model/pbm_agent_duties.py
  candidates. Any of them may slice next.
"""

from __future__ import annotations

from typing import Any

from bson.timestamp import Timestamp

from exporter.facts.observed import ReplicaSetFacts

WARN_SPANS = 3  # headroom below this many slice spans is a warning: one slow slice or a burst of writes from the end


def newest_entries(status: Any) -> dict[str, Timestamp]:
    """Each reachable data-bearing member's newest oplog entry: replSetGetStatus members[].optime.ts (docs
    "replSetGetStatus": the last operation applied to its oplog); a member that is down shows Timestamp(0, 0)."""
    raw = status.get("members") if isinstance(status, dict) else None
    out: dict[str, Timestamp] = {}
    for member in raw if isinstance(raw, list) else []:
        if not isinstance(member, dict) or not isinstance(member.get("name"), str) or member.get("health") != 1:
            continue
        optime = member.get("optime")
        ts = optime.get("ts") if isinstance(optime, dict) else None
        if isinstance(ts, Timestamp) and ts.time > 0:
            out[member["name"]] = ts
    return out


def first_entries(facts: ReplicaSetFacts) -> dict[str, Timestamp]:
    """The members whose oldest oplog entry was read."""
    return {host: fact.value for host, fact in facts.oplog_first.items() if isinstance(fact.value, Timestamp)}


def windows(facts: ReplicaSetFacts) -> dict[str, int]:
    """Seconds from each member's oldest to its newest oplog entry, for the members whose both ends are known."""
    newest = newest_entries(facts.status.value)
    return {host: max(newest[host].time - first.time, 0) for host, first in first_entries(facts).items()
            if host in newest}


def holds(first: Timestamp, end: Timestamp) -> bool:
    """IsSufficient: the member's oplog still has an entry at or before `end` (its oldest is not after it)."""
    return first <= end
