"""The node-side checks: pure functions from what inspect_node read to results (the `check` label is a contract).

Sources: PMM's MongoDB backup prerequisites (pmm.md 1.1: mongod on pmm-agent's PATH, mongod as a systemd
service, one mongod per node, pbm-agent with its URI on every node), pmm-agent's software check (pmm.md 3.3:
`exec.LookPath("mongod")`, `pbm version`), PBM's docs (pbm.md 4: the agent URI points at the local mongod with a
direct connection; filesystem storage mounted on every node, writable by pbm-agent's user) and pbm-docs PR #306
(no Restart=always or on-success for mongod and pbm-agent, since PBM's physical restore stops them).

Like all of node-check: Python 3.6 and the standard library only; the results are the exporter's CheckResult.
"""

import re
import stat
from typing import Callable, Dict, FrozenSet, List, NamedTuple, Optional, Tuple

from exporter.node.inspect import PBM_AGENT_UNIT, Account, FileInfo, NodeFacts
from exporter.node.mongodb_uri import InvalidURI, parse_uri
from exporter.node.systemd import strip_prefix
from exporter.results.check_result import CheckResult, Status, failed, passed, skipped, unknown
from exporter.results.operations import EVERYTHING, NOTHING, PHYSICAL, PHYSICAL_RESTORE, ordered

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "localhost.localdomain"}
UNSAFE_RESTART = ("always", "on-success")


class NodeIdentity(NamedTuple):
    """How the cluster exporter names this member, so node-side and cluster-side series line up."""

    cluster: str
    node: str  # host:port as in the replica-set config
    replica_set: str


def _allowed(info: FileInfo, account: Optional[Account], bits: Tuple[int, int, int]) -> bool:
    """Whether `account` has the (owner, group, other) permission bits on the file; root has all."""
    if account is not None and account.uid == 0:
        return True
    owner, group, other = bits
    if account is not None and account.uid == info.uid:
        return info.mode & owner == owner
    if account is not None and info.gid in account.groups:
        return info.mode & group == group
    return info.mode & other == other


EXECUTE = (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)
WRITE_DIR = (stat.S_IWUSR | stat.S_IXUSR, stat.S_IWGRP | stat.S_IXGRP, stat.S_IWOTH | stat.S_IXOTH)
READ_WRITE_DIR = (stat.S_IRWXU, stat.S_IRWXG, stat.S_IRWXO)


def mongod_on_pmm_agent_path(facts: NodeFacts, me: NodeIdentity) -> List[CheckResult]:
    user = facts.pmm_agent_user_name
    found = facts.lookups.get("mongod")
    if found is None:
        return [failed("mongod_on_pmm_agent_path",
                       f"mongod is not on the PATH of pmm-agent's user {user} ({facts.pmm_agent_path}): PMM looks it "
                       f"up to read the MongoDB version before every backup",
                       "Link the mongod binary into a directory on that PATH (sudo ln -s /path/to/mongod "
                       "/usr/bin/mongod), or add its directory to pmm-agent's PATH (sudo systemctl edit pmm-agent: "
                       "[Service] Environment=PATH=...), then sudo systemctl restart pmm-agent",
                       me.node, me.replica_set)]
    if not _allowed(found, facts.pmm_agent_user, EXECUTE):
        return [failed("mongod_on_pmm_agent_path", f"{found.path} is not executable by pmm-agent's user {user}",
                       f"sudo chmod o+rx {found.path} (or add {user} to the file's group)", me.node, me.replica_set)]
    return [passed("mongod_on_pmm_agent_path", f"mongod at {found.path}, executable by {user}", me.node,
                   me.replica_set)]


