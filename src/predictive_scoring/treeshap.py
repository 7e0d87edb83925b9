"""Exact path-dependent TreeSHAP for LightGBM boosters, compiled and parallel over rows.

The values are those of ``booster.predict(X, pred_contrib=True)`` (the algorithm of Lundberg et
al., with node data counts as covers) to floating-point rounding, computed another way: each leaf
contributes to the features on its path only, and what it contributes depends only on which of
those features' split conditions the row meets.  With ``d`` distinct features on a path there are
``2**d`` such patterns, so every leaf's contributions are tabulated once per model (Shapley
weights over the path's zero fractions, as in GPUTreeShap's path decomposition) and a row costs
one decision per split node and one table lookup per (leaf, path feature).  For the shallow trees
the served booster uses this is several times faster than LightGBM's own implementation.  A tree
that splits on one feature only (an additive booster is made of them) gives that feature
``f(x) - E f`` and the others nothing, so a row costs one root-to-leaf walk there.

LightGBM's decision rules are reproduced exactly: ``<=`` on numeric splits with its missing-value
handling (``None``: NaN read as 0; ``Zero``/``NaN``: the default direction), and category sets on
categorical splits (NaN and negative codes go right).
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numba
import numpy as np
import pandas as pd

MAX_PATH_FEATURES = 10  # tables grow as 2**d per leaf; deeper boosters use LightGBM's own code
TABLE_BUDGET_BYTES = 256 * 2**20  # ... as do boosters whose tables would take more memory
ZERO_THRESHOLD = 1e-35  # LightGBM's kZeroThreshold
NUMERIC, CATEGORICAL = 0, 1
MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2
BLOCK = 512


@dataclass(frozen=True)
class TreeTables:
    """A booster's trees as flat arrays, and every leaf's contribution table."""

    feature: np.ndarray  # per split node
    threshold: np.ndarray
    kind: np.ndarray
    default_left: np.ndarray
    missing: np.ndarray
    category_start: np.ndarray
    category_end: np.ndarray
    categories: np.ndarray
    tree_nodes: np.ndarray  # per tree: first split node, and one past the last
    tree_leaves: np.ndarray  # per tree: first leaf, and one past the last
    left_child: np.ndarray  # per split node: tree-local split node, or -(global leaf + 1)
    right_child: np.ndarray
    tree_feature: np.ndarray  # per tree: the one feature all its splits use, else -1
    tree_expected: np.ndarray  # per tree: its leaves' values weighted by their rows
    leaf_value: np.ndarray  # per leaf
    path_start: np.ndarray  # per leaf
    path_node: np.ndarray  # per path step: the split node (tree-local), the way taken, the bit
    path_left: np.ndarray
    path_bit: np.ndarray
    leaf_features: np.ndarray  # per leaf: its path features (columns), -1 padded
    leaf_table: np.ndarray  # per leaf: contributions by failure pattern and path feature
    expected_value: float
    n_features: int
    max_nodes: int
    pandas_categorical: list[list[Any]] | None


_CACHE: weakref.WeakKeyDictionary[Any, TreeTables | None] = weakref.WeakKeyDictionary()
# numba's default threading layer (workqueue) must not be entered from two threads at once (a
# threaded model server could): kernel launches are serialised; each still uses every core.
_KERNEL = threading.Lock()


def tables_for(booster: Any) -> TreeTables | None:
    """The tables of a fitted ``LGBMClassifier``; ``None`` when a path has more than
    :data:`MAX_PATH_FEATURES` distinct features.  Cached per fitted LightGBM ``Booster`` (every
    fit makes a new one, so a refit estimator is never explained with stale tables)."""
    fitted = booster.booster_
    if fitted not in _CACHE:
        _CACHE[fitted] = build_tables(fitted.dump_model(), fitted.pandas_categorical)
    return _CACHE[fitted]


def contributions(booster: Any, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact TreeSHAP values (rows × features) and the base per row, or ``None`` when the booster
    is too deep for tables."""
    tables = tables_for(booster)
    if tables is None:
        return None
    categorical = sum(isinstance(t, pd.CategoricalDtype) for t in X.dtypes)
    if X.shape[1] != tables.n_features or categorical != len(tables.pandas_categorical or []):
        raise ValueError(
            f"the booster was trained on {tables.n_features} columns "
            f"({len(tables.pandas_categorical or [])} categorical); got {X.shape[1]} "
            f"({categorical} categorical)"
        )
    matrix = numeric_matrix(X, tables.pandas_categorical)
    out = np.zeros((len(matrix), tables.n_features))
    with _KERNEL:
        _shap_kernel(
            matrix,
            tables.feature,
            tables.threshold,
            tables.kind,
            tables.default_left,
            tables.missing,
            tables.category_start,
            tables.category_end,
            tables.categories,
            tables.tree_nodes,
            tables.tree_leaves,
            tables.left_child,
            tables.right_child,
            tables.tree_feature,
            tables.tree_expected,
            tables.leaf_value,
            tables.path_start,
            tables.path_node,
            tables.path_left,
            tables.path_bit,
            tables.leaf_features,
            tables.leaf_table,
            tables.max_nodes,
            out,
        )
    return out, np.full(len(matrix), tables.expected_value)


