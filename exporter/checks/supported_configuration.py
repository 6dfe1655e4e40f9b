"""supported_configuration: the cluster is within what PMM and PBM support for its backup mode.

Rules, and what each blocks:
- MongoDB version (PMM docs: 4.4+; PBM docs details/versions.md): a warning only. PBM's code never refuses a
  MongoDB version: from 2.3 on the agent and the CLI print "WARNING: ..." when it is outside the list the release
  knows (pbm/version/version.go FeatureSupport.PBMSupport, called by cmd/pbm-agent/agent.go
  showIncompatibilityWarning and cmd/pbm/main.go), and go on. The reason says which table the verdict used.
- Physical backups need Percona Server for MongoDB 4.2.15, 4.4.6 or 5.0+ on the node PBM picks, one per replica set
  (cmd/pbm-agent/backup.go getValidCandidates drops each agent that fails FeatureSupport.BackupType, "full
  physical backup works since Percona Server for MongoDB 4.2.15, 4.4.6"; pbm/version/version.go
  FullPhysicalBackup): no such member, physical_backup blocked; some members without it, a warning naming them.
  The physical restore tests no server flavour (pbm/restore/physical.go checkMongod compares only the backup's
  and mongod's major.minor), so the server build blocks no restore, whatever PBM's docs say.
- Physical restores with arbiters (PMM docs; PBM's docs: arbiters have no pbm-agent and must be stopped by hand,
  which a restore from PMM cannot do): blocks physical_restore.
- Sharded: PMM before 2.38 backs them up not at all (backups and PITR); PMM restores them not at all
  (restore_from_pmm: both restores).
- Sharded, balancer: PBM stops the balancer after taking the backup lock and waits up to 30 s, then only warns
  (pbm/backup/backup.go, WaitForBalancerDisabled): a balancer still on past that is a warning, not a block.
Physical operations are judged for clusters with backup_mode: physical (the PSMDB and arbiter rules). On a
logical cluster they stay unknown, except when they are known impossible: no data-bearing member of the replica set
runs Percona Server for MongoDB (every member known). Physical backups read WiredTiger's $backupCursor, which only
Percona Server has (PBM docs features/physical.md, "Availability and system requirements"); PBM's code refuses every
such node (pbm/version/version.go FeatureSupport.FullPhysicalBackup: `if v.PSMDBVersion == "" { return false }`;
cmd/pbm-agent/backup.go getValidCandidates keeps no candidate, and `pbm backup --type physical` lists each agent
as "unsupported backup type: full physical backup works since Percona Server for MongoDB 4.2.15, 4.4.6",
pbm/topo/topo.go CheckTopoForBackup; PBM v2.15.0). A physical restore is ruled out with it: PBM's docs support
physical restores only on Percona Server, and PMM restores an artifact only onto a service of the exact version
it was taken on (restore_version_compatible), which for a physical artifact is a Percona Server build ("7.0.14-8"),
never a Community one ("7.0.14"); PBM's own restore code tests no server build (pbm/restore/physical.go
prepareBackup, checkMongod: major.minor only), so only a restore with the PBM CLI of another cluster's backup
could try it. On a logical cluster the result passes and rules the physical operations out (ruled_out: they
read not ready, with no failing prerequisite and no alert, since there is nothing to fix for what the cluster
uses); on a physical cluster it fails and blocks both.
"""

from __future__ import annotations

from exporter.facts.observed import ReplicaSetFacts
from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_agent_duties import NOT_PSMDB, physical_backup_refusal
from exporter.model.pbm_agents import AgentReport, parse_version
from exporter.model.pbm_locks import Lock, locks
from exporter.model.pmm_inventory import pmm_version
from exporter.model.topology import major_minor
from exporter.results.check_result import CheckResult, failed, passed, ruled_out, unknown
from exporter.results.operations import (
    BACKUPS,
    EVERYTHING,
    NOTHING,
    PHYSICAL,
    PHYSICAL_BACKUP,
    PHYSICAL_RESTORE,
    PITR,
    RESTORES,
)

CHECK = "supported_configuration"
MAY_BLOCK = EVERYTHING
MIN_MONGODB = (4, 4)  # PMM 3 docs: "PMM may work with MongoDB versions as old as 4.4"
SHARDED_SINCE_PMM = (2, 38, 0)  # PMM backs up sharded clusters from 2.38 (pmm.md 1.4)

