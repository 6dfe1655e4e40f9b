"""pmm_agent_version_supported: the pmm-agent PMM runs each node's backups and restores through is new enough
for what the cluster uses.

pmm-managed refuses a job on a pmm-agent older than (managed/services/agents/jobs.go, models.PMMAgentSupported,
FailedPrecondition): 2.19 for MongoDB logical backups and restores
(pmmAgentMinVersionForMongoLogicalBackupAndRestore), 2.31.0 for physical ones
(pmmAgentMinVersionForMongoPhysicalBackupAndRestore), 2.32.0 for a backup to or restore from a filesystem
location (pmmAgentMinVersionForMongoDBUseFilesystemStorage) and for a point-in-time restore
(pmmAgentMinVersionForMongoPITRRestore). Below 2.35.0 (compatibility_service.go
pmmAgentMinVersionForMongoBackupSoftwareCheck) PMM skips its mongod and pbm check with a warning, and the artifact
gets no MongoDB version, so PMM restores it only to the service it was taken from.

Blocks: an operation the node's pmm-agent is too old for, when PMM runs it through this node's service on a
schedule, or when no other data-bearing node's pmm-agent could run it (PMM runs a backup or restore through the
pmm-agent of the service it is started on). In a sharded cluster a backup or PITR may be started through any
service of the cluster's label, in any replica set (pmm_schedules.runnable_services), so the other replica sets'
pmm-agents count for them too. What only the version notes say is a warning.
"""

from __future__ import annotations

from typing import Any

from exporter.facts.pmm_indexes import key, newest_restorable
from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_agents import parse_version
from exporter.model.pbm_pitr_config import pitr_enabled
from exporter.model.pmm_inventory import ServiceMatch, match_members, usable_pmm
from exporter.model.pmm_schedules import (
    is_sharded,
    location_type,
    our_artifacts,
    our_schedules,
    our_services,
    runnable_services,
    scheduled_operations,
)
from exporter.model.pmm_service_agents import node_name, serving_pmm_agent
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import (
    BACKUPS,
    EVERYTHING,
    LOGICAL_BACKUP,
    LOGICAL_RESTORE,
    OPERATIONS,
    PHYSICAL_BACKUP,
    PHYSICAL_RESTORE,
    PITR,
    ordered,
)

CHECK = "pmm_agent_version_supported"
MAY_BLOCK = EVERYTHING
LOGICAL_MIN = (2, 19, 0)
PHYSICAL_MIN = (2, 31, 0)
FILESYSTEM_MIN = (2, 32, 0)
PITR_RESTORE_MIN = (2, 32, 0)
SOFTWARE_CHECK_MIN = (2, 35, 0)
NEEDS = {LOGICAL_BACKUP: LOGICAL_MIN, PITR: LOGICAL_MIN, LOGICAL_RESTORE: LOGICAL_MIN,
         PHYSICAL_BACKUP: PHYSICAL_MIN, PHYSICAL_RESTORE: PHYSICAL_MIN}


def text(version: tuple[int, int, int]) -> str:
    return ".".join(map(str, version))


def uses_filesystem(inp: CheckInput) -> bool:
    """The cluster's backups go to a filesystem location: its schedules' or newest artifact's location, or, before
    it has either, every location PMM has."""
    assert inp.pmm is not None
    ids = [s.get("service_id") for s in our_services(inp)]
    newest = newest_restorable(our_artifacts(inp), ids)
    used = {key(s.get("location_id")) for s in our_schedules(inp)} | ({key(newest.get("location_id"))} if newest
                                                                       else set())
    if used:
        return any(location_type(inp, loc) == "filesystem" for loc in used)
    locations = inp.pmm.locations.value or []
    return bool(locations) and all(loc.get("type") == "filesystem" for loc in locations)


def needed(operation: str, filesystem: bool) -> tuple[int, int, int]:
    """The oldest pmm-agent PMM runs the operation through, with the cluster's location."""
    return max(NEEDS[operation], FILESYSTEM_MIN) if filesystem else NEEDS[operation]


def too_old_for(version: tuple[int, int, int], filesystem: bool) -> set[str]:
    return {op for op in NEEDS if version < needed(op, filesystem)}


