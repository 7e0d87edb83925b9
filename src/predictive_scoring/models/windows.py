"""Honest comparison: the train, calibration and test windows every candidate is measured on.

Time-stamped data is split by snapshot time, never by row: the latest ``test_share`` of snapshot
times test; the latest ``calibration_share`` of the times whose label horizon ends before the test
window calibrate (and stop LightGBM early); every time whose horizon ends before the calibration
window trains.  Snapshots whose label horizon reaches into a later window are dropped (purged), so
no window learns from outcomes that happen during the next one.  Flat data uses a stratified split with a fixed seed.

Which candidate is served, and when it becomes champion, is :mod:`predictive_scoring.models.policy`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from predictive_scoring import schema
from predictive_scoring.config import ModelsConfig
from predictive_scoring.errors import DataError
from predictive_scoring.timeline import DAY_US, to_micros

__all__ = [
    "HELD_OUT_LEADS",
    "MIN_CONVERSIONS",
    "MIN_SNAPSHOTS",
    "STRATIFIED_ROWS",
    "TIME_WINDOWS",
    "Windows",
    "comparison_windows",
    "held_out_lead_windows",
    "require_both_classes",
    "stratified_windows",
    "time_folds",
    "time_windows",
]

log = logging.getLogger(__name__)

MIN_SNAPSHOTS = 3


@dataclass(frozen=True)
class Windows:
    """Boolean row masks of the three windows, and their time bounds (``None`` in flat mode)."""

    train: np.ndarray
    calibrate: np.ndarray
    test: np.ndarray
    bounds: dict[str, tuple[str, str]] | None = None

    def sizes(self) -> dict[str, int]:
        return {
            "train": int(self.train.sum()),
            "calibrate": int(self.calibrate.sum()),
            "test": int(self.test.sum()),
        }


def time_windows(
    snapshot_at: pd.Series,
    horizon_days: int,
    calibration_share: float,
    test_share: float,
    grid: pd.Series | None = None,
) -> Windows:
    """Split rows by snapshot time: earliest train, then calibrate, latest test; purge overlaps.

    The shares count the distinct times in ``grid`` (default: ``snapshot_at``), the snapshot grid;
    rows at other times (entry snapshots) fall into the window their time lies in.
    """
    times = np.sort((snapshot_at if grid is None else grid).unique())
    if len(times) < MIN_SNAPSHOTS:
        raise DataError(
            f"the history gives {len(times)} training snapshot(s); at least {MIN_SNAPSHOTS} are "
            "needed to train, calibrate and test on separate time windows (lower "
            "features.snapshot_every_days or labels.horizon_days, or use a later --as-of)"
        )
    horizon = pd.Timedelta(days=horizon_days)
    n_test = max(1, round(test_share * len(times)))
    n_calibrate = max(1, round(calibration_share * len(times)))
    test_start = pd.Timestamp(times[-n_test])
    before_test = [t for t in times if pd.Timestamp(t) + horizon <= test_start]
    calibrate_start = pd.Timestamp(before_test[-n_calibrate]) if before_test else test_start
    train = snapshot_at + horizon <= calibrate_start
    calibrate = (snapshot_at >= calibrate_start) & (snapshot_at + horizon <= test_start)
    test = snapshot_at >= test_start
    windows = Windows(
        train.to_numpy(),
        calibrate.to_numpy(),
        test.to_numpy(),
        _bounds(snapshot_at, train, calibrate, test),
    )
    _require_rows(windows)
    return windows


def _bounds(snapshot_at: pd.Series, *masks: pd.Series) -> dict[str, tuple[str, str]]:
    names = ("train", "calibrate", "test")
    return {
        name: (str(snapshot_at[mask].min()), str(snapshot_at[mask].max()))
        for name, mask in zip(names, masks, strict=True)
        if mask.any()
    }


def stratified_windows(
    y: np.ndarray, calibration_share: float, test_share: float, seed: int
) -> Windows:
    """Flat data: a stratified test split, then a stratified calibration split of the rest."""
    index = np.arange(len(y))
    rest, test = train_test_split(index, test_size=test_share, stratify=y, random_state=seed)
    train, calibrate = train_test_split(
        rest, test_size=calibration_share, stratify=y[rest], random_state=seed
    )
    windows = Windows(np.isin(index, train), np.isin(index, calibrate), np.isin(index, test))
    _require_rows(windows)
    return windows


def _require_rows(windows: Windows) -> None:
    for name, size in windows.sizes().items():
        if size == 0:
            raise DataError(
                f"the {name} window holds no rows; the history is too short to compare models honestly"
            )


def require_both_classes(windows: Windows, y: np.ndarray) -> None:
    """Every window needs converted and unconverted rows to train, calibrate or be measured on."""
    for name in ("train", "calibrate", "test"):
        labels = y[getattr(windows, name)]
        if labels.min() == labels.max():
            bounds = windows.bounds.get(name) if windows.bounds else None
            span = f" ({bounds[0]} to {bounds[1]})" if bounds else ""
            kind = "conversions" if labels.max() == 0 else "unconverted rows"
            raise DataError(
                f"outcomes.converted_at: the {name} window{span} has no {kind} within the "
                f"horizon, so models cannot be compared honestly; use a later --as-of, a longer "
                f"--horizon-days or more history"
            )


def held_out_lead_windows(
    lead_ids: pd.Series, y: np.ndarray, calibration_share: float, test_share: float, seed: int
) -> Windows:
    """Windows of different leads over the same period, for a funnel too young for later
    windows: each lead's rows all fall in one window, leads drawn stratified by whether they
    ever convert.  Honest about leads (none is seen twice), not about time (no later period)."""
    ever = pd.Series(y, index=lead_ids.to_numpy()).groupby(level=0).max()
    try:
        rest, test = train_test_split(
            ever.index.to_numpy(), test_size=test_share, stratify=ever, random_state=seed
        )
        train, calibrate = train_test_split(
            rest, test_size=calibration_share, stratify=ever[rest], random_state=seed
        )
    except ValueError as exc:
        raise DataError(
            f"too few converted leads to hold some out for calibration and testing ({exc})"
        ) from None
    in_train, in_calibrate, in_test = (
        lead_ids.isin(p).to_numpy() for p in (train, calibrate, test)
    )
    windows = Windows(in_train, in_calibrate, in_test)
    _require_rows(windows)
    return windows


def time_folds(
    snapshot_at: pd.Series, y: np.ndarray, horizon_days: int, blocks: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Time-ordered folds over the labelled rows, for out-of-fold predictions.

    The rows are cut into ``blocks`` runs of snapshot times holding about equal numbers of rows;
    each block after the first is predicted by a model fitted on the rows whose labels were
    known by the block's start (``s + H <= start``).  Folds whose fitting rows or predicted rows
    lack a class are left out (the early blocks of a young funnel).
    """
    times = to_micros(snapshot_at)
    starts = _block_starts(np.sort(times), blocks)
    horizon = horizon_days * DAY_US
    folds = []
    for i, start in enumerate(starts):
        predict = times >= start
        if i + 1 < len(starts):
            predict &= times < starts[i + 1]
        rows, fit = np.flatnonzero(predict), np.flatnonzero(times + horizon <= start)
        if _both_classes(y, fit) and _both_classes(y, rows):
            folds.append((fit, rows))
    return folds


