"""What PMM Server's HTTP API looks like on the wire, per dialect: enums, auth rules, error bodies, empty fields.

Sources (percona/pmm on GitHub; "PMM 2" is the v2 line, "PMM 3" the v3 line):
- JSON marshalling: pmm-managed `runHTTP1Server` (managed/cmd/pmm-managed/main.go) uses grpc-gateway v2's JSONPb with
  `UseProtoNames: true` and `EmitUnpopulated: false` on PMM 2, `EmitUnpopulated: true` on PMM 3 (PMM-6722, PR #2645,
  "Preserve empty JSON fields in API responses"; PR #5021 confirms "PMM2 has EmitUnpopulated: false, with PMM3 it was
  changed to true"). So PMM 2 omits false, "", 0, empty lists/maps and zero enums; PMM 3 sends them all, unset
  message fields as null, but never an unset oneof member.
- Errors of API handlers: `pmmerrors.PMMHTTPErrorHandler` (utils/errors/errors.go) marshals
  `HttpError{error, code, message, details}` with the same marshaller: PMM 2 `{"error", "code", "message"}`,
  PMM 3 adds `"details": []`. HTTP status = grpc-gateway `HTTPStatusFromCode`.
- Unknown paths: PMM 2 has no routing error handler, so grpc-gateway's default one turns them into
  NotFound "Not Found" through the handler above; PMM 3 installs `PMMRoutingErrorHandler`, which renders
  `{"code": 5, "message": "Endpoint not found: <path>, http method: <METHOD>", "details": []}` with grpc-gateway's
  default error handler (no `error` field).
- Auth: nginx `auth_request` to pmm-managed's `AuthServer` (managed/services/grafana/auth_server.go). Every failure,
  unauthenticated or forbidden, is answered with HTTP 401 (`authenticationErrorCode`; nginx `error_page 401 =
  /auth_request` re-runs the request to return the JSON body) and the compact body
  `{"code":N,"error":msg,"message":msg}\\n` (Go map encoding: keys sorted). PermissionDenied is code 7 "Access
  denied."; a credential Grafana rejects is code 16 with Grafana's own message. Only PMM's main branch after 3.x
  answers PermissionDenied with 403 (`httpStatusForAuthError`): `SimPMMServer(denied_status=403)`.
- Role rules: the `rules` map of auth_server.go; a path without a rule needs a Grafana server admin.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

# --- roles (auth_server.go / client.go: none < viewer < editor < admin < grafanaAdmin) ----------------------------

NONE, VIEWER, EDITOR, ADMIN, GRAFANA_ADMIN = range(5)
ROLES: Final[dict[str, int]] = {"Viewer": VIEWER, "Editor": EDITOR, "Admin": ADMIN}

# auth_server.go `rules` on the v2 line (subset: everything under /v1 that matters plus the public probes).
RULES_V2: Final[dict[str, int]] = {
    "/v1/inventory/": ADMIN,
    "/v1/inventory/Services/ListTypes": VIEWER,
    "/v1/management/": ADMIN,
    "/v1/management/Actions/": VIEWER,
    "/v1/management/Jobs": VIEWER,
    "/v1/Updates/Check": VIEWER,
    "/v1/Updates/Status": NONE,
    "/v1/AWSInstanceCheck": NONE,
    "/v1/Updates/": ADMIN,
    "/v1/Settings/": ADMIN,
    "/v1/user": VIEWER,
    "/v1/readyz": NONE,
    "/ping": NONE,
    "/v1/version": VIEWER,
    "/managed/v1/version": VIEWER,
    "/v0/qan/": VIEWER,
    "/prometheus": ADMIN,
    "/victoriametrics": ADMIN,
    "/alertmanager": ADMIN,
    "/graph": NONE,
    "/swagger": NONE,
    "/logs.zip": ADMIN,
}

# auth_server.go `rules` on the v3 line (subset).
RULES_V3: Final[dict[str, int]] = {
    "/v1/alerting": VIEWER,
    "/v1/advisors": EDITOR,
    "/v1/actions": VIEWER,
    "/v1/backups": ADMIN,
    "/v1/dumps": ADMIN,
    "/v1/accesscontrol": ADMIN,
    "/v1/ha": VIEWER,
    "/v1/inventory": ADMIN,
    "/v1/inventory/services:getTypes": VIEWER,
    "/v1/management": ADMIN,
    "/v1/management/Jobs": VIEWER,
    "/v1/server/AWSInstance": NONE,
    "/v1/server/updates": VIEWER,
    "/v1/server/settings": ADMIN,
    "/v1/server/settings/readonly": VIEWER,
    "/v1/platform:": ADMIN,
    "/v1/platform": VIEWER,
    "/v1/users": VIEWER,
    "/v1/server/readyz": NONE,
    "/v1/server/leaderHealthCheck": NONE,
    "/ping": NONE,
    "/v1/server/version": VIEWER,
    "/v1/qan": VIEWER,
    "/prometheus": ADMIN,
    "/victoriametrics": ADMIN,
    "/graph": NONE,
    "/swagger": VIEWER,
    "/v1/server/logs.zip": ADMIN,
    "/v1/readyz": NONE,  # nginx rewrites it to /v1/server/readyz
    "/v1/version": VIEWER,  # nginx rewrites it to /v1/server/version
    "/logs.zip": ADMIN,
}


def _next_prefix(path: str, separators: str) -> str:
    """The next shorter prefix, cut at the separators (auth_server.go `nextPrefix`); the chain ends with "/"."""
    if not path or path[0] != "/" or path == "/":
        return "/"
    for sep in separators:
        stripped = path.rstrip(sep)
        if stripped != path:
            return stripped or "/"
    cut = max(path.rfind(sep) for sep in separators)
    return path[: cut + 1] or "/"


def required_role(major: int, path: str) -> int:
    """The minimal role for `path`: the longest rule prefix wins; no rule at all means a Grafana server admin."""
    rules, separators = (RULES_V3, "./:") if major >= 3 else (RULES_V2, "./")
    prefix = path
    while True:
        if prefix in rules:
            return rules[prefix]
        if prefix == "/":
            return GRAFANA_ADMIN
        prefix = _next_prefix(prefix, separators)


# --- gRPC codes and their HTTP statuses (grpc-gateway runtime.HTTPStatusFromCode) ---------------------------------

OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED = range(8)
RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE = range(8, 15)
DATA_LOSS, UNAUTHENTICATED = 15, 16

HTTP_STATUS: Final[dict[int, int]] = {
    OK: 200, CANCELLED: 499, UNKNOWN: 500, INVALID_ARGUMENT: 400, DEADLINE_EXCEEDED: 504, NOT_FOUND: 404,
    ALREADY_EXISTS: 409, PERMISSION_DENIED: 403, RESOURCE_EXHAUSTED: 429, FAILED_PRECONDITION: 400, ABORTED: 409,
    OUT_OF_RANGE: 400, UNIMPLEMENTED: 501, INTERNAL: 500, UNAVAILABLE: 503, DATA_LOSS: 500, UNAUTHENTICATED: 401,
}  # fmt: skip

# The reverse, for injected faults without a body: the gRPC code a status most likely came from.
CODE_FOR_STATUS: Final[dict[int, int]] = {
    400: INVALID_ARGUMENT, 401: UNAUTHENTICATED, 403: PERMISSION_DENIED, 404: NOT_FOUND, 405: UNIMPLEMENTED,
    409: ABORTED, 429: RESOURCE_EXHAUSTED, 499: CANCELLED, 500: INTERNAL, 501: UNIMPLEMENTED, 503: UNAVAILABLE,
    504: DEADLINE_EXCEEDED,
}  # fmt: skip


class APIError(Exception):
    """A gRPC status returned by a pmm-managed API handler."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# An API handler: the request's fields (JSON body, query string and path parameters) -> the response message.
