"""Validation with Great Expectations, and quarantine of bad rows.

Two kinds of failure (CONTRACT section 3):

* *unusable input* (a missing table or required column, no leads, no timestamp that parses,
  unlabeled training data) raises :class:`~predictive_scoring.errors.DataError` before anything is
  written;
* *bad rows* (a duplicate event, an event for an unknown lead, an unparseable or out-of-range
  timestamp, a negative size, ...) are set aside with their reason and the run goes on, unless a
  table's share of bad rows exceeds ``validation.max_bad_row_share``.

Each table gets one expectation suite.  The suites run on a *check frame*: the table's key columns
parsed (timestamps to UTC, numbers to floats) plus a few derived flags (``lead_id_known``,
``first_of_key``), so every row rule is a plain Great Expectations expectation whose unexpected
rows are exactly the rows to quarantine.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import Config
from predictive_scoring.data.privacy import strip_personal_data
from predictive_scoring.data.tables import LeadData, RawTables, parse_timestamps
from predictive_scoring.errors import DataError, examples

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


@dataclass
class CheckResult:
    """The summary of one expectation's result (never the raw values of a PII column)."""

    expectation: str
    column: str
    success: bool
    unexpected: int
    examples: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation,
            "column": self.column,
            "success": self.success,
            "unexpected_count": self.unexpected,
            "examples": self.examples,
        }


@dataclass
class TableReport:
    """What validation found in one table."""

    table: str
    rows: int
    quarantined: int = 0
    inherited: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    quarantine_path: str | None = None

    @property
    def bad_share(self) -> float:
        """Share of rows with a defect of their own (rows of a set-aside lead do not count)."""
        return (self.quarantined - self.inherited) / self.rows if self.rows else 0.0

    def describe(self, reason: str) -> str:
        """``reason`` with a few offending values, e.g. ``negative company_size (e.g. '-5')``."""
        shown = self.examples.get(reason)
        return f"{reason} (e.g. {examples(shown)})" if shown else reason

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "rows": self.rows,
            "accepted": self.rows - self.quarantined,
            "quarantined": self.quarantined,
            "of_quarantined_leads": self.inherited,
            "bad_share": round(self.bad_share, 6),
            "reasons": self.reasons,
            "examples": self.examples,
            "quarantine_path": self.quarantine_path,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass
