"""``score --rules``: every open lead scored with a rules file alone, no trained model.

The rows are the contract's (CONTRACT section 7): ``points`` is the raw total, ``score`` the
points on the file's scale (``round(100 * points / max_points)``, clipped to 0–100),
``fit_score`` and ``intent_score`` the attribute and the behaviour (with inactivity) points on that
scale, ``is_mql`` when the points reach the file's ``threshold``, ``probability`` null, and
``reasons`` every rule that fired, the largest points first, in the JSON shape of the models'.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import FeaturesConfig, ScoringConfig
from predictive_scoring.data.tables import LeadData
from predictive_scoring.explain import EVENT_PHRASES, humanise
from predictive_scoring.features.snapshots import scoring_rows
from predictive_scoring.models.points_rules import (
    ATTRIBUTE,
    BEHAVIOUR,
    AttributeRule,
    BehaviourRule,
    Inactivity,
    RulePoints,
    RulesFile,
    rule_points,
)
from predictive_scoring.serving import tiers
from predictive_scoring.stopwatch import step

__all__ = ["on_scale", "rule_reasons", "rules_rows", "score_with_rules"]


def score_with_rules(
    data: LeadData,
    rules: RulesFile,
    as_of: pd.Timestamp | None,
    config: ScoringConfig,
    features: FeaturesConfig | None = None,
) -> Iterator[pd.DataFrame]:
    """The contract rows (with ``points``) of every lead open at ``as_of``, in chunks of
    ``scoring.chunk_size``; ``features`` says how derived attributes are made."""
    with step("rows"):
        ids = scoring_rows(data, as_of)[schema.LEAD_ID]
        leads = data.leads.set_index(schema.LEAD_ID, drop=False).loc[ids.to_numpy()]
        leads = leads.reset_index(drop=True)
    with step("points"):
        points = rule_points(rules, leads, data.events, as_of, features)
    with step("reasons"):
        why = rule_reasons(rules, points)
    frame = rules_rows(rules, points, leads[schema.LEAD_ID], why, as_of, config)
    for start in range(0, len(frame), config.chunk_size):
        yield frame.iloc[start : start + config.chunk_size].reset_index(drop=True)


def on_scale(points: np.ndarray, max_points: float) -> np.ndarray:
    """``round(100 * points / max_points)`` clipped to 0–100 (halves to even, as Python's)."""
    scaled: np.ndarray = np.clip(np.rint(100 * points / max_points), 0, 100).astype(np.int64)
    return scaled


def rules_rows(
    rules: RulesFile,
    points: RulePoints,
    lead_ids: pd.Series,
    reasons: list[str],
    as_of: pd.Timestamp | None,
    config: ScoringConfig,
) -> pd.DataFrame:
    """The output rows of ``lead_ids`` from their ``points``."""
    total = points.total
    score = on_scale(total, rules.max_points)
    fit = points.of(ATTRIBUTE)
    n = len(total)
    return pd.DataFrame(
        {
            schema.LEAD_ID: lead_ids.astype("string").to_numpy(),
            schema.AS_OF: pd.Series([as_of] * n, dtype="datetime64[us, UTC]").to_numpy(),
            schema.PROBABILITY: np.full(n, np.nan),
            schema.SCORE: score,
            schema.FIT_SCORE: on_scale(fit, rules.max_points),
            schema.INTENT_SCORE: on_scale(total - points.base - fit, rules.max_points),
            schema.TIER: tiers(score, config),
            schema.IS_MQL: total >= rules.threshold,
            schema.REASONS: reasons,
            schema.MODEL_VERSION: rules.model_version,
            schema.SEGMENT: "",
            schema.POINTS: total,
        }
    )


def _signed(points: float) -> str:
    """``+30``, ``-10``, ``+12.3`` (``+0.012`` when smaller than a tenth): points as the reasons
    say them."""
    return f"{points:+.2g}" if abs(points) < 0.05 else f"{round(points, 1):+g}"


def _shown(value: Any) -> str:
    """A number as people write it (``1,000``, ``2.5``); anything else as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,g}" if abs(value) < 1e15 else str(value)


def _attribute_words(rule: AttributeRule, value: Any) -> str:
    name = humanise(rule.column.strip().lower())
    if rule.missing:
        return f"{name} is unknown"
    if rule.between is None:
        return f"{name} is {_shown(value)}"
    lo, hi = rule.between
    if lo is None:
        return f"{name} is {_shown(value)} (under {_shown(hi)})"
    if hi is None:
        return f"{name} is {_shown(value)} (at least {_shown(lo)})"
    return f"{name} is {_shown(value)} ({_shown(lo)} to under {_shown(hi)})"


def _behaviour_words(rule: BehaviourRule, count: int, impact: float) -> str:
    words = EVENT_PHRASES.get(rule.kind, (humanise(rule.kind), ""))[0]
    if count > 1:
        words += f" {count} times"
    if rule.max_times is not None and count == rule.max_times:
        words += f" (at most {rule.max_times} counted)"
    if rule.within_days is not None:
        words += f" in the last {_shown(rule.within_days)} days"
    if rule.half_life_days is not None:
        words += f", decayed with a {_shown(rule.half_life_days)}-day half-life"
    if rule.limit is not None and abs(impact) >= round(rule.limit, 4):
        words += f" (held at its limit of {_shown(rule.limit)} points)"
    return words


def _inactivity_words(rule: Inactivity) -> str:
    return f"No activity in the last {_shown(rule.after_days)} days"


def _plain(value: Any) -> Any:
    """A JSON-ready value: numbers as numbers, everything else as text."""
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return float(value) if np.isfinite(value) else None
    return None if value is None or value is pd.NA else str(value).strip()


def _items(rules: RulesFile, points: RulePoints, j: int, rows: np.ndarray) -> np.ndarray:
    """The JSON reason of rule ``j`` for each of ``rows`` (it fired there), once per distinct
    (value, points) pair; the words once per value (a decayed behaviour's points differ from
    lead to lead, its words do not)."""
    values = points.seen[j][rows]
    impacts = np.round(points.points[rows, j], 4)
    value_codes, _ = pd.factorize(
        pd.Series(values, dtype=object).astype(str), use_na_sentinel=False
    )
    impact_codes, distinct_impacts = pd.factorize(impacts)
    pairs = value_codes.astype(np.int64) * len(distinct_impacts) + impact_codes
    _, firsts, inverse = np.unique(pairs, return_index=True, return_inverse=True)
    heads: dict[tuple[int, bool], tuple[str, str]] = {}
    texts = []
    for first in firsts:
        impact = float(impacts[first])
        key = (int(value_codes[first]), _at_limit(rules, points, j, impact))
        if key not in heads:
            heads[key] = _head(rules, points, j, _plain(values[first]), impact)
        head, words = heads[key]
        texts.append(f'{head}{impact!r}, "text": {words}{_signed(impact)}"}}')
    result: np.ndarray = np.asarray(texts, dtype=object)[inverse.ravel()]
    return result


def _at_limit(rules: RulesFile, points: RulePoints, j: int, impact: float) -> bool:
    if points.kinds[j] != BEHAVIOUR:
        return False
    limit = rules.behaviours[j - len(rules.attributes)].limit
    return limit is not None and abs(impact) >= round(limit, 4)


def _head(
    rules: RulesFile, points: RulePoints, j: int, value: Any, impact: float
) -> tuple[str, str]:
    """A reason's JSON up to its impact, and its text's opening quote and words: a reason is
    ``{"feature": ..., "value": ..., "impact": ..., "text": "<words>: <signed points>"}``."""
    kind = points.kinds[j]
    if kind == ATTRIBUTE:
        rule: Any = rules.attributes[j]
        feature, words = rule.column.strip().lower(), _attribute_words(rule, value)
    elif kind == BEHAVIOUR:
        rule = rules.behaviours[j - len(rules.attributes)]
        feature, words = rule.kind, _behaviour_words(rule, int(value), impact)
    else:
        assert rules.inactivity is not None
        feature, words = "inactivity", _inactivity_words(rules.inactivity)
    head = (
        f'{{"feature": {json.dumps(feature, ensure_ascii=False)}, '
        f'"value": {json.dumps(value, ensure_ascii=False)}, "impact": '
    )
    return head, json.dumps(f"{words}: ", ensure_ascii=False)[:-1]


def rule_reasons(rules: RulesFile, points: RulePoints) -> list[str]:
    """Every rule that fired for each lead, the largest |points| first (ties in file order),
    as JSON text per row."""
    matrix = np.round(points.points, 4)  # as the reasons' impacts hold them
    n, k = matrix.shape
    if n == 0 or k == 0:
        return ["[]"] * n
    items = np.empty((n, k), dtype=object)
    for j in range(k):
        rows = np.flatnonzero(matrix[:, j] != 0)
        if len(rows):
            items[rows, j] = _items(rules, points, j, rows)
    order = np.argsort(-np.abs(matrix), axis=1, kind="stable")
    counts = (matrix != 0).sum(axis=1)  # the fired rules come first in ``order``
    widest = int(counts.max())
    ranked = np.take_along_axis(items, order[:, :widest], axis=1).tolist()
    return ["[" + ", ".join(row[:c]) + "]" for row, c in zip(ranked, counts.tolist(), strict=True)]
