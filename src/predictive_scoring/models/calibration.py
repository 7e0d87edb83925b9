"""Calibration that keeps one explained model and never calibrates on rows it trained on.

* :class:`RankPreservingCalibration`: a model frozen after fitting on one window and calibrated on
  a later one (``CalibratedClassifierCV(FrozenEstimator(model))``): how candidates are compared.
* :class:`CrossFittedCalibration`: a model fitted on every row, calibrated on out-of-fold
  predictions of copies fitted on other rows (time-ordered folds: each copy learns only from
  snapshots whose labels were known before the rows it predicts): how the served model is made.

Both break isotonic plateaus with the model's own score (at most ``TIE_BREAK / 2`` of probability),
so calibration never costs ranking quality, and both explain the one model they calibrate:
:meth:`additive_score` is its exact TreeSHAP (LightGBM), its own additive score (the points
scorecard), or its log-odds against a reference row; calibration is a monotone map on top.
"""

from __future__ import annotations

from typing import Any, cast

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from predictive_scoring.evaluation import METRICS
from predictive_scoring.models._additive import (
    Contributions,
    log_odds,
    reference_row_for,
    swapped_contributions,
)
from predictive_scoring.stopwatch import step
from predictive_scoring.treeshap import Explained, explained, predicted, tree_contributions

__all__ = [
    "CALIBRATION_METHODS",
    "IDENTITY",
    "TIE_BREAK",
    "CrossFittedCalibration",
    "RankPreservingCalibration",
    "Scored",
    "calibrate",
    "choose_calibration",
    "choose_map",
    "model_additive_score",
    "model_scored",
    "model_trees",
    "positive_probability",
]

CALIBRATION_METHODS = ("isotonic", "sigmoid")
IDENTITY = "none"
"""No map: the model's own probabilities, kept when no map improves on them out of sample."""
TIE_BREAK = 1e-6
MIN_CHOICE_ROWS = 100
MIN_CHOICE_POSITIVES = 10

Folds = list[tuple[np.ndarray, np.ndarray]]
"""Row positions to fit a copy on, and the positions it predicts."""


def model_additive_score(
    model: Any, X: pd.DataFrame, reference: pd.DataFrame | None
) -> Contributions:
    """The additive score behind ``model``'s probability, split per column of ``X``."""
    if isinstance(model, lgb.LGBMClassifier):
        return tree_contributions(model, X)
    if hasattr(model, "additive_score"):
        contributions: Contributions = model.additive_score(X, reference)
        return contributions
    return swapped_contributions(
        lambda rows: log_odds(model.predict_proba(rows)[:, 1]), X, reference_row_for(reference, X)
    )


Scored = tuple[np.ndarray, Contributions]
"""Probabilities (rows × 2, as ``predict_proba``) and the additive score behind them."""


def model_scored(model: Any, X: pd.DataFrame, reference: pd.DataFrame | None) -> Scored:
    """``model``'s probabilities and :func:`model_additive_score`, from one pass over a
    LightGBM booster's trees (:func:`~predictive_scoring.treeshap.explained`), else from its
    ``predict_proba`` and then the additive score."""
    if isinstance(model, lgb.LGBMClassifier):
        result = explained(model, X)
        if result is not None:
            if result.probability is None:  # not LightGBM's binary sigmoid: its own predict
                return model.predict_proba(X), (result.values, result.base)
            probability = np.column_stack([1.0 - result.probability, result.probability])
            return probability, (result.values, result.base)
    scored = getattr(model, "scored", None)
    if scored is not None:
        joint: Scored = scored(X, reference)
        return joint
    return model.predict_proba(X), model_additive_score(model, X, reference)


def positive_probability(model: Any, X: Any) -> np.ndarray:
    """``model.predict_proba(X)[:, 1]``: a LightGBM booster's (frozen or not) from the compiled
    walk over its trees, the same bits several times faster."""
    fast = _walked(model, X)
    if fast is not None and fast.probability is not None:
        return fast.probability
    return np.asarray(model.predict_proba(X)[:, 1], dtype=float)


