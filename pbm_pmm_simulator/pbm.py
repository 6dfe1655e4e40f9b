"""The `admin.pbmAgents` document a pbm-agent of a given version would have written (see shared pbm.md §1).

Field sets follow PBM's `AgentStat` struct, in struct order:
- 1.4.0:          n rs v pbms nodes stors hb                                   (`pbm/pbm.go`)
- 1.5.0 - 2.2.x:  n rs s str hdn psv v pbms nodes stors hb e                   (`pbm/agent_status.go`)
- 2.3.0 - 2.5.x:  n rs s str hdn psv arb v mv pv? pbms nodes stors hb e        (pv omitempty, PSMDB only)
- 2.6.0+:         n rs s str hdn psv arb delay repl_lag v mv pv? pbms nodes stors hb e (`pbm/topo/agent.go`)
Heartbeat: every 5 s (`defs.AgentsStatCheckRange`). Until 2.6 `hb` is the cluster time of the leader connection,
so it keeps advancing while the agent's own mongod is down (with nodes.ok=false). From 2.7 it is the `$clusterTime`
of the agent's own node `hello`, so it freezes when that mongod is down (`updateAgentStat`, HEAD
`cmd/pbm-agent/agent.go`), and `s`/`str` become 6/"UNKNOWN" with the errors concatenated into `e`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId, Timestamp

from .specs import AgentSpec

HEARTBEAT_PERIOD = 5


def parse_version(version: str) -> tuple[int, int, int]:
    """`"v2.7.0-rc1"` -> (2, 7, 0); unparsable parts count as 0."""
    core = version.strip().lstrip("v").split("-")[0].split("+")[0]
    nums: list[int] = []
    for part in core.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        nums.append(int(digits) if digits else 0)
    while len(nums) < 3:
        nums.append(0)
    return nums[0], nums[1], nums[2]


def last_tick(now: int, phase: int) -> int:
    """Cluster second of the agent's latest 5-second heartbeat (phase spreads agents deterministically)."""
    return now - ((now + phase) % HEARTBEAT_PERIOD)


def go_connection_refused(host: str) -> str:
    """What the Go driver's Ping returns when the mongod refuses connections."""
    return (
        "server selection error: server selection timeout, current topology: { Type: Single, Servers: "
        f"[{{ Addr: {host}, Type: Unknown, Last error: dial tcp {host}: connect: connection refused }}, ] }}"
    )


@dataclass
class MemberView:
    """What the agent saw of its member when it last wrote its document."""

    host: str
    set_name: str
    state: int
    state_str: str
    hidden: bool
    passive: bool
    arbiter: bool
    delay_secs: int
    repl_lag: int
    mongo_version: str
    psmdb_version: str | None
    node_up: bool
    down_since: int | None  # cluster second the mongod went down
    #: admin.pbmConfig holds PBM's main config (on the CSRS for a sharded cluster): without it every agent's storage
    #: check fails, whatever the storage (cmd/pbm-agent/agent.go storStatus -> pbm/util/storage.go GetStorage ->
    #: config.GetConfig: errors.Wrap(err, "get"), the driver's ErrNoDocuments)
    pbm_configured: bool = True


def agent_document(
    agent: AgentSpec, doc_id: ObjectId, view: MemberView, now: int, phase: int, frozen_default: int
) -> dict[str, Any] | None:
    """The document, or None for versions before pbmAgents existed (< 1.4.0)."""
    ver = parse_version(agent.version)
    if ver < (1, 4, 0) or (agent.document_deleted and not agent.running):
        return None

    # Heartbeat second.
    frozen: list[int] = []
    if not agent.running:
        frozen.append(int(agent.stopped_at) if agent.stopped_at is not None else frozen_default)
    if agent.paused_at is not None:
        frozen.append(int(agent.paused_at))
    if not view.node_up and ver >= (2, 7, 0) and view.down_since is not None:
        frozen.append(last_tick(view.down_since, phase))
    hb_secs = min(frozen) if frozen else last_tick(now, phase)
    hb = Timestamp(max(hb_secs, 0), 1)

    def status(ok: bool, err: str, default_err: str) -> dict[str, Any]:
        # SubsysStatus {ok bool `bson:"ok"`, e string `bson:"e"`}
        return {"ok": ok, "e": "" if ok else (err or default_err)}

    refused = go_connection_refused(view.host)
    nodes_ok = agent.nodes_ok and view.node_up
    nodes_err = agent.nodes_err if view.node_up or agent.nodes_err else refused
    pbms = status(agent.pbms_ok, agent.pbms_err, "server selection error: context deadline exceeded")
    nodes = status(nodes_ok, nodes_err, refused)
    no_config = "unable to get storage: get config: get: mongo: no documents in result"
    stors = (status(agent.stors_ok, agent.stors_err, no_config) if view.pbm_configured
             else status(False, no_config, no_config))

    state, state_str = view.state, view.state_str
    hidden, passive = view.hidden, view.passive
    err = agent.err
    if not view.node_up:
        # GetNodeInfo and replSetGetStatus fail on the local node; errors are appended without separator.
        hidden = passive = False
        state = 6
        state_str = "UNKNOWN" if ver >= (2, 6, 0) else "unknown"
        if ver >= (1, 5, 0):
            err += f"get NodeInfo: cmd: hello: {refused}get replSetGetStatus: {refused}"

    doc: dict[str, Any] = {"_id": doc_id, "n": view.host, "rs": view.set_name}
    if ver >= (1, 5, 0):
        doc.update({"s": state, "str": state_str, "hdn": hidden, "psv": passive})
    if ver >= (2, 3, 0):
        doc["arb"] = view.arbiter
    if ver >= (2, 6, 0):
        doc["delay"] = view.delay_secs
        doc["repl_lag"] = view.repl_lag
    doc["v"] = agent.version
    if ver >= (2, 3, 0):
        doc["mv"] = view.mongo_version
        if view.psmdb_version:
            doc["pv"] = view.psmdb_version
    doc.update({"pbms": pbms, "nodes": nodes, "stors": stors, "hb": hb})
    if ver >= (1, 5, 0):
        doc["e"] = err
    return doc
