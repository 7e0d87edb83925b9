"""The charts of a training run, drawn once: logged to MLflow and shown in the model card."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd

from predictive_scoring.evaluation import comparison_figures
from predictive_scoring.explain import importance_figure, served_importance
from predictive_scoring.training import TrainingResult


@dataclass(frozen=True)
class RunCharts:
    """PNG images by file name (``calibration.png``, ``gains.png``, ``precision_recall.png``,
    ``shap_summary.png``) and the served model's SHAP importance per field."""

    images: dict[str, bytes]
    importance: pd.DataFrame | None


def run_charts(result: TrainingResult) -> RunCharts:
    """Draw the comparison charts and the served model's importance of ``result``."""
    import matplotlib.pyplot as plt

    figures = comparison_figures(result.test_labels, result.test_predictions)
    importance = (
        None
        if result.serving is None
        else served_importance(result.serving, result.reference_features)
    )
    if importance is not None:
        figures["shap_summary.png"] = importance_figure(importance)
    images = {}
    for name, figure in figures.items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")  # type: ignore[attr-defined]
        plt.close(figure)  # type: ignore[arg-type]
        images[name] = buffer.getvalue()
    return RunCharts(images, importance)
