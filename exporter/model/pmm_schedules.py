"""What PMM's scheduled backups and artifacts of a cluster are, for the checks: the cluster's services by their
label, their schedules, and which operation a schedule runs."""

from __future__ import annotations

from typing import Any

from exporter.model.cluster_view import CheckInput
from exporter.results.operations import LOGICAL_BACKUP, PHYSICAL_BACKUP, PITR


def our_services(inp: CheckInput) -> list[dict[str, Any]]:
    """The MongoDB services carrying the cluster's name as their PMM cluster label."""
    return inp.pmm.backups.of_cluster(inp.settings.name)[0] if inp.pmm else []


def our_schedules(inp: CheckInput) -> list[dict[str, Any]]:
    return inp.pmm.backups.of_cluster(inp.settings.name)[1] if inp.pmm else []


def our_artifacts(inp: CheckInput) -> list[dict[str, Any]]:
    return inp.pmm.backups.of_cluster(inp.settings.name)[2] if inp.pmm else []


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
