"""Seconds and peak memory per named step."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import numpy as np
import pytest

from predictive_scoring.stopwatch import Stopwatch, resident_gb, step


def test_a_step_timed_several_times_adds_up_even_when_it_fails() -> None:
    watch = Stopwatch()
    for _ in range(2):
        with watch.time("sleep"):
            time.sleep(0.01)
    with pytest.raises(RuntimeError), watch.time("fails"):
        raise RuntimeError
    assert set(watch.seconds) == {"sleep", "fails"}
    assert 0.02 <= watch.seconds["sleep"] < 0.5


def test_steps_nest_and_a_step_of_its_own_excludes_the_steps_inside_it() -> None:
    watch = Stopwatch()
    with watch.use():
        with step("outer"), step("inner"):
            time.sleep(0.02)
        with watch.time("write", own=True):
            time.sleep(0.02)
            with step("score"):
                time.sleep(0.05)
    seconds = watch.seconds
    assert list(seconds) == ["outer", "outer/inner", "write", "score"]
    assert seconds["outer"] >= seconds["outer/inner"] >= 0.02
    assert 0.02 <= seconds["write"] < 0.045  # the 0.05 s of "score" are not the writer's
    assert seconds["score"] >= 0.05
    with step("no stopwatch in use"):
        pass
    assert "no stopwatch in use" not in watch.seconds


@pytest.mark.skipif(resident_gb() is None, reason="needs /proc/self/statm")
def test_a_step_that_holds_memory_peaks_above_the_steps_that_do_not() -> None:
    watch = Stopwatch()
    with watch.time("small"):
        time.sleep(0.05)
    with watch.time("big"):
        block = np.ones(400 * 2**20 // 8)  # 400 MB, touched
        time.sleep(0.05)
        del block
    with watch.time("after"):
        time.sleep(0.05)
    peak = {s["step"]: s for s in watch.breakdown()["steps"]}
    assert peak["big"]["peak_gb"] - peak["small"]["peak_gb"] >= 0.35
    assert peak["big"]["peak_gb"] - peak["after"]["peak_gb"] >= 0.35


def test_only_the_outermost_shown_steps_are_announced() -> None:
    announced: list[str] = []

    @contextlib.contextmanager
    def announce(name: str) -> Iterator[None]:
        announced.append(name)
        yield

    watch = Stopwatch(announce)
    with watch.time("snapshots"), watch.time("inside"):
        pass
    with watch.time("write", shown=False):
        pass
    assert announced == ["snapshots"]
    assert "snapshots" in watch.summary() and "snapshots/inside" not in watch.summary()


def test_own_steps_nested_in_steps_count_their_own_time_once() -> None:
    watch = Stopwatch()
    with watch.use(), step("outer"), watch.time("write", own=True):
        time.sleep(0.02)
        with step("score"):
            time.sleep(0.04)
            with watch.time("sub", own=True), step("x"):
                time.sleep(0.03)
        with watch.time("inner", own=True), step("y"):
            time.sleep(0.02)
    seconds = watch.seconds
    assert set(seconds) == {
        "outer", "outer/write", "outer/score", "outer/score/sub", "outer/score/x",
        "outer/inner", "outer/y",
    }  # fmt: skip
    assert 0.02 <= seconds["outer/write"] < 0.035, "its own 0.02 s, not the steps inside it"
    assert seconds["outer/score/sub"] < 0.01 and seconds["outer/inner"] < 0.01
    assert seconds["outer/score"] >= 0.07, "a plain step holds the own steps inside it"
    assert "score" not in watch.summary(), "only the outermost steps are summed up"
