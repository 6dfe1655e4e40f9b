"""The replica set as the checks see it: members, their states and their PBM agents, derived from the facts."""

from __future__ import annotations

from dataclasses import dataclass, field

from exporter.checks.pbm_agents import AgentReport, index_agents
from exporter.checks.topology import MalformedReply, Member, MemberState, member_states, members, set_name
from exporter.facts import ReplicaSetFacts


@dataclass(frozen=True)
class ClusterView:
    replica_set: str
    members: list[Member] | None
    members_error: str = ""
    states: dict[str, MemberState] | None = None
    states_error: str = ""
    agents: dict[tuple[str, str], AgentReport] | None = None
    agents_error: str = ""
    cluster_time: int | None = None
    notes: list[str] = field(default_factory=list)

    def agent(self, host: str) -> AgentReport | None:
        return (self.agents or {}).get((self.replica_set, host))


def build_view(facts: ReplicaSetFacts) -> ClusterView:
    rs = set_name(facts)
    member_list: list[Member] | None = None
    members_error = ""
    if facts.config.value is not None:
        try:
            member_list = members(facts.config.value)
        except MalformedReply as exc:
            members_error = str(exc)
    else:
        members_error = f"cannot read the replica-set config: {facts.config.error or 'no reply'}"

    states: dict[str, MemberState] | None = None
    states_error = ""
    if facts.status.value is not None:
        try:
            states = member_states(facts.status.value)
        except MalformedReply as exc:
            states_error = str(exc)
    else:
        states_error = f"cannot read the replica-set status: {facts.status.error or 'no reply'}"

    agents = None
    agents_error = ""
    if facts.agents.value is not None:
        agents = index_agents(facts.agents.value)
    else:
        agents_error = f"cannot read admin.pbmAgents: {facts.agents.error or 'no reply'}"

    cluster_time = facts.cluster_time.value
    if cluster_time is None and not agents_error:
        agents_error = f"the server returned no cluster time: {facts.cluster_time.error or 'no $clusterTime'}"
    return ClusterView(rs, member_list, members_error, states, states_error, agents, agents_error, cluster_time)
