"""The MongoDB prober: reads one replica set's facts with a long-lived async client. Read-only.

Commands run (all read-only): hello, replSetGetStatus, replSetGetConfig, buildInfo, connectionStatus, find on
admin.pbmAgents and admin.pbmConfig, ping. One AsyncMongoClient per cluster lives as long as the exporter
(Percona's mongodb_exporter leaked by building a client per scrape; peers.md 1.4), and every call is bounded by
the probe timeout through pymongo's client-side operation timeout.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any

import pymongo
from bson.timestamp import Timestamp
from pymongo import AsyncMongoClient
from pymongo.errors import (
    ConfigurationError,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)
from pymongo.read_preferences import Primary, PrimaryPreferred

from exporter import __version__
from exporter.config import ClusterConfig
from exporter.facts import Observed, ReplicaSetFacts
from exporter.redact import redact

# What the checks need of an agent document; nothing else is read (pbm.md 7.4).
AGENT_PROJECTION = {f: 1 for f in ("n", "rs", "v", "hb", "s", "str", "hdn", "arb", "pbms", "nodes", "stors",
                                   "e", "mv", "pv", "delay")}
# pbmConfig holds storage credentials in clear text: read only what names the storage (pbm.md 3).
PBM_CONFIG_PROJECTION = {
    "_id": 0, "storage.type": 1, "storage.s3.bucket": 1, "storage.s3.region": 1, "storage.s3.prefix": 1,
    "storage.minio.bucket": 1, "storage.gcs.bucket": 1, "storage.azure.container": 1, "storage.oss.bucket": 1,
    "storage.oci.bucket": 1, "storage.filesystem.path": 1, "storage.s3.endpointUrl": 1, "pitr.enabled": 1,
}
MAX_AGENT_DOCS = 10_000  # a replica set has at most 50 members; the cap only bounds a corrupt collection


@dataclass(frozen=True)
class ProbeOutcome:
    """A probe's result: facts when the cluster answered, else an error saying why (already redacted)."""

    facts: ReplicaSetFacts | None
    error: str
    duration: float

    @property
    def success(self) -> bool:
        return self.facts is not None


