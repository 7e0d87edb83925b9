"""A generated funnel: ``generate_funnel`` draws it, ``SyntheticFunnel`` holds its tables and
answers, from them alone, how likely each open lead is to convert."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.data.synthetic.clock import _utc
from predictive_scoring.data.synthetic.dynamics import _Dynamics
from predictive_scoring.data.synthetic.expansion import _with_expansions
from predictive_scoring.data.synthetic.history import (
    _events_frame,
    _outcomes_frame,
    _simulate_history,
)
from predictive_scoring.data.synthetic.leads import _draw_leads
from predictive_scoring.data.synthetic.messy import _messy_tables
from predictive_scoring.data.synthetic.observe import _observe, _Observed, _profile
from predictive_scoring.data.synthetic.params import FunnelParams
from predictive_scoring.data.synthetic.truth import _monte_carlo, _population_at

__all__ = [
    "SyntheticFunnel",
    "generate_funnel",
]

_MESSY_STREAM = 4_127
_EXPANSION_STREAM = 9_311
"""Seeds the mess of a messy export apart from the funnel, so its clean tables stay the same."""


@dataclass(frozen=True, eq=False)
class SyntheticFunnel:
    """A generated funnel: the three contract tables and the process behind them.

    Attributes
    ----------
    leads : pandas.DataFrame
        The contract ``leads`` table: ``lead_id``, ``created_at`` (UTC), fit attributes
        (``industry``, ``company_size``, ``annual_revenue``, ``job_title``, ``country``,
        ``lead_source``), PII (``email``, ``first_name``, ``last_name``, ``phone``) and the
        non-predictive ``company``; ordered by ``created_at``.  When ``messy``, each table is
        as a CRM exports it (see :func:`generate_funnel`).
    events : pandas.DataFrame
        The contract ``events`` table, ordered by ``occurred_at`` (ISO 8601 text, and only
        roughly ordered, when ``messy``).
    outcomes : pandas.DataFrame
        One row per lead that converted (``status`` ``won``, ``converted_at`` = ``closed_at``) or
        was closed lost (``converted_at`` missing), ordered by ``closed_at``.
    params : FunnelParams
        The knobs it was generated with.
    seed : int
        The seed it was generated with.
    messy : bool
        Whether the tables are a messy export of the clean ones (``clean_tables``).
    """

    leads: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    params: FunnelParams
    seed: int
    messy: bool = False
    _clean: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None = field(default=None, repr=False)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The three tables by contract name."""
        return {
            schema.LEADS: self.leads,
            schema.EVENTS: self.events,
            schema.OUTCOMES: self.outcomes,
        }

    @property
    def clean_tables(self) -> dict[str, pd.DataFrame]:
        """The three tables as generated, before any mess: the ones the truth is computed from."""
        if self._clean is None:
            return self.tables
        return dict(zip((schema.LEADS, schema.EVENTS, schema.OUTCOMES), self._clean, strict=True))

    def true_probability(
        self,
        as_of: pd.Timestamp | str,
        horizon_days: int = 30,
        n_sims: int = 200,
        lead_ids: pd.Series | None = None,
    ) -> pd.Series:
        """Probability, under the generating process, that each open lead converts soon.

        Rebuilds the state of every lead open at ``as_of`` (created before it, not converted or
        closed lost before it) from the tables, then runs the generator's own daily step forward
        ``horizon_days`` days, ``n_sims`` times.  Deterministic for a given funnel.

        Parameters
        ----------
        as_of : pandas.Timestamp or str
            A midnight (UTC when no zone is given).
        horizon_days : int, default 30
            Conversion window ``(as_of, as_of + horizon_days]``.
        n_sims : int, default 200
            Monte Carlo runs per lead; the standard error is at most ``0.5 / sqrt(n_sims)``.
        lead_ids : pandas.Series, optional
            Simulate only these of the open leads (others are left out of the result).

        Returns
        -------
        pandas.Series
            Named ``true_probability``, indexed by ``lead_id``, one value per open lead.

        Raises
        ------
        ValueError
            If ``as_of`` is not a midnight, or ``horizon_days`` or ``n_sims`` is below 1.
        """
        if horizon_days < 1 or n_sims < 1:
            raise ValueError(
                f"horizon_days and n_sims must be at least 1, got {horizon_days}, {n_sims}"
            )
        day = self._day_of(as_of)
        open_leads, pop = _population_at(self._observed, day, self._dynamics)
        ids = self.clean_tables[schema.LEADS][schema.LEAD_ID].array
        if lead_ids is not None:
            wanted = np.flatnonzero(pd.Index(ids.take(open_leads)).isin(lead_ids))
            open_leads, pop = open_leads[wanted], pop.take(wanted)
        shares = _monte_carlo(pop, day, horizon_days, n_sims, self._dynamics, self.seed)
        index = pd.Index(ids.take(open_leads), name=schema.LEAD_ID)
        return pd.Series(shares, index=index, name="true_probability")

    def write(self, folder: Path, fmt: Literal["csv", "parquet"] = "parquet") -> None:
        """Write ``leads``, ``events`` and ``outcomes`` as ``<table>.<fmt>`` files in ``folder``.

        Parameters
        ----------
        folder : pathlib.Path
            Created when missing; existing files of the same names are replaced.
        fmt : {"csv", "parquet"}, default "parquet"
            File format; CSV timestamps are ISO 8601 with their UTC offset.

        Raises
        ------
        ValueError
            If ``fmt`` is neither ``csv`` nor ``parquet``.
        """
        if fmt not in ("csv", "parquet"):
            raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in self.tables.items():
            path = folder / f"{name}.{fmt}"
            if fmt == "csv":
                frame.to_csv(path, index=False)
            else:
                frame.to_parquet(path, index=False)

    @cached_property
    def _dynamics(self) -> _Dynamics:
        return _Dynamics.compile(self.params)

    @cached_property
    def _observed(self) -> _Observed:
        clean = self.clean_tables
        return _observe(
            clean[schema.LEADS], clean[schema.EVENTS], clean[schema.OUTCOMES], self.params
        )

    def _day_of(self, as_of: pd.Timestamp | str) -> int:
        """Index of the day starting at ``as_of``, which must be a midnight UTC."""
        stamp = _utc(as_of)
        if stamp != stamp.normalize():
            raise ValueError(f"as_of must be a midnight UTC, got {stamp.isoformat()}")
        return (stamp - self.params.start_timestamp).days


