"""What every job shares: how it talks to the person running it, and its inputs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import Config
from predictive_scoring.data.load import load_lead_data
from predictive_scoring.data.tables import LeadData, parse_instant
from predictive_scoring.data.validation import Validated
from predictive_scoring.errors import ModelError, UsageError
from predictive_scoring.scoring import BatchSummary
from predictive_scoring.serving import ServedModel

__all__ = [
    "Reporter",
    "ScoreRun",
    "Silent",
    "announcer",
    "load",
    "parse_as_of",
    "refuse_unusable",
    "resolve_as_of",
    "resolve_source",
]


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


def announcer(reporter: Reporter) -> Any:
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


def refuse_unusable(problems: dict[str, str], served: ServedModel, reporter: Reporter) -> None:
    """Exit 4 for lead columns the model reads that the data cannot give (``problems``: column
    → why), since it would score every lead as if they were missing; only a warning when that is
    ``email_domain_type`` alone, derived from an email column an export may leave out on
    purpose."""
    problems = dict(problems)
    if problems.pop(schema.EMAIL_DOMAIN_TYPE, None) is not None:
        reporter.warn(
            f"WARNING: model {served.version} reads {schema.EMAIL_DOMAIN_TYPE!r}, derived from an "
            "email column this data does not have: every lead scores as if it were unknown"
        )
    if problems:
        listed = ", ".join(f"{column!r} ({why})" for column, why in problems.items())
        raise ModelError(
            f"model {served.version} reads lead columns this data cannot give: {listed}; add "
            "them to the leads table (or map their names with data.column_map), or train a "
            "model on the columns the data has"
        )
