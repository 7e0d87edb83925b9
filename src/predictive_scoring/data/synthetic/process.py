"""The daily step: one day of every open row, the one step the generator and the Monte Carlo share.

A row is a lead (or, in the Monte Carlo, one replica of a lead).  One day of one open lead:

1. converts with hazard
   ``sigmoid(a + fit + sum_t beta_t * log1p(D_t) - gamma * inactivity - staleness)``, where
   ``D_t`` counts the lead's events of type ``t`` decayed with a 14-day half-life (a second demo
   request adds less than the first), ``inactivity`` ramps from 0 to 1 once three weeks pass
   without events and ``staleness`` ramps up once the lead is half a year old (old leads almost
   never convert); otherwise is closed lost with a small hazard growing with inactivity;
2. is active with a probability set by fit, lead age (engagement fades), recent activity (bursts
   and spells), weekends and a past unsubscribe; an active day holds ``1 + Poisson(m)`` events
   whose types follow a softmax favouring pricing, demo and trial events for well-fitting leads
   that already looked at pricing;
3. loses the events drawn after its conversion or loss time that day.

A lead is never closed on the day it is created.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from predictive_scoring.data.synthetic.arrays import Bools, Floats, Ints, _sigmoid
from predictive_scoring.data.synthetic.dynamics import _Dynamics
from predictive_scoring.data.synthetic.vocabulary import EVENT_TYPES
from predictive_scoring.timeline import DAY_US

_BLOCK_ROWS = 1 << 18
_OPEN, _WON, _LOST = 0, 1, 2


@dataclass
class _Population:
    """State of open (lead, replica) rows at a midnight: all of it observable from the tables."""

    row: Ints
    fit_conversion: Floats
    fit_engagement: Floats
    created_day: Ints
    created_us: Ints
    decayed: Floats
    """``(rows, event types)`` counts with the intent half-life."""
    recent: Floats
    """All events, counted with the excitation half-life."""
    last_active_day: Ints
    unsubscribed: Bools
    persona: Ints
    """Row of ``_Dynamics.beta`` (the lead's buyer persona)."""

    def take(self, index: Ints) -> _Population:
        """The rows at positions ``index``, as a new population."""
        return _Population(*(np.take(getattr(self, f.name), index, axis=0) for f in fields(self)))

    def extend(self, other: _Population) -> _Population:
        """This population followed by ``other``."""
        parts = ((getattr(self, f.name), getattr(other, f.name)) for f in fields(self))
        return _Population(*(np.concatenate(pair) for pair in parts))


@dataclass(frozen=True)
class _Profile:
    """What the leads table says about each lead, as the process reads it."""

    fit_conversion: Floats
    fit_engagement: Floats
    created_day: Ints
    created_us: Ints
    persona: Ints

    def fresh(self, leads: Ints) -> _Population:
        """Rows for ``leads`` with no history yet (as on the day each is created)."""
        n = leads.size
        return _Population(
            row=leads.astype(np.int64),
            fit_conversion=self.fit_conversion[leads],
            fit_engagement=self.fit_engagement[leads],
            created_day=self.created_day[leads],
            created_us=self.created_us[leads],
            decayed=np.zeros((n, len(EVENT_TYPES)), dtype=np.float32),
            recent=np.zeros(n, dtype=np.float32),
            last_active_day=self.created_day[leads].copy(),
            unsubscribed=np.zeros(n, dtype=bool),
            persona=self.persona[leads],
        )


@dataclass(frozen=True)
class _DayDraws:
    """What happened to each population row during one day."""

    status: npt.NDArray[np.int8]
    close_us: Ints
    event_rows: Ints
    event_types: Ints
    event_us: Ints


def _draw_closures(
    pop: _Population, day: int, dyn: _Dynamics, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int8], Ints]:
    """Won / lost / still open for each row, from its state at the day's midnight."""
    idle = np.minimum(day - pop.last_active_day, dyn.inactivity.size - 1)
    inactive = dyn.inactivity[idle]
    # Age is read from created_at, so staleness adds nothing to the state the truth must rebuild.
    stale = dyn.staleness[np.minimum(day - pop.created_day, dyn.staleness.size - 1)]
    logit = (
        dyn.params.conversion_logit
        + pop.fit_conversion
        + _intent(pop.decayed, dyn.beta, pop.persona)
    )
    won = _sigmoid(logit - np.float32(dyn.params.inactivity_effect) * inactive - stale)
    lost = np.float32(dyn.params.loss_rate) + np.float32(dyn.params.loss_inactive_rate) * inactive
    draw = rng.random(pop.row.size, dtype=np.float32)
    # 2 * (closed) - (won): 1 = won, 2 = lost, 0 = still open
    status = 2 * (draw < won + lost).astype(np.int8) - (draw < won).astype(np.int8)
    status[pop.created_day == day] = _OPEN
    close_us = np.full(pop.row.size, DAY_US, dtype=np.int64)
    closing = np.flatnonzero(status)
    close_us[closing] = _instants(np.zeros(closing.size, dtype=np.int64), rng)
    return status, close_us


def _intent(decayed: Floats, beta: Floats, persona: Ints) -> Floats:
    """``sum_t beta_pt * log1p(D_t)`` per row (``p`` its persona), in blocks small enough to
    reuse freed memory.

    ``einsum`` rather than ``@``: a BLAS matrix-vector product this thin is several times slower,
    and far slower still when another process holds the other core.
    """
    intent = np.empty(decayed.shape[0], dtype=np.float32)
    for lo in range(0, decayed.shape[0], _BLOCK_ROWS):
        block = np.log1p(decayed[lo : lo + _BLOCK_ROWS])
        if beta.shape[0] == 1:  # no personas: one row of effects for all
            intent[lo : lo + _BLOCK_ROWS] = np.einsum("ij,j->i", block, beta[0])
        else:
            rows = beta[persona[lo : lo + _BLOCK_ROWS]]
            intent[lo : lo + _BLOCK_ROWS] = np.einsum("ij,ij->i", block, rows)
    return intent


