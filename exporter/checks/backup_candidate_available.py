"""backup_candidate_available: per replica set, PBM has an agent it would nominate for the cluster's backup, and the
cluster leader's agent is there to nominate it.

PBM's rules (percona/percona-backup-mongodb v2.15; model/pbm_agent_duties.py): the leader, the agent on the primary of
the replica set (of the config servers when sharded), starts every backup and PITR (cmd/pbm-agent/backup.go); per
replica set it nominates one candidate, PRIMARY or SECONDARY by the agent's own document, not an arbiter, not
delayed, less than 21 s behind (pbm/topo/agent.go ListSteadyAgents), whose PBM, node and storage checks are OK
(pbm/prio/priority.go CalcNodesPriority), on Percona Server for a physical backup (getValidCandidates), by priority:
backup.priority from PBM's config, else hidden > secondary > primary. CheckTopoForBackup refuses only a replica set
with no agent document at all; with documents but no candidate, no agent takes the backup and PMM's job times out.
This is the check that says "no backup can start" when the per-node checks show only scattered red.

Before PBM has a config (no admin.pbmConfig yet, as before PMM's first backup) every agent's storage check fails;
PMM writes the config just before `pbm backup` and the agents re-check a failed storage every 5 s
(cmd/pbm-agent/agent.go storStatus), so the storage failure does not disqualify a candidate then, and the reason
says so.

PBM 2.3.0 to 2.9.0 also refuse a backup before it starts unless each replica set has one "available" agent
(pbm/topo/topo.go collectTopoCheckErrors at v2.3.0..v2.9.0, run by the `pbm backup` CLI and by the leader:
CheckTopoForBackup, "no available agent(s) on replsets"): on a member listed in the cluster's hosts, not an arbiter
and not passive (`psv`: priority 0, so hidden and delayed members never count), whose document has an empty `e`,
whose OK() holds (PBM, node and storage checks), heartbeat at most 35 s old, and whose server suits the backup type
(FeatureSupport.BackupType). 2.9.1 dropped the rule (commits d3f14c7b, 886113e4): HEAD only misses a replica set
with no agent document. The exporter applies it when the cluster leader's agent runs 2.3.0 to 2.9.0.

Blocks: no candidate, logical_backup and pitr (PITR slicing picks from the same candidates) and physical_backup; no
Percona Server candidate, physical_backup; the leader's agent not there to nominate, every backup and PITR.
"""

from __future__ import annotations

from exporter.checks.pbm_storage_reachable import redacted
from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_agent_duties import (
    failing_self_checks,
    not_a_candidate,
    physical_backup_refusal,
    priority,
)
from exporter.model.topology import PRIMARY
from exporter.results.check_result import CheckResult, failed, passed, unknown
from exporter.results.operations import BACKUPS, PHYSICAL_BACKUP, PITR

CHECK = "backup_candidate_available"
MAY_BLOCK = BACKUPS | {PITR}
FIX = ("Make at least one data-bearing member of the replica set a candidate: start or fix its pbm-agent "
       "(sudo systemctl restart pbm-agent; pbm status shows what it reports), and let it catch up with the primary")


def _configured_priority(inp: CheckInput) -> dict[str, float]:
    config = inp.mongo.pbm_config.value
    backup = config.get("backup") if isinstance(config, dict) else None
    prio = backup.get("priority") if isinstance(backup, dict) else None
    return {k: v for k, v in prio.items() if isinstance(v, int | float)} if isinstance(prio, dict) else {}


def _leader_problem(inp: CheckInput) -> str:
    """Why the cluster leader's agent cannot start a backup ("" when it can), judged on the control replica set."""
    view = inp.view
    states = view.states or {}
    primary = next((h for h, s in states.items() if s.state == PRIMARY), None)
    if primary is None:
        return "the replica set has no primary, whose agent would lead PBM"
    agent = view.agent(primary)
    if agent is None or view.cluster_time is None or agent.is_stale(view.cluster_time):
        return f"the cluster leader's agent, on the primary {primary}, is not running"
    broken = failing_self_checks(agent, storage=False)  # the leader nominates others whatever its storage
    if broken:
        return f"the cluster leader's agent, on the primary {primary}, reports its {' and '.join(broken)} failing"
    return ""


STRICT_TOPO_CHECK = ((2, 3, 0), (2, 9, 0))  # the PBM releases whose CheckTopoForBackup wants an available agent
TOPO_STALE_SEC = 35  # collectTopoCheckErrors: maxReplicationLag, on the heartbeat's age


