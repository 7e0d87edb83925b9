"""The terminal a command runs in: a job's messages, logging, and quiet libraries."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator

import typer

__all__ = ["Terminal", "configure_logging", "quiet_libraries"]


class Terminal:
    """A job's messages on the terminal: lines on stdout, warnings on stderr, and a running
    count on stderr when it is a terminal."""

    def say(self, text: str) -> None:
        typer.echo(text)

    def warn(self, text: str) -> None:
        typer.echo(text, err=True)

    @contextlib.contextmanager
    def counter(self, unit: str) -> Iterator[Callable[[int], None]]:
        from tqdm import tqdm

        progress = tqdm(unit=unit, unit_scale=True, disable=not sys.stderr.isatty(), leave=False)
        try:
            yield progress.update
        finally:
            progress.close()


def configure_logging() -> None:
    """Our own messages at INFO on stderr; other libraries' only when they are errors."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.addFilter(
        lambda r: r.name.startswith("predictive_scoring") or r.levelno >= logging.ERROR
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def quiet_libraries() -> None:
    """Telemetry off, progress bars of libraries off (unless the user set them)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
