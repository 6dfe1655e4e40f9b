#!/usr/bin/env python3
"""Write the Prometheus rules and the PMM alert templates from exporter/alerting/source.yml (the one source of both).

    python tools/generate_alerts.py [--runbook-base URL] [--check]

The copies in alerts/ link their runbooks under http://localhost:9787. --runbook-base URL (your exporter's
--web.external-url) writes them with links that open from anywhere; the running exporter serves the same files at
/alerts/ with its own URL filled in. --check only compares (exit 1 on drift).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporter import alerting  # noqa: E402  (after the path: the tool runs from a checkout, not installed)

RULES = ROOT / "alerts" / "prometheus" / alerting.RULES_FILE
TEMPLATES = ROOT / "alerts" / "pmm" / alerting.TEMPLATES_FILE


def generate(runbook_base: str = alerting.DEFAULT_BASE) -> dict[Path, str]:
    texts = alerting.files(runbook_base)
    return {RULES: texts[alerting.RULES_FILE], TEMPLATES: texts[alerting.TEMPLATES_FILE]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runbook-base", default=alerting.DEFAULT_BASE,
                        help="the exporter's external URL, under which the runbook links point (default %(default)s)")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when a file is out of date")
    args = parser.parse_args()
    stale = []
    for path, text in generate(args.runbook_base).items():
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    for path in stale:
        print(f"{path.relative_to(ROOT)} is out of date: run python tools/generate_alerts.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
