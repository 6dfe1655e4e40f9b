"""pmm_service_user_matches: PMM runs pbm for each node's service as the MongoDB user the exporter connects as,
so that mongodb_user_permissions judged the user PMM really uses.

PMM builds the DSN pbm runs with from the service's QAN MongoDB profiler agent, else its mongodb_exporter, both
of the pmm-agent it runs the job through (managed/models/dsn_helpers.go FindDSNByServiceIDandPMMAgentID; the
agent's `username`, api/inventory/v1/agents.proto). A service added with another user than the exporter's gets a
verdict on roles it may not hold.

Blocks nothing: a warning that the role check looked at the wrong user.
"""

from __future__ import annotations

from typing import Any

from exporter.facts.observed import PMMFacts
from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import ServiceMatch, match_members, usable_pmm
from exporter.model.pmm_service_agents import dsn_agent, service_agents, serving_pmm_agent
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import NOTHING

CHECK = "pmm_service_user_matches"
MAY_BLOCK = NOTHING


def exporter_user(inp: CheckInput) -> str | None:
    """The user the exporter authenticated as (connectionStatus authInfo.authenticatedUsers[0].user); "" without
    access control or authentication; None when connectionStatus was not read."""
    reply = inp.mongo.connection_status.value
    auth = reply.get("authInfo") if isinstance(reply, dict) else None
    users = auth.get("authenticatedUsers") if isinstance(auth, dict) else None
    if not isinstance(users, list):
        return None
    first = users[0] if users and isinstance(users[0], dict) else {}
    return str(first.get("user") or "")


def user_fix(pmm: PMMFacts, service: dict[str, Any], theirs: str, ours: str) -> str:
    """Connect as PMM's user, or swap the service's agents for ones with the exporter's user. Not `pmm-admin remove
    mongodb` and add again: models.RemoveService (RemoveCascade) deletes the service's scheduled backups and leaves
    its artifacts with no service ID, which PMM then refuses to restore ("Empty Service ID.", FindServiceByID)."""
    service_id = service.get("service_id")
    pmm_agent = serving_pmm_agent(pmm, service_id)[0]
    agents = sorted(str(a.get("agent_id")) for a in service_agents(pmm, service_id)
                    if str(a.get("pmm_agent_id")) == pmm_agent)
    kinds = ["mongodb-exporter", *(["qan-mongodb-profiler-agent"] if pmm.inventory.qan_agents.get(service_id) else [])]
    adds = "; ".join(f"pmm-admin inventory add agent {kind} --password=<password> {pmm_agent} {service_id} {ours}"
                     for kind in kinds)
    return (f"Connect the exporter as {theirs} (the username in the cluster's uri or credentials in the exporter's "
            f"config), or give the service's agents the exporter's user while keeping the service: first "
            f"pmm-admin inventory remove agent {' and '.join(agents)} (two agents of one type make PMM's jobs fail), "
            f"then {adds}. Do not remove and re-add the service (pmm-admin remove mongodb): that deletes its "
            f"scheduled backups and leaves its artifacts without a service, so PMM can never restore them")


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = usable_pmm(CHECK, inp, "services", "exporters", "qan_agents", members=True)
    if isinstance(pmm, list):
        return pmm
    ours = exporter_user(inp)
    if ours is None:
        return [unknown(CHECK, f"cannot read connectionStatus: {inp.mongo.connection_status.error or 'no reply'}",
                        "", rs)]
    if not ours:
        return [skipped(CHECK, "the exporter connects without a MongoDB user, so there is none to compare", "", rs)]
    matches = match_members(inp)
    results = []
    for member in (m for m in inp.view.members or () if m.data_bearing):  # read: usable_pmm(members=True)
        service = matches.get(member.host, ServiceMatch(None)).service
        found = dsn_agent(pmm, service.get("service_id"), serving_pmm_agent(pmm, service.get("service_id"))[0]) \
            if service else None
        if service is None or found is None:
            results.append(skipped(CHECK, "no PMM service with an agent to take a DSN from matches this node (see "
                                          "pmm_client_connected)", member.host, rs))
            continue
        kind, agent = found
        name, theirs = service.get("service_name"), str(agent.get("username") or "")
        if not theirs:
            results.append(skipped(CHECK, f"the {kind} of service {name} has no MongoDB user (X.509 or no "
                                          f"authentication)", member.host, rs))
        elif theirs == ours:
            results.append(passed(CHECK, f"PMM runs pbm for service {name} as {theirs} (from its {kind}), the user "
                                         f"the exporter connects as", member.host, rs))
        else:
            results.append(failed(
                CHECK, f"PMM runs pbm for service {name} as MongoDB user {theirs} (from its {kind}), but the "
                       f"exporter connects as {ours}: mongodb_user_permissions judged {ours}'s roles, not {theirs}'s",
                user_fix(pmm, service, theirs, ours), member.host, rs))
    return results
