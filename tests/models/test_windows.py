"""Windows: later time windows (shares count grid times; rows at other times fall where their
time lies), and windows of held-out leads for a funnel too young for them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictive_scoring.errors import DataError
from predictive_scoring.models.windows import held_out_lead_windows, time_windows


def test_windows_count_grid_times_and_place_entry_rows_by_their_time() -> None:
    start = pd.Timestamp("2024-01-01", tz="UTC")
    grid = pd.Series([start + pd.Timedelta(days=7 * k) for k in range(20)])
    entry = pd.Series([start + pd.Timedelta(days=d) for d in range(1, 140, 3) if d % 7])
    snapshot_at = pd.concat([grid, entry], ignore_index=True)
    windows = time_windows(snapshot_at, 7, 0.2, 0.2, grid)
    alone = time_windows(grid, 7, 0.2, 0.2)
    n = len(grid)
    for name in ("train", "calibrate", "test"):
        mask = getattr(windows, name)
        assert (mask[:n] == getattr(alone, name)).all(), "grid rows split as without entry rows"
    test_start = grid[16]
    assert (windows.test[n:] == (entry >= test_start).to_numpy()).all()
    horizon = pd.Timedelta(days=7)
    calibrate_start = grid[windows.calibrate[:n]].min()
    assert (windows.train[n:] == (entry + horizon <= calibrate_start).to_numpy()).all()
    purged = ~(windows.train | windows.calibrate | windows.test)
    assert purged[n:].any(), "entry rows whose horizon reaches the next window are dropped"


def test_held_out_lead_windows_keep_each_lead_in_one_window_and_both_classes_in_each() -> None:
    leads = pd.Series([f"L{i // 3}" for i in range(3000)])  # three rows a lead
    y = np.zeros(3000, dtype=int)
    y[(np.arange(3000) // 3) % 10 == 0] = 1  # one lead in ten converts, at every snapshot
    windows = held_out_lead_windows(leads, y, 0.2, 0.2, seed=0)
    masks = [windows.train, windows.calibrate, windows.test]
    assert (np.sum(masks, axis=0) == 1).all(), "every row in exactly one window"
    for mask in masks:
        assert 0 < y[mask].mean() < 1
        assert not set(leads[mask]) & set(leads[~mask]), "a lead is never split"
    assert windows.sizes()["test"] == pytest.approx(600, abs=30)
    again = held_out_lead_windows(leads, y, 0.2, 0.2, seed=0)
    assert (again.test == windows.test).all()


def test_too_few_converted_leads_to_hold_out_is_unusable_input() -> None:
    leads = pd.Series([f"L{i}" for i in range(100)])
    y = np.zeros(100, dtype=int)
    y[0] = 1
    with pytest.raises(DataError, match="too few converted leads"):
        held_out_lead_windows(leads, y, 0.2, 0.2, seed=0)
