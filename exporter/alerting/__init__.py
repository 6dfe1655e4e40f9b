"""The exporter's alerts in their two forms, Prometheus/vmalert rule groups and PMM alert rule templates, rendered
from the one source (source.yml beside this file) with runbook links under a base URL.

The exporter serves both at /alerts/ with its own --web.external-url as the base, so that the runbook links in a
notification open the exporter's /runbooks/ pages; tools/generate_alerts.py writes the copies kept in alerts/.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import yaml

RULES_FILE = "pmm-backup-prereq.rules.yml"
TEMPLATES_FILE = "pmm-backup-prereq.templates.yml"
DEFAULT_BASE = "http://localhost:9787"  # the default --web.listen-address, seen from the exporter's own host
HEADER = ("# Generated from exporter/alerting/source.yml (tools/generate_alerts.py, or the exporter's /alerts/): "
          "edit that file, not this one.\n")
_PARAM = re.compile(r"\[\[\s*\.(\w+)\s*\]\]")


@cache
def source() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("source.yml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def render(text: str, params: dict[str, Any]) -> str:
    """Fill [[ .name ]] placeholders (PMM's Go text/template delimiters) with the given values."""

    def value(match: re.Match[str]) -> str:
        number = params[match.group(1)]
        return f"{number:g}" if isinstance(number, float) else str(number)

    return _PARAM.sub(value, text)


def defaults(alert: dict[str, Any]) -> dict[str, Any]:
    """An alert's template parameters with their default values."""
    return {p["name"]: p["value"] for p in alert.get("params", [])}


def runbook_url(base: str, alert: dict[str, Any]) -> str:
    """The alert's runbook page under `base`, the exporter's external URL."""
    return f"{base.rstrip('/')}/runbooks/{alert['runbook']}"


def runbook_names() -> list[str]:
    """The runbook pages the alerts link to, other than the per-check ones ({{ $labels.check }})."""
    return [a["runbook"] for a in source()["alerts"] if "{{" not in a["runbook"]]


def prometheus_rules(base: str) -> dict[str, Any]:
    doc = source()
    rules = []
    for alert in doc["alerts"]:
        values = defaults(alert)
        annotations = {k: render(v, values) for k, v in alert["annotations"].items()}
        annotations["runbook_url"] = runbook_url(base, alert)
        rules.append({"alert": alert["alert"], "expr": render(alert["expr"], values), "for": alert["for"],
                      "labels": {"severity": alert["severity"]}, "annotations": annotations})
    return {"groups": [{"name": doc["group"], "rules": rules}]}


def pmm_templates(base: str) -> dict[str, Any]:
    """PMM templates use only the fields every Percona Alerting release accepts (percona/saas pkg/alert
    template.go: annotations are a free map). Grafana shows a `runbook_url` annotation as a link; the description
    carries the link too, for notification templates that print only the description."""
    templates = []
    for alert in source()["alerts"]:
        url = runbook_url(base, alert)
        annotations = dict(alert["annotations"])
        annotations["description"] = f"{annotations['description']} Runbook: {url}"
        annotations["runbook_url"] = url
        template: dict[str, Any] = {"name": alert["template"], "version": 1, "summary": alert["summary"],
                                    "expr": alert["expr"]}
        if alert.get("params"):
            template["params"] = alert["params"]
        template.update({"for": alert["for"], "severity": alert["severity"],
                         "labels": {"exporter": "pmm-backup-prereq"}, "annotations": annotations})
        templates.append(template)
    return {"templates": templates}


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def dump(doc: dict[str, Any]) -> str:
    return HEADER + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=4096, allow_unicode=True)


def files(base: str = DEFAULT_BASE) -> dict[str, str]:
    """{file name: YAML text} of both forms, runbook links under `base`."""
    return {RULES_FILE: dump(prometheus_rules(base)), TEMPLATES_FILE: dump(pmm_templates(base))}
