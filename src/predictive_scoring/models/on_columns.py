"""``OnColumns``: a classifier that reads only some columns of the feature frame.

Every model a run serves is one of these, so training, serving and explanation treat them alike:
``predict_proba`` for probabilities and ``additive_score`` for the score behind them, split into
one contribution per column of the whole frame (zero for the columns the model does not read).
Wrap an already-fitted model in ``FrozenEstimator`` to select its columns without refitting it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from predictive_scoring.models._additive import Contributions
from predictive_scoring.models.calibration import model_scored

__all__ = ["OnColumns"]


class OnColumns(ClassifierMixin, BaseEstimator):
    """``estimator`` fitted on, and applied to, ``columns`` of the frame only.

    Parameters
    ----------
    estimator : classifier
        A classifier with ``predict_proba`` and ``additive_score``; cloned and fitted by ``fit``
        (a ``FrozenEstimator`` stays as fitted).
    columns : list of str or None
        The columns the estimator reads, in order; ``None`` reads every column.
    """

    def __init__(self, estimator: Any, columns: list[str] | None = None) -> None:
        self.estimator = estimator
        self.columns = columns

    def fit(self, X: Any, y: Any) -> OnColumns:
        X = self._validated(X, reset=True)
        self.estimator_ = clone(self.estimator).fit(self._selected(X), y)
        self.classes_ = self.estimator_.classes_
        return self

    def _validated(self, X: Any, reset: bool) -> Any:
        """Frames as they are (their dtypes matter), anything else checked the sklearn way."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, skip_check_array=True, reset=reset)
            return X
        return validate_data(self, X, reset=reset, ensure_all_finite="allow-nan", dtype=None)

    def _selected(self, X: Any) -> Any:
        return X if self.columns is None else X[list(self.columns)]

    def _checked(self, X: Any) -> Any:
        check_is_fitted(self)
        return self._selected(self._validated(X, reset=False))

    def predict_proba(self, X: Any) -> np.ndarray:
        selected = self._checked(X)
        probabilities: np.ndarray = self.estimator_.predict_proba(selected)
        return probabilities

    def predict(self, X: Any) -> np.ndarray:
        selected = self._checked(X)
        predicted: np.ndarray = self.estimator_.predict(selected)
        return predicted

    def additive_score(
        self, X: pd.DataFrame, reference: pd.DataFrame | None = None
    ) -> Contributions:
        """The estimator's score as a base per row plus one contribution per column of ``X``.

        ``reference`` (one row, ``X``'s columns) is where additive models measure from.
        """
        selected = self._checked(X)
        values, base = self.estimator_.additive_score(
            selected, None if reference is None else self._selected(reference)
        )
        return self._placed(values, X), base

    def scored(
        self, X: pd.DataFrame, reference: pd.DataFrame | None = None
    ) -> tuple[np.ndarray, Contributions]:
        """``predict_proba(X)`` and ``additive_score(X, reference)``, from one pass over the
        estimator where it can (see :func:`~predictive_scoring.models.calibration.model_scored`)."""
        selected = self._checked(X)
        inner = self.estimator_
        if isinstance(inner, FrozenEstimator):
            inner = inner.estimator
        reference = None if reference is None else self._selected(reference)
        probability, (values, base) = model_scored(inner, selected, reference)
        return probability, (self._placed(values, X), base)

    def _placed(self, values: np.ndarray, X: pd.DataFrame) -> np.ndarray:
        """The estimator's contributions (its columns) as columns of ``X``."""
        if self.columns is None:
            return values
        contributions = np.zeros((len(X), X.shape[1]))
        contributions[:, [list(X.columns).index(c) for c in self.columns]] = values
        return contributions

    @classmethod
    def from_legacy(cls, model: Any, frame: pd.DataFrame) -> OnColumns:
        """A fitted model as version 0.1 pickled it (a ``Pipeline`` of a column selector and the
        model, or a bare calibrated model reading every column of ``frame``), as ``OnColumns``."""
        if isinstance(model, OnColumns):
            return model
        steps = getattr(model, "named_steps", None)
        columns = list(steps["columns"].transformers[0][2]) if steps else None
        inner = steps["model"] if steps else model
        return cls(FrozenEstimator(inner), columns).fit(frame, np.zeros(len(frame), dtype=int))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__()
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.classifier_tags = inner.classifier_tags
        return tags
