"""Seconds per named step."""

from __future__ import annotations

import time

import pytest

from predictive_scoring.stopwatch import Stopwatch


def test_a_step_timed_several_times_adds_up_even_when_it_fails() -> None:
    watch = Stopwatch()
    for _ in range(2):
        with watch.time("sleep"):
            time.sleep(0.01)
    with pytest.raises(RuntimeError), watch.time("fails"):
        raise RuntimeError
    assert set(watch.seconds) == {"sleep", "fails"}
    assert 0.02 <= watch.seconds["sleep"] < 0.5
