"""Metrics, lift and gains, calibration: how good a model's probabilities are on a window.

Every metric has a stable name (the keys of :data:`METRICS`), used in comparison tables and MLflow.
Expected calibration error uses ``ECE_BINS`` equal-width probability bins, weighted by their share
of rows.  Intervals are percentile bootstrap intervals over rows with a fixed seed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from predictive_scoring.compiled import compiled

__all__ = [
    "BOOTSTRAP_SAMPLES",
    "ECE_BINS",
    "METRICS",
    "PROB_FLOOR",
    "Evaluation",
    "Metric",
    "calibration_curve",
    "capture_at",
    "comparison_figures",
    "comparison_table",
    "evaluate",
    "evaluate_all",
    "expected_calibration_error",
    "format_comparison",
    "gains_curve",
    "handoff_table",
    "lift_at",
    "top_share_mask",
]

ECE_BINS = 10
BOOTSTRAP_SAMPLES = 200
PROB_FLOOR = 1e-6

Metric = Callable[[np.ndarray, np.ndarray], float]


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> float:
    """Σ_bins (rows in bin / rows) · |mean predicted − observed rate|, equal-width bins."""
    which = np.minimum((p * bins).astype(int), bins - 1)
    predicted = np.bincount(which, weights=p, minlength=bins)
    observed = np.bincount(which, weights=y, minlength=bins)
    return float(np.abs(predicted - observed).sum() / len(y))


def top_share_mask(p: np.ndarray, share: float) -> np.ndarray:
    """The rows in the top ``share`` by probability (ties broken by position, deterministically)."""
    n = max(1, int(np.ceil(share * len(p))))
    order = np.argsort(-p, kind="stable")
    mask = np.zeros(len(p), dtype=bool)
    mask[order[:n]] = True
    return mask


def _handed_off(y: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Rows handed off by ``mask`` (a lead's snapshot rows each count): their count and share,
    precision, recall and rows per conversion (``leads_per_conversion``)."""
    n, won, total = int(mask.sum()), float(y[mask].sum()), float(y.sum())
    return {
        "rows": n,
        "share": n / len(y) if len(y) else float("nan"),
        "precision": won / n if n else float("nan"),
        "recall": won / total if total else float("nan"),
        "leads_per_conversion": n / won if won else float("nan"),
    }


def handoff_table(
    y: np.ndarray, points: np.ndarray, threshold: float, served: np.ndarray
) -> dict[str, dict[str, float]]:
    """A rules file's hand-off at its ``threshold`` (``points >= threshold``) against the
    served model's probabilities ``served`` handing off as many leads (its top ones, ties by
    position), on the same rows; ``model_cut`` is the lowest probability the model hands off."""
    y = np.asarray(y, dtype=float)
    rules = np.asarray(points) >= threshold
    n = int(rules.sum())
    order = np.argsort(-np.asarray(served), kind="stable")
    model = np.zeros(len(y), dtype=bool)
    model[order[:n]] = True
    cut = float(np.asarray(served)[order[n - 1]]) if n else float("nan")
    return {"rules": _handed_off(y, rules), "model": {**_handed_off(y, model), "model_cut": cut}}


def capture_at(y: np.ndarray, p: np.ndarray, share: float) -> float:
    """Share of all conversions found in the top ``share`` of rows."""
    total = y.sum()
    return float(y[top_share_mask(p, share)].sum() / total) if total else float("nan")


def lift_at(y: np.ndarray, p: np.ndarray, share: float) -> float:
    """Conversion rate in the top ``share`` of rows over the overall rate."""
    overall = y.mean()
    return float(y[top_share_mask(p, share)].mean() / overall) if overall else float("nan")


def _clipped_log_loss(y: np.ndarray, p: np.ndarray) -> float:
    return float(log_loss(y, np.clip(p, PROB_FLOOR, 1 - PROB_FLOOR), labels=[0, 1]))


METRICS: Mapping[str, Metric] = {
    "roc_auc": lambda y, p: float(roc_auc_score(y, p)),
    "pr_auc": lambda y, p: float(average_precision_score(y, p)),
    "brier": lambda y, p: float(brier_score_loss(y, p)),
    "log_loss": _clipped_log_loss,
    "ece": expected_calibration_error,
    "lift_10": lambda y, p: lift_at(y, p, 0.10),
    "lift_20": lambda y, p: lift_at(y, p, 0.20),
    "capture_10": lambda y, p: capture_at(y, p, 0.10),
    "capture_20": lambda y, p: capture_at(y, p, 0.20),
}


@dataclass(frozen=True)
class Evaluation:
    """One model's metrics on one window, with bootstrap intervals."""

    model: str
    metrics: dict[str, float]
    lower: dict[str, float]
    upper: dict[str, float]
    rows: int
    positives: int

    def row(self) -> dict[str, object]:
        """A flat record for comparison tables."""
        record: dict[str, object] = {"model": self.model, "rows": self.rows}
        for name, value in self.metrics.items():
            record[name] = value
            record[f"{name}_low"] = self.lower[name]
            record[f"{name}_high"] = self.upper[name]
        return record


