#!/usr/bin/env python3
"""Build dist/pmm-backup-prereq-node-check: node-check as one self-contained file (a zipapp of exporter/node and
the result shape it shares with the exporter), run by the host's own python3 in isolated mode (-I: no user site,
no PYTHON* variables, no script directory; -S: no site-packages), so that nothing installed on the host can change
what it imports. Standard library only, like what it packs: `python3 tools/build_node_check.py [OUTPUT]`.

The archive is reproducible: files in sorted order, each with mode 644 and stamped with SOURCE_DATE_EPOCH
(default: 1980-01-01, the oldest time a zip can hold), so that one commit always builds the same bytes.
"""

import os
import shutil
import sys
import tempfile
import zipapp
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NAME = "pmm-backup-prereq-node-check"
INTERPRETER = "/usr/bin/python3 -IS"  # the one path every supported distribution's python3 package provides
# What the artefact holds besides exporter/node/: the shape of a check result and the words for it, shared with
# the exporter so that `check`, node-check and the dashboard read both alike (all Python 3.6, standard library)
SHARED = ("exporter/__init__.py", "exporter/results/__init__.py", "exporter/results/operations.py",
          "exporter/results/check_result.py", "exporter/results/result_report.py")
MAIN = "import sys\n\nfrom exporter.node.cli import main\n\nsys.exit(main())\n"


def sources() -> list[Path]:
    """The repository files the artefact holds, relative to the repository (the portable set vermin checks)."""
    node = sorted(p.relative_to(REPO) for p in (REPO / "exporter/node").glob("*.py"))
    return [Path(s) for s in SHARED] + node


def build(output: Path) -> Path:
    stamp = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))  # 1980-01-01T00:00:00Z
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp) / "stage"
        for source in sources():
            target = stage / source
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / source, target)
        (stage / "__main__.py").write_text(MAIN)
        for path in [stage, *stage.rglob("*")]:  # the zip stores modes and times: fix both, whatever the umask
            path.chmod(0o755 if path.is_dir() else 0o644)
            os.utime(path, (stamp, stamp))
        output.parent.mkdir(parents=True, exist_ok=True)
        zipapp.create_archive(stage, output, interpreter=INTERPRETER, compressed=True)
    output.chmod(0o755)
    return output


def main() -> int:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "dist" / NAME
    print(build(output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