def generate_funnel(
    n_leads: int = 5000, seed: int = 0, params: FunnelParams | None = None, *, messy: bool = False
) -> SyntheticFunnel:
    """Generate a seeded synthetic lead funnel.

    Parameters
    ----------
    n_leads : int, default 5000
        Leads created over the history.
    seed : int, default 0
        Non-negative seed; the same ``(n_leads, seed, params)`` always gives identical tables.
    params : FunnelParams, optional
        Knobs of the process; the defaults when omitted.
    messy : bool, default False
        Expose (and ``write``) the tables as a CRM exports them: about 1.5 % of events exported
        twice, 0.3 % more for deleted leads (ids not in ``leads``), 0.1 % more whose
        ``occurred_at`` cannot be parsed (``occurred_at`` is ISO 8601 text); in ``industry``,
        ``country``, ``lead_source`` and ``job_title``, 3 % of values with stray whitespace, 3 %
        of the categories in upper or lower case (not job titles) and missing values left empty
        or written as ``N/A``, ``Select``, ``NULL``, ...  The funnel behind them is the clean one
        (``clean_tables``, equal to the tables with ``messy=False``), and so is the truth.
        Validation gives the clean tables back, except for the case of the recased categories.

    Returns
    -------
    SyntheticFunnel
        The ``leads``, ``events`` and ``outcomes`` tables and the process behind them.

    Raises
    ------
    ValueError
        If ``n_leads`` is below 1 or ``seed`` is negative.
    """
    if n_leads < 1 or seed < 0:
        raise ValueError(f"n_leads must be at least 1 and seed non-negative, got {n_leads}, {seed}")
    params = FunnelParams() if params is None else params
    rng = np.random.default_rng(seed)
    leads = _draw_leads(n_leads, params, rng)
    dynamics = _Dynamics.compile(params)
    profile = _profile(leads, params)
    history = _simulate_history(profile, dynamics, params.history_days, rng)
    outcomes = _outcomes_frame(history, leads, params)
    expansion = np.random.default_rng([seed, _EXPANSION_STREAM])
    events = _with_expansions(
        _events_frame(history, leads, params), outcomes, leads, profile, params, expansion
    )
    if not messy:
        return SyntheticFunnel(leads, events, outcomes, params, seed)
    mess = np.random.default_rng([seed, _MESSY_STREAM])
    exported = _messy_tables(leads, events, outcomes, mess)
    return SyntheticFunnel(*exported, params, seed, messy=True, _clean=(leads, events, outcomes))