def _instants(after_us: Ints, rng: np.random.Generator) -> Ints:
    """Random microsecond offsets in ``(after_us, next midnight)``."""
    span = DAY_US - 1 - after_us
    return after_us + 1 + (rng.random(after_us.size) * span).astype(np.int64)


def _activity(pop: _Population, day: int, dyn: _Dynamics) -> Floats:
    """Probability that each row is active on ``day``."""
    params = dyn.params
    age = np.minimum(day - pop.created_day, dyn.age_effect.size - 1)
    logit = pop.fit_engagement + dyn.age_effect[age]
    logit += np.float32(params.excitation) * np.log1p(pop.recent)
    logit[pop.unsubscribed] += np.float32(params.unsubscribed_activity_effect)
    logit[age == 0] += np.float32(params.creation_day_boost)
    weekend = params.weekend_activity_effect if dyn.is_weekend(day) else 0.0
    return _sigmoid(logit + np.float32(params.active_day_logit + weekend))


def _type_cdf(pop: _Population, active: Ints, dyn: _Dynamics) -> Floats:
    """Cumulative event-type probabilities of each active row (``active`` × types).

    The logits are bounded (or ``-inf``), so the softmax needs no max-shift.
    """
    fit = pop.fit_conversion[active].astype(np.float64)
    logits = dyn.mix + fit[:, None] * dyn.tilt
    interest = np.log1p(np.einsum("ij,j->i", pop.decayed[active], dyn.interest))
    logits[:, dyn.advanced] += dyn.params.progression * interest[:, None]
    logits[np.flatnonzero(pop.unsubscribed[active])] += dyn.unsubscribed_shift
    cdf = np.cumsum(np.exp(logits), axis=1)
    result: Floats = cdf / cdf[:, -1:]
    return result


def _draw_types(cdf: Floats, which: Ints, rng: np.random.Generator) -> Ints:
    """One type per event, from the cumulative probabilities of the row it belongs to (``which``).

    Row ``k``'s cumulative probabilities shifted by ``k`` make one ascending sequence, so a single
    ``searchsorted`` draws every event's type.
    """
    n_types = cdf.shape[1]
    shifted = (cdf + np.arange(cdf.shape[0])[:, None]).reshape(-1)
    position = np.searchsorted(shifted, which + rng.random(which.size), side="right")
    types: Ints = np.minimum(position - which * n_types, n_types - 1)
    return types


def _draw_events(
    pop: _Population, day: int, dyn: _Dynamics, rng: np.random.Generator
) -> tuple[Ints, Ints, Ints]:
    """Rows, types and in-day offsets of the events of ``day``."""
    draw = rng.random(pop.row.size, dtype=np.float32)
    active = np.flatnonzero(draw < _activity(pop, day, dyn))
    counts = 1 + rng.poisson(dyn.params.session_extra_events, active.size)
    which = np.repeat(np.arange(active.size), counts)
    types = _draw_types(_type_cdf(pop, active, dyn), which, rng)
    rows = active[which]
    after = np.where(pop.created_day[rows] == day, pop.created_us[rows], -1)
    return rows, types, _instants(after, rng)


def _advance(pop: _Population, rows: Ints, types: Ints, day: int, dyn: _Dynamics) -> None:
    """Move every row's state from this midnight to the next, given the day's events.

    ``rows`` must be ascending (as ``_draw_events`` makes them): counting then needs no sort.
    """
    first = np.flatnonzero(np.diff(rows, prepend=-1))
    active = rows[first]
    group = np.repeat(np.arange(first.size), np.diff(first, append=rows.size))
    n_types = len(EVENT_TYPES)
    counts = np.bincount(group * n_types + types, minlength=first.size * n_types)
    counts = counts.reshape(first.size, n_types).astype(np.float32)
    pop.decayed *= np.float32(dyn.intent_decay)
    pop.decayed[active] += counts
    pop.recent *= np.float32(dyn.recent_decay)
    pop.recent[active] += counts.sum(axis=1)
    pop.last_active_day[active] = day
    pop.unsubscribed[active[counts[:, dyn.unsubscribe] > 0]] = True


def _compacted(pop: _Population, alive: Bools) -> tuple[_Population, Bools]:
    """Drop closed rows once they are a tenth of ``pop`` (until then they are stepped, unused)."""
    if np.count_nonzero(alive) >= 0.9 * alive.size:
        return pop, alive
    return pop.take(np.flatnonzero(alive)), np.ones(np.count_nonzero(alive), dtype=bool)


def _step_day(pop: _Population, day: int, dyn: _Dynamics, rng: np.random.Generator) -> _DayDraws:
    """Simulate ``day`` for every row of ``pop`` (updated in place to the next midnight).

    The one step both the generator and the Monte Carlo of ``true_probability`` use.
    """
    status, close_us = _draw_closures(pop, day, dyn, rng)
    rows, types, event_us = _draw_events(pop, day, dyn, rng)
    kept = event_us < close_us[rows]
    rows, types, event_us = rows[kept], types[kept], event_us[kept]
    _advance(pop, rows, types, day, dyn)
    return _DayDraws(status, close_us, rows, types, event_us)
