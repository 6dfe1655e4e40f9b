"""The PMM prober: reads PMM Server's settings, inventory and backup locations, in PMM 2's or PMM 3's dialect.

PMM 2 omits false and empty fields from its JSON; PMM 3 sends them (EmitUnpopulated, percona/pmm PR #2645), with
unset messages as null. Endpoints and shapes: shared/reference/pmm.md section 2 (PMM 2 `api/serverpb`,
`api/inventorypb`, `api/managementpb/backup`; PMM 3 `api/server/v1`, `api/inventory/v1`, `api/backup/v1`).
The dialect follows the server's version: PMM 3 answers GET /v1/server/version, PMM 2 only GET /v1/version. Read
once per probe cycle and shared by every cluster. Read-only: PMM 2's list calls are POSTs, but they only read.

Location documents carry S3 keys in clear: they are cut down to name, type, bucket, endpoint and path as soon as
they arrive, and no response body is ever logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
import urllib3

from exporter import __version__
from exporter.config.config_file import PMMConfig
from exporter.config.redact import redact
from exporter.facts.observed import Observed, PMMFacts
from exporter.probes.pmm_agent_versions import AgentVersions
from exporter.probes.pmm_api import Endpoint, PMMError
from exporter.probes.pmm_compatibility import CompatibleServices

log = logging.getLogger(__name__)
MAX_RESPONSE_BYTES = 64 * 1024 * 1024  # an inventory of thousands of services is a few MB
PARALLEL = 4  # calls in flight at once


# (what, PMM 2 endpoint, PMM 3 endpoint); PMM 2 list calls are POSTs with a JSON body, PMM 3 GETs with a query
DIALECTS: dict[str, tuple[Endpoint, Endpoint]] = {
    "settings": (Endpoint("POST", "/v1/Settings/Get", {}), Endpoint("GET", "/v1/server/settings")),
    "services": (Endpoint("POST", "/v1/inventory/Services/List", {"service_type": "MONGODB_SERVICE"}),
                 Endpoint("GET", "/v1/inventory/services", {"service_type": "SERVICE_TYPE_MONGODB_SERVICE"})),
    "pmm_agents": (Endpoint("POST", "/v1/inventory/Agents/List", {"agent_type": "PMM_AGENT"}),
                   Endpoint("GET", "/v1/inventory/agents", {"agent_type": "AGENT_TYPE_PMM_AGENT"})),
    "exporters": (Endpoint("POST", "/v1/inventory/Agents/List", {"agent_type": "MONGODB_EXPORTER"}),
                  Endpoint("GET", "/v1/inventory/agents", {"agent_type": "AGENT_TYPE_MONGODB_EXPORTER"})),
    # PMM takes a backup's DSN from the service's QAN profiler agent or its mongodb_exporter (real-behaviour.md 2)
    "qan_agents": (Endpoint("POST", "/v1/inventory/Agents/List", {"agent_type": "QAN_MONGODB_PROFILER_AGENT"}),
                   Endpoint("GET", "/v1/inventory/agents", {"agent_type": "AGENT_TYPE_QAN_MONGODB_PROFILER_AGENT"})),
    "nodes": (Endpoint("POST", "/v1/inventory/Nodes/List", {}), Endpoint("GET", "/v1/inventory/nodes")),
    "locations": (Endpoint("POST", "/v1/management/backup/Locations/List", {}),
                  Endpoint("GET", "/v1/backups/locations")),
    # api/managementpb/backup/backups.proto, artifacts.proto; api/backup/v1/backup.proto (neither paginates)
    "scheduled_backups": (Endpoint("POST", "/v1/management/backup/Backups/ListScheduled", {}),
                          Endpoint("GET", "/v1/backups/scheduled")),
    "artifacts": (Endpoint("POST", "/v1/management/backup/Artifacts/List", {}),
                  Endpoint("GET", "/v1/backups/artifacts")),
}
# Seconds a read spends at most, beyond the lists, on the calls about single nodes and artifacts (half each)
EXTRA_BUDGET = 0.5
# The backup API answers FailedPrecondition while Backup Management is off (UnaryServiceEnabledInterceptor)
BACKUP_API = ("locations", "scheduled_backups", "artifacts")


def major_version(version: str) -> int | None:
    try:
        return int(version.strip().removeprefix("v").split(".")[0])
    except ValueError:
        return None


class PMMProber:
    """A few requests.Sessions to one PMM Server, kept for the exporter's lifetime: a read asks for PMM's lists
    PARALLEL at a time, so that PMM renders one while the exporter parses another (a fleet's are megabytes)."""

    def __init__(self, config: PMMConfig, timeout: float) -> None:
        self.config = config
        self.timeout = timeout
        if config.insecure_skip_verify:
            # said once here rather than by urllib3 on every request
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            log.warning("TLS certificate verification of PMM Server at %s is off (pmm.insecure_skip_verify)",
                        config.url)
        self._sessions: queue.SimpleQueue[requests.Session] = queue.SimpleQueue()
        for _ in range(PARALLEL):
            self._sessions.put(self._new_session())
        self._pool: ThreadPoolExecutor | None = None  # made by the first read, in the process that reads
        self.agent_versions = AgentVersions()
        self.compatible_services = CompatibleServices()

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = f"pmm-backup-prereq-exporter/{__version__}"
        if self.config.token is not None:
            session.headers["Authorization"] = f"Bearer {self.config.token}"
        elif self.config.username is not None and self.config.password is not None:
            session.auth = (self.config.username, self.config.password)
        session.verify = self.config.ca_file or not self.config.insecure_skip_verify
        if self.config.cert_file and self.config.key_file:
            session.cert = (self.config.cert_file, self.config.key_file)
        session.trust_env = False  # a proxy from the environment is not what the config says
        return session

    async def probe(self) -> PMMFacts:
        """Read everything once; never raises. Runs the blocking HTTP calls in a worker thread."""
        return await asyncio.to_thread(self.read)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        while True:  # the sessions not in use now; one in use is closed with its pool when the process ends
            try:
                self._sessions.get_nowait().close()
            except queue.Empty:
                return

    def read(self) -> PMMFacts:
        deadline = time.monotonic() + self.timeout
        try:
            version, dialect = self._version(deadline)
        except PMMError as exc:
            return _failed(self._clean(str(exc)))
        facts: dict[str, Observed[Any]] = {}
        if self._pool is None:
            self._pool = ThreadPoolExecutor(PARALLEL, thread_name_prefix="pmm-read")
        replies = {what: self._pool.submit(self._list, what, endpoints[dialect], dialect, deadline)
                   for what, endpoints in DIALECTS.items()}
        for what, reply in replies.items():
            try:
                facts[what] = Observed(reply.result())
            except PMMError as exc:
                if exc.status == 401 or time.monotonic() >= deadline:
                    return _failed(self._clean(str(exc)), version)
                facts[what] = Observed.failed(self._clean(str(exc)))
        try:
            extra = self._read_backup_facts(dialect, version, facts, deadline)
        except PMMError as exc:  # 401 from a call that needs what the lists did not
            return _failed(self._clean(str(exc)), version)
        return PMMFacts(version, None, **{**facts, **extra})

    def _list(self, what: str, endpoint: Endpoint, dialect: int, deadline: float) -> Any:
        return _extract(what, self._call(endpoint, deadline), dialect)

    def _read_backup_facts(self, dialect: int, version: str, facts: dict[str, Observed[Any]], deadline: float
                           ) -> dict[str, Any]:
        """The pmm-agents' versions and PMM's compatible services for each cluster's newest artifact: calls that
        depend on the lists, made within what is left of the deadline and kept across reads (see their modules)."""
        agents, exporters, qan = facts["pmm_agents"].value, facts["exporters"].value, facts["qan_agents"].value
        versions: Observed[dict[str, str]]
        if agents is None or exporters is None:
            versions = Observed.failed(facts["pmm_agents"].error or facts["exporters"].error or "not read")
        else:
            versions = self.agent_versions.read(self._call, dialect, version, agents, [*exporters, *(qan or [])],
                                                deadline, time.monotonic() + EXTRA_BUDGET / 2)
        services, artifacts = facts["services"].value, facts["artifacts"].value
        compatible = ({} if services is None or artifacts is None else
                      self.compatible_services.read(self._call, dialect, services, artifacts, deadline,
                                                    time.monotonic() + EXTRA_BUDGET / 2))
        return {"agent_versions": _cleaned(versions, self._clean),
                "compatible_services": {a: _cleaned(o, self._clean) for a, o in compatible.items()},
                "compatible_carried": dict(self.compatible_services.carried)}

    def _version(self, deadline: float) -> tuple[str, int]:
        """The server version and the dialect index (0: PMM 2, 1: PMM 3)."""
        try:
            reply = self._call(Endpoint("GET", "/v1/server/version"), deadline)
        except PMMError as exc:
            # PMM 2 has no such path: 404 for a Grafana admin, "access denied" for an API key, since paths without
            # an auth rule need a Grafana server admin there (managed/services/grafana/auth_server.go)
            if exc.status not in (404, 403):
                raise
            reply = self._call(Endpoint("GET", "/v1/version"), deadline)
        version = reply.get("version") if isinstance(reply, dict) else None
        if not isinstance(version, str) or major_version(version) is None:
            raise PMMError(f"PMM's version answer has no version string: is {self.config.url} a PMM Server?")
        major = major_version(version) or 0
        return version, (1 if major >= 3 else 0)

    def _call(self, endpoint: Endpoint, deadline: float) -> Any:
        remaining = deadline - time.monotonic()
        where = f"{endpoint.method} {endpoint.path}"
        if remaining <= 0:
            raise PMMError(f"PMM did not answer within {self.timeout:g} s (at {where})")
        url = self.config.url + endpoint.path
        session = self._sessions.get()  # one per call in flight: a Session is not shared between threads
        try:
            if endpoint.method == "GET":
                response = session.get(url, params=endpoint.body_or_query, timeout=remaining, stream=True)
            else:
                response = session.post(url, json=endpoint.body_or_query or {}, timeout=remaining, stream=True)
            with response:
                body = _read_body(response, deadline, where, self.timeout)
        except requests.exceptions.SSLError as exc:
            raise PMMError(f"TLS with PMM at {self.config.url} failed ({_reason(exc)}): set pmm.ca_file to the CA "
                           f"that signed PMM's certificate") from None
        except requests.exceptions.Timeout:
            raise PMMError(f"PMM did not answer within {self.timeout:g} s (at {where})") from None
        except requests.exceptions.ConnectionError as exc:
            raise PMMError(f"cannot connect to PMM at {self.config.url}: {_reason(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise PMMError(f"request to PMM failed at {where}: {_reason(exc)}") from None
        finally:
            self._sessions.put(session)
        status = response.status_code
        code = _pmm_code(body)
        # PMM's auth server answers 401 with gRPC code 7 (PermissionDenied) when the role is too low and code 16
        # (Unauthenticated) for bad credentials; newer builds answer 403 for the former (auth_server.go)
        if status == 403 or (status == 401 and code == 7):
            raise PMMError(f"PMM refused {where} ({status}, access denied): the exporter's token needs the Admin "
                           f"role (a PMM 3 service account or PMM 2 API key with role Admin)", 403)
        if status == 401:
            raise PMMError("PMM rejected the credentials (401 Unauthorized): check pmm.token, or pmm.username and "
                           "pmm.password", 401)
        if status == 400 and code == 9:  # FailedPrecondition from UnaryServiceEnabledInterceptor
            raise PMMError(f"PMM has the API of {where} disabled (Backup Management is off)", status)
        if status >= 400:
            raise PMMError(f"PMM answered {status} to {where}{_pmm_message(body)}", status)
        try:
            return json.loads(body)
        except ValueError:
            raise PMMError(f"PMM answered {where} with invalid JSON (HTTP {status}, {len(body)} bytes)") from None

    def _clean(self, message: str) -> str:
        return redact(message, self.config.secrets)


def _read_body(response: requests.Response, deadline: float, where: str, timeout: float) -> bytes:
    """The body, read against the overall deadline and a size cap (a trickling or huge answer cannot hang us)."""
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise PMMError(f"PMM's answer to {where} is larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB")
        if time.monotonic() > deadline:
            raise PMMError(f"PMM did not answer within {timeout:g} s (at {where})")
        chunks.append(chunk)
    return b"".join(chunks)


def _reason(exc: Exception) -> str:
    """The innermost cause of a requests error, without urllib3's pool and object reprs."""
    cause: BaseException = exc
    while cause.__cause__ is not None or (cause.args and isinstance(cause.args[0], Exception)):
        cause = cause.__cause__ if cause.__cause__ is not None else cause.args[0]
    text = str(cause)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    return text.split(": ", 1)[-1][:200] if "object at 0x" in text else text[:200]


def _pmm_code(body: bytes) -> int | None:
    """The gRPC status code in PMM's error JSON ({"code": N, "message": ...}), if any."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    code = doc.get("code") if isinstance(doc, dict) else None
    return code if isinstance(code, int) else None


def _pmm_message(body: bytes) -> str:
    """PMM's own error text (grpc-gateway `message`, or `error` on PMM 2), if the body has one."""
    try:
        doc = json.loads(body)
    except ValueError:
        return ""
    message = doc.get("message") or doc.get("error") if isinstance(doc, dict) else None
    return f": {str(message)[:300]}" if message else ""


def _failed(error: str, version: str = "") -> PMMFacts:
    failed: Observed[Any] = Observed.failed(error)
    facts: dict[str, Any] = {name: failed for name in DIALECTS}
    return PMMFacts(version, error, **facts, agent_versions=failed)


def _cleaned(observed: Observed[Any], clean: Callable[[str], str]) -> Observed[Any]:
    return observed if observed.error is None else Observed.failed(clean(observed.error))


# Prefixes of enum values, stripped so that checks see one vocabulary: PMM 3 prefixes every enum value
# (AGENT_STATUS_RUNNING, DATA_MODEL_LOGICAL, BACKUP_MODE_PITR), PMM 2 only the backup status (BACKUP_STATUS_SUCCESS;
# api/managementpb/backup/common.proto). The zero values (..._INVALID, ..._UNSPECIFIED) become "".
_ENUM_PREFIXES = {"status": ("AGENT_STATUS_", "BACKUP_STATUS_"), "data_model": ("DATA_MODEL_",),
                  "mode": ("BACKUP_MODE_",)}
_ZERO_ENUMS = {"INVALID", "UNSPECIFIED"}  # DATA_MODEL_INVALID, BACKUP_MODE_UNSPECIFIED, ... once stripped


def _normalized(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with its enum fields (all top-level) reduced, in place: thousands a read, each parsed anew."""
    for key, prefixes in _ENUM_PREFIXES.items():
        value = doc.get(key)
        if isinstance(value, str):
            for prefix in prefixes:
                value = value.removeprefix(prefix)
            doc[key] = "" if value in _ZERO_ENUMS and key != "status" else value
    return doc


def _list(reply: Any, key: str, required: bool = False) -> list[Any]:
    """The list under `key`. PMM 2 omits empty lists, so a missing one is empty; PMM 3 always sends every list
    (`required`), so a missing one means the answer is not PMM's (a proxy's `{}`), not that PMM has none."""
    value = reply.get(key, None if required else []) if isinstance(reply, dict) else None
    if not isinstance(value, list):
        raise PMMError(f"PMM's answer has no {key} list")
    return [_normalized(v) for v in value if isinstance(v, dict)]


def _extract(what: str, reply: Any, dialect: int) -> Any:
    if not isinstance(reply, dict):
        raise PMMError(f"PMM's {what} answer is not a JSON object")
    required = dialect == 1
    if what == "settings":
        settings = reply.get("settings")
        if not isinstance(settings, dict):
            raise PMMError("PMM's settings answer has no settings object")
        return settings
    if what == "services":
        return _list(reply, "mongodb", required)
    if what == "pmm_agents":
        return _list(reply, "pmm_agent", required)
    if what == "exporters":
        return _list(reply, "mongodb_exporter", required)
    if what == "qan_agents":
        return _list(reply, "qan_mongodb_profiler_agent", required)
    if what == "nodes":
        _list(reply, "generic", required)
        # which list a node comes in is its type (generic, container, remote, ...): kept as "kind"
        return [{**node, "kind": key} for key, value in reply.items() if isinstance(value, list)
                for node in _list(reply, key)]
    if what == "scheduled_backups":
        return [_cut(doc, SCHEDULE_FIELDS) for doc in _list(reply, "scheduled_backups", required)]
    if what == "artifacts":
        return [_artifact(doc) for doc in _list(reply, "artifacts", required)]
    return [location_summary(doc) for doc in _list(reply, "locations", required)]


# What the checks use of a ScheduledBackup and an Artifact (api/backup/v1/backup.proto, artifacts.proto): of an
# artifact's metadata_list (a physical backup's file list) only the PBM backup's name is kept, as pbm_backup_name
SCHEDULE_FIELDS = ("scheduled_backup_id", "service_id", "service_name", "location_id", "location_name", "folder",
                   "name", "enabled", "data_model", "mode", "vendor", "retention",
                   "cron_expression")  # retention: both dialects' name
ARTIFACT_FIELDS = ("artifact_id", "name", "vendor", "location_id", "location_name", "service_id", "service_name",
                   "data_model", "status", "created_at", "mode", "is_sharded_cluster", "folder")


def _artifact(doc: dict[str, Any]) -> dict[str, Any]:
    """The artifact's fields, and the name of its PBM backup: metadata_list[0].pbm_metadata.name, the name PMM's
    restore job gives `pbm restore` (backup_service.go RestoreBackup, PbmMetadata.Name)."""
    out = _cut(doc, ARTIFACT_FIELDS)
    metadata = doc.get("metadata_list")
    first = metadata[0] if isinstance(metadata, list) and metadata and isinstance(metadata[0], dict) else {}
    pbm = first.get("pbm_metadata")
    name = pbm.get("name") if isinstance(pbm, dict) else None
    if isinstance(name, str) and name:
        out["pbm_backup_name"] = name
    return out


def _cut(doc: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: doc[k] for k in fields if doc.get(k) not in (None, "", False)}  # PMM 2 omits them anyway


def location_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """What names a backup location, and nothing else: PMM returns S3 keys in clear in the same document."""
    summary: dict[str, Any] = {"name": str(doc.get("name") or ""), "location_id": str(doc.get("location_id") or "")}
    s3 = doc.get("s3_config")  # PMM 3 sends the unused config as null
    local = doc.get("filesystem_config") or doc.get("pmm_client_config")  # pmm_client_config: PMM 2 before 2.32
    if isinstance(s3, dict):
        summary.update(type="s3", bucket=str(s3.get("bucket_name") or ""), endpoint=str(s3.get("endpoint") or ""))
    elif isinstance(local, dict):
        summary.update(type="filesystem", path=str(local.get("path") or ""))
    else:
        summary["type"] = "unknown"
    return summary
