"""pbm_version_supported: each node's pbm-agent runs PBM 2.0.1 or newer (PMM 2.32+ and PMM 3 require it)."""

from __future__ import annotations

from exporter.checks.pbm_agents import MIN_PBM_VERSION, parse_version
from exporter.checks.pmm_inventory import pmm_version
from exporter.checks.results import CheckResult, failed, passed, unknown
from exporter.checks.topology import host_and_port
from exporter.checks.view import CheckInput, judged_members

CHECK = "pbm_version_supported"
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
            results.append(unknown(CHECK, "no pbm-agent has reported for this node, so its PBM version is unknown",
                                   member.host, rs))
            continue
        version = parse_version(agent.version)
        if version is None:
            results.append(failed(CHECK, f"pbm-agent reports an unparsable version {agent.version!r}",
                                  upgrade_fix(member.host), member.host, rs))
        elif version < MIN_PBM_VERSION:
            results.append(failed(CHECK, f"PBM {agent.version} is older than {MIN_TEXT}, the oldest PMM supports",
                                  upgrade_fix(member.host), member.host, rs))
        elif version >= PBM_NEEDING_NEWER_PMM and pmm is not None and pmm < MIN_PMM_FOR_NEW_PBM:
            server = inp.pmm.version if inp.pmm else "?"
            results.append(failed(
                CHECK, f"PBM {agent.version} needs PMM 3.9.0 or later, and PMM Server is {server}",
                "Upgrade PMM Server and PMM Clients to 3.9.0 or later, or install PBM 2.9.x on every node (PMM "
                "docs: PBM version compatibility)", member.host, rs))
        else:
            results.append(passed(CHECK, f"PBM {agent.version} (>= {MIN_TEXT})", member.host, rs))
    return results
