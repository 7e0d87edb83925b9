"""``train``: validate, train, log to MLflow, register, promote, write the model card."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from predictive_scoring import schema, tracking
from predictive_scoring.config import Config, SegmentsConfig
from predictive_scoring.data.segments import (
    GLOBAL,
    Segment,
    assign_segments,
    check_segments,
    model_name,
    segment_sizes,
    subset,
)
from predictive_scoring.data.tables import LeadData
from predictive_scoring.data.validation import Validated
from predictive_scoring.evaluation import format_comparison
from predictive_scoring.jobs.common import Reporter, Silent, announcer, load, resolve_as_of
from predictive_scoring.models.policy import Promotion, promotion_decision
from predictive_scoring.reports.figures import RunCharts, run_charts
from predictive_scoring.reports.html import write_page
from predictive_scoring.reports.model_card import (
    MODEL_CARD_ARTIFACT,
    ModelSummary,
    model_card,
    with_models_summary,
)
from predictive_scoring.scoring import champion_bout
from predictive_scoring.serving import input_example
from predictive_scoring.stopwatch import Stopwatch, step
from predictive_scoring.training import POINTS, TrainingResult, train_models

__all__ = ["ModelRun", "Registration", "TrainRun", "train_job", "train_validated"]


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
    segment: str = GLOBAL
    others: list[ModelRun] = field(default_factory=list)
    """The run's further models: one per segment asked for (trained or served by this one)."""

    def to_dict(self) -> dict[str, Any]:
        """The summary as ``--json`` prints it: this model's, and ``models``: every model of the
        run with its decision (the global one first)."""
        summary = self.model_summary()
        return {
            "timing": self.timing,
            **{k: v for k, v in summary.items() if k not in ("kind", "name", "status")},
            "models": [summary, *(other.to_dict() for other in self.others)],
        }

    def model_summary(self) -> dict[str, Any]:
        """This model's part of ``--json``."""
        result, registration = self.result, self.registration
        return {
            "kind": "segment" if self.segment != GLOBAL else "global",
            "name": self.segment,
            "status": "trained",
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


@dataclass(frozen=True)
class ModelRun:
    """One further model of a ``train`` (a segment): trained, or served by the global model
    because it has too little to learn from (``trained`` is ``None``, ``reason`` says why)."""

    segment: Segment
    model_name: str
    trained: TrainRun | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Its entry in ``--json``'s ``models``."""
        sizes = {"leads": self.segment.leads, "conversions": self.segment.conversions}
        if self.trained is not None:
            return {**self.trained.model_summary(), **sizes}
        return {
            "kind": "segment",
            "name": self.segment.name,
            "model_name": self.model_name,
            "status": "served by the global model",
            "reason": self.reason,
            **sizes,
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
    """:func:`train_job` on data already validated (each step timed on ``watch``): the global
    model, then one per qualifying segment (``segments``), each with its whole treatment."""
    watch = watch or Stopwatch(announcer(reporter))
    if config.targets:
        reporter.warn(
            f"targets {sorted(config.targets)}: models for targets other than conversion are not "
            "built yet; only the conversion model(s) are trained"
        )
    if config.segments.active:
        check_segments(validated.data.leads, config.segments)
    trained = _train_one(validated, config, as_of, uri, reporter, watch, GLOBAL)
    if not config.segments.active:
        return trained
    others = _train_segments(validated, config, as_of, uri, reporter, watch)
    run = replace(trained, others=others, timing=watch.breakdown())
    with watch.time("model card"):
        write_page(
            with_models_summary(trained.model_card.read_text("utf-8"), _summary_rows(run)),
            run.model_card,
        )
    return replace(run, timing=watch.breakdown())


def _train_segments(
    validated: Validated,
    config: Config,
    as_of: pd.Timestamp | None,
    uri: str,
    reporter: Reporter,
    watch: Stopwatch,
) -> list[ModelRun]:
    """A model per segment with at least ``segments.min_leads`` leads and
    ``segments.min_conversions`` conversions to learn from; the others are served by the global
    model, and the run says so."""
    data, settings = validated.data, config.segments
    assigned = assign_segments(data.leads, settings)
    runs = []
    for segment in segment_sizes(data, assigned, as_of, config.labels.horizon_days):
        name = model_name(config.tracking.model_name, segment.name)
        short = _shortfall(segment, settings)
        if short:
            reporter.warn(f"Segment {segment.name!r}: {short}; served by the global model")
            runs.append(ModelRun(segment, name, None, short))
            continue
        reporter.say(f"\nSegment {segment.name!r} ({segment.leads:,} leads): model {name}")
        ids = data.leads.loc[(assigned == segment.name).to_numpy(), schema.LEAD_ID]
        part = replace(validated, data=subset(data, ids))
        card = Path(config.reports.model_card)
        own = config.with_overrides(
            {
                "tracking.model_name": name,
                "reports.model_card": str(
                    card.with_name(f"{card.stem}-{segment.slug}{card.suffix}")
                ),
            }
        )
        with watch.time(f"segment {segment.slug}"):
            runs.append(
                ModelRun(
                    segment,
                    name,
                    _train_one(part, own, as_of, uri, reporter, watch, segment.name),
                    "trained",
                )
            )
    return runs


def _shortfall(segment: Segment, settings: SegmentsConfig) -> str:
    """Why ``segment`` is too small for a model of its own (empty when it is not)."""
    if segment.leads < settings.min_leads:
        return f"{segment.leads:,} leads, fewer than segments.min_leads ({settings.min_leads:,})"
    if segment.conversions < settings.min_conversions:
        return (
            f"{segment.conversions:,} conversions before T - H, fewer than "
            f"segments.min_conversions ({settings.min_conversions:,})"
        )
    return ""


def _summary_rows(run: TrainRun) -> list[ModelSummary]:
    """The model card's table of every model of the run."""
    rows = [_summary_row(run.model_name, GLOBAL, run, "", None)]
    for other in run.others:
        rows.append(
            _summary_row(
                other.model_name, other.segment.name, other.trained, other.reason, other.segment
            )
        )
    return rows


def _summary_row(
    name: str, segment: str, run: TrainRun | None, reason: str, sizes: Segment | None
) -> ModelSummary:
    if run is None:
        return ModelSummary(
            name,
            segment,
            sizes.leads if sizes else None,
            sizes.conversions if sizes else None,
            None,
            None,
            None,
            f"served by the global model: {reason}",
            None,
        )
    result = run.result
    metrics = result.evaluations[result.served].metrics
    verdict = "champion" if run.registration.promoted else "not promoted"
    return ModelSummary(
        name,
        segment,
        sizes.leads if sizes else None,
        sizes.conversions if sizes else None,
        result.served,
        metrics,
        run.registration.version,
        f"{verdict}: {run.registration.reason}",
        run.model_card.name,
    )


def _train_one(
    validated: Validated,
    config: Config,
    as_of: pd.Timestamp | None,
    uri: str,
    reporter: Reporter,
    watch: Stopwatch,
    segment: str,
) -> TrainRun:
    """One model: train, log, register, promote when earned, write its model card."""
    horizon = config.labels.horizon_days
    reporter.say(f"\nTraining as of {as_of or 'flat export'} (horizon {horizon} days) ...")
    with watch.use():
        result = train_models(validated.data, config, as_of)
    if result.serving is not None:
        result.serving.segment = segment
    reporter.say(f"\nComparison on the test window ({result.window_sizes['test']:,} rows):")
    reporter.say(format_comparison(list(result.evaluations.values())))
    reporter.say(f"\nServed: {result.served}: {result.decision}")
    with watch.use():
        registration, document = _log_and_register(validated, config, result, as_of, uri, segment)
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
    return TrainRun(result, registration, name, uri, card, watch.breakdown(), segment)


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
    segment: str = GLOBAL,
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
    tags = {"segment": segment} if segment != GLOBAL else {}
    with tracking.training_run(
        uri, config.tracking.experiment, fingerprint["as_of"], name, **tags
    ) as (mlflow, run_id):
        with step("mlflow logging"):
            tracking.log_training(
                mlflow, result, config, validated.report, fingerprint, charts.images,
                charts.importance,
            )  # fmt: skip
        with step("model packaging"):
            version = tracking.log_served_model(mlflow, result.serving, example, name, uri)
        with step("promotion gate"):
            champion = tracking.current_champion(name, uri)
            promotion = _promotion(validated.data, config, result, champion, uri, segment)
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
    data: LeadData,
    config: Config,
    result: TrainingResult,
    champion: str | None,
    uri: str,
    segment: str = GLOBAL,
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
        test_conversions=None if segment == GLOBAL else int(result.test_labels.sum()),
        min_test_conversions=config.segments.min_test_conversions,
    )
