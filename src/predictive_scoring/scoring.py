"""Batch scoring: features → served model → scores, sub-scores, tiers, reasons → atomic write.

One row per lead open at T (every row in flat mode), with the contract's columns (CONTRACT
section 4).  What the columns mean:

* ``probability``: the served model's calibrated P(converts within the horizon);
* ``score`` (0–100): the percentile of ``probability`` among the training rows, so a score of 90
  means the lead is likelier to convert than 90 % of the leads the model learned from; stable from
  batch to batch, monotone in ``probability``;
* ``fit_score`` / ``intent_score`` (0–100): percentiles, among the training rows, of the sum of
  the fit contributions and of the intent contributions (see :mod:`predictive_scoring.explain`);
* ``tier``: ``hot`` at ``scoring.tiers.hot`` or above, ``warm`` at ``scoring.tiers.warm`` or above;
* ``is_mql``: score at or above ``scoring.mql.score``, or, when ``scoring.mql.capacity`` is set,
  the best ``capacity`` leads of the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import ScoringConfig
from predictive_scoring.data.tables import LeadData
from predictive_scoring.explain import (
    additive_contributions,
    group_sums,
    reasons,
    tree_contributions,
)
from predictive_scoring.features.snapshots import scoring_rows
from predictive_scoring.features.spec import FeatureSpec, build_features, event_keys
from predictive_scoring.models.ml import selected_columns, served_booster

QUANTILES = 1001
DECIMALS = 6


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

    @property
    def feature_names(self) -> list[str]:
        return list(self.reference_row.columns)

    def probabilities(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict_proba(X[self.feature_names])[:, 1], dtype=float)

    def contributions(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature log-odds contributions and the base, for ``X``'s rows."""
        X = X[self.feature_names]
        booster = served_booster(self.model)
        if booster is None:
            return additive_contributions(self._log_odds, X, self.reference_row)
        used = selected_columns(self.model) or list(booster.feature_names_in_)
        values, base = tree_contributions(booster, X[used])
        contributions = np.zeros((len(X), len(self.feature_names)))
        contributions[:, [self.feature_names.index(c) for c in used]] = values
        return contributions, base

    def _log_odds(self, X: pd.DataFrame) -> np.ndarray:
        """The additive score behind the probability: raw points, or the model's log-odds."""
        inner = self.model
        steps = getattr(inner, "named_steps", None)
        if steps and hasattr(steps["model"], "points"):
            points = np.asarray(steps["model"].points(inner[:-1].transform(X)), dtype=float)
            return points / 10
        calibrated = getattr(inner, "calibrated_classifiers_", None)
        if calibrated:
            inner = calibrated[0].estimator
        p = np.clip(np.asarray(inner.predict_proba(X)[:, 1], dtype=float), 1e-9, 1 - 1e-9)
        log_odds: np.ndarray = np.log(p / (1 - p))
        return log_odds


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


def build_served_model(
    name: str,
    spec: FeatureSpec,
    model: Any,
    X_reference: pd.DataFrame,
    y: np.ndarray,
    scoring: ScoringConfig | None = None,
) -> ServedModel:
    """Freeze the served model with its reference distributions from the training rows."""
    draft = ServedModel(
        name,
        spec,
        model,
        np.zeros(1),
        np.zeros(1),
        np.zeros(1),
        _reference_row(X_reference),
        _best_values(X_reference, y, spec),
    )
    contributions, _ = draft.contributions(X_reference)
    fit_sum, intent_sum = group_sums(contributions, spec, draft.feature_names)
    draft.probability_quantiles = quantiles(draft.probabilities(X_reference))
    draft.fit_quantiles = quantiles(fit_sum)
    draft.intent_quantiles = quantiles(intent_sum)
    draft.scoring = scoring
    draft.reference_shares = {
        schema.SCORE: decile_shares(
            percentile_score(draft.probabilities(X_reference), draft.probability_quantiles)
        ),
        schema.FIT_SCORE: decile_shares(percentile_score(fit_sum, draft.fit_quantiles)),
        schema.INTENT_SCORE: decile_shares(percentile_score(intent_sum, draft.intent_quantiles)),
    }
    return draft


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
            rates = rates[rates["size"] >= 30]
            if len(rates):
                best[info.name] = str(rates["mean"].idxmax())
    return best


