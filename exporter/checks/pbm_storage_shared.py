"""pbm_storage_shared: with a filesystem storage, every pbm-agent sees the same directory (the shared mount).

PBM writes `.pbm.init` to the storage when its config is set. Every 15 s each agent checks it is there
(cmd/pbm-agent/agent.go HbStatus, storStatus, v2.6.0 to v2.15.0): when `storage.IsInitialized` does not find it,
the agent logs `log.Warning("storage is not initialized")` under event `agentCheckup` to admin.pbmLog and still
reports its storage OK (`return topo.SubsysStatus{OK: true}`), so pbm_storage_reachable passes. With a filesystem
storage this means the node's path is not the directory the others share: an NFS mount missing on this node, whose
path pbm/storage/fs/fs.go New then creates as a local directory. Backups and PITR chunks that node writes land on
its own disk, and restores that read on it miss the files the others wrote.

The warnings are read only with a filesystem storage, and only through pbmLog's index event_severity_rs_ts,
which pbm-agent creates from 2.13 (cmd/pbm-agent/setup.go): the last minute, newest first, bounded
(probes/mongodb.py). A member whose agent logged it in that minute fails.

Blocks: physical_restore (every node's agent restores its own files from the storage,
pbm/restore/physical.go), and logical_restore when the node is the primary (a logical restore runs on the
primary's agent, as pbm_storage_reachable says).
"""

from __future__ import annotations

from exporter.model.cluster_view import CheckInput
from exporter.model.pbm_log import LOG_INDEX_SINCE, STORAGE_WARNING_WINDOW
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import LOGICAL_RESTORE, PHYSICAL_RESTORE

CHECK = "pbm_storage_shared"
MAY_BLOCK = frozenset({LOGICAL_RESTORE, PHYSICAL_RESTORE})
FIX = ("Mount the shared backup directory on this node at the same path as on the others, writable by the user "
       "pbm-agent runs as (PMM's docs: mount the folder on every node), move away what PBM wrote into the local "
       "directory, then restart pbm-agent; node-check's pbm_storage_path_writable shows what each node mounts there")


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, view = inp.mongo, inp.view
    rs = view.replica_set
    config = facts.pbm_config.value
    storage = config.get("storage") if isinstance(config, dict) else None
    if not isinstance(storage, dict) or storage.get("type") != "filesystem":
        kind = storage.get("type") if isinstance(storage, dict) else None
        return [skipped(CHECK, f"the storage is {kind or 'not configured'}, not a filesystem", "", rs)]
    path = storage.get("filesystem", {}).get("path") if isinstance(storage.get("filesystem"), dict) else None
    where = f"filesystem path {path}" if isinstance(path, str) and path else "the filesystem storage"
    warnings = facts.storage_warnings
    if warnings.value is None:
        return [unknown(CHECK, f"cannot read admin.pbmLog: {warnings.error}", "", rs)]
    versions = [str(a.version) for a in (view.agents or {}).values() if a.version]
    if not warnings.value and versions and not any(_at_least(v, LOG_INDEX_SINCE) for v in versions):
        return [skipped(CHECK, f"PBM {', '.join(sorted(set(versions)))} keeps no index on admin.pbmLog to read its "
                               f"\"storage is not initialized\" warnings through (from 2.13); node-check's "
                               f"pbm_storage_path_writable checks the mount on each node", "", rs)]
    warned = {str(e.get("node")) for e in warnings.value if isinstance(e, dict) and e.get("rs") == rs}
    hello = facts.hello.value
    primary = hello.get("primary", "") if isinstance(hello, dict) else ""
    results = []
    for member in view.members or ():
        if member.arbiter:
            continue
        if member.host in warned:
            blocks = {PHYSICAL_RESTORE} | ({LOGICAL_RESTORE} if member.host == primary else set())
            results.append(failed(
                CHECK, f"pbm-agent logged \"storage is not initialized\" in the last {STORAGE_WARNING_WINDOW} s: it "
                       f"does not see PBM's .pbm.init in {where}, so this node's path is not the shared directory "
                       f"(PBM still reports the storage OK); backups and PITR chunks it writes land on its own disk, "
                       f"and restores on it miss the files the other nodes wrote",
                FIX, member.host, rs, blocks))
        else:
            results.append(passed(CHECK, f"no \"storage is not initialized\" warning in the last "
                                         f"{STORAGE_WARNING_WINDOW} s ({where})", member.host, rs))
    return results or [unknown(CHECK, view.members_error or "no members", "", rs)]


def _at_least(version: str | None, floor: tuple[int, int]) -> bool:
    parts = str(version or "").removeprefix("v").split(".")
    try:
        return (int(parts[0]), int(parts[1])) >= floor
    except (IndexError, ValueError):
        return False
