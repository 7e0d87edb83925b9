"""Batch scoring: contract columns, time semantics, sub-score properties, reasons, safe writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.data.load import load_lead_data
from predictive_scoring.data.outputs import Destination, read_scores, write_scores
from predictive_scoring.data.synthetic import generate_funnel
from predictive_scoring.data.tables import LeadData
from predictive_scoring.features.snapshots import scoring_rows
from predictive_scoring.features.spec import build_features
from predictive_scoring.models.ml import selected_columns, served_booster
from predictive_scoring.scoring import ServedModel, percentile_score, score_leads
from predictive_scoring.timeline import open_leads_at
from predictive_scoring.training import train_models
from tests.features.helpers import truncated

T = pd.Timestamp("2025-12-31", tz="UTC")
CONFIG = load_config()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[LeadData, ServedModel]:
    folder = tmp_path_factory.mktemp("funnel")
    generate_funnel(n_leads=6000, seed=5).write(folder)
    data = load_lead_data(
        str(folder), CONFIG, require_labels=True, quarantine_dir=folder / "q"
    ).data
    result = train_models(data, CONFIG, T)
    assert result.serving is not None and result.served == "lightgbm"
    return data, result.serving


def _score(data: LeadData, served: ServedModel, at: pd.Timestamp) -> pd.DataFrame:
    return pd.concat(list(score_leads(data, served, at, CONFIG.scoring)), ignore_index=True)


def test_one_row_per_open_lead_with_contract_columns(setup: tuple[LeadData, ServedModel]) -> None:
    data, served = setup
    scores = _score(data, served, T)
    assert list(scores.columns) == list(schema.SCORE_COLUMNS)
    assert sorted(scores[schema.LEAD_ID]) == sorted(open_leads_at(data, T))
    assert scores[schema.LEAD_ID].is_unique
    assert scores[schema.PROBABILITY].between(0, 1).all()
    for column in (schema.SCORE, schema.FIT_SCORE, schema.INTENT_SCORE):
        assert (
            pd.api.types.is_integer_dtype(scores[column]) and scores[column].between(0, 100).all()
        )
    assert set(scores[schema.TIER]) <= set(schema.TIERS)
    assert scores[schema.IS_MQL].dtype == bool
    assert (scores[schema.AS_OF] == T).all()


def test_score_is_monotone_in_probability_and_tiers_follow_thresholds(
    setup: tuple[LeadData, ServedModel],
) -> None:
    data, served = setup
    scores = _score(data, served, T).sort_values(schema.PROBABILITY)
    assert (np.diff(scores[schema.SCORE].to_numpy()) >= 0).all()
    hot = scores[schema.SCORE] >= CONFIG.scoring.tiers.hot
    assert (scores.loc[hot, schema.TIER] == "hot").all()
    assert (scores[schema.IS_MQL] == (scores[schema.SCORE] >= CONFIG.scoring.mql.score)).all()


def test_full_history_and_history_truncated_at_t_give_identical_scores(
    setup: tuple[LeadData, ServedModel],
) -> None:
    data, served = setup
    pd.testing.assert_frame_equal(_score(data, served, T), _score(truncated(data, T), served, T))


def test_shap_values_add_up_to_the_booster_margin(setup: tuple[LeadData, ServedModel]) -> None:
    data, served = setup
    rows = scoring_rows(data, T).head(300)
    X = build_features(data, rows, served.spec)[served.feature_names]
    contributions, base = served.contributions(X)
    booster = served_booster(served.model)
    assert booster is not None
    margin = booster.predict(X[selected_columns(served.model)], raw_score=True)
    np.testing.assert_allclose(base + contributions.sum(axis=1), margin, atol=1e-9)


def test_fit_score_is_unchanged_by_events(setup: tuple[LeadData, ServedModel]) -> None:
    data, served = setup
    silent = LeadData(data.leads, data.events.iloc[0:0], data.outcomes, flat=False)
    with_events = _score(data, served, T).set_index(schema.LEAD_ID)
    without = _score(silent, served, T).set_index(schema.LEAD_ID)
    pd.testing.assert_series_equal(with_events[schema.FIT_SCORE], without[schema.FIT_SCORE])
    assert (with_events[schema.INTENT_SCORE] != without[schema.INTENT_SCORE]).any()


def test_intent_score_never_rises_without_new_events(setup: tuple[LeadData, ServedModel]) -> None:
    data, served = setup
    quiet = LeadData(
        data.leads, data.events[data.events[schema.OCCURRED_AT] < T], data.outcomes, False
    )
    later = T + pd.Timedelta(days=20)
    before = _score(quiet, served, T).set_index(schema.LEAD_ID)
    after = _score(quiet, served, later).set_index(schema.LEAD_ID)
    unsubscribed = set(
        quiet.events.loc[quiet.events[schema.EVENT_TYPE] == "unsubscribe", schema.LEAD_ID]
    )
    both = before.index.intersection(after.index).difference(list(unsubscribed))
    assert len(both) > 100
    assert (after.loc[both, schema.INTENT_SCORE] <= before.loc[both, schema.INTENT_SCORE]).all()
    pd.testing.assert_series_equal(
        after.loc[both, schema.FIT_SCORE], before.loc[both, schema.FIT_SCORE]
    )


def test_reasons_are_top_k_by_absolute_impact_with_plain_text(
    setup: tuple[LeadData, ServedModel],
) -> None:
    data, served = setup
    scores = _score(data, served, T)
    parsed = scores[schema.REASONS].map(json.loads)
    assert parsed.map(len).max() == CONFIG.scoring.top_reasons
    for reasons in parsed.head(200):
        impacts = [abs(r["impact"]) for r in reasons]
        assert impacts == sorted(impacts, reverse=True)
        assert all(set(r) == {"feature", "value", "impact", "text"} and r["text"] for r in reasons)
    signs = {np.sign(r["impact"]) for reasons in parsed for r in reasons}
    assert signs == {-1.0, 1.0}
    hottest = parsed[scores[schema.SCORE].idxmax()]
    assert any(
        r["text"].startswith(("Requested a demo", "Viewed pricing", "Signed up")) for r in hottest
    )


def _chunk(as_of: pd.Timestamp, n: int, tag: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            schema.LEAD_ID: [f"{tag}{i}" for i in range(n)],
            schema.AS_OF: pd.Series([as_of] * n, dtype="datetime64[us, UTC]"),
            schema.PROBABILITY: np.linspace(0, 1, n),
            schema.SCORE: np.arange(n) % 101,
            schema.FIT_SCORE: 50,
            schema.INTENT_SCORE: 50,
            schema.TIER: "warm",
            schema.IS_MQL: False,
            schema.REASONS: "[]",
            schema.MODEL_VERSION: "lead-scoring/1",
        }
    )


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_rerunning_an_as_of_replaces_its_rows(suffix: str, tmp_path: Path) -> None:
    destination = Destination.parse(str(tmp_path / f"scores{suffix}"))
    first, second = pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-01-02", tz="UTC")
    write_scores([_chunk(first, 10, "a")], destination, first)
    write_scores([_chunk(second, 5, "b")], destination, second)
    write_scores([_chunk(second, 3, "c"), _chunk(second, 4, "d")], destination, second)
    stored = read_scores(destination)
    assert len(stored) == 17
    assert stored.groupby(schema.AS_OF).size().tolist() == [10, 7]


@pytest.mark.parametrize(
    "url", ["duckdb:///{}/scores.duckdb", "sqlite:///{}/scores.sqlite#nightly"]
)
def test_database_outputs_replace_an_as_of_in_one_transaction(url: str, tmp_path: Path) -> None:
    destination = Destination.parse(url.format(tmp_path))
    first, second = pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-01-02", tz="UTC")
    write_scores([_chunk(first, 10, "a")], destination, first)
    write_scores([_chunk(second, 5, "b")], destination, second)
    write_scores([_chunk(second, 6, "c")], destination, second)
    stored = read_scores(destination)
    assert stored.groupby(schema.AS_OF).size().tolist() == [10, 6]


def test_formulas_in_csv_cells_are_neutralised(tmp_path: Path) -> None:
    chunk = _chunk(pd.Timestamp("2025-01-01", tz="UTC"), 2, "x")
    chunk.loc[0, schema.LEAD_ID] = '=HYPERLINK("http://x","y")'
    path = tmp_path / "scores.csv"
    write_scores([chunk], Destination.parse(str(path)), pd.Timestamp("2025-01-01", tz="UTC"))
    text = path.read_text()
    assert "'=HYPERLINK" in text
    assert '\n"=HYPERLINK' not in text and "\n=HYPERLINK" not in text


KILLED_WRITER = """
import sys, time
import numpy as np, pandas as pd
from predictive_scoring.data.outputs import Destination, write_scores
sys.path.insert(0, {root!r})
from tests.test_scoring import _chunk
as_of = pd.Timestamp("2025-01-02", tz="UTC")
def slow():
    for i in range(1000):
        yield _chunk(as_of, 1000, f"n{{i}}-")
        print("chunk", flush=True)
        time.sleep(0.05)
