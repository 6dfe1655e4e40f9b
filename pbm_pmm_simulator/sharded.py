"""A simulated sharded cluster: a config server replica set (CSRS), shard replica sets and one mongos.

Every replica set is a `SimReplicaSet` wired through its sharded-cluster hooks; the mongos is a real TCP listener
(a `SimNode`) on the same shared loop. All of them share one lock and one clock, so cluster time agrees everywhere.

PBM facts modelled (shared/reference/pbm.md sections 0, 1, 2, 4):
- every pbm-agent, of the shards and of the config servers, writes its `admin.pbmAgents` document into the CSRS
  (`rs` is the agent's own replica-set name, `n` its member's host); a shard's own `admin.pbmAgents` is empty;
- `admin.pbmConfig` lives on the CSRS only;
- the PBM/PMM user must exist on every shard and on the CSRS: each set has its own copy of the users and roles
  (the mongos authenticates against the CSRS's), so `cluster.shards[0].revoke_role(...)` affects that shard only.

    with SimShardedCluster() as cluster:                 # 2 shards x 3 members, 3 config servers, 9 agents
        client = pymongo.MongoClient(cluster.uri())       # pymongo sees a Sharded topology
"""

from __future__ import annotations

import copy
import datetime
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Self

from bson import Int64, ObjectId, Timestamp

from .errors import CommandError
from .node import Connection, SimNode
from .replset import (
    MAX_BSON_OBJECT_SIZE,
    MAX_MESSAGE_SIZE_BYTES,
    MAX_WRITE_BATCH_SIZE,
    SimReplicaSet,
    wire_version,
)
from .specs import DEFAULT_PBM_CONFIG, DEFAULT_ROLES, DEFAULT_USERS, MONGODB_X509, MemberSpec, SimRole, SimTLS, SimUser
from .wire import Request

BalancerMode = Literal["full", "off"]
BALANCER_ROUND_SECS = 10  # the balancer's default round interval (server balancer.cpp kBalanceRoundDefaultInterval)


def connection_string(rs: SimReplicaSet) -> str:
    """`"<setName>/<host>,<host>,..."`: a replica set as listShards, getShardMap and shardIdentity name it.

    The hosts are those the set's `hello` lists (hosts, passives, arbiters; never hidden members, nor, in this
    simulator's hello, delayed ones), as the router's replica-set monitor learns them: exactly as named in the set's
    replica-set config, in config order.
    """
    hosts = [m.host for m in rs.members if not m.hidden and m.delay_secs == 0]
    return f"{rs.name}/{','.join(hosts)}"