def mongod_systemd_service(facts: NodeFacts, me: NodeIdentity) -> List[CheckResult]:
    check = "mongod_systemd_service"
    unit = facts.mongod_unit
    if unit is None:
        return [failed(check, "no mongod.service systemd unit: PMM restarts mongod through systemd after a physical "
                              "restore", "Install MongoDB from its packages (they ship mongod.service), or write a "
                              "mongod.service unit, then sudo systemctl enable --now mongod", me.node, me.replica_set)]
    if not unit.enabled:
        return [failed(check, f"{unit.name} is not enabled", f"sudo systemctl enable {unit.name}", me.node,
                       me.replica_set)]
    if not facts.mongod_name_resolves:
        # after a physical restore pmm-agent runs `systemctl restart mongod`, the name hard-coded
        # (percona/pmm agent/client/client.go, the RestartSysService action)
        return [failed(check, f"mongod runs as {unit.name}, but after a physical restore PMM restarts it as "
                              f"`systemctl restart mongod`, and no mongod.service unit or alias exists",
                       f"Give the unit that name too: sudo ln -s {unit.path} /etc/systemd/system/mongod.service && "
                       f"sudo systemctl daemon-reload (or add Alias=mongod.service under [Install] in {unit.name} "
                       f"and run sudo systemctl reenable {unit.name})", me.node, me.replica_set)]
    outside = [p for p in facts.processes if p.name == "mongod" and ".service" not in p.cgroup]
    if outside:
        pids = ", ".join(str(p.pid) for p in outside)
        return [failed(check, f"mongod (pid {pids}) runs outside systemd, not as {unit.name}",
                       f"Stop that mongod and start it as a service: sudo systemctl start {unit.name}", me.node,
                       me.replica_set)]
    return [passed(check, f"{unit.name} ({unit.path}) is enabled", me.node, me.replica_set)]


def single_mongod_per_node(facts: NodeFacts, me: NodeIdentity) -> List[CheckResult]:
    check = "single_mongod_per_node"
    mongods = [p for p in facts.processes if p.name == "mongod"]
    if len(mongods) == 1:
        return [passed(check, f"one mongod (pid {mongods[0].pid})", me.node, me.replica_set)]
    if not mongods:
        return [failed(check, "no mongod runs on this node", "sudo systemctl start mongod", me.node, me.replica_set,
                       {PHYSICAL_RESTORE})]
    pids = ", ".join(str(p.pid) for p in mongods)
    return [failed(check, f"{len(mongods)} mongod processes run here (pids {pids}); PMM only works with a single "
                          f"mongod on a node", "Run one mongod per node (one per VM or host) for the nodes PMM backs "
                                               "up", me.node, me.replica_set)]


def pbm_installed(facts: NodeFacts, me: NodeIdentity) -> List[CheckResult]:
    check = "pbm_installed"
    missing = [b for b in ("pbm", "pbm-agent") if facts.lookups.get(b) is None]
    if missing:
        return [failed(check, f"{' and '.join(missing)} not found on pmm-agent's PATH ({facts.pmm_agent_path})",
                       "Install Percona Backup for MongoDB: sudo percona-release enable pbm release, then sudo apt-get "
                       "install percona-backup-mongodb (or sudo yum install percona-backup-mongodb)", me.node,
                       me.replica_set)]
    pbm = facts.lookups["pbm"]
    assert pbm is not None
    if not _allowed(pbm, facts.pmm_agent_user, EXECUTE):
        return [failed(check, f"{pbm.path} is not executable by pmm-agent's user {facts.pmm_agent_user_name}, "
                              f"which runs pbm for PMM's backups", f"sudo chmod o+rx {pbm.path}", me.node,
                       me.replica_set)]
    return [passed(check, f"pbm at {pbm.path}", me.node, me.replica_set)]


def pbm_agent_service_enabled(facts: NodeFacts, me: NodeIdentity) -> List[CheckResult]:
    check = "pbm_agent_service_enabled"
    unit = facts.units.get(PBM_AGENT_UNIT)
    if unit is None:
        return [failed(check, "no pbm-agent.service systemd unit", "Install percona-backup-mongodb, which ships "
                              "pbm-agent.service", me.node, me.replica_set)]
    if not unit.enabled:
        return [failed(check, "pbm-agent.service is not enabled: it will not start after a reboot",
                       "sudo systemctl enable --now pbm-agent", me.node, me.replica_set)]
    if not any(p.name == "pbm-agent" for p in facts.processes):
        return [failed(check, "pbm-agent.service is enabled but no pbm-agent runs",
                       "sudo systemctl start pbm-agent; journalctl -u pbm-agent says why it stopped", me.node,
                       me.replica_set)]
    return [passed(check, "pbm-agent.service is enabled and pbm-agent runs", me.node, me.replica_set)]


