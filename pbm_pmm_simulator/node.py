"""One simulated mongod: a TCP (or TLS) listener on 127.0.0.1 served by the shared simulator loop, plus its faults."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import logging
import socket
import time
import urllib.parse
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bson import ObjectId

from ._loop import sim_loop
from .errors import ProtocolError
from .scram import ScramConversation
from .specs import AgentSpec, MemberSpec
from .tls import rfc4514_subject
from .wire import HEADER, MAX_MESSAGE_SIZE, encode_reply, parse_request

if TYPE_CHECKING:
    from .replset import SimReplicaSet

log = logging.getLogger("pbm_pmm_simulator")

# MongoDB docs "Replica Set Member States": code -> replSetGetStatus members[].stateStr
STATE_STR = {1: "PRIMARY", 2: "SECONDARY", 3: "RECOVERING", 5: "STARTUP2", 6: "UNKNOWN", 7: "ARBITER",
             8: "(not reachable/healthy)", 9: "ROLLBACK"}

# Commands whose name is matched case-insensitively (legacy aliases); all other names are case-sensitive.
DEFAULT_OPLOG_WINDOW_SECS = 2 * 86400  # a lightly written set with MongoDB's default oplog size (5% of the disk)
ALIASES = {"ismaster": "isMaster", "buildinfo": "buildInfo"}


def canonical_command(name: str) -> str:
    return ALIASES.get(name, name)


@dataclass
class SaslState:
    conversation: ScramConversation
    db: str
    skip_empty_exchange: bool


@dataclass
class Connection:
    """Per-connection server state."""

    connection_id: int
    users: list[tuple[str, str]] = field(default_factory=list)  # authenticated (user, db)
    sasl: SaslState | None = None
    #: RFC 4514 subject of the verified TLS client certificate (MONGODB-X509); None without one
    peer_subject: str | None = None


@dataclass
class Cursor:
    ns: str
    docs: list[dict[str, Any]]


class SimNode:
    """A member of a simulated replica set (or the standalone mongod).

    Fault methods are thread-safe and take effect immediately: stop()/start(), set_delay(), refuse()/unrefuse(),
    hang()/unhang(), reset_mid_reply()/clear_reset_mid_reply(), on_receive(). `commands_seen` lists every command
    name received, in order (including handshakes); `command_log` keeps the last 10000 requests as (name, db, body).
    """

    def __init__(self, rs: SimReplicaSet, index: int, spec: MemberSpec, mongo_version: str, psmdb: bool) -> None:
        self._rs = rs
        self.index = index
        self.spec = copy.deepcopy(spec)
        self.arbiter = spec.arbiter
        self.hidden = spec.hidden
        self.delay_secs = int(spec.delay_secs)
        #: seconds this member's oplog is behind the primary (replication lag), besides any configured delay
        self.lag_secs = 0
        #: seconds between this member's oldest and newest oplog entries (its oplog window; a smaller oplog or more
        #: writes shrink it): what local.oplog.rs answers (SimReplicaSet._oplog_docs)
        self.oplog_window_secs = DEFAULT_OPLOG_WINDOW_SECS
        #: a running, healthy member's state other than PRIMARY/SECONDARY: 3 RECOVERING, 5 STARTUP2 or 9 ROLLBACK
        #: (mongod reports it in replSetGetStatus and hello; its pbm-agent writes it as `s`)
        self.forced_state: int | None = None
        self.priority = spec.effective_priority
        self.votes = int(spec.votes)
        self.mongo_version = spec.mongo_version or mongo_version
        self.psmdb = psmdb if spec.psmdb is None else spec.psmdb
        resolved = spec.resolved_agent()
        self.agent: AgentSpec | None = copy.deepcopy(resolved)
        self.agent_id = ObjectId()
        self.port = 0
        self.commands_seen: list[str] = []
        self.command_log: deque[tuple[str, str, dict[str, Any]]] = deque(maxlen=10000)
        self.cursors: dict[int, Cursor] = {}
        self.up = False
        self.down_since: int | None = None
        self.started_monotonic = time.monotonic()
        self.total_connections = 0
        self._server: asyncio.Server | None = None
        # while stopped, the port stays bound (not listening): a connection to it is refused, as to a killed mongod's,
        # and no other listener (another simulated member, of another replica set) can take it meanwhile: a client
        # would then reach a member of another set at this member's address
        self._reserved: socket.socket | None = None
        self._conns: dict[asyncio.Task[Any], tuple[Connection, asyncio.StreamWriter]] = {}
        self._conn_ids = itertools.count(1)
        self._delay = 0.0
        self._hung = False
        self._refused: dict[str, tuple[int, str | None]] = {}
        self._reset: frozenset[str] | None = None  # commands whose replies are cut off; empty: every command
        self._on_receive: dict[str, Callable[[], object]] = {}  # command -> what to do the next time it arrives
        #: replies cut off mid-way by the reset_mid_reply() fault so far
        self.resets = 0
        #: requests whose reply set_delay() holds back right now (a delay set before clear_faults() still runs out)
        self.replies_delayed = 0

    def __repr__(self) -> str:
        return f"<SimNode {self.index} {self.host} {'up' if self.up else 'down'}>"

    # --- identity -----------------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT` (or the set's `host_name`), exactly as in the replica-set config, `hello.me` and
        `pbmAgents.n`; the node always listens on 127.0.0.1."""
        return f"{self._rs.host_name}:{self.port}"

    @property
    def is_up(self) -> bool:
        return self.up

    @property
    def state(self) -> int:
        """Member state code as this node reports it: 1 PRIMARY, 2 SECONDARY, 7 ARBITER."""
        return self._rs.member_state(self)

    @property
    def connection_count(self) -> int:
        return len(self._conns)

    def uri(self, user: str | None = None, password: str | None = None, *, auth: bool = True, **options: Any) -> str:
        """A `directConnection=true` URI to this member alone."""
        opts: dict[str, Any] = {"directConnection": True}
        opts.update(options)
        return self._rs._build_uri([self.host], user, password, auth=auth, replica_set=False, options=opts)

    # --- faults (sync, thread-safe) ----------------------------------------------------------------------

    def stop(self) -> None:
        """Stop listening and close every open connection (like a killed mongod). Idempotent."""
        sim_loop().run(self._stop_async())

    def start(self) -> None:
        """Listen again on the same port. Idempotent."""
        if self.port == 0:
            raise RuntimeError("start the replica set first (SimReplicaSet.start())")
        sim_loop().run(self._start_async())

    def set_delay(self, seconds: float) -> None:
        """Delay every reply by `seconds` (0 disables)."""
        with self._rs.lock:
            self._delay = max(0.0, float(seconds))

    def refuse(self, command: str, code: int = 13, errmsg: str | None = None) -> None:
        """Answer `command` with an error `{ok: 0, errmsg, code, codeName}`."""
        with self._rs.lock:
            self._refused[canonical_command(command)] = (int(code), errmsg)

    def unrefuse(self, command: str) -> None:
        with self._rs.lock:
            self._refused.pop(canonical_command(command), None)

    def hang(self) -> None:
        """Keep accepting connections and reading requests, but never answer."""
        with self._rs.lock:
            self._hung = True

    def unhang(self) -> None:
        """Answer new requests again (requests read while hung stay unanswered)."""
        with self._rs.lock:
            self._hung = False

    def reset_mid_reply(self, *commands: str) -> None:
        """Answer `commands` (every command, handshakes included, when none is named) with the first half of the
        reply, then reset the connection: a crashed mongod or a middlebox dropping the connection mid-reply."""
        with self._rs.lock:
            self._reset = frozenset(canonical_command(c) for c in commands)

    def clear_reset_mid_reply(self) -> None:
        with self._rs.lock:
            self._reset = None

    def on_receive(self, command: str, action: Callable[[], object]) -> None:
        """Run `action` the next time `command` arrives, before it is answered (once). It runs in a worker thread,
        so it may call this node's sync API (stop(), say) or block; the request waits for it, then goes on as usual.

        A fault meant to strike while a reply is pending then strikes at that point, not when a thread polling
        `commands_seen` happens to notice the request within a reply delay it hoped was long enough."""
        with self._rs.lock:
            self._on_receive[canonical_command(command)] = action

    def _cuts_reply(self, command: str) -> bool:
        with self._rs.lock:
            reset = self._reset
        return reset is not None and (not reset or canonical_command(command) in reset)

    def clear_faults(self) -> None:
        with self._rs.lock:
            self._delay = 0.0
            self._hung = False
            self._refused.clear()
            self._reset = None
            self._on_receive.clear()

    def refusal(self, command: str) -> tuple[int, str | None] | None:
        with self._rs.lock:
            return self._refused.get(canonical_command(command))

    # --- pbm-agent helpers ---------------------------------------------------------------------------------

    def stop_agent(self, at: float | None = None) -> None:
        """Stop the pbm-agent (SIGTERM: the document stays, hb frozen at `at`, default: current cluster time)."""
        with self._rs.lock:
            if self.agent is None:
                raise RuntimeError(f"member {self.index} has no pbm-agent")
            self.agent.running = False
            self.agent.stopped_at = float(self._rs.now_secs()) if at is None else float(at)

    def start_agent(self) -> None:
        with self._rs.lock:
            if self.agent is None:
                self.agent = AgentSpec()
            self.agent.running = True
            self.agent.stopped_at = None
            self.agent.document_deleted = False

    # --- server side (runs on the simulator loop) ----------------------------------------------------------

    async def _start_async(self) -> None:
        if self._server is not None:
            return
        if self._reserved is not None:
            self._reserved.close()
            self._reserved = None
        context = self._rs.ssl_context
        server = await asyncio.start_server(
            self._handle,
            "127.0.0.1",
            self.port,
            reuse_address=True,
            backlog=1024,
            ssl=context,
            ssl_handshake_timeout=10.0 if context is not None else None,
        )
        self._server = server
        sock = server.sockets[0]
        port = int(sock.getsockname()[1])
        with self._rs.lock:
            self.port = port
            self.up = True
            self.down_since = None
            self.started_monotonic = time.monotonic()

    async def _stop_async(self, reserve: bool = True) -> None:
        """Stop (as stop()); `reserve`: keep the port bound, for a member that may start again (not when its whole
        replica set stops for good)."""
        server, self._server = self._server, None
        with self._rs.lock:
            if self.up:
                self.down_since = int(self._rs.now_secs())
            self.up = False
            self.cursors.clear()
        if server is not None:
            server.close()
        tasks = list(self._conns)
        for task, (_, writer) in list(self._conns.items()):
            with contextlib.suppress(Exception):
                writer.transport.abort()
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), timeout=1.0)
            if reserve:
                self._reserve_port()
        elif not reserve and self._reserved is not None:
            self._reserved.close()
            self._reserved = None

    def _reserve_port(self) -> None:
        reserved = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # its connections may linger in TIME_WAIT
        try:
            reserved.bind(("127.0.0.1", self.port))
        except OSError:  # taken already: nothing to keep
            reserved.close()
            return
        self._reserved = reserved

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        conn = Connection(next(self._conn_ids))
        if self._rs.ssl_context is not None:
            conn.peer_subject = rfc4514_subject(writer.get_extra_info("peercert"))
        self._conns[task] = (conn, writer)
        self.total_connections += 1
        try:
            while True:
                header = await reader.readexactly(16)
                length, request_id, _, op_code = HEADER.unpack(header)
                if length < 16 or length > MAX_MESSAGE_SIZE:
                    log.warning("%s: bad message length %d, closing", self.host, length)
                    return
                payload = await reader.readexactly(length - 16)
                try:
                    request = parse_request(request_id, op_code, payload)
                except ProtocolError as exc:
                    log.warning("%s: protocol error, closing connection: %s", self.host, exc)
                    return
                name = request.command_name
                self.commands_seen.append(name)
                self.command_log.append((name, request.db, request.body))
                with self._rs.lock:
                    action = self._on_receive.pop(canonical_command(name), None)
                if action is not None:
                    await asyncio.get_running_loop().run_in_executor(None, action)
                if self._hung:
                    continue
                if self._delay > 0:
                    self.replies_delayed += 1
                    try:
                        await asyncio.sleep(self._delay)
                    finally:
                        self.replies_delayed -= 1
                    if self._hung:
                        continue
                reply = self._rs._dispatch(self, conn, request)
                if request.more_to_come:
                    continue  # OP_MSG moreToCome: the client expects no reply
                encoded = encode_reply(request, reply)
                if self._cuts_reply(name):
                    self.resets += 1
                    writer.write(encoded[: len(encoded) // 2])
                    await writer.drain()
                    return  # the finally clause resets the connection
                writer.write(encoded)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("%s: connection handler failed", self.host)
        finally:
            self._conns.pop(task, None)
            with contextlib.suppress(Exception):
                writer.transport.abort()


def quote(value: str) -> str:
    return urllib.parse.quote_plus(value)
