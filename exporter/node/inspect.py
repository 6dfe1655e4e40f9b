"""Reading one node, read-only, under a root directory ("/" on a real node; a fake tree in tests).

It reads /etc/passwd and /etc/group, systemd units, pbm-agent's environment file, /proc (processes, their
cgroups, mounts) and stats files. The only thing it ever writes is the storage write test: a temporary file in
the backup directory, removed at once, and only when running as PBM's own user. The only programs it runs are
`pbm version` and `pbm-agent version`, which print their versions, each with a timeout and, when node-check runs
as root, as the user that runs it for real (pmm-agent's, pbm-agent's).

Like all of node-check: Python 3.6 and the standard library only.
"""

import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, List, NamedTuple, Optional, Set, Tuple

from exporter.node.config_yaml import ConfigError, Unread, load
from exporter.node.systemd import DEFAULT_PATH, UNIT_DIRS, Unit, find_unit

MONGOD_UNITS = ("mongod.service", "mongodb.service")
PBM_AGENT_UNIT = "pbm-agent.service"
PMM_AGENT_UNIT = "pmm-agent.service"


class Account(NamedTuple):
    name: str
    uid: int
    gid: int
    groups: FrozenSet[int] = frozenset()


class FileInfo(NamedTuple):
    path: str  # as seen on the node
    is_dir: bool
    mode: int
    uid: int
    gid: int


class Process(NamedTuple):
    pid: int
    name: str
    cmdline: Tuple[str, ...]
    cgroup: str


class Mount(NamedTuple):
    """The mount that holds a path: /proc/self/mountinfo's mount point, file system type and source (fields 5, and
    the first two after " - "; proc(5)), or /proc/mounts' when mountinfo cannot be read."""

    point: str
    fstype: str
    source: str


class StorageFacts(NamedTuple):
    path: str
    info: Optional[FileInfo]
    mount_point: Optional[str]  # the mount that holds it, other than "/"
    write_test: Optional[str]  # "ok", an error, or None when not attempted (not running as PBM's user)
    mount: Optional[Mount] = None  # the mount that holds it ("/" included); None when no mount table was read


class AgentURI(NamedTuple):
    """pbm-agent's MongoDB URI and where it came from: the first of --mongodb-uri on its ExecStart, PBM_MONGODB_URI
    in its environment, and (PBM 2.9+) mongodb-uri in the YAML file of -f/--config, as pbm-agent's flags, viper's
    environment binding and its config file rank them (cmd/pbm-agent/main.go setRootFlags, v2.9.0)."""

    uri: str  # with its password: never print it (repr leaves it out)
    source: str = ""  # in words, for reasons and fixes
    error: str = ""  # why the config file that should hold it could not be read

    def __repr__(self) -> str:
        return f"AgentURI(source={self.source!r}, error={self.error!r})"


class DataDir(NamedTuple):
    """mongod's dbPath: --dbpath on its command line, else storage.dbPath in its config file, else mongod's own
    default /data/db."""

    path: str
    source: str
    info: Optional[FileInfo] = None
    error: str = ""  # why the config file could not be read


# What says a process runs in a container: the runtime's marker files, and its cgroup path
CONTAINER_FILES = ("/.dockerenv", "/run/.containerenv")
CONTAINER_CGROUPS = ("docker", "kubepods", "containerd", "libpod", "lxc")