def pbm_agent_uri_configured(facts: NodeFacts, me: NodeIdentity) -> List[CheckResult]:
    """pbm-agent's URI points at this node's mongod. pbm-agent connects to it directly whatever the URI says
    (cmd/pbm-agent/agent.go, connect.Direct(true)), so a single host with replicaSet= works, while several hosts
    or mongodb+srv:// (refused since 2.14.0) do not; PBM's docs ask for the standalone form."""
    check = "pbm_agent_uri_configured"
    unit = facts.units.get(PBM_AGENT_UNIT)
    found = facts.pbm_agent_uri
    named = unit.service.get("EnvironmentFile", []) if unit else []
    env_files = ", ".join(strip_prefix(f, "-") for f in named) or "/etc/default/pbm-agent or /etc/sysconfig/pbm-agent"
    where = found.source if found.uri and not found.source.startswith("PBM_MONGODB_URI") else env_files
    example = f"mongodb://<pbm-user>:<password>@localhost:{facts.mongod_port}/?authSource=admin"
    fix = (f"Set the URI in {where}: " + (f'PBM_MONGODB_URI="{example}"' if where == env_files else example)
           + ", then sudo systemctl restart pbm-agent")
    if found.error:
        return [unknown(check, f"cannot read pbm-agent's URI from {found.source}: {found.error}", me.node,
                        me.replica_set)]
    if not found.uri:
        looked = found.source or ("--mongodb-uri on its ExecStart, PBM_MONGODB_URI in its environment, or a -f "
                                  "config file")
        return [failed(check, f"pbm-agent has no MongoDB URI (looked at {looked}): the service cannot start", fix,
                       me.node, me.replica_set)]
    what = f"pbm-agent's URI ({found.source})"
    if found.uri.startswith("mongodb+srv://"):
        return [failed(check, f"{what} is a mongodb+srv:// URI, which pbm-agent refuses: it connects to its local "
                              f"mongod directly", fix, me.node, me.replica_set)]
    try:
        parsed = parse_uri(found.uri if "://" in found.uri else "mongodb://" + found.uri)
    except InvalidURI as exc:
        return [failed(check, f"{what} does not parse as a MongoDB URI: {exc}", fix, me.node, me.replica_set)]
    hosts = parsed.hosts
    local = LOCAL_HOSTS | set(facts.local_names)
    options = parsed.options
    if len(hosts) != 1:
        return [failed(check, f"{what} names {len(hosts)} hosts: pbm-agent connects directly to one, its local "
                              f"mongod, and refuses a multi-host URI", fix, me.node, me.replica_set)]
    host, port = hosts[0]
    if host not in local or port != facts.mongod_port:
        return [failed(check, f"{what} points at {host}:{port}, not at this node's mongod (port {facts.mongod_port})",
                       fix, me.node, me.replica_set)]
    note = (f"; it names replicaSet={options['replicaset']}, which pbm-agent's direct connection ignores: the "
            f"standalone form, without it, is what PBM's docs show" if options.get("replicaset") else "")
    return [passed(check, f"{what} points at {host}:{port} directly{note}", me.node, me.replica_set)]


def mongod_on_pbm_agent_path(facts: NodeFacts, me: NodeIdentity) -> List[CheckResult]:
    """A physical restore starts mongod itself, from pbm-agent's PATH unless PBM's restore.mongodLocation (or
    mongodLocationMap) names it (percona-backup-mongodb pbm/restore/physical.go startMongo, PBM 2.0.4+); PMM
    writes PBM's whole config before its restores (pbm config --file), so a location set by hand does not last."""
    check = "mongod_on_pbm_agent_path"
    if facts.units.get(PBM_AGENT_UNIT) is None:
        return [skipped(check, "no pbm-agent.service (see pbm_agent_service_enabled)", me.node, me.replica_set)]
    user = facts.pbm_user.name if facts.pbm_user else "pbm-agent's user"
    found = facts.pbm_agent_mongod
    if found is None:
        return [failed(check, f"mongod is not on pbm-agent's PATH ({facts.pbm_agent_path}): a physical restore "
                              f"starts mongod from there", "Link the mongod binary into a directory on that PATH "
                       "(sudo ln -s /path/to/mongod /usr/bin/mongod), or add its directory to pbm-agent's PATH (sudo "
                       "systemctl edit pbm-agent: [Service] Environment=PATH=...), then sudo systemctl restart "
                       "pbm-agent", me.node, me.replica_set)]
    if not _allowed(found, facts.pbm_user, EXECUTE):
        return [failed(check, f"{found.path} is not executable by pbm-agent's user {user}",
                       f"sudo chmod o+rx {found.path} (or add {user} to the file's group)", me.node, me.replica_set)]
    return [passed(check, f"mongod at {found.path} on pbm-agent's PATH, executable by {user}", me.node,
                   me.replica_set)]


