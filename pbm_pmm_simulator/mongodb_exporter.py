"""What PMM's mongodb_exporter serves for one member of a simulated replica set: `mongodb_up` and its PBM
collector's series, so that the dashboard's panels over PMM's own series have data in the end-to-end test.

The PBM collector (percona/mongodb_exporter exporter/pbm_collector.go) reads PBM's config, agents and backups on
every scrape, from the member it monitors:
- `mongodb_pbm_cluster_backup_configured` 1 when PBM has a config; with one, `mongodb_pbm_cluster_pitr_backup_enabled`;
- `mongodb_pbm_agent_status{host, replica_set, role, self}` for every member of the set, as PBM's `pbm status`
  sees it (sdk/cli/status.go ClusterStatus): 0 OK, 1 error (no agent, or a subsystem not ok), 2 lost (heartbeat
  older than 30 s of cluster time, LostAgentError); `self` is "1" for the member the exporter monitors;
- per backup and replica set, `mongodb_pbm_backup_size_bytes`, `..._last_transition_ts` and `..._duration_seconds`
  with `opid, status, name, host, replica_set, self, type`.
PMM adds its target labels (service_name, cluster, environment, ...) when it scrapes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from bson import Timestamp
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pbm_pmm_simulator.replset import SimReplicaSet

STALE_SECS = 30  # PBM's defs.StaleFrameSec: an agent whose heartbeat is older is lost
ROLES = {1: "P", 2: "S", 7: "A"}  # pbm/topo/node.go NodeRole, by the member's replica-set state


class _Member(Collector):
    def __init__(self, rs: SimReplicaSet, index: int) -> None:
        self.rs, self.index = rs, index

    def collect(self) -> Iterator[Metric]:
        rs, me = self.rs, self.rs.members[self.index]
        up = GaugeMetricFamily("mongodb_up", "Whether MongoDB is up.", labels=["cluster_role"])
        up.add_metric(["mongod"], 1.0 if me.is_up else 0.0)
        yield up
        with rs.lock:
            config = rs.pbm_config
            agents = {d.get("n"): d for d in rs.agent_documents()}
            backups = list(rs.collections.get(("admin", "pbmBackups"), []))
            now = rs.cluster_time().time
            members = [(m.host, rs.member_state(m)) for m in rs.members]
        if config is not None:
            pitr = GaugeMetricFamily("mongodb_pbm_cluster_pitr_backup_enabled",
                                     "PBM PITR backups are enabled for the cluster")
            pitr.add_metric([], 1.0 if (config.get("pitr") or {}).get("enabled") else 0.0)
            yield pitr
            yield from self._backups(backups, me.host)
            status = GaugeMetricFamily("mongodb_pbm_agent_status", "PBM Agent Status",
                                       labels=["host", "replica_set", "role", "self"])
            for host, state in members:
                status.add_metric([host, rs.name, ROLES.get(state, ""), "1" if host == me.host else "0"],
                                  float(_agent_status(agents.get(host), now)))
            yield status
        configured = GaugeMetricFamily("mongodb_pbm_cluster_backup_configured",
                                       "PBM backups are configured for the cluster")
        configured.add_metric([], 1.0 if config is not None else 0.0)
        yield configured

    def _backups(self, backups: list[dict[str, Any]], me: str) -> Iterator[Metric]:
        labels = ["opid", "status", "name", "host", "replica_set", "self", "type"]
        size = GaugeMetricFamily("mongodb_pbm_backup_size_bytes", "Size of PBM backup", labels=labels)
        last = GaugeMetricFamily("mongodb_pbm_backup_last_transition_ts",
                                 "Last transition timestamp of PBM backup (seconds since epoch)", labels=labels)
        duration = GaugeMetricFamily("mongodb_pbm_backup_duration_seconds", "Duration of PBM backup", labels=labels)
        for backup in backups:
            status = str(backup.get("status", ""))
            ended = status in ("done", "canceled", "error", "down")
            end = int(backup.get("last_transition_ts") or 0) if ended else int(time.time())
            for replset in backup.get("replsets") or []:
                values = [str(backup.get("opid", "")), status, str(backup.get("name", "")),
                          str(replset.get("node", "")), str(replset.get("name", "")),
                          "1" if replset.get("node") == me else "0", str(backup.get("type", ""))]
                size.add_metric(values, float(backup.get("size") or 0))
                last.add_metric(values, float(backup.get("last_transition_ts") or 0))
                duration.add_metric(values, float(end - int(backup.get("start_ts") or 0)))
        yield from (size, last, duration)


def _agent_status(doc: dict[str, Any] | None, now: int) -> int:
    if doc is None:
        return 1
    heartbeat = doc.get("hb")
    if isinstance(heartbeat, Timestamp) and now - heartbeat.time > STALE_SECS:
        return 2
    return 0 if all((doc.get(k) or {}).get("ok") for k in ("pbms", "nodes", "stors")) else 1


def exposition(rs: SimReplicaSet, index: int) -> bytes:
    """The text the member's mongodb_exporter serves (PMM's LR job asks for the pbm collector once a minute)."""
    registry = CollectorRegistry()
    registry.register(_Member(rs, index))
    return generate_latest(registry)
