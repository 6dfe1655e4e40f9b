"""Whether a set of held privileges covers a needed one, by MongoDB's resource-matching rules.

Rules (MongoDB docs "Resource Document on Self-Managed Deployments"): {anyResource: true} matches everything;
{cluster: true} only the cluster; {db: "", collection: ""} every non-system collection of every database;
{db: X, collection: ""} every non-system collection of X; {db: "", collection: C} collection C in any
database; {db: X, collection: C} exactly that namespace. The action anyAction grants every action.
"""

from __future__ import annotations

from typing import Any

from exporter.model.mongodb_roles import Privilege, Resource


def resource_covers(held: Resource, needed: Resource) -> bool:
    if held.get("anyResource") is True:
        return True
    if needed.get("anyResource") is True:
        return False
    if needed.get("cluster") is True or held.get("cluster") is True:
        return needed.get("cluster") is True and held.get("cluster") is True
    if "system_buckets" in needed or "system_buckets" in held:
        if "system_buckets" not in held or "system_buckets" not in needed:
            return False
        return held.get("db") in ("", needed.get("db"))
    held_db, held_coll = held.get("db"), held.get("collection")
    needed_db, needed_coll = needed.get("db"), needed.get("collection")
    if not all(isinstance(v, str) for v in (held_db, held_coll, needed_db, needed_coll)):
        return False
    db_ok = held_db == "" or (needed_db != "" and held_db == needed_db)
    if held_coll == "":
        coll_ok = needed_coll == "" or not str(needed_coll).startswith("system.")
    else:
        coll_ok = needed_coll == held_coll
    return db_ok and coll_ok


def missing_actions(held: list[Any], needed: Privilege) -> list[str]:
    """The actions of `needed` that no held privilege grants on its resource."""
    granted: set[str] = set()
    for privilege in held:
        if not isinstance(privilege, dict):
            continue
        resource, actions = privilege.get("resource"), privilege.get("actions")
        if isinstance(resource, dict) and isinstance(actions, list) and resource_covers(resource, needed["resource"]):
            granted.update(a for a in actions if isinstance(a, str))
    if "anyAction" in granted:
        return []
    return [a for a in needed["actions"] if a not in granted]


def describe_resource(resource: Resource) -> str:
    if resource.get("anyResource"):
        return "anyResource"
    if resource.get("cluster"):
        return "cluster"
    db, coll = resource.get("db", ""), resource.get("collection", "")
    if "system_buckets" in resource:
        return f"system.buckets.* in {db or 'any database'}"
    if not db and not coll:
        return "any collection of any database"
    if not coll:
        return f"database {db}"
    if not db:
        return f"{coll} in any database"
    return f"{db}.{coll}"
