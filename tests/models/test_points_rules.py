"""A rules file's points (CONTRACT section 7): hand-computed leads, a brute-force twin on random
histories, and a clear message for every mistake in the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.errors import ConfigError
from predictive_scoring.evaluation import handoff_table
from predictive_scoring.models.points_rules import (
    RulesFile,
    check_rules,
    read_rules,
    rule_points,
)
from predictive_scoring.rules_scoring import rule_reasons, rules_rows

T = pd.Timestamp("2025-06-01", tz="UTC")
DAY = pd.Timedelta(days=1)
RULES = RulesFile.model_validate(
    {
        "name": "current-rules",
        "threshold": 65,
        "max_points": 100,
        "attributes": [
            {"column": "job_title", "equals": ["CEO", "CTO"], "points": 20},
            {"column": "Company_Size", "between": [50, 1000], "points": 10},
            {"column": "company_size", "between": [None, 10], "points": -3},
            {"column": "company_size", "equals": 5, "points": 1},
            {"column": "country", "equals": ["IN", "BR"], "points": -5},
        ],
        "behaviours": [
            {"event_type": "webinar_attended", "points": 10, "max_times": 3},
            {"event_type": "demo_request", "points": 30, "within_days": 30},
            {"event_type": "pricing_page_view", "points": 5, "half_life_days": 14},
            {
                "event_type": "email_click",
                "points": 2,
                "max_times": 2,
                "within_days": 10,
                "half_life_days": 5,
            },
        ],
        "inactivity": {"after_days": 30, "points": -10},
    }
)


def _leads() -> pd.DataFrame:
    return pd.DataFrame(
        {
            schema.LEAD_ID: ["A", "B", "C", "D"],
            "job_title": [" ceo ", "CTO", None, "Manager"],
            "company_size": [50.0, 1000.0, np.nan, 5.0],
            "country": ["IN", "br", None, "US"],
        }
    )


def _events() -> pd.DataFrame:
    rows = [
        *[("A", "webinar_attended", T - k * DAY) for k in range(1, 6)],  # 5, at most 3 count
        ("A", "demo_request", T - 10 * DAY),  # inside the 30 days
        ("A", "demo_request", T - 40 * DAY),  # outside
        ("A", "demo_request", T),  # at T: never counts
        ("A", "pricing_page_view", T - 14 * DAY),  # one half-life old: 2.5
        ("A", "pricing_page_view", T + DAY),  # after T
        ("B", "webinar_attended", T - 45 * DAY),  # and nothing since: inactive
        *[("D", "email_click", T - k * DAY) for k in (1, 5, 8, 20)],
        ("Z", "demo_request", T - DAY),  # a lead that is not scored
    ]
    frame = pd.DataFrame(rows, columns=[schema.LEAD_ID, schema.EVENT_TYPE, schema.OCCURRED_AT])
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)  # order is irrelevant


def test_hand_computed_points_sub_scores_and_mql() -> None:
    points = rule_points(RULES, _leads(), _events(), T)
    click = 2 * (0.5 ** (1 / 5) + 0.5 ** (5 / 5))  # the two most recent inside 10 days
    expected_totals = [
        20 + 10 - 5 + 30 + 30 + 2.5,  # A: 87.5
        20 - 5 + 10 - 10,  # B: 15 (1000 is not below 1000; inactive for 45 days)
        0.0,  # C: missing values match nothing; no events, so not inactive
        -3 + 1 + click,  # D: size 5 is below 10 and equals 5
    ]
    np.testing.assert_allclose(points.total, expected_totals)
    rows = rules_rows(RULES, points, _leads()[schema.LEAD_ID], rule_reasons(RULES, points), T,
                      load_config().scoring)  # fmt: skip
    assert rows[schema.SCORE].tolist() == [88, 15, 0, 1]  # round(87.5) = 88, halves to even
    assert rows[schema.FIT_SCORE].tolist() == [25, 15, 0, 0]  # D's -2 clips to 0
    assert rows[schema.INTENT_SCORE].tolist() == [62, 0, 0, 3]  # 62.5 -> 62; B: 10 - 10
    assert rows[schema.IS_MQL].tolist() == [True, False, False, False]
    assert rows[schema.TIER].tolist() == ["hot", "cold", "cold", "cold"]
    assert rows[schema.MODEL_VERSION].unique().tolist() == ["rules:current-rules"]
    assert rows[schema.PROBABILITY].isna().all()
    np.testing.assert_allclose(rows[schema.POINTS], expected_totals)


def test_reasons_are_the_rules_that_fired_largest_first_in_words() -> None:
    points = rule_points(RULES, _leads(), _events(), T)
    reasons = [json.loads(r) for r in rule_reasons(RULES, points)]
    assert [r["text"] for r in reasons[0]] == [
        "Attended a webinar 3 times (at most 3 counted): +30",
        "Requested a demo in the last 30 days: +30",
        "Job title is ceo: +20",
        "Company size is 50 (50 to under 1,000): +10",
        "Country is IN: -5",
        "Viewed pricing, decayed with a 14-day half-life: +2.5",
    ]
    assert [r["impact"] for r in reasons[1]] == [20.0, 10.0, -10.0, -5.0]
    assert reasons[1][2]["text"] == "No activity in the last 30 days: -10"
    assert reasons[2] == []
    assert reasons[3][0]["feature"] == "company_size" and reasons[3][0]["impact"] == -3.0
    assert reasons[3][1]["text"] == (
        "Clicked an email 2 times (at most 2 counted) in the last 10 days, decayed with a "
        "5-day half-life: +2.7"
    )


# ---- the same points by brute force, on random histories ----------------------------------------


def _brute_force(rules: RulesFile, leads: pd.DataFrame, events: pd.DataFrame) -> list[float]:
    """Each lead's points, rule by rule, lead by lead, as the contract words them."""
    totals = []
    for _, lead in leads.iterrows():
        total = 0.0
        for rule in rules.attributes:
            value = lead[rule.column.strip().lower()]
            if pd.isna(value):
                continue
            if rule.between is not None:
                lo, hi = rule.between
                hit = (lo is None or value >= lo) and (hi is None or value < hi)
            elif isinstance(value, float):  # a number equals a number
                hit = value in {float(v) for v in rule.values if not isinstance(v, str)}
            else:
                hit = str(value).strip().lower() in {str(v).strip().lower() for v in rule.values}
            total += rule.points if hit else 0.0
        mine = events[(events[schema.LEAD_ID] == lead[schema.LEAD_ID])]
        mine = mine[mine[schema.OCCURRED_AT] < T]
        ages = sorted(((T - at) / DAY, kind) for kind, at in zip(
            mine[schema.EVENT_TYPE], mine[schema.OCCURRED_AT], strict=True))  # fmt: skip
        for rule in rules.behaviours:
            counted = [a for a, kind in ages if kind == rule.event_type]
            counted = [a for a in counted if rule.within_days is None or a < rule.within_days]
            counted = counted[: rule.max_times] if rule.max_times else counted
            for age in counted:
                decay = 1.0 if rule.half_life_days is None else 0.5 ** (age / rule.half_life_days)
                total += rule.points * decay
        if rules.inactivity is not None and ages and ages[0][0] >= rules.inactivity.after_days:
            total += rules.inactivity.points
        totals.append(total)
    return totals


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),
            st.sampled_from(
                ["webinar_attended", "demo_request", "pricing_page_view", "email_click"]
            ),
            st.floats(-60, 60, allow_nan=False),
        ),
        max_size=40,
    )
)
def test_points_equal_a_brute_force_reading_of_the_contract(
    history: list[tuple[int, str, float]],
) -> None:
    leads = pd.DataFrame(
        {
            schema.LEAD_ID: [f"L{k}" for k in range(6)],
            "job_title": ["CEO", "cto", None, "x", "CEO ", "VP"],
            "company_size": [5.0, 50.0, 999.0, 1000.0, np.nan, 9.99],
            "country": ["IN", "BR", "US", None, "in", "DE"],
        }
    )
    events = pd.DataFrame(
        {
            schema.LEAD_ID: [f"L{k}" for k, _, _ in history],
            schema.EVENT_TYPE: [kind for _, kind, _ in history],
            schema.OCCURRED_AT: [T - pd.Timedelta(days=d) for _, _, d in history],
        }
    ).astype({schema.OCCURRED_AT: "datetime64[ns, UTC]"})
    points = rule_points(RULES, leads, events, T)
    np.testing.assert_allclose(points.total, _brute_force(RULES, leads, events), atol=1e-9)
    # what happens at or after T never counts
    later = events.assign(**{schema.OCCURRED_AT: T + (T - events[schema.OCCURRED_AT]).abs()})
    again = rule_points(RULES, leads, pd.concat([events, later], ignore_index=True), T)
    np.testing.assert_allclose(again.total, points.total, atol=1e-9)


