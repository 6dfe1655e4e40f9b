"""pbm_versions_consistent: every pbm-agent of the cluster runs the same PBM version.

Mostly a warning: PBM's docs ask for one version everywhere, and nothing in PBM compares the agents' `v` fields. The
only version rule PBM enforces is a restore's: a backup made before a breaking change cannot be restored by a newer
PBM (pbm/version/version.go CompatibleWith, BreakingChangesMap: logical 1.5.0, incremental 2.1.0, physical none),
which the backups PMM takes (PBM 2.0.1+, no incremental backups) never meet.

But versions meet through the agent documents. Agents before 2.3 write no `mv` (v2.2.1 pbm/agent_status.go
AgentStat), and from 2.3 PBM reads it with AgentStat.MongoVersion(): `semver.Canonical("v" + s.MongoVer)[1:]`
(v2.3.0 pbm/agent_status.go; HEAD pbm/topo/agent.go), which for an empty `mv` slices an empty string: a Go runtime
panic, with no recover() in PBM. It runs for the documents of every agent when a backup starts, by the leader
(v2.3.0 agent/backup.go: every listed agent; HEAD cmd/pbm-agent/backup.go: CheckTopoForBackup over the replica
sets' hosts, then getValidCandidates over the steady agents) and by the `pbm backup` CLI (CheckTopoForBackup, from
v2.3.0). So:
- an agent document without `mv` while the cluster leader (the primary of the only, or the config server, replica
  set) runs PBM 2.3 or newer: the leader's pbm-agent dies at every backup; blocks logical_backup and
  physical_backup;
- the leader older than 2.3 but other agents 2.3 or newer: PMM's `pbm backup` panics when PMM runs it on one of
  those nodes, which the exporter cannot tell: a warning naming them.
Restores and PITR slicing never call MongoVersion() (HEAD: only topo.go CheckTopoForBackup and backup.go
getValidCandidates do), so they are not blocked.
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_agents import AgentReport, index_agents, parse_version
from exporter.model.topology import PRIMARY
from exporter.results.check_result import CheckResult, failed, passed, unknown
from exporter.results.operations import BACKUPS, NOTHING

CHECK = "pbm_versions_consistent"
MAY_BLOCK = BACKUPS
FIX = ("Install the same Percona Backup for MongoDB version on every node (sudo apt-get install "
       "percona-backup-mongodb=<version> or sudo yum install percona-backup-mongodb-<version>), then sudo systemctl "
       "restart pbm-agent on each")
MV_SINCE = (2, 3, 0)  # the first PBM whose agents write `mv`, and whose leader and CLI read it


def _reads_mv(report: AgentReport) -> bool:
    version = parse_version(report.version)
    return version is not None and version >= MV_SINCE


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, rs = inp.mongo, inp.view.replica_set
    if facts.agents.value is None or facts.cluster_time.value is None:
        return [unknown(CHECK, f"cannot read admin.pbmAgents: {facts.agents.error or facts.cluster_time.error}",
                        "", rs)]
    now = facts.cluster_time.value
    reports = index_agents(facts.agents.value)  # every replica set's agents, as PBM keeps them
    by_version: dict[str, list[str]] = {}
    for report in reports.values():
        if isinstance(report.version, str) and report.version and not report.is_stale(now):
            by_version.setdefault(report.version, []).append(report.node)
    if not by_version:
        return [unknown(CHECK, "no running pbm-agent reports its version", "", rs)]
    # PBM >= 2.3 reads every listed document, stale ones too (stale documents stay until AgentStatusGC)
    no_mv = sorted((r.node, str(r.version)) for r in reports.values() if r.mongo_version is None)
    readers = sorted(r.node for r in reports.values() if _reads_mv(r) and not r.is_stale(now))
    if no_mv and readers:
        return [_mv_panic(inp, no_mv, readers)]
    if len(by_version) == 1:
        [(version, nodes)] = by_version.items()
        return [passed(CHECK, f"every running pbm-agent ({len(nodes)}) runs PBM {version}", "", rs)]
    listed = "; ".join(f"{v}: {', '.join(sorted(n))}" for v, n in sorted(by_version.items()))
    return [failed(CHECK, f"the pbm-agents run different PBM versions ({listed}); PBM's docs ask for one version "
                          f"(a warning: PBM's code does not refuse mixed versions)", FIX, "", rs, NOTHING)]


def _mv_panic(inp: CheckInput, no_mv: list[tuple[str, str]], readers: list[str]) -> CheckResult:
    view, rs = inp.view, inp.view.replica_set
    old = ", ".join(f"{node} (PBM {version})" for node, version in no_mv)
    what = (f"{old} write{'s' if len(no_mv) == 1 else ''} no MongoDB version (mv) in admin.pbmAgents, which PBM "
            f"2.3 and newer read at every backup (AgentStat.MongoVersion panics on an empty mv)")
    primary = next((h for h, s in (view.states or {}).items() if s.state == PRIMARY), None)
    leader = view.agent(primary) if primary is not None and inp.control else None
    fix = (f"Upgrade pbm-agent on {', '.join(n for n, _ in no_mv)} to the version of the other nodes (2.3 or newer), "
           f"then sudo systemctl restart pbm-agent there; until then take no backup")
    if leader is not None and _reads_mv(leader):
        return failed(CHECK, f"{what}: the cluster leader's pbm-agent, on {primary} (PBM {leader.version}), panics "
                             f"and dies when a backup starts", fix, "", rs, BACKUPS)
    return failed(CHECK, f"{what}: `pbm backup` panics when PMM runs it on a node with PBM 2.3 or newer "
                         f"({', '.join(readers)}); the cluster leader reads no mv (warning)", fix, "", rs, NOTHING)
