"""The MongoDB prober: reads one replica set's facts with a long-lived async client. Read-only.

Commands run (all read-only): hello, replSetGetStatus, connectionStatus, replSetGetConfig and buildInfo (when they can
have changed: StableReplies), find on
admin.pbmAgents, admin.pbmConfig and admin.pbmLock (and admin.pbmBackups while a backup holds the lock), PBM's catalogue
(admin.pbmPITRChunks and admin.pbmBackups, incrementally: probes/pbm_catalogue.py), the newest admin.pbmRestores,
admin.pbmLog (a filesystem storage's warnings; PITR's errors when its slicer cannot start), all in one session whose
$clusterTime is the cluster time; with PITR on, the oldest entry of local.oplog.rs on each member PBM could slice on,
now and then (probes/oplog.py);
through mongos also listShards, getShardMap and
balancerStatus. One AsyncMongoClient per cluster lives as long as the exporter
(Percona's mongodb_exporter leaked by building a client per scrape; peers.md 1.4), and every call is bounded by
the probe timeout through pymongo's client-side operation timeout.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pymongo
from bson.timestamp import Timestamp
from pymongo import AsyncMongoClient
from pymongo.errors import (
    AutoReconnect,
    ConfigurationError,
    ExecutionTimeout,
    NetworkTimeout,
    NotPrimaryError,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)
from pymongo.read_preferences import Primary, PrimaryPreferred
from pymongo.uri_parser import parse_uri

from exporter import __version__
from exporter.config.config_file import ClusterConfig
from exporter.config.redact import redact
from exporter.facts.observed import ClusterFacts, Observed, ReplicaSetFacts, ShardingFacts
from exporter.model.cluster_view import build_view
from exporter.model.oplog_window import WARN_SPANS
from exporter.model.pbm_agent_duties import candidates
from exporter.model.pbm_log import LOG_INDEX, LOG_INDEX_SINCE, NOT_INITIALIZED, STORAGE_WARNING_WINDOW, WARNING
from exporter.model.pbm_pitr_config import pitr_enabled, span_seconds
from exporter.model.pitr_catchup import DEBUG, EPOCH_LOG_INDEX, ERROR, PITR_EVENT, START_OK, catchup_blocker, oplog_only
from exporter.probes.oplog import due, member_address, only_member, read_oplog_first
from exporter.probes.pbm_catalogue import Catalogue
from exporter.probes.quiet_client import QuietClient

# What the checks need of an agent document; nothing else is read (pbm.md 7.4).
AGENT_PROJECTION = {f: 1 for f in ("n", "rs", "v", "hb", "s", "str", "hdn", "arb", "pbms", "nodes", "stors",
                                   "e", "mv", "pv", "delay", "repl_lag")}
# pbmConfig holds storage credentials in clear text: read only what names the storage (pbm.md 3).
PBM_CONFIG_PROJECTION = {
    "_id": 0, "storage.type": 1, "storage.s3.bucket": 1, "storage.s3.region": 1, "storage.s3.prefix": 1,
    "storage.minio.bucket": 1, "storage.gcs.bucket": 1, "storage.azure.container": 1, "storage.oss.bucket": 1,
    "storage.oci.bucket": 1, "storage.filesystem.path": 1, "storage.s3.endpointUrl": 1, "pitr.enabled": 1,
    "pitr.oplogSpanMin": 1, "pitr.oplogOnly": 1, "backup.priority": 1, "epoch": 1,
}
MAX_AGENT_DOCS = 10_000  # a replica set has at most 50 members; the cap only bounds a corrupt collection


@dataclass(frozen=True)
class ProbeOutcome:
    """A probe's result: facts when the cluster answered, else an error saying why (already redacted)."""

    facts: ClusterFacts | None
    error: str
    duration: float
    # the kind of failure, without what varies from one probe to the next (which member, which errno): a failing
    # cluster is logged again only when this changes
    cause: str = ""

    @property
    def success(self) -> bool:
        return self.facts is not None


MongoClient = AsyncMongoClient[dict[str, Any]]
AUTHENTICATION_FAILED = 18  # MongoDB's error code for a failed authentication
UNREACHABLE = "unreachable"  # the cause of timeouts and lost connections alike: which one a probe meets is chance
# URI options that name a topology; dropped when the cluster's options are reused for one shard's replica set
_TOPOLOGY_OPTIONS = {"replicaset", "directconnection", "loadbalanced", "srvservicename", "srvmaxhosts"}


