"""A simulated replica set (or standalone mongod) whose members speak the MongoDB wire protocol.

Every reply is shaped like the real server's; each shape names its source. All nodes of all simulated sets are
served by one asyncio loop in one daemon thread (`_loop.py`); the sync API below is safe from any other thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

import bson
from bson import Binary, Int64, ObjectId, Timestamp

from . import scram
from ._loop import sim_loop
from .errors import CommandError
from .node import STATE_STR, Connection, Cursor, SaslState, SimNode, canonical_command, quote
from .pbm import MemberView, agent_document, parse_version
from .pbm_log import log_documents
from .pbm_operations import PBMOperations
from .privileges import authorized_on_cluster, authorized_on_namespace, expand_roles
from .query import matches, project, sort_docs
from .specs import (
    DEFAULT_MEMBERS,
    DEFAULT_PBM_CONFIG,
    DEFAULT_ROLES,
    DEFAULT_USERS,
    EXTERNAL_DB,
    MONGODB_X509,
    MemberSpec,
    SimRole,
    SimTLS,
    SimUser,
)
from .tls import server_context
from .wire import Request

#: a dynamic collection's index (SimReplicaSet.dynamic_indexes): (filter, sort) -> (documents, in the sort's order)
IndexScan = Callable[[Mapping[str, Any], Mapping[str, Any] | None], tuple[Sequence[dict[str, Any]], bool] | None]

log = logging.getLogger("pbm_pmm_simulator")

MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024
MAX_MESSAGE_SIZE_BYTES = 48_000_000
MAX_WRITE_BATCH_SIZE = 100_000
DEFAULT_BATCH_SIZE = 101

# maxWireVersion by server release (mongodb/specifications `wireversion-featurelist`).
_WIRE_VERSIONS: dict[tuple[int, int], int] = {
    (3, 6): 6, (4, 0): 7, (4, 2): 8, (4, 4): 9, (5, 0): 13, (5, 1): 14, (5, 2): 15, (5, 3): 16,
    (6, 0): 17, (6, 1): 18, (6, 2): 19, (6, 3): 20, (7, 0): 21, (7, 1): 22, (7, 2): 23, (7, 3): 24,
    (8, 0): 25, (8, 1): 26, (8, 2): 27, (8, 3): 28,
}  # fmt: skip

# Commands a connection may run before authenticating (server: `requiresAuth() == false`).
_NO_AUTH_COMMANDS = frozenset(
    {
        "hello", "isMaster", "saslStart", "saslContinue", "authenticate", "ping", "buildInfo", "connectionStatus",
        "endSessions",
    }
)
# Fields a driver may add to any command (docs "Command" generic arguments): not a command's own
_GENERIC_FIELDS = frozenset({"lsid", "comment", "maxTimeMS", "txnNumber", "autocommit", "startTransaction",
                             "readConcern", "writeConcern"})
# The simulator never accepts writes: the exporter must be read-only.
_WRITE_COMMANDS = frozenset(
    {
        "insert", "update", "delete", "findAndModify", "findandmodify", "bulkWrite", "create", "drop",
        "dropDatabase", "createIndexes", "dropIndexes", "renameCollection", "collMod", "createUser",
        "dropUser", "updateUser", "grantRolesToUser", "revokeRolesFromUser", "createRole", "dropRole",
        "updateRole", "replSetReconfig", "replSetStepDown", "replSetFreeze", "shutdown", "fsync",
        "applyOps", "setFeatureCompatibilityVersion",
    }
)  # fmt: skip


def wire_version(mongo_version: str) -> int:
    major, minor, _ = parse_version(mongo_version)
    if (major, minor) in _WIRE_VERSIONS:
        return _WIRE_VERSIONS[(major, minor)]
    lower = [v for k, v in _WIRE_VERSIONS.items() if k <= (major, minor)]
    return max(lower) if lower else 6


def _dt(secs: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(secs, tz=datetime.UTC)


def _render_first(body: Mapping[str, Any], db: str) -> str:
    """`{ find: "pbmAgents", $db: "admin" }`: the server's (here shortened) rendering of a command."""
    name = next(iter(body), "")
    value = body.get(name)
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    return f'{{ {name}: {shown}, $db: "{db}" }}'


def _payload(value: Any) -> bytes:
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    return b""


def _first_matches(candidates: Sequence[dict[str, Any]], query: Mapping[str, Any], want: int
                   ) -> tuple[list[dict[str, Any]], int]:
    """The first `want` candidates (all when 0) that match, in their order, and how many were examined."""
    docs: list[dict[str, Any]] = []
    for examined, doc in enumerate(candidates, 1):
        if matches(doc, query):
            docs.append(doc)
            if want and len(docs) >= want:
                return docs, examined
    return docs, len(candidates)


