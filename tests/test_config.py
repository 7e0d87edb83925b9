"""Configuration: defaults from configs/default.yaml, file over defaults, flags over file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from predictive_scoring.config import DEFAULT_CONFIG_PATH, load_config
from predictive_scoring.errors import ConfigError
from tests.conftest import CliResult, Tables


def test_defaults_come_from_the_repository_file() -> None:
    assert (
        DEFAULT_CONFIG_PATH.resolve()
        == (Path(__file__).parents[1] / "configs" / "default.yaml").resolve()
    )
    config = load_config()
    assert config.labels.horizon_days == 30
    assert config.data.pii_columns == ["email", "name", "first_name", "last_name", "phone"]


def test_file_merges_over_defaults_and_flags_over_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("labels: {horizon_days: 14}\nscoring: {tiers: {hot: 90}}\n")
    config = load_config(path)
    assert config.labels.horizon_days == 14
    assert config.scoring.tiers.hot == 90 and config.scoring.tiers.warm == 50
    assert config.with_overrides({"labels.horizon_days": 7}).labels.horizon_days == 7


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("labels: {horizon_dayz: 3}", "labels.horizon_dayz: unknown key"),
        ("labels: {horizon_days: -1}", "labels.horizon_days"),
        ("scoring: {tiers: {hot: 40, warm: 60}}", "warm threshold must not exceed hot"),
        ("models: {candidates: [xgboost]}", "models.candidates.0"),
        ("- just\n- a list", "mapping at the top level"),
        ("labels: {horizon_days: [", "not valid YAML"),
    ],
)
def test_bad_config_names_its_path(text: str, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert fragment in str(caught.value)
    assert caught.value.exit_code == 2


def test_cli_reports_bad_config_with_exit_2(
    tables: Tables, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("validation: {max_bad_row_share: 2}\n")
    result = cli("validate", "--data", tables.write(tmp_path / "d"), "--config", path)
    assert result.code == 2
    assert "validation.max_bad_row_share" in result.err
    assert "Traceback" not in result.err


def test_missing_config_file(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    result = cli("validate", "--data", tmp_path, "--config", tmp_path / "none.yaml")
    assert result.code == 2
    assert "config file not found" in result.err


def test_unknown_option_is_a_usage_error(cli: Callable[..., CliResult]) -> None:
    assert cli("validate", "--frobnicate").code == 2


def test_the_old_name_of_the_calibration_share_is_read_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = tmp_path / "old.yaml"
    old.write_text("models:\n  validation_share: 0.3\n")
    assert load_config(old).models.calibration_share == 0.3
    assert "models.validation_share is now called models.calibration_share" in caplog.text
    both = tmp_path / "both.yaml"
    both.write_text("models:\n  validation_share: 0.3\n  calibration_share: 0.2\n")
    with pytest.raises(ConfigError, match=r"old name of models\.calibration_share"):
        load_config(both)
    flagged = load_config().with_overrides({"models.validation_share": 0.25})
    assert flagged.models.calibration_share == 0.25
