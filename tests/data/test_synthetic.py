"""The synthetic funnel: contract shape, a realistic funnel, and an exact conversion probability."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.data import synthetic
from predictive_scoring.data.load import load_lead_data
from predictive_scoring.data.synthetic import (
    COMPANY,
    COMPANY_SIZE,
    COUNTRY,
    EMAIL,
    EVENT_TYPES,
    GROWING_SOURCE,
    INDUSTRY,
    JOB_TITLE,
    LEAD_SOURCE,
    NEW_SOURCE,
    STATUS_WON,
    FunnelParams,
    SyntheticFunnel,
    canonical_job_title,
    generate_funnel,
)

N_LEADS = 2000
FREE_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com")
DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def funnel() -> SyntheticFunnel:
    return generate_funnel(N_LEADS, seed=7)


@pytest.fixture(scope="module")
def lifetimes(funnel: SyntheticFunnel) -> pd.DataFrame:
    """Per lead: created_at, converted_at (won only) and closed_at (won or lost)."""
    created = funnel.leads.set_index(schema.LEAD_ID)[schema.CREATED_AT]
    closes = funnel.outcomes.set_index(schema.LEAD_ID)
    return pd.DataFrame(
        {
            schema.CREATED_AT: created,
            schema.CONVERTED_AT: closes[schema.CONVERTED_AT].reindex(created.index),
            schema.CLOSED_AT: closes[schema.CLOSED_AT].reindex(created.index),
        }
    )


def converted(funnel: SyntheticFunnel) -> pd.Series:
    """Whether each lead (in leads order) converted within the history."""
    won = funnel.outcomes.loc[funnel.outcomes[schema.STATUS] == STATUS_WON, schema.LEAD_ID]
    return funnel.leads[schema.LEAD_ID].isin(won)


def corporate(emails: pd.Series) -> pd.Series:
    return ~emails.str.split("@").str[1].isin(FREE_DOMAINS)


# ---- determinism and contract ---------------------------------------------------------------------
def test_same_seed_gives_identical_tables_and_another_seed_does_not() -> None:
    first, again = generate_funnel(300, seed=3), generate_funnel(300, seed=3)
    for name, table in first.tables.items():
        pd.testing.assert_frame_equal(table, again.tables[name])
    other = generate_funnel(300, seed=4)
    assert not first.events.equals(other.events)


def test_tables_hold_their_contract_columns_with_the_right_types(funnel: SyntheticFunnel) -> None:
    for name, table in funnel.tables.items():
        assert set(schema.CONTRACTS[name].known) <= set(table.columns)
        for column in schema.CONTRACTS[name].timestamps:
            assert isinstance(table[column].dtype, pd.DatetimeTZDtype)
            assert str(table[column].dt.tz) == "UTC"
        assert pd.api.types.is_string_dtype(table[schema.LEAD_ID].dtype)
    assert pd.api.types.is_string_dtype(funnel.events[schema.EVENT_TYPE].dtype)
    assert pd.api.types.is_numeric_dtype(funnel.leads[COMPANY_SIZE].dtype)
    assert set(funnel.events[schema.EVENT_TYPE].unique()) == set(EVENT_TYPES)


def test_lead_ids_are_unique_and_leads_span_the_history(funnel: SyntheticFunnel) -> None:
    leads = funnel.leads
    assert len(leads) == N_LEADS and leads[schema.LEAD_ID].is_unique
    assert leads[schema.LEAD_ID].str.fullmatch(r"L\d{7}").all()
    created = leads[schema.CREATED_AT]
    start = funnel.params.start_timestamp
    assert created.is_monotonic_increasing
    assert created.min() >= start and created.max() < start + funnel.params.history_days * DAY
    weekend = created.dt.day_of_week >= 5
    assert weekend.mean() < 0.5 * 2 / 7  # fewer leads per weekend day than per weekday


def test_fit_columns_have_some_missing_values_but_pii_company_is_near_unique(
    funnel: SyntheticFunnel,
) -> None:
    missing = funnel.leads.isna().mean()
    for column, rate in FunnelParams().missing_rates.items():
        assert abs(missing[column] - rate) < 0.03, column
    assert missing[EMAIL] == 0.0
    assert funnel.leads[COMPANY].nunique() > 0.9 * N_LEADS


# ---- time consistency ------------------------------------------------------------------------------
def test_events_are_sorted_and_fall_within_each_leads_open_life(
    funnel: SyntheticFunnel, lifetimes: pd.DataFrame
) -> None:
    events = funnel.events
    assert events[schema.OCCURRED_AT].is_monotonic_increasing
    life = lifetimes.reindex(events[schema.LEAD_ID])
    occurred = events[schema.OCCURRED_AT].to_numpy()
    assert (occurred > life[schema.CREATED_AT].to_numpy()).all()
    closed = life[schema.CLOSED_AT].to_numpy()
    assert not (occurred >= closed).any()  # NaT compares False: open leads pass


def test_outcomes_are_consistent(funnel: SyntheticFunnel, lifetimes: pd.DataFrame) -> None:
    outcomes = funnel.outcomes
    assert outcomes[schema.LEAD_ID].is_unique
    assert set(outcomes[schema.STATUS]) == {STATUS_WON, schema.STATUS_LOST}
    won = outcomes[schema.STATUS] == STATUS_WON
    assert (outcomes.loc[won, schema.CONVERTED_AT] == outcomes.loc[won, schema.CLOSED_AT]).all()
    assert outcomes.loc[~won, schema.CONVERTED_AT].isna().all()
    assert outcomes[schema.CLOSED_AT].notna().all()
    created = lifetimes[schema.CREATED_AT].reindex(outcomes[schema.LEAD_ID]).dt.floor("D")
    closed = outcomes[schema.CLOSED_AT].dt.floor("D")
    assert (closed.to_numpy() > created.to_numpy()).all()  # never closed on its creation day
    assert (outcomes[schema.CLOSED_AT] != outcomes[schema.CLOSED_AT].dt.normalize()).all()


# ---- a realistic funnel ------------------------------------------------------------------------------
def test_funnel_rates_are_in_their_tuned_ranges(
    funnel: SyntheticFunnel, lifetimes: pd.DataFrame
) -> None:
    won = lifetimes.dropna(subset=[schema.CONVERTED_AT])
    days_to_convert = (won[schema.CONVERTED_AT] - won[schema.CREATED_AT]).dt.total_seconds() / 86400
    assert 0.08 <= len(won) / N_LEADS <= 0.15
    assert 20 <= days_to_convert.median() <= 40
    assert 17 <= len(funnel.events) / N_LEADS <= 23


def test_job_titles_are_messy_spellings_of_fewer_roles(funnel: SyntheticFunnel) -> None:
    titles = funnel.leads[JOB_TITLE]
    roles = canonical_job_title(titles)
    assert roles[titles.notna()].notna().all()
    assert roles[titles.isna()].isna().all()
    spellings = titles.groupby(roles).nunique()
    assert spellings["vp_marketing"] >= 4 and spellings["manager_marketing"] >= 4
    assert titles.nunique() >= 2.5 * roles.nunique()
    assert {"VP of Marketing", "vp marketing", "VP Mktg"} <= set(titles.dropna())
    assert len(set(synthetic._TITLES)) == len(synthetic._TITLES)  # a spelling names one role


def test_fit_drives_conversion(funnel: SyntheticFunnel) -> None:
    won = converted(funnel)
    is_corporate = corporate(funnel.leads[EMAIL])
    assert 0.3 < is_corporate.mean() < 0.8
    assert won[is_corporate].mean() > 1.4 * won[~is_corporate].mean()
    size = funnel.leads[COMPANY_SIZE]
    sweet_spot = won[size.between(51, 200)].mean()
    assert sweet_spot > 1.5 * won[size <= 10].mean()
    assert sweet_spot > 1.5 * won[size > 2000].mean()


def test_demo_requesters_convert_much_more(funnel: SyntheticFunnel) -> None:
    demo = funnel.events.loc[funnel.events[schema.EVENT_TYPE] == "demo_request", schema.LEAD_ID]
    requested = funnel.leads[schema.LEAD_ID].isin(demo)
    won = converted(funnel)
    assert 0.04 < requested.mean() < 0.2
    assert won[requested].mean() > 5 * won[~requested].mean()


def test_an_unsubscribe_lowers_later_email_activity(funnel: SyntheticFunnel) -> None:
    events = funnel.events
    unsubscribes = events[events[schema.EVENT_TYPE] == "unsubscribe"]
    unsubscribed_at = unsubscribes.groupby(schema.LEAD_ID)[schema.OCCURRED_AT].min()
    theirs = events[events[schema.LEAD_ID].isin(unsubscribed_at.index)]
    cutoff = unsubscribed_at.reindex(theirs[schema.LEAD_ID]).to_numpy()
    after = theirs[schema.OCCURRED_AT].to_numpy() > cutoff
    is_email = theirs[schema.EVENT_TYPE].isin(["email_open", "email_click"]).to_numpy()
    assert len(unsubscribed_at) > 20
    assert is_email[after].mean() < 0.3 * is_email[~after].mean()


# ---- the exact conversion probability ---------------------------------------------------------------
def open_at(lifetimes: pd.DataFrame, as_of: pd.Timestamp) -> pd.Index:
    created_before = lifetimes[schema.CREATED_AT] < as_of
    closed_before = lifetimes[schema.CLOSED_AT] < as_of
    return lifetimes.index[created_before & ~closed_before]


def test_true_probability_covers_exactly_the_open_leads(
    funnel: SyntheticFunnel, lifetimes: pd.DataFrame
) -> None:
    as_of = funnel.params.start_timestamp + 150 * DAY
    probability = funnel.true_probability(as_of, n_sims=50)
    assert probability.name == "true_probability"
    assert probability.index.name == schema.LEAD_ID
    assert set(probability.index) == set(open_at(lifetimes, as_of))
    assert probability.between(0.0, 1.0).all()
    assert probability.max() > 0.3 and probability.median() < 0.05
    pd.testing.assert_series_equal(probability, funnel.true_probability(as_of, n_sims=50))
    some = pd.Series([*probability.index[::7].tolist(), "not-a-lead"])
    subset = funnel.true_probability(as_of, n_sims=50, lead_ids=some)
    assert list(subset.index) == list(probability.index[::7])
    assert subset.between(0.0, 1.0).all()


def test_true_probability_matches_realised_conversions() -> None:
    """Pooled over as-of dates, realised conversions sit within 4 sigma of the predicted count."""
    funnel = generate_funnel(4000, seed=11)
    won = funnel.outcomes.set_index(schema.LEAD_ID)[schema.CONVERTED_AT]
    pooled = []
    for day in (90, 150, 210, 270, 330):  # from day 181 on, some open leads are stale
        as_of = funnel.params.start_timestamp + day * DAY
        probability = funnel.true_probability(as_of, horizon_days=30)
        converted_at = won.reindex(probability.index)
        realised = (converted_at > as_of) & (converted_at <= as_of + 30 * DAY)
        pooled.append(pd.DataFrame({"p": probability, "y": realised}))
    both = pd.concat(pooled)
    for group in (both[both.p < 0.1], both[both.p >= 0.1]):
        variance = (group.p * (1 - group.p)).sum() + (group.p * (1 - group.p)).sum() / 200
        assert abs(group.y.sum() - group.p.sum()) < 4 * np.sqrt(variance)
    assert both.y[both.p >= 0.1].mean() > 5 * both.y[both.p < 0.1].mean()


def test_true_probability_requires_a_midnight(funnel: SyntheticFunnel) -> None:
    with pytest.raises(ValueError, match="midnight"):
        funnel.true_probability("2025-06-01 12:00")
    naive = funnel.true_probability("2025-06-01", n_sims=5)
    aware = funnel.true_probability(pd.Timestamp("2025-06-01", tz="UTC"), n_sims=5)
    pd.testing.assert_series_equal(naive, aware)
    assert funnel.true_probability("2024-06-01", n_sims=5).empty


def test_the_state_at_a_midnight_is_rebuilt_exactly_from_the_tables() -> None:
    """What the simulator carried at its last midnight equals what the tables alone give.

    The drifting lead sources are in play (the new one from day 84); staleness, a function of
    ``created_day``, needs no state of its own.
    """
    params = FunnelParams(history_days=120)
    funnel = generate_funnel(1500, seed=5, params=params)
    rng = np.random.default_rng(5)
    leads = synthetic._draw_leads(1500, params, rng)
    dynamics = synthetic._Dynamics.compile(params)
    profile = synthetic._profile(leads, params)
    carried = synthetic._simulate_history(profile, dynamics, params.history_days, rng).open_at_end
    positions, rebuilt = synthetic._population_at(funnel._observed, params.history_days, dynamics)
    order = np.argsort(carried.row)
    np.testing.assert_array_equal(carried.row[order], positions)
    assert {GROWING_SOURCE, NEW_SOURCE} <= set(leads[LEAD_SOURCE].dropna())
    exact = ("fit_conversion", "fit_engagement", "created_day", "created_us", "last_active_day")
    for field in (*exact, "unsubscribed"):
        np.testing.assert_array_equal(getattr(carried, field)[order], getattr(rebuilt, field))
    for field in ("decayed", "recent"):
        np.testing.assert_allclose(
            getattr(carried, field)[order], getattr(rebuilt, field), rtol=1e-4, atol=1e-5
        )


# ---- the habits of real funnels ------------------------------------------------------------------
LARGE = 20_000


@pytest.fixture(scope="module")
def large() -> SyntheticFunnel:
    """Enough leads for shares by quarter and conversion rates of small groups."""
    return generate_funnel(LARGE, seed=0)


def age_days(funnel: SyntheticFunnel, lead_ids: pd.Index, as_of: pd.Timestamp) -> pd.Series:
    created = funnel.leads.set_index(schema.LEAD_ID)[schema.CREATED_AT].reindex(lead_ids)
    return (as_of - created) / DAY


def test_stale_leads_almost_never_convert(large: SyntheticFunnel) -> None:
    """Past ``stale_after_days`` (+ the ramp) conversion stops, in the truth and in the data."""
    as_of = large.params.start_timestamp + 300 * DAY
    lives = open_at(lifetimes_of(large), as_of)
    age = age_days(large, lives, as_of)
    wanted = lives[(age >= 150).to_numpy() | (np.arange(len(lives)) % 4 == 0)]
    probability = large.true_probability(as_of, lead_ids=pd.Series(wanted))
    age = age_days(large, probability.index, as_of)
    fresh, stale = probability[age < 150], probability[age >= 180]
    assert len(fresh) > 1000 and len(stale) > 1000
    assert stale.mean() < 0.02 * fresh.mean() and probability[age >= 220].max() < 0.05
    converted_at = large.outcomes.set_index(schema.LEAD_ID)[schema.CONVERTED_AT]
    won = converted_at.reindex(stale.index)
    assert ((won > as_of) & (won <= as_of + 30 * DAY)).sum() <= 3
    # Over the whole history: a handful convert past 200 days with staleness, many without it.
    fresh_forever = generate_funnel(LARGE, seed=0, params=FunnelParams(stale_effect=0.0))
    late = [converted_after_age(f, 200) for f in (large, fresh_forever)]
    assert late[0] <= 5 and late[1] >= 15


def lifetimes_of(funnel: SyntheticFunnel) -> pd.DataFrame:
    created = funnel.leads.set_index(schema.LEAD_ID)[schema.CREATED_AT]
    closed = funnel.outcomes.set_index(schema.LEAD_ID)[schema.CLOSED_AT].reindex(created.index)
    return pd.DataFrame({schema.CREATED_AT: created, schema.CLOSED_AT: closed})


def converted_after_age(funnel: SyntheticFunnel, days: float) -> int:
    """How many leads converted ``days`` or more after they were created."""
    won = funnel.outcomes[funnel.outcomes[schema.STATUS] == STATUS_WON].set_index(schema.LEAD_ID)
    created = funnel.leads.set_index(schema.LEAD_ID)[schema.CREATED_AT].reindex(won.index)
    return int(((won[schema.CONVERTED_AT] - created) / DAY >= days).sum())


def test_the_lead_mix_drifts_and_a_new_source_appears(large: SyntheticFunnel) -> None:
    params = large.params
    day = (large.leads[schema.CREATED_AT] - params.start_timestamp) // DAY
    quarter = (day * 4 // params.history_days).to_numpy()
    source = large.leads[LEAD_SOURCE]
    growing = (source == GROWING_SOURCE).groupby(quarter).mean()
    assert growing.is_monotonic_increasing and growing[0] < 0.1 and growing[3] > 0.25
    new = source == NEW_SOURCE
    first_day = int(np.ceil(params.new_source_start * (params.history_days - 1)))
    assert not new[day < first_day].any()
    assert 0.1 < new[day >= first_day].mean() < 0.2
    won = converted(large)
    assert won[new].mean() > 1.5 * won.mean()
    assert won[source == GROWING_SOURCE].mean() < 0.6 * won.mean()
    steady = generate_funnel(
        2000, seed=0, params=FunnelParams(growing_source_shares=(0.0, 0.0), new_source_share=0.0)
    )
    assert not steady.leads[LEAD_SOURCE].isin([GROWING_SOURCE, NEW_SOURCE]).any()


def next_day_lift(funnel: SyntheticFunnel) -> float:
    """P(active tomorrow | active today) / P(active tomorrow | idle today), at ages 1 to 60 days.

    Above 1 when activity clusters in time (bursts, then silence); fit and age differences between
    leads alone give about 1.5.
    """
    start, ids = funnel.params.start_timestamp, pd.Index(funnel.leads[schema.LEAD_ID])
    created = ((funnel.leads[schema.CREATED_AT] - start) // DAY).to_numpy()
    closed = funnel.outcomes.set_index(schema.LEAD_ID)[schema.CLOSED_AT].reindex(ids)
    end = ((closed - start) // DAY).fillna(funnel.params.history_days).to_numpy(np.int64)
    last = np.minimum(end - 1, created + 60)  # the last whole open day counted
    lead = ids.get_indexer(funnel.events[schema.LEAD_ID]).astype(np.int64)
    active = np.unique(lead * 1000 + ((funnel.events[schema.OCCURRED_AT] - start) // DAY))
    row, day = active // 1000, active % 1000
    today = (day > created[row]) & (day < last[row])
    tomorrow = (day > created[row] + 1) & (day <= last[row])
    both = today & np.isin(active + 1, active)
    pairs = np.maximum(last - created - 1, 0).sum()
    after_active = both.sum() / today.sum()
    after_idle = (tomorrow.sum() - both.sum()) / (pairs - today.sum())
    return float(after_active / after_idle)


def test_activity_comes_in_bursts(large: SyntheticFunnel) -> None:
    calm = generate_funnel(5000, seed=0, params=FunnelParams(excitation=0.0))
    assert next_day_lift(large) > 3.0
    assert next_day_lift(calm) < 2.0


def test_without_loss_rates_no_lead_is_closed_lost() -> None:
    params = FunnelParams(loss_rate=0.0, loss_inactive_rate=0.0)
    funnel = generate_funnel(1000, seed=2, params=params)
    assert set(funnel.outcomes[schema.STATUS]) == {STATUS_WON}
    as_of = params.start_timestamp + 200 * DAY
    probability = funnel.true_probability(as_of, n_sims=5)
    assert set(probability.index) == set(open_at(lifetimes_of(funnel), as_of))


# ---- messy exports -------------------------------------------------------------------------------
MESSY_LEADS = 1500


@pytest.fixture(scope="module")
def messy() -> SyntheticFunnel:
    return generate_funnel(MESSY_LEADS, seed=2, messy=True)


def test_a_messy_export_has_what_crm_exports_have(messy: SyntheticFunnel) -> None:
    clean = generate_funnel(MESSY_LEADS, seed=2)
    for name, table in clean.tables.items():
        pd.testing.assert_frame_equal(messy.clean_tables[name], table)
    as_of = clean.params.start_timestamp + 200 * DAY
    pd.testing.assert_series_equal(
        messy.true_probability(as_of, n_sims=10), clean.true_probability(as_of, n_sims=10)
    )
    events = messy.events
    assert 0.01 < events.duplicated().sum() / len(clean.events) < 0.02
    assert (
        0 < (~events[schema.LEAD_ID].isin(messy.leads[schema.LEAD_ID])).sum() < 0.01 * len(events)
    )
    parsed = pd.to_datetime(events[schema.OCCURRED_AT], utc=True, format="ISO8601", errors="coerce")
    assert 0 < parsed.isna().sum() < 0.005 * len(events)
    industry = messy.leads[INDUSTRY].dropna()
    assert {"SOFTWARE", "software"} <= set(industry)
    assert (industry != industry.str.strip()).any()
    markers = set(load_config().data.missing_markers)
    written = set(industry) - set(clean.leads[INDUSTRY].dropna())
    assert {"N/A", "Select", ""} <= written
    spellings = {v.casefold() for v in clean.leads[INDUSTRY].dropna()}
    assert {v for v in written if v.strip().casefold() not in spellings} <= markers


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_validation_gives_the_clean_funnel_back_from_a_messy_export(
    messy: SyntheticFunnel, tmp_path: Path, fmt: str
) -> None:
    """Bad rows are quarantined and spellings normalised: the same leads, events and outcomes.

    What differs, exactly: validation trims text and reads missing markers as missing, but keeps
    the case of category values, so ``SOFTWARE`` stays ``SOFTWARE``: the leads match up to case.
    """
    clean = generate_funnel(MESSY_LEADS, seed=2)
    clean.write(tmp_path / "clean", fmt=fmt)  # type: ignore[arg-type]
    messy.write(tmp_path / "messy", fmt=fmt)  # type: ignore[arg-type]
    now = pd.Timestamp("2026-06-01", tz="UTC")
    ours = load_lead_data(
        str(tmp_path / "clean"), load_config(), quarantine_dir=tmp_path / "qc", now=now
    )
    theirs = load_lead_data(
        str(tmp_path / "messy"), load_config(), quarantine_dir=tmp_path / "q", now=now
    )
    assert all(table.quarantined == 0 for table in ours.report.tables.values())
    report = theirs.report.tables[schema.EVENTS]
    assert report.quarantined == len(messy.events) - len(clean.events)
    assert set(report.reasons) == {
        "unknown lead_id",
        "duplicate event (first row kept)",
        "occurred_at missing or not a timestamp",
    }
    assert theirs.report.tables[schema.LEADS].quarantined == 0
    pd.testing.assert_frame_equal(theirs.data.events, ours.data.events)
    pd.testing.assert_frame_equal(theirs.data.outcomes, ours.data.outcomes)
    pd.testing.assert_frame_equal(casefolded(theirs.data.leads), casefolded(ours.data.leads))
    differs = theirs.data.leads.ne(ours.data.leads) & ours.data.leads.notna()
    assert set(differs.columns[differs.any()]) == {INDUSTRY, COUNTRY, LEAD_SOURCE}


def casefolded(leads: pd.DataFrame) -> pd.DataFrame:
    """The text fit columns in lower case."""
    text = [
        c for c in leads.columns if c != schema.LEAD_ID and pd.api.types.is_string_dtype(leads[c])
    ]
    return leads.assign(**{c: leads[c].str.casefold() for c in text})


# ---- files and parameters -----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_write_round_trips(tmp_path: Path, fmt: str) -> None:
    funnel = generate_funnel(200, seed=1)
    funnel.write(tmp_path, fmt=fmt)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{t}.{fmt}" for t in schema.TABLES)
    for name, table in funnel.tables.items():
        path = tmp_path / f"{name}.{fmt}"
        back = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path)
        assert list(back.columns) == list(table.columns) and len(back) == len(table)
        for column in schema.CONTRACTS[name].timestamps:
            parsed = pd.to_datetime(back[column], utc=True, format="ISO8601")
            assert (parsed.dropna().to_numpy() == table[column].dropna().to_numpy()).all()


def test_invalid_inputs_are_rejected(funnel: SyntheticFunnel) -> None:
    with pytest.raises(ValueError, match="midnight"):
        FunnelParams(start="2025-01-01 06:00")
    with pytest.raises(ValueError, match="event_mix"):
        FunnelParams(event_mix={"page_view": 1.0})
    with pytest.raises(ValueError, match="missing_rates"):
        FunnelParams(missing_rates={"lead_score": 0.1})
    with pytest.raises(ValueError, match="stale"):
        FunnelParams(stale_ramp_days=-1.0)
    with pytest.raises(ValueError, match="growing_source_shares"):
        FunnelParams(growing_source_shares=(0.1, 1.2))
    with pytest.raises(ValueError, match="must not exceed 1"):
        FunnelParams(growing_source_shares=(0.5, 0.9), new_source_share=0.2)
    with pytest.raises(ValueError, match="n_leads"):
        generate_funnel(0)
    with pytest.raises(ValueError, match="fmt"):
        funnel.write(Path("unused"), fmt="xlsx")  # type: ignore[arg-type]
