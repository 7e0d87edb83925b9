"""Your own points rules (CONTRACT section 7): the points system marketing already runs.

A rules file (YAML) gives points per lead attribute (``equals`` a value or a list, or
``other_than`` them, case, trimming and runs of white space ignored; ``between`` ``[lo, hi)``;
``missing: true``), per behaviour occurrence before T (optionally only within the last
``within_days``, decayed with ``half_life_days``, at most the most recent ``max_times``, the
rule's total held within ``limit``), for inactivity (at least one event, none in the last
``after_days``), and ``base_points`` for every lead.  Attributes may be derived ones
(:func:`with_derived`: the title's seniority and function, a column's band).  :func:`read_rules`
checks the file (exit 2 naming the rule and key); :func:`rule_points` applies it at T, one column
of points per rule, so the points, the sub-totals and the reasons all come from one matrix.
Nothing at or after T ever counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from predictive_scoring import schema
from predictive_scoring.config import FeaturesConfig
from predictive_scoring.data.arrow import positions_in
from predictive_scoring.errors import ConfigError, UsageError
from predictive_scoring.features import fit

__all__ = [
    "DERIVED",
    "AttributeRule",
    "BehaviourRule",
    "Inactivity",
    "RulePoints",
    "RulesFile",
    "check_rules",
    "read_rules",
    "rule_points",
    "with_derived",
]

Scalar = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Number = Annotated[float, Strict()]
"""A finite number written as one (``10``, ``2.5``; not ``"10"``, ``.nan`` or ``.inf``)."""


class AttributeRule(_Strict):
    """Points when the lead's ``column`` equals one of ``equals``, is none of ``other_than``
    (a value it holds), lies in ``between``, or has no value (``missing: true``)."""

    column: str = Field(min_length=1)
    equals: list[Scalar] | Scalar | None = None
    other_than: list[Scalar] | Scalar | None = None
    between: tuple[Number | None, Number | None] | None = None
    missing: bool | None = Field(default=None, strict=True)
    points: Number

    @field_validator("equals")
    @classmethod
    def _some_value(cls, equals: list[Scalar] | Scalar | None) -> list[Scalar] | Scalar | None:
        if isinstance(equals, list) and not equals:
            raise ValueError("an empty list matches nothing: give at least one value")
        return equals

    @field_validator("between")
    @classmethod
    def _bounds(
        cls, between: tuple[float | None, float | None] | None
    ) -> tuple[float | None, float | None] | None:
        if between is None:
            return None
        lo, hi = between
        if lo is not None and hi is not None and not lo < hi:
            raise ValueError(f"[{lo:g}, {hi:g}): the lower bound must be below the upper")
        return between

    @field_validator("missing")
    @classmethod
    def _only_true(cls, missing: bool | None) -> bool | None:
        if missing is False:
            raise ValueError("write missing: true (a lead without a value), or leave it out")
        return missing

    @model_validator(mode="after")
    def _one_test(self) -> AttributeRule:
        tests = (self.equals, self.other_than, self.between, self.missing)
        if sum(t is not None for t in tests) != 1:
            raise ValueError("give equals, other_than, between or missing (one of them)")
        return self

    @property
    def values(self) -> list[Scalar]:
        """``equals`` (or ``other_than``) as a list."""
        listed = self.equals if self.equals is not None else self.other_than
        if listed is None:
            return []
        return list(listed) if isinstance(listed, list) else [listed]


class BehaviourRule(_Strict):
    """Points per occurrence of ``event_type`` before T, as limited."""

    event_type: str = Field(min_length=1)
    points: Number
    max_times: int | None = Field(default=None, ge=1, strict=True)
    within_days: Number | None = Field(default=None, gt=0)
    half_life_days: Number | None = Field(default=None, gt=0)
    limit: Number | None = Field(default=None, gt=0)
    """The rule's points from all its occurrences together never exceed ``limit`` in size."""

    @property
    def kind(self) -> str:
        """``event_type`` as validation stores event types (trimmed, lower case)."""
        return self.event_type.strip().lower()


