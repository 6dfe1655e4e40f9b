"""MongoDB wire protocol framing: the server side (parse requests, build replies) and a tiny client side for tests.

Source: MongoDB docs "MongoDB Wire Protocol" (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/)
and the OP_MSG specification (mongodb/specifications `source/message/OP_MSG.md`):
- header: int32 messageLength, int32 requestID, int32 responseTo, int32 opCode (little endian);
- OP_MSG (2013): uint32 flagBits, sections (kind 0: one BSON body; kind 1: int32 size, cstring identifier,
  BSON documents), optional CRC-32C checksum when flag bit 0 is set (we ignore it);
- OP_QUERY (2004, legacy handshake only): int32 flags, cstring fullCollectionName, int32 numberToSkip,
  int32 numberToReturn, BSON query [, BSON returnFieldsSelector];
- OP_REPLY (1): int32 responseFlags, int64 cursorID, int32 startingFrom, int32 numberReturned, documents.
OP_COMPRESSED (2012) is not supported: the simulator advertises no compressors.
"""

from __future__ import annotations

import itertools
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

import bson

from .errors import ProtocolError

OP_REPLY = 1
OP_QUERY = 2004
OP_COMPRESSED = 2012
OP_MSG = 2013

CHECKSUM_PRESENT = 1 << 0
MORE_TO_COME = 1 << 1
EXHAUST_ALLOWED = 1 << 16

HEADER = struct.Struct("<iiii")
MAX_MESSAGE_SIZE = 48_000_000

_request_ids = itertools.count(1)


@dataclass
class Request:
    """A decoded client request."""

    request_id: int
    op_code: int
    body: dict[str, Any]
    db: str
    flags: int = 0
    sequences: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def legacy(self) -> bool:
        return self.op_code == OP_QUERY

    @property
    def more_to_come(self) -> bool:
        return self.op_code == OP_MSG and bool(self.flags & MORE_TO_COME)

    @property
    def command_name(self) -> str:
        return next(iter(self.body), "")


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.find(b"\x00", pos)
    if end < 0:
        raise ProtocolError("unterminated cstring")
    return data[pos:end].decode("utf-8", "replace"), end + 1


def _bson_at(data: bytes, pos: int) -> tuple[dict[str, Any], int]:
    if pos + 4 > len(data):
        raise ProtocolError("truncated BSON document")
    (size,) = struct.unpack_from("<i", data, pos)
    if size < 5 or pos + size > len(data):
        raise ProtocolError("bad BSON document size")
    try:
        doc = bson.decode(data[pos : pos + size])
    except Exception as exc:  # bson raises several types (InvalidBSON, ...)
        raise ProtocolError(f"invalid BSON: {exc}") from exc
    return doc, pos + size


def parse_request(request_id: int, op_code: int, payload: bytes) -> Request:
    """Decode the part of a message after the 16-byte header."""
    if op_code == OP_MSG:
        if len(payload) < 5:
            raise ProtocolError("OP_MSG too short")
        (flags,) = struct.unpack_from("<I", payload, 0)
        end = len(payload) - (4 if flags & CHECKSUM_PRESENT else 0)
        pos = 4
        body: dict[str, Any] | None = None
        sequences: dict[str, list[dict[str, Any]]] = {}
        while pos < end:
            kind = payload[pos]
            pos += 1
            if kind == 0:
                if body is not None:
                    raise ProtocolError("OP_MSG with two kind-0 sections")
                body, pos = _bson_at(payload, pos)
            elif kind == 1:
                (size,) = struct.unpack_from("<i", payload, pos)
                seq_end = pos + size
                if size < 5 or seq_end > end:
                    raise ProtocolError("bad document sequence size")
                ident, p = _cstring(payload, pos + 4)
                docs: list[dict[str, Any]] = []
                while p < seq_end:
                    doc, p = _bson_at(payload, p)
                    docs.append(doc)
                sequences.setdefault(ident, []).extend(docs)
                pos = seq_end
            else:
                raise ProtocolError(f"unknown OP_MSG section kind {kind}")
        if body is None:
            raise ProtocolError("OP_MSG without a body section")
        # Kind-1 sequences are merged into the body as arrays (OP_MSG spec, "Command Arguments As Payload").
        for ident, docs in sequences.items():
            body[ident] = docs
        db = body.get("$db")
        if not isinstance(db, str) or not db:
            raise ProtocolError("OP_MSG body without $db")
        return Request(request_id, op_code, body, db, flags, sequences)
    if op_code == OP_QUERY:
        if len(payload) < 4:
            raise ProtocolError("OP_QUERY too short")
        (flags,) = struct.unpack_from("<i", payload, 0)
        ns, pos = _cstring(payload, 4)
        pos += 8  # numberToSkip, numberToReturn
        query, _ = _bson_at(payload, pos)
        # Drivers may wrap the command in {$query: {...}, $readPreference: ...}.
        if "$query" in query and isinstance(query["$query"], dict):
            inner = dict(query["$query"])
            for key, value in query.items():
                if key != "$query":
                    inner.setdefault(key, value)
            query = inner
        db, _, coll = ns.partition(".")
        if coll != "$cmd":
            raise ProtocolError(f"OP_QUERY on {ns!r}: only commands are supported")
        return Request(request_id, op_code, query, db, flags)
    raise ProtocolError(f"unsupported opCode {op_code}")


