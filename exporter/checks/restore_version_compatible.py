"""restore_version_compatible: PMM would restore the cluster's newest successful artifact onto the cluster.

The restore's own rule (managed/services/backup/backup_service.go RestoreBackup, PMM v3.9.0 and 2.x alike): it asks
the target service's pmm-agent for `mongod --version` live (compatibility_service.go
CheckSoftwareCompatibilityForService; agent/versioner/versioner.go `^db version v([!-~]*)`: the full version,
"7.0.14-8" on Percona Server) and refuses the artifact when `artifactModel.DBVersion != "" && != targetDBVersion`:
"backup artifact db version %q does not match the target db version %q" (CheckArtifactCompatibility ->
artifactCompatibility, ErrIncompatibleTargetMongoDB). PMM's API does not list an artifact's DBVersion; the PBM
backup it names (metadata_list pbm_metadata.name) records the version PBM read at backup time (pbm/backup/types.go
BackupMeta.MongoVersion `mongodb_version`, the buildInfo version), so when that backup is PBM's newest (read
anyway) the check compares it with the versions the members run (buildInfo, the agents' mv), as the restore
does. A MongoDB upgrade after the last backup is the common cause; a fresh backup is the fix.

PMM is also asked itself, for the services it would restore the artifact to (PMM 3 GET /v1/backups/{artifact_id}/
compatible-services, PMM 2 Backups/ListArtifactCompatibleServices: FindArtifactCompatibleServices,
findCompatibleServiceIDs). That answer reads PMM's software-version cache, refreshed every 24 hours per service
(managed/services/versioncache/versioncache.go serviceCheckInterval), not the live version: for up to a day after
an upgrade it names services the restore refuses, or leaves out ones it accepts. It is the verdict only when the
artifact's version cannot be read; otherwise a second opinion, and the reason says when the two differ. It also
applies the rules the live comparison leaves out: the service's pmm-agent must report mongod and pbm >= 2.0.1, and
an artifact of unknown version (taken through a pmm-agent older than 2.35) restores only to its own service.

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


def artifact_version(inp: CheckInput, artifact: dict[str, Any]) -> str | None:
    """The MongoDB version the artifact was taken on, from PBM's newest backup when it is the artifact's (PBM's
    BackupMeta `mongodb_version`); None when that backup is another or was not read."""
    backup = inp.mongo.last_backup.value
    name = artifact.get("pbm_backup_name")
    if not name or not isinstance(backup, dict) or backup.get("name") != name:
        return None
    version = backup.get("mongodb_version")
    return version if isinstance(version, str) and version else None


def running_versions(inp: CheckInput) -> dict[str, str]:
    """{member: the MongoDB version it runs}: its agent's mv, and buildInfo's version for the primary, the field
    PBM records a backup's version from (BackupMeta.MongoVersion, AgentStat.MongoVer); the version `mongod
    --version` on the member's host prints unless mongod was upgraded under it without a restart."""
    out: dict[str, str] = {}
    for member in (m for m in inp.view.members or () if m.data_bearing):
        agent = inp.view.agent(member.host)
        version = agent.mongo_version if agent is not None else None
        if version:
            out[member.host] = version
    build, hello = inp.mongo.build_info.value, inp.mongo.hello.value
    primary = hello.get("primary") if isinstance(hello, dict) else None
    version = build.get("version") if isinstance(build, dict) else None
    if isinstance(primary, str) and isinstance(version, str) and version:
        out[primary] = version
    return out


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
    ids = {key(s.get("service_id")) for s in services}
    onto = ([s for s in answer.value if key(s.get("service_id")) in ids]
            if answer is not None and answer.value is not None else None)
    taken = artifact_version(inp, artifact)
    running = running_versions(inp) if taken else {}
    if taken and running:
        return [live_verdict(inp, artifact, restore, taken, running, onto)]
    if answer is None or answer.value is None or onto is None:
        why = answer.error if answer is not None else "not asked yet (PMM is asked about a bounded number a cycle)"
        return [unknown(CHECK, f"which services PMM would restore {describe(artifact)} to: {why}", "", rs, {restore})]
    if onto:
        names = ", ".join(str(s.get("service_name")) for s in onto)
        carried = pmm.compatible_carried.get(str(artifact.get("artifact_id")))
        note = (f" (PMM's answer for the previous artifact, {carried}, taken at the same MongoDB versions, until PMM "
                f"is asked about this one)" if carried else "")
        return [passed(CHECK, f"PMM would restore the newest artifact {describe(artifact)} to {names}{note}", "",
                       rs)]
    others = ", ".join(f"{s.get('service_name')}" for s in answer.value[:5]) or "no service at all"
    versions = sorted({str(s.get("version")) for s in services if s.get("version")})
    them = f"; the cluster's services run MongoDB {', '.join(versions)}" if versions else ""
    return [failed(CHECK, f"PMM would restore the newest artifact {describe(artifact)} to none of this cluster's "
                          f"services: it names {others} as compatible, as it restores only onto the MongoDB version "
                          f"the artifact was taken with{them}", FRESH_BACKUP_FIX, "", rs, {restore})]


def live_verdict(inp: CheckInput, artifact: dict[str, Any], restore: str, taken: str, running: dict[str, str],
                 onto: list[dict[str, Any]] | None) -> CheckResult:
    """The restore's own comparison, with PMM's cached answer as a second opinion."""
    rs = inp.view.replica_set
    matching = sorted(host for host, version in running.items() if version == taken)
    versions = ", ".join(f"{v} ({', '.join(sorted(h for h, w in running.items() if w == v))})"
                         for v in sorted(set(running.values())))
    if matching:
        note = ""
        if onto is not None and not onto:
            note = ("; PMM's list of compatible services does not name the cluster's yet: it reads PMM's "
                    "software-version cache, refreshed every 24 h, while the restore asks the target live")
        return passed(CHECK, f"the newest artifact {describe(artifact)} was taken on MongoDB {taken}, which "
                             f"{', '.join(matching)} run{'s' if len(matching) == 1 else ''}: PMM's restore compares "
                             f"it with mongod --version on the target{note}", "", rs)
    note = ""
    if onto:
        note = (f"; PMM's list of compatible services still names {', '.join(str(s.get('service_name')) for s in onto)}"
                f": it reads PMM's software-version cache, refreshed every 24 h, not the live version")
    return failed(CHECK, f"the newest artifact {describe(artifact)} was taken on MongoDB {taken}, but the cluster "
                         f"runs {versions}: PMM's restore compares the artifact's version with mongod --version on "
                         f"the target's host and refuses it (\"backup artifact db version {taken!r} does not match "
                         f"the target db version\"){note}", FRESH_BACKUP_FIX, "", rs, {restore})