class SimShardedCluster:
    """A sharded cluster: `config` (the CSRS, "cfg"), `shards` ("shard0", "shard1", ...) and `mongos`.

    `shard_members` gives each shard's members (and so its agents, e.g. mixed PBM versions); otherwise `shards`
    shards of `members_per_shard` default members. `config_member_specs` likewise for the CSRS. Every set starts
    and stops independently (`cluster.shards[1].stop()`, `cluster.config.members[0].stop()`, `cluster.mongos.stop()`);
    the mongos keeps answering listShards/getShardMap from its shard registry while a shard is down.
    """

    def __init__(
        self,
        shards: int = 2,
        *,
        shard_members: Sequence[Sequence[MemberSpec]] | None = None,
        members_per_shard: int = 3,
        config_members: int = 3,
        config_member_specs: Sequence[MemberSpec] | None = None,
        mongo_version: str = "7.0.14",
        psmdb: bool = True,
        users: Sequence[SimUser] = DEFAULT_USERS,
        roles: Sequence[SimRole] = DEFAULT_ROLES,
        pbm_config: Mapping[str, Any] | None = DEFAULT_PBM_CONFIG,
        clock_offset: float = 0.0,
        config_name: str = "cfg",
        shard_prefix: str = "shard",
        host_name: str = "127.0.0.1",
        tls: SimTLS | None = None,
    ) -> None:
        #: one lock for every set of the cluster (a mongos read touches the CSRS and every shard)
        self.lock = threading.RLock()
        #: TLS on every listener: config servers, shard members and the mongos
        self.tls = tls
        self.mongo_version = mongo_version
        self.psmdb = psmdb
        self.shard_prefix = shard_prefix
        self.members_per_shard = members_per_shard
        self.host_name = host_name
        self._users = [copy.deepcopy(u) for u in users]
        self._roles = [copy.deepcopy(r) for r in roles]
        #: config.version clusterId, also in every shard's shardIdentity document
        self.cluster_id = ObjectId()
        cfg_specs = (
            list(config_member_specs)
            if config_member_specs is not None
            else [MemberSpec() for _ in range(config_members)]
        )
        self.config = SimReplicaSet(
            config_name,
            cfg_specs,
            mongo_version=mongo_version,
            psmdb=psmdb,
            users=self._users,
            roles=self._roles,
            pbm_config=pbm_config,
            clock_offset=clock_offset,
            host_name=host_name,
            tls=tls,
        )
        self.config.lock = self.lock
        self.config.configsvr = True
        self.config.shard_map = self.shard_map
        # docs "Config Database": config.version {_id: 1, clusterId}, config.shards, config.settings.
        self.config.set_collection("config", "version", [{"_id": 1, "clusterId": self.cluster_id}])
        self.config.dynamic_collections[("config", "shards")] = self.shard_documents
        self.config.dynamic_collections[("config", "settings")] = self._settings_documents
        self._topology_times: dict[str, Timestamp] = {}
        self._next_shard = 0
        self._started = False
        #: the shard replica sets, in listShards order (the CSRS's `agent_sources`: the same list object)
        self.shards: list[SimReplicaSet] = []
        self.config.agent_sources = self.shards
        per_shard = (
            [list(specs) for specs in shard_members]
            if shard_members is not None
            else [[MemberSpec() for _ in range(members_per_shard)] for _ in range(shards)]
        )
        for specs in per_shard:
            self._register(self._make_shard(specs))
        self._balancer_mode: BalancerMode = "full"
        self._balancer_mode_set = False
        self._balancer_rounds = 0
        self._balancer_full_since: float | None = self.config.now_secs()
        #: the balancer is in a balancing round (balancerStatus inBalancerRound)
        self.balancer_in_round = False
        self._router = _MongosRouter(self)
        #: the mongos (a SimNode: host, port, stop()/start(), set_delay(), hang(), refuse(), commands_seen, uri())
        self.mongos: SimNode = self._router.members[0]

    def __repr__(self) -> str:
        return f"<SimShardedCluster mongos={self.mongos.host} config={self.config.name} shards={self.shard_names}>"

    # --- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the config servers, then every shard, then the mongos (same ports on a restart)."""
        self.config.start()
        for rs in list(self.shards):
            rs.start()
        self._router.start()
        self._started = True
        return self

    def stop(self) -> None:
        """Stop the mongos, the shards and the config servers."""
        self._router.stop()
        for rs in list(self.shards):
            rs.stop()
        self.config.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- topology ----------------------------------------------------------------------------------------

    @property
    def shard_names(self) -> list[str]:
        return [rs.name for rs in self.shards]

    @property
    def replica_sets(self) -> list[SimReplicaSet]:
        """The CSRS, then the shards."""
        return [self.config, *self.shards]

    def shard(self, name: str) -> SimReplicaSet:
        for rs in self.shards:
            if rs.name == name:
                return rs
        raise KeyError(f"no shard {name!r} (shards: {self.shard_names})")

    def _make_shard(self, specs: Sequence[MemberSpec]) -> SimReplicaSet:
        name = f"{self.shard_prefix}{self._next_shard}"
        self._next_shard += 1
        rs = SimReplicaSet(
            name,
            specs,
            mongo_version=self.mongo_version,
            psmdb=self.psmdb,
            users=self._users,
            roles=self._roles,
            pbm_config=None,  # pbmConfig lives on the CSRS only
            host_name=self.host_name,
            tls=self.tls,
        )
        rs.lock = self.lock
        rs.clock_source = self.config
        rs.config_server = self.config
        rs.serves_own_agents = False  # its agents write into the CSRS
        rs.shard_map = self.shard_map
        rs.dynamic_collections[("admin", "system.version")] = lambda: [self._shard_identity(rs)]
        return rs

    def _register(self, rs: SimReplicaSet) -> None:
        with self.lock:
            self._topology_times[rs.name] = self.config.cluster_time()
            self.shards.append(rs)

    def add_shard(self, members: Sequence[MemberSpec] | None = None) -> SimReplicaSet:
        """A new shard (`<shard_prefix><n>`), started if the cluster is, and registered: listShards, getShardMap and
        the CSRS's pbmAgents show it from the next command on."""
        with self.lock:
            rs = self._make_shard(
                list(members) if members is not None else [MemberSpec() for _ in range(self.members_per_shard)]
            )
        if self._started:
            rs.start()
        self._register(rs)
        return rs

    def upgrade(self, version: str) -> None:
        """Every member of every set (and shards added later) restarted on MongoDB `version`; the FCV (on the config
        servers, where PBM reads it) stays until `self.config.set_fcv`."""
        with self.lock:
            self.mongo_version = version
            for rs in self.replica_sets:
                rs.upgrade(version)

    def remove_shard(self, name: str, *, keep_agent_documents: bool = False) -> SimReplicaSet:
        """Unregister the shard and stop it. Its agents' documents leave the CSRS with it, unless
        `keep_agent_documents`: then they stay there, heartbeats frozen (agents stopped without SIGINT, pbm.md 1.3)."""
        with self.lock:
            rs = self.shard(name)
            if keep_agent_documents:
                self.config.extra_agent_docs.extend(rs.written_agent_documents())
            self.shards.remove(rs)
            self._topology_times.pop(name, None)
        rs.stop()
        return rs

    # --- what the cluster's servers answer -----------------------------------------------------------------

    def shard_documents(self) -> list[dict[str, Any]]:
        """config.shards / listShards documents (docs "listShards": {_id, host: "rs/h1,h2", state: 1, topologyTime})."""
        with self.lock:
            return [
                {
                    "_id": rs.name,
                    "host": connection_string(rs),
                    "state": 1,
                    "topologyTime": self._topology_times[rs.name],
                }
                for rs in self.shards
            ]

    def shard_map(self) -> dict[str, Any]:
        """The getShardMap reply without `ok` (server ShardRegistry::toBSON: shards, then the config shard)."""
        with self.lock:
            shard_map: dict[str, str] = {}
            hosts: dict[str, str] = {}
            conn_strings: dict[str, str] = {}
            for shard_id, rs in [*((rs.name, rs) for rs in self.shards), ("config", self.config)]:
                conn = connection_string(rs)
                shard_map[shard_id] = conn
                for host in conn.partition("/")[2].split(","):
                    hosts[host] = shard_id
                conn_strings[conn] = shard_id
            return {"map": shard_map, "hosts": hosts, "connStrings": conn_strings}

    def _shard_identity(self, rs: SimReplicaSet) -> dict[str, Any]:
        # docs "Shard Identity" / server ShardIdentityType: admin.system.version {_id: "shardIdentity", shardName,
        # clusterId, configsvrConnectionString}; PBM's agents on shards find the CSRS through it (pbm.md 4).
        return {
            "_id": "shardIdentity",
            "shardName": rs.name,
            "clusterId": self.cluster_id,
            "configsvrConnectionString": connection_string(self.config),
        }

    def _settings_documents(self) -> list[dict[str, Any]]:
        # docs "config.settings": {_id: "balancer", mode, stopped} exists once the balancer was started/stopped.
        if not self._balancer_mode_set:
            return []
        return [{"_id": "balancer", "mode": self._balancer_mode, "stopped": self._balancer_mode == "off"}]

    def require_config_server(self, mode: str) -> None:
        """What the mongos needs of the CSRS to run a command: its primary (mode "primary") or any member up."""
        with self.lock:
            if mode == "primary":
                primary = self.config.primary
                ok = primary is not None and primary.up
            else:
                ok = any(m.up and not m.arbiter for m in self.config.members)
        if not ok:
            # Server ReplicaSetMonitor (after its wait): FailedToSatisfyReadPreference (133).
            raise CommandError(
                133,
                f'Could not find host matching read preference {{ mode: "{mode}" }} for set {self.config.name}',
                "FailedToSatisfyReadPreference",
            )

    # --- balancer ------------------------------------------------------------------------------------------

    @property
    def balancer_mode(self) -> BalancerMode:
        return self._balancer_mode

    @balancer_mode.setter
    def balancer_mode(self, mode: BalancerMode) -> None:
        if mode not in ("full", "off"):
            raise ValueError('balancer_mode is "full" or "off"')
        with self.lock:
            self._balancer_rounds = self.balancer_rounds()
            self._balancer_full_since = self.config.now_secs() if mode == "full" else None
            self._balancer_mode = mode
            self._balancer_mode_set = True

    def balancer_rounds(self) -> int:
        """numBalancerRounds: one round every 10 s while the balancer runs."""
        with self.lock:
            since = self._balancer_full_since
            running = 0 if since is None else int(max(0.0, self.config.now_secs() - since) // BALANCER_ROUND_SECS)
            return self._balancer_rounds + running

    # --- clock and addresses -------------------------------------------------------------------------------

    @property
    def clock_offset(self) -> float:
        return self.config.clock_offset

    @clock_offset.setter
    def clock_offset(self, value: float) -> None:
        self.config.clock_offset = value

    def advance_clock(self, seconds: float) -> None:
        """Move every server's clock (one cluster time) forward."""
        self.config.advance_clock(seconds)

    def now_secs(self) -> float:
        return self.config.now_secs()

    def cluster_time(self) -> Timestamp:
        return self.config.cluster_time()

    def uri(self, user: str | None = None, password: str | None = None, *, auth: bool = True, **options: Any) -> str:
        """`mongodb://pmm:secret@127.0.0.1:<mongos port>/?authSource=admin` plus `options` (the CSRS's users)."""
        return self._router._build_uri(
            [self.mongos.host], user, password, auth=auth, replica_set=False, options=options
        )


class _MongosRouter(SimReplicaSet):
    """The mongos, as a one-"member" SimReplicaSet so that the listener and faults (SimNode), SCRAM, buildInfo,
    connectionStatus, cursors, refusals and dispatch are shared with the replica sets. Its users, roles and clock
    are the CSRS's; admin and config reads are served from the CSRS."""

    def __init__(self, cluster: SimShardedCluster) -> None:
        self._cluster = cluster
        super().__init__(
            "mongos",
            [MemberSpec(agent=None)],
            mongo_version=cluster.mongo_version,
            psmdb=cluster.psmdb,
            pbm_config=None,
            host_name=cluster.host_name,
            tls=cluster.tls,
        )
        self.lock = cluster.lock
        self.clock_source = cluster.config
        self.shard_map = cluster.shard_map

    # A mongos keeps no users: it authenticates and authorizes against the config servers' admin.system.users.
    @property
    def users(self) -> dict[tuple[str, str], SimUser]:
        return self._cluster.config.users

    @users.setter
    def users(self, value: dict[tuple[str, str], SimUser]) -> None:
        pass

    @property
    def roles(self) -> dict[tuple[str, str], SimRole]:
        return self._cluster.config.roles

    @roles.setter
    def roles(self, value: dict[tuple[str, str], SimRole]) -> None:
        pass

    def _handlers(self) -> dict[str, Any]:
        handlers = super()._handlers()
        del handlers["replSetGetConfig"]  # a mongos has no such command: CommandNotFound
        handlers.update(
            {
                "replSetGetStatus": self._cmd_mongos_repl_set_get_status,
                "listShards": self._cmd_list_shards,
                "balancerStatus": self._cmd_balancer_status,
                "getCmdLineOpts": self._cmd_mongos_get_cmd_line_opts,
            }
        )
        return handlers

    def _cmd_hello(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: server s/commands/cluster_hello_cmd.cpp + MongosHelloResponse; docs "hello" ("isdbgrid"):
        # {isWritablePrimary|ismaster: true, msg: "isdbgrid", [helloOk], maxBsonObjectSize, maxMessageSizeBytes,
        # maxWriteBatchSize, localTime, logicalSessionTimeoutMinutes, connectionId, maxWireVersion, minWireVersion,
        # [saslSupportedMechs], [speculativeAuthenticate], ok}; no setName, hosts, me or readOnly. `topologyVersion`
        # is omitted, as for the replica-set members, so drivers poll instead of streaming.
        legacy_name = req.command_name in ("isMaster", "ismaster")
        r: dict[str, Any] = {"ismaster" if legacy_name else "isWritablePrimary": True, "msg": "isdbgrid"}
        if req.body.get("helloOk"):
            r["helloOk"] = True
        r["maxBsonObjectSize"] = MAX_BSON_OBJECT_SIZE
        r["maxMessageSizeBytes"] = MAX_MESSAGE_SIZE_BYTES
        r["maxWriteBatchSize"] = MAX_WRITE_BATCH_SIZE
        r["localTime"] = datetime.datetime.fromtimestamp(self.now_secs(), tz=datetime.UTC)
        r["logicalSessionTimeoutMinutes"] = 30
        r["connectionId"] = conn.connection_id
        r["maxWireVersion"] = wire_version(node.mongo_version)
        r["minWireVersion"] = 0
        mechs_for = req.body.get("saslSupportedMechs")
        if isinstance(mechs_for, str) and "." in mechs_for:
            db, _, user_name = mechs_for.partition(".")
            sim_user = self._lookup_user(node, user_name, db)
            if sim_user is not None:
                r["saslSupportedMechs"] = [m for m in sim_user.mechanisms if m != MONGODB_X509]
        self._speculative_authenticate(node, conn, req.body, r)
        r["ok"] = 1.0
        return r

    def _cmd_build_info(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: server s/commands/cluster_build_info.cpp: VersionInfoInterface::appendBuildInfo, the mongod's fields
        # (psmdbVersion on PSMDB) without the storage engines a mongos does not have.
        r = super()._cmd_build_info(node, conn, req)
        r.pop("storageEngines", None)
        return r

    def _cmd_mongos_repl_set_get_status(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Server s/commands/cluster_repl_set_get_status_cmd.cpp (CmdReplSetGetStatus::errmsgRun): no privilege
        # needed, fails with {info: "mongos", ok: 0, errmsg} and no code/codeName (an errmsg-only failure).
        self._admin_only(req)
        return {"info": "mongos", "ok": 0.0, "errmsg": "replSetGetStatus is not supported through mongos"}

    def _cmd_list_shards(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "listShards" (https://www.mongodb.com/docs/manual/reference/command/listShards/):
        # {shards: [{_id, host: "rs/h1,h2,h3", state: 1, topologyTime}], ok}; admin only, action listShards on the
        # cluster; read from config.shards on the config servers (read preference nearest).
        self._admin_only(req)
        self._require_cluster(conn, req, "listShards")
        self._cluster.require_config_server("nearest")
        return {"shards": self._cluster.shard_documents(), "ok": 1.0}

    def _cmd_balancer_status(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "balancerStatus" (https://www.mongodb.com/docs/manual/reference/command/balancerStatus/):
        # {mode: "full"|"off", inBalancerRound, numBalancerRounds: Long, ok}. Privilege (server
        # s/commands/cluster_control_balancer_cmd.cpp): action `find` on config.settings (clusterMonitor has it);
        # forwarded to the CSRS primary as _configsvrBalancerStatus.
        self._admin_only(req)
        self._require_namespace(conn, req, "config", "settings", "find")
        self._cluster.require_config_server("primary")
        return {
            "mode": self._cluster.balancer_mode,
            "inBalancerRound": bool(self._cluster.balancer_in_round),
            "numBalancerRounds": Int64(self._cluster.balancer_rounds()),
            "ok": 1.0,
        }

    def _cmd_mongos_get_cmd_line_opts(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "getCmdLineOpts"; a packaged mongos: sharding.configDB names the CSRS.
        self._admin_only(req)
        self._require_cluster(conn, req, "getCmdLineOpts")
        parsed: dict[str, Any] = {
            "config": "/etc/mongos.conf",
            "net": {"bindIp": "127.0.0.1", "port": node.port},
            "processManagement": {"fork": True, "pidFilePath": "/var/run/mongos.pid"},
        }
        if self._auth_enabled():
            parsed["security"] = {"keyFile": "/etc/mongodb/keyfile"}
        parsed["sharding"] = {"configDB": connection_string(self._cluster.config)}
        parsed["systemLog"] = {"destination": "file", "logAppend": True, "path": "/var/log/mongodb/mongos.log"}
        return {"argv": ["mongos", "--config", "/etc/mongos.conf"], "parsed": parsed, "ok": 1.0}

    def _check_readable(self, node: SimNode, req: Request) -> None:
        # The admin and config databases live on the config servers: the mongos reads them there with the
        # client's read preference (pymongo sends $readPreference to a mongos only when it is not primary).
        if req.db not in ("admin", "config"):
            return
        read_pref = req.body.get("$readPreference")
        mode = read_pref.get("mode") if isinstance(read_pref, Mapping) else None
        self._cluster.require_config_server(str(mode or "primary"))

    def _collection_docs(self, db: str, coll: str) -> list[dict[str, Any]]:
        # admin.* and config.* come from the CSRS (admin.pbmAgents: every agent's document); the simulated shards
        # hold no user data, so other databases read as empty.
        if db in ("admin", "config"):
            return self._cluster.config._collection_docs(db, coll)
        return []


__all__ = ["SimShardedCluster", "connection_string"]