class SimReplicaSet:
    """A simulated replica set; `SimReplicaSet().start()` is a healthy 3-member PSMDB 7.0 set with PBM 2.7.0
    agents and the `pmm` user (password `secret`) holding PMM's monitoring and backup roles. `tls=SimTLS(...)`
    makes every member accept TLS connections only (and MONGODB-X509 authentication for `$external` users).

    State changes (`step_down`, `set_primary`, `grant_role`, faults on `members[i]`, ...) are thread-safe and are
    visible to the next command. Mutating `pbm_config`, `extra_agent_docs`, `collections` or a member's `agent`
    directly is fine too; do it under `rs.lock` if clients are querying at the same time.
    """

    def __init__(
        self,
        name: str = "rs0",
        members: Sequence[MemberSpec] = DEFAULT_MEMBERS,
        *,
        mongo_version: str = "7.0.14",
        psmdb: bool = True,
        users: Sequence[SimUser] = DEFAULT_USERS,
        roles: Sequence[SimRole] = DEFAULT_ROLES,
        pbm_config: Mapping[str, Any] | None = DEFAULT_PBM_CONFIG,
        extra_agent_docs: Sequence[Mapping[str, Any]] = (),
        collections: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]] | None = None,
        clock_offset: float = 0.0,
        standalone: bool = False,
        host_name: str = "127.0.0.1",
        tls: SimTLS | None = None,
        agent_user: tuple[str, str] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        #: TLS on every member (requireTLS); None: plain TCP
        self.tls = tls
        self.ssl_context = server_context(tls) if tls is not None else None
        #: how members are named in the replica-set config (e.g. "localhost", to test name/IP matching)
        self.host_name = host_name
        self.name = name
        self.standalone = standalone
        specs = list(members)
        if standalone:
            if members is DEFAULT_MEMBERS:
                specs = [MemberSpec()]
            if len(specs) != 1:
                raise ValueError("a standalone mongod has exactly one member")
            if specs[0].arbiter:
                raise ValueError("a standalone mongod cannot be an arbiter")
        if not specs:
            raise ValueError("a replica set needs at least one member")
        self.mongo_version = mongo_version
        self.psmdb = psmdb
        self.users: dict[tuple[str, str], SimUser] = {(u.db, u.name): copy.deepcopy(u) for u in users}
        self.roles: dict[tuple[str, str], SimRole] = {(r.name, r.db): copy.deepcopy(r) for r in roles}
        #: (user, db) the pbm-agents authenticate as (their PBM_MONGODB_URI user); by default the first user, which
        #: is PMM's: the setup PMM's docs describe. It only shows in currentOp: the agents are not real clients.
        self.agent_user: tuple[str, str] | None = agent_user or next(((n, d) for d, n in self.users), None)
        self.pbm_config: dict[str, Any] | None = copy.deepcopy(dict(pbm_config)) if pbm_config is not None else None
        self.pbm_config_id = ObjectId()
        self.extra_agent_docs: list[dict[str, Any]] = [copy.deepcopy(dict(d)) for d in extra_agent_docs]
        self.collections: dict[tuple[str, str], list[dict[str, Any]]] = {
            key: [copy.deepcopy(dict(d)) for d in docs] for key, docs in (collections or {}).items()
        }
        fcv = ".".join(str(p) for p in parse_version(mongo_version)[:2])
        self.collections.setdefault(
            ("admin", "system.version"), [{"_id": "featureCompatibilityVersion", "version": fcv}]
        )
        self._clock_offset = float(clock_offset)
        self._last_ct = (0, 0)
        self.term = 1
        self.config_version = 1
        self.replica_set_id = ObjectId()
        #: SCRAM: honour the client's `skipEmptyExchange` (server >= 4.4). False forces the 3rd empty round trip.
        self.honor_skip_empty_exchange = True
        # --- sharded-cluster hooks (set by `SimShardedCluster`; a plain replica set leaves them alone) ---------
        #: a config server replica set (CSRS): hello `configsvr: 2`, config document `configsvr: true`
        self.configsvr = False
        #: for a shard: its cluster's CSRS (replies carry `$configServerState`; getCmdLineOpts clusterRole shardsvr)
        self.config_server: SimReplicaSet | None = None
        #: the replica sets whose pbm-agents write their `admin.pbmAgents` documents here (a CSRS: every shard's)
        self.agent_sources: list[SimReplicaSet] = []
        #: False when this set's agents write their documents elsewhere (a shard's agents write into the CSRS)
        self.serves_own_agents = True
        #: another set whose clock (clock_offset, cluster time) this one shares, as every set of a cluster does
        self.clock_source: SimReplicaSet | None = None
        #: builds the getShardMap reply; None: not part of a sharded cluster
        self.shard_map: Callable[[], dict[str, Any]] | None = None
        #: read-only collections computed at every read (after the stored documents), e.g. ("config", "shards")
        self.dynamic_collections: dict[tuple[str, str], Callable[[], list[dict[str, Any]]]] = {}
        #: called before a collection is read, to bring its stored documents up to date (a running backup's hb)
        self.read_hooks: dict[tuple[str, str], Callable[[], None]] = {}
        #: an index over a dynamic collection, as mongod answers a find through one (docs "Indexes"): given the
        #: filter and sort, the documents the filter may match (a superset, still filtered) in the index's order, and
        #: whether that order is the sort's; None when no index applies (every document is scanned)
        self.dynamic_indexes: dict[tuple[str, str], IndexScan] = {}
        #: documents each `find` returned, per namespace ("admin.pbmPITRChunks"): MongoDB counts them in
        #: serverStatus metrics.document.returned (for all namespaces); tests read it to bound what a probe reads
        self.documents_returned: Counter[str] = Counter()
        #: documents each `find` examined, per namespace: serverStatus metrics.queryExecutor.scannedObjects (docs
        #: "serverStatus"); through an index only those inside its bounds, without one the whole collection
        self.documents_examined: Counter[str] = Counter()
        #: PBM's operations (a backup, a physical restore) as its agents write them into this set's collections
        self.pbm = PBMOperations(self)
        self.dynamic_collections[("admin", "pbmLog")] = lambda: log_documents(self)
        self.members: list[SimNode] = [SimNode(self, i, spec, mongo_version, psmdb) for i, spec in enumerate(specs)]
        electable = [m.index for m in self.members if self._electable(m)]
        self._primary_index: int | None = 0 if standalone else (electable[0] if electable else None)
        self._election_secs = int(self.now_secs())
        self._start_secs: int | None = None

    def __repr__(self) -> str:
        return f"<SimReplicaSet {self.name} {self.hosts}>"

    # --- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind every member on 127.0.0.1 (ephemeral ports on first start, the same ports afterwards)."""
        with self.lock:
            if self._start_secs is None:
                self._start_secs = int(self.now_secs())
        sim_loop().run(self._start_all())
        return self

    async def _start_all(self) -> None:
        for node in self.members:
            await node._start_async()

    def stop(self) -> None:
        """Stop every member and close all connections (fast)."""
        sim_loop().run(self._stop_all())

    async def _stop_all(self) -> None:
        await asyncio.gather(*(node._stop_async(reserve=False) for node in self.members))  # ports released

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses ---------------------------------------------------------------------------------------

    @property
    def hosts(self) -> list[str]:
        return [m.host for m in self.members]

    def _build_uri(
        self,
        hosts: Sequence[str],
        user: str | None,
        password: str | None,
        *,
        auth: bool,
        replica_set: bool,
        options: Mapping[str, Any],
    ) -> str:
        creds = ""
        opts: dict[str, Any] = {}
        if auth and self.users:
            users = list(self.users.values())
            user = users[0].name if user is None else user
            known = [u for u in users if u.name == user]
            if known and known[0].is_x509 and not password:
                # The server takes the user name from the client certificate (tlsCertificateKeyFile, not added).
                opts["authMechanism"] = MONGODB_X509
                opts["authSource"] = EXTERNAL_DB
            else:
                if password is None:
                    password = known[0].password if known else ""
                creds = f"{quote(user)}:{quote(password)}@"
                opts["authSource"] = known[0].db if known else "admin"
        if replica_set and not self.standalone:
            opts = {"replicaSet": self.name, **opts}
        opts.update(options)
        query = "&".join(
            f"{k}={('true' if v else 'false') if isinstance(v, bool) else quote(str(v))}" for k, v in opts.items()
        )
        return f"mongodb://{creds}{','.join(hosts)}/" + (f"?{query}" if query else "")

    def uri(self, user: str | None = None, password: str | None = None, *, auth: bool = True, **options: Any) -> str:
        """`mongodb://pmm:secret@h1,h2,h3/?replicaSet=rs0&authSource=admin` plus `options`.

        `user`/`password` default to the first configured user and its password; `auth=False` (or a set without
        users) gives a URI without credentials. A standalone gets no `replicaSet`. For a MONGODB-X509 user: no
        credentials but `authMechanism=MONGODB-X509&authSource=$external`. TLS options are never added: pass them,
        e.g. `uri(tls=True, tlsCAFile=ca, tlsCertificateKeyFile=client_pem)`.
        """
        return self._build_uri(self.hosts, user, password, auth=auth, replica_set=True, options=options)

    # --- clock -------------------------------------------------------------------------------------------

    @property
    def clock_offset(self) -> float:
        if self.clock_source is not None:
            return self.clock_source.clock_offset
        return self._clock_offset

    @clock_offset.setter
    def clock_offset(self, value: float) -> None:
        if self.clock_source is not None:
            self.clock_source.clock_offset = value
            return
        with self.lock:
            self._clock_offset = float(value)

    def advance_clock(self, seconds: float) -> None:
        """Move the simulated servers' clocks (and so cluster time) forward."""
        if self.clock_source is not None:
            self.clock_source.advance_clock(seconds)
            return
        with self.lock:
            self._clock_offset += float(seconds)

    def now_secs(self) -> float:
        """The simulated servers' wall clock: real time + clock_offset."""
        if self.clock_source is not None:
            return self.clock_source.now_secs()
        return time.time() + self._clock_offset

    def cluster_time(self) -> Timestamp:
        """Current cluster time: Timestamp(int(now + clock_offset), counter); the counter ticks per call."""
        if self.clock_source is not None:
            return self.clock_source.cluster_time()
        with self.lock:
            secs = int(self.now_secs())
            last_secs, last_inc = self._last_ct
            inc = last_inc + 1 if secs == last_secs else 1
            self._last_ct = (secs, inc)
            return Timestamp(secs, inc)

    # --- topology ----------------------------------------------------------------------------------------

    @staticmethod
    def _electable(node: SimNode) -> bool:
        return not node.arbiter and node.priority > 0

    @property
    def primary_index(self) -> int | None:
        return self._primary_index

    @primary_index.setter
    def primary_index(self, index: int | None) -> None:
        if index is None:
            with self.lock:
                if self.standalone:
                    raise ValueError("a standalone mongod is always writable")
                if self._primary_index is not None:
                    self.term += 1
                self._primary_index = None
        else:
            self.set_primary(index)

    @property
    def primary(self) -> SimNode | None:
        with self.lock:
            return None if self._primary_index is None else self.members[self._primary_index]

    def set_primary(self, index: int) -> None:
        """Make member `index` the primary (a new election: term + 1, new electionId)."""
        with self.lock:
            if self.standalone:
                raise ValueError("a standalone mongod has no elections")
            node = self.members[index]
            if not self._electable(node):
                raise ValueError(f"member {index} cannot become primary (arbiter or priority 0)")
            if self._primary_index != index:
                self.term += 1
                self._election_secs = int(self.now_secs())
            self._primary_index = index

    def step_down(self) -> None:
        """The primary steps down; the next electable running member wins the election (or none is left)."""
        with self.lock:
            if self.standalone:
                raise ValueError("a standalone mongod has no elections")
            current = self._primary_index
            n = len(self.members)
            start = 0 if current is None else current + 1
            for k in range(n):
                node = self.members[(start + k) % n]
                if node.index != current and self._electable(node) and node.up:
                    self.set_primary(node.index)
                    return
            self.primary_index = None

    def member_state(self, node: SimNode) -> int:
        if node.arbiter:
            return 7
        if self.standalone or node.index == self._primary_index:
            return 1
        return node.forced_state if node.forced_state is not None else 2

    def _visible_primary(self) -> SimNode | None:
        if self._primary_index is None:
            return None
        node = self.members[self._primary_index]
        return node if node.up else None

    # --- users and roles ---------------------------------------------------------------------------------

    def add_user(self, user: SimUser) -> None:
        with self.lock:
            self.users[(user.db, user.name)] = copy.deepcopy(user)

    def drop_user(self, name: str, db: str = "admin") -> None:
        with self.lock:
            self.users.pop((db, name), None)

    def add_role(self, role: SimRole) -> None:
        with self.lock:
            self.roles[(role.name, role.db)] = copy.deepcopy(role)

    def drop_role(self, name: str, db: str = "admin") -> None:
        with self.lock:
            self.roles.pop((name, db), None)

    def grant_role(self, user: str, role: str, db: str, user_db: str = "admin") -> None:
        with self.lock:
            sim_user = self.users[(user_db, user)]
            refs = sim_user.role_refs
            if (role, db) not in refs:
                sim_user.roles = [*refs, (role, db)]

    def revoke_role(self, user: str, role: str, db: str, user_db: str = "admin") -> None:
        with self.lock:
            sim_user = self.users[(user_db, user)]
            sim_user.roles = [r for r in sim_user.role_refs if r != (role, db)]

    def _user_roles_and_privileges(self, conn: Connection) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
        direct: list[tuple[str, str]] = []
        for user, db in conn.users:
            sim_user = self.users.get((db, user))
            if sim_user is not None:
                direct.extend(sim_user.role_refs)
        custom = {key: (role.privileges, role.role_refs) for key, role in self.roles.items()}
        return expand_roles(direct, custom)

    def _auth_enabled(self) -> bool:
        return bool(self.users)

    def _require_namespace(self, conn: Connection, req: Request, db: str, coll: str, action: str) -> None:
        if not self._auth_enabled():
            return
        _, privileges = self._user_roles_and_privileges(conn)
        if not authorized_on_namespace(privileges, db, coll, action):
            raise CommandError(13, f"not authorized on {req.db} to execute command {_render_first(req.body, req.db)}")

    def _require_cluster(self, conn: Connection, req: Request, action: str) -> None:
        if not self._auth_enabled():
            return
        _, privileges = self._user_roles_and_privileges(conn)
        if not authorized_on_cluster(privileges, action):
            raise CommandError(13, f"not authorized on {req.db} to execute command {_render_first(req.body, req.db)}")

    # --- data --------------------------------------------------------------------------------------------

    def set_collection(self, db: str, coll: str, docs: Sequence[Mapping[str, Any]]) -> None:
        with self.lock:
            self.collections[(db, coll)] = [copy.deepcopy(dict(d)) for d in docs]

    def agent_documents(self) -> list[dict[str, Any]]:
        """The `admin.pbmAgents` documents this set holds as of now: its own agents' (unless they write into their
        cluster's CSRS), those of `agent_sources` (on a CSRS: every shard's), then seeded ones."""
        with self.lock:
            docs = self.written_agent_documents() if self.serves_own_agents else []
            for source in self.agent_sources:
                docs.extend(source.written_agent_documents())
            docs.extend(copy.deepcopy(self.collections.get(("admin", "pbmAgents"), [])))
            return docs

    def written_agent_documents(self) -> list[dict[str, Any]]:
        """The documents this set's own pbm-agents write (generated ones, then `extra_agent_docs`), wherever they
        land: here, or in the CSRS for a shard of a sharded cluster (pbm.md 0: all agents write there)."""
        with self.lock:
            docs: list[dict[str, Any]] = []
            if not self.standalone:
                now = int(self.now_secs())
                frozen_default = (self._start_secs if self._start_secs is not None else now) - 3600
                for node in self.members:
                    if node.agent is None:
                        continue
                    state = self.member_state(node)
                    view = MemberView(
                        host=node.host,
                        set_name=self.name,
                        state=state,
                        state_str=STATE_STR[state],
                        hidden=node.hidden,
                        passive=node.priority == 0 and not node.arbiter,
                        arbiter=node.arbiter,
                        delay_secs=node.delay_secs,
                        repl_lag=node.delay_secs + node.lag_secs,
                        mongo_version=node.mongo_version,
                        psmdb_version=f"{node.mongo_version}-8" if node.psmdb else None,
                        node_up=node.up,
                        down_since=node.down_since,
                        pbm_configured=(self.config_server or self).pbm_config is not None,
                    )
                    doc = agent_document(node.agent, node.agent_id, view, now, node.index, frozen_default)
                    if doc is not None:
                        docs.append(doc)
            docs.extend(copy.deepcopy(self.extra_agent_docs))
            return docs

    def _index_scan(self, db: str, coll: str, query: Mapping[str, Any], sort: Mapping[str, Any] | None
                    ) -> tuple[Sequence[dict[str, Any]], bool] | None:
        """The documents a dynamic collection's index gives for this find, when it has one that applies and no
        stored documents of its own (set_collection) or read hook sit beside it."""
        index = self.dynamic_indexes.get((db, coll))
        if index is None or self.collections.get((db, coll)) or (db, coll) in self.read_hooks:
            return None
        return index(query, sort)

    def _collection_docs(self, db: str, coll: str) -> list[dict[str, Any]]:
        if (db, coll) == ("admin", "pbmAgents"):
            return self.agent_documents()
        hook = self.read_hooks.get((db, coll))
        if hook is not None:
            hook()
        docs: list[dict[str, Any]] = []
        if (db, coll) == ("admin", "pbmConfig") and self.pbm_config is not None:
            docs.append({"_id": self.pbm_config_id, **self.pbm_config})
        docs.extend(self.collections.get((db, coll), []))
        dynamic = self.dynamic_collections.get((db, coll))
        if dynamic is not None:
            docs.extend(dynamic())
        return docs

    # --- dispatch (simulator loop thread) ----------------------------------------------------------------

    def _dispatch(self, node: SimNode, conn: Connection, req: Request) -> bytes:
        with self.lock:
            try:
                doc = self._run(node, conn, req)
            except CommandError as exc:
                doc = exc.to_doc()
            except Exception as exc:  # a simulator bug: answer like a server assertion, keep serving
                log.exception("%s: command %s failed", node.host, req.command_name)
                doc = CommandError(1, f"simulator internal error: {exc}").to_doc()
            if not self.standalone:
                doc.update(self._sharding_reply_metadata())
                # Replica-set members gossip $clusterTime and return operationTime on every reply
                # (docs "Cluster Time"; signature is all zeros without a keyfile/auth signing key).
                ct = self.cluster_time()
                doc["$clusterTime"] = {
                    "clusterTime": ct,
                    "signature": {"hash": Binary(b"\x00" * 20, 0), "keyId": Int64(0)},
                }
                doc["operationTime"] = ct
            return bson.encode(doc)

    def _sharding_reply_metadata(self) -> dict[str, Any]:
        # Server ServiceEntryPointMongod::appendReplyMetadata: members of a sharded cluster's replica sets add
        # `lastCommittedOpTime`; shard members (not config servers) also `$configServerState: {opTime: {ts, t}}`,
        # the config optime they know (what PBM's NodeInfo.IsSharded() reads off `hello`).
        if not self.configsvr and self.config_server is None:
            return {}
        now = int(self.now_secs())
        r: dict[str, Any] = {"lastCommittedOpTime": Timestamp(now, 1)}
        if self.config_server is not None:
            r["$configServerState"] = {"opTime": {"ts": Timestamp(now, 1), "t": Int64(self.config_server.term)}}
        return r

    def _run(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        name = req.command_name
        canonical = canonical_command(name)
        refusal = node.refusal(name)
        if refusal is not None:
            code, errmsg = refusal
            if errmsg is None:
                errmsg = (
                    f"not authorized on {req.db} to execute command {_render_first(req.body, req.db)}"
                    if code == 13
                    else f"simulated failure of command {name}"
                )
            raise CommandError(code, errmsg)
        if req.legacy and canonical not in ("hello", "isMaster") and wire_version(node.mongo_version) >= 14:
            # 5.1+: OP_QUERY is accepted only for the handshake (docs "Legacy Opcodes" removal).
            raise CommandError(
                352,
                f"Unsupported OP_QUERY command: {name}. The client driver may require an upgrade. For more details "
                "see https://dochub.mongodb.org/core/legacy-opcode-removal",
            )
        handler = self._handlers().get(canonical)
        if handler is None and canonical not in _WRITE_COMMANDS:
            raise CommandError(59, f"no such command: '{name}'")
        if canonical not in _NO_AUTH_COMMANDS and self._auth_enabled() and not conn.users:
            raise CommandError(13, f"command {name} requires authentication")
        if handler is None:
            raise CommandError(
                13,
                f"not authorized on {req.db} to execute command {_render_first(req.body, req.db)} "
                "(the simulator is read-only)",
            )
        return handler(node, conn, req)

    def _handlers(self) -> dict[str, Callable[[SimNode, Connection, Request], dict[str, Any]]]:
        return {
            "hello": self._cmd_hello,
            "isMaster": self._cmd_hello,
            "ping": self._cmd_ping,
            "buildInfo": self._cmd_build_info,
            "saslStart": self._cmd_sasl_start,
            "saslContinue": self._cmd_sasl_continue,
            "authenticate": self._cmd_authenticate,
            "connectionStatus": self._cmd_connection_status,
            "replSetGetStatus": self._cmd_repl_set_get_status,
            "replSetGetConfig": self._cmd_repl_set_get_config,
            "find": self._cmd_find,
            "getMore": self._cmd_get_more,
            "killCursors": self._cmd_kill_cursors,
            "endSessions": self._cmd_end_sessions,
            "getShardMap": self._cmd_get_shard_map,
            "getCmdLineOpts": self._cmd_get_cmd_line_opts,
            "currentOp": self._cmd_current_op,
            "usersInfo": self._cmd_users_info,
            "getParameter": self._cmd_get_parameter,
        }

    # --- commands ----------------------------------------------------------------------------------------

    def _optime_secs(self, node: SimNode, now: int) -> int:
        return now - node.delay_secs

    def _commit_secs(self, now: int) -> int:
        """The majority commit point: the newest optime that writeMajorityCount voting data-bearing members have
        applied (docs "Replica Set Data Synchronization", "writeMajorityCount" in replSetGetStatus; server
        TopologyCoordinator::updateLastCommittedOpTimeAndWallTime). A member that is down keeps the optime it had when
        it went down, so a PSA set with its secondary down stops its commit point there (docs "Mitigate Performance
        Issues with PSA Replica Set")."""
        applied = sorted(((self._optime_secs(m, now) if m.up else (m.down_since or 0)) for m in self.members
                          if m.votes > 0 and not m.arbiter), reverse=True)
        voting = sum(1 for m in self.members if m.votes > 0)
        count = min(voting // 2 + 1, len(applied))
        return applied[count - 1] if count else 0

    def _oplog_docs(self, node: SimNode) -> list[dict[str, Any]]:
        """local.oplog.rs of one member, in natural (insertion) order: its oldest kept entry, `oplog_window_secs`
        before its newest, and the newest (what `find` sorted by {$natural: 1 | -1} with limit 1 returns, as
        mongosh's db.getReplicationInfo() reads tFirst and tLast). Entry shape: docs "Replica Set Oplog" (ts, t, v,
        op, ns, o, wall); the entries in between are left out: no reader of the simulator scans them."""
        newest = self._optime_secs(node, int(self.now_secs()))
        oldest = max(newest - int(node.oplog_window_secs), 1)
        ends = [oldest] if oldest >= newest else [oldest, newest]
        return [{"ts": Timestamp(secs, 1), "t": Int64(self.term), "v": Int64(2), "op": "n", "ns": "",
                 "o": {"msg": "periodic noop"}, "wall": _dt(secs)} for secs in ends]

    def _cmd_hello(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "hello" (https://www.mongodb.com/docs/manual/reference/command/hello/) and server
        # TopologyCoordinator::fillHelloForReplSet. Real servers put `topologyVersion` first; it is deliberately
        # omitted so that drivers use polling monitoring instead of the streaming (awaitable hello) protocol.
        legacy_name = req.command_name in ("isMaster", "ismaster")
        writable_key = "ismaster" if legacy_name else "isWritablePrimary"
        body = req.body
        now = self.now_secs()
        r: dict[str, Any] = {}
        if self.standalone:
            r[writable_key] = True
        else:
            state = self.member_state(node)
            visible = [m for m in self.members if not m.hidden and m.delay_secs == 0]
            r["hosts"] = [m.host for m in visible if self._electable(m)]
            passives = [m.host for m in visible if not m.arbiter and m.priority == 0]
            arbiters = [m.host for m in visible if m.arbiter]
            if passives:
                r["passives"] = passives
            if arbiters:
                r["arbiters"] = arbiters
            r["setName"] = self.name
            r["setVersion"] = self.config_version
            r[writable_key] = state == 1
            r["secondary"] = state == 2
            primary = self._visible_primary()
            if primary is not None:
                r["primary"] = primary.host
            if node.arbiter:
                r["arbiterOnly"] = True
            elif node.priority == 0:
                r["passive"] = True
            if node.hidden:
                r["hidden"] = True
            if node.delay_secs > 0:
                if wire_version(node.mongo_version) >= 13:
                    r["secondaryDelaySecs"] = Int64(node.delay_secs)
                else:
                    r["slaveDelay"] = node.delay_secs
            r["me"] = node.host
            if state == 1:
                r["electionId"] = ObjectId(bytes.fromhex("7fffffff") + self.term.to_bytes(8, "big"))
            if not node.arbiter:
                op_secs = self._optime_secs(node, int(now))
                optime = {"ts": Timestamp(op_secs, 1), "t": Int64(self.term)}
                majority_secs = min(op_secs, self._commit_secs(int(now)))
                r["lastWrite"] = {
                    "opTime": optime,
                    "lastWriteDate": _dt(op_secs),
                    "majorityOpTime": {"ts": Timestamp(majority_secs, 1), "t": Int64(self.term)},
                    "majorityWriteDate": _dt(majority_secs),
                }
        if self.configsvr:
            # Server CmdHello::run (repl/replication_info.cpp): config servers add configsvr: 2 here.
            r["configsvr"] = 2
        r["maxBsonObjectSize"] = MAX_BSON_OBJECT_SIZE
        r["maxMessageSizeBytes"] = MAX_MESSAGE_SIZE_BYTES
        r["maxWriteBatchSize"] = MAX_WRITE_BATCH_SIZE
        r["localTime"] = _dt(now)
        r["logicalSessionTimeoutMinutes"] = 30
        r["connectionId"] = conn.connection_id
        r["minWireVersion"] = 0
        r["maxWireVersion"] = wire_version(node.mongo_version)
        r["readOnly"] = False
        mechs_for = body.get("saslSupportedMechs")
        if isinstance(mechs_for, str) and "." in mechs_for:
            # docs "hello": saslSupportedMechs "<db.username>" -> the user's mechanisms (omitted if unknown).
            db, _, user_name = mechs_for.partition(".")
            sim_user = self._lookup_user(node, user_name, db)
            if sim_user is not None:
                r["saslSupportedMechs"] = [m for m in sim_user.mechanisms if m != MONGODB_X509]
        # SCRAM's `speculativeAuthenticate` (saslStart) is ignored and never answered: the driver then runs saslStart.
        self._speculative_authenticate(node, conn, body, r)
        if body.get("helloOk"):
            r["helloOk"] = True
        r["ok"] = 1.0
        return r

    def _cmd_ping(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # docs "ping": {ok: 1}
        return {"ok": 1.0}

    def _cmd_get_parameter(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # docs "getParameter": needs the getParameter action on the cluster (clusterMonitor has it); the reply of
        # {getParameter: 1, featureCompatibilityVersion: 1} is {featureCompatibilityVersion: {version: "7.0"}, ok: 1}
        # (docs "View FeatureCompatibilityVersion"), read from admin.system.version {_id: featureCompatibilityVersion}
        # (while an upgrade is under way that document also carries targetVersion, which the reply repeats). Only
        # that parameter is simulated; any other is refused as the server refuses an unknown one.
        self._require_cluster(conn, req, "getParameter")
        wanted = [k for k in req.body
                  if k not in _GENERIC_FIELDS and k != "getParameter" and not k.startswith(("$", "api"))]
        if wanted != ["featureCompatibilityVersion"]:
            raise CommandError(72, "no option found to get", "InvalidOptions")
        doc = next((d for d in self.collections.get(("admin", "system.version"), [])
                    if d.get("_id") == "featureCompatibilityVersion"), None)
        if doc is None:
            raise CommandError(72, "no option found to get", "InvalidOptions")
        reply = {k: doc[k] for k in ("version", "targetVersion", "previousVersion") if k in doc}
        return {"featureCompatibilityVersion": reply, "ok": 1.0}

    def upgrade(self, version: str) -> None:
        """Every member restarted on MongoDB `version` (buildInfo, the agents' mv); the FCV stays until set_fcv, as
        after a real binary upgrade (docs "Upgrade a Replica Set": setFeatureCompatibilityVersion is a last step)."""
        with self.lock:
            self.mongo_version = version
            for node in self.members:
                node.mongo_version = version
            if self._primary_index is not None:  # the primary too restarted (stepped down first, as the docs say):
                self.term += 1  # a new election, a new electionId
                self._election_secs = int(self.now_secs())

    def set_fcv(self, version: str) -> None:
        """setFeatureCompatibilityVersion, as an administrator runs it after an upgrade (admin.system.version)."""
        with self.lock:
            docs = [d for d in self.collections.get(("admin", "system.version"), [])
                    if d.get("_id") != "featureCompatibilityVersion"]
            docs.append({"_id": "featureCompatibilityVersion", "version": version})
            self.collections[("admin", "system.version")] = docs

    def _cmd_end_sessions(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # docs "endSessions": {ok: 1}
        return {"ok": 1.0}

    def _cmd_build_info(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "buildInfo" (7.0 output); PSMDB adds `psmdbVersion` (read by PBM `version.GetMongoVersion`).
        version = node.mongo_version
        major, minor, patch = parse_version(version)
        r: dict[str, Any] = {"version": version}
        if node.psmdb:
            r["psmdbVersion"] = f"{version}-8"
        r.update(
            {
                "gitVersion": hashlib.sha1(version.encode()).hexdigest(),
                "modules": [],
                "allocator": "tcmalloc",
                "javascriptEngine": "mozjs",
                "sysInfo": "deprecated",
                "versionArray": [major, minor, patch, 0],
                "openssl": {"running": "OpenSSL 3.0.2 15 Mar 2022", "compiled": "OpenSSL 3.0.2 15 Mar 2022"},
                "buildEnvironment": {
                    "distmod": "ubuntu2204",
                    "distarch": "x86_64",
                    "cc": "/opt/mongodbtoolchain/v4/bin/gcc: gcc (GCC) 11.3.0",
                    "ccflags": "-Werror -include mongo/platform/basic.h -ffp-contract=off -fasynchronous-unwind-tables",
                    "cxx": "/opt/mongodbtoolchain/v4/bin/g++: g++ (GCC) 11.3.0",
                    "cxxflags": "-Woverloaded-virtual -Wpessimizing-move -Wno-maybe-uninitialized -std=c++20",
                    "linkflags": "-Wl,--fatal-warnings -pthread -Wl,-z,now -fuse-ld=gold -fstack-protector-strong",
                    "target_arch": "x86_64",
                    "target_os": "linux",
                    "cppdefines": "SAFEINT_USE_INTRINSICS 0 PCRE2_STATIC NDEBUG _XOPEN_SOURCE 700 _GNU_SOURCE",
                },
                "bits": 64,
                "debug": False,
                "maxBsonObjectSize": MAX_BSON_OBJECT_SIZE,
                # Community: devnull + wiredTiger; PSMDB (and Enterprise) also ship inMemory.
                "storageEngines": ["devnull", "inMemory", "wiredTiger"] if node.psmdb else ["devnull", "wiredTiger"],
                "ok": 1.0,
            }
        )
        return r

    # --- authentication ----------------------------------------------------------------------------------

    def _lookup_user(self, node: SimNode, name: str, db: str) -> SimUser | None:
        if node.arbiter:
            return None  # arbiters hold no data, hence no users
        return self.users.get((db, name))

    @staticmethod
    def _auth_failed() -> CommandError:
        # Server: any SCRAM failure is reported as {code: 18, errmsg: "Authentication failed."}.
        return CommandError(18, "Authentication failed.")

    def _cmd_sasl_start(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "saslStart"; reply {conversationId: 1, done: false, payload: <server-first>, ok: 1}.
        body = req.body
        mechanism = body.get("mechanism")
        if mechanism not in scram.MECHANISMS:
            raise CommandError(
                334, f"Received authentication for mechanism {mechanism} which is unknown or not enabled"
            )
        try:
            user_name, client_nonce, first_bare = scram.parse_client_first(_payload(body.get("payload")))
        except (scram.ScramError, UnicodeDecodeError) as exc:
            raise self._auth_failed() from exc
        sim_user = self._lookup_user(node, user_name, req.db)
        if sim_user is None:
            raise self._auth_failed()
        if mechanism not in sim_user.mechanisms:
            raise CommandError(
                334,
                f"Unable to use {mechanism} based authentication for user without any {mechanism} credentials "
                "registered",
            )
        creds = scram.credentials(str(mechanism), sim_user.name, sim_user.password)
        conversation = scram.ScramConversation(creds, sim_user.name, client_nonce, first_bare)
        options = body.get("options")
        skip = bool(isinstance(options, Mapping) and options.get("skipEmptyExchange"))
        conn.sasl = SaslState(conversation, req.db, skip and self.honor_skip_empty_exchange)
        return {"conversationId": 1, "done": False, "payload": Binary(conversation.server_first), "ok": 1.0}

    def _cmd_sasl_continue(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "saslContinue"; {conversationId, done, payload, ok}.
        state = conn.sasl
        if state is None or req.body.get("conversationId") != 1:
            raise CommandError(17, "No SASL session state found", "ProtocolError")
        payload = _payload(req.body.get("payload"))
        conversation = state.conversation
        if not conversation.proof_ok:
            try:
                server_final = conversation.client_final(payload)
            except (scram.ScramError, UnicodeDecodeError) as exc:
                conn.sasl = None
                raise self._auth_failed() from exc
            done = state.skip_empty_exchange
            if done:
                conn.sasl = None
                conn.users = [(conversation.user, state.db)]
            return {"conversationId": 1, "done": done, "payload": Binary(server_final), "ok": 1.0}
        # The final empty exchange of RFC 5802 when skipEmptyExchange was not honoured.
        conn.sasl = None
        conn.users = [(conversation.user, state.db)]
        return {"conversationId": 1, "done": True, "payload": Binary(b""), "ok": 1.0}

    def _x509_authenticate(self, node: SimNode, conn: Connection, db: str, body: Mapping[str, Any]) -> dict[str, Any]:
        # Server authentication_commands.cpp (CmdAuthenticate, authX509): the user is the verified client
        # certificate's subject; a given `user` must equal it. Reply {dbname: "$external", user: <subject>}.
        mechanism = body.get("mechanism")
        if not isinstance(mechanism, str) or not mechanism:
            raise CommandError(2, "Auth mechanism not specified", "BadValue")
        if mechanism != MONGODB_X509:
            raise CommandError(2, f"Unsupported mechanism: {mechanism}", "BadValue")
        if db != EXTERNAL_DB:
            raise CommandError(17, "X.509 authentication must always use the $external database.", "ProtocolError")
        if self.tls is None:
            raise CommandError(17, "SSL support is required for the MONGODB-X509 mechanism.", "ProtocolError")
        subject = conn.peer_subject
        requested = body.get("user")
        if subject is None or (requested is not None and requested != subject):
            raise self._auth_failed()
        sim_user = self._lookup_user(node, subject, EXTERNAL_DB)
        if sim_user is None or MONGODB_X509 not in sim_user.mechanisms:
            raise self._auth_failed()
        conn.sasl = None
        conn.users = [(subject, EXTERNAL_DB)]
        return {"dbname": EXTERNAL_DB, "user": subject}

    def _cmd_authenticate(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "authenticate" (MONGODB-X509 only since 4.0): {dbname, user, ok}.
        return {**self._x509_authenticate(node, conn, req.db, req.body), "ok": 1.0}

    def _speculative_authenticate(
        self, node: SimNode, conn: Connection, body: Mapping[str, Any], reply: dict[str, Any]
    ) -> None:
        # Server speculative_auth.cpp (doSpeculativeAuthenticate): a hello carrying `speculativeAuthenticate:
        # {authenticate: 1, mechanism: "MONGODB-X509"[, user]}` authenticates on $external during the handshake and
        # answers `speculativeAuthenticate: {dbname, user}`; a failure is silent (the driver then runs
        # `authenticate` and gets the error).
        spec = body.get("speculativeAuthenticate")
        if not isinstance(spec, Mapping) or next(iter(spec), None) != "authenticate":
            return
        with contextlib.suppress(CommandError):
            reply["speculativeAuthenticate"] = self._x509_authenticate(node, conn, EXTERNAL_DB, spec)

    def _cmd_connection_status(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "connectionStatus": {authInfo: {authenticatedUsers, authenticatedUserRoles
        # [, authenticatedUserPrivileges]}, ok}. Roles include inherited ones (server: User::getIndirectRoles).
        users = [(u, db) for u, db in conn.users if (db, u) in self.users]
        roles, privileges = self._user_roles_and_privileges(conn)
        auth_info: dict[str, Any] = {
            "authenticatedUsers": [{"user": u, "db": db} for u, db in users],
            "authenticatedUserRoles": [{"role": r, "db": db} for r, db in roles],
        }
        if req.body.get("showPrivileges"):
            auth_info["authenticatedUserPrivileges"] = privileges
        return {"authInfo": auth_info, "ok": 1.0}

    def _cmd_users_info(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "usersInfo": {users: [{_id: "<db>.<user>", userId, user, db, mechanisms, roles
        # [, inheritedRoles, inheritedPrivileges with showPrivileges]}], ok}. Forms: {user, db}, a list of them, or
        # a name on the command's database. Required access (docs): a user may always view itself; another user
        # needs the viewUser action on that user's database. An unknown user is left out, not an error.
        spec = req.body.get("usersInfo")
        wanted: list[tuple[str, str]] = []
        for item in spec if isinstance(spec, list) else [spec]:
            if isinstance(item, str):
                wanted.append((item, req.db))
            elif isinstance(item, Mapping) and isinstance(item.get("user"), str) and isinstance(item.get("db"), str):
                wanted.append((item["user"], item["db"]))
            else:
                raise CommandError(2, "User and role names must be either strings or objects", "BadValue")
        out = []
        for user, db in wanted:
            if self._auth_enabled() and (user, db) not in conn.users:
                self._require_namespace(conn, req, db, "", "viewUser")
            sim_user = self.users.get((db, user))
            if sim_user is None:
                continue
            doc: dict[str, Any] = {"_id": f"{db}.{user}", "user": user, "db": db,
                                   "roles": [{"role": r, "db": d} for r, d in sim_user.role_refs],
                                   "mechanisms": list(sim_user.mechanisms)}
            if req.body.get("showPrivileges"):
                custom = {key: (role.privileges, role.role_refs) for key, role in self.roles.items()}
                roles, privileges = expand_roles(sim_user.role_refs, custom)
                doc["inheritedRoles"] = [{"role": r, "db": d} for r, d in roles]
                doc["inheritedPrivileges"] = privileges
            out.append(doc)
        return {"users": out, "ok": 1.0}

    def _cmd_current_op(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "currentOp": {inprog: [...], ok}; `$all: true` adds idle connections, `$ownOps` (default
        # false) shows every user's, which needs the inprog action on the cluster (clusterMonitor); the other
        # top-level fields filter (only equality is modelled). Each document of an idle client connection carries
        # the fields of the docs' prototype (mongodb/docs source/includes/currentOp-output-example.rst, 7.x): type
        # "op", host, desc "conn<N>", connectionId, client, appName, clientMetadata, active false, currentOpTime and,
        # once it authenticated, effectiveUsers [{user, db}].
        # Connections modelled: each running pbm-agent's leadConn, which PBM opens with appName "pbm-agent" to the
        # cluster's leader, the primary of the replica set or of the config servers (cmd/pbm-agent/main.go
        # `connect.Connect(ctx, mongoURI, "pbm-agent")`, pbm/connect/connect.go Connect); its nodeConn (appName
        # "pbm", direct to the agent's own node) is left out.
        self._admin_only(req)
        if not req.body.get("$ownOps"):
            self._require_cluster(conn, req, "inprog")
        ops: list[dict[str, Any]] = []
        if self.member_state(node) == 1:  # a shard's agents lead from the config servers (agent_sources there)
            sources = ([self] if self.serves_own_agents else []) + list(self.agent_sources)
            for source in sources:
                for agent_node in source.members:
                    if agent_node.agent is None or not agent_node.agent.running:
                        continue
                    conn_id = 10_000 + 100 * sources.index(source) + agent_node.index
                    op: dict[str, Any] = {
                        "type": "op", "host": node.host, "desc": f"conn{conn_id}", "connectionId": conn_id,
                        "client": f"{agent_node.host.rsplit(':', 1)[0]}:{40_000 + conn_id}", "appName": "pbm-agent",
                        "clientMetadata": {"application": {"name": "pbm-agent"},
                                           "driver": {"name": "mongo-go-driver", "version": "v1.17.4"}},
                        "active": False, "currentOpTime": _dt(int(self.now_secs())).isoformat(),
                    }
                    if self.agent_user is not None and self._auth_enabled():
                        op["effectiveUsers"] = [{"user": self.agent_user[0], "db": self.agent_user[1]}]
                    ops.append(op)
        generic = ("currentOp", "lsid", "maxTimeMS", "comment", "readConcern", "txnNumber", "apiVersion",
                   "apiStrict", "apiDeprecationErrors")  # the command's generic arguments, not filter fields
        wanted = {k: v for k, v in req.body.items() if k not in generic and not k.startswith("$")}
        return {"inprog": [op for op in ops if all(op.get(k) == v for k, v in wanted.items())], "ok": 1.0}

    # --- replication -------------------------------------------------------------------------------------

    def _admin_only(self, req: Request) -> None:
        if req.db != "admin":
            raise CommandError(13, f"{req.command_name} may only be run against the admin database.")

    def _no_replication(self) -> CommandError:
        # A mongod started without --replSet.
        return CommandError(76, "not running with --replSet")

    def _member_status(self, viewer: SimNode, m: SimNode, now: int) -> dict[str, Any]:
        # Shape: docs "replSetGetStatus" members[] (7.0 output).
        now_dt = _dt(now)
        if m is not viewer and not m.up:
            # What a primary shows for a member it cannot reach (health 0, state 8).
            epoch = {"ts": Timestamp(0, 0), "t": Int64(-1)}
            return {
                "_id": m.index,
                "name": m.host,
                "health": 0.0,
                "state": 8,
                "stateStr": STATE_STR[8],
                "uptime": 0,
                "optime": epoch,
                "optimeDurable": epoch,
                "optimeDate": _dt(0),
                "optimeDurableDate": _dt(0),
                "lastAppliedWallTime": _dt(m.down_since or 0),
                "lastDurableWallTime": _dt(m.down_since or 0),
                "lastHeartbeat": now_dt,
                "lastHeartbeatRecv": _dt(m.down_since or 0),
                "pingMs": Int64(0),
                "lastHeartbeatMessage": f"Error connecting to {m.host} :: caused by :: Connection refused",
                "syncSourceHost": "",
                "syncSourceId": -1,
                "infoMessage": "",
                "configVersion": -1,
                "configTerm": -1,
            }
        state = self.member_state(m)
        entry: dict[str, Any] = {
            "_id": m.index,
            "name": m.host,
            "health": 1.0,
            "state": state,
            "stateStr": STATE_STR[state],
            "uptime": int(time.monotonic() - m.started_monotonic),
        }
        if not m.arbiter:
            op_secs = self._optime_secs(m, now)
            optime = {"ts": Timestamp(op_secs, 1), "t": Int64(self.term)}
            entry["optime"] = optime
            if m is not viewer:
                entry["optimeDurable"] = optime
            entry["optimeDate"] = _dt(op_secs)
            if m is not viewer:
                entry["optimeDurableDate"] = _dt(op_secs)
            entry["lastAppliedWallTime"] = _dt(op_secs)
            entry["lastDurableWallTime"] = _dt(op_secs)
        if m is not viewer:
            entry["lastHeartbeat"] = now_dt
            entry["lastHeartbeatRecv"] = now_dt
            entry["pingMs"] = Int64(0)
            entry["lastHeartbeatMessage"] = ""
        primary = self._visible_primary()
        if state == 2 and primary is not None:
            entry["syncSourceHost"] = primary.host
            entry["syncSourceId"] = primary.index
        else:
            entry["syncSourceHost"] = ""
            entry["syncSourceId"] = -1
        entry["infoMessage"] = ""
        if state == 1:
            entry["electionTime"] = Timestamp(self._election_secs, 1)
            entry["electionDate"] = _dt(self._election_secs)
        entry["configVersion"] = self.config_version
        entry["configTerm"] = self.term
        if m is viewer:
            entry["self"] = True
            entry["lastHeartbeatMessage"] = ""
        return entry

    def _cmd_repl_set_get_status(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "replSetGetStatus" (https://www.mongodb.com/docs/manual/reference/command/replSetGetStatus/).
        self._admin_only(req)
        self._require_cluster(conn, req, "replSetGetStatus")
        if self.standalone:
            raise self._no_replication()
        now = int(self.now_secs())
        voting = [m for m in self.members if m.votes > 0]
        writable_voting = [m for m in voting if not m.arbiter]
        majority = len(voting) // 2 + 1
        self_state = self.member_state(node)
        primary = self._visible_primary()
        op_secs = self._optime_secs(node, now)
        optime = {"ts": Timestamp(op_secs, 1), "t": Int64(self.term)}
        r: dict[str, Any] = {
            "set": self.name,
            "date": _dt(now),
            "myState": self_state,
            "term": Int64(self.term),
            "syncSourceHost": primary.host if self_state == 2 and primary is not None else "",
            "syncSourceId": primary.index if self_state == 2 and primary is not None else -1,
            "heartbeatIntervalMillis": Int64(2000),
            "majorityVoteCount": majority,
            "writeMajorityCount": min(majority, len(writable_voting)),
            "votingMembersCount": len(voting),
            "writableVotingMembersCount": len(writable_voting),
        }
        if not node.arbiter:
            commit_secs = min(op_secs, self._commit_secs(now))
            committed = {"ts": Timestamp(commit_secs, 1), "t": Int64(self.term)}
            r["optimes"] = {
                "lastCommittedOpTime": committed,
                "lastCommittedWallTime": _dt(commit_secs),
                "readConcernMajorityOpTime": committed,
                "appliedOpTime": optime,
                "durableOpTime": optime,
                "lastAppliedWallTime": _dt(op_secs),
                "lastDurableWallTime": _dt(op_secs),
            }
            r["lastStableRecoveryTimestamp"] = Timestamp(max(op_secs - 10, 0), 1)
        r["members"] = [self._member_status(node, m, now) for m in self.members]
        r["ok"] = 1.0
        return r

    def _cmd_repl_set_get_config(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "replSetGetConfig" / "Replica Set Configuration" (5.0+: secondaryDelaySecs, 4.4: slaveDelay).
        self._admin_only(req)
        self._require_cluster(conn, req, "replSetGetConfig")
        if self.standalone:
            raise self._no_replication()
        modern = wire_version(node.mongo_version) >= 13
        members = []
        for m in self.members:
            member: dict[str, Any] = {
                "_id": m.index,
                "host": m.host,
                "arbiterOnly": m.arbiter,
                "buildIndexes": True,
                "hidden": m.hidden,
                "priority": float(m.priority),
                "tags": {},
            }
            if modern:
                member["secondaryDelaySecs"] = Int64(m.delay_secs)
            else:
                member["slaveDelay"] = m.delay_secs
            member["votes"] = m.votes
            members.append(member)
        config: dict[str, Any] = {
            "_id": self.name,
            "version": self.config_version,
            "term": self.term,
            "members": members,
            "protocolVersion": Int64(1),
            "writeConcernMajorityJournalDefault": True,
            "settings": {
                "chainingAllowed": True,
                "heartbeatIntervalMillis": 2000,
                "heartbeatTimeoutSecs": 10,
                "electionTimeoutMillis": 10000,
                "catchUpTimeoutMillis": -1,
                "catchUpTakeoverDelayMillis": 30000,
                "getLastErrorModes": {},
                "getLastErrorDefaults": {"w": 1, "wtimeout": 0},
                "replicaSetId": self.replica_set_id,
            },
        }
        if self.configsvr:
            # docs "Replica Set Configuration": `configsvr: true` (after `term`) in a config server replica set.
            config = {"_id": self.name, "version": self.config_version, "term": self.term, "configsvr": True, **config}
        return {"config": config, "ok": 1.0}

    # --- sharding ------------------------------------------------------------------------------------------

    def _cmd_get_shard_map(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "getShardMap" (https://www.mongodb.com/docs/manual/reference/command/getShardMap/):
        # {map: {<shard>: "rs/h1,h2", config: "cfg/c1,c2"}, hosts: {h: shard}, connStrings: {"rs/h1,h2": shard}}.
        # Router and shard command (server cluster_get_shard_map_cmd.cpp, action getShardMap on the cluster); a
        # mongod outside a sharded cluster answers ShardingStateNotInitialized "Sharding is not enabled".
        self._admin_only(req)
        self._require_cluster(conn, req, "getShardMap")
        if self.shard_map is None:
            raise CommandError(62, "Sharding is not enabled", "ShardingStateNotInitialized")
        return {**self.shard_map(), "ok": 1.0}

    def _cmd_get_cmd_line_opts(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "getCmdLineOpts" (https://www.mongodb.com/docs/manual/reference/command/getCmdLineOpts/):
        # {argv, parsed: <the options, as in the config file>, ok}; a packaged mongod started with --config.
        # Action getCmdLineOpts on the cluster (clusterMonitor). PBM reads parsed.sharding.clusterRole.
        self._admin_only(req)
        self._require_cluster(conn, req, "getCmdLineOpts")
        parsed: dict[str, Any] = {
            "config": "/etc/mongod.conf",
            "net": {"bindIp": "127.0.0.1", "port": node.port},
            "processManagement": {"fork": True, "pidFilePath": "/var/run/mongod.pid"},
        }
        if not self.standalone:
            parsed["replication"] = {"replSetName": self.name}
        if self._auth_enabled():
            parsed["security"] = {"authorization": "enabled"}
            if not self.standalone:
                parsed["security"]["keyFile"] = "/etc/mongodb/keyfile"  # members authenticate to each other
        if self.configsvr or self.config_server is not None:
            parsed["sharding"] = {"clusterRole": "configsvr" if self.configsvr else "shardsvr"}
        parsed["storage"] = {"dbPath": "/var/lib/mongo"}
        parsed["systemLog"] = {"destination": "file", "logAppend": True, "path": "/var/log/mongodb/mongod.log"}
        return {"argv": ["mongod", "--config", "/etc/mongod.conf"], "parsed": parsed, "ok": 1.0}

    # --- reads -------------------------------------------------------------------------------------------

    def _check_readable(self, node: SimNode, req: Request) -> None:
        if node.arbiter:
            raise CommandError(13436, "node is not in primary or recovering state")
        if self.standalone or self.member_state(node) == 1:
            return
        # A secondary serves reads only with secondaryOk: OP_MSG $readPreference other than primary
        # (drivers send primaryPreferred on direct connections), or the OP_QUERY SecondaryOk flag.
        read_pref = req.body.get("$readPreference")
        mode = read_pref.get("mode") if isinstance(read_pref, Mapping) else None
        secondary_ok = (mode is not None and mode != "primary") or (req.legacy and bool(req.flags & 4))
        if not secondary_ok:
            raise CommandError(13435, "not primary and secondaryOk=false")

    def _cmd_find(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "find": {cursor: {firstBatch: [...], id: Long, ns: "db.coll"}, ok: 1}.
        body = req.body
        coll = body.get("find")
        if not isinstance(coll, str) or not coll:
            raise CommandError(2, "collection name has invalid type", "BadValue")
        self._require_namespace(conn, req, req.db, coll, "find")
        self._check_readable(node, req)
        ns = f"{req.db}.{coll}"
        query = body.get("filter") or {}
        if not isinstance(query, Mapping):
            raise CommandError(14, '"filter" had the wrong type. Expected object', "TypeMismatch")
        sort = body.get("sort")
        sort = sort if isinstance(sort, Mapping) else None
        skip = int(body.get("skip") or 0)
        limit = int(body.get("limit") or 0)
        single_batch = bool(body.get("singleBatch"))
        if limit < 0:
            limit, single_batch = -limit, True
        scan = self._index_scan(req.db, coll, query, sort)
        if scan is not None and scan[1]:  # in the sort's order already: stop once skip + limit matched
            docs, examined = _first_matches(scan[0], query, skip + limit if limit else 0)
        else:
            oplog = (req.db, coll) == ("local", "oplog.rs")  # each member's own (its window)
            candidates = scan[0] if scan is not None else (
                self._oplog_docs(node) if oplog else self._collection_docs(req.db, coll))
            examined = len(candidates)
            docs = sort_docs([d for d in candidates if matches(d, query)], sort)
        self.documents_examined[ns] += examined
        if skip:
            docs = docs[skip:]
        if limit:
            docs = docs[:limit]
        projection = body.get("projection")
        projected = [project(d, projection if isinstance(projection, Mapping) else None) for d in docs]
        self.documents_returned[ns] += len(projected)
        batch_size = body.get("batchSize")
        size = DEFAULT_BATCH_SIZE if batch_size is None else int(batch_size)
        first, rest = projected[:size], projected[size:]
        cursor_id = 0
        if rest and not single_batch:
            cursor_id = int.from_bytes(ObjectId().binary[-8:], "big") & 0x7FFFFFFFFFFFFFFF or 1
            node.cursors[cursor_id] = Cursor(ns, rest)
        return {"cursor": {"firstBatch": first, "id": Int64(cursor_id), "ns": ns}, "ok": 1.0}

    def _cmd_get_more(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "getMore": {cursor: {nextBatch: [...], id: Long, ns}, ok: 1}.
        cursor_id = int(req.body.get("getMore") or 0)
        cursor = node.cursors.get(cursor_id)
        if cursor is None:
            raise CommandError(43, f"cursor id {cursor_id} not found")
        batch_size = req.body.get("batchSize")
        size = len(cursor.docs) if not batch_size else int(batch_size)
        batch, cursor.docs = cursor.docs[:size], cursor.docs[size:]
        if not cursor.docs:
            node.cursors.pop(cursor_id, None)
            cursor_id = 0
        return {"cursor": {"nextBatch": batch, "id": Int64(cursor_id), "ns": cursor.ns}, "ok": 1.0}

    def _cmd_kill_cursors(self, node: SimNode, conn: Connection, req: Request) -> dict[str, Any]:
        # Shape: docs "killCursors".
        killed, not_found = [], []
        for raw in req.body.get("cursors") or []:
            cid = int(raw)
            if node.cursors.pop(cid, None) is not None:
                killed.append(Int64(cid))
            else:
                not_found.append(Int64(cid))
        return {
            "cursorsKilled": killed,
            "cursorsNotFound": not_found,
            "cursorsAlive": [],
            "cursorsUnknown": [],
            "ok": 1.0,
        }
