"""What the lead did, as of each snapshot: decayed counts, windows, recency, trend, inactivity.

Computed in DuckDB, one query per snapshot time, never in Python loops: the query aggregates the
events strictly before the snapshot (``occurred_at < s``; a window of ``w`` days holds the events
with ``s - w <= occurred_at < s``) per lead and event type, and numpy lays the few per-type
statistics out as features.  The SQL is generated from the feature spec in a plain dialect
(``SUM``/``COUNT ... FILTER``/``MIN``/``MAX``/``EXP``) that the usual engines share; see the
README's "Feature engine" section for why it is SQL rather than a dataframe library.

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
ACTIVITY = "activity"
"""The field of features over all event types (what a person calls "activity")."""
CHUNK_ROWS = 200_000


@dataclass(frozen=True)
class IntentColumn:
    """One intent feature: its name, what it measures and how it moves as time passes."""

    name: str
    event_type: str
    stat: str
    days: float | None
    heat: int
    type_code: int = -1


def intent_columns(
    event_types: tuple[str, ...],
    slugs: tuple[str, ...],
    half_lives: tuple[float, ...],
    windows: tuple[int, ...],
) -> list[IntentColumn]:
    """The intent features for these event types, in a fixed order."""
    columns: list[IntentColumn] = []
    for code, (event_type, slug) in enumerate(zip(event_types, slugs, strict=True)):
        columns += [
            IntentColumn(f"decayed_{slug}_{h:g}d", event_type, "decayed", h, +1, code)
            for h in half_lives
        ]
        columns += [
            IntentColumn(f"count_{slug}_{w}d", event_type, "count", w, +1, code) for w in windows
        ]
        columns.append(IntentColumn(f"days_since_{slug}", event_type, "days_since", None, -1, code))
    columns += [IntentColumn(f"count_any_{w}d", ACTIVITY, "count", w, +1) for w in windows]
    columns += [
        IntentColumn("days_since_any", ACTIVITY, "days_since", None, -1),
        IntentColumn("log_total_events", ACTIVITY, "total", None, +1),
        IntentColumn("days_since_first_event", "first_touch", "first_touch", None, -1),
        IntentColumn("trend_7d_vs_prior_21d", "trend", "trend", None, 0),
        IntentColumn("inactive_days", "inactivity", "inactive", None, -1),
        IntentColumn("lead_age_days", "lead_age", "lead_age", None, -1),
    ]
    return columns


PER_TYPE_STATS = ("min_age", "max_age", "total", "recent", "prior")


def per_type_sql(half_lives: tuple[float, ...], windows: tuple[int, ...]) -> str:
    """One query for one snapshot time ``$snapshot`` (microseconds since the epoch, UTC).

    It aggregates per (lead, event type) only what every feature is made from: decayed sums per
    half-life, counts per window, the youngest and oldest event's age, totals and the two trend
    windows.  Features over all types are sums, minima and maxima of these.
    """
    decayed = [
        f"SUM(EXP(-{math.log(2) / h!r} * age)) AS {quote_identifier(f'decayed_{h:g}')}"
        for h in half_lives
    ]
    counts = [
        f"COUNT(*) FILTER (WHERE age <= {w}) AS {quote_identifier(f'count_{w}')}" for w in windows
    ]
    trend = TREND_RECENT_DAYS + TREND_PRIOR_DAYS
    select = ",\n  ".join(
        [
            "lead_idx",
            "type_code",
            *decayed,
            *counts,
            "MIN(age) AS min_age",
            "MAX(age) AS max_age",
            "COUNT(*) AS total",
            f"COUNT(*) FILTER (WHERE age <= {TREND_RECENT_DAYS}) AS recent",
            f"COUNT(*) FILTER (WHERE age > {TREND_RECENT_DAYS} AND age <= {trend}) AS prior",
        ]
    )
    return (
        f"SELECT\n  {select}\nFROM (\n"
        f"  SELECT e.lead_idx, e.type_code, ($snapshot - e.t_us) / {MICROS_PER_DAY}.0 AS age\n"
        "  FROM events e SEMI JOIN batch b ON e.lead_idx = b.lead_idx\n"
        "  WHERE e.t_us < $snapshot AND e.type_code >= 0\n) visible\nGROUP BY lead_idx, type_code"
    )


def compute_intent(
    events: pd.DataFrame,
    rows: pd.DataFrame,
    columns: list[IntentColumn],
    n_types: int,
    inactivity_days: int,
    threads: int = 2,
    chunk_rows: int = CHUNK_ROWS,
) -> pd.DataFrame:
    """Intent features for ``rows`` (``lead_idx``, ``snap_us``, ``created_us``), aligned to them.

    Rows are processed per snapshot time in chunks of at most ``chunk_rows`` leads, so memory is
    bounded by the chunk, not by the number of leads.

    ``events`` holds ``lead_idx`` (int), ``t_us`` (int, microseconds) and ``type_code`` (int in
    ``range(n_types)``, or -1 for a type the spec does not know: ignored).
    """
    import duckdb

    half_lives = tuple(sorted({c.days for c in columns if c.stat == "decayed" and c.days}))
    windows_days = tuple(sorted({int(c.days) for c in columns if c.stat == "count" and c.days}))
    sql = per_type_sql(half_lives, windows_days)
    out = np.full((len(rows), len(columns)), np.nan)
    with duckdb.connect(config={"threads": threads}) as con:
        con.register("events", events)
        for snap_us, positions in _by_snapshot(rows, chunk_rows):
            batch = rows.iloc[positions]
            con.register("batch", batch[["lead_idx"]])
            found = con.execute(sql, {"snapshot": snap_us}).fetchnumpy()
            con.unregister("batch")
            cube = _cube(found, batch["lead_idx"].to_numpy(), n_types, half_lives, windows_days)
            age = (snap_us - batch["created_us"].to_numpy()) / MICROS_PER_DAY
            out[positions] = _assemble(cube, columns, age, inactivity_days)
    return pd.DataFrame(out, index=rows.index, columns=[c.name for c in columns], copy=False)


def _by_snapshot(rows: pd.DataFrame, chunk_rows: int) -> Iterator[tuple[int, np.ndarray]]:
    """Row positions grouped by snapshot time, in chunks of at most ``chunk_rows``."""
    snaps = rows["snap_us"].to_numpy()
    order = np.argsort(snaps, kind="stable")
    bounds = np.flatnonzero(np.diff(snaps[order])) + 1
    for positions in np.split(order, bounds):
        for start in range(0, len(positions), chunk_rows):
            chunk = positions[start : start + chunk_rows]
            yield int(snaps[chunk[0]]), chunk


def _cube(
    found: dict[str, np.ndarray],
    lead_idx: np.ndarray,
    n_types: int,
    half_lives: tuple[float, ...],
    windows: tuple[int, ...],
) -> dict[str, np.ndarray]:
    """Per-type statistics as ``rows × types`` arrays (zeros, or NaN for ages, where none)."""
    where = np.full(int(lead_idx.max()) + 1 if len(lead_idx) else 1, -1)
    where[lead_idx] = np.arange(len(lead_idx))
    row = where[found["lead_idx"]]
    kind = found["type_code"].astype(np.int64)
    names = [f"decayed_{h:g}" for h in half_lives] + [f"count_{w}" for w in windows]
    cube = {}
    for name in [*names, *PER_TYPE_STATS]:
        fill = np.nan if name in ("min_age", "max_age") else 0.0
        grid = np.full((len(lead_idx), n_types), fill)
        grid[row, kind] = np.asarray(found[name], dtype=float)
        cube[name] = grid
    return cube


def _assemble(
    cube: dict[str, np.ndarray], columns: list[IntentColumn], age: np.ndarray, inactivity_days: int
) -> np.ndarray:
    total = cube["total"].sum(axis=1)
    last = _nan_reduce(np.fmin, cube["min_age"])
    first = _nan_reduce(np.fmax, cube["max_age"])
    any_type = {
        "days_since": last,
        "first_touch": first,
        "total": np.log1p(total),
        "trend": cube["recent"].sum(axis=1)
        - cube["prior"].sum(axis=1) * TREND_RECENT_DAYS / TREND_PRIOR_DAYS,
        "inactive": np.maximum(0.0, np.where(total > 0, last, age) - inactivity_days),
        "lead_age": age,
    }
    values = []
    for column in columns:
        if column.type_code >= 0:
            values.append(_per_type(cube, column))
        elif column.stat == "count":
            values.append(cube[f"count_{int(column.days or 0)}"].sum(axis=1))
        else:
            values.append(any_type[column.stat])
    return np.column_stack(values) if values else np.empty((len(age), 0))


def _nan_reduce(reduce: np.ufunc, grid: np.ndarray) -> np.ndarray:
    """Row-wise min or max ignoring NaN (``fmin``/``fmax``), NaN for rows with none."""
    result: np.ndarray = (
        reduce.reduce(grid, axis=1, initial=np.nan) if grid.shape[1] else np.full(len(grid), np.nan)
    )
    return result


def _per_type(cube: dict[str, np.ndarray], column: IntentColumn) -> np.ndarray:
    code = column.type_code
    if column.stat == "decayed":
        return cube[f"decayed_{column.days:g}"][:, code]
    if column.stat == "count":
        return cube[f"count_{int(column.days or 0)}"][:, code]
    return cube["min_age"][:, code]
