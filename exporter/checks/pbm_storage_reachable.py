"""pbm_storage_reachable: once PBM has a storage config, each node's agent reports its storage check OK.

PBM's agent re-checks the storage every 15 s (60 s before 2.7) and writes the result in `stors` (pbm.md 1.3).
Before any config exists every agent has stors.ok=false, which is expected: PMM writes the config when its
first backup starts, so the check does not apply until then.

Write access: from PBM 2.6 the agent's storage check only stats `.pbm.init` (pbm/storage/storage.go
IsInitialized), so `stors.ok` does not prove PBM can write; a backup that failed on the storage hints it cannot.
When the newest admin.pbmBackups document failed with a storage error (AccessDenied, NoSuchBucket, permission
denied, ...), the check fails cluster-wide with that error (URLs and key-like strings cut out), as a warning that
blocks nothing: PBM looks at no earlier backup's outcome before starting one (HEAD cmd/pbm/backup.go and
cmd/pbm-agent/backup.go read none, but an incremental's base), so the next scheduled backup runs as usual, and one
transient refusal (an expired token, a 403 blip) says nothing of it; a lasting one fails that backup too. A physical
backup's failure to read a file of the node's dbPath is no storage error: pbm/backup/physical.go writeFile
`os.Stat(file.Name)` ("get file stat") and the reads of the file give Go's "stat|open <path>: permission denied" or
"no such file or directory" for a path on the node, not on the storage (node-check's dbpath_accessible_by_pbm_agent
covers that); such path errors count as the storage's only under a filesystem storage's path.

Blocks: an agent whose storage check fails is no backup or PITR candidate (pbm/prio/priority.go CalcNodesPriority
skips agents whose OK() fails, storage included) and cannot take part in a restore, so it blocks what a dead agent
on that node blocks (model/pbm_agent_duties.py), except that the leader still nominates others.
"""

from __future__ import annotations

import re
from typing import Any

from exporter.model.cluster_view import CheckInput, judged_members
from exporter.model.pbm_agent_duties import without_agent
from exporter.model.topology import host_and_port
from exporter.results.check_result import CheckResult, failed, passed, skipped, unknown
from exporter.results.operations import EVERYTHING, NOTHING

CHECK = "pbm_storage_reachable"
MAY_BLOCK = EVERYTHING
# what a storage's refusal to write says, in PBM's error texts (S3, GCS, Azure, filesystem)
STORAGE_ERRORS = re.compile(r"AccessDenied|NoSuchBucket|InvalidAccessKeyId|SignatureDoesNotMatch|AuthorizationFailed|"
                            r"AuthenticationFailed|Forbidden|\b403\b|permission denied|read-only file system|"
                            r"no space left on device|no such file or directory", re.IGNORECASE)
# Go's os.PathError text, "<op> <path>: <errno text>", for the errors STORAGE_ERRORS takes from a filesystem
# (a path may hold colons, as PBM's backup names do)
_PATH_ERROR = re.compile(r"\b(?:stat|lstat|open|read)\s+(/\S*?):\s*(?:permission denied|no such file or directory)",
                         re.IGNORECASE)
# pbm/defs/defs.go BackupType: the backups that read the node's dbPath files (pbm/backup/physical.go)
PHYSICAL_BACKUPS = {"physical", "incremental", "external"}
_SECRETS = re.compile(r"[a-z][a-z0-9+.-]*://\S+|\bAKIA[0-9A-Z]{12,}\b|[A-Za-z0-9/+]{32,}={0,2}", re.IGNORECASE)


def redacted(error: str) -> str:
    """A storage error without URLs (which may carry signed keys) or key-like strings, and bounded."""
    text = _SECRETS.sub("<redacted>", error)
    return text if len(text) <= 300 else text[:297] + "..."


def _under(path: str, root: str) -> bool:
    root = root.rstrip("/")
    return bool(root) and (path == root or path.startswith(root + "/"))


def is_storage_error(backup: dict[str, Any], error: str, config: Any) -> bool:
    """The backup's error text says the storage refused, not (for a physical backup) the node's own files."""
    if backup.get("type") in PHYSICAL_BACKUPS:
        storage = config.get("storage") if isinstance(config, dict) else None
        section = storage.get("filesystem") if isinstance(storage, dict) and storage.get("type") == "filesystem" \
            else None
        root = section.get("path") if isinstance(section, dict) else None
        error = _PATH_ERROR.sub(lambda m: m[0] if isinstance(root, str) and _under(m[1], root) else "", error)
    return STORAGE_ERRORS.search(error) is not None


