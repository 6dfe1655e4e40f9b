"""The replica set as the checks see it: members, their states and their PBM agents, derived from the facts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from exporter.facts.observed import Observed, PMMFacts, ReplicaSetFacts, ShardingFacts
from exporter.model.cluster_settings import ClusterSettings
from exporter.model.pbm_agents import AgentReport, index_agents
from exporter.model.topology import (
    MalformedReply,
    Member,
    MemberState,
    member_states,
    members,
    members_from_status,
    set_name,
)
from exporter.results.check_result import CheckResult, unknown

T = TypeVar("T")


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
    # False when admin.pbmConfig was read and holds no main config yet (PMM writes it just before its first
    # backup); True when it does, or when it could not be read (then agents' storage checks count as PBM's do)
    pbm_configured: bool = True

    def agent(self, host: str) -> AgentReport | None:
        return (self.agents or {}).get((self.replica_set, host))


@dataclass(frozen=True)
class CheckInput:
    """Everything a check may look at: what was observed, derived views of it, and the cluster's settings.

    - pmm: PMM's facts for this cycle, or None when the config has no pmm: section.
    - addresses: the IP addresses each host name resolved to this cycle (the probe resolves them).
    - sharding: for the config server replica set of a sharded cluster, what mongos said; else None.
    """

    mongo: ReplicaSetFacts
    view: ClusterView
    settings: ClusterSettings
    pmm: PMMFacts | None = None
    addresses: dict[str, frozenset[str]] = field(default_factory=dict)
    sharding: ShardingFacts | None = None  # set when judging the config servers of a sharded cluster
    control: bool = True  # the replica set whose primary's agent leads PBM: the only one, or the config servers
    # the PBM version of the cluster leader's agent (on the control replica set's primary), when known
    leader_pbm: tuple[int, int, int] | None = None
    # what several checks derive from the same input (its members' PMM services), worked out once
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _parse(fact: Observed[Any], parse: Callable[[Any], T], what: str) -> tuple[T | None, str]:
    """The parsed value of a fact, or None and why: the read failed, or the reply is malformed."""
    if fact.value is None:
        return None, f"cannot read {what}: {fact.error or 'no reply'}"
    try:
        return parse(fact.value), ""
    except MalformedReply as exc:
        return None, str(exc)


def build_view(facts: ReplicaSetFacts) -> ClusterView:
    member_list, members_error = _parse(facts.config, members, "the replica-set config")
    states, states_error = _parse(facts.status, member_states, "the replica-set status")
    notes = []
    if member_list is None and states is not None and facts.status.value is not None:
        # replSetGetConfig refused (or malformed): the members and their states still come from replSetGetStatus,
        # so the per-node checks need not wait for the config; only hidden and delayed members are guesses then
        from_status, _ = _parse(facts.status, lambda reply: members_from_status(reply, facts.hello.value),
                                "the replica-set status")
        if from_status is not None:
            member_list = from_status
            notes.append(f"members read from replSetGetStatus ({members_error}), which does not tell delayed "
                         f"members: hidden ones are not counted as backup candidates")
    agents, agents_error = _parse(facts.agents, index_agents, "admin.pbmAgents")
    cluster_time = facts.cluster_time.value
    if cluster_time is None and not agents_error:
        agents_error = f"the server returned no cluster time: {facts.cluster_time.error or 'no $clusterTime'}"
    pbm_configured = not (facts.pbm_config.error is None and facts.pbm_config.value is None)
    return ClusterView(set_name(facts), member_list, members_error, states, states_error, agents, agents_error,
                       cluster_time, notes, pbm_configured)


def judged_members(check: str, facts: ReplicaSetFacts, view: ClusterView
                   ) -> tuple[list[Member], int, list[CheckResult]]:
    """The data-bearing members a per-node PBM check judges and the cluster time to judge them by; or no
    members and an unknown result per node when the members, agent documents or cluster time cannot be read."""
    if view.members is None:
        return [], 0, [unknown(check, view.members_error, node, view.replica_set) for node in facts.seeds]
    data_members = [m for m in view.members if m.data_bearing]
    if view.agents is None or view.cluster_time is None:
        return [], 0, [unknown(check, view.agents_error, m.host, view.replica_set) for m in data_members]
    return data_members, view.cluster_time, []
