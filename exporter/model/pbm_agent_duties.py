"""What each node's pbm-agent does in each operation, and so which operations an unusable agent blocks.

Read from PBM's source (percona/percona-backup-mongodb, v2.15):
- Backups and PITR are started only by the cluster leader: the agent on the primary of the replica set, or of the
  config server replica set when sharded (cmd/pbm-agent/backup.go Backup: `if isClusterLeader`; pitr.go;
  pbm/topo/node.go IsClusterLeader). The leader nominates, per replica set, one candidate agent to do the work.
- A candidate is an agent in steady state: PRIMARY or SECONDARY, not an arbiter, not delayed, replication lag under
  21 s (pbm/topo/agent.go ListSteadyAgents), whose OK() holds: PBM connection, node connection and storage
  (pbm/prio/priority.go CalcNodesPriority skips `!a.OK()`). Documents more than 35 s stale are deleted first
  (AgentStatusGC). So a dead agent on one secondary does not stop a backup while another node can take it.
- A logical restore runs on each replica set's primary only (cmd/pbm-agent/restore.go Restore: "This node is not
  the primary").
- A physical restore waits for every non-arbiter member of every replica set (pbm/restore/physical.go init:
  syncPathPeers holds each member that is not ArbiterOnly).
- Before PBM has a config (no admin.pbmConfig document) every agent reports its storage failing ("unable to get
  storage: get config": cmd/pbm-agent/agent.go storStatus -> pbm/util/storage.go GetStorage -> config.GetConfig).
  PMM writes the config just before `pbm backup`, and an agent whose storage failed re-checks it on every 5-s tick
  ("if storage was(is) failed, check it always", storStatus, v2.0.1..HEAD); the leader lists candidates only when
  the backup command arrives (cmd/pbm-agent/backup.go). So until a config exists the storage failure is not held
  against a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

from exporter.model.cluster_view import ClusterView
from exporter.model.pbm_agents import AgentReport, parse_version
from exporter.model.topology import PRIMARY, SECONDARY, Member
from exporter.results.operations import BACKUPS, LOGICAL_RESTORE, PHYSICAL_RESTORE, PITR

MAX_REPLICATION_LAG_SEC = 21  # pbm/defs/defs.go MaxReplicationLagTimeSec: ListSteadyAgents skips lag >= 21 s
PRIORITY_PRIMARY, PRIORITY_SECONDARY, PRIORITY_HIDDEN = 0.5, 1.0, 2.0  # pbm/prio/priority.go implicitPrioCalc


def failing_self_checks(agent: AgentReport, *, storage: bool = True) -> list[str]:
    """The agent's own checks that are not OK (pbm/topo/agent.go AgentStat.OK: PBM connection, node connection,
    storage); a missing one counts as failing."""
    subs = [("PBM connection", agent.pbm_connection), ("node connection", agent.node_connection)]
    if storage:
        subs.append(("storage", agent.storage))
    return [name for name, sub in subs if sub is None or not sub.ok]


def agent_state(view: ClusterView, host: str) -> int | None:
    """The member's state as PBM sees it: its agent document's `s`, else replSetGetStatus's."""
    agent = view.agent(host)
    if agent is not None and agent.state is not None:
        return agent.state
    return getattr((view.states or {}).get(host), "state", None)


def not_a_candidate(view: ClusterView, member: Member, *, physical: bool = False) -> str:
    """Why PBM would not nominate this member's agent for a backup or PITR slicing ("" when it would): the filters
    of ListSteadyAgents (state from the agent's own document, arbiter, delay, lag), CalcNodesPriority (OK()) and,
    for physical backups, getValidCandidates (Percona Server 4.2.15, 4.4.6 or 5.0+, from the agent's pv and mv)."""
    agent = view.agent(member.host)
    if not member.data_bearing:
        return "an arbiter"
    if agent is None or view.cluster_time is None:
        return "no agent document"
    if agent.is_stale(view.cluster_time):
        return "its agent's heartbeat is stale"
    failing = failing_self_checks(agent, storage=view.pbm_configured)
    if failing:
        return f"its agent's {' and '.join(failing)} check{'s' if len(failing) > 1 else ''} fail"
    if agent_state(view, member.host) not in (PRIMARY, SECONDARY):
        return "neither PRIMARY nor SECONDARY"
    delay = agent.delay or member.delay_secs
    if delay:
        return f"delayed {delay} s"
    if member.maybe_delayed and agent.delay is None:
        return "hidden, and maybe delayed (replSetGetConfig could not be read)"
    if agent.repl_lag is not None and agent.repl_lag >= MAX_REPLICATION_LAG_SEC:
        return f"{agent.repl_lag} s behind the primary (PBM's limit is {MAX_REPLICATION_LAG_SEC} s)"
    if physical and agent.mongo_version is not None:  # agents before 2.3 write no mv: nothing to judge by
        return physical_backup_refusal(agent.mongo_version, agent.psmdb_version)
    return ""


