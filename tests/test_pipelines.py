"""Scheduler entry points: same commands, the contract's exit codes, no traceback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult, Tables

ROOT = Path(__file__).parents[1]


def test_pipeline_entry_point_exits_with_the_contract_code(tables: Tables, tmp_path: Path) -> None:
    tables.leads = tables.leads.drop(columns=["created_at"])
    data = tables.write(tmp_path / "data")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "pipelines" / "score.py"),
            "--data",
            str(data),
            "--output",
            str(tmp_path / "s.parquet"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 3
    assert "'created_at'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "s.parquet").exists()


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
