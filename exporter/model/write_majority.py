"""Whether a replica set can acknowledge majority writes now, from replSetGetStatus and replSetGetConfig.

MongoDB (docs "replSetGetStatus": majorityVoteCount, writeMajorityCount, optimes.lastCommittedOpTime; docs "Write
Concern" w: "majority"; docs "Mitigate Performance Issues with PSA Replica Set"): a w: majority write, and the
majority commit point, need writeMajorityCount voting data-bearing members to have applied it. A member that is
down, or in a state other than PRIMARY or SECONDARY, applies nothing, so with fewer able members than that the commit
point stops where it was. PBM's slicer cuts each chunk at the node's lastWrite.majorityOpTime (pbm/slicer/slicer.go
Stream -> topo.GetLastWrite(ctx, s.node, majority), majority being requested by default:
topo.IsWriteMajorityRequested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson.timestamp import Timestamp


@dataclass(frozen=True)
class WriteMajority:
    required: int  # writeMajorityCount
    able: tuple[str, ...]  # voting data-bearing members up and PRIMARY or SECONDARY
    unable: tuple[str, ...]  # the other voting data-bearing members, with their state
    commit_lag: int | None  # seconds from the majority commit point to the newest applied write, when known

    @property
    def available(self) -> bool:
        return len(self.able) >= self.required


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ts(optime: Any) -> Timestamp | None:
    ts = optime.get("ts") if isinstance(optime, dict) else None
    return ts if isinstance(ts, Timestamp) else None


def write_majority(status: Any, config: Any) -> WriteMajority | None:
    """The replica set's write majority, or None when the replies lack what it needs. Votes and arbiters come from
    replSetGetConfig (members[].votes, default 1; arbiterOnly), states from replSetGetStatus."""
    raw_config = config.get("config") if isinstance(config, dict) else None
    conf_members = raw_config.get("members") if isinstance(raw_config, dict) else None
    status_members = status.get("members") if isinstance(status, dict) else None
    if not isinstance(conf_members, list) or not isinstance(status_members, list):
        return None
    voting_data = {m["host"] for m in conf_members if isinstance(m, dict) and isinstance(m.get("host"), str)
                   and not m.get("arbiterOnly") and (_int(m.get("votes")) if "votes" in m else 1) != 0}
    voting = sum(1 for m in conf_members if isinstance(m, dict) and (_int(m.get("votes")) if "votes" in m else 1) != 0)
    # writeMajorityCount since MongoDB 4.2.1; what it is worked out from when absent
    required = _int(status.get("writeMajorityCount")) or min(voting // 2 + 1, len(voting_data))
    able, unable = [], []
    for m in status_members:
        if not isinstance(m, dict) or m.get("name") not in voting_data:
            continue
        if m.get("health") == 1 and m.get("state") in (1, 2):
            able.append(m["name"])
        else:
            unable.append(f"{m['name']} ({m.get('stateStr') or 'state ' + str(m.get('state'))})")
    optimes = status.get("optimes")
    committed = _ts(optimes.get("lastCommittedOpTime")) if isinstance(optimes, dict) else None
    applied = _ts(optimes.get("appliedOpTime")) if isinstance(optimes, dict) else None
    lag = max(applied.time - committed.time, 0) if committed is not None and applied is not None else None
    return WriteMajority(required, tuple(able), tuple(unable), lag)
