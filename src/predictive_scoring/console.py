"""The terminal a command runs in: a job's messages, logging, and quiet libraries."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import typer

from predictive_scoring.errors import ScoringError

__all__ = [
    "SIGTERM_EXIT",
    "Interrupted",
    "Terminal",
    "configure_logging",
    "emit_json",
    "end_process",
    "exit_code",
    "lead_card",
    "quiet_libraries",
    "stop_on_sigterm",
]

SIGTERM_EXIT = 128 + signal.SIGTERM


def emit_json(summary: dict[str, Any]) -> None:
    """``--json``: the run's summary as the last line on stdout (one JSON object)."""
    typer.echo(json.dumps(summary, default=str, sort_keys=True))


def end_process(code: int) -> None:
    """End the process with ``code`` once the command is done: streams flushed, logging shut
    down and the ``atexit`` handlers run (MLflow's among them), then ``os._exit``, which skips
    the interpreter's teardown of every module and object (1.2 s after a ``score``, a sixth of
    its wall time on a small funnel).  Everything the command writes is closed by then: outputs
    are renamed into place only when complete.  For the process entry points only: ``main``
    returns its code to callers that go on running."""
    import atexit

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    logging.shutdown()
    atexit._run_exitfuncs()  # what a normal exit runs first
    os._exit(code)


class Interrupted(BaseException):
    """The process was asked to stop; raised where it runs, so ``finally`` blocks (temporary
    files) run on the way out.  A ``BaseException``, like ``KeyboardInterrupt``, so that no
    ``except Exception`` swallows it."""

    exit_code = SIGTERM_EXIT


def stop_on_sigterm() -> None:
    """SIGTERM (a deploy, a scheduler's timeout) stops the command like Ctrl-C does: outputs are
    left as they were and the exit code is 143."""

    def stop(signum: int, frame: object) -> None:
        raise Interrupted("terminated (SIGTERM)")

    with contextlib.suppress(ValueError):  # not the main thread (an embedding program): leave it
        signal.signal(signal.SIGTERM, stop)


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

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """On a terminal, ``name`` and its running time on stderr while the step runs, and the
        time it took once it has (steps under :data:`SHOWN_AFTER` seconds leave no line)."""
        if not sys.stderr.isatty():
            yield
            return
        started = time.perf_counter()
        done = threading.Event()

        def show() -> None:
            while not done.wait(TICK_SECONDS):
                elapsed = time.perf_counter() - started
                with _SCREEN:
                    sys.stderr.write(f"\r\x1b[K  {name} ... {elapsed:.0f} s")
                    sys.stderr.flush()

        ticker = threading.Thread(target=show, name="step-display", daemon=True)
        ticker.start()
        _LIVE.set()
        try:
            yield
        finally:
            done.set()
            ticker.join()
            _LIVE.clear()
            elapsed = time.perf_counter() - started
            line = f"  {name} {elapsed:.1f} s\n" if elapsed >= SHOWN_AFTER else ""
            with _SCREEN:
                sys.stderr.write(f"\r\x1b[K{line}")
                sys.stderr.flush()


TICK_SECONDS = 0.5
SHOWN_AFTER = 1.0
_LIVE = threading.Event()
"""Set while a step's running time is on the terminal's last line."""
_SCREEN = threading.Lock()
"""Held while writing to stderr, so that a tick and a log record never share a line."""


class _StepAwareHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Log records on a line of their own, not after a running step's time."""

    def emit(self, record: logging.LogRecord) -> None:
        with _SCREEN:
            if _LIVE.is_set():
                self.stream.write("\r\x1b[K")
            super().emit(record)


def configure_logging() -> None:
    """Our own messages at INFO on stderr; other libraries' only when they are errors."""
    handler = _StepAwareHandler(sys.stderr)
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


def exit_code(command: Callable[[], object]) -> int:
    """Run ``command`` (the Typer app) and map how it ended to the contract's exit codes: one
    line on stderr for an expected failure, never a traceback unless asked for."""
    try:
        return _interrupted(command())
    except Interrupted as exc:
        typer.echo(f"stopped: {exc}", err=True)
        return exc.exit_code
    except ScoringError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except Exception as exc:
        return _unexpected(exc)


def _interrupted(code: object) -> int:
    """Typer turns Ctrl-C into the exit code 130 returned from the app: say so, return it."""
    if isinstance(code, int) and code:
        typer.echo("stopped: interrupted (Ctrl-C)", err=True)
        return code
    return 0


def _unexpected(exc: Exception) -> int:
    if isinstance(exc, typer.TyperException) and hasattr(exc, "show"):
        exc.show()  # Typer's own parsing errors (an unknown option, a bad value)
        return int(exc.exit_code)  # type: ignore[attr-defined]
    if os.environ.get("PREDICTIVE_SCORING_DEBUG"):
        raise exc
    typer.echo(
        f"error: unexpected {type(exc).__name__}: {exc}\n"
        "(set PREDICTIVE_SCORING_DEBUG=1 to see the traceback)",
        err=True,
    )
    return 1


def lead_card(row: Any) -> list[str]:
    """One scored lead as ``explain`` prints it: score, tier, MQL, its chance (a rules file's
    row: its points), fit and intent, as-of and model, and its reasons with their signs."""
    import pandas as pd

    from predictive_scoring import schema

    mql = "yes" if row[schema.IS_MQL] else "no"
    probability = row[schema.PROBABILITY]
    chance = (
        f"{row.get(schema.POINTS, float('nan')):,.1f} points (a rules file: no probability)"
        if pd.isna(probability)
        else f"probability {probability:.1%} of converting within the horizon"
    )
    segment = row.get(schema.SEGMENT) or ""
    lines = [
        f"Lead {row[schema.LEAD_ID]}  score {row[schema.SCORE]}/100  tier {row[schema.TIER]}  "
        f"MQL: {mql}",
        chance,
        f"fit {row[schema.FIT_SCORE]}/100   intent {row[schema.INTENT_SCORE]}/100",
        f"as of {'a flat export' if pd.isna(row[schema.AS_OF]) else row[schema.AS_OF]}   "
        f"model {row[schema.MODEL_VERSION]}" + (f" (segment {segment})" if segment else ""),
    ]
    for reason in json.loads(row[schema.REASONS]):
        sign = "-" if reason["impact"] < 0 else "+"
        lines.append(f"  {sign} {reason['text']}  ({reason['impact']:+.2f})")
    return lines
