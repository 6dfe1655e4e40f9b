"""The configuration file: YAML in, validated settings out, or errors that name file, line and key.

Every problem is collected and reported together before anything starts, and no message ever quotes a
URI or a password (pydantic's messages are used without their `input` part for that reason).
"""

from __future__ import annotations

import math
import os
import re
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator
from pymongo.errors import ConfigurationError, InvalidURI
from pymongo.uri_parser import parse_uri

from exporter.config.redact import redact_uri

DEFAULT_INTERVAL = 60.0
DEFAULT_TIMEOUT = 10.0
MAX_DURATION = 365 * 86400.0
MAX_TIMEOUT = 86400.0  # pymongo refuses timeouts of a billion milliseconds (11.6 days) or more
MAX_YAML_VALUES = 100_000  # YAML aliases can make a small file expand to billions of values

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: Any) -> float:
    """Seconds from a Prometheus-style duration ("60s", "1m30s", "500ms") or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 30s, 1m or 1m30s")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        pos, seconds = 0, 0.0
        for match in _DURATION_PART.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            pos = match.end()
        if not text or pos != len(text):
            raise ValueError(f"{value!r} is not a duration; use a number with a unit, such as 30s, 1m or 1m30s")
    else:
        raise ValueError("must be a duration such as 30s, 1m or 1m30s")
    if not math.isfinite(seconds):  # YAML's .nan and .inf are floats
        raise ValueError("must be a finite duration such as 30s, 1m or 1m30s")
    if seconds <= 0:
        raise ValueError("must be greater than zero")
    if seconds > MAX_DURATION:
        raise ValueError("must be at most 365d")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ObjectivesSpec(_Strict):
    """Recovery objectives (recovery_objectives_met): each a duration, such as 15m or 25h."""

    rpo: Duration | None = None  # at most this much would be lost by a restore now
    max_backup_age: Duration | None = None  # the newest successful backup ended at most this long ago
    min_window: Duration | None = None  # a restore reaches at least this far back


class ClusterSpec(_Strict):
    name: str = Field(min_length=1, pattern=r"^\S(.*\S)?$")
    uri: str | None = None
    uri_file: str | None = None
    backup_mode: Literal["logical", "physical"] = "logical"
    # member host:port -> PMM service name, for members whose PMM service cannot be matched by address
    pmm_services: dict[str, str] = Field(default_factory=dict)
    # sharded clusters: replica set name -> its connection string, when config.shards' addresses do not work here
    shard_uris: dict[str, str] = Field(default_factory=dict)
    restore_from_pmm: bool = False  # sharded clusters: whether restores are expected to be done from PMM
    recovery_objectives: ObjectivesSpec | None = None  # this cluster's, over the global ones

    @model_validator(mode="after")
    def _one_uri_source(self) -> ClusterSpec:
        if (self.uri is None) == (self.uri_file is None):
            raise ValueError("give exactly one of uri or uri_file")
        return self


OBJECTIVES = ("rpo", "max_backup_age", "min_window")


def objectives(own: ObjectivesSpec | None, where: str, common: ObjectivesSpec | None
               ) -> tuple[tuple[str, float, str], ...]:
    """Each objective the config states for a cluster: its own, else the global one, with where it was set."""
    out = []
    for key in OBJECTIVES:
        for spec, path in ((own, where), (common, "recovery_objectives")):
            value = getattr(spec, key) if spec is not None else None
            if value is not None:
                out.append((key, float(value), f"{path}.{key}"))
                break
    return tuple(out)


class PMMSpec(_Strict):
    url: str
    token: str | None = Field(default=None, min_length=1)
    username: str | None = Field(default=None, min_length=1)
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None  # a client certificate, when PMM's proxy asks for one
    key_file: str | None = None
    insecure_skip_verify: bool = False

    @field_validator("url")
    @classmethod
    def _base_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be the PMM Server's base URL, such as https://pmm.example.com")
        if parts.username or parts.password:
            raise ValueError("must not contain credentials; use token, or username and password")
        try:
            parts.port  # noqa: B018 (urlsplit checks the port only when asked for it)
        except ValueError:
            port = parts.netloc.rpartition(":")[2]
            raise ValueError(f"port {port} is not a port number (1 to 65535)") from None
        return url

    @model_validator(mode="after")
    def _one_credential(self) -> PMMSpec:
        if self.token is not None and (self.username is not None or self.password is not None):
            raise ValueError("give either token or username and password, not both")
        if self.token is None and (self.username is None or self.password is None):
            raise ValueError("give token (a PMM 3 service-account token or PMM 2 API key) or username and password")
        return self


class MongoDBSpec(_Strict):
    """Credentials and URI options for the clusters discovered from PMM, once for all."""

    username: str | None = Field(default=None, min_length=1)
    password: str | None = None
    password_file: str | None = None
    auth_source: str = "admin"
    options: dict[str, str | int | bool] = Field(default_factory=dict)  # URI options, e.g. tls: true

    @model_validator(mode="after")
    def _password_source(self) -> MongoDBSpec:
        if self.password is not None and self.password_file is not None:
            raise ValueError("give password or password_file, not both")
        if self.username is None and (self.password is not None or self.password_file is not None):
            raise ValueError("a password needs a username")
        return self


class OverrideSpec(MongoDBSpec):
    """What differs for one discovered cluster, by its name."""

    uri: str | None = None
    backup_mode: Literal["logical", "physical"] | None = None
    restore_from_pmm: bool | None = None
    pmm_services: dict[str, str] = Field(default_factory=dict)
    shard_uris: dict[str, str] = Field(default_factory=dict)
    auth_source: str = ""


class DiscoverySpec(_Strict):
    from_pmm: bool = False
    keep_for: Duration = 600.0  # how long the last list from PMM is kept while PMM cannot be read
    overrides: dict[str, OverrideSpec] = Field(default_factory=dict)


class FileSpec(_Strict):
    interval: Duration = DEFAULT_INTERVAL
    timeout: Duration = DEFAULT_TIMEOUT
    pmm: PMMSpec | None = None
    discovery: DiscoverySpec | None = None
    mongodb: MongoDBSpec | None = None
    clusters: list[ClusterSpec] = Field(default_factory=list)
    recovery_objectives: ObjectivesSpec | None = None  # for every cluster, unless a cluster states its own

    @field_validator("timeout")
    @classmethod
    def _timeout_bound(cls, timeout: float) -> float:
        if timeout > MAX_TIMEOUT:
            raise ValueError("must be at most 1d")
        return timeout

    @model_validator(mode="after")
    def _something_to_check(self) -> FileSpec:
        discovering = self.discovery is not None and self.discovery.from_pmm
        if not self.clusters and not discovering:
            raise ValueError("list clusters, or discover them from PMM (discovery: {from_pmm: true})")
        if discovering and self.pmm is None:
            raise ValueError("discovery.from_pmm needs the pmm: section (PMM Server's url and token)")
        return self


@dataclass(frozen=True)
class ClusterConfig:
    """One replica set to probe. `uri` holds credentials: never log or print it; use `display_uri`."""

    name: str
    uri: str = field(repr=False)
    backup_mode: str
    seeds: tuple[str, ...]
    username: str | None
    password: str | None = field(default=None, repr=False)
    pmm_services: tuple[tuple[str, str], ...] = ()
    shard_uris: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    restore_from_pmm: bool = False
    source: str = "static"  # "static": from the config file; "pmm": discovered from PMM's inventory
    # a discovered sharded cluster whose mongos PMM does not know: its replica sets' names and hosts, read directly
    replica_sets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # recovery objectives stated in the config: (key, seconds, where) for rpo, max_backup_age, min_window
    objectives: tuple[tuple[str, float, str], ...] = ()

    @property
    def display_uri(self) -> str:
        return redact_uri(self.uri)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings that must never appear in output: the URI that holds the password, and the password."""
        shard_passwords = [p for _, uri in self.shard_uris if (p := check_uri(uri)[2])]
        return tuple(s for s in (self.uri, self.password, *(u for _, u in self.shard_uris), *shard_passwords) if s)