class Inactivity(_Strict):
    """Points for a lead with at least one event and none in ``(T - after_days, T)``."""

    after_days: Number = Field(gt=0)
    points: Number


class RulesFile(_Strict):
    """A whole rules file."""

    name: str = Field(min_length=1)
    threshold: Number
    max_points: Number = Field(gt=0)
    base_points: Number = 0.0
    attributes: list[AttributeRule] = Field(default_factory=list)
    behaviours: list[BehaviourRule] = Field(default_factory=list)
    inactivity: Inactivity | None = None

    @property
    def model_version(self) -> str:
        """What its rows carry as ``model_version``: ``rules:<name>``."""
        return f"rules:{self.name}"


def _where(location: tuple[int | str, ...]) -> str:
    """``('behaviours', 1, 'max_times')`` → ``behaviours[1].max_times``."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the file)"


class _Loader(yaml.SafeLoader):
    """YAML with YAML 1.2's booleans: only true and false, so a country code such as NO (Norway)
    or ON (Ontario) stays text; a key given twice in one mapping is an error, not the last one."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    _Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_first]
    )


def read_rules(path: Path) -> RulesFile:
    """The rules file at ``path``; :class:`ConfigError` (exit 2) naming the rule and key of the
    first thing wrong with it."""
    if not path.is_file():
        raise UsageError(f"rules file {path}: no such file")
    try:
        raw = yaml.load(path.read_text("utf-8"), Loader=_Loader)  # a SafeLoader
    except yaml.YAMLError as exc:
        raise ConfigError(f"rules file {path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"rules file {path}: expected a mapping with name, threshold, ...")
    try:
        return RulesFile.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        where = _where(tuple(error["loc"]))
        given = error.get("input")
        shown = "" if isinstance(given, dict) else f" (given: {given!r})"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"rules file {path}: {where}: {message}{shown}") from None


def check_rules(
    rules: RulesFile,
    leads: pd.DataFrame,
    event_types: set[str] | None,
    pii_columns: list[str],
    source: str = "",
    features: FeaturesConfig | None = None,
) -> list[str]:
    """Raise :class:`ConfigError` for an attribute rule on a column the leads lack, on a PII
    column (its value would reach the reasons) or on the lead's id, creation time or label;
    return warnings for rules that can never fire here: an attribute rule no lead matches (with
    the values the column holds), a behaviour whose event type the events never hold, behaviour
    and inactivity rules of a flat export (``event_types`` ``None``: no events at all)."""
    where = f"rules file {source or repr(rules.name)}"
    pii = {c.strip().lower() for c in pii_columns}
    given = [c for c in leads.columns if c.lower() not in pii]
    leads = with_derived(leads, rules, features)
    for k, rule in enumerate(rules.attributes):
        column = rule.column.strip().lower()
        if column in pii:
            raise ConfigError(
                f"{where}: attributes[{k}].column: {rule.column!r} is a PII column "
                "(data.pii_columns); rules never read personal data"
            )
        if column in schema.NOT_ATTRIBUTES:
            raise ConfigError(
                f"{where}: attributes[{k}].column: {rule.column!r} is not an attribute of the "
                "lead (its id, creation time or label)"
            )
        if column not in leads.columns:
            shown = sorted(given)[:15]
            raise ConfigError(
                f"{where}: attributes[{k}].column: {rule.column!r} is not a column of leads "
                f"(they have {shown}){_derivable(column)}"
            )
    warnings = [
        f"{where}: attributes[{k}] ({rule.column}) matches no lead; the column holds "
        f"{_common_values(leads[rule.column.strip().lower()])}"
        for k, rule in enumerate(rules.attributes)
        if len(leads) and not _matches(rule, _Column(leads[rule.column.strip().lower()])).any()
    ]
    timed = [*rules.behaviours, *([rules.inactivity] if rules.inactivity else [])]
    if event_types is None and timed:
        warnings.append(
            f"{where}: a flat export has no events: behaviour and inactivity rules never fire"
        )
    elif event_types is not None:
        known = {t.strip().lower() for t in event_types}
        never = sorted({b.kind for b in rules.behaviours} - known)
        if never:
            warnings.append(
                f"{where}: no event of type {never} in the events; those rules never fire"
            )
    return warnings


