"""PMM's inventory as the PMM checks see it: which MongoDB service in PMM is which replica-set member.

A member is named `host:port` as in the replica-set config, while PMM knows a service by the address and port
given to `pmm-admin add mongodb`, often 127.0.0.1 on the node itself (then the node's registered address counts).
A member matches a service on the same port whose address, or node's address or name, is the same name or
resolves to a shared IP. An explicit `pmm_services` mapping in the config wins over all of that.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from exporter.checks.results import CheckResult, skipped, unknown
from exporter.checks.view import CheckInput
from exporter.facts import Observed

LOOPBACK_NAMES = {"", "localhost", "localhost.localdomain", "ip6-localhost"}


def split_host_port(member: str) -> tuple[str, int]:
    host, _, port = member.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return (host or member).lower(), int(port)
    except ValueError:
        return member.lower(), 27017


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_loopback(name: str) -> bool:
    if name.lower() in LOOPBACK_NAMES:
        return True
    return is_ip(name) and ipaddress.ip_address(name).is_loopback


@dataclass(frozen=True)
class ServiceMatch:
    service: dict[str, Any] | None
    how: str = ""  # how it was matched, for the reason
    problem: str = ""  # why none matched


def _nodes_by_id(inp: CheckInput) -> dict[str, dict[str, Any]]:
    nodes = inp.pmm.nodes.value if inp.pmm is not None else None
    return {str(n.get("node_id")): n for n in nodes or [] if isinstance(n, dict)}


def _service_names(service: dict[str, Any], nodes: dict[str, dict[str, Any]]) -> tuple[int, set[str], bool]:
    """The service's port, the names it may go by, and whether those are its node's: its address, or its node's
    address and name when the service was added with a loopback address."""
    port = service.get("port")
    port = port if isinstance(port, int) and not isinstance(port, bool) else 0
    address = str(service.get("address") or "").lower()  # PMM 3 may send null where PMM 2 omits the field
    if not is_loopback(address):
        return port, {address}, False
    node = nodes.get(str(service.get("node_id")), {})
    names = {str(node.get(k) or "").lower() for k in ("address", "node_name")} - {""}
    return port, names or {address}, bool(names)


def names_to_resolve(inp: CheckInput) -> set[str]:
    """Host names whose IP addresses the matching may need (IP addresses need no lookup)."""
    if inp.pmm is None or inp.view.members is None or inp.pmm.services.value is None:
        return set()
    nodes = _nodes_by_id(inp)
    ports = {split_host_port(m.host)[1] for m in inp.view.members}
    names = {split_host_port(m.host)[0] for m in inp.view.members}
    for service in inp.pmm.services.value:
        port, service_names, _ = _service_names(service, nodes)
        if port in ports:
            names |= service_names
    return {n for n in names if n and not is_ip(n)}


def _ips(name: str, addresses: dict[str, frozenset[str]]) -> frozenset[str]:
    return frozenset({name}) if is_ip(name) else addresses.get(name, frozenset())


def match_members(inp: CheckInput) -> dict[str, ServiceMatch]:
    """For every member of the replica set, its PMM service (or why there is none)."""
    if inp.pmm is None or inp.view.members is None or inp.pmm.services.value is None:
        return {}
    services = [s for s in inp.pmm.services.value if isinstance(s, dict)]
    by_name = {str(s.get("service_name")): s for s in services}
    nodes = _nodes_by_id(inp)
    mapping = dict(inp.settings.pmm_services)
    out: dict[str, ServiceMatch] = {}
    for member in inp.view.members:
        if member.host in mapping:
            name = mapping[member.host]
            service = by_name.get(name)
            out[member.host] = (
                ServiceMatch(service, f"named {name!r} in the config's pmm_services") if service
                else ServiceMatch(None, problem=f"the config's pmm_services maps it to service {name!r}, which "
                                                f"PMM's inventory does not have"))
            continue
        host, port = split_host_port(member.host)
        member_ips = _ips(host, inp.addresses)
        candidates = []
        for service in services:
            service_port, names, via_node = _service_names(service, nodes)
            if service_port != port:
                continue
            whose = "its node's" if via_node else "its"
            if host in names:
                candidates.append((service, f"by {whose} address"))
            elif member_ips and any(member_ips & _ips(n, inp.addresses) for n in names):
                candidates.append((service, f"by {whose} resolved IP address"))
        preferred = [c for c in candidates if c[0].get("cluster") == inp.settings.name] or candidates
        if preferred:
            service, how = preferred[0]
            if len(preferred) > 1:
                others = ", ".join(str(c[0].get("service_name")) for c in preferred[1:])
                how += f"; also matches {others}: set pmm_services in the config to choose"
            out[member.host] = ServiceMatch(service, how)
        else:
            out[member.host] = ServiceMatch(None, problem=f"no MongoDB service in PMM's inventory has address "
                                                          f"{member.host}, or a name resolving to the same IP, "
                                                          f"on port {port}")
    return out


def pmm_unavailable(check: str, inp: CheckInput, *needed: Observed[Any]) -> list[CheckResult] | None:
    """A skipped result when no PMM is configured, an unknown one when PMM or a needed fact could not be read."""
    rs = inp.view.replica_set
    if inp.pmm is None:
        return [skipped(check, "no pmm: section in the config, so PMM Server is not checked", "", rs)]
    if inp.pmm.error is not None:
        return [unknown(check, f"cannot read PMM Server: {inp.pmm.error}", "", rs)]
    for fact in needed:
        if fact.error is not None or fact.value is None:
            return [unknown(check, f"cannot read from PMM Server: {fact.error or 'no answer'}", "", rs)]
    return None


def pmm_version(inp: CheckInput) -> tuple[int, int, int] | None:
    if inp.pmm is None or not inp.pmm.version:
        return None
    parts = inp.pmm.version.removeprefix("v").split("-")[0].split(".")
    try:
        numbers = [int(p) for p in parts[:3]] + [0] * (3 - len(parts[:3]))
    except ValueError:
        return None
    return numbers[0], numbers[1], numbers[2]
