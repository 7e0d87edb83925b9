"""The served model learns from all the history it may see.

Windows choose the candidate and report honest figures; the model that is then served is the
chosen candidate's :class:`Recipe` (the same estimator, structure and hyper-parameters, boosting
rounds scaled with the rows) fitted on every labelled row, so recent months, new segments and old,
stale leads all shape it.  It is calibrated on out-of-fold predictions
(:class:`~predictive_scoring.models.calibration.CrossFittedCalibration`), so it never calibrates
on rows it learned from:

* time-ordered folds (:func:`~predictive_scoring.models.windows.time_folds`): each copy learns
  from the snapshots whose labels were known before the block it predicts;
* a funnel too young for them (fewer than two blocks with both classes to learn from and to
  predict): folds of held-out leads, every lead's rows in one fold;
* a flat export: stratified folds over its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import StratifiedGroupKFold

from predictive_scoring import schema
from predictive_scoring.models.calibration import CrossFittedCalibration
from predictive_scoring.models.on_columns import OnColumns
from predictive_scoring.models.windows import time_folds

__all__ = [
    "CROSS_FIT_FOLDS",
    "MIN_TIME_FOLDS",
    "Recipe",
    "Refit",
    "ServingFolds",
    "refit_on_all",
    "serving_folds",
]

CROSS_FIT_FOLDS = 5
"""Folds of a flat export's (and a young funnel's) out-of-fold calibration."""

MIN_TIME_FOLDS = 2
"""Time-ordered folds with both classes needed to calibrate on them.  With one, the only copy
is fitted on the earliest snapshots of a young funnel, far more timid than the refit on all of
them, and nothing later tells whether a map learned from it helps (Olist as of 2018-03-01, H 30:
an isotonic map on one such fold made the served model's ECE 0.039 against its window fit's
0.010); then folds of held-out leads, whose copies each learn from most of the history."""

Folds = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Recipe:
    """How a candidate is made: its unfitted estimator, the columns it reads, and whether its
    boosting rounds grow with the rows it is fitted on."""

    estimator: Any
    columns: list[str] | None
    scale_rounds: bool = False


@dataclass(frozen=True)
class Refit:
    """The served model and how it was made (for the model card and MLflow)."""

    model: OnColumns
    facts: dict[str, Any]


@dataclass(frozen=True)
class ServingFolds:
    """The folds the served model is calibrated on, whether they are in time order, and what
    they are in words."""

    folds: int | Folds
    time_ordered: bool
    described: str


def serving_folds(
    rows: pd.DataFrame,
    y: np.ndarray,
    horizon_days: int,
    blocks: int,
    flat: bool,
    seed: int,
) -> ServingFolds:
    """The folds the served model is calibrated on."""
    if flat:
        return ServingFolds(
            CROSS_FIT_FOLDS, False, f"{CROSS_FIT_FOLDS} stratified folds of the export's rows"
        )
    folds = time_folds(rows[schema.SNAPSHOT_AT], y, horizon_days, blocks)
    if len(folds) >= MIN_TIME_FOLDS:
        return ServingFolds(
            folds,
            True,
            (
                f"{len(folds)} time-ordered folds: each predicted block by a model of the snapshots "
                "labelled before it"
            ),
        )
    grouped = StratifiedGroupKFold(CROSS_FIT_FOLDS, shuffle=True, random_state=seed)
    held_out = list(grouped.split(np.zeros(len(y)), y, groups=rows[schema.LEAD_ID].to_numpy()))
    return ServingFolds(
        held_out,
        False,
        (
            f"{CROSS_FIT_FOLDS} folds of held-out leads (the funnel is too young for {MIN_TIME_FOLDS} "
            "time-ordered folds with both classes)"
        ),
    )


def refit_on_all(
    recipe: Recipe,
    X: pd.DataFrame,
    y: np.ndarray,
    folds: ServingFolds,
    method: str,
    seed: int,
) -> Refit:
    """``recipe`` fitted on every row of ``X``, calibrated on out-of-fold predictions."""
    selected = X if recipe.columns is None else X[recipe.columns]
    calibrated = CrossFittedCalibration(
        recipe.estimator, cv=folds.folds, method=method, scale_rounds=recipe.scale_rounds,
        random_state=seed, time_ordered=folds.time_ordered,
    ).fit(selected, y)  # fmt: skip
    model = OnColumns(FrozenEstimator(calibrated), recipe.columns).fit(X, y)
    rounds = recipe.estimator.get_params().get("n_estimators") if recipe.scale_rounds else None
    facts = {
        "rows": len(y),
        "positives": int(np.sum(y)),
        "rounds": rounds,
        "trees": calibrated.trees(),
        "calibration": calibrated.method_,
        "calibration_rows": calibrated.calibration_rows_,
        "folds": calibrated.folds_,
        "calibrated_on": folds.described,
    }
    return Refit(model, facts)
