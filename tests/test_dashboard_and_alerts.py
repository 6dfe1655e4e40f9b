"""The shipped dashboard, alert rules and PMM templates, tested against promtool and the exporter's real output."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from exporter import alerting
from exporter.node.textfile import FILE_NAME
from pbm_pmm_simulator import SimReplicaSet, mongodb_exporter
from pbm_pmm_simulator.pmm_server import SimPMMServer
from tests.exporter_process import Exporter, write_config
from tests.repo_tools import tool
from tests.test_node_check import healthy_node

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "dashboards" / "pmm-backup-prerequisites.json"
RULES = ROOT / "alerts" / "prometheus" / "pmm-backup-prereq.rules.yml"
TEMPLATES = ROOT / "alerts" / "pmm" / "pmm-backup-prereq.templates.yml"
RULE_TESTS = ROOT / "alerts" / "tests" / "pmm-backup-prereq.test.yml"
# Grafana's variables as a query with "All" selected sends them
GRAFANA_VARIABLES = {"$environment": ".*", "$cluster": ".*", "$replica_set": ".*", "$node": ".*",
                     "$service_name": ".*", "$operation": ".*", "$__rate_interval": "1m", "$__interval": "1m",
                     "$__range": "12h"}


def promtool(*args: str) -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: install Debian's prometheus package (make test does)"
    result = subprocess.run([path, *args], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


DS = {"type": "prometheus", "uid": "${ds}"}


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def all_panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


# ---------------------------------------------------------------------------------------------------------
# generated files


def test_generated_files_match_their_sources() -> None:
    for path, text in tool("generate_alerts").generate().items():  # the copies in alerts/
        assert path.read_text() == text, f"{path} is stale: run python tools/generate_alerts.py"
    assert DASHBOARD.read_text() == tool("generate_dashboard").render(), "run python tools/generate_dashboard.py"


# ---------------------------------------------------------------------------------------------------------
# Prometheus rules


def test_rules_pass_promtool_check() -> None:
    assert "SUCCESS: 13 rules found" in promtool("check", "rules", str(RULES))


def test_rules_unit_tests_pass() -> None:
    assert "SUCCESS" in promtool("test", "rules", str(RULE_TESTS))


def test_every_alert_has_severity_summary_description_and_runbook() -> None:
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    assert {r["alert"] for r in rules} == {"PMMBackupPrerequisiteFailing", "PMMBackupClusterNotReady",
                                           "PMMBackupRestoreBlocked", "PMMBackupNoRestorePoint", "PMMBackupPITRHole",
                                           "PMMBackupPITRWillNotResume",
                                           "PMMBackupOplogInsufficient", "PMMBackupOplogHeadroomLow",
                                           "PMMBackupRecoveryObjectivesMissed", "PMMBackupPrereqProbeFailing",
                                           "PMMBackupPrereqDataStale", "PMMBackupPrereqExporterAbsent",
                                           "PMMBackupNodeCheckStale"}
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
        page = rule["annotations"]["runbook_url"].removeprefix(f"{alerting.DEFAULT_BASE}/runbooks/")
        # the per-check alert links to each check's own page, the others to their own (tests/test_runbooks.py
        # follows every link to a page the exporter serves)
        assert page == ("{{ $labels.check }}" if rule["alert"] == "PMMBackupPrerequisiteFailing" else rule["alert"])


# ---------------------------------------------------------------------------------------------------------
# PMM alert rule templates, parsed as strictly as PMM does (percona/saas pkg/alert: yaml KnownFields(true),
# Template.Validate, Parameter.Validate)

TEMPLATE_FIELDS = {"name", "version", "summary", "tiers", "expr", "params", "for", "severity", "labels",
                   "annotations"}
PARAM_FIELDS = {"name", "summary", "unit", "type", "range", "value"}
SEVERITIES = {"emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"}
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


class TemplateError(ValueError):
    pass


def parse_templates(text: str) -> list[dict[str, Any]]:
    templates = []
    for document in yaml.safe_load_all(text):
        if set(document) - {"templates"}:
            raise TemplateError(f"unknown top-level fields {set(document) - {'templates'}}")
        for template in document["templates"]:
            unknown = set(template) - TEMPLATE_FIELDS
            if unknown:
                raise TemplateError(f"{template.get('name')}: unknown fields {sorted(unknown)}")
            if template.get("version") != 1:
                raise TemplateError("version must be 1")
            for key in ("name", "summary", "expr"):
                if not isinstance(template.get(key), str) or not template[key]:
                    raise TemplateError(f"{key} is required")
            if template["name"].startswith(("pmm_", "saas_")):
                raise TemplateError("names starting with pmm_ or saas_ are reserved for PMM")
            if not DURATION.match(str(template.get("for", ""))):
                raise TemplateError("for must be a duration")
            if template.get("severity") not in SEVERITIES:
                raise TemplateError(f"severity {template.get('severity')!r}")
            for param in template.get("params", []):
                if set(param) - PARAM_FIELDS or not param.get("name") or not param.get("summary"):
                    raise TemplateError(f"parameter {param}")
                if param.get("unit", "") not in ("", "%", "s") or param.get("type") not in ("float", "bool", "string"):
                    raise TemplateError(f"parameter {param['name']}: unit or type")
                if param["type"] == "float" and "range" in param:
                    low, high = (float(v) for v in param["range"])
                    if not low <= float(param["value"]) <= high:
                        raise TemplateError(f"parameter {param['name']}: value outside its range")
            templates.append(template)
    return templates


def test_strict_template_parser_rejects_what_pmm_rejects() -> None:
    good = "templates:\n- {name: t, version: 1, summary: s, expr: up, for: 1m, severity: warning}\n"
    assert parse_templates(good)
    for bad in (good.replace("severity: warning", "severity: warning, category: mongodb"),
                good.replace("name: t", "name: pmm_t"), good.replace("version: 1", "version: 2"),
                good.replace("for: 1m", "for: soon"), good.replace("severity: warning", "severity: page")):
        with pytest.raises(TemplateError):
            parse_templates(bad)


def test_pmm_templates_parse_render_and_pass_promtool(tmp_path: Path) -> None:
    templates = parse_templates(TEMPLATES.read_text())
    assert [t["name"] for t in templates] == ["backup_prereq_failing", "backup_prereq_cluster_not_ready",
                                              "backup_prereq_restore_blocked", "backup_prereq_no_restore_point",
                                              "backup_prereq_pitr_hole", "backup_prereq_pitr_will_not_resume",
                                              "backup_prereq_oplog_insufficient", "backup_prereq_oplog_headroom_low",
                                              "backup_prereq_recovery_objectives_missed",
                                              "backup_prereq_probe_failing", "backup_prereq_data_stale",
                                              "backup_prereq_exporter_absent", "backup_prereq_node_check_stale"]
    rules = []
    for template in templates:
        values = {p["name"]: p["value"] for p in template.get("params", [])}
        expr = alerting.render(template["expr"], values)
        annotations = {k: alerting.render(v, values) for k, v in template["annotations"].items()}
        assert "[[" not in expr + json.dumps(annotations)
        rules.append({"alert": template["name"], "expr": expr, "for": template["for"],
                      "labels": {"severity": template["severity"], **template.get("labels", {})},
                      "annotations": annotations})
    rendered = tmp_path / "rendered.rules.yml"
    rendered.write_text(yaml.safe_dump({"groups": [{"name": "rendered-templates", "rules": rules}]}))
    assert "SUCCESS: 13 rules found" in promtool("check", "rules", str(rendered))
    # the templates say the same as the rules: same expressions once rendered
    prometheus = {r["expr"] for r in yaml.safe_load(RULES.read_text())["groups"][0]["rules"]}
    assert {r["expr"] for r in rules} == prometheus


# ---------------------------------------------------------------------------------------------------------
# dashboard


def test_dashboard_follows_pmm_conventions() -> None:
    board = dashboard()
    assert board["uid"] == "pmm-backup-prerequisites" and board["id"] is None
    assert set(board["tags"]) == {"Percona", "MongoDB", "Backup"}
    assert board["schemaVersion"] >= 39 and board["graphTooltip"] == 1
    assert board["links"] == []  # PMM 3 has no top links bar: panels link onward
    variables = {v["name"]: v for v in board["templating"]["list"]}
    # PMM's one data source, hidden as PMM's dashboards hide it
    assert variables["ds"]["type"] == "datasource" and variables["ds"]["query"] == "prometheus"
    assert variables["ds"]["current"]["value"] == "Metrics" and variables["ds"]["hide"] == 2
    # PMM's variables: the environment from PMM's own series, the clusters of that environment, a replica set,
    # and a hidden node
    assert list(variables)[:5] == ["ds", "environment", "cluster", "replica_set", "node"]
    assert variables["environment"]["definition"] == (
        'label_values({__name__=~"pg_up|mysql_up|mongodb_up|proxysql_mysql_status_active_transactions"}, '
        "environment)")
    assert "$environment" in variables["cluster"]["definition"] and "allValue" not in variables["cluster"]
    assert variables["node"]["hide"] == 2 and variables["service_name"]["hide"] == 2
    assert variables["replica_set"]["hide"] == 0
    for name, v in variables.items():
        if v["type"] == "query":
            assert v["refresh"] == 2 and v["includeAll"] and v["datasource"] == DS, name
    # PMM Annotations, so that `pmm-admin annotate` marks show
    [pmm_annotations] = [a for a in board["annotations"]["list"] if a["name"] == "PMM Annotations"]
    assert pmm_annotations["enable"] and pmm_annotations["tags"][0] == "pmm_annotation"
    assert pmm_annotations["target"]["tags"] == ["pmm_annotation", "$service_name"]
    panels = all_panels()
    assert not {p["type"] for p in panels} & {"graph", "table-old", "singlestat"}  # deprecated in current Grafana
    assert {"stat", "table", "state-timeline", "timeseries"} <= {p["type"] for p in panels}
    for panel in panels:
        assert panel["datasource"] == DS, panel["title"]
        assert all(t["datasource"] == panel["datasource"] for t in panel["targets"])
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24


def test_dashboard_value_texts_are_upper_case_as_pmms() -> None:
    texts = {m["text"] for p in all_panels() for mapping in p["fieldConfig"]["defaults"].get("mappings", [])
             for m in ([*mapping["options"].values()] if mapping["type"] == "value"
                       else [mapping["options"]["result"]])}
    assert texts >= {"READY", "BLOCKED", "UNKNOWN", "OK", "FAIL", "ON", "OFF", "LOST"}
    assert all(text == text.upper() for text in texts), texts


def rows() -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each row and the panels under it, as Grafana groups them (up to the next row)."""
    out: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for panel in dashboard()["panels"]:
        if panel["type"] == "row":
            out.append((panel, []))
        else:
            out[-1][1].append(panel)
    return out