Handler = Callable[[Mapping[str, Any]], dict[str, Any]]


def param(params: Mapping[str, Any], name: str, default: Any) -> Any:
    """A field by proto name or by JSON (lowerCamel) name, as protojson and grpc-gateway's query parser accept."""
    if name in params:
        return params[name]
    head, *rest = name.split("_")
    return params.get(head + "".join(word.title() for word in rest), default)


def str_param(params: Mapping[str, Any], name: str) -> str:
    value = param(params, name, "")
    if not isinstance(value, str):
        raise APIError(INVALID_ARGUMENT, f"proto: invalid value for string field {name}: {json.dumps(value)}")
    return value


def gateway_error(major: int, code: int, message: str) -> dict[str, Any]:
    """An API handler's error as `PMMHTTPErrorHandler` writes it (utils/errors/errors.go)."""
    body: dict[str, Any] = {"error": message, "code": code, "message": message}
    if major >= 3:
        body["details"] = []  # EmitUnpopulated: true
    return body


def routing_not_found(major: int, method: str, path: str) -> dict[str, Any]:
    """No route for the path: PMM 2 via grpc-gateway's default routing handler, PMM 3 via `PMMRoutingErrorHandler`."""
    if major >= 3:
        return {"code": NOT_FOUND, "message": f"Endpoint not found: {path}, http method: {method}", "details": []}
    return gateway_error(major, NOT_FOUND, "Not Found")


