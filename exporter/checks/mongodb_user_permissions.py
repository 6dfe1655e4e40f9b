"""mongodb_user_permissions: the exporter's MongoDB user (PMM's user) holds what PMM's backups run with.

PMM runs pbm with the PMM MongoDB user's DSN (pmm.md 1.3), and its docs ask for readWrite, backup,
clusterMonitor and restore on admin plus pbmAnyAction (anyAction on anyResource), and directShardOperations on
MongoDB 8.0+. Effective privileges are judged, not role names, so custom roles granting the same work.

Blocks everything: PBM and PMM's pbm commands run as this user, for backups, PITR and restores alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from exporter.facts.observed import ReplicaSetFacts
from exporter.model import mongodb_roles
from exporter.model.cluster_view import CheckInput
from exporter.model.privileges import describe_resource, missing_actions
from exporter.model.topology import major_minor
from exporter.results.check_result import CheckResult, failed, passed, unknown
from exporter.results.operations import EVERYTHING

CHECK = "mongodb_user_permissions"
MAY_BLOCK = EVERYTHING

RequiredRole = tuple[str, Callable[[], list[mongodb_roles.Privilege]]]

REQUIRED_ROLES: list[RequiredRole] = [
    ("readWrite", lambda: mongodb_roles.read_write("admin")),
    ("backup", mongodb_roles.backup),
    ("clusterMonitor", mongodb_roles.cluster_monitor),
    ("restore", mongodb_roles.restore),
    ("pbmAnyAction", mongodb_roles.any_action),
]
MONGODB_8_ROLES: list[RequiredRole] = [("directShardOperations", mongodb_roles.direct_shard_operations)]

CREATE_ANY_ACTION_ROLE = (
    'db.getSiblingDB("admin").createRole({role: "pbmAnyAction", '
    'privileges: [{resource: {anyResource: true}, actions: ["anyAction"]}], roles: []})'
)


def _is_mongodb_8_or_newer(facts: ReplicaSetFacts) -> bool | None:
    build = facts.build_info.value
    version = major_minor(build.get("version")) if isinstance(build, dict) else None
    if version is not None:
        return version >= (8, 0)
    hello = facts.hello.value
    wire = hello.get("maxWireVersion") if isinstance(hello, dict) else None
    return wire >= 25 if isinstance(wire, int) else None  # wire version 25 is MongoDB 8.0


def missing_by_role(
    privileges: list[Any], roles: list[RequiredRole], held_roles: frozenset[str] | set[str] = frozenset()
) -> dict[str, list[str]]:
    """For each required role whose privileges are not all held: what is missing, as readable phrases.

    A built-in role held by name counts as held: its action list differs between server versions (6.0 has no
    listSearchIndexes, say), and the server knows best what its own role grants.
    """
    out: dict[str, list[str]] = {}
    for role, role_privileges in roles:
        if role in held_roles:
            continue
        gaps = []
        for needed in role_privileges():
            actions = missing_actions(privileges, needed)
            if actions:
                gaps.append(f"{', '.join(actions)} on {describe_resource(needed['resource'])}")
        if gaps:
            out[role] = gaps
    return out


def grant_fix(user: str, db: str, roles: list[str]) -> str:
    grants = ", ".join(f'{{role: "{r}", db: "admin"}}' for r in roles)
    steps = []
    if "pbmAnyAction" in roles:
        steps.append(f"if the role does not exist yet: {CREATE_ANY_ACTION_ROLE}")
    steps.append(f'db.getSiblingDB("{db}").grantRolesToUser("{user}", [{grants}])')
    return "On the primary, as a user administrator, run in mongosh: " + "; then ".join(steps)


def held_roles_listed(auth_info: dict[str, Any]) -> bool:
    roles = auth_info.get("authenticatedUserRoles")
    return isinstance(roles, list) and bool(roles)


def evaluate(inp: CheckInput) -> list[CheckResult]:
    facts, view = inp.mongo, inp.view
    rs = view.replica_set
    reply = facts.connection_status.value
    if reply is None:
        return [unknown(CHECK, f"cannot read connectionStatus: {facts.connection_status.error or 'no reply'}",
                        "", rs)]
    auth_info = reply.get("authInfo")
    if not isinstance(auth_info, dict):
        return [unknown(CHECK, "connectionStatus reply has no authInfo document", "", rs)]
    users = auth_info.get("authenticatedUsers")
    privileges = auth_info.get("authenticatedUserPrivileges")
    if not isinstance(users, list) or not isinstance(privileges, list):
        return [unknown(CHECK, "connectionStatus reply lacks authenticatedUsers or authenticatedUserPrivileges",
                        "", rs)]
    if not users:
        if facts.status.ok:
            return [passed(CHECK, "MongoDB runs without access control: every operation is allowed", "", rs)]
        return [unknown(CHECK, "the exporter is not authenticated; add the PMM user's credentials to the URI",
                        "", rs)]
    if held_roles_listed(auth_info) and not privileges:
        # a real mongod always expands the roles into privileges (MongoDB docs: connectionStatus showPrivileges);
        # roles without privileges is a server that does not, so the privileges cannot be judged
        return [unknown(CHECK, "connectionStatus lists the user's roles but no privileges (a real mongod always "
                               "expands them): the privileges cannot be judged", "", rs)]
    first = users[0] if isinstance(users[0], dict) else {}
    user, user_db = str(first.get("user", "?")), str(first.get("db", "admin"))
    roles = list(REQUIRED_ROLES)
    newer = _is_mongodb_8_or_newer(facts)
    if newer:
        roles += MONGODB_8_ROLES
    held = auth_info.get("authenticatedUserRoles")
    held_roles = {r["role"] for r in (held if isinstance(held, list) else [])
                  if isinstance(r, dict) and r.get("db") == "admin" and isinstance(r.get("role"), str)}
    missing = missing_by_role(privileges, roles, held_roles - {"pbmAnyAction"})
    if missing:
        detail = "; ".join(f"{role}@admin ({', '.join(gaps)})" for role, gaps in missing.items())
        return [failed(CHECK, f"user {user}@{user_db} lacks the privileges of {detail}",
                       grant_fix(user, user_db, list(missing)), "", rs, EVERYTHING)]
    note = " and directShardOperations (MongoDB 8.0+)" if newer else ""
    return [passed(CHECK, f"user {user}@{user_db} holds the privileges of readWrite, backup, clusterMonitor, "
                          f"restore and pbmAnyAction{note}", "", rs)]