class NodeFacts(NamedTuple):
    units: Dict[str, Optional[Unit]]
    pmm_agent_user_name: str
    pmm_agent_user: Optional[Account]
    pmm_agent_path: str
    lookups: Dict[str, Optional[FileInfo]]  # binary -> the first match on pmm-agent's PATH
    processes: Tuple[Process, ...]
    mongod_port: int
    replica_set: str
    pbm_user: Optional[Account] = None
    storage: Optional[StorageFacts] = None
    local_names: FrozenSet[str] = frozenset()
    pbm_agent_uri: AgentURI = AgentURI("")
    mongod_name_resolves: bool = True  # `systemctl restart mongod` finds a unit: mongod.service, or an alias of it
    pbm_agent_path: str = DEFAULT_PATH
    pbm_agent_mongod: Optional[FileInfo] = None  # mongod, first on pbm-agent's PATH
    data_dir: Optional[DataDir] = None
    container: Tuple[str, ...] = ()  # what says mongod runs in a container
    # binary -> (its path, its version or "", why it could not be told): pbm on pmm-agent's PATH, and pbm-agent
    # as its unit starts it
    versions: Optional[Dict[str, Tuple[str, str, str]]] = None

    def __repr__(self) -> str:
        return f"NodeFacts(pmm_agent_user={self.pmm_agent_user_name!r}, mongod_port={self.mongod_port})"

    @property
    def mongod_unit(self) -> Optional[Unit]:
        units = (self.units.get(name) for name in MONGOD_UNITS)
        return next((u for u in units if u is not None), None)


def _accounts(root: Path) -> Tuple[Dict[str, Account], Dict[int, Set[str]]]:
    groups: Dict[int, Set[str]] = {}
    group_file = root / "etc/group"
    if group_file.is_file():
        for line in group_file.read_text(errors="replace").splitlines():
            parts = line.split(":")
            if len(parts) >= 4 and parts[2].isdigit():
                groups[int(parts[2])] = {m for m in parts[3].split(",") if m}
    accounts = {}
    passwd = root / "etc/passwd"
    if passwd.is_file():
        for line in passwd.read_text(errors="replace").splitlines():
            parts = line.split(":")
            if len(parts) >= 4 and parts[2].isdigit() and parts[3].isdigit():
                name, uid, gid = parts[0], int(parts[2]), int(parts[3])
                member_of = frozenset({gid} | {g for g, members in groups.items() if name in members})
                accounts[name] = Account(name, uid, gid, member_of)
    return accounts, groups


def _info(root: Path, path: str) -> Optional[FileInfo]:
    try:
        st = (root / path.lstrip("/")).stat()
    except OSError:
        return None
    return FileInfo(path, os.path.isdir(root / path.lstrip("/")), st.st_mode, st.st_uid, st.st_gid)


def _which(root: Path, path: str, binary: str) -> Optional[FileInfo]:
    """The first file named `binary` in the directories of `path`, as exec's PATH lookup finds it."""
    found = (_info(root, f"{d.rstrip('/')}/{binary}") for d in path.split(":") if d)
    return next((info for info in found if info is not None and not info.is_dir), None)


def _processes(root: Path) -> Tuple[Process, ...]:
    out = []
    proc = root / "proc"
    for entry in proc.iterdir() if proc.is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            cmdline = tuple(a for a in (entry / "cmdline").read_bytes().decode(errors="replace").split("\0") if a)
            name = (entry / "comm").read_text(errors="replace").strip() if (entry / "comm").exists() else ""
            cgroup = (entry / "cgroup").read_text(errors="replace") if (entry / "cgroup").exists() else ""
        except OSError:
            continue  # the process ended while we read it
        out.append(Process(int(entry.name), name or (Path(cmdline[0]).name if cmdline else ""), cmdline, cgroup))
    return tuple(sorted(out, key=lambda p: p.pid))


