"""The closed loop's jobs (CONTRACT section 8): ``performance`` and ``backtest``.

``performance`` reads a destination's runs (never their reasons) and the data's outcomes and
says how each run's leads converted (:mod:`predictive_scoring.performance`), with an HTML report
when asked.  ``backtest`` trains as of each origin between ``start`` and ``end`` (nothing later
is visible) and scores the leads open there into one destination, through the same
``train``/``score`` path a nightly job takes, so ``performance`` shows how the pipeline would have
done.  It registers its models under ``<model-name>-backtest`` (and logs to
``<experiment>-backtest``) unless told otherwise, so the production champion never moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from predictive_scoring import tracking
from predictive_scoring.config import Config
from predictive_scoring.data.outputs import Destination, describe_output, read_scores
from predictive_scoring.errors import UsageError
from predictive_scoring.jobs.common import Reporter, Silent, load, parse_as_of
from predictive_scoring.jobs.score import score_loaded
from predictive_scoring.jobs.several import train_validated
from predictive_scoring.performance import COMPLETE, SCORE_COLUMNS, performance
from predictive_scoring.reports.html import write_page
from predictive_scoring.reports.performance import performance_report

__all__ = ["BACKTEST_SUFFIX", "BacktestRun", "PerformanceRun", "backtest_job", "performance_job"]

BACKTEST_SUFFIX = "-backtest"


@dataclass(frozen=True)
class PerformanceRun:
    """One ``performance``: the summary (CONTRACT section 8's JSON) and the report, if any."""

    summary: dict[str, Any]
    report: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary, "report": str(self.report) if self.report else None}


def performance_job(
    scores: str,
    source: str,
    config: Config,
    *,
    by: str | None = None,
    output: Path | None = None,
    quarantine_dir: Path | None = None,
    reporter: Reporter | None = None,
) -> PerformanceRun:
    """How every run in ``scores`` converted, by the outcomes in ``source``."""
    reporter = reporter or Silent()
    destination = Destination.parse(scores)
    stored = read_scores(destination, columns=SCORE_COLUMNS)
    if stored.empty:
        raise UsageError(f"performance --scores {describe_output(scores)}: no scores there yet")
    validated = load(source, config, require_labels=True, quarantine_dir=quarantine_dir)
    summary = performance(stored, validated.data, config.labels.horizon_days, by)
    for run in summary["runs"]:
        reporter.say(_line(run))
    if output is not None:
        write_page(performance_report(summary), output)
        reporter.say(f"Performance report: {output}")
    return PerformanceRun(summary, output)


def _line(run: dict[str, Any]) -> str:
    head = f"{run['as_of'][:16]}  {run['model_version']}: {run['leads']:,} leads"
    if run["status"] != COMPLETE:
        return f"{head}, pending (horizon ends {run['horizon_ends'][:10]})"
    rate = run["conversion_rate"]
    hot = run["tiers"]["hot"]
    auc = "—" if run["roc_auc"] is None else f"{run['roc_auc']:.3f}"
    return (
        f"{head}, {run['conversions']:,} converted ({100 * (rate or 0):.1f} %); hot "
        f"{hot['conversions']:,}/{hot['leads']:,}; ROC-AUC {auc}"
    )


@dataclass(frozen=True)
class BacktestRun:
    """One ``backtest``: per origin, the version trained, whether it became champion, and the
    leads scored."""

    output: str
    model_name: str
    origins: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"output": describe_output(self.output), "model_name": self.model_name,
                "origins": self.origins}  # fmt: skip


def origins_between(start: pd.Timestamp, end: pd.Timestamp, every_days: int) -> list[pd.Timestamp]:
    """``start``, ``start + every``, ... up to ``end`` included."""
    if end < start:
        raise UsageError(f"backtest: --start {start.isoformat()} is after --end {end.isoformat()}")
    if every_days < 1:
        raise UsageError(f"backtest: --every must be at least 1 day (given: {every_days})")
    count = int((end - start) / pd.Timedelta(days=every_days)) + 1
    return [start + k * pd.Timedelta(days=every_days) for k in range(count)]


def backtest_job(
    source: str,
    config: Config,
    output: str,
    *,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    every_days: int,
    tracking_uri: str | None = None,
    model_name: str | None = None,
    quarantine_dir: Path | None = None,
    reporter: Reporter | None = None,
) -> BacktestRun:
    """Train as of each origin and score the leads open there into ``output`` (see the module
    docstring), registering the models as ``model_name`` (default: the configured name with
    ``-backtest``) in the configured experiment with ``-backtest``."""
    reporter = reporter or Silent()
    origins = origins_between(parse_as_of(start), parse_as_of(end), every_days)
    settings = config.tracking
    config = config.with_overrides(
        {
            "tracking.model_name": model_name or settings.model_name + BACKTEST_SUFFIX,
            "tracking.experiment": settings.experiment + BACKTEST_SUFFIX,
        }
    )
    Destination.parse(output)  # a bad destination fails before any training
    validated = load(source, config, require_labels=True, quarantine_dir=quarantine_dir)
    uri = tracking.tracking_uri(tracking_uri, config)
    run = BacktestRun(output, config.tracking.model_name)
    for k, origin in enumerate(origins, start=1):
        with reporter.step(f"origin {k}/{len(origins)}: {origin:%Y-%m-%d}"):
            trained = train_validated(validated, config, origin, uri, reporter)
            scored = score_loaded(
                validated, config, output, as_of=origin, tracking_uri=uri, reporter=reporter
            )
        summary = {
            "as_of": origin.isoformat(),
            "version": trained.registration.version,
            "promoted": trained.registration.promoted,
            "served_model": trained.result.served,
            "scored_with": scored.batch.model_version,
            "leads": scored.batch.rows,
        }
        run.origins.append(summary)
        verdict = "champion" if summary["promoted"] else "kept the champion"
        reporter.say(
            f"Origin {origin:%Y-%m-%d}: version {summary['version']} ({verdict}); "
            f"{summary['leads']:,} leads scored with {summary['scored_with']}"
        )
    return run
