"""Privileges of the MongoDB built-in roles that PMM's backup user needs.

Source: mongodb/mongo `src/mongo/db/auth/builtin_roles.yml` (roles read, readWrite, clusterMonitor, backup,
__queryableBackup, restore, directShardOperations), written down as the resource documents that
`connectionStatus {showPrivileges: true}` returns:

- matchType cluster          -> {"cluster": True}
- matchType any              -> {"anyResource": True}
- matchType any_normal       -> {"db": "", "collection": ""}
- matchType database (db X)  -> {"db": X, "collection": ""}   (X is the role's db when the YAML names none)
- matchType collection (C)   -> {"db": "", "collection": C}
- matchType exact_namespace  -> {"db": X, "collection": C}
- matchType any_system_buckets -> {"db": "", "system_buckets": ""}

The exporter uses this table to know what the roles PMM asks for grant, so that a custom role granting the
same privileges passes. The simulator uses it to expand the roles of its users, as a real server does.
"""

from __future__ import annotations

from typing import Any

Resource = dict[str, Any]
Privilege = dict[str, Any]  # {"resource": Resource, "actions": [str, ...]}

CLUSTER: Resource = {"cluster": True}
ANY_RESOURCE: Resource = {"anyResource": True}
ANY_NORMAL: Resource = {"db": "", "collection": ""}
ANY_SYSTEM_BUCKETS: Resource = {"db": "", "system_buckets": ""}


def database(db: str) -> Resource:
    return {"db": db, "collection": ""}


def namespace(db: str, collection: str) -> Resource:
    return {"db": db, "collection": collection}


def any_db_collection(collection: str) -> Resource:
    return {"db": "", "collection": collection}


_READ_ACTIONS = [
    "changeStream", "collStats", "dbHash", "dbStats", "find", "killCursors", "listCollections",
    "listIndexes", "listSearchIndexes", "planCacheRead",
]
_READ_WRITE_ACTIONS = [
    *_READ_ACTIONS,
    "cleanupStructuredEncryptionData", "compactStructuredEncryptionData", "convertToCapped",
    "createCollection", "createIndex", "createSearchIndexes", "dropCollection", "dropIndex",
    "dropSearchIndex", "insert", "remove", "renameCollectionSameDB", "update", "updateSearchIndex",
]
_USER_ADMIN_ACTIONS = [
    "changeCustomData", "changePassword", "createUser", "createRole", "dropUser", "dropRole", "grantRole",
    "revokeRole", "setAuthenticationRestriction", "viewUser", "viewRole",
]
_CLUSTER_MONITOR_DB_ACTIONS = ["collStats", "dbStats", "getDatabaseVersion", "getShardVersion", "indexStats"]
_RESTORE_WRITE_ACTIONS = [
    "bypassDocumentValidation", "collMod", "convertToCapped", "createCollection", "createIndex",
    "createSearchIndexes", "dropCollection", "insert", "updateSearchIndex",
]


def _p(resource: Resource, actions: list[str]) -> Privilege:
    return {"resource": resource, "actions": sorted(set(actions))}


def read(db: str) -> list[Privilege]:
    return [_p(database(db), _READ_ACTIONS), _p(namespace(db, "system.js"), _READ_ACTIONS)]


def read_write(db: str) -> list[Privilege]:
    return [_p(database(db), _READ_WRITE_ACTIONS), _p(namespace(db, "system.js"), _READ_WRITE_ACTIONS)]


def cluster_monitor() -> list[Privilege]:
    return [
        *read("config"),
        *read("local"),
        _p(CLUSTER, [
            "connPoolStats", "getCmdLineOpts", "getDefaultRWConcern", "getLog", "getParameter", "getShardMap",
            "hostInfo", "listDatabases", "listSampledQueries", "listSessions", "listShards", "netstat",
            "operationMetrics", "replSetGetConfig", "replSetGetStatus", "serverStatus", "top", "useUUID",
            "inprog", "shardingState", "allCollectionStats", "shardedDataDistribution",
        ]),
        _p(ANY_NORMAL, _CLUSTER_MONITOR_DB_ACTIONS),
        _p(database("config"), _CLUSTER_MONITOR_DB_ACTIONS),
        _p(namespace("config", "system.sessions"), _CLUSTER_MONITOR_DB_ACTIONS),
        _p(database("local"), _CLUSTER_MONITOR_DB_ACTIONS),
        _p(namespace("local", "system.replset"), ["find"]),
        _p(namespace("local", "replset.election"), ["find"]),
        _p(namespace("local", "replset.minvalid"), ["find"]),
        _p(any_db_collection("system.profile"), ["find"]),
    ]


