"""The ML candidates: a shallow LightGBM booster and a regularised logistic regression.

How they are calibrated is :mod:`predictive_scoring.models.calibration`: on a later window to be
compared, on out-of-fold predictions when the chosen one is refit on everything to be served.

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
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, SplineTransformer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from predictive_scoring.config import ModelsConfig

# Version 0.1 pickled calibrated models as ``predictive_scoring.models.ml.RankPreservingCalibration``:
# the name stays importable here so that champions registered then still load.
from predictive_scoring.models.calibration import RankPreservingCalibration

__all__ = [
    "LIGHTGBM",
    "LOGISTIC",
    "PREDICT_ROWS",
    "RankPreservingCalibration",
    "SampledFit",
    "additive_constraints",
    "fit_lightgbm",
    "lightgbm_model",
    "logistic_model",
]

LIGHTGBM = "lightgbm"
LOGISTIC = "logistic"


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


PREDICT_ROWS = 50_000
"""Rows a :class:`SampledFit` predicts at a time: its expansion of 200,000 rows into hundreds of
dense columns is a gigabyte that the machine must page in again for every block, where blocks of
50,000 reuse memory already mapped (450,000 rows: 5.8 s against 16.0 s, the same values)."""


class SampledFit(ClassifierMixin, BaseEstimator):
    """``estimator`` fitted on at most ``max_rows`` rows (a seeded uniform sample when there are
    more) and predicting in blocks of :data:`PREDICT_ROWS`: an expansion into hundreds of dense
    columns (splines, one-hot) then costs the same on ten million rows as on ``max_rows``."""

    def __init__(self, estimator: Any, max_rows: int = 200_000, random_state: int = 0) -> None:
        self.estimator = estimator
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: Any) -> SampledFit:
        y = np.asarray(y)
        if len(y) > self.max_rows:
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(len(y), self.max_rows, replace=False))
            X, y = X.iloc[rows], y[rows]
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.classes_ = self.estimator_.classes_
        self.fitted_rows_ = len(y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self._in_blocks("predict_proba", X)

    @available_if(lambda self: hasattr(self.estimator, "decision_function"))  # type: ignore[untyped-decorator]
    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        return self._in_blocks("decision_function", X)

    def _in_blocks(self, method: str, X: pd.DataFrame) -> np.ndarray:
        """The fitted estimator's ``method`` on ``X``, :data:`PREDICT_ROWS` rows at a time (each
        row's result depends on that row alone)."""
        check_is_fitted(self)
        predict = getattr(self.estimator_, method)
        if len(X) <= PREDICT_ROWS:
            return np.asarray(predict(X))
        blocks = range(0, len(X), PREDICT_ROWS)
        return np.concatenate([predict(X.iloc[i : i + PREDICT_ROWS]) for i in blocks])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        predicted: np.ndarray = self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return predicted


def logistic_model(config: ModelsConfig) -> SampledFit:
    """One-hot categories, spline-expanded numbers, L2-regularised logistic regression, fitted on
    at most ``models.logistic.max_rows`` rows."""
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
    pipeline = Pipeline([("encode", encode), ("classify", classifier)])
    return SampledFit(pipeline, config.logistic.max_rows, config.seed)
