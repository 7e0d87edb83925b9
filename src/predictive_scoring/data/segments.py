"""Segments of leads (CONTRACT section 6): which segment each lead is in, and a segment's tables.

A segment is a value of ``segments.column`` or the first of ``segments.filters`` a lead matches.
Filters are small expressions over lead attributes, parsed here and evaluated column-wise, never
``eval``: comparisons (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, chained too), ``in`` and
``not in`` a list, ``and``, ``or``, ``not`` and parentheses, numbers, quoted text, ``True``,
``False``.  As in SQL, a comparison with a missing value is unknown, and so is its ``not``: a
lead matches a filter only when it is known to.  A column whose name is not an identifier is written in backticks:
```` `lead origin` == "API" ````.  Lead attributes do not change over time, so a lead's segment is
the same at every snapshot and at scoring.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import SegmentsConfig
from predictive_scoring.data.arrow import among, arrow_text
from predictive_scoring.data.tables import LeadData
from predictive_scoring.errors import ConfigError

__all__ = [
    "GLOBAL",
    "Segment",
    "assign_segments",
    "check_segments",
    "model_name",
    "partition",
    "segment_sizes",
    "slug",
    "subset",
]

GLOBAL = ""
"""The segment of a lead served by the global model (the output's ``segment`` is empty)."""

_COMPARISONS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_BACKTICKED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Segment:
    """One segment: its name (the column's value or the filter's name), its slug, and how many
    leads and conversions it has to learn from."""

    name: str
    slug: str
    leads: int
    conversions: int


def slug(value: str) -> str:
    """``value`` for a registered model's name: lowercase, runs of anything but ``[a-z0-9]``
    as one ``-``, none at either end (``"Sales-led / EMEA"`` → ``sales-led-emea``)."""
    slugged = re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-")
    return slugged or "segment"


def model_name(base: str, segment: str) -> str:
    """The registered model of ``segment`` (``<model-name>-<slug>``), ``base`` for the global."""
    return base if segment == GLOBAL else f"{base}-{slug(segment)}"


def assign_segments(leads: pd.DataFrame, config: SegmentsConfig) -> pd.Series:
    """Each lead's segment (:data:`GLOBAL` when it has none), aligned with ``leads``."""
    assigned = pd.Series(GLOBAL, index=leads.index, dtype=object)
    if config.column is not None:
        values = leads[_column(leads, config.column, "segments.column", config.column)]
        present = values.notna().to_numpy()
        assigned[present] = _names(values[present])
        _unique_slugs(assigned[present].unique(), "segments.column", config.column)
        return assigned
    for name, text in config.filters.items():
        matches = _evaluate_filter(leads, f"segments.filters.{name}", text)
        assigned[matches & (assigned == GLOBAL).to_numpy()] = name
    _unique_slugs(config.filters, "segments.filters", ", ".join(config.filters))
    return assigned


def _names(values: pd.Series) -> np.ndarray:
    """Segment names of a column's values: text trimmed; whole numbers without a fraction
    (validation reads numbers as floats: 1000 is segment ``1000``, not ``1000.0``)."""
    if pd.api.types.is_float_dtype(values.dtype):
        numbers = values.to_numpy(dtype=float)
        whole = np.isfinite(numbers) & (numbers == np.round(numbers))
        text = values.astype(str).to_numpy(dtype=object)
        text[whole] = [str(int(v)) for v in numbers[whole]]
        return text
    return values.astype(str).str.strip().to_numpy(dtype=object)


def check_segments(leads: pd.DataFrame, config: SegmentsConfig) -> None:
    """Raise :class:`ConfigError` (exit 2) for a segment column the leads do not have, a filter
    that does not parse or names an unknown column, or two segments with one slug."""
    if config.active:
        assign_segments(leads, config)


def subset(data: LeadData, lead_ids: Iterable[str]) -> LeadData:
    """``data`` restricted to the leads ``lead_ids`` (their events and outcomes with them)."""
    ids = pd.Series(pd.unique(np.asarray(list(lead_ids), dtype=object)), dtype="string")
    member = among(data.leads[schema.LEAD_ID], ids) if len(ids) else np.zeros(len(data.leads), bool)
    return partition(data, np.where(member, 0, -1), 1)[0]


def partition(data: LeadData, codes: np.ndarray, parts: int) -> list[LeadData]:
    """``data`` split into ``parts`` by each lead's code (aligned with ``data.leads``; -1: in no
    part), every event, outcome and display row with its lead: one hashed lookup of each table's
    ids (Arrow), then a mask per part, rather than a membership test per part and table."""
    import pyarrow.compute as pc

    known = arrow_text(data.leads[schema.LEAD_ID])

    def codes_of(frame: pd.DataFrame) -> np.ndarray:
        if schema.LEAD_ID not in frame or frame.empty:
            return np.full(len(frame), -1)
        found = pc.index_in(arrow_text(frame[schema.LEAD_ID]), value_set=known)
        position = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        return np.where(position >= 0, codes[np.maximum(position, 0)], -1)

    lead, event, outcome, shown = (
        np.asarray(codes),
        codes_of(data.events),
        codes_of(data.outcomes),
        codes_of(data.display),
    )

    def part(frame: pd.DataFrame, of: np.ndarray, k: int) -> pd.DataFrame:
        chosen: pd.DataFrame = frame[of == k].reset_index(drop=True)
        return chosen

    return [
        LeadData(
            leads=part(data.leads, lead, k),
            events=part(data.events, event, k),
            outcomes=part(data.outcomes, outcome, k),
            flat=data.flat,
            display=part(data.display, shown, k),
        )
        for k in range(parts)
    ]


def segment_sizes(
    data: LeadData, segments: pd.Series, as_of: pd.Timestamp | None, horizon_days: int
) -> list[Segment]:
    """Every segment's leads created before ``as_of`` and conversions before ``as_of`` − H
    (what it has to learn from); in flat mode its labelled leads and their conversions."""
    leads = data.leads
    if data.flat:
        labelled = leads[schema.CONVERTED].notna().to_numpy()
        converted = (leads[schema.CONVERTED] == 1).to_numpy()
    else:
        assert as_of is not None
        labelled = (leads[schema.CREATED_AT] < as_of).to_numpy()
        cutoff = as_of - pd.Timedelta(days=horizon_days)
        outcomes = data.outcomes
        won = outcomes.loc[outcomes[schema.CONVERTED_AT] < cutoff, schema.LEAD_ID]
        converted = leads[schema.LEAD_ID].isin(won).to_numpy() & labelled
    names = pd.Series(segments.to_numpy(), dtype=object)
    counts = pd.DataFrame({"name": names, "lead": labelled, "won": converted}).groupby("name").sum()
    return [
        Segment(str(name), slug(str(name)), int(row["lead"]), int(row["won"]))
        for name, row in counts.sort_index().iterrows()
        if name != GLOBAL and row["lead"] > 0
    ]


def _unique_slugs(names: Iterable[str], key: str, value: str) -> None:
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(slug(name), name)
        if other != name:
            raise ConfigError(
                f"{key}: {value!r}: segments {other!r} and {name!r} would share the model name "
                f"suffix {slug(name)!r}"
            )


def _column(leads: pd.DataFrame, name: str, key: str, value: str) -> str:
    """The lead attribute ``name`` names (never the id, the creation time or a flat export's
    label: a segment is who the lead is, known at scoring too)."""
    wanted = name.strip().lower()
    known = [c for c in leads.columns if c not in schema.NOT_ATTRIBUTES]
    for column in known:
        if str(column).strip().lower() == wanted:
            return str(column)
    raise ConfigError(
        f"{key}: {value!r}: the leads have no attribute {name!r} (lead columns: {known[:12]})"
    )


def _evaluate_filter(leads: pd.DataFrame, key: str, text: str) -> np.ndarray:
    """Which leads the filter ``text`` (at config ``key``) selects."""
    names: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        names[f"_column_{len(names)}"] = match.group(1)
        return f"_column_{len(names) - 1}"

    try:
        tree = ast.parse(_BACKTICKED.sub(placeholder, text.strip()), mode="eval")
    except SyntaxError:
        raise ConfigError(f"{key}: {text!r} does not parse as a filter") from None
    try:
        result = _Evaluator(leads, names, key, text).value(tree.body)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}: {text!r} cannot be evaluated: {exc}") from None
    if not _is_mask(result):
        raise ConfigError(f"{key}: {text!r} must compare a lead column, e.g. \"country == 'DE'\"")
    selected: np.ndarray = result.fillna(False).astype(bool).to_numpy()
    return selected


