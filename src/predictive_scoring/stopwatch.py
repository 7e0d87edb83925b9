"""Where a job's time and memory go: named steps timed where they run, summed over chunks.

A :class:`Stopwatch` records, per step, the seconds spent in it and the peak resident memory of
the process while it ran (sampled every :data:`SAMPLE_SECONDS` by a background thread reading
``/proc/self/statm``, plus a reading at every step boundary; elsewhere than Linux, the process's
high-water mark at the step's end).  Steps nest: ``"candidates/lightgbm"`` inside
``"candidates"``; a step timed several times (once per chunk) adds up.  The process's own
high-water mark is never reset, so benchmarks that read ``ru_maxrss`` still see the true peak.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

__all__ = ["SAMPLE_SECONDS", "Stopwatch", "peak_gb", "resident_gb", "step"]

SAMPLE_SECONDS = 0.02
GB = 1024**3
_STATM = "/proc/self/statm"
_STATUS = "/proc/self/status"
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

_CURRENT: contextvars.ContextVar[Stopwatch | None] = contextvars.ContextVar(
    "stopwatch", default=None
)

Announce = Callable[[str], AbstractContextManager[None]]
"""What shows a step on a terminal while it runs (a reporter's ``step``)."""


def resident_gb() -> float | None:
    """The process's resident memory now, in GB (``None`` where ``/proc`` is absent)."""
    try:
        with open(_STATM, "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE / GB
    except OSError:
        return None


def peak_gb() -> float:
    """The process's resident high-water mark since it started, in GB: ``VmHWM`` on Linux (which
    starts afresh at ``exec``; ``ru_maxrss`` carries over the parent's peak), else
    ``ru_maxrss``."""
    try:
        with open(_STATUS, encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / GB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / GB if sys.platform == "darwin" else peak * 1024 / GB


class _Sampler:
    """A daemon thread keeping the highest resident memory seen since the last :meth:`take`."""

    def __init__(self) -> None:
        self._highest = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None and resident_gb() is not None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="stopwatch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self._see(resident_gb() or 0.0)

    def _see(self, now: float) -> None:
        with self._lock:
            self._highest = max(self._highest, now)

    def take(self) -> float:
        """The highest reading since the last call (the current one included); starts over."""
        now = resident_gb()
        if now is None:
            return peak_gb()
        with self._lock:
            highest, self._highest = max(self._highest, now), now
        return highest


@dataclass
class _Frame:
    """An open step: its name, the prefix of the steps inside it, whether it counts only its own
    time, and the seconds of the steps timed inside it (for an ``own`` step)."""

    name: str
    prefix: str
    own: bool
    inside: float = 0.0


class Stopwatch:
    """Seconds and peak memory per named step.

    ``announce`` (a reporter's ``step``) is entered around every outermost step, so that a
    terminal shows what is running and for how long.
    """

    def __init__(self, announce: Announce | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.peak: dict[str, float] = {}
        self._announce = announce
        self._open: list[_Frame] = []
        self._sampler = _Sampler()
        self._started = time.perf_counter()

    @contextlib.contextmanager
    def time(self, step: str, *, own: bool = False, shown: bool = True) -> Iterator[None]:
        """Time the block as (part of) ``step``, nested in the steps open around it.

        With ``own``, the steps timed inside the block are not nested in it (they are named as
        its siblings) and their time is not counted as its own: ``time("write", own=True)``
        around a writer that pulls chunks scored on demand gives the writing alone, beside the
        scoring steps.  ``shown=False`` keeps it off the terminal (a step that shows its own
        progress).
        """
        parent = self._open[-1] if self._open else None
        name = f"{parent.prefix}/{step}" if parent is not None and parent.prefix else step
        prefix = (parent.prefix if parent is not None else "") if own else name
        frame = _Frame(name, prefix, own)
        if not self._open:
            self._sampler.start()
        self._fold()
        self._open.append(frame)
        self.seconds.setdefault(name, 0.0)
        outermost = len(self._open) == 1
        display = self._announce(name) if self._announce and shown and outermost else None
        started = time.perf_counter()
        try:
            with display or contextlib.nullcontext():
                yield
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[name] += elapsed - frame.inside if own else elapsed
            if parent is not None and parent.own:
                parent.inside += elapsed
            self._fold()
            self._open.pop()
            if not self._open:
                self._sampler.stop()

    @contextlib.contextmanager
    def use(self) -> Iterator[Stopwatch]:
        """Make this the stopwatch :func:`step` times on, inside the block."""
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)

    def _fold(self) -> None:
        """The memory seen since the last step boundary counts for every step open now."""
        highest = self._sampler.take()
        for frame in self._open:
            self.peak[frame.name] = max(self.peak.get(frame.name, 0.0), highest)

    def breakdown(self) -> dict[str, Any]:
        """Per step (a list, in the order the steps first ran), seconds and peak resident GB, with the
        process's own peak and the seconds since the stopwatch was made (``--json``'s
        ``timing``)."""
        return {
            "total_seconds": round(time.perf_counter() - self._started, 3),
            "steps": [
                {
                    "step": name,
                    "seconds": round(seconds, 3),
                    "peak_gb": round(self.peak.get(name, 0.0), 3),
                }
                for name, seconds in self.seconds.items()
            ],
            "peak_gb": round(peak_gb(), 3),
        }

    def summary(self, limit: int = 6) -> str:
        """The slowest outermost steps in one line: ``"features 41.2 s, snapshots 20.3 s, …"``."""
        outer = {n: s for n, s in self.seconds.items() if "/" not in n}
        slowest = sorted(outer.items(), key=lambda item: -item[1])[:limit]
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in slowest)


def step(name: str) -> AbstractContextManager[None]:
    """Time the block as ``name`` on the stopwatch in use (:meth:`Stopwatch.use`), if any: the
    training and scoring code marks its steps without a stopwatch passed down to it."""
    watch = _CURRENT.get()
    return contextlib.nullcontext() if watch is None else watch.time(name)
