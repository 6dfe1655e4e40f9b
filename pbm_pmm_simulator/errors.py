"""Server error codes and the exception the command handlers raise.

Codes and names come from mongodb/mongo `src/mongo/base/error_codes.yml`. Every error reply has the shape
`{ok: 0.0, errmsg, code, codeName}` (MongoDB docs, "Command Response": ok 0 plus errmsg/code/codeName).
"""

from __future__ import annotations

from typing import Any

CODE_NAMES: dict[int, str] = {
    1: "InternalError",
    2: "BadValue",
    6: "HostUnreachable",
    9: "FailedToParse",
    11: "UserNotFound",
    13: "Unauthorized",
    14: "TypeMismatch",
    18: "AuthenticationFailed",
    26: "NamespaceNotFound",
    43: "CursorNotFound",
    50: "MaxTimeMSExpired",
    59: "CommandNotFound",
    73: "InvalidNamespace",
    76: "NoReplicationEnabled",
    89: "NetworkTimeout",
    91: "ShutdownInProgress",
    94: "NotYetInitialized",
    189: "PrimarySteppedDown",
    334: "MechanismUnavailable",
    352: "UnsupportedOpQueryCommand",
    10107: "NotWritablePrimary",
    11600: "InterruptedAtShutdown",
    11601: "Interrupted",
    13435: "NotPrimaryNoSecondaryOk",
    13436: "NotPrimaryOrSecondary",
    31250: "Location31250",
    31254: "Location31254",
}


def code_name(code: int) -> str:
    """The server's codeName for `code` ("Location<code>" for codes without a name, as the server does)."""
    return CODE_NAMES.get(code, f"Location{code}")


class CommandError(Exception):
    """A command failed; turned into `{ok: 0.0, errmsg, code, codeName}` by the dispatcher."""

    def __init__(self, code: int, errmsg: str, code_name_: str | None = None) -> None:
        super().__init__(errmsg)
        self.code = code
        self.errmsg = errmsg
        self.code_name = code_name_ or code_name(code)

    def to_doc(self) -> dict[str, Any]:
        return {"ok": 0.0, "errmsg": self.errmsg, "code": self.code, "codeName": self.code_name}


class ProtocolError(Exception):
    """The peer sent bytes that are not a valid message: the server closes the connection."""
