"""A synthetic B2B lead funnel whose conversion probability is exactly computable.

The generator simulates a daily grid: day ``d`` is ``[midnight_d, midnight_{d+1})`` UTC, counted
from ``FunnelParams.start``.  Everything that drives day ``d`` (the conversion hazard, the
closed-lost hazard and the event rates) is a function of what is *observable* strictly before
``midnight_d``: the lead's row in ``leads`` (its canonical job title, company size, email domain,
...) and its events before that midnight.  No lead carries a hidden variable, so
:meth:`SyntheticFunnel.true_probability` rebuilds every open lead's state from the three tables
alone and runs the *same* daily step forward by Monte Carlo.

One day of one open lead:

1. converts with hazard ``sigmoid(a + fit + sum_t beta_t * log1p(D_t) - gamma * inactivity)``,
   where ``D_t`` counts the lead's events of type ``t`` decayed with a 14-day half-life (a second
   demo request adds less than the first) and ``inactivity`` ramps from 0 to 1 once three weeks
   pass without events; otherwise is closed lost with a small hazard growing with inactivity;
2. is active with a probability set by fit, lead age (engagement fades), recent activity (bursts
   and spells), weekends and a past unsubscribe; an active day holds ``1 + Poisson(m)`` events
   whose types follow a softmax favouring pricing, demo and trial events for well-fitting leads
   that already looked at pricing;
3. loses the events drawn after its conversion or loss time that day.

A lead is never closed on the day it is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from predictive_scoring import schema

__all__ = [
    "ANNUAL_REVENUE",
    "COMPANY",
    "COMPANY_SIZE",
    "COUNTRY",
    "EMAIL",
    "EVENT_TYPES",
    "FIRST_NAME",
    "INDUSTRY",
    "JOB_TITLE",
    "LAST_NAME",
    "LEAD_SOURCE",
    "PHONE",
    "STATUS_WON",
    "FunnelParams",
    "SyntheticFunnel",
    "canonical_job_title",
    "generate_funnel",
]

Floats = npt.NDArray[np.floating[Any]]
Ints = npt.NDArray[np.integer[Any]]
Bools = npt.NDArray[np.bool_]

# ---- lead attributes (not contract columns: the names this generator writes) ----------------------
INDUSTRY = "industry"
COMPANY_SIZE = "company_size"
ANNUAL_REVENUE = "annual_revenue"
JOB_TITLE = "job_title"
COUNTRY = "country"
LEAD_SOURCE = "lead_source"
EMAIL = schema.EMAIL
FIRST_NAME = "first_name"
LAST_NAME = "last_name"
PHONE = "phone"
COMPANY = "company"
STATUS_WON = "won"
"""Outcome status of a converted lead (``schema.STATUS_LOST`` is the other one)."""

# ---- event types ----------------------------------------------------------------------------------
PAGE_VIEW = "page_view"
PRICING_PAGE_VIEW = "pricing_page_view"
EMAIL_OPEN = "email_open"
EMAIL_CLICK = "email_click"
WHITEPAPER_DOWNLOAD = "whitepaper_download"
WEBINAR_ATTENDED = "webinar_attended"
DEMO_REQUEST = "demo_request"
CONTACT_PAGE_VIEW = "contact_page_view"
FREE_TRIAL_SIGNUP = "free_trial_signup"
UNSUBSCRIBE = "unsubscribe"
EVENT_TYPES: tuple[str, ...] = (
    PAGE_VIEW,
    PRICING_PAGE_VIEW,
    EMAIL_OPEN,
    EMAIL_CLICK,
    WHITEPAPER_DOWNLOAD,
    WEBINAR_ATTENDED,
    DEMO_REQUEST,
    CONTACT_PAGE_VIEW,
    FREE_TRIAL_SIGNUP,
    UNSUBSCRIBE,
)
_EMAIL_EVENTS = (EMAIL_OPEN, EMAIL_CLICK)
_ADVANCED_EVENTS = (DEMO_REQUEST, FREE_TRIAL_SIGNUP)
"""Types made likelier by earlier interest (``_INTEREST_WEIGHTS``)."""
_INTEREST_WEIGHTS = {PRICING_PAGE_VIEW: 1.0, CONTACT_PAGE_VIEW: 0.5, WEBINAR_ATTENDED: 0.5}

# ---- vocabularies: (value, share, conversion log-odds effect) -----------------------------------
_INDUSTRIES: tuple[tuple[str, float, float], ...] = (
    ("Software", 0.22, 0.55),
    ("Financial Services", 0.13, 0.30),
    ("Healthcare", 0.12, 0.05),
    ("Manufacturing", 0.14, -0.10),
    ("Retail", 0.12, -0.25),
    ("Education", 0.09, -0.50),
    ("Media", 0.08, 0.10),
    ("Government", 0.05, -0.80),
)
_COUNTRIES: tuple[tuple[str, float, float], ...] = (
    ("United States", 0.38, 0.10),
    ("United Kingdom", 0.12, 0.05),
    ("Germany", 0.09, 0.00),
    ("India", 0.08, -0.45),
    ("Canada", 0.07, 0.05),
    ("France", 0.06, -0.05),
    ("Australia", 0.05, 0.05),
    ("Brazil", 0.05, -0.35),
    ("Netherlands", 0.05, 0.05),
    ("Spain", 0.05, -0.15),
)
_PHONE_PREFIXES = ("+1", "+44", "+49", "+91", "+1", "+33", "+61", "+55", "+31", "+34")
_SOURCES: tuple[tuple[str, float, float], ...] = (
    ("organic", 0.24, 0.00),
    ("paid_search", 0.18, -0.15),
    ("referral", 0.07, 0.70),
    ("webinar", 0.10, 0.15),
    ("event", 0.07, 0.25),
    ("outbound", 0.16, -0.45),
    ("partner", 0.06, 0.45),
    ("social", 0.12, -0.35),
)
_SOURCE_ENGAGEMENT = {
    "organic": 0.10,
    "paid_search": 0.0,
    "referral": 0.20,
    "webinar": 0.35,
    "event": 0.10,
    "outbound": -0.50,
    "partner": 0.0,
    "social": -0.10,
}
"""Activity log-odds effect of each lead source, beside its conversion effect."""

# fmt: off
_ROLES: tuple[tuple[str, float, float, tuple[str, ...]], ...] = (
    ("c_level_marketing", 0.025, 0.6, ("CMO", "Chief Marketing Officer", "chief marketing officer")),
    ("c_level_revenue", 0.015, 0.5, ("CRO", "Chief Revenue Officer", "Chief Sales Officer")),
    ("c_level_executive", 0.05, 0.3, ("CEO", "Chief Executive Officer", "Founder & CEO", "Owner")),
    ("c_level_technology", 0.015, -0.2, ("CTO", "Chief Technology Officer", "cto")),
    ("vp_marketing", 0.04, 0.9,
     ("VP of Marketing", "vp marketing", "Vice President, Marketing", "VP Mktg", "VP, Marketing")),
    ("vp_sales", 0.03, 0.7, ("VP Sales", "VP of Sales", "Vice President of Sales", "vp sales")),
    ("head_marketing", 0.06, 0.8,
     ("Director of Marketing", "Marketing Director", "Head of Marketing", "head of mktg")),
    ("head_sales", 0.05, 0.6, ("Head of Sales", "Sales Director", "Director, Sales", "head of sales")),
    ("head_engineering", 0.03, -0.1, ("Head of Engineering", "Engineering Director", "IT Director")),
    ("manager_marketing", 0.11, 0.5,
     ("Marketing Manager", "mktg mgr", "Mktg Manager", "marketing manager", "Digital Marketing Mgr")),
    ("manager_sales", 0.07, 0.3, ("Sales Manager", "sales mgr", "Business Development Manager")),
    ("manager_operations", 0.05, -0.1, ("Operations Manager", "ops manager", "Project Manager")),
    ("ic_marketing", 0.09, 0.0, ("Marketing Specialist", "Marketing Coordinator", "mktg associate")),
    ("ic_sales", 0.07, -0.2, ("Sales Representative", "SDR", "Sales Development Rep", "BDR")),
    ("ic_engineering", 0.09, -0.7,
     ("Software Engineer", "software engineer", "SWE", "Developer", "Sr. Software Engineer")),
    ("ic_analyst", 0.07, -0.4, ("Analyst", "Data Analyst", "Business Analyst", "analyst")),
    ("ic_other", 0.05, -0.6, ("Consultant", "Freelancer", "Teacher", "Recruiter")),
    ("student", 0.04, -1.6, ("Intern", "Marketing Intern", "intern", "Student")),
)
# fmt: on
"""Roles as ``seniority_function`` with share, conversion effect and the spellings people type."""
_TITLES = tuple(title for _, _, _, titles in _ROLES for title in titles)
"""Every spelling, role by role (each spelling belongs to one role only)."""
_TITLE_ROLES = {title: role for role, _, _, titles in _ROLES for title in titles}
_TITLE_EFFECTS = {title: effect for _, _, effect, titles in _ROLES for title in titles}
_STUDENT_ROLE = "student"

_MISSING_EFFECTS = {INDUSTRY: -0.2, COMPANY_SIZE: -0.1, JOB_TITLE: -0.3, COUNTRY: -0.1}
"""Conversion log-odds effect of a missing fit value (incomplete forms hint at weaker leads)."""
_MISSING_RATES = {
    INDUSTRY: 0.04,
    COMPANY_SIZE: 0.08,
    ANNUAL_REVENUE: 0.15,
    JOB_TITLE: 0.06,
    COUNTRY: 0.02,
    LEAD_SOURCE: 0.01,
    PHONE: 0.25,
}

_FREE_EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com")
# fmt: off
_FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Priya", "Rahul", "Sofia",
    "Lucas", "Emma", "Noah", "Olivia", "Liam", "Mia", "Hannah", "Felix", "Chloe", "Lea", "Mateo",
    "Camila", "Arjun", "Ananya", "Wei", "Mei", "Yuki", "Kenji", "Omar", "Fatima", "Ahmed", "Elena",
    "Ivan", "Anna", "Pierre", "Claire", "Jan", "Eva", "Pablo",
)
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell",
    "Mitchell", "Carter", "Roberts", "Patel", "Sharma", "Muller", "Schmidt", "Schneider", "Fischer",
    "Dubois", "Bernard", "Silva", "Santos", "Kowalski", "Jansen", "Rossi",
)
_COMPANY_WORDS = (
    "Blue", "Red", "Green", "Silver", "Golden", "Bright", "Swift", "North", "South", "East", "West",
    "Summit", "Peak", "Harbor", "River", "Stone", "Oak", "Pine", "Cedar", "Maple", "Iron", "Cloud",
    "Sky", "Star", "Sun", "Moon", "Ocean", "Lake", "Bay", "Ridge", "Valley", "Prairie", "Apex",
    "Vertex", "Nova", "Orbit", "Pulse", "Quantum", "Vector", "Signal", "Spark", "Atlas", "Titan",
    "Echo", "Delta", "Sigma", "Omega", "Alpha", "Beacon", "Bridge", "Canyon", "Crest", "Falcon",
    "Fox", "Hawk", "Lion", "Wolf", "Bear", "Eagle", "Cobalt", "Crimson", "Amber", "Jade", "Onyx",
    "Coral", "Maven", "Nimbus", "Zenith", "Horizon", "Meridian", "Pioneer", "Frontier", "Keystone",
    "Lumen", "Arbor",
)
_COMPANY_SUFFIXES = (
    "Inc", "LLC", "Ltd", "GmbH", "Group", "Labs", "Systems", "Solutions", "Analytics", "Partners",
    "Holdings", "Technologies", "Software", "Consulting", "Media", "Health", "Capital", "Logistics",
    "Retail", "Foods", "Energy", "Works", "Digital", "Co",
)
# fmt: on
_COMPANY_TLDS = (".com", ".io", ".co", ".net")

_DAY_US = 86_400_000_000
_BLOCK_ROWS = 1 << 18
_OPEN, _WON, _LOST = 0, 1, 2
_MAX_AGE_DAYS = 4_000
_MONTE_CARLO_STREAM = 7_315
_MONTE_CARLO_ROWS = 2_000_000
"""Replicated rows simulated at once (bounds the memory of ``true_probability``)."""
_EPOCH_WEEKDAY = 3
"""1970-01-01 was a Thursday (Monday = 0)."""


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
    active_day_logit : float, default -2.45
        Log-odds that a fresh, average lead is active on a weekday; raises events per lead.
    creation_day_boost : float, default 3.0
        Extra activity log-odds on the day the lead is created (the form it filled in).
    session_extra_events : float, default 1.5
        Mean number of events beyond the first on an active day.
    engagement_half_life_days : float, default 30.0
        Half-life of the age-driven part of activity (engagement fades as the lead ages).
    engagement_floor : float, default 0.15
        Activity multiplier an old lead keeps.
    excitation : float, default 0.6
        Activity log-odds per ``log1p`` of recent events: bursts of activity, then spells.
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
    conversion_logit : float, default -9.6
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
        Extra daily probability of being closed lost at full inactivity.
    """

    start: str = "2025-01-01"
    history_days: int = 365
    weekend_lead_weight: float = 0.35
    lead_growth: float = 0.3
    missing_rates: Mapping[str, float] = field(default_factory=lambda: dict(_MISSING_RATES))
    fit_scale: float = 1.3
    corporate_email_effect: float = 0.5
    engagement_fit_share: float = 0.5
    active_day_logit: float = -2.45
    creation_day_boost: float = 3.0
    session_extra_events: float = 1.5
    engagement_half_life_days: float = 30.0
    engagement_floor: float = 0.15
    excitation: float = 0.6
    excitation_half_life_days: float = 3.0
    weekend_activity_effect: float = -0.7
    unsubscribed_activity_effect: float = -0.5
    event_mix: Mapping[str, float] = field(default_factory=_default_event_mix)
    fit_tilt: Mapping[str, float] = field(default_factory=_default_fit_tilt)
    progression: float = 1.5
    unsubscribed_email_effect: float = -3.0
    intent_half_life_days: float = 14.0
    conversion_logit: float = -9.6
    event_effects: Mapping[str, float] = field(default_factory=_default_event_effects)
    inactivity_grace_days: float = 21.0
    inactivity_ramp_days: float = 60.0
    inactivity_effect: float = 1.5
    loss_rate: float = 0.0005
    loss_inactive_rate: float = 0.012

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

    @property
    def start_timestamp(self) -> pd.Timestamp:
        """``start`` as a UTC timestamp."""
        stamp = pd.Timestamp(self.start)
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


