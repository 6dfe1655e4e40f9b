"""pbm_agent_running: every data-bearing node has a pbm-agent that heartbeats and reports itself healthy.

PBM's own rule (pbm.md 1.4, 2): the agent document is matched by exact (rs, host) from replSetGetConfig; it is
lost when hb.T + 30 < clusterTime.T, judged on the cluster's clock; it has FAILED status when its PBM (leader)
or node connection check is not ok. Arbiters need no agent; hidden and delayed members do.
"""

from __future__ import annotations

from exporter.checks.pbm_agents import STALE_FRAME_SEC
from exporter.checks.results import CheckResult, failed, passed
from exporter.checks.topology import host_and_port
from exporter.checks.view import CheckInput, judged_members

CHECK = "pbm_agent_running"


def start_agent_fix(node: str) -> str:
    host, port = host_and_port(node)
    return (
        f"On {host}: install Percona Backup for MongoDB if it is missing, set the agent's connection URI to the "
        f"local mongod (a direct, non-replica-set URI) in /etc/default/pbm-agent (Debian/Ubuntu) or "
        f"/etc/sysconfig/pbm-agent (RHEL): "
        f'PBM_MONGODB_URI="mongodb://<pbm-user>:<password>@localhost:{port}/?authSource=admin", '
        f"then start it: sudo systemctl enable --now pbm-agent"
    )


def restart_agent_fix(node: str) -> str:
    host, _ = host_and_port(node)
    return (
        f"On {host}: sudo systemctl restart pbm-agent, then read journalctl -u pbm-agent for why it stopped "
        f"(a wrong PBM_MONGODB_URI in /etc/default/pbm-agent or /etc/sysconfig/pbm-agent is the usual cause)"
    )


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, view = inp.mongo, inp.view
    rs = view.replica_set
    data_members, cluster_time, results = judged_members(CHECK, facts, view)
    for member in data_members:
        agent = view.agent(member.host)
        state = (view.states or {}).get(member.host)
        mongod_down = state is not None and state.health == 0.0
        if agent is None:
            results.append(failed(
                CHECK, f"no pbm-agent has ever reported for this node (no document for {rs}/{member.host} in "
                       f"admin.pbmAgents)", start_agent_fix(member.host), member.host, rs))
            continue
        if agent.heartbeat is None:
            results.append(failed(
                CHECK, f"the pbm-agent document for this node is malformed: {'; '.join(agent.problems)}",
                restart_agent_fix(member.host), member.host, rs))
            continue
        age = agent.heartbeat_age(cluster_time)
        if agent.is_stale(cluster_time):
            reason = (f"pbm-agent heartbeat is stale: last heartbeat {age} s ago by the cluster's clock "
                      f"(PBM calls an agent lost after {STALE_FRAME_SEC} s)")
            fix = restart_agent_fix(member.host)
            if mongod_down:
                host, _ = host_and_port(member.host)
                reason += "; the node's mongod is down too, so its agent cannot report"
                fix = (f"On {host}: start mongod first (sudo systemctl start mongod); the pbm-agent reports again "
                       f"once its mongod is up. If it does not: {restart_agent_fix(member.host)}")
            results.append(failed(CHECK, reason, fix, member.host, rs))
            continue
        errors = [f"{label}: {sub.error or 'not ok'}"
                  for label, sub in (("PBM connection", agent.pbm_connection),
                                     ("node connection", agent.node_connection))
                  if sub is not None and not sub.ok]
        # stors is pbm_storage_reachable's; any other field PBM always writes, missing or mistyped, is malformed
        malformed = [p for p in agent.problems if not p.startswith("field stors")]
        errors += [f"malformed document: {p}" for p in malformed if p.startswith(("field pbms", "field nodes"))]
        if errors:
            results.append(failed(
                CHECK, f"pbm-agent reports an error: {'; '.join(errors)}",
                f"On {host_and_port(member.host)[0]}: fix what the agent reports (its connection URI, the PBM user's "
                f"password and roles, or network access to the primary), then sudo systemctl restart pbm-agent",
                member.host, rs))
            continue
        if malformed:
            results.append(failed(
                CHECK, f"the pbm-agent document for this node is malformed: {'; '.join(malformed)}",
                f"On {host_and_port(member.host)[0]}: run the same Percona Backup for MongoDB version as on the other "
                f"nodes, then sudo systemctl restart pbm-agent (a running agent rewrites its document with every "
                f"heartbeat)", member.host, rs))
            continue
        results.append(passed(CHECK, f"pbm-agent {agent.version} heartbeat {age} s ago", member.host, rs))
    return results
