"""Batch scoring: contract columns, time semantics, sub-score properties, reasons, safe writes."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.data.tables import LeadData
from predictive_scoring.evaluation import METRICS
from predictive_scoring.features.snapshots import scoring_rows
from predictive_scoring.features.spec import build_features
from predictive_scoring.scoring import ServedModel, champion_bout, score_leads, shared_rows_bout
from predictive_scoring.timeline import open_leads_at
from tests.conftest import Funnels
from tests.features.helpers import THREADS, truncated

T = pd.Timestamp("2025-12-31", tz="UTC")
CONFIG = load_config()


@pytest.fixture(scope="module")
def setup(funnels: Funnels) -> tuple[LeadData, ServedModel]:
    result = funnels.trained(6000, 5, T)
    assert result.serving is not None and result.served == "lightgbm"
    return funnels.data(6000, 5), result.serving


def _score(data: LeadData, served: ServedModel, at: pd.Timestamp) -> pd.DataFrame:
    return pd.concat(list(score_leads(data, served, at, CONFIG.scoring, 2)), ignore_index=True)


def test_one_row_per_open_lead_with_contract_columns(setup: tuple[LeadData, ServedModel]) -> None:
    data, served = setup
    scores = _score(data, served, T)
    assert list(scores.columns) == list(schema.SCORE_COLUMNS)
    assert sorted(scores[schema.LEAD_ID]) == sorted(open_leads_at(data, T))
    assert scores[schema.LEAD_ID].is_unique
    assert scores[schema.PROBABILITY].between(0, 1).all()
    for column in (schema.SCORE, schema.FIT_SCORE, schema.INTENT_SCORE):
        assert (
            pd.api.types.is_integer_dtype(scores[column]) and scores[column].between(0, 100).all()
        )
    assert set(scores[schema.TIER]) <= set(schema.TIERS)
    assert scores[schema.IS_MQL].dtype == bool
    assert (scores[schema.AS_OF] == T).all()


def test_score_is_monotone_in_probability_and_tiers_follow_thresholds(
    setup: tuple[LeadData, ServedModel],
) -> None:
    data, served = setup
    scores = _score(data, served, T).sort_values(schema.PROBABILITY)
    assert (np.diff(scores[schema.SCORE].to_numpy()) >= 0).all()
    hot = scores[schema.SCORE] >= CONFIG.scoring.tiers.hot
    assert (scores.loc[hot, schema.TIER] == "hot").all()
    assert (scores[schema.IS_MQL] == (scores[schema.SCORE] >= CONFIG.scoring.mql.score)).all()


def test_full_history_and_history_truncated_at_t_give_identical_scores(
    setup: tuple[LeadData, ServedModel],
) -> None:
    data, served = setup
    pd.testing.assert_frame_equal(_score(data, served, T), _score(truncated(data, T), served, T))


def test_a_capacity_over_no_open_lead_gives_no_rows(setup: tuple[LeadData, ServedModel]) -> None:
    from predictive_scoring.data.segments import subset

    data, served = setup
    capped = CONFIG.scoring.model_copy(
        update={"mql": CONFIG.scoring.mql.model_copy(update={"capacity": 5})}
    )
    assert list(score_leads(subset(data, []), served, T, capped, THREADS)) == []


def test_shap_values_add_up_to_the_booster_margin(setup: tuple[LeadData, ServedModel]) -> None:
    data, served = setup
    rows = scoring_rows(data, T).head(300)
    X = build_features(data, rows, served.spec, THREADS)[served.feature_names]
    contributions, base = served.contributions(X)
    booster = served.model.estimator_.calibrated_model()
    margin = booster.predict(X[served.model.columns], raw_score=True)
    np.testing.assert_allclose(base + contributions.sum(axis=1), margin, atol=1e-9)


def test_one_pass_gives_the_served_model_s_own_probabilities_and_explanation(
    setup: tuple[LeadData, ServedModel],
) -> None:
    """Scoring walks the booster once (``ServedModel.scored``): the probabilities are what the
    served model predicts, to the last bit, and the contributions what it explains."""
    data, served = setup
    rows = scoring_rows(data, T).head(700)
    X = build_features(data, rows, served.spec, THREADS)
    probability, contributions = served.scored(X)
    np.testing.assert_array_equal(probability, served.probabilities(X))
    np.testing.assert_array_equal(contributions, served.contributions(X)[0])
    assert served.model.estimator_.calibrated_model().booster_.num_trees() > 1


def test_fit_score_is_unchanged_by_events(setup: tuple[LeadData, ServedModel]) -> None:
    data, served = setup
    silent = LeadData(data.leads, data.events.iloc[0:0], data.outcomes, flat=False)
    with_events = _score(data, served, T).set_index(schema.LEAD_ID)
    without = _score(silent, served, T).set_index(schema.LEAD_ID)
    pd.testing.assert_series_equal(with_events[schema.FIT_SCORE], without[schema.FIT_SCORE])
    assert (with_events[schema.INTENT_SCORE] != without[schema.INTENT_SCORE]).any()


def test_intent_score_never_rises_without_new_events(setup: tuple[LeadData, ServedModel]) -> None:
    data, served = setup
    quiet = LeadData(
        data.leads, data.events[data.events[schema.OCCURRED_AT] < T], data.outcomes, False
    )
    later = T + pd.Timedelta(days=20)
    before = _score(quiet, served, T).set_index(schema.LEAD_ID)
    after = _score(quiet, served, later).set_index(schema.LEAD_ID)
    unsubscribed = set(
        quiet.events.loc[quiet.events[schema.EVENT_TYPE] == "unsubscribe", schema.LEAD_ID]
    )
    both = before.index.intersection(after.index).difference(list(unsubscribed))
    assert len(both) > 100
    assert (after.loc[both, schema.INTENT_SCORE] <= before.loc[both, schema.INTENT_SCORE]).all()
    pd.testing.assert_series_equal(
        after.loc[both, schema.FIT_SCORE], before.loc[both, schema.FIT_SCORE]
    )


def test_reasons_are_top_k_by_absolute_impact_with_plain_text(
    setup: tuple[LeadData, ServedModel],
) -> None:
    data, served = setup
    scores = _score(data, served, T)
    parsed = scores[schema.REASONS].map(json.loads)
    assert parsed.map(len).max() == CONFIG.scoring.top_reasons
    for reasons in parsed.head(200):
        impacts = [abs(r["impact"]) for r in reasons]
        assert impacts == sorted(impacts, reverse=True)
        assert all(set(r) == {"feature", "value", "impact", "text"} and r["text"] for r in reasons)
    signs = {np.sign(r["impact"]) for reasons in parsed for r in reasons}
    assert signs == {-1.0, 1.0}
    hottest = parsed[scores[schema.SCORE].idxmax()]
    assert any(
        r["text"].startswith(("Requested a demo", "Viewed pricing", "Signed up")) for r in hottest
    )


def test_leads_past_the_age_leads_stop_converting_at_score_below_identical_younger_ones(
    setup: tuple[LeadData, ServedModel],
) -> None:
    """The demo funnel's leads stop converting after 180 days (``stale_after_days``): the served
    model, refit on every labelled snapshot, has seen such old leads and learned it."""
    data, served = setup
    leads = data.leads
    age = (T - leads[schema.CREATED_AT]).dt.days
    active = set(data.events.loc[data.events[schema.OCCURRED_AT] < T, schema.LEAD_ID])
    young = leads[(age < 100) & leads[schema.LEAD_ID].isin(active)]
    young = young[young[schema.LEAD_ID].isin(open_leads_at(data, T))]
    assert len(young) > 200
    old = young.assign(
        **{
            schema.LEAD_ID: "old-" + young[schema.LEAD_ID],
            schema.CREATED_AT: young[schema.CREATED_AT] - pd.Timedelta(days=300),
        }
    )
    events = data.events[data.events[schema.LEAD_ID].isin(young[schema.LEAD_ID])]
    twins = LeadData(
        pd.concat([young, old], ignore_index=True),
        pd.concat(
            [events, events.assign(**{schema.LEAD_ID: "old-" + events[schema.LEAD_ID]})],
            ignore_index=True,
        ),
        data.outcomes.iloc[0:0],
        flat=False,
    )
    scores = _score(twins, served, T).set_index(schema.LEAD_ID)
    p_young = scores.loc[young[schema.LEAD_ID], schema.PROBABILITY].to_numpy()
    p_old = scores.loc[old[schema.LEAD_ID], schema.PROBABILITY].to_numpy()
    assert (p_old <= p_young + 1e-9).all(), "age only ever cools a lead (monotone)"
    assert p_old.mean() < 0.3 * p_young.mean(), (p_old.mean(), p_young.mean())
    fit_young = scores.loc[young[schema.LEAD_ID], schema.FIT_SCORE].to_numpy()
    assert (scores.loc[old[schema.LEAD_ID], schema.FIT_SCORE].to_numpy() == fit_young).all()


def test_the_champion_is_judged_on_rows_whose_outcomes_neither_model_learned(
    funnels: Funnels,
) -> None:
    """A served model has learned every outcome before its as-of: it meets the challenger's
    window fit on the test rows from then on, or, when those are too few, served meets served
    on the rows whose outcomes both learned."""
    result = funnels.trained(6000, 5, T)
    data, served = funnels.data(6000, 5), result.serving
    assert served is not None and served.labels_until == T
    rows, y, fit = result.test_rows, result.test_labels, result.models[result.served]
    times = np.sort(rows[schema.SNAPSHOT_AT].unique())

    older = champion_bout(replace(served, labels_until=times[0]), served, fit, data, rows, y, 30, 2)
    assert older.basis.startswith(f"on the {len(y):,} test rows from ")
    assert older.challenger == pytest.approx(result.evaluations[result.served].metrics["log_loss"])

    middle = pd.Timestamp(times[len(times) // 2])
    later = (rows[schema.SNAPSHOT_AT] >= middle).to_numpy()
    halfway = champion_bout(replace(served, labels_until=middle), served, fit, data, rows, y, 30, 2)
    assert halfway.basis.startswith(f"on the {int(later.sum()):,} test rows from {middle:%Y-%m-%d}")
    assert halfway.champion == pytest.approx(
        METRICS["log_loss"](y[later], _probabilities(served, data, rows[later]))
    )

    recent = champion_bout(served, served, fit, data, rows, y, 30, 2)
    assert recent.basis.startswith(
        f"served against served on the {len(y):,} test rows whose outcomes both had learned"
    ), "trained as of T, it learned every test row's outcome (s + H <= T)"
    assert recent.challenger == recent.champion, "the same served model on the same rows"

    cut = pd.Timestamp(times[-1]) + pd.Timedelta(days=1)
    known = (rows[schema.SNAPSHOT_AT] + pd.Timedelta(days=30) <= cut).to_numpy()
    assert 0 < known.sum() < len(y)
    yesterday = champion_bout(replace(served, labels_until=cut), served, fit, data, rows, y, 30, 2)
    assert yesterday.basis.startswith(f"served against served on the {int(known.sum()):,} ")
    assert yesterday.champion == pytest.approx(
        METRICS["log_loss"](y[known], _probabilities(served, data, rows[known]))
    ), "only the rows whose outcomes the champion had learned"

    legacy = champion_bout(replace(served, labels_until=None), served, fit, data, rows, y, 30, 2)
    assert legacy.basis == "on this window"
    assert legacy.challenger == older.challenger


def _probabilities(served: ServedModel, data: LeadData, rows: pd.DataFrame) -> np.ndarray:
    return served.probabilities(build_features(data, rows, served.spec, THREADS))


def test_two_window_fits_meet_on_the_test_rows_both_hold_by_lead_and_snapshot() -> None:
    day = pd.Timestamp("2025-06-01", tz="UTC")
    rows = pd.DataFrame(
        {
            schema.LEAD_ID: ["a", "b", "c", "a"],
            schema.SNAPSHOT_AT: [day, day, day, day + pd.Timedelta(days=14)],
        }
    )
    labels = np.array([1, 0, 0, 1])
    mine = np.array([0.8, 0.1, 0.3, 0.6])
    # the other window holds b, c and a's first snapshot (in another order) and a lead of its own
    other_rows = pd.DataFrame(
        {schema.LEAD_ID: ["z", "c", "a", "b"], schema.SNAPSHOT_AT: [day, day, day, day]}
    )
    theirs = np.array([0.5, 0.4, 0.5, 0.2])
    bout = shared_rows_bout(rows, labels, mine, other_rows, theirs, "the global model")
    y = np.array([1, 0, 0])
    assert bout.conversions == 1
    assert bout.challenger == pytest.approx(METRICS["log_loss"](y, np.array([0.8, 0.1, 0.3])))
    assert bout.champion == pytest.approx(METRICS["log_loss"](y, np.array([0.5, 0.2, 0.4])))
    assert bout.basis == "on the 3 test rows (1 conversions) it shares with the global model"
    alone = shared_rows_bout(
        rows, labels, mine, other_rows.iloc[:1], theirs[:1], "the global model"
    )
    assert alone.conversions == 0 and np.isnan(alone.challenger)
