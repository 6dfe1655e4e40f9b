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

Blocks: no candidate, logical_backup and pitr (PITR slicing picks from the same candidates) and physical_backup; no
Percona Server candidate, physical_backup; the leader's agent not there to nominate, every backup and PITR.
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_agent_duties import failing_self_checks, not_a_candidate, priority
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
    leader = _leader_problem(inp) if inp.control else ""
    if leader:
        blocks |= BACKUPS | {PITR}
        problems.append(f"{leader}: no backup or PITR can start")
    if problems:
        return [failed(CHECK, "; ".join(problems), FIX if not leader else
                       f"{FIX}; first of all on the primary, whose agent leads every backup", "", rs, blocks)]
    source = "backup.priority in PBM's config" if configured else "PBM's default: hidden, then secondary, then primary"
    others = f"; also {', '.join(ranked[1:])}" if len(ranked) > 1 else ""
    unconfigured = ("; PBM has no config yet, so every agent's storage check fails until PMM writes the config "
                    "just before its first backup (the agents re-check a failed storage every 5 s): not held against "
                    "the candidates" if not view.pbm_configured else "")
    return [passed(CHECK, f"PBM would take the {mode} backup of {rs} from {ranked[0]} (priority "
                          f"{scores[ranked[0]]:g}, by {source}){others}{unconfigured}", "", rs)]
