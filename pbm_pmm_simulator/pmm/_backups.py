"""PMM Server's scheduled backups and backup artifacts, and the Backup Management API calls that list them.

Sources (percona/pmm on GitHub):
- PMM 3: api/backup/v1/backup.proto (commit f60a4330), service `BackupService`: ListScheduledBackups
  `GET /v1/backups/scheduled`, ListArtifacts `GET /v1/backups/artifacts`, ListArtifactCompatibleServices
  `GET /v1/backups/{artifact_id}/compatible-services`; messages ScheduledBackup (backup.proto), Artifact
  (api/backup/v1/artifacts.proto); enums DataModel `DATA_MODEL_*`, BackupMode `BACKUP_MODE_*`, BackupStatus
  `BACKUP_STATUS_*` (api/backup/v1/common.proto, artifacts.proto).
- PMM 2: api/managementpb/backup/backups.proto (commit d7509dbf; proto package `backup.v1`), service `Backups`:
  `POST /v1/management/backup/Backups/ListScheduled` and `.../Backups/ListArtifactCompatibleServices`;
  artifacts.proto, service `Artifacts`: `POST /v1/management/backup/Artifacts/List`; enums DataModel
  `PHYSICAL|LOGICAL`, BackupMode `SNAPSHOT|INCREMENTAL|PITR` (unprefixed), BackupStatus `BACKUP_STATUS_*`
  (api/managementpb/backup/common.proto, artifacts.proto).
- Handlers: managed/services/management/backup/backup_service.go (PMM 3; backups_service.go and
  artifacts_service.go on PMM 2): `convertTaskToScheduledBackup`, `convertArtifact`, `ListArtifactCompatibleServices`;
  the rule is managed/services/backup/compatibility_service.go `FindArtifactCompatibleServices` (commit 67eb30e0).
- The `compression` fields and `BACKUP_COMPRESSION_*` enums exist only on unmerged PR branches (percona/pmm#4290,
  #4340) and are left out.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Final

from . import _protocol as p
from ._model import Location, Service, new_id, render_service, timestamp
from ._protocol import APIError, Handler

DATA_MODELS: Final = ("PHYSICAL", "LOGICAL")
BACKUP_MODES: Final = ("SNAPSHOT", "INCREMENTAL", "PITR")
BACKUP_STATUSES: Final = ("PENDING", "IN_PROGRESS", "PAUSED", "SUCCESS", "ERROR", "DELETING", "FAILED_TO_DELETE",
                          "CLEANUP_IN_PROGRESS")  # fmt: skip
# enum -> (the PMM 3 prefix, also PMM 2's for BackupStatus; the canonical names)
_ENUMS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "DataModel": ("DATA_MODEL_", DATA_MODELS),
    "BackupMode": ("BACKUP_MODE_", BACKUP_MODES),
    "BackupStatus": ("BACKUP_STATUS_", BACKUP_STATUSES),
}
# models.ServiceType, which pmm-managed stores as the task's and artifact's vendor
_VENDORS: Final = {"MONGODB_SERVICE": "mongodb", "MYSQL_SERVICE": "mysql"}
DEFAULT_PBM_VERSION: Final = "2.13.0"
# compatibility_helpers.go `pbmMinSupportedVersion`
PBM_MIN_SUPPORTED_VERSION: Final = "2.0.1"


def canonical(enum: str, value: str) -> str:
    """'LOGICAL' or 'DATA_MODEL_LOGICAL' -> 'LOGICAL' (and so on); ValueError for anything else."""
    prefix, names = _ENUMS[enum]
    name = value.strip().upper().removeprefix(prefix)
    if name not in names:
        raise ValueError(f"unknown {enum} {value!r}; one of {', '.join(names)}")
    return name


def enum_out(major: int, enum: str, name: str) -> str:
    """PMM 3 prefixes every value; PMM 2's DataModel and BackupMode are bare, its BackupStatus is prefixed too."""
    prefix = _ENUMS[enum][0]
    return prefix + name if major >= 3 or enum == "BackupStatus" else name


