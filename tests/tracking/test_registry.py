"""The registry: a failure is never read as "no champion yet" (a tracking server failing or
killed during ``train``, for real: tests/test_faults.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from predictive_scoring.errors import RegistryError
from predictive_scoring.tracking import current_champion

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