def evaluate(
    model: str, y: np.ndarray, p: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> Evaluation:
    """Every metric of ``p`` against ``y``, with 95 % percentile bootstrap intervals."""
    return evaluate_all(y, {model: p}, samples, seed)[model]


def evaluate_all(
    y: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> dict[str, Evaluation]:
    """:func:`evaluate` of every model's ``predictions`` on the same rows, each figure what
    ``evaluate`` gives it alone: the resamples (one seeded stream) are drawn once for all."""
    y = np.asarray(y, dtype=float)
    scored = {name: np.asarray(p, dtype=float) for name, p in predictions.items()}
    draws = _bootstrap(y, scored, samples, seed)
    evaluations = {}
    for name, p in scored.items():
        point = {metric: compute(y, p) for metric, compute in METRICS.items()}
        lower = {m: float(np.nanpercentile(draws[name][m], 2.5)) for m in METRICS}
        upper = {m: float(np.nanpercentile(draws[name][m], 97.5)) for m in METRICS}
        evaluations[name] = Evaluation(name, point, lower, upper, len(y), int(y.sum()))
    return evaluations


def _bootstrap(
    y: np.ndarray, predictions: Mapping[str, np.ndarray], samples: int, seed: int
) -> dict[str, dict[str, np.ndarray]]:
    """Every model's metrics on ``samples`` resamples of the rows (drawn with replacement).

    The rows are sorted once per model; a resample is the number of times it draws each row, so
    every metric is computed as a weighted one in one pass over the sorted rows instead of
    re-sorting each resample (:class:`_SortedRows`).  The draws are those of indexing the rows
    with ``rng.integers``; the metrics equal those of the resampled arrays, except that leads
    tied on probability at the top-10/20 % cut are taken in row order rather than in the
    resample's.
    """
    rng = np.random.default_rng(seed)
    sorted_rows = {name: _SortedRows(y, p) for name, p in predictions.items()}
    draws: dict[str, dict[str, list[float]]] = {
        name: {metric: [] for metric in METRICS} for name in predictions
    }
    for _ in range(samples):
        counts = np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y))
        for name, rows in sorted_rows.items():
            metrics = rows.metrics(counts)
            if metrics is None:
                continue
            for metric in METRICS:
                draws[name][metric].append(metrics[metric])
    return {
        name: {metric: np.asarray(values) for metric, values in model.items()}
        for name, model in draws.items()
    }


class _SortedRows:
    """Labels and probabilities sorted by falling probability once, with what every resample
    needs: tie groups, each row's log loss, squared error and calibration bin."""

    def __init__(self, y: np.ndarray, p: np.ndarray) -> None:
        self.order = np.argsort(-p, kind="stable")
        self.y, self.p = y[self.order], p[self.order]
        self.starts = np.flatnonzero(np.r_[True, np.diff(self.p) != 0])
        clipped = np.clip(self.p, PROB_FLOOR, 1 - PROB_FLOOR)
        self.loss = -(self.y * np.log(clipped) + (1 - self.y) * np.log(1 - clipped))
        self.squared = (self.p - self.y) ** 2
        self.bins = np.minimum((self.p * ECE_BINS).astype(int), ECE_BINS - 1)

    def metrics(self, counts: np.ndarray) -> dict[str, float] | None:
        """Every metric of the resample drawing row ``i`` ``counts[i]`` times (``None`` when it
        holds one class only), in one compiled pass over the sorted rows."""
        values = _resample_metrics(
            counts, self.order, self.y, self.p, self.starts, self.loss, self.squared, self.bins,
            TOP_SHARES,
        )  # fmt: skip
        if values[0] != values[0]:  # NaN: one class only
            return None
        return dict(zip(RESAMPLED, (float(v) for v in values), strict=True))


TOP_SHARES = np.array([0.10, 0.20])
RESAMPLED = (
    "roc_auc", "pr_auc", "brier", "log_loss", "ece",
    *(f"{name}_{round(share * 100)}" for share in TOP_SHARES for name in ("lift", "capture")),
)  # fmt: skip
"""The metrics :func:`_resample_metrics` returns, in its order."""


