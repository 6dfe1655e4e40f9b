"""Logging: one line per event, logfmt (the Prometheus ecosystem's default) or JSON, with secrets redacted."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable

from exporter.config.redact import redact


class _Redact(logging.Filter):
    """Replace the config's secrets and any URI credentials in every message, whoever logs it."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: tuple[str, ...] = ()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        return True


def _timestamp(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = [("ts", _timestamp(record)), ("level", record.levelname.lower()), ("logger", record.name),
                  ("msg", record.getMessage())]
        if record.exc_info:
            fields.append(("err", self.formatException(record.exc_info)))
        return " ".join(f"{key}={_logfmt_value(value)}" for key, value in fields)


def _logfmt_value(value: str) -> str:
    if value and not any(c in value for c in ' ="\n\\'):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {"ts": _timestamp(record), "level": record.levelname.lower(), "logger": record.name,
               "msg": record.getMessage()}
        if record.exc_info:
            doc["err"] = self.formatException(record.exc_info)
        return json.dumps(doc)


_redact = _Redact()


_settings = ("info", "logfmt")


def setup_logging(level: str, fmt: str) -> None:
    global _settings
    _settings = (level, fmt)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter() if fmt == "json" else LogfmtFormatter())
    handler.addFilter(_redact)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper()))
    logging.getLogger("pymongo").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)


def log_settings() -> tuple[str, str]:
    """The level and format in force, for a child process to log as this one does."""
    return _settings


def set_secrets(secrets: Iterable[str]) -> None:
    """The strings to keep out of every log line (passwords, tokens, URIs with credentials)."""
    _redact.secrets = tuple(s for s in secrets if s)
