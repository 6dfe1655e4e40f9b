"""node-check's .deb and .rpm, as tools/build_packages.py builds them (once per session): lintian and rpmlint find
nothing, each holds the files a MongoDB host needs with the modes, owners and conffile it needs, the maintainer
scripts call systemctl only when and as they should (against a fake systemctl, in a mount namespace where systemd is
or is not running), the .deb installs into a throwaway root and removes and purges without a trace, the .rpm's
payload unpacks to the same files, and one commit builds the same bytes."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from exporter import __version__

ROOT = Path(__file__).resolve().parent.parent
NAME = "pmm-backup-prereq-node-check"
UNITS = ROOT / "deploy" / "systemd"
PACKAGING = ROOT / "packaging"
EPOCH = 1764633600  # 2025-12-02T00:00:00Z, the SOURCE_DATE_EPOCH of these builds
SHEBANG = b"#!/usr/bin/python3 -IS\n"
# The Debian package each tool comes from; make test installs those marked True (make system-deps)
TOOLS = {
    "dpkg-deb": ("dpkg", True), "dpkg": ("dpkg", True), "lintian": ("lintian", True), "rpmbuild": ("rpm", True),
    "rpm": ("rpm", True), "rpm2cpio": ("rpm", True), "rpmlint": ("rpmlint", True), "cpio": ("cpio", True),
    "systemd-analyze": ("systemd", False), "unshare": ("util-linux", False), "perl": ("perl", False),
}

SERVICE = f"/usr/lib/systemd/system/{NAME}.service"
TIMER = f"/usr/lib/systemd/system/{NAME}.timer"
# What a host gets, besides directories: path -> (mode as ls shows it, the repository file it is)
SHARED_FILES = {
    f"/usr/bin/{NAME}": "-rwxr-xr-x",
    SERVICE: "-rw-r--r--",
    TIMER: "-rw-r--r--",
    f"/usr/share/man/man1/{NAME}.1.gz": "-rw-r--r--",
}
DEB_FILES = {
    **SHARED_FILES,
    f"/etc/default/{NAME}": "-rw-r--r--",
    f"/usr/share/doc/{NAME}/copyright": "-rw-r--r--",
    f"/usr/share/doc/{NAME}/changelog.gz": "-rw-r--r--",
    f"/usr/share/lintian/overrides/{NAME}": "-rw-r--r--",
}
RPM_FILES = {**SHARED_FILES, f"/etc/sysconfig/{NAME}": "-rw-r--r--"}


def need(tool: str) -> str:
    path = shutil.which(tool)
    package, make_test_installs = TOOLS[tool]
    assert path, f"{tool} is missing: install Debian's {package} package" + (
        " (make test does)" if make_test_installs else "")
    return path


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command that must succeed; its output in the failure message."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f"{command[0]} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done


@dataclass(frozen=True)
class Packages:
    deb: Path
    rpm: Path


def build(dist: Path, umask: int = 0o022) -> Packages:
    """Run tools/build_packages.py as make packages does, with SOURCE_DATE_EPOCH set."""
    need("dpkg-deb")
    need("rpmbuild")
    done = run([sys.executable, str(ROOT / "tools" / "build_packages.py"), str(dist)], umask=umask,
               env={**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH)})
    deb, rpm = (Path(line) for line in done.stdout.split())
    assert deb == dist / f"{NAME}_{__version__}_all.deb"
    assert rpm == dist / f"{NAME}-{__version__}-1.noarch.rpm"
    return Packages(deb, rpm)


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Packages:
    return build(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def deb_tree(packages: Packages, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .deb's files (dpkg-deb -x) and its control members in DEBIAN/ (dpkg-deb -e)."""
    tree = tmp_path_factory.mktemp("deb")
    run([need("dpkg-deb"), "-x", str(packages.deb), str(tree)])
    run([need("dpkg-deb"), "-e", str(packages.deb), str(tree / "DEBIAN")])
    return tree


