#!/usr/bin/env python3
"""Write dashboards/pmm-backup-prerequisites.json, a Grafana dashboard in PMM's idiom.

    python tools/generate_dashboard.py [--check]

PMM conventions followed (shared/reference/peers.md section 4, percona/grafana-dashboards): a stable uid, tags
Percona/MongoDB/Backup, schemaVersion 41, graphTooltip 1, PMM's `Metrics` data source through a data-source
variable, dependent cluster -> node variables with All, and timeseries/stat/state-timeline/table panels only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "dashboards" / "pmm-backup-prerequisites.json"
DS = {"type": "prometheus", "uid": "${ds}"}
SELECTOR = 'cluster=~"$cluster"'
NODE_SELECTOR = 'cluster=~"$cluster", node=~"$node"'
# Cluster-wide checks have node=""; show them under a name in the matrix and the timeline
CLUSTER_WIDE = "(cluster-wide)"
PASS_FAIL = [{"type": "value", "options": {
    "0": {"text": "FAIL", "color": "red", "index": 0},
    "1": {"text": "pass", "color": "green", "index": 1}}}]
READY = [{"type": "value", "options": {
    "0": {"text": "NOT READY", "color": "red", "index": 0},
    "1": {"text": "READY", "color": "green", "index": 1}}}]
OPERATION_STATE = [{"type": "value", "options": {
    "0": {"text": "BLOCKED", "color": "red", "index": 0},
    "1": {"text": "READY", "color": "green", "index": 1}}},
    {"type": "special", "options": {"match": "null", "result": {"text": "UNKNOWN", "color": "orange", "index": 2}}}]
OPERATIONS = ["logical_backup", "physical_backup", "pitr", "logical_restore", "physical_restore"]
UP_DOWN = [{"type": "value", "options": {
    "0": {"text": "failing", "color": "red", "index": 0},
    "1": {"text": "ok", "color": "green", "index": 1}}}]


def thresholds(*steps: tuple[str, float | None]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": color, "value": value} for color, value in steps]}


def stat_options(color_mode: str, text_mode: str) -> dict[str, Any]:
    """A stat panel showing the last value of each series, coloured by thresholds."""
    return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "colorMode": color_mode,
            "graphMode": "none", "textMode": text_mode, "justifyMode": "auto", "orientation": "auto",
            "wideLayout": True, "showPercentChange": False}


def state_timeline(mappings: list[dict[str, Any]]) -> dict[str, Any]:
    """fieldConfig and options of a state timeline of 0/1 series: red for 0, green for 1, named by `mappings`."""
    return {
        "fieldConfig": {"defaults": {"mappings": mappings, "color": {"mode": "thresholds"},
                                     "thresholds": thresholds(("red", None), ("green", 1)),
                                     "custom": {"fillOpacity": 80, "lineWidth": 0}}, "overrides": []},
        "options": {"mergeValues": True, "showValue": "never", "alignValue": "left", "rowHeight": 0.85,
                    "legend": {"showLegend": False, "displayMode": "list", "placement": "bottom"},
                    "tooltip": {"mode": "single", "sort": "none"}},
    }


def age_stat(title: str, description: str, by: str, timestamps: str, orange: float, red: float) -> dict[str, Any]:
    """A stat panel of the time since a timestamp metric, per `by`: orange, then red, as it grows stale."""
    return {
        "type": "stat", "title": title, "datasource": DS, "description": description,
        "targets": [target(f"time() - max by ({by}) ({timestamps})", f"{{{{{by}}}}}", instant=True)],
        "fieldConfig": {"defaults": {"unit": "s", "color": {"mode": "thresholds"},
                                     "thresholds": thresholds(("green", None), ("orange", orange), ("red", red))},
                        "overrides": []},
        "options": stat_options("value", "value_and_name"),
    }


def matrix_table(title: str, description: str, expr: str, row: str, column: str, mappings: list[dict[str, Any]],
                 extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A table of 0/1 series as a row x column matrix, cells coloured red/green and named by `mappings`."""
    corner = f"{row}\\{column}"  # the name Grafana's groupingToMatrix gives the row headers' column
    return {
        "type": "table", "title": title, "datasource": DS, "description": description,
        "targets": [target(expr, instant=True, table=True)],
        "transformations": [{"id": "groupingToMatrix", "options": {
            "columnField": column, "rowField": row, "valueField": "Value", "emptyValue": "null"}}, *(extra or [])],
        "fieldConfig": {"defaults": {"mappings": mappings, "custom": {
            "align": "center", "cellOptions": {"type": "color-background"}, "inspect": False},
            "color": {"mode": "thresholds"}, "thresholds": thresholds(("red", None), ("green", 1))},
            "overrides": [{"matcher": {"id": "byName", "options": corner},
                           "properties": [{"id": "custom.align", "value": "left"},
                                          {"id": "custom.cellOptions", "value": {"type": "auto"}}]}]},
        "options": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}},
    }


