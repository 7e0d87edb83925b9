"""Hand-computed intent features for a lead with a known event sequence."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.features.snapshots import scoring_rows
from predictive_scoring.features.spec import build_features, learn_feature_spec, unseen_event_types
from predictive_scoring.timeline import visible_at
from tests.features.helpers import THREADS, features_config, lead_data, ts

T = ts("2024-02-01")


@pytest.fixture
def features() -> pd.DataFrame:
    data = lead_data(
        leads=[("A", "2024-01-01"), ("B", "2023-12-01"), ("C", "2024-01-20")],
        events=[
            ("A", "2023-12-15", "page_view"),  # 48 days before T, before A was created
            ("A", "2024-01-18", "pricing_page_view"),  # 14 days
            ("A", "2024-01-25", "pricing_page_view"),  # 7 days: on the 7-day window's edge
            ("A", "2024-01-29", "demo_request"),  # 3 days
            ("A", "2024-02-01", "demo_request"),  # at T: not visible
            ("A", "2024-03-01", "demo_request"),  # after T
            ("C", "2024-01-21", "page_view"),
        ],
    )
    spec = learn_feature_spec(visible_at(data, T), features_config())
    rows = scoring_rows(data, T)
    return build_features(data, rows, spec, THREADS).set_axis(rows[schema.LEAD_ID])


def test_decayed_counts_follow_each_half_life(features: pd.DataFrame) -> None:
    a = features.loc["A"]
    assert a["decayed_demo_request_3d"] == pytest.approx(0.5)
    assert a["decayed_demo_request_14d"] == pytest.approx(0.5 ** (3 / 14))
    assert a["decayed_demo_request_60d"] == pytest.approx(0.5 ** (3 / 60))
    assert a["decayed_pricing_page_view_14d"] == pytest.approx(0.5 ** (7 / 14) + 0.5)
    assert a["decayed_page_view_60d"] == pytest.approx(0.5 ** (48 / 60))


def test_window_counts_include_the_window_edge_and_exclude_t(features: pd.DataFrame) -> None:
    a = features.loc["A"]
    assert a["count_demo_request_7d"] == 1
    assert a["count_pricing_page_view_7d"] == 1
    assert a["count_pricing_page_view_30d"] == 2
    assert (a["count_any_7d"], a["count_any_30d"], a["count_any_90d"]) == (2, 3, 4)


def test_recency_first_touch_trend_and_totals(features: pd.DataFrame) -> None:
    a = features.loc["A"]
    assert a["days_since_demo_request"] == pytest.approx(3)
    assert a["days_since_pricing_page_view"] == pytest.approx(7)
    assert a["days_since_any"] == pytest.approx(3)
    assert a["days_since_first_event"] == pytest.approx(48)
    assert a["trend_7d_vs_prior_21d"] == pytest.approx(2 - 1 * 7 / 21)
    assert a["log_total_events"] == pytest.approx(math.log1p(4))
    assert a["lead_age_days"] == pytest.approx(31)
    assert a["inactive_days"] == 0


def test_lead_without_events_has_zero_counts_and_unknown_recency(features: pd.DataFrame) -> None:
    b = features.loc["B"]
    assert b["decayed_demo_request_14d"] == 0 and b["count_any_90d"] == 0
    assert math.isnan(b["days_since_any"]) and math.isnan(b["days_since_demo_request"])
    assert b["lead_age_days"] == pytest.approx(62)
    assert b["inactive_days"] == pytest.approx(62 - 30), "silence since creation counts"


def test_inactivity_counts_silence_after_activity(features: pd.DataFrame) -> None:
    c = features.loc["C"]
    assert c["days_since_any"] == pytest.approx(11)
    assert c["inactive_days"] == 0
    data = lead_data([("C", "2024-01-01")], [("C", "2024-01-02", "page_view")])
    spec = learn_feature_spec(data, features_config())
    later = build_features(data, scoring_rows(data, ts("2024-03-01")), spec, THREADS)
    assert later.loc[0, "inactive_days"] == pytest.approx(59 - 30)


def test_event_types_unseen_in_training_are_ignored_and_reported() -> None:
    data = lead_data(
        [("A", "2024-01-01")],
        [("A", "2024-01-05", "page_view"), ("A", "2024-01-06", "podcast_listen")],
    )
    spec = learn_feature_spec(visible_at(data, ts("2024-01-06")), features_config())
    assert spec.event_types == ("page_view",)
    features = build_features(data, scoring_rows(data, ts("2024-01-10")), spec, THREADS)
    assert features.loc[0, "count_any_7d"] == 1
    assert not any("podcast" in name for name in features.columns)
    assert unseen_event_types(data.events, spec) == {"podcast_listen": 1}


def test_chunking_does_not_change_features(monkeypatch: pytest.MonkeyPatch) -> None:
    from predictive_scoring.features import intent
    from tests.features.helpers import random_lead_data

    data = random_lead_data(seed=7, n_leads=40, n_events=400)
    at = ts("2024-05-01")
    spec = learn_feature_spec(visible_at(data, at), features_config())
    rows = scoring_rows(data, at)
    whole = build_features(data, rows, spec, THREADS)
    monkeypatch.setattr(intent, "CHUNK_ROWS", 3)
    monkeypatch.setattr(intent.compute_intent, "__defaults__", (3,))
    pd.testing.assert_frame_equal(build_features(data, rows, spec, THREADS), whole)


def test_per_time_and_pooled_queries_give_the_same_features(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from predictive_scoring.features import intent
    from predictive_scoring.features.snapshots import training_snapshots
    from tests.features.helpers import random_lead_data

    data = random_lead_data(seed=3, n_leads=60, n_events=600)
    at = ts("2024-06-30")
    rows = training_snapshots(data, at, horizon_days=30, every_days=7, max_per_lead=4)
    assert rows[schema.ENTRY].any() and rows[schema.SNAPSHOT_AT].nunique() > 20
    spec = learn_feature_spec(visible_at(data, at), features_config())
    monkeypatch.setattr(intent, "SHARED_MIN_ROWS", 1)
    per_time = build_features(data, rows, spec, THREADS)
    monkeypatch.setattr(intent, "SHARED_MIN_ROWS", 10**9)
    pooled = build_features(data, rows, spec, THREADS)
    monkeypatch.setattr(intent, "SHARED_MIN_ROWS", 3)
    monkeypatch.setattr(intent.compute_intent, "__defaults__", (5,))
    mixed = build_features(data, rows, spec, THREADS)
    pd.testing.assert_frame_equal(pooled, per_time)
    pd.testing.assert_frame_equal(mixed, per_time)
