#!/usr/bin/env python3
"""Build the node-side checker's packages, for every MongoDB host PMM backs up:

    python3 tools/build_packages.py [DIST]      (default: dist/)

- DIST/pmm-backup-prereq-node-check_<version>_all.deb (Debian 11/12, Ubuntu 20.04-24.04), with dpkg-deb;
- DIST/pmm-backup-prereq-node-check-<version>-1.noarch.rpm (RHEL and Oracle Linux 8/9, Amazon Linux 2023), with
  rpmbuild -bb.

Both hold the zipapp tools/build_node_check.py builds as /usr/bin/pmm-backup-prereq-node-check, the systemd service
and timer of deploy/systemd/ (the timer is not enabled: CLUSTER must be set first), and deploy/systemd's environment
file as a conffile, in /etc/default (deb) or /etc/sysconfig (rpm). The sources are under packaging/. Standard library
only, like build_node_check; no debhelper: the maintainer scripts are packaging/debian's own. Debian's dpkg-deb and
rpmbuild both build on one Debian machine (make system-deps installs them).

The version is exporter/__init__.py's __version__; both changelogs must have an entry for it. The packages are
reproducible: SOURCE_DATE_EPOCH (default: the last commit's time, else 1980-01-01) stamps every file, the archive
headers and the rpm's build time, so that one commit builds the same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import build_node_check  # noqa: E402  (after the path: the tool runs from a checkout)

NAME = build_node_check.NAME
PACKAGING = ROOT / "packaging"
UNITS = ROOT / "deploy" / "systemd"
RPM_RELEASE = "1"
DEFAULT_EPOCH = 315532800  # 1980-01-01T00:00:00Z, as build_node_check: where there is no git history
DEB_ENV_FILE = f"/etc/default/{NAME}"
# Architecture-independent package contents: (path in the package, source, mode)
CONTENTS = (
    (f"usr/bin/{NAME}", None, 0o755),  # the zipapp, built first
    (f"usr/lib/systemd/system/{NAME}.service", UNITS / f"{NAME}.service", 0o644),
    (f"usr/lib/systemd/system/{NAME}.timer", UNITS / f"{NAME}.timer", 0o644),
    (f"usr/share/man/man1/{NAME}.1.gz", PACKAGING / "man" / f"{NAME}.1", 0o644),
)
DEB_CONTENTS = (
    (DEB_ENV_FILE.lstrip("/"), UNITS / f"{NAME}.env", 0o644),
    (f"usr/share/doc/{NAME}/copyright", PACKAGING / "debian" / "copyright", 0o644),
    # a native package (no Debian revision): its one changelog is changelog.gz, as lintian wants
    (f"usr/share/doc/{NAME}/changelog.gz", PACKAGING / "debian" / "changelog", 0o644),
    (f"usr/share/lintian/overrides/{NAME}", PACKAGING / "debian" / "lintian-overrides", 0o644),
)
MAINTAINER_SCRIPTS = ("postinst", "prerm", "postrm")


class BuildError(Exception):
    """A missing tool or a source that disagrees with the version: the message says what to do."""


def version() -> str:
    """exporter/__init__.py's __version__, read as text: the exporter is not importable by the build's python3."""
    text = (ROOT / "exporter" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    if match is None:
        raise BuildError("no __version__ = \"...\" line in exporter/__init__.py")
    return match.group(1)


def check_changelogs(ver: str) -> None:
    """Both changelogs' newest entry is this version (lintian and rpmlint compare them with the package's)."""
    deb = (PACKAGING / "debian" / "changelog").read_text().splitlines()[0]
    if not deb.startswith(f"{NAME} ({ver}) "):
        raise BuildError(f"packaging/debian/changelog's newest entry is {deb!r}: add one for {ver} on top")
    spec = (PACKAGING / "rpm" / f"{NAME}.spec").read_text()
    entry = re.search(r"^%changelog\n\*[^\n]* - (\S+)$", spec, re.MULTILINE)
    if entry is None or entry.group(1) != f"{ver}-{RPM_RELEASE}":
        found = entry.group(1) if entry else "none"
        raise BuildError(f"the spec's newest %changelog entry is for {found}: add one for {ver}-{RPM_RELEASE} on top")


def maintainer() -> str:
    """The Debian control file's Maintainer, also the rpm's Packager (set here, as Fedora asks, not in the spec)."""
    match = re.search(r"^Maintainer: (.+)$", (PACKAGING / "debian" / "control.in").read_text(), re.MULTILINE)
    if match is None:
        raise BuildError("no Maintainer: line in packaging/debian/control.in")
    return match.group(1)


def source_date_epoch() -> int:
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    try:
        done = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"], capture_output=True, text=True,
                              timeout=30)
    except OSError:
        return DEFAULT_EPOCH
    return int(done.stdout) if done.returncode == 0 and done.stdout.strip().isdigit() else DEFAULT_EPOCH


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BuildError(f"{name} is missing: install Debian's {package} package (make system-deps does)")
    return path


@contextmanager
def reproducible(epoch: int) -> Iterator[None]:
    """SOURCE_DATE_EPOCH in os.environ for the block, where build_node_check.build() reads it."""
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


def gzip_n9(data: bytes) -> bytes:
    """gzip -9n: best compression, no name and no time stamp in the header (reproducible, as lintian asks)."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def stage_file(stage: Path, path: str, data: bytes, mode: int) -> None:
    target = stage / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    target.chmod(mode)


