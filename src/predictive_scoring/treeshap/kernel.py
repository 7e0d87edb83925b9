"""The compiled TreeSHAP kernel: rows in parallel blocks, trees and leaves in a fixed order.

The kernel reads a :class:`~predictive_scoring.treeshap.tables.TreeTables` as three flat tuples
of arrays, as ``TreeTables.kernel_arrays`` groups them.  Numba compiles one specialisation per
tuple type, so the grouping costs nothing at run time; the tuples are flat because a parallel
loop cannot take a tuple nested in a tuple.

``nodes``
    per split node: feature, kind, threshold, default_left, missing, category_start,
    category_end (the rules :func:`_goes_left` reads), left_child, right_child; then the
    category values the category ranges index.
``trees``
    per tree: tree_nodes and tree_leaves (first and one past the last, so one longer than the
    number of trees), tree_feature, tree_expected.
``leaves``
    per leaf: leaf_value, path_start (one longer); per path step: path_node, path_left,
    path_bit; per leaf: leaf_features, leaf_table.

Each row's additions into ``out`` happen in the same order whatever the block layout (tree by
tree, leaf by leaf, path feature by path feature), so results do not depend on the thread count.

The split kinds and missing-value codes are defined here, not in ``tables.py``: numba's on-disk
cache is keyed on the source file of the compiled functions only, and the compiled code freezes
every global it reads, so each of them lives in this file.  (This module does not import
``tables.py``, which imports these codes: the import graph stays acyclic.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba
import numpy as np

__all__ = [
    "BLOCK",
    "ZERO_THRESHOLD",
    "Arrays",
    "run",
]

NUMERIC, CATEGORICAL = 0, 1  # split kinds
MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2  # LightGBM's missing types
ZERO_THRESHOLD = 1e-35  # LightGBM's kZeroThreshold
BLOCK = 512  # rows per parallel task

Arrays = tuple[np.ndarray, ...]
_Function = TypeVar("_Function", bound=Callable[..., Any])


def run(
    matrix: np.ndarray, arrays: tuple[Arrays, Arrays, Arrays], max_nodes: int, n_features: int
) -> np.ndarray:
    """TreeSHAP values of the rows of ``matrix``.

    Parameters
    ----------
    matrix : numpy.ndarray
        Rows × ``n_features`` float64, C-contiguous, as
        :func:`~predictive_scoring.treeshap.numeric_matrix` makes it.
    arrays : tuple
        The ``nodes``, ``trees`` and ``leaves`` tuples (module docstring), as
        :meth:`~predictive_scoring.treeshap.tables.TreeTables.kernel_arrays` groups them.
    max_nodes : int
        Most split nodes in one tree (at least 1): the size of the per-task scratch.
    n_features : int
        Columns of the booster, and of the result.

    Returns
    -------
    numpy.ndarray
        Contributions, rows × features (float64).

    Notes
    -----
    Not to be entered from two threads at once: callers hold ``treeshap._KERNEL``.
    """
    out = np.zeros((len(matrix), n_features))
    nodes, trees, leaves = arrays
    _shap_kernel(matrix, nodes, trees, leaves, max_nodes, out)
    return out


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
def _goes_left(row: np.ndarray, g: int, nodes: Arrays, categories: np.ndarray) -> bool:
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


@_compiled(inline="always")
def _rules(nodes: Arrays) -> Arrays:
    """The seven arrays of ``nodes`` that :func:`_goes_left` reads."""
    feature, kind, threshold, default_left, missing, start, end, _left, _right, _cats = nodes
    return feature, kind, threshold, default_left, missing, start, end


@_compiled(inline="always")
def _reached_leaf(row: np.ndarray, first: int, nodes: Arrays) -> int:
    """The global leaf ``row`` reaches in the tree whose split nodes start at ``first``."""
    rules, left_child, right_child, categories = _rules(nodes), nodes[7], nodes[8], nodes[9]
    node = 0
    while node >= 0:
        g = first + node
        node = left_child[g] if _goes_left(row, g, rules, categories) else right_child[g]
    return -node - 1


@_compiled(inline="always")
def _decide(row: np.ndarray, first: int, end: int, nodes: Arrays, left: np.ndarray) -> None:
    """``row``'s decision at each split node ``first`` … ``end - 1`` of a tree, into ``left``
    (indexed tree-locally)."""
    rules, categories = _rules(nodes), nodes[9]
    for local in range(end - first):
        left[local] = _goes_left(row, first + local, rules, categories)


@_compiled(inline="always")
def _pattern(left: np.ndarray, leaf: int, leaves: Arrays) -> int:
    """Which of ``leaf``'s path features the row fails (bit k: a split on feature k sends it off
    the path), from its decisions ``left`` at the tree's split nodes."""
    _value, path_start, path_node, path_left, path_bit, _features, _table = leaves
    pattern = 0
    for q in range(path_start[leaf], path_start[leaf + 1]):
        if left[path_node[q]] != path_left[q]:
            pattern |= 1 << path_bit[q]
    return pattern


@_compiled(inline="always")
def _add_leaf(pattern: int, leaf: int, leaves: Arrays, out: np.ndarray) -> None:
    """Add ``leaf``'s contributions for failure ``pattern`` into ``out`` (a row of the result)."""
    _value, _start, _node, _left, _bit, leaf_features, leaf_table = leaves
    for k in range(leaf_features.shape[1]):
        column = leaf_features[leaf, k]
        if column < 0:
            break
        out[column] += leaf_table[leaf, pattern, k]


# called from the parallel loop, not inlined into it: numba's parfor array analysis fails on the
# helpers' inlined tuple unpacking (AssertionError "Dimension mismatch", numba 0.68)
@_compiled()
def _add_row(
    row: np.ndarray, nodes: Arrays, trees: Arrays, leaves: Arrays, left: np.ndarray, out: np.ndarray
) -> None:
    """Add ``row``'s contributions, tree by tree, into ``out`` (its row of the result);
    ``left`` is scratch for one tree's decisions."""
    tree_nodes, tree_leaves, tree_feature, tree_expected = trees
    leaf_value = leaves[0]
    for t in range(tree_nodes.shape[0] - 1):
        first = tree_nodes[t]
        if tree_feature[t] >= 0:
            # one feature: its Shapley value is f(x) - E f, the reached leaf's value
            leaf = _reached_leaf(row, first, nodes)
            out[tree_feature[t]] += leaf_value[leaf] - tree_expected[t]
            continue
        _decide(row, first, tree_nodes[t + 1], nodes, left)
        for leaf in range(tree_leaves[t], tree_leaves[t + 1]):
            _add_leaf(_pattern(left, leaf, leaves), leaf, leaves, out)


@_compiled(parallel=True)
def _shap_kernel(
    X: np.ndarray, nodes: Arrays, trees: Arrays, leaves: Arrays, max_nodes: int, out: np.ndarray
) -> None:
    """Add every row's TreeSHAP values into ``out`` (rows × features, zeroed by the caller)."""
    n = X.shape[0]
    blocks = (n + BLOCK - 1) // BLOCK
    for block in numba.prange(blocks):
        left = np.empty(max_nodes, dtype=np.bool_)  # per task, so no two threads share one
        for r in range(block * BLOCK, min(n, (block + 1) * BLOCK)):
            _add_row(X[r], nodes, trees, leaves, left, out[r])