write_scores(slow(), Destination.parse({path!r}), as_of)
"""


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_writer_killed_mid_write_leaves_the_previous_output_intact(
    suffix: str, tmp_path: Path
) -> None:
    path = tmp_path / f"scores{suffix}"
    first = pd.Timestamp("2025-01-01", tz="UTC")
    write_scores([_chunk(first, 10, "a")], Destination.parse(str(path)), first)
    before = path.read_bytes()
    script = KILLED_WRITER.format(root=str(Path(__file__).parents[1]), path=str(path))
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    for _ in range(5):
        writer.stdout.readline()
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    time.sleep(0.1)
    assert path.read_bytes() == before
    second = pd.Timestamp("2025-01-02", tz="UTC")
    write_scores([_chunk(second, 5, "b")], Destination.parse(str(path)), second)
    write_scores([_chunk(second, 5, "b")], Destination.parse(str(path)), second)
    stored = read_scores(Destination.parse(str(path)))
    assert stored.groupby(schema.AS_OF).size().tolist() == [10, 5]


def test_percentile_scores_count_ties_half() -> None:
    reference = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    values = np.array([-1.0, 0.0, 0.5, 3.0, 9.0])
    # below + half of equal, out of 10: 0, 1.5, 3, 5.5, 10 -> 0, 15, 30, 55, 100
    assert percentile_score(values, reference).tolist() == [0, 15, 30, 55, 100]
    assert percentile_score(np.zeros(3), np.zeros(101)).tolist() == [50, 50, 50]