@dataclass(frozen=True)
class PMMConfig:
    """The PMM Server to read. `token` and `password` are secrets: never log or print them."""

    url: str
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    cert_file: str | None = None
    key_file: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.token, self.password) if s)


@dataclass(frozen=True)
class MongoDBCredentials:
    """How to connect to a discovered cluster: user, password and URI options. `password` is a secret."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    auth_source: str = "admin"
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ClusterOverride:
    """Per-cluster settings for a discovered cluster; None keeps the discovered or default value."""

    uri: str | None = field(default=None, repr=False)
    credentials: MongoDBCredentials | None = None
    backup_mode: str | None = None
    restore_from_pmm: bool | None = None
    pmm_services: tuple[tuple[str, str], ...] = ()
    shard_uris: tuple[tuple[str, str], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class DiscoveryConfig:
    keep_for: float
    credentials: MongoDBCredentials
    overrides: tuple[tuple[str, ClusterOverride], ...] = ()


@dataclass(frozen=True)
class Shard:
    """This process's share of the clusters when several replicas split a large config without coordinating:
    a cluster belongs to the replica whose index is its name's CRC-32 modulo the replica count."""

    index: int
    count: int

    def owns(self, cluster: str) -> bool:
        return zlib.crc32(cluster.encode()) % self.count == self.index

    @staticmethod
    def parse(text: str, hostname: str) -> Shard:
        """From "INDEX/COUNT", where INDEX may be "auto": the trailing number of a StatefulSet pod's name."""
        index_text, sep, count_text = text.partition("/")
        if not sep or not count_text.isdigit() or int(count_text) < 1:
            raise ValueError(f"--shard {text!r}: expected INDEX/COUNT, such as 0/3 or auto/3")
        if index_text == "auto":
            match = re.search(r"-(\d+)$", hostname)
            if match is None:
                raise ValueError(f"--shard auto/{count_text}: the host name {hostname!r} does not end in -N, as a "
                                 f"StatefulSet pod's does; give the index instead")
            index_text = match.group(1)
        if not index_text.isdigit() or int(index_text) >= int(count_text):
            raise ValueError(f"--shard {text!r}: the index must be 0 to {int(count_text) - 1}")
        return Shard(int(index_text), int(count_text))


