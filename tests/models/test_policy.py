"""Who is served and who becomes champion: the policy's rules, case by case."""

from __future__ import annotations

from predictive_scoring.evaluation import Evaluation
from predictive_scoring.models.policy import (
    Bout,
    Promotion,
    beats,
    choose_served,
    promotion_decision,
    servable,
)


def _evaluation(name: str, log_loss: float, pr_auc: float = 0.3) -> Evaluation:
    metrics = {"log_loss": log_loss, "pr_auc": pr_auc}
    return Evaluation(name, metrics, metrics, metrics, 100, 10)


def test_beating_is_strict_and_needs_the_margin() -> None:
    assert beats(0.09, 0.10, 0.0)
    assert not beats(0.10, 0.10, 0.0), "a tie does not beat"
    assert not beats(0.095, 0.10, 0.005) and beats(0.094, 0.10, 0.005)


def test_servable_keeps_configured_order_and_drops_what_is_not_monotone_in_time() -> None:
    trained = {"logistic": 1, "lightgbm": 1}
    assert servable(["logistic", "lightgbm"], trained, has_behaviour=False) == [
        "logistic",
        "lightgbm",
    ]
    assert servable(["logistic", "lightgbm"], trained, has_behaviour=True) == ["lightgbm"]
    assert servable(["lightgbm"], {"logistic": 1}, has_behaviour=False) == []


def test_the_lowest_log_loss_is_served_when_it_beats_the_baseline() -> None:
    evaluations = {
        "points": _evaluation("points", 0.080),
        "a": _evaluation("a", 0.072),
        "b": _evaluation("b", 0.070),
    }
    served, why = choose_served(evaluations, ["a", "b"], "points", 0.0)
    assert served == "b"
    assert why == (
        "b has the lowest test log loss of the servable candidates (0.0700) and beats the points "
        "baseline (0.0800)"
    )


def test_ties_go_to_the_higher_pr_auc() -> None:
    evaluations = {
        "points": _evaluation("points", 0.09),
        "a": _evaluation("a", 0.07, pr_auc=0.30),
        "b": _evaluation("b", 0.07, pr_auc=0.35),
    }
    assert choose_served(evaluations, ["a", "b"], "points", 0.0)[0] == "b"


def test_the_baseline_is_served_when_no_candidate_beats_it_by_the_margin() -> None:
    evaluations = {"points": _evaluation("points", 0.080), "a": _evaluation("a", 0.079)}
    served, why = choose_served(evaluations, ["a"], "points", 0.005)
    assert served == "points"
    assert "no candidate beats the points baseline's test log loss (0.0800" in why
    assert choose_served(evaluations, [], "points", 0.0)[0] == "points"


def test_the_first_version_is_promoted() -> None:
    assert promotion_decision(0.5, 0.1, None, 0.0, is_baseline=False) == Promotion(
        True, "no champion yet: the new version becomes champion"
    )


def test_a_candidate_must_beat_the_baseline_and_the_champion() -> None:
    assert promotion_decision(0.070, 0.080, 0.075, 0.0, False).promoted
    not_baseline = promotion_decision(0.080, 0.080, 0.090, 0.0, False)
    assert not not_baseline.promoted
    assert (
        not_baseline.reason == "log loss 0.0800 does not beat the points baseline (0.0800) by 0.0"
    )
    not_champion = promotion_decision(0.070, 0.080, 0.069, 0.0, False)
    assert not not_champion.promoted
    assert "does not beat the champion (0.0690) by 0.0 on this window" in not_champion.reason


def test_a_baseline_version_replaces_a_stale_champion_only_by_beating_it() -> None:
    assert promotion_decision(0.080, 0.080, 0.090, 0.0, is_baseline=True).promoted
    assert not promotion_decision(0.080, 0.080, 0.070, 0.0, is_baseline=True).promoted


def test_the_margin_applies_to_the_champion_too() -> None:
    assert not promotion_decision(0.070, 0.080, 0.072, 0.005, False).promoted
    assert promotion_decision(0.070, 0.080, 0.080, 0.005, False).promoted


def test_the_champion_is_met_on_its_own_rows_by_the_new_version_s_loss_there() -> None:
    basis = "on the 900 test rows from 2025-11-01 on, whose outcomes neither had learned"
    beaten = promotion_decision(0.070, 0.080, 0.060, 0.0, False, 0.055, basis)
    assert beaten.promoted, "0.055 beats 0.060 there, though 0.070 on the window would not"
    assert beaten.reason == (
        f"log loss 0.0550 beats the champion (0.0600) {basis}, and 0.0700 beats the points "
        "baseline (0.0800)"
    )
    held = promotion_decision(0.070, 0.080, 0.060, 0.0, False, 0.065, basis)
    assert not held.promoted
    assert held.reason == f"log loss 0.0650 does not beat the champion (0.0600) by 0.0 {basis}"


def test_a_segment_model_with_too_few_test_conversions_is_never_promoted() -> None:
    small = promotion_decision(
        0.05, 0.08, None, 0.0, False, test_conversions=12, min_test_conversions=30
    )
    assert not small.promoted and "12 conversions" in small.reason
    assert "segments.min_test_conversions" in small.reason
    enough = promotion_decision(
        0.05, 0.08, None, 0.0, False, test_conversions=30, min_test_conversions=30
    )
    assert enough.promoted


def test_a_segment_model_must_beat_the_global_model_on_the_rows_both_hold() -> None:
    basis = "on the 900 test rows (40 conversions) it shares with the global model"
    loses = promotion_decision(
        0.05, 0.08, None, 0.0, False, test_conversions=45, min_test_conversions=30,
        versus_global=Bout(0.061, 0.060, basis, 40),
    )  # fmt: skip
    assert not loses.promoted
    assert loses.reason == (
        f"log loss 0.0610 does not beat the global model (0.0600) by 0.0 {basis}: the global "
        "model serves this segment"
    )
    assert loses.retire  # and the segment's champion, if any, loses its alias
    few = promotion_decision(
        0.05, 0.08, None, 0.0, False, test_conversions=45, min_test_conversions=30,
        versus_global=Bout(0.050, 0.060, basis, 29),
    )  # fmt: skip
    assert not few.promoted and "29 conversions" in few.reason and not few.retire
    wins = promotion_decision(
        0.05, 0.08, 0.07, 0.0, False, test_conversions=45, min_test_conversions=30,
        versus_global=Bout(0.055, 0.060, basis, 40),
    )  # fmt: skip
    assert wins.promoted  # it then still meets its own champion: 0.05 < 0.07
    margin = promotion_decision(
        0.05, 0.08, None, 0.01, False, versus_global=Bout(0.055, 0.060, basis, 40)
    )
    assert not margin.promoted and "does not beat the global model" in margin.reason
