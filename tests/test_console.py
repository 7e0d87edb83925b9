"""The terminal: a running step's time on the last line, then its total; nothing off a terminal."""

from __future__ import annotations

import io
import logging
import re
import time

import pytest

from predictive_scoring import console


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_step_shows_its_running_time_then_leaves_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    screen = _Tty()
    monkeypatch.setattr(console.sys, "stderr", screen)
    monkeypatch.setattr(console, "TICK_SECONDS", 0.01)
    monkeypatch.setattr(console, "SHOWN_AFTER", 0.0)
    handler = console._StepAwareHandler(screen)
    with console.Terminal().step("snapshots"):
        time.sleep(0.05)
        handler.emit(
            logging.LogRecord("predictive_scoring", logging.INFO, "", 0, "a note", None, None)
        )
    text = screen.getvalue()
    assert "  snapshots ... 0 s" in text
    assert "\r\x1b[Ka note\n" in text, "a log record starts on a cleared line"
    assert re.search(r"\r\x1b\[K  snapshots \d+\.\d s\n$", text), "the step's time stays"


def test_off_a_terminal_a_step_writes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(console.sys, "stderr", screen)
    with console.Terminal().step("snapshots"):
        time.sleep(0.01)
    assert screen.getvalue() == ""
