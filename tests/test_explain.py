"""Reasons written column-wise say exactly what :func:`describe` says lead by lead."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictive_scoring.config import load_config
from predictive_scoring.explain import describe, reasons
from predictive_scoring.features.snapshots import scoring_rows
from predictive_scoring.features.spec import FeatureSpec, build_features, learn_feature_spec
from tests.conftest import Funnels
from tests.features.helpers import THREADS


@pytest.fixture(scope="module")
def features(funnels: Funnels) -> tuple[pd.DataFrame, FeatureSpec]:
    config = load_config()
    data = funnels.data(1500, 11)
    as_of = data.latest_timestamp()
    spec = learn_feature_spec(data, config.features)
    rows = scoring_rows(data, as_of)
    return build_features(data, rows, spec, THREADS), spec


def _one_by_one(
    contributions: np.ndarray, X: pd.DataFrame, spec: FeatureSpec, top_k: int, best: dict[str, str]
) -> list[list[dict[str, object]]]:
    """The plain reference: sum per field, sort, describe each chosen field of each row."""
    infos = [spec.info(c) for c in X.columns]
    fields = sorted({i.field for i in infos})
    result = []
    for row in range(len(X)):
        totals = {f: 0.0 for f in fields}
        for j, info in enumerate(infos):
            totals[info.field] += contributions[row, j]
        chosen = sorted(fields, key=lambda f: -abs(totals[f]))[:top_k]
        values = {
            c: (None if isinstance(v, float) and math.isnan(v) else v)
            for c, v in X.iloc[row].items()
        }
        items = []
        for field in chosen:
            if totals[field] == 0:
                continue
            text, shown = describe(field, [i for i in infos if i.field == field], values, best)
            items.append({"feature": field, "value": shown, "impact": totals[field], "text": text})
        result.append(items)
    return result


@pytest.mark.parametrize("top_k", [1, 5, 50])
def test_column_wise_reasons_equal_the_one_by_one_reference(
    features: tuple[pd.DataFrame, FeatureSpec], top_k: int
) -> None:
    X, spec = features
    X = X.head(400)
    rng = np.random.default_rng(top_k)
    contributions = rng.normal(size=X.shape) * (rng.random(X.shape) < 0.6)
    contributions[:50, 2:] = 0.0  # rows with fewer non-zero fields than top_k
    best = {c: "51–200" for c in X.columns if c.endswith("_band")}
    got = [json.loads(t) for t in reasons(contributions, X, spec, top_k, best)]
    expected = _one_by_one(contributions, X, spec, top_k, best)
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected, strict=True):
        assert [r["feature"] for r in mine] == [r["feature"] for r in theirs]
        assert [r["text"] for r in mine] == [r["text"] for r in theirs]
        assert [r["value"] for r in mine] == [r["value"] for r in theirs]
        assert np.allclose([r["impact"] for r in mine], [r["impact"] for r in theirs], atol=5e-5)
    fields = len({spec.info(c).field for c in X.columns})
    assert max(len(r) for r in got[:50]) <= 2
    assert max(len(r) for r in got) == min(top_k, fields)


def test_rows_without_contributions_have_no_reasons(
    features: tuple[pd.DataFrame, FeatureSpec],
) -> None:
    X, spec = features
    assert reasons(np.zeros((3, X.shape[1])), X.head(3), spec, 5) == ["[]"] * 3
    assert reasons(np.zeros((0, X.shape[1])), X.head(0), spec, 5) == []


def test_reason_json_is_what_json_dumps_writes(features: tuple[pd.DataFrame, FeatureSpec]) -> None:
    X, spec = features
    contributions = np.zeros((1, X.shape[1]))
    contributions[0, 0] = 0.123456
    (text,) = reasons(contributions, X.head(1), spec, 5)
    parsed = json.loads(text)
    assert text == json.dumps(parsed, ensure_ascii=False)
    assert parsed[0]["impact"] == 0.1235


def test_text_of_a_column_wise_run_matches_across_chunks(
    features: tuple[pd.DataFrame, FeatureSpec], tmp_path: Path
) -> None:
    X, spec = features
    rng = np.random.default_rng(0)
    contributions = rng.normal(size=X.shape)
    whole = reasons(contributions, X, spec, 5)
    halves = reasons(contributions[:100], X.iloc[:100], spec, 5) + reasons(
        contributions[100:], X.iloc[100:], spec, 5
    )
    assert whole == halves
