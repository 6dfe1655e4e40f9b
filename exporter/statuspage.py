"""The status page at `/`: per cluster, readiness at a glance, then what fails with its fix, then the rest folded
away. Plain server-rendered HTML and a little CSS: no JavaScript, readable on a phone."""

from __future__ import annotations

import html
import time

from exporter import __version__
from exporter.checks import Status
from exporter.checks.results import CheckResult
from exporter.snapshot import ClusterSnapshot, DiscoveryStatus

_STYLE = """
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
footer{color:var(--mute);font-size:.85em}
"""
_BADGE = {True: ("READY", "ready"), False: ("NOT READY", "notready"), None: ("UNKNOWN", "unknown")}


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def _item(result: CheckResult) -> str:
    e = html.escape
    where = f' <span class="node">{e(result.node)}</span>' if result.node else ""
    rs = f' <span class="node">({e(result.replica_set)})</span>' if result.replica_set else ""
    fix = f'<span class="fix">Fix: {e(result.fix)}</span>' if result.fix and result.status is Status.FAIL else ""
    return (f'<li class="{result.status.value}"><span class="check">{e(result.check)}</span>{where}{rs}<br>'
            f"{e(result.reason)}{fix}</li>")


def _cluster(snap: ClusterSnapshot, now: float) -> str:
    e = html.escape
    label, css = _BADGE[snap.ready]
    source = " <small>(from PMM)</small>" if snap.source == "pmm" else ""
    meta = []
    if snap.last_success_timestamp is not None:
        meta.append(f"data from {_ago(now - snap.last_success_timestamp)}")
    meta.append(f"probe took {snap.probe_duration:.2f} s")
    if snap.pmm is not None:
        meta.append(f"PMM {e(snap.pmm.version)}" if snap.pmm.success else "PMM unreadable")
    errors = []
    if not snap.probe_success:
        errors.append(f'<p class="error">MongoDB probe failed: {e(snap.probe_error)}</p>')
    if snap.pmm is not None and not snap.pmm.success:
        errors.append(f'<p class="error">PMM Server: {e(snap.pmm.error)}</p>')
    failing = [r for r in snap.results if r.status is Status.FAIL]
    unknown = [r for r in snap.results if r.status is Status.UNKNOWN]
    passing = [r for r in snap.results if r.status is Status.PASS]
    skipped = [r for r in snap.results if r.status is Status.SKIPPED]
    parts = [f'<section id="cluster-{e(snap.cluster)}"><h2>{e(snap.cluster)}{source} '
             f'<span class="badge {css}">{label}</span></h2>',
             f'<div class="meta">{" · ".join(meta)}</div>', *errors]
    if failing:
        parts.append(f'<h3>Failing ({len(failing)})</h3><ul class="checks">{"".join(map(_item, failing))}</ul>')
    if unknown:
        parts.append(f'<h3>Could not be evaluated ({len(unknown)})</h3><ul class="checks">'
                     f'{"".join(map(_item, unknown))}</ul>')
    if passing:
        parts.append(f'<details><summary>Passing ({len(passing)})</summary><ul class="checks">'
                     f'{"".join(map(_item, passing))}</ul></details>')
    if skipped:
        reasons = sorted({r.reason for r in skipped})
        parts.append(f'<details><summary>Skipped ({len(skipped)})</summary><p class="meta">'
                     f'{"<br>".join(e(r) for r in reasons)}</p></details>')
    parts.append("</section>")
    return "".join(parts)


def render_status_page(snapshots: list[ClusterSnapshot], discovery: DiscoveryStatus | None,
                       now: float | None = None) -> str:
    now = time.time() if now is None else now
    e = html.escape
    ready = sum(1 for s in snapshots if s.ready is True)
    summary = f"{ready} of {len(snapshots)} cluster{'s' if len(snapshots) != 1 else ''} ready for backup"
    if discovery is not None:
        summary += (f" · {discovery.clusters} discovered from PMM" if discovery.success
                    else f' · <span class="error">discovery from PMM failed: {e(discovery.error)}</span>')
    body = "".join(_cluster(s, now) for s in sorted(snapshots, key=lambda s: (s.ready is not False, s.cluster)))
    if not snapshots:
        body = "<p>No probe has finished yet.</p>"
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            "<meta http-equiv='refresh' content='30'><title>PMM backup prerequisites</title>"
            f"<style>{_STYLE}</style></head><body><h1>PMM backup prerequisites</h1>"
            f"<p class='meta'>{summary}</p>{body}"
            f"<footer>pmm-backup-prereq-exporter {e(__version__)} · <a href='/metrics'>metrics</a> · "
            f"<a href='/api/status'>status as JSON</a></footer></body></html>")
