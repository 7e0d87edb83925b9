"""Atomic writes and spreadsheet-safe CSV."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from predictive_scoring.data.writers import neutralise_formulas, write_atomic, write_csv
from predictive_scoring.errors import OutputError


def test_formula_cells_are_neutralised_but_numbers_are_not() -> None:
    frame = pd.DataFrame(
        {"c": ["=1+1", "+cmd", "-2", "@SUM(A1)", "plain", None], "n": [1, -2, 3, 4, 5, 6]}
    )
    safe = neutralise_formulas(frame)
    assert safe["c"].tolist()[:5] == ["'=1+1", "'+cmd", "-2", "'@SUM(A1)", "plain"]
    assert safe["n"].tolist() == [1, -2, 3, 4, 5, 6]


def test_atomic_writes_give_new_files_the_umask_s_mode_and_keep_an_old_file_s(
    tmp_path: Path,
) -> None:
    previous = os.umask(0o027)
    try:
        fresh = tmp_path / "fresh.txt"
        write_atomic(fresh, lambda p: p.write_text("a"))
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o640
        kept = tmp_path / "kept.txt"
        kept.write_text("old")
        kept.chmod(0o604)
        write_atomic(kept, lambda p: p.write_text("new"))
        assert kept.read_text() == "new" and stat.S_IMODE(kept.stat().st_mode) == 0o604
    finally:
        os.umask(previous)
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "kept.txt"
    path.write_text("old")

    def fail(temporary: Path) -> None:
        temporary.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match=f"cannot write {path}: No space left on device"):
        write_atomic(path, fail)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]


def test_csv_is_written_with_formulas_neutralised(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    write_csv(pd.DataFrame({"company": ["=cmd|' /C calc'!A0", "Acme"]}), path)
    assert path.read_text().splitlines() == ["company", "'=cmd|' /C calc'!A0", "Acme"]
