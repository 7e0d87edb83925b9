"""Private helpers the estimators share: input checks, discretisation, shrunk conversion rates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import validate_data

__all__ = [
    "MISSING",
    "BinaryTabularMixin",
    "bin_label",
    "binary_target",
    "discretise",
    "frame_input",
    "is_numeric",
    "quantile_edges",
    "shrunk_rate",
]

MISSING = "(missing)"


def frame_input(
    estimator: BaseEstimator, X: Any, y: Any = None, *, reset: bool
) -> tuple[pd.DataFrame, Any]:
    """Check ``X`` (and ``y``) the sklearn way and return ``X`` as a DataFrame.

    DataFrames keep their dtypes (categorical columns stay categorical); arrays are validated and
    given column names ``x0, x1, ...``.
    """
    if isinstance(X, pd.DataFrame):
        if y is None and reset:
            raise ValueError("requires y to be passed, but the target y is None")
        if y is None:
            validate_data(estimator, X, skip_check_array=True, reset=reset)
        else:
            _, y = validate_data(estimator, X, y, skip_check_array=True, reset=reset)
            y = np.asarray(y)
        if len(X) == 0:
            raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
        return X, y
    if y is None and reset:
        raise ValueError("requires y to be passed, but the target y is None")
    if y is None:
        array = validate_data(estimator, X, ensure_all_finite="allow-nan", reset=reset)
    else:
        array, y = validate_data(estimator, X, y, ensure_all_finite="allow-nan", reset=reset)
    columns = [f"x{i}" for i in range(array.shape[1])]
    return pd.DataFrame(array, columns=columns), y


def binary_target(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(classes, y01)``; raise for anything but two classes."""
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    y = np.asarray(y)
    check_classification_targets(y)
    kind = type_of_target(y, input_name="y", raise_unknown=True)
    if kind != "binary":
        raise ValueError(
            f"Only binary classification is supported. The type of the target is {kind}."
        )
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError("Classifier can't train when only one class is present.")
    return classes, (y == classes[1]).astype(float)


def quantile_edges(values: pd.Series, bins: int) -> np.ndarray:
    """Inner bin edges at quantiles of the present values (duplicates removed)."""
    present = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if len(present) == 0:
        return np.array([], dtype=float)
    inner = np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(inner)


def discretise(values: pd.Series, edges: np.ndarray | None) -> pd.Series:
    """Values as text labels: categories as they are, numbers as their bin, missing as missing."""
    if edges is None:
        text = values.astype("string")
        return text.fillna(MISSING).astype("object")
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    codes = np.searchsorted(edges, numbers, side="right")
    labels = np.array([bin_label(edges, i) for i in range(len(edges) + 1)], dtype=object)
    return pd.Series(np.where(np.isnan(numbers), MISSING, labels[codes]), index=values.index)


def bin_label(edges: np.ndarray, i: int) -> str:
    """The label of bin ``i`` (``[edges[i-1], edges[i])``) of :func:`discretise`."""
    if len(edges) == 0:
        return "all"
    if i == 0:
        return f"< {edges[0]:.4g}"
    if i == len(edges):
        return f">= {edges[-1]:.4g}"
    return f"{edges[i - 1]:.4g} to < {edges[i]:.4g}"


def is_numeric(values: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(values.dtype)) and not isinstance(
        values.dtype, pd.CategoricalDtype
    )


def shrunk_rate(
    conversions: np.ndarray, support: np.ndarray, prior: float, strength: float
) -> np.ndarray:
    """Conversion rate pulled toward ``prior`` with the weight of ``strength`` pseudo-rows."""
    return (conversions + strength * prior) / (support + strength)


class BinaryTabularMixin:
    """Estimator tags shared by our table classifiers: binary only, missing values allowed."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.poor_score = True
        return tags
