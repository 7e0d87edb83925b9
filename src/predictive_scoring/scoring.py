"""The scoring steps: the leads open at T → features → the served model's rows, chunk by chunk.

One row per lead open at T (every row in flat mode), with the contract's columns (CONTRACT
section 4; what they mean is :mod:`predictive_scoring.serving`'s docstring).  Rows come in chunks
of ``scoring.chunk_size`` so memory is bounded by the chunk; with an MQL capacity the whole run is
gathered first to pick the best leads.  :class:`DriftMonitor` compares the run's scores with the
training population's, and :func:`champion_bout` re-measures the champion beside the challenger
on rows of this run's test window (how a champion is judged).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import ScoringConfig
from predictive_scoring.data.tables import LeadData
from predictive_scoring.evaluation import METRICS
from predictive_scoring.features.snapshots import scoring_rows
from predictive_scoring.features.spec import build_features, event_keys
from predictive_scoring.models.policy import Bout

# Version 0.1 pickled served models as ``predictive_scoring.scoring.ServedModel``: the name stays
# importable here so that champions registered then still load.
from predictive_scoring.serving import ServedModel, decile_shares, score_features
from predictive_scoring.stopwatch import step

__all__ = [
    "MQL",
    "BatchSummary",
    "Bout",
    "DriftMonitor",
    "ServedModel",
    "apply_capacity",
    "champion_bout",
    "count_tiers",
    "drifted",
    "population_stability",
    "score_leads",
    "served_log_loss",
    "shared_rows_bout",
]

MQL = "mql"
"""The key under which :func:`count_tiers` counts the run's MQLs, beside the tiers."""


