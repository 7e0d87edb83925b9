"""``score --rules``: a team's own points system through the command line, point in time."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.data.load import load_lead_data
from predictive_scoring.features.snapshots import scoring_rows
from predictive_scoring.models.points_rules import read_rules, rule_points
from predictive_scoring.rules_scoring import score_with_rules
from tests.conftest import CliResult, Tables
from tests.features.helpers import truncated

RULES = """\
name: current-rules
threshold: 25
max_points: 60
attributes:
  - {column: Industry, equals: [software, " FINANCE "], points: 10}
  - {column: company_size, between: [100, 400], points: 5}
behaviours:
  - {event_type: demo_request, points: 30, within_days: 30}
  - {event_type: page_view, points: 2, max_times: 3, half_life_days: 7}
inactivity: {after_days: 20, points: -5}
"""
AS_OF = "2024-02-10T00:00:00Z"


def _rules(tmp_path: Path, text: str = RULES) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, "utf-8")
    return path


def test_score_with_rules_writes_contract_rows_with_points_and_needs_no_model(
    tables: Tables, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    data = tables.write(tmp_path / "data")
    output = tmp_path / "scores.csv"
    result = cli(
        "score", "--data", data, "--rules", _rules(tmp_path), "--output", output,
        "--as-of", AS_OF, "--tracking-uri", f"sqlite:///{tmp_path / 'nothing-registered.db'}",
        "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    summary = result.json
    assert summary["model_version"] == "rules:current-rules"
    scores = pd.read_csv(output, dtype={schema.LEAD_ID: str})
    assert list(scores.columns) == [*schema.SCORE_COLUMNS, schema.POINTS]
    loaded = load_lead_data(str(data), load_config(), quarantine_dir=tmp_path / "q").data
    at = pd.Timestamp(AS_OF)
    assert sorted(scores[schema.LEAD_ID]) == sorted(scoring_rows(loaded, at)[schema.LEAD_ID])
    assert summary["rows"] == len(scores)
    assert scores[schema.PROBABILITY].isna().all()
    expected = np.clip(np.rint(100 * scores[schema.POINTS] / 60), 0, 100)
    np.testing.assert_array_equal(scores[schema.SCORE], expected)
    np.testing.assert_array_equal(scores[schema.IS_MQL], scores[schema.POINTS] >= 25)
    assert (scores[schema.MODEL_VERSION] == "rules:current-rules").all()
    # reasons: every rule that fired, and their points add up to the total
    impacts = scores[schema.REASONS].map(lambda r: sum(x["impact"] for x in json.loads(r)))
    np.testing.assert_allclose(impacts, scores[schema.POINTS], atol=1e-3)
    fired = scores[schema.REASONS].str.contains("Industry is")
    assert fired.any() and not scores[schema.REASONS].str.contains("@").any()  # no e-mail
    # one lead's card says its points where a model's says its chance
    top = scores.sort_values(schema.POINTS).iloc[-1]
    card = cli("explain", top[schema.LEAD_ID], "--scores", output)
    assert card.code == 0
    assert f"{top[schema.POINTS]:,.1f} points (a rules file: no probability)" in card.out
    assert "model rules:current-rules" in card.out and "nan" not in card.out.lower()


def test_rules_points_are_the_same_on_the_history_known_at_t(
    tables: Tables, tmp_path: Path
) -> None:
    data = load_lead_data(
        str(tables.write(tmp_path / "data")), load_config(), quarantine_dir=tmp_path / "q"
    ).data
    at = pd.Timestamp(AS_OF)
    rules = read_rules(_rules(tmp_path))
    config = load_config().scoring
    full = pd.concat(list(score_with_rules(data, rules, at, config)))
    cut = pd.concat(list(score_with_rules(truncated(data, at), rules, at, config)))
    pd.testing.assert_frame_equal(
        full.sort_values(schema.LEAD_ID, ignore_index=True),
        cut.sort_values(schema.LEAD_ID, ignore_index=True),
    )
    assert rule_points(rules, data.leads, data.events, at).points.shape[1] == 5


def test_a_bad_rules_file_exits_2_naming_the_rule_and_writes_nothing(
    tables: Tables, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    data = tables.write(tmp_path / "data")
    output = tmp_path / "scores.parquet"
    bad = _rules(tmp_path, RULES.replace("within_days: 30", "within: 30"))
    result = cli("score", "--data", data, "--rules", bad, "--output", output)
    assert result.code == 2
    assert "behaviours[0].within: Extra inputs are not permitted (given: 30)" in result.err
    assert "Traceback" not in result.err and not output.exists()
    unknown = _rules(tmp_path, RULES.replace("column: company_size", "column: headcount"))
    result = cli("score", "--data", data, "--rules", unknown, "--output", output)
    assert result.code == 2 and "attributes[1].column: 'headcount' is not a column" in result.err
    listed = result.err.split("they have")[-1]
    assert "'email'" not in listed and "first_name" not in listed  # PII columns are not listed
    both = cli("score", "--data", data, "--rules", _rules(tmp_path), "--model", "models:/x/1",
               "--output", output)  # fmt: skip
    assert both.code == 2 and "--rules alone" in both.err and not output.exists()


def test_train_refuses_a_bad_rules_file_or_two_files_with_one_name(
    tables: Tables, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    data = tables.write(tmp_path / "data")
    bad = _rules(tmp_path, RULES.replace("max_points: 60", "max_points: -1"))
    result = cli("train", "--data", data, "--rules", bad, "--tracking-uri", "sqlite:///x.db")
    assert result.code == 2 and "max_points: Input should be greater than 0" in result.err
    first = _rules(tmp_path)
    second = tmp_path / "again.yaml"
    second.write_text(RULES, "utf-8")
    twice = cli("train", "--data", data, "--rules", first, "--rules", second,
                "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}")  # fmt: skip
    assert twice.code == 2 and "two files are named 'current-rules'" in twice.err
    assert "Traceback" not in result.err + twice.err


def test_a_second_night_into_the_same_destination_says_what_changed(
    tables: Tables, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    data = tables.write(tmp_path / "data")
    output = tmp_path / "scores.parquet"
    nights = [AS_OF, "2024-02-20T00:00:00Z"]
    for night in nights:
        result = cli(
            "score", "--data", data, "--rules", _rules(tmp_path), "--output", output,
            "--as-of", night, "--tracking-uri", f"sqlite:///{tmp_path / 'none.db'}",
        )  # fmt: skip
        assert result.code == 0, result.err
    scores = pd.read_parquet(output)
    first, second = (scores[scores[schema.AS_OF] == pd.Timestamp(n)] for n in nights)
    assert first[schema.TREND].isna().all()  # nothing earlier to compare with
    before = first.set_index(schema.LEAD_ID)[schema.SCORE]
    now = second.set_index(schema.LEAD_ID)
    known = now.index.isin(before.index)
    assert known.any()
    expected = before.reindex(now.index)
    np.testing.assert_array_equal(now.loc[known, schema.PREVIOUS_SCORE], expected[known])
    np.testing.assert_array_equal(
        now.loc[known, schema.SCORE_CHANGE], now.loc[known, schema.SCORE] - expected[known]
    )
    assert (now.loc[~known, schema.TREND] == "new").all()
    steady = now[schema.SCORE_CHANGE].abs() < 5
    assert (now.loc[known & steady.to_numpy(dtype=bool), schema.TREND] == "steady").all()