# ---- mistakes in the file -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nthreshold: 1\nmax_points: 0\n", "max_points: Input should be greater than 0"),
        ("name: x\nthreshold: 1\nmax_point: 100\n", "max_point: Extra inputs are not permitted"),
        ("name: x\nthreshold: .nan\nmax_points: 10\n", "threshold: Input should be a finite"),
        (
            "name: x\nthreshold: 1\nmax_points: 10\nbehaviours:\n"
            "  - {event_type: demo_request, points: '10'}\n",
            "behaviours[0].points: Input should be a valid number (given: '10')",
        ),
        ("name: x\nthreshold: 1\nmax_points: 10\nname: y\n", "the key 'name' is given twice"),
        (
            "name: x\nthreshold: 1\nmax_points: 10\nattributes:\n"
            "  - {column: country, equals: [], points: 5}\n",
            "attributes[0].equals: an empty list matches nothing",
        ),
        ("name: x\nthreshold: 1\nmax_points: 10\nscale: 3\n", "scale: Extra inputs"),
        (
            "name: x\nthreshold: 1\nmax_points: 10\nbehaviours:\n"
            "  - {event_type: demo_request, points: 5, max_time: 3}\n",
            "behaviours[0].max_time: Extra inputs are not permitted (given: 3)",
        ),
        (
            "name: x\nthreshold: 1\nmax_points: 10\nattributes:\n"
            "  - {column: company_size, between: [100, 10], points: 5}\n",
            "attributes[0].between: [100, 10): the lower bound must be below the upper",
        ),
        (
            "name: x\nthreshold: 1\nmax_points: 10\nattributes:\n  - {column: industry, points: 5}\n",
            "attributes[0]: give equals, other_than, between or missing",
        ),
        ("name: x\nthreshold: [1\n", "not valid YAML"),
    ],
)
def test_a_bad_rules_file_names_the_rule_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError, match=None) as caught:
        read_rules(path)
    assert message in str(caught.value) and str(path) in str(caught.value)
    assert caught.value.exit_code == 2


