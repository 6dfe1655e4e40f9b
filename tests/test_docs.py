"""The README and docs/: every relative link points at a file of the repository, and every #anchor at a heading of
that file, as GitHub renders them; the README stays a short front door."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]


def links(tokens: list[Token]) -> list[str]:
    found = []
    for token in tokens:
        if token.type == "link_open":
            found.append(str(token.attrGet("href")))
        found += links(token.children or [])
    return found


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation other than - and _ dropped, spaces as hyphens."""
    headings = re.findall(r"^#{1,6} (.+?)\s*$", re.sub(r"```.*?```", "", path.read_text(), flags=re.S), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower().replace("`", "")).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_opens_a_file_and_a_heading(doc: Path) -> None:
    md = MarkdownIt("commonmark").enable("table")
    for href in links(md.parse(doc.read_text())):
        if re.match(r"^[a-z][a-z0-9+.-]*:", href):
            continue
        target, _, anchor = href.partition("#")
        path = (doc.parent / target).resolve() if target else doc
        assert path.exists() and path.is_relative_to(ROOT), f"{doc.name}: link {href!r}: no file {path}"
        if anchor:
            assert anchor in anchors(path), f"{doc.name}: link {href!r}: no such heading in {path.name}"


def test_the_anchor_rule_is_githubs() -> None:
    assert {"set-up-with-pmm-one-url-one-token-one-set-of-credentials", "systemd-vms-and-bare-metal",
            "in-pmm-registration-dashboard-and-alerts"} <= anchors(ROOT / "README.md")


def test_the_readme_is_a_front_door_and_the_reference_lives_in_docs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 420
    for doc in ("docs/configuration.md", "docs/checks.md", "docs/alerts.md", "docs/development.md"):
        assert f"]({doc}" in readme, doc
    # the per-check and per-alert sections live in docs/ only, where the runbook pages are made from
    assert not re.search(r"^### (pbm_agent_running|PMMBackupClusterNotReady)$", readme, flags=re.M)
