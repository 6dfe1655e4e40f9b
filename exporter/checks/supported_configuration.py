"""supported_configuration: the cluster is within what PMM and PBM support for its backup mode.

Rules (pmm.md 1.4, pbm.md 4): physical backups need Percona Server for MongoDB (PSMDB) on every data-bearing
node; physical restores are not supported with arbiters; the MongoDB version must be one PMM backs up (4.4+)
and one the installed PBM supports (PBM docs details/versions.md).
"""

from __future__ import annotations

from typing import Any

from bson.timestamp import Timestamp

from exporter.checks.pbm_agents import STALE_FRAME_SEC, AgentReport, parse_version
from exporter.checks.pmm_inventory import pmm_version
from exporter.checks.results import CheckResult, failed, passed, unknown
from exporter.checks.topology import major_minor
from exporter.checks.view import CheckInput
from exporter.facts import ReplicaSetFacts

CHECK = "supported_configuration"
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


def supported_mongodb(pbm: tuple[int, int, int]) -> tuple[tuple[int, int], ...] | None:
    for first, majors in PBM_MONGODB_SUPPORT:
        if pbm >= first:
            return majors
    return None


def _fmt(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def _is_psmdb(agent: AgentReport | None, host: str, primary_host: str, facts: ReplicaSetFacts) -> bool | None:
    """PSMDB or not, from the agent's pv/mv fields (PBM >= 2.3), or buildInfo for the primary; None if unknown."""
    if agent is not None and agent.mongo_version is not None:
        return agent.psmdb_version is not None
    build = facts.build_info.value
    if host == primary_host and isinstance(build, dict):
        return isinstance(build.get("psmdbVersion"), str)
    return None


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, view, settings = inp.mongo, inp.view, inp.settings
    rs = view.replica_set
    if view.members is None:
        return [unknown(CHECK, view.members_error, "", rs)]
    problems: list[tuple[str, str]] = []  # (reason, fix)
    unknowns: list[str] = []

    build = facts.build_info.value
    mongodb = major_minor(build.get("version")) if isinstance(build, dict) else None
    if mongodb is None:
        unknowns.append(f"MongoDB version unknown ({facts.build_info.error or 'buildInfo has no version'})")
    else:
        if mongodb < MIN_MONGODB:
            problems.append((f"MongoDB {_fmt(mongodb)} is older than {_fmt(MIN_MONGODB)}, the oldest PMM backs up",
                             "Upgrade MongoDB to a version PMM and PBM support (7.0 or 8.0 for current PBM)"))
        versions = {parse_version(a.version) for a in (view.agents or {}).values() if a.replica_set == rs}
        for pbm in sorted(v for v in versions if v is not None):
            majors = supported_mongodb(pbm)
            if majors is not None and mongodb not in majors:
                pbm_text = ".".join(map(str, pbm))
                problems.append((
                    f"PBM {pbm_text} supports MongoDB {', '.join(map(_fmt, majors))}, not {_fmt(mongodb)}",
                    f"Run a PBM release that supports MongoDB {_fmt(mongodb)} on every node (see PBM's "
                    f"'Supported MongoDB versions'), or upgrade MongoDB to one PBM {pbm_text} supports"))

    if settings.backup_mode == "physical":
        hello = facts.hello.value
        primary = hello.get("primary", "") if isinstance(hello, dict) else ""
        community, not_known = [], []
        for member in (m for m in view.members if m.data_bearing):
            psmdb = _is_psmdb(view.agent(member.host), member.host, primary, facts)
            if psmdb is False:
                community.append(member.host)
            elif psmdb is None:
                not_known.append(member.host)
        if community:
            problems.append((
                f"physical backups need Percona Server for MongoDB on every data-bearing node; "
                f"{', '.join(community)} run{'s' if len(community) == 1 else ''} MongoDB Community/Enterprise",
                "Set backup_mode: logical for this cluster (and take logical backups in PMM), or replace the "
                "server on those nodes with Percona Server for MongoDB of the same version"))
        if not_known:
            unknowns.append(f"cannot tell whether {', '.join(not_known)} run Percona Server for MongoDB "
                            f"(their pbm-agent, 2.3 or newer, reports it)")
        arbiters = [m.host for m in view.members if m.arbiter]
        if arbiters:
            problems.append((
                f"physical restores are not supported with arbiter nodes ({', '.join(arbiters)})",
                "Replace the arbiter with a data-bearing member (rs.remove() it, then rs.add() a secondary), "
                "or use logical backups for this cluster"))

    notes: list[str] = []
    if inp.sharding is not None:
        _sharded_rules(inp, problems, notes)

    if problems:
        reason = "; ".join(p[0] for p in problems)
        if unknowns:
            reason += f" (also: {'; '.join(unknowns)})"
        return [failed(CHECK, reason, " ".join(f"{i}. {p[1]}." for i, p in enumerate(problems, 1))
                       if len(problems) > 1 else problems[0][1], "", rs)]
    if unknowns:
        return [unknown(CHECK, "; ".join(unknowns), "", rs)]
    mode = "physical (PSMDB on every data-bearing node, no arbiter)" if settings.backup_mode == "physical" \
        else "logical"
    note = f"; {'; '.join(notes)}" if notes else ""
    return [passed(CHECK, f"MongoDB {_fmt(mongodb) if mongodb else '?'}, {mode} backups supported{note}", "", rs)]


def _running_backup(inp: CheckInput) -> dict[str, Any] | None:
    """PBM's backup lock when a backup runs now (its heartbeat fresh by PBM's 30 s rule), else None."""
    now = inp.mongo.cluster_time.value
    for lock in inp.mongo.locks.value or []:
        if not isinstance(lock, dict):
            continue
        hb = lock.get("hb")
        if lock.get("type") == "backup" and isinstance(hb, Timestamp) and now is not None \
                and hb.time + STALE_FRAME_SEC >= now:
            return lock
    return None


def _sharded_rules(inp: CheckInput, problems: list[tuple[str, str]], notes: list[str]) -> None:
    """Sharded clusters (pmm.md 1.4, pbm-docs backup options): PMM backs them up since 2.38 but restores only
    through the PBM CLI; PBM stops the balancer for each backup and restores its state after."""
    assert inp.sharding is not None
    shards = len(inp.sharding.shards)
    version = pmm_version(inp)
    if version is not None and version < SHARDED_SINCE_PMM:
        problems.append((f"PMM {inp.pmm.version if inp.pmm else '?'} backs up sharded clusters only from 2.38",
                         "Upgrade PMM Server and PMM Clients to 2.38 or later"))
    if inp.settings.restore_from_pmm:
        problems.append(("PMM cannot restore sharded clusters (it refuses their backups: \"cannot be restored "
                         "from UI\"), and the config says restore_from_pmm: true",
                         "Restore sharded backups with the PBM CLI (pbm restore <backup name>), as PMM's docs say, "
                         "and set restore_from_pmm: false for this cluster"))
    else:
        notes.append(f"sharded cluster of {shards} shard{'s' if shards != 1 else ''}: PMM backs it up, restores "
                     f"need the PBM CLI")
    balancer = inp.sharding.balancer.value
    if balancer is None:
        notes.append(f"balancer state unknown ({inp.sharding.balancer.error})")
        return
    mode = str(balancer.get("mode", "?"))
    backup = _running_backup(inp)
    if backup is not None and mode != "off":
        problems.append((f"a PBM backup ({backup.get('opid', '?')}) is running while the balancer is {mode}: PBM "
                         f"stops the balancer before every backup of a sharded cluster",
                         "Check PBM's log (pbm logs -e backup) for why it could not stop the balancer; give the PMM "
                         "user pbmAnyAction on the config servers, and set backup.timeouts.balancerStop so a balancer "
                         "that cannot stop fails the backup instead of running beside it"))
    else:
        notes.append(f"balancer {mode} (PBM stops it for each backup)")
