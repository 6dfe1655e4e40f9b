"""Which PMM agents serve a MongoDB service, picked the way pmm-managed picks them.

- The pmm-agent that runs a service's backups and restores: the first, by agent ID, of the pmm-agents running any
  of the service's agents (managed/models/agent_helpers.go FindPMMAgentsForService, ORDER BY agent_id; callers
  take pmmAgents[0]). It is found through the service's agents, never through the service's node, so it may run
  on another host (remote monitoring).
- The agent whose DSN pbm runs with: that pmm-agent's QAN MongoDB profiler agent of the service, else its
  mongodb_exporter (managed/models/dsn_helpers.go FindDSNByServiceIDandPMMAgentID).
"""

from __future__ import annotations

from typing import Any

from exporter.facts.observed import PMMFacts

# PMM Server's own Node and pmm-agent (managed/models/agent_model.go PMMServerAgentID, node_model.go PMMServerNodeID)
PMM_SERVER_ID = "pmm-server"


def service_agents(pmm: PMMFacts, service_id: Any) -> list[dict[str, Any]]:
    """The service's mongodb_exporter and QAN MongoDB profiler agents."""
    index = pmm.inventory
    return [*index.exporters.get(service_id, []), *index.qan_agents.get(service_id, [])]


def serving_pmm_agent(pmm: PMMFacts, service_id: Any) -> tuple[str, dict[str, Any] | None]:
    """(ID, inventory document) of the pmm-agent PMM runs the service's jobs through; ("", None) when no agent of
    the service names one, (ID, None) when the inventory has no such pmm-agent."""
    ids = sorted({str(a.get("pmm_agent_id")) for a in service_agents(pmm, service_id) if a.get("pmm_agent_id")})
    if not ids:
        return "", None
    return ids[0], pmm.inventory.pmm_agents.get(ids[0])


def dsn_agent(pmm: PMMFacts, service_id: Any, pmm_agent_id: str) -> tuple[str, dict[str, Any]] | None:
    """(kind, agent) PMM takes the service's DSN from: "QAN MongoDB profiler agent" or "mongodb_exporter"."""
    index = pmm.inventory
    for kind, agents in (("QAN MongoDB profiler agent", index.qan_agents), ("mongodb_exporter", index.exporters)):
        for agent in agents.get(service_id, []):
            if str(agent.get("pmm_agent_id")) == pmm_agent_id:
                return kind, agent
    return None


def node_name(pmm: PMMFacts, node_id: Any) -> str:
    node = pmm.inventory.nodes.get(node_id)
    return str(node.get("node_name") or node_id) if node else str(node_id or "?")
