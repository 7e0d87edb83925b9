"""Score history (CONTRACT section 8): what changed since the previous as-of of the same model,
by hand, in every destination kind, identical on re-runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.data.history import add_changes, model_of, previous_scores
from predictive_scoring.data.outputs import Destination, read_scores, write_scores

T1, T2, T3 = (pd.Timestamp(d, tz="UTC") for d in ("2025-03-01", "2025-03-02", "2025-03-03"))
STEADY = 5
HOUR = pd.Timedelta(hours=1)


def _tier(score: int) -> str:
    return "hot" if score >= 80 else "warm" if score >= 50 else "cold"


def _rows(as_of: pd.Timestamp, scores: dict[str, int], version: str) -> pd.DataFrame:
    ids = list(scores)
    n = len(ids)
    return pd.DataFrame(
        {
            schema.LEAD_ID: ids,
            schema.AS_OF: pd.Series([as_of] * n, dtype="datetime64[us, UTC]"),
            schema.PROBABILITY: np.full(n, 0.1),
            schema.SCORE: [scores[i] for i in ids],
            schema.FIT_SCORE: 50,
            schema.INTENT_SCORE: 50,
            schema.TIER: [_tier(scores[i]) for i in ids],
            schema.IS_MQL: False,
            schema.REASONS: "[]",
            schema.MODEL_VERSION: version,
            schema.SEGMENT: "",
        }
    )


def _run(destination: Destination, rows: pd.DataFrame, as_of: pd.Timestamp) -> None:
    """One scoring run's write, as the score job makes it."""
    previous = previous_scores(destination, as_of)
    chunk = rows if previous is None else add_changes(rows, previous, STEADY)
    write_scores([chunk], destination, as_of)


FIRST = {"up": 50, "down": 60, "steady": 40, "warmed": 75, "stays-hot": 90, "gone": 30}
SECOND = {"up": 70, "down": 52, "steady": 43, "new": 85, "warmed": 82, "stays-hot": 95}
EXPECTED = {  # lead: previous_score, score_change, trend, newly_hot
    "up": (50, 20, "up", False),
    "down": (60, -8, "down", False),
    "steady": (40, 3, "steady", False),
    "new": (None, None, "new", True),
    "warmed": (75, 7, "up", True),
    "stays-hot": (90, 5, "up", False),  # |5| is not below 5
}


def _destinations(tmp_path: Path) -> list[str]:
    return [
        str(tmp_path / "scores.parquet"),
        str(tmp_path / "scores.csv"),
        f"duckdb:///{tmp_path / 'scores.duckdb'}#lead_scores",
        f"sqlite:///{tmp_path / 'scores.sqlite'}#lead_scores",
    ]


def _changes(stored: pd.DataFrame, as_of: pd.Timestamp, version_like: str) -> dict[str, tuple]:
    rows = stored[(stored[schema.AS_OF] == as_of) & stored[schema.MODEL_VERSION].str.startswith(
        version_like)]  # fmt: skip
    return {
        r[schema.LEAD_ID]: (
            None if pd.isna(r[schema.PREVIOUS_SCORE]) else int(r[schema.PREVIOUS_SCORE]),
            None if pd.isna(r[schema.SCORE_CHANGE]) else int(r[schema.SCORE_CHANGE]),
            str(r[schema.TREND]),
            str(r[schema.NEWLY_HOT]).lower() == "true",
        )
        for _, r in rows.iterrows()
    }


@pytest.mark.parametrize("kind", ["parquet", "csv", "duckdb", "sqlite"])
def test_new_up_down_steady_and_newly_hot_by_hand_in_every_destination(
    kind: str, tmp_path: Path
) -> None:
    text = next(d for d in _destinations(tmp_path) if kind in d)
    destination = Destination.parse(text)
    _run(destination, _rows(T1, FIRST, "lead-scoring/1"), T1)
    # a rules file's runs, an hour after each (a run replaces its as-of's rows): never compared
    _run(destination, _rows(T1 + HOUR, {"up": 5}, "rules:team"), T1 + HOUR)
    stored = read_scores(destination)  # the rules' run held an earlier as-of: all its rows new
    assert stored.loc[stored[schema.AS_OF] == T1, schema.TREND].isna().all()
    _run(destination, _rows(T2, SECOND, "lead-scoring/2"), T2)  # the champion moved: same model
    _run(destination, _rows(T2 + HOUR, {"up": 15, "new": 1}, "rules:team"), T2 + HOUR)
    stored = read_scores(destination)
    assert _changes(stored, T2, "lead-scoring") == EXPECTED
    assert _changes(stored, T1 + HOUR, "rules:") == {"up": (None, None, "new", False)}
    assert _changes(stored, T2 + HOUR, "rules:") == {
        "up": (5, 10, "up", False),
        "new": (None, None, "new", False),
    }
    assert stored.loc[stored[schema.AS_OF] == T1, schema.TREND].isna().all()
    # a later run, then T2 again: T2 gets the same columns, T3's rows stay as they were
    _run(destination, _rows(T3, {"up": 10, "new": 90}, "lead-scoring/2"), T3)
    later = read_scores(destination)
    _run(destination, _rows(T2, SECOND, "lead-scoring/2"), T2)
    again = read_scores(destination)
    assert _changes(again, T2, "lead-scoring") == EXPECTED
    assert (
        _changes(again, T3, "lead-scoring")
        == _changes(later, T3, "lead-scoring")
        == {
            "up": (70, -60, "down", False),
            "new": (85, 5, "up", False),
        }
    )
    # T1 re-run into a destination that holds later as-ofs: still nothing earlier to compare
    _run(destination, _rows(T1, FIRST, "lead-scoring/1"), T1)
    assert read_scores(destination).loc[lambda f: f[schema.AS_OF] == T1, schema.TREND].isna().all()
    assert len(read_scores(destination)) == len(again)


def test_a_model_s_previous_as_of_is_its_own_latest_earlier_one(tmp_path: Path) -> None:
    destination = Destination.parse(str(tmp_path / "scores.parquet"))
    _run(destination, _rows(T1, {"a": 10}, "lead-scoring-partner/1"), T1)
    _run(destination, _rows(T2, {"a": 60}, "lead-scoring/1"), T2)
    previous = previous_scores(destination, T3)
    assert previous is not None
    flat = previous.reset_index()
    assert sorted(map(tuple, flat[["model", schema.SCORE]].to_numpy().tolist())) == [
        ("lead-scoring", 60), ("lead-scoring-partner", 10),
    ]  # fmt: skip
    assert previous_scores(destination, T1) is None
    assert model_of(pd.Series(["a/b/7", "rules:x/y", "lead-scoring/12"])).tolist() == [
        "a/b", "rules:x/y", "lead-scoring",
    ]  # fmt: skip