def test_per_node_panels_see_one_cluster_each() -> None:
    """A per-node matrix over several clusters would merge their nodes and checks: every panel grouped by node but
    not by cluster is in the row Grafana repeats per selected cluster, and only those are."""
    for row, panels in rows():
        for panel in panels:
            groupings = [set(re.split(r",\s*", g)) for t in panel["targets"]
                         for g in re.findall(r"by \(([^)]*)\)", t["expr"])]
            per_node = any(g & {"member", "node", "service_name"} and "cluster" not in g for g in groupings)
            assert per_node == (row.get("repeat") == "cluster"), (row["title"], panel["title"])
    [repeated] = [row for row, _ in rows() if row.get("repeat")]
    assert "$cluster" in repeated["title"]


def test_links_go_to_pmms_dashboards_with_the_time_range() -> None:
    def panel_links(p: dict[str, Any]) -> list[dict[str, Any]]:
        overrides = [link for o in p["fieldConfig"]["overrides"] for prop in o["properties"]
                     if prop["id"] == "links" for link in prop["value"]]
        return [*p.get("links", []), *p["fieldConfig"]["defaults"].get("links", []), *overrides]

    links = [link for p in all_panels() for link in panel_links(p)]
    urls = [link["url"] for link in links]
    for prefix in ("/graph/d/mongodb-instance-summary/", "/graph/d/mongodb-replicaset-summary/",
                   "/graph/d/mongodb-backup-details/", "/graph/d/pmm-backup-prerequisites/"):
        assert any(url.startswith(prefix) for url in urls), prefix
    assert all("${__url_time_range}" in url for url in urls), urls
    # a readiness cell names its cluster (the matrix's row) and operation (its column)
    [readiness] = [p for p in all_panels() if p["title"] == "Readiness by operation"]
    [cell] = readiness["fieldConfig"]["defaults"]["links"]
    assert "var-cluster=${__data.fields.cluster}" in cell["url"] and "var-operation=${__field.name}" in cell["url"]
    renamed = [t["options"]["renameByName"] for t in readiness["transformations"] if t["id"] == "organize"]
    assert renamed == [{"cluster\\operation": "cluster"}]
    [blocks] = [p for p in all_panels() if p["title"] == "What blocks them"]
    assert 'operation=~"$operation"' in blocks["targets"][0]["expr"]