@dataclass
class ScheduledBackup:
    """A row of scheduled_tasks of type mongodb_backup/mysql_backup (models.ScheduledTask, BackupTaskData)."""

    scheduled_backup_id: str
    service_id: str
    location_id: str
    vendor: str
    cron_expression: str
    name: str = ""
    description: str = ""
    folder: str = ""
    enabled: bool = True  # !task.Disabled
    retries: int = 0
    retry_interval: str = ""  # a Duration ("30s"); "" = none (only sent when > 0)
    data_model: str = "LOGICAL"
    mode: str = "SNAPSHOT"
    retention: int = 7
    start_time: str = ""  # Timestamps: "" = zero, not sent
    last_run: str = ""
    next_run: str = ""


@dataclass
class Artifact:
    """A row of artifacts (models.Artifact). `db_version` (DBVersion) is not in the API: it is the mongod version
    pmm-agent reported when the backup started, "" when pmm-agent was older than 2.35 and did not report it."""

    artifact_id: str
    name: str
    vendor: str
    location_id: str
    service_id: str  # "" once the service is removed (models.RemoveService, RemoveCascade)
    data_model: str
    mode: str
    status: str
    created_at: str
    is_sharded_cluster: bool = False
    folder: str = ""
    db_version: str = ""


_SCHEDULED_FIELDS: Final[dict[int, tuple[str, ...]]] = {
    3: ("scheduled_backup_id", "service_id", "service_name", "location_id", "location_name", "folder",
        "cron_expression", "start_time", "name", "description", "enabled", "retries", "retry_interval", "data_model",
        "mode", "vendor", "last_run", "next_run", "retention"),
    2: ("scheduled_backup_id", "service_id", "service_name", "location_id", "location_name", "cron_expression",
        "start_time", "name", "description", "retry_interval", "retries", "enabled", "data_model", "vendor",
        "last_run", "next_run", "retention", "mode", "folder"),
}  # fmt: skip


def render_scheduled_backup(task: ScheduledBackup, services: dict[str, Service], locations: dict[str, Location],
                            major: int) -> dict[str, Any]:  # fmt: skip
    """backup_service.go `convertTaskToScheduledBackup`, in the dialect's proto field order."""
    service = services.get(task.service_id)
    location = locations.get(task.location_id)
    values: dict[str, Any] = {
        **{name: getattr(task, name) for name in _SCHEDULED_FIELDS[3] if hasattr(task, name)},
        "service_name": service.service_name if service else "",
        "location_name": location.name if location else "",
        "start_time": task.start_time or None,
        "last_run": task.last_run or None,
        "next_run": task.next_run or None,
        "retry_interval": task.retry_interval or None,
        "data_model": enum_out(major, "DataModel", task.data_model),
        "mode": enum_out(major, "BackupMode", task.mode),
    }
    return {name: values[name] for name in _SCHEDULED_FIELDS[3 if major >= 3 else 2]}


def render_artifact(artifact: Artifact, services: dict[str, Service], location: Location, major: int
                    ) -> dict[str, Any]:  # fmt: skip
    """backup_service.go `convertArtifact` (field numbers 1-14 in both dialects). A successful MongoDB backup
    carries one Metadata with the PBM backup's name (`pbm_metadata`, a member of the backup_tool_metadata oneof)."""
    service = services.get(artifact.service_id) if artifact.service_id else None
    metadata: list[dict[str, Any]] = []
    if artifact.status == "SUCCESS" and artifact.vendor == "mongodb":
        metadata.append({"file_list": [], "restore_to": None,
                         "pbm_metadata": {"name": _pbm_backup_name(artifact.created_at)}})  # fmt: skip
    return {
        "artifact_id": artifact.artifact_id, "name": artifact.name, "vendor": artifact.vendor,
        "location_id": artifact.location_id, "location_name": location.name, "service_id": artifact.service_id,
        "service_name": service.service_name if service else "",  # "" for a removed service
        "data_model": enum_out(major, "DataModel", artifact.data_model),
        "status": enum_out(major, "BackupStatus", artifact.status), "created_at": artifact.created_at,
        "mode": enum_out(major, "BackupMode", artifact.mode), "is_sharded_cluster": artifact.is_sharded_cluster,
        "folder": artifact.folder, "metadata_list": metadata,
    }  # fmt: skip


def _pbm_backup_name(created_at: str) -> str:
    """PBM names a backup after its start time, `2006-01-02T15:04:05Z`."""
    return _parse_time(created_at).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def go_version(text: str) -> tuple[tuple[int, ...], int, str] | None:
    """A sort key for hashicorp/go-version: numeric segments (padded to 3), then a release above its prereleases."""
    match = re.fullmatch(r"v?(\d+(?:\.\d+)*)(?:-?([0-9A-Za-z.~-]+))?(?:\+[0-9A-Za-z.~-]+)?", text.strip())
    if match is None:
        return None
    segments = tuple(int(x) for x in match[1].split("."))
    segments += (0,) * (3 - len(segments))
    return segments, 0 if match[2] else 1, match[2] or ""