def score_leads(
    data: LeadData,
    served: ServedModel,
    as_of: pd.Timestamp | None,
    config: ScoringConfig,
    threads: int,
    top_k: int | None = None,
) -> Iterator[pd.DataFrame]:
    """Score every lead open at ``as_of`` in chunks of ``scoring.chunk_size`` rows, computing
    features on ``threads`` threads (each step timed by :func:`~predictive_scoring.stopwatch.step`)."""
    with step("rows"):
        rows = scoring_rows(data, as_of, served.target)
        keys = None if data.flat else event_keys(data, served.spec)
    chunks = (
        score_features(
            served,
            _features(data, part, served, threads, keys),
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
    parts = list(chunks)
    if parts:  # no open lead, no rows: nothing to choose among
        yield apply_capacity(pd.concat(parts, ignore_index=True), config.mql.capacity)


def _features(
    data: LeadData,
    rows: pd.DataFrame,
    served: ServedModel,
    threads: int,
    keys: pd.DataFrame | None,
) -> pd.DataFrame:
    with step("features"):
        return build_features(data, rows, served.spec, threads, keys)


def _chunks(rows: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(rows), size):
        yield rows.iloc[start : start + size].reset_index(drop=True)


def apply_capacity(scores: pd.DataFrame, capacity: int | None) -> pd.DataFrame:
    """With a capacity, the MQLs are the ``capacity`` most probable leads of the run."""
    if capacity is None:
        return scores
    order = np.argsort(-scores[schema.PROBABILITY].to_numpy(), kind="stable")
    chosen = np.zeros(len(scores), dtype=bool)
    chosen[order[:capacity]] = True
    return scores.assign(**{schema.IS_MQL: chosen})


def count_tiers(scores: pd.DataFrame, counts: dict[str, int] | None = None) -> dict[str, int]:
    """Leads per tier and MQLs (key :data:`MQL`) in ``scores``, added to ``counts``."""
    counts = dict(counts or {})
    for tier, n in scores[schema.TIER].value_counts().items():
        counts[str(tier)] = counts.get(str(tier), 0) + int(n)
    counts[MQL] = counts.get(MQL, 0) + int(scores[schema.IS_MQL].sum())
    return counts


MIN_UNSEEN_CLASS_ROWS = 10
"""Rows of each class needed to judge the champion on a part of the test window."""


def champion_bout(
    champion: ServedModel,
    challenger: ServedModel,
    window_fit: Any,
    data: LeadData,
    rows: pd.DataFrame,
    labels: np.ndarray,
    horizon_days: int,
    threads: int,
) -> Bout:
    """The champion against the challenger, like with like, on this run's test ``rows``.

    The champion served a model refit on every outcome known at its own as-of T1.  On the test
    rows at or after T1 it learned none of them, so there the challenger's test-window fit
    (``window_fit``, which never saw them either) meets it.  When those are too few (a champion
    younger than the horizon: daily retraining), served model meets served model on the rows whose
    outcomes both learned (``s + H <= T1``).  Only when both are too few, or the champion did not
    record T1, is it judged on the whole window against the window fit, which favours the
    champion when it learned some of those outcomes (a conservative gate).
    """
    champion_loss = partial(served_log_loss, champion, data, threads=threads)
    learned = _utc(champion.labels_until)
    if learned is not None:
        at = rows[schema.SNAPSHOT_AT]
        unseen = (at >= learned).to_numpy()
        if _both_classes(labels[unseen]):
            later, y = rows[unseen], labels[unseen]
            return Bout(
                _window_loss(window_fit, challenger, data, later, y, threads),
                champion_loss(later, y),
                f"on the {len(y):,} test rows from {learned:%Y-%m-%d} on, whose outcomes neither "
                "had learned",
            )
        known = (at + pd.Timedelta(days=horizon_days) <= learned).to_numpy()
        if _both_classes(labels[known]):
            earlier, y = rows[known], labels[known]
            return Bout(
                served_log_loss(challenger, data, earlier, y, threads),
                champion_loss(earlier, y),
                f"served against served on the {len(y):,} test rows whose outcomes both had "
                f"learned (the champion was trained as of {learned:%Y-%m-%d})",
            )
    return Bout(
        _window_loss(window_fit, challenger, data, rows, labels, threads),
        champion_loss(rows, labels),
        "on this window",
    )


def _utc(moment: pd.Timestamp | None) -> pd.Timestamp | None:
    if moment is None:
        return None
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _both_classes(y: np.ndarray) -> bool:
    return min(int(y.sum()), int(len(y) - y.sum())) >= MIN_UNSEEN_CLASS_ROWS


def _window_loss(
    model: Any,
    challenger: ServedModel,
    data: LeadData,
    rows: pd.DataFrame,
    labels: np.ndarray,
    threads: int,
) -> float:
    features = build_features(data, rows, challenger.spec, threads)
    return METRICS["log_loss"](labels, model.predict_proba(features)[:, 1])


def served_log_loss(
    served: ServedModel, data: LeadData, rows: pd.DataFrame, labels: np.ndarray, threads: int
) -> float:
    """The log loss of ``served`` on ``rows`` (``lead_id``, ``snapshot_at``) with ``labels``,
    its features built by its own spec."""
    features = build_features(data, rows, served.spec, threads)
    return METRICS["log_loss"](labels, served.probabilities(features))


def shared_rows_bout(
    rows: pd.DataFrame,
    labels: np.ndarray,
    predictions: np.ndarray,
    other_rows: pd.DataFrame,
    other_predictions: np.ndarray,
    other: str,
) -> Bout:
    """Two window fits on the test rows both hold (``lead_id``, ``snapshot_at``), neither having
    learned from them: this model's ``predictions`` of ``rows`` (the challenger) against the
    ``other`` model's ``other_predictions`` of ``other_rows`` (the champion of the bout)."""
    keys = [c for c in (schema.LEAD_ID, schema.SNAPSHOT_AT) if c in rows and c in other_rows]
    mine = rows[keys].assign(_mine=np.arange(len(rows)))
    theirs = other_rows[keys].assign(_theirs=np.arange(len(other_rows)))
    shared = mine.merge(theirs, on=keys, how="inner", validate="one_to_one")
    i, j = shared["_mine"].to_numpy(), shared["_theirs"].to_numpy()
    y = labels[i]
    conversions = int(y.sum())
    if conversions == 0 or conversions == len(y):
        basis = f"no test rows of both classes shared with {other}"
        return Bout(float("nan"), float("nan"), basis, conversions)
    return Bout(
        METRICS["log_loss"](y, predictions[i]),
        METRICS["log_loss"](y, other_predictions[j]),
        f"on the {len(y):,} test rows ({conversions:,} conversions) it shares with {other}",
        conversions,
    )


# ---- drift ---------------------------------------------------------------------------------------


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


def drifted(drift: dict[str, float], threshold: float) -> dict[str, float]:
    """The PSIs of ``drift`` above ``threshold``, rounded for people."""
    return {k: round(v, 3) for k, v in drift.items() if v > threshold}


# ---- what a batch did ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSummary:
    """One scoring run: what was scored with which model, where it went, and the drift."""

    as_of: pd.Timestamp | None
    model_version: str
    model_uri: str
    rows: int
    counts: dict[str, int]
    unseen_event_types: dict[str, int]
    output: str
    drift: dict[str, float]
    drift_warning: bool
    timing: dict[str, Any] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per segment (empty: the global model) the version that scored its leads, and how many."""

    def to_dict(self) -> dict[str, Any]:
        """The summary as ``--json`` prints it."""
        return {
            "as_of": self.as_of,
            "model_version": self.model_version,
            "model_uri": self.model_uri,
            "rows": self.rows,
            "counts": self.counts,
            "unseen_event_types": self.unseen_event_types,
            "output": self.output,
            "drift": self.drift,
            "drift_warning": self.drift_warning,
            "timing": self.timing,
            "models": self.models,
        }
