"""Every knob of the synthetic funnel, and the defaults that give the documented funnel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from predictive_scoring.data.synthetic.clock import _utc
from predictive_scoring.data.synthetic.vocabulary import (
    ANNUAL_REVENUE,
    BUYER_TYPE,
    COMPANY_SIZE,
    CONTACT_PAGE_VIEW,
    COUNTRY,
    DEMO_REQUEST,
    EMAIL,
    EMAIL_CLICK,
    EMAIL_OPEN,
    EVENT_TYPES,
    FIRST_NAME,
    FREE_TRIAL_SIGNUP,
    INDUSTRY,
    JOB_TITLE,
    LAST_NAME,
    LEAD_SOURCE,
    PAGE_VIEW,
    PHONE,
    PRICING_PAGE_VIEW,
    UNSUBSCRIBE,
    WEBINAR_ATTENDED,
    WHITEPAPER_DOWNLOAD,
)

__all__ = [
    "PERSONAS",
    "PERSONA_EFFECTS",
    "FunnelParams",
]

PERSONAS: dict[str, float] = {"sales_led": 0.4, "self_serve": 0.4, "partner": 0.2}
"""Shares of the three buyer personas of a funnel with personas (``FunnelParams(personas=...)``)."""
PERSONA_EFFECTS: dict[str, dict[str, float]] = {
    "sales_led": {
        DEMO_REQUEST: 1.5,
        FREE_TRIAL_SIGNUP: -0.4,
        PRICING_PAGE_VIEW: 0.0,
        PAGE_VIEW: 0.0,
        EMAIL_CLICK: 10.0,
        WEBINAR_ATTENDED: 5.0,
    },
    "self_serve": {
        DEMO_REQUEST: 0.0,
        FREE_TRIAL_SIGNUP: 1.5,
        PRICING_PAGE_VIEW: 8.0,
        PAGE_VIEW: 10.0,
        EMAIL_CLICK: -5.0,
    },
    "partner": {
        DEMO_REQUEST: 0.3,
        FREE_TRIAL_SIGNUP: 0.3,
        PRICING_PAGE_VIEW: -2.0,
        WEBINAR_ATTENDED: 8.0,
        CONTACT_PAGE_VIEW: 10.0,
    },
}
"""How each persona responds to behaviour: multipliers of ``event_effects``, some of opposite
sign (a sales-led buyer's demo requests, email clicks and webinars mean a lot and a free trial
counts against; a self-serve buyer's trial, site and pricing visits count instead and email
clicks against; partners come through webinars and the contact page)."""

_MISSING_RATES = {
    INDUSTRY: 0.04,
    COMPANY_SIZE: 0.08,
    ANNUAL_REVENUE: 0.15,
    JOB_TITLE: 0.06,
    COUNTRY: 0.02,
    LEAD_SOURCE: 0.01,
    PHONE: 0.25,
}


def _default_event_mix() -> dict[str, float]:
    return {
        PAGE_VIEW: 2.2,
        PRICING_PAGE_VIEW: 0.0,
        EMAIL_OPEN: 1.6,
        EMAIL_CLICK: 0.3,
        WHITEPAPER_DOWNLOAD: -0.6,
        WEBINAR_ATTENDED: -1.2,
        DEMO_REQUEST: -4.5,
        CONTACT_PAGE_VIEW: -1.0,
        FREE_TRIAL_SIGNUP: -5.0,
        UNSUBSCRIBE: -2.8,
    }


def _default_fit_tilt() -> dict[str, float]:
    return {
        PAGE_VIEW: 0.0,
        PRICING_PAGE_VIEW: 0.5,
        EMAIL_OPEN: 0.0,
        EMAIL_CLICK: 0.2,
        WHITEPAPER_DOWNLOAD: 0.2,
        WEBINAR_ATTENDED: 0.3,
        DEMO_REQUEST: 0.8,
        CONTACT_PAGE_VIEW: 0.4,
        FREE_TRIAL_SIGNUP: 0.7,
        UNSUBSCRIBE: -0.6,
    }


def _default_event_effects() -> dict[str, float]:
    return {
        PAGE_VIEW: 0.1,
        PRICING_PAGE_VIEW: 0.5,
        EMAIL_OPEN: 0.05,
        EMAIL_CLICK: 0.2,
        WHITEPAPER_DOWNLOAD: 0.2,
        WEBINAR_ATTENDED: 0.4,
        DEMO_REQUEST: 6.0,
        CONTACT_PAGE_VIEW: 0.3,
        FREE_TRIAL_SIGNUP: 5.0,
        UNSUBSCRIBE: -1.0,
    }


@dataclass(frozen=True)
class FunnelParams:
    """Every knob of the synthetic funnel; the defaults give the documented funnel.

    Parameters
    ----------
    start : str, default "2025-01-01"
        First day of the history, an ISO date (midnight UTC).
    history_days : int, default 365
        Days simulated; leads are created over all of them.
    weekend_lead_weight : float, default 0.35
        Lead volume on a Saturday or Sunday relative to a weekday.
    lead_growth : float, default 0.3
        Relative growth of the daily lead volume from the first to the last day.
    missing_rates : Mapping[str, float], default ``_MISSING_RATES``
        Share of missing values per lead column: industry 4 %, company_size 8 %,
        annual_revenue 15 %, job_title 6 %, country 2 %, lead_source 1 %, phone 25 %.
    fit_scale : float, default 1.3
        Multiplier of every fit attribute's conversion effect (0 makes fit irrelevant).
    corporate_email_effect : float, default 0.5
        Conversion log-odds of a corporate email over a free webmail one.
    engagement_fit_share : float, default 0.5
        Share of the fit log-odds that also raises activity.
    active_day_logit : float, default -2.7
        Log-odds that a fresh, average lead is active on a weekday; raises events per lead.
    creation_day_boost : float, default 3.0
        Extra activity log-odds on the day the lead is created (the form it filled in).
    session_extra_events : float, default 1.5
        Mean number of events beyond the first on an active day.
    engagement_half_life_days : float, default 30.0
        Half-life of the age-driven part of activity (engagement fades as the lead ages).
    engagement_floor : float, default 0.15
        Activity multiplier an old lead keeps.
    excitation : float, default 1.0
        Activity log-odds per ``log1p`` of recent events: bursts of activity (a few busy days close
        together), then spells of silence; 0 makes active days independent given fit and age.
    excitation_half_life_days : float, default 3.0
        Half-life of the recent-events count behind ``excitation``.
    weekend_activity_effect : float, default -0.7
        Activity log-odds on Saturdays and Sundays.
    unsubscribed_activity_effect : float, default -0.5
        Activity log-odds once a lead has unsubscribed.
    event_mix : Mapping[str, float], default ``_default_event_mix()``
        Base softmax logits of the event types on an active day (page views and email opens
        common, demo requests and trial signups rare).
    fit_tilt : Mapping[str, float], default ``_default_fit_tilt()``
        Per event type, logit added per unit of the lead's fit log-odds (well-fitting leads look
        at pricing and ask for demos more, unsubscribe less).
    progression : float, default 1.5
        Logit added to demo requests and trial signups per ``log1p`` of decayed earlier interest
        (pricing views; contact views and webinars count half).
    unsubscribed_email_effect : float, default -3.0
        Logit of email opens and clicks once the lead has unsubscribed.
    intent_half_life_days : float, default 14.0
        Half-life of the decayed event counts ``D_t`` in the conversion hazard.
    conversion_logit : float, default -10.0
        Intercept ``a`` of the daily conversion hazard.
    event_effects : Mapping[str, float], default ``_default_event_effects()``
        ``beta_t``: conversion log-odds per ``log1p`` of the decayed count of type ``t``
        (demo request 6, trial signup 5, pricing view 0.5, ..., unsubscribe -1).
    inactivity_grace_days : float, default 21.0
        Days without events before inactivity starts to count.
    inactivity_ramp_days : float, default 60.0
        Days over which inactivity then ramps from 0 to 1.
    inactivity_effect : float, default 1.5
        ``gamma``: conversion log-odds lost at full inactivity.
    loss_rate : float, default 0.0005
        Daily probability of being closed lost for an active lead.
    loss_inactive_rate : float, default 0.012
        Extra daily probability of being closed lost at full inactivity.  With ``loss_rate`` 0 as
        well, no lead is ever closed lost (``outcomes`` then holds won leads only).
    stale_after_days : float, default 180.0
        Lead age, in days, at which a lead starts to go stale.
    stale_ramp_days : float, default 40.0
        Days over which staleness then ramps from 0 to 1.
    stale_effect : float, default 6.0
        Conversion log-odds lost once fully stale: 40 days past ``stale_after_days`` a lead
        converts at about ``exp(-6)``, a quarter of a percent, of its earlier rate (0 turns
        staleness off).  Closed-lost and activity do not depend on it.
    growing_source_shares : tuple of float, default (0.03, 0.35)
        Share of the leads created on the first and on the last day that come from the growing
        lead source ``content_syndication`` (linear in between); ``(0, 0)`` turns it off.
    growing_source_effect : float, default -0.3
        Conversion log-odds of ``content_syndication`` (bought lists: many leads, weak ones).
    new_source_start : float, default 0.7
        Share of the history after which the new lead source ``marketplace`` appears (0.7: from
        day 255 of 365).
    new_source_share : float, default 0.15
        Share of the leads created from then on that come from ``marketplace`` (0 turns it off).
    new_source_effect : float, default 0.8
        Conversion log-odds of ``marketplace`` (buyers who found the product themselves).
    personas : Mapping[str, float], default empty
        Shares of the buyer personas in a ``buyer_type`` lead column (e.g. :data:`PERSONAS`);
        empty: no such column, and the funnel is the one without personas, draw for draw.
    persona_effects : Mapping[str, Mapping[str, float]], default empty
        Per persona, multipliers of ``event_effects`` by event type (a type not named keeps 1),
        e.g. :data:`PERSONA_EFFECTS`: a fit × intent interaction no additive model can learn.
    expansion_logit : float or None, default None
        Daily log-odds that a customer (a won lead, from its conversion on) upgrades: an
        ``upgrade`` event, the positive of an expansion target; ``None``: no upgrades.
    expansion_fit_effect : float, default 1.0
        Upgrade log-odds per unit of the customer's fit log-odds.
    """

    start: str = "2025-01-01"
    history_days: int = 365
    weekend_lead_weight: float = 0.35
    lead_growth: float = 0.3
    missing_rates: Mapping[str, float] = field(default_factory=lambda: dict(_MISSING_RATES))
    fit_scale: float = 1.3
    corporate_email_effect: float = 0.5
    engagement_fit_share: float = 0.5
    active_day_logit: float = -2.7
    creation_day_boost: float = 3.0
    session_extra_events: float = 1.5
    engagement_half_life_days: float = 30.0
    engagement_floor: float = 0.15
    excitation: float = 1.0
    excitation_half_life_days: float = 3.0
    weekend_activity_effect: float = -0.7
    unsubscribed_activity_effect: float = -0.5
    event_mix: Mapping[str, float] = field(default_factory=_default_event_mix)
    fit_tilt: Mapping[str, float] = field(default_factory=_default_fit_tilt)
    progression: float = 1.5
    unsubscribed_email_effect: float = -3.0
    intent_half_life_days: float = 14.0
    conversion_logit: float = -10.0
    event_effects: Mapping[str, float] = field(default_factory=_default_event_effects)
    inactivity_grace_days: float = 21.0
    inactivity_ramp_days: float = 60.0
    inactivity_effect: float = 1.5
    loss_rate: float = 0.0005
    loss_inactive_rate: float = 0.012
    stale_after_days: float = 180.0
    stale_ramp_days: float = 40.0
    stale_effect: float = 6.0
    growing_source_shares: tuple[float, float] = (0.03, 0.35)
    growing_source_effect: float = -0.3
    new_source_start: float = 0.7
    new_source_share: float = 0.15
    new_source_effect: float = 0.8
    personas: Mapping[str, float] = field(default_factory=dict)
    persona_effects: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    expansion_logit: float | None = None
    expansion_fit_effect: float = 1.0

    def __post_init__(self) -> None:
        """Reject values the simulation cannot use."""
        if self.history_days < 1:
            raise ValueError(f"history_days must be at least 1, got {self.history_days}")
        if self.start_timestamp != self.start_timestamp.normalize():
            raise ValueError(f"start must be a date at midnight UTC, got {self.start!r}")
        unknown = set(self.missing_rates) - set(_MISSING_RATES) - {EMAIL, FIRST_NAME, LAST_NAME}
        if unknown or not all(0.0 <= rate <= 1.0 for rate in self.missing_rates.values()):
            raise ValueError(
                f"missing_rates: rates in [0, 1] for columns of {', '.join(_MISSING_RATES)}"
            )
        for name in ("event_mix", "fit_tilt", "event_effects"):
            mapping: Mapping[str, float] = getattr(self, name)
            if set(mapping) != set(EVENT_TYPES):
                raise ValueError(f"{name} must give a value for exactly {', '.join(EVENT_TYPES)}")
        if not 0.0 <= self.loss_rate + self.loss_inactive_rate <= 0.5:
            raise ValueError("loss_rate + loss_inactive_rate must lie in [0, 0.5]")
        if min(self.stale_after_days, self.stale_ramp_days, self.stale_effect) < 0.0:
            raise ValueError("stale_after_days, stale_ramp_days and stale_effect must be >= 0")
        self._check_drift()
        if set(self.persona_effects) - set(self.personas) or any(
            set(m) - set(EVENT_TYPES) for m in self.persona_effects.values()
        ):
            raise ValueError("persona_effects: personas of personas, event types as keys")
        if self.personas and (min(self.personas.values()) < 0 or sum(self.personas.values()) <= 0):
            raise ValueError(f"personas: non-negative shares of {BUYER_TYPE}, not all zero")

    def _check_drift(self) -> None:
        """Shares of the drifting lead sources must be shares, and leave room for the others."""
        shares = (*self.growing_source_shares, self.new_source_share, self.new_source_start)
        if len(self.growing_source_shares) != 2 or not all(0.0 <= s <= 1.0 for s in shares):
            raise ValueError(
                "growing_source_shares (first, last), new_source_share and new_source_start "
                "must lie in [0, 1]"
            )
        if max(self.growing_source_shares) + self.new_source_share > 1.0:
            raise ValueError("growing_source_shares plus new_source_share must not exceed 1")

    @property
    def start_timestamp(self) -> pd.Timestamp:
        """``start`` as a UTC timestamp."""
        return _utc(self.start)
