"""pbm_version_supported: each node's pbm-agent runs PBM 2.0.1 or newer (PMM 2.32+ and PMM 3 require it)."""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput, judged_members
from exporter.model.pbm_agent_duties import without_agent
from exporter.model.pbm_agents import MIN_PBM_VERSION, AgentReport, parse_version
from exporter.model.pmm_inventory import pmm_version
from exporter.model.topology import host_and_port
from exporter.results.check_result import CheckResult, failed, passed, unknown
from exporter.results.operations import EVERYTHING, RESTORES

# Blocks everything. Before every backup and restore pmm-managed checks the pbm on the service's pmm-agent and
# refuses "installed pbm version %q, min required pbm version %q" below 2.0.1 (managed/services/backup
# compatibility_helpers.go mongoDBBackupSoftwareInstalledAndCompatible). PBM >= 2.10 with PMM < 3.9: no code refuses
# it, but an older pmm-agent's polling of `pbm describe-backup` marks a backup PBM finished as failed (PMM-14576,
# agent/runner/jobs/pbm_helpers.go waitForPBMBackup), as PMM's docs warn.
# PBM >= 2.14.0 blocks logical_restore and physical_restore: `pbm restore` asks for confirmation unless given --yes
# (percona-backup-mongodb v2.14.0 cmd/pbm/restore.go doRestore, askConfirmation), and PMM's restore job runs it
# without (agent/runner/jobs/mongodb_restore_job.go startRestore, read in PMM 3.10), with stdin on /dev/null: pbm
# prints the prompt, reads nothing and cancels, and PMM fails parsing its output ("pbm restore error: invalid
# character 'R'"), percona/pmm#5877, open. A restore runs pbm on one service's pmm-agent host, so a node with an
# older PBM leaves it a warning.
CHECK = "pbm_version_supported"
MAY_BLOCK = EVERYTHING
MIN_TEXT = ".".join(map(str, MIN_PBM_VERSION))
# PMM 3 docs, "PBM version compatibility": PBM 2.10.0 and later are supported only with PMM 3.9.0 or later
PBM_NEEDING_NEWER_PMM = (2, 10, 0)
MIN_PMM_FOR_NEW_PBM = (3, 9, 0)
PBM_RESTORE_PROMPT = (2, 14, 0)
PMM_PASSING_YES: tuple[int, int, int] | None = None  # the first PMM whose restore job passes --yes: none as of 3.10


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
                "Upgrade PMM Server and PMM Clients to 3.9.0 or later, or install PBM 2.9.1 or a later 2.9.x on every "
                "node (PMM docs: PBM version compatibility; PBM 2.3.0 to 2.9.0 refuse some backups 2.9.1 "
                "takes: CheckTopoForBackup)", member.host, rs, EVERYTHING))
        elif version >= PBM_RESTORE_PROMPT and (PMM_PASSING_YES is None or pmm is None or pmm < PMM_PASSING_YES):
            older = [m.host for m in data_members if _older_than_prompt(view.agent(m.host))]
            results.append(failed(
                CHECK, f"PBM {agent.version} asks for confirmation before a restore, and PMM's restore job does not "
                       f"answer it (percona/pmm#5877), so a restore from PMM through this node fails"
                       + (f"; restore through {', '.join(older)}, whose PBM is older" if older else ""),
                "Until a PMM release passes --yes: restore from a shell on a node, pbm restore <backup name> --yes "
                "(PBM docs, Restore a backup), or keep PBM 2.13.x on the nodes PMM restores through",
                member.host, rs, () if older else RESTORES))
        else:
            results.append(passed(CHECK, f"PBM {agent.version} (>= {MIN_TEXT})", member.host, rs))
    return results


def _older_than_prompt(agent: AgentReport | None) -> bool:
    version = parse_version(agent.version) if agent is not None else None
    return version is not None and MIN_PBM_VERSION <= version < PBM_RESTORE_PROMPT
