"""Simulated time: microseconds since the funnel's start, epoch days, weekends, UTC timestamps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictive_scoring.data.synthetic.arrays import Bools, Ints

_EPOCH_WEEKDAY = 3
"""1970-01-01 was a Thursday (Monday = 0)."""


def _utc(value: pd.Timestamp | str) -> pd.Timestamp:
    """``value`` as a UTC timestamp (one without a zone is taken to be UTC)."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _epoch_day(start: pd.Timestamp) -> int:
    """Days from 1970-01-01 to the date of ``start``."""
    day = start.tz_localize(None).to_datetime64().astype("datetime64[D]")
    return int(day.astype(np.int64))


def _is_weekend(epoch_day: int, days: Ints) -> Bools:
    """Whether each of ``days`` (counted from epoch day ``epoch_day``) is a Saturday or Sunday."""
    result: Bools = (epoch_day + days + _EPOCH_WEEKDAY) % 7 >= 5
    return result


def _timestamps(micros: Ints, start: pd.Timestamp, missing: Bools | None = None) -> pd.Series:
    """UTC timestamps ``micros`` after ``start`` (``NaT`` where ``missing``)."""
    origin = np.datetime64(start.tz_localize(None), "us")
    values = origin + micros.astype("timedelta64[us]")
    if missing is not None:
        values[missing] = np.datetime64("NaT", "us")
    return pd.Series(pd.DatetimeIndex(values).tz_localize("UTC"))


def _micros_since_start(stamps: pd.Series, start: pd.Timestamp) -> Ints:
    """Microseconds from ``start`` to each timestamp (int64 minimum for a missing one)."""
    naive = pd.to_datetime(stamps, utc=True).dt.tz_localize(None)
    values = naive.to_numpy(dtype="datetime64[us]")
    return (values - np.datetime64(start.tz_localize(None), "us")).astype(np.int64)
