"""One model of a ``train``: train it, log it to MLflow, register it, promote it when it earns it,
write its model card.  :mod:`.several` strings the models of a run together."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from predictive_scoring import tracking
from predictive_scoring.config import Config
from predictive_scoring.data.segments import (
    GLOBAL,
)
from predictive_scoring.data.sources import describe_source
from predictive_scoring.data.tables import LeadData
from predictive_scoring.data.validation import Validated
from predictive_scoring.errors import ModelError, RegistryError
from predictive_scoring.evaluation import format_comparison
from predictive_scoring.jobs.common import Reporter
from predictive_scoring.models.learned_points import POINTS_RULES
from predictive_scoring.models.points_rules import RulesFile
from predictive_scoring.models.policy import Bout, Promotion, promotion_decision
from predictive_scoring.models.windows import TIME_WINDOWS
from predictive_scoring.reports.figures import RunCharts, run_charts
from predictive_scoring.reports.html import write_page
from predictive_scoring.reports.model_card import (
    MODEL_CARD_ARTIFACT,
    model_card,
)
from predictive_scoring.scoring import champion_bout, shared_rows_bout
from predictive_scoring.serving import ServedModel, input_example
from predictive_scoring.stopwatch import Stopwatch, step
from predictive_scoring.timeline import CONVERSION, Target
from predictive_scoring.training import POINTS, TrainingResult, train_models

__all__ = ["SEGMENT", "TARGET", "ModelRun", "Registration", "TrainRun", "train_model"]

log = logging.getLogger(__name__)


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
    points_rules: Path | None = None
    """The points baseline as a rules file, beside the model card (``points_rules.yaml``)."""
    others: list[ModelRun] = field(default_factory=list)
    """The run's further models: one per segment and target asked for
    (:class:`ModelRun`)."""

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
            "points_rules": str(self.points_rules) if self.points_rules else None,
            "metrics": {n: e.metrics for n, e in result.evaluations.items()},
            **({"rules": result.rules} if result.rules else {}),
        }


SEGMENT = "segment"
TARGET = "target"


@dataclass(frozen=True)
class ModelRun:
    """One further model of a ``train`` (a segment or a target): trained, or not (``trained``
    is ``None``; ``reason`` says why: a segment too small is served by the global model)."""

    kind: str
    name: str
    model_name: str
    trained: TrainRun | None
    reason: str
    sizes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Its entry in ``--json``'s ``models``."""
        named = {"kind": self.kind, "name": self.name, **self.sizes}
        if self.trained is not None:
            return {**self.trained.model_summary(), **named}
        status = "served by the global model" if self.kind == SEGMENT else "not trained"
        return {
            **named,
            "model_name": self.model_name,
            "status": status,
            "reason": self.reason,
        }


def train_model(
    validated: Validated,
    config: Config,
    as_of: pd.Timestamp | None,
    uri: str,
    reporter: Reporter,
    watch: Stopwatch,
    segment: str = GLOBAL,
    target: tuple[str, Target] | None = None,
    versus: TrainingResult | None = None,
    rules: Sequence[RulesFile] = (),
) -> TrainRun:
    """One model: train, log, register, promote when earned, write its model card.  It serves
    ``segment`` (its data already restricted to it, promoted only over the global model's
    ``versus``), or predicts ``target`` (name, target)."""
    horizon = config.labels.horizon_days
    reporter.say(f"\nTraining as of {as_of or 'flat export'} (horizon {horizon} days) ...")
    with watch.use():
        result = train_models(
            validated.data, config, as_of, CONVERSION if target is None else target[1], rules
        )
    if result.serving is not None:
        result.serving.segment = segment
    reporter.say(f"\nComparison on the test window ({result.window_sizes['test']:,} rows):")
    reporter.say(format_comparison(list(result.evaluations.values())))
    reporter.say(f"\nServed: {result.served}: {result.decision}")
    with watch.use():
        registration, document = _log_and_register(
            validated, config, result, as_of, uri, segment, "" if target is None else target[0],
            versus,
        )  # fmt: skip
    name = config.tracking.model_name
    reporter.say(f"MLflow run {registration.run_id} in {describe_source(uri)}")
    verdict = "promoted to champion" if registration.promoted else "not promoted"
    reporter.say(
        f"Registered {name} version {registration.version}: {verdict} ({registration.reason})"
    )
    with watch.time("model card"):
        card = write_page(document, Path(config.reports.model_card))
        learned = write_page(result.learned_rules, card.with_name(f"{card.stem}.{POINTS_RULES}"))
    reporter.say(f"Model card: {card}")
    reporter.say(f"Learned points as a rules file: {learned}")
    reporter.say(f"Time: {watch.summary()}")
    return TrainRun(result, registration, name, uri, card, watch.breakdown(), segment, learned)


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
    target: str = "",
    versus: TrainingResult | None = None,
) -> tuple[Registration, str]:
    """Log the run, register the served model as a new version, apply the promotion gate and
    return the registration with the model card (logged to the run).

    The current champion is re-evaluated on this run's test window (the rows the candidates were
    compared on): its old metrics are never trusted.  The alias moves once everything else is
    logged and the run has ended, so a registry or tracking failure never moves it; the run's
    ``promoted`` tag says ``pending`` until the alias has moved, and the model card, which says
    what happened, is attached last.
    """
    name = config.tracking.model_name
    assert result.serving is not None, "training always freezes a served model"
    example = input_example(result.serving, result.reference_features)
    with step("charts"):
        charts = _charts(result)
    with step("data fingerprint"):
        fingerprint = tracking.data_fingerprint(validated.data, as_of, config.labels.horizon_days)
    tags = {k: v for k, v in (("segment", segment), ("target", target)) if v}
    with tracking.registry_lock(uri, config.scoring.lock_timeout_seconds, log.info):
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
                promotion = _promotion(
                    validated.data, config, result, champion, uri, segment, versus
                )
            retiring = promotion.retire and champion is not None
            said = (
                f"{promotion.reason} (its champion, version {champion}, retired)"
                if retiring
                else ""
            )
            registration = Registration(
                run_id, version, promotion.promoted, said or promotion.reason
            )
            with step("mlflow logging"):
                tracking.log_candidates(mlflow, result)
                tracking.log_promotion(mlflow, version, promotion)  # "pending" until it happens
        moved: str | None = None
        with step("promotion gate"):  # the run has ended: the alias moves last
            if promotion.promoted:
                moved = tracking.promote(name, version, run_id, uri, champion)
            elif retiring:
                tracking.retire_champion(name, uri, expected=champion)
    if moved is not None:  # another run promoted its model meanwhile
        registration = replace(registration, promoted=False, reason=moved)
    document = model_card(result, validated.report, fingerprint, registration, name, charts)
    with step("mlflow logging"):  # the card says what happened, so it comes after
        _attach_card(document, registration, uri)
    return registration, document


