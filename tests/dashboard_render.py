"""The shipped dashboard drawn from its own queries' answers, for the README's picture and for a test that reads
it as a person would: Grafana cannot run on these machines, so this draws what its panels would show (stat tiles,
the groupingToMatrix tables, plain tables, state timelines, time series) with Grafana's dark colours, at the
dashboard's own grid positions, value mappings and thresholds. Headless Chromium photographs the page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

Series = list[dict[str, Any]]
# Grafana's named colours (packages/grafana-data/src/themes/colors), dark theme
COLOURS = {"green": "#73BF69", "red": "#F2495C", "orange": "#FF9830", "semi-dark-red": "#C4162A",
           "dark-green": "#37872D", "text": "#ccccdc"}
PALETTE = ["#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2", "#B877D9"]
ROW_PX = 30  # Grafana's grid: 30 px a unit of height, 24 columns


def colour(name: str | None) -> str:
    return COLOURS.get(name or "", name or COLOURS["text"])


def legend(template: str, labels: dict[str, str]) -> str:
    if template in ("", "__auto"):
        return ", ".join(f"{k}={v}" for k, v in labels.items() if k != "__name__")
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)


def shown(value: float | None, defaults: dict[str, Any]) -> tuple[str, str]:
    """(text, colour) of a value through the field's mappings, else its unit and thresholds."""
    for mapping in defaults.get("mappings", []):
        options = mapping["options"]
        if mapping["type"] == "value" and value is not None and str(int(value)) in options and value == int(value):
            hit = options[str(int(value))]
            return hit["text"], colour(hit.get("color"))
        if mapping["type"] == "special" and value is None and options.get("match") == "null":
            return options["result"]["text"], colour(options["result"].get("color"))
    if value is None:
        return "", COLOURS["text"]
    steps = defaults.get("thresholds", {}).get("steps", [])
    hue = next((s["color"] for s in reversed(steps) if s["value"] is None or value >= s["value"]), "text")
    return (duration(value) if defaults.get("unit") == "s" else f"{value:g}"), colour(hue)


def duration(seconds: float) -> str:
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "min")):
        if seconds >= size:
            count = seconds / size
            return f"{count:.1f} {unit}{'s' if unit != 'min' and count >= 2 else ''}"
    return f"{seconds:.0f} s"


def _stat(panel: dict[str, Any], series: Series) -> str:
    defaults = panel["fieldConfig"]["defaults"]
    tiles = []
    for s in series:
        text, hue = shown(float(s["value"][1]), defaults)
        name = legend(panel["targets"][0].get("legendFormat", ""), s["metric"])
        named = panel["options"].get("textMode") == "value_and_name"
        filled = panel["options"].get("colorMode") == "background"
        style = f"background:{hue};color:#111217" if filled else f"color:{hue}"
        tiles.append(f'<div class="tile" style="{style}">{f"<small>{html.escape(name)}</small>" if named else ""}'
                     f"<b>{html.escape(text)}</b></div>")
    return f'<div class="tiles">{"".join(tiles) or "<i>No data</i>"}</div>'


def _organize(panel: dict[str, Any]) -> dict[str, Any]:
    return next((t["options"] for t in panel.get("transformations", []) if t["id"] == "organize"), {})


def _matrix(panel: dict[str, Any], series: Series) -> str:
    grouping = next(t["options"] for t in panel["transformations"] if t["id"] == "groupingToMatrix")
    row, column = grouping["rowField"], grouping["columnField"]
    cells = {(s["metric"].get(row, ""), s["metric"].get(column, "")): float(s["value"][1]) for s in series}
    order = _organize(panel).get("indexByName", {})
    columns = sorted({c for _, c in cells}, key=lambda c: (order.get(c, 999), c))
    defaults = panel["fieldConfig"]["defaults"]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for r in sorted({r for r, _ in cells}):
        tds = []
        for c in columns:
            text, hue = shown(cells.get((r, c)), defaults)
            tds.append(f'<td style="background:{hue};color:#111217">{html.escape(text)}</td>' if text else "<td></td>")
        body.append(f'<tr><th class="left">{html.escape(r)}</th>{"".join(tds)}</tr>')
    return f'<table><tr><th class="left">{html.escape(row)}</th>{head}</tr>{"".join(body)}</table>'


