"""The served model: what a registered version carries, and how its rows are made.

A :class:`ServedModel` holds the feature spec, the fitted model (an
:class:`~predictive_scoring.models.on_columns.OnColumns`) and the reference population's
distributions, so that a batch scores exactly as training measured.  What the output columns mean
(CONTRACT section 4):

* ``probability``: the served model's calibrated P(converts within the horizon);
* ``score`` (0–100): the percentile of ``probability`` among the reference population (the
  training rows, weighted as often as they are open), so a score of 90 means the lead is likelier
  to convert than 90 % of the leads the model learned from; stable from batch to batch, monotone
  in ``probability``;
* ``fit_score`` / ``intent_score`` (0–100): percentiles, in the same population, of the sum of the
  fit contributions and of the intent contributions (see :mod:`predictive_scoring.explain`);
* ``tier``: ``hot`` at ``scoring.tiers.hot`` or above, ``warm`` at ``scoring.tiers.warm`` or above;
* ``is_mql``: score at or above ``scoring.mql.score`` (a capacity is applied over a whole run, by
  :mod:`predictive_scoring.scoring`).

:class:`LeadScoringModel` is the MLflow pyfunc around it.  Version 0.1 pickled the model as a
column-selecting sklearn ``Pipeline`` (the points baseline, LightGBM) or as the bare calibrated
model (the logistic regression); such champions are upgraded when they are loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import ScoringConfig
from predictive_scoring.errors import ModelError, first_line
from predictive_scoring.explain import group_sums, reasons
from predictive_scoring.features.fit import encode_categories
from predictive_scoring.features.spec import FeatureSpec, model_matrix
from predictive_scoring.models.on_columns import OnColumns
from predictive_scoring.stopwatch import step
from predictive_scoring.timeline import CONVERSION, Target

__all__ = [
    "DECIMALS",
    "QUANTILES",
    "LeadScoringModel",
    "ServedModel",
    "build_served_model",
    "decile_shares",
    "input_example",
    "percentile_score",
    "quantiles",
    "reference_positions",
    "score_features",
    "spread_sample",
    "tiers",
]

QUANTILES = 1001
DECIMALS = 6
BEST_BAND_MIN_ROWS = 30


@dataclass
class ServedModel:
    """Everything scoring needs, saved with the model: spec, model, reference distributions."""

    name: str
    spec: FeatureSpec
    model: Any
    probability_quantiles: np.ndarray
    fit_quantiles: np.ndarray
    intent_quantiles: np.ndarray
    reference_row: pd.DataFrame
    best_values: dict[str, str] = field(default_factory=dict)
    scoring: ScoringConfig | None = None
    reference_shares: dict[str, np.ndarray] = field(default_factory=dict)
    version: str = "unregistered"
    labels_until: pd.Timestamp | None = None
    """The as-of it was trained at: it learned every outcome before this time (``None``: a flat
    export, or a model registered before it was recorded)."""
    float32_features: bool = False
    """Its models learned from :func:`~predictive_scoring.features.spec.model_matrix` (float32)
    features, so they score with them too (``False``: registered before that)."""
    segment: str = ""
    """The segment it serves (CONTRACT section 6); empty for the global model."""
    target: Target = CONVERSION
    """What it predicts, among which leads (a model registered before targets: conversion)."""
    package_version: str = "0.0.0"
    """The predictive-scoring version that registered it (``0.0.0``: registered before this was
    recorded); a newer one than the installed package is refused at loading."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.model = OnColumns.from_legacy(self.model, self.reference_row)

    @property
    def feature_names(self) -> list[str]:
        return list(self.reference_row.columns)

    def _matrix(self, X: pd.DataFrame) -> pd.DataFrame:
        selected = X[self.feature_names]
        return model_matrix(selected) if self.float32_features else selected

    def probabilities(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict_proba(self._matrix(X))[:, 1], dtype=float)

    def contributions(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature contributions to the model's additive score, and the base, for ``X``."""
        contributions, base = self.model.additive_score(self._matrix(X), self.reference_row)
        return contributions, base

    def scored(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`probabilities` and :meth:`contributions` of ``X``, from one pass over a
        booster's trees (its exact TreeSHAP gives LightGBM's own predictions on the way)."""
        probability, (contributions, _) = self.model.scored(self._matrix(X), self.reference_row)
        return np.asarray(probability[:, 1], dtype=float), contributions


# ---- percentiles against the reference population ----------------------------------------------


def quantiles(values: np.ndarray) -> np.ndarray:
    """The reference distribution kept for percentile scores."""
    result: np.ndarray = np.quantile(np.asarray(values, dtype=float), np.linspace(0, 1, QUANTILES))
    return result


def percentile_score(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """0–100: the percentile rank of each value in the reference (the share below it, plus half
    the share equal to it), rounded.

    Ties count half, so a plateau sits in its middle: when every training lead shares one intent
    sum (a flat export has no behaviour), every lead's ``intent_score`` is 50, not 100.  Values are
    compared at ``DECIMALS`` decimals: many leads share one contribution sum, and summing
    contributions in another order must not move a lead across such a plateau.
    """
    rounded = np.round(reference, DECIMALS)
    points = np.round(values, DECIMALS)
    below = np.searchsorted(rounded, points, side="left")
    at_or_below = np.searchsorted(rounded, points, side="right")
    share = (below + at_or_below) / (2 * len(reference))
    result: np.ndarray = np.clip(np.round(100 * share), 0, 100).astype(np.int64)
    return result


def decile_shares(scores: np.ndarray, bins: int = 10) -> np.ndarray:
    """Share of 0–100 scores in each of ``bins`` equal-width bins (floored to avoid log 0)."""
    which = np.minimum(np.asarray(scores) * bins // 101, bins - 1).astype(int)
    counts = np.bincount(which, minlength=bins) / max(1, len(scores))
    shares: np.ndarray = np.maximum(counts, 1e-4)
    return shares


def tiers(score: np.ndarray, config: ScoringConfig) -> np.ndarray:
    """``hot`` / ``warm`` / ``cold`` by the configured score thresholds."""
    hot, warm, cold = schema.TIERS
    return np.where(
        score >= config.tiers.hot, hot, np.where(score >= config.tiers.warm, warm, cold)
    )


# ---- the reference population ------------------------------------------------------------------


def reference_positions(
    pool: np.ndarray, weights: np.ndarray | None, seed: int, limit: int
) -> np.ndarray:
    """``limit`` draws from the row positions ``pool`` in proportion to ``weights`` (how many
    open-lead rows each stands for), sorted: the population scoring will see."""
    weights = np.ones(len(pool)) if weights is None or weights.sum() <= 0 else weights
    chosen = np.random.default_rng(seed).choice(
        pool, min(limit, len(pool)), replace=True, p=weights / weights.sum()
    )
    return np.sort(chosen)


def spread_sample(positions: np.ndarray, size: int, seed: int) -> np.ndarray:
    """``size`` of ``positions`` drawn across all of them (not the earliest), in order."""
    if len(positions) <= size:
        return positions
    picked = np.random.default_rng(seed).choice(len(positions), size, replace=False)
    return positions[np.sort(picked)]


def build_served_model(
    name: str,
    spec: FeatureSpec,
    model: Any,
    X_reference: pd.DataFrame,
    y: np.ndarray,
    scoring: ScoringConfig | None = None,
    labels_until: pd.Timestamp | None = None,
) -> ServedModel:
    """Freeze the served model with its reference distributions from the reference rows."""
    served = ServedModel(
        name,
        spec,
        model,
        np.zeros(1),
        np.zeros(1),
        np.zeros(1),
        _reference_row(X_reference),
        _best_values(X_reference, y, spec),
        scoring,
        labels_until=labels_until,
        float32_features=True,
    )
    probability, contributions = served.scored(X_reference)
    fit_sum, intent_sum = group_sums(contributions, spec, served.feature_names)
    served.probability_quantiles = quantiles(probability)
    served.fit_quantiles = quantiles(fit_sum)
    served.intent_quantiles = quantiles(intent_sum)
    served.reference_shares = {
        schema.SCORE: decile_shares(percentile_score(probability, served.probability_quantiles)),
        schema.FIT_SCORE: decile_shares(percentile_score(fit_sum, served.fit_quantiles)),
        schema.INTENT_SCORE: decile_shares(percentile_score(intent_sum, served.intent_quantiles)),
    }
    return served


def _reference_row(X: pd.DataFrame) -> pd.DataFrame:
    """Median of numbers, most frequent category: the row additive contributions are measured from."""
    values: dict[str, Any] = {}
    for column in X.columns:
        series = X[column]
        if isinstance(series.dtype, pd.CategoricalDtype):
            values[column] = pd.Categorical(
                [series.mode().iloc[0]], categories=series.cat.categories
            )
        else:
            values[column] = [float(series.median()) if series.notna().any() else np.nan]
    return pd.DataFrame(values)


def _best_values(X: pd.DataFrame, y: np.ndarray, spec: FeatureSpec) -> dict[str, str]:
    """The best-converting value of each band feature (for "best-converting band")."""
    best = {}
    for info in spec.features:
        if info.stat == "band" and info.name in X.columns:
            rates = (
                pd.Series(y, index=X.index)
                .groupby(X[info.name].astype("string"))
                .agg(["mean", "size"])
            )
            rates = rates[rates["size"] >= BEST_BAND_MIN_ROWS]
            if len(rates):
                best[info.name] = str(rates["mean"].idxmax())
    return best


# ---- rows ----------------------------------------------------------------------------------------


def score_features(
    served: ServedModel,
    X: pd.DataFrame,
    lead_ids: pd.Series,
    as_of: pd.Timestamp | None,
    config: ScoringConfig,
    top_k: int | None = None,
) -> pd.DataFrame:
    """The contract's output rows for feature rows ``X`` of ``lead_ids`` as of ``as_of``
    (the "predict and shap" and "reasons" steps timed by
    :func:`~predictive_scoring.stopwatch.step`)."""
    with step("predict and shap"):  # one pass gives both (ServedModel.scored)
        probability, contributions = served.scored(X)
    fit_sum, intent_sum = group_sums(contributions, served.spec, served.feature_names)
    score = percentile_score(probability, served.probability_quantiles)
    k = config.top_reasons if top_k is None else top_k
    with step("reasons"):
        why = reasons(contributions, X[served.feature_names], served.spec, k, served.best_values)
    return pd.DataFrame(
        {
            schema.LEAD_ID: lead_ids.astype("string").to_numpy(),
            schema.AS_OF: pd.Series([as_of] * len(X), dtype="datetime64[us, UTC]").to_numpy(),
            schema.PROBABILITY: probability,
            schema.SCORE: score,
            schema.FIT_SCORE: percentile_score(fit_sum, served.fit_quantiles),
            schema.INTENT_SCORE: percentile_score(intent_sum, served.intent_quantiles),
            schema.TIER: tiers(score, config),
            schema.IS_MQL: score >= config.mql.score,
            schema.REASONS: why,
            schema.MODEL_VERSION: served.version,
            schema.SEGMENT: served.segment,
        }
    )


# ---- the MLflow pyfunc ----------------------------------------------------------------------------


class LeadScoringModel(mlflow.pyfunc.PythonModel):
    """The MLflow pyfunc: a feature frame in (``lead_id``, optional ``as_of``, the spec's
    features), the contract's output columns out.  It carries the served model (one joblib
    artifact) and the package code."""

    def load_context(self, context: Any) -> None:
        import joblib

        try:
            self.served = joblib.load(context.artifacts["served"])
        except Exception as exc:  # a truncated download, a damaged store
            raise ModelError(
                f"its artifact is damaged or incomplete ({type(exc).__name__}: {first_line(exc)})"
            ) from None

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        served: ServedModel = self.served
        assert served.scoring is not None, "a registered model carries its scoring settings"
        return score_features(
            served,
            typed_features(model_input, served),
            model_input[schema.LEAD_ID],
            _input_as_of(model_input),
            served.scoring,
        )


def _input_as_of(frame: pd.DataFrame) -> pd.Timestamp | None:
    """The ``as_of`` of a pyfunc input (ISO 8601 text or a timestamp; UTC), if it has one."""
    if schema.AS_OF not in frame.columns or not frame[schema.AS_OF].notna().any():
        return None
    as_of = pd.Timestamp(frame[schema.AS_OF].dropna().iloc[0])
    return as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")


def typed_features(frame: pd.DataFrame, served: ServedModel) -> pd.DataFrame:
    """Categorical features back to the spec's categories (a signature carries them as text)."""
    columns = {}
    for name in served.feature_names:
        info = served.spec.info(name)
        values = (
            frame[name]
            if name in frame.columns
            else pd.Series(None, index=frame.index, dtype="object")
        )
        columns[name] = (
            encode_categories(values, info.categories)
            if info.kind == "categorical"
            else pd.to_numeric(values, errors="coerce").astype("float64")
        )
    return pd.DataFrame(columns, index=frame.index)


def input_example(served: ServedModel, features: pd.DataFrame) -> pd.DataFrame:
    """A few rows of features (never lead attributes such as emails) with placeholder ids."""
    sample = features[served.feature_names].head(3).copy()
    for name, info in ((n, served.spec.info(n)) for n in served.feature_names):
        if info.kind == "categorical":
            sample[name] = sample[name].astype("string")
        elif sample[name].dtype == np.float32:
            sample[name] = sample[name].astype(np.float64)  # features are built as float64
    sample.insert(0, schema.LEAD_ID, [f"example-{i}" for i in range(len(sample))])
    example: pd.DataFrame = sample.reset_index(drop=True)
    return example
