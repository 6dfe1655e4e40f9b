"""Whether a backup in PBM's catalogue still restores onto the cluster as it runs now.

PBM's rule (percona/percona-backup-mongodb v2.15.0, cmd/pbm/backup.go `bcpMatchCluster`, run by `pbm status`
getStorageStat and `pbm list` getSnapshotList on every backup they show): for a backup with status "done",
- FCV: when the backup recorded one (BackupMeta `fcv`), it must equal the cluster's featureCompatibilityVersion
  (pbm/version/version.go GetFCV: `getParameter: 1, featureCompatibilityVersion: 1` on PBM's connection, the
  replica set or the config servers): "backup FCV %q is incompatible with the running mongo FCV %q";
- else MongoDB's major.minor (`majmin`: golang.org/x/mod/semver MajorMinor of "v"+version, "" for a version that
  is not semver) of the backup's `mongodb_version` must equal the running one's (GetMongoVersion: buildInfo's
  `version` on that connection): "backup mongo version %q is incompatible with the running mongo version %q";
- replica sets: every replica set of the backup (`replsets[].name`) must be one of the cluster's (topo
  ClusterMembers: the shards and the config servers, or the replica set), and the backup must hold the config
  servers' (or the sole replica set's: backupRequiredRSName): "Backup doesn't match current cluster topology - it
  has different replica set names. ... The extra/unknown replica set names found in the backup are: ..." and
  "Backup has no data for the config server or sole replicaset" (missedReplsetsError). A shard added since the
  backup is no mismatch ("It's ok if cluster has more shards than there are currently in backup"): its restore
  skips that shard (pbm/restore/logical.go ErrNoDataForShard).
`bcpMatchCluster` then sets the backup's status to error in memory (BackupMeta.SetRuntimeError), so `pbm list`
hides it and `pbm status` takes no PITR range from it (isValidBaseSnapshot: `bcp.Status != defs.StatusDone`).
The restore itself enforces the replica sets (logical.go setShards, physical.go prepareBackup: "extra/unknown
replica set found in the backup"), and a physical or incremental restore the major.minor whatever the FCV
(pbm/restore/physical.go prepareBackup: "backup's Mongo version (%s) is not compatible with Mongo %s"), which is
judged here too. A logical restore only logs the FCV or version mismatch as a warning (logical.go checkSnapshot)
and runs, into a server of another FCV: PBM shows no such backup as a restore point, and neither does this model.
PBM's other rule there, a backup of a PBM release before a breaking change (version.BreakingChangesMap: logical
before 1.5.0, incremental before 2.1.0), is not judged. PMM names no replica-set remapping, so names compare as they
are (util.MakeRSMapFunc of an empty map).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from exporter.facts.observed import ReplicaSetFacts, ShardingFacts

PHYSICAL_TYPES = ("physical", "incremental")  # restored by pbm/restore/physical.go (prepareBackup)
# golang.org/x/mod/semver: vMAJOR[.MINOR[.PATCH]][-prerelease][+build], no leading zeros
_SEMVER = re.compile(r"^v(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?)?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
FCV = "fcv"
MONGODB_VERSION = "mongodb_version"
REPLICA_SETS = "replica_sets"
PHYSICAL_VERSION = "physical_version"


def majmin(version: str) -> str:
    """cmd/pbm/backup.go majmin: semver.MajorMinor of the version with a leading "v" ("7.0.14-8" -> "v7.0"; a
    version semver does not parse -> ""; "" -> "")."""
    if not version:
        return version
    match = _SEMVER.match(version if version.startswith("v") else "v" + version)
    if match is None or (match.group(3) is None and (match.group(4) or match.group(5))):
        return ""  # semver: a shorthand (v7, v7.0) takes no prerelease or build suffix
    return f"v{match.group(1)}.{match.group(2) or '0'}"


@dataclass(frozen=True, slots=True)
class RunningCluster:
    """What a backup is compared with: the cluster's FCV and MongoDB version where PBM reads them, and its replica
    sets. None (with why in `fcv_error`, `version_error`) when it could not be read."""

    fcv: str | None
    version: str | None
    replica_sets: tuple[str, ...]
    required: str  # the config servers' replica set, or the sole one (backupRequiredRSName)
    fcv_error: str = ""
    version_error: str = ""

    def describe(self) -> str:
        return (f"FCV {self.fcv if self.fcv is not None else '?'}, MongoDB "
                f"{self.version if self.version is not None else '?'}, replica sets {', '.join(self.replica_sets)}")


def running_cluster(control: ReplicaSetFacts, sharding: ShardingFacts | None = None) -> RunningCluster:
    """The running cluster from the facts of the replica set PBM's connection goes to, and for a sharded cluster
    what mongos said of its shards (topo.ClusterMembers: every shard's replica set and the config servers')."""
    fcv_reply = control.fcv.value
    fcv_doc = fcv_reply.get("featureCompatibilityVersion") if isinstance(fcv_reply, dict) else None
    fcv = fcv_doc.get("version") if isinstance(fcv_doc, dict) else None
    fcv_error = "" if isinstance(fcv, str) else (
        f"getParameter featureCompatibilityVersion: {control.fcv.error}" if control.fcv.error
        else "featureCompatibilityVersion not read yet" if fcv_reply is None
        else "getParameter's reply has no featureCompatibilityVersion.version")
    build = control.build_info.value
    version = build.get("version") if isinstance(build, dict) else None
    version_error = "" if isinstance(version, str) else f"buildInfo: {control.build_info.error or 'no version'}"
    if sharding is not None:
        config = sharding.config_server or control.name
        shards = [str(doc.get("host", "")).partition("/")[0] for doc in sharding.shards if isinstance(doc, dict)]
        names = tuple(dict.fromkeys([config, *(s for s in shards if s)]))
        required = config
    else:
        names, required = (control.name,), control.name
    return RunningCluster(fcv if isinstance(fcv, str) else None, version if isinstance(version, str) else None,
                          names, required, fcv_error, version_error)


@dataclass(frozen=True, slots=True)
class Mismatch:
    """Why a backup does not restore here: the rule (FCV, MONGODB_VERSION, REPLICA_SETS, PHYSICAL_VERSION) and
    PBM's own words; `known` False when the rule could not be judged (the running FCV or version unread)."""

    rule: str
    text: str
    known: bool = True


