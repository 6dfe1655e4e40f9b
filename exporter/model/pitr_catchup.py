"""Whether PBM's PITR slicer of a replica set can start (again): the rules of its Catchup, shared by the probe (which
reads PBM's own PITR error only when they fail) and the pitr_resumable check.

percona/percona-backup-mongodb v2.15.0, pbm/slicer/slicer.go Slicer.Catchup, run by cmd/pbm-agent/pitr.go each time
an agent takes up slicing for its replica set (PITR enabled, re-enabled after a backup or a restore, an agent
restarted), unless pitr.oplogOnly (OplogOnlyCatchup, which needs no backup):
- the last backup, pbm/backup/query.go GetLastBackup: the newest by start_ts in admin.pbmBackups with status done,
  no nss (not selective), type not external and no store.profile (the main storage). None: "no backup found. full
  backup is required to start PITR";
- the replica set must be among that backup's replsets[].name: "no replset "<rs>" in the last backup "<name>". full
  backup is required to start PITR" (a shard added after it);
- the last restore, pbm/restore/query.go GetLastRestore: the newest admin.pbmRestores document by start_ts with
  status done. When the last backup started before it (lastBackup.StartTS < lastRestore.StartTS, both Unix
  seconds): "no backup found after the restored <backup>, a new backup is required to resume PITR".
The agent logs the error to admin.pbmLog (cmd/pbm-agent/pitr.go PITR: `l.Error("pitr", "", "", epoch, "init:
%v")`, the error wrapped as "catchup: get last backup: ...") every pitrCheckPeriod (15 s) and tries again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exporter.facts.observed import ReplicaSetFacts
from exporter.model.pbm_locks import BACKUP_DONE, locks

CATALOGUE_LIMIT = 1000  # the newest admin.pbmBackups documents the probe keeps (probes/pbm_catalogue.py)
PITR_EVENT = "pitr"  # ctrl.CmdPITR: the event of the slicer's log entries
ERROR, DEBUG = 1, 4  # pbm/log/log.go Severity
START_OK = "start_ok"  # pbm/slicer/slicer.go LogStartMsg, logged at Debug when streaming starts
EPOCH_LOG_INDEX = "epoch_rs_event_severity_ts"  # {ep: 1, rs: 1, e: 1, s: 1, ts: -1} (cmd/pbm-agent/setup.go, 2.13+)


def oplog_only(config: Any) -> bool:
    """pbmConfig.pitr.oplogOnly (pbm/config/config.go PITRConf): slicing without a base backup."""
    pitr = config.get("pitr") if isinstance(config, dict) else None
    return isinstance(pitr, dict) and pitr.get("oplogOnly") is True


def _could_be_base(doc: dict[str, Any]) -> bool:
    store = doc.get("store")  # {"store.profile": nil} matches a missing or null field only
    return (doc.get("nss") is None and doc.get("type") != "external"
            and (store.get("profile") if isinstance(store, dict) else None) is None)


def last_backup(catalogue: list[dict[str, Any]]) -> dict[str, Any] | None:
    """GetLastBackup over the catalogue (newest first by start_ts)."""
    return next((doc for doc in catalogue if doc.get("status") == "done" and _could_be_base(doc)), None)


def running_base(facts: ReplicaSetFacts) -> dict[str, Any] | None:
    """A backup running now (its lock fresh) that GetLastBackup will return once it is done, and that covers every
    replica set and is newer than any restore (a full backup of the whole cluster): the metadata of the backup,
    from admin.pbmBackups (read for the backups that hold a lock). Slicer.Catchup runs again when it ends."""
    now = facts.cluster_time.value
    if now is None:
        return None
    metas = {d.get("opid"): d for d in facts.backups.value or [] if isinstance(d, dict)}
    for lock in locks(facts):
        meta = metas.get(lock.opid)
        if lock.collection == "pbmLock" and lock.type == "backup" and not lock.is_stale(now) and meta is not None \
                and meta.get("status") not in BACKUP_DONE and _could_be_base(meta):
            return meta
    return None


def _seconds(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Blocker:
    """Why Catchup refuses to start slicing on a replica set, in PBM's words, and what the base backup was."""

    message: str
    backup: str = ""


def catchup_blocker(rs: str, catalogue: list[dict[str, Any]], restore: dict[str, Any] | None) -> Blocker | None:
    """The error Slicer.Catchup would return for replica set `rs` (None: it finds its starting point).
    `restore`: GetLastRestore's document (None: no restore done)."""
    base = last_backup(catalogue)
    if base is None:
        return Blocker("no backup found. full backup is required to start PITR")
    name = str(base.get("name") or "?")
    replsets = base.get("replsets")
    names = {r.get("name") for r in replsets if isinstance(r, dict)} if isinstance(replsets, list) else set()
    if rs not in names:
        return Blocker(f'no replset "{rs}" in the last backup "{name}". full backup is required to start PITR', name)
    started, restored = _seconds(base.get("start_ts")), _seconds((restore or {}).get("start_ts"))
    if started is not None and restored is not None and started < restored:
        return Blocker(f"no backup found after the restored {(restore or {}).get('backup') or '?'}, a new backup is "
                       f"required to resume PITR", name)
    return None
