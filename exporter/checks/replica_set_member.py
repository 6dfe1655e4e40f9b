"""replica_set_member: each node is a healthy replica-set member (PBM and PMM need a replica set).

Blocks: a standalone mongod, everything (pbm-agent refuses to start on one: cmd/pbm-agent/agent.go CanStart,
"mongod node can not be used to fetch a consistent backup because it has no oplog"). A data-bearing member that is
down (health 0) or in another state (STARTUP, UNKNOWN, REMOVED...), physical_restore (pbm/restore/physical.go init:
the restore waits for every non-arbiter member's agent); backups go on from the healthy members (pbm/topo/agent.go
ListSteadyAgents). A member RECOVERING, in STARTUP2 or in ROLLBACK with health 1: a warning that blocks nothing, as
PBM's physical restore tests no member state (physical.go, v2.0.1..HEAD: syncPathPeers takes every member that is
not ArbiterOnly, and cmd/pbm-agent/restore.go skips only an arbiter); its mongod runs, so its agent takes part, and
pbm_agent_running fails the node when that agent is not running. An arbiter that is down, nothing: PBM does not use
arbiters.
"""

from __future__ import annotations

from exporter.facts.observed import ReplicaSetFacts
from exporter.model.cluster_view import CheckInput
from exporter.model.topology import ARBITER, PRIMARY, SECONDARY
from exporter.results.check_result import CheckResult, failed, passed, unknown
from exporter.results.operations import EVERYTHING, PHYSICAL_RESTORE

CHECK = "replica_set_member"
MAY_BLOCK = EVERYTHING
# mongod runs and replies in these states (MongoDB docs "Replica Set Member States"): a physical restore takes the
# member in like any other, so PBM needs only its agent
RECOVERING, STARTUP2, ROLLBACK = 3, 5, 9
RUNNING_STATES = (RECOVERING, STARTUP2, ROLLBACK)

STANDALONE_FIX = (
    "Convert the standalone mongod to a replica set: set replication.replSetName (e.g. rs0) in mongod.conf, "
    "restart mongod (sudo systemctl restart mongod), then run rs.initiate() in mongosh. "
    "A single-node replica set is enough for PBM and PMM backups."
)


def is_standalone(facts: ReplicaSetFacts) -> bool:
    hello = facts.hello.value
    return isinstance(hello, dict) and not hello.get("setName") and hello.get("msg") != "isdbgrid"


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, view = inp.mongo, inp.view
    if is_standalone(facts):
        node = facts.seeds[0] if facts.seeds else ""
        return [failed(CHECK, "standalone mongod, not a replica-set member: PBM and PMM back up replica sets "
                              "only (pbm-agent refuses a standalone node)", STANDALONE_FIX, node, blocks=EVERYTHING)]
    rs = view.replica_set
    if view.members is None:
        return [unknown(CHECK, view.members_error, node, view.replica_set) for node in facts.seeds]
    if view.states is None:
        return [unknown(CHECK, view.states_error, m.host, rs) for m in view.members]
    results = []
    for member in view.members:
        state = view.states.get(member.host)
        if state is None:
            results.append(unknown(CHECK, "the node is in the replica-set config but not in replSetGetStatus",
                                   member.host, rs))
            continue
        healthy = state.health == 1.0 and state.state in (PRIMARY, SECONDARY, ARBITER)
        described = f"{state.state_str or f'state {state.state}'} (health {state.health:g})" \
            if state.health is not None else state.state_str or f"state {state.state}"
        if healthy:
            results.append(passed(CHECK, f"member of replica set {rs}: {state.state_str}", member.host, rs))
        else:
            host = member.host.rsplit(":", 1)[0]
            running = not member.arbiter and state.health == 1.0 and state.state in RUNNING_STATES
            why = ("an arbiter: PBM does not use it" if member.arbiter else
                   "a warning that blocks nothing: backups run from the PRIMARY and SECONDARY members, and a "
                   "physical restore takes this member in as it is, through its pbm-agent (PBM checks no member "
                   "state)" if running else
                   "a physical restore needs every data-bearing member; backups run from the healthy ones")
            results.append(failed(
                CHECK,
                f"member of replica set {rs} but not healthy: {described} ({why})",
                f"On {host}: make sure mongod is running (sudo systemctl status mongod; start it with "
                f"sudo systemctl start mongod), reachable on {member.host} from the other members, and check "
                f"its log for why it is not PRIMARY or SECONDARY (rs.status() in mongosh shows the state).",
                member.host, rs, () if member.arbiter or running else {PHYSICAL_RESTORE}))
    return results
