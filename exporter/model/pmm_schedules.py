"""What PMM's scheduled backups and artifacts of a cluster are, for the checks: the cluster's services by their
label, their schedules, and which operation a schedule runs.

The label is PMM's, not the exporter's config name: pmm-managed groups a cluster by the label on the service it
acts through (CheckMongoDBBackupPreconditions(q, mode, svc.Cluster, ...) in managed/services/backup
backup_service.go PerformBackup; runMongoPostRestore's models.FindServices(Cluster: service.Cluster) in
managed/services/agents/jobs.go; PMM v3.9.0 and 2.x alike), so the cluster's services, schedules and artifacts
are those of the label PMM has on the services matched to the replica set's members."""

from __future__ import annotations

from typing import Any

from exporter.facts.observed import PMMFacts
from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import match_members, usable_pmm
from exporter.model.pmm_service_agents import dsn_agent, serving_pmm_agent
from exporter.results.check_result import CheckResult, skipped
from exporter.results.operations import LOGICAL_BACKUP, PHYSICAL_BACKUP, PITR


def cluster_label(inp: CheckInput) -> str:
    """PMM's cluster label of this cluster: the one most of the services matched to the replica set's members carry
    (the config's name among equals), or the config's name when no matched service has one."""
    if "cluster_label" not in inp.memo:
        counts: dict[str, int] = {}
        for match in match_members(inp).values():
            found = match.service.get("cluster") if match.service is not None else None
            if isinstance(found, str) and found:
                counts[found] = counts.get(found, 0) + 1
        name = inp.settings.name
        inp.memo["cluster_label"] = max(sorted(counts), key=lambda c: (counts[c], c == name)) if counts else name
    label: str = inp.memo["cluster_label"]
    return label


def label_note(inp: CheckInput) -> str:
    """For reasons: which label is PMM's when the config names the cluster otherwise, else ""."""
    label = cluster_label(inp)
    return "" if label == inp.settings.name else \
        f" (PMM's cluster label {label!r}, on the members' services; the exporter's config says {inp.settings.name!r})"


def our_services(inp: CheckInput) -> list[dict[str, Any]]:
    """The MongoDB services carrying the cluster's PMM label (cluster_label)."""
    return inp.pmm.backups.of_cluster(cluster_label(inp))[0] if inp.pmm else []


def our_schedules(inp: CheckInput) -> list[dict[str, Any]]:
    return inp.pmm.backups.of_cluster(cluster_label(inp))[1] if inp.pmm else []


def our_artifacts(inp: CheckInput) -> list[dict[str, Any]]:
    return inp.pmm.backups.of_cluster(cluster_label(inp))[2] if inp.pmm else []


def is_sharded(inp: CheckInput) -> bool:
    """Judging a replica set of a sharded cluster: the config servers (sharding read) or a shard (not control)."""
    return inp.sharding is not None or not inp.control


def runnable_services(inp: CheckInput, pmm: PMMFacts) -> list[tuple[dict[str, Any], str]]:
    """The services of the cluster's label, in any replica set, PMM could start a backup through, with their
    serving pmm-agent's ID: that pmm-agent (FindPMMAgentsForService()[0]) connected, with an agent of the service
    to take the DSN from (FindDSNByServiceIDandPMMAgentID).

    For a sharded cluster any one will do: StartBackup and a schedule take a single service, pmm-agent runs pbm with
    its DSN, and pbm reconnects to the config servers (PBM pbm/connect/connect.go Connect: getConfigsvrURI, from
    the shard's shardIdentity document); the artifact is marked sharded from `pbm status` (agent/runner/jobs
    pbm_helpers.go isShardedCluster). No PMM code asks for a usable service in each shard for a backup."""
    out = []
    for service in our_services(inp):
        agent_id, agent = serving_pmm_agent(pmm, service.get("service_id"))
        if agent is not None and agent.get("connected") and dsn_agent(pmm, service.get("service_id"), agent_id):
            out.append((service, agent_id))
    return out


def scheduled_operation(schedule: dict[str, Any]) -> str:
    """The operation a schedule runs: PITR slicing, or a snapshot of its data model (PITR is logical only:
    ErrIncompatibleDataModel "PITR is only supported for logical backups", backup_service.go PerformBackup)."""
    if schedule.get("mode") == "PITR":
        return PITR
    return PHYSICAL_BACKUP if schedule.get("data_model") == "PHYSICAL" else LOGICAL_BACKUP


def scheduled_operations(inp: CheckInput, service_id: Any) -> set[str]:
    """The operations enabled schedules run through this service: PMM runs a schedule through its own service,
    whatever state the cluster's other services are in (managed/services/scheduler/task.go mongoDBBackupTask.Run:
    PerformBackup with the task's ServiceID)."""
    return {scheduled_operation(s) for s in our_schedules(inp) if s.get("enabled") and
            s.get("service_id") == service_id}


def location_type(inp: CheckInput, location_id: Any) -> str:
    """"s3", "filesystem" or "" (unknown location)."""
    for location in (inp.pmm.locations.value or []) if inp.pmm else []:
        if location.get("location_id") == location_id:
            return str(location.get("type") or "")
    return ""


def name_of(doc: dict[str, Any]) -> str:
    return str(doc.get("name") or doc.get("scheduled_backup_id") or doc.get("artifact_id") or "?")


def names_of(docs: list[dict[str, Any]]) -> str:
    """'nightly', 'pitr': the names of schedules or artifacts, for reasons and fixes."""
    return ", ".join(repr(name_of(d)) for d in docs)


SCHEDULES_PAGE = "PMM: Backup > Scheduled backup jobs"  # where the fixes of the schedule checks point


def cluster_schedules(check: str, inp: CheckInput) -> tuple[list[dict[str, Any]], list[CheckResult]]:
    """The cluster's schedules in PMM (by PMM's label), and the check's result when they cannot be judged: PMM's
    lists unusable (usable_pmm's result), or no schedule at all (skipped)."""
    pmm = usable_pmm(check, inp, "services", "scheduled_backups")
    if isinstance(pmm, list):
        return [], pmm
    schedules = our_schedules(inp)
    if not schedules:
        return [], [skipped(check, f"PMM has no scheduled backup of cluster {cluster_label(inp)!r}{label_note(inp)}",
                            "", inp.view.replica_set)]
    return schedules, []
