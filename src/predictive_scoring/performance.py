"""The closed loop (CONTRACT section 8): how the scores of past runs actually converted.

For every run in a destination (an as-of and the model version that scored its rows) whose
horizon has fully passed by the latest time in the data, each scored lead's outcome is read with
the pipeline's time semantics: it converted when ``as_of < converted_at <= as_of + H``; a lead that
had already converted (``converted_at <= as_of``) or closed (``closed_at <= as_of``) was not open
then and is left out (counted as ``not_open``), as is a lead the data does not hold (``unknown``);
any other lead did not convert.  A run whose horizon has not passed is ``pending``: its
conversions are unknown, never zero.

Per run: leads, conversions and their rate per tier and per MQL flag; ROC-AUC and PR-AUC of
``probability`` (of ``score`` for a rules file's rows, which have none); predicted conversions
(the sum of the probabilities) against the realised ones; and, with ``by``, the same per value of
a leads column (``lead_source``, ``utm_campaign``) or of ``segment``: leads, MQLs, expected and
realised conversions: which channels bring leads that convert, not only many leads.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from predictive_scoring import schema
from predictive_scoring.data.arrow import positions_in
from predictive_scoring.data.tables import LeadData
from predictive_scoring.errors import UsageError

__all__ = ["COMPLETE", "PENDING", "outcomes_of", "performance"]

COMPLETE = "complete"
PENDING = "pending"
CONVERTED, OPEN = "_converted", "_open"
MISSING = "(missing)"
SCORE_COLUMNS = [
    schema.LEAD_ID, schema.AS_OF, schema.PROBABILITY, schema.SCORE, schema.TIER, schema.IS_MQL,
    schema.MODEL_VERSION, schema.SEGMENT,
]  # fmt: skip
"""The columns of the scores that performance reads (never the reasons)."""


def _microseconds(stamps: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """UTC instants as microseconds since 1970, and which are present."""
    naive = pd.to_datetime(stamps, utc=True).dt.tz_convert(None)
    present = naive.notna().to_numpy(dtype=bool)
    values = naive.to_numpy(dtype="datetime64[us]").astype(np.int64)
    return values, present


def outcomes_of(scores: pd.DataFrame, data: LeadData, horizon_days: int) -> pd.DataFrame:
    """``scores`` with ``_open`` (the lead was open at its as-of and is in the data) and
    ``_converted`` (it converted within the horizon after its as-of)."""
    outcomes = data.outcomes.drop_duplicates(schema.LEAD_ID).reset_index(drop=True)
    ids = scores[schema.LEAD_ID]
    known = positions_in(ids, data.leads[schema.LEAD_ID].astype("string")) >= 0
    position = positions_in(ids, outcomes[schema.LEAD_ID].astype("string"))
    found = position >= 0
    at, _ = _microseconds(scores[schema.AS_OF])

    def taken(column: str) -> tuple[np.ndarray, np.ndarray]:
        if column not in outcomes:
            return np.zeros(len(scores), np.int64), np.zeros(len(scores), bool)
        values, present = _microseconds(outcomes[column])
        where = np.maximum(position, 0)
        return values[where], present[where] & found

    converted_at, converted = taken(schema.CONVERTED_AT)
    closed_at, closed = taken(schema.CLOSED_AT)
    horizon = horizon_days * 86_400_000_000
    before = (converted & (converted_at <= at)) | (closed & (closed_at <= at))
    within = converted & (converted_at > at) & (converted_at <= at + horizon)
    return scores.assign(**{OPEN: known & ~before, CONVERTED: within & known & ~before})


def performance(
    scores: pd.DataFrame, data: LeadData, horizon_days: int, by: str | None = None
) -> dict[str, Any]:
    """Every run of ``scores`` with what its leads did (see the module's docstring), latest
    first; ``by`` groups each run's leads by a leads column or ``segment``."""
    latest = data.latest_timestamp()
    if latest is None:
        raise UsageError("performance: the data hold no timestamp to measure outcomes against")
    dated = scores[scores[schema.AS_OF].notna()]
    if dated.empty:
        raise UsageError("performance: the scores hold no dated run (a flat export's rows)")
    rows = outcomes_of(dated, data, horizon_days)
    if by is not None:
        rows = rows.assign(_group=_groups(rows, data, by))
    rows = _slim(rows)
    runs = []
    keys = [schema.AS_OF, schema.MODEL_VERSION]
    for (as_of, version), run in rows.groupby(keys, sort=True, dropna=False, observed=True):
        stamp = pd.Timestamp(str(as_of))
        due = stamp + pd.Timedelta(days=horizon_days)
        summary: dict[str, Any] = {
            "as_of": stamp.isoformat(),
            "model_version": str(version),
            "horizon_ends": due.isoformat(),
            "status": COMPLETE if due <= latest else PENDING,
            "scored": len(run),
        }
        summary |= _measured(run, by is not None) if due <= latest else {"leads": len(run)}
        runs.append(summary)
    complete = [r for r in runs if r["status"] == COMPLETE]
    return {
        "data_until": latest.isoformat(),
        "horizon_days": horizon_days,
        "by": by,
        "runs": runs[::-1],
        "complete_runs": len(complete),
        "pending_runs": len(runs) - len(complete),
        "groups": _overall(rows, horizon_days, latest) if by is not None else {},
    }


def _slim(rows: pd.DataFrame) -> pd.DataFrame:
    """Only what is measured, in compact types (each run and group is a copy of its rows)."""
    kept = [schema.AS_OF, schema.MODEL_VERSION, schema.PROBABILITY, schema.SCORE, OPEN, CONVERTED]
    mql = rows[schema.IS_MQL].astype("string").str.lower().isin(["true", "1"])
    compact: dict[str, Any] = {
        schema.TIER: rows[schema.TIER].astype("category"),
        schema.IS_MQL: mql.to_numpy(dtype=bool),
        schema.PROBABILITY: pd.to_numeric(rows[schema.PROBABILITY], errors="coerce"),
        schema.MODEL_VERSION: rows[schema.MODEL_VERSION].astype("category"),
    }
    slim = rows[[*kept, *(["_group"] if "_group" in rows else [])]].assign(**compact)
    if "_group" in slim:
        slim["_group"] = slim["_group"].astype("category")
    return slim


def _groups(rows: pd.DataFrame, data: LeadData, by: str) -> pd.Series:
    """Each row's value of ``by``: a leads column (as the lead is now), or the row's segment."""
    column = by.strip().lower()
    if column == schema.SEGMENT and schema.SEGMENT in rows:
        values = rows[schema.SEGMENT].astype("string").replace("", "global")
    elif column in data.leads.columns and column != schema.LEAD_ID:
        leads = data.leads.drop_duplicates(schema.LEAD_ID)
        position = positions_in(rows[schema.LEAD_ID], leads[schema.LEAD_ID].astype("string"))
        taken = leads[column].astype(object).where(leads[column].notna(), None).to_numpy()
        chosen = np.where(position >= 0, taken[np.maximum(position, 0)], None)
        values = pd.Series(chosen, index=rows.index, dtype="string")
    else:
        shown = sorted(c for c in data.leads.columns if c != schema.LEAD_ID)[:15]
        raise UsageError(
            f"performance --by {by}: not a column of leads nor 'segment' (leads have {shown})"
        )
    grouped: pd.Series = values.str.strip().fillna(MISSING).replace("", MISSING)
    return grouped


def _counts(run: pd.DataFrame) -> dict[str, Any]:
    leads = int(run[OPEN].sum())
    conversions = int(run.loc[run[OPEN], CONVERTED].sum())
    return {
        "leads": leads,
        "conversions": conversions,
        "conversion_rate": conversions / leads if leads else None,
    }


def _measured(run: pd.DataFrame, grouped: bool) -> dict[str, Any]:
    """A complete run's counts and metrics."""
    open_rows = run[run[OPEN].to_numpy(dtype=bool)]
    y = open_rows[CONVERTED].to_numpy(dtype=int)
    probability = pd.to_numeric(open_rows[schema.PROBABILITY], errors="coerce")
    ranked_by = schema.PROBABILITY if probability.notna().all() else schema.SCORE
    chosen = probability if ranked_by == schema.PROBABILITY else open_rows[schema.SCORE]
    ranking = pd.to_numeric(chosen, errors="coerce").fillna(0).to_numpy(dtype=float)
    both = 0 < y.sum() < len(y)
    predicted = float(probability.sum()) if ranked_by == schema.PROBABILITY else None
    mql = open_rows[schema.IS_MQL]
    summary: dict[str, Any] = {
        **_counts(run),
        "not_open": int((~run[OPEN]).sum()),
        "ranked_by": ranked_by,
        "roc_auc": float(roc_auc_score(y, ranking)) if both else None,
        "pr_auc": float(average_precision_score(y, ranking)) if both else None,
        "predicted": predicted,
        "tiers": {
            tier: _counts(open_rows[(open_rows[schema.TIER] == tier).to_numpy(dtype=bool)])
            for tier in schema.TIERS
        },
        "mql": {
            "true": _counts(open_rows[mql.to_numpy(dtype=bool)]),
            "false": _counts(open_rows[~mql.to_numpy(dtype=bool)]),
        },
    }
    if grouped:
        summary["groups"] = {
            str(value): _group_counts(part)
            for value, part in open_rows.groupby("_group", observed=True)
        }
    return summary


def _group_counts(part: pd.DataFrame) -> dict[str, Any]:
    probability = part[schema.PROBABILITY]
    mql = part[schema.IS_MQL]
    return {
        **_counts(part),
        "mqls": int(mql.sum()),
        "mql_conversions": int(part.loc[mql.to_numpy(dtype=bool), CONVERTED].sum()),
        "predicted": float(probability.sum()) if probability.notna().all() else None,
    }


def _overall(rows: pd.DataFrame, horizon_days: int, latest: pd.Timestamp) -> dict[str, Any]:
    """Each group over every complete run: the channel view."""
    due = pd.to_datetime(rows[schema.AS_OF], utc=True) + pd.Timedelta(days=horizon_days)
    done = rows[(due <= latest).to_numpy() & rows[OPEN].to_numpy(dtype=bool)]
    return {
        str(value): _group_counts(part) for value, part in done.groupby("_group", observed=True)
    }
