"""PMM's lists indexed once per read, for the prober and for thousands of clusters' checks to share: services by
address, agents by service, and services, scheduled backups and artifacts by cluster.

pmm-managed groups a cluster by the services' `cluster` label. PMM's ScheduledBackup and Artifact messages carry
no cluster (api/backup/v1/backup.proto, artifacts.proto): a schedule or an artifact belongs to the cluster of its
service. Documents are the prober's cut-down ones, with data_model, mode and status reduced to LOGICAL / PHYSICAL,
SNAPSHOT / PITR, SUCCESS / ERROR ...
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import cache
from typing import Any, TypeVar

V = TypeVar("V")

LOOPBACK_NAMES = {"", "localhost", "localhost.localdomain", "ip6-localhost"}


def key(value: Any) -> Any:
    """An ID as a dict key: PMM sends strings, but a malformed answer must not make a lookup raise."""
    return value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)


class ByKey(dict[Any, V]):
    """A dict whose lookups take any ID, hashable or not (see key)."""

    def get(self, k: Any, default: Any = None) -> Any:
        return super().get(key(k), default)

    def __contains__(self, k: object) -> bool:
        return super().__contains__(key(k))

    def __getitem__(self, k: Any) -> V:
        return super().__getitem__(key(k))

    def setdefault(self, k: Any, default: Any = None) -> Any:
        return super().setdefault(key(k), default)


@cache
def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_loopback(name: str) -> bool:
    if name.lower() in LOOPBACK_NAMES:
        return True
    return is_ip(name) and ipaddress.ip_address(name).is_loopback


def split_host_port(member: str) -> tuple[str, int]:
    host, _, port = member.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return (host or member).lower(), int(port)
    except ValueError:
        return member.lower(), 27017


def service_names(service: dict[str, Any], nodes: dict[Any, dict[str, Any]]) -> tuple[int, frozenset[str], bool]:
    """The service's port, the names it may go by, and whether those are its node's: its address, or its node's
    address and name when the service was added with a loopback address."""
    port = service.get("port")
    port = port if isinstance(port, int) and not isinstance(port, bool) else 0
    address = str(service.get("address") or "").lower()  # PMM 3 may send null where PMM 2 omits the field
    if not is_loopback(address):
        return port, frozenset({address}), False
    node = nodes.get(service.get("node_id"), {})
    names = {str(node.get(k) or "").lower() for k in ("address", "node_name")} - {""}
    return port, frozenset(names or {address}), bool(names)


class InventoryIndex:
    """Services by port and name, agents by service, pmm-agents and nodes by ID."""

    def __init__(self, services: Iterable[dict[str, Any]], nodes: Iterable[dict[str, Any]],
                 pmm_agents: Iterable[dict[str, Any]], exporters: Iterable[dict[str, Any]],
                 qan_agents: Iterable[dict[str, Any]]) -> None:
        self.nodes: ByKey[dict[str, Any]] = ByKey((key(n.get("node_id")), n) for n in nodes if isinstance(n, dict))
        self.pmm_agents = {str(a.get("agent_id")): a for a in pmm_agents}
        self.exporters: ByKey[list[dict[str, Any]]] = ByKey()
        self.qan_agents: ByKey[list[dict[str, Any]]] = ByKey()
        for agents, by_service in ((exporters, self.exporters), (qan_agents, self.qan_agents)):
            for agent in agents:
                by_service.setdefault(agent.get("service_id"), []).append(agent)
        self.services = [s for s in services if isinstance(s, dict)]
        self.by_name = {str(s.get("service_name")): s for s in self.services}
        self.by_id: ByKey[dict[str, Any]] = ByKey((key(s.get("service_id")), s) for s in self.services)
        # port -> [(service, its names, named by its node)], and (port, name) -> the same, for the exact lookups
        self.on_port: dict[int, list[tuple[dict[str, Any], frozenset[str], bool]]] = {}
        self.named: dict[tuple[int, str], list[tuple[dict[str, Any], bool]]] = {}
        for service in self.services:
            port, names, via_node = service_names(service, self.nodes)
            self.on_port.setdefault(port, []).append((service, names, via_node))
            for name in names:
                self.named.setdefault((port, name), []).append((service, via_node))


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
    wanted = {key(i) for i in service_ids}
    return [d for d in docs if key(d.get("service_id")) in wanted]


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
        self.schedules: ByKey[list[dict[str, Any]]] = ByKey()
        self.artifacts: ByKey[list[dict[str, Any]]] = ByKey()
        # (location ID, folder) -> [(kind, document)] of every schedule and artifact
        self.users: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
        self._clusters: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]] = {}
        for kind, docs, by_service in (("scheduled backup", schedules, self.schedules),
                                       ("artifact", artifacts, self.artifacts)):
            for doc in docs:
                by_service.setdefault(doc.get("service_id"), []).append(doc)
                self.users.setdefault(location_and_folder(doc), []).append((kind, doc))
        # MongoDB artifacts whose service was removed (service ID "", which the prober drops), by folder
        self.orphans: dict[str, list[dict[str, Any]]] = {}
        for doc in self.artifacts.get(None, []):
            if doc.get("vendor") in (None, "mongodb"):
                self.orphans.setdefault(location_and_folder(doc)[1], []).append(doc)

    def of_cluster(self, cluster: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """The cluster's services, their schedules and their artifacts (worked out once: several checks ask)."""
        if cluster not in self._clusters:
            services = self.services.get(cluster, []) if cluster else []
            ids = [s.get("service_id") for s in services]
            self._clusters[cluster] = (services, [d for i in ids for d in self.schedules.get(i, [])],
                                       [d for i in ids for d in self.artifacts.get(i, [])])
        return self._clusters[cluster]


    def orphaned_artifacts(self, cluster: str) -> list[dict[str, Any]]:
        """The MongoDB artifacts whose service was removed from PMM (`pmm-admin remove` -> models.RemoveService,
        RemoveCascade, sets their ServiceID to "") that were most likely this cluster's: the artifact carries no
        cluster, so by where it lies, in a location and folder the cluster's schedules or artifacts use (PMM refuses
        another cluster's backup there, CheckArtifactOverlapping), or in a folder named after the cluster."""
        _, schedules, artifacts = self.of_cluster(cluster)
        pairs = {location_and_folder(d) for d in (*schedules, *artifacts)}
        found = {id(d): d for pair in pairs for kind, d in self.users.get(pair, [])
                 if kind == "artifact" and not d.get("service_id") and d.get("vendor") in (None, "mongodb")}
        found.update((id(d), d) for d in self.orphans.get(cluster, []) if cluster)
        return list(found.values())


def location_and_folder(doc: dict[str, Any]) -> tuple[str, str]:
    return str(doc.get("location_id") or ""), str(doc.get("folder") or "")