def _derivable(column: str) -> str:
    """What a derived attribute needs, when ``column`` names one."""
    if column in DERIVED:
        return "; it is derived from a job title column (features.title_columns)"
    if column.endswith(fit.BAND_SUFFIX):
        return f"; it is derived from {column.removesuffix(fit.BAND_SUFFIX)!r} (features.bands)"
    return ""


def _common_values(values: pd.Series, shown: int = 6) -> str:
    """The column's most common values, as the warning about a rule matching nobody shows them."""
    counts = values.dropna().astype(str).value_counts()
    if counts.empty:
        return "no value"
    listed = ", ".join(repr(v) for v in counts.index[:shown])
    return f"{listed}{', ...' if len(counts) > shown else ''}"


@dataclass(frozen=True)
class RulePoints:
    """Each lead's points from each rule (one column per rule: attributes, behaviours, then
    inactivity), and what each rule saw (the attribute's value, the counted occurrences)."""

    points: np.ndarray
    seen: list[np.ndarray]
    kinds: list[str]
    base: float = 0.0

    @property
    def total(self) -> np.ndarray:
        """Each lead's points: the file's ``base_points`` and every rule's."""
        total: np.ndarray = self.base + self.points.sum(axis=1)
        return total

    def of(self, kind: str) -> np.ndarray:
        """The sum over the rules of ``kind`` (``attribute``, ``behaviour``, ``inactivity``)."""
        columns = [j for j, k in enumerate(self.kinds) if k == kind]
        part: np.ndarray = self.points[:, columns].sum(axis=1)
        return part


ATTRIBUTE, BEHAVIOUR, INACTIVITY = "attribute", "behaviour", "inactivity"


def rule_points(
    rules: RulesFile,
    leads: pd.DataFrame,
    events: pd.DataFrame,
    as_of: pd.Timestamp | pd.Series | None,
    features: FeaturesConfig | None = None,
) -> RulePoints:
    """Every rule applied to ``leads`` (one row per lead, or per snapshot of a lead) at
    ``as_of`` (one time for all, or each row's own: a Series aligned with ``leads``) with their
    ``events`` (``lead_id``, ``event_type``, ``occurred_at``); events at or after a row's time
    never count (a flat export, ``as_of`` ``None``, has none).  ``features`` says how the
    derived attributes are made (:func:`with_derived`)."""
    leads = with_derived(leads, rules, features)
    columns: list[np.ndarray] = []
    seen: list[np.ndarray] = []
    kinds: list[str] = []
    views: dict[str, _Column] = {}  # each column read once, however many rules it has
    for rule in rules.attributes:
        name = rule.column.strip().lower()
        view = views.setdefault(name, _Column(leads[name]))
        columns.append(np.where(_matches(rule, view), rule.points, 0.0))
        seen.append(view.objects)
        kinds.append(ATTRIBUTE)
    n = len(leads)
    types = sorted({b.kind for b in rules.behaviours})
    positions, age, codes = _occurrences_before(leads[schema.LEAD_ID], events, as_of, types)
    for behaviour in rules.behaviours:
        mine = codes == types.index(behaviour.kind)
        weight, count = _occurrences(behaviour, mine, positions, age, n)
        columns.append(_limited(behaviour, behaviour.points * weight))
        seen.append(count)
        kinds.append(BEHAVIOUR)
    if rules.inactivity is not None:
        idle = _inactive(rules.inactivity, positions, age, n)
        columns.append(np.where(idle, rules.inactivity.points, 0.0))
        seen.append(idle)
        kinds.append(INACTIVITY)
    matrix = np.column_stack(columns) if columns else np.zeros((n, 0))
    return RulePoints(matrix.astype(float), seen, kinds, rules.base_points)


