"""The training job end to end on small generated data: honest windows, baselines, selection."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.data.load import load_lead_data
from predictive_scoring.data.synthetic import generate_funnel
from predictive_scoring.data.tables import LeadData
from predictive_scoring.errors import DataError
from predictive_scoring.evaluation import evaluate
from predictive_scoring.training import (
    CRM_BAYES,
    POINTS,
    TrainingResult,
    labelled_rows,
    train_models,
)
from tests.conftest import Funnels

AS_OF = pd.Timestamp("2026-01-01", tz="UTC")


N_LEADS, SEED = 3000, 5  # a funnel where the booster is served


@pytest.fixture(scope="module")
def data(funnels: Funnels) -> LeadData:
    return funnels.data(N_LEADS, SEED)


@pytest.fixture(scope="module")
def trained(funnels: Funnels) -> TrainingResult:
    return funnels.trained(N_LEADS, SEED, AS_OF)


def test_every_candidate_and_both_baselines_are_compared_on_the_test_window(
    trained: TrainingResult,
) -> None:
    assert set(trained.evaluations) == {POINTS, CRM_BAYES, "lightgbm", "logistic"}
    assert trained.window_sizes["test"] == len(trained.test_labels) == len(trained.test_rows)
    for name, evaluation in trained.evaluations.items():
        again = evaluate(name, trained.test_labels, trained.test_predictions[name], seed=0)
        assert again == evaluation, f"{name}'s figures are its predictions on the test window"


def test_windows_are_ordered_in_time_and_purged(trained: TrainingResult) -> None:
    bounds = trained.window_bounds
    assert bounds is not None
    horizon = pd.Timedelta(days=trained.horizon_days)
    assert pd.Timestamp(bounds["train"][1]) + horizon <= pd.Timestamp(bounds["calibrate"][0])
    assert pd.Timestamp(bounds["calibrate"][1]) + horizon <= pd.Timestamp(bounds["test"][0])
    assert pd.Timestamp(bounds["test"][1]) + horizon <= AS_OF


def test_served_model_beats_the_points_baseline_on_the_test_window(trained: TrainingResult) -> None:
    served = trained.evaluations[trained.served].metrics
    baseline = trained.evaluations[POINTS].metrics
    assert trained.served in ("lightgbm", "logistic")
    assert served["log_loss"] < baseline["log_loss"]
    assert served["roc_auc"] > 0.75


def test_points_scorecard_is_a_readable_table(trained: TrainingResult) -> None:
    table = trained.scorecard
    assert list(table.columns) == [
        "kind",
        "attribute",
        "value",
        "points",
        "support",
        "conversion_rate",
    ]
    behaviours = table[table["kind"] == "behaviour"].set_index("attribute")["points"]
    assert behaviours["demo_request"] > behaviours["page_view"], "a demo is worth more than a visit"
    assert behaviours["demo_request"] > 0


def test_half_life_comes_from_the_data(trained: TrainingResult) -> None:
    says = trained.data_says
    assert says["median_days_to_conversion"] is not None
    suggested = says["suggested_half_life_days"]
    used = says["used_half_life_days"]
    assert suggested == pytest.approx(says["median_days_to_conversion"] / 2)  # type: ignore[operator]
    assert used == min(trained.spec.half_lives_days, key=lambda h: abs(h - suggested))  # type: ignore[operator]


def test_training_is_deterministic(data: LeadData, trained: TrainingResult) -> None:
    again = train_models(data, load_config(), AS_OF)
    for name, evaluation in trained.evaluations.items():
        assert again.evaluations[name].metrics == evaluation.metrics
    assert again.serving is not None and trained.serving is not None
    np.testing.assert_array_equal(
        again.serving.probability_quantiles, trained.serving.probability_quantiles
    )


def test_leaky_column_is_flagged_and_excluded(tmp_path: Path) -> None:
    funnel = generate_funnel(n_leads=3000, seed=4)
    leads = funnel.leads.copy()
    won = set(funnel.outcomes.loc[funnel.outcomes[schema.CONVERTED_AT].notna(), schema.LEAD_ID])
    leads["deal_stage"] = np.where(leads[schema.LEAD_ID].isin(won), "closed won", None)
    folder = tmp_path / "leaky"
    folder.mkdir()
    leads.to_parquet(folder / "leads.parquet")
    funnel.events.to_parquet(folder / "events.parquet")
    funnel.outcomes.to_parquet(folder / "outcomes.parquet")
    config = load_config()
    data = load_lead_data(
        str(folder), config, require_labels=True, quarantine_dir=folder / "q"
    ).data
    result = train_models(data, config, AS_OF)
    assert [f.column for f in result.leakage] == ["deal_stage"]
    assert "deal_stage" in result.excluded_columns
    assert not any(f.field == "deal_stage" for f in result.spec.features)


def _fit_features_per_tree(model: object, fit_names: list[str]) -> list[set[str]]:
    """The fit features each tree splits on (LightGBM's own names for them)."""
    booster, columns = model.estimator_.calibrated_model(), model.columns  # type: ignore[attr-defined]
    own_names = booster.booster_.feature_name()
    fit = {own_names[i] for i, name in enumerate(columns) if name in fit_names}
    trees = booster.booster_.trees_to_dataframe().dropna(subset=["split_feature"])
    return [set(features) & fit for _, features in trees.groupby("tree_index")["split_feature"]]


def test_booster_structure_is_the_lower_stopping_loss_of_the_two(
    funnels: Funnels, trained: TrainingResult
) -> None:
    from predictive_scoring.training import booster_features

    fit_names = booster_features(trained.spec)[0]
    losses = {}
    for interacting in (True, False):
        overrides = {"models.lightgbm.fit_interactions": interacting}
        forced = funnels.trained(N_LEADS, SEED, AS_OF, overrides)
        assert forced.booster_structure["fit_interactions"] is interacting
        assert forced.booster_structure["chosen_by"] == "configuration"
        per_tree = _fit_features_per_tree(forced.models["lightgbm"], fit_names)
        widest = max(len(features) for features in per_tree)
        assert widest == 1 if not interacting else widest > 1
        (losses[interacting],) = forced.booster_structure["early_stopping_log_loss"].values()
    structure = trained.booster_structure
    assert structure["chosen_by"] == "early-stopping log loss"
    assert structure["early_stopping_log_loss"] == {
        "interacting": losses[True],
        "additive": losses[False],
    }
    assert losses[structure["fit_interactions"]] == min(losses.values())
    assert (
        structure["trees"]
        == trained.models["lightgbm"].estimator_.calibrated_model().booster_.num_trees()
    )


def test_entry_rows_train_and_calibrate_but_the_test_window_is_the_grid(
    trained: TrainingResult,
) -> None:
    assert not trained.test_rows[schema.ENTRY].any()
    assert (trained.test_rows[schema.REFERENCE_WEIGHT] >= 1).all(), (
        "thinning weights reach the reference"
    )
    assert trained.test_rows[schema.SNAPSHOT_AT].nunique() >= 2
    assert trained.reference_features.index.is_monotonic_increasing


def test_score_reference_draws_by_weight_and_never_entry_rows() -> None:
    from predictive_scoring.models.windows import Windows
    from predictive_scoring.training import TrainingSet, _reference_rows

    n, third = 6000, 2000
    rows = pd.DataFrame(
        {
            schema.LEAD_ID: [f"L{i}" for i in range(n)],
            schema.SNAPSHOT_AT: pd.Timestamp("2025-01-01", tz="UTC"),
            schema.REFERENCE_WEIGHT: np.repeat([0.0, 1.0, 3.0], third),
            schema.ENTRY: np.arange(n) < third,
        }
    )
    everywhere = np.ones(n, dtype=bool)
    windows = Windows(everywhere, np.zeros(n, dtype=bool), np.zeros(n, dtype=bool))
    training = TrainingSet(rows, pd.DataFrame(index=rows.index), np.zeros(n), windows)
    drawn = _reference_rows(training, seed=0)  # one draw per pooled row (6,000)
    assert (drawn >= third).all(), "entry rows stand for no open-lead rows"
    heavy = (drawn >= 2 * third).mean()
    assert heavy == pytest.approx(0.75, abs=0.02), "a weight-3 row counts three times"


def _young(data: LeadData, first_win: pd.Timestamp) -> LeadData:
    """``data`` as if the funnel had won nothing before ``first_win``."""
    outcomes = data.outcomes
    early = outcomes[schema.CONVERTED_AT] < first_win
    return replace(data, outcomes=outcomes.loc[~early].reset_index(drop=True))


def test_a_young_funnel_is_compared_on_held_out_leads_and_still_served(
    data: LeadData, caplog: pytest.LogCaptureFixture
) -> None:
    young = _young(data, AS_OF - pd.Timedelta(days=80))
    result = train_models(young, load_config(), AS_OF)
    assert result.evaluation["plan"] == "held-out leads"
    assert "has no conversions" in result.evaluation["why"]
    assert "held-out leads of the same period instead" in caplog.text
    assert result.window_bounds is None
    assert result.served == "lightgbm" and result.serving is not None
    assert result.refit["rows"] == len(labelled_rows(young, load_config(), AS_OF)[1])


def test_a_funnel_with_almost_no_labelled_conversion_is_unusable(data: LeadData) -> None:
    converted = data.outcomes[schema.CONVERTED_AT].notna()
    two = data.outcomes[~converted | (converted.cumsum() <= 2)].reset_index(drop=True)
    with pytest.raises(DataError, match=r"only \d conversions are labelled before T - H"):
        train_models(replace(data, outcomes=two), load_config(), AS_OF)


def test_the_served_model_is_refit_on_every_labelled_row(
    data: LeadData, trained: TrainingResult
) -> None:
    from predictive_scoring.training import refit_rounds

    refit = trained.refit
    _, y = labelled_rows(data, load_config(), AS_OF)
    assert refit["rows"] == len(y) > sum(trained.window_sizes.values()), "purged rows too"
    assert refit["positives"] == int(y.sum())
    stopped = trained.models["lightgbm"].estimator_.calibrated_model()
    scaled = refit_rounds(stopped, trained.window_sizes["train"], len(y))
    cap = load_config().models.lightgbm.n_estimators
    assert refit["rounds"] == min(cap, scaled), "the window's rounds scaled by the rows, capped"
    assert trained.booster_structure["rounds_for_every_row"] == refit["rounds"]
    assert refit["trees"] == refit["rounds"], "fixed rounds: no early stopping on every row"
    assert "time-ordered folds" in refit["calibrated_on"]
    assert 0 < refit["calibration_rows"] < refit["rows"]
    assert trained.serving is not None
    assert trained.serving.model.estimator_.trees() == refit["trees"]