@cache  # asked for every service of the fleet on each compatible-services request
def backup_software_compatible(mongod_version: str, pbm_version: str | None) -> bool:
    """compatibility_helpers.go `mongoDBBackupSoftwareInstalledAndCompatible`: mongod and pbm both reported, pbm
    at least `pbmMinSupportedVersion` (2.0.1)."""
    if not mongod_version or not pbm_version:
        return False
    parsed = go_version(pbm_version)
    minimum = go_version(PBM_MIN_SUPPORTED_VERSION)
    return parsed is not None and minimum is not None and parsed >= minimum


def cron_next_run(cron_expression: str, now: datetime | None = None) -> str:
    """When the scheduler would next run a task: exact for a daily "M H * * *", an hour from now otherwise."""
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    fields = cron_expression.split()
    if len(fields) == 5 and fields[0].isdigit() and fields[1].isdigit() and fields[2:] == ["*", "*", "*"]:
        candidate = now.replace(hour=int(fields[1]) % 24, minute=int(fields[0]) % 60)
        return timestamp(candidate if candidate > now else candidate + timedelta(days=1))
    return timestamp(now + timedelta(hours=1))


class BackupsMixin:
    """SimPMMServer's scheduled backups and artifacts, and the API handlers that list them."""

    # provided by SimPMMServer
    lock: threading.RLock
    major: int
    backup_management: bool
    _services: dict[str, Service]
    _locations: dict[str, Location]

    def _init_backups(self) -> None:
        self._scheduled_backups: dict[str, ScheduledBackup] = {}
        self._artifacts: dict[str, Artifact] = {}
        self._pbm_versions: dict[str, str | None] = {}  # service_id -> what its pmm-agent reported for pbm
        # service_id -> the mongod version PMM's software-version cache still holds, where it lags the live one
        self._cached_versions: dict[str, str] = {}
        self._last_created_at: datetime | None = None

    # --- model ----------------------------------------------------------------------------------------------------

    def add_scheduled_backup(
        self,
        service_id: str,
        location_id: str,
        *,
        name: str = "",
        folder: str = "",
        cron_expression: str = "0 1 * * *",
        data_model: str = "LOGICAL",
        mode: str = "SNAPSHOT",
        enabled: bool = True,
        retention: int = 7,
        retries: int = 0,
        description: str = "",
        last_run: str | None = None,
        next_run: str | None = None,
        retry_interval: str = "",
        start_time: str = "",
    ) -> str:
        """A scheduled backup as `ScheduleBackup` stores it; returns its scheduled_backup_id.

        data_model LOGICAL|PHYSICAL, mode SNAPSHOT|PITR|INCREMENTAL (PMM 3's DATA_MODEL_/BACKUP_MODE_ spellings
        accepted too). `last_run` unset (never ran) unless given; `next_run` defaults to the cron's next time.
        Timestamps are RFC 3339 strings. PMM's own checks (cluster label, PITR overlap) are not applied here.
        """
        data_model, mode = canonical("DataModel", data_model), canonical("BackupMode", mode)
        with self.lock:
            service = self._services[service_id]
            if location_id not in self._locations:
                raise KeyError(f"no location {location_id!r}")
            task = ScheduledBackup(
                new_id(self.major, "scheduled_task"), service_id, location_id, _vendor(service), cron_expression,
                name=name, description=description, folder=folder, enabled=enabled, retries=retries,
                retry_interval=retry_interval, data_model=data_model, mode=mode, retention=retention,
                start_time=start_time, last_run=last_run or "",
                next_run=next_run if next_run is not None else cron_next_run(cron_expression),
            )  # fmt: skip
            self._scheduled_backups[task.scheduled_backup_id] = task
        return task.scheduled_backup_id

    def set_scheduled_backup_enabled(self, scheduled_backup_id: str, enabled: bool) -> None:
        with self.lock:
            self._scheduled_backups[scheduled_backup_id].enabled = enabled

    def remove_scheduled_backup(self, scheduled_backup_id: str) -> None:
        with self.lock:
            del self._scheduled_backups[scheduled_backup_id]

    def add_artifact(
        self,
        service_id: str,
        location_id: str,
        *,
        name: str | None = None,
        folder: str = "",
        data_model: str = "LOGICAL",
        mode: str = "SNAPSHOT",
        status: str = "SUCCESS",
        created_at: str | None = None,
        db_version: str | None = None,
        is_sharded_cluster: bool = False,
    ) -> str:
        """A backup artifact; returns its artifact_id.

        status SUCCESS|ERROR|PENDING|IN_PROGRESS|PAUSED|DELETING|FAILED_TO_DELETE|CLEANUP_IN_PROGRESS (or
        BACKUP_STATUS_...). `created_at` (RFC 3339) defaults to now, always later than the previous default, so a
        later-added artifact is newer. `db_version` defaults to the service's version; "" = unknown (pmm-agent
        older than 2.35), which limits restores to the artifact's own service. `name` defaults to
        "<service_name>_<created_at>".
        """
        data_model, mode = canonical("DataModel", data_model), canonical("BackupMode", mode)
        status = canonical("BackupStatus", status)
        with self.lock:
            service = self._services[service_id]
            if location_id not in self._locations:
                raise KeyError(f"no location {location_id!r}")
            if created_at is None:
                moment = datetime.now(UTC).replace(microsecond=0)
                if self._last_created_at is not None and moment <= self._last_created_at:
                    moment = self._last_created_at + timedelta(seconds=1)
                self._last_created_at = moment
                created_at = timestamp(moment)
            else:
                _parse_time(created_at)  # ValueError for a malformed time
            artifact = Artifact(
                new_id(self.major, "artifact"), name if name is not None else f"{service.service_name}_{created_at}",
                _vendor(service), location_id, service_id, data_model, mode, status, created_at,
                is_sharded_cluster=is_sharded_cluster, folder=folder,
                db_version=db_version if db_version is not None else service.version,
            )  # fmt: skip
            self._artifacts[artifact.artifact_id] = artifact
        return artifact.artifact_id

    def set_artifact_status(self, artifact_id: str, status: str) -> None:
        name = canonical("BackupStatus", status)
        with self.lock:
            self._artifacts[artifact_id].status = name

    def restore_artifact(self, artifact_id: str, service_id: str) -> None:
        """What `RestoreBackup` does to schedules before it starts the restore: it disables every scheduled
        backup of the target service, and only of that service (restore_service.go `RestoreService.RestoreBackup`
        on PMM 3, backups_service.go `RestoreBackup` on PMM 2: ScheduledTasksFilter{ServiceID}). Other members'
        schedules stay enabled; they are disabled even if the restore then fails."""
        with self.lock:
            if artifact_id not in self._artifacts:
                raise KeyError(f"no artifact {artifact_id!r}")
            if service_id not in self._services:
                raise KeyError(f"no service {service_id!r}")
            for task in self._scheduled_backups.values():
                if task.service_id == service_id:
                    task.enabled = False

    def set_service_backup_software(self, service_id: str, pbm_version: str | None) -> None:
        """The pbm version the service's pmm-agent reported (service_software_versions); None = pbm not installed.
        Default 2.13.0. The mongod version is the service's `version`."""
        with self.lock:
            if service_id not in self._services:
                raise KeyError(f"no service {service_id!r}")
            self._pbm_versions[service_id] = pbm_version

    def _forget_service_backups(self, service_id: str) -> None:
        """models.RemoveService (RemoveCascade): the service's scheduled tasks go, its artifacts stay with
        service_id "" (UpdateArtifact ServiceID: "")."""
        for task_id in [t.scheduled_backup_id for t in self._scheduled_backups.values() if t.service_id == service_id]:
            del self._scheduled_backups[task_id]
        for artifact in self._artifacts.values():
            if artifact.service_id == service_id:
                artifact.service_id = ""
        self._pbm_versions.pop(service_id, None)
        self._cached_versions.pop(service_id, None)

    # --- API ------------------------------------------------------------------------------------------------------

    def _backup_routes(self) -> dict[str, dict[str, Handler]]:
        if self.major >= 3:
            return {
                "/v1/backups/scheduled": {"GET": self._list_scheduled_backups},
                "/v1/backups/artifacts": {"GET": self._list_artifacts},
            }
        return {
            "/v1/management/backup/Backups/ListScheduled": {"POST": self._list_scheduled_backups},
            "/v1/management/backup/Artifacts/List": {"POST": self._list_artifacts},
            "/v1/management/backup/Backups/ListArtifactCompatibleServices": {"POST": self._list_compatible_services},
        }

    def _backup_patterns(self) -> list[tuple[re.Pattern[str], dict[str, Handler]]]:
        if self.major >= 3:
            return [(re.compile(r"/v1/backups/(?P<artifact_id>[^/]+)/compatible-services"),
                     {"GET": self._list_compatible_services})]  # fmt: skip
        return []

    def _require_backup_service(self, pmm2_service: str) -> None:
        """interceptors.UnaryServiceEnabledInterceptor: a disabled service answers FailedPrecondition, named
        as in the gRPC full method: backup.v1.BackupService (PMM 3), backup.v1.Backups / backup.v1.Artifacts (PMM 2)."""
        if not self.backup_management:
            name = "BackupService" if self.major >= 3 else pmm2_service
            raise APIError(p.FAILED_PRECONDITION, f"Service backup.v1.{name} is disabled.")

    def _list_scheduled_backups(self, _: Any) -> dict[str, Any]:
        """ListScheduledBackups: every MySQL and MongoDB backup task, no pagination."""
        self._require_backup_service("Backups")
        with self.lock:
            return {"scheduled_backups": [render_scheduled_backup(t, self._services, self._locations, self.major)
                                          for t in self._scheduled_backups.values()]}  # fmt: skip

    def _list_artifacts(self, _: Any) -> dict[str, Any]:
        """ListArtifacts: models.FindArtifacts, ORDER BY created_at DESC, no pagination. An artifact whose location
        is gone fails the whole call (convertArtifact's error is not a gRPC status: Internal)."""
        self._require_backup_service("Artifacts")
        with self.lock:
            artifacts = sorted(self._artifacts.values(), key=lambda a: _parse_time(a.created_at), reverse=True)
            out = []
            for artifact in artifacts:
                location = self._locations.get(artifact.location_id)
                if location is None:
                    raise APIError(p.INTERNAL, "Internal server error.")
                out.append(render_artifact(artifact, self._services, location, self.major))
            return {"artifacts": out}

    def _list_compatible_services(self, params: Any) -> dict[str, Any]:
        """ListArtifactCompatibleServices -> compatibility_service.go `FindArtifactCompatibleServices`.

        Unknown DB version (""): only the artifact's own service, none if it was removed. Otherwise every service
        of the vendor's type whose backup software passes and whose DB version, as PMM's software-version cache
        holds it (models.FindServicesSoftwareVersions; see set_service_version(cached=False)), equals the
        artifact's exactly, in service_id order. No cluster, replica set, sharding or artifact status check.
        """
        self._require_backup_service("Backups")
        artifact_id = p.str_param(params, "artifact_id")
        if not artifact_id:  # protoc-gen-validate: string.min_len = 1
            raise APIError(p.INVALID_ARGUMENT, "invalid ListArtifactCompatibleServicesRequest.ArtifactId: "
                                               "value length must be at least 1 runes")  # fmt: skip
        with self.lock:
            artifact = self._artifacts.get(artifact_id)
            if artifact is None:  # models.FindArtifactByID -> ErrNotFound -> codes.NotFound
                raise APIError(p.NOT_FOUND, f"artifact by id '{artifact_id}': not found")
            if not artifact.db_version:
                own = self._services.get(artifact.service_id)
                found = [own] if own is not None else []
            else:
                service_type = next(t for t, vendor in _VENDORS.items() if vendor == artifact.vendor)
                found = [
                    s for s in sorted(self._services.values(), key=lambda s: s.service_id)
                    if s.service_type == service_type
                    and self._cached_versions.get(s.service_id, s.version) == artifact.db_version
                    and backup_software_compatible(s.version, self._pbm_versions.get(s.service_id, DEFAULT_PBM_VERSION))
                ]  # fmt: skip
            out: dict[str, list[dict[str, Any]]] = {"mysql": [], "mongodb": []}
            for service in found:
                out[_VENDORS[service.service_type]].append(render_service(service, self.major))
            return out


def _vendor(service: Service) -> str:
    if service.service_type not in _VENDORS:
        raise ValueError(f"PMM backs up MySQL and MongoDB services only, not {service.service_type}")
    return _VENDORS[service.service_type]