@dataclass(frozen=True)
class Config:
    path: str
    interval: float
    timeout: float
    clusters: tuple[ClusterConfig, ...]
    pmm: PMMConfig | None = None
    discovery: DiscoveryConfig | None = None
    shard: Shard | None = None  # from --shard: this replica probes only its share of the clusters
    # the global recovery objectives, which discovered clusters get: (key, seconds, where)
    objectives: tuple[tuple[str, float, str], ...] = ()

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret of the config, for redacting output."""
        out = [s for c in self.clusters for s in c.secrets]
        if self.discovery is not None:
            credentials = [self.discovery.credentials, *(o.credentials for _, o in self.discovery.overrides)]
            out += [c.password for c in credentials if c is not None and c.password]
            out += [o.uri for _, o in self.discovery.overrides if o.uri]
        return tuple(out + list(self.pmm.secrets if self.pmm else ()))


class ConfigError(Exception):
    """Raised with every problem found; each line names the file, line and key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# --------------------------------------------------------------------------------------------------------
# YAML with line numbers

Path_ = tuple[str | int, ...]


def _key_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


def _walk_lines(node: yaml.Node, path: Path_, lines: dict[Path_, int], problems: list[str], file: str) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                problems.append(f"{file}:{key_node.start_mark.line + 1}: {_key_path((*path, key))}: duplicate key")
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk_lines(value_node, (*path, key), lines, problems, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _walk_lines(item, (*path, index), lines, problems, file)


def _check_aliases(root: yaml.Node, file: str) -> None:
    """Refuse what YAML aliases can build: a structure that contains itself, or one far larger than any config."""
    count = 0
    stack: list[tuple[yaml.Node, frozenset[int], Path_, int]] = [(root, frozenset(), (), root.start_mark.line + 1)]
    while stack:
        node, ancestors, path, line = stack.pop()
        if id(node) in ancestors:
            raise ConfigError([f"{file}:{line}: {_key_path(path)}: a YAML alias here refers to a value that contains "
                               f"it, which makes the value infinite"])
        count += 1
        if count > MAX_YAML_VALUES:
            raise ConfigError([f"{file}: the config file expands to more than {MAX_YAML_VALUES} values through YAML "
                               f"aliases"])
        inner = ancestors | {id(node)}
        if isinstance(node, yaml.MappingNode):
            stack.extend((value, inner, (*path, str(key.value)), key.start_mark.line + 1) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, inner, (*path, i), item.start_mark.line + 1) for i, item in enumerate(node.value))