def dbpath_accessible_by_pbm_agent(facts: NodeFacts, me: NodeIdentity) -> List[CheckResult]:
    """A physical backup copies the dbPath's files and a physical restore writes them (PBM docs, "Make a physical
    backup": PBM copies the contents of the dbpath directory; "Start the pbm-agent process": pbm-agent needs write
    access to the data directory for physical restores, so it runs as the mongod user)."""
    check = "dbpath_accessible_by_pbm_agent"
    data = facts.data_dir
    if data is None or data.error:
        return [unknown(check, f"cannot read mongod's dbPath from {data.source if data else 'its config'}: "
                               f"{data.error if data else 'not read'}", me.node, me.replica_set)]
    user = facts.pbm_user.name if facts.pbm_user else "pbm-agent's user"
    if data.info is None or not data.info.is_dir:
        return [failed(check, f"mongod's dbPath {data.path} ({data.source}) is not a directory on this node",
                       "Check mongod's storage.dbPath, and that the data directory is mounted", me.node,
                       me.replica_set)]
    if not _allowed(data.info, facts.pbm_user, READ_WRITE_DIR):
        return [failed(check, f"pbm-agent's user {user} cannot read and write mongod's dbPath {data.path} "
                              f"({data.source})", f"Run pbm-agent as mongod's user (User= in pbm-agent.service, as "
                       f"Percona's package does), or sudo chown -R {user} {data.path}", me.node, me.replica_set)]
    return [passed(check, f"{user} can read and write mongod's dbPath {data.path} ({data.source})", me.node,
                   me.replica_set)]


def pbm_cli_matches_agent(facts: NodeFacts, me: NodeIdentity) -> List[CheckResult]:
    """The pbm that PMM runs (the first on pmm-agent's PATH) is this node's pbm-agent's version: PBM's docs ask for
    the same version of every agent and the CLI ("Make a physical backup", Before you start). A warning."""
    check = "pbm_cli_matches_agent"
    versions = facts.versions or {}
    pbm, agent = versions.get("pbm"), versions.get("pbm-agent")
    if pbm is None or agent is None:
        return [skipped(check, "pbm or pbm-agent.service is missing (see pbm_installed, pbm_agent_service_enabled)",
                        me.node, me.replica_set)]
    problems = [problem for _, _, problem in (pbm, agent) if problem]
    if problems:
        return [unknown(check, "; ".join(problems), me.node, me.replica_set)]
    if pbm[1] != agent[1]:
        return [failed(check, f"pbm at {pbm[0]} is {pbm[1]}, and pbm-agent ({agent[0]}) {agent[1]}: PMM runs that pbm "
                              f"for its backups and restores, and PBM asks for one version of both",
                       "Install one version of percona-backup-mongodb on every node, and remove other pbm binaries "
                       "from pmm-agent's PATH, then sudo systemctl restart pbm-agent", me.node, me.replica_set)]
    return [passed(check, f"pbm and pbm-agent are both {pbm[1]}", me.node, me.replica_set)]


def containerized_node(facts: NodeFacts, me: NodeIdentity) -> List[CheckResult]:
    """PMM backs up MongoDB on VMs and bare metal only: "backup feature in PMM doesn't support k8s or other
    containerized DB installations" (a maintainer in percona/pmm#1552); PMM's docs: MongoDB instances running in
    Docker containers are not supported for backup operations."""
    check = "containerized_node"
    if not facts.container:
        return [passed(check, "no sign of a container (no /.dockerenv or /run/.containerenv, mongod's cgroup is "
                              "not a container's)", me.node, me.replica_set)]
    return [failed(check, f"mongod runs in a container ({'; '.join(facts.container)}): PMM does not support backups "
                          f"of containerized MongoDB (percona/pmm#1552, PMM's backup docs)",
                   "Back this cluster up with PBM directly (pbm backup), or with Percona Operator for MongoDB on "
                   "Kubernetes; PMM's backups need mongod on a VM or bare metal", me.node, me.replica_set)]