def upgrade_fix(host: str) -> str:
    return (f"On the host of that pmm-agent ({host}): upgrade PMM Client to the PMM Server's version "
            f"(sudo percona-release enable pmm3-client, then sudo apt-get install --only-upgrade pmm-client or "
            f"sudo yum update pmm-client), then sudo systemctl restart pmm-agent")


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = usable_pmm(CHECK, inp, "services", "pmm_agents", "exporters", "agent_versions", members=True)
    if isinstance(pmm, list):
        return pmm
    versions = pmm.agent_versions.value or {}
    filesystem = uses_filesystem(inp)
    pitr = pitr_enabled(inp.mongo.pbm_config.value)
    matches = match_members(inp)
    data_members = [m for m in inp.view.members or () if m.data_bearing]  # read: usable_pmm(members=True)
    # per node: (its service, its pmm-agent's ID and inventory document, that agent's version or None)
    judged: dict[str, tuple[dict[str, Any], str, dict[str, Any], tuple[int, int, int] | None]] = {}
    results = []
    for member in data_members:
        service = matches.get(member.host, ServiceMatch(None)).service
        agent_id, agent = serving_pmm_agent(pmm, service.get("service_id")) if service else ("", None)
        if service is None or not agent_id:
            results.append(skipped(CHECK, "no PMM service with a pmm-agent matches this node (see "
                                          "pmm_client_connected)", member.host, rs))
        elif agent_id not in versions:
            results.append(unknown(CHECK, f"PMM has not told the version of pmm-agent {agent_id} yet",
                                   member.host, rs))
        else:
            judged[member.host] = (service, agent_id, agent or {}, parse_version(versions[agent_id]))
    can_run = {op for _, _, _, version in judged.values() if version is not None
               for op in set(OPERATIONS) - too_old_for(version, filesystem)}
    if is_sharded(inp):  # a sharded cluster's backup or PITR runs through any one service of the cluster
        for _, agent_id in runnable_services(inp, pmm):
            other = parse_version(str(versions.get(agent_id) or ""))
            if other is not None:
                can_run |= (BACKUPS | {PITR}) - too_old_for(other, filesystem)
    for host, (service, agent_id, agent, version) in judged.items():
        shown = versions[agent_id]
        if version is None:
            results.append(unknown(CHECK, f"pmm-agent {agent_id} reports an unparsable version {shown!r}", host,
                                   rs))
            continue
        old_for = too_old_for(version, filesystem)
        notes = []
        if version < SOFTWARE_CHECK_MIN:
            notes.append(f"below {text(SOFTWARE_CHECK_MIN)} PMM skips its check of mongod and pbm on this host, and "
                         f"its artifacts carry no MongoDB version, so PMM restores them only to the service they "
                         f"were taken from")
        if pitr and version < PITR_RESTORE_MIN:
            notes.append(f"PITR is on, and PMM restores to a point in time only through pmm-agent "
                         f"{text(PITR_RESTORE_MIN)} or newer")
        if not old_for and not notes:
            results.append(passed(CHECK, f"pmm-agent {shown} serves service {service.get('service_name')}", host, rs))
            continue
        scheduled = scheduled_operations(inp, service.get("service_id"))
        blocks = {op for op in old_for if op in scheduled or op not in can_run}
        reasons = []
        if old_for:
            minimum = max(needed(op, filesystem) for op in old_for)
            where = " (the cluster's backups go to a filesystem location)" if filesystem and version < FILESYSTEM_MIN \
                else ""
            reasons.append(f"pmm-agent {shown} of service {service.get('service_name')} is too old for "
                           f"{', '.join(ordered(old_for))}, which need {text(minimum)}{where}")
            others = ordered(old_for - blocks)
            if others:
                reasons.append(f"PMM would refuse {', '.join(others)} through this service, and can run "
                               f"{'it' if len(others) == 1 else 'them'} through another node's")
        reasons += notes
        results.append(failed(CHECK, "; ".join(reasons), upgrade_fix(node_name(pmm, agent.get("runs_on_node_id"))),
                              host, rs, blocks))
    return results