# ---- the daily process ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Dynamics:
    """``FunnelParams`` compiled into the arrays the daily step uses."""

    params: FunnelParams
    start_epoch_day: int
    beta: Floats
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
            start_epoch_day=_epoch_day(params),
            beta=_by_type(params.event_effects).astype(np.float32),
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
        )

    def is_weekend(self, day: int) -> bool:
        """Whether simulated ``day`` falls on a Saturday or Sunday."""
        return (self.start_epoch_day + day + _EPOCH_WEEKDAY) % 7 >= 5


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
        )


@dataclass(frozen=True)
class _DayDraws:
    """What happened to each population row during one day."""

    status: npt.NDArray[np.int8]
    close_us: Ints
    event_rows: Ints
    event_types: Ints
    event_us: Ints


def _sigmoid(logit: Floats) -> Floats:
    result: Floats = 1.0 / (1.0 + np.exp(-logit))
    return result


def _draw_closures(
    pop: _Population, day: int, dyn: _Dynamics, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int8], Ints]:
    """Won / lost / still open for each row, from its state at the day's midnight."""
    idle = np.minimum(day - pop.last_active_day, dyn.inactivity.size - 1)
    inactive = dyn.inactivity[idle]
    logit = dyn.params.conversion_logit + pop.fit_conversion + _intent(pop.decayed, dyn.beta)
    won = _sigmoid(logit - np.float32(dyn.params.inactivity_effect) * inactive)
    lost = np.float32(dyn.params.loss_rate) + np.float32(dyn.params.loss_inactive_rate) * inactive
    draw = rng.random(pop.row.size, dtype=np.float32)
    # 2 * (closed) - (won): 1 = won, 2 = lost, 0 = still open
    status = 2 * (draw < won + lost).astype(np.int8) - (draw < won).astype(np.int8)
    status[pop.created_day == day] = _OPEN
    close_us = np.full(pop.row.size, _DAY_US, dtype=np.int64)
    closing = np.flatnonzero(status)
    close_us[closing] = _instants(np.zeros(closing.size, dtype=np.int64), rng)
    return status, close_us


