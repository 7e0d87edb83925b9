"""``score``: the open leads through the champion into an atomically written output."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from predictive_scoring import schema, tracking
from predictive_scoring.config import Config, ScoringConfig
from predictive_scoring.data.arrow import among
from predictive_scoring.data.history import add_changes, previous_scores
from predictive_scoring.data.locks import destination_lock
from predictive_scoring.data.outputs import Destination, describe_output, write_scores
from predictive_scoring.data.segments import GLOBAL, assign_segments, model_name, partition, slug
from predictive_scoring.data.tables import LeadData
from predictive_scoring.data.validation import Validated
from predictive_scoring.errors import UsageError
from predictive_scoring.features.spec import unseen_event_types, unusable_fields
from predictive_scoring.jobs.common import (
    Reporter,
    ScoreRun,
    Silent,
    announcer,
    load,
    refuse_unusable,
    resolve_as_of,
)
from predictive_scoring.jobs.read import report_job
from predictive_scoring.jobs.several import target_model_name
from predictive_scoring.models.points_rules import check_rules, read_rules
from predictive_scoring.rules_scoring import score_with_rules
from predictive_scoring.scoring import (
    BatchSummary,
    DriftMonitor,
    count_tiers,
    drifted,
    score_leads,
)
from predictive_scoring.serving import ServedModel
from predictive_scoring.stopwatch import Stopwatch

__all__ = [
    "Route",
    "ScoreRun",
    "score_job",
    "score_loaded",
    "score_validated",
    "score_with_rules_file",
    "segment_routes",
]


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
    target: str | None = None,
    rules: Path | None = None,
) -> ScoreRun:
    """Score every lead open at ``as_of`` with ``model`` (default: the champion, each lead its
    segment's) into ``output`` atomically; also write the lead board to ``report`` when given.
    With ``target``, the members of that target's population with its champion; with ``rules``,
    every open lead with that rules file alone (CONTRACT section 7).  With ``engine.name:
    spark``, on Spark (:func:`~predictive_scoring.jobs.spark_engine.score_on_spark`)."""
    if config.engine.name == "spark":
        from predictive_scoring.jobs.spark_engine import score_on_spark

        if rules is not None or target is not None or report is not None:
            raise UsageError(
                "--engine spark scores with a model: not with --rules, --target or --report"
            )
        return score_on_spark(
            source,
            config,
            output,
            as_of=as_of,
            model=model,
            tracking_uri=tracking_uri,
            quarantine_dir=quarantine_dir,
            reporter=reporter,
        )
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
        target=target,
        rules=rules,
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
    target: str | None = None,
    rules: Path | None = None,
) -> ScoreRun:
    """:func:`score_job` on data already validated (each step timed on ``watch``)."""
    reporter = reporter or Silent()
    watch = watch or Stopwatch(announcer(reporter))
    when = resolve_as_of(as_of, validated.data)
    Destination.parse(output)  # a bad destination is a usage error before any model is loaded
    uri = tracking.tracking_uri(tracking_uri, config)
    if rules is not None:
        if model is not None or target is not None:
            raise UsageError(
                "give --rules alone: it scores without a model (not with --model or --target)"
            )
        batch = score_with_rules_file(validated.data, rules, config, when, output, reporter, watch)
        return _finish(batch, validated, config, output, uri, report, reporter, watch)
    model_uri = model or tracking.champion_uri(_model_name(config, target))
    if model is not None and target is not None:
        raise UsageError("give --model or --target, not both")
    with watch.time("load model"):
        served = tracking.load_served(model_uri, uri)
        routes = (
            segment_routes(validated.data, config, uri, reporter)
            if model is None and target is None and config.segments.active
            else []
        )
    batch = score_validated(
        validated.data, served, config, when, output, model_uri, reporter, watch, routes
    )
    return _finish(batch, validated, config, output, uri, report, reporter, watch)


def _finish(
    batch: BatchSummary,
    validated: Validated,
    config: Config,
    output: str,
    uri: str,
    report: Path | None,
    reporter: Reporter,
    watch: Stopwatch,
) -> ScoreRun:
    """Log the batch to MLflow, write the lead board when asked, and say how long it all took."""
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


def _model_name(config: Config, target: str | None) -> str:
    """The registered model ``score`` serves: the conversion model's, or ``target``'s."""
    if target is None:
        return config.tracking.model_name
    if target not in config.targets:
        raise UsageError(
            f"--target {target!r}: the config names no such target "
            f"(targets: {sorted(config.targets) or 'none'})"
        )
    return target_model_name(config.tracking.model_name, target)


@dataclass(frozen=True)
class Route:
    """The leads of one segment and the champion that scores them."""

    segment: str
    served: ServedModel
    lead_ids: pd.Series


def segment_routes(data: LeadData, config: Config, uri: str, reporter: Reporter) -> list[Route]:
    """Each segment with a champion of its own (``<model-name>-<slug>@champion``) and its leads;
    the leads of every other segment, and those with none, stay with the global model."""
    assigned = assign_segments(data.leads, config.segments)
    routes = []
    for segment in sorted(set(assigned) - {GLOBAL}):
        name = model_name(config.tracking.model_name, segment)
        version = tracking.current_champion(name, uri)
        if version is None:
            reporter.say(f"Segment {segment!r}: no champion {name} yet, scored by the global model")
            continue
        served = tracking.load_served(tracking.version_uri(name, version), uri)
        served.segment = segment
        ids = data.leads.loc[(assigned == segment).to_numpy(), schema.LEAD_ID]
        routes.append(Route(segment, served, ids))
    return routes


def score_validated(
    data: LeadData,
    served: ServedModel,
    config: Config,
    as_of: pd.Timestamp | None,
    output: str,
    model_uri: str,
    reporter: Reporter,
    watch: Stopwatch | None = None,
    routes: list[Route] | None = None,
) -> BatchSummary:
    """Score the leads of ``data`` open at ``as_of`` with ``served`` and write them to ``output``
    (each step timed on ``watch``: rows, features, predict, SHAP, reasons, drift, write).  The
    leads of each of ``routes`` are scored by its segment's model instead, into the same output
    in the same atomic write."""
    watch = watch or Stopwatch(announcer(reporter))
    destination = Destination.parse(output)
    unseen = unseen_event_types(data.events, served.spec)
    if unseen:
        reporter.say(f"Event types unknown to the model, ignored: {unseen}")
    scoring = config.scoring
    with watch.time("route"):  # each segment's leads with their events, one pass per table
        parts = _parts(data, served, routes or [])
    for _, model, part in parts:
        _check_inputs(part, model, reporter)
    monitors = {segment: DriftMonitor(model.reference_shares) for segment, model, _ in parts}
    rows: dict[str, int] = {}

    def frames() -> Iterator[pd.DataFrame]:
        for segment, model, part in parts:
            chunks = score_leads(part, model, as_of, scoring, config.models.num_threads)
            for frame in monitors[segment].watch(chunks):
                rows[segment] = rows.get(segment, 0) + len(frame)
                yield frame

    written, counts = _write_counted(frames(), destination, as_of, reporter, watch, scoring)
    with watch.time("drift"):
        drift = _drift(monitors)
    above = drifted(drift, scoring.psi_warning)
    _say_scored(reporter, written, as_of, output, parts, rows, counts)
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
        models={
            segment: {"model_version": model.version, "rows": rows.get(segment, 0)}
            for segment, model, _ in parts
        },
    )


def _check_inputs(data: LeadData, served: ServedModel, reporter: Reporter) -> None:
    """Exit 4 when the data lacks lead columns the model reads (it would score every lead as if
    they were missing); a warning when only ``email_domain_type`` is missing, an attribute
    derived from an email column an export may leave out on purpose."""
    refuse_unusable(unusable_fields(data.leads, served.spec), served, reporter)


def _write_counted(
    frames: Iterator[pd.DataFrame],
    destination: Destination,
    as_of: pd.Timestamp | None,
    reporter: Reporter,
    watch: Stopwatch,
    scoring: ScoringConfig,
) -> tuple[int, dict[str, int]]:
    """Write ``frames`` to ``destination`` in one atomic write (the steps that make them timed
    on ``watch`` as they run), with what changed since the destination's previous run of each
    model, counting the leads on the progress display and the tiers."""
    with destination_lock(destination, scoring.lock_timeout_seconds, reporter.say):
        with watch.time("history"):
            previous = None if as_of is None else previous_scores(destination, as_of)
        return _write_changed(frames, destination, as_of, previous, reporter, watch, scoring)


def _write_changed(
    frames: Iterator[pd.DataFrame],
    destination: Destination,
    as_of: pd.Timestamp | None,
    previous: pd.DataFrame | None,
    reporter: Reporter,
    watch: Stopwatch,
    scoring: ScoringConfig,
) -> tuple[int, dict[str, int]]:
    counts: dict[str, int] = {}
    with (
        reporter.counter(" leads") as advance,
        watch.use(),
        watch.time("write", own=True, shown=False),
    ):

        def counted() -> Iterator[pd.DataFrame]:
            nonlocal counts
            for frame in frames:
                if previous is not None:
                    frame = add_changes(frame, previous, scoring.trend.steady_within)
                advance(len(frame))
                counts = count_tiers(frame, counts)
                yield frame

        written = write_scores(counted(), destination, as_of)
    return written, counts


def _say_scored(
    reporter: Reporter,
    written: int,
    as_of: pd.Timestamp | None,
    output: str,
    parts: list[tuple[str, ServedModel, LeadData]],
    rows: dict[str, int],
    counts: dict[str, int],
) -> None:
    who = "customers" if parts[0][1].target.population == "customers" else "open leads"
    reporter.say(
        f"Scored {written:,} {who} as of {as_of or 'a flat export'} with {parts[0][1].version} "
        f"-> {output}"
    )
    for segment, model, _ in parts[1:]:
        reporter.say(f"  segment {segment!r}: {rows.get(segment, 0):,} leads with {model.version}")
    reporter.say("Tiers: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))


def _parts(
    data: LeadData, served: ServedModel, routes: list[Route]
) -> list[tuple[str, ServedModel, LeadData]]:
    """The global model with the leads no route takes, then each route with its own leads."""
    if not routes:
        return [(GLOBAL, served, data)]
    codes = np.zeros(len(data.leads), dtype=np.int64)
    for k, route in enumerate(routes, start=1):
        codes[among(data.leads[schema.LEAD_ID], route.lead_ids.astype("string"))] = k
    split = partition(data, codes, len(routes) + 1)
    return [(GLOBAL, served, split[0])] + [
        (route.segment, route.served, part)
        for route, part in zip(routes, split[1:], strict=True)
        if len(part.leads)
    ]


def _drift(monitors: dict[str, DriftMonitor]) -> dict[str, float]:
    """Each model's PSIs against its own training population (a segment's keys end in
    ``.<slug>``)."""
    drift = {}
    for segment, monitor in monitors.items():
        suffix = "" if segment == GLOBAL else f".{slug(segment)}"
        drift.update({f"{k}{suffix}": v for k, v in monitor.report().items()})
    return drift


def score_with_rules_file(
    data: LeadData,
    path: Path,
    config: Config,
    as_of: pd.Timestamp | None,
    output: str,
    reporter: Reporter,
    watch: Stopwatch | None = None,
) -> BatchSummary:
    """Score the leads of ``data`` open at ``as_of`` with the rules file at ``path`` alone and
    write them to ``output`` (one atomic write, like a model's)."""
    watch = watch or Stopwatch(announcer(reporter))
    rules = read_rules(path)
    types = None if data.flat else data.event_type_names()
    pii = config.data.pii_columns
    for warning in check_rules(rules, data.leads, types, pii, str(path), config.features):
        reporter.warn(warning)
    frames = score_with_rules(data, rules, as_of, config.scoring, config.features)
    destination = Destination.parse(output)
    written, counts = _write_counted(frames, destination, as_of, reporter, watch, config.scoring)
    reporter.say(
        f"Scored {written:,} open leads as of {as_of or 'a flat export'} with {rules.model_version} "
        f"(rules file {path}) -> {output}"
    )
    reporter.say("Tiers: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    return BatchSummary(
        as_of=as_of,
        model_version=rules.model_version,
        model_uri=str(path),
        rows=written,
        counts=counts,
        unseen_event_types={},
        output=describe_output(output),
        drift={},
        drift_warning=False,
        timing=watch.breakdown(),
        models={GLOBAL: {"model_version": rules.model_version, "rows": written}},
    )
