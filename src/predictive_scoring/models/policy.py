"""Who is served, and who becomes champion: the one policy, as pure functions.

* **Servable**: the configured candidates that were trained; with behaviour data, only those whose
  intent part is monotone in time (the constrained booster), so ``intent_score`` cools when
  nothing happens.  The logistic regression's splines are not monotone, so there it is a
  reference model.
* **Served**: among the servable candidates, the lowest log loss on the test window wins, ties
  broken by the higher PR-AUC; it is served only when it beats the points baseline by the margin,
  otherwise the points baseline is served.
* **Promoted**: the new version becomes champion only when it earns it, on log loss on the same
  latest window: a candidate must beat both the points baseline and the current champion (re-
  evaluated on that window's rows, never trusted from its own run, like with like:
  :func:`~predictive_scoring.scoring.champion_bout`).  When no candidate beat the baseline,
  the baseline itself is the new version and replaces the champion only by beating it, so a
  champion that has gone stale can still be replaced by the rules.

"Beats by the margin" is :func:`beats`, the one comparison every rule here uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from predictive_scoring.evaluation import Evaluation
from predictive_scoring.models.ml import LOGISTIC

__all__ = [
    "NOT_MONOTONE_IN_TIME",
    "Bout",
    "Promotion",
    "beats",
    "choose_served",
    "promotion_decision",
    "servable",
]

NOT_MONOTONE_IN_TIME: frozenset[str] = frozenset({LOGISTIC})
"""Candidates whose intent part may warm up as time passes without events."""


@dataclass(frozen=True)
class Bout:
    """The challenger's and the champion's log loss on the same rows, and which rows."""

    challenger: float
    champion: float
    basis: str
    conversions: int | None = None
    """Conversions among those rows, where the bout counts them (:func:`shared_rows_bout`)."""


@dataclass(frozen=True)
class Promotion:
    """Whether the new version moves the ``champion`` alias, and why."""

    promoted: bool
    reason: str
    retire: bool = False
    """Whether the current champion loses its alias too (a segment model that loses to the
    global model: the global model serves the segment from now on)."""


def beats(loss: float, other: float, margin: float) -> bool:
    """Whether log loss ``loss`` is better than ``other`` by more than ``margin``."""
    return loss + margin < other


def servable(configured: Iterable[str], trained: Iterable[str], has_behaviour: bool) -> list[str]:
    """The configured candidates that were trained and may be served, in configured order."""
    fitted = set(trained)
    chosen = [str(m) for m in configured if m in fitted]
    return [m for m in chosen if m not in NOT_MONOTONE_IN_TIME] if has_behaviour else chosen


def _ranked(evaluations: Mapping[str, Evaluation], candidates: list[str]) -> list[str]:
    return sorted(
        candidates,
        key=lambda m: (evaluations[m].metrics["log_loss"], -evaluations[m].metrics["pr_auc"]),
    )


def choose_served(
    evaluations: Mapping[str, Evaluation], candidates: list[str], baseline: str, margin: float
) -> tuple[str, str]:
    """The model to serve and why."""
    if not candidates:
        return baseline, "no servable candidate was trained, so the points baseline is served"
    best = _ranked(evaluations, candidates)[0]
    best_loss = evaluations[best].metrics["log_loss"]
    baseline_loss = evaluations[baseline].metrics["log_loss"]
    if beats(best_loss, baseline_loss, margin):
        return best, (
            f"{best} has the lowest test log loss of the servable candidates ({best_loss:.4f}) "
            f"and beats the points "
            f"baseline ({baseline_loss:.4f})"
        )
    return baseline, (
        f"no candidate beats the points baseline's test log loss ({baseline_loss:.4f}; best "
        f"candidate {best}: {best_loss:.4f}), so the baseline is served"
    )


def promotion_decision(
    challenger: float,
    baseline: float,
    champion: float | None,
    margin: float,
    is_baseline: bool,
    against_champion: float | None = None,
    basis: str = "on this window",
    test_conversions: int | None = None,
    min_test_conversions: int = 0,
    versus_global: Bout | None = None,
) -> Promotion:
    """Move ``champion`` only when the new version earns it (log losses on one window).

    ``challenger`` and ``baseline`` are the test-window fits' log losses on this run's test
    window; ``champion`` is the current champion's re-evaluated on this run's test rows named by
    ``basis``, where the new version's is ``against_champion`` (default ``challenger``), or
    ``None`` when there is no champion yet.  A test window with fewer than
    ``min_test_conversions`` conversions (a segment model's: ``test_conversions``) is too small
    to judge on, so nothing is promoted on its noise.  A segment model must also beat the global
    model (``versus_global``: both window fits on the test rows they share, whose conversions
    must be as many), or the global model keeps serving its segment.
    """
    if test_conversions is not None and test_conversions < min_test_conversions:
        return Promotion(
            False,
            f"its test window holds {test_conversions} conversions, fewer than the "
            f"{min_test_conversions} needed to judge it (segments.min_test_conversions)",
        )
    if versus_global is not None:
        refused = _versus_global(versus_global, margin, min_test_conversions)
        if refused is not None:
            return refused
    if champion is None:
        return Promotion(True, "no champion yet: the new version becomes champion")
    if not is_baseline and not beats(challenger, baseline, margin):
        return Promotion(
            False,
            f"log loss {challenger:.4f} does not beat the points baseline ({baseline:.4f}) by {margin}",
        )
    mine = challenger if against_champion is None else against_champion
    if not beats(mine, champion, margin):
        return Promotion(
            False,
            f"log loss {mine:.4f} does not beat the champion ({champion:.4f}) by {margin} {basis}",
        )
    against_baseline = (
        "" if is_baseline else f", and {challenger:.4f} beats the points baseline ({baseline:.4f})"
    )
    return Promotion(
        True, f"log loss {mine:.4f} beats the champion ({champion:.4f}) {basis}{against_baseline}"
    )


def _versus_global(bout: Bout, margin: float, min_conversions: int) -> Promotion | None:
    """Why a segment model is not promoted over the global model (``None``: it beats it)."""
    shared = bout.conversions or 0
    if shared < min_conversions:
        return Promotion(
            False,
            f"the test rows it shares with the global model hold {shared} conversions, fewer "
            f"than the {min_conversions} needed to compare them (segments.min_test_conversions)",
        )
    if not beats(bout.challenger, bout.champion, margin):
        return Promotion(
            False,
            f"log loss {bout.challenger:.4f} does not beat the global model ({bout.champion:.4f}) "
            f"by {margin} {bout.basis}: the global model serves this segment",
            retire=True,
        )
    return None
