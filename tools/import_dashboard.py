#!/usr/bin/env python3
"""Import dashboards/pmm-backup-prerequisites.json into PMM's Grafana (POST /graph/api/dashboards/db).

    PMM_TOKEN=glsa_... python tools/import_dashboard.py --url https://pmm.example.com [--folder-uid UID]
    PMM_USER=admin PMM_PASSWORD=... python tools/import_dashboard.py --url https://pmm.example.com

The token (a PMM 3 service-account token or PMM 2 API key) needs the Editor or Admin role. Credentials come from
the environment so that they stay out of the shell history and the process list. Re-running updates the
dashboard in place (same uid).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import requests

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboards" / "pmm-backup-prerequisites.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="PMM Server's base URL, such as https://pmm.example.com")
    parser.add_argument("--folder-uid", default="", help="Grafana folder to put it in (default: General)")
    parser.add_argument("--ca-file", help="CA bundle that signed PMM's certificate")
    parser.add_argument("--insecure", action="store_true", help="skip TLS verification (PMM's self-signed default)")
    parser.add_argument("--dashboard", default=str(DASHBOARD), help="the dashboard JSON (default: the shipped one)")
    args = parser.parse_args(argv)

    session = requests.Session()
    if os.environ.get("PMM_TOKEN"):
        session.headers["Authorization"] = f"Bearer {os.environ['PMM_TOKEN']}"
    elif os.environ.get("PMM_USER") and os.environ.get("PMM_PASSWORD"):
        session.auth = (os.environ["PMM_USER"], os.environ["PMM_PASSWORD"])
    else:
        print("error: set PMM_TOKEN, or PMM_USER and PMM_PASSWORD, in the environment", file=sys.stderr)
        return 2
    session.verify = args.ca_file or not args.insecure
    try:
        dashboard = json.loads(Path(args.dashboard).read_text())
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {args.dashboard}: {exc}", file=sys.stderr)
        return 2
    dashboard["id"] = None  # Grafana matches on uid; an id from another Grafana would be wrong here
    body = {"dashboard": dashboard, "folderUid": args.folder_uid, "overwrite": True,
            "message": "imported by pmm-backup-prereq-exporter's tools/import_dashboard.py"}
    url = args.url.rstrip("/") + "/graph/api/dashboards/db"
    try:
        response = session.post(url, json=body, timeout=30)
    except requests.exceptions.RequestException as exc:
        print(f"error: cannot reach {args.url}: {type(exc).__name__}", file=sys.stderr)
        return 1
    if response.status_code == 401:
        print("error: PMM rejected the credentials (401): check PMM_TOKEN or PMM_USER/PMM_PASSWORD", file=sys.stderr)
        return 1
    if response.status_code == 403:
        print("error: PMM refused (403): the token or user needs the Editor or Admin role", file=sys.stderr)
        return 1
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code != 200:
        print(f"error: PMM answered {response.status_code}: {answer.get('message', response.reason)}", file=sys.stderr)
        return 1
    print(f"imported {dashboard.get('title')!r} (version {answer.get('version')}): {args.url.rstrip('/')}"
          f"{answer.get('url', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
