"""Read, validate and quarantine in one step: what every command does with ``--data``."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from predictive_scoring.config import Config
from predictive_scoring.data.sources import read_tables
from predictive_scoring.data.validation import Validated, too_many_bad_rows, validate_tables
from predictive_scoring.data.writers import write_csv

__all__ = [
    "load_lead_data",
    "write_quarantine",
]

log = logging.getLogger(__name__)


def load_lead_data(
    source: str,
    config: Config,
    *,
    require_labels: bool = False,
    quarantine_dir: Path | None = None,
    now: pd.Timestamp | None = None,
) -> Validated:
    """Read ``source``, validate it, write bad rows to the quarantine folder and return the rest.

    Raises
    ------
    DataError
        When the input is unusable, or a table's share of bad rows is above the limit (the
        quarantine files are written first, so the bad rows can be inspected).
    """
    raw = read_tables(source, config.data)
    validated = validate_tables(raw, config, require_labels=require_labels, now=now)
    folder = (
        quarantine_dir if quarantine_dir is not None else Path(config.validation.quarantine_dir)
    )
    write_quarantine(validated, folder)
    error = too_many_bad_rows(validated.report)
    if error is not None:
        raise error
    return validated


def write_quarantine(validated: Validated, folder: Path) -> None:
    """Write one CSV per table with bad rows (row number, reason, the row as read).

    A table without bad rows leaves no file: one from an earlier run is removed, so what the folder
    holds always describes the latest run.
    """
    for table in validated.report.tables:
        rows = validated.quarantine.get(table)
        path = folder / f"{table}.csv"
        if rows is None:
            path.unlink(missing_ok=True)
            continue
        write_csv(rows, path)
        validated.report.tables[table].quarantine_path = str(path)
        log.warning("%s: %d bad rows set aside in %s", table, len(rows), path)
