"""Point in time: the units of time and the rules that cut it (CONTRACT section 2).

The only module that decides what is visible at a time, which leads are open, what a label is and
which written rows belong to an as-of; everything else asks it.

* as of ``T``: leads with ``created_at < T``, events with ``occurred_at < T``, conversions and
  closures with their time ``< T``.  Nothing at or after ``T`` exists.
* a lead is *open* at ``T`` when it was created before ``T``, had not converted before ``T`` and had
  not been closed lost before ``T``.
* a row at ``s`` is labelled positive when ``s < converted_at <= s + H``.
* a further :class:`Target` (CONTRACT section 6) looks at another population (``customers``:
  leads converted before ``s``) or another outcome (an event of a type in ``(s, s + H]``); the
  conversion target is :data:`CONVERSION`.
* a scores destination holds the rows of several as-ofs; a flat export's rows have none.

Time is kept as UTC timestamps, or as integer microseconds since the epoch where it is computed on
(events, snapshot ticks), so that engines agree to the microsecond.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.data.tables import LeadData

__all__ = [
    "CONVERSION",
    "DAY_US",
    "EPOCH",
    "MICROSECOND",
    "SECONDS_PER_DAY",
    "Target",
    "converts_within",
    "days_between",
    "ended_before",
    "instant_micros",
    "labels_at",
    "latest_as_of",
    "members_at",
    "open_leads_at",
    "rows_as_of",
    "same_as_of",
    "target_labels_at",
    "to_micros",
    "visible_at",
]

EPOCH = pd.Timestamp(0, tz="UTC")
MICROSECOND = pd.Timedelta(microseconds=1)
SECONDS_PER_DAY = 86_400
DAY_US = SECONDS_PER_DAY * 1_000_000
"""Microseconds in a day."""


# ---- units -------------------------------------------------------------------------------------


def to_micros(stamps: pd.Series) -> np.ndarray:
    """UTC timestamps as integer microseconds since the epoch."""
    micros: np.ndarray = stamps.dt.tz_convert("UTC").dt.as_unit("us").astype("int64").to_numpy()
    return micros


def instant_micros(instant: pd.Timestamp) -> int:
    """One instant as integer microseconds since the epoch (floored)."""
    return int((instant - EPOCH) // MICROSECOND)


def days_between(start: pd.Series, end: pd.Series | pd.Timestamp) -> pd.Series:
    """Fractional days from ``start`` to ``end``."""
    days: pd.Series = (end - start).dt.total_seconds() / SECONDS_PER_DAY
    return days


# ---- what is known at T ------------------------------------------------------------------------


def visible_at(data: LeadData, as_of: pd.Timestamp) -> LeadData:
    """The history as known at ``as_of``: rows and outcome times strictly before it."""
    if data.flat:
        return data
    leads = data.leads[data.leads[schema.CREATED_AT] < as_of]
    events = data.events[data.events[schema.OCCURRED_AT] < as_of]
    outcomes = data.outcomes.assign(
        **{
            column: data.outcomes[column].where(data.outcomes[column] < as_of)
            for column in (schema.CONVERTED_AT, schema.CLOSED_AT)
        }
    )
    known = outcomes[schema.CONVERTED_AT].notna() | outcomes[schema.CLOSED_AT].notna()
    return LeadData(
        leads=leads.reset_index(drop=True),
        events=events.reset_index(drop=True),
        outcomes=outcomes[known].reset_index(drop=True),
        flat=False,
        display=data.display[data.display[schema.LEAD_ID].isin(leads[schema.LEAD_ID])],
    )


def ended_before(
    converted: pd.Series, closed: pd.Series, at: pd.Series | pd.Timestamp
) -> pd.Series:
    """Whether each lead had converted or been closed before ``at`` (unknown times: no)."""
    ended: pd.Series = (converted < at).fillna(False) | (closed < at).fillna(False)
    return ended


def converts_within(
    converted: pd.Series, at: pd.Series | pd.Timestamp, horizon_days: int
) -> pd.Series:
    """Whether each lead converts in ``(at, at + H]`` (the label of a row at ``at``)."""
    end = at + pd.Timedelta(days=horizon_days)
    positive: pd.Series = ((converted > at) & (converted <= end)).fillna(False)
    return positive


def open_leads_at(data: LeadData, at: pd.Timestamp) -> pd.Series:
    """The ids of the leads open at ``at``, in ``leads`` order."""
    outcomes = data.outcomes
    ended = ended_before(outcomes[schema.CONVERTED_AT], outcomes[schema.CLOSED_AT], at)
    leads = data.leads
    is_open = (leads[schema.CREATED_AT] < at) & ~leads[schema.LEAD_ID].isin(
        outcomes.loc[ended, schema.LEAD_ID]
    )
    ids: pd.Series = leads.loc[is_open, schema.LEAD_ID].reset_index(drop=True)
    return ids


def labels_at(
    data: LeadData, lead_ids: pd.Series, at: pd.Timestamp, horizon_days: int
) -> pd.Series:
    """1 when the lead converts in ``(at, at + H]`` according to ``data``, else 0."""
    converted = data.outcomes[schema.CONVERTED_AT]
    positive = data.outcomes.loc[converts_within(converted, at, horizon_days), schema.LEAD_ID]
    return lead_ids.isin(positive).astype("int8")


# ---- other targets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a model predicts: among ``population`` at ``s`` (``open`` leads, or ``customers``:
    leads that converted before ``s``), whether ``event_type`` occurs in ``(s, s + H]``
    (``None``: whether the lead converts)."""

    population: Literal["open", "customers"] = "open"
    event_type: str | None = None

    @property
    def is_conversion(self) -> bool:
        return self.population == "open" and self.event_type is None


