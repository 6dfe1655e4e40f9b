"""pmm_agent_on_mongodb_node: the pmm-agent PMM runs each node's service through runs on that service's own node.

pmm-managed picks a service's pmm-agent through the service's agents, not its node (FindPMMAgentsForService,
managed/models/agent_helpers.go). With remote monitoring (`pmm-admin add mongodb --host=...` run elsewhere) the
pmm-agent's runs_on_node_id is not the service's node_id, so on that other host PMM looks for mongod and pbm
(compatibility_service.go CheckSoftwareCompatibilityForService), runs pbm (agent/runner/jobs), and after a
physical restore restarts mongod and pbm-agent with systemctl (jobs.go runMongoPostRestore, the
RestartSysService action): they fail there or restart another host's, and the restore is reported failed.

Blocks physical_restore. Backups and logical restores run pbm from that host too, which works when pbm and mongod
are installed there and reach the cluster, so for them it is a warning in the reason.
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import ServiceMatch, match_members, usable_pmm
from exporter.model.pmm_service_agents import node_name, serving_pmm_agent
from exporter.model.topology import host_and_port
from exporter.results.check_result import CheckResult, failed, passed, skipped
from exporter.results.operations import PHYSICAL_RESTORE

CHECK = "pmm_agent_on_mongodb_node"
MAY_BLOCK = frozenset({PHYSICAL_RESTORE})


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = usable_pmm(CHECK, inp, "services", "pmm_agents", "exporters", "qan_agents", "nodes", members=True)
    if isinstance(pmm, list):
        return pmm
    matches = match_members(inp)
    results = []
    for member in (m for m in inp.view.members or () if m.data_bearing):  # read: usable_pmm(members=True)
        service = matches.get(member.host, ServiceMatch(None)).service
        agent = serving_pmm_agent(pmm, service.get("service_id"))[1] if service else None
        if service is None or agent is None:
            results.append(skipped(CHECK, "no PMM service with a pmm-agent matches this node (see "
                                          "pmm_client_connected)", member.host, rs))
            continue
        name = service.get("service_name")
        own, runs_on = service.get("node_id"), agent.get("runs_on_node_id")
        if runs_on == own:
            results.append(passed(CHECK, f"service {name}'s pmm-agent runs on its node {node_name(pmm, own)}",
                                  member.host, rs))
            continue
        host, port = host_and_port(member.host)
        results.append(failed(
            CHECK, f"service {name} is monitored remotely: its pmm-agent runs on {node_name(pmm, runs_on)}, not on "
                   f"its node {node_name(pmm, own)}, so after a physical restore PMM restarts mongod and pbm-agent "
                   f"on {node_name(pmm, runs_on)}; backups and restores also run pbm from there",
            f"Install PMM Client on {host} and register the service from there: pmm-admin remove mongodb {name} "
            f"(on {node_name(pmm, runs_on)}), then on {host}: pmm-admin config --server-url=https://<PMM server>, "
            f"and pmm-admin add mongodb --username=<pmm user> --password=<password> --host=127.0.0.1 --port={port} "
            f"--cluster={inp.settings.name} --replication-set={rs} {name}",
            member.host, rs, {PHYSICAL_RESTORE}))
    return results