def numeric_matrix(X: pd.DataFrame, pandas_categorical: list[list[Any]] | None) -> np.ndarray:
    """``X`` as LightGBM reads a pandas frame: categories as their training codes, NaN missing."""
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


# ---- tables ------------------------------------------------------------------------------------


def build_tables(
    dump: dict[str, Any], pandas_categorical: list[list[Any]] | None
) -> TreeTables | None:
    """Flatten ``Booster.dump_model()`` and tabulate every leaf's contributions (``None`` for
    multiclass boosters and for tables over the size limits)."""
    if int(dump.get("num_tree_per_iteration", 1)) != 1:
        return None
    nodes: dict[str, list[Any]] = {
        k: []
        for k in (
            "feature",
            "threshold",
            "kind",
            "left",
            "missing",
            "cat_start",
            "cat_end",
            "left_child",
            "right_child",
        )
    }
    tree_feature: list[int] = []
    tree_expected: list[float] = []
    leaf_values: list[float] = []
    categories: list[float] = []
    tree_nodes, tree_leaves, path_start = [0], [0], []
    path_node: list[int] = []
    path_left: list[int] = []
    path_bit: list[int] = []
    leaf_features: list[list[int]] = []
    leaf_tables: list[np.ndarray] = []
    expected = 0.0
    max_nodes = 1
    for tree in dump["tree_info"]:
        root = tree["tree_structure"]
        first_node = len(nodes["feature"])
        leaves: list[tuple[float, float, list[tuple[int, bool, float]]]] = []
        total = float(root.get("internal_count", root.get("leaf_count", 1)))

        first_leaf = len(leaf_features)

        def walk(
            node: dict[str, Any],
            path: list[tuple[int, bool, float]],
            leaves: list[tuple[float, float, list[tuple[int, bool, float]]]] = leaves,
            first_node: int = first_node,
            first_leaf: int = first_leaf,
        ) -> int:
            """Flatten ``node``; return its tree-local split index, or -(global leaf + 1)."""
            if "leaf_index" in node or "split_index" not in node:
                count = float(node.get("leaf_count", node.get("internal_count", 0)))
                leaves.append((float(node.get("leaf_value", 0.0)), count, path))
                return -(first_leaf + len(leaves))
            local = len(nodes["feature"]) - first_node
            nodes["left_child"].append(0)
            nodes["right_child"].append(0)
            nodes["feature"].append(int(node["split_feature"]))
            nodes["left"].append(bool(node["default_left"]))
            nodes["missing"].append(
                {"None": MISSING_NONE, "Zero": MISSING_ZERO, "NaN": MISSING_NAN}[
                    node["missing_type"]
                ]
            )
            if node["decision_type"] == "==":
                values = [float(v) for v in str(node["threshold"]).split("||")]
                nodes["kind"].append(CATEGORICAL)
                nodes["threshold"].append(0.0)
                nodes["cat_start"].append(len(categories))
                categories.extend(sorted(values))
                nodes["cat_end"].append(len(categories))
            else:
                nodes["kind"].append(NUMERIC)
                nodes["threshold"].append(float(node["threshold"]))
                nodes["cat_start"].append(0)
                nodes["cat_end"].append(0)
            count = float(node["internal_count"])
            for child, goes_left in ((node["left_child"], True), (node["right_child"], False)):
                child_count = float(child.get("internal_count", child.get("leaf_count", 0)))
                reached = walk(
                    child,
                    [*path, (local, goes_left, child_count / count if count else 0.0)],
                    leaves,
                    first_node,
                    first_leaf,
                )
                nodes["left_child" if goes_left else "right_child"][first_node + local] = reached
            return local

        walk(root, [])
        n_split = len(nodes["feature"]) - first_node
        max_nodes = max(max_nodes, n_split)
        tree_nodes.append(len(nodes["feature"]))
        for value, _, path in leaves:
            features: list[int] = []
            zero: list[float] = []
            path_start.append(len(path_node))
            for local, goes_left, fraction in path:
                feature = nodes["feature"][first_node + local]
                if feature not in features:
                    features.append(feature)
                    zero.append(1.0)
                bit = features.index(feature)
                zero[bit] *= fraction
                path_node.append(local)
                path_left.append(int(goes_left))
                path_bit.append(bit)
            if len(features) > MAX_PATH_FEATURES:
                return None
            leaf_features.append(features)
            leaf_tables.append(_leaf_table(value, np.array(zero)))
        # Tree::ExpectedValue: the leaves' values weighted by their share of the training rows
        tree_mean = leaves[0][0] if len(leaves) == 1 else sum(v * c / total for v, c, _ in leaves)
        expected += tree_mean
        tree_expected.append(tree_mean)
        split_features = set(nodes["feature"][first_node:])
        tree_feature.append(split_features.pop() if len(split_features) == 1 else -1)
        leaf_values.extend(value for value, _, _ in leaves)
        tree_leaves.append(len(leaf_features))
    path_start.append(len(path_node))
    width = max((len(f) for f in leaf_features), default=0)
    patterns = 1 << width
    if len(leaf_features) * patterns * max(width, 1) * 8 > TABLE_BUDGET_BYTES:
        return None
    padded_features = np.full((len(leaf_features), max(width, 1)), -1, dtype=np.int64)
    table = np.zeros((len(leaf_features), patterns, max(width, 1)))
    for i, (features, leaf_table) in enumerate(zip(leaf_features, leaf_tables, strict=True)):
        padded_features[i, : len(features)] = features
        table[i, : leaf_table.shape[0], : leaf_table.shape[1]] = leaf_table
    return TreeTables(
        feature=np.asarray(nodes["feature"], dtype=np.int64),
        threshold=np.asarray(nodes["threshold"], dtype=np.float64),
        kind=np.asarray(nodes["kind"], dtype=np.int8),
        default_left=np.asarray(nodes["left"], dtype=np.bool_),
        missing=np.asarray(nodes["missing"], dtype=np.int8),
        category_start=np.asarray(nodes["cat_start"], dtype=np.int64),
        category_end=np.asarray(nodes["cat_end"], dtype=np.int64),
        categories=np.asarray(categories, dtype=np.float64),
        tree_nodes=np.asarray(tree_nodes, dtype=np.int64),
        tree_leaves=np.asarray(tree_leaves, dtype=np.int64),
        left_child=np.asarray(nodes["left_child"], dtype=np.int64),
        right_child=np.asarray(nodes["right_child"], dtype=np.int64),
        tree_feature=np.asarray(tree_feature, dtype=np.int64),
        tree_expected=np.asarray(tree_expected, dtype=np.float64),
        leaf_value=np.asarray(leaf_values, dtype=np.float64),
        path_start=np.asarray(path_start, dtype=np.int64),
        path_node=np.asarray(path_node, dtype=np.int64),
        path_left=np.asarray(path_left, dtype=np.bool_),
        path_bit=np.asarray(path_bit, dtype=np.int64),
        leaf_features=padded_features,
        leaf_table=table,
        expected_value=expected,
        n_features=int(dump["max_feature_idx"]) + 1,
        max_nodes=max_nodes,
        pandas_categorical=pandas_categorical,
    )


