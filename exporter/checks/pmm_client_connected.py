"""pmm_client_connected: each data-bearing node has a MongoDB service in PMM whose pmm-agent is connected and
whose mongodb_exporter is running.

PMM 2.38+ and PMM 3 need PMM Client on every MongoDB node: PMM runs pbm through a node's pmm-agent and, after a
physical restore, restarts mongod and pbm-agent through each node's pmm-agent (pmm.md 1.1, 3.11). PMM 2.32 to
2.37 needed it on one node for logical backups and on every node for physical ones.
"""

from __future__ import annotations

from typing import Any

from exporter.checks.pmm_inventory import ServiceMatch, match_members, pmm_unavailable, pmm_version, split_host_port
from exporter.checks.results import CheckResult, failed, passed, unknown
from exporter.checks.view import CheckInput

CHECK = "pmm_client_connected"
EVERY_NODE_SINCE = (2, 38, 0)


def register_fix(member: str, cluster: str, replica_set: str) -> str:
    host, port = split_host_port(member)
    return (
        f"On {host}: register its mongod with PMM: pmm-admin add mongodb --username=<pmm user> "
        f"--password=<password> --host={host} --port={port} --cluster={cluster} --replication-set={replica_set} "
        f"{host}-{port}. If it is registered under another address, name its service in the exporter's config: "
        f'pmm_services: {{"{member}": "<service name>"}}'
    )


def _problem(match: ServiceMatch, agents: dict[str, dict[str, Any]], exporters: list[dict[str, Any]]
             ) -> tuple[str, str]:
    """(problem, fix) for a matched service, or ("", "") when its pmm-agent and exporter are fine."""
    service = match.service or {}
    name, service_id = service.get("service_name", "?"), service.get("service_id")
    exporter = next((e for e in exporters if e.get("service_id") == service_id), None)
    if exporter is None:
        return (f"service {name} has no mongodb_exporter in PMM",
                f"Remove and re-add the service: pmm-admin remove mongodb {name}, then "
                f"pmm-admin add mongodb ... {name}")
    agent = agents.get(str(exporter.get("pmm_agent_id")))
    if agent is None or not agent.get("connected"):
        return (f"the pmm-agent serving service {name} is not connected to PMM Server",
                "On that node: sudo systemctl restart pmm-agent, then pmm-admin status shows it connected (check "
                "network access to PMM Server and the server address in /usr/local/percona/pmm*/config/pmm-agent.yaml)")
    status = exporter.get("status", "UNKNOWN")
    if exporter.get("disabled") or status != "RUNNING":
        state = "disabled" if exporter.get("disabled") else status
        return (f"the mongodb_exporter of service {name} is {state}, not RUNNING",
                "On that node: sudo systemctl restart pmm-agent, then pmm-admin list shows the exporter Running "
                "(journalctl -u pmm-agent says why it is not, often the MongoDB user's password)")
    return "", ""


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = inp.pmm
    unavailable = pmm_unavailable(CHECK, inp, *([pmm.services, pmm.pmm_agents, pmm.exporters, pmm.nodes]
                                                 if pmm else []))
    if unavailable is not None:
        return unavailable
    assert pmm is not None
    if inp.view.members is None:
        return [unknown(CHECK, inp.view.members_error, node, rs) for node in inp.mongo.seeds]
    agents = {str(a.get("agent_id")): a for a in pmm.pmm_agents.value or []}
    exporters = list(pmm.exporters.value or [])
    matches = match_members(inp)
    data_members = [m for m in inp.view.members if m.data_bearing]
    problems: dict[str, tuple[str, str]] = {}
    for member in data_members:
        match = matches.get(member.host, ServiceMatch(None, problem="not matched"))
        if match.service is None:
            problems[member.host] = (f"no PMM Client monitors this node: {match.problem}",
                                     register_fix(member.host, inp.settings.name, rs))
        else:
            problem = _problem(match, agents, exporters)
            if problem[0]:
                problems[member.host] = problem
    version = pmm_version(inp)
    every_node = version is None or version >= EVERY_NODE_SINCE or inp.settings.backup_mode == "physical"
    covered = [m.host for m in data_members if m.host not in problems]
    results = []
    for member in data_members:
        match = matches[member.host]
        if member.host not in problems:
            service = match.service or {}
            results.append(passed(CHECK, f"service {service.get('service_name')} ({match.how}): pmm-agent "
                                         f"connected, mongodb_exporter RUNNING", member.host, rs))
        elif not every_node and covered:
            results.append(passed(CHECK, f"{problems[member.host][0]}; PMM {pmm.version} needs PMM Client on one "
                                         f"node only for logical backups, and {covered[0]} has it", member.host, rs))
        else:
            reason, fix = problems[member.host]
            if version is not None and version < EVERY_NODE_SINCE and inp.settings.backup_mode == "physical":
                reason += f" (PMM {pmm.version} needs PMM Client on every node for physical backups)"
            results.append(failed(CHECK, reason, fix, member.host, rs))
    return results
