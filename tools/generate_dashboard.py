#!/usr/bin/env python3
"""Write dashboards/pmm-backup-prerequisites.json, a Grafana dashboard in PMM's idiom.

    python tools/generate_dashboard.py [--check]

PMM conventions followed (shared/reference/peers.md and real-behaviour.md section 4, percona/grafana-dashboards
dashboards/MongoDB): a stable uid, tags Percona/MongoDB/Backup, schemaVersion 41, graphTooltip 1, PMM's `Metrics`
data source through a hidden data-source variable, the environment -> cluster -> replica set -> (hidden) node
variables, PMM Annotations, no top links bar (panels link onward to PMM's dashboards with the time range kept),
upper-case value texts, the per-node panels in a row repeated per cluster (one cluster each, as PMM's per-node
views are single-select), nodes named by their PMM service (pmm_backup_prereq_node_info), and PBM's own series
from mongodb_exporter beside our readiness. Panels: timeseries, stat, state-timeline and table only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "dashboards" / "pmm-backup-prerequisites.json"
UID = "pmm-backup-prerequisites"
SELF_URL = f"/graph/d/{UID}/mongodb-backup-prerequisites"
DS = {"type": "prometheus", "uid": "${ds}"}
SELECTOR = 'cluster=~"$cluster"'
NODE_SELECTOR = 'cluster=~"$cluster", replica_set=~"$replica_set", node=~"$node"'
BLOCKS_SELECTOR = 'cluster=~"$cluster", operation=~"$operation"'
# Cluster-wide checks have node=""; show them under a name in the matrix and the timeline
CLUSTER_WIDE = "(cluster-wide)"
# PMM's own dashboards (percona/grafana-dashboards dashboards/MongoDB), linked with the time range kept
INSTANCE_SUMMARY = "/graph/d/mongodb-instance-summary/mongodb-instance-summary"
REPLSET_SUMMARY = "/graph/d/mongodb-replicaset-summary/mongodb-replset-summary"
BACKUP_DETAILS = "/graph/d/mongodb-backup-details/mongodb-backup-details"
# Value texts upper case and colours as PMM's (MongoDB_Backup_Details.json: OK/FAIL, YES/NO, ON/OFF)


def zero_one(zero: str, one: str, **more: str) -> list[dict[str, Any]]:
    """A value mapping of 0 (red) and 1 (green), and of `more` values (orange), to their texts."""
    options = {"0": {"text": zero, "color": "red", "index": 0}, "1": {"text": one, "color": "green", "index": 1}}
    options.update({value: {"text": text, "color": "orange", "index": 2 + i}
                    for i, (value, text) in enumerate(more.items())})
    return [{"type": "value", "options": options}]


PASS_FAIL = zero_one("FAIL", "OK")  # checks, and probes
READY = zero_one("NOT READY", "READY")
OPERATION_STATE = [*zero_one("BLOCKED", "READY", **{"-1": "UNKNOWN"}),
                   {"type": "special", "options": {"match": "null",
                                                   "result": {"text": "UNKNOWN", "color": "orange", "index": 3}}}]
ON_OFF = zero_one("OFF", "ON")
OPERATIONS = ["logical_backup", "physical_backup", "pitr", "logical_restore", "physical_restore", "pitr_restore"]
# mongodb_pbm_agent_status (mongodb_exporter's PBM collector): 0 ok, 1 error, 2 lost
AGENT_STATUS = [{"type": "value", "options": {
    "0": {"text": "OK", "color": "green", "index": 0},
    "1": {"text": "ERROR", "color": "red", "index": 1},
    "2": {"text": "LOST", "color": "semi-dark-red", "index": 2}}}]
PBM_COLLECTOR = ("From mongodb_exporter's PBM collector, which PMM Client runs with each MongoDB service (on by "
                 "default since PMM 2.43, scraped once a minute); empty when it is off or PBM has no config yet.")


def by_member(metric: str, selector: str) -> str:
    """A per-node series with a `member` label: the PMM service the node is monitored as (node_info), else its
    host:port, else (cluster-wide). `or on (cluster, node)` keeps the series of nodes PMM does not know."""
    joined = (f"({metric}{{{selector}}} * on (cluster, node) group_left (pmm_service) max by (cluster, node, "
              f"pmm_service) (pmm_backup_prereq_node_info{{{SELECTOR}}}) or on (cluster, node) "
              f"{metric}{{{selector}}})")
    named = f'label_replace({joined}, "member", "$1", "node", "(.*)")'
    named = f'label_replace({named}, "member", "$1", "pmm_service", "(.+)")'
    return f'label_replace({named}, "member", "{CLUSTER_WIDE}", "member", "")'


def every_operation(of: str) -> str:
    """The series of `of`, once per operation, labelled with it."""
    return " or ".join(f'label_replace({of}, "operation", "{op}", "", "")' for op in OPERATIONS)


# One cell per operation per cluster: where operation_ready is absent (unknown, or not judged), -1, shown UNKNOWN,
# for every cluster probed (probe_success is there even when the probe fails)
PROBED = f"group by (cluster) (pmm_backup_prereq_probe_success{{{SELECTOR}}})"
READINESS_EXPR = (f"min by (cluster, operation) (pmm_backup_prereq_operation_ready{{{SELECTOR}}}) or on (cluster, "
                  f"operation) -({every_operation(PROBED)})")


def link(title: str, url: str) -> dict[str, Any]:
    return {"title": title, "url": url, "targetBlank": False}


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
                 order: list[str] | None = None, links: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A table of 0/1 series as a row x column matrix, cells coloured and named by `mappings`. The row headers'
    column, which Grafana's groupingToMatrix names "row\\column", is renamed `row`, so that a cell's link can name
    its row as ${__data.fields.<row>} and its column as ${__field.name}; that column itself links nowhere."""
    corner = f"{row}\\{column}"
    organize: dict[str, Any] = {"renameByName": {corner: row}}
    if order:
        organize["indexByName"] = {corner: 0, **{name: i + 1 for i, name in enumerate(order)}}
    return {
        "type": "table", "title": title, "datasource": DS, "description": description,
        "targets": [target(expr, instant=True, table=True)],
        "transformations": [{"id": "groupingToMatrix", "options": {
            "columnField": column, "rowField": row, "valueField": "Value", "emptyValue": "null"}},
            {"id": "organize", "options": organize}],
        "fieldConfig": {"defaults": {"mappings": mappings, "links": links or [], "custom": {
            "align": "center", "cellOptions": {"type": "color-background"}, "inspect": False},
            "color": {"mode": "thresholds"}, "thresholds": thresholds(("red", None), ("green", 1))},
            "overrides": [{"matcher": {"id": "byName", "options": row},
                           "properties": [{"id": "custom.align", "value": "left"},
                                          {"id": "custom.cellOptions", "value": {"type": "auto"}},
                                          {"id": "links", "value": []}]}]},
        "options": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}},
    }


