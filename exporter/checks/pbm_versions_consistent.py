"""pbm_versions_consistent: every pbm-agent of the cluster runs the same PBM version.

A warning: PBM's docs ask for one version everywhere, but no PBM code refuses mixed agent versions (nothing in
cmd/pbm-agent compares them). The only version rule PBM enforces is a restore's: a backup made before a breaking
change cannot be restored by a newer PBM (pbm/version/version.go CompatibleWith, BreakingChangesMap: logical 1.5.0,
incremental 2.1.0, physical none), and PMM needs PBM 2.0.1 or newer anyway, with no incremental backups, so for the
backups PMM takes mixed versions block nothing. The reason lists the versions and their nodes.
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_agents import index_agents
from exporter.results.check_result import CheckResult, failed, passed, unknown
from exporter.results.operations import NOTHING

CHECK = "pbm_versions_consistent"
MAY_BLOCK = NOTHING
FIX = ("Install the same Percona Backup for MongoDB version on every node (sudo apt-get install "
       "percona-backup-mongodb=<version> or sudo yum install percona-backup-mongodb-<version>), then sudo systemctl "
       "restart pbm-agent on each")


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, rs = inp.mongo, inp.view.replica_set
    if facts.agents.value is None or facts.cluster_time.value is None:
        return [unknown(CHECK, f"cannot read admin.pbmAgents: {facts.agents.error or facts.cluster_time.error}",
                        "", rs)]
    now = facts.cluster_time.value
    by_version: dict[str, list[str]] = {}
    for report in index_agents(facts.agents.value).values():  # every replica set's agents, as PBM keeps them
        if isinstance(report.version, str) and report.version and not report.is_stale(now):
            by_version.setdefault(report.version, []).append(report.node)
    if not by_version:
        return [unknown(CHECK, "no running pbm-agent reports its version", "", rs)]
    if len(by_version) == 1:
        [(version, nodes)] = by_version.items()
        return [passed(CHECK, f"every running pbm-agent ({len(nodes)}) runs PBM {version}", "", rs)]
    listed = "; ".join(f"{v}: {', '.join(sorted(n))}" for v, n in sorted(by_version.items()))
    return [failed(CHECK, f"the pbm-agents run different PBM versions ({listed}); PBM's docs ask for one version "
                          f"(a warning: PBM's code does not refuse mixed versions)", FIX, "", rs, NOTHING)]
