"""Snapshots and labels, computed by hand."""

from __future__ import annotations

from itertools import pairwise

import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.features.snapshots import scoring_rows, snapshot_times, training_snapshots
from predictive_scoring.timeline import visible_at
from tests.features.helpers import lead_data, small_history, ts

DATA = small_history()


def test_snapshot_times_are_anchored_at_t_minus_horizon() -> None:
    times = snapshot_times(DATA, ts("2024-03-31"), horizon_days=30, every_days=14)
    assert times[-1] == ts("2024-03-01")
    assert times[0] > ts("2024-01-01") and times[0] - pd.Timedelta(days=14) <= ts("2024-01-01")
    assert all(b - a == pd.Timedelta(days=14) for a, b in pairwise(times))


def test_training_uses_only_fully_observed_labels() -> None:
    rows = training_snapshots(DATA, ts("2024-03-31"), horizon_days=30, every_days=7, max_per_lead=3)
    assert rows[schema.SNAPSHOT_AT].max() + pd.Timedelta(days=30) <= ts("2024-03-31")
    assert set(rows.loc[rows[schema.LABEL] == 1, schema.LEAD_ID]) <= {"won", "edge"}


def test_long_lived_leads_are_thinned_by_age_only() -> None:
    leads = [(f"L{i}", "2023-01-01") for i in range(200)]
    data = lead_data(leads)
    rows = training_snapshots(
        data, ts("2024-12-31"), horizon_days=30, every_days=7, max_per_lead=4, entry=False
    )
    every = training_snapshots(
        data, ts("2024-12-31"), horizon_days=30, every_days=7, max_per_lead=999, entry=False
    )
    nth = ((every[schema.SNAPSHOT_AT] - ts("2023-01-01")) // pd.Timedelta(days=7)) + 1
    young = every[nth <= 4]
    assert len(young.merge(rows)) == len(young), "snapshots of a lead's first K weeks are all kept"
    expected = sum(min(1, 4 / n) for n in nth[every[schema.LEAD_ID] == "L0"])
    assert rows.groupby(schema.LEAD_ID).size().mean() == pytest.approx(expected, rel=0.1)
    again = training_snapshots(
        data, ts("2024-12-31"), horizon_days=30, every_days=7, max_per_lead=4, entry=False
    )
    pd.testing.assert_frame_equal(rows, again)
    assert set(rows.loc[rows[schema.LABEL] == 1, schema.LEAD_ID]) <= {"won", "edge"}


def test_a_conversion_at_exactly_t_is_not_known_at_t() -> None:
    known = visible_at(DATA, ts("2024-03-01"))
    assert "edge" not in set(known.outcomes[schema.LEAD_ID])
    rows = training_snapshots(DATA, ts("2024-03-01"), horizon_days=30, every_days=7, max_per_lead=9)
    assert rows.loc[rows[schema.LEAD_ID] == "edge", schema.LABEL].sum() == 0


def test_scoring_rows_are_the_open_leads() -> None:
    rows = scoring_rows(DATA, ts("2024-03-15"))
    assert rows[schema.LEAD_ID].tolist() == ["open", "late"]
    assert (rows[schema.SNAPSHOT_AT] == ts("2024-03-15")).all()


ENTRIES = lead_data(
    leads=[
        ("fast", "2024-01-05 12:00"),  # converts before the grid first sees it
        ("on_grid", "2024-01-18 12:00"),  # first daily tick is a grid time
        ("gone", "2024-01-05 12:00"),  # converts before its first tick
        ("slow", "2024-01-05 12:00"),
        ("too_late", "2024-03-01 00:00"),  # first tick would be after T - H
    ],
    outcomes=[
        ("fast", "2024-01-08", None),
        ("gone", "2024-01-05 18:00", None),
        ("slow", "2024-02-20", None),
    ],
)


def test_entry_snapshots_see_each_lead_within_a_day_of_its_creation() -> None:
    # T - H = 1 March; the grid steps back 14 days (16 Feb, 2 Feb, 19 Jan, 5 Jan at midnight).
    rows = training_snapshots(
        ENTRIES, ts("2024-03-31"), horizon_days=30, every_days=14, max_per_lead=8
    )
    entry = rows[rows[schema.ENTRY]].set_index(schema.LEAD_ID)
    assert sorted(entry.index) == ["fast", "slow"]
    assert (entry[schema.SNAPSHOT_AT] == ts("2024-01-06")).all()
    assert entry[schema.LABEL].to_dict() == {"fast": 1, "slow": 0}, "8 Jan is within 30 days"
    assert (entry[schema.REFERENCE_WEIGHT] == 0).all()
    grid = rows[~rows[schema.ENTRY]]
    assert "fast" not in set(grid[schema.LEAD_ID]), "the grid never sees the fast conversion"
    on_grid = rows[rows[schema.LEAD_ID] == "on_grid"]
    assert on_grid[schema.SNAPSHOT_AT].min() == ts("2024-01-19") and not on_grid[schema.ENTRY].any()
    assert on_grid[schema.SNAPSHOT_AT].is_unique
    assert "gone" not in set(rows[schema.LEAD_ID]) and "too_late" not in set(rows[schema.LEAD_ID])
    without = training_snapshots(
        ENTRIES, ts("2024-03-31"), horizon_days=30, every_days=14, max_per_lead=8, entry=False
    )
    pd.testing.assert_frame_equal(without, grid.reset_index(drop=True))


def test_entry_ticks_lie_in_the_first_day_and_keep_labels_observed() -> None:
    leads = [
        (f"M{i}", str(ts("2024-01-01") + pd.Timedelta(minutes=97 * i))[:16]) for i in range(300)
    ]
    at = ts("2024-04-15 06:30")
    rows = training_snapshots(lead_data(leads), at, horizon_days=30, every_days=7, max_per_lead=4)
    created = rows[schema.LEAD_ID].map(dict(leads)).map(ts)
    entry = rows[schema.ENTRY]
    age = rows[schema.SNAPSHOT_AT] - created
    assert ((age > pd.Timedelta(0)) & (age <= pd.Timedelta(days=1)))[entry].all()
    assert (rows[schema.SNAPSHOT_AT] + pd.Timedelta(days=30) <= at).all()
    ticks = (at - pd.Timedelta(days=30) - rows.loc[entry, schema.SNAPSHOT_AT]) / pd.Timedelta(
        days=1
    )
    assert (ticks == ticks.round()).all() and (ticks % 7 != 0).all()
    assert not rows.duplicated([schema.LEAD_ID, schema.SNAPSHOT_AT]).any()


def test_entry_rows_respect_closures_conversions_at_s_and_sub_microsecond_times() -> None:
    data = lead_data(
        leads=[
            ("closed_first", "2024-01-05 12:00"),
            ("converts_at_s", "2024-01-05 12:00"),
            ("last_micro", "2024-03-01 00:00:00.000000300"),
        ],
        outcomes=[
            ("closed_first", None, "2024-01-05 20:00"),
            ("converts_at_s", "2024-01-06 00:00", None),
        ],
    )
    at = pd.Timestamp("2024-03-31 00:00:00.000000900", tz="UTC")  # T - H in the same µs
    rows = training_snapshots(data, at, horizon_days=30, every_days=14, max_per_lead=8)
    entry = rows[rows[schema.ENTRY]].set_index(schema.LEAD_ID)
    assert list(entry.index) == ["converts_at_s"], "closed before its tick; created too late"
    assert entry.loc["converts_at_s", schema.LABEL] == 0, "(s, s + H] excludes s"
    assert (rows[schema.SNAPSHOT_AT] + pd.Timedelta(days=30) <= at).all()
