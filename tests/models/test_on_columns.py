"""``OnColumns``: a model of some columns, used as a model of the whole frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator

from predictive_scoring.models.on_columns import OnColumns
from predictive_scoring.models.rules import POINTS_PER_LOG_ODDS, PointsScorecard


def _frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 400
    industry = rng.choice(["a", "b"], n)
    y = (rng.uniform(size=n) < np.where(industry == "a", 0.4, 0.1)).astype(int)
    frame = pd.DataFrame(
        {"noise": rng.normal(size=n), "industry": pd.Categorical(industry), "other": 1.0}
    )
    return frame, y


def test_the_model_reads_only_its_columns() -> None:
    X, y = _frame()
    model = OnColumns(PointsScorecard(attributes=["industry"]), ["industry"]).fit(X, y)
    alone = PointsScorecard(attributes=["industry"]).fit(X[["industry"]], y)
    np.testing.assert_array_equal(model.predict_proba(X), alone.predict_proba(X[["industry"]]))
    shuffled = X.assign(noise=X["noise"].to_numpy()[::-1])
    np.testing.assert_array_equal(model.predict_proba(shuffled), model.predict_proba(X))
    assert list(model.classes_) == [0, 1]


def test_additive_score_spreads_over_the_whole_frame_with_zeros_elsewhere() -> None:
    X, y = _frame()
    model = OnColumns(PointsScorecard(attributes=["industry"]), ["industry"]).fit(X, y)
    reference = X.head(1)
    contributions, base = model.additive_score(X, reference)
    assert contributions.shape == (len(X), 3)
    assert (contributions[:, [0, 2]] == 0).all()
    points = model.estimator_.points(X[["industry"]]) / POINTS_PER_LOG_ODDS
    np.testing.assert_allclose(base + contributions.sum(axis=1), points)


def test_a_frozen_model_keeps_its_fit() -> None:
    X, y = _frame()
    fitted = PointsScorecard(attributes=["industry"]).fit(X[["industry"]], y)
    before = fitted.attribute_points_["industry"].copy()
    model = OnColumns(FrozenEstimator(fitted), ["industry"]).fit(X, 1 - y)
    pd.testing.assert_frame_equal(fitted.attribute_points_["industry"], before)
    np.testing.assert_array_equal(model.predict_proba(X), fitted.predict_proba(X[["industry"]]))


def test_it_refuses_to_predict_before_fit_or_on_another_frame() -> None:
    X, y = _frame()
    with pytest.raises(NotFittedError):
        OnColumns(PointsScorecard(), ["industry"]).predict_proba(X)
    model = OnColumns(PointsScorecard(attributes=["industry"]), ["industry"]).fit(X, y)
    with pytest.raises(ValueError, match="feature names"):
        model.predict_proba(X.rename(columns={"noise": "renamed"}))
