"""Validation with Great Expectations, and quarantine of bad rows.

Two kinds of failure (CONTRACT section 3):

* *unusable input* (a missing table or required column, no leads, no timestamp that parses,
  unlabeled training data) raises :class:`~predictive_scoring.errors.DataError` before anything is
  written;
* *bad rows* (a duplicate event, an event for an unknown lead, an unparseable or out-of-range
  timestamp, a negative size, ...) are set aside with their reason and the run goes on, unless a
  table's share of bad rows exceeds ``validation.max_bad_row_share``.

Each table gets one expectation suite, run on the table's *check frame*.  The modules:
``unusable`` (the input checks that raise), ``rules`` (check frames and row rules), ``gx`` (the
Great Expectations adapter), ``check`` (one table's suite run and its bad rows set aside),
``report`` (what was found) and ``clean`` (typed tables from the accepted rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import Config
from predictive_scoring.data.tables import LeadData, RawTables
from predictive_scoring.data.validation.check import _accepted_ids, _check_child, _check_leads
from predictive_scoring.data.validation.clean import _lead_data, type_fit_columns
from predictive_scoring.data.validation.report import (
    CheckResult,
    TableReport,
    ValidationReport,
    too_many_bad_rows,
)
from predictive_scoring.data.validation.rules import (
    ACCEPTED,
    FIRST,
    KNOWN,
    LABEL_FALSE,
    LABEL_TRUE,
    PARSED_OK,
    RowRule,
    _bounds,
    normalise_label,
)
from predictive_scoring.data.validation.unusable import _require_columns, _require_labels

__all__ = [
    "ACCEPTED",
    "FIRST",
    "KNOWN",
    "LABEL_FALSE",
    "LABEL_TRUE",
    "PARSED_OK",
    "CheckResult",
    "RowRule",
    "TableReport",
    "Validated",
    "ValidationReport",
    "normalise_label",
    "too_many_bad_rows",
    "type_fit_columns",
    "validate_tables",
]


@dataclass(frozen=True)
class Validated:
    """Validation's product: clean typed data, the report, and the bad rows per table."""

    data: LeadData
    report: ValidationReport
    quarantine: dict[str, pd.DataFrame]


def validate_tables(
    raw: RawTables, config: Config, *, require_labels: bool = False, now: pd.Timestamp | None = None
) -> Validated:
    """Validate ``raw``, set bad rows aside and return typed, PII-free tables.

    Parameters
    ----------
    raw : RawTables
        The tables as read.
    config : Config
        Reads ``validation``, ``data`` (PII columns, missing markers) and
        ``reports.display_columns``.
    require_labels : bool, default False
        Training: a missing label is a bad row, and data without any label is unusable.
    now : pandas.Timestamp, optional
        The present, beyond which (plus ``validation.future_tolerance_days``) a timestamp is bad;
        the current time when omitted.

    Returns
    -------
    Validated
        The accepted rows as typed tables, the report, and the bad rows of each table.

    Raises
    ------
    DataError
        When the input is unusable (nothing is written then).
    """
    bounds = _bounds(config, now if now is not None else pd.Timestamp.now(tz="UTC"))
    _require_columns(raw, require_labels)
    leads = _check_leads(raw, config, bounds, require_labels)
    good_ids = _accepted_ids(leads)
    raw_ids = set(leads.frame[schema.LEAD_ID].dropna())
    events = _check_child(raw.events, schema.EVENTS, good_ids, raw_ids, bounds)
    outcomes = _check_child(raw.outcomes, schema.OUTCOMES, good_ids, raw_ids, bounds)
    data = _lead_data(leads, events, outcomes, raw.flat, config)
    if require_labels:
        _require_labels(data)
    checked = [c for c in (leads, events, outcomes) if c is not None]
    report = ValidationReport(
        source=raw.origin,
        flat=raw.flat,
        tables={c.report.table: c.report for c in checked},
        max_bad_row_share=config.validation.max_bad_row_share,
    )
    quarantine = {c.report.table: c.quarantine for c in checked if len(c.quarantine)}
    return Validated(data=data, report=report, quarantine=quarantine)
