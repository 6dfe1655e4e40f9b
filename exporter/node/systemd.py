"""Reading systemd units the way systemd does, enough for our questions (read-only, from a root directory).

Unit search order (systemd.unit(5)): /etc/systemd/system, /run/systemd/system, /usr/lib/systemd/system,
/lib/systemd/system; drop-ins in <dir>/<unit>.d/*.conf override the unit, later files winning; a unit is enabled
when a *.wants/ or *.requires/ directory under /etc/systemd/system links to it.

Like all of node-check: Python 3.6 and the standard library only.
"""

import os
import shlex
from pathlib import Path
from typing import Dict, List, Optional, Tuple

UNIT_DIRS = ("etc/systemd/system", "run/systemd/system", "usr/lib/systemd/system", "lib/systemd/system")
# systemd's default PATH for services (systemd.exec(5), "Environment variables in spawned processes")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def strip_prefix(text: str, prefix: str) -> str:
    """str.removeprefix, which Python 3.9 brought."""
    return text[len(prefix):] if text.startswith(prefix) else text


class Unit:
    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path  # the unit file, as seen on the node (without the root prefix)
        self.service: Dict[str, List[str]] = {}  # [Service] key -> values in order
        self.enabled = False

    def last(self, key: str, default: str = "") -> str:
        values = self.service.get(key)
        return values[-1] if values else default

    def exec_start(self) -> Tuple[str, ...]:
        """The last ExecStart= as arguments, without systemd's prefixes (-@:+!); () when it does not split."""
        try:
            return tuple(shlex.split(self.last("ExecStart").lstrip("-@:+!")))
        except ValueError:  # unbalanced quotes
            return ()

    def environment(self, root: Path) -> Dict[str, str]:
        """Environment= and EnvironmentFile= (missing '-' files ignored), later settings winning."""
        env: Dict[str, str] = {}
        for item in self.service.get("EnvironmentFile", []):
            file = root / strip_prefix(item, "-").lstrip("/")
            if file.is_file():
                env.update(parse_env_file(file.read_text(errors="replace")))
        for item in self.service.get("Environment", []):
            for assignment in shlex.split(item):
                key, sep, value = assignment.partition("=")
                if sep:
                    env[key] = value
        return env


def parse_env_file(text: str) -> Dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile reads them: # comments, optional quotes."""
    env: Dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env[strip_prefix(key.strip(), "export ").strip()] = value
    return env


def _parse(text: str, into: Dict[str, List[str]]) -> None:
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section != "Service":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if value == "" and key in ("Environment", "EnvironmentFile", "ExecStart"):
            into[key] = []  # an empty assignment resets the list
        else:
            into.setdefault(key, []).append(value)


def find_unit(root: Path, name: str) -> Optional[Unit]:
    for directory in UNIT_DIRS:
        path = root / directory / name
        if path.is_file():
            unit = Unit(name, "/" + str(Path(directory) / name))
            _parse(path.read_text(errors="replace"), unit.service)
            for drop_dir in UNIT_DIRS[::-1]:  # /etc drop-ins are applied last, so they win
                drop_ins = root / drop_dir / f"{name}.d"
                if drop_ins.is_dir():
                    for conf in sorted(drop_ins.glob("*.conf")):
                        _parse(conf.read_text(errors="replace"), unit.service)
            wants = root / "etc/systemd/system"
            # the links point into the node's own /usr/lib: seen from a root directory they may dangle, so test
            # the link itself
            unit.enabled = wants.is_dir() and any(
                os.path.lexists(d / name) for d in wants.iterdir() if d.name.endswith((".wants", ".requires")))
            return unit
    return None
