"""``score``: the open leads through the champion into an atomically written output."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from predictive_scoring import tracking
from predictive_scoring.config import Config
from predictive_scoring.data.outputs import Destination, describe_output, write_scores
from predictive_scoring.data.tables import LeadData
from predictive_scoring.data.validation import Validated
from predictive_scoring.features.spec import unseen_event_types
from predictive_scoring.jobs.common import Reporter, Silent, announcer, load, resolve_as_of
from predictive_scoring.jobs.read import report_job
from predictive_scoring.scoring import (
    BatchSummary,
    DriftMonitor,
    count_tiers,
    drifted,
    score_leads,
)
from predictive_scoring.serving import ServedModel
from predictive_scoring.stopwatch import Stopwatch

__all__ = ["ScoreRun", "score_job", "score_loaded", "score_validated"]


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
    watch = Stopwatch(announcer(reporter))
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
    watch = watch or Stopwatch(announcer(reporter))
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
    watch = watch or Stopwatch(announcer(reporter))
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
