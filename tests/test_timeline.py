"""Time, by hand: what is visible at T, which leads are open, labels, and as-of selection."""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.timeline import (
    DAY_US,
    converts_within,
    days_between,
    ended_before,
    instant_micros,
    labels_at,
    latest_as_of,
    open_leads_at,
    rows_as_of,
    same_as_of,
    to_micros,
    visible_at,
)
from tests.features.helpers import small_history, ts

DATA = small_history()


def test_open_leads_exclude_converted_closed_and_not_yet_created() -> None:
    at = ts("2024-02-15")
    assert open_leads_at(DATA, at).tolist() == ["open", "edge"]
    assert open_leads_at(DATA, ts("2024-02-10")).tolist() == ["won", "open", "edge"]


def test_a_lead_converting_exactly_at_t_is_still_open_at_t() -> None:
    assert "edge" in open_leads_at(DATA, ts("2024-03-01")).tolist()
    assert "edge" not in open_leads_at(DATA, ts("2024-03-01 00:00:01")).tolist()


def test_labels_cover_the_half_open_horizon() -> None:
    ids = pd.Series(["won", "open", "edge"])
    assert labels_at(DATA, ids, ts("2024-01-11"), 30).tolist() == [1, 0, 0]
    assert labels_at(DATA, ids, ts("2024-01-10"), 30).tolist() == [0, 0, 0], "10 Feb is outside"
    assert labels_at(DATA, ids, ts("2024-02-10"), 30).tolist() == [0, 0, 1], "(s, s+H] excludes s"


def test_visible_at_cuts_every_table_strictly_before_t() -> None:
    known = visible_at(DATA, ts("2024-02-10"))
    assert sorted(known.leads[schema.LEAD_ID]) == ["edge", "lost", "open", "won"]
    assert sorted(known.outcomes[schema.LEAD_ID]) == ["lost"], "a conversion at T is not known"
    later = visible_at(DATA, ts("2024-02-10 00:00:01"))
    assert sorted(later.outcomes[schema.LEAD_ID]) == ["lost", "won"]


def test_ended_and_converts_within_are_the_open_and_label_rules_row_by_row() -> None:
    at = pd.Series([ts("2024-01-05"), ts("2024-01-05"), ts("2024-02-05")])
    converted = pd.Series([ts("2024-01-05"), ts("2024-02-04"), pd.NaT])
    closed = pd.Series([pd.NaT, pd.NaT, ts("2024-02-04")])
    assert ended_before(converted, closed, at).tolist() == [False, False, True]
    assert converts_within(converted, at, 30).tolist() == [False, True, False]


def test_units_are_microseconds_since_the_epoch() -> None:
    stamps = pd.Series(
        pd.to_datetime(["1970-01-02", "2024-01-01T00:00:00.0000019"], utc=True, format="ISO8601")
    )
    assert to_micros(stamps).tolist() == [DAY_US, 1_704_067_200_000_001]
    assert instant_micros(ts("1970-01-02")) == DAY_US
    assert days_between(stamps.iloc[:1], ts("1970-01-03")).tolist() == [1.0]


def _scores(stamps: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            schema.LEAD_ID: [f"L{i}" for i in range(len(stamps))],
            schema.AS_OF: pd.to_datetime(pd.Series(stamps, dtype="object"), utc=True),
        }
    )


def test_the_rows_of_one_as_of_and_the_latest_one() -> None:
    scores = _scores(["2024-01-01", "2024-01-02", "2024-01-02", None])
    assert latest_as_of(scores[schema.AS_OF]) == ts("2024-01-02")
    assert rows_as_of(scores, ts("2024-01-02"))[schema.LEAD_ID].tolist() == ["L1", "L2"]
    assert rows_as_of(scores, None)[schema.LEAD_ID].tolist() == ["L3"], "flat rows have no as-of"
    assert same_as_of(scores[schema.AS_OF], ts("2023-12-31")).sum() == 0


def test_a_flat_export_has_no_latest_as_of() -> None:
    scores = _scores([None, None])
    assert latest_as_of(scores[schema.AS_OF]) is None
    assert len(rows_as_of(scores, None)) == 2
    assert np.array_equal(same_as_of(scores[schema.AS_OF], pd.NaT), [True, True])
