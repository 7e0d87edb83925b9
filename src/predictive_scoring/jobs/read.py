"""Reading back what ``score`` wrote: the lead board and one lead's row."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import Config
from predictive_scoring.data.outputs import Destination, describe_output, read_scores
from predictive_scoring.errors import UsageError
from predictive_scoring.jobs.common import parse_as_of
from predictive_scoring.reports.html import write_page
from predictive_scoring.reports.lead_board import lead_board
from predictive_scoring.timeline import latest_as_of, rows_as_of

__all__ = ["lead_row", "report_job"]


def report_job(
    scores: str,
    output: Path,
    config: Config,
    display: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | None = None,
    require_rows: bool = False,
) -> Path:
    """Write the lead board of the run of ``as_of`` (else the latest) in ``scores`` to ``output``:
    that run's rows whole, the other runs' scores only (a year of nightly runs stays cheap)."""
    destination = Destination.parse(scores)
    history = read_scores(destination, columns=HISTORY_COLUMNS)
    if history.empty or history[schema.AS_OF].isna().all():
        frame = read_scores(destination)  # a flat export's rows, or nothing yet
    else:
        when = as_of if as_of is not None else latest_as_of(history[schema.AS_OF])
        frame = read_scores(destination, as_of=when)
    if require_rows and frame.empty:
        where = describe_output(scores)
        raise UsageError(
            f"--scores {where}: no scores there; run `predictive-scoring score --output "
            f"{where}` first"
        )
    board = lead_board(frame, display, config.reports.page_size, as_of, history)
    return write_page(board, output)


HISTORY_COLUMNS = [schema.LEAD_ID, schema.AS_OF, schema.SCORE, schema.MODEL_VERSION]
"""What the lead board reads of the runs it does not show: each lead's past scores."""


def lead_row(lead_id: str, scores: str, as_of: str | None = None) -> pd.Series:
    """The scores row of ``lead_id`` in ``scores``: of ``as_of`` when given, else the latest."""
    frame = read_scores(Destination.parse(scores))
    rows = frame[frame[schema.LEAD_ID].astype("string") == lead_id]
    if as_of is not None:
        rows = rows_as_of(rows, parse_as_of(as_of))
    if rows.empty:
        raise UsageError(f"lead {lead_id!r} is not in {scores}")
    row: pd.Series = rows.sort_values(schema.AS_OF).iloc[-1]
    return row
