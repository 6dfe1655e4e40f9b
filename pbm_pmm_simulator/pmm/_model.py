"""PMM Server's inventory, settings and backup locations, and how each dialect renders them.

Rendering builds the complete proto message (every field, zero values included, unset messages as None) in proto
field order; the server then sends it as is (PMM 3, EmitUnpopulated true) or through `omit_empty` (PMM 2).
Field lists: PMM 2 api/inventorypb/{nodes,services,agents}.proto, api/serverpb/server.proto,
api/managementpb/backup/locations.proto; PMM 3 api/inventory/v1/*.proto, api/server/v1/server.proto,
api/backup/v1/locations.proto.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from ._protocol import AGENT_TYPES, FIELDS_SINCE_3_9, NODE_TYPES, SERVICE_TYPES, enum_out, list_keys

PMM_SERVER_ID: Final = "pmm-server"  # the server's own Node and pmm-agent have this fixed ID in both lines


def new_id(major: int, kind: str) -> str:
    """PMM 2: `/service_id/<uuid>` and so on; PMM 3 dropped the prefixes (PMM-13020, percona/pmm PR #2970)."""
    bare = str(uuid.uuid4())
    return bare if major >= 3 else f"/{kind}_id/{bare}"


def timestamp(moment: datetime | None = None) -> str:
    """A google.protobuf.Timestamp as protojson writes it: RFC 3339 in UTC with "Z", and 0, 3, 6 or 9 fractional
    digits, as few as hold the value (google.golang.org/protobuf encoding/protojson well_known_types.go)."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond % 1000:
        text += f".{moment.microsecond:06d}"
    elif moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


@dataclass
class Node:
    node_id: str
    node_name: str
    address: str
    node_type: str = "GENERIC_NODE"
    machine_id: str = ""
    distro: str = ""
    node_model: str = ""
    region: str = ""
    az: str = ""
    custom_labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Service:
    service_id: str
    service_type: str  # SERVICE_TYPES key
    service_name: str
    node_id: str
    address: str = ""
    port: int = 0
    socket: str = ""
    environment: str = ""
    cluster: str = ""
    replication_set: str = ""
    custom_labels: dict[str, str] = field(default_factory=dict)
    version: str = ""
    database_name: str = ""
    external_group: str = ""


@dataclass
class Agent:
    agent_id: str
    agent_type: str  # AGENT_TYPES key
    pmm_agent_id: str = ""
    runs_on_node_id: str = ""  # pmm-agent only
    node_id: str = ""  # node_exporter: the Node it reports on
    service_id: str = ""
    username: str = ""
    status: str = ""  # canonical AgentStatus name; "" is the zero value
    connected: bool = False  # pmm-agent only
    disabled: bool = False
    tls: bool = False
    tls_skip_verify: bool = False
    push_metrics_enabled: bool = False
    listen_port: int = 0
    process_exec_path: str = ""
    custom_labels: dict[str, str] = field(default_factory=dict)
    saved_status: str | None = None  # the status before the pmm-agent disconnected
    version: str = ""  # pmm-agent only: what it reported on connect (agents.version)
    created_at: str = field(default_factory=timestamp)


@dataclass
class Location:
    location_id: str
    name: str
    description: str = ""
    path: str = ""  # filesystem
    endpoint: str = ""  # s3
    access_key: str = ""
    secret_key: str = ""
    bucket_name: str = ""

    @property
    def is_s3(self) -> bool:
        return bool(self.bucket_name or self.endpoint)


# Fields of each message, in proto field order. A value is read from the object attribute of the same name;
# the special cases are in `_field_value`.
_NODE_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "GENERIC_NODE": ("node_id", "node_name", "address", "machine_id", "distro", "node_model", "region", "az",
                     "custom_labels"),
    "CONTAINER_NODE": ("node_id", "node_name", "address", "machine_id", "container_id", "container_name",
                       "node_model", "region", "az", "custom_labels"),
    "REMOTE_NODE": ("node_id", "node_name", "address", "node_model", "region", "az", "custom_labels"),
}  # fmt: skip

_SERVICE_COMMON: Final = ("service_id", "service_name", "node_id", "address", "port", "socket", "environment",
                          "cluster", "replication_set", "custom_labels", "version")
_SERVICE_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "MONGODB_SERVICE": _SERVICE_COMMON,
    "MYSQL_SERVICE": _SERVICE_COMMON,
    "PROXYSQL_SERVICE": _SERVICE_COMMON,
    "POSTGRESQL_SERVICE": ("service_id", "service_name", "database_name", "node_id", "address", "port", "socket",
                           "environment", "cluster", "replication_set", "custom_labels", "version",
                           "auto_discovery_limit"),
    "EXTERNAL_SERVICE": ("service_id", "service_name", "node_id", "environment", "cluster", "replication_set",
                         "custom_labels", "group"),
}  # fmt: skip

_EXPORTER_TAIL: Final = ("status", "listen_port", "process_exec_path", "log_level", "expose_exporter",
                         "metrics_resolutions")
_AGENT_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "PMM_AGENT": ("agent_id", "runs_on_node_id", "custom_labels", "connected", "process_exec_path"),
    "VM_AGENT": ("agent_id", "pmm_agent_id", "status", "process_exec_path", "listen_port"),
    "NODE_EXPORTER": ("agent_id", "pmm_agent_id", "disabled", "custom_labels", "push_metrics_enabled",
                      "disabled_collectors", *_EXPORTER_TAIL),
    "MONGODB_EXPORTER": ("agent_id", "pmm_agent_id", "disabled", "service_id", "username", "tls", "tls_skip_verify",
                         "custom_labels", "push_metrics_enabled", "disabled_collectors", "status", "listen_port",
                         "stats_collections", "collections_limit", "enable_all_collectors", "process_exec_path",
                         "log_level", "expose_exporter", "metrics_resolutions"),
    "POSTGRES_EXPORTER": ("agent_id", "pmm_agent_id", "disabled", "service_id", "username", "tls", "tls_skip_verify",
                          "custom_labels", "push_metrics_enabled", "disabled_collectors", "status", "listen_port",
                          "process_exec_path", "log_level", "auto_discovery_limit", "expose_exporter",
                          "max_exporter_connections", "metrics_resolutions"),
    "QAN_MONGODB_PROFILER_AGENT": ("agent_id", "pmm_agent_id", "disabled", "service_id", "username", "tls",
                                   "tls_skip_verify", "max_query_length", "custom_labels", "status",
                                   "process_exec_path", "log_level"),
}  # fmt: skip

# name -> (fields appended from FIELDS_SINCE_3_9 on), in proto field order
_FIELDS_3_9: Final[dict[str, tuple[str, ...]]] = {
    "GENERIC_NODE": ("is_pmm_server_node",),
    "CONTAINER_NODE": ("is_pmm_server_node",),
    "MONGODB_EXPORTER": ("environment_variable_names", "connection_timeout", "enable_diagnostic_data_histograms"),
    "POSTGRES_EXPORTER": ("connection_timeout",),
}

_ZERO_BY_FIELD: Final[dict[str, Any]] = {
    # 3.9.0's: a google.protobuf.Duration left unset is null
    "is_pmm_server_node": False, "environment_variable_names": [], "connection_timeout": None,
    "enable_diagnostic_data_histograms": False,
    "disabled_collectors": [], "stats_collections": [], "collections_limit": 0, "enable_all_collectors": False,
    "expose_exporter": False, "metrics_resolutions": None, "auto_discovery_limit": 0, "max_exporter_connections": 0,
    "max_query_length": 0, "container_id": "", "container_name": "", "group": "",
}  # fmt: skip


def _field_value(obj: object, name: str, major: int) -> Any:
    if name == "status":
        return enum_out(major, "AgentStatus", str(getattr(obj, "status", "")))
    if name == "log_level":
        return enum_out(major, "LogLevel", "")  # exporters run with the default ("auto") level
    if name == "group":
        return getattr(obj, "external_group", "")
    if hasattr(obj, name):
        value = getattr(obj, name)
        return dict(value) if isinstance(value, dict) else value
    return _ZERO_BY_FIELD[name]


def _fields(table: dict[str, tuple[str, ...]], kind: str, release: tuple[int, int, int] | None
            ) -> tuple[str, ...]:
    later = _FIELDS_3_9.get(kind, ()) if release is not None and release >= FIELDS_SINCE_3_9 else ()
    return table[kind] + later


def render_node(node: Node, major: int, release: tuple[int, int, int] | None = None) -> dict[str, Any]:
    return {name: _field_value(node, name, major) for name in _fields(_NODE_FIELDS, node.node_type, release)}


def render_service(service: Service, major: int) -> dict[str, Any]:
    return {name: _field_value(service, name, major) for name in _SERVICE_FIELDS[service.service_type]}


def render_agent(agent: Agent, major: int, release: tuple[int, int, int] | None = None) -> dict[str, Any]:
    return {name: _field_value(agent, name, major) for name in _fields(_AGENT_FIELDS, agent.agent_type, release)}


def render_location(location: Location) -> dict[str, Any]:
    """Location: one of the `config` oneof, never both (an unset oneof member is not emitted, even on PMM 3).

    The S3 secret key is returned in clear, as pmm-managed's `convertLocation` does.
    """
    doc: dict[str, Any] = {"location_id": location.location_id, "name": location.name,
                           "description": location.description}
    if location.is_s3:
        doc["s3_config"] = {"endpoint": location.endpoint, "access_key": location.access_key,
                            "secret_key": location.secret_key, "bucket_name": location.bucket_name}
    else:
        doc["filesystem_config"] = {"path": location.path}
    return doc


def group(table: dict[str, tuple[int, str, int]], major: int, items: list[tuple[str, dict[str, Any]]],
          release: tuple[int, int, int] | None = None) -> dict[str, list[dict[str, Any]]]:
    """ListXResponse: one list per type, every type's key present (PMM 2 then drops the empty ones)."""
    out: dict[str, list[dict[str, Any]]] = {key: [] for key in list_keys(table, major, release)}
    for type_name, doc in items:
        out[table[type_name][1]].append(doc)
    return out


def services_response(services: list[Service], major: int, release: tuple[int, int, int] | None = None
                      ) -> dict[str, list[dict[str, Any]]]:
    return group(SERVICE_TYPES, major, [(s.service_type, render_service(s, major)) for s in services], release)


def agents_response(agents: list[Agent], major: int, release: tuple[int, int, int] | None = None
                    ) -> dict[str, list[dict[str, Any]]]:
    return group(AGENT_TYPES, major, [(a.agent_type, render_agent(a, major, release)) for a in agents], release)


def nodes_response(nodes: list[Node], major: int, release: tuple[int, int, int] | None = None
                   ) -> dict[str, list[dict[str, Any]]]:
    return group(NODE_TYPES, major, [(n.node_type, render_node(n, major, release)) for n in nodes], release)


# --- server ----------------------------------------------------------------------------------------------------------

_METRICS_RESOLUTIONS: Final = {"hr": "5s", "mr": "10s", "lr": "60s"}  # pmm-managed defaults (models/settings.go)
_CHECK_INTERVALS: Final = {"standard_interval": "86400s", "rare_interval": "280800s", "frequent_interval": "14400s"}


def version_response(version: str, major: int) -> dict[str, Any]:
    """VersionResponse {version, server: VersionInfo, managed: VersionInfo, distribution_method}."""
    timestamp = "2025-01-20T10:00:00Z" if major >= 3 else "2024-11-25T10:00:00Z"
    commit = uuid.uuid5(uuid.NAMESPACE_URL, f"pmm-{version}").hex + "0123abcd"
    return {
        "version": version,
        "server": {"version": version, "full_version": f"{version}-1.{commit[:7]}", "timestamp": timestamp},
        "managed": {"version": version, "full_version": commit, "timestamp": timestamp},
        "distribution_method": enum_out(major, "DistributionMethod", "DOCKER"),
    }


def settings_response(major: int, backup_management: bool, public_address: str,
                      release: tuple[int, int, int] | None = None) -> dict[str, Any]:
    """GetSettingsResponse {settings: Settings}, with a fresh server's defaults. PMM 3's fields are those of
    api/server/v1/json/v1.json on the pmm-3.4.0 release branch (238209e6e) and at v3.9.0 (2cccd1107): the same but
    for enable_internal_pg_qan (7459b9b32, after 3.4.0; sent from 3.9.0, the first release checked). Neither
    declares update_snooze_duration, which lived on the v3 branch between e3f0525e5 and 91629d44f only."""
    if major >= 3:
        settings: dict[str, Any] = {
            "updates_enabled": True, "telemetry_enabled": True, "metrics_resolutions": dict(_METRICS_RESOLUTIONS),
            "data_retention": "2592000s", "ssh_key": "", "aws_partitions": ["aws"], "advisor_enabled": True,
            "platform_email": "", "alerting_enabled": True, "pmm_public_address": public_address,
            "advisor_run_intervals": dict(_CHECK_INTERVALS), "backup_management_enabled": backup_management,
            "azurediscover_enabled": False, "connected_to_platform": False, "telemetry_summaries": [],
            "enable_access_control": False, "default_role_id": 1,
        }  # fmt: skip
        if (release or (3, 99, 0)) >= (3, 9, 0):
            settings["enable_internal_pg_qan"] = False
    else:
        settings = {
            "updates_disabled": False, "telemetry_enabled": True, "metrics_resolutions": dict(_METRICS_RESOLUTIONS),
            "data_retention": "2592000s", "ssh_key": "", "aws_partitions": ["aws"], "alert_manager_url": "",
            "alert_manager_rules": "", "stt_enabled": True, "platform_email": "", "alerting_enabled": True,
            "pmm_public_address": public_address, "stt_check_intervals": dict(_CHECK_INTERVALS),
            "backup_management_enabled": backup_management, "azurediscover_enabled": False,
            "connected_to_platform": False, "telemetry_summaries": [], "enable_access_control": False,
            "default_role_id": 1,
        }  # fmt: skip
    return {"settings": settings}


def readonly_settings_response(backup_management: bool, public_address: str) -> dict[str, Any]:
    """PMM 3 GetReadOnlySettingsResponse {settings: ReadOnlySettings}."""
    return {"settings": {
        "updates_enabled": True, "telemetry_enabled": True, "advisor_enabled": True, "alerting_enabled": True,
        "pmm_public_address": public_address, "backup_management_enabled": backup_management,
        "azurediscover_enabled": False, "enable_access_control": False,
    }}  # fmt: skip
