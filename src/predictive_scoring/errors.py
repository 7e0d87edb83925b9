"""Exceptions, and the exit code each maps to (CONTRACT section 3).

::

    ScoringError                      exit 1  anything else expected
    ├── DestinationBusyError          exit 1  another run held the destination too long
    ├── OutputError                   exit 1  an output cannot be written (disk full, read-only)
    ├── UsageError                    exit 2  bad command-line usage
    │   └── ConfigError               exit 2  bad config key or value (names its path)
    ├── DataError                     exit 3  input unusable; nothing written
    │   └── TooManyBadRowsError       exit 3  quarantined share above the configured limit
    └── ModelError                    exit 4  model or registry problem
        └── RegistryError             exit 4  tracking server or registry unreachable / missing

Expected failures are raised as one of these with a message a person can act on; the CLI prints
the message alone (no traceback) and exits with ``exit_code``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import ClassVar

__all__ = [
    "ConfigError",
    "DataError",
    "DestinationBusyError",
    "ModelError",
    "OutputError",
    "RegistryError",
    "ScoringError",
    "TooManyBadRowsError",
    "UsageError",
    "examples",
    "first_line",
    "os_reason",
]


class ScoringError(Exception):
    """Base of every expected failure."""

    exit_code: ClassVar[int] = 1


class DestinationBusyError(ScoringError):
    """Another run held the destination's lock for longer than the configured wait."""


class OutputError(ScoringError):
    """An output cannot be written (a full disk, a read-only folder, a refusing database); the
    previous output is left as it was."""


def os_reason(exc: BaseException) -> str:
    """An operating-system error in a few words: ``No space left on device (errno 28)``, also
    for libraries (Arrow, SQLite) that carry the errno only in their message."""
    number = getattr(exc, "errno", None)
    if not isinstance(number, int):
        found = re.search(r"\[errno (\d+)\]", str(exc), re.IGNORECASE)
        number = int(found.group(1)) if found else None
    if number is None:
        return first_line(exc)
    return f"{os.strerror(number)} (errno {number})"


class UsageError(ScoringError):
    """The command was called wrongly."""

    exit_code: ClassVar[int] = 2


class ConfigError(UsageError):
    """A configuration key or value is invalid."""


class DataError(ScoringError):
    """The input data cannot be used; nothing was written."""

    exit_code: ClassVar[int] = 3


class TooManyBadRowsError(DataError):
    """More rows were quarantined than the configured share allows."""


class ModelError(ScoringError):
    """A model cannot be trained, loaded or registered."""

    exit_code: ClassVar[int] = 4


class RegistryError(ModelError):
    """The tracking server or model registry cannot serve the request."""


def examples(values: Iterable[object], limit: int = 3) -> str:
    """Format a few offending values for a message, e.g. ``'a', 'b', 'c' (and 4 more)``."""
    items = list(values)
    shown = ", ".join(repr(_short(v)) for v in items[:limit])
    rest = len(items) - limit
    return f"{shown} (and {rest} more)" if rest > 0 else shown


def first_line(exc: BaseException) -> str:
    """The first line of a library's exception message (its type when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _short(value: object, width: int = 40) -> object:
    text = str(value)
    return value if len(text) <= width else text[: width - 1] + "…"