@pytest.fixture(scope="module")
def rpm_tree(packages: Packages, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .rpm's payload, as rpm2cpio | cpio -idm unpacks it."""
    tree = tmp_path_factory.mktemp("rpm")
    rpm2cpio = subprocess.Popen([need("rpm2cpio"), str(packages.rpm)], stdout=subprocess.PIPE)
    run([need("cpio"), "-idm", "--quiet"], stdin=rpm2cpio.stdout, cwd=tree)
    assert rpm2cpio.wait(timeout=60) == 0
    return tree


def test_lintian_finds_nothing_but_the_one_override(packages: Packages) -> None:
    done = subprocess.run([need("lintian"), "--display-info", "--show-overrides", str(packages.deb)],
                          capture_output=True, text=True, timeout=300)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [line for line in lines if line.startswith(("E:", "W:"))], done.stdout
    # the one override (shipped in /usr/share/lintian/overrides, with why): prerm's systemctl disable, and no other
    prerm = (PACKAGING / "debian" / "prerm").read_text().splitlines()
    calls = [number for number, line in enumerate(prerm, 1) if re.match(r"\s*systemctl\b", line)]
    assert len(calls) == 1
    overridden = [line.split(": ", 2)[2] for line in lines if line.startswith("O:")]
    assert overridden == [f"maintainer-script-calls-systemctl [prerm:{calls[0]}]"], done.stdout


def test_rpmlint_finds_nothing_past_its_filters_and_each_filter_is_needed(packages: Packages) -> None:
    rpmlint, rpmlintrc = need("rpmlint"), PACKAGING / "rpm" / "rpmlintrc"
    done = subprocess.run([rpmlint, "-r", str(rpmlintrc), str(packages.rpm)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 packages and 0 specfiles checked; 0 errors, 0 warnings" in done.stdout, done.stdout
    # the exact allowed set: every filter matches a finding of the unfiltered run (none is stale), and nothing else
    raw = subprocess.run([rpmlint, str(packages.rpm)], capture_output=True, text=True, timeout=300).stdout
    findings = [line for line in raw.splitlines() if re.match(rf"{NAME}\.noarch: [EW]: ", line)]
    filters = re.findall(r'^addFilter\(r"(.+)"\)$', rpmlintrc.read_text(), re.MULTILINE)
    assert filters
    for pattern in filters:
        assert [line for line in findings if re.search(pattern, line)], f"{pattern} filters nothing: remove it\n{raw}"
    assert [line for line in findings if not any(re.search(p, line) for p in filters)] == []
    # the manual page the rpmlint 2.4 bug does not see is there
    assert f"/usr/share/man/man1/{NAME}.1.gz" in run([need("rpm"), "-qlp", str(packages.rpm)]).stdout.split()


def test_deb_files_modes_owners_and_times(packages: Packages) -> None:
    listing = run([need("dpkg-deb"), "-c", str(packages.deb)], env={**os.environ, "TZ": "UTC"}).stdout
    stamp = datetime.fromtimestamp(EPOCH, UTC).strftime("%Y-%m-%d %H:%M")
    files, directories = {}, set()
    for line in listing.splitlines():
        mode, owner, _size, date, time, path = line.split(maxsplit=5)
        assert owner == "root/root" and f"{date} {time}" == stamp, line
        if mode.startswith("d"):
            assert mode == "drwxr-xr-x", line
            directories.add(path.removeprefix(".").rstrip("/") or "/")
        else:
            files[path.removeprefix(".")] = mode
    assert files == DEB_FILES
    assert {str(Path(path).parent) for path in files} <= directories


def test_deb_metadata_and_conffile(packages: Packages, deb_tree: Path) -> None:
    fields = dict(re.findall(r"^(\S+): (.*)$", run([need("dpkg-deb"), "-f", str(packages.deb)]).stdout, re.MULTILINE))
    assert fields["Package"] == NAME and fields["Version"] == __version__ and fields["Architecture"] == "all"
    assert fields["Depends"] == "python3 (>= 3.6)"
    assert fields["Section"] == "admin" and fields["Priority"] == "optional" and "@" in fields["Maintainer"]
    assert int(fields["Installed-Size"]) >= (deb_tree / f"usr/bin/{NAME}").stat().st_size // 1024
    control = deb_tree / "DEBIAN"
    assert (control / "conffiles").read_text() == f"/etc/default/{NAME}\n"
    assert sorted(p.name for p in control.iterdir()) == ["conffiles", "control", "md5sums", "postinst", "postrm",
                                                        "prerm"]
    for script in ("postinst", "prerm", "postrm"):
        text = (control / script).read_text()
        assert text == (PACKAGING / "debian" / script).read_text() and text.startswith("#!/bin/sh\n")
        assert "#DEBHELPER#" not in text and (control / script).stat().st_mode & 0o777 == 0o755
        run(["sh", "-n", str(control / script)])
    # md5sums covers every file, right (dpkg --verify reads it)
    sums = {}
    for line in (control / "md5sums").read_text().splitlines():
        digest, path = line.split("  ", 1)
        sums["/" + path] = digest
    assert sums == {path: hashlib.md5((deb_tree / path.lstrip("/")).read_bytes()).hexdigest() for path in DEB_FILES}


def test_deb_file_contents(deb_tree: Path) -> None:
    binary = (deb_tree / f"usr/bin/{NAME}").read_bytes()
    assert binary.startswith(SHEBANG)  # not rewritten: the host's python3, isolated, without site-packages
    assert zipfile.is_zipfile(deb_tree / f"usr/bin/{NAME}")
    assert "__main__.py" in zipfile.ZipFile(deb_tree / f"usr/bin/{NAME}").namelist()
    for path, source in ((SERVICE, UNITS / f"{NAME}.service"), (TIMER, UNITS / f"{NAME}.timer"),
                         (f"/etc/default/{NAME}", UNITS / f"{NAME}.env"),
                         (f"/usr/share/doc/{NAME}/copyright", PACKAGING / "debian" / "copyright"),
                         (f"/usr/share/lintian/overrides/{NAME}", PACKAGING / "debian" / "lintian-overrides")):
        assert (deb_tree / path.lstrip("/")).read_bytes() == source.read_bytes(), path
    copyright_text = (deb_tree / f"usr/share/doc/{NAME}/copyright").read_text()
    assert copyright_text.startswith("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")
    assert "\nLicense: Apache-2.0\n" in copyright_text and "/usr/share/common-licenses/Apache-2.0" in copyright_text
    for path, source in ((f"usr/share/doc/{NAME}/changelog.gz", PACKAGING / "debian" / "changelog"),
                         (f"usr/share/man/man1/{NAME}.1.gz", PACKAGING / "man" / f"{NAME}.1")):
        data = (deb_tree / path).read_bytes()
        # gzip -9n: no file name (flag 0x08), no time stamp, best compression (XFL 2)
        assert data[3] & 0x08 == 0 and data[4:8] == b"\0\0\0\0" and data[8] == 2, path
        assert gzip.decompress(data) == source.read_bytes(), path
    changelog = gzip.decompress((deb_tree / f"usr/share/doc/{NAME}/changelog.gz").read_bytes()).decode()
    assert changelog.startswith(f"{NAME} ({__version__}) ")


def test_rpm_files_modes_owners_and_config(packages: Packages) -> None:
    rpm = need("rpm")
    files = {}
    for line in run([rpm, "-qlpv", str(packages.rpm)]).stdout.splitlines():
        fields = line.split()
        mode, owner, group, path = fields[0], fields[2], fields[3], fields[-1]
        assert (owner, group) == ("root", "root"), line
        files[path] = mode
    assert files == RPM_FILES
    query = "[%{FILENAMES} %{FILEFLAGS:fflags} %{FILEMTIMES}\n]"
    flags = {path: (flag, int(mtime)) for path, flag, mtime in
             (line.split(" ") for line in run([rpm, "-qp", "--queryformat", query, str(packages.rpm)]).stdout
              .splitlines())}
    assert {mtime for _flag, mtime in flags.values()} == {EPOCH}
    assert flags[f"/etc/sysconfig/{NAME}"][0] == "cn"  # %config(noreplace): an upgrade keeps the admin's CLUSTER
    assert flags[f"/usr/share/man/man1/{NAME}.1.gz"][0] == "d"  # documentation (--excludedocs leaves it out)
    assert {flag for path, (flag, _mtime) in flags.items() if path not in
            (f"/etc/sysconfig/{NAME}", f"/usr/share/man/man1/{NAME}.1.gz")} == {""}
    assert run([rpm, "-qpc", str(packages.rpm)]).stdout.split() == [f"/etc/sysconfig/{NAME}"]


def test_rpm_metadata_and_requires(packages: Packages) -> None:
    rpm = need("rpm")
    info = run([rpm, "-qp", "--info", str(packages.rpm)]).stdout
    fields = dict(re.findall(r"^(\w[\w ]*?)\s*: (.*)$", info, re.MULTILINE))
    assert (fields["Name"], fields["Version"], fields["Release"], fields["Architecture"]) == (
        NAME, __version__, "1", "noarch")
    assert fields["License"] == "Apache-2.0" and "@" in fields["Packager"]
    assert fields["Build Date"].endswith(datetime.fromtimestamp(EPOCH, UTC).strftime("%Y"))
    requires = run([rpm, "-qp", "--requires", str(packages.rpm)]).stdout.splitlines()
    # python3 >= 3.6 (RHEL 8's python36 provides python3), /bin/sh for the scriptlets; nothing taken from the
    # zipapp's shebang (/usr/bin/python3), which RHEL 8 provides only through alternatives
    assert {r for r in requires if not r.startswith("rpmlib(")} == {"python3 >= 3.6", "/bin/sh"}
    provides = run([rpm, "-qp", "--provides", str(packages.rpm)]).stdout.split("\n")
    assert provides[0] == f"{NAME} = {__version__}-1"


def test_rpm_payload_is_the_debs_files(deb_tree: Path, rpm_tree: Path) -> None:
    for path in SHARED_FILES:
        target = rpm_tree / path.lstrip("/")
        assert target.read_bytes() == (deb_tree / path.lstrip("/")).read_bytes(), path
        assert oct(target.stat().st_mode & 0o777) == oct(0o755 if path.startswith("/usr/bin/") else 0o644), path
    assert (rpm_tree / f"etc/sysconfig/{NAME}").read_bytes() == (UNITS / f"{NAME}.env").read_bytes()
    assert (rpm_tree / f"usr/bin/{NAME}").read_bytes().startswith(SHEBANG)  # rpmbuild rewrote no shebang
    assert sorted(str(p.relative_to(rpm_tree)) for p in rpm_tree.rglob("*") if not p.is_dir()) == sorted(
        p.lstrip("/") for p in RPM_FILES)


def verify_units(root: Path) -> None:
    """systemd-analyze verify accepts the unit files as installed under root (ExecStart's /bin/sh is the host's)."""
    done = subprocess.run([need("systemd-analyze"), "verify", str(root / TIMER.lstrip("/")),
                           str(root / SERVICE.lstrip("/"))], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and NAME not in done.stderr, done.stderr


def runs(binary: Path, scratch: Path) -> None:
    """The installed file runs --help and --version with the host's python3, isolated (-I -S), and through its
    shebang with a PYTHONPATH whose exporter package would break it if it were imported."""
    done = run(["/usr/bin/python3", "-I", "-S", str(binary), "--help"])
    assert "--cluster" in done.stdout
    poison = scratch / "poison" / "exporter"
    poison.mkdir(parents=True, exist_ok=True)
    (poison / "__init__.py").write_text("raise SystemExit('imported from PYTHONPATH')\n")
    done = run([str(binary), "--version"], env={**os.environ, "PYTHONPATH": str(poison.parent)})
    assert __version__ in done.stdout


def test_rpm_payload_units_verify_and_binary_runs(rpm_tree: Path, tmp_path: Path) -> None:
    verify_units(rpm_tree)
    runs(rpm_tree / f"usr/bin/{NAME}", tmp_path)


def fake_systemctl(directory: Path, exit_code: int = 0) -> Path:
    """A systemctl that records its arguments, one call a line, in directory/systemctl.log."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "systemctl.log"
    (directory / "systemctl").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexit {exit_code}\n')
    (directory / "systemctl").chmod(0o755)
    return log


def test_deb_installs_into_a_root_and_removes_and_purges_without_a_trace(packages: Packages, tmp_path: Path) -> None:
    dpkg = need("dpkg")
    root = tmp_path / "root"
    admin = root / "var/lib/dpkg"
    for directory in ("info", "updates", "triggers"):
        (admin / directory).mkdir(parents=True)
    (admin / "status").touch()
    log = fake_systemctl(tmp_path / "bin")
    # dpkg runs the maintainer scripts outside the root, with DPKG_ROOT set: they must leave this host's systemd be
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    options = [dpkg, f"--root={root}", "--force-script-chrootless", "--force-not-root", "--force-depends",
               "--log=/dev/null"]

    def status() -> str:
        return run([*options, "--status", NAME], env=env).stdout

    run([*options, "--install", str(packages.deb)], env=env)
    assert "Status: install ok installed" in status()
    assert f"Conffiles:\n /etc/default/{NAME} " in status()
    listed = set(run([*options, "--listfiles", NAME], env=env).stdout.split())
    assert set(DEB_FILES) <= listed
    for path, mode in DEB_FILES.items():
        installed = root / path.lstrip("/")
        assert installed.is_file() and installed.stat().st_mode & 0o777 == (0o755 if "x" in mode else 0o644), path
    verify_units(root)
    exec_start = re.search(r"^ExecStart=/bin/sh -c 'exec (/\S+) ", (root / SERVICE.lstrip("/")).read_text(),
                           re.MULTILINE)
    assert exec_start and exec_start.group(1) == f"/usr/bin/{NAME}"  # the service runs the file the package holds
    runs(root / f"usr/bin/{NAME}", tmp_path)
    # the admin's settings survive a reinstall (an upgrade to the same conffile)
    env_file = root / f"etc/default/{NAME}"
    env_file.write_text(env_file.read_text().replace("\nCLUSTER=\n", "\nCLUSTER=prod-rs\n"))
    run([*options, "--install", str(packages.deb)], env=env)
    assert "\nCLUSTER=prod-rs\n" in env_file.read_text()
    # remove keeps the conffile only; purge leaves nothing but dpkg's own database
    run([*options, "--remove", NAME], env=env)
    assert "Status: deinstall ok config-files" in status()
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_relative_to(admin))
    assert left == ["etc", "etc/default", f"etc/default/{NAME}", "var", "var/lib"]
    run([*options, "--purge", NAME], env=env)
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_relative_to(admin))
    assert left == ["var", "var/lib"]
    assert not (admin / "info" / f"{NAME}.list").exists()
    assert not log.exists()  # no systemctl call reached this host


# The maintainer scripts in a mount namespace: a tmpfs on /run, with or without /run/systemd/system (systemd running
# or not), and one on /usr/sbin, with or without a policy-rc.d exiting as given (deb-systemd-invoke asks it)
NAMESPACE = r"""set -e
running=$1 policy=$2
shift 2
tools=/usr/bin:/bin  # the namespace's own; the script gets the PATH given
PATH=$tools mount -t tmpfs tmpfs /run
[ "$running" = no ] || PATH=$tools mkdir -p /run/systemd/system
PATH=$tools mount -t tmpfs tmpfs /usr/sbin
if [ -n "$policy" ]; then
    printf '#!/bin/sh\nexit %s\n' "$policy" >/usr/sbin/policy-rc.d
    PATH=$tools chmod 755 /usr/sbin/policy-rc.d
fi
exec "$@"
"""


def systemctl_calls(script: Path, args: list[str], tmp_path: Path, *, running: bool, dpkg_root: str = "",
                    policy: str = "", exit_code: int = 0, path: str = "") -> list[str]:
    """Run a maintainer script as dpkg or rpm would (sh -e), and return the systemctl calls it made."""
    log = fake_systemctl(tmp_path / "bin", exit_code)
    log.unlink(missing_ok=True)
    env = {"PATH": path or f"{tmp_path / 'bin'}:/usr/bin:/bin"}
    if dpkg_root:
        env["DPKG_ROOT"] = dpkg_root
    need("perl")  # deb-systemd-invoke
    done = subprocess.run([need("unshare"), "--mount", "--map-root-user", "/bin/sh", "-c", NAMESPACE, "sh",
                           "yes" if running else "no", policy, "/bin/sh", "-e", str(script), *args],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{script.name} {' '.join(args)} exited {done.returncode}: {done.stderr}"
    return log.read_text().splitlines() if log.exists() else []


RELOAD = "--system daemon-reload"
DISABLE = f"--system --quiet --no-reload disable {NAME}.timer"
DEB_STOP = f"stop {NAME}.timer {NAME}.service"  # deb-systemd-invoke stop, passed on to systemctl
RPM_STOP = f"--system stop {NAME}.timer {NAME}.service"


@pytest.mark.parametrize("exit_code", [0, 1], ids=["systemctl-ok", "systemctl-fails"])
@pytest.mark.parametrize(("script", "args", "running", "dpkg_root", "policy", "expected"), [
    ("postinst", ["configure", ""], True, "", "", [RELOAD]),  # first install: no enable, no start
    ("postinst", ["configure", "0.1.0"], True, "", "", [RELOAD]),  # upgrade
    ("postinst", ["configure", ""], False, "", "", []),  # no systemd running (a container, a chroot)
    ("postinst", ["configure", ""], True, "/target", "", []),  # dpkg --root: not this host's systemd
    ("prerm", ["remove"], True, "", "", [DEB_STOP, DISABLE]),
    ("prerm", ["remove"], True, "", "101", [DISABLE]),  # policy-rc.d forbids stopping (docker build)
    ("prerm", ["remove"], False, "", "", [DISABLE]),  # the enablement link goes even without systemd running
    ("prerm", ["upgrade", "0.2.1"], True, "", "", []),  # an upgrade keeps the timer enabled and running
    ("prerm", ["remove"], True, "/target", "", []),
    ("postrm", ["remove"], True, "", "", [RELOAD]),
    ("postrm", ["purge"], True, "", "", [RELOAD]),
    ("postrm", ["upgrade", "0.2.1"], True, "", "", []),
    ("postrm", ["remove"], False, "", "", []),
    ("postrm", ["purge"], True, "/target", "", []),
])
def test_deb_maintainer_scripts(deb_tree: Path, tmp_path: Path, script: str, args: list[str], running: bool,
                                dpkg_root: str, policy: str, expected: list[str], exit_code: int) -> None:
    assert systemctl_calls(deb_tree / "DEBIAN" / script, args, tmp_path, running=running, dpkg_root=dpkg_root,
                           policy=policy, exit_code=exit_code) == expected


@pytest.fixture(scope="module")
def scriptlets(packages: Packages, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rpm's %post, %preun and %postun, as rpm -qp --queryformat gives them, in POSTIN, PREUN and POSTUN."""
    directory = tmp_path_factory.mktemp("scriptlets")
    for tag in ("POSTIN", "PREUN", "POSTUN"):
        program = run([need("rpm"), "-qp", "--queryformat", f"%{{{tag}PROG}}", str(packages.rpm)]).stdout
        assert program == "/bin/sh", tag
        body = run([need("rpm"), "-qp", "--queryformat", f"%{{{tag}}}", str(packages.rpm)]).stdout
        (directory / tag).write_text(body + "\n")
    # and no other scriptlet (%pre, %posttrans, triggers) than those three
    scripts = run([need("rpm"), "-qp", "--scripts", str(packages.rpm)]).stdout
    assert re.findall(r"^(\w+) scriptlet \(using /bin/sh\):$", scripts, re.MULTILINE) == [
        "postinstall", "preuninstall", "postuninstall"]
    return directory


@pytest.mark.parametrize("exit_code", [0, 1], ids=["systemctl-ok", "systemctl-fails"])
@pytest.mark.parametrize(("scriptlet", "count", "running", "expected"), [
    ("POSTIN", "1", True, [RELOAD]),  # install: no enable, no start
    ("POSTIN", "2", True, [RELOAD]),  # upgrade
    ("POSTIN", "1", False, []),
    ("PREUN", "0", True, [RPM_STOP, DISABLE]),  # erase
    ("PREUN", "0", False, [DISABLE]),
    ("PREUN", "1", True, []),  # upgrade: the old package's %preun keeps the timer
    ("POSTUN", "0", True, [RELOAD]),
    ("POSTUN", "1", True, [RELOAD]),
    ("POSTUN", "0", False, []),
])
def test_rpm_scriptlets(scriptlets: Path, tmp_path: Path, scriptlet: str, count: str, running: bool,
                        expected: list[str], exit_code: int) -> None:
    assert systemctl_calls(scriptlets / scriptlet, [count], tmp_path, running=running,
                           exit_code=exit_code) == expected


def test_scripts_succeed_without_systemctl(deb_tree: Path, scriptlets: Path, tmp_path: Path) -> None:
    """A host without systemctl or deb-systemd-invoke on PATH (a minimal container) installs and removes."""
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [(deb_tree / "DEBIAN" / "postinst", ["configure", ""]), (deb_tree / "DEBIAN" / "prerm", ["remove"]),
             (deb_tree / "DEBIAN" / "postrm", ["purge"]), (scriptlets / "POSTIN", ["1"]),
             (scriptlets / "PREUN", ["0"]), (scriptlets / "POSTUN", ["0"])]
    for script, args in cases:
        assert systemctl_calls(script, args, tmp_path, running=True, path=str(empty)) == []


def test_manual_page_names_the_options_help_lists(deb_tree: Path) -> None:
    page = gzip.decompress((deb_tree / f"usr/share/man/man1/{NAME}.1.gz").read_bytes()).decode()
    section = page.split("\n.SH OPTIONS\n", 1)[1].split("\n.SH ", 1)[0].replace("\\-", "-")
    option = re.compile(r"(?<![\w-])(--?[a-z][a-z-]*)")
    documented = {o for line in section.splitlines() if line.startswith(".B") for o in option.findall(line)}
    done = run(["/usr/bin/python3", "-I", "-S", str(deb_tree / f"usr/bin/{NAME}"), "--help"])
    assert documented == set(option.findall(done.stdout))


def test_same_commit_same_bytes(packages: Packages, tmp_path: Path) -> None:
    """Another build, into another directory, under another umask: the same .deb and .rpm, byte for byte."""
    again = build(tmp_path / "dist", umask=0o077)
    assert again.deb.read_bytes() == packages.deb.read_bytes()
    assert again.rpm.read_bytes() == packages.rpm.read_bytes()