def last_backup_result(inp: CheckInput, storage: str) -> CheckResult | None:
    """The cluster-wide verdict of the newest backup's outcome on the storage, or None when there is none yet."""
    rs = inp.view.replica_set
    backup = inp.mongo.last_backup.value
    if not isinstance(backup, dict):
        return None
    name, status, error = str(backup.get("name") or "?"), backup.get("status"), str(backup.get("error") or "")
    if status == "error" and is_storage_error(backup, error, inp.mongo.pbm_config.value):
        return failed(CHECK, f"the last backup ({name}) failed writing to the storage ({storage}): {redacted(error)}. "
                             f"A warning: PBM runs the next backup as usual, which fails too unless the cause is gone",
                      "Give PBM write access to the storage with the credentials of PMM's storage location: for S3, a "
                      "bucket policy allowing s3:PutObject, GetObject, ListBucket and DeleteObject on the bucket and "
                      "its objects; for a filesystem location, the same mount on every node, writable by pbm-agent's "
                      "user. Then take a backup from PMM", "", rs, NOTHING)
    if status == "done":
        return passed(CHECK, f"the last backup ({name}) wrote to the storage ({storage})", "", rs)
    return None

# The field that names where a storage type keeps backups (pbm/config/config.go StorageConf)
_TARGET_FIELD = {"s3": "bucket", "minio": "bucket", "gcs": "bucket", "oss": "bucket", "oci": "bucket",
                 "azure": "container", "filesystem": "path"}


def describe_storage(config: dict[str, Any]) -> str | None:
    """"s3 bucket my-backups" or "filesystem path /backup"; None when no storage type is set."""
    storage = config.get("storage")
    if not isinstance(storage, dict):
        return None
    kind = storage.get("type")
    if not isinstance(kind, str) or not kind:
        return None
    field_name = _TARGET_FIELD.get(kind)
    section = storage.get(kind)
    target = section.get(field_name) if field_name and isinstance(section, dict) else None
    return f"{kind} {field_name} {target}" if isinstance(target, str) and target else kind


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, view = inp.mongo, inp.view
    rs = view.replica_set
    if facts.pbm_config.error is not None:
        return [unknown(CHECK, f"cannot read admin.pbmConfig: {facts.pbm_config.error}")]
    storage = describe_storage(facts.pbm_config.value) if facts.pbm_config.value is not None else None
    if storage is None:
        return [skipped(CHECK, "PBM has no storage configured yet; PMM writes PBM's config when its first "
                               "backup starts, so there is nothing to reach yet", "", rs)]
    data_members, cluster_time, results = judged_members(CHECK, facts, view)
    last = last_backup_result(inp, storage) if inp.control else None  # the same document on every replica set
    if last is not None:
        results.append(last)
    for member in data_members:
        agent = view.agent(member.host)
        if agent is None or agent.is_stale(cluster_time):
            # unknown only for what this node's agent does, which pbm_agent_running already fails it for
            results.append(unknown(CHECK, "no running pbm-agent on this node reports on the storage", member.host, rs,
                                   without_agent(view, member.host, control=inp.control).blocks))
        elif agent.storage is None:
            duties = without_agent(view, member.host, control=inp.control, nominates=False)
            results.append(failed(CHECK, f"the pbm-agent document has no valid storage status (stors) "
                                         f"({duties.why})",
                                  "Upgrade pbm-agent on this node to the version of the other nodes",
                                  member.host, rs, duties.blocks))
        elif not agent.storage.ok:
            host = host_and_port(member.host)[0]
            duties = without_agent(view, member.host, control=inp.control, nominates=False)
            results.append(failed(
                CHECK, f"pbm-agent cannot use the storage ({storage}): {agent.storage.error or 'not ok'} "
                       f"({duties.why})",
                f"From {host}, as the user pbm-agent runs as: make the storage reachable with the credentials in "
                f"PMM's storage location (network route, DNS, bucket policy allowing List/Get/Put/Delete; for a "
                f"filesystem location, the same mount on every node, writable by pbm-agent's user), then check "
                f"PMM > Backup > Storage Locations",
                member.host, rs, duties.blocks))
        else:
            results.append(passed(CHECK, f"pbm-agent reaches the storage ({storage})", member.host, rs))
    return results
