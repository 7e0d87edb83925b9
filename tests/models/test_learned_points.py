"""Learned points as a rules file (CONTRACT section 7): ``points_rules.yaml`` read back and scored
gives the points baseline's points, lead by lead, at any time and on values it never saw."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.data.tables import LeadData
from predictive_scoring.features.fit import MISSING, OTHER, encode_categories
from predictive_scoring.features.snapshots import scoring_rows
from predictive_scoring.features.spec import FeatureInfo, FeatureSpec, build_features, model_matrix
from predictive_scoring.models.learned_points import _float32_cut, learned_rules, rules_yaml
from predictive_scoring.models.points_rules import read_rules, rule_points
from predictive_scoring.models.rules import PointsScorecard
from predictive_scoring.training import POINTS, TrainingResult, baseline_columns
from tests.conftest import Funnels

AS_OF = pd.Timestamp("2026-01-01", tz="UTC")
N_LEADS, SEED = 3000, 5  # the training tests' funnel: trained once per session


@pytest.fixture(scope="module")
def trained(funnels: Funnels) -> TrainingResult:
    return funnels.trained(N_LEADS, SEED, AS_OF)


@pytest.fixture(scope="module")
def data(funnels: Funnels) -> LeadData:
    return funnels.data(N_LEADS, SEED)


def _scorecard(trained: TrainingResult) -> PointsScorecard:
    fitted = trained.models[POINTS].estimator_.estimator
    assert isinstance(fitted, PointsScorecard)
    return fitted


def _baseline_points(trained: TrainingResult, data: LeadData, rows: pd.DataFrame) -> np.ndarray:
    features = model_matrix(build_features(data, rows, trained.spec, threads=1))
    attributes, behaviours = baseline_columns(
        trained.spec, trained.data_says["used_half_life_days"]
    )
    return _scorecard(trained).points(features[attributes + list(behaviours.values())])


def _messier(leads: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The same leads, spelled as another CRM export would: case, white space, unseen values,
    numbers that are not round, missing values."""
    rng = np.random.default_rng(3)
    messy = leads.copy()
    text = [c for c in columns if not pd.api.types.is_numeric_dtype(messy[c].dtype)]
    for column in text:
        values = messy[column].astype("string")
        pick = rng.random(len(messy))
        values = values.where(pick > 0.2, "  " + values.str.upper() + " ")
        values = values.where(pick < 0.9, "never seen before")
        messy[column] = values.where(rng.random(len(messy)) > 0.05, pd.NA)
    numbers = [c for c in columns if pd.api.types.is_float_dtype(messy[c].dtype)]
    for column in numbers:
        noise = rng.normal(0, 1e-3, len(messy)) * messy[column].abs().fillna(0)
        messy[column] = (messy[column] + noise).where(rng.random(len(messy)) > 0.05)
    return messy


def test_the_exported_file_gives_the_baselines_points_for_every_open_lead(
    trained: TrainingResult, data: LeadData, tmp_path: Path
) -> None:
    path = tmp_path / "points_rules.yaml"
    path.write_text(trained.learned_rules, "utf-8")
    rules = read_rules(path)
    config = load_config()
    assert rules.model_version == "rules:learned-points" and rules.max_points == 100
    assert rules.behaviours and all(b.limit and b.half_life_days for b in rules.behaviours)
    kinds = {next(k for k in ("equals", "other_than", "between", "missing")
                  if getattr(r, k) is not None) for r in rules.attributes}  # fmt: skip
    assert {"equals", "other_than", "missing"} <= kinds  # numbers: the next test
    assert {"title_seniority", "company_size_band"} <= {r.column for r in rules.attributes}
    for at in (AS_OF, AS_OF - pd.Timedelta(days=97.3)):
        rows = scoring_rows(data, at)
        leads = data.leads.set_index(schema.LEAD_ID, drop=False).loc[rows[schema.LEAD_ID]]
        ours = rule_points(rules, leads.reset_index(drop=True), data.events, at, config.features)
        expected = _baseline_points(trained, data, rows)
        assert 0 < expected.mean() < 100
        np.testing.assert_allclose(np.clip(ours.total, 0, 100), expected, atol=1e-4)


