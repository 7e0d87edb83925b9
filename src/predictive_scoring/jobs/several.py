"""``train``: the global conversion model, one per qualifying segment and one per target.

Each model gets the whole treatment of :func:`~predictive_scoring.jobs.train.train_model` on
its own rows: a segment's model learns from that segment's leads alone; a target's model
(CONTRACT section 6) from the snapshots of its own population, labelled by its own event.  The
global model's card starts with a table of every model of the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from predictive_scoring import schema, tracking
from predictive_scoring.config import Config, SegmentsConfig
from predictive_scoring.data.segments import (
    GLOBAL,
    Segment,
    assign_segments,
    model_name,
    segment_sizes,
    slug,
    subset,
)
from predictive_scoring.data.tables import LeadData
from predictive_scoring.data.validation import Validated
from predictive_scoring.errors import ConfigError, DataError
from predictive_scoring.jobs.common import Reporter, Silent, announcer, load, resolve_as_of
from predictive_scoring.jobs.train import SEGMENT, TARGET, ModelRun, TrainRun, train_model
from predictive_scoring.models.points_rules import RulesFile, check_rules, read_rules
from predictive_scoring.reports.html import write_page
from predictive_scoring.reports.model_card import (
    MODEL_CARD_ARTIFACT,
    ModelSummary,
    with_models_summary,
)
from predictive_scoring.stopwatch import Stopwatch
from predictive_scoring.timeline import Target, visible_at
from predictive_scoring.training import TrainingResult

__all__ = [
    "ModelRun",
    "check_models",
    "check_targets",
    "target_model_name",
    "train_job",
    "train_validated",
]


def target_model_name(base: str, target: str) -> str:
    """The registered model of ``target``: ``<model-name>-<target>`` (slugged)."""
    return f"{base}-{slug(target)}"


def train_job(
    source: str,
    config: Config,
    *,
    as_of: str | pd.Timestamp | None = None,
    tracking_uri: str | None = None,
    quarantine_dir: Path | None = None,
    reporter: Reporter | None = None,
    rules: Sequence[Path] = (),
) -> TrainRun:
    """Validate ``source``, train as of ``as_of``, log to MLflow, register the served model,
    promote it when it earns it and write the model card (``reports.model_card``); the same for
    every segment and target the config asks for.  Each of ``rules`` (a points rules file) is
    compared beside the global model's candidates as ``rules:<name>``."""
    reporter = reporter or Silent()
    watch = Stopwatch(announcer(reporter))
    files = [read_rules(path) for path in rules]  # a bad file stops the run before any reading
    with watch.time("read and validate"):
        validated = load(source, config, require_labels=True, quarantine_dir=quarantine_dir)
    reporter.say(validated.report.render())
    _check_rules_files(files, rules, validated.data, config, reporter)
    uri = tracking.tracking_uri(tracking_uri, config)
    when = resolve_as_of(as_of, validated.data)
    return train_validated(validated, config, when, uri, reporter, watch, files)


def _check_rules_files(
    files: list[RulesFile],
    paths: Sequence[Path],
    data: LeadData,
    config: Config,
    reporter: Reporter,
) -> None:
    """Exit 2 for a rules file the data cannot score, or two files with one name; warn about
    rules that can never fire on this data."""
    types = None if data.flat else data.event_type_names()
    names: set[str] = set()
    for rules, path in zip(files, paths, strict=True):
        if rules.name in names:
            raise ConfigError(f"rules files: two files are named {rules.name!r}; rename one")
        names.add(rules.name)
        pii = config.data.pii_columns
        for warning in check_rules(rules, data.leads, types, pii, str(path), config.features):
            reporter.warn(warning)


def train_validated(
    validated: Validated,
    config: Config,
    as_of: pd.Timestamp | None,
    uri: str,
    reporter: Reporter,
    watch: Stopwatch | None = None,
    rules: Sequence[RulesFile] = (),
) -> TrainRun:
    """:func:`train_job` on data already validated (each step timed on ``watch``): the global
    model (with ``rules`` beside its candidates), then one per qualifying segment
    (``segments``) and one per target (``targets``)."""
    watch = watch or Stopwatch(announcer(reporter))
    known = validated.data if as_of is None else visible_at(validated.data, as_of)
    check_models(known, config)
    tracking.check_store(uri, config.tracking.experiment)  # now, not after hours of training
    trained = train_model(validated, config, as_of, uri, reporter, watch, rules=rules)
    if not config.segments.active and not config.targets:
        return trained
    others = [
        *(_train_segments(validated, config, as_of, uri, reporter, watch, trained.result)
          if config.segments.active else []),
        *_train_targets(validated, config, as_of, uri, reporter, watch),
    ]  # fmt: skip
    run = replace(trained, others=others)
    with watch.time("model card"):
        document = with_models_summary(trained.model_card.read_text("utf-8"), _summary_rows(run))
        write_page(document, run.model_card)
        tracking.log_text_to(run.registration.run_id, uri, document, MODEL_CARD_ARTIFACT)
    return replace(run, timing=watch.breakdown())


def check_models(known: LeadData, config: Config) -> None:
    """Raise :class:`ConfigError` (exit 2) for segments or targets the data as known at T cannot
    have (see :func:`check_targets`, :func:`~predictive_scoring.data.segments.check_segments`),
    or two models of the run with one registered name."""
    check_targets(known, config)
    if not config.segments.active:
        return
    segments = assign_segments(known.leads, config.segments)  # raises what check_segments does
    taken = {slug(name): f"segment {name!r}" for name in set(segments) - {GLOBAL}}
    for name in config.targets:
        other = taken.get(slug(name))
        if other is not None:
            raise ConfigError(
                f"targets.{name}: its model would be named like the model of {other} "
                f"({target_model_name(config.tracking.model_name, name)}); rename the target"
            )