def content(source: Path | None, path: str, zipapp: Path) -> bytes:
    data = zipapp.read_bytes() if source is None else source.read_bytes()
    return gzip_n9(data) if path.endswith(".gz") else data


def stamp_tree(stage: Path, epoch: int) -> None:
    for path in [stage, *stage.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
        os.utime(path, (epoch, epoch))


def installed_size_kib(stage: Path) -> int:
    """As dpkg-gencontrol counts it: each file in whole KiB, each directory 1 KiB (DEBIAN/ excluded)."""
    total = 0
    for path in stage.rglob("*"):
        if path.relative_to(stage).parts[0] == "DEBIAN":
            continue
        total += 1 if path.is_dir() else -(-path.stat().st_size // 1024)
    return total


def build_deb(zipapp: Path, ver: str, dist: Path, epoch: int, tmp: Path) -> Path:
    dpkg_deb = tool("dpkg-deb", "dpkg")
    stage = tmp / "deb"
    for path, source, mode in CONTENTS + DEB_CONTENTS:
        stage_file(stage, path, content(source, path, zipapp), mode)
    control = stage / "DEBIAN"
    control.mkdir()
    for script in MAINTAINER_SCRIPTS:
        stage_file(stage, f"DEBIAN/{script}", (PACKAGING / "debian" / script).read_bytes(), 0o755)
    stage_file(stage, "DEBIAN/conffiles", f"{DEB_ENV_FILE}\n".encode(), 0o644)
    md5sums = "".join(f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.relative_to(stage)}\n"
                      for p in sorted(stage.rglob("*")) if p.is_file() and not p.is_relative_to(control))
    stage_file(stage, "DEBIAN/md5sums", md5sums.encode(), 0o644)
    fields = (PACKAGING / "debian" / "control.in").read_text()
    fields = fields.replace("@VERSION@", ver).replace("@INSTALLED_SIZE@", str(installed_size_kib(stage)))
    stage_file(stage, "DEBIAN/control", fields.encode(), 0o644)
    stamp_tree(stage, epoch)
    output = dist / f"{NAME}_{ver}_all.deb"
    # xz, not dpkg-deb's default on Ubuntu (zstd), which Debian 11's dpkg cannot unpack
    done = subprocess.run([dpkg_deb, "--root-owner-group", "-Zxz", "--build", str(stage), str(output)],
                          capture_output=True, text=True, env={**os.environ, "SOURCE_DATE_EPOCH": str(epoch)},
                          timeout=300)
    if done.returncode != 0:
        raise BuildError(f"dpkg-deb --build failed:\n{done.stdout}{done.stderr}")
    return output


def build_rpm(zipapp: Path, ver: str, dist: Path, epoch: int, tmp: Path) -> Path:
    rpmbuild = tool("rpmbuild", "rpm")
    sources = tmp / "rpm" / "SOURCES"
    sources.mkdir(parents=True)
    shutil.copyfile(zipapp, sources / NAME)
    for suffix in ("service", "timer", "env"):
        shutil.copyfile(UNITS / f"{NAME}.{suffix}", sources / f"{NAME}.{suffix}")
    # compressed here: Debian's brp-compress needs bash for its read -d '' (on dash it compresses nothing)
    (sources / f"{NAME}.1.gz").write_bytes(gzip_n9((PACKAGING / "man" / f"{NAME}.1").read_bytes()))
    stamp_tree(sources, epoch)
    defines = {
        "pkg_version": ver,
        "packager": maintainer(),
        "_topdir": str(tmp / "rpm"),
        "_sourcedir": str(sources),
        "_rpmdir": str(dist),
        "_build_name_fmt": "%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
        # reproducible: build time and file times from SOURCE_DATE_EPOCH, no host name
        "use_source_date_epoch_as_buildtime": "1",
        "clamp_mtime_to_source_date_epoch": "1",
        "_buildhost": "reproducible",
        # xz (every supported rpm reads it) and SHA-256 file digests (RHEL 9 refuses MD5)
        "_binary_payload": "w6.xzdio",
        "_binary_filedigest_algorithm": "8",
    }
    command = [rpmbuild, "-bb", "--quiet"]
    for key, value in defines.items():
        command += ["--define", f"{key} {value}"]
    command.append(str(PACKAGING / "rpm" / f"{NAME}.spec"))
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp,
                          env={**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}, timeout=300)
    if done.returncode != 0:
        raise BuildError(f"rpmbuild -bb failed:\n{done.stdout}{done.stderr}")
    return dist / f"{NAME}-{ver}-{RPM_RELEASE}.noarch.rpm"


def build(dist: Path) -> tuple[Path, Path]:
    """Build the zipapp, then the .deb and the .rpm into dist; return their paths."""
    ver = version()
    check_changelogs(ver)
    epoch = source_date_epoch()
    dist.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        with reproducible(epoch):
            zipapp = build_node_check.build(tmp / NAME)
        if not zipapp.read_bytes().startswith(f"#!{build_node_check.INTERPRETER}\n".encode()):
            raise BuildError(f"{zipapp} does not start with #!{build_node_check.INTERPRETER}")
        return build_deb(zipapp, ver, dist, epoch, tmp), build_rpm(zipapp, ver, dist, epoch, tmp)


def main() -> int:
    dist = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist"
    try:
        for package in build(dist):
            print(package)
    except BuildError as exc:
        print(f"build_packages.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
