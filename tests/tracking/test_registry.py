"""The registry: a failure is never read as "no champion yet" (a tracking server failing or
killed during ``train``, for real: tests/test_faults.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from predictive_scoring.errors import DestinationBusyError, RegistryError
from predictive_scoring.tracking import current_champion, promote, registry_lock, training_run

MODEL = "registry-faults"


def test_an_empty_store_has_no_champion(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'empty.db'}"
    assert current_champion(MODEL, uri) is None
    MlflowClient(tracking_uri=uri).create_registered_model(MODEL)
    assert current_champion(MODEL, uri) is None, "a model without the alias has no champion"


def test_a_registry_that_cannot_answer_is_an_error_not_no_champion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    with pytest.raises(RegistryError, match=r"cannot read the champion .* http://127\.0\.0\.1:9"):
        current_champion(MODEL, "http://127.0.0.1:9")


def _versions(uri: str, n: int, folder: Path) -> tuple[MlflowClient, list[str]]:
    """``n`` registered versions of :data:`MODEL` (each with a run of its own)."""
    client = MlflowClient(tracking_uri=uri)
    client.create_registered_model(MODEL)
    experiment = client.create_experiment("gate", artifact_location=folder.as_uri())
    runs = []
    for _ in range(n):
        run = client.create_run(experiment).info.run_id
        client.create_model_version(MODEL, folder.as_uri(), run_id=run)
        runs.append(run)
    return client, runs


def test_a_promotion_checks_the_champion_it_was_gated_against(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client, runs = _versions(uri, 3, tmp_path)
    assert promote(MODEL, "1", runs[0], uri, gated_against=None) is None
    assert promote(MODEL, "2", runs[1], uri, gated_against="1") is None
    assert current_champion(MODEL, uri) == "2"
    assert client.get_run(runs[1]).data.tags["promoted"] == "true"
    # version 3 was compared with version 1 while another run promoted version 2
    moved = promote(MODEL, "3", runs[2], uri, gated_against="1")
    assert moved is not None and "moved the champion to version 2" in moved
    assert current_champion(MODEL, uri) == "2", "a version that met an older champion waits"
    assert client.get_run(runs[2]).data.tags["promoted"] == "false"


def test_a_local_registry_s_gate_is_taken_in_turn(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    said: list[str] = []
    with registry_lock(uri, 1):
        started = time.monotonic()
        with (
            pytest.raises(DestinationBusyError, match="the registry"),
            registry_lock(uri, 0.3, said.append),
        ):
            pass
        assert time.monotonic() - started >= 0.3 and said
    with registry_lock(uri, 0):
        pass
    with registry_lock("http://127.0.0.1:9", 0), registry_lock("http://127.0.0.1:9", 0):
        pass  # a tracking server has no lock: promote() checks instead


def test_a_training_run_stopped_by_a_signal_ends_killed_and_a_failed_one_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")  # MLflow exports the URI it is given: undone
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ended = {}
    for raised in (KeyboardInterrupt, ValueError):
        with pytest.raises(raised), training_run(uri, "stops", raised.__name__) as (_, run_id):
            ended[raised.__name__] = run_id
            raise raised()
    client = MlflowClient(tracking_uri=uri)
    assert client.get_run(ended["KeyboardInterrupt"]).info.status == "KILLED"
    assert client.get_run(ended["ValueError"]).info.status == "FAILED"
