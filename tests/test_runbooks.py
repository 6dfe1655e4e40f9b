"""Runbooks: every check and alert has a page the exporter serves, generated from docs/, and every runbook link in the
alert rules, the PMM templates, the status page and the runbook pages opens a page that exists."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import yaml

from exporter import alerting
from exporter.checks.registry import CHECKS
from exporter.cli.main import main
from exporter.node.checks import NODE_CHECKS
from exporter.web.runbooks import runbooks
from pbm_pmm_simulator import SimReplicaSet
from tests.exporter_process import Exporter, write_config
from tests.test_dashboard_and_alerts import tool

ROOT = Path(__file__).resolve().parent.parent
ALL_CHECKS = list(dict.fromkeys([*CHECKS, *NODE_CHECKS]))  # containerized_node is judged on both sides
ALERTS = [a["alert"] for a in alerting.source()["alerts"]]


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value for name, value in attrs if tag == "a" and name == "href" and value]


def hrefs(page: str) -> list[str]:
    parser = Links()
    parser.feed(page)
    return parser.hrefs


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


# ---------------------------------------------------------------------------------------------------------
# the pages and their source


def test_the_served_pages_are_the_docs_sections() -> None:
    generated = tool("generate_runbooks").generate()
    assert (ROOT / "exporter" / "web" / "runbooks" / "pages.json").read_text() == generated, \
        "docs/ changed: run python tools/generate_runbooks.py"


def test_every_check_and_alert_has_a_runbook() -> None:
    pages = runbooks()
    assert [n for n, p in pages.items() if p.kind == "check"] == ALL_CHECKS
    assert [n for n, p in pages.items() if p.kind == "alert"] == ALERTS
    for name, page in pages.items():
        assert page.summary and page.html.startswith("<p>"), name


def test_a_missing_section_or_a_dangling_link_stops_the_generator(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    generator = tool("generate_runbooks")
    checks = (ROOT / "docs" / "checks.md").read_text()
    broken = tmp_path / "checks.md"
    broken.write_text(checks.replace("### pbm_installed\n", "### pbm_installed_typo\n"))
    monkeypatch.setitem(generator.SOURCES, "check", broken)
    with pytest.raises(generator.RunbookError, match=r"checks\.md: no `### pbm_installed` section"):
        generator.generate()
    broken.write_text(checks.replace("*Per node.* The node is a healthy member",
                                     "*Per node.* See [the config](configuration.md#sharded-clusters). The node"))
    with pytest.raises(generator.RunbookError, match=r"checks\.md:\d+: link 'configuration.md#sharded-clusters' is "
                                                     r"neither absolute nor to another runbook"):
        generator.generate()
    # a link to another runbook, as GitHub anchors it, becomes a link to that page
    broken.write_text(checks.replace("*Per node.* The node is a healthy member",
                                     "*Per node.* See [the alert](alerts.md#pmmbackupclusternotready). The node"))
    assert 'href=\\"PMMBackupClusterNotReady\\"' in generator.generate()


# ---------------------------------------------------------------------------------------------------------
# every link opens a page


@pytest.fixture(scope="module")
def exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exporter]:
    with SimReplicaSet() as rs:
        rs.members[2].stop_agent(at=rs.cluster_time().time - 120)  # pbm_agent_running fails, with its fix
        process = Exporter("--config", write_config(tmp_path_factory.mktemp("runbooks"), rs))
        try:
            process.metrics_when(r'^pmm_backup_prereq_ok\{check="pbm_agent_running".*\} 0', timeout=60)
            yield process
        finally:
            process.terminate()


def runbook_links(document: dict[str, object], key: str) -> list[str]:
    rules = document["groups"][0]["rules"] if key == "rules" else document["templates"]  # type: ignore[index]
    return [rule["annotations"]["runbook_url"] for rule in rules]  # type: ignore[index]


def expand(url: str) -> list[str]:
    """The per-check alert's link, {{ $labels.check }}, for every check it can carry."""
    return [url.replace("{{ $labels.check }}", check) for check in ALL_CHECKS] if "{{" in url else [url]


@pytest.mark.parametrize("name,key", [(alerting.RULES_FILE, "rules"), (alerting.TEMPLATES_FILE, "templates")])
def test_every_runbook_link_in_the_served_alert_files_opens_a_page(exporter: Exporter, name: str, key: str) -> None:
    base = f"http://127.0.0.1:{exporter.port}"  # the default external URL: the address listened on
    document = yaml.safe_load(exporter.get(f"/alerts/{name}"))
    links = runbook_links(document, key)
    assert len(links) == len(ALERTS) and all(link.startswith(f"{base}/runbooks/") for link in links), links
    opened = set()
    for url in (u for link in links for u in expand(link)):
        status, page = fetch(url)
        assert status == 200, url
        title = re.search(r"<title>(.*?)</title>", page)
        assert title and title.group(1) == url.rsplit("/", 1)[1], url
        opened.add(url.rsplit("/", 1)[1])
    assert opened == set(ALL_CHECKS) | set(ALERTS) - {"PMMBackupPrerequisiteFailing"}
    if key == "templates":  # the link also ends the description, for notifications that show only that
        for annotations in (template["annotations"] for template in document["templates"]):
            assert annotations["description"].endswith(f" Runbook: {annotations['runbook_url']}")


