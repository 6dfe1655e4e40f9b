"""pmm_cluster_services_connected: every MongoDB service in PMM carrying the cluster's name has a connected
pmm-agent, members or not.

After a physical restore pmm-managed finds every MongoDB service with the restored service's cluster label
(models.FindServices), takes each one's pmm-agent (FindPMMAgentsForService()[0]) and asks all of them to restart
mongod, then pbm-agent; the first it cannot find or reach fails the restore, "cannot find pmm agent for service
%s" (managed/services/agents/jobs.go runMongoPostRestore). A service left behind by a re-registration under
another name or address, whose node is gone, is such a service.

Judged per replica set, on the services whose replication_set is that set's name; the control replica set (the
only one, or the config servers) also judges those whose replication_set names no shard (mongos, or none given).

Blocks physical_restore.
"""

from __future__ import annotations

from typing import Any

from exporter.facts.observed import PMMFacts
from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import REMOVE_DESTROYS, match_members, usable_pmm
from exporter.model.pmm_schedules import cluster_label, label_note, our_services
from exporter.model.pmm_service_agents import node_name, serving_pmm_agent
from exporter.results.check_result import CheckResult, failed, passed, skipped
from exporter.results.operations import PHYSICAL_RESTORE

CHECK = "pmm_cluster_services_connected"
MAY_BLOCK = frozenset({PHYSICAL_RESTORE})


def judged_services(inp: CheckInput) -> list[dict[str, Any]]:
    rs = inp.view.replica_set
    shards = {str(s.get("_id")) for s in inp.sharding.shards} if inp.sharding else set()
    return [s for s in our_services(inp) if s.get("replication_set") == rs or
            (inp.control and str(s.get("replication_set") or "") not in shards | {rs})]


def _what_removal_destroys(pmm: PMMFacts, service: dict[str, Any]) -> str:
    """The stale service's own schedules and artifacts, which its removal deletes and orphans (models.RemoveService,
    RemoveCascade): worth a warning only when it has some."""
    schedules = pmm.backups.schedules.get(service.get("service_id"), [])
    artifacts = pmm.backups.artifacts.get(service.get("service_id"), [])
    if not schedules and not artifacts:
        return ""
    owned = ", ".join(part for part in (
        f"{len(schedules)} scheduled backup{'s' if len(schedules) != 1 else ''}" if schedules else "",
        f"{len(artifacts)} artifact{'s' if len(artifacts) != 1 else ''}" if artifacts else "") if part)
    return (f"; it owns {owned}: {REMOVE_DESTROYS}, so first recreate its schedules on a member's service, and "
            f"remove it once the cluster has a newer backup")


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = usable_pmm(CHECK, inp, "services", "pmm_agents", "exporters", "qan_agents", "nodes")
    if isinstance(pmm, list):
        return pmm
    services = judged_services(inp)
    if not services:
        return [skipped(CHECK, f"no MongoDB service in PMM carries cluster name {cluster_label(inp)!r} and "
                               f"replication set {rs} (see service_cluster_name)", "", rs)]
    members = {str(m.service.get("service_id")) for m in match_members(inp).values() if m.service is not None}
    problems, fixes = [], []
    for service in services:
        name = service.get("service_name")
        agent_id, agent = serving_pmm_agent(pmm, service.get("service_id"))
        stale = str(service.get("service_id")) not in members
        if agent is not None and agent.get("connected"):
            continue
        state = ("has no agent in PMM" if not agent_id else f"has pmm-agent {agent_id}, which PMM's inventory lacks"
                 if agent is None else f"has its pmm-agent on {node_name(pmm, agent.get('runs_on_node_id'))} "
                                       f"disconnected")
        if stale:
            state += " and matches no member of the replica set now (left behind by a re-registration?)"
            fixes.append(f"pmm-admin remove mongodb {name} (or PMM: Inventory > Services > {name} > Delete)"
                         + _what_removal_destroys(pmm, service))
        else:
            fixes.append(f"on the node of {name}: sudo systemctl restart pmm-agent, then pmm-admin status")
        problems.append(f"service {name} {state}")
    if not problems:
        return [passed(CHECK, f"{len(services)} service{'s' if len(services) != 1 else ''} of cluster "
                              f"{cluster_label(inp)!r} in PMM, each with a connected pmm-agent{label_note(inp)}",
                       "", rs)]
    return [failed(CHECK, "; ".join(problems) + ": after a physical restore PMM restarts mongod and pbm-agent "
                                                 "through every service carrying the cluster's name, and fails at it"
                                                 + label_note(inp),
                   "; ".join(fixes), "", rs, {PHYSICAL_RESTORE})]