def _limited(rule: BehaviourRule, points: np.ndarray) -> np.ndarray:
    """A behaviour's points held within ``± limit``."""
    if rule.limit is None:
        return points
    held: np.ndarray = np.clip(points, -rule.limit, rule.limit)
    return held


DERIVED = (fit.SENIORITY, fit.FUNCTION)
"""Attributes a rule may name that the pipeline derives from the job title (its first column of
``features.title_columns``), besides ``<column>_band`` for every column of ``features.bands``."""


def with_derived(
    leads: pd.DataFrame, rules: RulesFile, features: FeaturesConfig | None
) -> pd.DataFrame:
    """``leads`` with the derived attributes its rules name and it does not hold: the title's
    seniority and function, a column's band; exactly as the fit features derive them, a missing
    title or number giving a missing value."""
    wanted = {r.column.strip().lower() for r in rules.attributes} - set(leads.columns)
    if features is None or not wanted:
        return leads
    derived: dict[str, pd.Series] = {}
    title = next((c for c in features.title_columns if c in leads.columns), None)
    if title is not None and wanted & set(DERIVED):
        table = fit.title_features(leads[title])
        derived |= {name: table[name] for name in wanted & set(DERIVED)}
    for column, edges in features.bands.items():
        name = f"{column}{fit.BAND_SUFFIX}"
        if name in wanted and column in leads.columns:
            derived[name] = fit.bands(pd.to_numeric(leads[column], errors="coerce"), edges)
    known = {name: values.where(values != fit.MISSING) for name, values in derived.items()}
    return leads.assign(**known) if known else leads


_MICROSECONDS_PER_DAY = 86_400_000_000
_EPOCH = pd.Timestamp(0, tz="UTC")


def _microseconds(stamps: pd.Series | pd.Timestamp) -> Any:
    """UTC instants as whole microseconds since 1970: ages are then exact differences."""
    return (stamps - _EPOCH) // pd.Timedelta(microseconds=1)


