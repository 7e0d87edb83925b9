"""``demo``: generated data through the main job, end to end."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from predictive_scoring.config import load_config
from predictive_scoring.jobs.common import Reporter, Silent, load
from predictive_scoring.jobs.score import ScoreRun, score_loaded
from predictive_scoring.jobs.several import train_validated
from predictive_scoring.jobs.train import TrainRun

__all__ = ["DEMO_LEADS", "DemoRun", "demo_job"]

DEMO_LEADS = 5_000


@dataclass(frozen=True)
class DemoRun:
    """The demo's data, training, scores and lead board."""

    data: Path
    training: TrainRun
    scoring: ScoreRun
    scores: Path
    board: Path
    tracking_uri: str

    def to_dict(self) -> dict[str, Any]:
        """The summary as ``--json`` prints it."""
        return {
            "data": str(self.data),
            "training": self.training.to_dict(),
            "scoring": self.scoring.to_dict(),
        }


def demo_job(
    output_dir: Path, leads: int = DEMO_LEADS, seed: int = 0, reporter: Reporter | None = None
) -> DemoRun:
    """Generate a realistic funnel into ``output_dir/data`` and run the main job on it end to end:
    train and register, write the model card, score the open leads and write the lead board."""
    from predictive_scoring.data.synthetic import generate_funnel

    reporter = reporter or Silent()
    data_dir = output_dir / "data"
    reporter.say(f"Generating {leads:,} leads (seed {seed}) into {data_dir} ...")
    generate_funnel(n_leads=leads, seed=seed).write(data_dir)
    config = load_config().with_overrides(
        {"reports.model_card": str(output_dir / "model-card.html")}
    )
    validated = load(
        str(data_dir), config, require_labels=True, quarantine_dir=output_dir / "quarantine"
    )
    reporter.say(validated.report.render())
    uri = f"sqlite:///{(output_dir / 'mlflow.db').resolve()}"
    when = validated.data.latest_timestamp()
    trained = train_validated(validated, config, when, uri, reporter)
    scores = output_dir / "scores.parquet"
    board = output_dir / "lead-board.html"
    scored = score_loaded(
        validated, config, str(scores), as_of=when, tracking_uri=uri, report=board,
        reporter=reporter,
    )  # fmt: skip
    return DemoRun(data_dir, trained, scored, scores, board, uri)
