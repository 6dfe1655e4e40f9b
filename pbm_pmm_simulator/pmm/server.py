"""`SimPMMServer`: a PMM Server on a loopback HTTP socket, speaking PMM 2's or PMM 3's API (chosen by `version`).

A request goes through what PMM's nginx and pmm-managed do, in order: injected faults and delay, then nginx's
`auth_request` (role rules of auth_server.go, against the original path), nginx's rewrites (PMM 3: /v1/version and
/v1/readyz), then grpc-gateway routing (unknown path: 404; known path, other method: 405), then the API handler.
Shapes and error bodies: `_protocol.py` and `_model.py`, each with its source.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import socket
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import parse_qs, unquote, urlsplit

from . import _protocol as p
from ._backups import BackupsMixin
from ._http import JSON, Response, SimHTTPServer
from ._management import ManagementMixin
from ._model import (
    PMM_SERVER_ID,
    Agent,
    Location,
    Node,
    Service,
    agents_response,
    new_id,
    nodes_response,
    readonly_settings_response,
    render_location,
    services_response,
    settings_response,
    version_response,
)
from ._protocol import APIError, Handler
from ._protocol import param as _param
from ._protocol import str_param as _str_param

if TYPE_CHECKING:
    from ..replset import SimReplicaSet

GRAFANA_DASHBOARDS_DB = "/graph/api/dashboards/db"
Style = Literal["host", "loopback", "ip"]


@dataclass(frozen=True)
class Fault:
    status: int
    body: bytes | None
    paths: tuple[str, ...] | None
    content_type: str | None


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    body: bytes
    auth: str  # "bearer", "basic" or "" -- never the credential itself


class _AuthFailure(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class _Principal:
    role: int
    grafana_admin: bool


class SimPMMServer(BackupsMixin, ManagementMixin):
    """A simulated PMM Server. Model changes and faults are thread-safe and visible to the next request.

        with SimPMMServer(version="2.44.0") as pmm:
            node = pmm.add_node("db1", "10.0.0.1")
            pmm.add_mongodb_service(node, "db1-mongodb", port=27017, cluster="prod", replication_set="rs0")
            requests.post(pmm.url + "/v1/inventory/Services/List", json={}, auth=("admin", "admin"))

    IDs returned by the add_* methods are in the dialect's form (`/service_id/<uuid>` on PMM 2, a bare UUID on
    PMM 3). The server's own Node, pmm-agent, node_exporter and PostgreSQL service exist from the start, as on a
    real PMM Server (`include_pmm_server=False` leaves them out).
    """

    def __init__(
        self,
        version: str = "3.4.0",
        token: str | None = "glsa_simulatedToken_0123",
        role: str = "Admin",
        backup_management: bool = True,
        username: str | None = "admin",
        password: str = "admin",
        *,
        pmm_public_address: str = "",
        include_pmm_server: bool = True,
        denied_status: int = 401,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        major = _major(version)
        if major not in (2, 3):
            raise ValueError(f"version {version!r}: the simulator speaks PMM 2.x and 3.x")
        self.version = version
        self.major = major
        #: (major, minor, patch): what the answers' fields follow (PMM's published API of that release)
        self.release = _release(version)
        self.lock = threading.RLock()
        self.backup_management = backup_management
        self.pmm_public_address = pmm_public_address
        #: HTTP status for a role too low for the path: 401 on every released PMM 2 and 3 (auth_server.go
        #: `authenticationErrorCode`); 403 on PMM's main branch after 3.x (`httpStatusForAuthError`).
        self.denied_status = denied_status
        #: Seconds to wait before answering each request (interrupted by stop()).
        self.delay = 0.0
        #: Requests being delayed right now (a delay set before clear_faults() still runs out).
        self.requests_delayed = 0
        #: Answer JSON 200s with a truncated body.
        self.invalid_json = False
        #: Pad the services list answer with whitespace to this many bytes (still valid JSON).
        self.huge_response_bytes: int | None = None
        #: (method, path, raw query) of every request received, in order.
        self.requests_seen: list[tuple[str, str, str]] = []
        #: The same requests with their bodies (and the auth scheme used, never the credential).
        self.request_log: list[RecordedRequest] = []
        self.host = host
        #: Serve HTTPS with this server-side context (PMM Server's nginx terminates TLS on 443/8443).
        self.tls = tls
        self._port = port
        self._tokens: dict[str, int] = {}
        self._users: dict[str, tuple[str, int, bool]] = {}
        if token is not None:
            self.add_token(token, role)
        if username is not None:
            self.add_user(username, password, "Admin", grafana_admin=True)
        self._nodes: dict[str, Node] = {}
        self._services: dict[str, Service] = {}
        self._agents: dict[str, Agent] = {}
        self._locations: dict[str, Location] = {}
        #: dashboards saved through Grafana's API (POST /graph/api/dashboards/db), by uid
        self.dashboards: dict[str, dict[str, Any]] = {}
        self._ports: dict[str, int] = {}
        self._faults: list[Fault] = []
        self._init_backups()
        self._routes = {**self._route_table(), **self._backup_routes(), **self._management_routes()}
        #: path templates (regex with named groups for the path parameters) -> methods, tried after `_routes`
        self._patterns: list[tuple[re.Pattern[str], dict[str, Handler]]] = self._backup_patterns()
        self._httpd: SimHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        self._stopping = threading.Event()
        if include_pmm_server:
            self._add_pmm_server()

    def __repr__(self) -> str:
        return f"<SimPMMServer {self.version} {self.url}>"

    # --- lifecycle -------------------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on `host` (an ephemeral port the first time, the same port after a stop())."""
        with self._lifecycle:
            if self._httpd is not None:
                return self
            self._stopping.clear()
            httpd = SimHTTPServer((self.host, self._port), self.handle, self.tls)
            self._port = httpd.server_address[1]
            thread = threading.Thread(
                target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"pmm-sim-{self._port}", daemon=True
            )
            thread.start()
            self._httpd, self._thread = httpd, thread
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection (keep-alive ones included). Idempotent, fast."""
        with self._lifecycle:
            httpd, thread = self._httpd, self._thread
            if httpd is None:
                return
            self._httpd = self._thread = None
            self._stopping.set()
            httpd.shutdown()
            httpd.server_close()
            httpd.drop_connections()
            if thread is not None:
                thread.join(timeout=1.0)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self._port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since the last start() (a keep-alive client uses one)."""
        httpd = self._httpd
        return httpd.accepted if httpd is not None else 0

    # --- credentials ------------------------------------------------------------------------------------------------

    def add_token(self, token: str, role: str = "Admin") -> None:
        """A PMM 3 service-account token (`glsa_...`) or PMM 2 API key with a Grafana org role."""
        with self.lock:
            self._tokens[token] = _role(role)

    def remove_token(self, token: str) -> None:
        with self.lock:
            self._tokens.pop(token, None)

    def add_user(self, username: str, password: str, role: str = "Admin", *, grafana_admin: bool = False) -> None:
        """A Grafana user for basic auth; PMM's `admin` is a Grafana server admin, which passes every rule."""
        with self.lock:
            self._users[username] = (password, _role(role), grafana_admin)

    # --- model: locations -------------------------------------------------------------------------------------------

    def add_location_s3(
        self, name: str, bucket: str, endpoint: str, access_key: str, secret_key: str, description: str = ""
    ) -> str:
        location = Location(new_id(self.major, "location"), name, description, endpoint=endpoint,
                            access_key=access_key, secret_key=secret_key, bucket_name=bucket)  # fmt: skip
        with self.lock:
            self._locations[location.location_id] = location
        return location.location_id

    def add_location_filesystem(self, name: str, path: str, description: str = "") -> str:
        location = Location(new_id(self.major, "location"), name, description, path=path)
        with self.lock:
            self._locations[location.location_id] = location
        return location.location_id

    def remove_location(self, location_id: str) -> None:
        with self.lock:
            self._locations.pop(location_id)

    # --- model: nodes, services, agents ----------------------------------------------------------------------------

    def add_node(
        self,
        node_name: str,
        address: str,
        *,
        connected: bool = True,
        machine_id: str | None = None,
        distro: str = "linux",
        region: str = "",
        az: str = "",
        custom_labels: Mapping[str, str] | None = None,
        node_type: str = "GENERIC_NODE",
    ) -> str:
        """A Generic Node as `pmm-admin config` registers it: with its pmm-agent, vmagent and node_exporter
        (`--node-type=container`: a Container Node, listed under "container"). `node_type="REMOTE_NODE"`: the node
        PMM's "Add remote instance" creates, with no agent of its own (inventory AddRemoteNode, models.CreateNode);
        its services' agents run on PMM Server's pmm-agent (add_mongodb_service(pmm_agent_node_id=PMM_SERVER_ID)),
        as management AddMongoDB with pmm_agent_id "pmm-server" registers them."""
        with self.lock:
            if any(n.node_name == node_name for n in self._nodes.values()):
                raise ValueError(f"Node with name {node_name!r} already exists")
            node_id = new_id(self.major, "node")
            # pmm-agent reports `/machine_id/<hex>` (pmm-admin config)
            mid = machine_id if machine_id is not None else "/machine_id/" + node_id.rsplit("/", 1)[-1].replace("-", "")
            self._nodes[node_id] = Node(node_id, node_name, address, machine_id=mid, distro=distro, region=region,
                                        az=az, custom_labels=dict(custom_labels or {}),
                                        node_type=node_type)  # fmt: skip
            if node_type == "REMOTE_NODE":
                return node_id
            pmm_agent = self._new_agent("PMM_AGENT", runs_on_node_id=node_id, connected=connected, version=self.version,
                                        process_exec_path=self._client_path("bin/pmm-agent"))  # fmt: skip
            self._new_agent("VM_AGENT", pmm_agent_id=pmm_agent.agent_id, status="RUNNING",
                            process_exec_path=self._client_path("exporters/vmagent"), port=True)  # fmt: skip
            self._new_agent("NODE_EXPORTER", pmm_agent_id=pmm_agent.agent_id, node_id=node_id, status="RUNNING",
                            push_metrics_enabled=True, process_exec_path=self._client_path("exporters/node_exporter"),
                            port=True)  # fmt: skip
            if not connected:
                self._set_children_status(pmm_agent.agent_id, "UNKNOWN")
        return node_id

    def add_mongodb_service(
        self,
        node_id: str,
        service_name: str,
        address: str = "127.0.0.1",
        port: int = 27017,
        *,
        socket: str = "",
        cluster: str = "",
        replication_set: str = "",
        environment: str = "",
        version: str = "7.0.14",
        custom_labels: Mapping[str, str] | None = None,
        exporter: bool = True,
        exporter_status: str = "RUNNING",
        exporter_disabled: bool = False,
        username: str = "pmm",
        tls: bool = False,
        qan: bool = True,
        pmm_agent_node_id: str | None = None,
    ) -> str:
        """A MongoDB Service as `pmm-admin add mongodb` registers it: with its mongodb_exporter (run by the node's
        pmm-agent) and a QAN profiler agent. `exporter=False` registers the service alone.

        `pmm_agent_node_id`: the agents are run by the pmm-agent of that node instead (remote monitoring,
        `pmm-admin add mongodb` on another host: the pmm-agent's runs_on_node_id is not the service's node_id)."""
        status = p.canonical_status(exporter_status)
        with self.lock:
            node = self._nodes.get(node_id)
            if node is None:
                raise KeyError(f"no node {node_id!r}")
            if any(s.service_name == service_name for s in self._services.values()):
                raise ValueError(f"Service with name {service_name!r} already exists")
            service = Service(new_id(self.major, "service"), "MONGODB_SERVICE", service_name, node_id, address,
                              port if not socket else 0, socket, environment, cluster, replication_set,
                              dict(custom_labels or {}), version)  # fmt: skip
            self._services[service.service_id] = service
            if pmm_agent_node_id is not None and pmm_agent_node_id not in self._nodes:
                raise KeyError(f"no node {pmm_agent_node_id!r}")
            pmm_agent = self._pmm_agent_of_node(pmm_agent_node_id or node_id)
            if pmm_agent is None:
                return service.service_id
            children_status = None if pmm_agent.connected else "UNKNOWN"
            if exporter:
                agent = self._new_agent("MONGODB_EXPORTER", pmm_agent_id=pmm_agent.agent_id,
                                        service_id=service.service_id, username=username, tls=tls, status=status,
                                        disabled=exporter_disabled, push_metrics_enabled=True,
                                        process_exec_path=self._client_path("exporters/mongodb_exporter"),
                                        port=True)  # fmt: skip
                _park(agent, children_status)
            if qan:
                agent = self._new_agent("QAN_MONGODB_PROFILER_AGENT", pmm_agent_id=pmm_agent.agent_id,
                                        service_id=service.service_id, username=username, tls=tls,
                                        status="RUNNING")  # fmt: skip
                _park(agent, children_status)
        return service.service_id

    def add_service_agent(self, service_id: str, agent_type: str = "MONGODB_EXPORTER", *, username: str = "pmm",
                          pmm_agent_node_id: str | None = None) -> str:
        """Another agent for a service, as `pmm-admin inventory add agent mongodb-exporter|qan-mongodb-profiler-agent
        <pmm-agent-id> <service-id> <username>` adds it (inventory AddAgent: no check that the service already has
        one of that type); run by the pmm-agent already serving the service, or by the one on `pmm_agent_node_id`.
        Returns its agent_id."""
        if agent_type not in ("MONGODB_EXPORTER", "QAN_MONGODB_PROFILER_AGENT"):
            raise ValueError(f"not a MongoDB agent type this simulator lists: {agent_type!r}")
        with self.lock:
            pmm_agent = (self._pmm_agent_of_node(pmm_agent_node_id) if pmm_agent_node_id is not None
                         else self._pmm_agent_for(service_id))
            if pmm_agent is None or service_id not in self._services:
                raise KeyError(f"no pmm-agent or no service {service_id!r}")
            exporter = agent_type == "MONGODB_EXPORTER"
            agent = self._new_agent(agent_type, pmm_agent_id=pmm_agent.agent_id, service_id=service_id,
                                    username=username, status="RUNNING", port=exporter,
                                    **({"push_metrics_enabled": True,
                                        "process_exec_path": self._client_path("exporters/mongodb_exporter")}
                                       if exporter else {}))  # fmt: skip
            _park(agent, None if pmm_agent.connected else "UNKNOWN")
            return agent.agent_id

    def add_mysql_service(self, node_id: str, service_name: str, address: str = "127.0.0.1", port: int = 3306,
                          *, cluster: str = "") -> str:
        """A MySQL Service (`pmm-admin add mysql`), for what it shares with MongoDB's backups: its artifacts and
        schedules sit in the same storage locations (vendor "mysql", managed/models ServiceType MySQLServiceType).
        Its agents are left out: no check reads them."""
        with self.lock:
            if node_id not in self._nodes:
                raise KeyError(f"no node {node_id!r}")
            if any(s.service_name == service_name for s in self._services.values()):
                raise ValueError(f"Service with name {service_name!r} already exists")
            service = Service(new_id(self.major, "service"), "MYSQL_SERVICE", service_name, node_id, address, port,
                              cluster=cluster, version="8.0.36")
            self._services[service.service_id] = service
        return service.service_id

    def register_replica_set(
        self,
        rs: SimReplicaSet | Sequence[str],
        cluster: str = "",
        style: Style = "host",
        *,
        replication_set: str | None = None,
        environment: str = "",
        exporter_status: str = "RUNNING",
        username: str = "pmm",
        resolve: Callable[[str], str] | None = None,
        node_type: str = "GENERIC_NODE",
    ) -> dict[str, str]:
        """One Node + MongoDB Service (+ agents) per member, arbiters included; returns {member host: service_id}.

        `rs` is a SimReplicaSet or a list of "host:port" strings. `style` is how the service's address was given
        to `pmm-admin add mongodb`: "host" -- the member's host and port as in the replica-set config (node address:
        the same host); "loopback" -- 127.0.0.1 and the member's port, PMM's default, node address = member host;
        "ip" -- the host resolved to an IP (`resolve`, default socket.gethostbyname) for both. `replication_set`
        defaults to the set's name; "" registers the services without one. `node_type="CONTAINER_NODE"`: the
        nodes as `pmm-admin config --node-type=container` registers them.
        """
        if style not in ("host", "loopback", "ip"):
            raise ValueError(f"style must be 'host', 'loopback' or 'ip', not {style!r}")
        if isinstance(rs, str):
            raise TypeError("rs must be a SimReplicaSet or a list of host:port strings")
        members: list[tuple[str, str]] = []  # (host:port, mongo version)
        if isinstance(rs, Sequence):
            members = [(str(h), "7.0.14") for h in rs]
            set_name = replication_set if replication_set is not None else "rs0"
        else:
            with rs.lock:
                members = [(m.host, m.mongo_version) for m in rs.members]
                set_name = replication_set if replication_set is not None else rs.name
        resolver = resolve or _resolve
        out: dict[str, str] = {}
        for member_host, mongo_version in members:
            host, _, port_text = member_host.rpartition(":")
            port = int(port_text)
            ip = resolver(host) if style == "ip" else host
            node_address = ip if style == "ip" else host
            service_address = {"host": host, "loopback": "127.0.0.1", "ip": ip}[style]
            node_name = f"{host}-{port}"
            node_id = self.add_node(node_name, node_address, node_type=node_type)
            out[member_host] = self.add_mongodb_service(
                node_id, f"{node_name}-mongodb", service_address, port, cluster=cluster, replication_set=set_name,
                environment=environment, version=mongo_version, exporter_status=exporter_status, username=username,
            )  # fmt: skip
        return out

    def set_agent_connected(self, node_or_service_id: str, connected: bool, *, children_status: str | None = "DONE"
                            ) -> None:  # fmt: skip
        """Connect or disconnect the pmm-agent of a node (or of the node running a service's exporter).

        On disconnect pmm-managed marks the pmm-agent's agents DONE (agents/handler.go
        `updateAgentStatusForChildren(..., DONE)`; UNKNOWN after a server restart); `children_status=None` leaves
        them alone. Reconnecting restores their previous statuses.
        """
        with self.lock:
            pmm_agent = self._pmm_agent_for(node_or_service_id)
            if pmm_agent.connected == connected:
                return
            pmm_agent.connected = connected
            if connected:
                for agent in self._children(pmm_agent.agent_id):
                    if agent.saved_status is not None:
                        agent.status, agent.saved_status = agent.saved_status, None
            elif children_status is not None:
                self._set_children_status(pmm_agent.agent_id, p.canonical_status(children_status))

    def set_pmm_agent_version(self, node_or_service_id: str, version: str) -> None:
        """The version a pmm-agent reported (agents.version; the agents it runs report the same). Every pmm-agent,
        PMM Server's own included, starts with the server's version."""
        with self.lock:
            self._pmm_agent_for(node_or_service_id).version = version

    def set_exporter_status(self, service_id: str, status: str) -> None:
        """The mongodb_exporter's status: RUNNING, STARTING, WAITING, STOPPING, DONE, UNKNOWN, INITIALIZATION_ERROR
        (PMM 3's AGENT_STATUS_ spelling accepted too; the answers use the dialect's own)."""
        name = p.canonical_status(status)
        self.set_agent_status(self.exporter_id(service_id), name)

    def set_agent_status(self, agent_id: str, status: str) -> None:
        name = p.canonical_status(status)
        with self.lock:
            agent = self._agents[agent_id]
            agent.status, agent.saved_status = name, None

    def set_exporter_disabled(self, service_id: str, disabled: bool) -> None:
        with self.lock:
            self._agents[self.exporter_id(service_id)].disabled = disabled

    def set_service_cluster(self, service_id: str, cluster: str) -> None:
        """"" removes the cluster (the key is then omitted on PMM 2, "" on PMM 3)."""
        with self.lock:
            self._services[service_id].cluster = cluster

    def set_service_version(self, service_id: str, version: str, *, cached: bool = True) -> None:
        """The service's MongoDB version: inventory `version`, and the mongod version backup compatibility compares.

        `cached=False`: mongod was upgraded, but PMM's software-version cache still holds the version it last read
        (managed/services/versioncache/versioncache.go: each service is read again 24 h after the last time), so
        the compatible-services answer keeps comparing the old one until refresh_software_versions(); backups and
        restores ask the pmm-agent live (CheckSoftwareCompatibilityForService)."""
        with self.lock:
            service = self._services[service_id]
            if cached:
                self._cached_versions.pop(service_id, None)
            else:
                self._cached_versions.setdefault(service_id, service.version)
            service.version = version

    def refresh_software_versions(self) -> None:
        """The versioncache's next pass: every service's cached mongod version is its live one again."""
        with self.lock:
            self._cached_versions.clear()

    def set_service_replication_set(self, service_id: str, replication_set: str) -> None:
        with self.lock:
            self._services[service_id].replication_set = replication_set

    def set_service_address(self, service_id: str, address: str, port: int) -> None:
        with self.lock:
            service = self._services[service_id]
            service.address, service.port = address, port

    def remove_service(self, service_id: str) -> None:
        """The service and its agents (`pmm-admin remove mongodb`); its scheduled backups go too, its artifacts
        stay, with service_id "" (models.RemoveService, RemoveCascade)."""
        with self.lock:
            del self._services[service_id]
            self._forget_service_backups(service_id)
            for agent_id in [a.agent_id for a in self._agents.values() if a.service_id == service_id]:
                del self._agents[agent_id]

    def remove_node(self, node_id: str) -> None:
        """The node, its services, its pmm-agent and everything that pmm-agent runs."""
        with self.lock:
            for service_id in [s.service_id for s in self._services.values() if s.node_id == node_id]:
                self.remove_service(service_id)
            pmm_agent = self._pmm_agent_of_node(node_id)
            if pmm_agent is not None:
                for agent in self._children(pmm_agent.agent_id):
                    del self._agents[agent.agent_id]
                del self._agents[pmm_agent.agent_id]
            del self._nodes[node_id]

    def pmm_agent_id(self, node_id: str) -> str:
        with self.lock:
            agent = self._pmm_agent_of_node(node_id)
            if agent is None:
                raise KeyError(f"no pmm-agent on node {node_id!r}")
            return agent.agent_id

    def exporter_id(self, service_id: str) -> str:
        with self.lock:
            for agent in self._agents.values():
                if agent.service_id == service_id and agent.agent_type == "MONGODB_EXPORTER":
                    return agent.agent_id
        raise KeyError(f"no mongodb_exporter for service {service_id!r}")

    def status_name(self, status: str) -> str:
        """An agent status as this dialect writes it ('RUNNING' on PMM 2, 'AGENT_STATUS_RUNNING' on PMM 3)."""
        return p.enum_out(self.major, "AgentStatus", p.canonical_status(status))

    # --- faults --------------------------------------------------------------------------------------------------

    def fail_with(
        self,
        status: int = 500,
        body: bytes | None = None,
        paths: Sequence[str] | None = None,
        content_type: str | None = None,
    ) -> None:
        """Answer `status` to every request (or those whose path starts with one of `paths`), before auth.

        Without a body: 502/503/504 get nginx's HTML error page (pmm-managed down), other statuses the dialect's
        grpc-gateway JSON error. The latest fault added wins where several match.
        """
        with self.lock:
            self._faults.append(Fault(status, body, tuple(paths) if paths is not None else None, content_type))

    def clear_faults(self) -> None:
        """Remove every injected fault: fail_with()s, delay, invalid_json and huge_response_bytes."""
        with self.lock:
            self._faults.clear()
            self.delay = 0.0
            self.invalid_json = False
            self.huge_response_bytes = None

    def clear_requests(self) -> None:
        with self.lock:
            self.requests_seen.clear()
            self.request_log.clear()

    # --- request handling ----------------------------------------------------------------------------------------

    def handle(self, method: str, target: str, authorization: str | None, body: bytes) -> Response | None:
        """One HTTP request -> response; None when the server stopped while delaying it (drop the connection)."""
        parts = urlsplit(target)
        path, query = parts.path, parts.query
        auth_kind = (authorization or "").split(" ", 1)[0].lower() if authorization else ""
        with self.lock:
            self.requests_seen.append((method, path, query))
            self.request_log.append(RecordedRequest(method, path, query, body, auth_kind))
            faults = list(self._faults)
        delay = self.delay
        if delay > 0:
            with self.lock:
                self.requests_delayed += 1
            try:
                if self._stopping.wait(delay):
                    return None
            finally:
                with self.lock:
                    self.requests_delayed -= 1
        for fault in reversed(faults):
            if fault.paths is None or any(path.startswith(prefix) for prefix in fault.paths):
                return self._fault_response(fault)
        if path == GRAFANA_DASHBOARDS_DB:
            return self._save_dashboard(method, authorization, body)
        try:
            response = self._route(method, path, query, authorization, body)
        except _AuthFailure as exc:
            return Response(exc.status, p.auth_error_body(exc.code, exc.message))
        if response.status == 200 and response.content_type == JSON and self.invalid_json:
            return Response(200, response.body[: max(1, len(response.body) // 2)])
        return response

    def _route(self, method: str, path: str, query: str, authorization: str | None, body: bytes) -> Response:
        needed = p.required_role(self.major, path)  # nginx auth_request sees the original URI
        if needed > p.NONE:
            principal = self._authenticate(authorization)
            if not principal.grafana_admin and principal.role < needed:
                raise _AuthFailure(self.denied_status, p.PERMISSION_DENIED, "Access denied.")
        if self.major >= 3:  # nginx: rewrite ^/v1/version$ /v1/server/version; (and readyz), internal, no redirect
            path = {"/v1/version": "/v1/server/version", "/v1/readyz": "/v1/server/readyz"}.get(path, path)
        if not path.startswith("/v1/"):
            return Response(404, p.nginx_error_page(404, "Not Found"), "text/html")
        methods, path_params = self._routes.get(path), {}
        if methods is None:  # a template such as /v1/backups/{artifact_id}/compatible-services
            for pattern, candidate in self._patterns:
                if (match := pattern.fullmatch(path)) is not None:
                    # grpc-gateway unescapes path parameters; they win over query fields of the same name
                    methods, path_params = candidate, {k: unquote(v) for k, v in match.groupdict().items()}
                    break
        if methods is None:
            return self._json(404, p.routing_not_found(self.major, method, path))
        handler = methods.get(method)
        if handler is None:  # grpc-gateway: the path exists for another method
            return self._json(405, p.gateway_error(self.major, p.UNIMPLEMENTED, "Method Not Allowed"))
        try:
            params = {**self._params(method, query, body), **path_params}
            doc = handler(params)
        except p.EnumError as exc:
            return self._api_error(APIError(p.INVALID_ARGUMENT, str(exc)))
        except APIError as exc:
            return self._api_error(exc)
        response = self._json(200, doc)
        if path in ("/v1/inventory/Services/List", "/v1/inventory/services") and self.huge_response_bytes:
            missing = self.huge_response_bytes - len(response.body)
            if missing > 0:  # whitespace before the closing brace: the same document, N bytes long
                response = Response(200, response.body[:-1] + b" " * missing + b"}")
        return response

    def _save_dashboard(self, method: str, authorization: str | None, body: bytes) -> Response:
        """Grafana's `POST /api/dashboards/db` behind PMM's /graph/ prefix (Grafana HTTP API docs, "Create / Update
        dashboard"); Grafana authenticates it itself and needs Editor or above. Answers as Grafana does."""
        if method != "POST":
            return Response(405, b'{"message":"Method Not Allowed"}')
        try:
            principal = self._authenticate(authorization)
        except _AuthFailure as exc:
            return Response(401, json.dumps({"message": exc.message}).encode())
        if not principal.grafana_admin and principal.role < p.EDITOR:
            return Response(403, b'{"message":"Access denied to save dashboard"}')
        try:
            request = json.loads(body)
            board = request["dashboard"]
            uid, title = str(board["uid"]), str(board["title"])
        except (ValueError, KeyError, TypeError):
            return Response(400, b'{"message":"bad request data"}')
        with self.lock:
            previous = self.dashboards.get(uid)
            if previous is not None and not request.get("overwrite"):
                return Response(412, b'{"message":"A dashboard with the same uid already exists",'
                                     b'"status":"name-exists"}')
            version = (previous or {}).get("version", 0) + 1
            self.dashboards[uid] = {**board, "id": len(self.dashboards) + 1, "version": version,
                                    "folderUid": request.get("folderUid", "")}
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        return Response(200, json.dumps({"id": self.dashboards[uid]["id"], "uid": uid, "url": f"/graph/d/{uid}/{slug}",
                                         "status": "success", "version": version, "slug": slug}).encode())

    def _authenticate(self, authorization: str | None) -> _Principal:
        """What Grafana says about the request's credentials (managed/services/grafana/client.go `getAuthUser`)."""
        scheme, _, credential = (authorization or "").strip().partition(" ")
        credential = credential.strip()
        with self.lock:
            if scheme.lower() == "bearer" and credential:
                return self._token_principal(credential)
            if scheme.lower() == "basic" and credential:
                try:
                    user, sep, password = base64.b64decode(credential, validate=True).decode().partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    user, sep, password = "", "", ""
                if user in ("api_key", "service_token") and sep:  # https://api_key:<key>@host, service_token:<token>
                    return self._token_principal(password)
                known = self._users.get(user)
                if known is not None and sep and known[0] == password:
                    return _Principal(known[1], known[2])
                raise _AuthFailure(401, p.UNAUTHENTICATED, "Invalid username or password")
        raise _AuthFailure(401, p.UNAUTHENTICATED, "Unauthorized")

    def _token_principal(self, token: str) -> _Principal:
        role = self._tokens.get(token)
        if role is None:
            raise _AuthFailure(401, p.UNAUTHENTICATED, "Invalid API key")
        return _Principal(role, False)  # a token is never a Grafana server admin

    def _params(self, method: str, query: str, body: bytes) -> dict[str, Any]:
        """PMM 2: the JSON body (POST, body "*"; empty means {}). PMM 3: the query string (GET)."""
        if method == "GET":
            return {key: values[0] for key, values in parse_qs(query, keep_blank_values=True).items()}
        if not body.strip():
            return {}
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise APIError(p.INVALID_ARGUMENT, f"proto: syntax error: {exc}") from None
        if not isinstance(doc, dict):
            raise APIError(p.INVALID_ARGUMENT, "proto: syntax error: unexpected token, want {")
        return doc

    def _json(self, status: int, doc: dict[str, Any]) -> Response:
        if self.major < 3:
            doc = p.omit_empty(doc)
        return Response(status, json.dumps(doc, indent=2).encode())  # protojson Indent: "  "

    def _api_error(self, exc: APIError) -> Response:
        return self._json(p.HTTP_STATUS[exc.code], p.gateway_error(self.major, exc.code, exc.message))

    def _fault_response(self, fault: Fault) -> Response:
        if fault.body is not None:
            content_type = fault.content_type or _guess_type(fault.body)
            return Response(fault.status, fault.body, content_type)
        if fault.status in (502, 503, 504):
            reason = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}
            return Response(fault.status, p.nginx_error_page(fault.status, reason[fault.status]), "text/html")
        code = p.CODE_FOR_STATUS.get(fault.status, p.UNKNOWN)
        return self._json(fault.status, p.gateway_error(self.major, code, "Simulated failure."))

    # --- API handlers ---------------------------------------------------------------------------------------------

    def _route_table(self) -> dict[str, dict[str, Handler]]:
        if self.major >= 3:
            return {  # api/server/v1/server.proto, api/inventory/v1/*.proto, api/backup/v1/locations.proto
                "/v1/server/readyz": {"GET": lambda _: {}},
                "/v1/server/version": {"GET": self._version},
                "/v1/server/settings": {"GET": self._settings},
                "/v1/server/settings/readonly": {"GET": self._readonly_settings},
                "/v1/inventory/services": {"GET": self._list_services},
                "/v1/inventory/agents": {"GET": self._list_agents},
                "/v1/inventory/nodes": {"GET": self._list_nodes},
                "/v1/backups/locations": {"GET": self._list_locations},
            }
        return {  # api/serverpb/server.proto, api/inventorypb/*.proto, api/managementpb/backup/locations.proto
            "/v1/readyz": {"GET": lambda _: {}},
            "/v1/version": {"GET": self._version},
            "/v1/Settings/Get": {"POST": self._settings},
            "/v1/inventory/Services/List": {"POST": self._list_services},
            "/v1/inventory/Agents/List": {"POST": self._list_agents},
            "/v1/inventory/Nodes/List": {"POST": self._list_nodes},
            "/v1/management/backup/Locations/List": {"POST": self._list_locations},
        }

    def _version(self, _: Mapping[str, Any]) -> dict[str, Any]:
        return version_response(self.version, self.major)

    def _settings(self, _: Mapping[str, Any]) -> dict[str, Any]:
        return settings_response(self.major, self.backup_management, self.pmm_public_address, self.release)

    def _readonly_settings(self, _: Mapping[str, Any]) -> dict[str, Any]:
        return readonly_settings_response(self.backup_management, self.pmm_public_address)

    def _list_services(self, params: Mapping[str, Any]) -> dict[str, Any]:
        service_type = p.enum_in(self.major, "ServiceType", p.SERVICE_TYPES, _param(params, "service_type", 0))
        node_id = _str_param(params, "node_id")
        group = _str_param(params, "external_group")
        with self.lock:
            services = [
                s for s in self._services.values()
                if (service_type is None or s.service_type == service_type)
                and (not node_id or s.node_id == node_id) and (not group or s.external_group == group)
            ]  # fmt: skip
            return dict(services_response(services, self.major, self.release))

    def _list_agents(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """inventory AgentsService.List: at most one of the three ids, each of which must exist (models.FindAgents)."""
        agent_type = p.enum_in(self.major, "AgentType", p.AGENT_TYPES, _param(params, "agent_type", 0))
        pmm_agent_id = _str_param(params, "pmm_agent_id")
        node_id = _str_param(params, "node_id")
        service_id = _str_param(params, "service_id")
        if sum(bool(x) for x in (pmm_agent_id, node_id, service_id)) > 1:
            raise APIError(p.INVALID_ARGUMENT, "expected at most one param: pmm_agent_id, node_id or service_id")
        with self.lock:
            if pmm_agent_id and pmm_agent_id not in self._agents:
                raise APIError(p.NOT_FOUND, f"Agent with ID {json.dumps(pmm_agent_id)} not found.")
            if node_id and node_id not in self._nodes:
                raise APIError(p.NOT_FOUND, f"Node with ID {json.dumps(node_id)} not found.")
            if service_id and service_id not in self._services:
                raise APIError(p.NOT_FOUND, f"Service with ID {json.dumps(service_id)} not found.")
            agents = [
                a for a in self._agents.values()
                if (agent_type is None or a.agent_type == agent_type)
                and (not pmm_agent_id or a.pmm_agent_id == pmm_agent_id)
                and (not node_id or a.node_id == node_id) and (not service_id or a.service_id == service_id)
            ]  # fmt: skip
            return dict(agents_response(agents, self.major, self.release))

    def _list_nodes(self, params: Mapping[str, Any]) -> dict[str, Any]:
        node_type = p.enum_in(self.major, "NodeType", p.NODE_TYPES, _param(params, "node_type", 0))
        with self.lock:
            nodes = [n for n in self._nodes.values() if node_type is None or n.node_type == node_type]
            return dict(nodes_response(nodes, self.major, self.release))

    def _list_locations(self, _: Mapping[str, Any]) -> dict[str, Any]:
        if not self.backup_management:
            # interceptors.UnaryServiceEnabledInterceptor: the service's Enabled() is false -> FailedPrecondition
            raise APIError(p.FAILED_PRECONDITION, "Service backup.v1.LocationsService is disabled.")
        with self.lock:
            return {"locations": [render_location(loc) for loc in self._locations.values()]}

    # --- model internals -----------------------------------------------------------------------------------------

    def _client_path(self, tail: str) -> str:
        return f"/usr/local/percona/{'pmm' if self.major >= 3 else 'pmm2'}/{tail}"

    def _new_agent(self, agent_type: str, *, port: bool = False, **fields: Any) -> Agent:
        agent = Agent(new_id(self.major, "agent"), agent_type, **fields)
        if port:  # pmm-agent hands out exporter ports from 42000 up (agent config ports.min)
            owner = agent.pmm_agent_id
            agent.listen_port = self._ports.get(owner, 42000)
            self._ports[owner] = agent.listen_port + 1
        self._agents[agent.agent_id] = agent
        return agent

    def _children(self, pmm_agent_id: str) -> list[Agent]:
        return [a for a in self._agents.values() if a.pmm_agent_id == pmm_agent_id]

    def _set_children_status(self, pmm_agent_id: str, status: str) -> None:
        for agent in self._children(pmm_agent_id):
            _park(agent, status)

    def _pmm_agent_of_node(self, node_id: str) -> Agent | None:
        for agent in self._agents.values():
            if agent.agent_type == "PMM_AGENT" and agent.runs_on_node_id == node_id:
                return agent
        return None

    def _pmm_agent_for(self, node_or_service_id: str) -> Agent:
        """The pmm-agent of a node, or the one running a service's agents (else the one on the service's node)."""
        node_id = node_or_service_id
        service = self._services.get(node_or_service_id)
        if service is not None:
            for agent in self._agents.values():
                if agent.service_id == service.service_id and agent.pmm_agent_id in self._agents:
                    return self._agents[agent.pmm_agent_id]
            node_id = service.node_id
        pmm_agent = self._pmm_agent_of_node(node_id)
        if pmm_agent is None:
            raise KeyError(f"no pmm-agent for {node_or_service_id!r}")
        return pmm_agent

    def _add_pmm_server(self) -> None:
        """PMM Server's own inventory (models/database.go setup fixtures): Node and pmm-agent `pmm-server`, its
        node_exporter, and the `pmm-server-postgresql` service with its postgres_exporter."""
        self._nodes[PMM_SERVER_ID] = Node(PMM_SERVER_ID, PMM_SERVER_ID, "127.0.0.1")
        self._agents[PMM_SERVER_ID] = Agent(PMM_SERVER_ID, "PMM_AGENT", runs_on_node_id=PMM_SERVER_ID, connected=True,
                                            process_exec_path="/usr/sbin/pmm-agent", version=self.version)  # fmt: skip
        self._new_agent("NODE_EXPORTER", pmm_agent_id=PMM_SERVER_ID, node_id=PMM_SERVER_ID, status="RUNNING",
                        process_exec_path="/usr/local/percona/pmm/exporters/node_exporter", port=True)  # fmt: skip
        service = Service(new_id(self.major, "service"), "POSTGRESQL_SERVICE", "pmm-server-postgresql", PMM_SERVER_ID,
                          "127.0.0.1", 5432, database_name="postgres", version="14.13")  # fmt: skip
        self._services[service.service_id] = service
        self._new_agent("POSTGRES_EXPORTER", pmm_agent_id=PMM_SERVER_ID, service_id=service.service_id,
                        username="pmm-managed", status="RUNNING", port=True,
                        process_exec_path="/usr/local/percona/pmm/exporters/postgres_exporter")  # fmt: skip


def _park(agent: Agent, status: str | None) -> None:
    """Give an agent of a disconnected pmm-agent `status`, keeping its own to restore on reconnect."""
    if status is None:
        return
    if agent.saved_status is None:
        agent.saved_status = agent.status
    agent.status = status


def _major(version: str) -> int:
    try:
        return int(version.strip().removeprefix("v").split(".")[0])
    except ValueError:
        raise ValueError(f"version {version!r} is not like 2.44.0 or 3.4.0") from None


def _release(version: str) -> tuple[int, int, int]:
    parts = [int(x) if x.isdigit() else 0 for x in version.strip().removeprefix("v").split("-")[0].split(".")[:3]]
    major, minor, patch = [*parts, 0, 0, 0][:3]
    return major, minor, patch


def _role(role: str) -> int:
    if role not in p.ROLES:
        raise ValueError(f"role must be one of {', '.join(p.ROLES)}, not {role!r}")
    return p.ROLES[role]


def _resolve(host: str) -> str:
    try:
        return socket.gethostbyname(host)
    except OSError:
        return host


def _guess_type(body: bytes) -> str:
    try:
        json.loads(body)
    except ValueError:
        return "text/html" if body.lstrip().startswith(b"<") else "text/plain"
    return JSON
