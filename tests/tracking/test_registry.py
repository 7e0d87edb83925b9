"""The registry: a failure is never read as "no champion yet", and never moves an alias."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from predictive_scoring.cli import main
from predictive_scoring.errors import RegistryError
from predictive_scoring.tracking import CHAMPION, current_champion
from tests.conftest import CliResult, Funnels

MODEL = "registry-faults"
ONE_THREAD = "models:\n  num_threads: 1\n"


def _unavailable(*args: object, **kwargs: object) -> None:
    raise MlflowException("the registry is restarting", error_code="TEMPORARILY_UNAVAILABLE")


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


@pytest.fixture(scope="module")
def store_with_champion(
    tmp_path_factory: pytest.TempPathFactory, funnels: Funnels
) -> tuple[Path, Path, Path]:
    """A funnel, a store whose champion is version 1 (trained once for the module), and a
    config with one thread."""
    folder = tmp_path_factory.mktemp("registry-store")
    data = funnels.folder(2000, 2)
    config = folder / "one-thread.yaml"
    config.write_text(ONE_THREAD)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    here = Path.cwd()
    os.chdir(folder)  # the store's artifacts land beside it, as they would for a user
    try:
        code = main([
            "train", "--data", str(data), "--tracking-uri", uri, "--model-name", MODEL,
            "--config", str(config), "--as-of", "2025-10-01",
            "--model-card", str(folder / "card.html"),
        ])  # fmt: skip
    finally:
        os.chdir(here)
    assert code == 0
    assert current_champion(MODEL, uri) == "1"
    return data, folder / "mlflow.db", config


@pytest.fixture
def trained_once(
    store_with_champion: tuple[Path, Path, Path], tmp_path: Path
) -> tuple[Path, str, Path]:
    """The module's store, copied for this test (its failures must not reach the next one)."""
    data, database, config = store_with_champion
    shutil.copy(database, tmp_path / "mlflow.db")
    return data, f"sqlite:///{tmp_path / 'mlflow.db'}", config


@pytest.mark.slow
@pytest.mark.parametrize(
    "failing",
    [
        "get_model_version_by_alias",  # reading the champion to judge the new version
        "log_text",  # attaching the model card, after the promotion decision
        "set_registered_model_alias",  # moving the alias, the last step
    ],
)
def test_a_registry_failure_during_promotion_exits_4_and_moves_no_alias(
    failing: str,
    trained_once: tuple[Path, str, Path],
    tmp_path: Path,
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, uri, config = trained_once
    card = tmp_path / "card-2.html"
    original = getattr(MlflowClient, failing)

    def fail(client: MlflowClient, *args: object, **kwargs: object) -> object:
        if failing == "log_text" and "model_card.html" not in args:
            return original(client, *args, **kwargs)  # only the model card fails
        return _unavailable()

    monkeypatch.setattr(MlflowClient, failing, fail)
    result = cli(
        "train", "--data", data, "--tracking-uri", uri, "--model-name", MODEL,
        "--config", config, "--as-of", "2025-12-31", "--model-card", card,
    )  # fmt: skip
    assert result.code == 4, result.err
    assert "Traceback" not in result.err
    assert f"at {uri}: the registry is restarting" in result.err
    assert "promoted to champion" not in result.out
    assert not card.exists(), "no model card claims a promotion"
    monkeypatch.undo()
    client = MlflowClient(tracking_uri=uri)
    assert str(client.get_model_version_by_alias(MODEL, CHAMPION).version) == "1"
    versions = client.search_model_versions(f"name = '{MODEL}'")
    assert {str(v.version) for v in versions} == {"1", "2"}, "registered, not served"
    run = client.get_run(next(v.run_id for v in versions if str(v.version) == "2"))
    assert run.data.tags.get("promoted") != "true", "the run claims no promotion"
    if failing != "set_registered_model_alias":
        assert run.info.status == "FAILED"
