"""Whether a set of held privileges covers a needed one, by MongoDB's resource-matching rules.

Rules (MongoDB docs "Resource Document on Self-Managed Deployments", and the server's
`src/mongo/db/auth/resource_pattern_search_list.h` `ResourcePatternSearchList`, which lists the held patterns
that may grant an action on a target):
- {anyResource: true} matches everything;
- {cluster: true} only the cluster;
- {db: "", collection: ""} (anyNormalResource) every non-system collection of every database but `local` and
  `config`, and every database pattern but `local`'s and `config`'s: "even normal collections in non-normal
  databases should not be matchable with ResourcePattern::forAnyNormalResource. 'local' and 'config' are used
  to store special system collections" (`if (!nss.isLocalDB() && !nss.isConfigDB())`);
- {db: X, collection: ""} every non-system collection of X (local and config included);
- {db: "", collection: C} collection C in any database, local and config included ("All collections can be
  matched by a collection resource for their name");
- {db: X, collection: C} exactly that namespace.
A pattern that is not an exact namespace or a database ({db: "", collection: C}, anyNormalResource, cluster) is
matched only by itself and anyResource. The action anyAction grants every action.
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
    if held_db == needed_db and held_coll == needed_coll:  # every pattern matches itself
        return True
    if needed_db == "":  # a collection-name or anyNormalResource pattern: matched only by itself (above)
        return False
    special_db = needed_db in ("local", "config")  # anyNormalResource never matches these
    if needed_coll == "":  # a database pattern
        return held_db == "" and held_coll == "" and not special_db
    normal = not str(needed_coll).startswith("system.")
    if held_coll == "":  # anyNormalResource, or a database
        return normal and (held_db == needed_db or (held_db == "" and not special_db))
    return held_coll == needed_coll and held_db in ("", needed_db)


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
