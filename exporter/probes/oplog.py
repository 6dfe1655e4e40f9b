"""The oldest entry of a member's oplog, read on that member, and which members to read it on.

Why this read and not another (cheapest honest option):
- The newest entry of every member's oplog is already in replSetGetStatus (members[].optime), read on the primary.
- The oldest is the first document of local.oplog.rs in natural order: `find({}, {ts: 1}).sort({$natural: 1})
  .limit(1)`, which is what mongosh's documented db.getReplicationInfo() reads for tFirst. The oplog is a capped
  collection kept in insertion order, so this reads one document, no scan and no index. serverStatus's `oplog`
  section (earliestOptime) is left out: MongoDB's serverStatus reference does not document it.
- Each member's oplog has its own size and so its own window (PBM slices on one member and may move to another), so
  it is read on each member PBM could nominate, through a client connected directly to that member
  (directConnection=true, secondaryOk). It needs find on local.oplog.rs: clusterMonitor's read on local.
- The oldest entry moves slowly (it follows the write rate), so it is read again only every OPLOG_REREAD_EVERY
  probes, and every probe while the headroom is small, when its drift matters; only with PITR on; only on the
  members the slicer could use. At 1,000 three-member clusters probed every minute that is ~300 short connections
  and one-document finds a minute.
"""

from __future__ import annotations

import re
from typing import Any

from bson.timestamp import Timestamp
from pymongo.errors import OperationFailure, PyMongoError
from pymongo.read_preferences import PrimaryPreferred

from exporter.facts.observed import Observed

OPLOG_REREAD_EVERY = 10  # probes between reads of a member's oldest oplog entry while its headroom is ample


async def read_oplog_first(client: Any) -> Observed[Timestamp]:
    """The `ts` of the oldest entry of the oplog of the member `client` is connected to (directly)."""
    try:
        oplog = client.local.get_collection("oplog.rs", read_preference=PrimaryPreferred())
        doc = await oplog.find_one({}, {"_id": 0, "ts": 1}, sort=[("$natural", 1)])
    except OperationFailure as exc:
        details = exc.details or {}
        return Observed.failed(f"{details.get('codeName') or exc.code}: {details.get('errmsg') or exc}")
    except (PyMongoError, TimeoutError) as exc:  # unreachable, timed out (pymongo.timeout), connection lost
        return Observed.failed(re.sub(r"\s*\(configured timeouts:[^)]*\)", "", str(exc)).strip()
                               or type(exc).__name__)
    ts = doc.get("ts") if isinstance(doc, dict) else None
    return Observed(ts) if isinstance(ts, Timestamp) else Observed.failed("local.oplog.rs is empty")


def due(known: tuple[int, Observed[Timestamp]] | None, probe: int, end: Timestamp | None, low: int) -> bool:
    """Whether to read a member's oldest entry again: never read, read (or failed) OPLOG_REREAD_EVERY probes ago or
    more, or a headroom (the newest chunk's `end` minus it) under `low` seconds."""
    if known is None or probe - known[0] >= OPLOG_REREAD_EVERY:
        return True
    first = known[1].value
    return isinstance(first, Timestamp) and end is not None and end.time - first.time < low