def auth_error_body(code: int, message: str) -> bytes:
    """auth_server.go `returnError`: json.NewEncoder(rw).Encode(map) -- compact, keys sorted, trailing newline."""
    return (json.dumps({"code": code, "error": message, "message": message}, separators=(",", ":")) + "\n").encode()


# nginx's own error page (what PMM's nginx answers when pmm-managed is down: 502, or 503 in maintenance mode).
def nginx_error_page(status: int, reason: str) -> bytes:
    title = f"{status} {reason}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        f"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


# --- enums ---------------------------------------------------------------------------------------------------------
# PMM 2 (api/inventorypb/*.proto): unprefixed names, zero value `<TYPE>_INVALID`.
# PMM 3 (api/inventory/v1/*.proto): every value prefixed with the enum's name, zero value `<PREFIX>UNSPECIFIED`.

AGENT_STATUSES: Final[dict[str, int]] = {
    "STARTING": 1, "INITIALIZATION_ERROR": 7, "RUNNING": 2, "WAITING": 3, "STOPPING": 4, "DONE": 5, "UNKNOWN": 6,
}  # fmt: skip

# name -> (number, response list key, first major that has it)
SERVICE_TYPES: Final[dict[str, tuple[int, str, int]]] = {
    "MYSQL_SERVICE": (1, "mysql", 2),
    "MONGODB_SERVICE": (2, "mongodb", 2),
    "POSTGRESQL_SERVICE": (3, "postgresql", 2),
    "PROXYSQL_SERVICE": (4, "proxysql", 2),
    "HAPROXY_SERVICE": (6, "haproxy", 2),
    "EXTERNAL_SERVICE": (5, "external", 2),
    "VALKEY_SERVICE": (7, "valkey", 3),
}

AGENT_TYPES: Final[dict[str, tuple[int, str, int]]] = {
    "PMM_AGENT": (1, "pmm_agent", 2),
    "VM_AGENT": (14, "vm_agent", 2),
    "NODE_EXPORTER": (2, "node_exporter", 2),
    "MYSQLD_EXPORTER": (3, "mysqld_exporter", 2),
    "MONGODB_EXPORTER": (4, "mongodb_exporter", 2),
    "POSTGRES_EXPORTER": (5, "postgres_exporter", 2),
    "PROXYSQL_EXPORTER": (6, "proxysql_exporter", 2),
    "QAN_MYSQL_PERFSCHEMA_AGENT": (7, "qan_mysql_perfschema_agent", 2),
    "QAN_MYSQL_SLOWLOG_AGENT": (8, "qan_mysql_slowlog_agent", 2),
    "QAN_MONGODB_PROFILER_AGENT": (9, "qan_mongodb_profiler_agent", 2),
    "QAN_MONGODB_MONGOLOG_AGENT": (18, "qan_mongodb_mongolog_agent", 3),
    "QAN_POSTGRESQL_PGSTATEMENTS_AGENT": (10, "qan_postgresql_pgstatements_agent", 2),
    "QAN_POSTGRESQL_PGSTATMONITOR_AGENT": (13, "qan_postgresql_pgstatmonitor_agent", 2),
    "EXTERNAL_EXPORTER": (12, "external_exporter", 2),
    "RDS_EXPORTER": (11, "rds_exporter", 2),
    "AZURE_DATABASE_EXPORTER": (15, "azure_database_exporter", 2),
    "NOMAD_AGENT": (16, "nomad_agent", 3),
    "VALKEY_EXPORTER": (17, "valkey_exporter", 3),
    "RTA_MONGODB_AGENT": (19, "rta_mongodb_agent", 3),  # api/inventory/v1/agents.proto AGENT_TYPE_RTA_MONGODB_AGENT
}

NODE_TYPES: Final[dict[str, tuple[int, str, int]]] = {
    "GENERIC_NODE": (1, "generic", 2),
    "CONTAINER_NODE": (2, "container", 2),
    "REMOTE_NODE": (3, "remote", 2),
    "REMOTE_RDS_NODE": (4, "remote_rds", 2),
    "REMOTE_AZURE_DATABASE_NODE": (5, "remote_azure_database", 2),
}

# enum name -> (PMM 3 prefix, PMM 2 zero-value name)
ENUM_PREFIX: Final[dict[str, tuple[str, str]]] = {
    "AgentStatus": ("AGENT_STATUS_", "AGENT_STATUS_INVALID"),
    "ServiceType": ("SERVICE_TYPE_", "SERVICE_TYPE_INVALID"),
    "AgentType": ("AGENT_TYPE_", "AGENT_TYPE_INVALID"),
    "NodeType": ("NODE_TYPE_", "NODE_TYPE_INVALID"),
    "LogLevel": ("LOG_LEVEL_", "auto"),
    "DistributionMethod": ("DISTRIBUTION_METHOD_", "DISTRIBUTION_METHOD_INVALID"),
}