def _leaf_table(value: float, zero: np.ndarray) -> np.ndarray:
    """Contribution of a leaf with value ``value`` to each of its ``d`` path features, for every
    failure pattern (bit k set: the row fails feature k's conditions on the path)."""
    d = len(zero)
    if d == 0:
        return np.zeros((1, 1))
    patterns = np.arange(1 << d)
    one = 1.0 - ((patterns[:, None] >> np.arange(d)[None, :]) & 1)  # o_k per pattern
    weights = np.array(
        [math.factorial(s) * math.factorial(d - s - 1) / math.factorial(d) for s in range(d)]
    )
    table = np.zeros((len(patterns), d))
    for k in range(d):
        # coefficients of prod over j != k of (z_j + o_j t): subsets S of the others with o in S
        poly = np.zeros((len(patterns), d))
        poly[:, 0] = 1.0
        for j in range(d):
            if j == k:
                continue
            shifted = np.zeros_like(poly)
            shifted[:, 1:] = poly[:, :-1] * one[:, [j]]
            poly = poly * zero[j] + shifted
        table[:, k] = value * (one[:, k] - zero[k]) * (poly @ weights)
    return table


# ---- the compiled kernel -----------------------------------------------------------------------


_Function = TypeVar("_Function", bound=Callable[..., Any])