def _intent(decayed: Floats, beta: Floats) -> Floats:
    """``sum_t beta_t * log1p(D_t)`` per row, in blocks small enough to reuse freed memory.

    ``einsum`` rather than ``@``: a BLAS matrix-vector product this thin is several times slower,
    and far slower still when another process holds the other core.
    """
    intent = np.empty(decayed.shape[0], dtype=np.float32)
    for lo in range(0, decayed.shape[0], _BLOCK_ROWS):
        block = np.log1p(decayed[lo : lo + _BLOCK_ROWS])
        intent[lo : lo + _BLOCK_ROWS] = np.einsum("ij,j->i", block, beta)
    return intent


def _instants(after_us: Ints, rng: np.random.Generator) -> Ints:
    """Random microsecond offsets in ``(after_us, next midnight)``."""
    span = _DAY_US - 1 - after_us
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


# ---- the generated history ------------------------------------------------------------------------
@dataclass(frozen=True)
class _History:
    """Events and closures of a simulated history, in microseconds since ``start``."""

    event_lead: Ints
    event_type: Ints
    event_us: Ints
    closed_lead: Ints
    closed_status: Ints
    closed_us: Ints
    open_at_end: _Population


def _simulate_history(
    profile: _Profile, dyn: _Dynamics, n_days: int, rng: np.random.Generator
) -> _History:
    """Run the daily step over ``n_days``, adding each lead on the day it is created.

    ``profile`` must be ordered by creation time.
    """
    pop, alive = profile.fresh(np.zeros(0, dtype=np.int64)), np.zeros(0, dtype=bool)
    created = np.searchsorted(profile.created_day, np.arange(n_days + 1))
    events: list[tuple[Ints, Ints, Ints]] = []
    closures: list[tuple[Ints, Ints, Ints]] = []
    for day in range(n_days):
        pop, alive = _compacted(pop, alive)
        pop = pop.extend(profile.fresh(np.arange(created[day], created[day + 1])))
        alive = np.concatenate([alive, np.ones(created[day + 1] - created[day], dtype=bool)])
        draws = _step_day(pop, day, dyn, rng)
        events.append(_day_events(pop, draws, alive, day))
        closing = np.flatnonzero((draws.status != _OPEN) & alive)
        closures.append(
            (pop.row[closing], draws.status[closing], draws.close_us[closing] + day * _DAY_US)
        )
        alive &= draws.status == _OPEN
    event_parts, closure_parts = _stack(events), _stack(closures)
    return _History(*event_parts, *closure_parts, open_at_end=pop.take(np.flatnonzero(alive)))


