"""Segments of leads: which segment a lead is in, the filters that say so, and their mistakes."""

from __future__ import annotations

import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.data.segments import (
    GLOBAL,
    assign_segments,
    check_segments,
    model_name,
    segment_sizes,
    slug,
    subset,
)
from predictive_scoring.data.tables import LeadData
from predictive_scoring.errors import ConfigError


def _leads() -> pd.DataFrame:
    return pd.DataFrame(
        {
            schema.LEAD_ID: ["a", "b", "c", "d", "e"],
            schema.CREATED_AT: pd.to_datetime(
                ["2025-01-01", "2025-01-02", "2025-02-01", "2025-03-01", "2025-06-01"], utc=True
            ),
            "company_size": [5000.0, 20.0, None, 1000.0, 300.0],
            "buyer_type": pd.Categorical(["Sales-led", "self serve", None, "Sales-led", "partner"]),
            "lead origin": ["API", "Form", "API", "Form", "API"],
        }
    )


def _segments(**settings: object):  # type: ignore[no-untyped-def]
    return load_config().segments.model_copy(update=settings)


def test_slugs_and_model_names() -> None:
    assert slug("Sales-led / EMEA") == "sales-led-emea"
    assert slug("  Self Serve ") == "self-serve"
    assert slug("***") == "segment"
    assert model_name("lead-scoring", "Self Serve") == "lead-scoring-self-serve"
    assert model_name("lead-scoring", GLOBAL) == "lead-scoring"


def test_a_column_gives_one_segment_per_value_and_none_for_missing() -> None:
    got = assign_segments(_leads(), _segments(column="Buyer_Type "))
    assert got.tolist() == ["Sales-led", "self serve", GLOBAL, "Sales-led", "partner"]


def test_filters_first_match_wins() -> None:
    filters = {
        "enterprise": "company_size >= 1000",
        "api": "`lead origin` == 'API' and not company_size < 100",
        "rest": "company_size < 1000 or buyer_type in ['partner']",
    }
    got = assign_segments(_leads(), _segments(filters=filters))
    # c: its size is unknown, so "not company_size < 100" is unknown too (as in SQL): no match
    assert got.tolist() == ["enterprise", "rest", GLOBAL, "enterprise", "api"]


def test_chained_comparisons_and_not_in() -> None:
    filters = {"mid": "100 <= company_size < 2000", "other": "buyer_type not in ['partner']"}
    got = assign_segments(_leads(), _segments(filters=filters))
    # c: its persona is missing, so "not in" is unknown: no match
    assert got.tolist() == ["other", "other", GLOBAL, "mid", "mid"]


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"column": "persona"}, ["segments.column", "'persona'"]),
        ({"filters": {"big": "size >= 1000"}}, ["segments.filters.big", "'size'"]),
        ({"filters": {"big": "company_size >="}}, ["segments.filters.big", "does not parse"]),
        (
            {"filters": {"x": "__import__('os').system('true')"}},
            ["segments.filters.x", "not allowed"],
        ),
        ({"filters": {"x": "company_size.real > 1"}}, ["segments.filters.x", "not allowed"]),
        ({"filters": {"x": "buyer_type > 3"}}, ["segments.filters.x", "cannot be evaluated"]),
        ({"filters": {"x": "1000"}}, ["segments.filters.x", "must compare"]),
        ({"filters": {"A b": "company_size > 1", "a-b": "company_size < 1"}}, ["share"]),
        ({"filters": {"x": "company_size"}}, ["segments.filters.x", "must compare"]),
        ({"filters": {"x": "company_size > 1 and buyer_type"}}, ["cannot be evaluated"]),
        ({"filters": {"x": "company_size == [1, 2]"}}, ["segments.filters.x", "after `in`"]),
    ],
)
def test_bad_segment_settings_name_their_key_and_value(
    settings: dict[str, object], words: list[str]
) -> None:
    with pytest.raises(ConfigError) as raised:
        check_segments(_leads(), _segments(**settings))
    assert raised.value.exit_code == 2
    for word in words:
        assert word in str(raised.value)


def test_column_and_filters_together_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.yaml"
    path.write_text("segments:\n  column: a\n  filters: {b: 'x > 1'}\n")
    with pytest.raises(ConfigError, match="not both"):
        load_config(path)


def test_sizes_count_leads_before_t_and_conversions_before_t_minus_h() -> None:
    leads = _leads()
    outcomes = pd.DataFrame(
        {
            schema.LEAD_ID: ["a", "d", "b"],
            schema.CONVERTED_AT: pd.to_datetime(
                ["2025-02-01", "2025-05-20", "2025-03-01"], utc=True
            ),
            schema.CLOSED_AT: pd.to_datetime([None, None, None], utc=True),
        }
    )
    events = pd.DataFrame({schema.LEAD_ID: ["a", "b", "e"], "x": [1, 2, 3]})
    data = LeadData(leads, events, outcomes, flat=False)
    segments = assign_segments(leads, _segments(column="buyer_type"))
    sizes = segment_sizes(data, segments, pd.Timestamp("2025-06-01", tz="UTC"), 30)
    # e is created at T (not before it); d converted after T - H (2025-05-02)
    assert [(s.name, s.leads, s.conversions) for s in sizes] == [
        ("Sales-led", 2, 1),
        ("self serve", 1, 1),
    ]
    part = subset(data, ["a", "e"])
    assert part.leads[schema.LEAD_ID].tolist() == ["a", "e"]
    assert part.events["x"].tolist() == [1, 3]
    assert part.outcomes[schema.LEAD_ID].tolist() == ["a"]


def test_whole_numbers_name_segments_without_a_fraction() -> None:
    leads = _leads().assign(tier=[1.0, 2.0, None, 1.0, 2.5])
    assert assign_segments(leads, _segments(column="tier")).tolist() == [
        "1",
        "2",
        GLOBAL,
        "1",
        "2.5",
    ]
