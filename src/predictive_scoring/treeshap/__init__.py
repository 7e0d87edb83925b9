"""Exact path-dependent TreeSHAP for LightGBM boosters, compiled and parallel over rows.

The values are those of ``booster.predict(X, pred_contrib=True)`` (the algorithm of Lundberg et
al., with node data counts as covers) to floating-point rounding, computed another way: each leaf
contributes to the features on its path only, and what it contributes depends only on which of
those features' split conditions the row meets.  With ``d`` distinct features on a path there are
``2**d`` such patterns, so every leaf's contributions are tabulated once per model (Shapley
weights over the path's zero fractions, as in GPUTreeShap's path decomposition) and a row costs
one decision per split node and one table lookup per (leaf, path feature).  Rows go through in
transposed blocks, tree by tree (:mod:`~predictive_scoring.treeshap.kernel`), so a tree's tables
stay in cache and its splits are decided for a whole block at once.  For the shallow trees the
served booster uses this is several times faster than LightGBM's own implementation, and faster
than LightGBM's ``predict`` alone: the same pass adds the reached leaves' values in LightGBM's order
and applies its sigmoid, so :func:`explained` gives LightGBM's own raw scores and probabilities
with the explanation.  A tree that splits on one feature only (an additive booster is made of
them) gives that feature ``f(x) - E f``, the value of the leaf the row reaches, and the others
nothing: no table is read there.

LightGBM's decision rules are reproduced exactly: ``<=`` on numeric splits with its missing-value
handling (``None``: NaN read as 0; ``Zero``/``NaN``: the default direction), and category sets on
categorical splits (NaN and negative codes go right).

:mod:`~predictive_scoring.treeshap.tables` builds the tables from ``Booster.dump_model()``;
:mod:`~predictive_scoring.treeshap.kernel` is the compiled kernel that reads them.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from predictive_scoring.treeshap import kernel
from predictive_scoring.treeshap import tables as _tables
from predictive_scoring.treeshap.kernel import (
    BLOCK,
    CATEGORICAL,
    MISSING_NAN,
    MISSING_NONE,
    MISSING_ZERO,
    NUMERIC,
    ZERO_THRESHOLD,
)
from predictive_scoring.treeshap.tables import (
    MAX_PATH_FEATURES,
    TABLE_BUDGET_BYTES,
    TreeTables,
)

__all__ = [
    "BLOCK",
    "CATEGORICAL",
    "MAX_PATH_FEATURES",
    "MISSING_NAN",
    "MISSING_NONE",
    "MISSING_ZERO",
    "NUMERIC",
    "TABLE_BUDGET_BYTES",
    "ZERO_THRESHOLD",
    "Explained",
    "TreeTables",
    "build_tables",
    "contributions",
    "explained",
    "numeric_matrix",
    "predicted",
    "tables_for",
    "tree_contributions",
]

_CACHE: weakref.WeakKeyDictionary[Any, TreeTables | None] = weakref.WeakKeyDictionary()
# numba's default threading layer (workqueue) must not be entered from two threads at once (a
# threaded model server could): kernel launches are serialised; each still uses every core.
_KERNEL = threading.Lock()


def build_tables(
    dump: dict[str, Any], pandas_categorical: list[list[Any]] | None
) -> TreeTables | None:
    """:func:`.tables.build_tables` with the limits :data:`MAX_PATH_FEATURES` and
    :data:`TABLE_BUDGET_BYTES` read from this package at each call, so setting them here (as
    tests do) takes effect."""
    return _tables.build_tables(
        dump,
        pandas_categorical,
        max_path_features=MAX_PATH_FEATURES,
        table_budget_bytes=TABLE_BUDGET_BYTES,
    )


def tables_for(booster: Any) -> TreeTables | None:
    """The tables of a fitted ``LGBMClassifier``, cached per fitted LightGBM ``Booster``.

    Every fit makes a new ``Booster``, so a refit estimator is never explained with stale tables.

    Parameters
    ----------
    booster : lightgbm.LGBMModel
        A fitted estimator (its ``booster_`` is read).

    Returns
    -------
    TreeTables or None
        ``None`` when :func:`build_tables` gives none (e.g. a path with more than
        :data:`MAX_PATH_FEATURES` distinct features).
    """
    fitted = booster.booster_
    if fitted not in _CACHE:
        _CACHE[fitted] = build_tables(fitted.dump_model(), fitted.pandas_categorical)
    return _CACHE[fitted]


@dataclass(frozen=True)
class Explained:
    """One pass of the compiled kernel over some rows."""

    values: np.ndarray  # rows × features: each feature's contribution to the raw score
    base: np.ndarray  # per row: the expected raw score
    raw: np.ndarray  # per row: the raw score, as ``predict(raw_score=True)`` gives it
    probability: np.ndarray | None  # per row: ``predict_proba(X)[:, 1]``; None: not binary


def explained(booster: Any, X: pd.DataFrame) -> Explained | None:
    """Exact TreeSHAP values, raw scores and probabilities of ``X``, in one pass.

    The raw scores and probabilities are LightGBM's own to the last bit (the reached leaves'
    values added in its order, its sigmoid), so a caller that needs both the explanation and
    the prediction pays for one walk over the trees.

    Parameters
    ----------
    booster : lightgbm.LGBMModel
        A fitted single-output estimator.
    X : pandas.DataFrame
        Rows to explain, with the training frame's columns (categoricals as pandas categories).

    Returns
    -------
    Explained or None
        ``None`` when the booster is too deep for tables.

    Raises
    ------
    ValueError
        When ``X`` has another number of columns, or of categorical columns, than training had.
    """
    return _walk(booster, X, explain=True)


def predicted(booster: Any, X: pd.DataFrame) -> Explained | None:
    """Raw scores and probabilities of ``X`` (``booster.predict(X, raw_score=True)`` and
    ``predict_proba(X)[:, 1]``, to the last bit) from the compiled walk over the trees without
    the explanation (several times faster than LightGBM's ``predict`` on the shallow boosters
    the pipeline fits): an :class:`Explained` whose ``values`` have no columns.  ``None`` when
    the booster is too deep for tables.  Parameters and errors as :func:`explained`'s."""
    return _walk(booster, X, explain=False)


