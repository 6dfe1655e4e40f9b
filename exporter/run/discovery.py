"""Discovery: the clusters to check, from PMM's inventory of MongoDB services (pure: facts in, configs out).

Services are grouped by their cluster name, the one `pmm-admin add mongodb --cluster` gave them. A group whose
services belong to two or more replica sets is a sharded cluster: probed through its mongos services (those with
no replication set) when PMM knows any, else replica set by replica set. A service without a cluster name
cannot be grouped and becomes an entry of its own, named after the service, so that `service_cluster_name`
fails for it visibly instead of the node going unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from exporter.config.config_file import ClusterConfig, ClusterOverride, DiscoveryConfig, MongoDBCredentials, check_uri
from exporter.facts.observed import PMMFacts
from exporter.model.pmm_inventory import is_loopback


@dataclass(frozen=True)
class Discovered:
    clusters: tuple[ClusterConfig, ...]
    problems: tuple[str, ...]  # services that could not be used, said once per cycle


def _endpoint(service: dict[str, Any], nodes: dict[str, dict[str, Any]]) -> str | None:
    """host:port to reach the service from here: its address, or its node's when it was added as loopback."""
    port = service.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or port <= 0:
        return None
    host = str(service.get("address") or "")
    if is_loopback(host):
        node = nodes.get(str(service.get("node_id")), {})
        host = str(node.get("address") or node.get("node_name") or host)
    if not host:
        return None
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def build_uri(hosts: list[str], credentials: MongoDBCredentials, replica_set: str | None) -> str:
    userinfo = ""
    if credentials.username:
        userinfo = quote(credentials.username, safe="")
        if credentials.password is not None:
            userinfo += ":" + quote(credentials.password, safe="")
        userinfo += "@"
    options = [("authSource", credentials.auth_source)] if credentials.username else []
    if replica_set:
        options.append(("replicaSet", replica_set))
    options += list(credentials.options)
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in options)
    return f"mongodb://{userinfo}{','.join(hosts)}/" + (f"?{query}" if query else "")


def discover(pmm: PMMFacts, discovery: DiscoveryConfig) -> Discovered:
    nodes = {str(n.get("node_id")): n for n in pmm.nodes.value or [] if isinstance(n, dict)}
    groups: dict[str, list[tuple[str, str]]] = {}  # cluster name -> [(replication set, host:port)]
    problems = []
    services = sorted((s for s in pmm.services.value or [] if isinstance(s, dict)),
                      key=lambda s: (str(s.get("cluster") or ""), str(s.get("service_name") or "")))
    for service in services:
        name = str(service.get("service_name") or service.get("service_id") or "?")
        endpoint = _endpoint(service, nodes)
        if endpoint is None:
            problems.append(f"PMM service {name} has no address and port the exporter can reach (a socket-only "
                            f"service?): list its cluster in the config's clusters instead")
            continue
        cluster = str(service.get("cluster") or "") or name
        groups.setdefault(cluster, []).append((str(service.get("replication_set") or ""), endpoint))
    overrides = dict(discovery.overrides)
    clusters = [_cluster(name, members, discovery.credentials, overrides.get(name)) for name, members in
                groups.items()]
    return Discovered(tuple(clusters), tuple(problems))


def _cluster(name: str, members: list[tuple[str, str]], defaults: MongoDBCredentials,
             override: ClusterOverride | None) -> ClusterConfig:
    override = override or ClusterOverride()
    credentials = override.credentials or defaults
    sets: dict[str, list[str]] = {}
    for replica_set, endpoint in members:
        sets.setdefault(replica_set, []).append(endpoint)
    named = {rs: hosts for rs, hosts in sets.items() if rs}
    replica_sets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if len(named) >= 2 and "" in sets:  # sharded, and PMM knows its mongos (no replication set)
        seeds, uri = sets[""], build_uri(sets[""], credentials, None)
    elif len(named) >= 2:  # sharded without a mongos in PMM: read each replica set directly
        replica_sets = tuple((rs, tuple(hosts)) for rs, hosts in sorted(named.items()))
        first_rs, first_hosts = replica_sets[0]
        seeds, uri = list(first_hosts), build_uri(list(first_hosts), credentials, first_rs)
    else:
        seeds = [h for hosts in sets.values() for h in hosts]
        uri = build_uri(seeds, credentials, next(iter(named), None))
    if override.uri:  # checked when the config was loaded
        uri, replica_sets = override.uri, ()
        seeds = list(check_uri(uri)[0])
    return ClusterConfig(
        name=name, uri=uri, backup_mode=override.backup_mode or "logical", seeds=tuple(seeds),
        username=credentials.username, password=credentials.password, pmm_services=override.pmm_services,
        shard_uris=override.shard_uris, restore_from_pmm=bool(override.restore_from_pmm), source="pmm",
        replica_sets=replica_sets)