def _block_starts(ordered: np.ndarray, blocks: int) -> list[int]:
    """The first time of each block after the first: cuts at equal shares of the rows."""
    cuts = {
        ordered[min(len(ordered) - 1, round(k * len(ordered) / blocks))] for k in range(1, blocks)
    }
    return sorted(t for t in cuts if t > ordered[0])


def _both_classes(y: np.ndarray, rows: np.ndarray) -> bool:
    return len(rows) > 0 and 0 < y[rows].sum() < len(rows)


# ---- the comparison's windows for a training set ---------------------------------------------------


TIME_WINDOWS = "later time windows"
HELD_OUT_LEADS = "held-out leads"
STRATIFIED_ROWS = "a stratified split of the export's rows"


def comparison_windows(
    rows: pd.DataFrame, y: np.ndarray, models: ModelsConfig, horizon_days: int
) -> tuple[Windows, dict[str, str]]:
    """The windows candidates are compared on, and how they were cut (with the reason when a
    funnel too young for later windows is split by lead instead)."""
    if rows[schema.SNAPSHOT_AT].isna().all():
        windows = stratified_windows(y, models.calibration_share, models.test_share, models.seed)
        return windows, {"plan": STRATIFIED_ROWS}
    _require_labels_of_both_classes(rows, y, horizon_days)
    try:
        return _time_windows(rows, y, models, horizon_days), {"plan": TIME_WINDOWS}
    except DataError as strict:
        log.warning(
            "%s; the candidates are compared on %s of the same period instead (no later window "
            "is possible yet, so the figures say how the models rank other leads, not the future)",
            strict,
            HELD_OUT_LEADS,
        )
        windows = held_out_lead_windows(
            rows[schema.LEAD_ID], y, models.calibration_share, models.test_share, models.seed
        )
        windows = _grid_rows_test(windows, rows)
        require_both_classes(windows, y)
        return windows, {"plan": HELD_OUT_LEADS, "why": str(strict)}


MIN_CONVERSIONS = 3
"""Converted leads (and unconverted ones) labelled before T - H below which nothing can be
trained or checked."""


def _require_labels_of_both_classes(rows: pd.DataFrame, y: np.ndarray, horizon_days: int) -> None:
    ever = pd.Series(y, index=rows[schema.LEAD_ID].to_numpy()).groupby(level=0).max()
    positives, negatives = int(ever.sum()), int(len(ever) - ever.sum())
    if min(positives, negatives) < MIN_CONVERSIONS:
        kind = "conversions" if positives < MIN_CONVERSIONS else "unconverted leads"
        raise DataError(
            f"outcomes.converted_at: only {min(positives, negatives)} {kind} are labelled before "
            f"T - H (H = {horizon_days} days); at least {MIN_CONVERSIONS} are needed to train and "
            "check a model; use a later --as-of, a shorter --horizon-days or more history"
        )


def _time_windows(
    rows: pd.DataFrame, y: np.ndarray, models: ModelsConfig, horizon_days: int
) -> Windows:
    entry = rows[schema.ENTRY].to_numpy(dtype=bool) if schema.ENTRY in rows else None
    windows = time_windows(
        rows[schema.SNAPSHOT_AT],
        horizon_days,
        models.calibration_share,
        models.test_share,
        rows.loc[~entry, schema.SNAPSHOT_AT] if entry is not None and (~entry).any() else None,
    )
    windows = _grid_rows_test(windows, rows)
    require_both_classes(windows, y)
    return windows


def _grid_rows_test(windows: Windows, rows: pd.DataFrame) -> Windows:
    """Entry rows help train and calibrate; the test window is the open population at its
    snapshot times, the population a batch scores (new leads: benchmarks' forward test)."""
    if schema.ENTRY not in rows:
        return windows
    return replace(windows, test=windows.test & ~rows[schema.ENTRY].to_numpy(dtype=bool))