# File system types of proc(5)'s mount tables. Shared: network and cluster file systems, mounted the same on every
# node (PMM's docs: a remote file system mounted at the same path on all nodes). Local: a node's own disk or memory.
SHARED_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "glusterfs", "fuse.glusterfs", "ceph", "fuse.ceph", "fuse.ceph-fuse",
    "lustre", "gpfs", "ocfs2", "gfs2", "beegfs", "fuse.sshfs", "afs", "panfs", "orangefs", "pvfs2", "fuse.juicefs",
    "fuse.s3fs", "fuse.rclone", "fuse.mfs",
})
LOCAL_FILESYSTEMS = frozenset({
    "ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "reiserfs", "vfat", "exfat", "ntfs", "ntfs3",
    "tmpfs", "ramfs", "devtmpfs", "overlay", "squashfs", "iso9660", "bcachefs",
})


def pbm_storage_path_writable(facts: NodeFacts, me: NodeIdentity) -> List[CheckResult]:
    check = "pbm_storage_path_writable"
    storage = facts.storage
    if storage is None:
        return [skipped(check, "no filesystem storage path given (--storage-path); S3 storage is checked by "
                               "pbm_storage_reachable", me.node, me.replica_set)]
    user = facts.pbm_user.name if facts.pbm_user else "pbm-agent's user"
    fix = (f"Mount the shared backup filesystem at {storage.path} on every node, owned by or writable for {user} "
           f"(sudo chown {user} {storage.path}), the same path PMM's storage location names")
    if storage.info is None or not storage.info.is_dir:
        what = "does not exist" if storage.info is None else "is not a directory"
        return [failed(check, f"the backup path {storage.path} {what}", fix, me.node, me.replica_set)]
    if storage.mount_point is None:
        return [failed(check, f"{storage.path} is not on a mounted filesystem of its own (it is on /): PBM needs the "
                              f"same shared storage on every node", fix, me.node, me.replica_set)]
    mount = storage.mount
    if mount is not None and mount.fstype in LOCAL_FILESYSTEMS:
        return [failed(check, f"{storage.path} is on a local file system ({mount.fstype} on {mount.source}, mounted "
                              f"at {mount.point}), not a network or cluster one: each node would write its own "
                              f"disk, and PBM needs the same shared storage on every node", fix, me.node,
                       me.replica_set)]
    if not _allowed(storage.info, facts.pbm_user, WRITE_DIR):
        return [failed(check, f"{storage.path} is not writable by {user}", fix, me.node, me.replica_set)]
    if storage.write_test not in (None, "ok"):
        return [failed(check, f"writing a test file in {storage.path} as {user} failed: {storage.write_test}", fix,
                       me.node, me.replica_set)]
    tested = ", a test file written and removed" if storage.write_test == "ok" else ""
    kind = ""
    if mount is not None:
        known = "" if mount.fstype in SHARED_FILESYSTEMS else ", a type not known here as shared or local"
        kind = f", {mount.fstype} from {storage_source(mount.source)}{known}"
    return [passed(check, f"{storage.path} is mounted ({storage.mount_point}{kind}) and writable by {user}{tested}",
                   me.node, me.replica_set)]


def storage_source(source: str) -> str:
    """A mount's source without a password ("user:secret@host" -> "user@host"), for reasons and labels."""
    return re.sub(r"(^|[/:@])([^/:@\s]+):[^/@\s]*@", r"\1\2@", source)