def _walked(model: Any, X: Any) -> Explained | None:
    """:func:`~predictive_scoring.treeshap.predicted` for a LightGBM booster (frozen or not)
    and a frame; ``None`` for anything else."""
    inner = model.estimator if isinstance(model, FrozenEstimator) else model
    if isinstance(inner, lgb.LGBMClassifier) and isinstance(X, pd.DataFrame):
        return predicted(inner, X)
    return None


def model_trees(model: Any) -> int:
    """How many trees ``model`` has (0 when it is not a LightGBM booster)."""
    return int(model.booster_.num_trees()) if isinstance(model, lgb.LGBMClassifier) else 0


def _tie_broken(calibrated: np.ndarray, score: np.ndarray) -> np.ndarray:
    positive = np.clip(calibrated + TIE_BREAK * (score - 0.5), 0.0, 1.0)
    return np.column_stack([1 - positive, positive])


class _ExplainsItsModel:
    """What a calibration wrapper says of the model it calibrates (``calibrated_model``)."""

    def calibrated_model(self) -> Any:
        raise NotImplementedError

    def trees(self) -> int:
        """How many trees the calibrated model has (0 when it is not a LightGBM booster)."""
        return model_trees(self.calibrated_model())

    def additive_score(
        self, X: pd.DataFrame, reference: pd.DataFrame | None = None
    ) -> Contributions:
        """The calibrated model's score, split per column (see :func:`model_additive_score`)."""
        return model_additive_score(self.calibrated_model(), X, reference)

    def scored(self, X: pd.DataFrame, reference: pd.DataFrame | None = None) -> Scored:
        """``predict_proba(X)`` and ``additive_score(X, reference)``, from one pass over the
        calibrated model where it can (:func:`model_scored`)."""
        probability, contributions = model_scored(self.calibrated_model(), X, reference)
        mapped = self._mapped(probability[:, 1])
        if mapped is None:
            mapped = cast(Any, self).predict_proba(X)  # the wrapper's own (a sklearn class)
        return mapped, contributions

    def _mapped(self, score: np.ndarray) -> np.ndarray | None:
        """``predict_proba`` from the calibrated model's probabilities ``score``; ``None`` when
        it reads more of the rows than those."""
        return None


class RankPreservingCalibration(_ExplainsItsModel, CalibratedClassifierCV):
    """``CalibratedClassifierCV`` whose isotonic plateaus are broken by the model's own score.

    Isotonic calibration is flat within each pooled block, so leads the model tells apart would tie.
    Adding ``TIE_BREAK × (score − ½)`` (at most 5e-7) keeps the probabilities calibrated and makes
    the ranking exactly the model's: calibration never costs ROC-AUC.
    """

    def calibrated_model(self) -> Any:
        """The model whose probabilities this calibrates (frozen or refitted on all rows)."""
        inner = self.calibrated_classifiers_[0].estimator
        return inner.estimator if isinstance(inner, FrozenEstimator) else inner

    def predict_proba(self, X: Any) -> np.ndarray:
        """What ``CalibratedClassifierCV`` gives (its calibrators applied to the model's
        decision function, else its probability), tie-broken, from one prediction of ``X``."""
        check_is_fitted(self)
        responses: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        calibrated = []
        for pair in self.calibrated_classifiers_:  # one, for a frozen model
            if id(pair.estimator) not in responses:
                responses[id(pair.estimator)] = _response(pair.estimator, X)
            response, _ = responses[id(pair.estimator)]
            calibrated.append(pair.calibrators[0].predict(response))
        _, score = responses[id(self.calibrated_classifiers_[0].estimator)]
        return _tie_broken(np.mean(calibrated, axis=0), score)

    def _mapped(self, score: np.ndarray) -> np.ndarray | None:
        check_is_fitted(self)
        pairs = self.calibrated_classifiers_
        if len(pairs) != 1 or hasattr(pairs[0].estimator, "decision_function"):
            return None  # several models, or a map of the decision function
        return _tie_broken(pairs[0].calibrators[0].predict(score), score)


