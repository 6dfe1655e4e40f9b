"""restore_version_compatible: PMM would restore the cluster's newest successful artifact onto the cluster.

PMM is asked itself, for the services it would restore that artifact to (PMM 3 GET /v1/backups/{artifact_id}/
compatible-services, PMM 2 Backups/ListArtifactCompatibleServices), so its own rule applies: the artifact's mongod
version must equal the service's exactly, and the service's pmm-agent must report mongod and pbm >= 2.0.1; an
artifact of unknown version (taken through a pmm-agent older than 2.35) only to its own service
(managed/services/backup/compatibility_service.go FindArtifactCompatibleServices, findCompatibleServiceIDs). A
restore onto any other service is refused, "backup artifact db version %q does not match the target db version
%q" (artifactCompatibility, ErrIncompatibleTargetMongoDB). A MongoDB upgrade after the last backup is the common
cause; a fresh backup is the fix.

Blocks the restore of the artifact's data model (logical_restore or physical_restore). Artifacts of sharded
clusters are left to supported_configuration: PMM restores none of them.

Orphaned artifacts: `pmm-admin remove mongodb` removes the service with models.RemoveService(..., RemoveCascade),
which deletes its scheduled backups and sets its artifacts' ServiceID to "" (managed/models/service_helpers.go).
PMM then refuses to restore them: RestoreBackup -> CheckArtifactCompatibility -> models.FindServiceByID(q, "") ->
"Empty Service ID." (compatibility_service.go, service_helpers.go; PMM v3.9.0 and 2.x alike). When the cluster's
only successful artifacts are such orphans (found by their location and folder, BackupIndex.orphaned_artifacts),
the restore of their data model cannot be done through PMM; PBM still can, with the artifact's PBM backup name.
"""

from __future__ import annotations

from typing import Any

from exporter.facts.pmm_indexes import key, newest_restorable
from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import usable_pmm
from exporter.model.pmm_schedules import our_artifacts, our_services
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import LOGICAL_RESTORE, PHYSICAL_RESTORE, RESTORES

CHECK = "restore_version_compatible"
MAY_BLOCK = RESTORES
FRESH_BACKUP_FIX = (
    "Take a fresh backup from PMM (Backup > All backups > Create backup) so that an artifact of the MongoDB version "
    "the cluster runs now exists; keep the old artifact for a restore onto a cluster of its own version"
)


def describe(artifact: dict[str, Any]) -> str:
    model = str(artifact.get("data_model") or "LOGICAL").lower()
    mode = " PITR" if artifact.get("mode") == "PITR" else ""
    return f"{artifact.get('name') or artifact.get('artifact_id')!r} ({model}{mode}, {artifact.get('created_at', '?')})"


def orphaned(inp: CheckInput, newest: dict[str, Any], orphans: list[dict[str, Any]]) -> CheckResult:
    """The cluster's only successful artifacts lost their service: PMM restores none of them."""
    blocks = {PHYSICAL_RESTORE if a.get("data_model") == "PHYSICAL" else LOGICAL_RESTORE for a in orphans}
    location = newest.get("location_name") or newest.get("location_id")
    where = f"location {location!r}, folder {newest.get('folder', '')!r}"
    name = newest.get("pbm_backup_name") or "<its PBM backup name: pbm list>"
    return failed(
        CHECK, f"PMM's only successful backups of cluster {inp.settings.name!r} ({len(orphans)}, the newest "
               f"{describe(newest)} in {where}) belong to no service: their service was removed from PMM "
               f"(pmm-admin remove mongodb), and PMM refuses to restore such an artifact (\"Empty Service ID.\")",
        f"Restore with PBM itself on a node of the cluster, its storage pointing at {where} (PMM writes that "
        f"before each job): pbm restore {name}. Then take a backup from PMM (Backup > All backups > Create backup) "
        f"so that PMM has one it can restore",
        "", inp.view.replica_set, blocks)


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = usable_pmm(CHECK, inp, "services", "artifacts")
    if isinstance(pmm, list):
        return pmm
    services = our_services(inp)
    artifact = newest_restorable(our_artifacts(inp), (s.get("service_id") for s in services))
    if artifact is None:
        orphans = [a for a in pmm.backups.orphaned_artifacts(inp.settings.name)
                   if a.get("status") == "SUCCESS" and not a.get("is_sharded_cluster")]
        if orphans:
            return [orphaned(inp, max(orphans, key=lambda a: str(a.get("created_at") or "")), orphans)]
        return [skipped(CHECK, f"PMM has no successful backup of cluster {inp.settings.name!r} to restore", "", rs)]
    restore = PHYSICAL_RESTORE if artifact.get("data_model") == "PHYSICAL" else LOGICAL_RESTORE
    if artifact.get("is_sharded_cluster"):
        return [skipped(CHECK, f"the newest artifact {describe(artifact)} is of a sharded cluster, which PMM does "
                               f"not restore (see supported_configuration)", "", rs)]
    answer = pmm.compatible_services.get(str(artifact.get("artifact_id")))
    if answer is None or answer.value is None:
        why = answer.error if answer is not None else "not asked yet (PMM is asked about a bounded number a cycle)"
        return [unknown(CHECK, f"which services PMM would restore {describe(artifact)} to: {why}", "", rs, {restore})]
    ids = {key(s.get("service_id")) for s in services}
    onto = [s for s in answer.value if key(s.get("service_id")) in ids]
    if onto:
        names = ", ".join(str(s.get("service_name")) for s in onto)
        carried = pmm.compatible_carried.get(str(artifact.get("artifact_id")))
        note = (f" (PMM's answer for the previous artifact, {carried}, taken at the same MongoDB versions, until PMM "
                f"is asked about this one)" if carried else "")
        return [passed(CHECK, f"PMM would restore the newest artifact {describe(artifact)} to {names}{note}", "",
                       rs)]
    others = ", ".join(f"{s.get('service_name')}" for s in answer.value[:5]) or "no service at all"
    running = sorted({str(s.get("version")) for s in services if s.get("version")})
    versions = f"; the cluster's services run MongoDB {', '.join(running)}" if running else ""
    return [failed(CHECK, f"PMM would restore the newest artifact {describe(artifact)} to none of this cluster's "
                          f"services: it names {others} as compatible, as it restores only onto the MongoDB version "
                          f"the artifact was taken with{versions}", FRESH_BACKUP_FIX, "", rs, {restore})]
