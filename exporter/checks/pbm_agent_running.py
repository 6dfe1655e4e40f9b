"""pbm_agent_running: every data-bearing node has a pbm-agent that heartbeats and reports itself healthy.

PBM's own rule (pbm.md 1.4, 2; sdk/cli/status.go ClusterStatus): the agent document is matched by exact
(rs, host) from replSetGetConfig; it is lost when hb.T + 30 < clusterTime.T, judged on the cluster's clock; it has
FAILED status when its PBM (leader) or node connection check is not ok. Arbiters need no agent; hidden and delayed
members do. No document does not mean the agent never ran: PBM deletes documents more than 35 s stale whenever a
backup starts or PITR nominates (pbm/topo/agent.go AgentStatusGC), and pbm-agent leaves its document behind when
stopped.

Blocks (model/pbm_agent_duties.py): physical_restore always; logical_restore on a primary; backups and PITR when the
node is the cluster leader or no other node of its replica set has an agent PBM could nominate.
"""

from __future__ import annotations

from functools import partial

from exporter.model.cluster_view import CheckInput, judged_members
from exporter.model.pbm_agent_duties import Duties, without_agent
from exporter.model.pbm_agents import STALE_FRAME_SEC
from exporter.model.topology import host_and_port
from exporter.results.check_result import CheckResult, failed, passed
from exporter.results.operations import EVERYTHING

CHECK = "pbm_agent_running"
MAY_BLOCK = EVERYTHING


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


def _failed(reason: str, fix: str, *, node: str, replica_set: str, duties: Duties) -> CheckResult:
    return failed(CHECK, f"{reason} ({duties.why})", fix, node, replica_set, duties.blocks)


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, view = inp.mongo, inp.view
    rs = view.replica_set
    data_members, cluster_time, results = judged_members(CHECK, facts, view)
    for member in data_members:
        agent = view.agent(member.host)
        state = (view.states or {}).get(member.host)
        mongod_down = state is not None and state.health == 0.0
        host = host_and_port(member.host)[0]
        duties = without_agent(view, member.host, control=inp.control)

        fail = partial(_failed, node=member.host, replica_set=rs, duties=duties)
        start_mongod = (f"On {host}: start mongod first (sudo systemctl start mongod); its pbm-agent reports "
                        f"again once mongod is up. If it does not: {restart_agent_fix(member.host)}")
        if agent is None:
            reason = (f"no pbm-agent document for this node ({rs}/{member.host}) in admin.pbmAgents: its pbm-agent "
                      f"is not running, or it stopped and PBM deleted its stale document (as it does when a backup "
                      f"starts)")
            results.append(fail(f"{reason}; the node's mongod is down, so no agent can report for it", start_mongod)
                           if mongod_down else fail(reason, start_agent_fix(member.host)))
            continue
        if agent.heartbeat is None:
            results.append(fail(f"the pbm-agent document for this node is malformed: {'; '.join(agent.problems)}",
                                restart_agent_fix(member.host)))
            continue
        age = agent.heartbeat_age(cluster_time)
        if agent.is_stale(cluster_time):
            reason = (f"pbm-agent heartbeat is stale: last heartbeat {age} s ago by the cluster's clock "
                      f"(PBM calls an agent lost after {STALE_FRAME_SEC} s)")
            results.append(fail(f"{reason}; the node's mongod is down too, so its agent cannot report", start_mongod)
                           if mongod_down else fail(reason, restart_agent_fix(member.host)))
            continue
        node = agent.node_connection
        if node is not None and not node.ok and mongod_down:  # the agent runs, but its own mongod is the cause
            results.append(fail(f"the node's mongod is down: its pbm-agent reports node connection: "
                                f"{node.error or 'not ok'}", start_mongod))
            continue
        errors = [f"{label}: {sub.error or 'not ok'}"
                  for label, sub in (("PBM connection", agent.pbm_connection),
                                     ("node connection", agent.node_connection))
                  if sub is not None and not sub.ok]
        # stors is pbm_storage_reachable's; any other field PBM always writes, missing or mistyped, is malformed
        malformed = [p for p in agent.problems if not p.startswith("field stors")]
        errors += [f"malformed document: {p}" for p in malformed if p.startswith(("field pbms", "field nodes"))]
        if errors:
            results.append(fail(
                f"pbm-agent reports an error: {'; '.join(errors)}",
                f"On {host}: fix what the agent reports (its connection URI, the PBM user's password and roles, or "
                f"network access to the primary), then sudo systemctl restart pbm-agent"))
            continue
        if malformed:
            results.append(fail(
                f"the pbm-agent document for this node is malformed: {'; '.join(malformed)}",
                f"On {host}: run the same Percona Backup for MongoDB version as on the other nodes, then sudo "
                f"systemctl restart pbm-agent (a running agent rewrites its document with every heartbeat)"))
            continue
        results.append(passed(CHECK, f"pbm-agent {agent.version} heartbeat {age} s ago", member.host, rs))
    return results
