"""Write node-check results for PMM's textfile collector: node_exporter ships every *.prom file of its textfile
directory, so the series reach PMM with no new port or registration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, write_to_textfile
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter.check_result import CheckResult, Status
from exporter.node.checks import NodeIdentity

# pmm-agent's textfile collector directories (PMM 3, then PMM 2); medium resolution is scraped every 10 s
TEXTFILE_DIRS = (
    "/usr/local/percona/pmm/collectors/textfile-collector/medium-resolution",
    "/usr/local/percona/pmm2/collectors/textfile-collector/medium-resolution",
)
FILE_NAME = "pmm_backup_prereq.prom"


class _Results(Collector):
    def __init__(self, results: list[CheckResult], me: NodeIdentity, now: float) -> None:
        self.results, self.me, self.now = results, me, now

    def collect(self) -> Iterator[Metric]:
        ok = GaugeMetricFamily("pmm_backup_prereq_ok", "1 when the backup prerequisite passes, 0 when it fails; "
                               "absent when it could not be evaluated (see probe_success).",
                               labels=["cluster", "check", "node", "replica_set"])
        for r in self.results:
            if r.exported:
                ok.add_metric([self.me.cluster, r.check, r.node, r.replica_set],
                              1.0 if r.status is Status.PASS else 0.0)
        # the exporter's series, so that the dashboard and the restore alert see node-side blocks too
        blocking = GaugeMetricFamily("pmm_backup_prereq_blocking", "1 for each failing check result and each "
                                     "operation it blocks.", labels=["cluster", "check", "node", "replica_set",
                                                                     "operation"])
        for r in self.results:
            if r.status is Status.FAIL:
                for op in r.blocks:
                    blocking.add_metric([self.me.cluster, r.check, r.node, r.replica_set, op], 1.0)
        when = GaugeMetricFamily("pmm_backup_prereq_node_check_timestamp_seconds", "Unix time of the node-side "
                                 "check that wrote these results.", labels=["cluster", "node", "replica_set"])
        when.add_metric([self.me.cluster, self.me.node, self.me.replica_set], self.now)
        yield from (ok, blocking, when)


def default_textfile_dir() -> str | None:
    return next((d for d in TEXTFILE_DIRS if Path(d).is_dir()), None)


def write_results(directory: str, results: list[CheckResult], me: NodeIdentity, now: float) -> str:
    """Write the .prom file atomically (prometheus_client writes a temporary file, then renames it)."""
    registry = CollectorRegistry()
    registry.register(_Results(results, me, now))
    path = str(Path(directory) / FILE_NAME)
    write_to_textfile(path, registry)
    return path
