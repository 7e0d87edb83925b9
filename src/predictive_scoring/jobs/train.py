"""``train``: validate, train, log to MLflow, register, promote, write the model card."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from predictive_scoring import tracking
from predictive_scoring.config import Config
from predictive_scoring.data.tables import LeadData
from predictive_scoring.data.validation import Validated
from predictive_scoring.evaluation import format_comparison
from predictive_scoring.jobs.common import Reporter, Silent, announcer, load, resolve_as_of
from predictive_scoring.models.policy import Promotion, promotion_decision
from predictive_scoring.reports.figures import RunCharts, run_charts
from predictive_scoring.reports.html import write_page
from predictive_scoring.reports.model_card import MODEL_CARD_ARTIFACT, model_card
from predictive_scoring.scoring import champion_bout
from predictive_scoring.serving import input_example
from predictive_scoring.stopwatch import Stopwatch, step
from predictive_scoring.training import POINTS, TrainingResult, train_models

__all__ = ["Registration", "TrainRun", "train_job", "train_validated"]


@dataclass(frozen=True)
class Registration:
    """What a training run left in the registry."""

    run_id: str
    version: str
    promoted: bool
    reason: str


@dataclass(frozen=True)
class TrainRun:
    """One ``train``: the comparison, the registered version and where everything went."""

    result: TrainingResult
    registration: Registration
    model_name: str
    tracking_uri: str
    model_card: Path
    timing: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The summary as ``--json`` prints it."""
        result, registration = self.result, self.registration
        return {
            "timing": self.timing,
            "run_id": registration.run_id,
            "model_name": self.model_name,
            "version": registration.version,
            "promoted": registration.promoted,
            "promotion": registration.reason,
            "served_model": result.served,
            "decision": result.decision,
            "as_of": result.as_of,
            "tracking_uri": self.tracking_uri,
            "model_card": str(self.model_card),
            "metrics": {n: e.metrics for n, e in result.evaluations.items()},
        }


def train_job(
    source: str,
    config: Config,
    *,
    as_of: str | pd.Timestamp | None = None,
    tracking_uri: str | None = None,
    quarantine_dir: Path | None = None,
    reporter: Reporter | None = None,
) -> TrainRun:
    """Validate ``source``, train as of ``as_of``, log to MLflow, register the served model,
    promote it when it earns it and write the model card (``reports.model_card``)."""
    reporter = reporter or Silent()
    watch = Stopwatch(announcer(reporter))
    with watch.time("read and validate"):
        validated = load(source, config, require_labels=True, quarantine_dir=quarantine_dir)
    reporter.say(validated.report.render())
    uri = tracking.tracking_uri(tracking_uri, config)
    when = resolve_as_of(as_of, validated.data)
    return train_validated(validated, config, when, uri, reporter, watch)


def train_validated(
    validated: Validated,
    config: Config,
    as_of: pd.Timestamp | None,
    uri: str,
    reporter: Reporter,
    watch: Stopwatch | None = None,
) -> TrainRun:
    """:func:`train_job` on data already validated (each step timed on ``watch``)."""
    watch = watch or Stopwatch(announcer(reporter))
    horizon = config.labels.horizon_days
    reporter.say(f"\nTraining as of {as_of or 'flat export'} (horizon {horizon} days) ...")
    with watch.use():
        result = train_models(validated.data, config, as_of)
    reporter.say(f"\nComparison on the test window ({result.window_sizes['test']:,} rows):")
    reporter.say(format_comparison(list(result.evaluations.values())))
    reporter.say(f"\nServed: {result.served}: {result.decision}")
    with watch.use():
        registration, document = _log_and_register(validated, config, result, as_of, uri)
    name = config.tracking.model_name
    reporter.say(f"MLflow run {registration.run_id} in {uri}")
    verdict = "promoted to champion" if registration.promoted else "not promoted"
    reporter.say(
        f"Registered {name} version {registration.version}: {verdict} ({registration.reason})"
    )
    with watch.time("model card"):
        card = write_page(document, Path(config.reports.model_card))
    reporter.say(f"Model card: {card}")
    reporter.say(f"Time: {watch.summary()}")
    return TrainRun(result, registration, name, uri, card, watch.breakdown())


def _charts(result: TrainingResult) -> RunCharts:
    return run_charts(
        result.test_labels, result.test_predictions, result.serving, result.reference_features
    )


def _log_and_register(
    validated: Validated,
    config: Config,
    result: TrainingResult,
    as_of: pd.Timestamp | None,
    uri: str,
) -> tuple[Registration, str]:
    """Log the run, register the served model as a new version, apply the promotion gate and
    return the registration with the model card (logged to the run).

    The current champion is re-evaluated on this run's test window (the rows the candidates were
    compared on): its old metrics are never trusted.  The alias moves last, once everything else
    is logged and the run has ended, so a registry or tracking failure never moves it.
    """
    name = config.tracking.model_name
    assert result.serving is not None, "training always freezes a served model"
    example = input_example(result.serving, result.reference_features)
    with step("charts"):
        charts = _charts(result)
    with step("data fingerprint"):
        fingerprint = tracking.data_fingerprint(validated.data, as_of, config.labels.horizon_days)
    with tracking.training_run(uri, config.tracking.experiment, fingerprint["as_of"]) as (
        mlflow,
        run_id,
    ):
        with step("mlflow logging"):
            tracking.log_training(
                mlflow, result, config, validated.report, fingerprint, charts.images,
                charts.importance,
            )  # fmt: skip
        with step("model packaging"):
            version = tracking.log_served_model(mlflow, result.serving, example, name, uri)
        with step("promotion gate"):
            champion = tracking.current_champion(name, uri)
            promotion = _promotion(validated.data, config, result, champion, uri)
        registration = Registration(run_id, version, promotion.promoted, promotion.reason)
        with step("mlflow logging"):
            tracking.log_candidates(mlflow, result)
            document = model_card(result, validated.report, fingerprint, registration, name, charts)
            tracking.log_text(mlflow, document, MODEL_CARD_ARTIFACT)
            tracking.log_promotion(mlflow, version, promotion)  # the decision, once all is logged
    if promotion.promoted:
        with step("promotion gate"):
            tracking.promote(name, version, run_id, uri)
    return registration, document


def _promotion(
    data: LeadData, config: Config, result: TrainingResult, champion: str | None, uri: str
) -> Promotion:
    bout = None
    if champion is not None:
        incumbent = tracking.load_served(
            tracking.version_uri(config.tracking.model_name, champion), uri
        )
        assert result.serving is not None
        bout = champion_bout(
            incumbent,
            result.serving,
            result.models[result.served],
            data,
            result.test_rows,
            result.test_labels,
            config.labels.horizon_days,
            config.models.num_threads,
        )
    return promotion_decision(
        result.evaluations[result.served].metrics["log_loss"],
        result.evaluations[POINTS].metrics["log_loss"],
        None if bout is None else bout.champion,
        config.models.promotion_margin,
        result.served == POINTS,
        None if bout is None else bout.challenger,
        "on this window" if bout is None else bout.basis,
    )
