"""The walkthrough notebook runs clean from top to bottom."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "01-walkthrough.ipynb"


@pytest.mark.slow
def test_walkthrough_notebook_runs_clean(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "roc_auc" in printed and "served: lightgbm" in printed
    assert "Lead " in printed and "lead-board.html" in printed
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, "the calibration chart is shown"