def _walk(booster: Any, X: pd.DataFrame, explain: bool) -> Explained | None:
    """One pass of the kernel (values with no columns unless ``explain``); ``None`` when the
    booster is too deep for tables."""
    tables = tables_for(booster)
    if tables is None:
        return None
    _check_columns(X, tables)
    matrix = numeric_matrix(X, tables.pandas_categorical)
    arrays = tables.kernel_arrays()
    with _KERNEL:
        shape = (tables.max_nodes, tables.max_leaves)
        values, raw = kernel.run(matrix, arrays, shape, tables.n_features, explain=explain)
        # the scale as the model string prints it (6 digits): a fitted estimator predicts with
        # that, since LightGBM's training reloads the model from its string
        scale = tables.sigmoid
        probability = None if scale is None else kernel.sigmoid(raw, scale)
    return Explained(values, np.full(len(matrix), tables.expected_value), raw, probability)


def contributions(booster: Any, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact TreeSHAP values from the compiled tables: :func:`explained`'s values (rows ×
    features) and base per row, with its parameters and errors; ``None`` when the booster is
    too deep for tables."""
    result = explained(booster, X)
    return None if result is None else (result.values, result.base)


def tree_contributions(booster: Any, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Exact TreeSHAP of a LightGBM estimator, whatever its depth.

    Parameters
    ----------
    booster : lightgbm.LGBMModel
        A fitted estimator.
    X : pandas.DataFrame
        Rows to explain.

    Returns
    -------
    tuple of numpy.ndarray
        The values (rows × features) and the base per row, float64: from the compiled tables
        when :func:`contributions` can serve the booster, else from LightGBM's own
        ``predict(X, pred_contrib=True)`` (its last column is the base).
    """
    fast = contributions(booster, X)
    if fast is not None:
        return fast
    raw = np.asarray(booster.predict(X, pred_contrib=True), dtype=float)
    return raw[:, :-1], raw[:, -1]


def numeric_matrix(X: pd.DataFrame, pandas_categorical: list[list[Any]] | None) -> np.ndarray:
    """``X`` as LightGBM reads a pandas frame: categories as their training codes, NaN missing.

    Parameters
    ----------
    X : pandas.DataFrame
        Numeric and categorical columns.
    pandas_categorical : list of lists, optional
        Each categorical column's training categories, in column order.

    Returns
    -------
    numpy.ndarray
        Rows × columns float64, C-contiguous; unseen categories and NaN as NaN.
    """
    columns = []
    categorical = iter(pandas_categorical or [])
    for name in X.columns:
        values = X[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            known = next(categorical)
            codes = values.cat.set_categories(known).cat.codes.to_numpy(dtype=float)
            codes[codes < 0] = np.nan
            columns.append(codes)
        else:
            columns.append(pd.to_numeric(values).to_numpy(dtype=float, na_value=np.nan))
    return np.ascontiguousarray(np.column_stack(columns)) if columns else np.empty((len(X), 0))


def _check_columns(X: pd.DataFrame, tables: TreeTables) -> None:
    """Refuse a frame whose column counts are not the training frame's."""
    categorical = sum(isinstance(t, pd.CategoricalDtype) for t in X.dtypes)
    expected = len(tables.pandas_categorical or [])
    if X.shape[1] != tables.n_features or categorical != expected:
        raise ValueError(
            f"the booster was trained on {tables.n_features} columns "
            f"({expected} categorical); got {X.shape[1]} ({categorical} categorical)"
        )
