"""What a probe observed, as plain data: the input of every check.

Replies are kept as the server sent them (dicts from pymongo), so that checks parse them defensively and tests
can feed them any document, well-formed or not. Each fact is either a value or the reason it is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar

from exporter.facts.pmm_indexes import BackupIndex, InventoryIndex

T = TypeVar("T")


@dataclass(frozen=True)
class Observed(Generic[T]):
    """A value read from the server, or `error` saying why it could not be read."""

    value: T | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @staticmethod
    def failed(error: str) -> Observed[Any]:
        return Observed(None, error)


@dataclass(frozen=True)
class ReplicaSetFacts:
    """Everything read from one replica set in one probe.

    - hello: `hello` from the member pymongo selected (the primary when there is one).
    - status / config: `replSetGetStatus` and `replSetGetConfig` replies.
    - build_info: `buildInfo` of the primary.
    - connection_status: `connectionStatus {showPrivileges: true}` of the exporter's own connection.
    - agents: every document of `admin.pbmAgents` (read on the primary, like PBM does).
    - pbm_config: the main `admin.pbmConfig` document without credentials; `Observed(None)` when none exists.
    - cluster_time: `$clusterTime.clusterTime` seconds returned by the server after reading the agents.
    - locks: PBM's `admin.pbmLock` documents (the operation running now, such as a backup).
    - op_locks: `admin.pbmLockOp` documents (PITR slicing's lock, `type: "pitr"`, one per replica set).
    - backups: the `admin.pbmBackups` documents of the backups that hold a lock (name, opid, type, status,
      store.profile, start_ts), read only while one does.
    - last_backup: the newest `admin.pbmBackups` document (None: none yet).
    - last_command: the newest `admin.pbmCmd` document (cmd, restore.name, restore.backupName, restore.external,
      ts), read only while an agent's heartbeat is stale (None: not read, or none).
    - restore_backup: the `admin.pbmBackups` document (name, type) of the backup that command restores, read only
      when it is a restore (None: not read, or no such document).
    - pitr_chunks: with PITR on, each replica set's newest `admin.pbmPITRChunks` document (rs, start_ts, end_ts).
    - agent_users: the users pbm-agent's connections to this primary authenticated as (`currentOp {$all: true,
      appName: "pbm-agent"}`, their `effectiveUsers`), each {user, db}; read only where PBM's documents are (the
      replica set, or the config servers, where every agent's leading connection goes). `Observed(None)`: not read.
    - agent_user_info: `usersInfo {showPrivileges: true}` of those of agent_users that are not the exporter's own user
      (its privileges are in connection_status), each {user, db, inheritedRoles, inheritedPrivileges}.
    - storage_warnings: with a filesystem storage and PBM 2.13+ (its pbmLog index), the `admin.pbmLog` entries of
      the last STORAGE_WARNING_WINDOW seconds in which an agent logged "storage is not initialized" (ts, rs, node),
      newest first, bounded; Observed([]) when not read.
    - pitr_timelines: once PBM has a config, {replica set: its PITR timelines as (start, end) cluster seconds},
      kept up to date from the chunks written since the previous probe (pbm/oplog/chunk.go gettimelines; see
      probes/pbm_catalogue.py): every shard's and the config servers'; a replica set without chunks is absent.
    - catalogue: the `admin.pbmBackups` documents, newest first, with what the restorable window and the last
      backup metrics need (name, type, status, nss, error, first/last_write_ts, start_ts, last_transition_ts,
      size, fcv, mongodb_version, replsets.name, store.profile), read again only when the newest backup changed
      and every CATALOGUE_REREAD_EVERY probes.
    - fcv: once PBM has a config, `getParameter {featureCompatibilityVersion: 1}`'s reply (PBM's GetFCV), read again
      only with the catalogue (probes/pbm_catalogue.py); `Observed(None)`: not read.
    - last_restore: the newest `admin.pbmRestores` document by start_ts (name, opid, backup, type, status, start_ts,
      hb, last_transition_ts, error; None: none), read with the newest backup (reused as long as it is).
    - last_done_restore: the newest `done` one (pbm/restore/query.go GetLastRestore), read only with PITR on and not
      oplog-only (it matters only to the slicer's Catchup); None: none, or not read.
    - pitr_errors: with PITR on and a replica set whose slicer cannot start (model/pitr_catchup.py), PBM's newest
      PITR error in `admin.pbmLog` for the config's epoch per such replica set, unless a later "start_ok" (ts, rs,
      node, msg; cmd/pbm/status.go getPitrErr); Observed([]) when not read.
    - oplog_first: with PITR on, {member: the `ts` of the oldest entry of its local.oplog.rs} for the members PBM
      could nominate to slice (probes/oplog.py), each read on that member and carried for a few probes; {} when not
      read. The newest entry is in status (members[].optime).
    - seeds: the host:port list of the cluster's URI (or of the shard), to name nodes when the set itself cannot
      be read.
    """

    seeds: tuple[str, ...] = ()
    name: str = ""  # the replica set's expected name (from the shard list), for when it cannot be read
    hello: Observed[dict[str, Any]] = field(default_factory=Observed)
    status: Observed[dict[str, Any]] = field(default_factory=Observed)
    config: Observed[dict[str, Any]] = field(default_factory=Observed)
    build_info: Observed[dict[str, Any]] = field(default_factory=Observed)
    connection_status: Observed[dict[str, Any]] = field(default_factory=Observed)
    agents: Observed[list[dict[str, Any]]] = field(default_factory=Observed)
    pbm_config: Observed[dict[str, Any]] = field(default_factory=Observed)
    cluster_time: Observed[int] = field(default_factory=Observed)
    locks: Observed[list[dict[str, Any]]] = field(default_factory=Observed)
    backups: Observed[list[dict[str, Any]]] = field(default_factory=Observed)
    op_locks: Observed[list[dict[str, Any]]] = field(default_factory=Observed)
    last_backup: Observed[dict[str, Any]] = field(default_factory=Observed)
    last_command: Observed[dict[str, Any]] = field(default_factory=Observed)
    restore_backup: Observed[dict[str, Any]] = field(default_factory=Observed)
    pitr_chunks: Observed[list[dict[str, Any]]] = field(default_factory=Observed)
    agent_users: Observed[list[dict[str, Any]]] = field(default_factory=Observed)
    agent_user_info: Observed[list[dict[str, Any]]] = field(default_factory=Observed)
    storage_warnings: Observed[list[dict[str, Any]]] = field(default_factory=lambda: Observed([]))
    pitr_timelines: Observed[dict[str, tuple[tuple[int, int], ...]]] = field(default_factory=Observed)
    catalogue: Observed[list[dict[str, Any]]] = field(default_factory=Observed)
    fcv: Observed[dict[str, Any]] = field(default_factory=Observed)
    last_restore: Observed[dict[str, Any]] = field(default_factory=Observed)
    last_done_restore: Observed[dict[str, Any]] = field(default_factory=Observed)
    pitr_errors: Observed[list[dict[str, Any]]] = field(default_factory=lambda: Observed([]))
    oplog_first: dict[str, Observed[Any]] = field(default_factory=dict)

    @staticmethod
    def unreachable(name: str, seeds: tuple[str, ...], error: str) -> ReplicaSetFacts:
        """A replica set that could not be read at all: every fact failed with the same error."""
        failed: Observed[Any] = Observed.failed(error)
        return ReplicaSetFacts(seeds, name, failed, failed, failed, failed, failed, failed, failed, failed, failed,
                               failed, failed, failed, failed, failed, failed, failed, failed, failed, failed, failed,
                               failed, failed, failed, failed)


@dataclass(frozen=True)
class PMMFacts:
    """What one read of PMM Server returned, shared by every cluster of the cycle.

    Documents are PMM's JSON as sent, except that PMM 3's prefixed enums are reduced to PMM 2's names
    (AGENT_STATUS_RUNNING -> RUNNING) and locations keep only what names them (never keys). PMM omits false,
    empty and zero fields, so a missing key means false or "".

    - version: the server version ("2.44.0", "3.4.0"); empty when even that could not be read.
    - error: why the read failed as a whole (unreachable, 401, ...); the other facts are then failed too.
    - scheduled_backups / artifacts: PMM's backup schedules and artifacts (MongoDB and MySQL), cut down to what
      names them; data_model, mode and status without their enum prefixes (LOGICAL, PITR, SUCCESS).
    - agent_versions: {pmm-agent ID: version} of the pmm-agents serving MongoDB services that PMM told; an agent
      missing from it has not been read yet.
    - compatible_services: {artifact ID: the MongoDB services PMM would restore it to}, for each cluster's newest
      successful artifact (PMM's own answer, which applies its version rule); compatible_carried: {artifact ID:
      the previous artifact of its cluster} for answers carried from it until PMM is asked (same MongoDB versions).
    """

    version: str = ""
    error: str | None = None
    settings: Observed[dict[str, Any]] = field(default_factory=Observed)
    locations: Observed[list[dict[str, Any]]] = field(default_factory=Observed)
    services: Observed[list[dict[str, Any]]] = field(default_factory=Observed)
    pmm_agents: Observed[list[dict[str, Any]]] = field(default_factory=Observed)
    exporters: Observed[list[dict[str, Any]]] = field(default_factory=Observed)
    qan_agents: Observed[list[dict[str, Any]]] = field(default_factory=Observed)  # qan_mongodb_profiler_agent
    nodes: Observed[list[dict[str, Any]]] = field(default_factory=Observed)
    scheduled_backups: Observed[list[dict[str, Any]]] = field(default_factory=Observed)
    artifacts: Observed[list[dict[str, Any]]] = field(default_factory=Observed)
    agent_versions: Observed[dict[str, str]] = field(default_factory=Observed)
    compatible_services: dict[str, Observed[list[dict[str, Any]]]] = field(default_factory=dict)
    compatible_carried: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @cached_property
    def inventory(self) -> InventoryIndex:
        """Services by address, agents by service, pmm-agents and nodes by ID, built once per read."""
        return InventoryIndex(self.services.value or [], self.nodes.value or [], self.pmm_agents.value or [],
                              self.exporters.value or [], self.qan_agents.value or [])

    @cached_property
    def backups(self) -> BackupIndex:
        """Services, schedules and artifacts by cluster, built once per read for every cluster's checks."""
        return BackupIndex(self.services.value or [], self.scheduled_backups.value or [], self.artifacts.value or [])


@dataclass(frozen=True)
class ShardingFacts:
    """What mongos told about a sharded cluster.

    - shards: listShards' documents; config_server: the config server replica set's name (getShardMap's
      map.config); balancer: balancerStatus.
    """

    shards: tuple[dict[str, Any], ...] = ()
    config_server: str = ""
    balancer: Observed[dict[str, Any]] = field(default_factory=Observed)


@dataclass(frozen=True)
class ClusterFacts:
    """One probe of one configured cluster: a replica set, or every shard and the config servers of a sharded one.

    `control` is the replica set whose admin.pbmAgents and admin.pbmConfig PBM uses (the config server replica
    set in a sharded cluster); every replica set's facts carry those PBM facts.
    """

    replica_sets: tuple[ReplicaSetFacts, ...]
    control: str = ""
    sharding: ShardingFacts | None = None

    @property
    def control_facts(self) -> ReplicaSetFacts | None:
        """The facts of the replica set whose admin collections PBM uses."""
        return next((f for f in self.replica_sets if f.name == self.control), None) or \
            (self.replica_sets[0] if self.replica_sets else None)
