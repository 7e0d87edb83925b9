"""The generated history: the daily step run over every day, and the tables it writes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.data.synthetic.arrays import Bools, Ints, _vocabulary
from predictive_scoring.data.synthetic.clock import _timestamps
from predictive_scoring.data.synthetic.dynamics import _Dynamics
from predictive_scoring.data.synthetic.params import FunnelParams
from predictive_scoring.data.synthetic.process import (
    _OPEN,
    _WON,
    _compacted,
    _DayDraws,
    _Population,
    _Profile,
    _step_day,
)
from predictive_scoring.data.synthetic.vocabulary import EVENT_TYPES, STATUS_WON
from predictive_scoring.timeline import DAY_US


@dataclass(frozen=True)
class _History:
    """Events and closures of a simulated history, in microseconds since ``start``."""

    event_lead: Ints
    event_type: Ints
    event_us: Ints
    closed_lead: Ints
    closed_status: Ints
    closed_us: Ints
    open_at_end: _Population


def _simulate_history(
    profile: _Profile, dyn: _Dynamics, n_days: int, rng: np.random.Generator
) -> _History:
    """Run the daily step over ``n_days``, adding each lead on the day it is created.

    ``profile`` must be ordered by creation time.
    """
    pop, alive = profile.fresh(np.zeros(0, dtype=np.int64)), np.zeros(0, dtype=bool)
    created = np.searchsorted(profile.created_day, np.arange(n_days + 1))
    events: list[tuple[Ints, Ints, Ints]] = []
    closures: list[tuple[Ints, Ints, Ints]] = []
    for day in range(n_days):
        pop, alive = _compacted(pop, alive)
        pop = pop.extend(profile.fresh(np.arange(created[day], created[day + 1])))
        alive = np.concatenate([alive, np.ones(created[day + 1] - created[day], dtype=bool)])
        draws = _step_day(pop, day, dyn, rng)
        events.append(_day_events(pop, draws, alive, day))
        closing = np.flatnonzero((draws.status != _OPEN) & alive)
        closures.append(
            (pop.row[closing], draws.status[closing], draws.close_us[closing] + day * DAY_US)
        )
        alive &= draws.status == _OPEN
    event_parts, closure_parts = _stack(events), _stack(closures)
    return _History(*event_parts, *closure_parts, open_at_end=pop.take(np.flatnonzero(alive)))


def _day_events(
    pop: _Population, draws: _DayDraws, alive: Bools, day: int
) -> tuple[Ints, Ints, Ints]:
    """Lead positions, type codes and times (µs since start) of a day's events, in time order."""
    kept = np.flatnonzero(alive[draws.event_rows])
    order = kept[np.argsort(draws.event_us[kept], kind="stable")]
    lead = pop.row[draws.event_rows[order]].astype(np.int32)
    return lead, draws.event_types[order].astype(np.int8), draws.event_us[order] + day * DAY_US


def _stack(parts: list[tuple[Ints, Ints, Ints]]) -> tuple[Ints, Ints, Ints]:
    first, second, third = zip(*parts, strict=True)
    return np.concatenate(first), np.concatenate(second), np.concatenate(third)


def _events_frame(history: _History, leads: pd.DataFrame, params: FunnelParams) -> pd.DataFrame:
    return pd.DataFrame(
        {
            schema.LEAD_ID: leads[schema.LEAD_ID].array.take(history.event_lead),
            schema.OCCURRED_AT: _timestamps(history.event_us, params.start_timestamp),
            schema.EVENT_TYPE: _vocabulary(EVENT_TYPES).take(history.event_type),
        }
    )


def _outcomes_frame(history: _History, leads: pd.DataFrame, params: FunnelParams) -> pd.DataFrame:
    order = np.argsort(history.closed_us, kind="stable")
    status = history.closed_status[order]
    closed_us = history.closed_us[order]
    return pd.DataFrame(
        {
            schema.LEAD_ID: leads[schema.LEAD_ID].array.take(history.closed_lead[order]),
            schema.CONVERTED_AT: _timestamps(
                closed_us, params.start_timestamp, missing=status != _WON
            ),
            schema.STATUS: _vocabulary(("", STATUS_WON, schema.STATUS_LOST)).take(status),
            schema.CLOSED_AT: _timestamps(closed_us, params.start_timestamp),
        }
    )
