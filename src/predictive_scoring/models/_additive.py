"""Private helpers for the one method every shipped estimator has, ``additive_score``.

``additive_score(X, reference)`` returns ``(contributions, base)``: the model's score (log-odds, or
a points total on a log-odds-like scale) split into one contribution per column of ``X`` and a
base per row, so that ``base + contributions.sum(axis=1)`` is the score and the probability is a
monotone map of it.  Trees give exact TreeSHAP values; additive models give, per column, the
change in score when that column is set to the ``reference`` row's value, which is exact for them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = [
    "PROBABILITY_CLIP",
    "Contributions",
    "log_odds",
    "reference_row_for",
    "swapped_contributions",
]

PROBABILITY_CLIP = 1e-9

Contributions = tuple[np.ndarray, np.ndarray]
"""Per-column contributions (rows × columns) and the base per row."""


def log_odds(probability: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))`` with ``p`` clipped away from 0 and 1."""
    p = np.clip(np.asarray(probability, dtype=float), PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
    odds: np.ndarray = np.log(p / (1 - p))
    return odds


def swapped_contributions(
    score: Callable[[pd.DataFrame], np.ndarray], X: pd.DataFrame, reference: pd.DataFrame
) -> Contributions:
    """For an additive ``score``: each column's effect against ``reference`` (one row).

    ``base`` is the reference row's score, so base + contributions = the row's score.
    """
    base_row = reference.iloc[[0] * len(X)].set_axis(X.index)
    base = score(base_row)
    contributions = np.empty((len(X), X.shape[1]))
    for j, column in enumerate(X.columns):
        swapped = base_row.copy()
        swapped[column] = X[column]
        contributions[:, j] = score(swapped) - base
    return contributions, base


def reference_row_for(reference: pd.DataFrame | None, X: pd.DataFrame) -> pd.DataFrame:
    """The reference row, required by additive models (trees need none)."""
    if reference is None:
        raise ValueError("an additive model's contributions are measured from a reference row")
    return reference[list(X.columns)]
