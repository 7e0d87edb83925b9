"""The jobs every caller shares: typed results that agree with what they wrote."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow import MlflowClient

from predictive_scoring import jobs, schema
from predictive_scoring.config import load_config
from predictive_scoring.errors import UsageError
from predictive_scoring.scoring import MQL
from tests.conftest import Funnels

TRAIN_KEYS = {
    "run_id", "model_name", "version", "promoted", "promotion", "served_model", "decision",
    "as_of", "tracking_uri", "model_card", "points_rules", "metrics", "timing", "models",
}  # fmt: skip
SCORE_KEYS = {
    "as_of", "model_version", "model_uri", "rows", "counts", "unseen_event_types", "output",
    "drift", "drift_warning", "run_id", "timing", "models",
}  # fmt: skip


RULES_FILE = """\
name: demo-rules
threshold: 40
max_points: 100
attributes:
  - {column: industry, equals: [Software, Finance], points: 10}
behaviours:
  - {event_type: demo_request, points: 30, within_days: 30}
  - {event_type: pricing_page_view, points: 5, max_times: 4, half_life_days: 14}
inactivity: {after_days: 30, points: -10}
"""


def _experiment_id(uri: str, config: Any) -> str:
    found = MlflowClient(uri).get_experiment_by_name(config.tracking.experiment)
    assert found is not None
    return str(found.experiment_id)


class Recorder:
    """A reporter that keeps what it was told."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.counted = 0
        self.steps: list[str] = []

    def say(self, text: str) -> None:
        self.lines.append(text)

    def warn(self, text: str) -> None:
        self.lines.append(f"warning: {text}")

    def counter(self, unit: str):  # type: ignore[no-untyped-def]
        import contextlib

        @contextlib.contextmanager
        def counting():  # type: ignore[no-untyped-def]
            def add(n: int) -> None:
                self.counted += n

            yield add

        return counting()

    def step(self, name: str):  # type: ignore[no-untyped-def]
        import contextlib

        self.steps.append(name)
        return contextlib.nullcontext()


