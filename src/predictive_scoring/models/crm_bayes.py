"""Naive Bayes over won/lost frequency tables: what open-source CRMs ship as lead scoring.

For every field value, count won and lost rows (each count starts at 0.1); a lead's odds are the
prior odds times, per field, P(value | won) / P(value | lost).  Values unseen in training are
skipped, as those CRMs do.  Numbers are cut into quantile bins first.  Its probabilities are left
as they come (no calibration): the comparison shows what a CRM user already has.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from predictive_scoring.models._additive import (
    Contributions,
    reference_row_for,
    swapped_contributions,
)
from predictive_scoring.models._tabular import (
    BinaryTabularMixin,
    binary_target,
    discretise,
    frame_input,
    is_numeric,
    quantile_edges,
)

__all__ = ["CRM_BAYES", "PSEUDO_COUNT", "FrequencyNaiveBayes"]

CRM_BAYES = "crm_naive_bayes"
"""The model's name among a run's models."""

PSEUDO_COUNT = 0.1


class FrequencyNaiveBayes(BinaryTabularMixin, ClassifierMixin, BaseEstimator):
    """Won/lost frequency tables per field value, combined by naive Bayes.

    Parameters
    ----------
    bins : int
        Quantile bins for numeric fields.
    """

    def __init__(self, bins: int = 5) -> None:
        self.bins = bins

    def fit(self, X: Any, y: Any) -> FrequencyNaiveBayes:
        frame, y = frame_input(self, X, y, reset=True)
        self.classes_, target = binary_target(y)
        won = target == 1
        self.prior_log_odds_ = float(
            np.log((won.sum() + PSEUDO_COUNT) / ((~won).sum() + PSEUDO_COUNT))
        )
        self.edges_ = {
            c: quantile_edges(frame[c], self.bins) if is_numeric(frame[c]) else None
            for c in frame.columns
        }
        self.log_ratios_ = {
            c: self._log_ratios(frame[c], self.edges_[c], won) for c in frame.columns
        }
        return self

    def _log_ratios(
        self, values: pd.Series, edges: np.ndarray | None, won: np.ndarray
    ) -> pd.Series:
        labels = discretise(values, edges)
        counts = pd.crosstab(labels, won).reindex(columns=[False, True], fill_value=0)
        won_counts = counts[True] + PSEUDO_COUNT
        lost_counts = counts[False] + PSEUDO_COUNT
        ratios: pd.Series = np.log(won_counts / won_counts.sum()) - np.log(
            lost_counts / lost_counts.sum()
        )
        return ratios

    def decision_function(self, X: Any) -> np.ndarray:
        """Posterior log-odds of winning."""
        check_is_fitted(self)
        frame, _ = frame_input(self, X, reset=False)
        total = np.full(len(frame), self.prior_log_odds_)
        for column, ratios in self.log_ratios_.items():
            labels = discretise(frame[column], self.edges_[column])
            total += labels.map(ratios).fillna(0.0).to_numpy(dtype=float)
        return total

    def additive_score(self, X: Any, reference: pd.DataFrame | None = None) -> Contributions:
        """Each field's log-likelihood ratio against the ``reference`` row's, and its posterior
        log-odds as the base."""
        check_is_fitted(self)
        frame, _ = frame_input(self, X, reset=False)
        return swapped_contributions(
            self.decision_function, frame, reference_row_for(reference, frame)
        )

    def predict_proba(self, X: Any) -> np.ndarray:
        positive = 1 / (1 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - positive, positive])

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        predicted: np.ndarray = self.classes_[(self.decision_function(X) > 0).astype(int)]
        return predicted