# pbm/version/version.go FeatureSupport.FullPhysicalBackup (v2.2.1..HEAD): "PSMDB 4.2.15, 4.4.6", any 5.0+
FULL_PHYSICAL_SINCE = {(4, 2): 15, (4, 4): 6}


def mongo_version_numbers(mongo_version: str) -> tuple[int, int, int] | None:
    """major.minor.patch of an agent's `mv` as PBM reads it (pbm/topo/agent.go AgentStat.MongoVersion: semver core,
    up to the first "-"); None when it has no numeric major.minor."""
    parts = mongo_version.strip().split("-", 1)[0].split(".")[:3]
    numbers = [int(p) if p.isascii() and p.isdigit() and len(p) <= 9 else -1 for p in parts] + [0] * (3 - len(parts))
    if len(numbers) < 2 or numbers[0] < 0 or numbers[1] < 0:
        return None
    return numbers[0], numbers[1], max(numbers[2], 0)


NOT_PSMDB = "not Percona Server for MongoDB"  # physical_backup_refusal's word for a Community or Enterprise build


def physical_backup_refusal(mongo_version: str, psmdb_version: str | None) -> str:
    """Why PBM would not take a full physical backup from this server ("" when it would):
    FeatureSupport.BackupType(physical) -> FullPhysicalBackup needs Percona Server (pv set) and 4.2.15, 4.4.6 or
    5.0+; getValidCandidates (cmd/pbm-agent/backup.go, 2.3+) drops an agent that fails it."""
    if psmdb_version is None:
        return NOT_PSMDB
    version = mongo_version_numbers(mongo_version)
    if version is None:
        return f"its MongoDB version {mongo_version!r} cannot be read"
    floor = FULL_PHYSICAL_SINCE.get(version[:2])
    if version[0] >= 5 or (floor is not None and version[2] >= floor):
        return ""
    return (f"Percona Server for MongoDB {psmdb_version}, older than PBM's floor for physical backups "
            f"(4.2.15, 4.4.6, or 5.0 and newer)")


def priority(view: ClusterView, member: Member, configured: dict[str, float] | None = None) -> float:
    """PBM's score for a candidate: backup.priority from its config when set (unlisted or negative: 1.0), else
    hidden 2.0 > secondary 1.0 > primary 0.5 (pbm/prio/priority.go explicitPrioCalc, implicitPrioCalc)."""
    if configured:
        score = configured.get(member.host)
        return score if isinstance(score, int | float) and score >= 0 else PRIORITY_SECONDARY
    agent = view.agent(member.host)
    if agent_state(view, member.host) == PRIMARY:
        return PRIORITY_PRIMARY
    return PRIORITY_HIDDEN if member.hidden or (agent is not None and agent.hidden) else PRIORITY_SECONDARY


def candidates(view: ClusterView, *, physical: bool = False) -> list[str]:
    """The members whose agents PBM could nominate for a backup (or PITR slicing) of this replica set."""
    if view.members is None or view.cluster_time is None:
        return []
    return [m.host for m in view.members if not not_a_candidate(view, m, physical=physical)]


@dataclass(frozen=True)
class Duties:
    """The operations an unusable agent on one node blocks, and in words why."""

    blocks: frozenset[str]
    why: str


def without_agent(view: ClusterView, host: str, *, control: bool, nominates: bool = True) -> Duties:
    """What the node `host` being without a usable agent blocks. `control`: this replica set is the one whose
    primary leads the cluster (the only one, or the config servers). `nominates`: whether the failure also stops
    the agent from acting as the leader (a dead agent; not one that only cannot reach the storage)."""
    blocks = {PHYSICAL_RESTORE}
    why = ["a physical restore needs every node's agent"]
    primary = getattr((view.states or {}).get(host), "state", None) == PRIMARY
    if primary:
        blocks.add(LOGICAL_RESTORE)
        why.append("a logical restore runs on the primary's agent")
        if control and nominates:
            blocks |= BACKUPS | {PITR}
            why.append("this is the cluster leader, whose agent starts every backup and PITR")
    others = [c for c in candidates(view) if c != host]
    if not blocks >= BACKUPS:
        if others:
            why.append(f"backups and PITR can run from {', '.join(others)}")
        else:
            blocks |= BACKUPS | {PITR}
            why.append(f"no other node of {view.replica_set} has an agent PBM could nominate for backups and PITR")
    return Duties(frozenset(blocks), "; ".join(why))


def leader_version(view: ClusterView) -> tuple[int, int, int] | None:
    """The PBM version of the agent on this replica set's primary, the cluster leader when this is the control
    replica set (pbm/topo/node.go IsClusterLeader); None when it has no fresh agent or its version is unreadable."""
    primary = next((h for h, s in (view.states or {}).items() if s.state == PRIMARY), None)
    agent = view.agent(primary) if primary is not None else None
    if agent is None or view.cluster_time is None or agent.is_stale(view.cluster_time):
        return None
    return parse_version(agent.version)