CONVERSION = Target()
"""The model every ``train`` makes: open leads, converting within the horizon."""


def members_at(data: LeadData, at: pd.Timestamp, target: Target = CONVERSION) -> pd.Series:
    """The ids of ``target``'s population at ``at``, in ``leads`` order: the open leads, or the
    customers (created before ``at`` and converted before it)."""
    if target.population == "open":
        return open_leads_at(data, at)
    converted = data.outcomes.loc[
        (data.outcomes[schema.CONVERTED_AT] < at).fillna(False), schema.LEAD_ID
    ]
    leads = data.leads
    member = (leads[schema.CREATED_AT] < at) & leads[schema.LEAD_ID].isin(converted)
    ids: pd.Series = leads.loc[member, schema.LEAD_ID].reset_index(drop=True)
    return ids


def target_labels_at(
    data: LeadData,
    lead_ids: pd.Series,
    at: pd.Timestamp,
    horizon_days: int,
    target: Target = CONVERSION,
) -> pd.Series:
    """``target``'s label of a row at ``at``: 1 when the lead converts (or has an event of the
    target's type) in ``(at, at + H]`` according to ``data``, else 0."""
    if target.event_type is None:
        return labels_at(data, lead_ids, at, horizon_days)
    events = data.events
    stamps = events[schema.OCCURRED_AT]
    within = (
        (events[schema.EVENT_TYPE] == target.event_type)
        & (stamps > at)
        & (stamps <= at + pd.Timedelta(days=horizon_days))
    )
    return lead_ids.isin(events.loc[within.to_numpy(), schema.LEAD_ID]).astype("int8")


# ---- the rows of one as-of in a scores destination ---------------------------------------------


def same_as_of(stamps: pd.Series, as_of: pd.Timestamp | None) -> pd.Series:
    """Which rows were written as of ``as_of`` (``None``: a flat export's rows, which have none)."""
    if as_of is None or pd.isna(as_of):
        missing: pd.Series = stamps.isna()
        return missing
    same: pd.Series = (pd.to_datetime(stamps, utc=True) == as_of).fillna(False)
    return same


def latest_as_of(stamps: pd.Series) -> pd.Timestamp | None:
    """The latest as-of among ``stamps`` (``None`` when no row has one)."""
    known = pd.to_datetime(stamps, utc=True).dropna()
    return pd.Timestamp(known.max()) if len(known) else None


def rows_as_of(frame: pd.DataFrame, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """The rows of ``frame`` written as of ``as_of`` (see :func:`same_as_of`)."""
    chosen: pd.DataFrame = frame[same_as_of(frame[schema.AS_OF], as_of).to_numpy()]
    return chosen