def test_rules_on_unknown_or_personal_columns_are_refused() -> None:
    leads = _leads().assign(email="a@example.com")
    unknown = RULES.model_copy(
        update={"attributes": [RULES.attributes[0].model_copy(update={"column": "seniority"})]}
    )
    with pytest.raises(ConfigError, match=r"attributes\[0\]\.column: 'seniority' is not a column"):
        check_rules(unknown, leads, set(), [])
    personal = RULES.model_copy(
        update={"attributes": [RULES.attributes[0].model_copy(update={"column": "Email"})]}
    )
    with pytest.raises(ConfigError, match="is a PII column"):
        check_rules(personal, leads, set(), ["email"])
    warned = check_rules(RULES, leads, {"demo_request", "webinar_attended"}, [], "r.yaml")
    assert warned == [
        "rules file r.yaml: no event of type ['email_click', 'pricing_page_view'] in the events; "
        "those rules never fire"
    ]
    flat = check_rules(RULES, leads, None, [])
    assert flat == [
        "rules file 'current-rules': a flat export has no events: behaviour and inactivity rules "
        "never fire"
    ]
    nobody = RULES.model_copy(
        update={"attributes": [RULES.attributes[4].model_copy(update={"equals": ["Norway"]})]}
    )
    assert check_rules(nobody, leads, None, [])[0] == (
        "rules file 'current-rules': attributes[0] (country) matches no lead; the column holds "
        "'IN', 'br', 'US'"
    )


