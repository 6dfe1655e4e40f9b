"""The oldest entry of a member's oplog, read on that member, and which members to read it on.

Why this read and not another (cheapest honest option):
- The newest entry of every member's oplog is already in replSetGetStatus (members[].optime), read on the primary.
- The oldest is the first document of local.oplog.rs in natural order: `find({}, {ts: 1}).sort({$natural: 1})
  .limit(1)`, which is what mongosh's documented db.getReplicationInfo() reads for tFirst. The oplog is a capped
  collection kept in insertion order, so this reads one document, no scan and no index. serverStatus's `oplog`
  section (earliestOptime) is left out: MongoDB's serverStatus reference does not document it.
- Each member's oplog has its own size and so its own window (PBM slices on one member and may move to another), so
  it is read on each member PBM could nominate. It goes through the replica set's long-lived client, aimed at that
  member by pymongo's documented `server_selector` option (`only_member`, applied after the read preference,
  Nearest here): the member's pooled connection is authenticated once for the exporter's life, and the client's
  cached SCRAM keys spare even that its PBKDF2. A short-lived client connected directly to the member was measured
  at ~9 ms of CPU per read (a new client, its handshake and SCRAM-SHA-256 key derivation; bench/idle_clients.py),
  ~2,000 of them in a 1,000-cluster fleet's first cycle; it is kept only for a member the long-lived client cannot
  reach (a URI with directConnection=true). It needs find on local.oplog.rs: clusterMonitor's read on local.
- The oldest entry moves slowly (it follows the write rate), so it is read again only every OPLOG_REREAD_EVERY
  probes, and every probe while the headroom is small, when its drift matters; only with PITR on; only on the
  members the slicer could use. At 1,000 three-member clusters probed every minute that is ~200 one-document finds a
  minute on connections already open.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from bson.timestamp import Timestamp
from pymongo.errors import OperationFailure, PyMongoError
from pymongo.read_preferences import Nearest, PrimaryPreferred
from pymongo.server_description import ServerDescription
from pymongo.uri_parser import parse_host

from exporter.facts.observed import Observed

OPLOG_REREAD_EVERY = 10  # probes between reads of a member's oldest oplog entry while its headroom is ample


# The member the current task's reads must go to (None: any, as the read preference says). A ContextVar, so each
# asyncio task (each member's read, gathered) aims at its own member through the same client.
_MEMBER: ContextVar[tuple[str, int] | None] = ContextVar("member", default=None)


def member_address(host: str) -> tuple[str, int]:
    """("db1", 27017) from "DB1:27017", as pymongo names a server (its hosts lower-cased)."""
    name, port = parse_host(host, 27017)
    return name.lower(), port or 27017


def only_member(servers: Sequence[ServerDescription]) -> list[ServerDescription]:
    """pymongo's `server_selector` hook: while a task aims at a member, only that member is suitable."""
    target = _MEMBER.get()
    return list(servers) if target is None else [s for s in servers if s.address == target]


async def read_oplog_first(client: Any, member: tuple[str, int] | None = None) -> Observed[Timestamp]:
    """The `ts` of the oldest entry of the oplog of `member` through a replica set client whose server_selector is
    only_member, or, without a member, of the member `client` is connected to directly."""
    token = _MEMBER.set(member)
    try:
        pref = Nearest() if member is not None else PrimaryPreferred()
        oplog = client.local.get_collection("oplog.rs", read_preference=pref)
        doc = await oplog.find_one({}, {"_id": 0, "ts": 1}, sort=[("$natural", 1)])
    except OperationFailure as exc:
        details = exc.details or {}
        return Observed.failed(f"{details.get('codeName') or exc.code}: {details.get('errmsg') or exc}")
    except (PyMongoError, TimeoutError) as exc:  # unreachable, timed out (pymongo.timeout), connection lost
        return Observed.failed(re.sub(r"\s*\(configured timeouts:[^)]*\)", "", str(exc)).strip()
                               or type(exc).__name__)
    finally:
        _MEMBER.reset(token)
    ts = doc.get("ts") if isinstance(doc, dict) else None
    return Observed(ts) if isinstance(ts, Timestamp) else Observed.failed("local.oplog.rs is empty")


def due(known: tuple[int, Observed[Timestamp]] | None, probe: int, end: Timestamp | None, low: int) -> bool:
    """Whether to read a member's oldest entry again: never read, failed (a probe short of time, a member just
    back: the check stays unknown until it is read), read OPLOG_REREAD_EVERY probes ago or more, or a headroom (the
    newest chunk's `end` minus it) under `low` seconds."""
    if known is None or not known[1].ok or probe - known[0] >= OPLOG_REREAD_EVERY:
        return True
    first = known[1].value
    return isinstance(first, Timestamp) and end is not None and end.time - first.time < low
