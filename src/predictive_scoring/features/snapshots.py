"""Snapshots: the rows a model learns from and the rows a batch scores, as of a time T.

Visibility, openness and labels follow :mod:`predictive_scoring.timeline`; this module decides
*when* leads are looked at.  A snapshot at ``s`` holds every lead open at ``s``, labelled positive
when ``s < converted_at <= s + H``.  Training as of ``T`` uses only snapshots with ``s + H <= T``;
labels are read from the history visible at ``T``, so a conversion at exactly ``T`` is not known yet.

Snapshot times are anchored at ``T - H`` and step back every ``snapshot_every_days``, so they depend
only on ``T``: feeding the full history or the history truncated at ``T`` gives the same snapshots.

That grid sees a new lead first somewhere in its first ``snapshot_every_days`` days, and a lead that
converts before then never as a positive.  Yet daily scoring sees every lead within a day of its
creation, and the fastest conversions are the ones fit predicts best.  So each lead also gets an
*entry snapshot* at its first daily tick: the first of ``T - H - k`` days (k = 0, 1, ...) after its
creation, at most a day after it (skipped when that tick is on the grid, which already holds it).
Entry rows are chosen by the lead's age alone, like the thinning below, so they change which rows
are learned from but not what a row's features say about its label.  They carry weight 0: the open
population (the reference scores are percentiles of) is the grid's, which already holds young leads
as often as they are open.
A lead open for a year would appear at every snapshot.  Its first ``max_snapshots_per_lead``
snapshots are all kept; its n-th after that is kept with probability ``max_snapshots_per_lead / n``
(a fixed hash of lead and snapshot time draws it), so long-lived leads grow only logarithmically
and cannot dominate.  Whether a row is kept depends only on what is known at its snapshot time (the
lead's age), never on how long the lead will stay open: a cap on each lead's *total* number of
snapshots would drop non-converters more often than converters and bias every probability upward.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.data.tables import LeadData
from predictive_scoring.timeline import (
    CONVERSION,
    DAY_US,
    Target,
    converts_within,
    days_between,
    ended_before,
    instant_micros,
    members_at,
    target_labels_at,
    to_micros,
    visible_at,
)

__all__ = ["entry_snapshots", "scoring_rows", "snapshot_times", "training_snapshots"]


def snapshot_times(
    data: LeadData, as_of: pd.Timestamp, horizon_days: int, every_days: int
) -> list[pd.Timestamp]:
    """Snapshot times ``T - H - k * every`` (k = 0, 1, ...) after the first lead, oldest first."""
    first = data.leads[schema.CREATED_AT].min()
    latest = as_of - pd.Timedelta(days=horizon_days)
    times = []
    at = latest
    while pd.notna(first) and at > first:
        times.append(at)
        at -= pd.Timedelta(days=every_days)
    return times[::-1]


def training_snapshots(
    data: LeadData,
    as_of: pd.Timestamp,
    horizon_days: int,
    every_days: int,
    max_per_lead: int,
    entry: bool = True,
    target: Target = CONVERSION,
) -> pd.DataFrame:
    """One row per (open lead, snapshot) with its label, as known at ``as_of`` (for another
    ``target``: per member of its population, with its label; no entry rows, which are about
    the fastest conversions).

    Returns
    -------
    pandas.DataFrame
        ``lead_id``, ``snapshot_at``, ``label``, ``reference_weight`` (1 / the row's keep
        probability: how many open-lead rows it stands for; 0 for entry rows) and
        ``entry_snapshot`` (entry row or grid row), sorted by snapshot time then lead.
        ``entry=False`` leaves out the entry rows.
    """
    known = visible_at(data, as_of)
    parts = [
        pd.DataFrame(
            {
                schema.LEAD_ID: ids,
                schema.SNAPSHOT_AT: at,
                schema.LABEL: target_labels_at(known, ids, at, horizon_days, target),
            }
        )
        for at in snapshot_times(known, as_of, horizon_days, every_days)
        for ids in [members_at(known, at, target)]
    ]
    if not parts:
        return _empty_snapshots()
    rows = pd.concat(parts, ignore_index=True)
    keep = _keep_probability(rows, known, every_days, max_per_lead)
    uniform = _uniform(rows)
    rows[schema.REFERENCE_WEIGHT] = 1 / keep
    rows[schema.ENTRY] = False
    kept = rows[uniform < keep]
    if entry and target.is_conversion:
        kept = pd.concat([kept, entry_snapshots(known, as_of, horizon_days, every_days)])
    return kept.sort_values([schema.SNAPSHOT_AT, schema.LEAD_ID], kind="stable").reset_index(
        drop=True
    )


def entry_snapshots(
    known: LeadData, as_of: pd.Timestamp, horizon_days: int, every_days: int
) -> pd.DataFrame:
    """Each lead's entry snapshot: its first daily tick ``T - H - k`` days (k = 0, 1, ...) after
    its creation, with its label; leads still open then, ticks off the grid only."""
    latest = as_of - pd.Timedelta(days=horizon_days)
    leads = known.leads[known.leads[schema.CREATED_AT] < latest]
    latest_us = instant_micros(latest)
    ticks_back = (latest_us - to_micros(leads[schema.CREATED_AT]) - 1) // DAY_US
    rows = pd.DataFrame(
        {
            schema.LEAD_ID: leads[schema.LEAD_ID].to_numpy(),
            schema.SNAPSHOT_AT: pd.to_datetime(
                latest_us - ticks_back * DAY_US, unit="us", utc=True
            ),
        }
    )[(ticks_back >= 0) & (ticks_back % every_days != 0)]  # >= 0: created within T - H's µs
    outcomes = known.outcomes.set_index(schema.LEAD_ID)
    converted, closed = (
        pd.to_datetime(outcomes[column].reindex(rows[schema.LEAD_ID]), utc=True).set_axis(
            rows.index
        )
        for column in (schema.CONVERTED_AT, schema.CLOSED_AT)
    )
    at = rows[schema.SNAPSHOT_AT]
    still_open = ~ended_before(converted, closed, at)
    label = converts_within(converted, at, horizon_days)
    entry: pd.DataFrame = rows[still_open.to_numpy()].assign(
        **{
            schema.LABEL: label[still_open].astype("int8"),
            schema.REFERENCE_WEIGHT: 0.0,
            schema.ENTRY: True,
        }
    )
    return entry


def _keep_probability(
    rows: pd.DataFrame, known: LeadData, every_days: int, max_per_lead: int
) -> np.ndarray:
    """Age-based thinning: the lead's n-th snapshot is kept with probability min(1, K / n)."""
    created = rows[schema.LEAD_ID].map(known.leads.set_index(schema.LEAD_ID)[schema.CREATED_AT])
    age_days = days_between(created, rows[schema.SNAPSHOT_AT]).to_numpy()
    nth = np.floor(age_days / every_days) + 1
    keep: np.ndarray = np.minimum(1.0, max_per_lead / nth)
    return keep


