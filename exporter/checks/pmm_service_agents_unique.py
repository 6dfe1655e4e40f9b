"""pmm_service_agents_unique: PMM can take each node's service's DSN: one agent of each type PMM looks at, for that
service, on the pmm-agent PMM runs the service's jobs through.

Every PMM backup and restore runs pbm with a DSN taken from one of the service's agents on that pmm-agent
(managed/models/dsn_helpers.go FindDSNByServiceIDandPMMAgentID). It goes through the agent types in order and takes
the first type with exactly one agent; a type with more than one fails the job, "Couldn't resolve dsn, as there
should be only one agent" (FailedPrecondition). PMM 2 looks at the QAN MongoDB profiler agent, then the
mongodb_exporter; PMM 3.9 at the QAN profiler, the QAN mongolog agent, the mongodb_exporter, then the RTA agent.
Such a second agent comes from `pmm-admin inventory add agent` for a service that already has one (PMM's own
FIXME there: "it will return error in case we run multiple exporters for the same service").

The exporter reads the profiler and exporter agents, not PMM 3's mongolog agents: with no profiler agent and two
exporters, a single mongolog agent would still give PMM its DSN on PMM 3, so that is unknown there.

Blocks what the service's enabled schedules run (PMM runs a schedule through its own service), and every backup
and restore when no node's service gives PMM a DSN (PMM runs them through one service of the replica set).
"""

from __future__ import annotations

from typing import Any

from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import ServiceMatch, match_members, pmm_version, usable_pmm
from exporter.model.pmm_schedules import scheduled_operations
from exporter.model.pmm_service_agents import serving_pmm_agent
from exporter.results.check_result import CheckResult, Status, failed, passed, skipped, unknown
from exporter.results.operations import EVERYTHING, ordered

CHECK = "pmm_service_agents_unique"
MAY_BLOCK = EVERYTHING


def on_agent(agents: dict[Any, list[dict[str, Any]]], service_id: Any, pmm_agent: str) -> list[dict[str, Any]]:
    return [a for a in agents.get(service_id, []) if str(a.get("pmm_agent_id")) == pmm_agent]


def fix(service_id: Any, pmm_agent: str, kind: str, agents: list[dict[str, Any]]) -> str:
    ids = ", ".join(sorted(str(a.get("agent_id")) for a in agents))
    return (f"Keep one {kind} for service {service_id} on pmm-agent {pmm_agent}: remove the others ({ids}; keep "
            f"the one with the right credentials) with pmm-admin inventory remove agent <agent ID>. Only the agent "
            f"goes: the service, its scheduled backups and its artifacts stay (do not remove the service)")


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = usable_pmm(CHECK, inp, "services", "exporters", "qan_agents", members=True)
    if isinstance(pmm, list):
        return pmm
    pmm3 = (pmm_version(inp) or (0, 0, 0))[0] >= 3
    index = pmm.inventory
    matches = match_members(inp)
    results: list[CheckResult] = []
    resolvable = False  # a node whose service gives PMM a DSN: PMM can run the rest through it
    # index of a failing or unknown result -> (service ID, pmm-agent, kind, agents): its blocks are set at the end
    pending: dict[int, tuple[Any, str, str, list[dict[str, Any]]]] = {}
    for member in (m for m in inp.view.members or () if m.data_bearing):  # read: usable_pmm(members=True)
        service = matches.get(member.host, ServiceMatch(None)).service
        pmm_agent = serving_pmm_agent(pmm, service.get("service_id"))[0] if service else ""
        if service is None or not pmm_agent:
            results.append(skipped(CHECK, "no PMM service with a pmm-agent matches this node (see "
                                          "pmm_client_connected)", member.host, rs))
            continue
        name, service_id = service.get("service_name"), service.get("service_id")
        profilers = on_agent(index.qan_agents, service_id, pmm_agent)
        exporters = on_agent(index.exporters, service_id, pmm_agent)
        if len(profilers) == 1 or (not profilers and len(exporters) == 1):
            resolvable = True
            kind = "QAN MongoDB profiler agent" if profilers else "mongodb_exporter"
            results.append(passed(CHECK, f"PMM takes service {name}'s DSN from its one {kind}", member.host, rs))
            continue
        if not profilers and not exporters:
            results.append(skipped(CHECK, f"service {name} has no profiler or exporter agent to take a DSN from "
                                          f"(see pmm_client_connected)", member.host, rs))
            continue
        kind, agents = (("QAN MongoDB profiler agent", profilers) if profilers else ("mongodb_exporter", exporters))
        if pmm3 and not profilers:
            pending[len(results)] = (service_id, pmm_agent, kind, agents)
            results.append(unknown(
                CHECK, f"service {name} has {len(agents)} {kind}s on pmm-agent {pmm_agent}: PMM 3 fails every "
                       f"backup and restore through it unless the service has exactly one QAN mongolog agent there, "
                       f"which the exporter does not read", member.host, rs))
            continue
        pending[len(results)] = (service_id, pmm_agent, kind, agents)
        results.append(failed(
            CHECK, f"service {name} has {len(agents)} {kind}s on pmm-agent {pmm_agent}: PMM fails every backup "
                   f"and restore through it (\"Couldn't resolve dsn, as there should be only one agent\")",
            fix(service_id, pmm_agent, kind, agents), member.host, rs))
    for i, (service_id, pmm_agent, kind, agents) in pending.items():
        blocks = set(EVERYTHING) if not resolvable else scheduled_operations(inp, service_id)
        if blocks or results[i].status is Status.FAIL:
            results[i] = results[i]._replace(blocks=ordered(blocks))
        else:  # unknown about nothing: PMM runs everything through the other nodes' services, a warning
            results[i] = failed(CHECK, results[i].reason, fix(service_id, pmm_agent, kind, agents), results[i].node, rs)
    return results
