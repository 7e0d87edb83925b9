"""The exact conversion probability: each open lead's state replayed from the tables, then the
daily step run forward by Monte Carlo."""

from __future__ import annotations

import numpy as np

from predictive_scoring.data.synthetic.arrays import Floats, Ints
from predictive_scoring.data.synthetic.dynamics import _Dynamics
from predictive_scoring.data.synthetic.observe import _Observed
from predictive_scoring.data.synthetic.process import (
    _OPEN,
    _WON,
    _compacted,
    _Population,
    _step_day,
)
from predictive_scoring.timeline import DAY_US

_MONTE_CARLO_STREAM = 7_315
_MONTE_CARLO_ROWS = 2_000_000
"""Replicated rows simulated at once (bounds the memory of ``true_probability``)."""


def _population_at(observed: _Observed, day: int, dyn: _Dynamics) -> tuple[Ints, _Population]:
    """Positions and state, at the midnight starting ``day``, of the leads open then."""
    cutoff = day * DAY_US
    profile = observed.profile
    created = profile.created_day.astype(np.int64) * DAY_US + profile.created_us
    open_leads = np.flatnonzero((created < cutoff) & (observed.closed_us >= cutoff))
    position = np.full(created.size, -1, dtype=np.int64)
    position[open_leads] = np.arange(open_leads.size)
    seen = observed.event_us < cutoff
    rows = position[observed.event_lead[seen]]
    kept = rows >= 0
    pop = profile.fresh(open_leads)
    _replay(
        pop, rows[kept], observed.event_type[seen][kept], observed.event_us[seen][kept], day, dyn
    )
    return open_leads, pop


def _replay(
    pop: _Population, rows: Ints, types: Ints, event_us: Ints, day: int, dyn: _Dynamics
) -> None:
    """Set the state of ``pop`` at the midnight starting ``day`` from its earlier events."""
    n, n_types = pop.decayed.shape
    event_day = event_us // DAY_US
    age = day - 1 - event_day
    intent = np.bincount(rows * n_types + types, dyn.intent_decay**age, minlength=n * n_types)
    pop.decayed = intent.reshape(n, n_types).astype(np.float32)
    pop.recent = np.bincount(rows, dyn.recent_decay**age, minlength=n).astype(np.float32)
    np.maximum.at(pop.last_active_day, rows, event_day.astype(np.int32))
    pop.unsubscribed[rows[types == dyn.unsubscribe]] = True


def _monte_carlo(
    pop: _Population, day: int, horizon_days: int, n_sims: int, dyn: _Dynamics, funnel_seed: int
) -> Floats:
    """Share of ``n_sims`` runs of the daily step in which each row converts within the horizon."""
    # Seeded by the funnel and by the question, so the same question always gets the same answer.
    rng = np.random.default_rng(
        [funnel_seed, _MONTE_CARLO_STREAM, day + 2**40, horizon_days, n_sims]
    )
    n = pop.row.size
    chunks = -(-n * n_sims // _MONTE_CARLO_ROWS)
    chunk = max(1, -(-n // max(chunks, 1)))
    shares = [
        _conversion_share(
            pop.take(np.arange(lo, min(lo + chunk, n))), day, horizon_days, n_sims, dyn, rng
        )
        for lo in range(0, n, chunk)
    ]
    return np.concatenate(shares) if shares else np.zeros(0)


def _conversion_share(
    pop: _Population,
    day: int,
    horizon_days: int,
    n_sims: int,
    dyn: _Dynamics,
    rng: np.random.Generator,
) -> Floats:
    """Share of ``n_sims`` replicas of each row of ``pop`` that convert within the horizon."""
    replicas = pop.take(np.repeat(np.arange(pop.row.size), n_sims))
    replicas.row = np.arange(replicas.row.size)
    alive = np.ones(replicas.row.size, dtype=bool)
    won = np.zeros(replicas.row.size, dtype=bool)
    for current in range(day, day + horizon_days):
        replicas, alive = _compacted(replicas, alive)
        draws = _step_day(replicas, current, dyn, rng)
        won[replicas.row[(draws.status == _WON) & alive]] = True
        alive &= draws.status == _OPEN
    result: Floats = won.reshape(pop.row.size, n_sims).mean(axis=1)
    return result