def test_pbm_panels_say_where_their_series_come_from_and_stand_alone() -> None:
    """PBM's own series (mongodb_exporter's, absent with an older PMM Client or before PBM has a config) are never
    mixed into our panels' queries: where they are missing, their panels are empty, and ours are unchanged."""
    for panel in all_panels():
        exprs = " ".join(t["expr"] for t in panel["targets"])
        if "mongodb_pbm_" in exprs:
            assert "mongodb_exporter's PBM collector" in panel["description"], panel["title"]
            assert "(PBM)" in panel["title"] and "pmm_backup_prereq_" not in exprs, panel["title"]
        else:
            assert "mongodb_" not in exprs, panel["title"]


def test_dashboard_loads_in_grafanas_schema_models() -> None:
    from grafana_foundation_sdk.cog import plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard, Panel

    plugins.register_default_plugins()
    parsed = Dashboard.from_json(dashboard())
    assert parsed.uid == "pmm-backup-prerequisites"
    typed = [p for p in parsed.panels or [] if isinstance(p, Panel)]
    assert len(typed) == len(all_panels())
    for panel in typed:
        # options and queries were parsed into the panel plugin's and Prometheus' own models
        module = type(panel.options).__module__.rsplit(".", 1)[-1]
        assert module == (panel.type_val or "").replace("-", ""), (panel.title, module)
        assert all(type(t).__module__.endswith(".prometheus") for t in panel.targets or [])