def _line_for(path: Path_, lines: dict[Path_, int]) -> int:
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path, 1)


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\$")


def _expand_env(value: Any, path: Path_, missing: list[tuple[Path_, str]]) -> Any:
    """Replace ${VAR} in every string value with the environment's value ($$ gives a literal $)."""
    if isinstance(value, dict):
        return {k: _expand_env(v, (*path, str(k)), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, (*path, i), missing) for i, v in enumerate(value)]
    if isinstance(value, str):
        def substitute(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name = match.group(1)
            if name not in os.environ:
                missing.append((path, name))
                return ""
            return os.environ[name]

        return _ENV_REF.sub(substitute, value)
    return value


# --------------------------------------------------------------------------------------------------------


def check_uri(uri: str) -> tuple[tuple[str, ...], str | None, str | None]:
    """Seeds, username and password of a MongoDB URI; the ValueError it raises never quotes the URI."""
    if uri.startswith("mongodb+srv://"):
        raise ValueError("mongodb+srv:// URIs are not supported; list the members' host:port in a mongodb:// URI")
    if not uri.startswith("mongodb://"):
        raise ValueError("must start with mongodb://")
    try:
        parsed = parse_uri(uri)
    except (InvalidURI, ConfigurationError, ValueError) as exc:
        raise ValueError(f"not a valid MongoDB URI: {redact_uri(str(exc))}") from None
    seeds = tuple(f"{host}:{port}" for host, port in parsed["nodelist"])
    return seeds, parsed.get("username"), parsed.get("password")


def load_config(path: str) -> Config:
    """Read and validate the config file, or raise ConfigError listing every problem."""
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError([f"{file}: cannot read the config file: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError([f"{file}:{line}: the config file is not UTF-8 text"]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        location = f"{file}:{mark.line + 1}" if mark is not None else file
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{location}: not valid YAML: {problem}"]) from None
    except RecursionError:
        raise ConfigError([f"{file}: not valid YAML for this exporter: values nested too deeply"]) from None
    if node is None or data is None:
        raise ConfigError([f"{file}: the config file is empty; it needs at least a clusters: list"])
    _check_aliases(node, file)

    problems: list[str] = []
    lines: dict[Path_, int] = {}
    _walk_lines(node, (), lines, problems, file)
    if not isinstance(data, dict):
        raise ConfigError([f"{file}:1: the top level must be a mapping of settings (interval, timeout, clusters)"])

    missing: list[tuple[Path_, str]] = []
    data = _expand_env(data, (), missing)
    for key_path, name in missing:
        problems.append(f"{file}:{_line_for(key_path, lines)}: {_key_path(key_path)}: "
                        f"environment variable {name} is not set")

    try:
        spec = FileSpec.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            loc: Path_ = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
            problems.append(f"{file}:{_line_for(loc, lines)}: {_key_path(loc)}: {_message(error)}")
        raise ConfigError(sorted(problems, key=_line_of_problem)) from None
    if problems:
        raise ConfigError(sorted(problems, key=_line_of_problem))

    clusters: list[ClusterConfig] = []
    seen: dict[str, int] = {}
    base = Path(path).parent
    for index, cluster in enumerate(spec.clusters):
        where: Path_ = ("clusters", index, "name")
        if cluster.name in seen:
            problems.append(f"{file}:{_line_for(where, lines)}: clusters[{index}].name: duplicate cluster name "
                            f"{cluster.name!r} (also clusters[{seen[cluster.name]}])")
        seen.setdefault(cluster.name, index)
        key = "uri" if cluster.uri is not None else "uri_file"
        uri_where: Path_ = ("clusters", index, key)
        uri = cluster.uri
        if cluster.uri_file is not None:
            try:
                uri = _read_setting_file(base / cluster.uri_file, uri_where, file, lines)
            except ConfigError as exc:
                problems.extend(exc.problems)
                continue
        assert uri is not None
        try:
            seeds, username, password = check_uri(uri)
        except ValueError as exc:
            problems.append(f"{file}:{_line_for(uri_where, lines)}: clusters[{index}].{key}: {exc}")
            continue
        shard_uris = []
        for shard, shard_uri in cluster.shard_uris.items():
            try:
                check_uri(shard_uri)
            except ValueError as exc:
                line = _line_for(("clusters", index, "shard_uris", shard), lines)
                problems.append(f"{file}:{line}: clusters[{index}].shard_uris.{shard}: {exc}")
            shard_uris.append((shard, shard_uri))
        clusters.append(ClusterConfig(cluster.name, uri, cluster.backup_mode, seeds, username, password,
                                      tuple(cluster.pmm_services.items()), tuple(shard_uris),
                                      cluster.restore_from_pmm, objectives=objectives(
                                          cluster.recovery_objectives, f"clusters[{index}].recovery_objectives",
                                          spec.recovery_objectives)))
    if problems:
        raise ConfigError(problems)
    if spec.timeout > spec.interval:
        line = _line_for(("timeout",), lines)
        raise ConfigError([f"{file}:{line}: timeout: must not be longer than interval ({spec.interval:g}s)"])
    pmm = None
    if spec.pmm is not None:
        files: dict[str, str | None] = {}
        for key in ("ca_file", "cert_file", "key_file"):
            name = getattr(spec.pmm, key)
            if name is not None and not (base / name).is_file():
                line = _line_for(("pmm", key), lines)
                raise ConfigError([f"{file}:{line}: pmm.{key}: {base / name} is not a readable file"])
            files[key] = str(base / name) if name is not None else None
        if (files["cert_file"] is None) != (files["key_file"] is None):
            raise ConfigError([f"{file}:{_line_for(('pmm',), lines)}: pmm: give both cert_file and key_file"])
        pmm = PMMConfig(spec.pmm.url.rstrip("/"), spec.pmm.token, spec.pmm.username, spec.pmm.password,
                        files["ca_file"], spec.pmm.insecure_skip_verify, files["cert_file"], files["key_file"])
    discovery = None
    if spec.discovery is not None and spec.discovery.from_pmm:
        discovery = _discovery(spec, file, base, lines)
    return Config(file, spec.interval, spec.timeout, tuple(clusters), pmm, discovery,
                  objectives=objectives(None, "", spec.recovery_objectives))


def _read_setting_file(path: Path, where: Path_, file: str, lines: dict[Path_, int]) -> str:
    """The text of a file that a setting names (uri_file, password_file), stripped; ConfigError if unreadable."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{file}:{_line_for(where, lines)}: {_key_path(where)}: cannot read {path}: "
                           f"{getattr(exc, 'strerror', None) or exc}"]) from None


def _credentials(spec: MongoDBSpec, where: Path_, file: str, base: Path, lines: dict[Path_, int]
                 ) -> MongoDBCredentials:
    password = spec.password
    if spec.password_file is not None:
        password = _read_setting_file(base / spec.password_file, (*where, "password_file"), file, lines)
    options = tuple((k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in spec.options.items())
    return MongoDBCredentials(spec.username, password, spec.auth_source or "admin", options)


def _discovery(spec: FileSpec, file: str, base: Path, lines: dict[Path_, int]) -> DiscoveryConfig:
    assert spec.discovery is not None
    defaults = _credentials(spec.mongodb, ("mongodb",), file, base, lines) if spec.mongodb else MongoDBCredentials()
    overrides = []
    for name, override in spec.discovery.overrides.items():
        where: Path_ = ("discovery", "overrides", name)
        if override.uri is not None:
            try:
                check_uri(override.uri)
            except ValueError as exc:
                raise ConfigError([f"{file}:{_line_for((*where, 'uri'), lines)}: {_key_path((*where, 'uri'))}: "
                                   f"{exc}"]) from None
        has_credentials = override.username is not None or override.options or override.auth_source
        credentials = _credentials(override, where, file, base, lines) if has_credentials else None
        if credentials is not None and not credentials.auth_source:
            credentials = replace(credentials, auth_source=defaults.auth_source)
        overrides.append((name, ClusterOverride(
            override.uri, credentials, override.backup_mode, override.restore_from_pmm,
            tuple(override.pmm_services.items()), tuple(override.shard_uris.items()))))
    return DiscoveryConfig(spec.discovery.keep_for, defaults, tuple(overrides))


def _line_of_problem(problem: str) -> int:
    match = re.match(r"[^:]*:(\d+):", problem)
    return int(match.group(1)) if match else 0


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")