def _day_events(
    pop: _Population, draws: _DayDraws, alive: Bools, day: int
) -> tuple[Ints, Ints, Ints]:
    """Lead positions, type codes and times (µs since start) of a day's events, in time order."""
    kept = np.flatnonzero(alive[draws.event_rows])
    order = kept[np.argsort(draws.event_us[kept], kind="stable")]
    lead = pop.row[draws.event_rows[order]].astype(np.int32)
    return lead, draws.event_types[order].astype(np.int8), draws.event_us[order] + day * _DAY_US


def _stack(parts: list[tuple[Ints, Ints, Ints]]) -> tuple[Ints, Ints, Ints]:
    first, second, third = zip(*parts, strict=True)
    return np.concatenate(first), np.concatenate(second), np.concatenate(third)


# ---- leads -----------------------------------------------------------------------------------------
def _draw_leads(n: int, params: FunnelParams, rng: np.random.Generator) -> pd.DataFrame:
    """The leads table, ordered by ``created_at``, with its missing values."""
    created_us = _draw_created_us(n, params, rng)
    size = np.clip(np.ceil(np.exp(rng.normal(np.log(80.0), 1.5, n))), 1.0, 250_000.0)
    role = _draw_codes([share for _, share, _, _ in _ROLES], n, rng)
    country = _draw_codes([share for _, share, _ in _COUNTRIES], n, rng)
    first = rng.integers(0, len(_FIRST_NAMES), n)
    last = rng.integers(0, len(_LAST_NAMES), n)
    company, domain = _draw_companies(n, rng)
    corporate = rng.random(n) < _sigmoid(_corporate_logit(size, role))
    columns = {
        schema.LEAD_ID: _lead_ids(n),
        schema.CREATED_AT: _timestamps(created_us, params),
        FIRST_NAME: _vocabulary(_FIRST_NAMES).take(first),
        LAST_NAME: _vocabulary(_LAST_NAMES).take(last),
        EMAIL: _draw_emails(first, last, domain, corporate, rng),
        PHONE: _draw_phones(country, rng),
        COMPANY: _text(company),
        JOB_TITLE: _draw_titles(role, rng),
        INDUSTRY: _draw_category(_INDUSTRIES, n, rng),
        COMPANY_SIZE: size,
        ANNUAL_REVENUE: np.round(size * np.exp(rng.normal(np.log(150_000.0), 0.7, n)), -3),
        COUNTRY: _vocabulary(tuple(name for name, _, _ in _COUNTRIES)).take(country),
        LEAD_SOURCE: _draw_category(_SOURCES, n, rng),
    }
    return _punch_missing(pd.DataFrame(columns), params.missing_rates, rng)


