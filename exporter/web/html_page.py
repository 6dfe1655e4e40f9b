"""The HTML shell the exporter's pages share (the status page, the runbooks): one style sheet, no JavaScript,
readable on a phone."""

from __future__ import annotations

import html

from exporter import __version__

STYLE = """
:root{color-scheme:light dark;--ok:#1a7f37;--bad:#cf222e;--unk:#9a6700;--mute:#6e7781}
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;padding:12px;max-width:1100px}
h1{font-size:1.25em;margin:.2em 0 .6em}
section{border:1px solid #d0d7de;border-radius:8px;padding:10px 12px;margin:0 0 14px}
h2{font-size:1.1em;margin:0 0 .4em;display:flex;flex-wrap:wrap;gap:.5em;align-items:center}
.badge{border-radius:12px;padding:1px 10px;color:#fff;font-size:.85em;font-weight:600}
.badge.ready{background:var(--ok)}.badge.notready{background:var(--bad)}.badge.unknown{background:var(--unk)}
.meta{color:var(--mute);font-size:.9em;margin:.2em 0 .6em}
.error{color:var(--bad)}
ul.checks{list-style:none;padding:0;margin:.3em 0}
ul.checks li{border-left:4px solid var(--mute);padding:4px 8px;margin:6px 0;overflow-wrap:anywhere}
ul.checks li.fail{border-color:var(--bad)}ul.checks li.unknown{border-color:var(--unk)}
ul.checks li.pass{border-color:var(--ok)}
.check{font-weight:600}.node{font-family:ui-monospace,monospace;font-size:.9em}
.fix{display:block;margin-top:3px;padding:4px 6px;background:rgba(127,127,127,.12);border-radius:4px}
details summary{cursor:pointer;color:var(--mute)}
footer{color:var(--mute);font-size:.85em;margin-top:1em}
a.check{color:inherit}
.ops{display:flex;flex-wrap:wrap;gap:.3em .9em;margin:.1em 0 .4em;font-size:.9em}
.op .badge{font-size:.8em;padding:0 7px}
.blocks{display:block;margin-top:3px;font-weight:600;color:var(--bad)}.blocks.warn{color:var(--unk)}
ul.checks li.fail.warning{border-color:var(--unk)}
.runbook code{font-size:.9em;background:rgba(127,127,127,.12);padding:0 3px;border-radius:3px}
.runbook pre{background:rgba(127,127,127,.12);padding:6px 8px;border-radius:4px;overflow-x:auto}
.recoverability{font-size:.9em;margin:.2em 0 .4em;overflow-wrap:anywhere}
svg.window{display:block;width:100%;height:16px;margin-top:4px;background:rgba(127,127,127,.12);border-radius:3px}
.window-ends{display:flex;justify-content:space-between;margin:0}
.runbook table{border-collapse:collapse}.runbook td,.runbook th{border:1px solid #d0d7de;padding:3px 6px}
"""


def document(title: str, body: str, footer_links: str, refresh: int | None = None) -> str:
    """A whole page; `body` and `footer_links` are HTML already escaped by the caller."""
    e = html.escape
    meta = f"<meta http-equiv='refresh' content='{refresh}'>" if refresh else ""
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'>{meta}<title>{e(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{e(title)}</h1>{body}"
            f"<footer>pmm-backup-prereq-exporter {e(__version__)} · {footer_links}</footer></body></html>")
