"""mongodb_user_permissions: each MongoDB user PMM's backups run as holds what it does.

Two users do PBM's work, each judged for its own part (issue 26, D7; PBM 6f9fc3bf, after 2.15.0):

- **pbm-agent's user** does the backups, restores and oplog slicing: pbm-agent connects with its own
  PBM_MONGODB_URI (cmd/pbm-agent/main.go: `viper.BindEnv(mongoConnFlag, "PBM_MONGODB_URI")`, then
  `leadConn, err := connect.Connect(ctx, mongoURI, "pbm-agent")`, and agent.go newAgent's nodeConn from the same
  URI). PBM's code never checks its roles, so it is judged against PBM's documented pbm user, which PMM's docs
  repeat: readWrite, backup, clusterMonitor and restore on admin plus pbmAnyAction (anyAction on anyResource), and
  directShardOperations on MongoDB 8.0+. The user is observed, not assumed: the `effectiveUsers` of the
  connections with appName "pbm-agent" on the primary (currentOp), and its privileges from usersInfo, or from
  connectionStatus when it is the exporter's own user (the setup PMM's docs describe). What cannot be read is
  unknown, with what to grant the exporter's user.
- **The exporter's user**, PMM's when the config uses it (docs/configuration.md "Which MongoDB user"): PMM runs the
  `pbm` CLI with this user's DSN (pmm.md 1.3). The CLI does no backup work; it needs only what its own code runs
  (cmd/pbm/main.go `connect.Connect(app.ctx, app.mURL, "pbm-ctl")`):
  - `hello` and `buildInfo` (no privilege) and `getCmdLineOpts` (pbm/connect/todo.go getMongodOpts, from
    connect.go Connect);
  - `getShardMap` in a sharded cluster (pbm/topo/cluster.go ClusterMembers: `if inf.IsMongos() ||
    inf.IsSharded()`), and on a shard `find admin.system.version {_id: "shardIdentity"}` (todo.go
    getConfigsvrURI);
  - find on admin.pbmAgents, pbmLock, pbmLockOp, pbmConfig, pbmBackups and pbmRestores (pbm status, backup and
    restore, common.go checkForAnotherOperation);
  - what the full `pbm status` that PMM polls reads (PMM agent/runner/jobs/pbm_helpers.go getPBMStatus runs
    `pbm status --out=json`; cmd/pbm/status.go statusOut.set returns the first section's error): find on
    admin.pbmLog (getPitrErr, `log.LogGetExactSeverity`) and admin.pbmPITRChunks (getStorageStat ->
    getPITRranges, "for main storage also fetch PITR chunks"), and `replSetGetConfig` on every replica set
    (sdk/cli/status.go RSConfGetter.Get: `topo.GetReplSetConfig`). admin.pbmPITR is read only while PITR runs
    (oplog.GetAgentsWithACK), left out;
  - insert into admin.pbmCmd (common.go sendCmd: `conn.CmdStreamCollection().InsertOne(ctx, cmd)`);
  - insert and update on admin.pbmConfig: PMM runs `pbm config --file` before each job (pmm.md §9), which is
    pbm/config/config.go SetConfig: `m.ConfigCollection().ReplaceOne(ctx, ..., options.Replace().SetUpsert(true))`.
  Its lack of backup or restore roles blocks nothing.

Effective privileges are judged, not role names, so custom roles granting the same work. Blocks everything:
without the CLI's privileges PMM starts nothing, and pbm-agent's user runs every operation (which role's gap
stops which operation is not decided by PBM's code, which never checks roles, so no narrower set is claimed).
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

# What PMM's `pbm` CLI runs (module docstring), each with the built-in role that grants it, for the fix
PBM_READ_COLLECTIONS = ("pbmAgents", "pbmLock", "pbmLockOp", "pbmConfig", "pbmBackups", "pbmRestores", "pbmLog",
                        "pbmPITRChunks")


def cli_privileges(sharded: bool, shard: bool) -> list[tuple[str, mongodb_roles.Privilege]]:
    cluster = ["getCmdLineOpts", "replSetGetConfig", *(["getShardMap"] if sharded else [])]
    out = [("clusterMonitor", {"resource": mongodb_roles.CLUSTER, "actions": cluster})]
    out += [("readWrite", {"resource": mongodb_roles.namespace("admin", c), "actions": ["find"]})
            for c in PBM_READ_COLLECTIONS]
    out += [("readWrite", {"resource": mongodb_roles.namespace("admin", "pbmCmd"), "actions": ["insert"]}),
            ("readWrite", {"resource": mongodb_roles.namespace("admin", "pbmConfig"), "actions": ["insert", "update"]})]
    if shard:
        out.append(("backup", {"resource": mongodb_roles.namespace("admin", "system.version"), "actions": ["find"]}))
    return out


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


def _admin_role_names(roles: Any) -> set[str]:
    return {r["role"] for r in (roles if isinstance(roles, list) else [])
            if isinstance(r, dict) and r.get("db") == "admin" and isinstance(r.get("role"), str)}


class _Judged:
    """The parts of the verdict, one per user: failures (reason, fix), unknowns (reason), passes (reason)."""

    def __init__(self) -> None:
        self.failures: list[tuple[str, str]] = []
        self.unknowns: list[str] = []
        self.passes: list[str] = []


def _judge_exporter_user(inp: CheckInput, user: str, user_db: str, privileges: list[Any], roles: Any,
                         out: _Judged) -> None:
    sharded = inp.sharding is not None or not inp.control
    held = _admin_role_names(roles)
    gaps: dict[str, list[str]] = {}
    for role, needed in cli_privileges(sharded, shard=not inp.control):
        actions = [] if role in held else missing_actions(privileges, needed)  # held by name: see missing_by_role
        if actions:
            gaps.setdefault(role, []).append(f"{', '.join(actions)} on {describe_resource(needed['resource'])}")
    if gaps:
        detail = ", ".join(g for role_gaps in gaps.values() for g in role_gaps)
        out.failures.append((f"the exporter's user {user}@{user_db}, which PMM runs the pbm CLI as, lacks {detail}",
                             grant_fix(user, user_db, list(gaps))))
    else:
        out.passes.append(f"the exporter's user {user}@{user_db} holds what PMM's pbm CLI runs")


def _agent_roles(inp: CheckInput) -> tuple[list[RequiredRole], bool]:
    newer = bool(_is_mongodb_8_or_newer(inp.mongo))
    return list(REQUIRED_ROLES) + (MONGODB_8_ROLES if newer else []), newer


def _judge_agent_user(inp: CheckInput, name: str, db: str, privileges: list[Any], roles: Any, out: _Judged) -> None:
    required, newer = _agent_roles(inp)
    missing = missing_by_role(privileges, required, _admin_role_names(roles) - {"pbmAnyAction"})
    if missing:
        detail = "; ".join(f"{role}@admin ({', '.join(gaps)})" for role, gaps in missing.items())
        out.failures.append((f"pbm-agent's user {name}@{db}, which runs PBM's backups and restores, lacks the "
                             f"privileges of {detail}", grant_fix(name, db, list(missing))))
    else:
        note = " and directShardOperations" if newer else ""
        out.passes.append(f"pbm-agent's user {name}@{db} holds the privileges of readWrite, backup, clusterMonitor, "
                          f"restore and pbmAnyAction{note}")


def _judge_agent_users(inp: CheckInput, own: dict[str, Any], own_privileges: list[Any], own_roles: Any,
                       out: _Judged) -> None:
    facts = inp.mongo
    seen = facts.agent_users
    if seen.value is None and seen.error is None:
        return  # not read on this replica set: agents lead from the config servers, judged there
    user, user_db = own["user"], own["db"]
    if seen.value is None:
        refused = "authorized" in str(seen.error) or "Unauthorized" in str(seen.error)
        grant = (f"; grant the exporter's user {user}@{user_db} clusterMonitor (its inprog action), or check "
                 f"PBM_MONGODB_URI's user yourself") if refused else ""
        out.unknowns.append(f"cannot see which user pbm-agent runs as (currentOp: {seen.error}){grant}")
        return
    agents = [a for a in seen.value if isinstance(a, dict) and isinstance(a.get("user"), str)
              and isinstance(a.get("db"), str)] if isinstance(seen.value, list) else []
    if not agents:
        out.unknowns.append("no authenticated pbm-agent connection on the primary (currentOp appName \"pbm-agent\"): "
                            "pbm-agent's user cannot be judged")
        return
    info = facts.agent_user_info.value
    for agent in agents:
        name, db = str(agent.get("user")), str(agent.get("db"))
        if name == user and db == user_db:
            _judge_agent_user(inp, name, db, own_privileges, own_roles, out)
            continue
        found = [d for d in (info if isinstance(info, list) else []) if isinstance(d, dict)
                 and d.get("user") == name and d.get("db") == db]
        if info is None:
            out.unknowns.append(f"cannot read the privileges of pbm-agent's user {name}@{db} (usersInfo: "
                                f"{facts.agent_user_info.error or 'no reply'}); grant the exporter's user "
                                f"{user}@{user_db} the viewUser action on database {db}, or check that user's "
                                f"roles yourself")
        elif not found or not isinstance(found[0].get("inheritedPrivileges"), list):
            out.unknowns.append(f"usersInfo does not show the privileges of pbm-agent's user {name}@{db}")
        else:
            _judge_agent_user(inp, name, db, found[0]["inheritedPrivileges"], found[0].get("inheritedRoles"), out)


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
    own = {"user": str(first.get("user", "?")), "db": str(first.get("db", "admin"))}
    out = _Judged()
    _judge_exporter_user(inp, own["user"], own["db"], privileges, auth_info.get("authenticatedUserRoles"), out)
    _judge_agent_users(inp, own, privileges, auth_info.get("authenticatedUserRoles"), out)
    if out.failures:
        reason = "; ".join([r for r, _ in out.failures] + out.unknowns)
        return [failed(CHECK, reason, "; ".join(f for _, f in out.failures), "", rs, EVERYTHING)]
    if out.unknowns:
        return [unknown(CHECK, "; ".join(out.unknowns + out.passes), "", rs, EVERYTHING)]
    return [passed(CHECK, "; ".join(out.passes), "", rs)]

