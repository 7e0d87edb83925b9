"""The calibrated candidates: constraints, early stopping, calibration that keeps the ranking,
and each model's additive score."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.frozen import FrozenEstimator

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.models import ml
from predictive_scoring.models.calibration import (
    IDENTITY,
    CrossFittedCalibration,
    RankPreservingCalibration,
    calibrate,
    choose_calibration,
    choose_map,
    positive_probability,
)
from predictive_scoring.models.ml import (
    SampledFit,
    additive_constraints,
    fit_lightgbm,
    lightgbm_model,
    logistic_model,
)
from predictive_scoring.models.refit import CROSS_FIT_FOLDS, serving_folds
from predictive_scoring.models.windows import time_folds

SETTINGS = load_config().models.model_copy(update={"num_threads": 1})


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "industry": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "size": rng.lognormal(3, 1, n),
            "visits": rng.poisson(2, n).astype(float),
        }
    )
    logit = -2 + (X["industry"] == "a") * 1.0 + 0.4 * X["visits"] + 0.2 * np.log(X["size"])
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit.to_numpy()))).astype(int)
    return X, y


def test_additive_constraints_by_hand() -> None:
    together = additive_constraints(["f1", "f2"], ["i1", "i2"], {"i1": 1, "i2": -1})
    assert together["interaction_constraints"] == [[0, 1], [2, 3]]
    assert together["monotone_constraints"] == [0, 0, 1, -1]
    apart = additive_constraints(["f1", "f2"], ["i1"], {}, fit_interactions=False)
    assert apart["interaction_constraints"] == [[0], [1], [2]]
    assert apart["monotone_constraints"] == [0, 0, 0]


def test_lightgbm_stops_early_on_the_calibration_window() -> None:
    train, stop = _frame(3000, 0), _frame(1500, 1)
    model = fit_lightgbm(lightgbm_model(SETTINGS), train, stop, rounds=10)
    assert 1 <= model.best_iteration_ < SETTINGS.lightgbm.n_estimators
    again = fit_lightgbm(lightgbm_model(SETTINGS), train, stop, rounds=10)
    np.testing.assert_array_equal(model.predict_proba(stop[0]), again.predict_proba(stop[0]))


def test_calibration_keeps_the_booster_s_ranking_and_explains_its_margin() -> None:
    train, window, test = _frame(3000, 0), _frame(2000, 1), _frame(1000, 2)
    booster = fit_lightgbm(lightgbm_model(SETTINGS), train, window, rounds=10)
    calibrated = calibrate(booster, window, "isotonic")
    p = calibrated.predict_proba(test[0])[:, 1]
    raw = booster.predict(test[0], raw_score=True)
    assert spearmanr(p, raw).statistic == pytest.approx(1.0), "ties broken by the model's score"
    assert np.all((p >= 0) & (p <= 1))
    assert calibrated.calibrated_model() is booster
    contributions, base = calibrated.additive_score(test[0])
    np.testing.assert_allclose(base + contributions.sum(axis=1), raw, atol=1e-9)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
@pytest.mark.parametrize("kind", ["lightgbm", "logistic"])
def test_calibrating_from_one_prediction_is_sklearn_s_calibration(kind: str, method: str) -> None:
    """``calibrate`` predicts the window once and fits the map on those responses: the same
    calibrated model as ``CalibratedClassifierCV(FrozenEstimator(model)).fit`` on the window."""
    train, window, test = _frame(3000, 0), _frame(2000, 1), _frame(500, 2)
    if kind == "lightgbm":
        model: Any = fit_lightgbm(lightgbm_model(SETTINGS), train, window, rounds=10)
    else:
        model = logistic_model(SETTINGS).fit(*train)
    ours = calibrate(model, window, method)
    theirs = RankPreservingCalibration(FrozenEstimator(model), method=method).fit(*window)
    np.testing.assert_array_equal(ours.predict_proba(test[0]), theirs.predict_proba(test[0]))
    assert ours.calibrated_model() is model
    for name in ("feature_names_in_", "n_features_in_"):  # as sklearn's fit sets them, or not
        assert repr(getattr(ours, name, None)) == repr(getattr(theirs, name, None))
    again = pickle.loads(pickle.dumps(ours))
    np.testing.assert_array_equal(again.predict_proba(test[0]), ours.predict_proba(test[0]))


def test_positive_probability_is_predict_proba_to_the_last_bit() -> None:
    train, window = _frame(3000, 0), _frame(2000, 1)
    booster = fit_lightgbm(lightgbm_model(SETTINGS), train, window, rounds=10)
    logistic = logistic_model(SETTINGS).fit(*train)
    for model in (booster, FrozenEstimator(booster), logistic):
        expected = model.predict_proba(window[0])[:, 1]
        np.testing.assert_array_equal(positive_probability(model, window[0]), expected)


def test_the_logistic_score_splits_exactly_per_column_against_a_reference_row() -> None:
    train, window, test = _frame(3000, 0), _frame(2000, 1), _frame(200, 2)
    calibrated = calibrate(logistic_model(SETTINGS).fit(*train), window, "sigmoid")
    reference = test[0].head(1)
    contributions, base = calibrated.additive_score(test[0], reference)
    inner = calibrated.calibrated_model().predict_proba(test[0])[:, 1]
    np.testing.assert_allclose(base + contributions.sum(axis=1), np.log(inner / (1 - inner)))
    np.testing.assert_allclose(contributions[0], 0.0, atol=1e-12), "the reference row itself"
    with pytest.raises(ValueError, match="reference row"):
        calibrated.additive_score(test[0])


def test_small_windows_calibrate_with_a_sigmoid() -> None:
    train, window = _frame(2000, 0), _frame(60, 1)
    booster = fit_lightgbm(lightgbm_model(SETTINGS), train, _frame(1000, 3), rounds=10)
    assert choose_calibration(booster, *window) == "sigmoid"
    assert choose_calibration(booster, *_frame(4000, 4)) in ("isotonic", "sigmoid")


def test_cross_fitted_calibration_serves_one_model_fitted_on_every_row() -> None:
    X, y = _frame(2000, 0)
    calibrated = CrossFittedCalibration(logistic_model(SETTINGS), cv=5, method="sigmoid").fit(X, y)
    assert calibrated.folds_ == 5 and calibrated.calibration_rows_ == 2000
    refit = logistic_model(SETTINGS).fit(X, y)
    np.testing.assert_allclose(
        calibrated.calibrated_model().predict_proba(X), refit.predict_proba(X)
    )
    p = calibrated.predict_proba(X)[:, 1]
    assert abs(p.mean() - y.mean()) < 0.01, "calibrated on out-of-fold predictions"


def test_time_ordered_cross_fitting_never_calibrates_on_rows_a_copy_learned() -> None:
    X, y = _frame(3000, 0)
    times = pd.Series(pd.date_range("2025-01-01", periods=30, freq="7D", tz="UTC")).repeat(100)
    folds = time_folds(times.reset_index(drop=True), y, horizon_days=14, blocks=4)
    assert len(folds) == 3, "every block but the first is predicted"
    for fit_rows, predicted in folds:
        latest_fit = times.iloc[fit_rows].max()
        assert latest_fit + pd.Timedelta(days=14) <= times.iloc[predicted].min(), "purged"
    booster = lightgbm_model(SETTINGS).set_params(n_estimators=60)
    calibrated = CrossFittedCalibration(booster, cv=folds, scale_rounds=True).fit(X, y)
    assert calibrated.calibration_rows_ == sum(len(p) for _, p in folds) < len(y)
    assert calibrated.trees() == 60, "the served booster has the rounds it was given"
    contributions, base = calibrated.additive_score(X.head(50))
    raw = calibrated.calibrated_model().predict(X.head(50), raw_score=True)
    np.testing.assert_allclose(base + contributions.sum(axis=1), raw, atol=1e-9)


def test_folds_without_both_classes_are_left_out() -> None:
    y = np.array([0] * 200 + [0, 1] * 100)  # the first half of the history never converts
    times = pd.Series(pd.date_range("2025-01-01", periods=400, freq="D", tz="UTC"))
    folds = time_folds(times, y, horizon_days=10, blocks=4)
    assert all(0 < y[fit].sum() < len(fit) for fit, _ in folds)
    assert len(folds) == 1, "only the last block has earlier rows of both classes"
    with pytest.raises(ValueError, match="both classes"):
        CrossFittedCalibration(logistic_model(SETTINGS), cv=[]).fit(*_frame(400, 0))


def test_a_map_is_used_only_when_it_beats_the_model_s_own_probabilities_out_of_sample() -> None:
    """Maps are fitted on the earlier folds' predictions and judged on the latest fold's: when
    the earlier folds' copies (fitted on less history) were timid and the latest is right, no
    map learned from them helps, and the model's own probabilities are kept."""
    rng = np.random.default_rng(3)
    p = rng.beta(0.5, 8.0, 20_000)
    later = np.arange(len(p)) >= 15_000
    y = (rng.random(len(p)) < np.where(later, p, np.sqrt(p))).astype(int)
    assert choose_map(p, y, later=later) == IDENTITY
    y = (rng.random(len(p)) < np.sqrt(p)).astype(int)
    assert choose_map(p, y, later=later) != IDENTITY, "timid throughout: mapped"
    y = (rng.random(len(p)) < p**2).astype(int)
    assert choose_map(p, y, later=later) != IDENTITY, "too confident throughout: mapped"