# PBM docs "Supported MongoDB versions": (first PBM version of the row, MongoDB majors it supports)
PBM_MONGODB_SUPPORT: list[tuple[tuple[int, int, int], tuple[tuple[int, int], ...]]] = [
    ((2, 11, 0), ((7, 0), (8, 0))),
    ((2, 8, 0), ((6, 0), (7, 0), (8, 0))),
    ((2, 6, 0), ((5, 0), (6, 0), (7, 0))),
    ((2, 1, 0), ((4, 4), (5, 0), (6, 0), (7, 0))),
    ((2, 0, 0), ((4, 2), (4, 4), (5, 0), (6, 0))),
]


# What PBM's own check knows, per release (pbm/version/version.go FeatureSupport.PBMSupport at each tag; none
# before 2.3): outside it PBM logs a WARNING and runs anyway
PBM_CODE_SUPPORT: list[tuple[tuple[int, int, int], tuple[tuple[int, int], ...]]] = [
    ((2, 11, 0), ((7, 0), (8, 0))),
    ((2, 7, 0), ((5, 0), (6, 0), (7, 0), (8, 0))),
    ((2, 6, 0), ((5, 0), (6, 0), (7, 0))),
    ((2, 4, 0), ((4, 4), (5, 0), (6, 0), (7, 0))),
    ((2, 3, 0), ((4, 4), (5, 0), (6, 0))),
]
BALANCER_STOP_GRACE = 30 + 10  # PBM waits 30 s for the balancer to stop after taking its lock; a margin for both
BALANCER_STOP_OPTION_SINCE = (2, 14, 0)  # backup.timeouts.balancerStop (PBM 2.14 release notes)


def supported_mongodb(pbm: tuple[int, int, int],
                      table: list[tuple[tuple[int, int, int], tuple[tuple[int, int], ...]]] = PBM_MONGODB_SUPPORT
                      ) -> tuple[tuple[int, int], ...] | None:
    for first, majors in table:
        if pbm >= first:
            return majors
    return None