class ValidationReport:
    """Validation results for a source: a JSON-able document other steps attach to MLflow."""

    source: str
    flat: bool
    tables: dict[str, TableReport]
    max_bad_row_share: float

    @property
    def quarantined(self) -> int:
        return sum(t.quarantined for t in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "mode": "flat" if self.flat else "timed",
            "max_bad_row_share": self.max_bad_row_share,
            "quarantined": self.quarantined,
            "tables": {name: t.to_dict() for name, t in self.tables.items()},
        }

    def render(self) -> str:
        """A short human-readable summary."""
        mode = "flat CRM export" if self.flat else "leads with timestamps"
        lines = [f"Validated {self.source} ({mode})"]
        for t in self.tables.values():
            lines.append(
                f"  {t.table:<9} {t.rows:>10,} rows  {t.rows - t.quarantined:>10,} accepted  "
                f"{t.quarantined:>8,} quarantined ({t.bad_share:.1%})"
            )
            lines.extend(f"      {n:>8,}  {t.describe(reason)}" for reason, n in t.reasons.items())
            if t.quarantine_path:
                lines.append(f"      bad rows with reasons: {t.quarantine_path}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Validated:
    """Validation's product: clean typed data, the report, and the bad rows per table."""

    data: LeadData
    report: ValidationReport
    quarantine: dict[str, pd.DataFrame]


# ---- entry point -------------------------------------------------------------------------------


def validate_tables(
    raw: RawTables, config: Config, *, require_labels: bool = False, now: pd.Timestamp | None = None
) -> Validated:
    """Validate ``raw``, set bad rows aside and return typed, PII-free tables.

    Raises
    ------
    DataError
        When the input is unusable (nothing is written then).
    """
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    bounds = _bounds(config, now)
    _require_columns(raw)
    leads_checked = _check_leads(raw, config, bounds, require_labels)
    good_ids = _accepted_ids(leads_checked)
    raw_ids = set(leads_checked.frame[schema.LEAD_ID].dropna())
    events_checked = _check_child(raw.events, schema.EVENTS, good_ids, raw_ids, bounds)
    outcomes_checked = _check_child(raw.outcomes, schema.OUTCOMES, good_ids, raw_ids, bounds)
    checked = [c for c in (leads_checked, events_checked, outcomes_checked) if c is not None]
    data = LeadData(
        leads=_clean_leads(leads_checked, config),
        events=_clean_events(events_checked),
        outcomes=_clean_outcomes(outcomes_checked),
        flat=raw.flat,
        display=_display(leads_checked, config),
    )
    if require_labels:
        _require_labels(data)
    report = ValidationReport(
        source=raw.origin,
        flat=raw.flat,
        tables={c.report.table: c.report for c in checked},
        max_bad_row_share=config.validation.max_bad_row_share,
    )
    quarantine = {c.report.table: c.quarantine for c in checked if len(c.quarantine)}
    return Validated(data=data, report=report, quarantine=quarantine)


def too_many_bad_rows(report: ValidationReport) -> DataError | None:
    """The error to raise when a table's share of bad rows is above the limit, else ``None``."""
    over = [t for t in report.tables.values() if t.bad_share > report.max_bad_row_share]
    if not over:
        return None
    from predictive_scoring.errors import TooManyBadRowsError

    parts = []
    for t in over:
        reasons = ", ".join(f"{n:,} {t.describe(r)}" for r, n in t.reasons.items())
        where = f"; see {t.quarantine_path}" if t.quarantine_path else ""
        parts.append(
            f"{t.table}: {t.quarantined - t.inherited:,} of {t.rows:,} rows "
            f"({t.bad_share:.1%}) are bad, above the {report.max_bad_row_share:.1%} limit (validation.max_bad_row_share): "
            f"{reasons}{where}"
        )
    return TooManyBadRowsError("\n".join(parts))


# ---- unusable input ----------------------------------------------------------------------------


def _require_columns(raw: RawTables) -> None:
    leads_contract = schema.FLAT_LEADS_CONTRACT if raw.flat else schema.LEADS_CONTRACT
    contracts: list[tuple[pd.DataFrame | None, schema.TableContract]] = [
        (raw.leads, leads_contract)
    ]
    contracts += [
        (raw.table(name), schema.CONTRACTS[name]) for name in (schema.EVENTS, schema.OUTCOMES)
    ]
    for frame, contract in contracts:
        if frame is None:
            continue
        missing = [c for c in contract.required if c not in frame.columns]
        if missing:
            hint = _flat_hint(raw, contract)
            raise DataError(
                f"{contract.name}: required column {missing[0]!r} is missing "
                f"(columns present: {examples(list(frame.columns), limit=8)}){hint}"
            )
    if len(raw.leads) == 0:
        raise DataError(f"{schema.LEADS}: the table has no rows; there is nothing to score")


def _flat_hint(raw: RawTables, contract: schema.TableContract) -> str:
    if contract.name == schema.LEADS and schema.CONVERTED not in raw.leads.columns:
        return (
            f"; a flat CRM export needs a {schema.CONVERTED!r} label column instead of "
            f"{schema.CREATED_AT!r}"
        )
    return ""


def _require_parseable(table: str, column: str, raw: pd.Series, parsed: pd.Series) -> None:
    if len(raw) and raw.notna().any() and parsed.isna().all():
        offenders = raw.dropna().unique()[:3]
        raise DataError(
            f"{table}.{column}: no value could be parsed as an ISO 8601 timestamp "
            f"(e.g. {examples(offenders)})"
        )


def _require_labels(data: LeadData) -> None:
    if data.flat:
        labels = data.leads[schema.CONVERTED].dropna()
        if labels.nunique() < 2:
            raise DataError(
                f"{schema.LEADS}.{schema.CONVERTED}: training needs both converted and "
                f"unconverted leads (values found: {examples(sorted(labels.unique()))})"
            )
        return
    if data.outcomes[schema.CONVERTED_AT].notna().sum() == 0:
        raise DataError(
            f"{schema.OUTCOMES}.{schema.CONVERTED_AT}: training needs labels, but no lead has a "
            "conversion time (the outcomes table is missing or holds no converted_at values)"
        )


# ---- check frames and rules --------------------------------------------------------------------


@dataclass(frozen=True)
class _Checked:
    frame: pd.DataFrame
    raw: pd.DataFrame
    bad: pd.Series
    report: TableReport
    quarantine: pd.DataFrame


@dataclass(frozen=True)
class _Bounds:
    earliest: pd.Timestamp
    latest: pd.Timestamp


def _bounds(config: Config, now: pd.Timestamp) -> _Bounds:
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


def _timestamp_rules(column: str, bounds: _Bounds, required: bool) -> list[RowRule]:
    import great_expectations.expectations as gxe

    shown = column
    ok = PARSED_OK.format(column)
    rules = [
        RowRule(
            "missing" if required else "unparseable",
            ok,
            shown,
            f"{column} missing or not a timestamp" if required else f"{column} is not a timestamp",
            lambda c: gxe.ExpectColumnValuesToBeInSet(column=c, value_set=[True]),
        ),
        RowRule(
            "out_of_range",
            column,
            shown,
            f"{column} before {bounds.earliest.date()} or in the future",
            lambda c: gxe.ExpectColumnValuesToBeBetween(
                column=c, min_value=bounds.earliest.isoformat(), max_value=bounds.latest.isoformat()
            ),
        ),
    ]
    return rules


def _add_timestamp(frame: pd.DataFrame, raw: pd.Series, column: str, required: bool) -> None:
    parsed = parse_timestamps(raw)
    frame[column] = parsed
    frame[PARSED_OK.format(column)] = parsed.notna() | (raw.isna() & (not required))


def _key_rules() -> list[RowRule]:
    import great_expectations.expectations as gxe

    return [
        RowRule(
            "missing_id",
            schema.LEAD_ID,
            schema.LEAD_ID,
            "lead_id is empty",
            lambda c: gxe.ExpectColumnValuesToNotBeNull(column=c),
        )
    ]


def _in_set_rule(kind: str, column: str, shown: str, reason: str, allowed: list[Any]) -> RowRule:
    import great_expectations.expectations as gxe

    return RowRule(
        kind,
        column,
        shown,
        reason,
        lambda c: gxe.ExpectColumnValuesToBeInSet(column=c, value_set=allowed),
    )


def _check_leads(raw: RawTables, config: Config, bounds: _Bounds, require_labels: bool) -> _Checked:
    import great_expectations.expectations as gxe

    table = raw.leads
    frame = pd.DataFrame({schema.LEAD_ID: _key(table[schema.LEAD_ID])}, index=_positions(table))
    rules = _key_rules()
    if not raw.flat:
        _add_timestamp(frame, table[schema.CREATED_AT], schema.CREATED_AT, required=True)
        _require_parseable(
            schema.LEADS, schema.CREATED_AT, table[schema.CREATED_AT], frame[schema.CREATED_AT]
        )
        rules += _timestamp_rules(schema.CREATED_AT, bounds, required=True)
    frame[FIRST] = ~frame[schema.LEAD_ID].duplicated() | frame[schema.LEAD_ID].isna()
    rules.append(
        _in_set_rule("repeat", FIRST, schema.LEAD_ID, "repeated lead_id (first row kept)", [True])
    )
    for column in _present(config.validation.non_negative_columns, table):
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
    if raw.flat:
        frame[schema.CONVERTED] = normalise_label(table[schema.CONVERTED])
        frame["label_ok"] = frame[schema.CONVERTED].notna() | (
            table[schema.CONVERTED].isna() & (not require_labels)
        )
        reason = "converted label missing or not 0/1, true/false, yes/no"
        rules.append(_in_set_rule("label", "label_ok", schema.CONVERTED, reason, [True]))
    return _run_rules(schema.LEADS, table, frame, rules)


def _check_child(
    table: pd.DataFrame | None,
    name: str,
    good_ids: set[str],
    raw_ids: set[str],
    bounds: _Bounds,
) -> _Checked | None:
    if table is None:
        return None
    frame = pd.DataFrame({schema.LEAD_ID: _key(table[schema.LEAD_ID])}, index=_positions(table))
    rules = _key_rules()
    rules += _known_rules(frame, good_ids, raw_ids)
    if name == schema.EVENTS:
        rules += _event_rules(frame, table, bounds)
    else:
        rules += _outcome_rules(frame, table, bounds)
    return _run_rules(name, table, frame, rules)


def _known_rules(frame: pd.DataFrame, good_ids: set[str], raw_ids: set[str]) -> list[RowRule]:
    ids = frame[schema.LEAD_ID]
    frame[KNOWN] = ids.isin(raw_ids) | ids.isna()
    frame[ACCEPTED] = ids.isin(good_ids) | ~frame[KNOWN] | ids.isna()
    return [
        _in_set_rule("unknown_lead", KNOWN, schema.LEAD_ID, "unknown lead_id", [True]),
        replace(
            _in_set_rule(
                "lead_quarantined", ACCEPTED, schema.LEAD_ID, "its lead was quarantined", [True]
            ),
            inherited=True,
        ),
    ]


def _event_rules(frame: pd.DataFrame, table: pd.DataFrame, bounds: _Bounds) -> list[RowRule]:
    import great_expectations.expectations as gxe

    _add_timestamp(frame, table[schema.OCCURRED_AT], schema.OCCURRED_AT, required=True)
    _require_parseable(
        schema.EVENTS, schema.OCCURRED_AT, table[schema.OCCURRED_AT], frame[schema.OCCURRED_AT]
    )
    frame[schema.EVENT_TYPE] = _key(table[schema.EVENT_TYPE]).str.lower()
    key = [schema.LEAD_ID, schema.OCCURRED_AT, schema.EVENT_TYPE]
    frame[FIRST] = ~frame.duplicated(subset=key) | frame[key].isna().any(axis=1)
    return [
        *_timestamp_rules(schema.OCCURRED_AT, bounds, required=True),
        RowRule(
            "missing_type",
            schema.EVENT_TYPE,
            schema.EVENT_TYPE,
            "event_type is empty",
            lambda c: gxe.ExpectColumnValuesToNotBeNull(column=c),
        ),
        _in_set_rule("repeat", FIRST, schema.LEAD_ID, "duplicate event (first row kept)", [True]),
    ]


def _outcome_rules(frame: pd.DataFrame, table: pd.DataFrame, bounds: _Bounds) -> list[RowRule]:
    rules: list[RowRule] = []
    for column in (schema.CONVERTED_AT, schema.CLOSED_AT):
        raw = table[column] if column in table.columns else pd.Series(pd.NA, index=table.index)
        _add_timestamp(frame, raw, column, required=False)
        rules += _timestamp_rules(column, bounds, required=False)
    status = table.get(schema.STATUS)
    frame[schema.STATUS] = (
        _key(status).str.lower() if status is not None else pd.Series(pd.NA, index=frame.index)
    )
    lost = frame[schema.STATUS] == schema.STATUS_LOST
    frame["lost_has_close"] = ~(lost.fillna(False) & frame[schema.CLOSED_AT].isna())
    rules.append(
        _in_set_rule(
            "lost_open", "lost_has_close", schema.STATUS, "status lost without closed_at", [True]
        )
    )
    frame[FIRST] = ~frame[schema.LEAD_ID].duplicated() | frame[schema.LEAD_ID].isna()
    rules.append(
        _in_set_rule(
            "repeat", FIRST, schema.LEAD_ID, "second outcome for a lead (first row kept)", [True]
        )
    )
    return rules


def _positions(table: pd.DataFrame) -> pd.RangeIndex:
    return pd.RangeIndex(len(table))


def _present(columns: list[str], table: pd.DataFrame) -> list[str]:
    return [c for c in columns if c in table.columns]


def normalise_label(values: pd.Series) -> pd.Series:
    """Map 0/1, true/false, yes/no (any case) to 0/1; anything else becomes missing."""
    text = values.astype("string").str.strip().str.lower()
    label = pd.Series(pd.NA, index=values.index, dtype="Int8")
    label[text.isin(LABEL_TRUE).fillna(False).to_numpy()] = 1
    label[text.isin(LABEL_FALSE).fillna(False).to_numpy()] = 0
    return label


# ---- running the suite -------------------------------------------------------------------------


def _run_rules(
    name: str, table: pd.DataFrame, frame: pd.DataFrame, rules: list[RowRule]
) -> _Checked:
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
    quarantine = table.loc[bad.to_numpy()].copy()
    quarantine.insert(0, schema.QUARANTINE_REASON, reasons[bad].str.removeprefix("; ").to_numpy())
    quarantine.insert(0, schema.QUARANTINE_ROW, frame.index[bad.to_numpy()] + 1)
    report = TableReport(
        name, len(table), int(bad.sum()), int((bad & ~own).sum()), counts, shown, checks
    )
    return _Checked(frame, table, bad, report, quarantine)


def _shown_values(table: pd.DataFrame, column: str, rows: np.ndarray, limit: int = 3) -> list[str]:
    if column not in table.columns:
        return []
    return [str(v) for v in table[column].iloc[rows[:limit]]]


def _validate_frame(name: str, frame: pd.DataFrame, rules: list[RowRule]) -> list[list[int]]:
    """Run one suite over ``frame``; return the unexpected row positions per rule, in order."""
    import great_expectations as gx

    context, batch_definition = _context()
    suite = gx.ExpectationSuite(name=f"{name}-{len(context.suites.all())}")
    expectations = [rule.build(rule.column) for rule in rules]
    for expectation in expectations:
        suite.add_expectation(expectation)
    suite = context.suites.add(suite)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    with _quiet():
        result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    by_id = {r.expectation_config.id: r for r in result.results}
    found = []
    for expectation in expectations:
        outcome = by_id[expectation.id]
        if outcome.exception_info and outcome.exception_info.get("raised_exception"):
            raise RuntimeError(f"expectation failed to run: {outcome.exception_info}")
        found.append(list(outcome.result.get("unexpected_index_list") or []))
    return found


@cache
def _context() -> tuple[Any, Any]:
    """One ephemeral context per process, and the batch definition every suite runs on."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    with _quiet():
        context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("predictive-scoring").add_dataframe_asset("table")
    return context, asset.add_batch_definition_whole_dataframe("whole")


@contextmanager
def _quiet() -> Iterator[None]:
    logger = logging.getLogger("great_expectations")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


# ---- clean tables ------------------------------------------------------------------------------


def _accepted_ids(checked: _Checked) -> set[str]:
    return set(checked.frame.loc[~checked.bad, schema.LEAD_ID])


def _display(checked: _Checked, config: Config) -> pd.DataFrame:
    """``lead_id`` and the display columns present in the source, as text (never PII)."""
    pii = {c.strip().lower() for c in config.data.pii_columns}
    wanted = [c.strip().lower() for c in config.reports.display_columns]
    columns = [c for c in wanted if c in checked.raw.columns and c not in pii]
    keep = ~checked.bad.to_numpy()
    shown = checked.raw.loc[keep, columns].astype("string").reset_index(drop=True)
    ids = checked.frame.loc[keep, [schema.LEAD_ID]].reset_index(drop=True)
    return pd.concat([ids, shown], axis=1)


def _clean_leads(checked: _Checked, config: Config) -> pd.DataFrame:
    keep = ~checked.bad.to_numpy()
    # The label column is never a fit attribute, not even in timed mode where it would leak.
    reserved = [schema.LEAD_ID, schema.CREATED_AT, schema.CONVERTED]
    leads = checked.raw.loc[keep].drop(columns=[c for c in reserved if c in checked.raw.columns])
    leads = leads.reset_index(drop=True)
    contract = [c for c in (schema.CREATED_AT, schema.CONVERTED) if c in checked.frame.columns]
    leads = strip_personal_data(leads, config.data)
    leads = type_fit_columns(leads, config.data.missing_markers)
    front = checked.frame.loc[keep, [schema.LEAD_ID, *contract]].reset_index(drop=True)
    return pd.concat([front, leads], axis=1)


def type_fit_columns(leads: pd.DataFrame, missing_markers: list[str]) -> pd.DataFrame:
    """Numbers stay numbers; text that is all numbers becomes numbers; other text is categorical
    text with the configured missing markers (e.g. ``Select``) read as missing."""
    typed = {column: _typed(leads[column], missing_markers) for column in leads.columns}
    return pd.DataFrame(typed, index=leads.index)


def _typed(values: pd.Series, missing_markers: list[str]) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("string")
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype("float64")
    text = values.astype("string").str.strip()
    text = text.mask(text.isin(missing_markers))
    numbers = pd.to_numeric(text, errors="coerce")
    if text.notna().any() and numbers.notna().sum() == text.notna().sum():
        return numbers.astype("float64")
    return text


def _clean_events(checked: _Checked | None) -> pd.DataFrame:
    columns = [schema.LEAD_ID, schema.OCCURRED_AT, schema.EVENT_TYPE]
    if checked is None:
        return pd.DataFrame(
            {
                schema.LEAD_ID: pd.Series(dtype="string"),
                schema.OCCURRED_AT: pd.Series(dtype="datetime64[ns, UTC]"),
                schema.EVENT_TYPE: pd.Series(dtype="string"),
            }
        )
    events = checked.frame.loc[~checked.bad, columns]
    return events.sort_values([schema.OCCURRED_AT, schema.LEAD_ID], kind="stable").reset_index(
        drop=True
    )


def _clean_outcomes(checked: _Checked | None) -> pd.DataFrame:
    if checked is None:
        return pd.DataFrame(
            {
                schema.LEAD_ID: pd.Series(dtype="string"),
                schema.CONVERTED_AT: pd.Series(dtype="datetime64[ns, UTC]"),
                schema.CLOSED_AT: pd.Series(dtype="datetime64[ns, UTC]"),
            }
        )
    frame = checked.frame.loc[~checked.bad]
    # A closed row counts as lost when it says so, or says nothing and never converted.
    lost = (frame[schema.STATUS] == schema.STATUS_LOST).fillna(False) | (
        frame[schema.STATUS].isna() & frame[schema.CONVERTED_AT].isna()
    )
    closed = frame[schema.CLOSED_AT].where(lost & frame[schema.CONVERTED_AT].isna())
    return pd.DataFrame(
        {
            schema.LEAD_ID: frame[schema.LEAD_ID],
            schema.CONVERTED_AT: frame[schema.CONVERTED_AT],
            schema.CLOSED_AT: closed,
        }
    ).reset_index(drop=True)