def test_each_row_at_its_own_time_equals_each_time_alone() -> None:
    """Training rows are snapshots at many times: the points of a row are those of its lead at
    its time, exactly as scoring at that time would give them."""
    leads = pd.concat([_leads(), _leads()], ignore_index=True)
    times = pd.Series([T] * 4 + [T - 9 * DAY] * 4)
    together = rule_points(RULES, leads, _events(), times).total
    alone = [rule_points(RULES, _leads(), _events(), t).total for t in (T, T - 9 * DAY)]
    np.testing.assert_allclose(together, np.concatenate(alone))
    assert together[4] != together[0]  # nine days earlier, A's first demo was not there yet


def test_the_hand_off_table_counts_the_rules_leads_and_the_model_s_as_many() -> None:
    y = np.array([1, 0, 1, 0, 0, 1, 0, 0])
    points = np.array([70, 65, 10, 80, 0, 30, 64.9, 5])  # threshold 65: rows 0, 1, 3
    served = np.array([0.9, 0.1, 0.8, 0.2, 0.05, 0.7, 0.3, 0.01])  # its top 3: rows 0, 2, 5
    table = handoff_table(y, points, 65, served)
    assert table["rules"] == {
        "rows": 3, "share": 3 / 8, "precision": 1 / 3, "recall": 1 / 3,
        "leads_per_conversion": 3.0,
    }  # fmt: skip
    assert table["model"] == {
        "rows": 3, "share": 3 / 8, "precision": 1.0, "recall": 1.0,
        "leads_per_conversion": 1.0, "model_cut": 0.7,
    }  # fmt: skip
    none = handoff_table(y, points, 1000, served)
    assert none["rules"]["rows"] == 0 and np.isnan(none["model"]["model_cut"])


def test_the_worked_example_and_the_contract_s_example_are_valid_for_the_demo_funnel(
    tmp_path: Path,
) -> None:
    from predictive_scoring.data.synthetic import generate_funnel

    root = Path(__file__).parents[2]
    funnel = generate_funnel(300, seed=0)
    leads, events = funnel.clean_tables["leads"], funnel.clean_tables["events"]
    types = set(events[schema.EVENT_TYPE].astype(str))
    example = read_rules(root / "configs" / "rules-demo.yaml")
    assert check_rules(example, leads, types, ["email"]) == []  # every rule can fire
    section = (root / "docs" / "CONTRACT.md").read_text("utf-8").split("## 7.")[1]
    block = section.split("```yaml\n")[1].split("```")[0]
    (tmp_path / "contract.yaml").write_text(block, "utf-8")
    assert read_rules(tmp_path / "contract.yaml").name == "current-rules"


def test_country_codes_stay_text_event_types_match_as_validation_stores_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "name: nordics\nthreshold: 10\nmax_points: 100\nattributes:\n"
        "  - {column: country, equals: [NO, SE, on], points: 10}\n"
        "  - {column: company_size, equals: 50, points: 1}\n"
        "behaviours:\n  - {event_type: ' Demo_Request ', points: 30}\n",
        "utf-8",
    )
    rules = read_rules(path)
    assert rules.attributes[0].values == ["NO", "SE", "on"]  # not YAML 1.1's booleans
    leads = pd.DataFrame(
        {
            schema.LEAD_ID: ["a", "b", "c"],
            "country": pd.Categorical(["no", "SE", "DK"]),
            "company_size": pd.Categorical([50.0, 7.0, np.nan]),  # a numeric category
        }
    )
    events = pd.DataFrame(
        {schema.LEAD_ID: ["a"], schema.EVENT_TYPE: ["demo_request"], schema.OCCURRED_AT: [T - DAY]}
    )
    assert check_rules(rules, leads, {"demo_request"}, []) == []
    np.testing.assert_allclose(rule_points(rules, leads, events, T).total, [41, 10, 0])


