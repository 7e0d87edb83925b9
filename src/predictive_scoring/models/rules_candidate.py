"""A rules file as a candidate of a training run (CONTRACT section 7): ``rules:<name>``.

Its points at each snapshot row's own time, mapped to probabilities by a monotone fit on the
calibration window, compared on the test window like every candidate (never served).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import FeaturesConfig
from predictive_scoring.data.arrow import among
from predictive_scoring.models.points_rules import RulesFile, rule_points, with_derived

__all__ = ["CANDIDATE_ROWS", "RulesCandidate", "rules_candidate"]

CANDIDATE_ROWS = 100_000
"""Snapshot rows whose points are computed at a time when a rules file is a candidate: each row
meets every event of its lead, so memory grows with the rows times their leads' events."""


@dataclass(frozen=True)
class RulesCandidate:
    """A rules file as a candidate (``rules:<name>``): its points on the calibration and test
    rows, probabilities from a monotone map of the points fitted on the calibration window, and
    those probabilities on the test window."""

    rules: RulesFile
    calibration_points: np.ndarray
    test_points: np.ndarray
    mapping: Any
    test_probabilities: np.ndarray

    @property
    def name(self) -> str:
        return self.rules.model_version


def rules_candidate(
    rules: RulesFile,
    leads: pd.DataFrame,
    events: pd.DataFrame,
    rows: tuple[pd.DataFrame, pd.DataFrame],
    calibration_labels: np.ndarray,
    features: FeaturesConfig | None = None,
) -> RulesCandidate:
    """``rules`` on the calibration and test ``rows`` (``lead_id``, ``snapshot_at``: each row
    at its own time; a flat export's rows have none), mapped to probabilities by an isotonic fit
    on the calibration window (more points never means a lower probability)."""
    from sklearn.isotonic import IsotonicRegression

    attributes = leads.drop_duplicates(schema.LEAD_ID).set_index(schema.LEAD_ID, drop=False)
    attributes = with_derived(attributes, rules, features)
    points = []
    for part in rows:
        totals = []
        for start in range(0, len(part), CANDIDATE_ROWS):  # memory: rows x their lead's events
            chunk = part.iloc[start : start + CANDIDATE_ROWS]
            at = chunk[schema.SNAPSHOT_AT]
            aligned = attributes.loc[chunk[schema.LEAD_ID].to_numpy()].reset_index(drop=True)
            times = None if at.isna().all() else at.reset_index(drop=True)
            # the chunk's leads' events only: the rest would be prepared and merged for nothing
            theirs = events[among(events[schema.LEAD_ID], chunk[schema.LEAD_ID].unique())]
            totals.append(rule_points(rules, aligned, theirs, times).total)
        points.append(np.concatenate(totals) if totals else np.zeros(0))
    mapping = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True)
    mapping.fit(points[0], calibration_labels)
    probabilities = np.clip(mapping.predict(points[1]), 1e-6, 1 - 1e-6)
    return RulesCandidate(rules, points[0], points[1], mapping, probabilities)