def _fmt(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def _physical_refusal(agent: AgentReport | None, host: str, primary_host: str, facts: ReplicaSetFacts) -> str | None:
    """Why PBM would not take a physical backup from this node's server ("" when it would), from the agent's mv/pv
    (PBM >= 2.3), or buildInfo for the primary; None if unknown."""
    if agent is not None and agent.mongo_version is not None:
        return physical_backup_refusal(agent.mongo_version, agent.psmdb_version)
    build = facts.build_info.value
    if host == primary_host and isinstance(build, dict) and isinstance(build.get("version"), str):
        psmdb = build.get("psmdbVersion")
        return physical_backup_refusal(build["version"], psmdb if isinstance(psmdb, str) else None)
    return None


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, view, settings = inp.mongo, inp.view, inp.settings
    rs = view.replica_set
    if view.members is None:
        return [unknown(CHECK, view.members_error, "", rs)]
    problems: list[tuple[str, str, frozenset[str]]] = []  # (reason, fix, operations it blocks)
    unknowns: list[str] = []

    build = facts.build_info.value
    mongodb = major_minor(build.get("version")) if isinstance(build, dict) else None
    if mongodb is None:
        unknowns.append(f"MongoDB version unknown ({facts.build_info.error or 'buildInfo has no version'})")
    else:
        if mongodb < MIN_MONGODB:
            problems.append((f"MongoDB {_fmt(mongodb)} is older than {_fmt(MIN_MONGODB)}, the oldest PMM's docs "
                             f"name (warning: neither PMM nor PBM refuses it)",
                             "Upgrade MongoDB to a version PMM and PBM support (7.0 or 8.0 for current PBM)", NOTHING))
        versions = {parse_version(a.version) for a in (view.agents or {}).values() if a.replica_set == rs}
        for pbm in sorted(v for v in versions if v is not None):
            majors = supported_mongodb(pbm)
            if majors is not None and mongodb not in majors:
                pbm_text = ".".join(map(str, pbm))
                known = supported_mongodb(pbm, PBM_CODE_SUPPORT)
                code = ("PBM's own check knows no list before 2.3" if known is None else
                        f"PBM's own check (version.go PBMSupport) {'knows it' if mongodb in known else 'logs WARNING'}"
                        f" and does not refuse it")
                problems.append((
                    f"by PBM's docs table (Supported MongoDB versions) PBM {pbm_text} supports MongoDB "
                    f"{', '.join(map(_fmt, majors))}, not {_fmt(mongodb)} (warning: {code})",
                    f"Run a PBM release that supports MongoDB {_fmt(mongodb)} on every node (see PBM's "
                    f"'Supported MongoDB versions'), or upgrade MongoDB to one PBM {pbm_text} supports", NOTHING))

    hello = facts.hello.value
    primary = hello.get("primary", "") if isinstance(hello, dict) else ""
    able, refused, not_known, community = [], [], [], []
    for member in (m for m in view.members if m.data_bearing):
        refusal = _physical_refusal(view.agent(member.host), member.host, primary, facts)
        if refusal is None:
            not_known.append(member.host)
        elif refusal:
            refused.append(f"{member.host} ({refusal})")
            if refusal == NOT_PSMDB:
                community.append(member.host)
        else:
            able.append(member.host)
    # known impossible: no member has Percona Server's $backupCursor (see the docstring)
    no_psmdb = bool(community) and len(community) == len(refused) and not able and not not_known
    impossible = (f"no member of replica set {rs} runs Percona Server for MongoDB ({', '.join(community)}), whose "
                  f"$backupCursor physical backups read: PBM takes no physical backup of it, and PMM restores no "
                  f"physical artifact onto it (an artifact restores only onto the exact version it was taken on, "
                  f"a Percona Server build)")
    if settings.backup_mode == "physical":
        if refused and (able or not not_known):
            which = ("; PBM takes them from " + ", ".join(able) + ", one node per replica set being enough "
                     "(getValidCandidates), and physical restores test no server build (warning)") if able else ""
            problems.append((
                f"physical backups need Percona Server for MongoDB 4.2.15, 4.4.6 or 5.0+ on the node PBM takes "
                f"them from; {'; '.join(refused)}{which}",
                "Set backup_mode: logical for this cluster (and take logical backups in PMM), or run Percona Server "
                "for MongoDB (4.2.15, 4.4.6 or newer) of the same major version on those nodes",
                NOTHING if able else PHYSICAL if no_psmdb else frozenset({PHYSICAL_BACKUP})))
        if not_known and not able:
            refusals = f"; {'; '.join(refused)}" if refused else ""
            unknowns.append(f"cannot tell whether {', '.join(not_known)} run Percona Server for MongoDB "
                            f"(their pbm-agent, 2.3 or newer, reports it){refusals}")
        arbiters = [m.host for m in view.members if m.arbiter]
        if arbiters:
            problems.append((
                f"physical restores are not supported with arbiter nodes ({', '.join(arbiters)})",
                "Replace the arbiter with a data-bearing member (rs.remove() it, then rs.add() a secondary), "
                "or use logical backups for this cluster", frozenset({PHYSICAL_RESTORE})))

    notes: list[str] = []
    if inp.sharding is not None:
        _sharded_rules(inp, problems, notes)

    if problems:
        reason = "; ".join(p[0] for p in problems)
        if unknowns:
            reason += f" (also: {'; '.join(unknowns)})"
        blocks = frozenset().union(*(p[2] for p in problems))
        if no_psmdb and settings.backup_mode != "physical":
            reason += f" (also: {impossible}; this cluster takes logical backups, which are not affected)"
            blocks |= PHYSICAL
        return [failed(CHECK, reason, " ".join(f"{i}. {p[1]}." for i, p in enumerate(problems, 1))
                       if len(problems) > 1 else problems[0][1], "", rs, blocks)]
    if unknowns:
        return [unknown(CHECK, "; ".join(unknowns), "", rs, MAY_BLOCK)]
    mode = "physical (PSMDB on every data-bearing node, no arbiter)" if settings.backup_mode == "physical" \
        else "logical"
    note = f"; {'; '.join(notes)}" if notes else ""
    if no_psmdb:
        return [ruled_out(CHECK, f"MongoDB {_fmt(mongodb) if mongodb else '?'}, {mode} backups supported{note}; "
                                 f"physical backups and restores are impossible here: {impossible}", PHYSICAL, "",
                          rs)]
    return [passed(CHECK, f"MongoDB {_fmt(mongodb) if mongodb else '?'}, {mode} backups supported{note}", "", rs)]


def _running_backup(inp: CheckInput) -> Lock | None:
    """PBM's backup lock when a backup runs now (its heartbeat fresh: model/pbm_locks.py), else None."""
    now = inp.mongo.cluster_time.value
    if now is None:
        return None
    return next((lock for lock in locks(inp.mongo) if lock.type == "backup" and not lock.is_stale(now)), None)


def _sharded_rules(inp: CheckInput, problems: list[tuple[str, str, frozenset[str]]], notes: list[str]) -> None:
    """Sharded clusters (pmm.md 1.4, pbm-docs backup options): PMM backs them up since 2.38 but restores only
    through the PBM CLI; PBM stops the balancer for each backup and restores its state after."""
    assert inp.sharding is not None
    shards = len(inp.sharding.shards)
    version = pmm_version(inp)
    if version is not None and version < SHARDED_SINCE_PMM:
        problems.append((f"PMM {inp.pmm.version if inp.pmm else '?'} backs up sharded clusters only from 2.38",
                         "Upgrade PMM Server and PMM Clients to 2.38 or later", BACKUPS | {PITR}))
    if inp.settings.restore_from_pmm:
        problems.append(("PMM cannot restore sharded clusters (it refuses their backups: \"cannot be restored "
                         "from UI\"), and the config says restore_from_pmm: true",
                         "Restore sharded backups with the PBM CLI (pbm restore <backup name>), as PMM's docs say, "
                         "and set restore_from_pmm: false for this cluster", RESTORES))
    else:
        notes.append(f"sharded cluster of {shards} shard{'s' if shards != 1 else ''}: PMM backs it up, restores "
                     f"need the PBM CLI")
    balancer = inp.sharding.balancer.value
    if balancer is None:
        notes.append(f"balancer state unknown ({inp.sharding.balancer.error})")
        return
    mode = str(balancer.get("mode", "?"))
    backup = _running_backup(inp)
    running_for = _lock_age(inp, backup) if backup is not None else None
    if backup is not None and mode != "off" and running_for is not None and running_for > BALANCER_STOP_GRACE:
        versions = [parse_version(a.version) for a in (inp.view.agents or {}).values()]
        newest = max((v for v in versions if v is not None), default=None)
        option = ("; set backup.timeouts.balancerStop in PBM's config so that a balancer which cannot stop fails "
                  "the backup (PMM rewrites PBM's whole config at each backup, dropping it, so set it again after "
                  "PMM's backups or run them with the PBM CLI)"
                  if newest is not None and newest >= BALANCER_STOP_OPTION_SINCE else "")
        problems.append((f"a PBM backup ({backup.opid or '?'}) has run for {running_for} s while the balancer "
                         f"is {mode}: PBM stops the balancer before every backup of a sharded cluster and waits 30 s "
                         f"for it, then goes on with a warning (the backup may miss chunks moved meanwhile)",
                         f"Check PBM's log (pbm logs -e backup) for why it could not stop the balancer, and give the "
                         f"PMM user pbmAnyAction on the config servers{option}", NOTHING))
    elif backup is not None and mode != "off":
        notes.append(f"balancer {mode}: a PBM backup started {running_for if running_for is not None else '?'} s "
                     f"ago, and PBM stops the balancer within 30 s of taking its lock")
    else:
        notes.append(f"balancer {mode} (PBM stops it for each backup)")


def _lock_age(inp: CheckInput, lock: Lock) -> int | None:
    """Seconds since the locked backup started, by the cluster's clock: its admin.pbmBackups document's start_ts
    (a lock carries no start time); None when that is not known."""
    now = inp.mongo.cluster_time.value
    meta = next((b for b in inp.mongo.backups.value or [] if b.get("opid") == lock.opid), None)
    start = meta.get("start_ts") if meta else None
    if now is None or not isinstance(start, int) or isinstance(start, bool):
        return None
    return max(0, now - start)