def _response(model: Any, X: Any) -> tuple[np.ndarray, np.ndarray]:
    """What sklearn's calibration maps (the decision function, else the probability) and the
    probability, from one prediction (a LightGBM booster's raw score, its decision function,
    from the compiled walk: the same bits)."""
    if hasattr(model, "decision_function"):
        fast = _walked(model, X)
        margin = model.decision_function(X) if fast is None else fast.raw
        response = np.asarray(margin, dtype=float).ravel()
        return response, expit(response)
    probability = positive_probability(model, X)
    return probability, probability


class CrossFittedCalibration(_ExplainsItsModel, ClassifierMixin, BaseEstimator):
    """``estimator`` fitted on every row, its probabilities mapped by a calibrator fitted on
    out-of-fold predictions.

    Parameters
    ----------
    estimator : classifier
        Cloned for every fold and for the model fitted on all rows.
    cv : int or list of (fit positions, predict positions)
        The folds: an int for that many stratified shuffled folds (seed ``random_state``), or
        explicit folds, which need not cover every row (time-ordered folds never predict the
        earliest block).  Rows no fold predicts are not calibrated on.
    method : {"auto", "isotonic", "sigmoid"}
        The calibration map; ``auto`` keeps the map (or none: the estimator's own probabilities)
        with the lower log loss out of sample: fitted on the earlier folds' predictions and judged
        on the latest fold's when explicit folds are ``time_ordered``, else fitted on every other
        out-of-fold prediction and judged on the rest.
    time_ordered : bool
        Whether explicit folds are in time order (the last predicts the latest rows).
    scale_rounds : bool
        Give each fold's copy ``n_estimators`` scaled by its share of the rows (more rows bear
        more boosting rounds at one learning rate), so copies are boosted as the full model is.
    random_state : int
        Seed of the stratified folds when ``cv`` is an int.
    """

    def __init__(
        self,
        estimator: Any,
        cv: int | list[tuple[np.ndarray, np.ndarray]] = 5,
        method: str = "auto",
        scale_rounds: bool = False,
        random_state: int = 0,
        time_ordered: bool = True,
    ) -> None:
        self.estimator = estimator
        self.cv = cv
        self.method = method
        self.time_ordered = time_ordered
        self.scale_rounds = scale_rounds
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> CrossFittedCalibration:
        y = np.asarray(y)
        folds = self._folds(y)
        with step("out-of-fold copies"):
            fold, scores = self._out_of_fold(X, y, folds)
        predicted = fold >= 0
        if predicted.sum() == 0 or len(np.unique(y[predicted])) < 2:
            raise ValueError("the folds predict no rows of both classes to calibrate on")
        with step("fit on every row"):
            self.estimator_ = clone(self.estimator).fit(X, y)
        self.classes_ = self.estimator_.classes_
        self.method_ = self._method(fold[predicted], scores[predicted], y[predicted])
        self.calibrator_ = _fitted_map(self.method_, scores[predicted], y[predicted])
        self.calibration_rows_ = int(predicted.sum())
        self.folds_ = len(folds)
        return self

    def _folds(self, y: np.ndarray) -> Folds:
        if isinstance(self.cv, int):
            folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
            return [(a, b) for a, b in folds.split(np.zeros(len(y)), y)]
        return [(np.asarray(a), np.asarray(b)) for a, b in self.cv]

    def _out_of_fold(self, X: Any, y: np.ndarray, folds: Folds) -> tuple[np.ndarray, np.ndarray]:
        """Each row's out-of-fold probability and the fold that predicted it (-1: none)."""
        fold = np.full(len(y), -1)
        scores = np.zeros(len(y))
        for k, (fit_rows, predict_rows) in enumerate(folds):
            copy = self._copy(len(fit_rows), len(y)).fit(_rows(X, fit_rows), y[fit_rows])
            scores[predict_rows] = positive_probability(copy, _rows(X, predict_rows))
            fold[predict_rows] = k
        return fold, scores

    def _method(self, fold: np.ndarray, scores: np.ndarray, y: np.ndarray) -> str:
        """The configured map, or with ``auto`` the one that does best out of sample: fitted on
        the earlier folds' predictions and scored on the latest fold's (explicit, time-ordered
        folds), or on every other row (shuffled folds)."""
        if self.method != "auto":
            return self.method
        if isinstance(self.cv, int) or not self.time_ordered or fold.max() == 0:
            return choose_map(scores, y)
        return choose_map(scores, y, later=fold == fold.max())

    def _copy(self, rows: int, of: int) -> Any:
        copy = clone(self.estimator)
        if self.scale_rounds and "n_estimators" in copy.get_params():
            rounds = int(copy.get_params()["n_estimators"])
            copy.set_params(n_estimators=max(1, round(rounds * rows / of)))
        return copy

    def calibrated_model(self) -> Any:
        """The model fitted on every row, whose probabilities this calibrates."""
        check_is_fitted(self)
        return self.estimator_

    def predict_proba(self, X: Any) -> np.ndarray:
        return self._from_score(positive_probability(self.calibrated_model(), X))

    def _mapped(self, score: np.ndarray) -> np.ndarray | None:
        return self._from_score(score)

    def _from_score(self, score: np.ndarray) -> np.ndarray:
        check_is_fitted(self)
        return _tie_broken(_apply_map(self.calibrator_, self.method_, score), score)

    def predict(self, X: Any) -> np.ndarray:
        predicted: np.ndarray = self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]
        return predicted


