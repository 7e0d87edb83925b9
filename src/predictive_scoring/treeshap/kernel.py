"""The compiled TreeSHAP kernel: rows in parallel blocks, each block tree by tree.

The kernel reads a :class:`~predictive_scoring.treeshap.tables.TreeTables` as three flat tuples
of arrays, as ``TreeTables.kernel_arrays`` groups them.  Numba compiles one specialisation per
tuple type, so the grouping costs nothing at run time; the tuples are flat because a parallel
loop cannot take a tuple nested in a tuple.

``nodes``
    per split node: feature, kind, threshold, default_left, missing, category_start,
    category_end (the rules :func:`_goes_left` reads), left_child, right_child; then the
    category values the category ranges index; then per split node: nan_left (where NaN goes
    on a numeric split), path_bit (the bit of its feature in the failure pattern of every leaf
    below it), category_mask and small_categories (the category set as a bit mask, when every
    category code is below 64).
``trees``
    per tree: tree_nodes and tree_leaves (first and one past the last, so one longer than the
    number of trees), tree_feature, tree_expected.
``leaves``
    per leaf: leaf_value, leaf_features, leaf_table.

A block of :data:`BLOCK` rows is transposed (features × rows) and goes through the trees one at
a time, so that a tree's nodes and tables stay in the core's cache while every row of the block
passes, and each split is decided for the whole block in one loop over contiguous values (which
the compiler vectorises).  Failure patterns are built top-down: a child's is its parent's plus
whether the row leaves the path at the parent's split, so each split node costs one operation
per row and child, whatever the depth.

Each row's additions into the result happen in the same order whatever the block layout (tree
by tree, leaf by leaf, path feature by path feature), so results do not depend on the thread
count.

The split kinds and missing-value codes are defined here, not in ``tables.py``: numba's on-disk
cache is keyed on the source file of the compiled functions only, and the compiled code freezes
every global it reads, so each of them lives in this file.  (This module does not import
``tables.py``, which imports these codes: the import graph stays acyclic.)
"""

from __future__ import annotations

import math

import numba
import numpy as np

from predictive_scoring.compiled import compiled

__all__ = [
    "BLOCK",
    "SMALL_CATEGORIES",
    "ZERO_THRESHOLD",
    "Arrays",
    "run",
    "sigmoid",
]

NUMERIC, CATEGORICAL = 0, 1  # split kinds
MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2  # LightGBM's missing types
ZERO_THRESHOLD = 1e-35  # LightGBM's kZeroThreshold
BLOCK = 256  # rows per parallel task
SMALL_CATEGORIES = 64  # category sets whose codes are all below this are decided by a bit mask

Arrays = tuple[np.ndarray, ...]