class MongoDBProber:
    """Probes one cluster; owns its client. Create and use it inside one event loop."""

    def __init__(self, cluster: ClusterConfig, timeout: float) -> None:
        self.cluster = cluster
        self.timeout = timeout
        self._client: AsyncMongoClient[dict[str, Any]] | None = None

    def _connect(self) -> AsyncMongoClient[dict[str, Any]]:
        if self._client is None:
            timeout_ms = int(self.timeout * 1000)
            self._client = AsyncMongoClient(
                self.cluster.uri,
                appname=f"pmm-backup-prereq-exporter/{__version__}",
                serverSelectionTimeoutMS=timeout_ms,
                connectTimeoutMS=timeout_ms,
                socketTimeoutMS=timeout_ms,
                maxPoolSize=2,  # probes are sequential; a small pool keeps a fleet's socket count low
                serverMonitoringMode="poll",  # one monitoring connection per member instead of two
                retryReads=False,  # a retry could double the time past the probe timeout
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def probe(self) -> ProbeOutcome:
        started = time.monotonic()
        try:
            # CSOT bounds every operation; wait_for is the backstop should anything ignore it
            facts = await asyncio.wait_for(self._read_facts(), self.timeout + 1.0)
            return ProbeOutcome(facts, "", time.monotonic() - started)
        except (TimeoutError, ExecutionTimeout, NetworkTimeout) as exc:
            error = f"probe timed out after {self.timeout:g} s ({self._describe_exception(exc)})"
        except _ProbeError as exc:
            error = str(exc)
        except PyMongoError as exc:
            error = self._describe_exception(exc)
        except Exception as exc:  # nothing a server sends may crash the exporter
            error = f"unexpected error: {exc!r}"
        return ProbeOutcome(None, redact(error, self.cluster.secrets), time.monotonic() - started)

    def _describe_exception(self, exc: BaseException) -> str:
        if isinstance(exc, OperationFailure) and exc.code == 18:
            user = self.cluster.username or "(none)"
            return f"authentication failed for user {user}: check the user and password in the cluster's uri"
        if isinstance(exc, ServerSelectionTimeoutError | TimeoutError | NetworkTimeout) and self._client:
            servers = self._client.topology_description.server_descriptions()
            states = [f"{host}:{port}: {_server_error(host, port, sd.error) or sd.server_type_name}"
                      for (host, port), sd in servers.items()]
            return "no usable member answered: " + "; ".join(states) if states else str(exc)
        if isinstance(exc, OperationFailure):
            return _operation_failure(exc)
        return str(exc) or type(exc).__name__

    async def _read_facts(self) -> ReplicaSetFacts:
        client = self._connect()
        with pymongo.timeout(self.timeout):
            hello = await client.admin.command("hello", read_preference=PrimaryPreferred())
            if hello.get("msg") == "isdbgrid":
                raise _ProbeError("the uri reaches a mongos: give the replica set's members instead "
                                  "(sharded clusters are not supported by this version)")
            # Any member names the primary when there is one. Read from it then (pymongo may not have found it
            # yet when the first hello went out); without one, whichever member answers.
            has_primary = bool(hello.get("primary")) or not hello.get("setName")
            pref = Primary() if has_primary else PrimaryPreferred()  # command() ignores the db's preference
            admin = client.admin
            if has_primary and hello.get("setName") and not hello.get("isWritablePrimary"):
                hello = await admin.command("hello", read_preference=pref)
            status = await _observe(admin.command("replSetGetStatus", read_preference=pref))
            config = await _observe(admin.command("replSetGetConfig", read_preference=pref))
            build_info = await _observe(admin.command("buildInfo", read_preference=pref))
            connection_status = await _observe(admin.command("connectionStatus", showPrivileges=True,
                                                             read_preference=pref))
            agents, pbm_config, cluster_time = await self._read_pbm(client, hello)
        return ReplicaSetFacts(
            seeds=self.cluster.seeds,
            hello=Observed(_plain(hello)),
            status=status,
            config=config,
            build_info=build_info,
            connection_status=connection_status,
            agents=agents,
            pbm_config=pbm_config,
            cluster_time=cluster_time,
        )

    async def _read_pbm(self, client: AsyncMongoClient[dict[str, Any]], hello: dict[str, Any]
                        ) -> tuple[Observed[list[dict[str, Any]]], Observed[dict[str, Any]], Observed[int]]:
        """PBM's collections, read on the primary like PBM does, then the cluster time (so that ct >= hb)."""
        if not hello.get("setName"):
            reason = "not a replica set"
            return Observed.failed(reason), Observed.failed(reason), Observed.failed(reason)
        if hello.get("primary") and not hello.get("isWritablePrimary"):
            reason = (f"connected directly to {hello.get('me', 'a secondary')}, not to the primary "
                      f"{hello['primary']}: list every member in the uri (without directConnection=true) so that "
                      f"PBM's documents are read on the primary, as PBM does")
            return Observed.failed(reason), Observed.failed(reason), Observed.failed(reason)
        if not hello.get("isWritablePrimary"):
            reason = "the replica set has no primary, so PBM agents cannot write heartbeats and none can be judged"
            return Observed.failed(reason), Observed.failed(reason), Observed.failed(reason)
        admin = client.get_database("admin", read_preference=Primary())
        try:
            cursor = admin["pbmAgents"].find({}, AGENT_PROJECTION, limit=MAX_AGENT_DOCS)
            agents: Observed[list[dict[str, Any]]] = Observed([_plain(d) for d in await cursor.to_list()])
        except OperationFailure as exc:
            agents = Observed.failed(_operation_failure(exc))
        try:
            config_doc = await admin["pbmConfig"].find_one({"profile": None}, PBM_CONFIG_PROJECTION)
            pbm_config: Observed[dict[str, Any]] = Observed(_plain(config_doc) if config_doc else None)
        except OperationFailure as exc:
            pbm_config = Observed.failed(_operation_failure(exc))
        ping = await admin.command("ping", read_preference=Primary())
        cluster_time = ping.get("$clusterTime", {}).get("clusterTime") if isinstance(ping, dict) else None
        time_fact: Observed[int] = (Observed(cluster_time.time) if isinstance(cluster_time, Timestamp)
                                    else Observed.failed("the server's reply carries no $clusterTime"))
        return agents, pbm_config, time_fact


class _ProbeError(Exception):
    """A probe that cannot go on, with a message meant for the user."""


def _server_error(host: str, port: int | None, error: Exception | None) -> str:
    """pymongo's monitor error without the repeated address and the list of configured timeouts."""
    if error is None:
        return ""
    text = str(error).removeprefix(f"{host}:{port}: ")
    return re.sub(r"\s*\(configured timeouts:[^)]*\)", "", text)


def _operation_failure(exc: OperationFailure) -> str:
    details = exc.details or {}
    name = details.get("codeName") or f"code {exc.code}"
    message = details.get("errmsg") or str(exc)
    return f"{name}: {message}"


async def _observe(call: Any) -> Observed[dict[str, Any]]:
    """Await a command; a refusal (OperationFailure) becomes the fact's error instead of failing the probe."""
    try:
        return Observed(_plain(await call))
    except OperationFailure as exc:
        if exc.code == 18:
            raise
        return Observed.failed(_operation_failure(exc))
    except ConfigurationError as exc:
        return Observed.failed(str(exc))


def _plain(doc: Any) -> Any:
    """Plain dicts and lists (pymongo may hand back SON or RawBSON-like mappings)."""
    if isinstance(doc, dict):
        return {str(k): _plain(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_plain(v) for v in doc]
    return doc
