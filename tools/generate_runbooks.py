#!/usr/bin/env python3
"""Write the runbook pages the exporter serves at /runbooks/ from the docs they are written in.

    python tools/generate_runbooks.py [--check]

Each check's `### <check>` section of docs/checks.md and each alert's `### <Alert>` section of docs/alerts.md
becomes one page, rendered with markdown-it-py into exporter/web/runbooks/pages.json. Every check the exporter and
node-check run, and every alert, must have a section; a link in a section must be absolute or point at another
runbook. --check only compares (exit 1 on drift), as the test suite does.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporter import alerting  # noqa: E402  (after the path: the tool runs from a checkout, not installed)
from exporter.checks.registry import CHECKS  # noqa: E402
from exporter.node.checks import NODE_CHECKS  # noqa: E402

OUTPUT = ROOT / "exporter" / "web" / "runbooks" / "pages.json"
SOURCES = {"check": ROOT / "docs" / "checks.md", "alert": ROOT / "docs" / "alerts.md"}
HEADING = re.compile(r"^(#{1,3})\s+(.*?)\s*$")


class RunbookError(ValueError):
    pass


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def expected() -> dict[str, list[str]]:
    checks = list(dict.fromkeys([*CHECKS, *NODE_CHECKS]))  # containerized_node is judged on both sides
    return {"check": checks, "alert": [a["alert"] for a in alerting.source()["alerts"]]}


def sections(path: Path, names: set[str]) -> dict[str, tuple[int, str]]:
    """{name: (line, markdown body)} of each `### name` section; a section ends at the next heading of level 1-3."""
    found: dict[str, tuple[int, str]] = {}
    current: str | None = None
    start, body, fenced = 0, [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        if match:
            if current is not None:
                found[current] = (start, "\n".join(body).strip() + "\n")
            current = match.group(2) if len(match.group(1)) == 3 and match.group(2) in names else None
            if current in found:
                raise RunbookError(f"{shown(path)}:{number}: a second section for {current}")
            start, body = number, []
        elif current is not None:
            body.append(line)
    if current is not None:
        found[current] = (start, "\n".join(body).strip() + "\n")
    return found


def _links(tokens: list[Token]) -> list[Token]:
    out = []
    for token in tokens:
        if token.type == "link_open":
            out.append(token)
        if token.children:
            out += _links(token.children)
    return out


def _plain(tokens: list[Token]) -> str:
    return "".join(" " if t.type in ("softbreak", "hardbreak") else t.content if t.type in ("text", "code_inline")
                   else _plain(t.children or []) for t in tokens)


def render_page(md: MarkdownIt, where: str, body: str, pages: dict[str, str]) -> tuple[str, str]:
    """(html, summary): links to another runbook (`#name`, `checks.md#name`, ...) become that page's name."""
    tokens = md.parse(body)
    for link in _links(tokens):
        href = str(link.attrGet("href") or "")
        if re.match(r"^[a-z][a-z0-9+.-]*:", href):  # absolute: https:, mailto:
            continue
        anchor = href.split("#", 1)[1] if "#" in href else ""
        if anchor.lower() not in pages:
            raise RunbookError(f"{where}: link {href!r} is neither absolute nor to another runbook")
        link.attrSet("href", pages[anchor.lower()])
    first = next((tokens[i + 1] for i, t in enumerate(tokens) if t.type == "paragraph_open"), None)
    words = list(first.children or []) if first else []
    if words and words[0].type == "em_open":  # the scope, such as *Per node.*, is not the summary
        words = words[next(i for i, t in enumerate(words) if t.type == "em_close") + 1:]
    summary = re.split(r"(?<=\.)\s(?=[A-Z`])", _plain(words).strip(), maxsplit=1)[0]
    return md.renderer.render(tokens, md.options, {}), summary


def generate() -> str:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    wanted = expected()
    anchors = {name.lower(): name for names in wanted.values() for name in names}  # GitHub lowercases anchors
    pages: dict[str, Any] = {}
    problems = []
    for kind, path in SOURCES.items():
        found = sections(path, set(wanted[kind]))
        problems += [f"{shown(path)}: no `### {name}` section" for name in wanted[kind] if name not in found]
        for name in wanted[kind]:
            if name in found:
                line, body = found[name]
                where = f"{shown(path)}:{line}"
                try:
                    html, summary = render_page(md, where, body, anchors)
                except RunbookError as exc:
                    problems.append(str(exc))
                    continue
                pages[name] = {"kind": kind, "source": where.split(":")[0], "summary": summary, "html": html}
    if problems:
        raise RunbookError("\n".join(problems))
    return json.dumps({"generated_by": "tools/generate_runbooks.py", "pages": pages}, indent=1,
                      ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when the pages are out of date")
    args = parser.parse_args()
    try:
        text = generate()
    except RunbookError as exc:
        print(f"generate_runbooks: {exc}", file=sys.stderr)
        return 1
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{shown(OUTPUT)} is out of date: run python tools/generate_runbooks.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {shown(OUTPUT)} ({len(json.loads(text)['pages'])} pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