def _rows(X: Any, positions: np.ndarray) -> Any:
    return X.iloc[positions] if isinstance(X, pd.DataFrame) else X[positions]


# ---- calibration maps on scores --------------------------------------------------------------------


def _logit(scores: np.ndarray) -> np.ndarray:
    return log_odds(np.clip(scores, 1e-6, 1 - 1e-6)).reshape(-1, 1)


def _fitted_map(method: str, scores: np.ndarray, y: np.ndarray) -> Any:
    if method == IDENTITY:
        return None
    if method == "isotonic":
        return IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(scores, y)
    if method == "sigmoid":
        return LogisticRegression().fit(_logit(scores), y)
    raise ValueError(f"unknown calibration method {method!r}")


def _apply_map(calibrator: Any, method: str, scores: np.ndarray) -> np.ndarray:
    if method == IDENTITY:
        return np.asarray(scores, dtype=float)
    if method == "isotonic":
        return np.asarray(calibrator.predict(scores), dtype=float)
    return np.asarray(calibrator.predict_proba(_logit(scores))[:, 1], dtype=float)


def choose_map(scores: np.ndarray, y: np.ndarray, later: np.ndarray | None = None) -> str:
    """The map (isotonic, sigmoid, or none: the model's own probabilities) with the lowest log
    loss on the ``later`` rows when fitted on the others (default: every other row); sigmoid
    when there are too few rows or positives to tell.  A map must beat the model's own
    probabilities out of sample to be used."""
    held = np.arange(len(y)) % 2 == 1 if later is None else later
    too_few = min(y[held].sum(), y[~held].sum()) < MIN_CHOICE_POSITIVES
    if too_few or min(held.sum(), (~held).sum()) < MIN_CHOICE_ROWS:
        return "sigmoid"
    losses = {
        method: METRICS["log_loss"](
            y[held], _apply_map(_fitted_map(method, scores[~held], y[~held]), method, scores[held])
        )
        for method in (IDENTITY, *CALIBRATION_METHODS)
    }
    return min(losses, key=lambda m: (losses[m], m != IDENTITY, m))


# ---- a later window --------------------------------------------------------------------------------


