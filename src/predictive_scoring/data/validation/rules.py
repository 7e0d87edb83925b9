"""The row rules of each table, and the check frame they run on.

A check frame holds a table's key columns parsed (timestamps to UTC, numbers to floats) plus a few
derived flags (``lead_id_known``, ``first_of_key``), so every row rule is a plain Great Expectations
expectation whose unexpected rows are exactly the rows to quarantine.  Each builder adds the
columns its rules read to the frame and returns the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import Config
from predictive_scoring.data.arrow import among
from predictive_scoring.data.tables import RawTables, parse_timestamps
from predictive_scoring.data.validation.unusable import _require_parseable

__all__ = [
    "ACCEPTED",
    "FIRST",
    "KNOWN",
    "LABEL_FALSE",
    "LABEL_TRUE",
    "PARSED_OK",
    "RowRule",
    "normalise_label",
]

KNOWN = "lead_id_known"
ACCEPTED = "lead_accepted"
FIRST = "first_of_key"
PARSED_OK = "{}_parsed"
LABEL_TRUE = frozenset({"1", "1.0", "true", "t", "yes", "y"})
LABEL_FALSE = frozenset({"0", "0.0", "false", "f", "no", "n"})


@dataclass(frozen=True)
class RowRule:
    """One expectation on a check-frame column, and what a failing row means to a person."""

    kind: str
    column: str
    shown: str
    reason: str
    build: Callable[[str], Any]
    inherited: bool = False
    """True when the row is bad only because its lead was set aside (not counted in the share)."""


@dataclass(frozen=True)
class _Bounds:
    earliest: pd.Timestamp
    latest: pd.Timestamp


def _bounds(config: Config, now: pd.Timestamp) -> _Bounds:
    """The range a timestamp must lie in: from ``validation.earliest`` to a little after ``now``."""
    earliest = pd.Timestamp(config.validation.earliest, tz="UTC")
    latest = now + pd.Timedelta(days=config.validation.future_tolerance_days)
    return _Bounds(earliest, latest)


def _key(values: pd.Series) -> pd.Series:
    """Identifiers as trimmed text; empty is missing.  ``12.0`` read as a float becomes ``12``."""
    if pd.api.types.is_float_dtype(values.dtype):
        whole = values.notna() & (values == values.round())
        values = values.astype("object").where(~whole, values.astype("Int64").astype("object"))
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def _key_frame(table: pd.DataFrame) -> pd.DataFrame:
    """A check frame holding the table's ``lead_id``, indexed by row position."""
    return pd.DataFrame(
        {schema.LEAD_ID: _key(table[schema.LEAD_ID])}, index=pd.RangeIndex(len(table))
    )


def normalise_label(values: pd.Series) -> pd.Series:
    """Map 0/1, true/false, yes/no (any case) to 0/1; anything else becomes missing.

    Parameters
    ----------
    values : pandas.Series
        Labels as read, of any dtype.

    Returns
    -------
    pandas.Series
        ``Int8`` labels with the index of ``values``.
    """
    text = values.astype("string").str.strip().str.lower()
    label = pd.Series(pd.NA, index=values.index, dtype="Int8")
    label[text.isin(LABEL_TRUE).fillna(False).to_numpy()] = 1
    label[text.isin(LABEL_FALSE).fillna(False).to_numpy()] = 0
    return label


# ---- rule shapes -------------------------------------------------------------------------------


def _in_set_rule(kind: str, column: str, shown: str, reason: str, allowed: list[Any]) -> RowRule:
    import great_expectations.expectations as gxe

    return RowRule(
        kind,
        column,
        shown,
        reason,
        lambda c: gxe.ExpectColumnValuesToBeInSet(column=c, value_set=allowed),
    )


def _not_null_rule(kind: str, column: str, reason: str) -> RowRule:
    import great_expectations.expectations as gxe

    return RowRule(
        kind, column, column, reason, lambda c: gxe.ExpectColumnValuesToNotBeNull(column=c)
    )


def _key_rules() -> list[RowRule]:
    return [_not_null_rule("missing_id", schema.LEAD_ID, "lead_id is empty")]


def _repeat_rule(frame: pd.DataFrame, key: list[str], reason: str) -> RowRule:
    """Flag all but the first row of each ``key`` (a row missing part of its key is no repeat)."""
    frame[FIRST] = ~frame.duplicated(subset=key) | frame[key].isna().any(axis=1)
    return _in_set_rule("repeat", FIRST, schema.LEAD_ID, reason, [True])


def _timestamp_rules(column: str, bounds: _Bounds, required: bool) -> list[RowRule]:
    import great_expectations.expectations as gxe

    return [
        RowRule(
            "missing" if required else "unparseable",
            PARSED_OK.format(column),
            column,
            f"{column} missing or not a timestamp" if required else f"{column} is not a timestamp",
            lambda c: gxe.ExpectColumnValuesToBeInSet(column=c, value_set=[True]),
        ),
        RowRule(
            "out_of_range",
            column,
            column,
            f"{column} before {bounds.earliest.date()} or in the future",
            lambda c: gxe.ExpectColumnValuesToBeBetween(
                column=c, min_value=bounds.earliest.isoformat(), max_value=bounds.latest.isoformat()
            ),
        ),
    ]


