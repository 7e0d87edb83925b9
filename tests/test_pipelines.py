"""Scheduler entry points: same commands, the contract's exit codes, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import Tables

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
