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
    "expected_calibration_error",
    "format_comparison",
    "gains_curve",
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
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    point = {name: metric(y, p) for name, metric in METRICS.items()}
    draws = _bootstrap(y, p, samples, seed)
    lower = {name: float(np.nanpercentile(draws[name], 2.5)) for name in METRICS}
    upper = {name: float(np.nanpercentile(draws[name], 97.5)) for name in METRICS}
    return Evaluation(model, point, lower, upper, len(y), int(y.sum()))


def _bootstrap(y: np.ndarray, p: np.ndarray, samples: int, seed: int) -> dict[str, np.ndarray]:
    """Every metric on ``samples`` resamples of the rows (drawn with replacement).

    The rows are sorted once; a resample is the number of times it draws each row, so every
    metric is computed as a weighted one in one pass over the sorted rows instead of re-sorting
    each resample (:class:`_SortedRows`).  The draws are those of indexing the rows with
    ``rng.integers``; the metrics equal those of the resampled arrays, except that leads tied on
    probability at the top-10/20 % cut are taken in row order rather than in the resample's.
    """
    rng = np.random.default_rng(seed)
    rows = _SortedRows(y, p)
    draws: dict[str, list[float]] = {name: [] for name in METRICS}
    for _ in range(samples):
        counts = np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y))
        metrics = rows.metrics(counts)
        if metrics is None:
            continue
        for name in METRICS:
            draws[name].append(metrics[name])
    return {name: np.asarray(values) for name, values in draws.items()}


class _SortedRows:
    """Labels and probabilities sorted by falling probability once, with what every resample
    needs: tie groups, each row's log loss, squared error and calibration bin."""

    def __init__(self, y: np.ndarray, p: np.ndarray) -> None:
        self.order = np.argsort(-p, kind="stable")
        self.y, self.p = y[self.order], p[self.order]
        self.n = len(y)
        self.starts = np.flatnonzero(np.r_[True, np.diff(self.p) != 0])
        clipped = np.clip(self.p, PROB_FLOOR, 1 - PROB_FLOOR)
        self.loss = -(self.y * np.log(clipped) + (1 - self.y) * np.log(1 - clipped))
        self.squared = (self.p - self.y) ** 2
        self.bins = np.minimum((self.p * ECE_BINS).astype(int), ECE_BINS - 1)

    def metrics(self, counts: np.ndarray) -> dict[str, float] | None:
        """Every metric of the resample drawing row ``i`` ``counts[i]`` times (``None`` when it
        holds one class only)."""
        w = counts[self.order].astype(float)
        positive, negative = w * self.y, w * (1 - self.y)
        total_positive = positive.sum()
        total_negative = negative.sum()
        if total_positive == 0 or total_negative == 0:
            return None
        tp = np.cumsum(np.add.reduceat(positive, self.starts))
        fp = np.cumsum(np.add.reduceat(negative, self.starts))
        group_positive = np.diff(tp, prepend=0.0)
        group_negative = np.diff(fp, prepend=0.0)
        below = total_negative - fp  # negatives ranked strictly lower than each tie group
        roc = float(np.sum(group_positive * (below + group_negative / 2)))
        precision = tp / np.maximum(tp + fp, 1e-300)
        ap = float(np.sum(group_positive * precision) / total_positive)
        predicted = np.bincount(self.bins, weights=w * self.p, minlength=ECE_BINS)
        observed = np.bincount(self.bins, weights=positive, minlength=ECE_BINS)
        out = {
            "roc_auc": roc / (total_positive * total_negative),
            "pr_auc": ap,
            "brier": float(np.dot(w, self.squared) / self.n),
            "log_loss": float(np.dot(w, self.loss) / self.n),
            "ece": float(np.abs(predicted - observed).sum() / self.n),
        }
        rate = total_positive / self.n
        cumulative = np.cumsum(w)
        for share in (10, 20):
            top = max(1, int(np.ceil(share / 100 * self.n)))
            taken = np.clip(top - (cumulative - w), 0.0, w)
            captured = float(np.dot(taken, self.y))
            out[f"lift_{share}"] = (captured / top) / rate
            out[f"capture_{share}"] = captured / total_positive
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
