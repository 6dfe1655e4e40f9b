"""Which services PMM would restore each cluster's newest successful artifact to: PMM's own answer (PMM 3
GET /v1/backups/{artifact_id}/compatible-services, PMM 2 POST /v1/management/backup/Backups/
ListArtifactCompatibleServices), so that its version rule (managed/services/backup/compatibility_service.go
FindArtifactCompatibleServices: the artifact's mongod version equals the service's, exactly; an artifact of unknown
version only to its own service) is applied by PMM itself, not re-derived here.

PMM's answer lists every service it would restore to, fleet-wide, so one costs PMM and the exporter in
proportion to the fleet: an answer is kept until the artifact is no longer its cluster's newest or the versions of
the cluster's services change in the inventory, and asked again after RECHECK_READS reads while it names none of
the cluster's services, after REFRESH_READS otherwise. Unasked artifacts go first, then the oldest answers; a
read asks at most MAX_CALLS within its time budget, and at least MIN_CALLS: first the new artifacts of clusters already
answered (a nightly backup, the usual change), then the clusters never answered, then the oldest answers.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from exporter.facts.observed import Observed
from exporter.facts.pmm_indexes import BackupIndex, newest_restorable
from exporter.probes.pmm_api import Call, Endpoint, PMMError

RECHECK_READS = 5
REFRESH_READS = 360
MAX_CALLS = 100
MIN_CALLS = 3  # made whatever the time budget says: a small fleet is answered at once, even on a loaded machine
OTHERS_KEPT = 5
SERVICE_FIELDS = ("service_id", "service_name", "node_id", "cluster", "replication_set", "version")


def endpoint(dialect: int, artifact_id: str) -> Endpoint:
    if dialect == 0:
        return Endpoint("POST", "/v1/management/backup/Backups/ListArtifactCompatibleServices",
                        {"artifact_id": artifact_id})
    return Endpoint("GET", f"/v1/backups/{quote(artifact_id, safe='')}/compatible-services")


Answer = tuple[tuple[tuple[str, str], ...], int, Observed[list[dict[str, Any]]]]  # (versions when asked, read, answer)


def names_any(answer: Answer) -> bool:
    """Whether PMM's answer names one of the cluster's own services (those it was asked for)."""
    ours = {s for s, _ in answer[0]}
    return answer[2].value is not None and any(str(s.get("service_id")) in ours for s in answer[2].value)


class CompatibleServices:
    """Asks and keeps PMM's compatible-services answers across reads of PMM (one instance per PMM prober).

    A cluster's new artifact taken while its services ran the same MongoDB versions as when PMM named them for the
    previous one carries that answer until PMM is asked (a whole fleet's nightly backups land at once): `carried`
    says so, {new artifact ID: the one whose answer it carries}.
    """

    def __init__(self) -> None:
        self._answers: dict[str, Answer] = {}  # artifact ID -> PMM's answer about it
        self._latest: dict[str, str] = {}  # cluster -> the artifact PMM was last asked about
        self.carried: dict[str, str] = {}
        self._reads = 0

    def read(self, call: Call, dialect: int, services: list[dict[str, Any]], artifacts: list[dict[str, Any]],
             deadline: float, budget: float) -> dict[str, Observed[list[dict[str, Any]]]]:
        """{artifact ID: PMM's answer} for each cluster's newest successful artifact that has one; calls stop at
        `budget` (a monotonic time), the whole read at `deadline`."""
        self._reads += 1
        due: list[tuple[tuple[int, int], str, tuple[tuple[str, str], ...], str]] = []
        newest: set[str] = set()
        index = BackupIndex(services, (), artifacts)
        for cluster in index.services:
            members, _, theirs = index.of_cluster(cluster)
            artifact = newest_restorable(theirs, (s.get("service_id") for s in members))
            if artifact is None or not artifact.get("artifact_id"):
                continue
            artifact_id = str(artifact["artifact_id"])
            newest.add(artifact_id)
            versions = tuple(sorted((str(s.get("service_id")), str(s.get("version") or "")) for s in members))
            kept = self._answers.get(artifact_id)
            previous = self._answers.get(self._latest.get(cluster, ""))
            if kept is None and previous is not None and previous[0] == versions and names_any(previous):
                self._answers[artifact_id] = kept = previous
                self.carried[artifact_id] = self._latest[cluster]
            if artifact_id in self.carried:
                due.append(((0, 0), artifact_id, versions, cluster))
            elif kept is None or kept[0] != versions:
                due.append(((1, 0), artifact_id, versions, cluster))
            elif self._reads - kept[1] >= (REFRESH_READS if names_any(kept) else RECHECK_READS):
                due.append(((2, kept[1] - self._reads), artifact_id, versions, cluster))
        for calls, (_, artifact_id, versions, cluster) in enumerate(sorted(due)):
            if calls >= MAX_CALLS or (calls >= MIN_CALLS and time.monotonic() >= budget):
                break
            ours = {s for s, _ in versions}
            self._answers[artifact_id] = (versions, self._reads, self._ask(call, dialect, artifact_id, ours, deadline))
            self._latest[cluster] = artifact_id
            self.carried.pop(artifact_id, None)
        kept_ids = newest | set(self._latest.values())
        self._answers = {a: kept for a, kept in self._answers.items() if a in kept_ids}
        self.carried = {a: old for a, old in self.carried.items() if a in newest}
        return {a: kept[2] for a, kept in self._answers.items() if a in newest}

    @staticmethod
    def _ask(call: Call, dialect: int, artifact_id: str, ours: set[str], deadline: float
             ) -> Observed[list[dict[str, Any]]]:
        """PMM's answer, kept short: the cluster's own services, and the first others PMM names, for the reason."""
        try:
            reply = call(endpoint(dialect, artifact_id), deadline)
        except PMMError as exc:
            if exc.status == 401:
                raise
            return Observed.failed(str(exc))
        listed = reply.get("mongodb", []) if isinstance(reply, dict) else None  # an empty list is omitted
        if not isinstance(listed, list):
            return Observed.failed("PMM's compatible-services answer has no mongodb list")
        services = [s for s in listed if isinstance(s, dict)]
        kept = [s for s in services if str(s.get("service_id")) in ours] + \
            [s for s in services if str(s.get("service_id")) not in ours][:OTHERS_KEPT]
        return Observed([{k: s.get(k) for k in SERVICE_FIELDS if k in s} for s in kept])