class _Evaluator:
    """Evaluates a parsed filter over the lead columns; anything else is a config error."""

    def __init__(self, leads: pd.DataFrame, names: dict[str, str], key: str, text: str) -> None:
        self.leads, self.names, self.key, self.text = leads, names, key, text

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.BoolOp):
            parts = [_as_mask(self.value(v)) for v in node.values]
            combine = operator.and_ if isinstance(node.op, ast.And) else operator.or_
            result = parts[0]
            for part in parts[1:]:
                result = combine(result, part)
            return result
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ~_as_mask(self.value(node.operand))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self.value(node.operand)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Name):
            column = self.names.get(node.id, node.id)
            series = self.leads[_column(self.leads, column, self.key, self.text)]
            return (
                series.astype("string") if isinstance(series.dtype, pd.CategoricalDtype) else series
            )
        if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool):
            return node.value
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return [self.value(e) for e in node.elts]
        raise ConfigError(
            f"{self.key}: {self.text!r}: {ast.unparse(node)!r} is not allowed in a filter "
            "(comparisons, in, and, or, not, numbers and quoted text)"
        )

    def _compare(self, node: ast.Compare) -> Any:
        left = self.value(node.left)
        result = None
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.value(comparator)
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(left, pd.Series) or not isinstance(right, list):
                    raise ConfigError(f"{self.key}: {self.text!r}: use `column in [values]`")
                part = left.isin(right)
                part = ~part if isinstance(op, ast.NotIn) else part
            elif type(op) in _COMPARISONS:
                if isinstance(left, list) or isinstance(right, list):
                    raise ConfigError(f"{self.key}: {self.text!r}: a list belongs after `in`")
                part = _COMPARISONS[type(op)](left, right)
            else:
                raise ConfigError(f"{self.key}: {self.text!r}: {type(op).__name__} is not allowed")
            part = _unknown_where_missing(part, left, right)
            result = part if result is None else _as_mask(result) & _as_mask(part)
            left = right
        return result


def _unknown_where_missing(part: Any, left: Any, right: Any) -> Any:
    """A comparison is unknown (``NA``) where a compared value is missing, as in SQL: a lead
    whose company size is unknown is neither ``>= 1000`` nor ``not company_size >= 1000``."""
    if not isinstance(part, pd.Series):
        return part
    mask: pd.Series = part.astype("boolean")
    for side in (left, right):
        if isinstance(side, pd.Series):
            mask = mask.mask(side.isna().to_numpy())
    return mask


def _is_mask(value: Any) -> bool:
    """Whether ``value`` is the result of a comparison (a boolean mask), not a bare column."""
    return isinstance(value, pd.Series) and (
        pd.api.types.is_bool_dtype(value.dtype) or str(value.dtype) == "boolean"
    )


def _as_mask(value: Any) -> pd.Series:
    """A comparison's result as a three-valued (``boolean``) mask for and, or and not."""
    if not _is_mask(value):
        raise TypeError("and/or/not combine comparisons of lead columns, not bare columns")
    mask: pd.Series = value.astype("boolean")
    return mask