def score_features(
    served: ServedModel,
    X: pd.DataFrame,
    lead_ids: pd.Series,
    as_of: pd.Timestamp | None,
    config: ScoringConfig,
    top_k: int | None = None,
) -> pd.DataFrame:
    """The contract's output rows for feature rows ``X`` of ``lead_ids`` as of ``as_of``."""
    probability = served.probabilities(X)
    contributions, _ = served.contributions(X)
    fit_sum, intent_sum = group_sums(contributions, served.spec, served.feature_names)
    score = percentile_score(probability, served.probability_quantiles)
    k = config.top_reasons if top_k is None else top_k
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
            schema.REASONS: reasons(
                contributions, X[served.feature_names], served.spec, k, served.best_values
            ),
            schema.MODEL_VERSION: served.version,
        }
    )


def tiers(score: np.ndarray, config: ScoringConfig) -> np.ndarray:
    """``hot`` / ``warm`` / ``cold`` by the configured score thresholds."""
    hot, warm, cold = schema.TIERS
    return np.where(
        score >= config.tiers.hot, hot, np.where(score >= config.tiers.warm, warm, cold)
    )


def apply_capacity(scores: pd.DataFrame, capacity: int | None) -> pd.DataFrame:
    """With a capacity, the MQLs are the ``capacity`` most probable leads of the run."""
    if capacity is None:
        return scores
    order = np.argsort(-scores[schema.PROBABILITY].to_numpy(), kind="stable")
    chosen = np.zeros(len(scores), dtype=bool)
    chosen[order[:capacity]] = True
    return scores.assign(**{schema.IS_MQL: chosen})


def score_leads(
    data: LeadData,
    served: ServedModel,
    as_of: pd.Timestamp | None,
    config: ScoringConfig,
    top_k: int | None = None,
    threads: int = 2,
) -> Iterator[pd.DataFrame]:
    """Score every lead open at ``as_of`` in chunks of ``scoring.chunk_size`` rows.

    With an MQL capacity the whole run is needed to pick the best leads, so the chunks are
    gathered first (memory then grows with the run).
    """
    rows = scoring_rows(data, as_of)
    keys = None if data.flat else event_keys(data, served.spec)
    chunks = (
        score_features(
            served,
            build_features(data, part, served.spec, threads, keys),
            part[schema.LEAD_ID],
            as_of,
            config,
            top_k,
        )
        for part in _chunks(rows, config.chunk_size)
    )
    if config.mql.capacity is None:
        yield from chunks
        return
    everything = pd.concat(list(chunks), ignore_index=True)
    yield apply_capacity(everything, config.mql.capacity)


def _chunks(rows: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(rows), size):
        yield rows.iloc[start : start + size].reset_index(drop=True)


def decile_shares(scores: np.ndarray, bins: int = 10) -> np.ndarray:
    """Share of 0–100 scores in each of ``bins`` equal-width bins (floored to avoid log 0)."""
    which = np.minimum(np.asarray(scores) * bins // 101, bins - 1).astype(int)
    counts = np.bincount(which, minlength=bins) / max(1, len(scores))
    shares: np.ndarray = np.maximum(counts, 1e-4)
    return shares


def population_stability(scores: np.ndarray, expected: np.ndarray) -> float:
    """PSI = Σ (actual − expected) · ln(actual / expected) over the score bins."""
    if len(scores) == 0:
        return 0.0
    actual = decile_shares(scores, len(expected))
    return float(np.sum((actual - expected) * np.log(actual / expected)))


class DriftMonitor:
    """Collects the run's scores chunk by chunk and reports their PSI against the training
    population's scores (kept with the served model)."""

    columns = (schema.SCORE, schema.FIT_SCORE, schema.INTENT_SCORE)

    def __init__(self, reference: dict[str, np.ndarray]) -> None:
        self.reference = reference
        self.parts: dict[str, list[np.ndarray]] = {c: [] for c in self.columns}

    def watch(self, chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for chunk in chunks:
            for column in self.columns:
                self.parts[column].append(chunk[column].to_numpy())
            yield chunk

    def report(self) -> dict[str, float]:
        return {
            f"psi_{column}": population_stability(
                np.concatenate(parts) if parts else np.array([]), self.reference[column]
            )
            for column, parts in self.parts.items()
            if column in self.reference
        }
