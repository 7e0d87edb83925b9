"""One small funnel trained and scored through the command line, shared by the report tests.

A company is named ``<script>alert(1)</script>``: every report must show it as text.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.cli import main
from predictive_scoring.data.synthetic import generate_funnel

SCRIPT_COMPANY = "<script>alert(1)</script>"


@dataclass(frozen=True)
class BoardRun:
    folder: Path
    data: Path
    scores: Path
    board: Path
    card: Path
    tracking_uri: str
    script_lead: str
    training: dict[str, object]
    scoring: dict[str, object]


def _run(*args: object) -> dict[str, object]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(a) for a in args])
    assert code == 0, out.getvalue()
    loaded: dict[str, object] = json.loads(out.getvalue().strip().splitlines()[-1])
    return loaded


@pytest.fixture(scope="session")
def board_run(tmp_path_factory: pytest.TempPathFactory) -> BoardRun:
    folder = tmp_path_factory.mktemp("board")
    data = folder / "data"
    generate_funnel(n_leads=2500, seed=3).write(data, fmt="csv")
    leads = pd.read_csv(data / "leads.csv", dtype=str, keep_default_na=False)
    closed = set(pd.read_csv(data / "outcomes.csv", dtype=str)[schema.LEAD_ID])
    candidates = leads[~leads[schema.LEAD_ID].isin(closed)]
    script_lead = str(candidates[schema.LEAD_ID].iloc[len(candidates) // 2])
    leads.loc[leads[schema.LEAD_ID] == script_lead, "company"] = SCRIPT_COMPANY
    leads.to_csv(data / "leads.csv", index=False)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    card, board, scores = (
        folder / "model-card.html",
        folder / "board.html",
        folder / "scores.parquet",
    )
    training = _run(
        "train", "--data", data, "--tracking-uri", uri, "--model-card", card,
        "--quarantine-dir", folder / "q", "--json",
    )  # fmt: skip
    scoring = _run(
        "score", "--data", data, "--output", scores, "--tracking-uri", uri, "--report", board,
        "--quarantine-dir", folder / "q", "--json",
    )  # fmt: skip
    return BoardRun(folder, data, scores, board, card, uri, script_lead, training, scoring)
