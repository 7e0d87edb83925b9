"""The served model: percentiles, tiers, the reference population, and champions of 0.1."""

from __future__ import annotations

from pathlib import Path

import joblib
import mlflow
import numpy as np
import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.models.on_columns import OnColumns
from predictive_scoring.serving import (
    ServedModel,
    decile_shares,
    percentile_score,
    reference_positions,
    score_features,
    spread_sample,
    tiers,
)

OLD = Path(__file__).parent / "fixtures" / "champion-0.1.0"
"""Written by predictive-scoring 0.1.0 (commit 9e1a472): a registered pyfunc of a LightGBM
champion (its ``code/`` folder left out, so the installed package loads it), pickled points
baseline and logistic served models, the feature rows they scored and what they gave then."""


def test_percentile_scores_count_ties_half() -> None:
    reference = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    values = np.array([-1.0, 0.0, 0.5, 3.0, 9.0])
    # below + half of equal, out of 10: 0, 1.5, 3, 5.5, 10 -> 0, 15, 30, 55, 100
    assert percentile_score(values, reference).tolist() == [0, 15, 30, 55, 100]
    assert percentile_score(np.zeros(3), np.zeros(101)).tolist() == [50, 50, 50]


def test_percentiles_compare_at_six_decimals() -> None:
    reference = np.array([0.1 + 0.2, 0.5])  # 0.30000000000000004
    assert percentile_score(np.array([0.3]), reference).tolist() == [25]


def test_tiers_follow_the_configured_thresholds() -> None:
    scoring = load_config().scoring  # hot 80, warm 50
    got = tiers(np.array([0, 49, 50, 79, 80, 100]), scoring)
    assert got.tolist() == ["cold", "cold", "warm", "warm", "hot", "hot"]


def test_decile_shares_bin_scores_and_never_reach_zero() -> None:
    shares = decile_shares(np.array([0, 5, 10, 95, 100, 100]))
    assert shares.round(4).tolist() == [0.5, 0.0001, *[0.0001] * 7, 0.5]


def test_reference_draws_follow_the_weights_and_ignore_all_zero_weights() -> None:
    pool = np.arange(4000)
    weights = np.tile([0.0, 0.0, 1.0, 3.0], 1000)
    drawn = reference_positions(pool, weights, seed=0, limit=4000)  # at most one draw per row
    assert len(drawn) == 4000 and set(drawn % 4) == {2, 3}
    assert (drawn % 4 == 3).mean() == pytest.approx(0.75, abs=0.03)
    assert list(drawn) == sorted(drawn)
    uniform = reference_positions(pool, np.zeros(4000), seed=0, limit=4000)
    assert set(uniform % 4) == {0, 1, 2, 3}
    assert len(reference_positions(pool, None, seed=0, limit=10)) == 10


def test_spread_sample_keeps_order_and_reaches_the_end() -> None:
    positions = np.arange(100, 10_100)
    sample = spread_sample(positions, 50, seed=1)
    assert len(sample) == 50 and list(sample) == sorted(sample)
    assert sample.max() > 9_000, "drawn across all rows, not the earliest"
    assert spread_sample(positions[:10], 50, seed=1).tolist() == list(range(100, 110))


# ---- champions registered by version 0.1 ---------------------------------------------------------


def _features() -> pd.DataFrame:
    return pd.read_parquet(OLD / "features.parquet")


@pytest.mark.parametrize(
    ("name", "columns"),
    [("points_baseline", True), ("logistic", False)],  # a Pipeline; a bare calibrated model
)
def test_a_pickled_served_model_of_0_1_loads_and_scores_as_it_did(name: str, columns: bool) -> None:
    served = joblib.load(OLD / f"served-{name}.joblib")
    assert isinstance(served, ServedModel) and isinstance(served.model, OnColumns)
    assert bool(served.model.columns) is columns
    expected = pd.read_parquet(OLD / f"expected-{name}.parquet")
    features = _features()
    assert served.scoring is not None
    got = score_features(
        served,
        features.drop(columns=schema.LEAD_ID),
        features[schema.LEAD_ID],
        expected[schema.AS_OF].iloc[0],
        served.scoring,
    )
    assert (got.pop(schema.SEGMENT) == "").all()  # the global model's rows (added since 0.1)
    pd.testing.assert_frame_equal(got, expected)


def test_a_registered_champion_of_0_1_loads_as_pyfunc_and_predicts_as_it_did() -> None:
    model = mlflow.pyfunc.load_model(str(OLD / "mlflow-model"))
    features = _features()
    for column in features.columns:
        if isinstance(features[column].dtype, pd.CategoricalDtype):
            features[column] = features[column].astype("string")
    expected = pd.read_parquet(OLD / "expected-pyfunc.parquet")
    got = model.predict(
        features.assign(**{schema.AS_OF: expected[schema.AS_OF].iloc[0].isoformat()})
    )
    assert (got.pop(schema.SEGMENT) == "").all()  # the global model's rows (added since 0.1)
    pd.testing.assert_frame_equal(got, expected)
    served = model.unwrap_python_model().served
    assert isinstance(served.model, OnColumns) and served.model.columns


def test_a_model_learned_from_float32_features_scores_what_it_learned_from() -> None:
    """New models learn from ``model_matrix`` (float32) features and cast what they score the
    same way; their MLflow input example keeps numbers as the float64 scoring builds."""
    from dataclasses import replace

    from predictive_scoring.features.spec import model_matrix
    from predictive_scoring.serving import input_example

    old = joblib.load(OLD / "served-points_baseline.joblib")
    assert old.float32_features is False, "registered before: scores its features as they come"
    features = _features().drop(columns=schema.LEAD_ID)
    new = replace(old, float32_features=True)
    numeric = [c for c in old.feature_names if features[c].dtype == np.float64]
    assert numeric
    compact = model_matrix(features)
    assert all(compact[c].dtype == np.float32 for c in numeric)
    np.testing.assert_array_equal(new.probabilities(features), old.probabilities(compact))
    example = input_example(new, compact)
    assert all(example[c].dtype == np.float64 for c in numeric)
