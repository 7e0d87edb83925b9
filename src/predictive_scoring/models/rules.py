"""The points scorecard: lead scoring as marketing teams do it, derived from conversion rates.

Each attribute value earns points from its conversion rate relative to the overall rate
(``100 × (rate − overall)``, percentage points), with small groups shrunk toward the overall rate;
numeric attributes are cut into quantile bins first.  Each behaviour (a decayed event count, whose
half-life the training pipeline sets to about half the median time to conversion) earns
``100 × (rate − overall)`` points per decayed occurrence, up to ``behaviour_cap`` occurrences, where
``rate`` is the conversion rate of rows that show the behaviour.  So when demo requesters convert at
25 % and webinar attendees at 5 % over a 3 % base, a demo is worth 22 points and a webinar 2.

Points are rescaled to 0–100 over the training rows, and probabilities come from an isotonic
(monotone) map of the points, so the points order is kept.  :meth:`PointsScorecard.scorecard`
exports the readable table a marketing-automation tool can be configured from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
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
    shrunk_rate,
)

__all__ = ["POINTS", "POINTS_PER_LOG_ODDS", "PointsScorecard"]

POINTS = "points_baseline"
"""The scorecard's name among a run's models."""

ATTRIBUTE = "attribute"
BEHAVIOUR = "behaviour"
POINTS_PER_LOG_ODDS = 10.0
"""Points per unit of additive score: reasons show a 20-point attribute as an impact of +2, in
the range of the log-odds impacts the other models' reasons have."""


class PointsScorecard(BinaryTabularMixin, ClassifierMixin, BaseEstimator):
    """Points per attribute value and per behaviour, from shrunk conversion rates.

    Parameters
    ----------
    attributes : list of str or None
        Columns scored as attributes; ``None`` means every column not named in ``behaviours``.
    behaviours : dict of str to str or None
        Behaviour name (e.g. ``demo_request``) to the column holding its decayed count.
    shrinkage : float
        Pseudo-rows at the overall rate added to every group (small groups stay near average).
    bins : int
        Quantile bins for numeric attributes.
    behaviour_cap : float
        Decayed occurrences that earn points at most (diminishing returns).
    presence : float
        Decayed count from which a row is said to show a behaviour when its rate is measured.
    """

    def __init__(
        self,
        attributes: list[str] | None = None,
        behaviours: dict[str, str] | None = None,
        shrinkage: float = 50.0,
        bins: int = 5,
        behaviour_cap: float = 3.0,
        presence: float = 0.25,
    ) -> None:
        self.attributes = attributes
        self.behaviours = behaviours
        self.shrinkage = shrinkage
        self.bins = bins
        self.behaviour_cap = behaviour_cap
        self.presence = presence

    def fit(self, X: Any, y: Any) -> PointsScorecard:
        frame, y = frame_input(self, X, y, reset=True)
        self.classes_, target = binary_target(y)
        self.base_rate_ = float(target.mean())
        behaviours = dict(self.behaviours or {})
        attributes = self.attributes
        if attributes is None:
            attributes = [c for c in frame.columns if c not in set(behaviours.values())]
        self.edges_ = {
            c: quantile_edges(frame[c], self.bins) if is_numeric(frame[c]) else None
            for c in attributes
        }
        self.attribute_points_ = {c: self._value_points(frame[c], target, c) for c in attributes}
        self.behaviour_points_ = {
            name: self._behaviour_points(frame[column], target)
            for name, column in behaviours.items()
        }
        self.behaviour_columns_ = behaviours
        raw = self._raw_points(frame)
        self.points_range_ = (float(raw.min()), float(raw.max()))
        self.calibrator_ = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1)
        self.calibrator_.fit(self._scaled(raw), target)
        return self

    def _value_points(self, values: pd.Series, target: np.ndarray, column: str) -> pd.DataFrame:
        labels = discretise(values, self.edges_[column])
        grouped = pd.DataFrame({"value": labels, "y": target}).groupby("value", sort=True)["y"]
        support = grouped.size().to_numpy(dtype=float)
        conversions = grouped.sum().to_numpy(dtype=float)
        rate = shrunk_rate(conversions, support, self.base_rate_, self.shrinkage)
        table = pd.DataFrame(
            {
                "support": support,
                "conversion_rate": conversions / support,
                "points": 100 * (rate - self.base_rate_),
            },
            index=grouped.size().index,
        )
        return table

    def _behaviour_points(self, counts: pd.Series, target: np.ndarray) -> dict[str, float]:
        shown = pd.to_numeric(counts, errors="coerce").fillna(0).to_numpy() >= self.presence
        support = float(shown.sum())
        conversions = float(target[shown].sum())
        rate = shrunk_rate(
            np.array(conversions), np.array(support), self.base_rate_, self.shrinkage
        )
        return {
            "support": support,
            "conversion_rate": conversions / support if support else float("nan"),
            "points": float(100 * (rate - self.base_rate_)),
        }

    def _raw_points(self, frame: pd.DataFrame) -> np.ndarray:
        total = np.zeros(len(frame))
        for column, table in self.attribute_points_.items():
            labels = discretise(frame[column], self.edges_[column])
            total += labels.map(table["points"]).fillna(0.0).to_numpy(dtype=float)
        for name, column in self.behaviour_columns_.items():
            counts = pd.to_numeric(frame[column], errors="coerce").fillna(0).to_numpy(dtype=float)
            total += self.behaviour_points_[name]["points"] * np.minimum(counts, self.behaviour_cap)
        return total

    def _scaled(self, raw: np.ndarray) -> np.ndarray:
        low, high = self.points_range_
        span = high - low if high > low else 1.0
        scaled: np.ndarray = np.clip(100 * (raw - low) / span, 0, 100)
        return scaled

    def points(self, X: Any) -> np.ndarray:
        """Each row's points on the 0–100 scale of the training rows."""
        check_is_fitted(self)
        frame, _ = frame_input(self, X, reset=False)
        return self._scaled(self._raw_points(frame))

    def additive_score(self, X: Any, reference: pd.DataFrame | None = None) -> Contributions:
        """The points of each attribute and behaviour against the ``reference`` row, in units of
        :data:`POINTS_PER_LOG_ODDS` points, and the reference row's points as the base."""
        check_is_fitted(self)
        frame, _ = frame_input(self, X, reset=False)
        return swapped_contributions(
            lambda rows: self.points(rows) / POINTS_PER_LOG_ODDS,
            frame,
            reference_row_for(reference, frame),
        )

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        positive = np.asarray(self.calibrator_.predict(self.points(X)), dtype=float)
        return np.column_stack([1 - positive, positive])

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)[:, 1]
        predicted: np.ndarray = self.classes_[(proba > 0.5).astype(int)]
        return predicted

    def scorecard(self) -> pd.DataFrame:
        """The readable table: kind, attribute, value, points, support, conversion rate."""
        check_is_fitted(self)
        rows = [
            {
                "kind": ATTRIBUTE,
                "attribute": column,
                "value": str(value),
                **table.loc[value].to_dict(),
            }
            for column, table in self.attribute_points_.items()
            for value in table.index
        ]
        rows += [
            {"kind": BEHAVIOUR, "attribute": name, "value": "per decayed occurrence", **points}
            for name, points in self.behaviour_points_.items()
        ]
        table = pd.DataFrame(
            rows, columns=["kind", "attribute", "value", "points", "support", "conversion_rate"]
        )
        return table.round({"points": 2, "conversion_rate": 4})
