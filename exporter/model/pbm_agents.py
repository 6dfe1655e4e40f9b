"""PBM's `admin.pbmAgents` documents, parsed defensively.

Shape: PBM `pbm/topo/agent.go` `AgentStat` (see shared/reference/pbm.md section 1): short field names, older
agents omit fields (no s/str/e before 1.5; no arb/mv/pv before 2.3; no delay/repl_lag before 2.6), and `hb` is
a BSON Timestamp holding MongoDB cluster time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson.timestamp import Timestamp

# PBM pbm/defs/defs.go: an agent is lost when hb.T + StaleFrameSec < clusterTime.T
STALE_FRAME_SEC = 30
MIN_PBM_VERSION = (2, 0, 1)  # PMM 2.32+ and PMM 3 require PBM 2.0.1 or newer


@dataclass(frozen=True)
class SubStatus:
    """One of PBM's self-checks: pbms (PBM connection), nodes (node connection), stors (storage)."""

    ok: bool
    error: str


@dataclass(frozen=True)
class AgentReport:
    node: str
    replica_set: str
    version: Any  # as written; parse with parse_version
    heartbeat: int | None  # hb.T, cluster-time seconds
    pbm_connection: SubStatus | None
    node_connection: SubStatus | None
    storage: SubStatus | None
    mongo_version: str | None  # mv, PBM >= 2.3
    psmdb_version: str | None  # pv, PBM >= 2.3 and only on Percona Server for MongoDB
    error: str  # e
    problems: tuple[str, ...]  # fields that are missing or of the wrong type
    state: int | None = None  # s: the mongod state the agent sees (PBM >= 1.5), what PBM nominates by
    hidden: bool = False  # hdn
    passive: bool = False  # psv: a priority-0 member (hidden and delayed ones too), as hello says (PBM >= 1.5)
    delay: int | None = None  # delay: configured secondaryDelaySecs (PBM >= 2.6)
    repl_lag: int | None = None  # repl_lag: seconds behind the primary (PBM >= 2.6)

    def heartbeat_age(self, cluster_time: int) -> int | None:
        if self.heartbeat is None:
            return None
        return max(0, cluster_time - self.heartbeat)  # hb ahead of cluster time counts as fresh (pbm.md 6.1)

    def is_stale(self, cluster_time: int) -> bool:
        return self.heartbeat is None or self.heartbeat + STALE_FRAME_SEC < cluster_time


def _sub_status(doc: dict[str, Any], key: str, problems: list[str]) -> SubStatus | None:
    raw = doc.get(key)
    if raw is None:
        problems.append(f"field {key} is missing")
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("ok"), bool):
        problems.append(f"field {key} is not a {{ok: bool, e: string}} document")
        return None
    error = raw.get("e")
    return SubStatus(raw["ok"], error if isinstance(error, str) else "")


def _optional_str(doc: dict[str, Any], key: str, problems: list[str]) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"field {key} is not a string")
        return None
    return value


def _optional_int(doc: dict[str, Any], key: str) -> int | None:
    value = doc.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_agent(doc: Any) -> AgentReport | None:
    """An AgentReport, or None when the document cannot be tied to a node (no string n and rs)."""
    if not isinstance(doc, dict):
        return None
    node, rs = doc.get("n"), doc.get("rs")
    if not isinstance(node, str) or not isinstance(rs, str) or not node or not rs:
        return None
    problems: list[str] = []
    hb = doc.get("hb")
    heartbeat: int | None = None
    if isinstance(hb, Timestamp):
        heartbeat = hb.time
    elif hb is None:
        problems.append("field hb is missing")
    else:
        problems.append("field hb is not a timestamp")
    version = doc.get("v")
    if version is None:
        problems.append("field v is missing")
    elif not isinstance(version, str):
        problems.append("field v is not a string")
    error = doc.get("e")
    return AgentReport(
        node=node,
        replica_set=rs,
        version=version,
        heartbeat=heartbeat,
        pbm_connection=_sub_status(doc, "pbms", problems),
        node_connection=_sub_status(doc, "nodes", problems),
        storage=_sub_status(doc, "stors", problems),
        mongo_version=_optional_str(doc, "mv", problems),
        psmdb_version=_optional_str(doc, "pv", problems),
        error=error if isinstance(error, str) else "",
        problems=tuple(problems),
        state=_optional_int(doc, "s"),
        hidden=doc.get("hdn") is True,
        passive=doc.get("psv") is True,
        delay=_optional_int(doc, "delay"),
        repl_lag=_optional_int(doc, "repl_lag"),
    )


def index_agents(docs: list[Any]) -> dict[tuple[str, str], AgentReport]:
    """Agent reports by (replica set, node). PBM has no unique index on {n, rs}: keep the newest heartbeat."""
    out: dict[tuple[str, str], AgentReport] = {}
    for doc in docs:
        report = parse_agent(doc)
        if report is None:
            continue
        key = (report.replica_set, report.node)
        current = out.get(key)
        if current is None or (report.heartbeat or -1) > (current.heartbeat or -1):
            out[key] = report
    return out


def parse_version(version: Any) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a PBM version such as "2.0.1", "v2.7.0" or "2.10.0-rc1"; None if unparsable."""
    if not isinstance(version, str):
        return None
    core = version.strip().removeprefix("v").split("-")[0].split("+")[0]
    parts = core.split(".")
    # ASCII digits only: "²".isdigit() is true, but int() refuses it; and int() refuses 4300+ digits
    if not 2 <= len(parts) <= 3 or not all(p.isascii() and p.isdigit() and len(p) <= 9 for p in parts):
        return None
    numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
    return numbers[0], numbers[1], numbers[2]
