"""Plain descriptions of what to simulate: members, pbm-agents, users, roles, and healthy defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bson import Timestamp

from .scram import SCRAM_SHA_256, check_password

RoleRef = tuple[str, str]  # (role, db)

#: The x.509 client-certificate mechanism (docs "x.509 Certificate Authentication"); its users live in `$external`.
MONGODB_X509 = "MONGODB-X509"
EXTERNAL_DB = "$external"


def _role_refs(roles: Sequence[RoleRef | Mapping[str, str]]) -> list[RoleRef]:
    out: list[RoleRef] = []
    for role in roles:
        if isinstance(role, Mapping):
            out.append((str(role["role"]), str(role["db"])))
        else:
            out.append((str(role[0]), str(role[1])))
    return out


@dataclass
class AgentSpec:
    """A pbm-agent attached to one member; the simulator derives its `admin.pbmAgents` document from this.

    `stopped_at` is the cluster-time second at which a stopped agent wrote its last heartbeat. When `running`
    is False and `stopped_at` is None, the heartbeat is frozen one hour before the replica set started.
    An `*_ok=False` with an empty `*_err` gets a realistic default error message.
    """

    version: str = "2.7.0"
    running: bool = True
    pbms_ok: bool = True
    pbms_err: str = ""
    nodes_ok: bool = True
    nodes_err: str = ""
    stors_ok: bool = True
    stors_err: str = ""
    err: str = ""
    stopped_at: float | None = None
    #: PBM's AgentStatusGC deleted the (stale) document; the agent writes it again when it runs again
    document_deleted: bool = False
    #: heartbeats paused at this cluster-time second, as during a physical restore (PBM's HbPause)
    paused_at: float | None = None
    #: False: the agent does not see the storage's `.pbm.init` (a filesystem path that is not the shared mount):
    #: PBM 2.6+ logs "storage is not initialized" to admin.pbmLog every 15 s and still reports stors.ok (pbm_log.py)
    storage_initialized: bool = True
    #: the cluster-time second from which it logs that (None: for as long as the log keeps)
    storage_uninitialized_since: float | None = None


@dataclass
class MemberSpec:
    """One replica-set member. `agent="auto"` means AgentSpec() for data members and no agent for arbiters.

    `psmdb` / `mongo_version` of None inherit the replica set's values. Hidden, delayed and arbiter members get
    priority 0, as the server requires.
    """

    arbiter: bool = False
    hidden: bool = False
    priority: float = 1.0
    delay_secs: int = 0
    agent: AgentSpec | Literal["auto"] | None = "auto"
    psmdb: bool | None = None
    mongo_version: str | None = None
    votes: int = 1

    def resolved_agent(self) -> AgentSpec | None:
        if self.agent == "auto":
            return None if self.arbiter else AgentSpec()
        return self.agent

    @property
    def effective_priority(self) -> float:
        if self.arbiter or self.hidden or self.delay_secs > 0:
            return 0.0
        return float(self.priority)


@dataclass(frozen=True)
class SimTLS:
    """TLS on every listener of a simulated set, like mongod's `net.tls.mode: requireTLS` with
    `net.tls.certificateKeyFile` (here `cert_file` + `key_file`, which may be the same PEM) and `net.tls.CAFile`.

    Plain-TCP clients are dropped during the handshake. With `ca_file`, a client certificate is verified against it
    when presented (`allowConnectionsWithoutCertificates`); `require_client_cert` makes one mandatory (mongod's
    default once a CAFile is set). A verified certificate's subject can authenticate as a MONGODB-X509 user.
    """

    cert_file: str | os.PathLike[str]
    key_file: str | os.PathLike[str] | None
    ca_file: str | os.PathLike[str] | None = None
    require_client_cert: bool = False

    def __post_init__(self) -> None:
        if self.require_client_cert and self.ca_file is None:
            raise ValueError("require_client_cert needs ca_file to verify client certificates against")


@dataclass
class SimUser:
    """A user stored in `<db>.system.users`. Passwords must be printable ASCII (SASLprep is the identity).

    A MONGODB-X509 user lives in `$external`, is named by its certificate's RFC 4514 subject and has no password:
    `SimUser("CN=pmm,O=org", "", db="$external", roles=..., mechanisms=("MONGODB-X509",))`.
    """

    name: str
    password: str
    roles: Sequence[RoleRef | Mapping[str, str]] = ()
    db: str = "admin"
    mechanisms: tuple[str, ...] = (SCRAM_SHA_256,)

    def __post_init__(self) -> None:
        if self.password or self.db != EXTERNAL_DB:
            check_password(self.password)  # $external users (x.509, LDAP, Kerberos) have no stored password
        self.roles = _role_refs(self.roles)

    @property
    def role_refs(self) -> list[RoleRef]:
        return _role_refs(self.roles)

    @property
    def is_x509(self) -> bool:
        return self.db == EXTERNAL_DB and MONGODB_X509 in self.mechanisms


@dataclass
class SimRole:
    """A custom role: privileges (resource documents + actions) and inherited roles."""

    name: str
    db: str = "admin"
    privileges: Sequence[Mapping[str, Any]] = ()
    roles: Sequence[RoleRef | Mapping[str, str]] = ()

    def __post_init__(self) -> None:
        self.privileges = [dict(p) for p in self.privileges]
        self.roles = _role_refs(self.roles)

    @property
    def role_refs(self) -> list[RoleRef]:
        return _role_refs(self.roles)


# --- healthy defaults -------------------------------------------------------------------------------------

#: PMM/PBM backup roles (PBM docs "Configure authentication"; PMM docs "Create PMM account").
PMM_BACKUP_ROLES: tuple[RoleRef, ...] = (
    ("readWrite", "admin"),
    ("backup", "admin"),
    ("clusterMonitor", "admin"),
    ("restore", "admin"),
    ("pbmAnyAction", "admin"),
)
#: PMM 3 monitoring roles (MongoDB < 8.0): pmmMonitor@admin, read@local, clusterMonitor@admin.
PMM_MONITOR_ROLES: tuple[RoleRef, ...] = (("pmmMonitor", "admin"), ("read", "local"), ("clusterMonitor", "admin"))
#: Everything the PMM user of a backup-enabled PMM setup has (monitoring + backup roles).
PMM_USER_ROLES: tuple[RoleRef, ...] = (
    ("pmmMonitor", "admin"),
    ("read", "local"),
    *PMM_BACKUP_ROLES,
)

PBM_ANY_ACTION_ROLE = SimRole(
    "pbmAnyAction", "admin", privileges=[{"resource": {"anyResource": True}, "actions": ["anyAction"]}]
)
PMM_MONITOR_ROLE = SimRole(
    "pmmMonitor",
    "admin",
    privileges=[
        {
            "resource": {"db": "", "collection": ""},
            "actions": ["collStats", "dbHash", "dbStats", "find", "indexStats", "listCollections", "listIndexes"],
        },
        {"resource": {"db": "", "collection": "system.version"}, "actions": ["find"]},
        {"resource": {"db": "", "collection": "system.profile"}, "actions": ["collStats", "dbStats", "indexStats"]},
    ],
)

DEFAULT_USER = "pmm"
DEFAULT_PASSWORD = "secret"
DEFAULT_USERS: tuple[SimUser, ...] = (SimUser(DEFAULT_USER, DEFAULT_PASSWORD, roles=PMM_USER_ROLES),)
DEFAULT_ROLES: tuple[SimRole, ...] = (PBM_ANY_ACTION_ROLE, PMM_MONITOR_ROLE)
DEFAULT_MEMBERS: tuple[MemberSpec, ...] = (MemberSpec(), MemberSpec(), MemberSpec())

#: A configured S3 storage as `pbm config` writes it (credentials included, in clear text, like PBM).
DEFAULT_PBM_CONFIG: Mapping[str, Any] = {
    "storage": {
        "type": "s3",
        "s3": {
            "region": "us-east-1",
            "bucket": "pbm-backups",
            "prefix": "pmm",
            "credentials": {"access-key-id": "AKIASIMULATED", "secret-access-key": "SIMULATED/SECRET/KEY"},
        },
    },
    "pitr": {"enabled": False},
    "backup": {"oplogSpanMin": 0},
    "epoch": Timestamp(1_700_000_000, 1),
}