def encode_reply(request: Request, doc_bytes: bytes) -> bytes:
    """Frame an already-encoded reply document as OP_REPLY (for OP_QUERY) or OP_MSG."""
    request_id = next(_request_ids) & 0x7FFFFFFF
    if request.legacy:
        body = struct.pack("<iqii", 0, 0, 0, 1) + doc_bytes
        return HEADER.pack(16 + len(body), request_id, request.request_id, OP_REPLY) + body
    body = struct.pack("<I", 0) + b"\x00" + doc_bytes
    return HEADER.pack(16 + len(body), request_id, request.request_id, OP_MSG) + body


# --- a minimal client, for tests and debugging -------------------------------------------------------------


def encode_op_msg(
    command: dict[str, Any],
    db: str = "admin",
    *,
    flags: int = 0,
    sequences: dict[str, list[dict[str, Any]]] | None = None,
    checksum: bool = False,
    request_id: int | None = None,
) -> bytes:
    """Encode an OP_MSG request (optionally with kind-1 sequences and a dummy checksum)."""
    body = dict(command)
    body.setdefault("$db", db)
    parts = [b"\x00" + bson.encode(body)]
    for ident, docs in (sequences or {}).items():
        payload = ident.encode() + b"\x00" + b"".join(bson.encode(d) for d in docs)
        parts.append(b"\x01" + struct.pack("<i", 4 + len(payload)) + payload)
    if checksum:
        flags |= CHECKSUM_PRESENT
    msg = struct.pack("<I", flags) + b"".join(parts) + (b"\x00\x00\x00\x00" if checksum else b"")
    rid = request_id if request_id is not None else next(_request_ids) & 0x7FFFFFFF
    return HEADER.pack(16 + len(msg), rid, 0, OP_MSG) + msg


def encode_op_query(command: dict[str, Any], db: str = "admin", request_id: int | None = None) -> bytes:
    """Encode a legacy OP_QUERY command on `<db>.$cmd` (how old drivers sent the handshake)."""
    msg = struct.pack("<i", 0) + f"{db}.$cmd".encode() + b"\x00" + struct.pack("<ii", 0, -1)
    msg += bson.encode(command)
    rid = request_id if request_id is not None else next(_request_ids) & 0x7FFFFFFF
    return HEADER.pack(16 + len(msg), rid, 0, OP_QUERY) + msg


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by the server")
        buf += chunk
    return bytes(buf)


def read_reply(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    """Read one OP_MSG or OP_REPLY from a blocking socket; returns (opCode, document)."""
    length, _, _, op_code = HEADER.unpack(_recv_exactly(sock, 16))
    payload = _recv_exactly(sock, length - 16)
    if op_code == OP_MSG:
        doc, _ = _bson_at(payload, 5)
        return op_code, doc
    if op_code == OP_REPLY:
        doc, _ = _bson_at(payload, 20)
        return op_code, doc
    raise ProtocolError(f"unexpected reply opCode {op_code}")


def command(sock: socket.socket, cmd: dict[str, Any], db: str = "admin") -> dict[str, Any]:
    """Send one OP_MSG command on a connected blocking socket and return the reply document."""
    sock.sendall(encode_op_msg(cmd, db))
    return read_reply(sock)[1]