def target(expr: str, legend: str = "", *, instant: bool = False, table: bool = False, ref: str = "A"
           ) -> dict[str, Any]:
    out: dict[str, Any] = {"datasource": DS, "expr": expr, "refId": ref, "legendFormat": legend or "__auto",
                           "range": not instant, "instant": instant}
    if table:
        out["format"] = "table"
    return out


class Layout:
    """Hands out panel ids and grid positions, row by row (Grafana's grid is 24 columns wide)."""

    def __init__(self) -> None:
        self.next_id, self.y, self.x, self.row_height = 1, 0, 0, 0

    def place(self, panel: dict[str, Any], w: int, h: int) -> dict[str, Any]:
        if self.x + w > 24:
            self.y, self.x, self.row_height = self.y + self.row_height, 0, 0
        panel["id"], panel["gridPos"] = self.next_id, {"h": h, "w": w, "x": self.x, "y": self.y}
        self.next_id += 1
        self.x, self.row_height = self.x + w, max(self.row_height, h)
        return panel

    def row(self, title: str) -> dict[str, Any]:
        if self.x:
            self.y, self.x, self.row_height = self.y + self.row_height, 0, 0
        panel = {"type": "row", "title": title, "collapsed": False, "panels": []}
        self.place(panel, 24, 1)
        self.y, self.x, self.row_height = self.y + 1, 0, 0
        return panel