@compiled()
def _resample_metrics(
    counts: np.ndarray,
    order: np.ndarray,
    y: np.ndarray,
    p: np.ndarray,
    starts: np.ndarray,
    loss: np.ndarray,
    squared: np.ndarray,
    bins: np.ndarray,
    shares: np.ndarray,
) -> np.ndarray:
    """The metrics of :data:`RESAMPLED` for rows sorted by falling probability (row ``i`` is
    row ``order[i]`` of the resample's ``counts``), each drawn as many times as it counts (tie
    groups begin at ``starts``): ROC-AUC with ties counted half, average
    precision over tie groups, weighted Brier, log loss and ECE over ``bins``, and for each top
    share the lift and capture of its first ``ceil(share × n)`` draws.  NaN first when the
    resample holds one class only."""
    n = order.shape[0]
    w = np.empty(n)
    for i in range(n):
        w[i] = counts[order[i]]
    out = np.zeros(3 + 2 + 2 * shares.shape[0])
    total_positive = 0.0
    total_negative = 0.0
    for i in range(n):
        total_positive += w[i] * y[i]
        total_negative += w[i] * (1.0 - y[i])
    if total_positive == 0.0 or total_negative == 0.0:
        out[0] = np.nan
        return out
    tp = fp = roc = ap = 0.0
    for g in range(starts.shape[0]):
        end = starts[g + 1] if g + 1 < starts.shape[0] else n
        group_positive = group_negative = 0.0
        for i in range(starts[g], end):
            group_positive += w[i] * y[i]
            group_negative += w[i] * (1.0 - y[i])
        tp += group_positive
        fp += group_negative
        roc += group_positive * (total_negative - fp + group_negative / 2.0)
        ap += group_positive * (tp / max(tp + fp, 1e-300))
    predicted = np.zeros(ECE_BINS)
    observed = np.zeros(ECE_BINS)
    brier = log_loss_sum = 0.0
    for i in range(n):
        brier += w[i] * squared[i]
        log_loss_sum += w[i] * loss[i]
        predicted[bins[i]] += w[i] * p[i]
        observed[bins[i]] += w[i] * y[i]
    out[0] = roc / (total_positive * total_negative)
    out[1] = ap / total_positive
    out[2] = brier / n
    out[3] = log_loss_sum / n
    out[4] = np.abs(predicted - observed).sum() / n
    rate = total_positive / n
    for k in range(shares.shape[0]):
        top = max(1, int(np.ceil(shares[k] * n)))
        drawn = captured = 0.0
        for i in range(n):
            if drawn >= top:
                break
            taken = min(w[i], top - drawn)
            captured += taken * y[i]
            drawn += w[i]
        out[5 + 2 * k] = (captured / top) / rate
        out[6 + 2 * k] = captured / total_positive
    return out


def comparison_table(evaluations: list[Evaluation]) -> pd.DataFrame:
    """One row per model with every metric and its interval."""
    return pd.DataFrame([e.row() for e in evaluations]).set_index("model")


def format_comparison(evaluations: list[Evaluation]) -> str:
    """The comparison as aligned text: each metric with its interval."""
    names = ["roc_auc", "pr_auc", "log_loss", "brier", "ece", "lift_10", "capture_20"]
    header = f"{'model':<22}" + "".join(f"{n:>22}" for n in names)
    lines = [header]
    for e in evaluations:
        cells = "".join(
            f"{e.metrics[n]:>8.4f} [{e.lower[n]:.3f},{e.upper[n]:.3f}]".rjust(22) for n in names
        )
        lines.append(f"{e.model:<22}{cells}")
    return "\n".join(lines)


# ---- curves ------------------------------------------------------------------------------------


def calibration_curve(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> pd.DataFrame:
    """Per equal-width bin: mean predicted probability, observed rate and row count."""
    which = np.minimum((np.asarray(p) * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": which, "predicted": p, "observed": y})
    return frame.groupby("bin").agg(
        predicted=("predicted", "mean"), observed=("observed", "mean"), rows=("observed", "size")
    )


def gains_curve(y: np.ndarray, p: np.ndarray, points: int = 100) -> pd.DataFrame:
    """Share of conversions captured against share of rows contacted, best-scored first."""
    order = np.argsort(-np.asarray(p), kind="stable")
    captured = np.cumsum(np.asarray(y)[order]) / max(1.0, float(np.sum(y)))
    shares = np.linspace(0, 1, points + 1)
    positions = np.clip((shares * len(order)).astype(int) - 1, 0, len(order) - 1)
    return pd.DataFrame(
        {"share": shares, "captured": np.where(shares == 0, 0.0, captured[positions])}
    )


# ---- plots -------------------------------------------------------------------------------------


def comparison_figures(y: np.ndarray, predictions: Mapping[str, np.ndarray]) -> dict[str, object]:
    """Calibration, cumulative gains and precision-recall charts of every model on one window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    figures: dict[str, object] = {}
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
    for name, p in predictions.items():
        curve = calibration_curve(y, p)
        ax.plot(curve["predicted"], curve["observed"], marker="o", label=name)
    ax.set(xlabel="predicted probability", ylabel="observed conversion rate", title="Calibration")
    ax.legend()
    figures["calibration.png"] = fig
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="random")
    for name, p in predictions.items():
        gains = gains_curve(y, p)
        ax.plot(gains["share"], gains["captured"], label=name)
    ax.set(
        xlabel="share of leads contacted",
        ylabel="share of conversions captured",
        title="Cumulative gains",
    )
    ax.legend()
    figures["gains.png"] = fig
    fig, ax = plt.subplots(figsize=(6, 5))
    for name, p in predictions.items():
        precision, recall, _ = precision_recall_curve(y, p)
        ax.plot(recall, precision, label=name)
    ax.axhline(float(np.mean(y)), color="grey", linestyle=":", label="base rate")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    ax.legend()
    figures["precision_recall.png"] = fig
    return figures
