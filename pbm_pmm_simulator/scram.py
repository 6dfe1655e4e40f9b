"""Server side of SCRAM-SHA-256 (RFC 7677) and SCRAM-SHA-1 (RFC 5802) as MongoDB runs it over saslStart/saslContinue.

Exchange (MongoDB docs "SCRAM"; server `src/mongo/db/auth/sasl_scram_server_conversation.cpp`):
1. saslStart {mechanism, payload: "n,,n=<user>,r=<cnonce>", options: {skipEmptyExchange: true}}
   -> {conversationId: 1, done: false, payload: "r=<cnonce><snonce>,s=<salt b64>,i=<iterations>", ok: 1}
2. saslContinue {conversationId, payload: "c=biws,r=<nonce>,p=<proof b64>"}
   -> {conversationId, done: <skipEmptyExchange>, payload: "v=<server signature b64>", ok: 1}
3. only without skipEmptyExchange: saslContinue {payload: ""} -> {conversationId, done: true, payload: "", ok: 1}
A bad proof gives {ok: 0, errmsg: "Authentication failed.", code: 18, codeName: "AuthenticationFailed"}.

The SCRAM-SHA-256 password is SASLprep'ed (RFC 4013) by clients. The simulator only accepts printable-ASCII
passwords, for which SASLprep is the identity. SCRAM-SHA-1 hashes `md5("<user>:mongo:<password>")` hex instead.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
from dataclasses import dataclass

SCRAM_SHA_1 = "SCRAM-SHA-1"
SCRAM_SHA_256 = "SCRAM-SHA-256"
MECHANISMS = (SCRAM_SHA_1, SCRAM_SHA_256)

# Server defaults: scramIterationCount 10000, scramSHA256IterationCount 15000.
_ITERATIONS = {SCRAM_SHA_1: 10000, SCRAM_SHA_256: 15000}
_SALT_LEN = {SCRAM_SHA_1: 16, SCRAM_SHA_256: 28}
_DIGEST = {SCRAM_SHA_1: "sha1", SCRAM_SHA_256: "sha256"}


class ScramError(Exception):
    """Authentication failed (wrong password, bad nonce, malformed message)."""


@dataclass(frozen=True)
class ScramCredentials:
    mechanism: str
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


def check_password(password: str) -> None:
    if not password or not all(0x20 <= ord(ch) < 0x7F for ch in password):
        raise ValueError("simulated users need a non-empty printable-ASCII password (SASLprep is not implemented)")


@functools.lru_cache(maxsize=256)
def credentials(mechanism: str, user: str, password: str) -> ScramCredentials:
    """The stored SCRAM credentials of a user (cached: PBKDF2 is slow on purpose)."""
    digest = _DIGEST[mechanism]
    if mechanism == SCRAM_SHA_1:
        secret = hashlib.md5(f"{user}:mongo:{password}".encode()).hexdigest().encode()
    else:
        secret = password.encode()  # SASLprep of printable ASCII is the identity
    salt = os.urandom(_SALT_LEN[mechanism])
    iterations = _ITERATIONS[mechanism]
    salted = hashlib.pbkdf2_hmac(digest, secret, salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", digest)
    server_key = hmac.digest(salted, b"Server Key", digest)
    stored_key = hashlib.new(digest, client_key).digest()
    return ScramCredentials(mechanism, salt, iterations, stored_key, server_key)


def _parse(payload: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in payload.decode("utf-8").split(","):
        key, sep, value = part.partition("=")
        if sep and len(key) == 1:
            out[key] = value
    return out


def parse_client_first(payload: bytes) -> tuple[str, str, bytes]:
    """Return (username, client nonce, client-first-message-bare)."""
    if not payload.startswith(b"n,"):
        raise ScramError("channel binding is not supported")
    gs2_end = payload.find(b",", 2)
    if gs2_end < 0:
        raise ScramError("malformed client-first message")
    bare = payload[gs2_end + 1 :]
    fields = _parse(bare)
    if "n" not in fields or "r" not in fields:
        raise ScramError("malformed client-first message")
    user = fields["n"].replace("=2C", ",").replace("=3D", "=")
    return user, fields["r"], bare


class ScramConversation:
    """One SCRAM conversation on one connection."""

    def __init__(self, creds: ScramCredentials, user: str, client_nonce: str, client_first_bare: bytes) -> None:
        self.creds = creds
        self.user = user
        self.nonce = client_nonce + base64.b64encode(os.urandom(24)).decode()
        self.client_first_bare = client_first_bare
        self.server_first = f"r={self.nonce},s={base64.b64encode(creds.salt).decode()},i={creds.iterations}".encode()
        self.proof_ok = False

    def client_final(self, payload: bytes) -> bytes:
        """Check the client proof and return the server-final message (`v=<signature>`)."""
        digest = _DIGEST[self.creds.mechanism]
        fields = _parse(payload)
        if fields.get("c") != "biws" or fields.get("r") != self.nonce or "p" not in fields:
            raise ScramError("malformed client-final message")
        without_proof = payload[: payload.rfind(b",p=")]
        auth_message = b",".join((self.client_first_bare, self.server_first, without_proof))
        client_signature = hmac.digest(self.creds.stored_key, auth_message, digest)
        try:
            proof = base64.b64decode(fields["p"], validate=True)
        except ValueError as exc:
            raise ScramError("bad proof encoding") from exc
        if len(proof) != len(client_signature):
            raise ScramError("bad proof length")
        client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
        if not hmac.compare_digest(hashlib.new(digest, client_key).digest(), self.creds.stored_key):
            raise ScramError("wrong password")
        self.proof_ok = True
        server_signature = hmac.digest(self.creds.server_key, auth_message, digest)
        return b"v=" + base64.b64encode(server_signature)