class MongoDBProber:
    """Probes one cluster; owns its long-lived clients: one for the cluster's URI and, for a sharded cluster, one
    per shard and config server replica set (kept while the shard list names them). Use inside one event loop."""

    def __init__(self, cluster: ClusterConfig, timeout: float, heartbeat: float = 10.0) -> None:
        self.cluster = cluster
        self.timeout = timeout
        # pymongo's monitors check each member this often; between probes nothing needs fresher news, and at a
        # fleet's scale (thousands of members) the default 10 s costs more CPU than the probes themselves
        self.heartbeat = max(10.0, heartbeat)
        self._client: MongoClient | None = None
        self._rs_clients: dict[str, tuple[tuple[str, ...], MongoClient]] = {}
        # the newest admin.pbmBackups and admin.pbmRestores documents, which change only when a backup or a restore
        # runs: read again after a cycle that saw a backup's or a restore's lock, and every BACKUP_REREAD_EVERY probes
        # as a backstop
        self._known: dict[str, Observed[Any]] | None = None
        self._probes = 0
        self._catalogue = Catalogue()  # PBM's chunks and backups, read incrementally (probes/pbm_catalogue.py)
        # {(replica set, member): (the probe it was read at, its oldest oplog entry)} (probes/oplog.py)
        self._oplog_first: dict[tuple[str, str], tuple[int, Observed[Any]]] = {}
        self._stable = StableReplies()  # replSetGetConfig and buildInfo, read again only when they can have changed
        self._member_options: dict[str, Any] | None = None

    def _client_options(self) -> dict[str, Any]:
        timeout_ms = int(self.timeout * 1000)
        return {
            "appname": f"pmm-backup-prereq-exporter/{__version__}",
            "serverSelectionTimeoutMS": timeout_ms,
            "connectTimeoutMS": timeout_ms,
            "socketTimeoutMS": timeout_ms,
            "maxPoolSize": 2,  # probes are sequential per replica set; a small pool keeps a fleet's sockets few
            "serverMonitoringMode": "poll",  # one monitoring connection per member instead of two
            "retryReads": False,  # a retry could double the time past the probe timeout
            "heartbeatFrequencyMS": int(self.heartbeat * 1000),
            # a pooled connection unused for two heartbeats is closed (by the cursor task, once a heartbeat): the
            # primary's, used every probe, stays; a secondary's, opened to read its oplog's oldest entry every
            # OPLOG_REREAD_EVERY probes, is not held in between (1,830 connections fewer at 1,000 clusters)
            "maxIdleTimeMS": int(2 * self.heartbeat * 1000),
            "server_selector": only_member,  # lets a read aim at one member (probes/oplog.py); else a no-op
        }

    def _new_client(self, host: str | list[str], **options: Any) -> MongoClient:
        # pymongo's background tasks woken only when they have work (probes/quiet_client.py): idle, a client costs
        # nothing between probes; its cursor task runs once a heartbeat
        return QuietClient(host, cursor_interval=self.heartbeat, **options)

    def _connect(self) -> MongoClient:
        if self._client is None:
            self._client = self._new_client(self.cluster.uri, **self._client_options())
        return self._client

    async def _replica_set_client(self, name: str, hosts: tuple[str, ...]) -> MongoClient:
        """The long-lived client of one shard (or the config servers): the cluster's credentials and options with
        that replica set's hosts, or the connection string the config gives for it."""
        override = dict(self.cluster.shard_uris).get(name)
        key = (override,) if override else hosts
        known = self._rs_clients.get(name)
        if known is not None and known[0] == key:
            return known[1]
        if known is not None:
            await known[1].close()  # its hosts changed
        if override:
            client: MongoClient = self._new_client(override, **self._client_options())
        else:
            parsed = parse_uri(self.cluster.uri)
            options = {k: v for k, v in parsed["options"].items() if k.lower() not in _TOPOLOGY_OPTIONS}
            if parsed.get("username"):
                options.update(username=parsed["username"], password=parsed.get("password"))
            client = self._new_client(list(hosts), replicaSet=name, **{**options, **self._client_options()})
        self._rs_clients[name] = (key, client)
        return client

    async def close(self) -> None:
        clients = [c for _, c in self._rs_clients.values()] + ([self._client] if self._client else [])
        self._client, self._rs_clients = None, {}
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)

    async def probe(self) -> ProbeOutcome:
        started = time.monotonic()
        try:
            # One deadline for the whole probe: CSOT bounds every operation by it, nested pymongo.timeout() blocks
            # only shorten it, and wait_for is the backstop should anything ignore it
            with pymongo.timeout(self.timeout):
                facts = await asyncio.wait_for(self._read_facts_and_oplogs(), self.timeout + 1.0)
            self._remember(facts)
            return ProbeOutcome(facts, "", time.monotonic() - started)
        except (TimeoutError, ExecutionTimeout, NetworkTimeout) as exc:
            error = f"probe timed out after {self.timeout:g} s ({self._describe_exception(exc, self._client)})"
            cause = UNREACHABLE
        except _ProbeError as exc:
            error = cause = str(exc)
        except PyMongoError as exc:
            error = self._describe_exception(exc, self._client)
            cause = _failure_cause(exc)
        except Exception as exc:  # nothing a server sends may crash the exporter
            error = f"unexpected error: {exc!r}"
            cause = "unexpected error"
        return ProbeOutcome(None, redact(error, self.cluster.secrets), time.monotonic() - started, cause)

    async def _read_facts_and_oplogs(self) -> ClusterFacts:
        return await self._read_oplog_firsts(await self._read_facts())

    async def _read_oplog_firsts(self, cluster: ClusterFacts) -> ClusterFacts:
        """With PITR on, each replica set's members PBM could nominate to slice get their oldest oplog entry (read
        on each when due: probes/oplog.py says why this read, and how rarely)."""
        control = cluster.control_facts
        config = control.pbm_config.value if control is not None else None
        if control is None or not pitr_enabled(config):
            self._oplog_first.clear()
            return cluster
        assert isinstance(config, dict)
        low = WARN_SPANS * span_seconds(config) + 2 * int(self.heartbeat)  # near the warning: read every probe
        ends = {c.get("rs"): c.get("end_ts") for c in control.pitr_chunks.value or [] if isinstance(c, dict)}
        wanted: dict[tuple[str, str], bool] = {}
        for facts in cluster.replica_sets:
            end = ends.get(facts.name)
            for host in candidates(build_view(facts)):
                key = (facts.name, host)
                wanted[key] = due(self._oplog_first.get(key), self._probes, end if isinstance(end, Timestamp)
                                  else None, low)
        fresh = [key for key, read in wanted.items() if read]
        found = await asyncio.gather(*(self._read_member_oplog(rs, host) for rs, host in fresh))
        self._oplog_first = {key: self._oplog_first[key] for key in wanted if key in self._oplog_first}
        self._oplog_first.update({key: (self._probes, value) for key, value in zip(fresh, found, strict=True)})
        return replace(cluster, replica_sets=tuple(
            replace(f, oplog_first={host: value for (rs, host), (_, value) in self._oplog_first.items()
                                    if rs == f.name}) for f in cluster.replica_sets))

    def _member_client(self, replica_set: str, member: tuple[str, int]) -> MongoClient | None:
        """The long-lived client of the replica set, when it monitors `member` (not a single direct connection)."""
        known = self._rs_clients.get(replica_set)
        client = known[1] if known is not None else self._client
        if client is None:
            return None
        description = client.topology_description
        if description.topology_type_name == "Single" or member not in description.server_descriptions():
            return None
        return client

    async def _read_member_oplog(self, replica_set: str, host: str) -> Observed[Any]:
        """One member's oldest oplog entry, through the replica set's long-lived client aimed at it (probes/oplog.py
        says why), or through a short-lived client connected directly to it, with the cluster's credentials and
        TLS options, when that client does not see the member."""
        member = member_address(host)
        budget = self.timeout / 2  # a slow or hung member costs its own read, not the probe (nested: only shortens)
        shared = self._member_client(replica_set, member)
        if shared is not None:
            try:
                with pymongo.timeout(budget):
                    found = await asyncio.wait_for(read_oplog_first(shared, member), budget + 0.5)
            except TimeoutError:
                found = Observed.failed(f"{host} did not answer in {budget:g} s")
            return Observed.failed(redact(found.error, self.cluster.secrets)) if found.error is not None else found
        if self._member_options is None:  # parsed once: an SRV URI resolves through DNS
            parsed = parse_uri(self.cluster.uri)
            options = {k: v for k, v in parsed["options"].items() if k.lower() not in _TOPOLOGY_OPTIONS}
            if parsed.get("username"):
                options.update(username=parsed["username"], password=parsed.get("password"))
            self._member_options = {**options, **self._client_options(), "directConnection": True}
        client: MongoClient = self._new_client(host, **self._member_options)
        try:
            with pymongo.timeout(budget):
                found = await asyncio.wait_for(read_oplog_first(client), budget + 0.5)
        except TimeoutError:
            found = Observed.failed(f"{host} did not answer in {budget:g} s")
        finally:
            await client.close()
        return Observed.failed(redact(found.error, self.cluster.secrets)) if found.error is not None else found

    def _remember(self, facts: ClusterFacts) -> None:
        self._probes += 1
        control = facts.control_facts
        locked = control is None or any(lock.get("type") in ("backup", "restore") for lock in control.locks.value or [])
        if locked or control is None or not (control.last_backup.ok and control.last_restore.ok):
            self._known = None
            return
        self._known = {"last_backup": control.last_backup, "last_restore": control.last_restore}
        if _read_done_restore(control.pbm_config.value) and control.last_done_restore.ok:  # kept when it was read
            self._known["last_done_restore"] = control.last_done_restore

    def _reusable(self) -> dict[str, Observed[Any]] | None:
        return self._known if self._probes % BACKUP_REREAD_EVERY else None

    def _describe_exception(self, exc: BaseException, client: MongoClient | None) -> str:
        if isinstance(exc, OperationFailure) and exc.code == AUTHENTICATION_FAILED:
            user = self.cluster.username or "(none)"
            return f"authentication failed for user {user}: check the user and password in the cluster's uri"
        if isinstance(exc, ServerSelectionTimeoutError | TimeoutError) and client:
            states = _member_states(client)
            return "no usable member answered: " + states if states else _clean(str(exc))
        if isinstance(exc, NotPrimaryError):  # an election during (or just before) the probe
            message = (exc.details or {}).get("errmsg") if isinstance(exc.details, dict) else None
            return f"the primary changed during the probe ({_clean(str(message or 'not primary'))}); the next " \
                   f"probe reads the new one"
        if isinstance(exc, ExecutionTimeout):
            return _clean(str((exc.details or {}).get("errmsg") or exc))
        if isinstance(exc, OperationFailure):
            return _clean(_operation_failure(exc))
        if isinstance(exc, AutoReconnect):  # the member's connection failed mid-operation: timed out, reset, closed
            address, what = _split_address(_clean(str(exc)))
            if isinstance(exc, NetworkTimeout):
                return f"{address or 'a member'} did not answer in time"
            if address:
                return f"lost the connection to {address} during the probe ({what})"
            states = _member_states(client) if client else ""
            return f"lost a connection during the probe ({what})" + (f"; members: {states}" if states else "")
        return _clean(str(exc)) or type(exc).__name__

    async def _read_facts(self) -> ClusterFacts:
        if self.cluster.replica_sets:
            return await self._read_sharded_directly()
        client = self._connect()
        with pymongo.timeout(self.timeout):
            hello = await client.admin.command("hello", read_preference=PrimaryPreferred())
        if hello.get("msg") == "isdbgrid":
            return await self._read_sharded(client)
        facts = await read_replica_set(client, self.cluster.seeds, str(hello.get("setName", "")), self.timeout,
                                       read_pbm=True, first_hello=hello, known=self._reusable(),
                                       catalogue=self._catalogue, stable=self._stable.at(self._probes))
        return ClusterFacts((facts,), facts.name)

    async def _read_sharded(self, mongos: MongoClient) -> ClusterFacts:
        """Every shard and the config server replica set, each read directly and concurrently; PBM's documents
        (all agents', shards' included) are read on the config servers, where PBM keeps them (pbm.md 0, 2)."""
        with pymongo.timeout(self.timeout):
            shards = await mongos.admin.command("listShards")
            shard_map = await _observe(mongos.admin.command("getShardMap"))
            balancer = await _observe(mongos.admin.command("balancerStatus"))
        targets: dict[str, tuple[str, ...]] = {}
        shard_docs = tuple(d for d in shards.get("shards", []) if isinstance(d, dict))
        for doc in shard_docs:
            name, hosts = _replica_set_hosts(doc.get("host"))
            if name:
                targets[name] = hosts
        config_name, config_hosts = _replica_set_hosts((shard_map.value or {}).get("map", {}).get("config"))
        if not config_name:
            raise _ProbeError(f"cannot find the config server replica set through mongos (getShardMap: "
                              f"{shard_map.error or 'no map.config'}); the user needs clusterMonitor")
        return await self._read_all(config_name, config_hosts, targets, ShardingFacts(shard_docs, config_name,
                                                                                     balancer))

    async def _read_sharded_directly(self) -> ClusterFacts:
        """A sharded cluster known only by its replica sets (discovered from PMM with no mongos): find the config
        servers by their hello (configsvr: 2), then read the shard list and balancer setting where mongos would,
        in their config database."""
        known = dict(self.cluster.replica_sets)

        async def hello(name: str, hosts: tuple[str, ...]) -> tuple[str, dict[str, Any] | None]:
            try:
                client = await self._replica_set_client(name, hosts)
                with pymongo.timeout(self.timeout):
                    return name, await client.admin.command("hello", read_preference=PrimaryPreferred())
            except (PyMongoError, TimeoutError):
                return name, None

        hellos = dict(await asyncio.gather(*(hello(name, hosts) for name, hosts in known.items())))
        config_name = next((n for n, h in hellos.items() if h and h.get("configsvr")), "")
        if not config_name:
            raise _ProbeError(f"none of the replica sets PMM lists for this cluster ({', '.join(known)}) answers as "
                              f"a config server: register a mongos or the config servers with PMM")
        client = await self._replica_set_client(config_name, known[config_name])
        with pymongo.timeout(self.timeout):
            config_db = client.get_database("config", read_preference=PrimaryPreferred())
            shard_docs = tuple(_plain(d) for d in await config_db["shards"].find({}, {"_id": 1, "host": 1})
                               .to_list())
            setting = await config_db["settings"].find_one({"_id": "balancer"})
        # config.settings' balancer document: {mode: "full"|"off", stopped: bool}; none means the default, full
        mode = "off" if setting and (setting.get("stopped") or setting.get("mode") == "off") else "full"
        targets = {name: hosts for doc in shard_docs
                   for name, hosts in [_replica_set_hosts(doc.get("host"))] if name}
        for name, hosts in known.items():  # shards PMM knows but the shard list lacks still get checked
            if name != config_name:
                targets.setdefault(name, hosts)
        balancer: Observed[dict[str, Any]] = Observed({"mode": mode})
        return await self._read_all(config_name, known[config_name], targets,
                                    ShardingFacts(shard_docs, config_name, balancer))

    async def _read_all(self, config_name: str, config_hosts: tuple[str, ...], shards: dict[str, tuple[str, ...]],
                        sharding: ShardingFacts) -> ClusterFacts:
        """Read the config servers and every shard concurrently; PBM's facts come from the config servers."""
        targets = {config_name: config_hosts, **{n: h for n, h in shards.items() if n != config_name}}
        gone = [self._rs_clients.pop(name)[1] for name in set(self._rs_clients) - set(targets)]  # removed shards
        await asyncio.gather(*(client.close() for client in gone), return_exceptions=True)
        known = self._reusable()
        read = [self._read_member_set(name, hosts, read_pbm=name == config_name, replica_sets=tuple(targets),
                                      known=known, catalogue=self._catalogue)
                for name, hosts in targets.items()]
        sets = list(await asyncio.gather(*read))
        control = sets[0]
        sets = [control] + [replace(f, **{name: getattr(control, name) for name in PBM_FACTS}) for f in sets[1:]]
        if control.agent_users.value:  # each shard's agents work there as that shard's user of the same name
            sets[1:] = await asyncio.gather(*(self._shard_agent_users(f, control.agent_users.value)
                                              for f in sets[1:]))
        return ClusterFacts(tuple(sets), config_name, sharding)

    async def _shard_agent_users(self, facts: ReplicaSetFacts, users: list[dict[str, Any]]) -> ReplicaSetFacts:
        """A shard's agents connect to its members directly (agent.go newAgent's nodeConn, from the same URI), where
        a shard-local user of that name is the one authenticated: its privileges are read on the shard."""
        if facts.connection_status.value is None or not facts.hello.ok:
            return facts
        client = await self._replica_set_client(facts.name, facts.seeds)
        try:
            with pymongo.timeout(self.timeout):
                info = await _read_users_info(client.admin, PrimaryPreferred(), users, facts.connection_status)
        except (PyMongoError, TimeoutError) as exc:
            info = Observed.failed(redact(self._describe_exception(exc, client), self.cluster.secrets))
        return replace(facts, agent_users=Observed(users), agent_user_info=info)

    async def _read_member_set(self, name: str, hosts: tuple[str, ...], read_pbm: bool,
                               replica_sets: tuple[str, ...] = (), known: dict[str, Observed[Any]] | None = None,
                               catalogue: Catalogue | None = None) -> ReplicaSetFacts:
        client = await self._replica_set_client(name, hosts)
        try:
            return await read_replica_set(client, hosts, name, self.timeout, read_pbm=read_pbm,
                                          replica_sets=replica_sets, known=known,
                                          catalogue=catalogue, stable=self._stable.at(self._probes))
        except (PyMongoError, TimeoutError) as exc:
            error = self._describe_exception(exc, client)
            if isinstance(exc, OperationFailure) and exc.code == AUTHENTICATION_FAILED:
                error = (f"authentication failed on replica set {name}: the user must exist on every shard and on "
                         f"the config servers (create it on each one's primary)")
            return ReplicaSetFacts.unreachable(name, hosts, redact(error, self.cluster.secrets))


