"""Models for other targets: populations and labels in time, trained and scored end to end."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.data.load import load_lead_data
from predictive_scoring.data.synthetic import generate_funnel
from predictive_scoring.data.synthetic.params import FunnelParams
from predictive_scoring.data.synthetic.vocabulary import UPGRADE
from predictive_scoring.data.tables import LeadData
from predictive_scoring.features.snapshots import scoring_rows, training_snapshots
from predictive_scoring.scoring import score_leads
from predictive_scoring.timeline import Target, members_at, target_labels_at
from predictive_scoring.training import train_models
from tests.conftest import CliResult
from tests.features.helpers import lead_data, random_lead_data, truncated, ts

EXPANSION = Target("customers", UPGRADE)


def _history() -> LeadData:
    return lead_data(
        [("a", "2025-01-01"), ("b", "2025-01-05"), ("c", "2025-02-01"), ("d", "2025-03-01")],
        [
            ("a", "2025-02-10", "upgrade"),
            ("a", "2025-03-20", "upgrade"),
            ("b", "2025-02-20", "page_view"),
            ("c", "2025-03-05", "demo_request"),
            ("d", "2025-03-03", "upgrade"),  # not a customer: its upgrade labels nobody
        ],
        [("a", "2025-02-01", None), ("b", "2025-02-15", None), ("c", None, "2025-03-10")],
    )


def test_customers_are_the_leads_converted_before_the_snapshot() -> None:
    data = _history()
    assert members_at(data, ts("2025-02-01"), EXPANSION).tolist() == []  # a converts at s
    assert members_at(data, ts("2025-02-16"), EXPANSION).tolist() == ["a", "b"]
    # open leads stay the conversion model's population
    assert members_at(data, ts("2025-02-16")).tolist() == ["c"]


def test_a_target_label_is_an_event_of_its_type_within_the_horizon() -> None:
    data = _history()
    ids = pd.Series(["a", "b", "d"])
    at = ts("2025-02-16")
    # a upgrades on 03-20: within 60 days, not within 30; d's upgrade is before nothing it can label
    assert target_labels_at(data, ids, at, 30, EXPANSION).tolist() == [0, 0, 1]
    assert target_labels_at(data, ids, at, 40, EXPANSION).tolist() == [1, 0, 1]
    demo = Target("open", "demo_request")
    assert target_labels_at(data, pd.Series(["c"]), ts("2025-03-01"), 7, demo).tolist() == [1]
    assert target_labels_at(data, pd.Series(["c"]), ts("2025-03-05"), 7, demo).tolist() == [0]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), offset=st.integers(24 * 40, 24 * 200))
def test_target_rows_agree_on_full_and_truncated_history(seed: int, offset: int) -> None:
    data = random_lead_data(seed)
    at = ts("2024-01-01") + pd.Timedelta(hours=offset)
    for target in (Target("customers", "pricing_page_view"), Target("open", "demo_request")):
        full = training_snapshots(data, at, 30, 7, 4, target=target)
        cut = training_snapshots(truncated(data, at), at, 30, 7, 4, target=target)
        pd.testing.assert_frame_equal(full, cut)
        assert not full[schema.ENTRY].any()  # entry rows are the conversion model's
        pd.testing.assert_frame_equal(
            scoring_rows(data, at, target), scoring_rows(truncated(data, at), at, target)
        )


@pytest.fixture(scope="module")
def expansion(tmp_path_factory: pytest.TempPathFactory) -> tuple[LeadData, pd.Timestamp]:
    folder = tmp_path_factory.mktemp("expansion")
    params = FunnelParams(history_days=300, expansion_logit=-8.0, expansion_fit_effect=1.0)
    generate_funnel(3000, seed=4, params=params).write(folder)
    config = load_config()
    data = load_lead_data(str(folder), config, require_labels=True, quarantine_dir=None).data
    return data, ts("2025-10-01")


def _scores(data: LeadData, at: pd.Timestamp) -> pd.DataFrame:
    config = load_config()
    result = train_models(data, config, at, EXPANSION)
    assert result.serving is not None and result.serving.target == EXPANSION
    return pd.concat(list(score_leads(data, result.serving, at, config.scoring, 2)))


@pytest.mark.slow
def test_an_expansion_model_learns_and_scores_in_time(
    expansion: tuple[LeadData, pd.Timestamp],
) -> None:
    data, at = expansion
    full = _scores(data, at)
    pd.testing.assert_frame_equal(full, _scores(truncated(data, at), at))
    customers = set(members_at(data, at, EXPANSION))
    assert set(full[schema.LEAD_ID]) == customers and full[schema.LEAD_ID].is_unique
    # a customer's own conversion is never a feature: moving it (still before T) changes nothing
    result = train_models(data, load_config(), at, EXPANSION)
    assert result.serving is not None
    converted = data.outcomes[schema.CONVERTED_AT]
    earlier = converted.where(~(converted < at), converted - pd.Timedelta(days=1))
    moved = data.outcomes.assign(**{schema.CONVERTED_AT: earlier})
    served = result.serving
    before = pd.concat(list(score_leads(data, served, at, load_config().scoring, 2)))
    after = pd.concat(
        list(score_leads(replace(data, outcomes=moved), served, at, load_config().scoring, 2))
    )
    pd.testing.assert_series_equal(before[schema.PROBABILITY], after[schema.PROBABILITY])


def test_a_target_whose_event_type_is_absent_exits_2_naming_it(
    cli,
    tables,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    config = tmp_path / "t.yaml"
    config.write_text("targets:\n  expansion:\n    population: customers\n    event_type: upgrad\n")
    result: CliResult = cli("train", "--data", tables.write(tmp_path / "d"), "--config", config)
    assert result.code == 2 and "targets.expansion.event_type" in result.err
    assert "'upgrad'" in result.err and "Traceback" not in result.err
    scored: CliResult = cli(
        "score", "--data", tmp_path / "d", "--config", config, "--output", tmp_path / "s.parquet",
        "--target", "nope",
    )  # fmt: skip
    assert scored.code == 2 and "--target 'nope'" in scored.err
