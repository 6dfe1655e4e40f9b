"""The runbook pages served at /runbooks/: one per check and per alert, what it means and how to fix it.

The text is docs/checks.md's and docs/alerts.md's, rendered by tools/generate_runbooks.py into pages.json beside
this file (the test suite fails when the two drift apart), so the docs and the pages say the same thing. Links are
relative, so the pages also work behind a proxy that serves the exporter under a path prefix.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from exporter.web.html_page import document

_KINDS = {"check": "Checks", "alert": "Alerts"}


@dataclass(frozen=True, slots=True)
class Runbook:
    name: str
    kind: str  # check | alert
    source: str  # the docs file it comes from
    summary: str
    html: str


@cache
def runbooks() -> dict[str, Runbook]:
    """Every runbook, in the docs' order."""
    text = resources.files(__package__).joinpath("pages.json").read_text(encoding="utf-8")
    return {name: Runbook(name, page["kind"], page["source"], page["summary"], page["html"])
            for name, page in json.loads(text)["pages"].items()}


def has_runbook(name: str) -> bool:
    return name in runbooks()


def render_runbook(name: str) -> str | None:
    """The page of one runbook, None when there is no such runbook."""
    book = runbooks().get(name)
    if book is None:
        return None
    e = html.escape
    body = (f"<p class='meta'>{e(_KINDS[book.kind][:-1].lower())} · from {e(book.source)}</p>"
            f"<section class='runbook'>{book.html}</section>")
    return document(book.name, body, "<a href='./'>all runbooks</a> · <a href='../'>status page</a>")


def render_index() -> str:
    e = html.escape
    parts = []
    for kind, title in _KINDS.items():
        items = "".join(f"<li><a class='check' href='{e(b.name)}'>{e(b.name)}</a><br>{e(b.summary)}</li>"
                        for b in runbooks().values() if b.kind == kind)
        parts.append(f"<section><h2>{title}</h2><ul class='checks'>{items}</ul></section>")
    return document("Runbooks", "".join(parts), "<a href='../'>status page</a>")