def test_one_time_ordered_fold_is_not_enough_to_calibrate_the_refit_on() -> None:
    """Conversions only in the latest snapshots: one block has an earlier, labelled past with
    both classes; its lone copy learned from the first months only, so held-out leads are used."""
    times = pd.date_range("2025-01-01", periods=10, freq="14D", tz="UTC")
    rows = pd.DataFrame(
        {
            schema.SNAPSHOT_AT: np.repeat(times, 100),
            schema.LEAD_ID: [f"L{i % 300}" for i in range(1000)],
        }
    )
    y = ((np.arange(1000) // 100 >= 5) & (np.arange(1000) % 10 == 0)).astype(int)
    assert len(time_folds(rows[schema.SNAPSHOT_AT], y, 30, 5)) == 1
    chosen = serving_folds(rows, y, 30, 5, flat=False, seed=0)
    assert chosen.described.startswith(f"{CROSS_FIT_FOLDS} folds of held-out leads")
    assert not chosen.time_ordered, "the map is not judged on one random fold as if it were later"
    folds = chosen.folds
    assert isinstance(folds, list) and len(folds) == CROSS_FIT_FOLDS
    for fit_rows, predict_rows in folds:
        fitted = set(rows[schema.LEAD_ID].iloc[fit_rows])
        assert fitted.isdisjoint(rows[schema.LEAD_ID].iloc[predict_rows]), "a lead in one fold"


def test_a_sampled_fit_learns_from_at_most_max_rows_and_predicts_in_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ml, "PREDICT_ROWS", 700)  # 5,000 rows: 8 blocks, the last short
    X, y = _frame(5000, 3)
    settings = SETTINGS.model_copy(
        update={"logistic": SETTINGS.logistic.model_copy(update={"max_rows": 1200})}
    )
    model = logistic_model(settings).fit(X, y)
    assert isinstance(model, SampledFit) and model.fitted_rows_ == 1200
    rows = np.sort(np.random.default_rng(settings.seed).choice(5000, 1200, replace=False))
    by_hand = model.estimator.fit(X.iloc[rows], y[rows])  # the same pipeline on the same sample
    np.testing.assert_array_equal(model.predict_proba(X), by_hand.predict_proba(X))
    np.testing.assert_array_equal(model.decision_function(X), by_hand.decision_function(X))
    small = logistic_model(SETTINGS).fit(X, y)
    assert small.fitted_rows_ == 5000, "below max_rows every row is used"
    assert (
        model.predict(X.iloc[:3]).tolist()
        == (model.predict_proba(X.iloc[:3])[:, 1] > 0.5).astype(int).tolist()
    )


def _fitted_with_window(kind: str, seed: int) -> tuple[Any, tuple[pd.DataFrame, np.ndarray]]:
    """A candidate fitted on 3,000 rows, and a later window of 1,500 to calibrate it on."""
    model = (lightgbm_model if kind == "lightgbm" else logistic_model)(SETTINGS)
    return model.fit(*_frame(3000, seed)), _frame(1500, seed + 1)


@pytest.mark.parametrize("kind", ["lightgbm", "logistic"])
@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibrating_on_responses_computed_once_equals_calibrating_on_the_rows(
    kind: str, method: str
) -> None:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    from predictive_scoring.models.calibration import _Responses

    model, (X, y) = _fitted_with_window(kind, 5)
    on_rows = CalibratedClassifierCV(FrozenEstimator(model), method=method).fit(X, y)
    positions = np.arange(len(y)).reshape(-1, 1)
    responses = _Responses(model, X)
    once = CalibratedClassifierCV(FrozenEstimator(responses), method=method).fit(positions, y)
    np.testing.assert_allclose(once.predict_proba(positions), on_rows.predict_proba(X), rtol=1e-12)


@pytest.mark.parametrize("kind", ["lightgbm", "logistic"])
@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_a_calibrated_window_fit_predicts_what_sklearn_s_calibration_gives_tie_broken(
    kind: str, method: str
) -> None:
    from sklearn.calibration import CalibratedClassifierCV

    model, window = _fitted_with_window(kind, 8)
    calibrated = calibrate(model, window, method)
    X = _frame(700, 10)[0]
    reference = CalibratedClassifierCV.predict_proba(calibrated, X)[:, 1]
    score = model.predict_proba(X)[:, 1]
    expected = np.clip(reference + 1e-6 * (score - 0.5), 0, 1)
    np.testing.assert_allclose(calibrated.predict_proba(X)[:, 1], expected, rtol=0, atol=1e-12)