async def read_replica_set(client: MongoClient, seeds: tuple[str, ...], name: str, timeout: float, *,
                           read_pbm: bool, first_hello: dict[str, Any] | None = None,
                           replica_sets: tuple[str, ...] = (), known: dict[str, Observed[Any]] | None = None,
                           catalogue: Catalogue | None = None, stable: StableReplies | None = None
                           ) -> ReplicaSetFacts:
    """One replica set's facts, read on its primary when it has one; replSetGetConfig's and buildInfo's replies are
    taken from `stable` while they cannot have changed (StableReplies)."""
    with pymongo.timeout(timeout):
        hello = first_hello or await client.admin.command("hello", read_preference=PrimaryPreferred())
        # Any member names the primary when there is one. Read from it then (pymongo may not have found it yet
        # when the first hello went out); without one, whichever member answers.
        has_primary = bool(hello.get("primary")) or not hello.get("setName")
        pref = Primary() if has_primary else PrimaryPreferred()  # command() ignores the database's preference
        admin = client.admin
        if has_primary and hello.get("setName") and not hello.get("isWritablePrimary"):
            hello = await admin.command("hello", read_preference=pref)
        status = await _observe(admin.command("replSetGetStatus", read_preference=pref))
        connection_status = await _observe(admin.command("connectionStatus", showPrivileges=True,
                                                         read_preference=pref))
        # kept while the config's version, the primary and the user's privileges are what they were
        privileges, replies_of = (connection_status.value or {}).get("authInfo"), stable_key(hello)
        key = (replies_of, privileges) if has_primary and privileges is not None and replies_of is not None else None
        kept = stable.get(name, key) if stable is not None else None
        if kept is not None:
            config, build_info = kept
        else:
            config = await _observe(admin.command("replSetGetConfig", read_preference=pref))
            build_info = await _observe(admin.command("buildInfo", read_preference=pref))
            if stable is not None:
                stable.put(name, key, config, build_info)
        pbm: dict[str, Any] = await _read_pbm(client, hello, replica_sets or (str(hello.get("setName") or name),),
                                              known, catalogue) if read_pbm else {}
        if read_pbm and has_primary:  # pbm-agents' leading connections go to this primary (PBM connect.Connect)
            pbm.update(await _read_agent_users(admin, pref, connection_status))
        elif read_pbm:
            no_primary: Observed[Any] = Observed.failed("no primary, where pbm-agent's connections go")
            pbm.update(agent_users=no_primary, agent_user_info=no_primary)
    return ReplicaSetFacts(
        seeds=seeds,
        name=str(hello.get("setName") or name),
        hello=Observed(_plain(hello)),
        status=status,
        config=config,
        build_info=build_info,
        connection_status=connection_status,
        **pbm,
    )