def check_targets(data: LeadData, config: Config) -> None:
    """Raise :class:`ConfigError` (exit 2) for a target of a flat export, whose event type the
    events (as known at T) never hold, or two targets with one registered name."""
    if not config.targets:
        return
    names: dict[str, str] = {}
    for name in config.targets:
        other = names.setdefault(slug(name), name)
        if other != name:
            raise ConfigError(
                f"targets: {other!r} and {name!r} would share the model name "
                f"{target_model_name(config.tracking.model_name, name)}"
            )
    types = data.event_type_names()
    for name, settings in config.targets.items():
        if data.flat:
            raise ConfigError(f"targets.{name}: a flat export has no time line for other targets")
        if settings.event_type not in types:
            raise ConfigError(
                f"targets.{name}.event_type: {settings.event_type!r} is not an event type of the "
                f"events (they hold {sorted(types)[:12]})"
            )


def _own_config(config: Config, name: str, suffix: str) -> Config:
    """``config`` for the model registered as ``name``, its card named with ``suffix``."""
    card = Path(config.reports.model_card)
    return config.with_overrides(
        {
            "tracking.model_name": name,
            "reports.model_card": str(card.with_name(f"{card.stem}-{suffix}{card.suffix}")),
        }
    )


def _train_segments(
    validated: Validated,
    config: Config,
    as_of: pd.Timestamp | None,
    uri: str,
    reporter: Reporter,
    watch: Stopwatch,
    global_result: TrainingResult | None = None,
) -> list[ModelRun]:
    """A model per segment with at least ``segments.min_leads`` leads and
    ``segments.min_conversions`` conversions to learn from; the others are served by the global
    model, and the run says so.  A segment model is promoted only when it also beats the global
    model (``global_result``, when given) on the test rows both hold."""
    data, settings = validated.data, config.segments
    assigned = assign_segments(data.leads, settings)
    runs = []
    sizes_found = segment_sizes(data, assigned, as_of, config.labels.horizon_days)
    found = {s.name for s in sizes_found}
    empty = [Segment(n, slug(n), 0, 0) for n in settings.filters if n not in found]
    for segment in [*sizes_found, *empty]:
        name = model_name(config.tracking.model_name, segment.name)
        sizes = {"leads": segment.leads, "conversions": segment.conversions}
        short = _shortfall(segment, settings)
        if short:
            retired = tracking.retire_champion(name, uri)
            was = f" (its champion, version {retired}, retired)" if retired else ""
            reporter.warn(f"Segment {segment.name!r}: {short}; served by the global model{was}")
            runs.append(ModelRun(SEGMENT, segment.name, name, None, short + was, sizes))
            continue
        reporter.say(f"\nSegment {segment.name!r} ({segment.leads:,} leads): model {name}")
        ids = data.leads.loc[(assigned == segment.name).to_numpy(), schema.LEAD_ID]
        part = replace(validated, data=subset(data, ids))
        own = _own_config(config, name, segment.slug)
        with watch.time(f"segment {segment.slug}"):
            trained, reason = _attempt(
                partial(
                    train_model,
                    part,
                    own,
                    as_of,
                    uri,
                    reporter,
                    watch,
                    segment.name,
                    versus=global_result if settings.versus_global else None,
                ),
                f"Segment {segment.name!r}",
                reporter,
            )
        runs.append(ModelRun(SEGMENT, segment.name, name, trained, reason, sizes))
    return runs


def _train_targets(
    validated: Validated,
    config: Config,
    as_of: pd.Timestamp | None,
    uri: str,
    reporter: Reporter,
    watch: Stopwatch,
) -> list[ModelRun]:
    """A model per target of ``targets``, on every lead of its population."""
    runs = []
    for name, settings in config.targets.items():
        registered = target_model_name(config.tracking.model_name, name)
        target = Target(settings.population, settings.event_type)
        reporter.say(
            f"\nTarget {name!r}: {settings.event_type} within the horizon among "
            f"{settings.population} leads: model {registered}"
        )
        own = _own_config(config, registered, slug(name))
        with watch.time(f"target {slug(name)}"):
            trained, reason = _attempt(
                partial(
                    train_model, validated, own, as_of, uri, reporter, watch, target=(name, target)
                ),
                f"Target {name!r}",
                reporter,
            )
        runs.append(ModelRun(TARGET, name, registered, trained, reason))
    return runs


def _attempt(train: Any, what: str, reporter: Reporter) -> tuple[TrainRun | None, str]:
    """``train()``, or ``None`` and why when its data cannot train a model (the models already
    trained stay registered; the run says which could not be)."""
    try:
        return train(), "trained"
    except DataError as exc:
        reporter.warn(f"{what}: not trained: {exc}")
        return None, str(exc)


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
    rows = [_summary_row(run.model_name, "", run, "", {})]
    for other in run.others:
        label = other.name if other.kind == SEGMENT else f"target {other.name}"
        rows.append(_summary_row(other.model_name, label, other.trained, other.reason, other.sizes))
    return rows


def _summary_row(
    name: str, label: str, run: TrainRun | None, reason: str, sizes: dict[str, int]
) -> ModelSummary:
    leads, conversions = sizes.get("leads"), sizes.get("conversions")
    if run is None:
        why = f"served by the global model: {reason}" if sizes else f"not trained: {reason}"
        return ModelSummary(name, label, leads, conversions, None, None, None, why, None)
    result = run.result
    verdict = "champion" if run.registration.promoted else "not promoted"
    return ModelSummary(
        name,
        label,
        leads,
        conversions,
        result.served,
        result.evaluations[result.served].metrics,
        run.registration.version,
        f"{verdict}: {run.registration.reason}",
        run.model_card.name,
    )