def systemd_restart_policy_safe(facts: NodeFacts, me: NodeIdentity) -> List[CheckResult]:
    check = "systemd_restart_policy_safe"
    units = [u for u in (facts.mongod_unit, facts.units.get(PBM_AGENT_UNIT)) if u is not None]
    if not units:
        return [unknown(check, "neither mongod's nor pbm-agent's systemd unit exists", me.node, me.replica_set)]
    unsafe = [f"{u.name} has Restart={u.last('Restart')}" for u in units if u.last("Restart") in UNSAFE_RESTART]
    if unsafe:
        names = " ".join(u.name[:-len(".service")] for u in units if u.last("Restart") in UNSAFE_RESTART)
        fix = f"sudo systemctl edit {names}: [Service] Restart=on-failure, then sudo systemctl daemon-reload"
        return [failed(check, f"{'; '.join(unsafe)}: PBM's physical restore stops these services, and systemd would "
                              f"restart them mid-restore", fix, me.node, me.replica_set)]
    return [passed(check, ", ".join(f"{u.name}: Restart={u.last('Restart', 'no')}" for u in units), me.node,
                   me.replica_set)]


NODE_CHECKS: Dict[str, Callable[[NodeFacts, NodeIdentity], List[CheckResult]]] = {
    "mongod_on_pmm_agent_path": mongod_on_pmm_agent_path,
    "mongod_systemd_service": mongod_systemd_service,
    "single_mongod_per_node": single_mongod_per_node,
    "pbm_installed": pbm_installed,
    "pbm_agent_service_enabled": pbm_agent_service_enabled,
    "pbm_agent_uri_configured": pbm_agent_uri_configured,
    "pbm_storage_path_writable": pbm_storage_path_writable,
    "systemd_restart_policy_safe": systemd_restart_policy_safe,
    "mongod_on_pbm_agent_path": mongod_on_pbm_agent_path,
    "dbpath_accessible_by_pbm_agent": dbpath_accessible_by_pbm_agent,
    "pbm_cli_matches_agent": pbm_cli_matches_agent,
    "containerized_node": containerized_node,
}


# What each failing node-side check blocks, for operations PMM would run through this node (percona/pmm):
# - mongod and pbm on pmm-agent's PATH: before every backup and restore pmm-managed refuses "software %q is not
#   installed" (managed/services/backup compatibility_helpers.go mongoDBBackupSoftwareInstalledAndCompatible);
# - mongod.service, pbm-agent.service and their restart policy: after a physical restore PMM runs
#   `systemctl restart mongod` and `pbm-agent` on every node (agents/jobs.go runMongoPostRestore; agent/client
#   hard-codes the unit names), and PBM's restore stops both services;
# - a filesystem storage path this node's agent cannot write: PBM may pick it for a backup or restore;
# - one mongod per node is in PMM's docs only: a warning.
NODE_BLOCKS: Dict[str, FrozenSet[str]] = {
    "mongod_on_pmm_agent_path": EVERYTHING,
    "mongod_systemd_service": frozenset({PHYSICAL_RESTORE}),
    "single_mongod_per_node": NOTHING,
    "pbm_installed": EVERYTHING,
    "pbm_agent_service_enabled": frozenset({PHYSICAL_RESTORE}),  # what the dead agent blocks: pbm_agent_running
    "pbm_agent_uri_configured": frozenset({PHYSICAL_RESTORE}),
    "pbm_storage_path_writable": EVERYTHING,
    "systemd_restart_policy_safe": frozenset({PHYSICAL_RESTORE}),
    "mongod_on_pbm_agent_path": frozenset({PHYSICAL_RESTORE}),
    "dbpath_accessible_by_pbm_agent": PHYSICAL,
    "pbm_cli_matches_agent": NOTHING,  # a warning: PBM's docs ask for it, no code refuses it
    "containerized_node": NOTHING,  # a warning: PMM refuses nothing by it, its docs just do not support it
}


def run_node_checks(facts: NodeFacts, me: NodeIdentity) -> List[CheckResult]:
    results: List[CheckResult] = []
    for name, check in NODE_CHECKS.items():
        try:
            found = check(facts, me)
        except Exception as exc:  # a node may hold anything; never crash the timer
            found = [CheckResult(name, Status.UNKNOWN, f"internal error while checking: {exc!r}", "", me.node,
                                 me.replica_set)]
        blocks = ordered(NODE_BLOCKS[name])
        results += [r._replace(blocks=blocks) if r.status in (Status.FAIL, Status.UNKNOWN) and not r.blocks else r
                    for r in found]
    return results