STABLE_REREAD_EVERY = 10  # probes between reads of replSetGetConfig and buildInfo when nothing says they changed


def stable_key(hello: dict[str, Any]) -> tuple[Any, ...] | None:
    """What replSetGetConfig's and buildInfo's replies depend on, as the primary's hello tells it: the config's
    version (every reconfig bumps it; MongoDB's replSetReconfig) and the primary with its election (a primary's
    restart, as an upgrade does, ends its term: the one that answers next was elected anew). None without them."""
    version, primary, election = hello.get("setVersion"), hello.get("primary"), hello.get("electionId")
    if version is None or not primary or election is None:
        return None
    return version, primary, str(election)


@dataclass
class StableReplies:
    """A prober's replSetGetConfig and buildInfo replies per replica set, with the key they were read under (the
    stable_key and the user's privileges, connectionStatus, which is read every probe): reused while the key is the
    same, for at most STABLE_REREAD_EVERY probes (a backstop). Only replies that both succeeded are kept, so a
    refusal is asked again each probe, and a lost privilege reads them again at once. Two commands of a probe's
    dozen, at a fleet's scale."""

    kept: dict[str, tuple[Any, int, Observed[Any], Observed[Any]]] = field(default_factory=dict)
    probe: int = 0

    def at(self, probe: int) -> StableReplies:
        self.probe = probe
        return self

    def get(self, name: str, key: Any) -> tuple[Observed[Any], Observed[Any]] | None:
        kept = self.kept.get(name)
        if kept is None or key is None or kept[0] != key or self.probe - kept[1] >= STABLE_REREAD_EVERY:
            return None
        return kept[2], kept[3]

    def put(self, name: str, key: Any, config: Observed[Any], build_info: Observed[Any]) -> None:
        if key is not None and config.ok and build_info.ok:
            self.kept[name] = (key, self.probe, config, build_info)
        else:
            self.kept.pop(name, None)


