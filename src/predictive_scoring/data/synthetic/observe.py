"""What the tables say, as the process reads them: each lead's fit and creation time, and its
events and closure as positions, type codes and microseconds since the start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.data.synthetic.arrays import Floats, Ints
from predictive_scoring.data.synthetic.clock import _micros_since_start
from predictive_scoring.data.synthetic.params import FunnelParams
from predictive_scoring.data.synthetic.process import _Profile
from predictive_scoring.data.synthetic.vocabulary import (
    _COUNTRIES,
    _FREE_EMAIL_DOMAINS,
    _INDUSTRIES,
    _MISSING_EFFECTS,
    _SOURCE_ENGAGEMENT,
    _SOURCES,
    _TITLE_EFFECTS,
    _TITLE_ROLES,
    BUYER_TYPE,
    COMPANY_SIZE,
    COUNTRY,
    EMAIL,
    EVENT_TYPES,
    GROWING_SOURCE,
    INDUSTRY,
    JOB_TITLE,
    LEAD_SOURCE,
    NEW_SOURCE,
)
from predictive_scoring.timeline import DAY_US

__all__ = [
    "canonical_job_title",
]


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
    conversion = params.fit_scale * _attribute_effect(leads, params)
    conversion = conversion + params.corporate_email_effect * _is_corporate(leads[EMAIL])
    source = _effect(leads[LEAD_SOURCE], _SOURCE_ENGAGEMENT, 0.0)
    engagement = params.engagement_fit_share * conversion + source
    created = _micros_since_start(leads[schema.CREATED_AT], params.start_timestamp)
    return _Profile(
        fit_conversion=conversion.astype(np.float32),
        fit_engagement=engagement.astype(np.float32),
        created_day=(created // DAY_US).astype(np.int32),
        created_us=created % DAY_US,
        persona=_persona_codes(leads, params),
    )


def _persona_codes(leads: pd.DataFrame, params: FunnelParams) -> Ints:
    """Each lead's persona as its position in ``params.personas`` (their count: none)."""
    names = list(params.personas)
    if BUYER_TYPE not in leads or not names:
        return np.full(len(leads), len(names), dtype=np.int8)
    codes = pd.Index(names).get_indexer(pd.Index(leads[BUYER_TYPE].astype(object)))
    return np.where(codes < 0, len(names), codes).astype(np.int8)


def _attribute_effect(leads: pd.DataFrame, params: FunnelParams) -> Floats:
    """Conversion log-odds of industry, role, country, source and company size."""
    industry = {value: effect for value, _, effect in _INDUSTRIES}
    country = {value: effect for value, _, effect in _COUNTRIES}
    source = {value: effect for value, _, effect in _SOURCES}
    source[GROWING_SOURCE] = params.growing_source_effect
    source[NEW_SOURCE] = params.new_source_effect
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
    closed_us[closing[stamped]] = _micros_since_start(closed[stamped], params.start_timestamp)
    return _Observed(
        profile=_profile(leads, params),
        event_lead=lead[known],
        event_type=kind[known],
        event_us=_micros_since_start(events[schema.OCCURRED_AT], params.start_timestamp)[known],
        closed_us=closed_us,
    )