def _add_timestamp(frame: pd.DataFrame, raw: pd.Series, column: str, required: bool) -> None:
    parsed = parse_timestamps(raw)
    frame[column] = parsed
    frame[PARSED_OK.format(column)] = parsed.notna() | (raw.isna() & (not required))


def _required_time_rules(
    frame: pd.DataFrame, table: pd.DataFrame, name: str, column: str, bounds: _Bounds
) -> list[RowRule]:
    """Parse ``column``, which every row needs; the input is unusable when no value parses."""
    _add_timestamp(frame, table[column], column, required=True)
    _require_parseable(name, column, table[column], frame[column])
    return _timestamp_rules(column, bounds, required=True)


# ---- the rules of each table ---------------------------------------------------------------------


def _lead_rules(
    frame: pd.DataFrame, raw: RawTables, config: Config, bounds: _Bounds, require_labels: bool
) -> list[RowRule]:
    """Creation time (timed mode), one row per lead, non-negative sizes, the label (flat mode)."""
    table = raw.leads
    rules: list[RowRule] = []
    if not raw.flat:
        rules += _required_time_rules(frame, table, schema.LEADS, schema.CREATED_AT, bounds)
    rules.append(_repeat_rule(frame, [schema.LEAD_ID], "repeated lead_id (first row kept)"))
    rules += _negative_rules(frame, table, config)
    if raw.flat and require_labels:  # scoring ignores a flat export's label, whatever it holds
        rules.append(_label_rule(frame, table))
    return rules


def _negative_rules(frame: pd.DataFrame, table: pd.DataFrame, config: Config) -> list[RowRule]:
    import great_expectations.expectations as gxe

    rules: list[RowRule] = []
    for column in [c for c in config.validation.non_negative_columns if c in table.columns]:
        frame[column] = pd.to_numeric(table[column], errors="coerce")
        rules.append(
            RowRule(
                "negative",
                column,
                column,
                f"negative {column}",
                lambda c: gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0),
            )
        )
    return rules


def _label_rule(frame: pd.DataFrame, table: pd.DataFrame) -> RowRule:
    """A flat export trained on needs a label that reads as 0/1 on every row."""
    frame[schema.CONVERTED] = normalise_label(table[schema.CONVERTED])
    frame["label_ok"] = frame[schema.CONVERTED].notna()
    reason = "converted label missing or not 0/1, true/false, yes/no"
    return _in_set_rule("label", "label_ok", schema.CONVERTED, reason, [True])


def _known_rules(frame: pd.DataFrame, good_ids: set[str], raw_ids: set[str]) -> list[RowRule]:
    """A child row needs a lead that exists, and is set aside with its lead when that is bad."""
    ids = frame[schema.LEAD_ID]
    frame[KNOWN] = _among(ids, raw_ids) | ids.isna()
    frame[ACCEPTED] = _among(ids, good_ids) | ~frame[KNOWN] | ids.isna()
    return [
        _in_set_rule("unknown_lead", KNOWN, schema.LEAD_ID, "unknown lead_id", [True]),
        replace(
            _in_set_rule(
                "lead_quarantined", ACCEPTED, schema.LEAD_ID, "its lead was quarantined", [True]
            ),
            inherited=True,
        ),
    ]


def _among(ids: pd.Series, values: set[str]) -> pd.Series:
    """``ids.isin(values)`` (missing ids: ``False``), hashed by Arrow."""
    return pd.Series(among(ids, values), index=ids.index)


def _event_rules(frame: pd.DataFrame, table: pd.DataFrame, bounds: _Bounds) -> list[RowRule]:
    """Occurrence time, a type, and one row per (lead, time, type)."""
    rules = _required_time_rules(frame, table, schema.EVENTS, schema.OCCURRED_AT, bounds)
    frame[schema.EVENT_TYPE] = _key(table[schema.EVENT_TYPE]).str.lower()
    key = [schema.LEAD_ID, schema.OCCURRED_AT, schema.EVENT_TYPE]
    return [
        *rules,
        _not_null_rule("missing_type", schema.EVENT_TYPE, "event_type is empty"),
        _repeat_rule(frame, key, "duplicate event (first row kept)"),
    ]


def _outcome_rules(frame: pd.DataFrame, table: pd.DataFrame, bounds: _Bounds) -> list[RowRule]:
    """Optional conversion and close times, a close time when lost, one outcome per lead."""
    rules: list[RowRule] = []
    for column in (schema.CONVERTED_AT, schema.CLOSED_AT):
        raw = table[column] if column in table.columns else pd.Series(pd.NA, index=table.index)
        _add_timestamp(frame, raw, column, required=False)
        rules += _timestamp_rules(column, bounds, required=False)
    rules.append(_lost_rule(frame, table))
    reason = "second outcome for a lead (first row kept)"
    rules.append(_repeat_rule(frame, [schema.LEAD_ID], reason))
    return rules


def _lost_rule(frame: pd.DataFrame, table: pd.DataFrame) -> RowRule:
    """A lead closed lost must say when it was closed."""
    status = table.get(schema.STATUS)
    frame[schema.STATUS] = (
        _key(status).str.lower() if status is not None else pd.Series(pd.NA, index=frame.index)
    )
    lost = frame[schema.STATUS] == schema.STATUS_LOST
    frame["lost_has_close"] = ~(lost.fillna(False) & frame[schema.CLOSED_AT].isna())
    reason = "status lost without closed_at"
    return _in_set_rule("lost_open", "lost_has_close", schema.STATUS, reason, [True])