def mismatch(kind: str, fcv: str, mongodb_version: str, replsets: Iterable[str], cluster: RunningCluster
             ) -> Mismatch | None:
    """The first rule a done backup breaks, in bcpMatchCluster's order then prepareBackup's; None when it
    matches."""
    if fcv:
        if cluster.fcv is None:
            return Mismatch(FCV, f"the running FCV is unknown ({cluster.fcv_error})", known=False)
        if fcv != cluster.fcv:
            return Mismatch(FCV, f"backup FCV {fcv!r} is incompatible with the running mongo FCV {cluster.fcv!r}")
    else:
        if cluster.version is None:
            return Mismatch(MONGODB_VERSION, f"the running MongoDB version is unknown ({cluster.version_error})",
                            known=False)
        if majmin(mongodb_version) != majmin(cluster.version):
            return Mismatch(MONGODB_VERSION, f"backup mongo version {majmin(mongodb_version)!r} is incompatible "
                                             f"with the running mongo version {majmin(cluster.version)!r}")
    names = list(replsets)
    extra = [n for n in names if n not in cluster.replica_sets]
    if extra or cluster.required not in names:
        parts = []
        if extra:
            parts.append("Backup doesn't match current cluster topology - it has different replica set names. The "
                         f"extra/unknown replica set names found in the backup are: {', '.join(extra)}")
        if cluster.required not in names:
            parts.append("Backup has no data for the config server or sole replicaset")
        return Mismatch(REPLICA_SETS, ". ".join(parts))
    if kind in PHYSICAL_TYPES:
        if cluster.version is None:
            return Mismatch(PHYSICAL_VERSION, f"the running MongoDB version is unknown ({cluster.version_error})",
                            known=False)
        if majmin(mongodb_version) != majmin(cluster.version):
            return Mismatch(PHYSICAL_VERSION, f"backup's Mongo version ({mongodb_version}) is not compatible with "
                                              f"Mongo {cluster.version}")
    return None


def replset_names(value: Any) -> tuple[str, ...]:
    """BackupMeta.replsets[].name, as read with the projection {"replsets.name": 1}."""
    return tuple(str(r["name"]) for r in value if isinstance(r, dict) and isinstance(r.get("name"), str)) \
        if isinstance(value, list) else ()
