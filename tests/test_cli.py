"""The command line: the contract's exit codes, one clear message, no traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from predictive_scoring import schema
from predictive_scoring.data.outputs import Destination, write_scores
from tests.conftest import CliResult, Funnels, Tables
from tests.data.test_outputs import _chunk


def test_score_without_a_registered_model_is_a_registry_error(
    tables: Tables, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    data = tables.write(tmp_path / "data")
    uri = f"sqlite:///{tmp_path / 'empty.db'}"
    result = cli(
        "score",
        "--data",
        data,
        "--output",
        tmp_path / "s.parquet",
        "--tracking-uri",
        uri,
        "--quarantine-dir",
        tmp_path / "q",
    )
    assert result.code == 4
    assert "cannot load model models:/lead-scoring@champion" in result.err
    assert not (tmp_path / "s.parquet").exists()


def test_score_needs_an_output(
    tables: Tables, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    result = cli("score", "--data", tables.write(tmp_path / "data"))
    assert result.code == 2 and "--output" in result.err


def test_bad_output_suffix_is_a_usage_error(
    tables: Tables, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    result = cli(
        "score",
        "--data",
        tables.write(tmp_path / "data"),
        "--output",
        tmp_path / "s.xlsx",
        "--quarantine-dir",
        tmp_path / "q",
    )
    assert result.code == 2 and ".parquet or .csv" in result.err


def test_explain_prints_the_latest_card_of_a_lead_or_the_one_asked_for(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    path = tmp_path / "scores.parquet"
    first, second = pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-01-02", tz="UTC")
    reason = json.dumps(
        [{"feature": "demo_request", "value": 1, "impact": 0.5, "text": "Requested a demo today"}]
    )
    older = _chunk(first, 3, "L").assign(**{schema.SCORE: 10, schema.REASONS: reason})
    newer = _chunk(second, 3, "L").assign(**{schema.SCORE: 90, schema.TIER: "hot"})
    write_scores([older], Destination.parse(str(path)), first)
    write_scores([newer], Destination.parse(str(path)), second)
    latest = cli("explain", "L1", "--scores", path)
    assert latest.code == 0
    assert latest.out.splitlines()[0] == "Lead L1  score 90/100  tier hot  MQL: no"
    chosen = cli("explain", "L1", "--scores", path, "--as-of", "2025-01-01")
    assert "score 10/100" in chosen.out
    assert "  + Requested a demo today  (+0.50)" in chosen.out.splitlines()
    missing = cli("explain", "nobody", "--scores", path)
    assert missing.code == 2 and "lead 'nobody' is not in" in missing.err


@pytest.mark.slow
@pytest.mark.parametrize(("stop", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_train_exits_with_the_signal_s_code_and_promotes_nothing(
    stop: signal.Signals, code: int, funnels: Funnels, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    card = tmp_path / "card.html"
    config = tmp_path / "one-thread.yaml"
    config.write_text("models:\n  num_threads: 1\n  candidates: [lightgbm]\n")  # to Served: soon
    command = [
        sys.executable, "-m", "predictive_scoring", "train", "--data", funnels.folder(2000, 2),
        "--tracking-uri", uri, "--model-card", card, "--config", config,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    train = subprocess.Popen(
        [str(c) for c in command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=tmp_path, env=env, preexec_fn=_interruptible,
    )  # fmt: skip
    assert train.stdout is not None
    for line in train.stdout:
        if line.startswith("Served:"):  # the models are compared: now it logs and registers
            break
    train.send_signal(stop)
    started = time.monotonic()
    _, err = train.communicate(timeout=60)
    assert train.returncode == code, err[-2000:]
    assert time.monotonic() - started < 20
    assert "stopped:" in err and "Traceback" not in err
    assert not card.exists()
    assert not list(tmp_path.glob(".*.tmp"))
    client = MlflowClient(tracking_uri=uri)
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias("lead-scoring", "champion")
    runs = client.search_runs([client.get_experiment_by_name("lead-scoring").experiment_id])
    assert all(r.info.status == "KILLED" for r in runs)  # a run it started: never left RUNNING


def _interruptible() -> None:
    """Ctrl-C as a terminal delivers it: a suite run as a background job (``make test &``)
    ignores SIGINT, and its children inherit that, so Python would not turn it into
    ``KeyboardInterrupt`` (SIGTERM is handled whatever the parent did)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _flat_export(n: int, seed: int) -> pd.DataFrame:
    """A CRM export without timestamps: attributes, pre-aggregated behaviour and the label."""
    rng = np.random.default_rng(seed)
    source = rng.choice(["web", "partner", "event"], n)
    visits = rng.poisson(3, n)
    logit = -2.0 + 1.2 * (source == "partner") + 0.35 * visits
    converted = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "Lead Number": [f"F{seed}-{i}" for i in range(n)],
            "Lead Source": source,
            "TotalVisits": visits,
            "Converted": np.where(converted, "Yes", "No"),
        }
    )


@pytest.mark.slow
def test_a_flat_export_without_its_label_scores_every_row(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    config = tmp_path / "flat.yaml"
    config.write_text(
        'data:\n  column_map: {leads: {"Lead Number": lead_id}}\nmodels:\n  num_threads: 1\n'
    )
    (tmp_path / "train").mkdir()
    _flat_export(3000, 0).to_csv(tmp_path / "train" / "leads.csv", index=False)
    new = _flat_export(400, 1)
    for name, frame in {
        "unlabelled": new.drop(columns="Converted"),
        "labelled": new.assign(Converted=np.where(np.arange(len(new)) % 2, "maybe", "Yes")),
    }.items():
        (tmp_path / name).mkdir()
        frame.to_csv(tmp_path / name / "leads.csv", index=False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    common = ("--tracking-uri", uri, "--config", config)
    trained = cli(
        "train", "--data", tmp_path / "train", *common, "--model-card", tmp_path / "c.html"
    )
    assert trained.code == 0, trained.err
    assert cli("validate", "--data", tmp_path / "unlabelled", "--config", config).code == 0
    outputs = {}
    for name in ("unlabelled", "labelled"):
        out = tmp_path / f"{name}.parquet"
        scored = cli("score", "--data", tmp_path / name, "--output", out, *common, "--json")
        assert scored.code == 0, scored.err
        outputs[name] = pd.read_parquet(out)
    unlabelled = outputs["unlabelled"]
    assert sorted(unlabelled[schema.LEAD_ID]) == sorted(new["Lead Number"])
    assert unlabelled[schema.AS_OF].isna().all()
    pd.testing.assert_frame_equal(unlabelled, outputs["labelled"])  # a label at scoring: ignored
    reasons = " ".join(unlabelled[schema.REASONS])
    assert "converted" not in reasons.lower(), "the label is never a feature"
