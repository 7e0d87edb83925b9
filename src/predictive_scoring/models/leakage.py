"""Leakage audit: source columns that know the answer.

Run on the training rows before any model is fitted.  A column is flagged when, on its own, it
predicts the label almost perfectly (ROC-AUC of its per-value conversion rate, or of its numeric
value, at or above ``auc_threshold``), when one of its values may convert at ``value_rate`` or
more over at least ``value_min_support`` rows (the upper one-sided 95 % Wilson bound of its rate
reaches ``value_rate``: 603 conversions out of 637 is not ruled out as a 95 % tell) and that value
covers at least ``value_min_share`` of the rows (a strong but small segment, such as a partner
channel sending pre-qualified leads, is not a leak), or when it is filled in for converted rows and almost
never for the others.  Such columns are typically written after the outcome (a sales rep's tag, a
deal's fields).  Flagged columns are left out unless ``models.leakage.allow`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from predictive_scoring.config import LeakageConfig
from predictive_scoring.models._tabular import MISSING, is_numeric

__all__ = [
    "PRESENT_IN_NEGATIVES",
    "PRESENT_IN_POSITIVES",
    "WILSON_Z",
    "LeakageFinding",
    "audit_leakage",
    "single_column_auc",
    "wilson_upper",
]

PRESENT_IN_POSITIVES = 0.5
PRESENT_IN_NEGATIVES = 0.02
WILSON_Z = 1.645


@dataclass(frozen=True)
class LeakageFinding:
    """Why one column was flagged."""

    column: str
    auc: float
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {
            "column": self.column,
            "single_column_auc": round(self.auc, 4),
            "reason": self.reason,
        }


def single_column_auc(values: pd.Series, y: np.ndarray) -> float:
    """How well the column alone ranks the label (0.5 = not at all, 1 = perfectly)."""
    if y.min() == y.max():
        return 0.5
    if is_numeric(values):
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        filled = np.where(
            np.isnan(numbers), np.nanmin(numbers) - 1 if np.isfinite(numbers).any() else 0, numbers
        )
        auc = float(roc_auc_score(y, filled))
        return max(auc, 1 - auc)
    labels = values.astype("string").fillna(MISSING)
    rates = pd.Series(y, index=values.index).groupby(labels).transform("mean")
    return float(roc_auc_score(y, rates.to_numpy(dtype=float)))


def wilson_upper(rate: np.ndarray, n: np.ndarray, z: float = WILSON_Z) -> np.ndarray:
    """Upper bound of the Wilson score interval for a proportion."""
    z2 = z * z
    centre = (rate + z2 / (2 * n)) / (1 + z2 / n)
    half = z * np.sqrt(rate * (1 - rate) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    bound: np.ndarray = centre + half
    return bound


def _telling_value(values: pd.Series, y: np.ndarray, config: LeakageConfig) -> str | None:
    labels = values.astype("string").fillna(MISSING) if not is_numeric(values) else None
    if labels is None:
        return None
    stats = pd.Series(y, index=values.index).groupby(labels).agg(["mean", "size"])
    upper = wilson_upper(stats["mean"].to_numpy(), stats["size"].to_numpy())
    support = max(config.value_min_support, config.value_min_share * len(values))
    telling = stats[(upper >= config.value_rate) & (stats["size"] >= support)]
    telling = telling.sort_values("mean", ascending=False)
    if telling.empty:
        return None
    value = str(telling.index[0])
    row = telling.iloc[0]
    return f"value {value!r} converts {row['mean']:.1%} over {int(row['size'])} rows"


def _only_for_converted(values: pd.Series, y: np.ndarray) -> str | None:
    present = values.notna().to_numpy()
    positives, negatives = present[y == 1].mean(), present[y == 0].mean()
    if positives >= PRESENT_IN_POSITIVES and negatives <= PRESENT_IN_NEGATIVES:
        return f"filled for {positives:.0%} of converted rows but {negatives:.1%} of the others"
    return None


def audit_leakage(
    frame: pd.DataFrame, y: np.ndarray, config: LeakageConfig
) -> list[LeakageFinding]:
    """Check every column of ``frame`` (source columns, one row per training row)."""
    findings = []
    for column in frame.columns:
        values = frame[column]
        auc = single_column_auc(values, y)
        reasons = [
            f"alone it reaches ROC-AUC {auc:.3f}" if auc >= config.auc_threshold else None,
            _telling_value(values, y, config),
            _only_for_converted(values, y),
        ]
        found = [r for r in reasons if r]
        if found:
            findings.append(LeakageFinding(str(column), auc, "; ".join(found)))
    return findings
