"""PMM's inventory as the PMM checks see it: which MongoDB service in PMM is which replica-set member.

A member is named `host:port` as in the replica-set config, while PMM knows a service by the address and port
given to `pmm-admin add mongodb`, often 127.0.0.1 on the node itself (then the node's registered address counts).
A member matches a service on the same port whose address, or node's address or name, is the same name or
resolves to a shared IP. An explicit `pmm_services` mapping in the config wins over all of that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exporter.facts.observed import Observed, PMMFacts
from exporter.facts.pmm_indexes import is_ip, is_loopback, split_host_port
from exporter.model.cluster_view import CheckInput
from exporter.results.check_result import CheckResult, skipped, unknown

__all__ = ["REMOVE_DESTROYS", "ServiceMatch", "change_label_fix", "is_ip", "is_loopback", "match_members",
           "names_to_resolve", "pmm_unavailable", "pmm_version", "split_host_port", "usable_pmm"]

# What `pmm-admin remove` (management RemoveService -> models.RemoveService(..., RemoveCascade), PMM 2 and 3) does
# to backups: it deletes the service's scheduled backups and sets its artifacts' service ID to "", after which
# PMM refuses to restore them (CheckArtifactCompatibility -> FindServiceByID(q, ""): "Empty Service ID.").
REMOVE_DESTROYS = ("beware: pmm-admin remove deletes the service's scheduled backups in PMM and leaves its backup "
                   "artifacts without a service, which PMM then can never restore (\"Empty Service ID.\")")


@dataclass(frozen=True)
class ServiceMatch:
    service: dict[str, Any] | None
    how: str = ""  # how it was matched, for the reason
    problem: str = ""  # why none matched


def _how(via_node: bool, what: str) -> str:
    return f"by its node's {what}" if via_node else f"by its {what}"


def _named(inp: CheckInput, port: int, name: str, how: str) -> list[tuple[dict[str, Any], str]]:
    assert inp.pmm is not None
    return [(service, _how(via_node, how)) for service, via_node in inp.pmm.inventory.named.get((port, name), [])]


def _settled(inp: CheckInput, candidates: list[tuple[dict[str, Any], str]]) -> bool:
    """A candidate carries the cluster's label: an exact match that needs no IP address lookups."""
    return any(c[0].get("cluster") == inp.settings.name for c in candidates)


def names_to_resolve(inp: CheckInput) -> set[str]:
    """Host names whose IP addresses the matching may need (IP addresses need no lookup): none for a member a
    service of the cluster is registered under by name."""
    if inp.pmm is None or inp.view.members is None or inp.pmm.services.value is None:
        return set()
    names: set[str] = set()
    for member in inp.view.members:
        host, port = split_host_port(member.host)
        if _settled(inp, _named(inp, port, host, "address")):
            continue
        names.add(host)
        for _, service_names, _ in inp.pmm.inventory.on_port.get(port, []):
            names |= service_names
    return {n for n in names if n and not is_ip(n)}


def _ips(name: str, addresses: dict[str, frozenset[str]]) -> frozenset[str]:
    return frozenset({name}) if is_ip(name) else addresses.get(name, frozenset())


def match_members(inp: CheckInput) -> dict[str, ServiceMatch]:
    """For every member of the replica set, its PMM service (or why there is none); worked out once per input."""
    if "matches" not in inp.memo:
        inp.memo["matches"] = _match_members(inp)
    matches: dict[str, ServiceMatch] = inp.memo["matches"]
    return matches


def _match_members(inp: CheckInput) -> dict[str, ServiceMatch]:
    if inp.pmm is None or inp.view.members is None or inp.pmm.services.value is None:
        return {}
    index = inp.pmm.inventory
    mapping = dict(inp.settings.pmm_services)
    out: dict[str, ServiceMatch] = {}
    for member in inp.view.members:
        if member.host in mapping:
            name = mapping[member.host]
            service = index.by_name.get(name)
            out[member.host] = (
                ServiceMatch(service, f"named {name!r} in the config's pmm_services") if service
                else ServiceMatch(None, problem=f"the config's pmm_services maps it to service {name!r}, which "
                                                f"PMM's inventory does not have"))
            continue
        host, port = split_host_port(member.host)
        candidates = _named(inp, port, host, "address")
        member_ips = _ips(host, inp.addresses)
        if not _settled(inp, candidates) and member_ips:
            seen = {id(c[0]) for c in candidates}
            for service, names, via_node in index.on_port.get(port, []):
                if id(service) not in seen and any(member_ips & _ips(n, inp.addresses) for n in names):
                    candidates.append((service, _how(via_node, "resolved IP address")))
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


def usable_pmm(check: str, inp: CheckInput, *needed: str, members: bool = False) -> PMMFacts | list[CheckResult]:
    """PMM's facts when PMM and the `needed` facts (PMMFacts field names) were read, and the replica set's members
    if `members`; else the results that say why the check cannot judge."""
    pmm = inp.pmm
    unavailable = pmm_unavailable(check, inp)
    if unavailable is not None:
        return unavailable
    assert pmm is not None
    for name in needed:
        fact: Observed[Any] = getattr(pmm, name)
        if fact.error is not None or fact.value is None:
            what = name.replace("_", " ")
            return [unknown(check, f"cannot read PMM's {what}: {fact.error or 'no answer'}", "", inp.view.replica_set)]
    if members and inp.view.members is None:
        return [unknown(check, inp.view.members_error, node, inp.view.replica_set) for node in inp.mongo.seeds]
    return pmm


def change_label_fix(inp: CheckInput, service_id: object, cluster: str) -> str:
    """Setting a service's cluster label in place (inventory ChangeService: PMM 3 `PUT
    /v1/inventory/services/{service_id}`, api/inventory/v1/services.proto; PMM 2 `POST /v1/inventory/Services/Change`,
    api/inventorypb/services.proto): the service and its artifacts stay, but pmm-managed first removes every
    scheduled backup of the services of the old and the new cluster, and refuses while a backup or restore of them
    runs (managed/services/management/common/common.go RemoveScheduledTasks)."""
    version = pmm_version(inp)
    call = (f"PUT /v1/inventory/services/{service_id} {{\"cluster\": \"{cluster}\"}}"
            if version is not None and version >= (3, 0, 0) else
            f"POST /v1/inventory/Services/Change {{\"service_id\": \"{service_id}\", \"cluster\": \"{cluster}\"}}")
    return (f"set its cluster label in place through PMM's API, which keeps the service and its artifacts "
            f"restorable: {call}; PMM then deletes every scheduled backup of the old and the new cluster's services, "
            f"so recreate them after (PMM: Backup > Scheduled backup jobs)")


def pmm_version(inp: CheckInput) -> tuple[int, int, int] | None:
    if inp.pmm is None or not inp.pmm.version:
        return None
    parts = inp.pmm.version.removeprefix("v").split("-")[0].split(".")
    try:
        numbers = [int(p) for p in parts[:3]] + [0] * (3 - len(parts[:3]))
    except ValueError:
        return None
    return numbers[0], numbers[1], numbers[2]
