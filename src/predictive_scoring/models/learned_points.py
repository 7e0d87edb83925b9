"""Learned points, exported as a rules file (CONTRACT section 7): ``points_rules.yaml``.

The points baseline (:class:`~predictive_scoring.models.rules.PointsScorecard`) is written in the
format of the team's own rules, so marketing can load the learned points into its tool, and
``score --rules points_rules.yaml`` gives every lead the baseline's points (0–100, the scale of
the training rows; clipped there, a rules file's raw total is not):

* an attribute value's points become ``equals`` (a kept category), ``other_than`` (every rare or
  unseen value: the category ``(other)``), ``missing: true`` or ``between`` (a quantile bin of a
  number); title seniority and function and a column's band are named as the derived attributes
  the rules read (``title_seniority``, ``company_size_band``);
* a behaviour's points per decayed occurrence become a behaviour rule with the baseline's
  half-life and a ``limit`` of ``behaviour_cap`` occurrences' points;
* the scaling to 0–100 is the rules' ``base_points`` and a factor on every rule's points;
* ``threshold`` hands off the share of training rows that the model's MQL score hands off
  (``scoring.mql.score`` is a percentile of those rows).

Bin bounds are the exact float64 numbers at which the baseline's float32 features change bin, so
the two agree on every value, not only on round ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import yaml

from predictive_scoring.features import fit
from predictive_scoring.features.spec import FeatureSpec
from predictive_scoring.models._tabular import bin_label
from predictive_scoring.models.points_rules import AttributeRule, BehaviourRule, RulesFile
from predictive_scoring.models.rules import PointsScorecard

__all__ = ["LEARNED_RULES", "POINTS_RULES", "learned_rules", "points_rules_yaml", "rules_yaml"]

LEARNED_RULES = "learned-points"
"""The exported file's ``name``: its rows carry ``model_version`` ``rules:learned-points``."""

POINTS_RULES = "points_rules.yaml"
"""The file's name in every training run's artifacts."""

DIGITS = 6
"""Decimals of the exported points (a lead's total is the baseline's to about 1e-5 points)."""


def learned_rules(
    scorecard: PointsScorecard,
    spec: FeatureSpec,
    half_life_days: float | None,
    rows: pd.DataFrame,
    mql_score: float,
) -> tuple[RulesFile, list[str]]:
    """The fitted ``scorecard`` as a rules file, with a note per rule (what the data showed);
    ``rows`` are the rows it was fitted on (for the hand-off threshold)."""
    low, high = scorecard.points_range_
    scale = 100.0 / (high - low if high > low else 1.0)
    attributes: list[AttributeRule] = []
    notes: list[str] = []
    for column, table in scorecard.attribute_points_.items():
        edges = scorecard.edges_[column]
        kept = [c for c in spec.info(column).categories if c not in (fit.MISSING, fit.OTHER)]
        for label, row in table.iterrows():
            test = _test(str(label), edges, kept)
            attributes.append(
                AttributeRule(column=column, points=_rounded(row["points"] * scale), **test)
            )
            notes.append(_note(row["support"], row["conversion_rate"]))
    behaviours: list[BehaviourRule] = []
    for name, facts in scorecard.behaviour_points_.items():
        points = facts["points"] * scale
        if half_life_days is None or _rounded(points) == 0:
            continue
        behaviours.append(
            BehaviourRule(
                event_type=name,
                points=_rounded(points),
                half_life_days=half_life_days,
                limit=_rounded(abs(points) * scorecard.behaviour_cap),
            )
        )
        notes.append(_note(facts["support"], facts["conversion_rate"]))
    threshold = float(np.quantile(scorecard.points(rows), mql_score / 100)) if len(rows) else 0.0
    rules = RulesFile(
        name=LEARNED_RULES,
        threshold=_rounded(threshold),
        max_points=100.0,
        base_points=_rounded(-low * scale),
        attributes=attributes,
        behaviours=behaviours,
    )
    return rules, notes


def _rounded(value: float) -> float:
    return float(round(float(value), DIGITS)) + 0.0  # + 0.0: no -0.0 in the file


def _test(label: str, edges: np.ndarray | None, kept: list[str]) -> dict[str, Any]:
    """The rule test that matches exactly the rows the scorecard labels ``label``."""
    if label == fit.MISSING:
        return {"missing": True}
    if edges is None:
        return {"other_than": kept} if label == fit.OTHER else {"equals": label}
    bounds = [None, *(_float32_cut(e) for e in edges), None]
    for i in range(len(edges) + 1):
        if bin_label(edges, i) == label:
            return {"between": (bounds[i], bounds[i + 1])}
    raise ValueError(f"no bin of {edges!r} is labelled {label!r}")


def _float32_cut(edge: float) -> float:
    """The least float64 ``x`` whose float32 rounding is at or above ``edge``: ``x >= cut``
    exactly when the float32 feature is ``>= edge`` (the scorecard's bins are ``[lo, hi)``)."""
    up = np.float32(np.inf)
    c = np.float32(edge)
    if float(c) < edge:
        c = np.nextafter(c, up)
    if not np.isfinite(c):
        return float(edge)
    below = np.nextafter(c, np.float32(-np.inf))
    middle = (float(below) + float(c)) / 2  # exact: float32 values have 24-bit significands
    tie_goes_up = float(np.float32(middle)) >= float(c)
    return middle if tie_goes_up else float(np.nextafter(middle, np.inf))


def _note(support: float, rate: float) -> str:
    if not np.isfinite(rate):
        return f"{support:,.0f} training rows"
    return f"{support:,.0f} training rows, {100 * rate:.1f} % converted"


def rules_yaml(rules: RulesFile, notes: list[str], heading: str = "") -> str:
    """``rules`` as YAML text a person reads and :func:`read_rules` reads back to the same file:
    one rule per line, each with its note as a comment."""

    def flow(value: Any) -> str:
        text = yaml.safe_dump(
            value, default_flow_style=True, allow_unicode=True, sort_keys=False, width=10**9
        )
        return text.strip().removesuffix("...").strip()

    lines = [f"# {line}".rstrip() for line in heading.splitlines()]
    head = rules.model_dump(include={"name", "threshold", "max_points", "base_points"})
    lines += [f"{key}: {flow(value)}" for key, value in head.items()]
    sections = (("attributes", rules.attributes), ("behaviours", rules.behaviours))
    remarks = iter(notes)
    for key, listed in sections:
        lines.append(f"{key}:" if listed else f"{key}: []")
        for rule in listed:
            dumped = {k: v for k, v in rule.model_dump().items() if v is not None}
            if "between" in dumped:
                dumped["between"] = list(dumped["between"])
            lines.append(f"  - {flow(dumped)}  # {next(remarks)}")
    return "\n".join(lines) + "\n"


HEADING = """Learned points: this run's points baseline, written as a rules file (CONTRACT section 7).
`score --rules points_rules.yaml` gives every lead the baseline's points (0-100 on the scale of
the training rows); a marketing tool given these rules gives the same. Derived attributes:
title_seniority and title_function come from the job title, <column>_band from features.bands.
Each rule's comment says what the training rows showed."""


def points_rules_yaml(
    scorecard: PointsScorecard,
    spec: FeatureSpec,
    half_life_days: float | None,
    rows: pd.DataFrame,
    mql_score: float,
) -> str:
    """``points_rules.yaml``: :func:`learned_rules` as :func:`rules_yaml` text."""
    rules, notes = learned_rules(scorecard, spec, half_life_days, rows, mql_score)
    return rules_yaml(rules, notes, HEADING)