def _unavailable(inp: CheckInput, host: str, physical: bool) -> str:
    """Why PBM 2.3.0-2.9.0's collectTopoCheckErrors would not count this member's agent as available ("" when it
    would)."""
    view = inp.view
    agent = view.agent(host)
    if agent is None or view.cluster_time is None:
        return "no agent document"
    if agent.passive or agent.hidden:
        return "passive (priority 0, hidden or delayed)"
    if agent.error:
        return f"its agent reports an error: {redacted(agent.error)}"
    failing = failing_self_checks(agent, storage=view.pbm_configured)
    if failing:
        return f"its agent's {' and '.join(failing)} check{'s' if len(failing) > 1 else ''} fail"
    if agent.heartbeat is None or view.cluster_time - agent.heartbeat > TOPO_STALE_SEC:
        return f"its agent's heartbeat is more than {TOPO_STALE_SEC} s old"
    if physical and agent.mongo_version is not None:
        return physical_backup_refusal(agent.mongo_version, agent.psmdb_version)
    return ""


def _topo_check_refusal(inp: CheckInput, physical: bool) -> str:
    """PBM 2.3.0-2.9.0's refusal of a backup of this replica set before it starts ("" when it goes on, or when the
    leader runs another PBM)."""
    version, view = inp.leader_pbm, inp.view
    if version is None or not STRICT_TOPO_CHECK[0] <= version <= STRICT_TOPO_CHECK[1] or view.members is None:
        return ""
    why = {m.host: _unavailable(inp, m.host, physical) for m in view.members if m.data_bearing}
    if any(not w for w in why.values()):
        return ""
    excuses = "; ".join(f"{host}: {w}" for host, w in why.items())
    return (f"the cluster leader runs PBM {'.'.join(map(str, version))}, whose backup pre-check (CheckTopoForBackup, "
            f"2.3.0 to 2.9.0) wants an available agent on an electable member of {view.replica_set} and finds none "
            f"({excuses}): \"no available agent(s) on replsets: {view.replica_set}\"")


def evaluate(inp: CheckInput) -> list[CheckResult]:
    view, rs, mode = inp.view, inp.view.replica_set, inp.settings.backup_mode
    if view.members is None:
        return [unknown(CHECK, view.members_error, "", rs)]
    if view.agents is None or view.cluster_time is None:
        return [unknown(CHECK, view.agents_error, "", rs)]
    physical = mode == "physical"
    configured = _configured_priority(inp)
    members = {m.host: m for m in view.members}
    why_not: dict[str, str] = {h: not_a_candidate(view, m, physical=physical) for h, m in members.items()}
    scores = {h: priority(view, members[h], configured) for h, why in why_not.items() if not why}
    ranked = sorted(scores, key=lambda h: -scores[h])
    blocks: set[str] = set()
    problems: list[str] = []
    if not ranked:
        blocks |= {PHYSICAL_BACKUP} if physical and any(
            not not_a_candidate(view, m) for m in members.values()) else BACKUPS | {PITR}
        excuses = "; ".join(f"{host}: {why}" for host, why in why_not.items())
        problems.append(f"PBM has no agent it would nominate for a {mode} backup of {rs} ({excuses})")
    if not blocks >= BACKUPS:
        topo = _topo_check_refusal(inp, physical=False)
        topo_physical = "" if topo or not physical else _topo_check_refusal(inp, physical=True)
        if topo or topo_physical:
            blocks |= BACKUPS if topo else {PHYSICAL_BACKUP}
            problems.append(topo or topo_physical)
    leader = _leader_problem(inp) if inp.control else ""
    if leader:
        blocks |= BACKUPS | {PITR}
        problems.append(f"{leader}: no backup or PITR can start")
    if problems:
        fix = FIX if not leader else f"{FIX}; first of all on the primary, whose agent leads every backup"
        if any("CheckTopoForBackup" in p for p in problems):
            fix += ("; with PBM 2.3.0 to 2.9.0 that member must be electable (not hidden, priority above 0) and its "
                    "agent report no error, or upgrade PBM on every node to 2.9.1 or newer, which dropped that rule")
        return [failed(CHECK, "; ".join(problems), fix, "", rs, blocks)]
    source = "backup.priority in PBM's config" if configured else "PBM's default: hidden, then secondary, then primary"
    others = f"; also {', '.join(ranked[1:])}" if len(ranked) > 1 else ""
    unconfigured = ("; PBM has no config yet, so every agent's storage check fails until PMM writes the config "
                    "just before its first backup (the agents re-check a failed storage every 5 s): not held against "
                    "the candidates" if not view.pbm_configured else "")
    return [passed(CHECK, f"PBM would take the {mode} backup of {rs} from {ranked[0]} (priority "
                          f"{scores[ranked[0]]:g}, by {source}){others}{unconfigured}", "", rs)]