Documents = list[dict[str, Any]]
# The ReplicaSetFacts fields _read_pbm fills, from the replica set whose admin database PBM uses
PBM_FACTS = ("agents", "pbm_config", "cluster_time", "locks", "op_locks", "backups", "last_backup", "last_command",
             "restore_backup", "pitr_chunks", "storage_warnings",
             "pitr_timelines", "catalogue", "fcv", "last_restore", "last_done_restore", "pitr_errors")
# pbm/log/history.go Entry and its LogKeys: when, which replica set and node (the message is in the filter)
LOG_PROJECTION = {"_id": 0, "ts": 1, "rs": 1, "node": 1}
# ... and for PITR's errors, the message too (cmd/pbm/status.go getPitrErr shows the entry's StringNode)
PITR_LOG_PROJECTION = {"_id": 0, "ts": 1, "rs": 1, "node": 1, "msg": 1}
# pbm/restore/types.go RestoreMeta: which restore, of what, how far it got, its heartbeat (never replsets' txns)
RESTORE_PROJECTION = {"_id": 0, "name": 1, "opid": 1, "backup": 1, "type": 1, "status": 1, "start_ts": 1, "hb": 1,
                      "last_transition_ts": 1, "error": 1}
MAX_LOG_DOCS = 100  # at most 4 entries per agent in the window: 25 agents of the replica sets read here
# pbm/lock/lock.go LockData
LOCK_PROJECTION = {"_id": 0, "type": 1, "replset": 1, "node": 1, "opid": 1, "hb": 1}
# What the checks need of a backup's metadata (pbm/backup/types.go BackupMeta): when it started, which it is, and
# how it ended (error: PBM's text, such as the storage's AccessDenied), whether it went to a profile's storage
# (store.profile; never the rest of store, which inlines the storage's credentials), and the MongoDB version it was
# taken on
BACKUP_PROJECTION = {"_id": 0, "name": 1, "opid": 1, "type": 1, "status": 1, "start_ts": 1, "error": 1, "nss": 1,
                     "store.profile": 1, "mongodb_version": 1, "hb": 1, "last_transition_ts": 1}
# pbm/ctrl/cmd.go Cmd and RestoreCmd: which command, and for a restore, its name and backup
COMMAND_PROJECTION = {"cmd": 1, "restore.name": 1, "restore.backupName": 1, "restore.external": 1, "ts": 1}
MAX_LOCKS = 100
BACKUP_REREAD_EVERY = 10  # probes between reads of the newest backup when no backup's lock was seen


async def _read_pbm(client: MongoClient, hello: dict[str, Any], replica_sets: tuple[str, ...],
                    known: dict[str, Observed[Any]] | None = None, catalogue: Catalogue | None = None
                    ) -> dict[str, Observed[Any]]:
    """PBM's collections, read on the primary like PBM does, with the cluster time read after those that carry a
    heartbeat (so that ct >= hb) and before the catalogue, whose chunks it tells when to read. Every read
    is bounded and uses an index PBM creates (cmd/pbm-agent/setup.go): pbmBackups {start_ts, status},
    pbmPITRChunks {rs, start_ts, end_ts}; the lock collections hold one document per running operation. The
    chunks and the backups' catalogue are read incrementally through `catalogue` (a new one reads them whole)."""
    failed: Observed[Any]
    if not hello.get("setName"):
        return dict.fromkeys(PBM_FACTS, Observed.failed("not a replica set"))
    if hello.get("primary") and not hello.get("isWritablePrimary"):
        if client.topology_description.topology_type_name == "Single":
            failed = Observed.failed(
                f"connected directly to {hello.get('me', 'a secondary')}, not to the primary {hello['primary']}: "
                f"list every member in the uri (without directConnection=true) so that PBM's documents are read on "
                f"the primary, as PBM does")
            return dict.fromkeys(PBM_FACTS, failed)
        # The driver still takes the old primary for the primary (it learns of an election at its next heartbeat):
        # reading there fails with NotPrimary, which fails this probe with that reason and makes the driver look again
    elif not hello.get("isWritablePrimary"):
        failed = Observed.failed("the replica set has no primary, so PBM agents cannot write heartbeats and none "
                                 "can be judged")
        return dict.fromkeys(PBM_FACTS, failed)
    # one session for every read: its cluster time, once the documents with a heartbeat are read, is the $clusterTime
    # of the last reply (the time those documents are compared with), which took a ping before
    async with client.start_session(causal_consistency=False) as session:
        return await _read_pbm_documents(client.get_database("admin", read_preference=Primary()), session,
                                         replica_sets, known, catalogue)


