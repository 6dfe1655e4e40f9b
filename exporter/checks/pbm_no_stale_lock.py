"""pbm_no_stale_lock: PBM holds no lock whose heartbeat has gone stale (model/pbm_locks.py for the lock rules).

A stale lock blocks everything PMM runs: PBM's `pbm status` reports it as the running operation (since PBM 2.6 it
reports locks[0] whether fresh or not), and before each backup and restore PMM's job waits up to five minutes for
"no running operation" and then fails (percona/pmm agent/runner/jobs/pbm_helpers.go
waitForPBMNoRunningOperations). PBM itself removes a stale lock only when its next operation tries to take one
(pbm/lock/lock.go Acquire), which PMM's wait never lets happen. PITR slicing's own lock is pitr_running's.
A fresh lock passes, and the reason names the operation running.

Before PBM 2.6 a stale lock is only a warning that blocks nothing: `pbm status` skips it (v2.5.0 cmd/pbm/main.go
findLock: `if l.Type == ctrl.CmdPITR || l.Heartbeat.T+defs.StaleFrameSec < ct.T { continue }`; v2.0.1
cli/cli.go findLock the same), so PMM's wait sees no running operation, and `pbm backup` / `pbm restore` go on
(v2.5.0 checkConcurrentOp: "in case of stale lock just move on and leave it for agents to deal with"), whose agent
removes it (pbm/lock/lock.go Acquire). From v2.6.0 `pbm status` reports locks[0] stale or not (cmd/pbm/status.go
getCurrOps over sdk OpLocks, which only flags ErrStaleHeartbeat). What matters is the `pbm` CLI PMM's pmm-agent runs
on the service's node; it ships in one package with pbm-agent, so the agents' versions (`v`) stand for it (node-check's
pbm_cli_matches_agent says when they differ). PMM may run it on any node of the cluster: the lock blocks everything
unless every agent reports a version before 2.6 (no agent, or one unreadable, counts as 2.6+).
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_agents import parse_version
from exporter.model.pbm_locks import locks
from exporter.results.check_result import CheckResult, failed, passed, unknown
from exporter.results.operations import EVERYTHING, NOTHING

CHECK = "pbm_no_stale_lock"
MAY_BLOCK = EVERYTHING
STATUS_REPORTS_STALE_LOCKS = (2, 6, 0)  # cmd/pbm/status.go getCurrOps over sdk OpLocks, from v2.6.0


def pre_2_6_versions(agents: object) -> list[str] | None:
    """The PBM versions of every agent document when all are before 2.6 (whose `pbm status` skips stale locks),
    else None (some agent runs 2.6+, or a version cannot be read, or there is no agent document)."""
    docs = agents if isinstance(agents, list) else []
    versions = [d.get("v") if isinstance(d, dict) else None for d in docs]
    parsed = [parse_version(v) for v in versions]
    if not parsed or any(p is None or p >= STATUS_REPORTS_STALE_LOCKS for p in parsed):
        return None
    return sorted({str(v) for v in versions})


def fix(opid: str, collection: str) -> str:
    return (f"Make sure no pbm-agent still works on it (pbm status; pbm logs -e backup or -e restore). Then let PBM "
            f"clear it: run the operation once from the PBM CLI (pbm backup), which removes a stale lock when it "
            f"finds one, or remove it as PBM would, as a user with the backup role, in mongosh on the primary: "
            f'db.getSiblingDB("admin").{collection}.deleteOne({{opid: "{opid}"}})')


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, rs = inp.mongo, inp.view.replica_set
    for fact, name in ((facts.locks, "admin.pbmLock"), (facts.op_locks, "admin.pbmLockOp")):
        if fact.error is not None:
            return [unknown(CHECK, f"cannot read {name}: {fact.error}", "", rs)]
    now = facts.cluster_time.value
    if now is None:
        return [unknown(CHECK, f"the server returned no cluster time: {facts.cluster_time.error or '?'}", "", rs)]
    held = [lock for lock in locks(facts) if lock.type != "pitr"]
    stale = [lock for lock in held if lock.is_stale(now)]
    if stale:
        lock = stale[0]
        age = lock.age(now)
        others = f" (and {len(stale) - 1} more)" if len(stale) > 1 else ""
        old = pre_2_6_versions(facts.agents.value)
        if old is not None:
            return [failed(CHECK, f"PBM's lock for {lock.describe()} is stale: its last heartbeat was "
                                  f"{age if age is not None else '?'} s ago by the cluster's clock{others}. A warning: "
                                  f"the pbm-agents run PBM {', '.join(old)}, whose `pbm status` skips stale locks, so "
                                  f"PMM does not wait for it, and PBM's next operation removes it",
                           fix(lock.opid, lock.collection), "", rs, NOTHING)]
        return [failed(CHECK, f"PBM's lock for {lock.describe()} is stale: its last heartbeat was "
                              f"{age if age is not None else '?'} s ago by the cluster's clock (PBM calls a lock stale "
                              f"after 30 s){others}. PMM waits for it to end before every backup and restore, then "
                              f"fails", fix(lock.opid, lock.collection), "", rs, EVERYTHING)]
    if held:
        running = "; ".join(f"{lock.describe()}, heartbeat {lock.age(now)} s ago" for lock in held)
        return [passed(CHECK, f"no stale lock; running now: {running}", "", rs)]
    return [passed(CHECK, "no PBM lock is held: no operation runs", "", rs)]
