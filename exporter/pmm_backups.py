"""PMM's services, scheduled backups and artifacts per cluster, as pmm-managed groups them: by the services'
`cluster` label. The PMM prober uses it to choose which artifacts to ask PMM about, the checks to judge them.

PMM's ScheduledBackup and Artifact messages carry no cluster (api/backup/v1/backup.proto, artifacts.proto): a
schedule or an artifact belongs to the cluster of its service. Documents are the prober's cut-down ones, with
data_model, mode and status reduced to LOGICAL / PHYSICAL, SNAPSHOT / PITR, SUCCESS / ERROR ...
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def services_by_cluster(services: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The MongoDB services by their cluster label, as pmm-managed's models.FindServices(Cluster=...) finds them
    for runMongoPostRestore and CheckMongoDBBackupPreconditions."""
    out: dict[str, list[dict[str, Any]]] = {}
    for service in services:
        if service.get("cluster"):
            out.setdefault(str(service["cluster"]), []).append(service)
    return out


def of_services(docs: Iterable[dict[str, Any]], service_ids: Iterable[Any]) -> list[dict[str, Any]]:
    """The schedules or artifacts of these services."""
    wanted = set(service_ids)
    return [d for d in docs if d.get("service_id") in wanted]


def newest_restorable(artifacts: Iterable[dict[str, Any]], service_ids: Iterable[Any]) -> dict[str, Any] | None:
    """The newest artifact in success status of these services: the one a restore before an emergency would use
    (PMM refuses any other, "artifact not in success status", backup_service.go checkArtifactModePreconditions).
    RFC 3339 times in UTC sort as strings."""
    done = [a for a in of_services(artifacts, service_ids) if a.get("status") == "SUCCESS"]
    return max(done, key=lambda a: str(a.get("created_at") or "")) if done else None


class BackupIndex:
    """PMM's lists indexed once per read, so that each of thousands of clusters finds its own services, schedules
    and artifacts, and who else uses a location and folder, without scanning the fleet's."""

    def __init__(self, services: Iterable[dict[str, Any]], schedules: Iterable[dict[str, Any]],
                 artifacts: Iterable[dict[str, Any]]) -> None:
        self.services = services_by_cluster(services)
        self.schedules: dict[Any, list[dict[str, Any]]] = {}
        self.artifacts: dict[Any, list[dict[str, Any]]] = {}
        # (location ID, folder) -> [(kind, document)] of every schedule and artifact
        self.users: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
        for kind, docs, by_service in (("scheduled backup", schedules, self.schedules),
                                       ("artifact", artifacts, self.artifacts)):
            for doc in docs:
                by_service.setdefault(doc.get("service_id"), []).append(doc)
                self.users.setdefault(location_and_folder(doc), []).append((kind, doc))

    def of_cluster(self, cluster: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """The cluster's services, their schedules and their artifacts."""
        services = self.services.get(cluster, []) if cluster else []
        ids = [s.get("service_id") for s in services]
        return (services, [d for i in ids for d in self.schedules.get(i, [])],
                [d for i in ids for d in self.artifacts.get(i, [])])


def location_and_folder(doc: dict[str, Any]) -> tuple[str, str]:
    return str(doc.get("location_id") or ""), str(doc.get("folder") or "")