def calibrate(
    model: BaseEstimator, window: tuple[pd.DataFrame, np.ndarray], method: str = "auto"
) -> RankPreservingCalibration:
    """Freeze ``model`` and calibrate it on ``window`` (method chosen there when ``auto``), from
    one prediction of the window (see :class:`_Responses`)."""
    X, y = window
    responses = _Responses(model, X)
    chosen = method if method != "auto" else _chosen_on(responses, y)
    return _on_responses(model, responses, y, chosen)


def choose_calibration(model: BaseEstimator, X: pd.DataFrame, y: np.ndarray) -> str:
    """The method with the lower log loss on the window's second half, fitted on its first."""
    return _chosen_on(_Responses(model, X), y)


def _chosen_on(responses: _Responses, y: np.ndarray) -> str:
    """:func:`choose_calibration` from the model's responses on the window."""
    half = len(y) // 2
    first, second = slice(0, half), slice(half, None)
    if min(y[first].sum(), y[second].sum()) < 5 or half < 50:
        return "sigmoid"
    positions = np.arange(len(y)).reshape(-1, 1)
    losses = {}
    for method in CALIBRATION_METHODS:
        fitted = CalibratedClassifierCV(FrozenEstimator(responses), method=method)
        fitted.fit(positions[first], y[first])
        losses[method] = METRICS["log_loss"](
            y[second], fitted.predict_proba(positions[second])[:, 1]
        )
    return min(losses, key=lambda m: (losses[m], m))


def _on_responses(
    model: BaseEstimator, responses: _Responses, y: np.ndarray, method: str
) -> RankPreservingCalibration:
    """``RankPreservingCalibration(FrozenEstimator(model), method).fit(X, y)`` for the window
    ``X`` whose ``responses`` are given: the calibrator is fitted on those (what ``fit`` would
    compute again), then the frozen model takes the responses' place."""
    positions = np.arange(len(y)).reshape(-1, 1)
    calibrated = RankPreservingCalibration(FrozenEstimator(responses), method=method)
    calibrated.fit(positions, y)
    frozen = FrozenEstimator(model)
    calibrated.estimator = frozen
    calibrated.calibrated_classifiers_[0].estimator = frozen
    for name in ("n_features_in_", "feature_names_in_"):
        if hasattr(model, name):
            setattr(calibrated, name, getattr(model, name))
        elif hasattr(calibrated, name):
            delattr(calibrated, name)
    return calibrated


class _Responses(ClassifierMixin, BaseEstimator):
    """A fitted model's responses on the rows of ``X``, computed once and looked up by row
    position (the one column of what it is given): choosing the map on a window's halves and
    fitting it on the whole window then cost one prediction of the window instead of five, with
    the same responses as the model's."""

    def __init__(self, model: Any, X: pd.DataFrame) -> None:
        self.model = model
        self.X = X

    def fit(self, X: Any, y: Any) -> _Responses:
        return self  # pragma: no cover - only ever used frozen

    def __sklearn_is_fitted__(self) -> bool:
        return True

    @property
    def classes_(self) -> np.ndarray:
        classes: np.ndarray = self.model.classes_
        return classes

    def _responses(self) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self, "responses_"):
            self.responses_ = _response(self.model, self.X)
        return self.responses_

    @available_if(lambda self: hasattr(self.model, "decision_function"))  # type: ignore[untyped-decorator]
    def decision_function(self, positions: np.ndarray) -> np.ndarray:
        margin: np.ndarray = self._responses()[0][np.asarray(positions).ravel()]
        return margin

    def predict_proba(self, positions: np.ndarray) -> np.ndarray:
        positive = self._responses()[1][np.asarray(positions).ravel()]
        return np.column_stack([1 - positive, positive])

    def predict(self, positions: np.ndarray) -> np.ndarray:
        predicted: np.ndarray = self.classes_[np.argmax(self.predict_proba(positions), axis=1)]
        return predicted
