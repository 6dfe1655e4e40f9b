"""Which services PMM would restore each cluster's newest successful artifact to: PMM's own answer (PMM 3
GET /v1/backups/{artifact_id}/compatible-services, PMM 2 POST /v1/management/backup/Backups/
ListArtifactCompatibleServices), so that its version rule (managed/services/backup/compatibility_service.go
FindArtifactCompatibleServices: the artifact's mongod version equals the service's, exactly; an artifact of unknown
version only to its own service) is applied by PMM itself, not re-derived here.

One call per artifact: an answer is kept until the artifact is no longer its cluster's newest, the versions of the
cluster's services change in the inventory, or REFRESH_READS reads have passed; at most MAX_CALLS calls a read.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from exporter.facts import Observed
from exporter.pmm_index import BackupIndex, newest_restorable
from exporter.probes.pmm_api import Call, Endpoint, PMMError

REFRESH_READS = 30
MAX_CALLS = 100
SERVICE_FIELDS = ("service_id", "service_name", "node_id", "cluster", "replication_set", "version")


def endpoint(dialect: int, artifact_id: str) -> Endpoint:
    if dialect == 0:
        return Endpoint("POST", "/v1/management/backup/Backups/ListArtifactCompatibleServices",
                        {"artifact_id": artifact_id})
    return Endpoint("GET", f"/v1/backups/{quote(artifact_id, safe='')}/compatible-services")


class CompatibleServices:
    """Asks and keeps PMM's compatible-services answers across reads of PMM (one instance per PMM prober)."""

    def __init__(self) -> None:
        # artifact ID -> (the cluster's service versions when asked, read number, answer)
        self._answers: dict[str, tuple[tuple[tuple[str, str], ...], int, Observed[list[dict[str, Any]]]]] = {}
        self._reads = 0

    def read(self, call: Call, dialect: int, services: list[dict[str, Any]], artifacts: list[dict[str, Any]],
             deadline: float) -> dict[str, Observed[list[dict[str, Any]]]]:
        self._reads += 1
        calls = 0
        out: dict[str, Observed[list[dict[str, Any]]]] = {}
        index = BackupIndex(services, (), artifacts)
        for cluster in sorted(index.services):
            members, _, theirs = index.of_cluster(cluster)
            artifact = newest_restorable(theirs, (s.get("service_id") for s in members))
            if artifact is None or not artifact.get("artifact_id"):
                continue
            artifact_id = str(artifact["artifact_id"])
            versions = tuple(sorted((str(s.get("service_id")), str(s.get("version") or "")) for s in members))
            kept = self._answers.get(artifact_id)
            fresh = kept is not None and kept[0] == versions and self._reads - kept[1] < REFRESH_READS
            if not fresh and calls < MAX_CALLS and time.monotonic() < deadline:
                calls += 1
                kept = (versions, self._reads, self._ask(call, dialect, artifact_id, deadline))
                self._answers[artifact_id] = kept
            if kept is not None:
                out[artifact_id] = kept[2]
        self._answers = {a: kept for a, kept in self._answers.items() if a in out}
        return out

    @staticmethod
    def _ask(call: Call, dialect: int, artifact_id: str, deadline: float) -> Observed[list[dict[str, Any]]]:
        try:
            reply = call(endpoint(dialect, artifact_id), deadline)
        except PMMError as exc:
            if exc.status == 401:
                raise
            return Observed.failed(str(exc))
        listed = reply.get("mongodb", []) if isinstance(reply, dict) else None  # an empty list is omitted
        if not isinstance(listed, list):
            return Observed.failed("PMM's compatible-services answer has no mongodb list")
        return Observed([{k: s.get(k) for k in SERVICE_FIELDS if k in s} for s in listed if isinstance(s, dict)])
