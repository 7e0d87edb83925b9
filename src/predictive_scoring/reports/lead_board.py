"""The lead board: every scored lead ranked for sales, with the reasons behind each score.

One self-contained HTML file.  Leads are embedded as inert JSON (columns of numbers and an index
into one table of reason texts, so 100,000 leads stay a few megabytes) and drawn a page at a
time by a small script that only ever sets ``textContent``: a company called
``<script>alert(1)</script>`` shows as those characters.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.explain import humanise
from predictive_scoring.reports.html import json_block, page, text
from predictive_scoring.schema import TIERS
from predictive_scoring.timeline import latest_as_of, rows_as_of

BOARD_STYLE = """
.toolbar { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-bottom: 10px; }
.toolbar button { border: 1px solid var(--line); background: #fff; padding: 4px 12px;
                  border-radius: 14px; cursor: pointer; font: inherit; }
.toolbar button[aria-pressed="true"] { background: #1a202c; color: #fff; border-color: #1a202c; }
.toolbar input { padding: 5px 10px; border: 1px solid var(--line); border-radius: 4px;
                 min-width: 260px; font: inherit; }
.layout { display: grid; grid-template-columns: minmax(0, 3fr) minmax(320px, 2fr); gap: 16px; }
@media (max-width: 1000px) { .layout { grid-template-columns: 1fr; } }
tr.lead-row { cursor: pointer; } tr.lead-row:hover td { background: #f4f7fb; }
tr.lead-row.selected td { background: #ebf4ff; }
.barcell { display: flex; align-items: center; gap: 6px; min-width: 120px; }
.bar { flex: 1; height: 8px; background: #edf0f4; border-radius: 4px; overflow: hidden; }
.fill { height: 100%; } .fill.fit { background: var(--fit); } .fill.intent { background: var(--intent); }
.barval { width: 26px; text-align: right; font-variant-numeric: tabular-nums; color: var(--muted); }
.pager { display: flex; gap: 8px; align-items: center; margin-top: 8px; }
.pager button { font: inherit; padding: 2px 10px; }
#detail { position: sticky; top: 12px; align-self: start; }
.big { font-size: 28px; font-weight: 700; }
.wf-row { display: grid; grid-template-columns: minmax(0, 1fr) 45% 56px; gap: 8px;
          align-items: center; margin: 4px 0; }
.wf-track { position: relative; height: 16px; background: #f4f6f8; }
.wf-zero { position: absolute; top: -2px; bottom: -2px; width: 1px; background: #8a94a3; }
.wf-bar { position: absolute; top: 2px; height: 12px; border-radius: 2px; }
.wf-bar.up { background: var(--up); } .wf-bar.down { background: var(--down); }
.impact { text-align: right; font-variant-numeric: tabular-nums; }
.impact.up { color: var(--up); } .impact.down { color: var(--down); }
ul.reasons { padding-left: 18px; margin: 6px 0; }
"""

BOARD_SCRIPT = r"""
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("board-data").textContent);
  const L = D.leads, n = L.id.length, size = D.page_size;
  const body = document.getElementById("lead-rows");
  const detail = document.getElementById("detail");
  const info = document.getElementById("page-info");
  let tier = "all", query = "", pageNo = 0, view = [], selected = -1;

  function el(tag, cls, content) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content !== undefined && content !== null) node.textContent = String(content);
    return node;
  }
  function bar(value, kind) {
    const cell = el("div", "barcell"), track = el("div", "bar"), fill = el("div", "fill " + kind);
    fill.style.width = Math.max(0, Math.min(100, value)) + "%";
    track.appendChild(fill);
    cell.append(track, el("span", "barval", value));
    return cell;
  }
  function matches(i, q) {
    if (L.id[i].toLowerCase().includes(q)) return true;
    const shown = L.display[i] || [];
    return shown.some(function (v) { return v !== null && v.toLowerCase().includes(q); });
  }
  function filter() {
    const q = query.trim().toLowerCase();
    view = [];
    for (let i = 0; i < n; i++) {
      if (tier !== "all" && D.tiers[L.tier[i]] !== tier) continue;
      if (q && !matches(i, q)) continue;
      view.push(i);
    }
    pageNo = 0;
    render();
  }
  function render() {
    const pages = Math.max(1, Math.ceil(view.length / size));
    pageNo = Math.max(0, Math.min(pageNo, pages - 1));
    body.replaceChildren();
    for (const i of view.slice(pageNo * size, (pageNo + 1) * size)) {
      const row = el("tr", "lead-row" + (i === selected ? " selected" : ""));
      row.dataset.lead = L.id[i];
      row.dataset.tier = D.tiers[L.tier[i]];
      row.tabIndex = 0;
      row.appendChild(el("td", "num", L.rank[i]));
      row.appendChild(el("td", "lead-id", L.id[i]));
      (L.display[i] || D.columns.map(function () { return null; })).forEach(function (v, k) {
        row.appendChild(el("td", "display display-" + k, v === null ? "" : v));
      });
      row.appendChild(el("td", "num score", L.score[i]));
      const badge = el("span", "badge " + D.tiers[L.tier[i]], D.tiers[L.tier[i]]);
      const tierCell = el("td", "tier"); tierCell.appendChild(badge); row.appendChild(tierCell);
      const fit = el("td"); fit.appendChild(bar(L.fit[i], "fit")); row.appendChild(fit);
      const intent = el("td"); intent.appendChild(bar(L.intent[i], "intent")); row.appendChild(intent);
      row.appendChild(el("td", "num", (100 * L.probability[i]).toFixed(1) + "%"));
      row.appendChild(el("td", "mql", L.mql[i] ? "MQL" : ""));
      row.addEventListener("click", function () { show(i); });
      row.addEventListener("keydown", function (e) { if (e.key === "Enter") show(i); });
      body.appendChild(row);
    }
    info.textContent = "Page " + (pageNo + 1).toLocaleString("en") + " of " +
      pages.toLocaleString("en") + " \u00b7 " +
      view.length.toLocaleString("en") + " of " + n.toLocaleString("en") + " leads";
    document.getElementById("prev").disabled = pageNo === 0;
    document.getElementById("next").disabled = pageNo >= pages - 1;
  }
  function show(i) {
    selected = i;
    for (const row of body.children) row.classList.toggle("selected", row.dataset.lead === L.id[i]);
    detail.replaceChildren();
    detail.appendChild(el("h2", "detail-title", "Lead " + L.id[i]));
    D.columns.forEach(function (c, k) {
      const v = (L.display[i] || [])[k];
      if (v !== null && v !== undefined) detail.appendChild(el("div", "muted detail-display", D.labels[k] + ": " + v));
    });
    const head = el("div");
    head.append(el("span", "big", L.score[i]), el("span", "muted", " / 100  "),
                el("span", "badge " + D.tiers[L.tier[i]], D.tiers[L.tier[i]]),
                el("span", "muted", "  " + (100 * L.probability[i]).toFixed(1) +
                   "% chance to convert within the horizon" + (L.mql[i] ? " \u00b7 MQL" : "")));
    detail.appendChild(head);
    const bars = el("table");
    const fitRow = el("tr"); fitRow.append(el("td", "", "Fit (who they are)"));
    const fitCell = el("td"); fitCell.appendChild(bar(L.fit[i], "fit")); fitRow.appendChild(fitCell);
    const intentRow = el("tr"); intentRow.append(el("td", "", "Intent (what they do)"));
    const intentCell = el("td"); intentCell.appendChild(bar(L.intent[i], "intent"));
    intentRow.appendChild(intentCell);
    bars.append(fitRow, intentRow);
    detail.appendChild(bars);
    const reasons = L.reasons[i];
    detail.appendChild(el("h2", "", "Why this score"));
    if (!reasons.length) { detail.appendChild(el("p", "muted", "No reasons recorded.")); return; }
    let total = 0, low = 0, high = 0;
    const steps = [];
    for (let k = 0; k < reasons.length; k += 2) {
      const start = total; total += reasons[k + 1];
      steps.push([D.texts[reasons[k]], reasons[k + 1], start, total]);
      low = Math.min(low, total); high = Math.max(high, total);
    }
    const span = (high - low) || 1, x = function (v) { return 100 * (v - low) / span; };
    const chart = el("div", "waterfall");
    for (const step of steps) {
      const row = el("div", "wf-row reason");
      const track = el("div", "wf-track"), mark = el("div", "wf-bar " + (step[1] > 0 ? "up" : "down"));
      const a = x(Math.min(step[2], step[3])), b = x(Math.max(step[2], step[3]));
      mark.style.left = a + "%"; mark.style.width = Math.max(0.5, b - a) + "%";
      const zero = el("div", "wf-zero"); zero.style.left = x(0) + "%";
      track.append(zero, mark);
      row.append(el("div", "reason-text", step[0]), track,
                 el("div", "impact " + (step[1] > 0 ? "up" : "down"),
                    (step[1] > 0 ? "+" : "") + step[1].toFixed(2)));
      chart.appendChild(row);
    }
    detail.appendChild(chart);
    const words = el("ul", "reasons");
    for (const step of steps) {
      words.appendChild(el("li", step[1] > 0 ? "up" : "down",
        (step[1] > 0 ? "Raises the score: " : "Lowers the score: ") + step[0]));
    }
    detail.appendChild(words);
    detail.appendChild(el("p", "note", "Bars are SHAP contributions in log-odds, largest first; " +
      "green raises the chance to convert, red lowers it."));
  }
  document.querySelectorAll("button[data-tier]").forEach(function (button) {
    button.addEventListener("click", function () {
      tier = button.dataset.tier;
      document.querySelectorAll("button[data-tier]").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b === button));
      });
      filter();
    });
  });
  document.getElementById("search").addEventListener("input", function (e) {
    query = e.target.value; filter();
  });
  document.getElementById("prev").addEventListener("click", function () { pageNo--; render(); });
  document.getElementById("next").addEventListener("click", function () { pageNo++; render(); });
  filter();
})();
"""


def board_payload(
    scores: pd.DataFrame, display: pd.DataFrame | None, page_size: int
) -> dict[str, Any]:
    """The board's data: leads ranked by score, reasons as (text index, impact) pairs."""
    ranked = scores.sort_values(
        [schema.SCORE, schema.PROBABILITY, schema.LEAD_ID],
        ascending=[False, False, True],
        kind="stable",
    ).reset_index(drop=True)
    ids = ranked[schema.LEAD_ID].astype("string").fillna("")
    columns: list[str] = []
    shown: list[list[str | None]] = []
    if display is not None and len(display.columns) > 1:
        columns = [c for c in display.columns if c != schema.LEAD_ID]
        lookup = display.assign(**{schema.LEAD_ID: display[schema.LEAD_ID].astype("string")})
        lookup = lookup.drop_duplicates(schema.LEAD_ID).set_index(schema.LEAD_ID)[columns]
        aligned = lookup.reindex(ids.to_numpy()).astype("object")
        shown = [
            [None if pd.isna(v) else str(v) for v in row]
            for row in aligned.itertuples(index=False, name=None)
        ]
    texts: dict[str, int] = {}
    reasons: list[list[float]] = []
    for raw in ranked[schema.REASONS].fillna("[]"):
        pairs: list[float] = []
        for reason in json.loads(raw):
            # as written in the scores file: rounding again here would move some values across
            # the board's two-decimal display (0.7251 -> 0.725 -> "0.72")
            pairs += [texts.setdefault(str(reason["text"]), len(texts)), float(reason["impact"])]
        reasons.append(pairs)
    tier_codes = {t: i for i, t in enumerate(TIERS)}
    return {
        "page_size": page_size,
        "columns": columns,
        "labels": [humanise(c) for c in columns],
        "tiers": list(TIERS),
        "texts": list(texts),
        "leads": {
            "id": ids.tolist(),
            "rank": list(range(1, len(ranked) + 1)),
            "score": ranked[schema.SCORE].astype(int).tolist(),
            "probability": np.round(ranked[schema.PROBABILITY].astype(float), 5).tolist(),
            "fit": ranked[schema.FIT_SCORE].astype(int).tolist(),
            "intent": ranked[schema.INTENT_SCORE].astype(int).tolist(),
            "tier": [tier_codes.get(str(t), len(TIERS) - 1) for t in ranked[schema.TIER]],
            "mql": ranked[schema.IS_MQL].astype(bool).astype(int).tolist(),
            "display": shown or [None] * len(ranked),
            "reasons": reasons,
        },
    }


