"""pbm_version_supported: each node's pbm-agent runs PBM 2.0.1 or newer (PMM 2.32+ and PMM 3 require it)."""

from __future__ import annotations

from exporter.checks.agent_duties import without_agent
from exporter.checks.operations import EVERYTHING
from exporter.checks.pbm_agents import MIN_PBM_VERSION, parse_version
from exporter.checks.pmm_inventory import pmm_version
from exporter.checks.results import CheckResult, failed, passed, unknown
from exporter.checks.topology import host_and_port
from exporter.checks.view import CheckInput, judged_members

# Blocks everything. Before every backup and restore pmm-managed checks the pbm on the service's pmm-agent and
# refuses "installed pbm version %q, min required pbm version %q" below 2.0.1 (managed/services/backup
# compatibility_helpers.go mongoDBBackupSoftwareInstalledAndCompatible). PBM >= 2.10 with PMM < 3.9: no code refuses
# it, but an older pmm-agent's polling of `pbm describe-backup` marks a backup PBM finished as failed (PMM-14576,
# agent/runner/jobs/pbm_helpers.go waitForPBMBackup), as PMM's docs warn.
CHECK = "pbm_version_supported"
MAY_BLOCK = EVERYTHING
MIN_TEXT = ".".join(map(str, MIN_PBM_VERSION))
# PMM 3 docs, "PBM version compatibility": PBM 2.10.0 and later are supported only with PMM 3.9.0 or later
PBM_NEEDING_NEWER_PMM = (2, 10, 0)
MIN_PMM_FOR_NEW_PBM = (3, 9, 0)


def upgrade_fix(node: str) -> str:
    host = host_and_port(node)[0]
    return (
        f"On {host}: upgrade Percona Backup for MongoDB to {MIN_TEXT} or newer, the same version on every node "
        f"(sudo percona-release enable pbm release, then sudo apt-get install --only-upgrade "
        f"percona-backup-mongodb or sudo yum update percona-backup-mongodb), then sudo systemctl restart pbm-agent"
    )


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, view = inp.mongo, inp.view
    rs = view.replica_set
    data_members, _, results = judged_members(CHECK, facts, view)
    pmm = pmm_version(inp)
    for member in data_members:
        agent = view.agent(member.host)
        if agent is None:
            # unknown only for what this node's agent does, which pbm_agent_running already fails it for
            results.append(unknown(CHECK, "no pbm-agent document for this node, so its PBM version is unknown",
                                   member.host, rs, without_agent(view, member.host, control=inp.control).blocks))
            continue
        version = parse_version(agent.version)
        if version is None:
            results.append(failed(CHECK, f"pbm-agent reports an unparsable version {agent.version!r}",
                                  upgrade_fix(member.host), member.host, rs, EVERYTHING))
        elif version < MIN_PBM_VERSION:
            results.append(failed(CHECK, f"PBM {agent.version} is older than {MIN_TEXT}, the oldest PMM supports",
                                  upgrade_fix(member.host), member.host, rs, EVERYTHING))
        elif version >= PBM_NEEDING_NEWER_PMM and pmm is not None and pmm < MIN_PMM_FOR_NEW_PBM:
            server = inp.pmm.version if inp.pmm else "?"
            results.append(failed(
                CHECK, f"PBM {agent.version} needs PMM 3.9.0 or later, and PMM Server is {server}",
                "Upgrade PMM Server and PMM Clients to 3.9.0 or later, or install PBM 2.9.x on every node (PMM "
                "docs: PBM version compatibility)", member.host, rs, EVERYTHING))
        else:
            results.append(passed(CHECK, f"PBM {agent.version} (>= {MIN_TEXT})", member.host, rs))
    return results
