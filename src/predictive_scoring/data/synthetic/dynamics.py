"""``FunnelParams`` compiled into the arrays the daily step reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from predictive_scoring.data.synthetic.arrays import Floats, Ints
from predictive_scoring.data.synthetic.clock import _epoch_day, _is_weekend
from predictive_scoring.data.synthetic.params import FunnelParams
from predictive_scoring.data.synthetic.vocabulary import (
    _ADVANCED_EVENTS,
    _EMAIL_EVENTS,
    _INTEREST_WEIGHTS,
    EVENT_TYPES,
    UNSUBSCRIBE,
)

_MAX_AGE_DAYS = 4_000
"""Last lead age, in days, with its own entry in the age table (older leads share it)."""


@dataclass(frozen=True)
class _Dynamics:
    """``FunnelParams`` compiled into the arrays the daily step uses."""

    params: FunnelParams
    start_epoch_day: int
    beta: Floats
    """Conversion effects by persona code and event type (the last row: no persona)."""
    mix: Floats
    tilt: Floats
    interest: Floats
    advanced: Ints
    unsubscribed_shift: Floats
    unsubscribe: int
    intent_decay: float
    recent_decay: float
    age_effect: Floats
    """Activity log-odds by lead age in days (the last entry holds for older leads)."""
    inactivity: Floats
    """Inactivity (0 to 1) by days since the last event (the last entry holds beyond)."""
    staleness: Floats
    """Conversion log-odds lost by lead age in days (the last entry holds for older leads)."""

    @classmethod
    def compile(cls, params: FunnelParams) -> _Dynamics:
        """Turn the knobs into per-type vectors, decay factors and an age lookup table."""
        shift = np.zeros(len(EVENT_TYPES))
        shift[_type_codes(_EMAIL_EVENTS)] = params.unsubscribed_email_effect
        shift[EVENT_TYPES.index(UNSUBSCRIBE)] = -np.inf
        interest = np.zeros(len(EVENT_TYPES), dtype=np.float32)
        interest[_type_codes(tuple(_INTEREST_WEIGHTS))] = list(_INTEREST_WEIGHTS.values())
        return cls(
            params=params,
            start_epoch_day=_epoch_day(params.start_timestamp),
            beta=_persona_betas(params),
            mix=_by_type(params.event_mix),
            tilt=_by_type(params.fit_tilt),
            interest=interest,
            advanced=_type_codes(_ADVANCED_EVENTS),
            unsubscribed_shift=shift,
            unsubscribe=EVENT_TYPES.index(UNSUBSCRIBE),
            intent_decay=0.5 ** (1.0 / params.intent_half_life_days),
            recent_decay=0.5 ** (1.0 / params.excitation_half_life_days),
            age_effect=_age_effect(params),
            inactivity=_inactivity(params),
            staleness=_staleness(params),
        )

    def is_weekend(self, day: int) -> bool:
        """Whether simulated ``day`` falls on a Saturday or Sunday."""
        return bool(_is_weekend(self.start_epoch_day, np.asarray(day)))


def _persona_betas(params: FunnelParams) -> Floats:
    """``(personas + 1, event types)`` conversion effects: a row per persona of
    ``params.personas`` (``event_effects`` times its multipliers), then the plain effects (leads
    without a persona, and every lead of a funnel without personas)."""
    base = _by_type(params.event_effects)
    rows = [
        base * _by_type({t: params.persona_effects.get(p, {}).get(t, 1.0) for t in EVENT_TYPES})
        for p in params.personas
    ]
    return np.vstack([*rows, base]).astype(np.float32)


def _by_type(mapping: Mapping[str, float]) -> Floats:
    return np.array([mapping[t] for t in EVENT_TYPES], dtype=np.float64)


def _type_codes(types: tuple[str, ...]) -> Ints:
    return np.array([EVENT_TYPES.index(t) for t in types], dtype=np.int64)


def _inactivity(params: FunnelParams) -> Floats:
    idle = np.arange(int(np.ceil(params.inactivity_grace_days + params.inactivity_ramp_days)) + 2)
    ramp = (idle - params.inactivity_grace_days) / max(params.inactivity_ramp_days, 1e-9)
    inactivity: Floats = np.clip(ramp, 0.0, 1.0).astype(np.float32)
    return inactivity


def _age_effect(params: FunnelParams) -> Floats:
    age = np.arange(_MAX_AGE_DAYS + 1)
    fading = np.exp2(-age / params.engagement_half_life_days)
    floor = params.engagement_floor
    return np.log(floor + (1.0 - floor) * fading).astype(np.float32)


def _staleness(params: FunnelParams) -> Floats:
    """``stale_effect`` times a ramp from 0 at ``stale_after_days`` to 1 ``stale_ramp_days`` later.

    A lookup by age rather than a formula per row: one gather a day, like the other age tables.
    """
    end = params.stale_after_days + params.stale_ramp_days
    age = np.arange(int(np.ceil(end)) + 2)
    ramp = (age - params.stale_after_days) / max(params.stale_ramp_days, 1e-9)
    staleness: Floats = (params.stale_effect * np.clip(ramp, 0.0, 1.0)).astype(np.float32)
    return staleness