def _occurrences_before(
    lead_ids: pd.Series,
    events: pd.DataFrame,
    as_of: pd.Timestamp | pd.Series | None,
    types: list[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every event of a row's lead before that row's time: the row's position, the event's
    age in fractional days and its type's position in ``types`` (``-1``: another type)."""
    nothing = (np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64))
    if as_of is None or events.empty or lead_ids.empty:
        return nothing
    ids = lead_ids.astype("string").reset_index(drop=True)
    if not isinstance(as_of, pd.Series) and not ids.is_unique:  # a lead's rows: each its own
        as_of = pd.Series([as_of] * len(ids))
    if isinstance(as_of, pd.Series):  # each row its own time: rows x their lead's events
        rows = pd.DataFrame({"_row": np.arange(len(ids)), schema.LEAD_ID: ids.to_numpy(),
                             "_at": _microseconds(as_of).to_numpy()})  # fmt: skip
        occurred = _microseconds(events[schema.OCCURRED_AT])
        pairs = rows.merge(
            pd.DataFrame({schema.LEAD_ID: events[schema.LEAD_ID].astype("string").to_numpy(),
                          "_type": positions_in(events[schema.EVENT_TYPE], types),
                          "_us": occurred.to_numpy()}),
            on=schema.LEAD_ID,
        )  # fmt: skip
        elapsed = pairs["_at"].to_numpy() - pairs["_us"].to_numpy()
        before = elapsed > 0
        return (
            pairs["_row"].to_numpy(np.int64)[before],
            elapsed[before] / _MICROSECONDS_PER_DAY,
            pairs["_type"].to_numpy(np.int64)[before],
        )
    positions = positions_in(events[schema.LEAD_ID], ids)
    elapsed = _microseconds(as_of) - _microseconds(events[schema.OCCURRED_AT]).to_numpy()
    keep = (positions >= 0) & (elapsed > 0)
    return (
        positions[keep],
        elapsed[keep] / _MICROSECONDS_PER_DAY,
        positions_in(events[schema.EVENT_TYPE], types)[keep],
    )


def _text(value: Any) -> str:
    """A value as matching reads it: trimmed, runs of white space as one, case folded."""
    return re.sub(r"\s+", " ", str(value).strip()).casefold()


class _Column:
    """One attribute column as the rules read it, each view made once: which rows hold a value,
    the distinct values as matching reads them, the values as numbers and as Python objects."""

    def __init__(self, values: pd.Series) -> None:
        self.values = values

    @cached_property
    def present(self) -> np.ndarray:
        return self.values.notna().to_numpy(dtype=bool)

    @cached_property
    def factorized(self) -> tuple[np.ndarray, list[str]]:
        codes, distinct = pd.factorize(self.values.astype("string"))
        return codes, [_text(v) for v in distinct]

    @cached_property
    def numbers(self) -> np.ndarray:
        numbers: np.ndarray = pd.to_numeric(self.values, errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        return numbers

    @cached_property
    def numeric(self) -> bool:
        dtype = self.values.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            dtype = dtype.categories.dtype
        return bool(pd.api.types.is_numeric_dtype(dtype))

    @cached_property
    def objects(self) -> np.ndarray:
        objects: np.ndarray = self.values.to_numpy(dtype=object)
        return objects


def _matches(rule: AttributeRule, column: _Column) -> np.ndarray:
    """Whether each value passes the rule; a missing value passes only ``missing: true``."""
    present = column.present
    if rule.missing:
        absent: np.ndarray = ~present
        return absent
    if rule.between is not None:
        if column.numeric:
            numbers = column.numbers
        else:  # numbers written as text
            numbers = pd.to_numeric(column.values, errors="coerce").to_numpy(
                dtype=float, na_value=np.nan
            )
        lo, hi = rule.between
        hit: np.ndarray = ~np.isnan(numbers)
        if lo is not None:
            hit = hit & (numbers >= lo)
        if hi is not None:
            hit = hit & (numbers < hi)
        return hit
    wanted = {_text(v) for v in rule.values}
    numbers_wanted = {float(v) for v in rule.values if _is_number(v)}
    codes, keys = column.factorized  # each distinct value read once
    listed = np.array([key in wanted for key in keys], dtype=bool)
    hit = np.where(codes >= 0, listed[np.maximum(codes, 0)] if len(listed) else False, False)
    if numbers_wanted and column.numeric:
        hit = hit | np.isin(column.numbers, list(numbers_wanted))
    passed: np.ndarray = present & (~hit if rule.other_than is not None else hit)
    return passed


def _is_number(value: Scalar) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(value)
    except ValueError:
        return False
    return True


def _occurrences(
    rule: BehaviourRule, mine: np.ndarray, positions: np.ndarray, age: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's counted weight (decayed occurrences) and count of ``rule``'s events (``mine``:
    which of the occurrences are of its type)."""
    if rule.within_days is not None:
        mine &= age < rule.within_days
    rows, days = positions[mine], age[mine]
    if rule.max_times is not None and len(rows):
        order = np.lexsort((days, rows))  # by lead, most recent (youngest) first
        rows, days = rows[order], days[order]
        starts = np.r_[0, np.flatnonzero(np.diff(rows)) + 1]
        rank = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
        rows, days = rows[rank < rule.max_times], days[rank < rule.max_times]
    weights = (
        np.ones(len(rows)) if rule.half_life_days is None else 0.5 ** (days / rule.half_life_days)
    )
    return np.bincount(rows, weights, minlength=n), np.bincount(rows, minlength=n)


def _inactive(rule: Inactivity, positions: np.ndarray, age: np.ndarray, n: int) -> np.ndarray:
    """Leads with an event before T and none in ``(T - after_days, T)``."""
    youngest = np.full(n, np.inf)
    np.minimum.at(youngest, positions, age)
    idle: np.ndarray = np.isfinite(youngest) & (youngest >= rule.after_days)
    return idle
