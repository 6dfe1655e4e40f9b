"""pmm_agent_on_mongodb_node: the pmm-agent PMM runs each node's service through runs on that service's own node.

pmm-managed picks a service's pmm-agent through the service's agents, not its node (FindPMMAgentsForService,
managed/models/agent_helpers.go; callers take pmmAgents[0]). With remote monitoring (`pmm-admin add mongodb
--host=...` run elsewhere, or a remote instance added in PMM's UI, which PMM Server's own pmm-agent monitors) the
pmm-agent's runs_on_node_id is not the service's node_id, and PMM does on that other host:

- before every backup and every restore, asks it for `mongod --version` and `pbm version` and refuses the job when
  either is missing ("software %q is not installed", managed/services/backup/compatibility_service.go
  CheckSoftwareCompatibilityForService -> compatibility_helpers.go mongoDBBackupSoftwareInstalledAndCompatible;
  agent/versioner/versioner.go runs the binaries on the pmm-agent's host; PMM v3.9.0 and 2.x alike). PMM Server's
  own pmm-agent, `pmm-server` (models.PMMServerAgentID, agent_model.go), has neither: PMM Server's image installs
  no MongoDB and no PBM, so a service it monitors can be neither backed up nor restored. Another host's software
  the exporter cannot see: unknown.
- runs pbm (agent/runner/jobs) and, after a physical restore, restarts mongod and pbm-agent with systemctl
  (managed/services/agents/jobs.go runMongoPostRestore, the RestartSysService action). pmm-managed only waits for
  the action to be queued (agent/client/client.go, agent/runner/runner.go StartAction), so the restart fails there
  or restarts another host's mongod while PMM reports the restore successful; the node's mongod is left down.

Blocks physical_restore on every such node. A service PMM Server monitors also blocks what its enabled schedules
run, and backups, pitr and logical restores when no node of the replica set has a pmm-agent of its own (PMM
backs up and restores a replica set through any one of its services). While the only pmm-agents are on other
hosts, those are unknown.
"""

from __future__ import annotations

from typing import Any

from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import ServiceMatch, match_members, usable_pmm
from exporter.model.pmm_schedules import scheduled_operations
from exporter.model.pmm_service_agents import PMM_SERVER_ID, node_name, serving_pmm_agent
from exporter.model.topology import host_and_port
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import BACKUPS, EVERYTHING, LOGICAL_RESTORE, PHYSICAL_RESTORE, PITR, ordered

CHECK = "pmm_agent_on_mongodb_node"
MAY_BLOCK = EVERYTHING
THROUGH_ANY_SERVICE = BACKUPS | {PITR, LOGICAL_RESTORE}  # PMM runs them through one service the user or schedule picks
REMOVE_COST = ("removing the service deletes its scheduled backups and leaves its artifacts without a service, so "
               "PMM can no longer restore them (models.RemoveService, RemoveCascade): note the schedules to add them "
               "again, and restore an old artifact with `pbm restore <its PBM backup name>` on the node")


def on_pmm_server(agent: dict[str, Any]) -> bool:
    """The pmm-agent is PMM Server's own (agent and node ID `pmm-server`, models.PMMServerAgentID/PMMServerNodeID)."""
    return PMM_SERVER_ID in (agent.get("agent_id"), agent.get("runs_on_node_id"))


def move_fix(inp: CheckInput, name: Any, host: str, port: str, agent_host: str) -> str:
    return (f"Install PMM Client (with pbm) on {host} and register the service from there: pmm-admin remove mongodb "
            f"{name} (on {agent_host}), then on {host}: pmm-admin config --server-url=https://<PMM server>, and "
            f"pmm-admin add mongodb --username=<pmm user> --password=<password> --host=127.0.0.1 --port={port} "
            f"--cluster={inp.settings.name} --replication-set={inp.view.replica_set} {name}. Before that: "
            f"{REMOVE_COST}")


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = usable_pmm(CHECK, inp, "services", "pmm_agents", "exporters", "qan_agents", "nodes", members=True)
    if isinstance(pmm, list):
        return pmm
    matches = match_members(inp)
    results: list[CheckResult] = []
    local = False  # a node whose pmm-agent runs on it: PMM can run pbm there
    server: list[tuple[int, Any]] = []  # (index of its result, service ID) of nodes PMM Server monitors
    remote: list[tuple[Any, Any, str]] = []  # (service ID, name, its pmm-agent's host) of nodes another host monitors
    for member in (m for m in inp.view.members or () if m.data_bearing):  # read: usable_pmm(members=True)
        service = matches.get(member.host, ServiceMatch(None)).service
        agent = serving_pmm_agent(pmm, service.get("service_id"))[1] if service else None
        if service is None or agent is None:
            results.append(skipped(CHECK, "no PMM service with a pmm-agent matches this node (see "
                                          "pmm_client_connected)", member.host, rs))
            continue
        name, service_id = service.get("service_name"), service.get("service_id")
        own, runs_on = service.get("node_id"), agent.get("runs_on_node_id")
        host, port = host_and_port(member.host)
        if on_pmm_server(agent):
            server.append((len(results), service_id))
            results.append(failed(
                CHECK, f"service {name} is monitored by PMM Server's own pmm-agent (pmm-server), which has neither "
                       f"mongod nor pbm: PMM refuses every backup and restore through it (software \"mongod\" is "
                       f"not installed), and after a physical restore would restart mongod on PMM Server",
                move_fix(inp, name, host, port, "PMM Server: Inventory > Services"), member.host, rs,
                {PHYSICAL_RESTORE}))
            continue
        if runs_on == own:
            local = True
            results.append(passed(CHECK, f"service {name}'s pmm-agent runs on its node {node_name(pmm, own)}",
                                  member.host, rs))
            continue
        remote.append((service_id, name, node_name(pmm, runs_on)))
        results.append(failed(
            CHECK, f"service {name} is monitored remotely: its pmm-agent runs on {node_name(pmm, runs_on)}, not on "
                   f"its node {node_name(pmm, own)}, so after a physical restore PMM restarts mongod and pbm-agent "
                   f"on {node_name(pmm, runs_on)} (and reports the restore successful); backups and restores run "
                   f"mongod --version and pbm there, which the exporter cannot see",
            move_fix(inp, name, host, port, node_name(pmm, runs_on)), member.host, rs, {PHYSICAL_RESTORE}))
    for index, service_id in server:
        blocks = {PHYSICAL_RESTORE, *scheduled_operations(inp, service_id)}
        if not local and not remote:
            blocks |= THROUGH_ANY_SERVICE
        results[index] = results[index]._replace(blocks=ordered(blocks))
    # what runs through a pmm-agent on another host: its schedules, and everything when no node has its own
    uncertain = set() if local else set(THROUGH_ANY_SERVICE)
    uncertain.update(*(scheduled_operations(inp, service_id) for service_id, _, _ in remote))
    if remote and uncertain:
        hosts = ", ".join(sorted({f"{name} on {where}" for _, name, where in remote}))
        results.append(unknown(
            CHECK, f"whether PMM can run {', '.join(ordered(uncertain))} for {rs}: they run through pmm-agents on "
                   f"other hosts than their nodes ({hosts}), and PMM refuses a backup or restore when mongod or pbm "
                   f"is missing on that host, which the exporter cannot see", "", rs, uncertain))
    return results
