"""The leads table: creation times, fit attributes, names, emails and phones, missing values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.data.synthetic.arrays import (
    Bools,
    Floats,
    Ints,
    _sigmoid,
    _text,
    _vocabulary,
)
from predictive_scoring.data.synthetic.clock import _epoch_day, _is_weekend, _timestamps
from predictive_scoring.data.synthetic.params import FunnelParams
from predictive_scoring.data.synthetic.vocabulary import (
    _COMPANY_SUFFIXES,
    _COMPANY_TLDS,
    _COMPANY_WORDS,
    _COUNTRIES,
    _FIRST_NAMES,
    _FREE_EMAIL_DOMAINS,
    _INDUSTRIES,
    _LAST_NAMES,
    _PHONE_PREFIXES,
    _ROLES,
    _SOURCES,
    _STUDENT_ROLE,
    _TITLES,
    ANNUAL_REVENUE,
    BUYER_TYPE,
    COMPANY,
    COMPANY_SIZE,
    COUNTRY,
    EMAIL,
    FIRST_NAME,
    GROWING_SOURCE,
    INDUSTRY,
    JOB_TITLE,
    LAST_NAME,
    LEAD_SOURCE,
    NEW_SOURCE,
    PHONE,
)
from predictive_scoring.timeline import DAY_US


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
        schema.CREATED_AT: _timestamps(created_us, params.start_timestamp),
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
        LEAD_SOURCE: _draw_sources(created_us, params, rng),
    }
    leads = _punch_missing(pd.DataFrame(columns), params.missing_rates, rng)
    if params.personas:  # drawn last, so a funnel without personas is drawn as before
        names = tuple(params.personas)
        shares = np.asarray(list(params.personas.values()), dtype=float)
        codes = _draw_codes(list(shares / shares.sum()), n, rng)
        leads[BUYER_TYPE] = _vocabulary(names).take(codes)
    return leads


def _draw_created_us(n: int, params: FunnelParams, rng: np.random.Generator) -> Ints:
    """Sorted creation times (µs since start): more on weekdays, business hours, growing volume."""
    days = np.arange(params.history_days)
    growth = 1.0 + params.lead_growth * days / max(params.history_days - 1, 1)
    weekend = _is_weekend(_epoch_day(params.start_timestamp), days)
    weight = growth * np.where(weekend, params.weekend_lead_weight, 1.0)
    day = rng.choice(days, n, p=weight / weight.sum())
    office = rng.random(n) < 0.75
    hours = np.where(office, rng.normal(14.5, 3.0, n), rng.uniform(0.0, 24.0, n)) % 24.0
    offset = np.clip((hours * 3_600e6).astype(np.int64), 0, DAY_US - 3_600_000_000)
    return np.sort(day * DAY_US + offset)


def _draw_codes(shares: list[float], n: int, rng: np.random.Generator) -> Ints:
    p = np.asarray(shares) / np.sum(shares)
    return rng.choice(p.size, n, p=p)


def _draw_category(
    vocabulary: tuple[tuple[str, float, float], ...], n: int, rng: np.random.Generator
) -> pd.api.extensions.ExtensionArray:
    codes = _draw_codes([share for _, share, _ in vocabulary], n, rng)
    return _vocabulary(tuple(value for value, _, _ in vocabulary)).take(codes)


def _draw_sources(
    created_us: Ints, params: FunnelParams, rng: np.random.Generator
) -> pd.api.extensions.ExtensionArray:
    """Lead sources whose mix drifts: ``content_syndication`` grows, ``marketplace`` appears late.

    The stable sources are drawn from ``rng`` as they always were; the drift draws from a child
    stream (spawning leaves ``rng``'s own draws untouched), so with the drift off the leads table,
    and everything after it, is what it was before the drift existed.
    """
    codes = _draw_codes([share for _, share, _ in _SOURCES], created_us.size, rng)
    growing, new = len(_SOURCES), len(_SOURCES) + 1
    vocabulary = (*(value for value, _, _ in _SOURCES), GROWING_SOURCE, NEW_SOURCE)
    if max(params.growing_source_shares) == 0.0 and params.new_source_share == 0.0:
        return _vocabulary(vocabulary).take(codes)
    when = (created_us // DAY_US) / max(params.history_days - 1, 1)
    grown = np.interp(when, [0.0, 1.0], params.growing_source_shares)
    late = np.where(when >= params.new_source_start, params.new_source_share, 0.0)
    draw = rng.spawn(1)[0].random(created_us.size)
    codes = np.where(draw < grown, growing, np.where(draw < grown + late, new, codes))
    return _vocabulary(vocabulary).take(codes)


def _lead_ids(n: int) -> pd.api.extensions.ExtensionArray:
    width = max(7, len(str(n - 1)))
    digits = np.arange(n).astype(np.dtypes.StringDType())
    return _text(np.strings.add("L", np.strings.zfill(digits, width)))


def _corporate_logit(size: Floats, role: Ints) -> Floats:
    """Bigger companies more often use a corporate address; students rarely do."""
    student = role == [key for key, _, _, _ in _ROLES].index(_STUDENT_ROLE)
    result: Floats = 0.2 + 0.7 * (np.log10(size) - 1.5) - 1.5 * student
    return result


def _draw_companies(n: int, rng: np.random.Generator) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Company names (``Word Word Suffix``) and the web domains they own."""
    words = _strings(_COMPANY_WORDS)
    first = rng.integers(0, words.size, n)
    second = (first + rng.integers(1, words.size, n)) % words.size
    suffix = _pick(_COMPANY_SUFFIXES, n, rng)
    name = np.strings.add(np.strings.add(words[first], " "), words[second])
    tld = _pick(_COMPANY_TLDS, n, rng)
    domain = np.strings.add(np.strings.lower(np.strings.add(words[first], words[second])), tld)
    return np.strings.add(np.strings.add(name, " "), suffix), domain


def _draw_emails(
    first: Ints, last: Ints, domain: npt.NDArray[Any], corporate: Bools, rng: np.random.Generator
) -> pd.api.extensions.ExtensionArray:
    """``first.last@company.com``, ``flast@...``, ``first@...`` or ``first_last42@gmail.com``."""
    given = np.strings.lower(_strings(_FIRST_NAMES))[first]
    family = np.strings.lower(_strings(_LAST_NAMES))[last]
    pattern = rng.integers(0, 3, first.size)
    dotted = np.strings.add(np.strings.add(given, "."), family)
    initial = np.strings.add(np.strings.slice(given, 0, 1), family)
    local = np.where(pattern == 0, dotted, np.where(pattern == 1, initial, given))
    number = rng.integers(1, 100, first.size).astype(np.dtypes.StringDType())
    personal = np.where(pattern == 2, np.strings.add(np.strings.add(given, "_"), family), local)
    personal = np.where(rng.random(first.size) < 0.5, np.strings.add(personal, number), personal)
    free = _pick(_FREE_EMAIL_DOMAINS, first.size, rng)
    address = np.where(corporate, np.strings.add(local, "@"), np.strings.add(personal, "@"))
    return _text(np.strings.add(address, np.where(corporate, domain, free)))


def _draw_phones(country: Ints, rng: np.random.Generator) -> pd.api.extensions.ExtensionArray:
    """International numbers: ``+44 207 555 0134``."""
    n = country.size
    prefix = _strings(_PHONE_PREFIXES)[country]
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


def _strings(values: tuple[str, ...]) -> npt.NDArray[Any]:
    """``values`` as a numpy variable-width string array, for the vectorised ``np.strings`` ops."""
    return np.array(values, dtype=np.dtypes.StringDType())


def _pick(values: tuple[str, ...], n: int, rng: np.random.Generator) -> npt.NDArray[Any]:
    """``n`` of ``values`` drawn uniformly, as numpy strings."""
    return _strings(values)[rng.integers(0, len(values), n)]


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