def run(
    matrix: np.ndarray,
    arrays: tuple[Arrays, Arrays, Arrays],
    shape: tuple[int, int],
    n_features: int,
    explain: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """TreeSHAP values of the rows of ``matrix``, and their raw scores.

    Parameters
    ----------
    matrix : numpy.ndarray
        Rows × ``n_features`` float64, C-contiguous, as
        :func:`~predictive_scoring.treeshap.numeric_matrix` makes it.
    arrays : tuple
        The ``nodes``, ``trees`` and ``leaves`` tuples (module docstring), as
        :meth:`~predictive_scoring.treeshap.tables.TreeTables.kernel_arrays` groups them.
    shape : tuple of int
        Most split nodes and most leaves in one tree (each at least 1): the per-task scratch.
    n_features : int
        Columns of the booster, and of the result.
    explain : bool
        ``False``: the raw scores only (the contributions come back with no columns), the same
        walk over the trees without reading a single table.

    Returns
    -------
    tuple of numpy.ndarray
        Contributions, rows × features (float64); and each row's raw score, the values of the
        leaves it reaches added tree by tree from 0, as LightGBM adds them (so equal to its
        ``predict(raw_score=True)``, not merely to rounding).

    Notes
    -----
    Not to be entered from two threads at once: callers hold ``treeshap._KERNEL``.
    """
    out = np.zeros((len(matrix), n_features if explain else 0))
    raw = np.zeros(len(matrix))
    nodes, trees, leaves = arrays
    _shap_kernel(matrix, nodes, trees, leaves, shape[0], shape[1], out, raw)
    return out, raw


@compiled(inline="always")
def _goes_left(x: float, g: int, nodes: Arrays) -> bool:
    """Whether value ``x`` takes split node ``g``'s left branch: LightGBM's rule, whatever the
    split (the blocks' loops decide the common kinds faster, with the same outcome)."""
    _feature, kinds, thresholds, default_lefts, missings, starts, ends = nodes[:7]
    categories = nodes[9]
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


@compiled(inline="always")
def _decide(Xt: np.ndarray, m: int, g: int, nodes: Arrays, left: np.ndarray) -> None:
    """Every block row's decision at split node ``g``, into ``left`` (one per row)."""
    feature, kinds, thresholds, missings = nodes[0], nodes[1], nodes[2], nodes[4]
    nan_left, masks, small = nodes[10], nodes[12], nodes[13]
    values = Xt[feature[g]]
    if kinds[g] == NUMERIC and missings[g] != MISSING_ZERO:
        # NaN compares false, so it goes where nan_left says; other values by the threshold
        threshold, where_nan = thresholds[g], nan_left[g]
        for r in range(m):
            x = values[r]
            left[r] = (x <= threshold) | ((x != x) & where_nan)
    elif kinds[g] == CATEGORICAL and small[g]:
        # codes truncate toward zero: (-1, 64) holds the codes 0 … 63; NaN fails both bounds
        mask = masks[g]
        for r in range(m):
            x = values[r]
            inside = (x > -1.0) & (x < SMALL_CATEGORIES)
            code = np.uint64(int(x)) if inside else np.uint64(0)
            left[r] = inside & (((mask >> code) & np.uint64(1)) == np.uint64(1))
    else:
        for r in range(m):
            left[r] = _goes_left(values[r], g, nodes)


@compiled(inline="always")
def _patterns(
    m: int,
    first: int,
    n_nodes: int,
    first_leaf: int,
    nodes: Arrays,
    left: np.ndarray,
    pattern: np.ndarray,
    leaf_pattern: np.ndarray,
) -> None:
    """Every block row's failure pattern at each leaf of the tree whose split nodes are
    ``first`` … ``first + n_nodes - 1`` (pre-order, so a parent comes before its children)."""
    left_child, right_child, path_bit = nodes[7], nodes[8], nodes[11]
    for r in range(m):
        pattern[0, r] = 0
    for j in range(n_nodes):
        g = first + j
        bit = path_bit[g]
        parent, decided = pattern[j], left[j]
        # the row leaves the path to the left child where it goes right, and the other way
        child = left_child[g]
        target = pattern[child] if child >= 0 else leaf_pattern[-child - 1 - first_leaf]
        for r in range(m):
            target[r] = parent[r] | (np.int32(not decided[r]) << bit)
        child = right_child[g]
        target = pattern[child] if child >= 0 else leaf_pattern[-child - 1 - first_leaf]
        for r in range(m):
            target[r] = parent[r] | (np.int32(decided[r]) << bit)


@compiled(inline="always")
def _add_tree(
    m: int,
    t: int,
    trees: Arrays,
    leaves: Arrays,
    leaf_pattern: np.ndarray,
    out_t: np.ndarray,
    raw: np.ndarray,
) -> None:
    """Add tree ``t``'s contributions for every block row into ``out_t`` (features × rows; no
    features: none asked), and the value of the leaf each row reaches (the one it fails
    nowhere on) into ``raw``."""
    tree_nodes, tree_leaves, tree_feature, tree_expected = trees
    leaf_value, leaf_features, leaf_table = leaves
    first_leaf, end_leaf = tree_leaves[t], tree_leaves[t + 1]
    if tree_nodes[t + 1] == tree_nodes[t]:  # a single leaf, which every row reaches
        for r in range(m):
            raw[r] += leaf_value[first_leaf]
        return
    for leaf in range(first_leaf, end_leaf):
        value, reached = leaf_value[leaf], leaf_pattern[leaf - first_leaf]
        for r in range(m):
            if reached[r] == 0:
                raw[r] += value
    if out_t.shape[0] == 0:  # raw scores only
        return
    only = tree_feature[t]
    if only >= 0:
        # one feature: its Shapley value is f(x) - E f, the reached leaf's value (failing none)
        for leaf in range(first_leaf, end_leaf):
            value, reached = leaf_value[leaf] - tree_expected[t], leaf_pattern[leaf - first_leaf]
            target = out_t[only]
            for r in range(m):
                if reached[r] == 0:
                    target[r] += value
        return
    for leaf in range(first_leaf, end_leaf):
        reached = leaf_pattern[leaf - first_leaf]
        for k in range(leaf_features.shape[1]):
            column = leaf_features[leaf, k]
            if column < 0:
                break
            target, table = out_t[column], leaf_table[leaf, :, k]
            for r in range(m):
                target[r] += table[reached[r]]


@compiled(parallel=True)
def _shap_kernel(
    X: np.ndarray,
    nodes: Arrays,
    trees: Arrays,
    leaves: Arrays,
    max_nodes: int,
    max_leaves: int,
    out: np.ndarray,
    raw: np.ndarray,
) -> None:
    """Add every row's TreeSHAP values into ``out`` (rows × features; with no columns, none are
    computed) and its raw score into ``raw``, both zeroed by the caller."""
    n = X.shape[0]
    tree_nodes = trees[0]
    blocks = (n + BLOCK - 1) // BLOCK
    for block in numba.prange(blocks):
        lo = block * BLOCK
        m = min(n, lo + BLOCK) - lo
        # per task, so no two threads share scratch
        Xt = np.ascontiguousarray(X[lo : lo + m].T)
        out_t = np.zeros((out.shape[1], m))
        raw_t = np.zeros(m)
        left = np.empty((max_nodes, m), dtype=np.bool_)
        pattern = np.empty((max_nodes, m), dtype=np.int32)
        leaf_pattern = np.zeros((max_leaves, m), dtype=np.int32)
        for t in range(tree_nodes.shape[0] - 1):
            first, end = tree_nodes[t], tree_nodes[t + 1]
            for j in range(end - first):
                _decide(Xt, m, first + j, nodes, left[j])
            _patterns(m, first, end - first, trees[1][t], nodes, left, pattern, leaf_pattern)
            _add_tree(m, t, trees, leaves, leaf_pattern, out_t, raw_t)
        out[lo : lo + m] = out_t.T
        raw[lo : lo + m] = raw_t


@compiled()
def sigmoid(raw: np.ndarray, scale: float) -> np.ndarray:
    """LightGBM's binary probability ``1 / (1 + exp(-scale × raw))``, with the C library's
    ``exp`` as LightGBM calls it, so equal to its ``predict_proba`` to the last bit (tested: a
    numba that vectorised this loop with another ``exp``, as with Intel's SVML installed, would
    break the equality, and the tests would say so)."""
    out = np.empty_like(raw)
    for i in range(raw.shape[0]):
        out[i] = 1.0 / (1.0 + math.exp(-scale * raw[i]))
    return out
