"""pmm_client_connected: each data-bearing node has a MongoDB service in PMM whose pmm-agent is connected, with an
agent PMM can take the MongoDB DSN from.

PMM runs pbm through the pmm-agent of the service a backup or restore is started on (pmmAgents[0] of
models.FindPMMAgentsForService; a disconnected one fails at agents.Registry.get, "pmm-agent with ID %s is not
currently connected"), with the DSN of that service's QAN MongoDB profiler agent, else its mongodb_exporter
(models/dsn_helpers.go FindDSNByServiceIDandPMMAgentID, which does not look at the agent's status): so an exporter
that is not RUNNING does not stop a backup (a warning). After a physical restore pmm-managed restarts mongod and
pbm-agent through the pmm-agent of every service carrying the cluster name, and fails at the first it cannot
reach (managed/services/agents/jobs.go runMongoPostRestore). PMM 2.32 to 2.37 needed PMM Client on one node for
logical backups (pmm.md 1.1, 3.11).

Blocks: a node without a connected pmm-agent and a DSN blocks physical_restore, and what enabled schedules run
through its service (managed/services/scheduler/task.go: a schedule runs through its own service); backups, PITR
and logical restores otherwise only when no node of its replica set has one (PMM could be asked to use another
service). In a sharded cluster PMM runs a backup or PITR through any one service of the cluster, whatever its
replica set (pmm_schedules.runnable_services), so a shard without one blocks them only when no service of the
cluster's label could run them; its logical restores keep the per-replica-set rule.
"""

from __future__ import annotations

from exporter.facts.pmm_indexes import InventoryIndex
from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import (
    REMOVE_DESTROYS,
    ServiceMatch,
    match_members,
    pmm_unavailable,
    pmm_version,
    split_host_port,
)
from exporter.model.pmm_schedules import is_sharded, runnable_services, scheduled_operations
from exporter.results.check_result import CheckResult, failed, passed, unknown
from exporter.results.operations import (
    BACKUPS,
    EVERYTHING,
    LOGICAL_RESTORE,
    NOTHING,
    PHYSICAL_BACKUP,
    PHYSICAL_RESTORE,
    PITR,
    ordered,
)

CHECK = "pmm_client_connected"
MAY_BLOCK = EVERYTHING
EVERY_NODE_SINCE = (2, 38, 0)


def register_fix(member: str, cluster: str, replica_set: str) -> str:
    host, port = split_host_port(member)
    return (
        f"On {host}: register its mongod with PMM: pmm-admin add mongodb --username=<pmm user> "
        f"--password=<password> --host={host} --port={port} --cluster={cluster} --replication-set={replica_set} "
        f"{host}-{port}. If it is registered under another address, name its service in the exporter's config: "
        f'pmm_services: {{"{member}": "<service name>"}}'
    )


