"""Shared fixtures: small hand-made contract tables and a CLI runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.cli import main

EVENT_TYPES = ("page_view", "pricing_page_view", "email_click", "demo_request")


@dataclass
class Tables:
    """Editable copies of the three tables; ``write`` puts them in a folder as CSV."""

    leads: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame

    def write(self, folder: Path, skip: tuple[str, ...] = ()) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name in schema.TABLES:
            if name not in skip:
                getattr(self, name).to_csv(folder / f"{name}.csv", index=False)
        return folder


def make_tables(n_leads: int = 100, events_per_lead: int = 3, seed: int = 0) -> Tables:
    """Small valid tables: leads created in January 2024, events after creation, a few outcomes."""
    rng = np.random.default_rng(seed)
    ids = [f"L{i:03d}" for i in range(n_leads)]
    created = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 30 * 24, n_leads), unit="h"
    )
    leads = pd.DataFrame(
        {
            schema.LEAD_ID: ids,
            schema.CREATED_AT: created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "email": [f"person{i}@{'gmail.com' if i % 3 else 'acme.io'}" for i in range(n_leads)],
            "first_name": [f"Name{i}" for i in range(n_leads)],
            "industry": rng.choice(["Software", "Retail", "Finance"], n_leads),
            "company_size": rng.integers(1, 500, n_leads),
        }
    )
    lead_of_event = np.repeat(np.arange(n_leads), events_per_lead)
    offsets = pd.to_timedelta(rng.integers(1, 60 * 24 * 60, len(lead_of_event)), unit="min")
    events = pd.DataFrame(
        {
            schema.LEAD_ID: np.array(ids)[lead_of_event],
            schema.OCCURRED_AT: (created[lead_of_event] + offsets).strftime("%Y-%m-%dT%H:%M:%SZ"),
            schema.EVENT_TYPE: rng.choice(EVENT_TYPES, len(lead_of_event)),
        }
    )
    won = ids[: n_leads // 4]
    converted = (created[: len(won)] + pd.Timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    outcomes = pd.DataFrame(
        {
            schema.LEAD_ID: won,
            schema.CONVERTED_AT: converted,
            schema.STATUS: "won",
            schema.CLOSED_AT: converted,
        }
    )
    return Tables(leads, events, outcomes)


@pytest.fixture
def tables() -> Tables:
    return make_tables()


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict[str, object]:
        loaded: dict[str, object] = json.loads(self.out.strip().splitlines()[-1])
        return loaded


@pytest.fixture(autouse=True)
def _working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own folder, so default outputs (model card, mlflow.db) land there."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run the command line in-process and capture what it printed."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
