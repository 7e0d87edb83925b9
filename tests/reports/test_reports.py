"""The model card and the lead board, written by train, score --report and report."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from predictive_scoring import schema
from predictive_scoring.reports.lead_board import board_payload, lead_board
from tests.conftest import CliResult
from tests.reports.conftest import SCRIPT_COMPANY, BoardRun

OFFLINE = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//""")


def _payload(document: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="board-data">(.*?)</script>', document)
    assert found is not None
    loaded: dict[str, object] = json.loads(found.group(1))
    return loaded


def test_train_writes_the_model_card_and_logs_it_to_the_run(board_run: BoardRun) -> None:
    document = board_run.card.read_text(encoding="utf-8")
    for section in (
        "decision",
        "data",
        "leakage",
        "comparison",
        "charts",
        "importance",
        "scorecard",
    ):
        assert f'id="{section}"' in document
    assert "Promoted to champion" in document
    for model in ("points_baseline", "crm_naive_bayes", "lightgbm", "logistic"):
        assert model in document
    assert document.count("data:image/png;base64,") == 4
    assert not OFFLINE.search(document)
    assert board_run.training["model_card"] == str(board_run.card)
    artifacts = MlflowClient(tracking_uri=board_run.tracking_uri).list_artifacts(
        str(board_run.training["run_id"])
    )
    assert "model_card.html" in {a.path for a in artifacts}


def test_model_card_holds_no_lead_data(board_run: BoardRun) -> None:
    document = board_run.card.read_text(encoding="utf-8")
    leads = pd.read_csv(board_run.data / "leads.csv", dtype=str)
    full_names = leads["first_name"] + " " + leads["last_name"]
    for values in (leads["email"], leads["phone"], leads["company"], full_names):
        assert not any(v in document for v in values.dropna().unique())
    assert SCRIPT_COMPANY not in document and "alert(1)" not in document


def test_lead_board_ranks_every_open_lead_with_its_reasons(board_run: BoardRun) -> None:
    scores = pd.read_parquet(board_run.scores)
    payload = _payload(board_run.board.read_text(encoding="utf-8"))
    leads = payload["leads"]
    assert isinstance(leads, dict)
    assert len(leads["id"]) == len(scores) == board_run.scoring["rows"]
    assert leads["score"] == sorted(leads["score"], reverse=True)
    first = scores.set_index(schema.LEAD_ID).loc[leads["id"][0]]
    texts = payload["texts"]
    assert isinstance(texts, list)
    shown = [texts[int(i)] for i in leads["reasons"][0][::2]]
    assert shown == [r["text"] for r in json.loads(first[schema.REASONS])]
    assert payload["columns"] == ["company"]
    position = leads["id"].index(board_run.script_lead)
    assert leads["display"][position] == [SCRIPT_COMPANY]


def test_script_named_company_never_appears_as_markup(board_run: BoardRun) -> None:
    document = board_run.board.read_text(encoding="utf-8")
    assert SCRIPT_COMPANY not in document
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in document
    assert document.count("<script") == 2  # the data block and the board's own script
    assert not OFFLINE.search(document)


def test_report_command_rebuilds_the_board_from_written_scores(
    board_run: BoardRun, cli: Callable[..., CliResult]
) -> None:
    output = board_run.folder / "again.html"
    result = cli("report", "--scores", board_run.scores, "--output", output)
    assert result.code == 0, result.err
    again = _payload(output.read_text(encoding="utf-8"))
    scored = _payload(board_run.board.read_text(encoding="utf-8"))
    assert again["leads"]["id"] == scored["leads"]["id"]  # type: ignore[index]
    assert again["columns"] == []
    with_data = board_run.folder / "with-data.html"
    result = cli(
        "report", "--scores", board_run.scores, "--output", with_data, "--data", board_run.data
    )
    assert result.code == 0, result.err
    assert _payload(with_data.read_text(encoding="utf-8")) == scored


def test_report_on_missing_scores_is_one_clear_error(
    board_run: BoardRun, cli: Callable[..., CliResult]
) -> None:
    output = board_run.folder / "none.html"
    result = cli("report", "--scores", board_run.folder / "missing.parquet", "--output", output)
    assert result.code != 0
    assert "missing.parquet" in result.err and "Traceback" not in result.err
    assert not output.exists()


def _scores(rows: list[tuple[str, str, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            schema.LEAD_ID: [r[0] for r in rows],
            schema.AS_OF: pd.to_datetime([r[1] for r in rows], utc=True),
            schema.PROBABILITY: [r[2] / 100 for r in rows],
            schema.SCORE: [r[2] for r in rows],
            schema.FIT_SCORE: 50,
            schema.INTENT_SCORE: 40,
            schema.TIER: [r[3] for r in rows],
            schema.IS_MQL: [r[3] == "hot" for r in rows],
            schema.REASONS: [
                json.dumps([{"feature": "f", "value": "v", "impact": 0.5, "text": f"why {r[0]}"}])
                for r in rows
            ],
            schema.MODEL_VERSION: "m/1",
        }
    )


def test_board_shows_the_latest_as_of_ranked_and_shares_reason_texts() -> None:
    scores = _scores(
        [
            ("a", "2024-01-01", 90, "hot"),
            ("b", "2024-02-01", 20, "cold"),
            ("c", "2024-02-01", 85, "hot"),
            ("d", "2024-02-01", 60, "warm"),
        ]
    )
    payload = board_payload(scores[scores[schema.AS_OF] == scores[schema.AS_OF].max()], None, 2)
    leads = payload["leads"]
    assert leads["id"] == ["c", "d", "b"]
    assert leads["tier"] == [0, 1, 2] and leads["mql"] == [1, 0, 0]
    assert payload["texts"] == ["why c", "why d", "why b"]
    assert leads["reasons"] == [[0, 0.5], [1, 0.5], [2, 0.5]]
    document = lead_board(scores)
    assert '"id":["c","d","b"]' in document
    assert "3 open leads as of 2024-02-01" in document


def test_board_says_which_model_scored_each_lead_and_filters_by_segment() -> None:
    scores = _scores(
        [
            ("a", "2024-02-01", 90, "hot"),
            ("b", "2024-02-01", 20, "cold"),
            ("c", "2024-02-01", 85, "hot"),
        ]
    ).assign(
        **{
            schema.SEGMENT: ["<b>smb</b>", "", "<b>smb</b>"],
            schema.MODEL_VERSION: ["m-smb/2", "m/1", "m-smb/2"],
        }
    )
    payload = board_payload(scores, None, 10)
    assert payload["segments"] == ["", "<b>smb</b>"] and payload["versions"] == ["m-smb/2", "m/1"]
    assert payload["leads"]["segment"] == [1, 1, 0] and payload["leads"]["model"] == [0, 0, 1]
    document = lead_board(scores)
    assert '<select id="segment"' in document and "&lt;b&gt;smb&lt;/b&gt;" in document
    assert "<b>smb</b>" not in document
    # a board of one model, or of scores written before segments, has no segment filter
    assert '<select id="segment"' not in lead_board(_scores([("a", "2024-02-01", 90, "hot")]))


@pytest.mark.parametrize("leads", [100_000])
def test_board_of_100k_leads_stays_a_few_megabytes(leads: int) -> None:
    rows = [(f"L{i:06d}", "2024-02-01", i % 101, "warm") for i in range(leads)]
    document = lead_board(_scores(rows))
    assert len(document.encode("utf-8")) < 12_000_000


def test_board_of_a_flat_export_shows_every_lead() -> None:
    scores = _scores([("a", "2024-01-01", 30, "cold"), ("b", "2024-01-01", 90, "hot")])
    scores[schema.AS_OF] = pd.NaT
    document = lead_board(scores)
    assert _payload(document)["leads"]["id"] == ["b", "a"]  # type: ignore[index]
    assert "2 open leads as of a flat export" in document


@pytest.mark.parametrize("url", ["sqlite:///{}/none.db#scores", "duckdb:///{}/none.duckdb#scores"])
def test_report_on_a_missing_database_table_is_a_usage_error_and_creates_nothing(
    url: str, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    scores = url.format(tmp_path)
    result = cli("report", "--scores", scores, "--output", tmp_path / "board.html")
    assert result.code == 2, result.err
    assert "no scores there" in result.err and "Traceback" not in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_board_of_a_chosen_as_of_shows_that_run_only() -> None:
    scores = _scores([("a", "2024-01-01", 90, "hot"), ("b", "2024-02-01", 20, "cold")])
    document = lead_board(scores, as_of=pd.Timestamp("2024-01-01", tz="UTC"))
    assert _payload(document)["leads"]["id"] == ["a"]  # type: ignore[index]
    assert "1 open leads as of 2024-01-01 00:00 UTC" in document


def test_scores_read_back_from_duckdb_are_utc_whatever_the_session_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from predictive_scoring.data.outputs import Destination, read_scores, write_scores

    scores = _scores([("a", "2024-03-01 12:00", 90, "hot")])
    destination = Destination.parse(f"duckdb:///{tmp_path}/s.duckdb#scores")
    write_scores(iter([scores]), destination, pd.Timestamp("2024-03-01 12:00", tz="UTC"))
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    try:
        back = read_scores(destination)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert str(back[schema.AS_OF].dt.tz) == "UTC"
    assert back[schema.AS_OF].iloc[0] == pd.Timestamp("2024-03-01 12:00", tz="UTC")
    assert "as of 2024-03-01 12:00 UTC" in lead_board(back)
