"""What the lead did, as of each snapshot: decayed counts, windows, recency, trend, inactivity.

Computed in DuckDB, one query per snapshot time (rare times pooled into one query where each row
has its own time), never in Python loops: the query aggregates the events strictly before the
snapshot (``occurred_at < s``; a window of ``w`` days holds the events with
``s - w <= occurred_at < s``) per lead and event type, and numpy lays the few per-type statistics
out as features.  The SQL is generated from the feature spec in a plain dialect
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

from predictive_scoring.sql import quote_identifier
from predictive_scoring.timeline import DAY_US

__all__ = [
    "ACTIVITY",
    "CHUNK_ROWS",
    "DAYS_SINCE_ANY",
    "DAYS_SINCE_FIRST_EVENT",
    "FIRST_TOUCH",
    "INACTIVE_DAYS",
    "INACTIVITY",
    "LEAD_AGE",
    "LEAD_AGE_DAYS",
    "LOG_TOTAL_EVENTS",
    "PER_TYPE_STATS",
    "SHARED_MIN_ROWS",
    "TREND",
    "TREND_FEATURE",
    "TREND_PRIOR_DAYS",
    "TREND_RECENT_DAYS",
    "IntentColumn",
    "assemble_intent",
    "compute_intent",
    "cube_from_wide",
    "intent_columns",
    "per_type_sql",
    "stat_names",
    "statistics_of",
    "wide_name",
    "wide_sql",
]

TREND_RECENT_DAYS = 7
TREND_PRIOR_DAYS = 21

# Fields: what a person recognises, and what reasons are grouped by.
ACTIVITY = "activity"
"""The field of features over all event types (what a person calls "activity")."""
FIRST_TOUCH = "first_touch"
TREND = "trend"
INACTIVITY = "inactivity"
LEAD_AGE = "lead_age"

# The features over all event types, by name.
DAYS_SINCE_ANY = "days_since_any"
LOG_TOTAL_EVENTS = "log_total_events"
DAYS_SINCE_FIRST_EVENT = "days_since_first_event"
TREND_FEATURE = f"trend_{TREND_RECENT_DAYS}d_vs_prior_{TREND_PRIOR_DAYS}d"
INACTIVE_DAYS = "inactive_days"
LEAD_AGE_DAYS = "lead_age_days"
CHUNK_ROWS = 200_000
SHARED_MIN_ROWS = 5_000
"""Rows a snapshot time needs for a query of its own; rarer times are pooled (see ``_batches``)."""


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
        IntentColumn(DAYS_SINCE_ANY, ACTIVITY, "days_since", None, -1),
        IntentColumn(LOG_TOTAL_EVENTS, ACTIVITY, "total", None, +1),
        IntentColumn(DAYS_SINCE_FIRST_EVENT, FIRST_TOUCH, "first_touch", None, -1),
        IntentColumn(TREND_FEATURE, TREND, "trend", None, 0),
        IntentColumn(INACTIVE_DAYS, INACTIVITY, "inactive", None, -1),
        IntentColumn(LEAD_AGE_DAYS, LEAD_AGE, "lead_age", None, -1),
    ]
    return columns


PER_TYPE_STATS = ("min_age", "max_age", "total", "recent", "prior")


def per_type_sql(
    half_lives: tuple[float, ...],
    windows: tuple[int, ...],
    per_row: bool = False,
    dialect: str = "duckdb",
    snapshot_us: int | None = None,
) -> str:
    """One query for one snapshot time ``$snapshot`` (microseconds since the epoch, UTC).

    It aggregates per (lead, event type) only what every feature is made from: decayed sums per
    half-life, counts per window, the youngest and oldest event's age, totals and the two trend
    windows.  Features over all types are sums, minima and maxima of these.

    ``per_row``: each batch row has its own time ``snap_us`` instead, and the statistics are
    grouped by the row's position ``row_key`` (returned as ``lead_idx``); used for the many small
    groups of rows that share a time (entry snapshots), where one query per time would rescan
    the events for a handful of leads.

    ``dialect``: ``duckdb``, or ``spark`` (Spark SQL: ``LEFT SEMI JOIN``, double literals with a
    ``D`` suffix, since a plain ``1.5`` is a decimal there, and the snapshot time ``snapshot_us``
    written into the query); the same definitions either way, so both engines compute the same
    features (:mod:`predictive_scoring.spark`).
    """
    spark = dialect == "spark"
    if dialect not in ("duckdb", "spark"):
        raise ValueError(f"unknown SQL dialect {dialect!r}")

    def number(value: float) -> str:
        return f"{value!r}D" if spark else repr(value)

    def name(text: str) -> str:
        return f"`{text}`" if spark else quote_identifier(text)

    decayed = [
        f"SUM(EXP(-{number(math.log(2) / h)} * age)) AS {name(f'decayed_{h:g}')}"
        for h in half_lives
    ]
    counts = [f"COUNT(*) FILTER (WHERE age <= {w}) AS {name(f'count_{w}')}" for w in windows]
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
    day = number(float(DAY_US))
    if per_row:
        visible = (
            f"  SELECT b.row_key AS lead_idx, e.type_code, (b.snap_us - e.t_us) / {day} AS age\n"
            "  FROM events e JOIN batch b ON e.lead_idx = b.lead_idx\n"
            "  WHERE e.t_us < b.snap_us AND e.type_code >= 0\n"
        )
    else:
        snapshot = "$snapshot" if not spark else str(int(snapshot_us or 0))
        semi = "LEFT SEMI JOIN" if spark else "SEMI JOIN"
        visible = (
            f"  SELECT e.lead_idx, e.type_code, ({snapshot} - e.t_us) / {day} AS age\n"
            f"  FROM events e {semi} batch b ON e.lead_idx = b.lead_idx\n"
            f"  WHERE e.t_us < {snapshot} AND e.type_code >= 0\n"
        )
    return f"SELECT\n  {select}\nFROM (\n{visible}) visible\nGROUP BY lead_idx, type_code"


def statistics_of(columns: list[IntentColumn]) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """The half-lives and windows (days) whose per-type statistics ``columns`` are made from."""
    half_lives = tuple(sorted({c.days for c in columns if c.stat == "decayed" and c.days}))
    windows = tuple(sorted({int(c.days) for c in columns if c.stat == "count" and c.days}))
    return half_lives, windows


def compute_intent(
    events: pd.DataFrame,
    rows: pd.DataFrame,
    columns: list[IntentColumn],
    n_types: int,
    inactivity_days: int,
    threads: int,
    chunk_rows: int = CHUNK_ROWS,
) -> pd.DataFrame:
    """Intent features for ``rows`` (``lead_idx``, ``snap_us``, ``created_us``), aligned to them.

    Rows are processed per snapshot time in chunks of at most ``chunk_rows`` leads, so memory is
    bounded by the chunk, not by the number of leads.

    ``events`` holds ``lead_idx`` (int), ``t_us`` (int, microseconds) and ``type_code`` (int in
    ``range(n_types)``, or -1 for a type the spec does not know: ignored).
    """
    import duckdb

    half_lives, windows_days = statistics_of(columns)
    queries = {
        shared: per_type_sql(half_lives, windows_days, per_row=not shared)
        for shared in (True, False)
    }
    out = np.full((len(rows), len(columns)), np.nan)
    with duckdb.connect(config={"threads": threads}) as con:
        con.register("events", events)
        for shared, positions in _batches(rows, chunk_rows):
            batch = rows.iloc[positions]
            snaps = batch["snap_us"].to_numpy()
            keys = batch["lead_idx"].to_numpy() if shared else np.arange(len(batch))
            con.register(
                "batch",
                pd.DataFrame({"lead_idx": batch["lead_idx"].to_numpy(), "row_key": keys}).assign(
                    snap_us=snaps
                ),
            )
            found = con.execute(queries[shared], {"snapshot": int(snaps[0])} if shared else {})
            cube = _cube(found.fetchnumpy(), keys, n_types, half_lives, windows_days)
            con.unregister("batch")
            age = (snaps - batch["created_us"].to_numpy()) / DAY_US
            out[positions] = _assemble(cube, columns, age, inactivity_days)
    return pd.DataFrame(out, index=rows.index, columns=[c.name for c in columns], copy=False)


def _batches(rows: pd.DataFrame, chunk_rows: int) -> Iterator[tuple[bool, np.ndarray]]:
    """Row positions to compute together, and whether they share one snapshot time.

    Times held by at least ``SHARED_MIN_ROWS`` rows get their own queries, in chunks of at most
    ``chunk_rows``; the rows of rarer times are pooled into per-row-time batches.
    """
    snaps = rows["snap_us"].to_numpy()
    order = np.argsort(snaps, kind="stable")
    bounds = np.flatnonzero(np.diff(snaps[order])) + 1
    pooled: list[np.ndarray] = []
    for positions in np.split(order, bounds):
        if len(positions) < SHARED_MIN_ROWS:
            pooled.append(positions)
            continue
        for start in range(0, len(positions), chunk_rows):
            yield True, positions[start : start + chunk_rows]
    if pooled:
        rest = np.concatenate(pooled)
        for start in range(0, len(rest), chunk_rows):
            yield False, rest[start : start + chunk_rows]


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
    cube = {}
    for name in stat_names(half_lives, windows):
        fill = np.nan if name in ("min_age", "max_age") else 0.0
        grid = np.full((len(lead_idx), n_types), fill)
        grid[row, kind] = np.asarray(found[name], dtype=float)
        cube[name] = grid
    return cube


def stat_names(half_lives: tuple[float, ...], windows: tuple[int, ...]) -> list[str]:
    """The per-type statistics :func:`per_type_sql` returns, beside ``lead_idx``/``type_code``."""
    return (
        [f"decayed_{h:g}" for h in half_lives]
        + [f"count_{w}" for w in windows]
        + list(PER_TYPE_STATS)
    )


def wide_name(stat: str, type_code: int) -> str:
    """The column holding ``stat`` of event type ``type_code`` in a row per lead."""
    return f"{stat}__{type_code}"


def wide_sql(n_types: int, half_lives: tuple[float, ...], windows: tuple[int, ...]) -> str:
    """The per-type rows of :func:`per_type_sql` (a view ``stats``) as one row per lead with a
    column per (statistic, type), named by :func:`wide_name`; Spark SQL."""
    columns = [
        f"MAX(CASE WHEN type_code = {code} THEN `{stat}` END) AS `{wide_name(stat, code)}`"
        for code in range(n_types)
        for stat in stat_names(half_lives, windows)
    ]
    select = ",\n  ".join(["lead_idx", *columns])  # no event types: lead_idx alone
    return f"SELECT {select}\nFROM stats GROUP BY lead_idx"


def cube_from_wide(
    wide: pd.DataFrame, n_types: int, half_lives: tuple[float, ...], windows: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """:func:`_cube`'s arrays from a row per lead of :func:`wide_sql` (nulls where a lead has no
    event of a type: zeros, or NaN for ages)."""
    cube = {}
    for stat in stat_names(half_lives, windows):
        fill = np.nan if stat in ("min_age", "max_age") else 0.0
        grid = np.full((len(wide), n_types), fill)
        for code in range(n_types):
            values = pd.to_numeric(wide[wide_name(stat, code)], errors="coerce")
            grid[:, code] = values.to_numpy(dtype=float, na_value=np.nan)
            grid[np.isnan(grid[:, code]), code] = fill
        cube[stat] = grid
    return cube


def assemble_intent(
    cube: dict[str, np.ndarray], columns: list[IntentColumn], age: np.ndarray, inactivity_days: int
) -> np.ndarray:
    """The intent features (one column each of ``columns``) from the per-type statistics and
    each row's lead age in days."""
    return _assemble(cube, columns, age, inactivity_days)


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
