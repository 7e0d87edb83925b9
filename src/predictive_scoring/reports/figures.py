"""The charts of a training run, drawn once: logged to MLflow and shown in the model card."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from predictive_scoring.evaluation import comparison_figures
from predictive_scoring.explain import importance_figure, served_importance

__all__ = ["RunCharts", "run_charts"]

PNG_DPI = 96


@dataclass(frozen=True)
class RunCharts:
    """PNG images by file name (``calibration.png``, ``gains.png``, ``precision_recall.png``,
    ``shap_summary.png``) and the served model's SHAP importance per field."""

    images: dict[str, bytes]
    importance: pd.DataFrame | None


def run_charts(
    labels: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    served: Any | None,
    reference_features: pd.DataFrame,
) -> RunCharts:
    """Draw every model's comparison charts on the test window (``labels``, ``predictions``) and
    the ``served`` model's importance on ``reference_features``."""
    import matplotlib.pyplot as plt

    figures = comparison_figures(labels, predictions)
    importance = None if served is None else served_importance(served, reference_features)
    if importance is not None:
        figures["shap_summary.png"] = importance_figure(importance)
    images = {}
    for name, figure in figures.items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=PNG_DPI, bbox_inches="tight")  # type: ignore[attr-defined]
        plt.close(figure)  # type: ignore[arg-type]
        images[name] = buffer.getvalue()
    return RunCharts(images, importance)