def test_a_lead_s_repeated_rows_each_get_its_points_and_labels_are_never_attributes() -> None:
    twice = pd.concat([_leads().iloc[:1]] * 2, ignore_index=True)
    points = rule_points(RULES, twice, _events(), T).total
    np.testing.assert_allclose(points, [87.5, 87.5])
    label = RULES.model_copy(
        update={"attributes": [RULES.attributes[0].model_copy(update={"column": "converted"})]}
    )
    with pytest.raises(ConfigError, match="is not an attribute of the lead"):
        check_rules(label, _leads().assign(converted=1), set(), [])


def test_other_than_missing_base_points_limits_and_derived_attributes_by_hand() -> None:
    rules = RulesFile.model_validate(
        {
            "name": "learned",
            "threshold": 10,
            "max_points": 100,
            "base_points": 7.5,
            "attributes": [
                {"column": "industry", "equals": ["Financial Services"], "points": 4},
                {
                    "column": "industry",
                    "other_than": ["financial services", "Retail"],
                    "points": -2,
                },
                {"column": "industry", "missing": True, "points": -1},
                {"column": "title_seniority", "equals": "vp", "points": 6},
                {"column": "title_function", "missing": True, "points": -3},
                {"column": "company_size_band", "equals": "51–200", "points": 2},
                {"column": "company_size", "between": [None, None], "points": 0.5},
            ],
            "behaviours": [{"event_type": "demo_request", "points": 10, "limit": 15}],
        }
    )
    leads = pd.DataFrame(
        {
            schema.LEAD_ID: ["a", "b", "c", "d"],
            "industry": ["  FINANCIAL   services ", "Mining", None, "Retail"],
            "job_title": ["VP of Sales", "Sr. Engineer", None, "vp marketing"],
            "company_size": [200.0, 50.0, np.nan, 51.0],
        }
    )
    events = pd.DataFrame(
        {
            schema.LEAD_ID: ["a", "a", "b"],
            schema.EVENT_TYPE: ["demo_request"] * 3,
            schema.OCCURRED_AT: [T - DAY, T - 2 * DAY, T - DAY],
        }
    )
    features = load_config().features  # company_size bands: (50, 200] is 51–200
    points = rule_points(rules, leads, events, T, features)
    expected = [
        7.5
        + 4
        + 6
        + 2
        + 0.5
        + 15,  # whitespace runs folded; VP; size 200 in (50, 200]; 2 demos held at 15
        7.5 - 2 + 0.5 + 10,  # Mining: other than the list; size 50 is the band below
        7.5
        - 1
        - 3,  # no industry, no title (no function), no size: between [null, null] is a number
        7.5 + 6 + 2 + 0.5,  # Retail is listed: no other_than points
    ]
    np.testing.assert_allclose(points.total, expected)
    rows = rules_rows(rules, points, leads[schema.LEAD_ID], rule_reasons(rules, points), T,
                      load_config().scoring)  # fmt: skip
    np.testing.assert_array_equal(rows[schema.INTENT_SCORE], [15, 10, 0, 0])  # base in neither
    np.testing.assert_array_equal(rows[schema.FIT_SCORE], [12, 0, 0, 8])  # 12.5, 8.5: to even
    texts = [r["text"] for r in json.loads(rows[schema.REASONS][0])]
    assert texts[0] == "Requested a demo 2 times (held at its limit of 15 points): +15"
    unknown = [r["text"] for r in json.loads(rows[schema.REASONS][2])]
    assert unknown == ["Title function is unknown: -3", "Industry is unknown: -1"]
    with pytest.raises(ConfigError, match=r"derived from a job title column"):
        check_rules(rules, leads.drop(columns="job_title"), set(), [], features=features)
    assert check_rules(rules, leads, {"demo_request"}, [], features=features) == []
