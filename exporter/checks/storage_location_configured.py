"""storage_location_configured: PMM has at least one backup storage location (named, never with its keys).

Blocks everything: a PMM backup names its location (api/backup/v1 StartBackupRequest.location_id), and a restore
needs an artifact, which lives in a location.
"""

from __future__ import annotations

from typing import Any

from exporter.model.cluster_view import CheckInput
from exporter.model.pmm_inventory import pmm_unavailable
from exporter.results.check_result import CheckResult, failed, passed, unknown
from exporter.results.operations import EVERYTHING

CHECK = "storage_location_configured"
MAY_BLOCK = EVERYTHING
ADD_LOCATION_FIX = (
    "In PMM: Backup > Storage Locations > Add storage location: an S3-compatible bucket (endpoint, bucket, keys "
    "allowed to List, Get, Put and Delete), or Local Client with a path mounted at the same place on every "
    "MongoDB node and writable by pbm-agent's user"
)


def describe_location(location: dict[str, Any]) -> str:
    name = location.get("name", "")
    if location.get("type") == "s3":
        endpoint = f" at {location['endpoint']}" if location.get("endpoint") else ""
        return f"{name!r}: s3 bucket {location.get('bucket', '?')}{endpoint}"
    if location.get("type") == "filesystem":
        return f"{name!r}: filesystem path {location.get('path', '?')}"
    return f"{name!r}: {location.get('type', 'unknown')}"


def evaluate(inp: CheckInput) -> list[CheckResult]:
    rs = inp.view.replica_set
    unavailable = pmm_unavailable(CHECK, inp)
    if unavailable is not None:
        return unavailable
    assert inp.pmm is not None
    if inp.pmm.locations.value is None:
        settings = inp.pmm.settings.value or {}
        if inp.pmm.settings.ok and not settings.get("backup_management_enabled"):
            return [unknown(CHECK, "PMM lists no storage locations while Backup Management is disabled", "", rs)]
        return [unknown(CHECK, f"cannot read PMM's storage locations: {inp.pmm.locations.error or 'no answer'}",
                        "", rs)]
    locations = inp.pmm.locations.value
    if not locations:
        return [failed(CHECK, "PMM has no backup storage location", ADD_LOCATION_FIX, "", rs, EVERYTHING)]
    names = "; ".join(describe_location(loc) for loc in locations)
    return [passed(CHECK, f"{len(locations)} storage location{'s' if len(locations) > 1 else ''}: {names}", "",
                   rs)]
