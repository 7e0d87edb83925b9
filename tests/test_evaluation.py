"""Metrics, lift and gains, calibration tables and bootstrap intervals, by hand."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from predictive_scoring.evaluation import (
    METRICS,
    _SortedRows,
    calibration_curve,
    capture_at,
    comparison_table,
    evaluate,
    evaluate_all,
    expected_calibration_error,
    format_comparison,
    gains_curve,
    lift_at,
    top_share_mask,
)


def test_expected_calibration_error_weights_each_bin_by_its_rows() -> None:
    y = np.array([0, 1, 1, 0])
    p = np.array([0.1, 0.9, 0.8, 0.3])  # one row per bin: |p - y| = 0.1, 0.1, 0.2, 0.3
    assert expected_calibration_error(y, p) == pytest.approx(0.7 / 4)
    pooled = np.array([0.15, 0.15, 0.15, 0.15])  # one bin: |0.15 - 0.5|
    assert expected_calibration_error(y, pooled) == pytest.approx(0.35)


def test_lift_and_capture_in_the_top_share() -> None:
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    p = np.linspace(0.9, 0.0, 10)  # already ranked
    assert capture_at(y, p, 0.2) == pytest.approx(1 / 3)
    assert lift_at(y, p, 0.2) == pytest.approx((1 / 2) / (3 / 10))
    assert capture_at(y, p, 1.0) == 1.0 and lift_at(y, p, 1.0) == 1.0
    assert np.isnan(capture_at(np.zeros(4), np.ones(4), 0.5))


def test_top_share_breaks_ties_by_position_and_keeps_at_least_one_row() -> None:
    assert top_share_mask(np.array([0.5, 0.5, 0.5, 0.1]), 0.5).tolist() == [
        True,
        True,
        False,
        False,
    ]
    assert top_share_mask(np.array([0.2, 0.9]), 0.01).tolist() == [False, True]


def test_every_metric_is_the_reference_implementation_s() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, 500), 0, 1)
    assert METRICS["roc_auc"](y, p) == roc_auc_score(y, p)
    assert METRICS["log_loss"](y, p) == pytest.approx(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6)))
    assert METRICS["log_loss"](np.array([1, 0]), np.array([1.0, 0.0])) < 1e-5, "clipped, finite"


def test_bootstrap_intervals_are_seeded_and_bracket_the_sample_spread() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    p = np.clip(0.4 * y + rng.uniform(0, 0.6, 400), 0, 1)
    first, again = evaluate("m", y, p, seed=3), evaluate("m", y, p, seed=3)
    assert first == again
    other = evaluate("m", y, p, seed=4)
    assert other.lower != first.lower, "the seed draws the resamples"
    assert first.rows == 400 and first.positives == int(y.sum())
    for name in first.metrics:
        assert first.lower[name] < first.upper[name], name
    width = first.upper["roc_auc"] - first.lower["roc_auc"]
    assert 0.02 < width < 0.15, "about 4 standard errors of an AUC on 400 rows"


def test_models_evaluated_together_get_the_figures_each_gets_alone() -> None:
    """One stream of resamples serves every model: each model's intervals are those of
    evaluating it alone with the same seed."""
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 600)
    predictions = {
        "good": np.clip(0.5 * y + rng.uniform(0, 0.5, 600), 0, 1),
        "coarse": np.round(np.clip(0.2 * y + rng.uniform(0, 0.8, 600), 0, 1), 1),  # ties
        "flat": np.full(600, 0.3),
    }
    together = evaluate_all(y, predictions, samples=60, seed=5)
    for name, p in predictions.items():
        assert together[name] == evaluate(name, y, p, samples=60, seed=5), name


@pytest.mark.parametrize("decimals", [None, 2])
def test_a_resample_s_metrics_from_its_counts_equal_those_of_the_resampled_rows(
    decimals: int | None,
) -> None:
    """The bootstrap's one-sort metrics against the reference metrics of the indexed arrays,
    with and without ties in probability (ties only move the top-share cut, by row order)."""
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 3000).astype(float)
    p = np.clip(0.3 * y + rng.beta(1, 4, 3000), 0, 1)
    if decimals is not None:
        p = np.round(p, decimals)
    rows = _SortedRows(y, p)
    for _ in range(5):
        index = rng.integers(0, len(y), len(y))
        got = rows.metrics(np.bincount(index, minlength=len(y)))
        assert got is not None
        for name, metric in METRICS.items():
            tied_cut = decimals is not None and name.startswith(("lift", "capture"))
            tolerance = 0.03 if tied_cut else 1e-9
            assert got[name] == pytest.approx(metric(y[index], p[index]), abs=tolerance), name
    assert rows.metrics(np.r_[np.zeros(len(y) - 1), 5].astype(int)) is None, "one class"


def test_a_perfect_ranking_has_a_degenerate_auc_interval() -> None:
    y = np.array([0] * 50 + [1] * 50)
    p = np.linspace(0.01, 0.99, 100)
    evaluation = evaluate("perfect", y, p, samples=50)
    assert evaluation.metrics["roc_auc"] == 1.0
    assert evaluation.lower["roc_auc"] == pytest.approx(1.0)
    assert evaluation.upper["roc_auc"] == pytest.approx(1.0)


def test_curves_start_at_zero_end_at_one_and_count_rows() -> None:
    y = np.array([0, 1, 0, 1, 1])
    p = np.array([0.05, 0.95, 0.45, 0.55, 0.85])
    gains = gains_curve(y, p, points=5)
    assert gains["captured"].iloc[0] == 0.0 and gains["captured"].iloc[-1] == 1.0
    assert gains["captured"].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1, 1, 1])
    curve = calibration_curve(y, p)
    assert curve["rows"].sum() == 5
    assert curve.loc[9, "observed"] == 1.0 and curve.loc[0, "observed"] == 0.0


def test_comparison_table_and_text_hold_every_model_and_interval() -> None:
    y = np.array([0, 1] * 50)
    evaluations = [evaluate(n, y, np.where(y == 1, q, 1 - q)) for n, q in (("a", 0.7), ("b", 0.6))]
    table = comparison_table(evaluations)
    assert list(table.index) == ["a", "b"]
    assert {"roc_auc", "roc_auc_low", "roc_auc_high", "rows"} <= set(table.columns)
    text = format_comparison(evaluations)
    assert text.splitlines()[0].startswith("model") and len(text.splitlines()) == 3
    assert "1.0000 [1.000,1.000]" in text
