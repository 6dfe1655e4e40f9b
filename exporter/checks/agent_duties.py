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
"""

from __future__ import annotations

from dataclasses import dataclass

from exporter.checks.operations import BACKUPS, LOGICAL_RESTORE, PHYSICAL_RESTORE, PITR
from exporter.checks.pbm_agents import AgentReport
from exporter.checks.topology import PRIMARY, SECONDARY
from exporter.checks.view import ClusterView


def usable(agent: AgentReport | None, cluster_time: int) -> bool:
    """An agent PBM would hand work to: fresh, and OK() (its PBM, node and storage checks)."""
    if agent is None or agent.is_stale(cluster_time):
        return False
    return all(sub is not None and sub.ok for sub in (agent.pbm_connection, agent.node_connection, agent.storage))


def candidates(view: ClusterView) -> list[str]:
    """The members whose agents PBM could nominate for a backup or PITR slicing of this replica set."""
    if view.members is None or view.cluster_time is None:
        return []
    states = view.states or {}
    return [m.host for m in view.members
            if m.data_bearing and not m.delay_secs and not m.maybe_delayed
            and getattr(states.get(m.host), "state", None) in (PRIMARY, SECONDARY)
            and usable(view.agent(m.host), view.cluster_time)]


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
