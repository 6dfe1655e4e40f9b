"""pmm_backup_folder_unique: the storage location and folder this cluster's backups go to are not used by
another cluster's.

Before every backup and when a schedule is created, pmm-managed refuses a location and folder that an artifact or
a scheduled backup of another service already uses, unless both are MongoDB services of the same cluster: "Same
location and folder already used for artifact %s of other service: %s" (managed/services CheckArtifactOverlapping,
ErrLocationFolderPairAlreadyUsed, FailedPrecondition). The pairs judged are the ones this cluster's schedules and
artifacts use; another cluster is told by its services' cluster label (a schedule's own cluster name is not in
PMM's API), and an artifact of a service PMM no longer lists is left out.

Blocks logical_backup, physical_backup and pitr.
"""

from __future__ import annotations

from typing import Any

from exporter.facts.pmm_indexes import key, location_and_folder
from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import usable_pmm
from exporter.model.pmm_schedules import name_of, our_artifacts, our_schedules, our_services
from exporter.results.check_result import CheckResult, failed, passed, skipped
from exporter.results.operations import BACKUPS, PITR

CHECK = "pmm_backup_folder_unique"
MAY_BLOCK = BACKUPS | {PITR}


def _where(doc: dict[str, Any]) -> str:
    folder = doc.get("folder") or ""
    return f"location {doc.get('location_name') or doc.get('location_id')!r} folder {folder!r}" if folder else \
        f"location {doc.get('location_name') or doc.get('location_id')!r} (no folder)"


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pmm = usable_pmm(CHECK, inp, "services", "scheduled_backups", "artifacts")
    if isinstance(pmm, list):
        return pmm
    ours = {key(s.get("service_id")) for s in our_services(inp)}
    used = {location_and_folder(d) for d in (*our_schedules(inp), *our_artifacts(inp))}
    if not used:
        return [skipped(CHECK, f"cluster {inp.settings.name!r} has no scheduled backup or artifact in PMM yet",
                        "", rs)]
    services = pmm.inventory.by_id
    clashes: list[str] = []
    for pair in sorted(used):
        for kind, doc in pmm.backups.users.get(pair, []):
            service = key(doc.get("service_id"))
            if service in ours:
                continue
            if doc.get("vendor") not in (None, "", "mongodb"):
                owner = f"{doc.get('vendor')} service {doc.get('service_name') or service}"
            elif service in services and services[service].get("cluster") != inp.settings.name:
                other = str(services[service].get("cluster") or "")
                owner = f"service {doc.get('service_name') or services[service].get('service_name')} of " + \
                        (f"cluster {other!r}" if other else "no cluster")
            else:
                continue  # a service PMM no longer lists: its artifacts are not attributed
            clashes.append(f"{_where(doc)} is also used by {kind} {name_of(doc)!r} of {owner}")
    if clashes:
        shown = "; ".join(sorted(set(clashes))[:5]) + (f"; and {len(set(clashes)) - 5} more"
                                                        if len(set(clashes)) > 5 else "")
        return [failed(CHECK, f"{shown}: PMM refuses a backup into a location and folder another cluster uses",
                       f"PMM: Backup > Scheduled backup jobs: give this cluster's schedules a folder of their own "
                       f"(for example {inp.settings.name!r}), and take on-demand backups into it",
                       "", rs, MAY_BLOCK)]
    return [passed(CHECK, f"{len(used)} location and folder pair{'s' if len(used) != 1 else ''} used by this "
                          f"cluster alone", "", rs)]
