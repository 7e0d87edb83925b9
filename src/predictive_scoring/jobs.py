"""The jobs: validate, train, score, report, explain a lead, demo.  One path for everyone.

The command line (and so ``pipelines/``, its entry points for schedulers), the notebook and the
benchmarks call these functions; each returns a typed result.  ``*_job`` functions start from a
source; ``train_validated``/``score_loaded`` from data already validated (``load``), and
``score_validated`` from a served model in hand.  A job tells the person running it what is happening through a
:class:`Reporter` (silent by default; the command line passes one that writes to the terminal).
Expected failures raise :class:`~predictive_scoring.errors.ScoringError` subclasses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from predictive_scoring import schema, tracking
from predictive_scoring.config import Config, load_config
from predictive_scoring.data.load import load_lead_data
from predictive_scoring.data.outputs import Destination, describe_output, read_scores, write_scores
from predictive_scoring.data.tables import LeadData, parse_instant
from predictive_scoring.data.validation import Validated
from predictive_scoring.errors import UsageError
from predictive_scoring.evaluation import format_comparison
from predictive_scoring.features.spec import unseen_event_types
from predictive_scoring.models.policy import Promotion, promotion_decision
from predictive_scoring.reports.figures import RunCharts, run_charts
from predictive_scoring.reports.html import write_page
from predictive_scoring.reports.lead_board import lead_board
from predictive_scoring.reports.model_card import MODEL_CARD_ARTIFACT, model_card
from predictive_scoring.scoring import (
    BatchSummary,
    DriftMonitor,
    champion_bout,
    count_tiers,
    drifted,
    score_leads,
)
from predictive_scoring.serving import ServedModel, input_example
from predictive_scoring.stopwatch import Stopwatch, step
from predictive_scoring.timeline import rows_as_of
from predictive_scoring.training import POINTS, TrainingResult, train_models

__all__ = [
    "DemoRun",
    "Registration",
    "Reporter",
    "ScoreRun",
    "Silent",
    "TrainRun",
    "demo_job",
    "lead_row",
    "load",
    "parse_as_of",
    "report_job",
    "resolve_as_of",
    "resolve_source",
    "score_job",
    "score_loaded",
    "score_validated",
    "train_job",
    "train_validated",
]

DEMO_LEADS = 5_000


class Reporter(Protocol):
    """Where a job's messages go."""

    def say(self, text: str) -> None:
        """A line for the person running the job."""

    def warn(self, text: str) -> None:
        """A warning (the terminal shows it on stderr)."""

    def counter(self, unit: str) -> AbstractContextManager[Callable[[int], None]]:
        """A running count for a long step: the context gives the function to add to it."""

    def step(self, name: str) -> AbstractContextManager[None]:
        """A step of the job running inside the block (a terminal shows it and its time)."""


class Silent:
    """A :class:`Reporter` that says nothing (the default for pipelines and notebooks)."""

    def say(self, text: str) -> None:
        """Say nothing."""

    def warn(self, text: str) -> None:
        """Warn nobody."""

    @contextlib.contextmanager
    def counter(self, unit: str) -> Iterator[Callable[[int], None]]:
        """Count nothing."""
        yield lambda n: None

    def step(self, name: str) -> AbstractContextManager[None]:
        """Show nothing."""
        return contextlib.nullcontext()


def _announcer(reporter: Reporter) -> Any:
    """The reporter's ``step`` (a reporter written before it existed has none: no display)."""
    return getattr(reporter, "step", None)


# ---- inputs ------------------------------------------------------------------------------------


def resolve_source(data: str | None, config: Config) -> str:
    """``--data``, else ``data.source`` from the config."""
    source = data or config.data.source
    if not source:
        raise UsageError("no data source: pass --data SRC or set data.source in the config")
    return source


def resolve_as_of(value: str | pd.Timestamp | None, data: LeadData) -> pd.Timestamp | None:
    """The job's time T: none for a flat export, else ``value``, else the latest time in ``data``."""
    if data.flat:
        return None
    if value is None:
        return data.latest_timestamp()
    return parse_as_of(value)


def parse_as_of(value: str | pd.Timestamp) -> pd.Timestamp:
    """``--as-of`` as a UTC instant; a usage error when it is not ISO 8601."""
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise UsageError(f"--as-of: {exc}") from None


def load(
    source: str,
    config: Config,
    *,
    require_labels: bool = False,
    quarantine_dir: Path | None = None,
) -> Validated:
    """Read and validate ``source``; bad rows go to the quarantine folder."""
    return load_lead_data(
        source, config, require_labels=require_labels, quarantine_dir=quarantine_dir
    )


# ---- train ---------------------------------------------------------------------------------------


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
    watch = Stopwatch(_announcer(reporter))
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
    watch = watch or Stopwatch(_announcer(reporter))
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


# ---- score ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreRun:
    """One ``score``: what the batch did, its MLflow run and the lead board, if written."""

    batch: BatchSummary
    run_id: str
    report: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """The summary as ``--json`` prints it."""
        summary = {**self.batch.to_dict(), "run_id": self.run_id}
        if self.report is not None:
            summary["report"] = str(self.report)
        return summary