def lead_board(
    scores: pd.DataFrame,
    display: pd.DataFrame | None = None,
    page_size: int = 50,
    as_of: pd.Timestamp | None = None,
) -> str:
    """The lead board of one run in ``scores`` (``as_of``, else the latest) as one
    self-contained HTML document."""
    latest = rows_as_of(scores, latest_as_of(scores[schema.AS_OF]) if as_of is None else as_of)
    payload = board_payload(latest, display, page_size)
    stamp = latest[schema.AS_OF].iloc[0] if len(latest) else None
    when = (
        "no scores"
        if stamp is None
        else "a flat export"
        if pd.isna(stamp)
        else pd.Timestamp(stamp).strftime("%Y-%m-%d %H:%M UTC")
    )
    versions = sorted({str(v) for v in latest[schema.MODEL_VERSION].dropna()})
    counts = latest[schema.TIER].value_counts()
    summary = ", ".join(f"{counts.get(t, 0):,} {t}" for t in TIERS)
    mql = int(latest[schema.IS_MQL].sum()) if len(latest) else 0
    subtitle = (
        f"{len(latest):,} open leads as of {when} ({summary}; {mql:,} MQL) · model "
        f"{', '.join(versions) or 'none'}"
    )
    buttons = "".join(
        f'<button type="button" data-tier="{text(t)}" aria-pressed="{str(t == "all").lower()}">'
        f"{text(t.capitalize())}</button>"
        for t in ("all", *TIERS)
    )
    extra = "".join(
        f"<th>{text(c.replace('_', ' ').capitalize())}</th>" for c in payload["columns"]
    )
    body = (
        '<div class="layout"><section>'
        f'<div class="toolbar" role="toolbar">{buttons}'
        '<input id="search" type="search" placeholder="Search lead id or company" '
        'aria-label="Search leads"></div>'
        '<table id="board"><thead><tr><th class="num">#</th><th>Lead</th>'
        f'{extra}<th class="num">Score</th><th>Tier</th><th>Fit</th><th>Intent</th>'
        '<th class="num">Chance</th><th>MQL</th></tr></thead><tbody id="lead-rows"></tbody>'
        "</table>"
        '<div class="pager"><button id="prev" type="button">Previous</button>'
        '<span id="page-info"></span><button id="next" type="button">Next</button></div>'
        '<p class="note">Score: the lead\'s percentile among the leads the model was trained on '
        "(stable from run to run). Fit: who the lead is; intent: what the lead has done lately. "
        "Click a lead for the reasons behind its score.</p></section>"
        '<section id="detail"><h2>Select a lead</h2><p class="muted">Its score, fit and intent, '
        "and the reasons behind them appear here.</p></section></div>"
        + json_block("board-data", payload)
    )
    return page("Lead board", subtitle, body, BOARD_STYLE, BOARD_SCRIPT)