def _draw_created_us(n: int, params: FunnelParams, rng: np.random.Generator) -> Ints:
    """Sorted creation times (µs since start): more on weekdays, business hours, growing volume."""
    days = np.arange(params.history_days)
    growth = 1.0 + params.lead_growth * days / max(params.history_days - 1, 1)
    weight = growth * np.where(_is_weekend(params, days), params.weekend_lead_weight, 1.0)
    day = rng.choice(days, n, p=weight / weight.sum())
    office = rng.random(n) < 0.75
    hours = np.where(office, rng.normal(14.5, 3.0, n), rng.uniform(0.0, 24.0, n)) % 24.0
    offset = np.clip((hours * 3_600e6).astype(np.int64), 0, _DAY_US - 3_600_000_000)
    return np.sort(day * _DAY_US + offset)


def _draw_codes(shares: list[float], n: int, rng: np.random.Generator) -> Ints:
    p = np.asarray(shares) / np.sum(shares)
    return rng.choice(p.size, n, p=p)


def _draw_category(
    vocabulary: tuple[tuple[str, float, float], ...], n: int, rng: np.random.Generator
) -> pd.api.extensions.ExtensionArray:
    codes = _draw_codes([share for _, share, _ in vocabulary], n, rng)
    return _vocabulary(tuple(value for value, _, _ in vocabulary)).take(codes)


def _vocabulary(values: tuple[str, ...]) -> pd.api.extensions.ExtensionArray:
    return pd.array(list(values), dtype="str")


def _text(values: npt.NDArray[Any]) -> pd.api.extensions.ExtensionArray:
    """A numpy string array as a pandas ``str`` array (through object: much faster)."""
    return pd.array(values.astype(object), dtype="str")


def _lead_ids(n: int) -> pd.api.extensions.ExtensionArray:
    width = max(7, len(str(n - 1)))
    digits = np.arange(n).astype(np.dtypes.StringDType())
    return _text(np.strings.add("L", np.strings.zfill(digits, width)))


def _timestamps(micros: Ints, params: FunnelParams, missing: Bools | None = None) -> pd.Series:
    """UTC timestamps ``micros`` after the start (``NaT`` where ``missing``)."""
    start = np.datetime64(params.start_timestamp.tz_localize(None), "us")
    values = start + micros.astype("timedelta64[us]")
    if missing is not None:
        values[missing] = np.datetime64("NaT", "us")
    return pd.Series(pd.DatetimeIndex(values).tz_localize("UTC"))