def _uniform(rows: pd.DataFrame) -> np.ndarray:
    """A fixed pseudo-random number in [0, 1) per (lead, snapshot time)."""
    key = rows[schema.LEAD_ID].astype("string") + "@" + rows[schema.SNAPSHOT_AT].astype("string")
    uniform: np.ndarray = pd.util.hash_pandas_object(key, index=False).to_numpy() / np.float64(
        2**64
    )
    return uniform


def scoring_rows(
    data: LeadData, as_of: pd.Timestamp | None, target: Target = CONVERSION
) -> pd.DataFrame:
    """One row per lead open at ``as_of`` (per member of ``target``'s population; every lead in
    flat mode), to be scored at ``as_of``."""
    if data.flat or as_of is None:
        return pd.DataFrame(
            {schema.LEAD_ID: data.leads[schema.LEAD_ID].to_numpy(), schema.SNAPSHOT_AT: pd.NaT}
        )
    ids = members_at(data, as_of, target)
    return pd.DataFrame({schema.LEAD_ID: ids.to_numpy(), schema.SNAPSHOT_AT: as_of})


def _empty_snapshots() -> pd.DataFrame:
    return pd.DataFrame(
        {
            schema.LEAD_ID: pd.Series(dtype="string"),
            schema.SNAPSHOT_AT: pd.Series(dtype="datetime64[ns, UTC]"),
            schema.LABEL: pd.Series(dtype="int8"),
            schema.REFERENCE_WEIGHT: pd.Series(dtype="float64"),
            schema.ENTRY: pd.Series(dtype="bool"),
        }
    )
