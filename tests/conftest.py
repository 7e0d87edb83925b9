"""Shared fixtures: small hand-made contract tables, generated funnels and the models trained on
them (made once per session, by :class:`Funnels`), and a CLI runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.cli import main
from predictive_scoring.config import load_config
from predictive_scoring.data.load import load_lead_data
from predictive_scoring.data.synthetic import generate_funnel
from predictive_scoring.data.tables import LeadData
from predictive_scoring.training import TrainingResult, train_models
from tests.postgres_server import postgres_server, postgres_url  # noqa: F401  (shared fixtures)

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


class Funnels:
    """Generated funnels (written as Parquet) and the models trained on them, each made once per
    test session: tests that ask for the same funnel or training share it."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._folders: dict[tuple[int, int], Path] = {}
        self._data: dict[tuple[int, int], LeadData] = {}
        self._trained: dict[tuple[Any, ...], TrainingResult] = {}

    def folder(self, n_leads: int, seed: int) -> Path:
        """A folder holding ``generate_funnel(n_leads, seed)``'s tables, PII columns included."""
        key = (n_leads, seed)
        if key not in self._folders:
            folder = self._factory.mktemp(f"funnel-{n_leads}-{seed}")
            generate_funnel(n_leads=n_leads, seed=seed).write(folder)
            self._folders[key] = folder
        return self._folders[key]

    def data(self, n_leads: int, seed: int) -> LeadData:
        """That funnel, validated with the default config."""
        key = (n_leads, seed)
        if key not in self._data:
            folder = self.folder(n_leads, seed)
            validated = load_lead_data(
                str(folder), load_config(), require_labels=True, quarantine_dir=folder / "q"
            )
            self._data[key] = validated.data
        return self._data[key]

    def trained(
        self,
        n_leads: int,
        seed: int,
        as_of: pd.Timestamp,
        overrides: dict[str, Any] | None = None,
    ) -> TrainingResult:
        """The default config (with dotted-key ``overrides``) trained on that funnel as of
        ``as_of``."""
        key = (n_leads, seed, as_of, tuple(sorted((overrides or {}).items())))
        if key not in self._trained:
            config = load_config().with_overrides(overrides or {})
            self._trained[key] = train_models(self.data(n_leads, seed), config, as_of)
        return self._trained[key]


@pytest.fixture(scope="session")
def funnels(tmp_path_factory: pytest.TempPathFactory) -> Funnels:
    return Funnels(tmp_path_factory)


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
