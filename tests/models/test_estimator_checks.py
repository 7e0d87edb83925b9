"""sklearn's estimator contract, first, for every model we ship."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from predictive_scoring.models.crm_bayes import FrequencyNaiveBayes
from predictive_scoring.models.on_columns import OnColumns
from predictive_scoring.models.rules import PointsScorecard


@parametrize_with_checks([PointsScorecard(), FrequencyNaiveBayes(), OnColumns(PointsScorecard())])
def test_sklearn_contract(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)