def _corporate_logit(size: Floats, role: Ints) -> Floats:
    """Bigger companies more often use a corporate address; students rarely do."""
    student = role == [key for key, _, _, _ in _ROLES].index(_STUDENT_ROLE)
    result: Floats = 0.2 + 0.7 * (np.log10(size) - 1.5) - 1.5 * student
    return result


def _draw_companies(n: int, rng: np.random.Generator) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Company names (``Word Word Suffix``) and the web domains they own."""
    words = np.array(_COMPANY_WORDS, dtype=np.dtypes.StringDType())
    first = rng.integers(0, words.size, n)
    second = (first + rng.integers(1, words.size, n)) % words.size
    suffix = np.array(_COMPANY_SUFFIXES, dtype=np.dtypes.StringDType())[
        rng.integers(0, len(_COMPANY_SUFFIXES), n)
    ]
    name = np.strings.add(np.strings.add(words[first], " "), words[second])
    tld = np.array(_COMPANY_TLDS, dtype=np.dtypes.StringDType())[
        rng.integers(0, len(_COMPANY_TLDS), n)
    ]
    domain = np.strings.add(np.strings.lower(np.strings.add(words[first], words[second])), tld)
    return np.strings.add(np.strings.add(name, " "), suffix), domain


def _draw_emails(
    first: Ints, last: Ints, domain: npt.NDArray[Any], corporate: Bools, rng: np.random.Generator
) -> pd.api.extensions.ExtensionArray:
    """``first.last@company.com``, ``flast@...``, ``first@...`` or ``first_last42@gmail.com``."""
    given = np.strings.lower(np.array(_FIRST_NAMES, dtype=np.dtypes.StringDType()))[first]
    family = np.strings.lower(np.array(_LAST_NAMES, dtype=np.dtypes.StringDType()))[last]
    pattern = rng.integers(0, 3, first.size)
    dotted = np.strings.add(np.strings.add(given, "."), family)
    initial = np.strings.add(np.strings.slice(given, 0, 1), family)
    local = np.where(pattern == 0, dotted, np.where(pattern == 1, initial, given))
    number = rng.integers(1, 100, first.size).astype(np.dtypes.StringDType())
    personal = np.where(pattern == 2, np.strings.add(np.strings.add(given, "_"), family), local)
    personal = np.where(rng.random(first.size) < 0.5, np.strings.add(personal, number), personal)
    free = np.array(_FREE_EMAIL_DOMAINS, dtype=np.dtypes.StringDType())[
        rng.integers(0, len(_FREE_EMAIL_DOMAINS), first.size)
    ]
    address = np.where(corporate, np.strings.add(local, "@"), np.strings.add(personal, "@"))
    return _text(np.strings.add(address, np.where(corporate, domain, free)))


def _draw_phones(country: Ints, rng: np.random.Generator) -> pd.api.extensions.ExtensionArray:
    """International numbers: ``+44 207 555 0134``."""
    n = country.size
    prefix = np.array(_PHONE_PREFIXES, dtype=np.dtypes.StringDType())[country]
    parts = [prefix]
    for low, high in ((200, 1000), (100, 1000), (0, 10_000)):
        digits = rng.integers(low, high, n).astype(np.dtypes.StringDType())
        parts.append(np.strings.zfill(digits, len(str(high - 1))))
    joined = parts[0]
    for part in parts[1:]:
        joined = np.strings.add(np.strings.add(joined, " "), part)
    return _text(joined)


def _draw_titles(role: Ints, rng: np.random.Generator) -> pd.api.extensions.ExtensionArray:
    """A spelling of each lead's role, chosen uniformly among the ways people type it."""
    counts = np.array([len(titles) for _, _, _, titles in _ROLES])
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    variant = first[role] + (rng.random(role.size) * counts[role]).astype(np.int64)
    return _vocabulary(_TITLES).take(variant)


def _punch_missing(
    leads: pd.DataFrame, rates: Mapping[str, float], rng: np.random.Generator
) -> pd.DataFrame:
    """Blank a share of each column named in ``rates`` (``NaN``), in column order."""
    blanked = {
        column: leads[column].mask(rng.random(len(leads)) < rates[column])
        for column in leads.columns
        if column in rates
    }
    return leads.assign(**blanked)


def _is_weekend(params: FunnelParams, days: Ints) -> Bools:
    result: Bools = (_epoch_day(params) + days + _EPOCH_WEEKDAY) % 7 >= 5
    return result


def _epoch_day(params: FunnelParams) -> int:
    start = params.start_timestamp.tz_localize(None).to_datetime64().astype("datetime64[D]")
    return int(start.astype(np.int64))


