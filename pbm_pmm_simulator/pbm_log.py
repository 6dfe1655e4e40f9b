"""`admin.pbmLog` as pbm-agents write it: the warning of an agent that does not see the storage's init file, and PITR's
start errors and "start_ok" (pbm_operations.py PBMOperations.log_entries).

PBM 2.6+ (cmd/pbm-agent/agent.go HbStatus, updateAgentStat, storStatus at v2.15.0): every 15 s (storageCheckInterval)
the agent checks the storage; when `storage.IsInitialized` finds no `.pbm.init` it logs, through its
`agentCheckup` event, `log.Warning("storage is not initialized")` and still reports the storage OK (`stors.ok`).
A filesystem path that is not the shared mount (an unmounted NFS path, which fs.New creates as a local directory)
does this on every node but the one that wrote the file.

Each entry is shaped as pbm/log/history.go Entry with its inline LogKeys: {ts (the agent's Unix seconds), ns, tz,
s (Severity: Fatal 0, Error 1, Warning 2, Info 3, Debug 4), rs, node, e, eobj, msg}; `ep` and `opid` are
`omitempty` and unset for agentCheckup. The collection is capped (cmd/pbm-agent/setup.go); only the last
`HISTORY` seconds are kept here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bson.int64 import Int64

if TYPE_CHECKING:
    from .replset import SimReplicaSet

WARNING = 2  # pbm/log/log.go Severity
STORAGE_CHECK_INTERVAL = 15  # cmd/pbm-agent/agent.go HbStatus storageCheckInterval
HISTORY = 600
NOT_INITIALIZED = "storage is not initialized"


def written_log_entries(rs: SimReplicaSet) -> list[dict[str, Any]]:
    """The entries this set's own agents write (into this set, or their cluster's CSRS), oldest first."""
    now = int(rs.now_secs())
    entries: list[dict[str, Any]] = []
    for node in rs.members:
        agent = node.agent
        if agent is None or agent.storage_initialized or rs.standalone or _version(agent.version) < (2, 6):
            continue
        last = now if agent.running else int(agent.stopped_at if agent.stopped_at is not None else now - 3600)
        first = max(now - HISTORY, int(agent.storage_uninitialized_since or now - HISTORY))
        for ts in range(last - (last - first) // STORAGE_CHECK_INTERVAL * STORAGE_CHECK_INTERVAL, last + 1,
                        STORAGE_CHECK_INTERVAL):
            entries.append({"ts": Int64(ts), "ns": 0, "tz": 0, "s": WARNING, "rs": rs.name, "node": node.host,
                            "e": "agentCheckup", "eobj": "", "msg": NOT_INITIALIZED})
    return sorted(entries, key=lambda e: e["ts"])


def log_documents(rs: SimReplicaSet) -> list[dict[str, Any]]:
    """The `admin.pbmLog` documents this set holds: its own agents' (unless they write into their cluster's CSRS)
    and those of `agent_sources` (on a CSRS: every shard's), as agent_documents() does for pbmAgents."""
    docs = written_log_entries(rs) if rs.serves_own_agents else []
    for source in rs.agent_sources:
        docs.extend(written_log_entries(source))
    docs.extend(rs.pbm.log_entries())  # PITR's, which PBMOperations plays on the control set (pbm_operations.py)
    return docs


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in text.split("-")[0].split(".")[:3])