def backup() -> list[Privilege]:
    queryable_backup = [
        _p(ANY_RESOURCE, ["collStats", "listCollections", "listIndexes", "listSearchIndexes"]),
        _p(ANY_NORMAL, ["find"]),
        _p(ANY_SYSTEM_BUCKETS, ["find"]),
        _p(CLUSTER, ["getParameter", "listDatabases", "useUUID"]),
        _p(database("config"), ["find"]),
        _p(database("local"), ["find"]),
        _p(namespace("local", "replset.election"), ["find"]),
        _p(namespace("local", "replset.minvalid"), ["find"]),
        _p(any_db_collection("system.js"), ["find"]),
        _p(any_db_collection("system.users"), ["find"]),
        _p(any_db_collection("system.profile"), ["find"]),
        _p(namespace("admin", "system.backup_users"), ["find"]),
        _p(namespace("admin", "system.roles"), ["find"]),
        _p(namespace("admin", "system.version"), ["find"]),
        _p(namespace("config", "settings"), ["find"]),
    ]
    return [
        *queryable_backup,
        _p(CLUSTER, ["appendOplogNote", "serverStatus", "setUserWriteBlockMode"]),
        _p(namespace("config", "settings"), ["insert", "update"]),
    ]


def restore() -> list[Privilege]:
    return [
        _p(CLUSTER, [
            "getParameter", "forceUUID", "useUUID", "bypassWriteBlockingMode", "setUserWriteBlockMode", "applyOps",
        ]),
        _p(database("local"), _RESTORE_WRITE_ACTIONS),
        _p(database("config"), _RESTORE_WRITE_ACTIONS),
        _p(ANY_SYSTEM_BUCKETS, _RESTORE_WRITE_ACTIONS),
        _p(namespace("local", "system.replset"), _RESTORE_WRITE_ACTIONS),
        _p(namespace("local", "replset.election"), _RESTORE_WRITE_ACTIONS),
        _p(namespace("local", "replset.minvalid"), _RESTORE_WRITE_ACTIONS),
        _p(ANY_RESOURCE, ["listCollections"]),
        _p(ANY_NORMAL, [*_RESTORE_WRITE_ACTIONS, *_USER_ADMIN_ACTIONS]),
        _p(any_db_collection("system.js"), _RESTORE_WRITE_ACTIONS),
        _p(namespace("admin", "tempusers"), ["find"]),
        _p(namespace("admin", "temproles"), ["find"]),
        _p(namespace("admin", "system.backup_users"), _RESTORE_WRITE_ACTIONS),
        _p(namespace("admin", "system.version"), [*_RESTORE_WRITE_ACTIONS, "find"]),
        _p(any_db_collection("system.users"), [*_RESTORE_WRITE_ACTIONS, "find", "update", "remove"]),
        _p(namespace("admin", "system.roles"), ["createIndex"]),
    ]


def direct_shard_operations() -> list[Privilege]:
    return [_p(CLUSTER, ["issueDirectShardOperations"])]


def any_action() -> list[Privilege]:
    """PMM's and PBM's custom role `pbmAnyAction`."""
    return [_p(ANY_RESOURCE, ["anyAction"])]


def builtin_role_privileges(role: str, db: str) -> list[Privilege] | None:
    """Privileges of a built-in role granted on `db`, or None when the role is not one we model."""
    if role == "read":
        return read(db)
    if role == "readWrite":
        return read_write(db)
    if db != "admin":
        return None  # the other roles exist only on admin
    return {
        "clusterMonitor": cluster_monitor,
        "backup": backup,
        "restore": restore,
        "directShardOperations": direct_shard_operations,
        "__system": any_action,  # special-cased in the server as every action on every resource
    }.get(role, lambda: None)()
