"""Points scorecard and CRM naive Bayes, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictive_scoring.models.crm_bayes import PSEUDO_COUNT, FrequencyNaiveBayes
from predictive_scoring.models.rules import PointsScorecard


def _frame() -> tuple[pd.DataFrame, np.ndarray]:
    # 100 rows: industry A converts 40 %, B 10 %; demo requesters 80 %, others 15 %
    industry = np.array(["A"] * 50 + ["B"] * 50)
    y = np.array([1] * 20 + [0] * 30 + [1] * 5 + [0] * 45)
    demo = np.zeros(100)
    demo[[0, 1, 2, 3, 4, 50, 51, 52, 53, 54]] = [1, 1, 1, 1, 1, 1, 1, 1, 0.1, 0.1]
    y[[50, 51, 52]] = 1
    frame = pd.DataFrame({"industry": pd.Categorical(industry), "demo": demo})
    return frame, y


def test_points_follow_shrunk_conversion_rates() -> None:
    X, y = _frame()
    model = PointsScorecard(
        attributes=["industry"], behaviours={"demo_request": "demo"}, shrinkage=10
    )
    model.fit(X, y)
    overall = y.mean()
    table = model.scorecard().set_index(["attribute", "value"])
    rate_a = y[:50].mean()
    expected_a = 100 * ((rate_a * 50 + 10 * overall) / 60 - overall)
    assert table.loc[("industry", "A"), "points"] == pytest.approx(expected_a, abs=0.01)
    assert table.loc[("industry", "A"), "support"] == 50
    demo_rate = y[X["demo"] >= 0.25].mean()
    expected_demo = 100 * ((demo_rate * 8 + 10 * overall) / 18 - overall)
    assert table.loc[("demo_request", "per decayed occurrence"), "points"] == pytest.approx(
        expected_demo, abs=0.01
    )


def test_points_are_0_to_100_and_probability_is_monotone_in_points() -> None:
    X, y = _frame()
    model = PointsScorecard(attributes=["industry"], behaviours={"demo_request": "demo"}).fit(X, y)
    points = model.points(X)
    assert points.min() == 0 and points.max() == 100
    order = np.argsort(points)
    assert np.all(np.diff(model.predict_proba(X)[order, 1]) >= 0)


def test_naive_bayes_uses_pseudo_counts_and_skips_unseen_values() -> None:
    X = pd.DataFrame({"source": pd.Categorical(["web"] * 4 + ["event"] * 4)})
    y = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    model = FrequencyNaiveBayes().fit(X, y)
    won, lost = 4 + PSEUDO_COUNT, 4 + PSEUDO_COUNT
    web = np.log((3 + PSEUDO_COUNT) / (won + PSEUDO_COUNT)) - np.log(
        (1 + PSEUDO_COUNT) / (lost + PSEUDO_COUNT)
    )
    prior = np.log(won / lost)
    assert model.decision_function(X.iloc[[0]])[0] == pytest.approx(prior + web)
    unseen = pd.DataFrame({"source": pd.Categorical(["partner"])})
    assert model.decision_function(unseen)[0] == pytest.approx(prior)
