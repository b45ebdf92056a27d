"""The demo's HTML report: one self-contained file, charts drawn in the browser, no network.

The data are the views' own answers, embedded as JSON; a small script draws each chart as SVG
when the page opens and marks the page `data-charts-drawn` with how many it drew.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from ..engines.local import LocalAthena

_QUERIES = {
    "funnel": """
        select coalesce(region, '(no internal row)') as region, requested, sent, delivered,
               opened, human_opened, clicked, human_clicked
        from summary_by_region order by requested desc, region""",
    "daily_events": """
        select dt as day, event_type, count(*) as events
        from ses_events_unique group by dt, event_type order by dt, event_type""",
    "rates": """
        select day, sent, hard_bounce_rate, complaint_rate, reputation_status
        from deliverability_daily order by day""",
}

_SCRIPT = r"""
const DATA = JSON.parse(document.getElementById('data').textContent);
const NS = 'http://www.w3.org/2000/svg';
const COLORS = ['#4C78A8','#F58518','#54A24B','#E45756','#72B7B2','#B279A2','#FF9DA6',
                '#9D755D','#BAB0AC','#EECA3B'];
function el(name, attrs, parent, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}
function svg(id, width, height) {
  const box = document.getElementById(id);
  return el('svg', {width: width, height: height, viewBox: `0 0 ${width} ${height}`,
                    role: 'img'}, box);
}
function legend(root, names, x, y) {
  names.forEach((name, i) => {
    el('rect', {x: x, y: y + i * 18, width: 12, height: 12, fill: COLORS[i % 10]}, root);
    el('text', {x: x + 18, y: y + i * 18 + 10, 'font-size': 12}, root, name);
  });
}
function funnel() {
  // Opens and clicks twice: every one, and those judged a person's (engagement view).
  const rows = DATA.funnel, stages = ['requested','sent','delivered','opened','human_opened',
                                      'clicked','human_clicked'];
  const root = svg('funnel', 760, 60 + rows.length * 144);
  const max = Math.max(1, ...rows.map(r => Math.max(...stages.map(s => r[s]))));
  rows.forEach((row, i) => {
    const y0 = 20 + i * 144;
    el('text', {x: 0, y: y0 + 12, 'font-size': 13, 'font-weight': 'bold'}, root, row.region);
    stages.forEach((s, j) => {
      const w = 520 * row[s] / max, y = y0 + 18 + j * 17;
      el('rect', {x: 110, y: y, width: Math.max(w, 1), height: 14, fill: COLORS[j],
                  class: 'bar'}, root);
      el('text', {x: 0, y: y + 11, 'font-size': 11}, root, s);
      el('text', {x: 116 + w, y: y + 11, 'font-size': 11}, root, row[s].toLocaleString());
    });
  });
}
function daily() {
  const rows = DATA.daily_events;
  const days = [...new Set(rows.map(r => r.day))].sort();
  const types = [...new Set(rows.map(r => r.event_type))].sort();
  const totals = days.map(d => rows.filter(r => r.day === d).reduce((a, r) => a + r.events, 0));
  const max = Math.max(1, ...totals), h = 260, bw = Math.max(4, 600 / days.length - 4);
  const root = svg('daily', 800, h + 60);
  days.forEach((d, i) => {
    let y = h;
    types.forEach((t, j) => {
      const row = rows.find(r => r.day === d && r.event_type === t);
      if (!row) return;
      const bar = h * row.events / max;
      y -= bar;
      el('rect', {x: 40 + i * (bw + 4), y: y, width: bw, height: bar, fill: COLORS[j],
                  class: 'bar'}, root, undefined);
    });
    if (days.length <= 20 || i % Math.ceil(days.length / 20) === 0)
      el('text', {x: 40 + i * (bw + 4), y: h + 14, 'font-size': 9,
                  transform: `rotate(45 ${40 + i * (bw + 4)} ${h + 14})`}, root, d.slice(5));
  });
  el('text', {x: 0, y: 12, 'font-size': 11}, root, max.toLocaleString());
  legend(root, types, 660, 10);
}
function rates() {
  const rows = DATA.rates.filter(r => r.sent > 0), w = 560, h = 150;
  const root = svg('rates', 800, 2 * (h + 60));
  const panel = (key, title, limits, top0, color, offset) => {
    const top = Math.max(top0, ...rows.map(r => r[key] || 0));
    const y = v => offset + h - h * v / top, x = i => 60 + i * w / Math.max(1, rows.length - 1);
    el('text', {x: 0, y: offset - 8, 'font-size': 12, 'font-weight': 'bold'}, root, title);
    limits.forEach(([v, label]) => {
      el('line', {x1: 60, x2: 60 + w, y1: y(v), y2: y(v), stroke: '#E45756',
                  'stroke-dasharray': '4 3'}, root);
      el('text', {x: 65 + w, y: y(v) + 4, 'font-size': 10}, root, label);
    });
    el('text', {x: 0, y: y(0) + 4, 'font-size': 10}, root, '0%');
    el('text', {x: 0, y: y(top) + 4, 'font-size': 10}, root, (100 * top).toFixed(2) + '%');
    const pts = rows.map((r, i) => `${x(i)},${y(r[key] || 0)}`).join(' ');
    el('polyline', {points: pts, fill: 'none', stroke: color, 'stroke-width': 2,
                    class: 'series'}, root);
    rows.forEach((r, i) => {
      el('circle', {cx: x(i), cy: y(r[key] || 0), r: 3, fill: color}, root);
      el('text', {x: x(i) - 12, y: offset + h + 16, 'font-size': 9}, root,
         String(r.day).slice(5));
    });
  };
  panel('hard_bounce_rate', "Hard bounce rate as SES counts it (over sent)",
        [[0.05, '5% review'], [0.10, '10% pause']], 0.12, COLORS[0], 20);
  panel('complaint_rate', 'Complaint rate (over delivered)',
        [[0.001, '0.1% review'], [0.005, '0.5% pause']], 0.006, COLORS[1], h + 80);
}
function journey() {
  const rows = DATA.journey;
  const box = document.getElementById('journey');
  if (!rows.length) { box.textContent = 'no journey'; return; }
  const root = svg('journey', 800, 40 + rows.length * 34);
  el('line', {x1: 20, x2: 20, y1: 10, y2: 20 + rows.length * 34, stroke: '#999'}, root);
  rows.forEach((r, i) => {
    const cy = 24 + i * 34;
    el('circle', {cx: 20, cy: cy, r: 7, fill: COLORS[i % 10], class: 'step'}, root);
    el('text', {x: 36, y: cy - 2, 'font-size': 13, 'font-weight': 'bold'}, root,
       `${r.step}. ${r.event_type}`);
    el('text', {x: 36, y: cy + 13, 'font-size': 11, fill: '#444'}, root,
       `${r.event_at} (+${r.seconds_since_sent} s) ${r.detail || ''}`.slice(0, 120));
  });
}
let drawn = 0;
for (const chart of [funnel, daily, rates, journey]) { chart(); drawn += 1; }
document.body.setAttribute('data-charts-drawn', drawn);
"""


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _rows(engine: LocalAthena, sql: str) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in r.items()} for r in engine.query(sql).to_pylist()]


def write_report(
    engine: LocalAthena, path: Path, pair: tuple[str, str] | None, journey: pa.Table | None
) -> Path:
    """Query the views and write the report, with the journey of `pair`; its path."""
    data = {name: _rows(engine, sql) for name, sql in _QUERIES.items()}
    rows = journey.to_pylist() if journey is not None else []
    data["journey"] = [{k: _plain(v) for k, v in r.items()} for r in rows]
    title = "seslake demo report"
    who = html.escape(f"{pair[1]} ({pair[0]})") if pair else ""
    payload = orjson.dumps(data).decode().replace("</", "<\\/")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 900px; }}
h1 {{ font-size: 1.5em; }} h2 {{ font-size: 1.15em; margin-top: 2em; }}
.note {{ color: #555; font-size: 0.9em; }}
</style></head>
<body>
<h1>{title}</h1>
<p class="note">Every figure comes from the athena/views views, run on DuckDB over the Parquet
lake the real ingest handlers wrote.</p>
<h2>Delivery funnel per region: every open and click, and a person's (summary_by_region)</h2>
<div id="funnel"></div>
<h2>Events per day by type (ses_events_unique)</h2><div id="daily"></div>
<h2>Bounce and complaint rates against the SES thresholds (deliverability_daily)</h2>
<div id="rates"></div>
<h2>Journey of one recipient: {who} (recipient_journey)</h2><div id="journey"></div>
<script type="application/json" id="data">{payload}</script>
<script>{_SCRIPT}</script>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