def panels() -> list[dict[str, Any]]:
    lay = Layout()
    out = [lay.row("Readiness")]
    out.append(lay.place({
        "type": "stat", "title": "Ready for backup", "datasource": DS,
        "description": "Whether the backups PMM takes of the cluster will run: its backup_mode's backup, PITR "
                       "when on, and its scheduled backups in PMM (pmm_backup_prereq_cluster_ready). Warnings and "
                       "checks that block only restores do not lower it. No value: a check it depends on could not "
                       "be evaluated; see Probe health.",
        "targets": [target(f"min by (cluster) (pmm_backup_prereq_cluster_ready{{{SELECTOR}}})", "{{cluster}}",
                           instant=True)],
        "fieldConfig": {"defaults": {"mappings": READY, "color": {"mode": "thresholds"},
                                     "thresholds": thresholds(("red", None), ("green", 1))}, "overrides": []},
        "options": stat_options("background", "value_and_name"),
    }, 16, 5))
    out.append(lay.place({
        "type": "stat", "title": "Failing checks", "datasource": DS,
        "description": "How many (check, node) pairs fail now in the selected clusters.",
        "targets": [target(f"count(min by (cluster, check, node) (pmm_backup_prereq_ok{{{SELECTOR}}}) == 0) "
                           f"or vector(0)", "failing", instant=True)],
        "fieldConfig": {"defaults": {"color": {"mode": "thresholds"},
                                     "thresholds": thresholds(("green", None), ("red", 1))}, "overrides": []},
        "options": stat_options("background", "value"),
    }, 8, 5))
    out.append(lay.place(matrix_table(
        "Readiness by operation",
        "Per cluster and operation, whether PMM would run it now, as PBM's and PMM's code decide it "
        "(pmm_backup_prereq_operation_ready). UNKNOWN: a check that could block it could not be evaluated, or "
        "(physical operations of a logical cluster) it is not judged. What blocks each is listed in the next panel.",
        f"min by (cluster, operation) (pmm_backup_prereq_operation_ready{{{SELECTOR}}})", "cluster", "operation",
        OPERATION_STATE, [{"id": "organize", "options": {"indexByName": {
            "cluster\\operation": 0, **{op: i + 1 for i, op in enumerate(OPERATIONS)}}}}]), 12, 7))
    out.append(lay.place({
        "type": "table", "title": "What blocks them", "datasource": DS,
        "description": "Each failing check and the operations it blocks (pmm_backup_prereq_blocking), node-side "
                       "checks included. A failing check that blocks nothing is a warning, listed only in the "
                       "matrix below.",
        "targets": [target(f"max by (cluster, operation, check, node) (label_replace(pmm_backup_prereq_blocking"
                           f'{{{SELECTOR}}}, "node", "{CLUSTER_WIDE}", "node", ""))', instant=True, table=True)],
        "transformations": [{"id": "organize", "options": {
            "excludeByName": {"Time": True, "Value": True},
            "indexByName": {"cluster": 0, "operation": 1, "check": 2, "node": 3}}}],
        "fieldConfig": {"defaults": {"custom": {"align": "auto", "cellOptions": {"type": "auto"}}},
                        "overrides": []},
        "options": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False},
                    "sortBy": [{"displayName": "cluster", "desc": False}]},
    }, 12, 7))
    matrix_expr = (f'min by (check, node) (label_replace(pmm_backup_prereq_ok{{{NODE_SELECTOR}}}, "node", '
                   f'"{CLUSTER_WIDE}", "node", ""))')
    out.append(lay.place(matrix_table(
        "Checks by node ($cluster)",
        "Each backup prerequisite per node. Absent: it could not be evaluated. The exporter's `check` command and "
        "its /runbooks/<check> pages say what each check verifies and how to fix it.",
        matrix_expr, "check", "node", PASS_FAIL), 24, 10))
    out.append(lay.place({
        "type": "state-timeline", "title": "Check history: how long each check has failed", "datasource": DS,
        "targets": [target(matrix_expr, "{{check}} {{node}}")],
        **state_timeline(PASS_FAIL),
    }, 24, 12))

    out.append(lay.row("Probe health"))
    out.append(lay.place({
        "type": "state-timeline", "title": "Probes", "datasource": DS,
        "description": "Whether the exporter could read MongoDB and PMM Server for each cluster. While a probe "
                       "fails, the cluster's checks are absent rather than stale.",
        "targets": [target(f"min by (cluster, target) (pmm_backup_prereq_probe_success{{{SELECTOR}}})",
                           "{{cluster}} {{target}}")],
        **state_timeline(UP_DOWN),
    }, 8, 8))
    out.append(lay.place(age_stat(
        "Data age", "Time since the last successful probe of each cluster; stale past 3 probe intervals.",
        "cluster", f"pmm_backup_prereq_last_probe_timestamp_seconds{{{SELECTOR}}}", 120, 180), 5, 8))
    out.append(lay.place(age_stat(
        "Node-side checks age",
        "Time since each node's node-check timer last wrote its results (stale past 5 minutes).",
        "node", f"pmm_backup_prereq_node_check_timestamp_seconds{{{NODE_SELECTOR}}}", 180, 300), 6, 8))
    out.append(lay.place({
        "type": "timeseries", "title": "Probe duration", "datasource": DS,
        "targets": [target(f"max by (cluster) (pmm_backup_prereq_probe_duration_seconds{{{SELECTOR}}})",
                           "{{cluster}}")],
        "fieldConfig": {"defaults": {"unit": "s", "min": 0, "custom": {"drawStyle": "line", "lineWidth": 1,
                                                                      "fillOpacity": 10, "showPoints": "never"}},
                        "overrides": []},
        "options": {"legend": {"showLegend": True, "displayMode": "list", "placement": "bottom", "calcs": []},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
    }, 5, 8))

    out.append(lay.row("PBM agents"))
    out.append(lay.place({
        "type": "table", "title": "PBM agent versions", "datasource": DS,
        "description": "The PBM version each node's pbm-agent reports. PMM needs PBM 2.0.1 or newer, the same on "
                       "every node; PBM 2.10+ needs PMM 3.9+.",
        "targets": [target(f"max by (cluster, replica_set, node, version) "
                           f"(pmm_backup_prereq_pbm_agent_info{{{NODE_SELECTOR}}})", instant=True, table=True)],
        "transformations": [{"id": "organize", "options": {
            "excludeByName": {"Time": True, "Value": True},
            "indexByName": {"cluster": 0, "replica_set": 1, "node": 2, "version": 3},
            "renameByName": {"replica_set": "replica set", "version": "PBM version"}}}],
        "fieldConfig": {"defaults": {"custom": {"align": "auto", "cellOptions": {"type": "auto"}}},
                        "overrides": []},
        "options": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False},
                    "sortBy": [{"displayName": "node", "desc": False}]},
    }, 10, 8))
    out.append(lay.place({
        "type": "timeseries", "title": "pbm-agent heartbeat age (lost past 30 s)", "datasource": DS,
        "description": "Age of each agent's last heartbeat by the cluster's clock. PBM calls an agent lost past "
                       "30 s.",
        "targets": [target(f"max by (cluster, node) (pmm_backup_prereq_pbm_agent_heartbeat_age_seconds"
                           f"{{{NODE_SELECTOR}}})", "{{node}}")],
        "fieldConfig": {"defaults": {
            "unit": "s", "min": 0, "color": {"mode": "palette-classic"},
            "thresholds": thresholds(("green", None), ("red", 30)),
            "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0, "showPoints": "never",
                       "thresholdsStyle": {"mode": "line+area"}}}, "overrides": []},
        "options": {"legend": {"showLegend": True, "displayMode": "table", "placement": "right",
                               "calcs": ["lastNotNull", "max"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
    }, 14, 8))
    return out


def variables() -> list[dict[str, Any]]:
    def query(name: str, label: str, definition: str) -> dict[str, Any]:
        return {"name": name, "label": label, "type": "query", "datasource": DS, "definition": definition,
                "query": {"query": definition, "refId": f"Metrics-{name}-Variable-Query"},
                "includeAll": True, "multi": True, "allValue": ".*", "current": {"text": "All", "value": "$__all"},
                "refresh": 2, "sort": 5, "hide": 0, "regex": "", "options": []}

    return [
        {"name": "ds", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {"text": "Metrics", "value": "Metrics"}, "hide": 0, "includeAll": False, "multi": False,
         "options": [], "refresh": 1, "regex": ""},
        query("cluster", "Cluster", "label_values(pmm_backup_prereq_probe_success, cluster)"),
        query("node", "Node", 'label_values(pmm_backup_prereq_ok{cluster=~"$cluster", node!=""}, node)'),
    ]


def dashboard() -> dict[str, Any]:
    return {
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": "Whether PMM can back up each MongoDB cluster now, per check and node "
                       "(pmm-backup-prereq-exporter).",
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {"title": "MongoDB Backup Details", "type": "link", "icon": "dashboard", "tooltip":
             "PMM's own dashboard of PBM backups: history, sizes, durations, agent status",
             "url": "/graph/d/mongodb-backup-details/mongodb-backup-details", "includeVars": True,
             "keepTime": True, "targetBlank": False, "asDropdown": False, "tags": []},
            {"title": "MongoDB", "type": "dashboards", "tags": ["MongoDB"], "asDropdown": True, "includeVars": True,
             "keepTime": True, "icon": "external link", "targetBlank": False, "tooltip": "", "url": ""},
        ],
        "panels": panels(),
        "refresh": "1m",
        "schemaVersion": 41,
        "tags": ["Percona", "MongoDB", "Backup"],
        "templating": {"list": variables()},
        "time": {"from": "now-12h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": "MongoDB Backup Prerequisites",
        "uid": "pmm-backup-prerequisites",
        "version": 1,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when the file is out of date")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not DASHBOARD.exists() or DASHBOARD.read_text() != text:
            print(f"{DASHBOARD.relative_to(ROOT)} is out of date: run python tools/generate_dashboard.py",
                  file=sys.stderr)
            return 1
        return 0
    DASHBOARD.parent.mkdir(parents=True, exist_ok=True)
    DASHBOARD.write_text(text)
    print(f"wrote {DASHBOARD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