# ---------------------------------------------------------------------------------------------------------
# every expression against the exporter's real output


def substitute(expr: str) -> str:
    for name, value in sorted(GRAFANA_VARIABLES.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(name, value)
    return expr


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(where, PromQL, legend) of every panel target."""
    return [(panel["title"], substitute(t["expr"]), t.get("legendFormat", ""))
            for panel in all_panels() for t in panel["targets"]]


def alert_expressions() -> list[tuple[str, str, dict[str, str]]]:
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    return [(r["alert"], r["expr"], r["annotations"]) for r in rules]


@pytest.mark.parametrize(("where", "expr"), [(w, e) for w, e, _ in dashboard_queries()]
                         + [(w, e) for w, e, _ in alert_expressions()])
def test_every_expression_parses_as_promql(where: str, expr: str) -> None:
    promql_parser.parse(expr)


# The labels PMM gives a MongoDB service's exporter when it scrapes it (pmm-managed models.MergeLabels of node,
# service and agent; services/victoriametrics/scrape_configs.go)
PMM_TARGET_LABELS = {"node_id", "node_name", "node_type", "service_id", "service_name", "service_type", "cluster",
                     "environment", "replication_set", "agent_id", "agent_type", "instance", "job"}


class Labels:
    """What each metric of the exporter's real exposition carries."""

    def __init__(self, exposition: str, pmm_scraped: str = "") -> None:
        """`pmm_scraped`: what PMM's own exporters serve; PMM's scrape adds its target labels to those series."""
        self.by_metric: dict[str, set[str]] = {}
        for text, added in ((exposition, set()), (pmm_scraped, PMM_TARGET_LABELS)):
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    self.by_metric.setdefault(sample.name, set()).update({*sample.labels, *added})

    def of(self, node: Any, where: str) -> set[str]:
        """The labels the expression's result carries, asserting every selector, matcher and `by` is real."""
        kind = type(node).__name__
        if kind == "VectorSelector":
            matchers = [m for m in node.matchers.matchers if m.name != "__name__"]
            if node.name is None:  # {__name__=~"a|b"}: the labels of those of the names that exist
                [by_name] = [m for m in node.matchers.matchers if m.name == "__name__"]
                names = [n for n in self.by_metric if re.fullmatch(by_name.value, n)]
                assert names, f"{where}: no series named {by_name.value}"
                labels = set().union(*(self.by_metric[n] for n in names))
            else:
                assert node.name in self.by_metric, f"{where}: {node.name} is not in the exporter's output"
                labels = self.by_metric[node.name]
            for matcher in matchers:
                assert matcher.name in labels, f"{where}: {node.name} has no label {matcher.name}"
            return set(labels)
        if kind == "MatrixSelector":
            return self.of(node.vector_selector, where)
        if kind == "AggregateExpr":
            inner = self.of(node.expr, where)
            grouping = set(node.modifier.labels) if node.modifier else set()
            assert grouping <= inner, f"{where}: aggregation by {grouping - inner} that the series do not have"
            return grouping if node.modifier and "By" in str(node.modifier.type) else inner - grouping
        if kind == "BinaryExpr":
            return self.of(node.lhs, where) | self.of(node.rhs, where)
        if kind in ("ParenExpr", "UnaryExpr"):
            return self.of(node.expr, where)
        if kind == "Call":
            args = [self.of(a, where) for a in node.args if type(a).__name__ not in ("StringLiteral",
                                                                                       "NumberLiteral")]
            if node.func.name == "label_replace":
                return args[0] | {node.args[1].val}
            return set() if node.func.name in ("absent", "vector", "time") else (args[0] if args else set())
        return set()


@pytest.fixture(scope="module")
def exposition() -> Iterator[Labels]:
    """The exporter run as a user runs it, against a simulated cluster and PMM Server, scraped over HTTP."""
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    with SimReplicaSet() as rs, SimPMMServer(version="3.4.0", token="glsa_dashboardTest") as pmm:
        pmm.add_location_s3("s3-main", "pbm-backups", "https://s3.example", "AK", "SK")
        pmm.register_replica_set(rs, cluster="prod-rs")
        rs.pbm.start_backup()  # a finished backup, so that mongodb_exporter serves its backup series
        rs.pbm.finish_backup()
        rs.members[2].stop_agent(at=rs.cluster_time().time - 120)  # a failing check, so that blocking has series
        rs.pbm_config["pitr"] = {"enabled": True}  # PITR on, so that the oplog windows are read
        rs.pbm.start_pitr(since=rs.cluster_time().time - 1800)
        directory = tmp / f"dashboard-test-{os.getpid()}"
        directory.mkdir(exist_ok=True)
        config = write_config(directory, rs)
        with open(config, "a") as f:
            f.write(f"pmm:\n  url: {pmm.url}\n  token: glsa_dashboardTest\n")
        # what PMM also stores: a node-check's textfile, shipped by node_exporter
        node_root = healthy_node(directory / "node")
        textfile = directory / "textfile"
        textfile.mkdir()
        subprocess.run([sys.executable, "-m", "exporter", "node-check", "--root", str(node_root), "--cluster",
                        "prod-rs", "--node", rs.hosts[0], "--storage-path", "/mnt/pbm", "--textfile-dir",
                        str(textfile), "--output", "none"],
                       check=False, timeout=60)
        exporter = Exporter("--config", config)
        try:
            scraped = exporter.metrics_when(r"^pmm_backup_prereq_blocking\{")
            yield Labels(scraped + (textfile / FILE_NAME).read_text(), mongodb_exporter.exposition(rs, 0).decode())
        finally:
            exporter.terminate()
            shutil.rmtree(directory, ignore_errors=True)


def test_every_dashboard_query_uses_real_metrics_and_labels(exposition: Labels) -> None:
    for where, expr, legend in dashboard_queries():
        labels = exposition.of(promql_parser.parse(expr), where)
        for used in re.findall(r"\{\{\s*(\w+)\s*\}\}", legend):
            assert used in labels, f"{where}: legend uses {used}, which the query's result lacks"
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] != "query":
            continue
        match = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", variable["definition"])
        if match is None:  # query_result(expr), its values picked by the variable's regex /label="(...)"/
            match = re.fullmatch(r"query_result\((.*)\)()", variable["definition"])
            assert match, variable["definition"]
            wanted = re.fullmatch(r'/(\w+)="\(\[\^"\]\+\)"/', variable["regex"])
            assert wanted, variable["regex"]
            label = wanted.group(1)
        else:
            label = match.group(2)
        labels = exposition.of(promql_parser.parse(substitute(match.group(1))), variable["name"])
        assert label in labels, (variable["name"], labels)


