"""`--web.config.file`: TLS and basic authentication for the HTTP endpoint, in the Prometheus exporter-toolkit
format (prometheus/exporter-toolkit docs/web-configuration.md), so that Prometheus, VictoriaMetrics and PMM's
`pmm-admin add external --scheme=https --username=... --password=...` scrape it as they scrape other exporters.

Supported: tls_server_config (cert_file, key_file, client_auth_type, client_ca_file, min_version, max_version),
http_server_config.headers, basic_auth_users (bcrypt hashes). Go-specific keys (cipher_suites,
curve_preferences, prefer_server_cipher_suites, client_allowed_sans, http2) are rejected with a clear error
rather than silently ignored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from exporter.config.config_file import ConfigError

CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
VERSIONS = {"TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1, "TLS12": ssl.TLSVersion.TLSv1_2,
            "TLS13": ssl.TLSVersion.TLSv1_3}
TLS_KEYS = {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version"}
UNSUPPORTED = {"cipher_suites", "curve_preferences", "prefer_server_cipher_suites", "client_allowed_sans", "http2"}


@dataclass
class WebConfig:
    tls: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict, repr=False)  # user -> bcrypt hash
    headers: dict[str, str] = field(default_factory=dict)
    _verified: dict[tuple[str, bytes], bool] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def authorized(self, authorization: str | None) -> bool:
        """Whether the request's Basic credentials match a user (always, when no users are configured)."""
        if not self.users:
            return True
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(token, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        hashed = self.users.get(user)
        if not sep or hashed is None:
            bcrypt.checkpw(b"x", _DUMMY_HASH)  # same cost for unknown users: no user enumeration by timing
            return False
        # bcrypt is slow on purpose; remember verified pairs (by a digest, never the password) for later scrapes
        key = (user, hmac.new(hashed, password.encode(), hashlib.sha256).digest())
        with self._lock:
            known = self._verified.get(key)
        if known is None:
            known = bcrypt.checkpw(password.encode(), hashed)
            with self._lock:
                self._verified[key] = known
        return known


_DUMMY_HASH = bcrypt.hashpw(b"dummy", bcrypt.gensalt(rounds=4))


def load_web_config(path: str) -> WebConfig:
    """Read and check the web config file; ConfigError names the file and the problem."""
    file = str(path)
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError([f"{file}: cannot read the web config file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{file}: the web config file is not UTF-8 text"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{file}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    if not isinstance(doc, dict):
        raise ConfigError([f"{file}: the top level must be a mapping"])
    problems = [f"{file}: {key}: unknown key" for key in doc
                if key not in ("tls_server_config", "http_server_config", "basic_auth_users")]
    config = WebConfig()
    tls = doc.get("tls_server_config")
    if tls is not None:
        config.tls = _tls_context(tls, file, Path(path).parent, problems)
    http = doc.get("http_server_config") or {}
    if not isinstance(http, dict):
        problems.append(f"{file}: http_server_config: must be a mapping")
    else:
        for key in http:
            if key != "headers":
                problems.append(f"{file}: http_server_config.{key}: " +
                                ("not supported by this exporter; remove it" if key in UNSUPPORTED else "unknown key"))
        headers = http.get("headers") or {}
        if isinstance(headers, dict):
            config.headers = {str(k): str(v) for k, v in headers.items()}
        else:
            problems.append(f"{file}: http_server_config.headers: must map header names to values")
    users = doc.get("basic_auth_users") or {}
    if not isinstance(users, dict):
        problems.append(f"{file}: basic_auth_users: must map user names to bcrypt hashes")
    else:
        for user, hashed in users.items():
            if not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
                problems.append(f"{file}: basic_auth_users.{user}: not a bcrypt hash (make one with htpasswd -nBC 10 "
                                f"\"\" | tr -d ':\\n')")
            else:
                config.users[str(user)] = hashed.replace("$2y$", "$2b$", 1).encode()  # same algorithm, Go's prefix
    if problems:
        raise ConfigError(problems)
    return config


def _tls_context(tls: Any, file: str, base: Path, problems: list[str]) -> ssl.SSLContext | None:
    if not isinstance(tls, dict):
        problems.append(f"{file}: tls_server_config: must be a mapping")
        return None
    for key in tls:
        if key not in TLS_KEYS:
            problems.append(f"{file}: tls_server_config.{key}: " +
                            ("not supported by this exporter; remove it" if key in UNSUPPORTED else "unknown key"))
    cert, key_file = tls.get("cert_file"), tls.get("key_file")
    if not cert or not key_file:
        problems.append(f"{file}: tls_server_config: cert_file and key_file are both required")
        return None
    for name in ("cert_file", "key_file", "client_ca_file"):
        if name in tls and not isinstance(tls[name], str):
            problems.append(f"{file}: tls_server_config.{name}: must be a file path")
            return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # exporter-toolkit's default
    try:
        context.load_cert_chain(str(base / cert), str(base / key_file))
    except (OSError, ssl.SSLError) as exc:
        problems.append(f"{file}: tls_server_config: cannot load cert_file/key_file: {exc}")
        return None
    auth = tls.get("client_auth_type", "NoClientCert")
    if auth not in CLIENT_AUTH:
        problems.append(f"{file}: tls_server_config.client_auth_type: {auth!r} is not one of {', '.join(CLIENT_AUTH)}")
        return None
    context.verify_mode = CLIENT_AUTH[auth]
    ca = tls.get("client_ca_file")
    if ca:
        try:
            context.load_verify_locations(str(base / ca))
        except (OSError, ssl.SSLError) as exc:
            problems.append(f"{file}: tls_server_config.client_ca_file: cannot load: {exc}")
    elif auth in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert"):
        problems.append(f"{file}: tls_server_config: client_auth_type {auth} needs client_ca_file")
    for name, attribute in (("min_version", "minimum_version"), ("max_version", "maximum_version")):
        version = tls.get(name)
        if version is not None:
            if version not in VERSIONS:
                problems.append(f"{file}: tls_server_config.{name}: {version!r} is not one of {', '.join(VERSIONS)}")
            else:
                setattr(context, attribute, VERSIONS[version])
    return context