async def _read_pbm_documents(admin: Any, session: Any, replica_sets: tuple[str, ...],
                              known: dict[str, Observed[Any]] | None, catalogue: Catalogue | None
                              ) -> dict[str, Observed[Any]]:
    """_read_pbm's reads, on the primary, in one session."""

    async def read(coll: str, query: dict[str, Any], projection: dict[str, Any], limit: int,
                   sort: list[tuple[str, int]] | None = None, hint: str | None = None) -> Observed[Any]:
        try:
            cursor = admin[coll].find(query, projection, limit=limit, sort=sort, hint=hint, session=session)
            # already plain: the client decodes into dict, pymongo's default document_class, never changed here (a
            # week's backlog of chunks is ~1,000 documents a replica set, and copying them cost a fifth of a first
            # cycle's CPU)
            return Observed(await cursor.to_list())
        except OperationFailure as exc:
            return _refusal(exc)

    newest = [("start_ts", -1)]

    async def read_newest(coll: str, projection: dict[str, Any], query: dict[str, Any] | None = None
                          ) -> Observed[Any]:
        """The collection's newest document by start_ts (None when it has none)."""
        found = await read(coll, query or {}, projection, 1, newest)
        return Observed(next(iter(found.value or []), None)) if found.ok else found

    facts: dict[str, Observed[Any]] = {"agents": await read("pbmAgents", {}, AGENT_PROJECTION, MAX_AGENT_DOCS)}
    try:
        config_doc = await admin["pbmConfig"].find_one({"profile": None}, PBM_CONFIG_PROJECTION, session=session)
        facts["pbm_config"] = Observed(_plain(config_doc) if config_doc else None)
    except OperationFailure as exc:
        facts["pbm_config"] = _refusal(exc)
    facts["locks"] = await read("pbmLock", {}, LOCK_PROJECTION, MAX_LOCKS)
    config = facts["pbm_config"].value
    pitr = config.get("pitr") if isinstance(config, dict) else None
    pitr_on = isinstance(pitr, dict) and pitr.get("enabled") is True
    # pbmLockOp holds PITR slicing's lock, and with PBM <= 2.5 other operations' too: read only when either applies
    old_pbm = any(_pbm_version(d.get("v")) < (2, 6) for d in facts["agents"].value or [])
    facts["op_locks"] = (await read("pbmLockOp", {}, LOCK_PROJECTION, MAX_LOCKS) if pitr_on or old_pbm
                         else Observed([]))
    # the metadata of a backup that holds the lock: when it started (a lock carries no start time)
    running = [lock["opid"] for lock in facts["locks"].value or [] if lock.get("type") == "backup"
               and isinstance(lock.get("opid"), str)][:5]
    facts["backups"] = (await read("pbmBackups", {"opid": {"$in": running}}, BACKUP_PROJECTION, 5) if running
                        else Observed([]))
    # reused when no backup ran since it was read (see MongoDBProber)
    facts["last_backup"] = (known["last_backup"] if known is not None and not running
                            else await read_newest("pbmBackups", BACKUP_PROJECTION))
    # admin.pbmRestores has no index (cmd/pbm-agent/setup.go only creates it) but a document per restore, so the
    # sort on start_ts is over a handful; reused like the newest backup while no restore's lock shows
    restoring = any(lock.get("type") == "restore" for lock in facts["locks"].value or [])
    reuse = known if known is not None and not running and not restoring else None
    facts["last_restore"] = reuse["last_restore"] if reuse else await read_newest("pbmRestores", RESTORE_PROJECTION)
    facts["last_done_restore"] = Observed(None)
    if _read_done_restore(config):  # GetLastRestore matters only to Catchup: PITR on and not oplog-only
        newest_restore = facts["last_restore"].value
        if not facts["last_restore"].ok or (isinstance(newest_restore, dict)
                                            and newest_restore.get("status") == "done"):
            facts["last_done_restore"] = facts["last_restore"]
        elif newest_restore is None:
            facts["last_done_restore"] = Observed(None)
        elif reuse and "last_done_restore" in reuse:
            facts["last_done_restore"] = reuse["last_done_restore"]
        else:
            facts["last_done_restore"] = await read_newest("pbmRestores", RESTORE_PROJECTION, {"status": "done"})
    # the cluster time, after every document with a heartbeat it is compared with (agents, locks, backups, restores)
    gossip = session.cluster_time
    cluster_time = gossip.get("clusterTime") if isinstance(gossip, Mapping) else None
    facts["cluster_time"] = (Observed(cluster_time.time) if isinstance(cluster_time, Timestamp)
                             else Observed.failed("the server's reply carries no $clusterTime"))
    now = cluster_time.time if isinstance(cluster_time, Timestamp) else None
    if config is not None:  # PBM is set up (PMM writes its config before the first backup): its catalogue
        catalogue = catalogue if catalogue is not None else Catalogue()
        # new chunks are read when one can have been cut since (pbm_catalogue.py: the slicer's span, by this clock)
        span = span_seconds(config) if pitr_on and isinstance(config, dict) else None
        facts["pitr_timelines"] = await catalogue.read_chunks(read, replica_sets[:MAX_LOCKS], span, now)
        facts["catalogue"] = await catalogue.read_backups(read, facts["last_backup"])
        # the FCV the backups are compared with (cmd/pbm/backup.go bcpMatchCluster; PBM's GetFCV, on the same
        # primary): one command, sent only when the backups are read again (a new backup, or every
        # CATALOGUE_REREAD_EVERY probes), as it changes only when someone sets it after an upgrade
        facts["fcv"] = await catalogue.read_fcv(lambda: _observe(admin.command(
            {"getParameter": 1, "featureCompatibilityVersion": 1}, read_preference=Primary(), session=session)))
        # with PITR on, each replica set's newest chunk, kept up to date by the incremental read (known even while
        # a long backlog is still being read)
        newest_chunks = catalogue.newest_chunks()
        facts["pitr_chunks"] = (Observed([]) if not pitr_on else Observed(newest_chunks)
                                if facts["pitr_timelines"].ok or newest_chunks else facts["pitr_timelines"])
    else:
        facts["pitr_chunks"], facts["catalogue"], facts["pitr_timelines"] = Observed([]), Observed([]), Observed({})
        facts["fcv"] = Observed(None)
    facts["pitr_errors"] = await _pitr_errors(read, config, facts, replica_sets)
    # a physical restore pauses the agents' heartbeats and is seen in MongoDB only as its command in pbmCmd (its
    # metadata goes to the storage; model/pbm_locks.py): read the newest command when an agent is stale. pbmCmd is
    # capped (cmd/pbm-agent/setup.go), so its newest document is the first in reverse natural order, no index needed
    stale = now is None or any(not isinstance(d.get("hb"), Timestamp) or d["hb"].time + 30 < now  # StaleFrameSec
                               for d in facts["agents"].value or [])
    facts["storage_warnings"] = await _storage_warnings(read, config, facts["agents"].value or [], replica_sets, now)
    facts["last_command"] = facts["restore_backup"] = Observed(None)
    if stale:
        found = await read("pbmCmd", {}, COMMAND_PROJECTION, 1, [("$natural", -1)])
        facts["last_command"] = Observed(next(iter(found.value or []), None)) if found.ok else found
        command = facts["last_command"].value
        restore = command.get("restore") if isinstance(command, dict) and command.get("cmd") == "restore" else None
        backup = restore.get("backupName") if isinstance(restore, dict) else None
        if isinstance(backup, str) and backup:  # through PBM's unique index on pbmBackups.name
            found = await read("pbmBackups", {"name": backup}, {"_id": 0, "name": 1, "type": 1}, 1)
            facts["restore_backup"] = Observed(next(iter(found.value or []), None)) if found.ok else found
    return facts


