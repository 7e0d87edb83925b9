"""The closed loop (CONTRACT section 8): past runs against what their leads did, by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.data.tables import LeadData
from predictive_scoring.errors import UsageError
from predictive_scoring.performance import performance
from predictive_scoring.reports.performance import performance_report

DAY = pd.Timedelta(days=1)
T1 = pd.Timestamp("2025-01-01", tz="UTC")
T2 = T1 + 20 * DAY  # its 30-day horizon ends after the data's latest time: pending
H = 30


def _data() -> LeadData:
    ids = [f"L{k}" for k in range(8)]
    leads = pd.DataFrame(
        {
            schema.LEAD_ID: ids,
            schema.CREATED_AT: [T1 - 10 * DAY] * 8,
            "lead_source": ["ads", "ads", "event", "event", None, "ads", "event", "ads"],
        }
    )
    outcomes = pd.DataFrame(
        {
            schema.LEAD_ID: ["L0", "L1", "L2", "L3", "L4"],
            # L0 converts inside T1's horizon, L1 after it, L2 exactly at its end (inside),
            # L3 had converted before T1 (not open then), L4 closed lost before T1
            schema.CONVERTED_AT: [T1 + 5 * DAY, T1 + 31 * DAY, T1 + 30 * DAY, T1 - DAY, pd.NaT],
            schema.CLOSED_AT: [pd.NaT, pd.NaT, pd.NaT, pd.NaT, T1 - 2 * DAY],
        }
    )
    events = pd.DataFrame(
        {
            schema.LEAD_ID: ["L0"],
            schema.EVENT_TYPE: ["page_view"],
            schema.OCCURRED_AT: [T1 + 45 * DAY],
        }
    )  # the data's latest time: T1 + 45 days
    return LeadData(leads, events, outcomes, flat=False)


def _scores() -> pd.DataFrame:
    first = pd.DataFrame(
        {
            schema.LEAD_ID: ["L0", "L1", "L2", "L3", "L4", "L5", "L6", "L9"],
            schema.AS_OF: T1,
            schema.PROBABILITY: [0.9, 0.2, 0.6, 0.5, 0.4, 0.1, 0.3, 0.5],
            schema.SCORE: [95, 40, 85, 70, 60, 10, 30, 50],
            schema.TIER: ["hot", "cold", "hot", "warm", "warm", "cold", "cold", "warm"],
            schema.IS_MQL: [True, False, True, False, False, False, False, False],
            schema.MODEL_VERSION: "lead-scoring/1",
            schema.SEGMENT: "",
        }
    )
    second = first.assign(**{schema.AS_OF: T2, schema.MODEL_VERSION: "lead-scoring/2"})
    return pd.concat([first, second], ignore_index=True)


def test_each_run_counts_what_its_open_leads_did_within_the_horizon() -> None:
    summary = performance(_scores(), _data(), H, by="lead_source")
    assert [r["status"] for r in summary["runs"]] == ["pending", "complete"]  # latest first
    pending, run = summary["runs"]
    assert "conversions" not in pending and pending["leads"] == 8  # unknown yet, never zero
    # open at T1 and in the data: L0, L1, L2, L5, L6 (L3 converted, L4 closed, L9 unknown)
    assert run["leads"] == 5 and run["not_open"] == 3
    assert run["conversions"] == 2  # L0 (day 5) and L2 (day 30); L1 converted on day 31
    assert run["tiers"]["hot"] == {"leads": 2, "conversions": 2, "conversion_rate": 1.0}
    assert run["tiers"]["cold"] == {"leads": 3, "conversions": 0, "conversion_rate": 0.0}
    assert run["tiers"]["warm"] == {"leads": 0, "conversions": 0, "conversion_rate": None}
    assert run["mql"]["true"]["conversions"] == 2 and run["mql"]["false"]["leads"] == 3
    assert run["predicted"] == pytest.approx(0.9 + 0.2 + 0.6 + 0.1 + 0.3)
    assert run["roc_auc"] == 1.0 and run["pr_auc"] == pytest.approx(1.0)
    assert run["groups"]["ads"] == {
        "leads": 3, "conversions": 1, "conversion_rate": pytest.approx(1 / 3), "mqls": 1,
        "mql_conversions": 1, "predicted": pytest.approx(1.2),
    }  # fmt: skip
    assert run["groups"]["event"]["leads"] == 2 and run["groups"]["event"]["conversions"] == 1
    assert summary["groups"]["event"]["conversions"] == 1  # complete runs only
    page = performance_report(summary)
    assert "pending" in page and "Realised conversion rate per tier" in page


def test_a_direct_count_from_the_outcomes_agrees() -> None:
    rng = np.random.default_rng(1)
    n = 400
    ids = [f"L{k}" for k in range(n)]
    converted = pd.Series(T1 + pd.to_timedelta(rng.integers(-20, 60, n), unit="D"))
    converted[rng.random(n) < 0.6] = pd.NaT
    data = LeadData(
        pd.DataFrame({schema.LEAD_ID: ids, schema.CREATED_AT: T1 - 30 * DAY}),
        pd.DataFrame({schema.LEAD_ID: ["L0"], schema.EVENT_TYPE: ["x"],
                      schema.OCCURRED_AT: [T1 + 90 * DAY]}),
        pd.DataFrame({schema.LEAD_ID: ids, schema.CONVERTED_AT: converted,
                      schema.CLOSED_AT: pd.NaT}),
        flat=False,
    )  # fmt: skip
    scores = _scores().iloc[:0].reindex(range(n))
    scores = scores.assign(**{
        schema.LEAD_ID: ids, schema.AS_OF: T1, schema.PROBABILITY: rng.random(n),
        schema.SCORE: rng.integers(0, 101, n), schema.IS_MQL: False,
        schema.MODEL_VERSION: "m/1", schema.SEGMENT: "",
    })  # fmt: skip
    scores[schema.TIER] = np.where(scores[schema.SCORE] >= 80, "hot", "cold")
    run = performance(scores, data, H)["runs"][0]
    at = converted.dt.tz_convert("UTC")
    open_ = ~(at <= T1).fillna(False).to_numpy(bool)
    won = ((at > T1) & (at <= T1 + H * DAY)).fillna(False).to_numpy(bool)
    hot = (scores[schema.TIER] == "hot").to_numpy()
    assert run["tiers"]["hot"]["leads"] == int((open_ & hot).sum())
    assert run["tiers"]["hot"]["conversions"] == int((open_ & hot & won).sum())
    assert run["conversions"] == int((open_ & won).sum())


def test_no_dated_run_or_an_unknown_group_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no dated run"):
        performance(_scores().assign(**{schema.AS_OF: pd.NaT}), _data(), H)
    with pytest.raises(UsageError, match="--by campaign: not a column of leads"):
        performance(_scores(), _data(), H, by="campaign")
