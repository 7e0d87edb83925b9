"""Time windows: shares count grid times; rows at other times fall where their time lies."""

from __future__ import annotations

import pandas as pd

from predictive_scoring.models.windows import time_windows


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