async def _storage_warnings(read: Any, config: Any, agents: list[dict[str, Any]], replica_sets: tuple[str, ...],
                            now: int | None) -> Observed[Any]:
    """The recent "storage is not initialized" warnings of agents that do not see a filesystem storage's init file
    (cmd/pbm-agent/agent.go storStatus, logged every 15 s). Read only for a filesystem storage, and only through
    PBM's index event_severity_rs_ts {e, s, rs, ts: -1} (cmd/pbm-agent/setup.go, PBM 2.13+; hinted, so that a
    missing index fails rather than scans the capped collection): newest first, the last minute, bounded."""
    storage = config.get("storage") if isinstance(config, dict) else None
    if not isinstance(storage, dict) or storage.get("type") != "filesystem" or now is None:
        return Observed([])
    if not any(_pbm_version(d.get("v")) >= LOG_INDEX_SINCE for d in agents):
        return Observed([])  # no index to read it through (the check says so)
    query = {"e": "agentCheckup", "s": WARNING, "rs": {"$in": list(replica_sets[:MAX_LOCKS])},
             "ts": {"$gte": now - STORAGE_WARNING_WINDOW}, "msg": NOT_INITIALIZED}
    found: Observed[Any] = await read("pbmLog", query, LOG_PROJECTION, MAX_LOG_DOCS, [("ts", -1)], LOG_INDEX)
    return found


def _read_done_restore(config: Any) -> bool:
    """Whether GetLastRestore can matter: only the slicer's Catchup reads it, with PITR on and not oplog-only."""
    return pitr_enabled(config) and not oplog_only(config)


async def _pitr_errors(read: Any, config: Any, facts: dict[str, Observed[Any]], replica_sets: tuple[str, ...]
                       ) -> Observed[Any]:
    """PBM's own newest PITR error of each replica set whose slicer cannot start (model/pitr_catchup.py), the way
    `pbm status` finds it (cmd/pbm/status.go getPitrErr, v2.15.0): the newest pbmLog entry with e "pitr", s Error,
    ep the config's epoch and that rs, unless a "start_ok" (s Debug) of the same keys was logged after it. Read only
    with PITR on and then only for those replica sets (none while PITR resumes: no read), through PBM's index
    epoch_rs_event_severity_ts {ep, rs, e, s, ts: -1} (PBM 2.13+, hinted so that a missing index fails rather than
    scans the capped collection), one entry each; the start_ok read is bounded below by the error's ts."""
    epoch = config.get("epoch") if isinstance(config, dict) else None
    catalogue, restore = facts.get("catalogue", Observed([])), facts["last_done_restore"]
    if not _read_done_restore(config) or not isinstance(epoch, Timestamp) or not catalogue.ok or not restore.ok:
        return Observed([])
    blocked = [rs for rs in replica_sets[:MAX_LOCKS]
               if catchup_blocker(rs, catalogue.value or [], restore.value) is not None]
    if blocked and not any(_pbm_version(d.get("v")) >= LOG_INDEX_SINCE for d in facts["agents"].value or []):
        return Observed.failed("PBM before 2.13 keeps no index on admin.pbmLog to read it through")
    errors: list[dict[str, Any]] = []
    for rs in blocked:
        keys = {"ep": epoch, "rs": rs, "e": PITR_EVENT}
        found: Observed[Any] = await read("pbmLog", {**keys, "s": ERROR}, PITR_LOG_PROJECTION, 1, [("ts", -1)],
                                          EPOCH_LOG_INDEX)
        if not found.ok:
            return found
        entry = next(iter(found.value or []), None)
        if not isinstance(entry, dict) or not isinstance(entry.get("ts"), int):
            continue
        started: Observed[Any] = await read("pbmLog", {**keys, "s": DEBUG, "ts": {"$gt": entry["ts"]}, "msg": START_OK},
                             PITR_LOG_PROJECTION, 1, [("ts", -1)], EPOCH_LOG_INDEX)
        if not started.ok:
            return started
        if not started.value:
            errors.append(entry)
    return Observed(errors)


