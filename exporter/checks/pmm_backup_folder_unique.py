"""pmm_backup_folder_unique: the storage location and folder this cluster's next backups go to are not used by
another cluster's.

Before every backup and when a schedule is created, pmm-managed refuses the one location and folder that backup
or schedule writes to when an artifact or a scheduled backup of another service already uses it, unless both are
MongoDB services of the same cluster: "Same location and folder already used for artifact %s of other service: %s"
(managed/services/preconditions.go CheckArtifactOverlapping, ErrLocationFolderPairAlreadyUsed, FailedPrecondition;
PMM v3.9.0 and 2.x alike). So the pairs judged are where the cluster's next backups go: its enabled schedules'
pairs, or, with none enabled, the pair of its newest artifact (where an on-demand backup last went). A pair only
older artifacts used is no longer written to and refuses nothing: it is a note. Another cluster is told by its
services' cluster label (a schedule's own cluster name is not in PMM's API). An artifact without a service ID (its
service was removed: models.RemoveService, RemoveCascade) is skipped first, whatever its vendor, as PMM's
`artifact.ServiceID != ""` test does; so is one of a service PMM no longer lists.

Blocks logical_backup, physical_backup and pitr.
"""

from __future__ import annotations

from typing import Any

from exporter.facts.observed import PMMFacts
from exporter.facts.pmm_indexes import key, location_and_folder
from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import usable_pmm
from exporter.model.pmm_schedules import cluster_label, label_note, name_of, our_artifacts, our_schedules, our_services
from exporter.results.check_result import CheckResult, failed, passed, skipped
from exporter.results.operations import BACKUPS, PITR

CHECK = "pmm_backup_folder_unique"
MAY_BLOCK = BACKUPS | {PITR}


def _where(doc: dict[str, Any]) -> str:
    folder = doc.get("folder") or ""
    return f"location {doc.get('location_name') or doc.get('location_id')!r} folder {folder!r}" if folder else \
        f"location {doc.get('location_name') or doc.get('location_id')!r} (no folder)"


def _clashes(inp: CheckInput, pmm: PMMFacts, pairs: set[tuple[str, str]], ours: set[Any]) -> list[str]:
    services = pmm.inventory.by_id
    clashes: list[str] = []
    for pair in sorted(pairs):
        for kind, doc in pmm.backups.users.get(pair, []):
            service = key(doc.get("service_id"))
            if service in ours:
                continue
            if not service:
                continue  # a removed service's artifact: PMM skips it before looking at its vendor
            if doc.get("vendor") not in (None, "", "mongodb"):
                owner = f"{doc.get('vendor')} service {doc.get('service_name') or service}"
            elif service in services and services[service].get("cluster") != cluster_label(inp):
                other = str(services[service].get("cluster") or "")
                owner = f"service {doc.get('service_name') or services[service].get('service_name')} of " + \
                        (f"cluster {other!r}" if other else "no cluster")
            else:
                continue  # a service PMM no longer lists: its artifacts are not attributed
            clashes.append(f"{_where(doc)} is also used by {kind} {name_of(doc)!r} of {owner}")
    return sorted(set(clashes))


def _shown(clashes: list[str]) -> str:
    return "; ".join(clashes[:5]) + (f"; and {len(clashes) - 5} more" if len(clashes) > 5 else "")


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = usable_pmm(CHECK, inp, "services", "scheduled_backups", "artifacts")
    if isinstance(pmm, list):
        return pmm
    ours = {key(s.get("service_id")) for s in our_services(inp)}
    schedules = [s for s in our_schedules(inp) if s.get("enabled")]
    artifacts = our_artifacts(inp)
    newest = max(artifacts, key=lambda a: str(a.get("created_at") or "")) if artifacts else None
    # where the next backups go: the enabled schedules' pairs, else where the last backup went
    targets = {location_and_folder(d) for d in schedules} if schedules else \
        ({location_and_folder(newest)} if newest is not None else set())
    if not targets:
        return [skipped(CHECK, f"cluster {cluster_label(inp)!r} has no enabled scheduled backup or artifact in PMM "
                               f"yet{label_note(inp)}", "", rs)]
    clashes = _clashes(inp, pmm, targets, ours)
    if clashes:
        return [failed(CHECK, f"{_shown(clashes)}: PMM refuses a backup into a location and folder another cluster "
                              f"uses{label_note(inp)}",
                       f"PMM: Backup > Scheduled backup jobs: give this cluster's schedules a folder of their own (for "
                       f"example {cluster_label(inp)!r}), and take on-demand backups into it", "", rs, MAY_BLOCK)]
    old = {location_and_folder(a) for a in artifacts} - targets
    note = _clashes(inp, pmm, old, ours)
    return [passed(CHECK, f"{len(targets)} location and folder pair{'s' if len(targets) != 1 else ''} this "
                          f"cluster's next backups go to, used by it alone" +
                   (f" (older artifacts share other pairs, which PMM refuses only to write to: {_shown(note)})"
                    if note else ""), "", rs)]