def _option(cmdline: Tuple[str, ...], *names: str) -> Optional[str]:
    for i, arg in enumerate(cmdline):
        for name in names:
            if arg == name and i + 1 < len(cmdline):
                return cmdline[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def _mongod_settings(root: Path, processes: Tuple[Process, ...]) -> Tuple[int, str, DataDir]:
    """Port, replica set name and dbPath of the node's mongod: its command line, else its YAML config file."""
    mongod = next((p for p in processes if p.name == "mongod"), None)
    cmdline = mongod.cmdline if mongod else ()
    config_path = _option(cmdline, "--config", "-f") or "/etc/mongod.conf"
    conf: Dict[str, Any] = {}
    error = ""
    if (root / config_path.lstrip("/")).exists():
        loaded, error = _read_yaml(root, config_path)
        conf = loaded or {}
    port = _setting(conf, "net", "port")
    port_text = _option(cmdline, "--port") or (str(port) if isinstance(port, int) else "27017")
    named = _setting(conf, "replication", "replSetName")
    replica_set = _option(cmdline, "--replSet") or (str(named) if isinstance(named, (str, int)) else "")
    dbpath = _option(cmdline, "--dbpath")
    stored = _setting(conf, "storage", "dbPath")
    if dbpath:
        data_dir = DataDir(dbpath, "--dbpath on mongod's command line")
    elif error:
        data_dir = DataDir("", config_path, error=error)
    elif isinstance(stored, Unread):
        data_dir = DataDir("", config_path, error=f"{config_path} line {stored.line}: storage.dbPath is written in "
                                                  f"YAML node-check does not read (a flow, block or anchored value)")
    elif isinstance(stored, str) and stored:
        data_dir = DataDir(stored, f"storage.dbPath in {config_path}")
    else:
        data_dir = DataDir("/data/db", "mongod's default (no storage.dbPath in its config)")
    if data_dir.path:
        data_dir = DataDir(data_dir.path, data_dir.source, _info(root, data_dir.path))
    return (int(port_text) if port_text.isdigit() else 27017), replica_set, data_dir


def _setting(conf: Dict[str, Any], section: str, key: str) -> Any:
    """conf[section][key] when both are mappings; the Unread value when the section or key is one; else ""."""
    part = conf.get(section)
    if isinstance(part, Unread):
        return part
    value = part.get(key, "") if isinstance(part, dict) else ""
    return "" if value is None else value


VERSION_TIMEOUT = 5.0  # seconds, as pmm-agent's own versioner gives `pbm version` (agent/versioner)


def _as(account: Optional[Account]) -> Optional[Callable[[], None]]:
    """What the child runs before exec to become `account` (its groups, then its group, then its user); None
    when there is nobody else to become (not root, or the account is root's or unknown)."""
    if account is None or account.uid == 0 or os.geteuid() != 0:
        return None

    def become() -> None:
        os.setgroups(sorted(account.groups))
        os.setgid(account.gid)
        os.setuid(account.uid)
    return become


def _version(root: Path, path: str, run_path: str, account: Optional[Account]) -> Tuple[str, str, str]:
    """(path, version, problem) of `<path> version`, run as `account` when node-check is root: PBM prints
    "Version:   2.7.0" first, pbm-agent to stderr from 2.9.0 (cmd/pbm/main.go, cmd/pbm-agent/main.go)."""
    become = _as(account)
    who = f" as {account.name}" if become is not None and account is not None else ""
    try:
        done = subprocess.run([str(root / path.lstrip("/")), "version"], stdin=subprocess.DEVNULL,  # noqa: UP022
                              # stdout and stderr, not capture_output, which is Python 3.7's
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=VERSION_TIMEOUT,
                              env={"PATH": run_path}, preexec_fn=become, check=False, cwd="/")
    except subprocess.TimeoutExpired:
        return path, "", f"`{path} version` did not answer within {VERSION_TIMEOUT:g} s{who}"
    except (OSError, subprocess.SubprocessError) as exc:  # SubprocessError: the switch of user failed
        return path, "", f"cannot run `{path} version`{who}: {getattr(exc, 'strerror', None) or exc}"
    output = (done.stdout + done.stderr)[:65536].decode(errors="replace")
    match = re.search(r"^Version:\s*v?(\S+)", output, re.MULTILINE)
    if match is None:
        return path, "", f"`{path} version`{who} printed no version (exit {done.returncode})"
    return path, match.group(1), ""


def _versions(root: Path, pmm_path: str, pbm: Optional[FileInfo], pmm_user: Optional[Account],
              pbm_unit: Optional[Unit], pbm_user: Optional[Account], as_users: bool
              ) -> Dict[str, Tuple[str, str, str]]:
    """pbm as PMM runs it (pmm-agent's user and PATH), pbm-agent as its unit starts it (its user)."""
    out = {}
    if pbm is not None:
        out["pbm"] = _version(root, pbm.path, pmm_path, pmm_user if as_users else None)
    start = pbm_unit.exec_start() if pbm_unit else ()
    if start and start[0].startswith("/"):
        out["pbm-agent"] = _version(root, start[0], DEFAULT_PATH, pbm_user if as_users else None)
    return out


def _container(root: Path, processes: Tuple[Process, ...]) -> Tuple[str, ...]:
    found = [f"{name} exists" for name in CONTAINER_FILES if (root / name.lstrip("/")).exists()]
    for process in processes:
        if process.name == "mongod" and any(word in process.cgroup for word in CONTAINER_CGROUPS):
            found.append(f"mongod (pid {process.pid}) has the cgroup {process.cgroup.strip().splitlines()[-1]}")
    return tuple(found)


MAX_CONFIG_BYTES = 1024 * 1024


def _read_yaml(root: Path, path: str) -> Tuple[Optional[Dict[str, Any]], str]:
    """A YAML mapping from a small text file, or None and why not (never the file's content)."""
    file = root / path.lstrip("/")
    try:
        if file.stat().st_size > MAX_CONFIG_BYTES:
            return None, f"{path} is larger than {MAX_CONFIG_BYTES // 1024} KiB"
        data = file.read_bytes()
    except OSError as exc:
        return None, f"cannot read {path}: {exc.strerror or exc}"
    if b"\0" in data:
        return None, f"{path} is not a text file"
    try:
        loaded = load(data.decode(errors="replace"))
    except ConfigError as exc:
        return None, f"{path} is not YAML node-check can read ({exc})"
    except RecursionError:
        return None, f"{path} nests too deep"
    return (loaded, "") if isinstance(loaded, dict) else (None, f"{path} is not a YAML mapping")


def _pbm_agent_uri(root: Path, unit: Optional[Unit], env: Dict[str, str]) -> AgentURI:
    """`env`: the unit's environment (Environment=, EnvironmentFile=), read once by inspect_node."""
    if unit is None:
        return AgentURI("", "", "")
    args = unit.exec_start()
    flag = _option(args, "--mongodb-uri")
    if flag:
        return AgentURI(flag, f"--mongodb-uri on the ExecStart of {unit.name}")
    if env.get("PBM_MONGODB_URI"):
        return AgentURI(env["PBM_MONGODB_URI"], f"PBM_MONGODB_URI in the environment of {unit.name}")
    config = _option(args, "--config", "-f")
    if config:
        loaded, error = _read_yaml(root, config)
        source = f"{config} (-f on the ExecStart of {unit.name})"
        if loaded is None:
            return AgentURI("", source, error)
        uri = loaded.get("mongodb-uri")
        if isinstance(uri, Unread):
            return AgentURI("", source, f"{config} line {uri.line}: mongodb-uri is written in YAML node-check does "
                                        f"not read (a flow, block or anchored value)")
        return AgentURI(uri if isinstance(uri, str) else "", f"mongodb-uri in {source}")
    return AgentURI("", "", "")


def _unescape(field: str) -> str:
    """Mount tables write space, tab, newline and backslash as octal escapes (\\040 ...)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mounts(root: Path) -> Optional[List[Tuple[str, str, str]]]:
    """[(mount point, fstype, source)] in mount order, from /proc/self/mountinfo, else /proc/mounts; None when
    neither can be read. A malformed line is skipped."""
    table: List[Tuple[str, str, str]] = []
    try:
        for line in (root / "proc/self/mountinfo").read_text(errors="replace").splitlines():
            fields = line.split()
            if " - " not in line or len(fields) < 5:
                continue
            after = line.split(" - ", 1)[1].split()
            if len(after) >= 2:
                table.append((_unescape(fields[4]), after[0], _unescape(after[1])))
        return table
    except OSError:
        pass
    try:
        for line in (root / "proc/mounts").read_text(errors="replace").splitlines():
            fields = line.split()
            if len(fields) >= 3:
                table.append((_unescape(fields[1]), fields[2], _unescape(fields[0])))
        return table
    except OSError:
        return None


def _mount_of(root: Path, path: str) -> Optional[Mount]:
    """The mount holding `path`: the longest mount point that is the path or one of its parents, the last one
    mounted there when several are (it hides the others)."""
    table = _mounts(root)
    if table is None:
        return None
    best: Optional[Mount] = None
    target = "/" + path.strip("/")
    for point, fstype, source in table:
        holds = target == point or target.startswith(point.rstrip("/") + "/")
        if holds and (best is None or len(point) >= len(best.point)):
            best = Mount(point, fstype, source)
    return best


def _write_test(directory: Path, pbm_user: Optional[Account]) -> Optional[str]:
    if pbm_user is None or os.geteuid() != pbm_user.uid:
        return None  # only a test as PBM's own user proves anything; root can write anywhere
    try:
        with tempfile.NamedTemporaryFile(dir=str(directory), prefix=".pmm-backup-prereq-", delete=True):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return "ok"


def inspect_node(root: str = "/", storage_path: Optional[str] = None, pmm_agent_user: Optional[str] = None,
                 hostnames: Tuple[str, ...] = (), as_users: Optional[bool] = None) -> NodeFacts:
    """as_users: run `pbm version` as pmm-agent's user and `pbm-agent version` as pbm-agent's, when node-check
    runs as root (default: on the real node, root "/", where those users own what they run)."""
    base = Path(root)
    accounts, _ = _accounts(base)
    units = {name: find_unit(base, name) for name in (*MONGOD_UNITS, PBM_AGENT_UNIT, PMM_AGENT_UNIT)}
    pmm_unit = units[PMM_AGENT_UNIT]
    user_name = pmm_agent_user or (pmm_unit.last("User") if pmm_unit else "") or "pmm-agent"
    path = (pmm_unit.environment(base).get("PATH") if pmm_unit else None) or DEFAULT_PATH
    lookups = {binary: _which(base, path, binary) for binary in ("mongod", "pbm", "pbm-agent")}
    processes = _processes(base)
    port, replica_set, data_dir = _mongod_settings(base, processes)
    pbm_unit = units[PBM_AGENT_UNIT]
    pbm_env = pbm_unit.environment(base) if pbm_unit else {}  # holds PBM_MONGODB_URI, with its password
    pbm_path = pbm_env.get("PATH") or DEFAULT_PATH
    pbm_mongod = _which(base, pbm_path, "mongod")
    pbm_user = accounts.get((pbm_unit.last("User") if pbm_unit else "") or "mongod")
    storage = None
    if storage_path:
        info = _info(base, storage_path)
        write = _write_test(base / storage_path.lstrip("/"), pbm_user) if info and info.is_dir else None
        mount = _mount_of(base, storage_path)
        storage = StorageFacts(storage_path, info, mount.point if mount and mount.point != "/" else None, write,
                               mount)
    pmm_user = accounts.get(user_name)
    return NodeFacts(units, user_name, pmm_user, path, lookups, processes, port, replica_set, pbm_user, storage,
                     frozenset(h.lower() for h in hostnames), _pbm_agent_uri(base, pbm_unit, pbm_env),
                     any(os.path.lexists(str(base / d / "mongod.service")) for d in UNIT_DIRS), pbm_path, pbm_mongod,
                     data_dir, _container(base, processes),
                     _versions(base, path, lookups["pbm"], pmm_user, pbm_unit, pbm_user,
                               root == "/" if as_users is None else as_users))
