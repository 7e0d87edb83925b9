"""Messy exports: the generated tables as a CRM exports them, carrying the same information.

Everything added is either a row that validation sets aside (an exact duplicate event, an event
of a deleted lead, an event whose timestamp cannot be read) or a spelling that validation reads
back as the clean value (stray whitespace, a missing-value marker such as ``N/A``), so validating
a messy export gives back the clean funnel.  The one exception is case: ``SOFTWARE`` and
``software`` stay what they are after validation (it trims text, it does not fold case), so the
validated tables equal the clean ones up to the case of those values.  The truth is computed from
the clean tables and does not see any of this.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.data.synthetic.arrays import Ints
from predictive_scoring.data.synthetic.vocabulary import COUNTRY, INDUSTRY, JOB_TITLE, LEAD_SOURCE

_DUPLICATE_SHARE = 0.015
"""Events exported twice (a sync that retried), as a share of the events."""
_ORPHAN_SHARE = 0.003
"""Events of leads deleted from the CRM (not in ``leads``), as a share of the events."""
_DELETED_LEADS_PER_ORPHAN = 0.2
"""Deleted leads per orphan event (each deleted lead left about five events behind)."""
_BROKEN_TIME_SHARE = 0.001
"""Events whose ``occurred_at`` cannot be parsed, as a share of the events (copies of real ones)."""
_BROKEN_TIMES = ("#VALUE!", "0000-00-00 00:00:00", "31/13/2025 25:61", "yesterday", "TBD")
_SPACED_SHARE = 0.03
"""Text values with stray leading or trailing whitespace."""
_RECASED_SHARE = 0.03
"""Category values in another case (``SOFTWARE``, ``software``)."""
_PADDINGS = (" {}", "{} ", "  {}", "{}  ", " {} ")
_MARKERS = (None, "", "N/A", "Select", "n/a", "NULL", "None")
"""How a missing value is written: left empty or as a marker of ``data.missing_markers``."""
_CATEGORY_COLUMNS = (INDUSTRY, COUNTRY, LEAD_SOURCE)
_TEXT_COLUMNS = (*_CATEGORY_COLUMNS, JOB_TITLE)


def _messy_tables(
    leads: pd.DataFrame, events: pd.DataFrame, outcomes: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``leads`` with messy text, ``events`` with extra bad rows and text timestamps, ``outcomes``.

    Parameters
    ----------
    leads, events, outcomes : pandas.DataFrame
        The clean generated tables (left untouched).
    rng : numpy.random.Generator
        The stream of the mess, apart from the funnel's own.

    Returns
    -------
    tuple of pandas.DataFrame
        The three tables as exported; ``outcomes`` is the clean one.
    """
    text = {
        column: _messy_text(leads[column], column in _CATEGORY_COLUMNS, rng)
        for column in _TEXT_COLUMNS
    }
    return leads.assign(**text), _messy_events(events, leads[schema.LEAD_ID], rng), outcomes


def _messy_text(values: pd.Series, recase: bool, rng: np.random.Generator) -> pd.Series:
    """Stray whitespace, other cases (when ``recase``) and missing values written as markers."""
    out = values.to_numpy(dtype=object)  # every missing value is rewritten below
    present = values.notna().to_numpy()
    draw = rng.random(out.size)
    spaced = np.flatnonzero(present & (draw < _SPACED_SHARE))
    padding = rng.integers(0, len(_PADDINGS), spaced.size)
    out[spaced] = [_PADDINGS[k].format(v) for k, v in zip(padding, out[spaced], strict=True)]
    if recase:
        upper = draw < _SPACED_SHARE + _RECASED_SHARE / 2
        recased = present & (draw >= _SPACED_SHARE) & (draw < _SPACED_SHARE + _RECASED_SHARE)
        out[recased & upper] = [v.upper() for v in out[recased & upper]]
        out[recased & ~upper] = [v.lower() for v in out[recased & ~upper]]
    missing = np.flatnonzero(~present)
    out[missing] = np.array(_MARKERS, dtype=object)[rng.integers(0, len(_MARKERS), missing.size)]
    return pd.Series(pd.array(out, dtype="str"), index=values.index, name=values.name)


def _messy_events(
    events: pd.DataFrame, lead_ids: pd.Series, rng: np.random.Generator
) -> pd.DataFrame:
    """The events with text timestamps, and duplicates, orphans and broken rows beside their source.

    Each added row is a copy of a real event placed right after it, so the export stays roughly
    in time order, as a real one does.
    """
    n = len(events)
    duplicated = _pick(n, _DUPLICATE_SHARE, rng)
    orphaned = _pick(n, _ORPHAN_SHARE, rng)
    broken = _pick(n, _BROKEN_TIME_SHARE, rng)
    source = np.concatenate([np.arange(n), duplicated, orphaned, broken])
    first_orphan, first_broken = n + duplicated.size, source.size - broken.size
    lead = events[schema.LEAD_ID].to_numpy(dtype=object)[source]
    lead[first_orphan:first_broken] = _deleted_lead_ids(lead_ids, orphaned.size, rng)
    occurred = _iso_text(events[schema.OCCURRED_AT])[source]
    occurred[first_broken:] = np.array(_BROKEN_TIMES, dtype=object)[
        rng.integers(0, len(_BROKEN_TIMES), broken.size)
    ]
    order = np.argsort(source, kind="stable")
    return pd.DataFrame(
        {
            schema.LEAD_ID: pd.array(lead[order], dtype="str"),
            schema.OCCURRED_AT: pd.array(occurred[order], dtype="str"),
            schema.EVENT_TYPE: events[schema.EVENT_TYPE].array.take(source[order]),
        }
    )


def _pick(n: int, share: float, rng: np.random.Generator) -> Ints:
    """About ``share`` of ``n`` row positions, ascending."""
    picked: Ints = np.flatnonzero(rng.random(n) < share)
    return picked


def _deleted_lead_ids(
    lead_ids: pd.Series, n: int, rng: np.random.Generator
) -> npt.NDArray[np.object_]:
    """``n`` ids, in the generator's ``L0000123`` style, of leads no longer in ``leads``.

    The ids follow the last real one (``L<n_leads>`` on), so none of them names a lead.
    """
    width = len(str(lead_ids.iloc[0])) - 1 if len(lead_ids) else 7
    deleted = max(1, int(np.ceil(_DELETED_LEADS_PER_ORPHAN * n)))
    numbers = len(lead_ids) + rng.integers(0, deleted, n)
    return np.array([f"L{number:0{width}d}" for number in numbers], dtype=object)


def _iso_text(stamps: pd.Series) -> npt.NDArray[np.object_]:
    """UTC timestamps as ISO 8601 text to the microsecond (``2025-03-01T10:22:33.123456Z``)."""
    naive = stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    text: npt.NDArray[np.object_] = np.datetime_as_string(naive, unit="us").astype(object) + "Z"
    return text
