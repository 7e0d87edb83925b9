"""``--engine spark`` (CONTRACT section 9) against the DuckDB engine, on a real ``local[2]`` Spark:
the same rows, the same point-in-time rules, partitions replaced one by one and atomically."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest

from predictive_scoring import schema
from predictive_scoring.config import Config, load_config
from predictive_scoring.jobs import score_job
from predictive_scoring.spark.outputs import PENDING, REPLACED, recover_partitions
from tests.conftest import Funnels

pytestmark = pytest.mark.spark

MODEL = "spark-engine"
MODEL_URI = f"models:/{MODEL}@champion"
T1 = pd.Timestamp("2026-01-01", tz="UTC")
T2 = pd.Timestamp("2026-01-08", tz="UTC")
EXACT = [
    schema.LEAD_ID,
    schema.SCORE,
    schema.FIT_SCORE,
    schema.INTENT_SCORE,
    schema.TIER,
    schema.IS_MQL,
    schema.REASONS,
    schema.MODEL_VERSION,
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, funnels: Funnels) -> tuple[str, Path]:
    """The session's model of the 3,000-lead funnel as a SQLite store's champion, and its data."""
    from tests.stores import register_trained
    from tests.test_training import N_LEADS, SEED

    uri = register_trained(tmp_path_factory.mktemp("spark-store"), funnels, MODEL)
    return uri, funnels.folder(N_LEADS, SEED)


def _config(engine: str) -> Config:
    return load_config().with_overrides({"engine.name": engine})


def _score(
    store: tuple[str, Path], engine: str, output: Path, at: pd.Timestamp, data: Path | None = None
) -> Any:
    uri, folder = store
    return score_job(
        str(data or folder),
        _config(engine),
        str(output),
        as_of=at,
        model=MODEL_URI,
        tracking_uri=uri,
        quarantine_dir=output.parent / "quarantine",
    )


def _partition(folder: Path, at: pd.Timestamp) -> pd.DataFrame:
    """One as-of's rows of a Spark engine output, by lead."""
    table = ds.dataset(folder, partitioning="hive").to_table().to_pandas()
    stamps = pd.to_datetime(table[schema.AS_OF].astype(str), utc=True)
    rows = table[(stamps == at).to_numpy()].drop(columns=schema.AS_OF)
    return rows.sort_values(schema.LEAD_ID).reset_index(drop=True)


def _duck_rows(path: Path, at: pd.Timestamp) -> pd.DataFrame:
    rows = pd.read_parquet(path)
    rows = rows[pd.to_datetime(rows[schema.AS_OF], utc=True) == at].drop(columns=schema.AS_OF)
    return rows.sort_values(schema.LEAD_ID).reset_index(drop=True)


def _assert_same_rows(spark_rows: pd.DataFrame, duck_rows: pd.DataFrame) -> None:
    assert len(spark_rows) == len(duck_rows) > 100
    for column in EXACT:
        assert spark_rows[column].astype(str).tolist() == duck_rows[column].astype(str).tolist(), (
            column
        )
    gap = np.abs(spark_rows[schema.PROBABILITY] - duck_rows[schema.PROBABILITY]).max()
    assert gap <= 1e-9


@dataclass(frozen=True)
class Scored:
    """Both engines' outputs of T1 then T2 (the second run with history)."""

    duck: Path
    spark: Path
    spark_rows: int


