"""The versions of the pmm-agents that serve MongoDB services: PMM's inventory has none (PMMAgent message,
api/inventory/v1/agents.proto), only the management API does (UniversalAgent.version).

PMM 3 lists every pmm-agent's version in one call (GET /v1/management/agents/versions, ManagementService
ListAgentVersions). PMM 2, and a PMM 3 without that call, answer only per node (POST /v1/management/Agent/List or
GET /v1/management/agents with node_id: the agents running on that node, managed/services/management/agent.go
listAgentsByNodeID; PMM 2's Service/List gives no versions, services/management/service_mgmt.go agentToAPI).
Those per-node answers are kept: a version is asked again after RECHECK_READS reads while it is below what a
check needs (so that an upgrade shows within minutes), after REFRESH_READS otherwise, never-read ones first, and
each read asks at most MAX_CALLS nodes within its time budget, and at least MIN_CALLS: PMM is never flooded, a
small fleet is read at once, and one of thousands of nodes in a bounded number of cycles.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from exporter.facts.observed import Observed
from exporter.probes.pmm_api import Call, Endpoint, PMMError

RECHECK_BELOW = (2, 35, 0)  # the newest pmm-agent version a check asks for (pmm_agent_version_supported)
RECHECK_READS = 5
REFRESH_READS = 360
MAX_CALLS = 100
MIN_CALLS = 10  # made whatever the time budget says: a small fleet is read at once, even on a loaded machine
PMM_AGENT_TYPES = ("pmm-agent", "PMM_AGENT", "AGENT_TYPE_PMM_AGENT")  # models string; enum names just in case


def _below(version: str, wanted: tuple[int, int, int]) -> bool:
    try:
        parts = tuple(int(p) for p in version.removeprefix("v").split("-")[0].split(".")[:3])
    except ValueError:
        return True
    return parts < wanted


class AgentVersions:
    """Reads and keeps pmm-agent versions across reads of PMM (one instance per PMM prober)."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[str, int]] = {}  # pmm-agent ID -> (version, read number)
        self._reads = 0
        self._no_version_list = False  # a PMM 3 that predates ListAgentVersions

    def read(self, call: Call, dialect: int, server: str, pmm_agents: Iterable[dict[str, Any]],
             service_agents: Iterable[dict[str, Any]], deadline: float, budget: float
             ) -> Observed[dict[str, str]]:
        """{pmm-agent ID: version} for the pmm-agents running some MongoDB service's agents; per-node calls stop
        at `budget` (a monotonic time), the whole read at `deadline`."""
        self._reads += 1
        wanted = {str(a.get("pmm_agent_id")) for a in service_agents if a.get("pmm_agent_id")}
        if dialect == 1 and not self._no_version_list:
            try:
                reply = call(Endpoint("GET", "/v1/management/agents/versions"), deadline)
            except PMMError as exc:
                if exc.status != 404:
                    return Observed.failed(str(exc))
                self._no_version_list = True
            else:
                listed = reply.get("agent_versions") if isinstance(reply, dict) else None
                if not isinstance(listed, list):
                    return Observed.failed("PMM's agent versions answer has no agent_versions list")
                return Observed({str(a.get("agent_id")): str(a.get("version") or "") for a in listed
                                 if isinstance(a, dict) and str(a.get("agent_id")) in wanted})
        return self._read_per_node(call, dialect, server, pmm_agents, wanted, deadline, budget)

    def _priority(self, agent_id: str) -> tuple[int, int] | None:
        """Sort key of an agent whose version is due, None when it is not: never read first, then oldest."""
        if agent_id not in self._known:
            return 0, 0
        version, read = self._known[agent_id]
        age = self._reads - read
        return (1, -age) if age >= (RECHECK_READS if _below(version, RECHECK_BELOW) else REFRESH_READS) else None

    def _read_per_node(self, call: Call, dialect: int, server: str, pmm_agents: Iterable[dict[str, Any]],
                       wanted: set[str], deadline: float, budget: float) -> Observed[dict[str, str]]:
        node_of = {str(a.get("agent_id")): str(a.get("runs_on_node_id") or "") for a in pmm_agents}
        due = sorted((a for a in wanted if node_of.get(a) and self._priority(a) is not None),
                     key=lambda a: (self._priority(a), a))
        calls, error = 0, ""
        for agent_id in due:
            if agent_id in self._known and self._known[agent_id][1] == self._reads:
                continue  # told by an earlier call of this read (one node runs several)
            if calls >= MAX_CALLS or (calls >= MIN_CALLS and time.monotonic() >= budget):
                break
            calls += 1
            node = node_of[agent_id]
            try:
                reply = call(Endpoint("POST", "/v1/management/Agent/List", {"node_id": node}) if dialect == 0
                             else Endpoint("GET", "/v1/management/agents", {"node_id": node}), deadline)
            except PMMError as exc:
                if exc.status == 401:
                    raise
                if exc.status == 404 and not self._known:
                    return Observed.failed(f"PMM {server} cannot tell pmm-agent versions (it has no management "
                                           f"agent list)")
                error = str(exc)
                break
            for agent in reply.get("agents", []) if isinstance(reply, dict) else []:
                if isinstance(agent, dict) and agent.get("agent_type") in PMM_AGENT_TYPES and agent.get("version"):
                    self._known[str(agent.get("agent_id"))] = (str(agent["version"]), self._reads)
        self._known = {a: known for a, known in self._known.items() if a in wanted}
        if error and not self._known:
            return Observed.failed(error)
        return Observed({a: version for a, (version, _) in self._known.items()})
