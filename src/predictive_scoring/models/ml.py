"""Calibrated ML candidates: a shallow LightGBM booster and a regularised logistic regression.

With timestamps, each candidate is trained on the training window, then frozen and calibrated on
the later calibration window (``CalibratedClassifierCV(FrozenEstimator(model))``), so one booster is served
and explained.  The calibration method (isotonic or sigmoid) is chosen on that window: each method
is fitted on its first half and scored by log loss on its second half, and the winner is refitted
on the whole window.

Flat data has no later window: see :func:`calibrate_cross_fitted`.

LightGBM stops early on the calibration window.  Depth and leaves stay small so that exact TreeSHAP
stays fast at scoring time; categorical columns are used natively (pandas ``category`` dtype).
The logistic regression one-hot encodes categories and expands numbers (signed log, imputed with a
missing indicator) into splines, so counts get diminishing returns and recency a non-linear shape.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, SplineTransformer

from predictive_scoring.config import ModelsConfig
from predictive_scoring.evaluation import METRICS
from predictive_scoring.models._additive import (
    Contributions,
    log_odds,
    reference_row_for,
    swapped_contributions,
)
from predictive_scoring.treeshap import tree_contributions

__all__ = [
    "CALIBRATION_METHODS",
    "CROSS_FIT_FOLDS",
    "LIGHTGBM",
    "LOGISTIC",
    "TIE_BREAK",
    "RankPreservingCalibration",
    "additive_constraints",
    "calibrate",
    "calibrate_cross_fitted",
    "choose_calibration",
    "fit_lightgbm",
    "lightgbm_model",
    "logistic_model",
]

LIGHTGBM = "lightgbm"
LOGISTIC = "logistic"
CALIBRATION_METHODS = ("isotonic", "sigmoid")
CROSS_FIT_FOLDS = 5
TIE_BREAK = 1e-6


class RankPreservingCalibration(CalibratedClassifierCV):
    """``CalibratedClassifierCV`` whose isotonic plateaus are broken by the model's own score.

    Isotonic calibration is flat within each pooled block, so leads the model tells apart would tie.
    Adding ``TIE_BREAK × (score − ½)`` (at most 5e-7) keeps the probabilities calibrated and makes
    the ranking exactly the model's: calibration never costs ROC-AUC.
    """

    def calibrated_model(self) -> Any:
        """The model whose probabilities this calibrates (frozen or refitted on all rows)."""
        inner = self.calibrated_classifiers_[0].estimator
        return inner.estimator if isinstance(inner, FrozenEstimator) else inner

    def trees(self) -> int:
        """How many trees the calibrated model has (0 when it is not a LightGBM booster)."""
        model = self.calibrated_model()
        return int(model.booster_.num_trees()) if isinstance(model, lgb.LGBMClassifier) else 0

    def additive_score(
        self, X: pd.DataFrame, reference: pd.DataFrame | None = None
    ) -> Contributions:
        """The calibrated model's score, split per column: exact TreeSHAP for a LightGBM booster,
        else its log-odds against the ``reference`` row (calibration is a monotone map on top, so
        the order and sign of the contributions are the model's)."""
        model = self.calibrated_model()
        if isinstance(model, lgb.LGBMClassifier):
            return tree_contributions(model, X)
        return swapped_contributions(
            lambda rows: log_odds(model.predict_proba(rows)[:, 1]),
            X,
            reference_row_for(reference, X),
        )

    def predict_proba(self, X: Any) -> np.ndarray:
        calibrated = super().predict_proba(X)[:, 1]
        inner = self.calibrated_classifiers_[0].estimator
        score = inner.predict_proba(X)[:, 1]
        positive = np.clip(calibrated + TIE_BREAK * (score - 0.5), 0.0, 1.0)
        return np.column_stack([1 - positive, positive])


def additive_constraints(
    fit_features: list[str],
    intent_features: list[str],
    directions: dict[str, int],
    fit_interactions: bool = True,
) -> dict[str, Any]:
    """LightGBM constraints that make the booster ``f(fit) + g(intent)``, ``g`` monotone.

    ``interaction_constraints`` keeps every tree within one group (its root's), so the fit and
    intent contributions separate exactly; ``monotone_constraints`` give each intent feature the
    direction in ``directions`` (+1: more is hotter), so ``g`` cools as time passes without events.
    Without ``fit_interactions`` every fit feature is a group of its own, so ``f`` is a sum of
    one function per attribute, as in a points system (each attribute's points learned by boosting).
    """
    features = fit_features + intent_features
    fit_groups = (
        [list(range(len(fit_features)))]
        if fit_interactions
        else [[i] for i in range(len(fit_features))]
    )
    return {
        "interaction_constraints": [
            *fit_groups,
            list(range(len(fit_features), len(features))),
        ],
        "monotone_constraints": [0] * len(fit_features)
        + [directions.get(f, 0) for f in intent_features],
        "monotone_constraints_method": "advanced",
    }


def lightgbm_model(config: ModelsConfig, **constraints: Any) -> lgb.LGBMClassifier:
    """A deterministic, shallow LightGBM classifier (constraints such as
    ``interaction_constraints`` pass through)."""
    params = config.lightgbm
    return lgb.LGBMClassifier(
        n_estimators=params.n_estimators,
        learning_rate=params.learning_rate,
        num_leaves=params.num_leaves,
        max_depth=params.max_depth,
        min_child_samples=params.min_child_samples,
        subsample=1.0,
        colsample_bytree=1.0,
        random_state=config.seed,
        n_jobs=config.num_threads,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
        **constraints,
    )


def fit_lightgbm(
    model: lgb.LGBMClassifier,
    train: tuple[pd.DataFrame, np.ndarray],
    calibration: tuple[pd.DataFrame, np.ndarray],
    rounds: int,
) -> lgb.LGBMClassifier:
    """Fit with early stopping on the ``calibration`` window (the one later calibrating it)."""
    X, y = train
    model.fit(
        X,
        y,
        eval_X=(calibration[0],),
        eval_y=(calibration[1],),
        eval_metric="binary_logloss",
        callbacks=[lgb.early_stopping(rounds, verbose=False)],
    )
    return model


def _signed_log(values: np.ndarray) -> np.ndarray:
    result: np.ndarray = np.sign(values) * np.log1p(np.abs(values))
    return result


def logistic_model(config: ModelsConfig) -> Pipeline:
    """One-hot categories, spline-expanded numbers, L2-regularised logistic regression."""
    numeric = make_pipeline(
        FunctionTransformer(_signed_log, feature_names_out="one-to-one"),
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        SplineTransformer(n_knots=4, degree=2, extrapolation="constant"),
    )
    categorical = OneHotEncoder(handle_unknown="ignore", min_frequency=5)
    encode = ColumnTransformer(
        [
            ("numeric", numeric, make_column_selector(dtype_include="number")),
            ("categorical", categorical, make_column_selector(dtype_include="category")),
        ],
        sparse_threshold=0.0,
    )
    classifier = LogisticRegression(C=config.logistic.C, max_iter=2000)
    return Pipeline([("encode", encode), ("classify", classifier)])


def calibrate(
    model: BaseEstimator, window: tuple[pd.DataFrame, np.ndarray], method: str = "auto"
) -> RankPreservingCalibration:
    """Freeze ``model`` and calibrate it on ``window`` (method chosen there when ``auto``)."""
    X, y = window
    chosen = method if method != "auto" else choose_calibration(model, X, y)
    calibrated = RankPreservingCalibration(FrozenEstimator(model), method=chosen)
    calibrated.fit(X, y)
    return calibrated


def calibrate_cross_fitted(
    model: BaseEstimator, data: tuple[pd.DataFrame, np.ndarray], method: str, seed: int
) -> RankPreservingCalibration:
    """Flat data: one model refitted on all of ``data``, calibrated on its out-of-fold predictions.

    Without time there is no later window, so the calibrator learns from 5-fold out-of-fold
    probabilities (``CalibratedClassifierCV(ensemble=False)``): still one served model, and the
    calibration rows were never seen by the model that scored them.
    """
    X, y = data
    folds = StratifiedKFold(CROSS_FIT_FOLDS, shuffle=True, random_state=seed)
    if method == "auto":
        method = _choose_on_out_of_fold(model, X, y, folds)
    calibrated = RankPreservingCalibration(model, method=method, cv=folds, ensemble=False)
    calibrated.fit(X, y)
    return calibrated


def _choose_on_out_of_fold(
    model: BaseEstimator, X: pd.DataFrame, y: np.ndarray, folds: StratifiedKFold
) -> str:
    """Fit each calibration map on half of the out-of-fold probabilities, score it on the rest."""
    oof = cross_val_predict(clone(model), X, y, cv=folds, method="predict_proba")[:, 1]
    half = np.arange(len(y)) % 2 == 0
    logit = np.log(np.clip(oof, 1e-6, 1 - 1e-6) / np.clip(1 - oof, 1e-6, 1)).reshape(-1, 1)
    maps = {
        "isotonic": IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(
            oof[half], y[half]
        ),
        "sigmoid": LogisticRegression().fit(logit[half], y[half]),
    }
    predicted = {
        "isotonic": maps["isotonic"].predict(oof[~half]),
        "sigmoid": maps["sigmoid"].predict_proba(logit[~half])[:, 1],
    }
    losses = {m: METRICS["log_loss"](y[~half], p) for m, p in predicted.items()}
    return min(losses, key=lambda m: (losses[m], m))


def choose_calibration(model: BaseEstimator, X: pd.DataFrame, y: np.ndarray) -> str:
    """The method with the lower log loss on the window's second half, fitted on its first."""
    half = len(y) // 2
    first, second = slice(0, half), slice(half, None)
    if min(y[first].sum(), y[second].sum()) < 5 or half < 50:
        return "sigmoid"
    losses = {}
    for method in CALIBRATION_METHODS:
        fitted = CalibratedClassifierCV(FrozenEstimator(model), method=method)
        fitted.fit(X.iloc[first], y[first])
        losses[method] = METRICS["log_loss"](y[second], fitted.predict_proba(X.iloc[second])[:, 1])
    return min(losses, key=lambda m: (losses[m], m))