@pytest.fixture(scope="module")
def scored(spark: Any, store: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Scored:
    folder = tmp_path_factory.mktemp("scored")
    rows = 0
    for at in (T1, T2):
        _score(store, "duckdb", folder / "duck.parquet", at)
        rows = _score(store, "spark", folder / "spark-scores", at).batch.rows
    return Scored(folder / "duck.parquet", folder / "spark-scores", rows)


def test_spark_rows_equal_the_duckdb_engines(scored: Scored) -> None:
    """Two as-ofs into each engine's destination: every row and every change column equal."""
    assert scored.spark_rows == len(_partition(scored.spark, T2))
    for at in (T1, T2):
        _assert_same_rows(_partition(scored.spark, at), _duck_rows(scored.duck, at))
    later = _partition(scored.spark, T2)
    duck_later = _duck_rows(scored.duck, T2)
    for column in (schema.PREVIOUS_SCORE, schema.SCORE_CHANGE):
        np.testing.assert_array_equal(
            later[column].to_numpy(dtype=float, na_value=np.nan),
            duck_later[column].to_numpy(dtype=float, na_value=np.nan),
        )
    for column in (schema.TREND, schema.NEWLY_HOT):
        assert later[column].astype(str).tolist() == duck_later[column].astype(str).tolist(), column
    assert (later[schema.TREND] != schema.TREND_NEW).mean() > 0.5  # history was found


def _truncate(folder: Path, at: pd.Timestamp, into: Path) -> Path:
    """The history a user would have had at ``at``: later rows do not exist yet."""
    into.mkdir()
    leads = pd.read_parquet(folder / "leads.parquet")
    events = pd.read_parquet(folder / "events.parquet")
    outcomes = pd.read_parquet(folder / "outcomes.parquet")
    created = pd.to_datetime(leads[schema.CREATED_AT], utc=True)
    leads[(created < at).to_numpy()].to_parquet(into / "leads.parquet")
    occurred = pd.to_datetime(events[schema.OCCURRED_AT], utc=True)
    events[(occurred < at).to_numpy()].to_parquet(into / "events.parquet")
    ended = pd.Series(False, index=outcomes.index)
    for column in (schema.CONVERTED_AT, schema.CLOSED_AT):
        if column in outcomes:
            ended |= (pd.to_datetime(outcomes[column], utc=True) < at).fillna(False)
    outcomes[ended.to_numpy()].to_parquet(into / "outcomes.parquet")
    return into


def test_full_and_truncated_history_score_identically(
    scored: Scored, store: tuple[str, Path], tmp_path: Path
) -> None:
    short = _truncate(store[1], T1, tmp_path / "truncated")
    _score(store, "spark", tmp_path / "short", T1, data=short)
    pd.testing.assert_frame_equal(
        _partition(scored.spark, T1).drop(columns=list(schema.CHANGE_COLUMNS)),
        _partition(tmp_path / "short", T1).drop(columns=list(schema.CHANGE_COLUMNS)),
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.parquet"))}


def test_rescoring_an_as_of_replaces_only_its_partition(
    scored: Scored, store: tuple[str, Path], tmp_path: Path
) -> None:
    output = tmp_path / "scores"
    shutil.copytree(scored.spark, output)
    (later,) = [p for p in output.iterdir() if p.name.startswith("as_of=2026-01-08")]
    before = _files(later)
    first = _partition(output, T1)
    _score(store, "spark", output, T1)
    assert _files(later) == before  # the other as-of is not touched
    again = _partition(output, T1)
    assert len(again) == len(first) == again[schema.LEAD_ID].nunique()  # replaced, not appended
    pd.testing.assert_frame_equal(again, first)
    assert sorted(p.name for p in output.iterdir() if not p.name.startswith("as_of=")) == []


def test_a_swap_killed_between_its_renames_is_put_back(tmp_path: Path) -> None:
    """The previous partition renamed aside, the new one not yet in place: the next write (or any
    reader of ours) restores it, and leftover pending writes are removed."""
    folder = tmp_path / "scores"
    aside = folder / f"{REPLACED}0123abcd-as_of=2026-01-01 00%3A00%3A00"
    aside.mkdir(parents=True)
    (aside / "part-0.parquet").write_bytes(b"rows")
    (folder / f"{PENDING}feed").mkdir()
    assert recover_partitions(folder) == ["as_of=2026-01-01 00%3A00%3A00"]
    assert [p.name for p in folder.iterdir()] == ["as_of=2026-01-01 00%3A00%3A00"]
    assert (folder / "as_of=2026-01-01 00%3A00%3A00" / "part-0.parquet").read_bytes() == b"rows"


def test_a_job_killed_mid_write_leaves_the_previous_partition(
    scored: Scored, store: tuple[str, Path], tmp_path: Path
) -> None:
    uri, data = store
    output = tmp_path / "scores"
    shutil.copytree(scored.spark, output)
    before = _partition(output, T1)
    command = [
        sys.executable, "-m", "predictive_scoring", "score", "--engine", "spark", "--data", str(data),
        "--output", str(output), "--as-of", T1.isoformat(), "--model", MODEL_URI,
        "--tracking-uri", uri, "--quarantine-dir", str(tmp_path / "q"),
    ]  # fmt: skip
    job = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 240
    while not any(p.name.startswith(PENDING) for p in output.iterdir()):
        assert job.poll() is None, "the job ended before it began writing"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    pd.testing.assert_frame_equal(_partition(output, T1), before)
    _score(store, "spark", output, T1)  # the next run clears what the killed one left
    assert [p.name for p in output.iterdir() if not p.name.startswith("as_of=")] == []
    pd.testing.assert_frame_equal(_partition(output, T1), before)


def test_a_spark_table_destination_replaces_one_as_of(
    spark: Any, scored: Scored, store: tuple[str, Path]
) -> None:
    """A table holding T1 and T2 (the folder's rows): re-scoring T1 replaces T1's rows only."""
    table = "default.lead_scores_test"
    spark.read.parquet(str(scored.spark)).write.partitionBy(schema.AS_OF).saveAsTable(table)
    later = _partition_of_table(spark.table(table).toPandas(), T2)
    _score(store, "spark", Path(f"spark:{table}"), T1)
    rows = spark.table(table).toPandas()
    again = _partition_of_table(rows, T1)
    assert len(again) == again[schema.LEAD_ID].nunique() == len(_partition(scored.spark, T1))
    pd.testing.assert_frame_equal(
        _partition_of_table(rows, T2).sort_values(schema.LEAD_ID).reset_index(drop=True),
        later.sort_values(schema.LEAD_ID).reset_index(drop=True),
    )


def _partition_of_table(rows: pd.DataFrame, at: pd.Timestamp) -> pd.DataFrame:
    return rows[(pd.to_datetime(rows[schema.AS_OF], utc=True) == at).to_numpy()]


def _without(
    block: str, env: dict[str, str], tmp_path: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run the command line with ``block`` Python code run first (to hide a module)."""
    code = f"{block}\nimport sys\nfrom predictive_scoring.cli import run\nsys.argv = ['predictive-scoring', *sys.argv[1:]]\nrun()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=tmp_path
    )


def test_without_java_or_pyspark_the_spark_engine_exits_2(tmp_path: Path, funnels: Funnels) -> None:
    """One line saying what to install; the DuckDB engine still works without PySpark."""
    data = str(funnels.folder(500, 4))
    score = ("score", "--engine", "spark", "--data", data, "--output", str(tmp_path / "out"))
    no_java = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"} | {"PATH": "/nonexistent"}
    found = _without("", no_java, tmp_path, *score)
    assert found.returncode == 2, found.stderr
    assert found.stderr.strip().splitlines() == [
        "error: --engine spark needs a Java runtime (17 or later): install one, e.g. "
        "apt-get install openjdk-17-jre-headless, or set JAVA_HOME"
    ]
    hidden = "import sys\nsys.modules['pyspark'] = None"
    found = _without(hidden, dict(os.environ), tmp_path, *score)
    assert found.returncode == 2, found.stderr
    assert "needs PySpark: pip install 'predictive-scoring[spark]'" in found.stderr
    assert len(found.stderr.strip().splitlines()) == 1
    assert _without(hidden, dict(os.environ), tmp_path, "validate", "--data", data).returncode == 0


def test_training_features_on_spark_equal_the_duckdb_engines(spark: Any, funnels: Funnels) -> None:
    """Every labelled snapshot row (entry rows included, each at its own time): the same
    features from Spark as from DuckDB."""
    from predictive_scoring.features.spec import build_features
    from predictive_scoring.spark.training import spark_intent
    from predictive_scoring.training import labelled_rows
    from tests.test_training import AS_OF, N_LEADS, SEED

    data = funnels.data(N_LEADS, SEED)
    config = load_config()
    spec = funnels.trained(N_LEADS, SEED, AS_OF).spec
    rows, _ = labelled_rows(data, config, AS_OF)
    here = build_features(data, rows, spec, 2)
    there = build_features(data, rows, spec, 2, intent=spark_intent(config.engine))
    assert len(rows) > 5_000 and rows[schema.ENTRY].any()
    pd.testing.assert_frame_equal(there, here, check_exact=False, rtol=1e-12, atol=1e-12)


def test_train_and_score_on_spark_from_the_command_line(
    spark: Any, funnels: Funnels, cli: Any, tmp_path: Path
) -> None:
    data = funnels.folder(800, 2)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    common = ("--data", data, "--tracking-uri", uri, "--engine", "spark")
    trained = cli("train", *common, "--model-card", tmp_path / "card.html", "--json")
    assert trained.code == 0, trained.err
    scored = cli("score", *common, "--output", tmp_path / "scores", "--json")
    assert scored.code == 0, scored.err
    rows = ds.dataset(tmp_path / "scores", partitioning="hive").to_table().to_pandas()
    assert len(rows) == scored.json["rows"] == rows[schema.LEAD_ID].nunique() > 50
    assert set(schema.SCORE_COLUMNS) <= set(rows.columns)
    assert rows[schema.SCORE].between(0, 100).all() and rows[schema.PROBABILITY].between(0, 1).all()
    assert set(rows[schema.TIER]) <= set(schema.TIERS)


def test_a_messy_csv_export_gives_the_same_rows_and_bad_rows(
    spark: Any, store: tuple[str, Path], tmp_path: Path
) -> None:
    """Duplicated events, orphans, unreadable timestamps and stray spellings, as CSV text: the
    same rows set aside by each engine, for the same reasons, and the same scores."""
    from predictive_scoring.data.synthetic import generate_funnel

    folder = tmp_path / "messy"
    generate_funnel(3000, seed=5, messy=True).write(folder, fmt="csv")
    duck = _score(store, "duckdb", tmp_path / "duck" / "scores.parquet", T1, data=folder)
    run = _score(store, "spark", tmp_path / "spark" / "scores", T1, data=folder)
    assert run.batch.rows == duck.batch.rows > 100
    _assert_same_rows(
        _partition(tmp_path / "spark" / "scores", T1),
        _duck_rows(tmp_path / "duck" / "scores.parquet", T1),
    )
    for table in ("leads", "events", "outcomes"):
        found = list((tmp_path / "duck" / "quarantine").glob(f"{table}*.csv"))
        expected = (
            pd.read_csv(found[0])[schema.QUARANTINE_REASON].value_counts()
            if found
            else pd.Series(dtype=int)
        )
        spark_dir = tmp_path / "spark" / "quarantine" / f"{table}.parquet"
        got = (
            pd.read_parquet(spark_dir)[schema.QUARANTINE_REASON].value_counts()
            if spark_dir.exists()
            else pd.Series(dtype=int)
        )
        assert got.sum() == expected.sum(), (table, got.to_dict(), expected.to_dict())
    assert (tmp_path / "spark" / "quarantine" / "events.parquet").exists()


def test_history_without_events_has_intent_statistics_of_no_type(
    spark: Any, funnels: Funnels
) -> None:
    """A funnel of leads and outcomes only (the Olist export) learns a spec with no event type:
    the per-lead statistics are then the lead alone, and its intent features come out as for a
    lead without events."""
    from dataclasses import replace

    from predictive_scoring.features.spec import intent_from_wide
    from predictive_scoring.spark.scoring import wide_statistics
    from tests.test_training import AS_OF, N_LEADS, SEED

    spec = replace(funnels.trained(N_LEADS, SEED, AS_OF).spec, event_types=())
    events = spark.createDataFrame([], "lead_id STRING, t_us BIGINT, event_type STRING")
    rows = spark.createDataFrame([("a",), ("b",)], "lead_idx STRING")
    wide = wide_statistics(spark, events, rows, spec, 1_700_000_000_000_000).toPandas()
    assert list(wide.columns) == ["lead_idx"] and len(wide) == 0
    features = intent_from_wide(
        pd.DataFrame(index=range(2)), np.full(2, 86_400_000_000 * 40), np.zeros(2), spec
    )
    assert features["lead_age_days"].tolist() == [40.0, 40.0]
    assert features["log_total_events"].tolist() == [0.0, 0.0]
