"""Score destinations: files and databases, one as-of replaced at a time, atomically."""

from __future__ import annotations

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
from predictive_scoring.data.outputs import Destination, describe_output, read_scores, write_scores
from predictive_scoring.errors import UsageError


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


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_a_file_s_earlier_runs_are_rewritten_batch_by_batch(
    suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run reads the file's history a few rows at a time (never all of it at once), keeps the
    other as-of dates' rows as they were and counts only its own."""
    from predictive_scoring.data import outputs

    monkeypatch.setattr(outputs, "READ_BATCH_ROWS", 3)
    destination = Destination.parse(str(tmp_path / f"scores{suffix}"))
    days = [pd.Timestamp(f"2025-01-0{d}", tz="UTC") for d in (1, 2, 3)]
    for day, n in zip(days, (7, 8, 4), strict=True):
        assert write_scores([_chunk(day, n, day.strftime("%d"))], destination, day) == n
    before = read_scores(destination)
    assert write_scores([_chunk(days[1], 2, "again")], destination, days[1]) == 2
    after = read_scores(destination)
    assert after.groupby(schema.AS_OF).size().tolist() == [7, 2, 4]
    others = before[before[schema.AS_OF] != days[1]].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        after[after[schema.AS_OF] != days[1]].reset_index(drop=True), others
    )


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
from tests.data.test_outputs import _chunk
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
    script = KILLED_WRITER.format(root=str(Path(__file__).parents[2]), path=str(path))
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


def test_destinations_parse_files_and_database_tables() -> None:
    assert Destination.parse("out/scores.parquet").path == Path("out/scores.parquet")
    database = Destination.parse("sqlite:///scores.db#nightly")
    assert (database.url, database.table) == ("sqlite:///scores.db", "nightly")
    assert Destination.parse("duckdb:///s.duckdb").table == schema.DEFAULT_SCORES_TABLE
    with pytest.raises(UsageError, match=r"\.parquet or \.csv"):
        Destination.parse("scores.xlsx")


def test_described_outputs_hide_passwords() -> None:
    shown = describe_output("postgresql://scorer:s3cret@db:5432/crm#scores")
    assert "s3cret" not in shown and shown.endswith("#scores")


def test_reading_a_destination_that_does_not_exist_is_empty_and_creates_nothing(
    tmp_path: Path,
) -> None:
    for text in ("scores.parquet", "scores.csv", "duckdb:///{}/s.duckdb", "sqlite:///{}/s.db"):
        destination = Destination.parse(
            text.format(tmp_path) if "{}" in text else str(tmp_path / text)
        )
        frame = read_scores(destination)
        assert frame.empty and list(frame.columns) == list(schema.SCORE_COLUMNS)
    assert not list(tmp_path.iterdir())


def test_flat_exports_are_replaced_as_rows_without_an_as_of(tmp_path: Path) -> None:
    destination = Destination.parse(str(tmp_path / "flat.parquet"))
    flat = _chunk(pd.Timestamp("2025-01-01", tz="UTC"), 4, "f").assign(**{schema.AS_OF: pd.NaT})
    write_scores([flat], destination, None)
    write_scores([flat.head(2)], destination, None)
    assert len(read_scores(destination)) == 2


@pytest.mark.parametrize(
    "where",
    ["scores.parquet", "scores.csv", "duckdb:///{}/scores.duckdb", "sqlite:///{}/s.sqlite#nightly"],
)
def test_outputs_written_before_the_segment_column_gain_it(where: str, tmp_path: Path) -> None:
    """A destination of version 0.1 (no ``segment``) takes the new rows; its own rows read back
    with an empty segment, and a segment that looks like a number stays text."""
    first, second = pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-01-02", tz="UTC")
    old = _chunk(first, 4, "a")
    text = where.format(tmp_path) if "://" in where else str(tmp_path / where)
    if text.endswith(".parquet"):
        old.to_parquet(text)
    elif text.endswith(".csv"):
        old.to_csv(text, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    elif text.startswith("duckdb"):
        import duckdb

        with duckdb.connect(text.removeprefix("duckdb:///")) as con:
            con.register("old", old)
            con.execute("CREATE TABLE lead_scores AS SELECT * FROM old")
    else:
        import sqlalchemy as sa

        engine = sa.create_engine(text.split("#")[0])
        naive = old.assign(**{schema.AS_OF: old[schema.AS_OF].dt.tz_localize(None)})
        naive.to_sql("nightly", engine, index=False)
        engine.dispose()
    destination = Destination.parse(text)
    new = _chunk(second, 3, "b").assign(**{schema.SEGMENT: "007"})
    assert write_scores([new], destination, second) == 3
    stored = read_scores(destination).sort_values(schema.LEAD_ID)
    assert stored[schema.SEGMENT].tolist() == ["", "", "", "", "007", "007", "007"]
    assert stored.groupby(schema.AS_OF).size().tolist() == [4, 3]


@pytest.mark.parametrize(
    "where",
    ["scores.parquet", "scores.csv", "duckdb:///{}/scores.duckdb", "sqlite:///{}/s.sqlite#nightly"],
)
@pytest.mark.parametrize("rules_first", [False, True])
def test_a_rules_file_s_rows_add_points_beside_a_model_s(
    where: str, rules_first: bool, tmp_path: Path
) -> None:
    """``score --rules`` rows carry ``points``; a model's rows in the same destination hold it
    null, whichever came first, and the next run keeps both."""
    days = [pd.Timestamp(f"2025-01-0{d}", tz="UTC") for d in (1, 2, 3)]
    text = where.format(tmp_path) if "://" in where else str(tmp_path / where)
    destination = Destination.parse(text)

    def model(day: pd.Timestamp) -> pd.DataFrame:
        return _chunk(day, 3, "m").assign(**{schema.SEGMENT: ""})

    def rules(day: pd.Timestamp) -> pd.DataFrame:
        return _chunk(day, 2, "r").assign(
            **{
                schema.PROBABILITY: np.nan,
                schema.MODEL_VERSION: "rules:current",
                schema.POINTS: [12.5, -3.0],
            }
        )

    runs = [rules, model, rules] if rules_first else [model, rules, model]
    for day, run in zip(days, runs, strict=True):
        write_scores([run(day)], destination, day)
    stored = read_scores(destination).sort_values([schema.AS_OF, schema.LEAD_ID])
    by_run = stored.groupby(schema.AS_OF)[schema.POINTS].apply(lambda p: p.tolist()).tolist()
    model_points = [np.nan] * 3
    expected = (
        [[12.5, -3.0], model_points, [12.5, -3.0]]
        if rules_first
        else [model_points, [12.5, -3.0], model_points]
    )
    for got, want in zip(by_run, expected, strict=True):
        np.testing.assert_array_equal(np.asarray(got, dtype=float), np.asarray(want, dtype=float))
    assert stored.loc[stored[schema.POINTS].notna(), schema.MODEL_VERSION].unique().tolist() == [
        "rules:current"
    ]