def _compiled(**options: Any) -> Callable[[_Function], _Function]:
    """``numba.njit`` with an on-disk cache where one can be written (a read-only install with
    no writable cache folder compiles on first use instead of failing to import)."""

    def wrap(function: _Function) -> _Function:
        try:
            compiled: _Function = numba.njit(cache=True, **options)(function)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            compiled = numba.njit(cache=False, **options)(function)
        return compiled

    return wrap


@_compiled(inline="always")
def _goes_left(
    row: np.ndarray, g: int, nodes: tuple[np.ndarray, ...], categories: np.ndarray
) -> bool:
    """Whether ``row`` takes split node ``g``'s left branch (``nodes``: the per-node arrays
    feature, kind, threshold, default_left, missing, category_start, category_end)."""
    feature, kinds, thresholds, default_lefts, missings, starts, ends = nodes
    x = row[feature[g]]
    kind, threshold, default_left = kinds[g], thresholds[g], default_lefts[g]
    missing, start, end = missings[g], starts[g], ends[g]
    if kind == NUMERIC:
        if np.isnan(x) and missing != MISSING_NAN:
            x = 0.0
        if (missing == MISSING_ZERO and abs(x) <= ZERO_THRESHOLD) or (
            missing == MISSING_NAN and np.isnan(x)
        ):
            return bool(default_left)
        return bool(x <= threshold)
    if np.isnan(x):
        return False
    whole = int(x)  # LightGBM truncates toward zero; negative codes go right
    if whole < 0:
        return False
    code = float(whole)
    for i in range(start, end):  # noqa: SIM110 (compiled: a plain loop)
        if categories[i] == code:
            return True
    return False


@_compiled(parallel=True)
def _shap_kernel(
    X: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    kind: np.ndarray,
    default_left: np.ndarray,
    missing: np.ndarray,
    category_start: np.ndarray,
    category_end: np.ndarray,
    categories: np.ndarray,
    tree_nodes: np.ndarray,
    tree_leaves: np.ndarray,
    left_child: np.ndarray,
    right_child: np.ndarray,
    tree_feature: np.ndarray,
    tree_expected: np.ndarray,
    leaf_value: np.ndarray,
    path_start: np.ndarray,
    path_node: np.ndarray,
    path_left: np.ndarray,
    path_bit: np.ndarray,
    leaf_features: np.ndarray,
    leaf_table: np.ndarray,
    max_nodes: int,
    out: np.ndarray,
) -> None:
    n = X.shape[0]
    n_trees = tree_nodes.shape[0] - 1
    width = leaf_features.shape[1]
    blocks = (n + BLOCK - 1) // BLOCK
    nodes = (feature, kind, threshold, default_left, missing, category_start, category_end)
    for block in numba.prange(blocks):
        left = np.empty(max_nodes, dtype=np.bool_)
        for r in range(block * BLOCK, min(n, (block + 1) * BLOCK)):
            for t in range(n_trees):
                first = tree_nodes[t]
                if tree_feature[t] >= 0:
                    # one feature: its Shapley value is f(x) - E f, the reached leaf's value
                    node = 0
                    while node >= 0:
                        g = first + node
                        if _goes_left(X[r], g, nodes, categories):
                            node = left_child[g]
                        else:
                            node = right_child[g]
                    out[r, tree_feature[t]] += leaf_value[-node - 1] - tree_expected[t]
                    continue
                for local in range(tree_nodes[t + 1] - first):
                    left[local] = _goes_left(X[r], first + local, nodes, categories)
                for leaf in range(tree_leaves[t], tree_leaves[t + 1]):
                    pattern = 0
                    for q in range(path_start[leaf], path_start[leaf + 1]):
                        if left[path_node[q]] != path_left[q]:
                            pattern |= 1 << path_bit[q]
                    for k in range(width):
                        column = leaf_features[leaf, k]
                        if column < 0:
                            break
                        out[r, column] += leaf_table[leaf, pattern, k]