@pytest.mark.slow
def test_train_then_score_return_what_they_wrote(funnels: Funnels, tmp_path: Path) -> None:
    config = load_config().with_overrides(
        {"models.num_threads": 1, "reports.model_card": str(tmp_path / "card.html")}
    )
    source = str(funnels.folder(2000, 2))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_FILE, "utf-8")
    trained = jobs.train_job(
        source, config, tracking_uri=uri, quarantine_dir=tmp_path / "q", rules=[rules]
    )
    assert set(trained.to_dict()) == TRAIN_KEYS | {"rules"}
    # the rules file beside the candidates: compared on the same window, never served
    assert "rules:demo-rules" in trained.to_dict()["metrics"]
    assert trained.result.served != "rules:demo-rules"
    handoff = trained.to_dict()["rules"]["rules:demo-rules"]
    assert handoff["rules"]["rows"] == handoff["model"]["rows"] > 0
    assert handoff["threshold"] == 40 and 0 <= handoff["model_score_cut"] <= 100
    assert handoff["file"]["behaviours"][1] == {
        "event_type": "pricing_page_view", "points": 5.0, "max_times": 4, "half_life_days": 14.0
    }  # fmt: skip
    card = trained.model_card.read_text()
    assert "Your rules and the model" in card and "rules:demo-rules at ≥ 40 points" in card
    child = MlflowClient(uri).search_runs(
        [_experiment_id(uri, config)],
        "tags.candidate = 'rules:demo-rules'",
    )
    assert len(child) == 1 and "roc_auc" in child[0].data.metrics
    trained_steps = {
        "read and validate", "feature spec", "snapshots", "windows", "features", "leakage audit",
        "candidates", "candidates/points_baseline", "candidates/crm_naive_bayes", "candidates/lightgbm",
        "candidates/lightgbm/early-stopped fits", "candidates/logistic", "test predictions",
        "bootstrap intervals", "refit on every labelled row",
        "refit on every labelled row/out-of-fold copies", "reference population", "charts",
        "mlflow logging", "model packaging", "promotion gate", "model card",
    }  # fmt: skip
    assert [s["step"] for s in trained.timing["steps"]][:3] == [
        "read and validate", "feature spec", "snapshots",
    ]  # fmt: skip
    assert trained_steps <= {s["step"] for s in trained.timing["steps"]}
    outermost = sum(s["seconds"] for s in trained.timing["steps"] if "/" not in s["step"])
    assert outermost <= trained.timing["total_seconds"] + 0.01
    assert trained.registration.version == "1" and trained.registration.promoted
    assert trained.model_card.read_text().count(trained.registration.run_id) == 1
    reporter = Recorder()
    output = tmp_path / "scores.parquet"
    scored = jobs.score_job(
        source, config, str(output), tracking_uri=uri, quarantine_dir=tmp_path / "q",
        report=tmp_path / "board.html", reporter=reporter,
    )  # fmt: skip
    assert set(scored.to_dict()) == SCORE_KEYS | {"report"}
    written = pd.read_parquet(output)
    batch = scored.batch
    assert batch.rows == len(written) == reporter.counted
    assert batch.model_version == f"{config.tracking.model_name}/1"
    tiers = written[schema.TIER].value_counts().to_dict()
    assert {k: v for k, v in batch.counts.items() if k != MQL} == tiers
    assert batch.counts[MQL] == int(written[schema.IS_MQL].sum())
    steps = {s["step"]: s for s in batch.timing["steps"]}
    scoring_steps = {"read and validate", "load model", "rows", "features", "predict and shap"}
    assert scoring_steps | {"reasons", "write", "drift", "lead board"} <= set(steps)
    assert sum(s["seconds"] for s in steps.values()) <= batch.timing["total_seconds"] + 0.01
    assert all(0 < s["peak_gb"] <= batch.timing["peak_gb"] + 0.01 for s in steps.values())
    assert reporter.steps[:2] == ["read and validate", "load model"]
    assert any(line.startswith(f"Scored {batch.rows:,} open leads") for line in reporter.lines)
    assert scored.report is not None and scored.report.exists()
    # the learned points: in the run and beside the card, and scored as a rules file
    learned = trained.points_rules
    assert learned == tmp_path / "card.points_rules.yaml"
    assert trained.to_dict()["points_rules"] == str(learned)
    logged = MlflowClient(uri).download_artifacts(
        trained.registration.run_id, "points_rules.yaml", str(tmp_path / "logged")
    )
    assert Path(logged).read_text("utf-8") == learned.read_text("utf-8")
    by_rules = jobs.score_job(
        source, config, str(tmp_path / "learned.parquet"), tracking_uri=uri,
        quarantine_dir=tmp_path / "q", rules=learned, reporter=Recorder(),
    )  # fmt: skip
    rows = pd.read_parquet(tmp_path / "learned.parquet")
    assert by_rules.batch.rows == len(rows) == len(written)
    assert rows[schema.MODEL_VERSION].unique().tolist() == ["rules:learned-points"]
    assert rows[schema.POINTS].between(-1, 101).all() and rows[schema.POINTS].std() > 1


def test_as_of_is_none_for_flat_exports_the_latest_time_by_default_or_parsed(
    funnels: Funnels,
) -> None:
    data = funnels.data(1500, 11)
    assert jobs.resolve_as_of(None, data) == data.latest_timestamp()
    assert jobs.resolve_as_of("2025-06-01", data) == pd.Timestamp("2025-06-01", tz="UTC")
    assert jobs.resolve_as_of("2025-06-01", replace(data, flat=True)) is None
    with pytest.raises(UsageError, match="--as-of"):
        jobs.resolve_as_of("yesterday", data)


def test_a_source_comes_from_the_flag_or_the_config() -> None:
    config = load_config()
    assert jobs.resolve_source("data/", config) == "data/"
    with pytest.raises(UsageError, match="no data source"):
        jobs.resolve_source(None, config)
    configured = config.with_overrides({"data.source": "duckdb:///crm.db"})
    assert jobs.resolve_source(None, configured) == "duckdb:///crm.db"


def test_a_board_of_nothing_is_a_usage_error_when_rows_are_required(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no scores there"):
        jobs.report_job(
            str(tmp_path / "none.parquet"), tmp_path / "b.html", load_config(), require_rows=True
        )
    assert not (tmp_path / "b.html").exists()
