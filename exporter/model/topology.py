"""Members of a replica set, read defensively from replSetGetConfig and replSetGetStatus replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exporter.facts.observed import ReplicaSetFacts

# replSetGetStatus member states (https://www.mongodb.com/docs/manual/reference/replica-states/)
PRIMARY, SECONDARY, ARBITER = 1, 2, 7


@dataclass(frozen=True)
class Member:
    host: str
    arbiter: bool = False
    hidden: bool = False
    delay_secs: int = 0
    maybe_delayed: bool = False  # read from replSetGetStatus, which does not say: a hidden member may be delayed

    @property
    def data_bearing(self) -> bool:
        return not self.arbiter


@dataclass(frozen=True)
class MemberState:
    host: str
    health: float | None
    state: int | None
    state_str: str


class MalformedReply(ValueError):
    """A server reply that does not have the shape MongoDB documents."""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def host_and_port(node: str) -> tuple[str, str]:
    """("db1", "27017") from a member's "db1:27017"; the port is MongoDB's default when the name has none."""
    host, sep, port = node.rpartition(":")
    return (host, port) if sep and host else (node, "27017")


def set_name(facts: ReplicaSetFacts) -> str:
    """The replica set's name from whichever reply has it, or ""."""
    for reply, key in ((facts.config.value, None), (facts.status.value, "set"), (facts.hello.value, "setName")):
        if isinstance(reply, dict):
            config = reply.get("config")
            value = reply.get(key) if key else config.get("_id") if isinstance(config, dict) else None
            if isinstance(value, str) and value:
                return value
    return facts.name


def members(config_reply: dict[str, Any]) -> list[Member]:
    """Members from a replSetGetConfig reply; raises MalformedReply."""
    config = config_reply.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("members"), list):
        raise MalformedReply("replSetGetConfig reply has no config.members list")
    out: list[Member] = []
    for raw in config["members"]:
        if not isinstance(raw, dict) or not isinstance(raw.get("host"), str):
            raise MalformedReply("replSetGetConfig member without a host string")
        # secondaryDelaySecs since MongoDB 5.0, slaveDelay before
        delay = _int(raw.get("secondaryDelaySecs", raw.get("slaveDelay", 0))) or 0
        out.append(Member(raw["host"], bool(raw.get("arbiterOnly")), bool(raw.get("hidden")), delay))
    return out


def members_from_status(status_reply: dict[str, Any], hello: Any) -> list[Member]:
    """Members when replSetGetConfig is refused: replSetGetStatus names every member and its state (ARBITER);
    `hello` lists the members that are not hidden, so one missing from it is hidden and may be delayed (MongoDB
    requires a delayed member to have priority 0, and hides it in practice). Raises MalformedReply."""
    states = member_states(status_reply)
    listed: set[str] | None = None
    if isinstance(hello, dict) and isinstance(hello.get("hosts"), list):
        listed = {h for key in ("hosts", "passives", "arbiters") for h in hello.get(key) or [] if isinstance(h, str)}
    out = []
    for host, state in states.items():
        arbiter = state.state == ARBITER
        hidden = listed is not None and host not in listed and not arbiter
        out.append(Member(host, arbiter, hidden, 0, maybe_delayed=hidden or listed is None))
    return out


def member_states(status_reply: dict[str, Any]) -> dict[str, MemberState]:
    """Member states by host from a replSetGetStatus reply; raises MalformedReply."""
    raw_members = status_reply.get("members")
    if not isinstance(raw_members, list):
        raise MalformedReply("replSetGetStatus reply has no members list")
    out: dict[str, MemberState] = {}
    for raw in raw_members:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise MalformedReply("replSetGetStatus member without a name string")
        health = raw.get("health")
        out[raw["name"]] = MemberState(
            raw["name"],
            float(health) if isinstance(health, int | float) and not isinstance(health, bool) else None,
            _int(raw.get("state")),
            str(raw.get("stateStr", "")),
        )
    return out


def major_minor(version: Any) -> tuple[int, int] | None:
    """(major, minor) of a MongoDB version string such as "7.0.14" or "8.0.4-2"; None if unparsable."""
    if not isinstance(version, str):
        return None
    parts = version.split("-")[0].split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None