# List keys PMM 3 added in a later 3.x, by the first release whose published API (api/inventory/v1/json/v1.json of
# its release branch, as merged into v3; tests/pmm_api_fields.py) declares them: nomad_agent is absent from
# pmm-3.1.0 (ef0e649eb) and in pmm-3.2.0 (60c952647); qan_mongodb_mongolog_agent absent from 3.2.0 and in pmm-3.3.0
# (067e23685). Valkey is absent from pmm-3.4.0 (238209e6e) and in v3.9.0 (2cccd1107); it came in be77437ee
# (2025-09-16), but which release between first had it is not verified here, so the simulator sends it from 3.9.0.
LIST_KEYS_SINCE: Final[dict[str, tuple[int, int, int]]] = {
    "nomad_agent": (3, 2, 0), "qan_mongodb_mongolog_agent": (3, 3, 0), "valkey": (3, 9, 0),
    "valkey_exporter": (3, 9, 0), "rta_mongodb_agent": (3, 9, 0),
}
# Fields PMM 3 added to messages after 3.4.0, declared at v3.9.0 (api/inventory/v1/json/v1.json,
# api/management/v1/json/v1.json; absent from pmm-3.4.0's): sent, zero-valued as PMM 3 emits them (EmitUnpopulated),
# from 3.9.0, the first release checked (tests/pmm_api_fields.py)
FIELDS_SINCE_3_9: Final = (3, 9, 0)


def list_keys(table: Mapping[str, tuple[int, str, int]], major: int,
              release: tuple[int, int, int] | None = None) -> list[str]:
    """The response's list keys for this dialect (and release), in proto field order of the ListXResponse message."""
    release = release or (major, 99, 0)
    return [key for _, key, since in table.values()
            if since <= major and LIST_KEYS_SINCE.get(key, (0, 0, 0)) <= release]


def enum_out(major: int, enum: str, name: str) -> str:
    """An enum value as the dialect writes it; "" (dropped by `omit_empty`) for PMM 2's zero value."""
    prefix = ENUM_PREFIX[enum][0]
    if major >= 3:
        return prefix + (name or "UNSPECIFIED")
    return name


def canonical_status(status: str) -> str:
    """'RUNNING' or 'AGENT_STATUS_RUNNING' -> 'RUNNING'; raises ValueError on anything else."""
    name = status.strip().upper().removeprefix("AGENT_STATUS_")
    if name not in AGENT_STATUSES:
        raise ValueError(f"unknown agent status {status!r}; one of {', '.join(AGENT_STATUSES)}")
    return name


class EnumError(ValueError):
    pass


def enum_in(major: int, enum: str, table: Mapping[str, tuple[int, str, int]], value: object) -> str | None:
    """A request's enum value (name or number) -> canonical unprefixed name, None for the zero value.

    PMM 2's protojson accepts only its own unprefixed names, PMM 3 only prefixed ones: the other dialect's spelling
    is rejected, as the real servers do (InvalidArgument).
    """
    prefix, zero_v2 = ENUM_PREFIX[enum]
    names = {name: since for name, (_, _, since) in table.items() if since <= major}
    numbers = {number: name for name, (number, _, since) in table.items() if since <= major}
    if isinstance(value, bool):
        raise EnumError(f"invalid value for enum {enum}: {value!r}")
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, int):
        if value == 0:
            return None
        if value in numbers:
            return numbers[value]
        raise EnumError(f"invalid value for enum {enum}: {value}")
    if not isinstance(value, str):
        raise EnumError(f"invalid value for enum {enum}: {value!r}")
    if major >= 3:
        if value == prefix + "UNSPECIFIED":
            return None
        if value.startswith(prefix) and value.removeprefix(prefix) in names:
            return value.removeprefix(prefix)
    else:
        if value == zero_v2:
            return None
        if value in names:
            return value
    raise EnumError(f"invalid value for enum {enum}: {json.dumps(value)}")


# --- empty fields --------------------------------------------------------------------------------------------------


def omit_empty(value: Any) -> Any:
    """PMM 2's JSON (protojson, EmitUnpopulated false): no false, "", 0, null, [] or {} anywhere.

    Applied to a whole response: keys whose value is empty disappear, recursively (a map entry with an empty value
    goes too, where protojson would keep it: PMM's custom_labels values are never empty in practice).
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            cleaned = omit_empty(item)
            if not _is_empty(cleaned):
                out[key] = cleaned
        return out
    if isinstance(value, list):
        return [omit_empty(item) for item in value]
    return value


def _is_empty(value: Any) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, (str, list, dict)):
        return len(value) == 0
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0