def test_messy_spellings_and_unseen_values_get_the_baselines_points_too(
    trained: TrainingResult, data: LeadData, tmp_path: Path
) -> None:
    path = tmp_path / "points_rules.yaml"
    path.write_text(trained.learned_rules, "utf-8")
    rules = read_rules(path)
    messy = replace(data, leads=_messier(data.leads, data.fit_columns))
    rows = scoring_rows(messy, AS_OF)
    leads = messy.leads.set_index(schema.LEAD_ID, drop=False).loc[rows[schema.LEAD_ID]]
    ours = rule_points(rules, leads.reset_index(drop=True), messy.events, AS_OF,
                       load_config().features)  # fmt: skip
    expected = _baseline_points(trained, messy, rows)
    np.testing.assert_allclose(np.clip(ours.total, 0, 100), expected, atol=1e-4)


def test_the_threshold_hands_off_the_share_of_rows_the_mql_percentile_does(
    trained: TrainingResult,
) -> None:
    card = _scorecard(trained)
    rows = trained.reference_features[list(card.feature_names_in_)]
    half_life = trained.data_says["used_half_life_days"]
    rules, notes = learned_rules(card, trained.spec, half_life, rows, 80)
    points = card.points(rows)
    assert np.mean(points >= rules.threshold) == pytest.approx(0.2, abs=0.02)
    assert len(notes) == len(rules.attributes) + len(rules.behaviours)
    assert all("training rows" in n for n in notes)


def test_numbers_binned_by_the_baseline_are_ranges_in_the_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 4000
    frame = pd.DataFrame({
        "revenue": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(13, 2, n)),
        "employees": rng.integers(1, 5000, n).astype(float),
        "industry": pd.Categorical(rng.choice(["Software", "Retail", OTHER, MISSING], n),
                                   categories=["Software", "Retail", MISSING, OTHER]),
    })  # fmt: skip
    y = (rng.random(n) < 0.05 + 0.1 * (frame["employees"] > 1000)).astype(int)
    card = PointsScorecard(attributes=list(frame.columns), behaviours={}).fit(
        model_matrix(frame), y
    )
    infos = (
        FeatureInfo("revenue", "fit", "numeric", "revenue", "value"),
        FeatureInfo("employees", "fit", "numeric", "employees", "value"),
        FeatureInfo("industry", "fit", "categorical", "industry", "value",
                    categories=("Software", "Retail", MISSING, OTHER)),
    )  # fmt: skip
    spec = FeatureSpec(True, (), (), (), 30, None, {}, infos)
    rules, notes = learned_rules(card, spec, None, model_matrix(frame), 70)
    path = tmp_path / "points_rules.yaml"
    path.write_text(rules_yaml(rules, notes, "a heading\nof two lines"), "utf-8")
    again = read_rules(path)
    assert again == rules and path.read_text("utf-8").startswith("# a heading\n# of two lines\n")
    assert sum(r.between is not None for r in rules.attributes) == 2 * card.bins
    fresh = pd.DataFrame({
        "revenue": np.r_[rng.lognormal(13, 2, 999), [np.nan]],
        "employees": np.r_[rng.uniform(0, 6000, 999), [card.edges_["employees"][0]]],
        "industry": rng.choice([" software", "RETAIL ", "Mining", None], 1000),
    })  # fmt: skip
    fresh[schema.LEAD_ID] = [f"L{k}" for k in range(len(fresh))]
    no_events = pd.DataFrame({schema.LEAD_ID: [], schema.EVENT_TYPE: [], schema.OCCURRED_AT: []})
    ours = rule_points(again, fresh, no_events, None).total
    typed = fresh.assign(industry=encode_categories(fresh["industry"], infos[2].categories))
    expected = card.points(model_matrix(typed[list(frame.columns)]))
    np.testing.assert_allclose(np.clip(ours, 0, 100), expected, atol=1e-4)


@pytest.mark.parametrize("edge", [50.0, 0.1, 123456792.0, 1e-9, -3.7, 7.5])
def test_a_bin_bound_splits_float64_values_exactly_where_float32_features_change_bin(
    edge: float,
) -> None:
    cut = _float32_cut(edge)
    probes = np.array([np.nextafter(cut, -np.inf), cut, np.nextafter(cut, np.inf)])
    probes = np.concatenate(
        [probes, np.linspace(cut - abs(cut) * 1e-6, cut + abs(cut) * 1e-6, 999)]
    )
    as32 = probes.astype(np.float32).astype(np.float64)
    np.testing.assert_array_equal(probes >= cut, as32 >= edge)