def _attach_card(document: str, registration: Registration, uri: str) -> None:
    """Attach the model card to its run; once a promotion stands, a failure only warns."""
    try:
        tracking.log_text_to(registration.run_id, uri, document, MODEL_CARD_ARTIFACT)
    except RegistryError as error:
        if not registration.promoted:
            raise
        log.warning("the promotion stands; the model card is not in its run: %s", error)


def _promotion(
    data: LeadData,
    config: Config,
    result: TrainingResult,
    champion: str | None,
    uri: str,
    segment: str = GLOBAL,
    versus: TrainingResult | None = None,
) -> Promotion:
    bout = None
    incumbent, unusable = _incumbent(config, champion, uri)
    if incumbent is not None:
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
    against = None if versus is None else _versus_global(result, versus)
    decision = promotion_decision(
        result.evaluations[result.served].metrics["log_loss"],
        result.evaluations[POINTS].metrics["log_loss"],
        None if bout is None else bout.champion,
        config.models.promotion_margin,
        result.served == POINTS,
        None if bout is None else bout.challenger,
        "on this window" if bout is None else bout.basis,
        test_conversions=None if segment == GLOBAL else int(result.test_labels.sum()),
        min_test_conversions=config.segments.min_test_conversions,
        versus_global=against,
    )
    if unusable is not None:
        decision = replace(decision, reason=f"{decision.reason} ({unusable})")
    if versus is not None and against is None:
        note = " (not compared with the global model: they were not tested on later time windows)"
        return replace(decision, reason=decision.reason + note)
    return decision


def _incumbent(
    config: Config, champion: str | None, uri: str
) -> tuple[ServedModel | None, str | None]:
    """The champion to meet at the gate, or why it cannot take part (a damaged artifact, a newer
    package's model), so that a new version can replace it.  A registry that cannot answer
    still stops the run."""
    if champion is None:
        return None, None
    try:
        return tracking.load_served(
            tracking.version_uri(config.tracking.model_name, champion), uri
        ), None
    except RegistryError:
        raise
    except ModelError as error:
        return None, f"the champion, version {champion}, cannot be loaded and was not met: {error}"
    try:
        tracking.load_served(tracking.version_uri(config.tracking.model_name, champion), uri)
    except RegistryError:
        raise
    except ModelError as error:
        return f"the champion, version {champion}, cannot be loaded and was not compared: {error}"
    return None


def _versus_global(result: TrainingResult, versus: TrainingResult) -> Bout | None:
    """The segment model's window fit against the global model's, on the test rows both hold;
    ``None`` unless both were compared on later time windows (held-out leads and a flat export's
    rows are drawn at random for each model, so their test rows are not the same rows, and a
    held-out fit learned from the very period it is tested on)."""
    plans = {result.evaluation.get("plan"), versus.evaluation.get("plan")}
    if plans != {TIME_WINDOWS}:
        return None
    return shared_rows_bout(
        result.test_rows,
        result.test_labels,
        result.test_predictions[result.served],
        versus.test_rows,
        versus.test_predictions[versus.served],
        "the global model",
    )