def _table(panel: dict[str, Any], series: Series) -> str:
    organize = _organize(panel)
    order, rename = organize.get("indexByName", {}), organize.get("renameByName", {})
    hidden = {k for k, v in organize.get("excludeByName", {}).items() if v}
    labels = sorted({k for s in series for k in s["metric"] if k != "__name__" and k not in hidden},
                    key=lambda k: (order.get(k, 999), k))
    head = "".join(f'<th class="left">{html.escape(rename.get(k, k))}</th>' for k in labels)
    rows = sorted(tuple(s["metric"].get(k, "") for k in labels) for s in series)
    body = "".join("<tr>" + "".join(f'<td class="left">{html.escape(v)}</td>' for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body or '<tr><td><i>No data</i></td></tr>'}</table>"


def _timeline(panel: dict[str, Any], series: Series, start: float, end: float) -> str:
    defaults = panel["fieldConfig"]["defaults"]
    out = []
    for s in sorted(series, key=lambda s: legend(panel["targets"][0]["legendFormat"], s["metric"])):
        bars = []
        for (at, value), nxt in zip(s["values"], [*s["values"][1:], [end, None]], strict=True):
            text, hue = shown(float(value), defaults)
            left, width = (float(at) - start) / (end - start) * 100, (float(nxt[0]) - float(at)) / (end - start) * 100
            bars.append(f'<span title="{html.escape(text)}" style="left:{left:.2f}%;width:{width:.2f}%;'
                        f'background:{hue}"></span>')
        name = legend(panel["targets"][0]["legendFormat"], s["metric"])
        out.append(f'<div class="lane"><small>{html.escape(name)}</small><div class="bar">{"".join(bars)}</div></div>')
    return "".join(out) or "<i>No data</i>"


def _timeseries(panel: dict[str, Any], series: Series, start: float, end: float) -> str:
    values = [float(v) for s in series for _, v in s["values"]] or [0.0]
    top = max([*values, float(panel["fieldConfig"]["defaults"].get("min", 0)) + 1e-9]) * 1.1
    lines, keys = [], []
    for i, s in enumerate(series):
        points = " ".join(f"{(float(t) - start) / (end - start) * 1000:.1f},{100 - float(v) / top * 100:.1f}"
                          for t, v in s["values"])
        hue = PALETTE[i % len(PALETTE)]
        lines.append(f'<polyline fill="none" stroke="{hue}" stroke-width="2" points="{points}"/>')
        keys.append(f'<span style="color:{hue}">■</span> '
                    f'{html.escape(legend(panel["targets"][0]["legendFormat"], s["metric"]))}')
    return (f'<svg viewBox="0 0 1000 100" preserveAspectRatio="none">{"".join(lines)}</svg>'
            f'<div class="keys">{" ".join(keys)}</div>')


def render_html(board: dict[str, Any], answers: dict[int, Series], start: float, end: float,
                title_of: Callable[[str], str] = lambda t: t) -> str:
    """The page: every panel at its grid position, drawn from `answers` (panel id -> the series its query gave;
    instant for tables and stats, ranges from start to end for timelines and time series)."""
    blocks = []
    for panel in board["panels"]:
        grid = panel["gridPos"]
        place = (f"grid-column:{grid['x'] + 1}/span {grid['w']};grid-row:{grid['y'] + 1}/span {grid['h']}")
        if panel["type"] == "row":
            blocks.append(f'<div class="row" style="{place}">{html.escape(title_of(panel["title"]))}</div>')
            continue
        series = answers.get(panel["id"], [])
        if panel["type"] == "stat":
            inner = _stat(panel, series)
        elif panel["type"] == "table" and any(t["id"] == "groupingToMatrix" for t in panel["transformations"]):
            inner = _matrix(panel, series)
        elif panel["type"] == "table":
            inner = _table(panel, series)
        elif panel["type"] == "state-timeline":
            inner = _timeline(panel, series, start, end)
        else:
            inner = _timeseries(panel, series, start, end)
        blocks.append(f'<section class="panel" style="{place}"><h2>{html.escape(title_of(panel["title"]))}</h2>'
                      f'<div class="body">{inner}</div></section>')
    style = f"""
    body {{ margin: 0; background: #111217; color: #ccccdc; font: 13px Inter, Helvetica, Arial, sans-serif; }}
    header {{ padding: 10px 16px; font-size: 18px; color: #d8d9da; border-bottom: 1px solid #2c3235; }}
    header small {{ color: #8e8e8e; font-size: 12px; margin-left: 12px; }}
    main {{ display: grid; grid-template-columns: repeat(24, 1fr); grid-auto-rows: {ROW_PX}px; gap: 8px;
            padding: 8px 16px; }}
    .row {{ font-size: 15px; color: #d8d9da; align-self: end; font-weight: 500; }}
    .panel {{ background: #181b1f; border: 1px solid #2c3235; border-radius: 2px; overflow: hidden;
              display: flex; flex-direction: column; }}
    .panel h2 {{ margin: 0; padding: 6px 8px; font-size: 13px; font-weight: 500; color: #d8d9da; }}
    .body {{ flex: 1; padding: 0 8px 8px; overflow: hidden; }}
    .tiles {{ display: flex; gap: 6px; height: 100%; flex-wrap: wrap; }}
    .tile {{ flex: 1; min-width: 110px; display: flex; flex-direction: column; justify-content: center;
             align-items: center; border-radius: 2px; }}
    .tile b {{ font-size: 26px; }} .tile small {{ font-size: 12px; }}
    table {{ border-collapse: collapse; width: 100%; }}
    th, td {{ border-bottom: 1px solid #2c3235; padding: 3px 6px; text-align: center; white-space: nowrap; }}
    th {{ color: #6e9fff; font-weight: 500; }} .left {{ text-align: left; }}
    td {{ font-weight: 500; }}
    .lane {{ display: flex; align-items: center; gap: 8px; margin: 2px 0; }}
    .lane small {{ width: 38%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }}
    .bar {{ position: relative; flex: 1; height: 16px; }} .bar span {{ position: absolute; top: 0; bottom: 0; }}
    svg {{ width: 100%; height: 70%; }} .keys {{ font-size: 12px; }}
    """
    return (f"<!doctype html><html><head><meta charset='utf-8'><style>{style}</style></head><body>"
            f"<header>{html.escape(board['title'])}<small>rendered from the dashboard's queries on VictoriaMetrics "
            f"(tests/dashboard_render.py); Grafana draws the same panels</small></header>"
            f"<main>{''.join(blocks)}</main></body></html>")
