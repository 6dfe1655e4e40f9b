"""Keep credentials out of everything we print, log or export."""

from __future__ import annotations

import re
from collections.abc import Iterable

# userinfo of a mongodb:// or mongodb+srv:// URI: everything between "//" and the last "@" before the hosts
_URI_USERINFO = re.compile(r"(mongodb(?:\+srv)?://)[^/@\s]*@")
_QUERY_SECRET = re.compile(r"(?i)((?:password|tlsCertificateKeyFilePassword|secret|token)=)[^&\s]*")


def redact_uri(text: str) -> str:
    """Replace the user:password part of any MongoDB URI in `text` with '***'."""
    text = _URI_USERINFO.sub(r"\1***@", text)
    return _QUERY_SECRET.sub(r"\1***", text)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Redact URIs, then every known secret string, in `text`."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return redact_uri(text)
