"""pbm_config_managed_by_pmm: PBM's storage config is one PMM wrote, i.e. it points at one of PMM's locations.

PMM writes PBM's config itself when a backup starts (pmm-agent `createPBMConfig`: s3 bucket = the location's
bucket, endpointUrl = its endpoint; filesystem path = the location's path joined with the folder). A config that
matches no PMM location means someone ran `pbm config` by hand, which PMM's docs forbid.
"""

from __future__ import annotations

from typing import Any

from exporter.checks.pbm_storage_reachable import describe_storage
from exporter.checks.storage_location_configured import describe_location
from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import pmm_unavailable
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import NOTHING

CHECK = "pbm_config_managed_by_pmm"
MAY_BLOCK = NOTHING
FIX = (
    "Let PMM manage PBM: stop whatever runs `pbm config` by hand (scripts, cron, config management), then start "
    "the next backup from PMM (Backup > Create backup), which writes PBM's config for its storage location. Use the "
    "pbm CLI only for what PMM cannot do, such as restoring a sharded cluster"
)


def _normalized_endpoint(url: str) -> str:
    return url.lower().removeprefix("https://").removeprefix("http://").rstrip("/")


def matches(storage: dict[str, Any], location: dict[str, Any]) -> bool:
    kind = storage.get("type")
    section = storage.get(kind) if isinstance(kind, str) else None
    if not isinstance(section, dict) or location.get("type") != kind:
        return False
    if kind == "s3":
        if section.get("bucket") != location.get("bucket"):
            return False
        pbm_endpoint, pmm_endpoint = str(section.get("endpointUrl") or ""), str(location.get("endpoint") or "")
        return not (pbm_endpoint and pmm_endpoint) or \
            _normalized_endpoint(pbm_endpoint) == _normalized_endpoint(pmm_endpoint)
    if kind == "filesystem":
        path, root = str(section.get("path", "")).rstrip("/"), str(location.get("path", "")).rstrip("/")
        return bool(root) and (path == root or path.startswith(root + "/"))
    return False


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    pbm_config = inp.mongo.pbm_config
    if pbm_config.error is not None:
        return [unknown(CHECK, f"cannot read admin.pbmConfig: {pbm_config.error}", "", rs)]
    storage = pbm_config.value.get("storage") if isinstance(pbm_config.value, dict) else None
    described = describe_storage(pbm_config.value) if pbm_config.value is not None else None
    if described is None or not isinstance(storage, dict):
        return [skipped(CHECK, "PBM has no storage config yet; PMM writes one when its first backup starts", "", rs)]
    unavailable = pmm_unavailable(CHECK, inp, *([inp.pmm.locations] if inp.pmm else []))
    if unavailable is not None:
        return unavailable
    assert inp.pmm is not None and inp.pmm.locations.value is not None
    locations = inp.pmm.locations.value
    found = next((loc for loc in locations if matches(storage, loc)), None)
    if found is not None:
        return [passed(CHECK, f"PBM's storage ({described}) is PMM's location {describe_location(found)}", "", rs)]
    if storage.get("type") not in ("s3", "filesystem"):
        reason = f"PBM uses {described} storage, which PMM never configures: PBM was configured by hand"
    else:
        known = "; ".join(describe_location(loc) for loc in locations) or "none"
        reason = (f"PBM's storage ({described}) matches none of PMM's storage locations ({known}): PBM was "
                  f"configured by hand")
    return [failed(CHECK, f"{reason} (a warning: PMM writes PBM's whole config again before each of its backups)",
                   FIX, "", rs, NOTHING)]
