"""Checking one table: its check frame and rules run as one suite, the bad rows set aside."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import Config
from predictive_scoring.data.tables import RawTables
from predictive_scoring.data.validation.gx import _validate_frame
from predictive_scoring.data.validation.report import CheckResult, TableReport
from predictive_scoring.data.validation.rules import (
    RowRule,
    _Bounds,
    _event_rules,
    _key_frame,
    _key_rules,
    _known_rules,
    _lead_rules,
    _outcome_rules,
)


@dataclass(frozen=True)
class _Checked:
    frame: pd.DataFrame
    raw: pd.DataFrame
    bad: pd.Series
    report: TableReport
    quarantine: pd.DataFrame


def _check_leads(raw: RawTables, config: Config, bounds: _Bounds, require_labels: bool) -> _Checked:
    frame = _key_frame(raw.leads)
    rules = [*_key_rules(), *_lead_rules(frame, raw, config, bounds, require_labels)]
    return _run_rules(schema.LEADS, raw.leads, frame, rules)


def _check_child(
    table: pd.DataFrame | None,
    name: str,
    good_ids: set[str],
    raw_ids: set[str],
    bounds: _Bounds,
) -> _Checked | None:
    """Check ``events`` or ``outcomes`` (``None`` when the source has no such table)."""
    if table is None:
        return None
    frame = _key_frame(table)
    rules = [*_key_rules(), *_known_rules(frame, good_ids, raw_ids)]
    if name == schema.EVENTS:
        rules += _event_rules(frame, table, bounds)
    else:
        rules += _outcome_rules(frame, table, bounds)
    return _run_rules(name, table, frame, rules)


def _accepted_ids(checked: _Checked) -> set[str]:
    return set(checked.frame.loc[~checked.bad, schema.LEAD_ID])


def _run_rules(
    name: str, table: pd.DataFrame, frame: pd.DataFrame, rules: list[RowRule]
) -> _Checked:
    """Run ``rules`` on ``frame``; a row failing any of them is set aside with every reason."""
    results = _validate_frame(name, frame, rules)
    reasons = pd.Series("", index=frame.index, dtype="object")
    own = pd.Series(False, index=frame.index)
    checks: list[CheckResult] = []
    counts: dict[str, int] = {}
    shown: dict[str, list[str]] = {}
    for rule, unexpected in zip(rules, results, strict=True):
        rows = np.asarray(unexpected, dtype=np.int64)
        values = _shown_values(table, rule.shown, rows)
        checks.append(CheckResult(rule.kind, rule.shown, len(rows) == 0, len(rows), values))
        if len(rows):
            counts[rule.reason] = len(rows)
            shown[rule.reason] = values
            reasons.iloc[rows] = reasons.iloc[rows] + "; " + rule.reason
            if not rule.inherited:
                own.iloc[rows] = True
    bad = reasons != ""
    report = TableReport(
        name, len(table), int(bad.sum()), int((bad & ~own).sum()), counts, shown, checks
    )
    return _Checked(frame, table, bad, report, _quarantine(table, frame, reasons, bad))


def _quarantine(
    table: pd.DataFrame, frame: pd.DataFrame, reasons: pd.Series, bad: pd.Series
) -> pd.DataFrame:
    """The bad rows as read, after their row number (from 1) and their reasons."""
    quarantine = table.loc[bad.to_numpy()].copy()
    quarantine.insert(0, schema.QUARANTINE_REASON, reasons[bad].str.removeprefix("; ").to_numpy())
    quarantine.insert(0, schema.QUARANTINE_ROW, frame.index[bad.to_numpy()] + 1)
    return quarantine


def _shown_values(table: pd.DataFrame, column: str, rows: np.ndarray, limit: int = 3) -> list[str]:
    if column not in table.columns:
        return []
    return [str(v) for v in table[column].iloc[rows[:limit]]]
