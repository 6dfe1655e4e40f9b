"""The management API's agent list (UniversalAgent, with versions) and PMM 3's agent versions, per dialect.

Sources (percona/pmm on GitHub):
- PMM 3: api/management/v1/service.proto (commit 534a92c6), service `ManagementService`: ListAgents
  `GET /v1/management/agents?service_id=|node_id=`, ListAgentVersions `GET /v1/management/agents/versions`; messages
  UniversalAgent, AgentVersions, enum UpdateSeverity in api/management/v1/agent.proto (commit 614c85da).
- PMM 2: api/managementpb/agent/agent.proto (commit 9f23aec3; package agent.v1beta1), service `Agent`: ListAgents
  `POST /v1/management/Agent/List` with body {service_id} or {node_id}. Same field names, other numbers
  (version 37, is_connected 38); log_level is a string there. PMM 2 has no ListAgentVersions.
- Handlers: managed/services/management/agent.go (`ListAgents`, `validateListAgentRequest`, `agentToAPI`,
  `ListAgentVersions`) and helpers.go (`IsNodeAgent`, `IsVMAgent`, `IsServiceAgent`); version/parsed.go (`Parse`,
  `Less`); models.FindAgents orders by agent_id.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any, Final

from . import _protocol as p
from ._model import Agent, Node, Service
from ._protocol import FIELDS_SINCE_3_9, APIError, Handler

# models.AgentType: what the management API sends as agent_type (managed/models/agent_model.go)
MODEL_AGENT_TYPES: Final = {
    "PMM_AGENT": "pmm-agent", "VM_AGENT": "vmagent", "NODE_EXPORTER": "node_exporter",
    "MYSQLD_EXPORTER": "mysqld_exporter", "MONGODB_EXPORTER": "mongodb_exporter",
    "POSTGRES_EXPORTER": "postgres_exporter", "QAN_MYSQL_PERFSCHEMA_AGENT": "qan-mysql-perfschema-agent",
    "QAN_MYSQL_SLOWLOG_AGENT": "qan-mysql-slowlog-agent", "QAN_MONGODB_PROFILER_AGENT": "qan-mongodb-profiler-agent",
    "QAN_MONGODB_MONGOLOG_AGENT": "qan-mongodb-mongolog-agent",
}  # fmt: skip
_MONGODB_AGENTS: Final = ("MONGODB_EXPORTER", "QAN_MONGODB_PROFILER_AGENT", "QAN_MONGODB_MONGOLOG_AGENT")


def parse_version(text: str) -> tuple[int, int, int, str] | None:
    """version/parsed.go `Parse`: `^(\\d+)\\.(\\d+)\\.(\\d+)(.*)$`."""
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)(.*)", text)
    return (int(match[1]), int(match[2]), int(match[3]), match[4]) if match else None


def version_less(left: tuple[int, int, int, str], right: tuple[int, int, int, str]) -> bool:
    """version/parsed.go `Less`: by major, minor, patch; then a version with a suffix is below the same without."""
    if left[:3] != right[:3]:
        return left[:3] < right[:3]
    if not left[3] or not right[3]:
        return bool(left[3]) and not right[3]
    return left[3] < right[3]


def update_severity(agent_version: str, server_version: str) -> str | None:
    """agent.go `ListAgentVersions`: CRITICAL for an older major, REQUIRED for older, UNSUPPORTED for newer,
    UP_TO_DATE for the same; None when the agent's version does not parse (PMM skips that agent)."""
    agent, server = parse_version(agent_version), parse_version(server_version)
    if agent is None or server is None:
        return None
    if agent[0] < server[0]:
        return "UPDATE_SEVERITY_CRITICAL"
    if version_less(agent, server):
        return "UPDATE_SEVERITY_REQUIRED"
    if version_less(server, agent):
        return "UPDATE_SEVERITY_UNSUPPORTED"
    return "UPDATE_SEVERITY_UP_TO_DATE"


def render_universal_agent(agent: Agent, *, node_id: str, version: str, connected: bool, major: int,
                           release: tuple[int, int, int] | None = None) -> dict[str, Any]:  # fmt: skip
    """agent.go `agentToAPI`, every field in declaration order (the same in both dialects).

    `status` is the models string (the AgentStatus name in the dialect's spelling, "" for a pmm-agent);
    `is_connected` is the registry's `IsConnected(agent_id)`, true only for a connected pmm-agent; the options
    messages are set for the agents that have them (MongoDBOptions for MongoDB agents), null otherwise.
    """
    mongodb_options = None
    if agent.agent_type in _MONGODB_AGENTS:
        mongodb_options = {
            "is_tls_certificate_key_set": False, "is_tls_certificate_key_file_password_set": False,
            "authentication_mechanism": "", "authentication_database": "", "stats_collections": [],
            "collections_limit": 0, "enable_all_collectors": False,
        }  # fmt: skip
    doc = {
        "agent_id": agent.agent_id, "is_agent_password_set": False,
        "agent_type": MODEL_AGENT_TYPES.get(agent.agent_type, agent.agent_type.lower()), "aws_access_key": "",
        "is_aws_secret_key_set": False, "azure_options": None, "created_at": agent.created_at,
        "custom_labels": dict(agent.custom_labels), "disabled": agent.disabled, "disabled_collectors": [],
        "listen_port": agent.listen_port, "log_level": p.enum_out(major, "LogLevel", ""), "max_query_length": 0,
        "max_query_log_size": "0" if major >= 3 else 0,  # int64: a JSON string
        "metrics_path": "", "metrics_scheme": "", "mongo_db_options": mongodb_options, "mysql_options": None,
        "node_id": node_id, "is_password_set": bool(agent.username), "pmm_agent_id": agent.pmm_agent_id,
        "postgresql_options": None, "process_exec_path": agent.process_exec_path,
        "push_metrics": agent.push_metrics_enabled, "query_examples_disabled": False,
        "comments_parsing_disabled": False, "rds_basic_metrics_disabled": False,
        "rds_enhanced_metrics_disabled": False, "runs_on_node_id": agent.runs_on_node_id,
        "service_id": agent.service_id,
        "status": p.enum_out(major, "AgentStatus", agent.status) if agent.status else "",
        "table_count": 0, "table_count_tablestats_group_limit": 0, "tls": agent.tls,
        "tls_skip_verify": agent.tls_skip_verify, "username": agent.username, "updated_at": agent.created_at,
        "version": version, "is_connected": connected, "expose_exporter": False,
    }  # fmt: skip
    if release is not None and release >= FIELDS_SINCE_3_9:  # v3.9.0's UniversalAgent: three more, unset
        doc.update(valkey_options=None, rta_options=None, connection_timeout=None)
        if mongodb_options is not None:
            mongodb_options["enable_diagnostic_data_histograms"] = False
    return doc


