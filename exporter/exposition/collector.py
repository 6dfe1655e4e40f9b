"""The Prometheus collector: turns the latest snapshots into metric families on each scrape.

A custom collector (prometheus/client_python's pattern) builds fresh families from immutable snapshots, so a
series whose check went away or could not be evaluated disappears instead of keeping a stale value.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter import __version__
from exporter.results.check_result import Status
from exporter.snapshots.cluster_snapshot import SnapshotStore

PREFIX = "pmm_backup_prereq"


class SnapshotCollector(Collector):
    def __init__(self, store: SnapshotStore) -> None:
        self.store = store

    def describe(self) -> list[Metric]:
        return []  # so that registering does not trigger a collection

    def collect(self) -> Iterator[Metric]:
        ok = GaugeMetricFamily(f"{PREFIX}_ok", "1 when the backup prerequisite passes, 0 when it fails; absent when "
                               "it could not be evaluated (see probe_success).",
                               labels=["cluster", "check", "node", "replica_set"])
        ready = GaugeMetricFamily(f"{PREFIX}_cluster_ready", "1 when the backups PMM takes of the cluster will run "
                                  "(its backup_mode's backup, PITR when on, and its scheduled backups in PMM), 0 "
                                  "when a failing check blocks them; absent when that depends on a check that could "
                                  "not be evaluated.",
                                  labels=["cluster"])
        operation = GaugeMetricFamily(f"{PREFIX}_operation_ready", "1 when nothing blocks the operation, 0 when a "
                                      "failing check does; absent when a check that could block it is unknown.",
                                      labels=["cluster", "operation"])
        blocking = GaugeMetricFamily(f"{PREFIX}_blocking", "1 for each failing check result and each operation it "
                                     "blocks.", labels=["cluster", "check", "node", "replica_set", "operation"])
        running = GaugeMetricFamily(f"{PREFIX}_pbm_operation_running", "1 while a PBM operation of this type runs "
                                    "(a fresh lock, or a physical restore).", labels=["cluster", "type"])
        success = GaugeMetricFamily(f"{PREFIX}_probe_success", "1 when the last probe of the target succeeded.",
                                    labels=["cluster", "target"])
        duration = GaugeMetricFamily(f"{PREFIX}_probe_duration_seconds", "How long the last probe took.",
                                     labels=["cluster"])
        last = GaugeMetricFamily(f"{PREFIX}_last_probe_timestamp_seconds", "Unix time of the last successful "
                                 "probe; results are cached between probes.", labels=["cluster"])
        interval = GaugeMetricFamily(f"{PREFIX}_probe_interval_seconds", "How often the cluster is probed (for "
                                     "judging data age).", labels=["cluster"])
        age = GaugeMetricFamily(f"{PREFIX}_pbm_agent_heartbeat_age_seconds", "Age of the pbm-agent's last "
                                "heartbeat by the cluster's clock (PBM calls an agent lost past 30 s).",
                                labels=["cluster", "node", "replica_set"])
        info = GaugeMetricFamily(f"{PREFIX}_pbm_agent_info", "PBM version reported by the node's pbm-agent.",
                                 labels=["cluster", "node", "replica_set", "version"])
        cluster_info = GaugeMetricFamily(f"{PREFIX}_cluster_info", "1 for every cluster checked; source says where "
                                         "it came from: static (the config file) or pmm (PMM's inventory); "
                                         "backup_mode, the backups PMM takes of it (logical or physical).",
                                         labels=["cluster", "source", "backup_mode"])
        # pmm_ prefixed: PMM's scrape adds its own service_name, environment, ... to our series (a label of ours
        # named like one of them would be renamed exported_...)
        node_info = GaugeMetricFamily(f"{PREFIX}_node_info", "1 for every member of a cluster checked: the PMM "
                                      "service it is monitored as and that service's environment (empty when no "
                                      "PMM service matches it), to join with PMM's own series.",
                                      labels=["cluster", "node", "replica_set", "pmm_service", "pmm_environment"])
        newest = GaugeMetricFamily(f"{PREFIX}_restorable_newest_timestamp_seconds", "The newest point in time a "
                                   "restore can reach now (PBM's PITR ranges with a base snapshot, and its usable "
                                   "backups), by the cluster's clock; absent when there is none or it is unknown.",
                                   labels=["cluster"])
        oldest = GaugeMetricFamily(f"{PREFIX}_restorable_oldest_timestamp_seconds", "The oldest point in time a "
                                   "restore can reach now; absent when there is none or it is unknown.",
                                   labels=["cluster"])
        rpo = GaugeMetricFamily(f"{PREFIX}_rpo_seconds", "Cluster time minus the newest restorable point: what a "
                                "restore now would lose; absent when there is no restorable point or it is unknown.",
                                labels=["cluster"])
        gaps = GaugeMetricFamily(f"{PREFIX}_pitr_gaps", "Holes in the span PBM's PITR chunks cover (over every "
                                 "shard and the config servers): a restore cannot reach into them.",
                                 labels=["cluster"])
        gap_seconds = GaugeMetricFamily(f"{PREFIX}_pitr_gap_seconds", "How long the holes in the span PBM's PITR "
                                        "chunks cover last, in all.", labels=["cluster"])
        last_backup = GaugeMetricFamily(f"{PREFIX}_last_backup_timestamp_seconds", "When the newest backup of this "
                                        "type that ended with this status (done or error) ended, from PBM's "
                                        "catalogue (admin.pbmBackups).", labels=["cluster", "type", "status"])
        backup_duration = GaugeMetricFamily(f"{PREFIX}_last_backup_duration_seconds", "How long the newest "
                                            "successful backup of this type ran.", labels=["cluster", "type"])
        backup_size = GaugeMetricFamily(f"{PREFIX}_last_backup_size_bytes", "The size PBM recorded for the newest "
                                        "successful backup of this type.", labels=["cluster", "type"])
        oplog_window = GaugeMetricFamily(f"{PREFIX}_oplog_window_seconds", "Seconds from the oldest to the newest "
                                         "entry of the member's oplog, for the members PBM could slice PITR on; read "
                                         "only with PITR on, absent when unknown.",
                                         labels=["cluster", "node", "replica_set"])
        for snap in sorted(self.store.all(), key=lambda s: s.cluster):
            for window in snap.oplog_windows if snap.probe_success else ():
                oplog_window.add_metric([snap.cluster, window.node, window.replica_set], float(window.seconds))
            rec = snap.recoverability if snap.probe_success else None
            if rec is not None and rec.window is not None:
                if rec.window.newest is not None:
                    newest.add_metric([snap.cluster], float(rec.window.newest))
                if rec.window.oldest is not None:
                    oldest.add_metric([snap.cluster], float(rec.window.oldest))
                if rec.rpo is not None:
                    rpo.add_metric([snap.cluster], float(rec.rpo))
                gaps.add_metric([snap.cluster], float(len(rec.window.gaps)))
                gap_seconds.add_metric([snap.cluster], float(rec.window.gap_seconds))
            for b in rec.last_backups if rec is not None else ():
                last_backup.add_metric([snap.cluster, b.type, b.status], float(b.ended))
                if b.status == "done":
                    if b.duration is not None:
                        backup_duration.add_metric([snap.cluster, b.type], float(b.duration))
                    if b.size is not None:
                        backup_size.add_metric([snap.cluster, b.type], float(b.size))
            cluster_info.add_metric([snap.cluster, snap.source, snap.backup_mode], 1.0)
            for member in snap.members:
                node_info.add_metric([snap.cluster, member.node, member.replica_set, member.pmm_service,
                                      member.pmm_environment], 1.0)
            success.add_metric([snap.cluster, "mongodb"], 1.0 if snap.probe_success else 0.0)
            if snap.pmm is not None:
                success.add_metric([snap.cluster, "pmm"], 1.0 if snap.pmm.success else 0.0)
            duration.add_metric([snap.cluster], snap.probe_duration)
            interval.add_metric([snap.cluster], self.store.interval)
            if snap.last_success_timestamp is not None:
                last.add_metric([snap.cluster], snap.last_success_timestamp)
            for result in snap.results:
                if result.exported:
                    ok.add_metric([snap.cluster, result.check, result.node, result.replica_set],
                                  1.0 if result.status is Status.PASS else 0.0)
                if result.status is Status.FAIL:
                    for op in result.blocks:
                        blocking.add_metric([snap.cluster, result.check, result.node, result.replica_set, op], 1.0)
            for kind in snap.running:
                running.add_metric([snap.cluster, kind], 1.0)
            operations = snap.operations
            for op, state in operations.items():
                if state is not None:
                    operation.add_metric([snap.cluster, op], 1.0 if state else 0.0)
            backups_run = snap.ready_given(operations)  # snap.ready, without recomputing operations
            if backups_run is not None:
                ready.add_metric([snap.cluster], 1.0 if backups_run else 0.0)
            for agent in snap.agents:
                if agent.heartbeat_age is not None:
                    age.add_metric([snap.cluster, agent.node, agent.replica_set], float(agent.heartbeat_age))
                info.add_metric([snap.cluster, agent.node, agent.replica_set, agent.version], 1.0)
        build = GaugeMetricFamily(f"{PREFIX}_exporter_build_info", "The exporter's version.", labels=["version"])
        build.add_metric([__version__], 1.0)
        yield from (ok, ready, operation, blocking, running, cluster_info, node_info, success, duration, interval, last,
                    age, info, build, newest, oldest, rpo, gaps, gap_seconds, last_backup, backup_duration,
                    backup_size, oplog_window)
        cycles = CounterMetricFamily(f"{PREFIX}_cycles", "Probe cycles completed since the exporter started.")
        cycles.add_metric([], float(self.store.cycles))
        yield cycles
        if self.store.last_cycle_duration is not None:
            cycle = GaugeMetricFamily(f"{PREFIX}_last_cycle_duration_seconds", "How long the last probe cycle over "
                                      "every cluster took.")
            cycle.add_metric([], self.store.last_cycle_duration)
            yield cycle
        discovery = self.store.discovery
        if discovery is not None:
            found = GaugeMetricFamily(f"{PREFIX}_discovered_clusters", "Clusters discovered in PMM's inventory and "
                                      "probed now.")
            found.add_metric([], float(discovery.clusters))
            ok_ = GaugeMetricFamily(f"{PREFIX}_discovery_success", "1 when the last read of PMM's inventory for "
                                    "discovery succeeded; 0 while the last known list is kept.")
            ok_.add_metric([], 1.0 if discovery.success else 0.0)
            yield from (found, ok_)
            if discovery.last_success_timestamp is not None:
                when = GaugeMetricFamily(f"{PREFIX}_discovery_last_success_timestamp_seconds", "Unix time of the "
                                         "last successful discovery from PMM's inventory.")
                when.add_metric([], discovery.last_success_timestamp)
                yield when
        pmm = self.store.pmm
        if pmm is not None and pmm.version:
            server = GaugeMetricFamily(f"{PREFIX}_pmm_server_info", "The version of the PMM Server checked.",
                                       labels=["version"])
            server.add_metric([pmm.version], 1.0)
            yield server
