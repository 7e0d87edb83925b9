"""The leakage audit flags columns that know the answer, and leaves strong honest ones alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictive_scoring.config import load_config
from predictive_scoring.models.leakage import audit_leakage, single_column_auc, wilson_upper

CONFIG = load_config().models.leakage  # AUC 0.95; a value at 95 % over >= 50 rows and 3 %


def _labels(n: int = 2000, rate: float = 0.1, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).uniform(size=n) < rate).astype(int)


def test_single_column_auc_of_numbers_either_direction_and_of_categories() -> None:
    y = np.array([0, 0, 1, 1])
    assert single_column_auc(pd.Series([1.0, 2.0, 3.0, 4.0]), y) == 1.0
    assert single_column_auc(pd.Series([4.0, 3.0, 2.0, 1.0]), y) == 1.0, "direction does not matter"
    assert single_column_auc(pd.Series(["a", "a", "b", "b"]), y) == 1.0
    assert single_column_auc(pd.Series(["a", "b", "a", "b"]), y) == 0.5
    assert single_column_auc(pd.Series([1.0, 2.0, 3.0, 4.0]), np.zeros(4)) == 0.5


def test_wilson_upper_bound_by_hand() -> None:
    # 603 of 637 (94.7 %): the one-sided 95 % upper bound reaches 95.9 %
    assert wilson_upper(np.array(603 / 637), np.array(637.0)) == pytest.approx(0.9595, abs=1e-4)
    assert wilson_upper(np.array(0.5), np.array(1e6)) == pytest.approx(0.5008, abs=1e-4)


def test_a_column_written_after_the_outcome_is_flagged_on_every_rule() -> None:
    y = _labels()
    stage = pd.Series(np.where(y == 1, "closed won", None), dtype="object")
    (finding,) = audit_leakage(pd.DataFrame({"deal_stage": stage}), y, CONFIG)
    assert finding.column == "deal_stage" and finding.auc == 1.0
    assert "alone it reaches ROC-AUC 1.000" in finding.reason
    assert "value 'closed won' converts 100.0%" in finding.reason
    assert "filled for 100% of converted rows but 0.0% of the others" in finding.reason


def test_honest_strong_columns_and_small_strong_segments_are_kept() -> None:
    y = _labels()
    rng = np.random.default_rng(1)
    industry = np.where(
        y == 1, rng.choice(["a", "b"], len(y), p=[0.8, 0.2]), rng.choice(["a", "b"], len(y))
    )
    partner = np.where(np.arange(len(y)) < 40, "partner", "web")  # 2 % of rows, all converting
    y = y.copy()
    y[:40] = 1
    frame = pd.DataFrame({"industry": industry, "source": partner, "size": rng.normal(size=len(y))})
    assert audit_leakage(frame, y, CONFIG) == []