def score_job(
    source: str,
    config: Config,
    output: str,
    *,
    as_of: str | pd.Timestamp | None = None,
    model: str | None = None,
    tracking_uri: str | None = None,
    quarantine_dir: Path | None = None,
    report: Path | None = None,
    reporter: Reporter | None = None,
) -> ScoreRun:
    """Score every lead open at ``as_of`` with ``model`` (default: the champion) into
    ``output`` atomically; also write the lead board to ``report`` when given."""
    reporter = reporter or Silent()
    watch = Stopwatch(_announcer(reporter))
    with watch.time("read and validate"):
        validated = load(source, config, quarantine_dir=quarantine_dir)
    return score_loaded(
        validated,
        config,
        output,
        as_of=as_of,
        model=model,
        tracking_uri=tracking_uri,
        report=report,
        reporter=reporter,
        watch=watch,
    )


def score_loaded(
    validated: Validated,
    config: Config,
    output: str,
    *,
    as_of: str | pd.Timestamp | None = None,
    model: str | None = None,
    tracking_uri: str | None = None,
    report: Path | None = None,
    reporter: Reporter | None = None,
    watch: Stopwatch | None = None,
) -> ScoreRun:
    """:func:`score_job` on data already validated (each step timed on ``watch``)."""
    reporter = reporter or Silent()
    watch = watch or Stopwatch(_announcer(reporter))
    when = resolve_as_of(as_of, validated.data)
    Destination.parse(output)  # a bad destination is a usage error before any model is loaded
    uri = tracking.tracking_uri(tracking_uri, config)
    model_uri = model or tracking.champion_uri(config.tracking.model_name)
    with watch.time("load model"):
        served = tracking.load_served(model_uri, uri)
    batch = score_validated(
        validated.data, served, config, when, output, model_uri, reporter, watch
    )
    with watch.time("mlflow logging"):
        run_id = tracking.log_scoring(batch, uri, config.tracking.scoring_experiment)
    board = None
    if report is not None:
        with watch.time("lead board"):
            board = report_job(output, report, config, validated.data.display, as_of=batch.as_of)
        reporter.say(f"Lead board: {board}")
    batch = replace(batch, timing=watch.breakdown())
    reporter.say(f"Time: {watch.summary()}")
    return ScoreRun(batch, run_id, board)


def score_validated(
    data: LeadData,
    served: ServedModel,
    config: Config,
    as_of: pd.Timestamp | None,
    output: str,
    model_uri: str,
    reporter: Reporter,
    watch: Stopwatch | None = None,
) -> BatchSummary:
    """Score the leads of ``data`` open at ``as_of`` with ``served`` and write them to ``output``
    (each step timed on ``watch``: rows, features, predict, SHAP, reasons, drift, write)."""
    watch = watch or Stopwatch(_announcer(reporter))
    destination = Destination.parse(output)
    unseen = unseen_event_types(data.events, served.spec)
    if unseen:
        reporter.say(f"Event types unknown to the model, ignored: {unseen}")
    scoring = config.scoring
    monitor = DriftMonitor(served.reference_shares)
    counts: dict[str, int] = {}
    with (
        reporter.counter(" leads") as advance,
        watch.use(),
        watch.time("write", own=True, shown=False),
    ):
        chunks = score_leads(data, served, as_of, scoring, config.models.num_threads)

        def counted(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            nonlocal counts
            for frame in frames:
                advance(len(frame))
                counts = count_tiers(frame, counts)
                yield frame

        written = write_scores(monitor.watch(counted(chunks)), destination, as_of)
    with watch.time("drift"):
        drift = monitor.report()
    above = drifted(drift, scoring.psi_warning)
    reporter.say(
        f"Scored {written:,} open leads as of {as_of or 'a flat export'} with {served.version} "
        f"-> {output}"
    )
    reporter.say("Tiers: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    if above:
        reporter.warn(
            f"WARNING: population drift against the training population: {above} "
            f"(PSI above {scoring.psi_warning}); consider retraining"
        )
    return BatchSummary(
        as_of=as_of,
        model_version=served.version,
        model_uri=model_uri,
        rows=written,
        counts=counts,
        unseen_event_types=unseen,
        output=describe_output(output),
        drift=drift,
        drift_warning=bool(above),
        timing=watch.breakdown(),
    )


# ---- read back what score wrote ------------------------------------------------------------------


def report_job(
    scores: str,
    output: Path,
    config: Config,
    display: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | None = None,
    require_rows: bool = False,
) -> Path:
    """Write the lead board of the run of ``as_of`` (else the latest) in ``scores`` to ``output``."""
    frame = read_scores(Destination.parse(scores))
    if require_rows and frame.empty:
        where = describe_output(scores)
        raise UsageError(
            f"--scores {where}: no scores there; run `predictive-scoring score --output "
            f"{where}` first"
        )
    return write_page(lead_board(frame, display, config.reports.page_size, as_of), output)


def lead_row(lead_id: str, scores: str, as_of: str | None = None) -> pd.Series:
    """The scores row of ``lead_id`` in ``scores``: of ``as_of`` when given, else the latest."""
    frame = read_scores(Destination.parse(scores))
    rows = frame[frame[schema.LEAD_ID].astype("string") == lead_id]
    if as_of is not None:
        rows = rows_as_of(rows, parse_as_of(as_of))
    if rows.empty:
        raise UsageError(f"lead {lead_id!r} is not in {scores}")
    row: pd.Series = rows.sort_values(schema.AS_OF).iloc[-1]
    return row


# ---- demo ------------------------------------------------------------------------------------------


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