def test_the_copies_in_the_repository_link_the_same_pages(exporter: Exporter) -> None:
    for path, key in ((ROOT / "alerts" / "prometheus" / alerting.RULES_FILE, "rules"),
                      (ROOT / "alerts" / "pmm" / alerting.TEMPLATES_FILE, "templates")):
        for link in runbook_links(yaml.safe_load(path.read_text()), key):
            assert link.startswith(f"{alerting.DEFAULT_BASE}/runbooks/"), link
            for url in expand(link):
                status, _ = fetch(url.replace(alerting.DEFAULT_BASE, f"http://127.0.0.1:{exporter.port}"))
                assert status == 200, (path.name, url)


def test_every_link_on_the_status_page_and_the_runbooks_opens(exporter: Exporter) -> None:
    start = f"http://127.0.0.1:{exporter.port}/"
    seen: set[str] = set()
    todo = [start]
    while todo:  # every page reachable from the status page, once
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        status, page = fetch(url)
        assert status == 200, url
        if urlsplit(url).path in ("/metrics", "/api/status"):
            continue
        for href in hrefs(page):
            assert not href.startswith("/") and "://" not in href, (url, href)  # relative: works under a prefix
            todo.append(urljoin(url, href))
    visited = {urlsplit(u).path for u in seen}
    # the failing check links to its runbook; the index links every page
    assert "/runbooks/pbm_agent_running" in visited
    assert {f"/runbooks/{name}" for name in [*ALL_CHECKS, *ALERTS]} <= visited
    status_page = fetch(start)[1]
    failing = re.search(r'<li class="fail"><a class="check" href="runbooks/pbm_agent_running">pbm_agent_running</a>',
                        status_page)
    assert failing, status_page


def test_runbook_pages_say_what_the_docs_say(exporter: Exporter) -> None:
    _, page = fetch(f"http://127.0.0.1:{exporter.port}/runbooks/pbm_agent_running")
    assert "<code>hb + 30 s &lt; cluster time</code>" in page  # a phrase of docs/checks.md, rendered
    _, page = fetch(f"http://127.0.0.1:{exporter.port}/runbooks/PMMBackupNodeCheckStale")
    assert "<code>systemctl status pmm-backup-prereq-node-check.timer</code>" in page
    status, _ = fetch(f"http://127.0.0.1:{exporter.port}/runbooks/no_such_check")
    assert status == 404
    # /runbooks without its slash: a relative redirect, so a path prefix in front of the exporter is kept
    request = urllib.request.Request(f"http://127.0.0.1:{exporter.port}/runbooks")
    opener = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                              {"redirect_request": lambda *a, **k: None}))
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(request, timeout=10)
    assert redirect.value.code == 301 and redirect.value.headers["Location"] == "runbooks/"


# ---------------------------------------------------------------------------------------------------------
# --web.external-url


def test_the_external_url_is_the_base_of_the_served_runbook_links(tmp_path: Path) -> None:
    with SimReplicaSet() as rs:
        process = Exporter("--config", write_config(tmp_path, rs), "--web.external-url",
                           "https://pmm.example.com/backup-prereq/")
        try:
            rules = yaml.safe_load(process.get(f"/alerts/{alerting.RULES_FILE}"))
            templates = yaml.safe_load(process.get(f"/alerts/{alerting.TEMPLATES_FILE}"))
        finally:
            process.terminate()
    for link in runbook_links(rules, "rules") + runbook_links(templates, "templates"):
        assert link.startswith("https://pmm.example.com/backup-prereq/runbooks/"), link


@pytest.mark.parametrize("url,says", [
    ("ftp://pmm.example.com/", "expected an http:// or https:// URL"),
    ("pmm.example.com:9787", "expected an http:// or https:// URL"),
    ("http://pmm.example.com:port/", "the port is not a number"),
    ("https://admin:hunter2@pmm.example.com/", "no credentials, query or fragment"),
    ("https://pmm.example.com/?a=b", "no credentials, query or fragment"),
])
def test_a_bad_external_url_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str,
                                             says: str) -> None:
    config = tmp_path / "exporter.yml"
    config.write_text("clusters:\n  - name: a\n    uri: mongodb://db1:27017/?replicaSet=rs0\n")
    assert main(["--config", str(config), "--web.external-url", url]) == 2
    err = capsys.readouterr().err
    assert "--web.external-url" in err and says in err and "Traceback" not in err
    assert "hunter2" not in err