def label_table(title: str, description: str, expr: str, columns: dict[str, str], sort_by: str,
                overrides: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A table of the labels of an instant query's series: `columns` maps each label, in order, to its heading."""
    organize: dict[str, Any] = {"excludeByName": {"Time": True, "Value": True},
                                "indexByName": {label: i for i, label in enumerate(columns)}}
    renamed = {label: shown for label, shown in columns.items() if label != shown}
    if renamed:
        organize["renameByName"] = renamed
    return {
        "type": "table", "title": title, "datasource": DS, "description": description,
        "targets": [target(expr, instant=True, table=True)],
        "transformations": [{"id": "organize", "options": organize}],
        "fieldConfig": {"defaults": {"custom": {"align": "auto", "cellOptions": {"type": "auto"}}},
                        "overrides": overrides or []},
        "options": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False},
                    "sortBy": [{"displayName": sort_by, "desc": False}]},
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

    def row(self, title: str, repeat: str = "") -> dict[str, Any]:
        """A row; with `repeat`, Grafana repeats it and the panels up to the next row per selected value."""
        if self.x:
            self.y, self.x, self.row_height = self.y + self.row_height, 0, 0
        panel: dict[str, Any] = {"type": "row", "title": title, "collapsed": False, "panels": []}
        if repeat:
            panel["repeat"] = repeat
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
                                     "thresholds": thresholds(("red", None), ("green", 1)),
                                     "links": [link("Checks of ${__field.labels.cluster}",
                                                    f"{SELF_URL}?var-cluster=${{__field.labels.cluster}}"
                                                    f"&${{environment:queryparam}}&${{__url_time_range}}")]},
                        "overrides": []},
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
    readiness = matrix_table(
        "Readiness by operation",
        "Per cluster and operation, whether PMM would run it now, as PBM's and PMM's code decide it "
        "(pmm_backup_prereq_operation_ready). UNKNOWN: a check that could block it could not be evaluated, or "
        "(physical operations of a logical cluster) it is not judged. A cell links to what blocks it.",
        READINESS_EXPR, "cluster", "operation",
        OPERATION_STATE, OPERATIONS,
        [link("What blocks ${__field.name} of ${__data.fields.cluster}",
              f"{SELF_URL}?var-cluster=${{__data.fields.cluster}}&var-operation=${{__field.name}}"
              f"&${{environment:queryparam}}&${{__url_time_range}}")])
    readiness["links"] = [link("MongoDB Backup Details (PMM): backup history, sizes, durations",
                               f"{BACKUP_DETAILS}?${{cluster:queryparam}}&${{environment:queryparam}}"
                               f"&${{__url_time_range}}")]
    out.append(lay.place(readiness, 12, 7))
    out.append(lay.place(label_table(
        "What blocks them",
        "Each failing check and the operations it blocks (pmm_backup_prereq_blocking), node-side checks included, "
        "nodes named by their PMM service. A failing check that blocks nothing is a warning, listed only in the "
        "matrix of checks by node. The operation filter comes from the readiness cell you followed.",
        f"max by (cluster, operation, check, member) ({by_member('pmm_backup_prereq_blocking', BLOCKS_SELECTOR)})",
        {"cluster": "cluster", "operation": "operation", "check": "check", "member": "node"}, "cluster"), 12, 7))
    out.append(lay.place(age_stat(
        "Last successful backup (PBM)",
        "Time since the newest backup PBM finished (mongodb_pbm_backup_last_transition_ts{status=\"done\"}), per "
        "cluster. " + PBM_COLLECTOR + " Its history: MongoDB Backup Details.",
        "cluster", f'mongodb_pbm_backup_last_transition_ts{{{SELECTOR}, status="done"}}', 86400, 172800), 12, 5))
    out.append(lay.place({
        "type": "stat", "title": "PITR (PBM)", "datasource": DS,
        "description": "Whether PBM's config has point-in-time recovery on (mongodb_pbm_cluster_pitr_backup_enabled),"
                       " per cluster. " + PBM_COLLECTOR + " When it is ON, the exporter judges the pitr operation "
                       "as part of Ready for backup.",
        "targets": [target(f"max by (cluster) (mongodb_pbm_cluster_pitr_backup_enabled{{{SELECTOR}}})", "{{cluster}}",
                           instant=True)],
        "fieldConfig": {"defaults": {"mappings": ON_OFF, "color": {"mode": "thresholds"},
                                     "thresholds": thresholds(("red", None), ("green", 1))}, "overrides": []},
        "options": stat_options("background", "value_and_name"),
    }, 12, 5))

    # Recoverability: what a restore could reach now, from PBM's catalogue (the exporter's recoverability metrics)
    out.append(lay.row("Recoverability"))
    seconds_series = {"unit": "s", "min": 0, "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                                                        "showPoints": "never"}}
    legend = {"legend": {"showLegend": True, "displayMode": "list", "placement": "bottom", "calcs": []},
              "tooltip": {"mode": "multi", "sort": "desc"}}
    out.append(lay.place({
        "type": "timeseries", "title": "RPO: what a restore now would lose", "datasource": DS,
        "description": "Cluster time minus the newest point a restore can reach (pmm_backup_prereq_rpo_seconds), "
                       "computed as `pbm status` computes PBM's PITR ranges: every shard and the config servers "
                       "intersected, from a usable backup on. Absent when nothing can be restored. Its target, and "
                       "where it came from, are in recovery_objectives_met (check, status page).",
        "targets": [target(f"max by (cluster) (pmm_backup_prereq_rpo_seconds{{{SELECTOR}}})", "{{cluster}}")],
        "fieldConfig": {"defaults": seconds_series, "overrides": []},
        "options": legend,
    }, 8, 7))
    out.append(lay.place({
        "type": "stat", "title": "Restorable window", "datasource": DS,
        "description": "From the oldest to the newest point a restore can reach now "
                       "(pmm_backup_prereq_restorable_oldest/newest_timestamp_seconds).",
        "targets": [target(f"max by (cluster) (pmm_backup_prereq_restorable_newest_timestamp_seconds{{{SELECTOR}}}) "
                           f"- max by (cluster) (pmm_backup_prereq_restorable_oldest_timestamp_seconds"
                           f"{{{SELECTOR}}})", "{{cluster}}", instant=True)],
        "fieldConfig": {"defaults": {"unit": "s", "color": {"mode": "fixed", "fixedColor": "text"}},
                        "overrides": []},
        "options": stat_options("value", "value_and_name"),
    }, 4, 7))
    out.append(lay.place({
        "type": "stat", "title": "PITR holes", "datasource": DS,
        "description": "Holes inside the span PBM's PITR chunks cover, over every shard and the config servers "
                       "(pmm_backup_prereq_pitr_gaps): a restore cannot reach into them. pitr_timeline_continuous "
                       "names each, with its replica set.",
        "targets": [target(f"max by (cluster) (pmm_backup_prereq_pitr_gaps{{{SELECTOR}}})", "{{cluster}}",
                           instant=True)],
        "fieldConfig": {"defaults": {"color": {"mode": "thresholds"},
                                     "thresholds": thresholds(("green", None), ("red", 1))}, "overrides": []},
        "options": stat_options("background", "value_and_name"),
    }, 4, 7))
    out.append(lay.place({
        "type": "stat", "title": "Last successful backup, by type", "datasource": DS,
        "description": "Time since the newest backup of each type that ended done, from PBM's catalogue "
                       "(pmm_backup_prereq_last_backup_timestamp_seconds{status=\"done\"}).",
        "targets": [target(f"time() - max by (cluster, type) (pmm_backup_prereq_last_backup_timestamp_seconds"
                           f"{{{SELECTOR}, status=\"done\"}})", "{{cluster}} {{type}}", instant=True)],
        "fieldConfig": {"defaults": {"unit": "s", "color": {"mode": "thresholds"},
                                     "thresholds": thresholds(("green", None), ("orange", 90000),
                                                              ("red", 180000))}, "overrides": []},
        "options": stat_options("value", "value_and_name"),
    }, 8, 7))
    out.append(lay.place({
        "type": "timeseries", "title": "Backup duration, by type", "datasource": DS,
        "description": "How long the newest successful backup of each type ran "
                       "(pmm_backup_prereq_last_backup_duration_seconds): its history is the trend.",
        "targets": [target(f"max by (cluster, type) (pmm_backup_prereq_last_backup_duration_seconds{{{SELECTOR}}})",
                           "{{cluster}} {{type}}")],
        "fieldConfig": {"defaults": seconds_series, "overrides": []},
        "options": legend,
    }, 12, 7))
    out.append(lay.place({
        "type": "timeseries", "title": "Backup size, by type", "datasource": DS,
        "description": "The size PBM recorded for the newest successful backup of each type "
                       "(pmm_backup_prereq_last_backup_size_bytes).",
        "targets": [target(f"max by (cluster, type) (pmm_backup_prereq_last_backup_size_bytes{{{SELECTOR}}})",
                           "{{cluster}} {{type}}")],
        "fieldConfig": {"defaults": {**seconds_series, "unit": "bytes"}, "overrides": []},
        "options": legend,
    }, 12, 7))

    # Per node: one cluster at a time (the row repeats per selected cluster), as PMM's per-node views are
    out.append(lay.row("Nodes of $cluster", repeat="cluster"))
    out.append(lay.place(matrix_table(
        "Checks by node",
        "Each backup prerequisite per node of this cluster, nodes named by their PMM service "
        "(pmm_backup_prereq_node_info). Absent: it could not be evaluated. The exporter's `check` command and its "
        "/runbooks/<check> pages say what each check verifies and how to fix it.",
        f"min by (check, member) ({by_member('pmm_backup_prereq_ok', NODE_SELECTOR)})", "check", "member",
        PASS_FAIL), 24, 10))
    out.append(lay.place({
        "type": "state-timeline", "title": "Check history: how long each check has failed", "datasource": DS,
        "targets": [target(f"min by (check, member) ({by_member('pmm_backup_prereq_ok', NODE_SELECTOR)})",
                           "{{check}} {{member}}")],
        **state_timeline(PASS_FAIL),
    }, 24, 12))
    out.append(lay.place(label_table(
        "Members in PMM",
        "Each member, the PMM service it is monitored as (pmm_backup_prereq_node_info), and links to PMM's MongoDB "
        "Instance Summary and ReplSet Summary. An empty service: no PMM service matches the member (see "
        "pmm_client_connected).",
        f"max by (replica_set, node, pmm_service, pmm_environment) (pmm_backup_prereq_node_info{{{NODE_SELECTOR}}})",
        {"replica_set": "replica set", "node": "node", "pmm_service": "PMM service", "pmm_environment": "environment"},
        "node", [{"matcher": {"id": "byName", "options": "PMM service"}, "properties": [
            {"id": "links", "value": [link(
                "MongoDB Instance Summary of ${__value.raw}",
                f"{INSTANCE_SUMMARY}?var-service_name=${{__value.raw}}&${{__url_time_range}}")]}]},
                 {"matcher": {"id": "byName", "options": "replica set"}, "properties": [
                     {"id": "links", "value": [link(
                         "MongoDB ReplSet Summary of ${__value.raw}",
                         f"{REPLSET_SUMMARY}?var-cluster=${{cluster}}&var-rs_nm=${{__value.raw}}"
                         f"&${{environment:queryparam}}&${{__url_time_range}}")]}]}]), 10, 8))
    out.append(lay.place({
        "type": "stat", "title": "pbm-agent status (PBM)", "datasource": DS,
        "description": "Each member's pbm-agent as PBM itself reports it (mongodb_pbm_agent_status, self=\"1\": "
                       "each service's own agent): OK, ERROR or LOST. " + PBM_COLLECTOR
                       + " The exporter's own verdict is pbm_agent_running in Checks by node.",
        "targets": [target(f'max by (service_name) (mongodb_pbm_agent_status{{{SELECTOR}, self="1"}})',
                           "{{service_name}}", instant=True)],
        "fieldConfig": {"defaults": {"mappings": AGENT_STATUS, "color": {"mode": "thresholds"},
                                     "thresholds": thresholds(("green", None), ("red", 1), ("semi-dark-red", 2)),
                                     "links": [link("MongoDB Instance Summary of ${__field.labels.service_name}",
                                                    f"{INSTANCE_SUMMARY}?var-service_name="
                                                    f"${{__field.labels.service_name}}&${{__url_time_range}}")]},
                        "overrides": []},
        "options": stat_options("background", "value_and_name"),
    }, 14, 8))
    out.append(lay.place(label_table(
        "PBM agent versions",
        "The PBM version each node's pbm-agent reports. PMM needs PBM 2.0.1 or newer, the same on every node; PBM "
        "2.10+ needs PMM 3.9+.",
        f"max by (replica_set, member, version) ({by_member('pmm_backup_prereq_pbm_agent_info', NODE_SELECTOR)})",
        {"replica_set": "replica set", "member": "node", "version": "PBM version"}, "node"), 10, 8))
    out.append(lay.place({
        "type": "timeseries", "title": "pbm-agent heartbeat age (lost past 30 s)", "datasource": DS,
        "description": "Age of each agent's last heartbeat by the cluster's clock. PBM calls an agent lost past "
                       "30 s.",
        "targets": [target(f"max by (member) "
                           f"({by_member('pmm_backup_prereq_pbm_agent_heartbeat_age_seconds', NODE_SELECTOR)})",
                           "{{member}}")],
        "fieldConfig": {"defaults": {
            "unit": "s", "min": 0, "color": {"mode": "palette-classic"},
            "thresholds": thresholds(("green", None), ("red", 30)),
            "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0, "showPoints": "never",
                       "thresholdsStyle": {"mode": "line+area"}}}, "overrides": []},
        "options": {"legend": {"showLegend": True, "displayMode": "table", "placement": "right",
                               "calcs": ["lastNotNull", "max"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
    }, 14, 8))
    out.append(lay.place({
        "type": "timeseries", "title": "Oplog window of the members PBM could slice PITR on", "datasource": DS,
        "description": "Seconds from the oldest to the newest entry of each member's oplog "
                       "(pmm_backup_prereq_oplog_window_seconds), read only with PITR on, on the members PBM could "
                       "nominate to slice. PBM's slicer needs the oplog of the member it runs on to still hold the "
                       "newest chunk's end: pitr_oplog_sufficient judges the headroom, warning under 3 slice spans.",
        "targets": [target(f"max by (member) "
                           f"({by_member('pmm_backup_prereq_oplog_window_seconds', NODE_SELECTOR)})", "{{member}}")],
        "fieldConfig": {"defaults": {
            "unit": "s", "min": 0, "color": {"mode": "palette-classic"},
            "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0, "showPoints": "never"}},
            "overrides": []},
        "options": {"legend": {"showLegend": True, "displayMode": "table", "placement": "right",
                               "calcs": ["lastNotNull", "min"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
    }, 24, 8))
    out.append(lay.place(label_table(
        "Backup storage mounts (node-check)",
        "What each node mounts at PBM's filesystem storage path (pmm_backup_prereq_storage_mount_info, from "
        "node-check's --storage-path): every node should name the same network or cluster file system source. A "
        "different source, or a local file system, means that node writes its own disk (see pbm_storage_shared "
        "and pbm_storage_path_writable).",
        f"max by (replica_set, member, path, fstype, source) "
        f"({by_member('pmm_backup_prereq_storage_mount_info', NODE_SELECTOR)})",
        {"replica_set": "replica set", "member": "node", "path": "path", "fstype": "file system",
         "source": "source"}, "node"), 24, 6))
    out.append(lay.place(age_stat(
        "Node-side checks age",
        "Time since each node's node-check timer last wrote its results (stale past 5 minutes).",
        "member", by_member("pmm_backup_prereq_node_check_timestamp_seconds", NODE_SELECTOR), 180, 300), 24, 5))

    out.append(lay.row("Probe health"))
    out.append(lay.place({
        "type": "state-timeline", "title": "Probes", "datasource": DS,
        "description": "Whether the exporter could read MongoDB and PMM Server for each cluster. While a probe "
                       "fails, the cluster's checks are absent rather than stale.",
        "targets": [target(f"min by (cluster, target) (pmm_backup_prereq_probe_success{{{SELECTOR}}})",
                           "{{cluster}} {{target}}")],
        **state_timeline(PASS_FAIL),
    }, 10, 8))
    out.append(lay.place(age_stat(
        "Data age", "Time since the last successful probe of each cluster; stale past 3 probe intervals.",
        "cluster", f"pmm_backup_prereq_last_probe_timestamp_seconds{{{SELECTOR}}}", 120, 180), 6, 8))
    out.append(lay.place({
        "type": "timeseries", "title": "Probe duration", "datasource": DS,
        "targets": [target(f"max by (cluster) (pmm_backup_prereq_probe_duration_seconds{{{SELECTOR}}})",
                           "{{cluster}}")],
        "fieldConfig": {"defaults": {"unit": "s", "min": 0, "custom": {"drawStyle": "line", "lineWidth": 1,
                                                                      "fillOpacity": 10, "showPoints": "never"}},
                        "overrides": []},
        "options": {"legend": {"showLegend": True, "displayMode": "list", "placement": "bottom", "calcs": []},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
    }, 8, 8))
    return out


# The metric names PMM's own dashboards take the environment list from (MongoDB_Backup_Details.json)
PMM_UP = 'pg_up|mysql_up|mongodb_up|proxysql_mysql_status_active_transactions'
# A cluster is listed under an environment when one of its members' PMM services is in it; a cluster none of
# whose members PMM knows (or whose probe never succeeded) is listed under every environment, so it never hides
CLUSTERS_OF_ENVIRONMENT = (
    'group by (cluster) (pmm_backup_prereq_node_info{pmm_environment=~"$environment", pmm_environment!=""}) or '
    '(group by (cluster) (pmm_backup_prereq_probe_success) unless on (cluster) '
    'pmm_backup_prereq_node_info{pmm_environment!=""})')


def variables() -> list[dict[str, Any]]:
    def query(name: str, label: str, definition: str, *, hide: int = 0, regex: str = "",
              all_value: str | None = ".*") -> dict[str, Any]:
        variable = {"name": name, "label": label, "type": "query", "datasource": DS, "definition": definition,
                    "query": {"query": definition, "refId": f"Metrics-{name}-Variable-Query"},
                    "includeAll": True, "multi": True, "current": {"text": "All", "value": "$__all"},
                    "refresh": 2, "sort": 5, "hide": hide, "regex": regex, "options": []}
        if all_value is not None:
            variable["allValue"] = all_value
        return variable

    return [
        # PMM provisions one Prometheus data source named Metrics; hidden, as PMM's dashboards hide theirs
        {"name": "ds", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {"text": "Metrics", "value": "Metrics"}, "hide": 2, "includeAll": False, "multi": False,
         "options": [], "refresh": 1, "regex": ""},
        query("environment", "Environment", f'label_values({{__name__=~"{PMM_UP}"}}, environment)'),
        # All is the list itself (no allValue), so that the environment's filter holds with All selected
        query("cluster", "Cluster", f"query_result({CLUSTERS_OF_ENVIRONMENT})", regex='/cluster="([^"]+)"/',
              all_value=None),
        query("replica_set", "Replica set",
              'label_values(pmm_backup_prereq_node_info{cluster=~"$cluster"}, replica_set)'),
        query("node", "Node", 'label_values(pmm_backup_prereq_node_info{cluster=~"$cluster", '
                              'replica_set=~"$replica_set"}, node)', hide=2),
        # for PMM's annotations (tagged with the service name) and links, as PMM's service_name variable
        query("service_name", "Service", 'label_values(pmm_backup_prereq_node_info{cluster=~"$cluster", '
                                         'replica_set=~"$replica_set"}, pmm_service)', hide=2),
        {"name": "operation", "label": "Operation", "type": "custom", "query": ",".join(OPERATIONS),
         "includeAll": True, "multi": True, "allValue": ".*", "current": {"text": "All", "value": "$__all"},
         "hide": 2, "options": [], "regex": ""},
    ]


def dashboard() -> dict[str, Any]:
    return {
        "annotations": {"list": [
            {"builtIn": 1, "datasource": {"type": "datasource", "uid": "grafana"}, "enable": True, "hide": False,
             "iconColor": "#e0752d", "limit": 100, "matchAny": True, "name": "PMM Annotations", "showIn": 0,
             "tags": ["pmm_annotation", "$service_name"],
             "target": {"limit": 100, "matchAny": True, "tags": ["pmm_annotation", "$service_name"],
                        "type": "tags"}, "type": "tags"},
            {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
             "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": "Whether PMM can back up and restore each MongoDB cluster now, per operation, check and node, "
                       "and what blocks it (pmm-backup-prereq-exporter).",
        "editable": False,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [],  # PMM 3 has no top links bar: panels link onward
        "panels": panels(),
        "refresh": "1m",
        "schemaVersion": 41,
        "tags": ["Percona", "MongoDB", "Backup"],
        "templating": {"list": variables()},
        "time": {"from": "now-12h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": "MongoDB Backup Prerequisites",
        "uid": UID,
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
