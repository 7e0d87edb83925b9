"""What the lead did, as of each snapshot: decayed counts, windows, recency, trend, inactivity.

Computed in DuckDB, one query per snapshot time, never in Python loops: the query aggregates the
events strictly before the snapshot (``occurred_at < s``; a window of ``w`` days holds the events
with ``s - w <= occurred_at < s``).  The SQL is generated from the feature spec in a plain dialect
(``SUM``/``COUNT ... FILTER``/``MIN``/``EXP``) that the usual engines share; see the README's
"Feature engine" section for why it is SQL rather than a dataframe library.

Every intent feature but the trend cools as time passes without events: decayed counts and window
counts fall, days-since and inactivity grow.  Each feature's direction is recorded as ``heat``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictive_scoring.data.sources import quote_identifier

MICROS_PER_DAY = 86_400_000_000
TREND_RECENT_DAYS = 7
TREND_PRIOR_DAYS = 21
ANY = "any"


@dataclass(frozen=True)
class IntentColumn:
    """One intent feature: its name, what it measures and how it moves as time passes."""

    name: str
    event_type: str
    stat: str
    days: float | None
    heat: int


def intent_columns(
    event_types: tuple[str, ...],
    slugs: tuple[str, ...],
    half_lives: tuple[float, ...],
    windows: tuple[int, ...],
) -> list[IntentColumn]:
    """The intent features for these event types, in a fixed order."""
    columns: list[IntentColumn] = []
    for event_type, slug in zip(event_types, slugs, strict=True):
        columns += [
            IntentColumn(f"decayed_{slug}_{h:g}d", event_type, "decayed", h, +1) for h in half_lives
        ]
        columns += [IntentColumn(f"count_{slug}_{w}d", event_type, "count", w, +1) for w in windows]
        columns.append(IntentColumn(f"days_since_{slug}", event_type, "days_since", None, -1))
    columns += [IntentColumn(f"count_any_{w}d", ANY, "count", w, +1) for w in windows]
    columns += [
        IntentColumn("days_since_any", ANY, "days_since", None, -1),
        IntentColumn("days_since_first_event", ANY, "first_touch", None, 0),
        IntentColumn("log_total_events", ANY, "total", None, +1),
        IntentColumn("trend_7d_vs_prior_21d", ANY, "trend", None, 0),
        IntentColumn("inactive_days", ANY, "inactive", None, -1),
        IntentColumn("lead_age_days", ANY, "lead_age", None, -1),
    ]
    return columns


def _aggregates(columns: list[IntentColumn], codes: dict[str, int]) -> list[str]:
    parts = []
    for column in columns:
        expression = _aggregate(column, codes.get(column.event_type))
        if expression is not None:
            parts.append(f"{expression} AS {quote_identifier(column.name)}")
    parts += [
        f"COUNT(*) FILTER (WHERE age <= {TREND_RECENT_DAYS}) AS recent_count",
        f"COUNT(*) FILTER (WHERE age <= {TREND_RECENT_DAYS + TREND_PRIOR_DAYS} "
        f"AND age > {TREND_RECENT_DAYS}) AS prior_count",
        "COUNT(*) AS total_count",
    ]
    return parts


def _aggregate(column: IntentColumn, code: int | None) -> str | None:
    where = "TRUE" if code is None else f"type_code = {code}"
    if column.stat == "decayed":
        rate = math.log(2) / float(column.days or 1)
        return f"SUM(CASE WHEN {where} THEN EXP(-{rate!r} * age) ELSE 0 END)"
    if column.stat == "count":
        return f"COUNT(*) FILTER (WHERE {where} AND age <= {column.days})"
    if column.stat == "days_since":
        return f"MIN(age) FILTER (WHERE {where})"
    if column.stat == "first_touch":
        return "MAX(age)"
    return None


def intent_sql(columns: list[IntentColumn], codes: dict[str, int]) -> str:
    """The query for one snapshot time ``$snapshot`` (microseconds since the epoch, UTC)."""
    select = ",\n  ".join(["lead_idx", *_aggregates(columns, codes)])
    return (
        f"SELECT\n  {select}\nFROM (\n"
        f"  SELECT e.lead_idx, e.type_code, ($snapshot - e.t_us) / {MICROS_PER_DAY}.0 AS age\n"
        "  FROM events e SEMI JOIN batch b ON e.lead_idx = b.lead_idx\n"
        "  WHERE e.t_us < $snapshot\n) visible\nGROUP BY lead_idx"
    )


def compute_intent(
    events: pd.DataFrame,
    rows: pd.DataFrame,
    columns: list[IntentColumn],
    codes: dict[str, int],
    inactivity_days: int,
    threads: int = 2,
) -> pd.DataFrame:
    """Intent features for ``rows`` (``lead_idx``, ``snap_us``, ``created_us``), aligned to them.

    ``events`` holds ``lead_idx`` (int), ``t_us`` (int, microseconds) and ``type_code`` (int, -1
    for types the spec does not know).
    """
    import duckdb

    sql = intent_sql(columns, codes)
    names = [c.name for c in columns]
    out = pd.DataFrame(np.nan, index=rows.index, columns=names, dtype="float64")
    with duckdb.connect(config={"threads": threads}) as con:
        con.register("events", events)
        for snap_us, batch in _by_snapshot(rows):
            con.register("batch", batch[["lead_idx"]])
            found = con.execute(sql, {"snapshot": int(snap_us)}).df().set_index("lead_idx")
            out.loc[batch.index] = _finish(found, batch, columns, inactivity_days, snap_us)
            con.unregister("batch")
    return out


def _by_snapshot(rows: pd.DataFrame) -> Iterator[tuple[int, pd.DataFrame]]:
    for snap_us in np.unique(rows["snap_us"].to_numpy()):
        yield int(snap_us), rows[rows["snap_us"] == snap_us]


def _finish(
    found: pd.DataFrame,
    batch: pd.DataFrame,
    columns: list[IntentColumn],
    inactivity_days: int,
    snap_us: int,
) -> np.ndarray:
    """Align one snapshot's aggregates to its rows and derive the features SQL does not give."""
    aligned = found.reindex(batch["lead_idx"].to_numpy())
    age = (snap_us - batch["created_us"].to_numpy()) / MICROS_PER_DAY
    total = aligned["total_count"].fillna(0).to_numpy()
    derived = {
        "log_total_events": np.log1p(total),
        "trend_7d_vs_prior_21d": _trend(aligned),
        "inactive_days": np.maximum(
            0.0, np.where(total > 0, aligned["days_since_any"], age) - inactivity_days
        ),
        "lead_age_days": age,
    }
    values = []
    for column in columns:
        if column.name in derived:
            values.append(np.asarray(derived[column.name], dtype="float64"))
        elif column.name in aligned.columns:
            filled = aligned[column.name]
            if column.stat in ("decayed", "count"):
                filled = filled.fillna(0.0)
            values.append(filled.to_numpy(dtype="float64", na_value=np.nan))
        else:
            values.append(np.full(len(batch), np.nan))
    return np.column_stack(values)


def _trend(aligned: pd.DataFrame) -> np.ndarray:
    """Events in the last 7 days minus the weekly average of the 21 days before."""
    weekly_prior = aligned["prior_count"].fillna(0) * TREND_RECENT_DAYS / TREND_PRIOR_DAYS
    return (aligned["recent_count"].fillna(0) - weekly_prior).to_numpy(dtype="float64")