def _pbm_version(version: Any) -> tuple[int, int]:
    """(major, minor) of an agent document's v ("2.7.0", "v2.5.1"); (99, 0) when unreadable (not old)."""
    parts = str(version or "").removeprefix("v").split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return 99, 0


def _replica_set_hosts(value: Any) -> tuple[str, tuple[str, ...]]:
    """("rs0", ("h1:27018", "h2:27018")) from a shard host string "rs0/h1:27018,h2:27018"."""
    if not isinstance(value, str) or "/" not in value:
        return "", ()
    name, _, hosts = value.partition("/")
    return name, tuple(h for h in hosts.split(",") if h)


class _ProbeError(Exception):
    """A probe that cannot go on, with a message meant for the user."""


def _server_error(host: str, port: int | None, error: Exception | None) -> str:
    """pymongo's monitor error without the repeated address and the list of configured timeouts."""
    if error is None:
        return ""
    return _clean(str(error).removeprefix(f"{host}:{port}: "))


def _clean(text: str) -> str:
    """pymongo's message without the list of configured timeouts it appends."""
    return re.sub(r"\s*\(configured timeouts:[^)]*\)", "", text).strip()


def _split_address(text: str) -> tuple[str, str]:
    """("127.0.0.1:27017", "connection closed") from pymongo's "127.0.0.1:27017: connection closed"."""
    match = re.match(r"(\S+:\d+): (.*)$", text, re.S)
    return (match.group(1), match.group(2)) if match else ("", text)


def _member_states(client: MongoClient) -> str:
    """What pymongo's monitors last saw of each member: its type, or why it could not be reached."""
    servers = client.topology_description.server_descriptions()
    return "; ".join(f"{host}:{port}: {_server_error(host, port, sd.error) or sd.server_type_name}"
                     for (host, port), sd in servers.items())


def _operation_failure(exc: OperationFailure) -> str:
    details = exc.details or {}
    name = details.get("codeName") or f"code {exc.code}"
    message = details.get("errmsg") or str(exc)
    return f"{name}: {message}"


MAX_AGENT_USERS = 10  # distinct pbm-agent users judged; more is a misconfiguration the first ten already show


async def _read_agent_users(admin: Any, pref: Any, connection_status: Observed[dict[str, Any]]
                            ) -> dict[str, Observed[Any]]:
    """Who PBM's work runs as: the users of pbm-agent's connections to the primary, and their privileges.

    pbm-agent does every backup, restore and oplog slice as its own PBM_MONGODB_URI user, on the connection it opens
    with appName "pbm-agent" to the cluster's leader (cmd/pbm-agent/main.go `connect.Connect(ctx, mongoURI,
    "pbm-agent")`). `currentOp` with `$all` lists idle connections too, filtered here by appName; seeing other
    users' needs the inprog action (clusterMonitor). `usersInfo` of another user needs viewUser on its database;
    the exporter's own user is judged from connectionStatus, so a usersInfo is sent only for a different one.
    """
    ops = await _observe(admin.command({"currentOp": 1, "$all": True, "appName": "pbm-agent"}, read_preference=pref))
    if ops.value is None:
        return {"agent_users": ops, "agent_user_info": Observed.failed("the pbm-agent users are unknown")}
    users: list[dict[str, Any]] = []
    inprog = ops.value.get("inprog")
    for op in inprog if isinstance(inprog, list) else []:
        effective = op.get("effectiveUsers") if isinstance(op, dict) else None
        for user in effective if isinstance(effective, list) else []:
            if (isinstance(user, dict) and isinstance(user.get("user"), str) and isinstance(user.get("db"), str)
                    and {"user": user["user"], "db": user["db"]} not in users and len(users) < MAX_AGENT_USERS):
                users.append({"user": user["user"], "db": user["db"]})
    return {"agent_users": Observed(users),
            "agent_user_info": await _read_users_info(admin, pref, users, connection_status)}


async def _read_users_info(admin: Any, pref: Any, users: list[dict[str, Any]],
                           connection_status: Observed[dict[str, Any]]) -> Observed[Any]:
    """usersInfo {showPrivileges: true} of those users that are not the connection's own (no read when none)."""
    auth = (connection_status.value or {}).get("authInfo")
    own = auth.get("authenticatedUsers") if isinstance(auth, dict) else None
    others = [u for u in users if not (isinstance(own, list) and u in own)]
    if not others:
        return Observed([])
    reply = await _observe(admin.command("usersInfo", others, showPrivileges=True, read_preference=pref))
    found = (reply.value or {}).get("users")
    return reply if reply.value is None else Observed([
        {k: d.get(k) for k in ("user", "db", "inheritedRoles", "inheritedPrivileges")}
        for d in (found if isinstance(found, list) else []) if isinstance(d, dict)])


async def _observe(call: Any) -> Observed[dict[str, Any]]:
    """Await a command; a refusal becomes the fact's error instead of failing the probe (_refusal)."""
    try:
        return Observed(_plain(await call))
    except OperationFailure as exc:
        if exc.code == AUTHENTICATION_FAILED:
            raise
        return _refusal(exc)
    except ConfigurationError as exc:
        return Observed.failed(str(exc))


def _refusal(exc: OperationFailure) -> Observed[Any]:
    """A command's or a read's refusal as the fact's error. The probe's deadline passing (ExecutionTimeout, an
    OperationFailure too) is not one fact's: it is raised again, and the probe fails as a timeout."""
    if isinstance(exc, ExecutionTimeout):
        raise exc
    return Observed.failed(_operation_failure(exc))


def _plain(doc: Any) -> Any:
    """Plain dicts and lists (pymongo may hand back SON or RawBSON-like mappings)."""
    if isinstance(doc, dict):
        return {str(k): _plain(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_plain(v) for v in doc]
    return doc


def _failure_cause(exc: PyMongoError) -> str:
    if isinstance(exc, NotPrimaryError):  # before AutoReconnect, its base class
        return "election"
    if isinstance(exc, AutoReconnect):  # connection lost or refused, server selection timed out
        return UNREACHABLE
    if isinstance(exc, OperationFailure):
        return "authentication failed" if exc.code == AUTHENTICATION_FAILED else f"command failed with code {exc.code}"
    return type(exc).__name__
