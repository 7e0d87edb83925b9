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
from predictive_scoring.reports.html import asset, json_block, page, text
from predictive_scoring.schema import TIERS
from predictive_scoring.timeline import latest_as_of, rows_as_of

__all__ = [
    "BOARD_SCRIPT",
    "BOARD_STYLE",
    "board_payload",
    "lead_board",
]

# The board's CSS and script live in reports/assets as real .css/.js files (editor support,
# linting); read once at import, they are embedded verbatim in every board.
BOARD_STYLE = asset("lead_board.css")
BOARD_SCRIPT = asset("lead_board.js")


HISTORY_RUNS = 12
"""Runs of a lead's score shown on its card (the latest ones of the same model)."""


def board_payload(
    scores: pd.DataFrame,
    display: pd.DataFrame | None,
    page_size: int,
    history: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The board's data: leads ranked by score, reasons as (text index, impact) pairs, what
    changed since the previous run, and each lead's score over the runs in ``history`` (the
    destination's rows: ``lead_id``, ``as_of``, ``score``, ``model_version``)."""
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
    segment = ranked[schema.SEGMENT].fillna("").astype(str) if schema.SEGMENT in ranked else None
    segments = sorted(set(segment)) if segment is not None else [""]
    models = ranked[schema.MODEL_VERSION].fillna("").astype(str)
    versions = sorted(set(models))
    return {
        "page_size": page_size,
        "columns": columns,
        "labels": [humanise(c) for c in columns],
        "tiers": list(TIERS),
        "segments": segments,
        "versions": versions,
        "texts": list(texts),
        "leads": {
            "id": ids.tolist(),
            "rank": list(range(1, len(ranked) + 1)),
            "score": ranked[schema.SCORE].astype(int).tolist(),
            "probability": _numbers(ranked[schema.PROBABILITY], 5),
            "points": _numbers(ranked.get(schema.POINTS, pd.Series(np.nan, ranked.index)), 1),
            "fit": ranked[schema.FIT_SCORE].astype(int).tolist(),
            "intent": ranked[schema.INTENT_SCORE].astype(int).tolist(),
            "tier": [tier_codes.get(str(t), len(TIERS) - 1) for t in ranked[schema.TIER]],
            "mql": ranked[schema.IS_MQL].astype(bool).astype(int).tolist(),
            "display": shown or [None] * len(ranked),
            "reasons": reasons,
            "segment": [0] * len(ranked)
            if segment is None
            else [segments.index(v) for v in segment],
            "model": [versions.index(v) for v in models],
            **_changes(ranked),
        },
        "trends": list(TRENDS),
        "history": _history(ranked, history),
    }


TRENDS = (schema.TREND_NEW, schema.TREND_UP, schema.TREND_DOWN, schema.TREND_STEADY)


def _changes(ranked: pd.DataFrame) -> dict[str, list[Any]]:
    """Each lead's score change, trend (an index into :data:`TRENDS`, -1 when the run has
    none) and whether it just turned hot."""
    n = len(ranked)
    if schema.TREND not in ranked:
        return {"change": [None] * n, "trend": [-1] * n, "newly_hot": [0] * n}
    change = pd.to_numeric(ranked[schema.SCORE_CHANGE], errors="coerce")
    codes = {t: i for i, t in enumerate(TRENDS)}
    hot = ranked[schema.NEWLY_HOT].astype("string").str.lower().isin(["true", "1"])
    return {
        "change": [None if pd.isna(v) else int(v) for v in change],
        "trend": [codes.get(str(t), -1) for t in ranked[schema.TREND].astype("string").fillna("")],
        "newly_hot": hot.astype(int).tolist(),
    }


def _history(ranked: pd.DataFrame, history: pd.DataFrame | None) -> dict[str, Any] | None:
    """The board's leads' scores at the latest :data:`HISTORY_RUNS` as-ofs of their model, up to
    the board's own: ``{"as_of": [...], "scores": [[score or None per as-of] per lead]}``."""
    if history is None or history.empty or ranked.empty or ranked[schema.AS_OF].isna().all():
        return None
    from predictive_scoring.data.history import model_of

    shown = pd.Timestamp(ranked[schema.AS_OF].dropna().iloc[0])
    models = set(model_of(ranked[schema.MODEL_VERSION]))
    rows = history[model_of(history[schema.MODEL_VERSION]).isin(models).to_numpy()]
    stamps = pd.to_datetime(rows[schema.AS_OF], utc=True)
    rows = rows[(stamps <= shown).to_numpy()]
    times = sorted(pd.to_datetime(rows[schema.AS_OF], utc=True).dropna().unique())[-HISTORY_RUNS:]
    if len(times) < 2:
        return None
    rows = rows[pd.to_datetime(rows[schema.AS_OF], utc=True).isin(times).to_numpy()]
    table = rows.pivot_table(
        index=rows[schema.LEAD_ID].astype("string"),
        columns=pd.to_datetime(rows[schema.AS_OF], utc=True),
        values=schema.SCORE,
        aggfunc="last",
    ).reindex(columns=times)
    aligned = table.reindex(ranked[schema.LEAD_ID].astype("string").to_numpy())
    return {
        "as_of": [pd.Timestamp(t).strftime("%Y-%m-%d") for t in times],
        "scores": [[None if pd.isna(v) else int(v) for v in row] for row in aligned.to_numpy()],
    }


def _numbers(values: pd.Series, decimals: int) -> list[float | None]:
    """Rounded numbers, ``None`` where missing (a rules file's rows have no probability)."""
    rounded = np.round(values.astype(float).to_numpy(), decimals)
    return [None if np.isnan(v) else float(v) for v in rounded]


def _wording(versions: list[str]) -> tuple[str, str]:
    """The chance column's header and what a score means: a model's percentile, or a rules
    file's points on its own scale when only rules files scored the board's leads."""
    if versions and all(v.startswith("rules:") for v in versions):
        return "Points", (
            "Score: the rules file's points on its scale (100 × points / max_points, rounded, "
            "0 to 100)."
        )
    return "Chance", (
        "Score: the lead's percentile among the leads the model was trained on (stable from run "
        "to run)."
    )


def _buttons(payload: dict[str, Any], changes: bool) -> str:
    """The tier filters, and the newly hot one when the run knows what changed."""
    buttons = "".join(
        f'<button type="button" data-tier="{text(t)}" aria-pressed="{str(t == "all").lower()}">'
        f"{text(t.capitalize())}</button>"
        for t in ("all", *TIERS)
    )
    hot = int(sum(payload["leads"]["newly_hot"]))
    return buttons + (
        f'<button type="button" id="newly-hot" aria-pressed="false">Newly hot ({hot:,})</button>'
        if changes
        else ""
    )


def lead_board(
    scores: pd.DataFrame,
    display: pd.DataFrame | None = None,
    page_size: int = 50,
    as_of: pd.Timestamp | None = None,
    history: pd.DataFrame | None = None,
) -> str:
    """The lead board of one run in ``scores`` (``as_of``, else the latest) as one
    self-contained HTML document; each lead's past scores come from ``history`` (default:
    ``scores`` itself)."""
    latest = rows_as_of(scores, latest_as_of(scores[schema.AS_OF]) if as_of is None else as_of)
    payload = board_payload(latest, display, page_size, scores if history is None else history)
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
    buttons = _buttons(payload, schema.TREND in latest)
    named = [v for v in payload["segments"] if v]
    choose = (
        '<select id="segment" aria-label="Segment"><option value="all">All segments</option>'
        + "".join(
            f'<option value="{i}">{text(v or "global model")}</option>'
            for i, v in enumerate(payload["segments"])
        )
        + "</select>"
        if named
        else ""
    )
    extra = "".join(
        f"<th>{text(c.replace('_', ' ').capitalize())}</th>" for c in payload["columns"]
    )
    header, meaning = _wording(versions)
    body = (
        '<div class="layout"><section>'
        f'<div class="toolbar" role="toolbar">{buttons}{choose}'
        '<input id="search" type="search" placeholder="Search lead id or company" '
        'aria-label="Search leads"></div>'
        '<table id="board"><thead><tr><th class="num">#</th><th>Lead</th>'
        f'{extra}<th class="num">Score</th><th class="num">Change</th><th>Tier</th>'
        "<th>Fit</th><th>Intent</th>"
        f'<th class="num">{header}</th><th>MQL</th></tr></thead><tbody id="lead-rows"></tbody>'
        "</table>"
        '<div class="pager"><button id="prev" type="button">Previous</button>'
        '<span id="page-info"></span><button id="next" type="button">Next</button></div>'
        f'<p class="note">{text(meaning)} Fit: who the lead is; intent: what the lead has done '
        "lately. "
        "Click a lead for the reasons behind its score.</p></section>"
        '<section id="detail"><h2>Select a lead</h2><p class="muted">Its score, fit and intent, '
        "and the reasons behind them appear here.</p></section></div>"
        + json_block("board-data", payload)
    )
    return page("Lead board", subtitle, body, BOARD_STYLE, BOARD_SCRIPT)