# ---- what the tables say, as the process reads it ----------------------------------------------------
def canonical_job_title(titles: pd.Series) -> pd.Series:
    """Map each spelling of a job title to the role it stands for.

    Parameters
    ----------
    titles : pandas.Series
        Job titles as they appear in the generated ``leads`` table.

    Returns
    -------
    pandas.Series
        Role keys such as ``vp_marketing`` (``seniority_function``); missing for a missing or
        unknown title.
    """
    return titles.map(_TITLE_ROLES).astype("str")


def _profile(leads: pd.DataFrame, params: FunnelParams) -> _Profile:
    """Fit log-odds and creation time of each lead, read from the table only."""
    conversion = params.fit_scale * _attribute_effect(leads)
    conversion = conversion + params.corporate_email_effect * _is_corporate(leads[EMAIL])
    source = _effect(leads[LEAD_SOURCE], _SOURCE_ENGAGEMENT, 0.0)
    engagement = params.engagement_fit_share * conversion + source
    created = _micros_since_start(leads[schema.CREATED_AT], params)
    return _Profile(
        fit_conversion=conversion.astype(np.float32),
        fit_engagement=engagement.astype(np.float32),
        created_day=(created // _DAY_US).astype(np.int32),
        created_us=created % _DAY_US,
    )


def _attribute_effect(leads: pd.DataFrame) -> Floats:
    """Conversion log-odds of industry, role, country, source and company size."""
    industry = {value: effect for value, _, effect in _INDUSTRIES}
    country = {value: effect for value, _, effect in _COUNTRIES}
    source = {value: effect for value, _, effect in _SOURCES}
    return (
        _effect(leads[INDUSTRY], industry, _MISSING_EFFECTS[INDUSTRY])
        + _effect(leads[JOB_TITLE], _TITLE_EFFECTS, _MISSING_EFFECTS[JOB_TITLE])
        + _effect(leads[COUNTRY], country, _MISSING_EFFECTS[COUNTRY])
        + _effect(leads[LEAD_SOURCE], source, 0.0)
        + _size_effect(leads[COMPANY_SIZE])
    )


def _effect(values: pd.Series, effects: Mapping[str, float], missing: float) -> Floats:
    """Log-odds effect of each value; ``missing`` for a missing or unknown one."""
    return values.map(dict(effects)).astype(np.float64).fillna(missing).to_numpy(np.float64)


def _size_effect(size: pd.Series) -> Floats:
    """A sweet spot around 100 employees (51–200 best), falling off for tiny and huge companies."""
    employees = size.to_numpy(np.float64, na_value=np.nan)
    effect = 0.5 - 0.45 * (np.log10(np.clip(employees, 1.0, None)) - 2.0) ** 2
    return np.where(np.isnan(employees), _MISSING_EFFECTS[COMPANY_SIZE], np.maximum(effect, -1.5))


def _is_corporate(emails: pd.Series) -> Floats:
    domain = emails.str.rsplit("@", n=1).str[-1].str.lower()
    corporate = domain.notna() & ~domain.isin(_FREE_EMAIL_DOMAINS)
    return np.asarray(corporate, dtype=np.float64)


def _micros_since_start(stamps: pd.Series, params: FunnelParams) -> Ints:
    """Microseconds from the start to each timestamp (int64 minimum for a missing one)."""
    naive = pd.to_datetime(stamps, utc=True).dt.tz_localize(None)
    values = naive.to_numpy(dtype="datetime64[us]")
    start = np.datetime64(params.start_timestamp.tz_localize(None), "us")
    return (values - start).astype(np.int64)


# ---- the funnel --------------------------------------------------------------------------------------
def _events_frame(history: _History, leads: pd.DataFrame, params: FunnelParams) -> pd.DataFrame:
    return pd.DataFrame(
        {
            schema.LEAD_ID: leads[schema.LEAD_ID].array.take(history.event_lead),
            schema.OCCURRED_AT: _timestamps(history.event_us, params),
            schema.EVENT_TYPE: _vocabulary(EVENT_TYPES).take(history.event_type),
        }
    )


def _outcomes_frame(history: _History, leads: pd.DataFrame, params: FunnelParams) -> pd.DataFrame:
    order = np.argsort(history.closed_us, kind="stable")
    status = history.closed_status[order]
    closed_us = history.closed_us[order]
    return pd.DataFrame(
        {
            schema.LEAD_ID: leads[schema.LEAD_ID].array.take(history.closed_lead[order]),
            schema.CONVERTED_AT: _timestamps(closed_us, params, missing=status != _WON),
            schema.STATUS: _vocabulary(("", STATUS_WON, schema.STATUS_LOST)).take(status),
            schema.CLOSED_AT: _timestamps(closed_us, params),
        }
    )


@dataclass(frozen=True)
class _Observed:
    """The three tables as the process reads them: lead positions, type codes, µs since start."""

    profile: _Profile
    event_lead: Ints
    event_type: Ints
    event_us: Ints
    closed_us: Ints
    """Per lead, when it converted or was closed lost (int64 maximum while open)."""


def _observe(
    leads: pd.DataFrame, events: pd.DataFrame, outcomes: pd.DataFrame, params: FunnelParams
) -> _Observed:
    ids = pd.Index(leads[schema.LEAD_ID])
    lead = ids.get_indexer(pd.Index(events[schema.LEAD_ID]))
    kind = pd.Index(EVENT_TYPES).get_indexer(pd.Index(events[schema.EVENT_TYPE]))
    known = (lead >= 0) & (kind >= 0)
    closed = outcomes[schema.CLOSED_AT].fillna(outcomes[schema.CONVERTED_AT])
    closing = ids.get_indexer(pd.Index(outcomes[schema.LEAD_ID]))
    stamped = closed.notna().to_numpy() & (closing >= 0)
    closed_us = np.full(len(leads), np.iinfo(np.int64).max)
    closed_us[closing[stamped]] = _micros_since_start(closed[stamped], params)
    return _Observed(
        profile=_profile(leads, params),
        event_lead=lead[known],
        event_type=kind[known],
        event_us=_micros_since_start(events[schema.OCCURRED_AT], params)[known],
        closed_us=closed_us,
    )


def _population_at(observed: _Observed, day: int, dyn: _Dynamics) -> tuple[Ints, _Population]:
    """Positions and state, at the midnight starting ``day``, of the leads open then."""
    cutoff = day * _DAY_US
    profile = observed.profile
    created = profile.created_day.astype(np.int64) * _DAY_US + profile.created_us
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
    event_day = event_us // _DAY_US
    age = day - 1 - event_day
    intent = np.bincount(rows * n_types + types, dyn.intent_decay**age, minlength=n * n_types)
    pop.decayed = intent.reshape(n, n_types).astype(np.float32)
    pop.recent = np.bincount(rows, dyn.recent_decay**age, minlength=n).astype(np.float32)
    np.maximum.at(pop.last_active_day, rows, event_day.astype(np.int32))
    pop.unsubscribed[rows[types == dyn.unsubscribe]] = True


def _monte_carlo(
    pop: _Population, day: int, horizon_days: int, n_sims: int, dyn: _Dynamics, seed: list[int]
) -> Floats:
    """Share of ``n_sims`` runs of the daily step in which each row converts within the horizon."""
    rng = np.random.default_rng(seed)
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


@dataclass(frozen=True, eq=False)
class SyntheticFunnel:
    """A generated funnel: the three contract tables and the process behind them.

    Attributes
    ----------
    leads : pandas.DataFrame
        The contract ``leads`` table: ``lead_id``, ``created_at`` (UTC), fit attributes
        (``industry``, ``company_size``, ``annual_revenue``, ``job_title``, ``country``,
        ``lead_source``), PII (``email``, ``first_name``, ``last_name``, ``phone``) and the
        non-predictive ``company``; ordered by ``created_at``.
    events : pandas.DataFrame
        The contract ``events`` table, ordered by ``occurred_at``.
    outcomes : pandas.DataFrame
        One row per lead that converted (``status`` ``won``, ``converted_at`` = ``closed_at``) or
        was closed lost (``converted_at`` missing), ordered by ``closed_at``.
    params : FunnelParams
        The knobs it was generated with.
    seed : int
        The seed it was generated with.
    """

    leads: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    params: FunnelParams
    seed: int

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The three tables by contract name."""
        return {
            schema.LEADS: self.leads,
            schema.EVENTS: self.events,
            schema.OUTCOMES: self.outcomes,
        }

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
        if lead_ids is not None:
            wanted = np.flatnonzero(
                pd.Index(self.leads[schema.LEAD_ID].array.take(open_leads)).isin(lead_ids)
            )
            open_leads, pop = open_leads[wanted], pop.take(wanted)
        seed = [self.seed, _MONTE_CARLO_STREAM, day + 2**40, horizon_days, n_sims]
        shares = _monte_carlo(pop, day, horizon_days, n_sims, self._dynamics, seed)
        index = pd.Index(self.leads[schema.LEAD_ID].array.take(open_leads), name=schema.LEAD_ID)
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
        return _observe(self.leads, self.events, self.outcomes, self.params)

    def _day_of(self, as_of: pd.Timestamp | str) -> int:
        """Index of the day starting at ``as_of``, which must be a midnight UTC."""
        stamp = pd.Timestamp(as_of)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        if stamp != stamp.normalize():
            raise ValueError(f"as_of must be a midnight UTC, got {stamp.isoformat()}")
        return (stamp - self.params.start_timestamp).days


def generate_funnel(
    n_leads: int = 5000, seed: int = 0, params: FunnelParams | None = None
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
    history = _simulate_history(_profile(leads, params), dynamics, params.history_days, rng)
    events = _events_frame(history, leads, params)
    outcomes = _outcomes_frame(history, leads, params)
    return SyntheticFunnel(leads, events, outcomes, params, seed)
