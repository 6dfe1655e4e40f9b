"""Role expansion and privilege checks, following the server's authorization rules.

Sources: MongoDB docs "Resource Document on Self-Managed Deployments" and "Privilege Actions";
server `src/mongo/db/auth/resource_pattern.h` / `authorization_session_impl.cpp` (`buildResourceSearchList`):
- `{anyResource: true}` matches every resource, including the cluster and system collections;
- `{cluster: true}` matches the cluster resource;
- `{db: "", collection: ""}` matches every non-`system.` collection of every database but `local` and `config`;
- `{db: X, collection: ""}` matches every non-`system.` collection of database X;
- `{db: "", collection: C}` matches collection C in every database;
- `{db: X, collection: C}` matches exactly X.C;
- `{db: ""|X, system_buckets: ""|B}` matches `system.buckets.*` collections;
- the action `anyAction` covers every action.
Privileges on identical resources are merged (union of actions), as `connectionStatus {showPrivileges: true}` shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from exporter.model.mongodb_roles import builtin_role_privileges

Privilege = dict[str, Any]
RoleName = tuple[str, str]


def _resource_key(resource: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, v) for k, v in resource.items()))


def merge_privileges(privileges: Iterable[Mapping[str, Any]]) -> list[Privilege]:
    """Union the actions of privileges on identical resources; keep first-seen resource order."""
    merged: dict[tuple[tuple[str, Any], ...], tuple[dict[str, Any], set[str]]] = {}
    for priv in privileges:
        resource = priv.get("resource")
        if not isinstance(resource, Mapping):
            continue
        key = _resource_key(resource)
        if key not in merged:
            merged[key] = (dict(resource), set())
        merged[key][1].update(str(a) for a in priv.get("actions", []))
    return [{"resource": res, "actions": sorted(actions)} for res, actions in merged.values()]


def expand_roles(
    direct_roles: Sequence[RoleName],
    custom_roles: Mapping[RoleName, tuple[Sequence[Mapping[str, Any]], Sequence[RoleName]]],
) -> tuple[list[RoleName], list[Privilege]]:
    """All roles (direct and inherited through custom roles) and the merged privileges they grant.

    `custom_roles` maps (name, db) to (privileges, inherited roles). Built-in roles come from
    `exporter.model.mongodb_roles.builtin_role_privileges`; a role that is neither built-in (as modelled there) nor
    custom grants nothing but is still listed, like a dangling role reference.
    """
    seen: list[RoleName] = []
    privileges: list[Mapping[str, Any]] = []
    queue = list(direct_roles)
    while queue:
        role = queue.pop(0)
        if role in seen:
            continue
        seen.append(role)
        builtin = builtin_role_privileges(role[0], role[1])
        if builtin is not None:
            privileges.extend(builtin)
            continue
        custom = custom_roles.get(role)
        if custom is not None:
            privileges.extend(custom[0])
            queue.extend(custom[1])
    return seen, merge_privileges(privileges)


def _has_action(priv: Mapping[str, Any], action: str) -> bool:
    actions = priv.get("actions", [])
    return action in actions or "anyAction" in actions


def covers_namespace(resource: Mapping[str, Any], db: str, coll: str) -> bool:
    if resource.get("anyResource") is True:
        return True
    if "collection" in resource:
        rdb, rcoll = resource.get("db"), resource.get("collection")
        if rdb not in ("", db):
            return False
        if rcoll == "":
            # anyNormalResource ({db: "", collection: ""}) never matches local or config (server
            # resource_pattern_search_list.h ResourcePatternSearchList: `if (!nss.isLocalDB() && !nss.isConfigDB())`)
            return not coll.startswith("system.") and (rdb != "" or db not in ("local", "config"))
        return rcoll == coll
    if "system_buckets" in resource and coll.startswith("system.buckets."):
        rdb, bucket = resource.get("db"), resource.get("system_buckets")
        return rdb in ("", db) and bucket in ("", coll[len("system.buckets.") :])
    return False


def covers_cluster(resource: Mapping[str, Any]) -> bool:
    return resource.get("anyResource") is True or resource.get("cluster") is True


def authorized_on_namespace(privileges: Iterable[Mapping[str, Any]], db: str, coll: str, action: str) -> bool:
    return any(_has_action(p, action) and covers_namespace(p.get("resource", {}), db, coll) for p in privileges)


def authorized_on_cluster(privileges: Iterable[Mapping[str, Any]], action: str) -> bool:
    return any(_has_action(p, action) and covers_cluster(p.get("resource", {})) for p in privileges)
