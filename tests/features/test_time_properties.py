"""Properties of time: nothing at or after T matters; features cool when nothing happens."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from predictive_scoring import schema
from predictive_scoring.data.tables import LeadData
from predictive_scoring.features.snapshots import scoring_rows, training_snapshots
from predictive_scoring.features.spec import FIT, INTENT, build_features, learn_feature_spec
from predictive_scoring.timeline import visible_at
from tests.features.helpers import THREADS, features_config, random_lead_data, truncated, ts

START = ts("2024-01-01")
seeds = st.integers(min_value=0, max_value=10_000)
hours = st.integers(min_value=24 * 20, max_value=24 * 200)


def _training_view(data: LeadData, at: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    config = features_config()
    snapshots = training_snapshots(data, at, horizon_days=30, every_days=7, max_per_lead=4)
    spec = learn_feature_spec(visible_at(data, at), config)
    return snapshots, build_features(data, snapshots, spec, THREADS)


@settings(max_examples=25, deadline=None)
@given(seed=seeds, offset=hours)
def test_full_history_and_history_truncated_at_t_agree(seed: int, offset: int) -> None:
    data = random_lead_data(seed)
    at = START + pd.Timedelta(hours=offset)
    full_rows, full_features = _training_view(data, at)
    cut_rows, cut_features = _training_view(truncated(data, at), at)
    pd.testing.assert_frame_equal(full_rows, cut_rows)
    pd.testing.assert_frame_equal(full_features, cut_features)
    pd.testing.assert_frame_equal(scoring_rows(data, at), scoring_rows(truncated(data, at), at))


@settings(max_examples=25, deadline=None)
@given(seed=seeds, offset=hours, later=st.integers(min_value=1, max_value=24 * 90))
def test_without_new_events_intent_cools_and_fit_stays(seed: int, offset: int, later: int) -> None:
    data = random_lead_data(seed)
    first = START + pd.Timedelta(hours=offset)
    second = first + pd.Timedelta(hours=later)
    quiet = LeadData(
        data.leads, data.events[data.events[schema.OCCURRED_AT] < first], data.outcomes, False
    )
    spec = learn_feature_spec(visible_at(quiet, first), features_config())
    rows = scoring_rows(quiet, first)
    both = rows[rows[schema.LEAD_ID].isin(scoring_rows(quiet, second)[schema.LEAD_ID])]
    before = build_features(quiet, both, spec, THREADS)
    after = build_features(quiet, both.assign(**{schema.SNAPSHOT_AT: second}), spec, THREADS)
    pd.testing.assert_frame_equal(before[spec.group(FIT)], after[spec.group(FIT)])
    for info in spec.features:
        if info.group != INTENT or info.heat == 0:
            continue
        old, new = before[info.name], after[info.name]
        comparable = old.notna() & new.notna()
        if info.heat > 0:
            assert (new[comparable] <= old[comparable] + 1e-12).all(), info.name
        else:
            assert (new[comparable] >= old[comparable] - 1e-12).all(), info.name
        assert (old.notna() <= new.notna()).all() or info.stat != "days_since", info.name


@settings(max_examples=15, deadline=None)
@given(seed=seeds, offset=hours)
def test_fit_features_do_not_depend_on_events(seed: int, offset: int) -> None:
    data = random_lead_data(seed)
    at = START + pd.Timedelta(hours=offset)
    silent = LeadData(data.leads, data.events.iloc[0:0], data.outcomes, False)
    spec = learn_feature_spec(visible_at(data, at), features_config())
    rows = scoring_rows(data, at)
    with_events = build_features(data, rows, spec, THREADS)[spec.group(FIT)]
    without = build_features(silent, rows, spec, THREADS)[spec.group(FIT)]
    pd.testing.assert_frame_equal(with_events, without)