def _problem(match: ServiceMatch, index: InventoryIndex) -> tuple[str, str, bool]:
    """(problem, fix, usable) for a matched service: usable when PMM could run pbm through it (its pmm-agent
    connected, and a QAN profiler agent or mongodb_exporter to take the DSN from). ("", "", True) when all is well;
    a problem with usable True is a warning (the exporter not RUNNING)."""
    service = match.service or {}
    name, service_id = service.get("service_name", "?"), service.get("service_id")
    exporter = next(iter(index.exporters.get(service_id, [])), None)
    qan = next(iter(index.qan_agents.get(service_id, [])), None)
    agents = index.pmm_agents
    dsn_agents = [a for a in (qan, exporter) if a is not None]
    if not dsn_agents:
        return (f"service {name} has neither a mongodb_exporter nor a QAN MongoDB profiler agent in PMM, so PMM has "
                f"no DSN to run pbm with",
                f"Remove and re-add the service: pmm-admin remove mongodb {name}, then pmm-admin add mongodb ... "
                f"{name} ({REMOVE_DESTROYS}; recreate its schedules after, and keep a backup taken before it)",
                False)
    pmm_agent_ids = {str(a.get("pmm_agent_id")) for a in dsn_agents}
    connected = [agents[i] for i in pmm_agent_ids if i in agents and agents[i].get("connected")]
    if not connected:
        return (f"the pmm-agent serving service {name} is not connected to PMM Server",
                "On that node: sudo systemctl restart pmm-agent, then pmm-admin status shows it connected (check "
                "network access to PMM Server and the server address in /usr/local/percona/pmm*/config/pmm-agent.yaml)",
                False)
    if exporter is not None:
        status = exporter.get("status", "UNKNOWN")
        if exporter.get("disabled") or status != "RUNNING":
            state = "disabled" if exporter.get("disabled") else status
            return (f"the mongodb_exporter of service {name} is {state}, not RUNNING (PMM still takes the DSN from "
                    f"its settings{' or the QAN agent' if qan is not None else ''}, so backups are not stopped)",
                    "On that node: sudo systemctl restart pmm-agent, then pmm-admin list shows the exporter Running "
                    "(journalctl -u pmm-agent says why it is not, often the MongoDB user's password)", True)
    return "", "", True


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = inp.pmm
    unavailable = pmm_unavailable(CHECK, inp, *([pmm.services, pmm.pmm_agents, pmm.exporters, pmm.qan_agents,
                                                  pmm.nodes] if pmm else []))
    if unavailable is not None:
        return unavailable
    assert pmm is not None
    if inp.view.members is None:
        return [unknown(CHECK, inp.view.members_error, node, rs) for node in inp.mongo.seeds]
    index = pmm.inventory
    matches = match_members(inp)
    data_members = [m for m in inp.view.members if m.data_bearing]
    problems: dict[str, tuple[str, str, bool]] = {}
    for member in data_members:
        match = matches.get(member.host, ServiceMatch(None, problem="not matched"))
        if match.service is None:
            problems[member.host] = (f"no PMM Client monitors this node: {match.problem}",
                                     register_fix(member.host, inp.settings.name, rs), False)
        else:
            problem = _problem(match, index)
            if problem[0]:
                problems[member.host] = problem
    version = pmm_version(inp)
    every_node = version is None or version >= EVERY_NODE_SINCE or inp.settings.backup_mode == "physical"
    usable = [m.host for m in data_members if problems.get(m.host, ("", "", True))[2]]
    results = []
    for member in data_members:
        match = matches[member.host] if member.host in matches else ServiceMatch(None)
        if member.host not in problems:
            service = match.service or {}
            has_exporter = bool(index.exporters.get(service.get("service_id")))
            dsn = "mongodb_exporter RUNNING" if has_exporter else "DSN from its QAN MongoDB profiler agent"
            results.append(passed(CHECK, f"service {service.get('service_name')} ({match.how}): pmm-agent "
                                         f"connected, {dsn}", member.host, rs))
            continue
        reason, fix, works = problems[member.host]
        if works:  # the exporter alone is not RUNNING: PMM still runs pbm through this service
            results.append(failed(CHECK, reason, fix, member.host, rs, NOTHING))
        elif not every_node and usable:
            results.append(passed(CHECK, f"{reason}; PMM {pmm.version} needs PMM Client on one node only for "
                                         f"logical backups, and {usable[0]} has it", member.host, rs))
        else:
            blocks = {PHYSICAL_RESTORE}
            scheduled = scheduled_operations(inp, match.service.get("service_id")) if match.service else set()
            if scheduled:
                blocks |= scheduled
                reason += f" (PMM runs the scheduled {', '.join(ordered(scheduled))} through this node's service)"
            elsewhere = [] if usable or not is_sharded(inp) else \
                [str(service.get("service_name")) for service, _ in runnable_services(inp, pmm)]
            if usable:
                reason += (f" (a physical restore restarts mongod through every node's pmm-agent; backups can run "
                           f"through {', '.join(usable)})")
            elif elsewhere:  # a sharded cluster's backup runs through any one service of it
                blocks |= {LOGICAL_RESTORE}
                reason += (f" (no node of {rs} has a PMM service PMM could run pbm through; PMM runs a sharded "
                           f"cluster's backups and PITR through any one of its services, and can through "
                           f"{', '.join(elsewhere[:3])}{' ...' if len(elsewhere) > 3 else ''})")
            else:
                blocks |= BACKUPS | {PITR, LOGICAL_RESTORE}
                reason += f" (no node of {rs} has a PMM service PMM could run pbm through)"
            if version is not None and version < EVERY_NODE_SINCE and inp.settings.backup_mode == "physical":
                reason += f" (PMM {pmm.version} needs PMM Client on every node for physical backups)"
                blocks.add(PHYSICAL_BACKUP)
            results.append(failed(CHECK, reason, fix, member.host, rs, blocks))
    return results
