"""Write node-check results for PMM's textfile collector: node_exporter ships every *.prom file of its textfile
directory, so the series reach PMM with no new port or registration.

The text exposition format written by hand (node-check cannot count on prometheus_client on a database host):
gauges only, labels escaped as the format says; tests/test_node_check.py reads it back with prometheus_client's
parser and promtool. Like all of node-check: Python 3.6 and the standard library only.
"""

import os
from pathlib import Path
from typing import Optional, Sequence, Tuple

from exporter.node.checks import NodeIdentity, storage_source
from exporter.node.inspect import StorageFacts
from exporter.results.check_result import CheckResult, Status

# pmm-agent's textfile collector directories (PMM 3, then PMM 2); medium resolution is scraped every 10 s
TEXTFILE_DIRS = (
    "/usr/local/percona/pmm/collectors/textfile-collector/medium-resolution",
    "/usr/local/percona/pmm2/collectors/textfile-collector/medium-resolution",
)
FILE_NAME = "pmm_backup_prereq.prom"

Sample = Tuple[Sequence[Tuple[str, str]], float]  # (label name, value) pairs, value


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def gauge(name: str, help_text: str, samples: Sequence[Sample]) -> str:
    help_line = help_text.replace("\\", "\\\\").replace("\n", "\\n")
    lines = [f"# HELP {name} {help_line}", f"# TYPE {name} gauge"]
    for labels, value in samples:
        pairs = ",".join(f'{k}="{_label_value(v)}"' for k, v in sorted(labels))
        lines.append(f"{name}{{{pairs}}} {float(value)!r}")
    return "\n".join(lines) + "\n"


def exposition(results: Sequence[CheckResult], me: NodeIdentity, now: float,
               storage: Optional[StorageFacts] = None) -> str:
    ok = [((("cluster", me.cluster), ("check", r.check), ("node", r.node), ("replica_set", r.replica_set)),
           1.0 if r.status is Status.PASS else 0.0) for r in results if r.exported]
    # the exporter's series, so that the dashboard and the restore alert see node-side blocks too
    blocking = [((("cluster", me.cluster), ("check", r.check), ("node", r.node), ("replica_set", r.replica_set),
                  ("operation", op)), 1.0) for r in results if r.status is Status.FAIL for op in r.blocks]
    when = [((("cluster", me.cluster), ("node", me.node), ("replica_set", me.replica_set)), now)]
    return (gauge("pmm_backup_prereq_ok", "1 when the backup prerequisite passes, 0 when it fails; absent when it "
                  "could not be evaluated (see probe_success).", ok)
            + gauge("pmm_backup_prereq_blocking", "1 for each failing check result and each operation it blocks.",
                    blocking)
            + gauge("pmm_backup_prereq_node_check_timestamp_seconds", "Unix time of the node-side check that wrote "
                    "these results.", when)
            + _storage_mount(storage, me))


def _storage_mount(storage: Optional[StorageFacts], me: NodeIdentity) -> str:
    """What the node mounts at PBM's filesystem storage path: nodes of one cluster that name different sources (or
    a local file system) do not share the storage, and the dashboard shows it."""
    if storage is None or storage.mount is None:
        return ""
    mount = storage.mount
    labels = (("cluster", me.cluster), ("node", me.node), ("replica_set", me.replica_set), ("path", storage.path),
              ("mount_point", mount.point), ("fstype", mount.fstype), ("source", storage_source(mount.source)))
    return gauge("pmm_backup_prereq_storage_mount_info", "1 for the mount holding PBM's filesystem storage path on "
                 "this node: its mount point, file system type and source (without a password).", [(labels, 1.0)])


def default_textfile_dir() -> Optional[str]:
    return next((d for d in TEXTFILE_DIRS if Path(d).is_dir()), None)


def write_results(directory: str, results: Sequence[CheckResult], me: NodeIdentity, now: float,
                  storage: Optional[StorageFacts] = None) -> str:
    """Write the .prom file atomically: a temporary file node_exporter ignores (not *.prom), then a rename, so the
    collector never reads half a file; readable by node_exporter's user whatever the umask."""
    path = os.path.join(directory, FILE_NAME)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as out:
            out.write(exposition(results, me, now, storage))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise
    return path
