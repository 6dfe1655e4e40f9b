"""The status page at `/`: per cluster, readiness at a glance, then what fails with its fix, then the rest folded
away. Plain server-rendered HTML and a little CSS: no JavaScript, readable on a phone."""

from __future__ import annotations

import html
import time

from exporter.model.pbm_timeline import Recoverability, utc
from exporter.readiness.cluster_readiness import describe_blocks
from exporter.report.recoverability import recoverability_line
from exporter.results.check_result import CheckResult, Status
from exporter.snapshots.cluster_snapshot import ClusterSnapshot, DiscoveryStatus
from exporter.web.html_page import document
from exporter.web.runbooks import has_runbook

_BADGE = {True: ("READY", "ready"), False: ("NOT READY", "notready"), None: ("UNKNOWN", "unknown")}
_OPERATION = {True: ("READY", "ready"), False: ("BLOCKED", "notready"), None: ("UNKNOWN", "unknown")}


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
    if result.status is Status.FAIL or result.rules_out:
        muted = " warn" if result.warning or result.rules_out else ""
        fix = f'<span class="blocks{muted}">{e(describe_blocks(result))}</span>{fix}'
    name = f'<span class="check">{e(result.check)}</span>'
    if has_runbook(result.check):
        name = f'<a class="check" href="runbooks/{e(result.check)}">{e(result.check)}</a>'
    css = f"{result.status.value} warning" if result.warning else result.status.value
    return f'<li class="{css}">{name}{where}{rs}<br>{e(result.reason)}{fix}</li>'


def _window_bar(rec: Recoverability) -> str:
    """The restorable window as a picture (inline SVG, no JavaScript): from the oldest restorable point to the
    cluster time, PITR ranges a backup starts in green, ranges without a base in grey, holes in red, and a tick at
    each usable backup; each part names its span on hover."""
    window = rec.window
    if window is None or window.oldest is None or rec.now is None:
        return ""
    lo = min([window.oldest] + [r.start for r in window.ranges])
    hi = max([rec.now] + [r.end for r in window.ranges])
    if hi <= lo:
        return ""

    def x(t: int) -> float:
        return round(1000 * (t - lo) / (hi - lo), 1)

    def rect(start: int, end: int, fill: str, what: str) -> str:
        return (f'<rect x="{x(start)}" y="2" width="{max(1.0, x(end) - x(start))}" height="12" fill="{fill}">'
                f"<title>{html.escape(what)} {utc(start)} to {utc(end)}</title></rect>")

    parts = [rect(r.start, r.end, "#1a7f37" if r.base else "#8c959f",
                  f"restorable from backup {r.base}:" if r.base else "no base snapshot:") for r in window.ranges]
    parts += [rect(g.start, g.end, "#cf222e", "PITR hole:") for g in window.gaps]
    parts += [f'<rect x="{x(p)}" y="0" width="2" height="16" fill="currentColor"><title>backup, restorable to '
              f"{utc(p)}</title></rect>" for p in window.points]
    return (f'<svg class="window" viewBox="0 0 1002 16" preserveAspectRatio="none" role="img" '
            f'aria-label="restorable window">{"".join(parts)}</svg>'
            f'<div class="meta window-ends"><span>{utc(lo)}</span><span>now</span></div>')


def _recoverability(snap: ClusterSnapshot) -> str:
    rec = snap.recoverability if snap.probe_success else None
    if rec is None:
        return ""
    e = html.escape
    return f'<div class="recoverability"><b>Recoverability:</b> {e(recoverability_line(rec))}{_window_bar(rec)}</div>'


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
    operations = "".join(f'<span class="op"><span class="badge {_OPERATION[state][1]}">{_OPERATION[state][0]}</span> '
                         f'{e(op)}</span>' for op, state in snap.operations.items())
    scope = f"{snap.backup_mode} backups{' and PITR' if snap.pitr_enabled else ''}"
    parts = [f'<section id="cluster-{e(snap.cluster)}"><h2>{e(snap.cluster)}{source} '
             f'<span class="badge {css}">{label}</span> <small>for {e(scope)}</small></h2>',
             f'<div class="ops">{operations}</div>', _recoverability(snap),
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
    # relative links: the page also works behind a proxy that serves the exporter under a path prefix
    return document("PMM backup prerequisites", f"<p class='meta'>{summary}</p>{body}",
                    "<a href='metrics'>metrics</a> · <a href='api/status'>status as JSON</a> · "
                    "<a href='runbooks/'>runbooks</a>", refresh=30)