class ManagementMixin:
    """SimPMMServer's management API agent calls."""

    # provided by SimPMMServer
    lock: threading.RLock
    major: int
    release: tuple[int, int, int]
    version: str
    _nodes: dict[str, Node]
    _services: dict[str, Service]
    _agents: dict[str, Agent]

    def _management_routes(self) -> dict[str, dict[str, Handler]]:
        if self.major >= 3:
            return {
                "/v1/management/agents": {"GET": self._management_list_agents},
                "/v1/management/agents/versions": {"GET": self._management_agent_versions},
            }
        return {"/v1/management/Agent/List": {"POST": self._management_list_agents}}

    def _model_node_id(self, agent: Agent) -> str:
        """agents.node_id: node_exporter's node; vmagent's is its pmm-agent's node (registry addVMAgentToPMMAgent),
        which the inventory's VMAgent message does not show."""
        if agent.agent_type == "VM_AGENT":
            owner = self._agents.get(agent.pmm_agent_id)
            return owner.runs_on_node_id if owner is not None else ""
        return agent.node_id

    def _agent_version(self, agent: Agent) -> str:
        """A pmm-agent's own version; an agent it runs reports the same (they ship in one pmm-client package)."""
        if agent.agent_type == "PMM_AGENT":
            return agent.version
        owner = self._agents.get(agent.pmm_agent_id)
        return owner.version if owner is not None else ""

    def _render_universal(self, agent: Agent) -> dict[str, Any]:
        return render_universal_agent(
            agent, node_id=self._model_node_id(agent), version=self._agent_version(agent),
            connected=agent.agent_type == "PMM_AGENT" and agent.connected, major=self.major, release=self.release,
        )  # fmt: skip

    def _management_list_agents(self, params: Any) -> dict[str, Any]:
        """ListAgents: exactly one of service_id and node_id.

        By node: agents whose node_id or runs_on_node_id is the node (its pmm-agent, node_exporter, vmagent), none
        if the node does not exist. By service (which must exist): the pmm-agent running on the service's node
        (IsNodeAgent), the vmagent of that node (IsVMAgent) and the service's own agents (IsServiceAgent) -- a
        remote pmm-agent running the service's exporter is not listed, only its exporter row is.
        """
        service_id, node_id = p.str_param(params, "service_id"), p.str_param(params, "node_id")
        if not service_id and not node_id:
            raise APIError(p.INVALID_ARGUMENT, "Either service_id or node_id is expected.")
        if service_id and node_id:
            raise APIError(p.INVALID_ARGUMENT, "Either service_id or node_id is expected, not both.")
        with self.lock:
            agents = self._agents.values()
            if node_id:
                chosen = [a for a in agents if node_id in (a.runs_on_node_id, a.node_id)
                          or (a.agent_type == "VM_AGENT" and self._model_node_id(a) == node_id)]
            else:
                service = self._services.get(service_id)
                if service is None:
                    raise APIError(p.NOT_FOUND, f"Service with ID {json.dumps(service_id)} not found.")
                chosen = [
                    a for a in agents
                    if (not a.service_id and a.runs_on_node_id == service.node_id)
                    or (a.agent_type == "VM_AGENT" and self._model_node_id(a) == service.node_id)
                    or a.service_id == service.service_id
                ]  # fmt: skip
            return {"agents": [self._render_universal(a) for a in sorted(chosen, key=lambda a: a.agent_id)]}

    def _management_agent_versions(self, _: Any) -> dict[str, Any]:
        """ListAgentVersions: every pmm-agent not disabled, whose node exists and whose version parses."""
        with self.lock:
            out = []
            for agent in sorted(self._agents.values(), key=lambda a: a.agent_id):
                node = self._nodes.get(agent.runs_on_node_id)
                if agent.agent_type != "PMM_AGENT" or agent.disabled or node is None:
                    continue
                severity = update_severity(agent.version, self.version)
                if severity is not None:
                    out.append({"agent_id": agent.agent_id, "version": agent.version, "node_name": node.node_name,
                                "severity": severity})  # fmt: skip
            return {"agent_versions": out}