def test_every_alert_uses_real_metrics_and_labels(exposition: Labels) -> None:
    for where, expr, notes in alert_expressions():
        labels = exposition.of(promql_parser.parse(expr), where)
        for text in notes.values():
            for used in re.findall(r"\$labels\.(\w+)", text):
                assert used in labels, f"{where}: annotation uses $labels.{used}, which the alert lacks"


def test_the_label_checker_catches_a_wrong_label(exposition: Labels) -> None:
    with pytest.raises(AssertionError, match="aggregation by"):
        exposition.of(promql_parser.parse("min by (service_name) (pmm_backup_prereq_ok)"), "test")
    with pytest.raises(AssertionError, match="not in the exporter's output"):
        exposition.of(promql_parser.parse("pmm_backup_prereq_nope"), "test")


def test_import_script_posts_the_dashboard_to_pmms_grafana() -> None:
    script = [sys.executable, str(ROOT / "tools" / "import_dashboard.py")]
    with SimPMMServer(version="3.4.0", token="glsa_importer") as pmm:
        pmm.add_token("glsa_viewer", "Viewer")
        env = {**os.environ, "PMM_TOKEN": "glsa_importer"}
        for attempt in (1, 2):  # a second import updates in place
            done = subprocess.run([*script, "--url", pmm.url], env=env, capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, done.stderr
            assert done.stdout == (f"imported 'MongoDB Backup Prerequisites' (version {attempt}): "
                                   f"{pmm.url}/graph/d/pmm-backup-prerequisites/mongodb-backup-prerequisites\n")
        assert pmm.dashboards["pmm-backup-prerequisites"]["panels"] == dashboard()["panels"]
        refused = subprocess.run([*script, "--url", pmm.url], env={**os.environ, "PMM_TOKEN": "glsa_viewer"},
                                 capture_output=True, text=True, timeout=30)
        assert refused.returncode == 1 and "needs the Editor or Admin role" in refused.stderr
        assert "glsa_" not in refused.stderr + done.stdout
