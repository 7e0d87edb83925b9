"""``backtest`` and ``performance`` end to end (CONTRACT section 8): a backtest's origins score
exactly as train + score as of each would, and performance reads them back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from predictive_scoring import jobs, schema
from predictive_scoring.config import load_config
from tests.conftest import CliResult, Funnels, Tables

N_LEADS, SEED = 2000, 2
COMPARED = [schema.LEAD_ID, schema.AS_OF, schema.PROBABILITY, schema.SCORE, schema.TIER]


@pytest.mark.slow
def test_backtest_origins_score_as_train_then_score_would(funnels: Funnels, tmp_path: Path) -> None:
    source = str(funnels.folder(N_LEADS, SEED))
    latest = funnels.data(N_LEADS, SEED).latest_timestamp()
    assert latest is not None
    second = latest.floor("D") - pd.Timedelta(days=45)
    first = second - pd.Timedelta(days=30)
    config = load_config().with_overrides(
        {
            "models.candidates": ["lightgbm"],  # the same path; one candidate keeps it short
            "reports.model_card": str(tmp_path / "card.html"),
        }
    )
    output = tmp_path / "backtest.parquet"
    run = jobs.backtest_job(
        source, config, str(output), start=first, end=second + pd.Timedelta(days=10),
        every_days=30, tracking_uri=f"sqlite:///{tmp_path / 'bt.db'}",
        quarantine_dir=tmp_path / "q",
    )  # fmt: skip
    assert [o["as_of"] for o in run.origins] == [first.isoformat(), second.isoformat()]
    assert run.model_name == "lead-scoring-backtest"
    assert run.origins[0]["promoted"] and run.origins[0]["scored_with"].startswith(
        "lead-scoring-backtest/"
    )
    uri = f"sqlite:///{tmp_path / 'by-hand.db'}"
    by_hand = tmp_path / "by-hand.parquet"
    for origin in (first, second):
        jobs.train_job(
            source, config, as_of=origin, tracking_uri=uri, quarantine_dir=tmp_path / "q"
        )
        jobs.score_job(source, config, str(by_hand), as_of=origin, tracking_uri=uri,
                       quarantine_dir=tmp_path / "q")  # fmt: skip
    ours = pd.read_parquet(output).sort_values([schema.AS_OF, schema.LEAD_ID])
    theirs = pd.read_parquet(by_hand).sort_values([schema.AS_OF, schema.LEAD_ID])
    pd.testing.assert_frame_equal(
        ours[COMPARED].reset_index(drop=True), theirs[COMPARED].reset_index(drop=True)
    )
    assert ours[schema.TREND].notna().sum() == (ours[schema.AS_OF] == second).sum()
    measured = jobs.performance_job(
        str(output), source, config, output=tmp_path / "performance.html",
        quarantine_dir=tmp_path / "q",
    )  # fmt: skip
    runs = measured.summary["runs"]
    assert [r["status"] for r in runs] == ["complete", "complete"]
    assert runs[1]["conversions"] > 0 and runs[1]["roc_auc"] > 0.6
    assert sum(r["tiers"][t]["leads"] for r in runs[:1] for t in schema.TIERS) == runs[0]["leads"]
    assert (tmp_path / "performance.html").exists()


def test_bad_input_exits_with_one_clear_line_and_writes_nothing(
    tables: Tables, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    data = tables.write(tmp_path / "data")
    report = tmp_path / "performance.html"
    none = cli("performance", "--scores", tmp_path / "nothing.parquet", "--data", data,
               "--output", report)  # fmt: skip
    assert none.code == 2 and "no scores there yet" in none.err and not report.exists()
    assert len(none.err.strip().splitlines()) == 1
    backwards = cli(
        "backtest", "--data", data, "--start", "2025-03-01", "--end", "2025-01-01",
        "--output", tmp_path / "bt.parquet", "--tracking-uri", f"sqlite:///{tmp_path / 'x.db'}",
    )  # fmt: skip
    assert backwards.code == 2 and "is after --end" in backwards.err
    assert not (tmp_path / "bt.parquet").exists() and not (tmp_path / "x.db").exists()
    # scores to measure, but data without outcomes
    scores = tmp_path / "scores.parquet"
    pd.DataFrame(
        {schema.LEAD_ID: ["L1"], schema.AS_OF: [pd.Timestamp("2024-01-01", tz="UTC")],
         schema.PROBABILITY: [0.5], schema.SCORE: [50], schema.TIER: ["warm"],
         schema.IS_MQL: [False], schema.MODEL_VERSION: ["m/1"], schema.SEGMENT: [""]}
    ).to_parquet(scores)  # fmt: skip
    without = tables.write(tmp_path / "no-outcomes", skip=("outcomes",))
    missing = cli("performance", "--scores", scores, "--data", without, "--output", report)
    assert missing.code in (2, 3) and "outcomes" in missing.err and not report.exists()
    assert len(missing.err.strip().splitlines()) == 1
