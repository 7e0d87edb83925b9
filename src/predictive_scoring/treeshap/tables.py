"""A booster's ``dump_model()`` flattened into arrays, and every leaf's contributions tabulated.

Split nodes are numbered in the dump's pre-order, tree after tree (so a parent comes before its
children); leaves in the order a left-first walk meets them.  A leaf with ``d`` distinct
features on its path gets a table of ``2**d`` failure patterns × ``d`` features: Shapley weights
over the path's zero fractions (the share of the training rows that followed each feature's
splits), as in GPUTreeShap's path decomposition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from predictive_scoring.treeshap.kernel import (
    CATEGORICAL,
    MISSING_NAN,
    MISSING_NONE,
    MISSING_ZERO,
    NUMERIC,
    SMALL_CATEGORIES,
    Arrays,
)

__all__ = [
    "MAX_PATH_FEATURES",
    "TABLE_BUDGET_BYTES",
    "Step",
    "TreeTables",
    "build_tables",
]

MAX_PATH_FEATURES = 10  # tables grow as 2**d per leaf; deeper boosters use LightGBM's own code
TABLE_BUDGET_BYTES = 256 * 2**20  # ... as do boosters whose tables would take more memory
_MISSING_TYPES = {"None": MISSING_NONE, "Zero": MISSING_ZERO, "NaN": MISSING_NAN}


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
    nan_left: np.ndarray  # per split node: where NaN goes on a numeric split
    path_bit: np.ndarray  # per split node: its feature's bit in the patterns of the leaves below
    category_mask: np.ndarray  # per split node: the category set as bits, when small_categories
    small_categories: np.ndarray  # per split node: every category code below SMALL_CATEGORIES
    tree_feature: np.ndarray  # per tree: the one feature all its splits use, else -1
    tree_expected: np.ndarray  # per tree: its leaves' values weighted by their rows
    leaf_value: np.ndarray  # per leaf
    leaf_features: np.ndarray  # per leaf: its path features (columns), -1 padded
    leaf_table: np.ndarray  # per leaf: contributions by failure pattern and path feature
    expected_value: float
    n_features: int
    max_nodes: int
    max_leaves: int
    pandas_categorical: list[list[Any]] | None
    sigmoid: float | None = None  # a binary objective's scale (raw score to probability)

    def kernel_arrays(self) -> tuple[Arrays, Arrays, Arrays]:
        """The arrays grouped as the compiled kernel reads them.

        Returns
        -------
        tuple
            The ``nodes``, ``trees`` and ``leaves`` tuples, in the order
            :mod:`~predictive_scoring.treeshap.kernel` documents.
        """
        nodes: Arrays = (self.feature, self.kind, self.threshold, self.default_left, self.missing)
        nodes += (self.category_start, self.category_end, self.left_child, self.right_child)
        nodes += (self.categories, self.nan_left, self.path_bit, self.category_mask)
        nodes += (self.small_categories,)
        trees = (self.tree_nodes, self.tree_leaves, self.tree_feature, self.tree_expected)
        leaves: Arrays = (self.leaf_value, self.leaf_features, self.leaf_table)
        return nodes, trees, leaves


# one step of a leaf's path: split node (tree-local), whether it goes left, the share of that
# node's training rows the child on the path received
Step = tuple[int, bool, float]


class _Leaf(NamedTuple):
    """A leaf as the walk meets it."""

    value: float
    rows: float  # training rows that reached it
    path: list[Step]


@dataclass
class _Nodes:
    """The split nodes flattened so far, one list per :class:`TreeTables` per-node array."""

    feature: list[int] = field(default_factory=list)
    threshold: list[float] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    default_left: list[bool] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    category_start: list[int] = field(default_factory=list)
    category_end: list[int] = field(default_factory=list)
    categories: list[float] = field(default_factory=list)
    left_child: list[int] = field(default_factory=list)
    right_child: list[int] = field(default_factory=list)
    nan_left: list[bool] = field(default_factory=list)
    path_bit: list[int] = field(default_factory=list)
    category_mask: list[int] = field(default_factory=list)
    small_categories: list[bool] = field(default_factory=list)


@dataclass
class _Trees:
    """The per-tree lists so far, and the sums over the trees."""

    nodes: list[int] = field(default_factory=lambda: [0])
    leaves: list[int] = field(default_factory=lambda: [0])
    feature: list[int] = field(default_factory=list)
    expected: list[float] = field(default_factory=list)
    expected_value: float = 0.0
    max_nodes: int = 1
    max_leaves: int = 1


@dataclass
class _Leaves:
    """The per-leaf lists so far; tables still one shape per leaf."""

    value: list[float] = field(default_factory=list)
    features: list[list[int]] = field(default_factory=list)
    tables: list[np.ndarray] = field(default_factory=list)


@dataclass
class _Tree:
    """The tree being flattened: where its split nodes and leaves start, the leaves met."""

    first_node: int
    first_leaf: int
    leaves: list[_Leaf] = field(default_factory=list)


def build_tables(
    dump: dict[str, Any],
    pandas_categorical: list[list[Any]] | None,
    max_path_features: int = MAX_PATH_FEATURES,
    table_budget_bytes: int = TABLE_BUDGET_BYTES,
) -> TreeTables | None:
    """Flatten ``Booster.dump_model()`` and tabulate every leaf's contributions.

    Parameters
    ----------
    dump : dict
        ``Booster.dump_model()`` of a fitted booster.
    pandas_categorical : list of lists, optional
        The booster's ``pandas_categorical`` (each categorical column's training categories).
    max_path_features : int
        Most distinct features a leaf's path may have.
    table_budget_bytes : int
        Most memory the padded contribution tables may take.

    Returns
    -------
    TreeTables or None
        ``None`` for multiclass boosters and for tables over either limit.
    """
    if int(dump.get("num_tree_per_iteration", 1)) != 1:
        return None
    nodes, trees, leaves = _Nodes(), _Trees(), _Leaves()
    for tree in dump["tree_info"]:
        if not _add_tree(tree["tree_structure"], nodes, trees, leaves, max_path_features):
            return None
    padded = _pad(leaves.features, leaves.tables, table_budget_bytes)
    if padded is None:
        return None
    n_features = int(dump["max_feature_idx"]) + 1
    tables = _assemble(nodes, trees, leaves, padded, n_features, pandas_categorical)
    return replace(tables, sigmoid=_binary_sigmoid(str(dump.get("objective", ""))))


def _binary_sigmoid(objective: str) -> float | None:
    """The scale of LightGBM's ``binary sigmoid:<scale>`` objective, else ``None``."""
    name, _, rest = objective.partition(" ")
    if name != "binary" or not rest.startswith("sigmoid:"):
        return None
    return float(rest.removeprefix("sigmoid:").split()[0])


def _add_tree(
    root: dict[str, Any], nodes: _Nodes, trees: _Trees, leaves: _Leaves, max_path_features: int
) -> bool:
    """Flatten the tree under ``root`` and tabulate its leaves; ``False`` when a leaf's path has
    more than ``max_path_features`` distinct features."""
    tree = _Tree(first_node=len(nodes.feature), first_leaf=len(leaves.features))
    _flatten_node(root, [], nodes, tree)
    split_features = nodes.feature[tree.first_node :]
    trees.max_nodes = max(trees.max_nodes, len(split_features))
    trees.max_leaves = max(trees.max_leaves, len(tree.leaves))
    trees.nodes.append(len(nodes.feature))
    for leaf in tree.leaves:
        if not _add_leaf(leaf, split_features, leaves, max_path_features):
            return False
    total = float(root.get("internal_count", root.get("leaf_count", 1)))
    mean = _tree_expected(tree.leaves, total)
    trees.expected_value += mean
    trees.expected.append(mean)
    trees.feature.append(_only_feature(split_features))
    leaves.value.extend(leaf.value for leaf in tree.leaves)
    trees.leaves.append(len(leaves.features))
    return True


def _flatten_node(node: dict[str, Any], path: list[Step], nodes: _Nodes, tree: _Tree) -> int:
    """Flatten ``node`` and what is under it; return its tree-local split index, or
    -(global leaf + 1) for a leaf."""
    if "leaf_index" in node or "split_index" not in node:
        count = float(node.get("leaf_count", node.get("internal_count", 0)))
        tree.leaves.append(_Leaf(float(node.get("leaf_value", 0.0)), count, path))
        return -(tree.first_leaf + len(tree.leaves))
    local = _append_split(node, nodes) - tree.first_node
    on_path = list(dict.fromkeys(nodes.feature[tree.first_node + step[0]] for step in path))
    feature = nodes.feature[-1]
    nodes.path_bit.append(on_path.index(feature) if feature in on_path else len(on_path))
    count = float(node["internal_count"])
    for child, goes_left in ((node["left_child"], True), (node["right_child"], False)):
        child_count = float(child.get("internal_count", child.get("leaf_count", 0)))
        step = (local, goes_left, child_count / count if count else 0.0)
        reached = _flatten_node(child, [*path, step], nodes, tree)
        children = nodes.left_child if goes_left else nodes.right_child
        children[tree.first_node + local] = reached
    return local


def _append_split(node: dict[str, Any], nodes: _Nodes) -> int:
    """Append split ``node``'s decision rule to ``nodes``; return its index there."""
    index = len(nodes.feature)
    nodes.left_child.append(0)  # set once the children are flattened
    nodes.right_child.append(0)
    nodes.feature.append(int(node["split_feature"]))
    nodes.default_left.append(bool(node["default_left"]))
    missing = _MISSING_TYPES[node["missing_type"]]
    nodes.missing.append(missing)
    if node["decision_type"] == "==":
        values = [float(v) for v in str(node["threshold"]).split("||")]
        nodes.kind.append(CATEGORICAL)
        nodes.threshold.append(0.0)
        nodes.category_start.append(len(nodes.categories))
        nodes.categories.extend(sorted(values))
        nodes.category_end.append(len(nodes.categories))
        small = all(v.is_integer() and 0 <= v < SMALL_CATEGORIES for v in values)
        nodes.small_categories.append(small)
        nodes.category_mask.append(sum(1 << int(v) for v in set(values)) if small else 0)
        nodes.nan_left.append(False)
    else:
        threshold = float(node["threshold"])
        nodes.kind.append(NUMERIC)
        nodes.threshold.append(threshold)
        nodes.category_start.append(0)
        nodes.category_end.append(0)
        nodes.small_categories.append(False)
        nodes.category_mask.append(0)
        # missing type None reads NaN as 0; Zero and NaN send it the default way
        default_left = bool(node["default_left"])
        nodes.nan_left.append(threshold >= 0.0 if missing == MISSING_NONE else default_left)
    return index


def _add_leaf(
    leaf: _Leaf, split_features: list[int], leaves: _Leaves, max_path_features: int
) -> bool:
    """Tabulate ``leaf``'s contributions; ``False`` when its path has more than
    ``max_path_features`` distinct features."""
    features, zero = _path_features(leaf.path, split_features)
    if len(features) > max_path_features:
        return False
    leaves.features.append(features)
    leaves.tables.append(_leaf_table(leaf.value, np.array(zero)))
    return True


def _path_features(path: list[Step], split_features: list[int]) -> tuple[list[int], list[float]]:
    """``path``'s distinct features in order of first use and each one's zero fraction (the
    product of its steps' shares of rows).

    ``split_features`` holds the feature of each of the tree's split nodes, tree-locally.
    """
    features: list[int] = []
    zero: list[float] = []
    for local, _goes_left, fraction in path:
        feature = split_features[local]
        if feature not in features:
            features.append(feature)
            zero.append(1.0)
        zero[features.index(feature)] *= fraction
    return features, zero


def _tree_expected(leaves: list[_Leaf], total: float) -> float:
    """Tree::ExpectedValue: the leaves' values weighted by their share of the training rows."""
    if len(leaves) == 1:
        return leaves[0].value
    return sum(leaf.value * leaf.rows / total for leaf in leaves)


def _only_feature(split_features: list[int]) -> int:
    """The one feature all of a tree's splits use, else -1 (also for a tree without splits)."""
    distinct = set(split_features)
    return distinct.pop() if len(distinct) == 1 else -1


def _pad(
    features: list[list[int]], tables: list[np.ndarray], budget: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Each leaf's path features (-1 padded) and contribution table in arrays of one width, the
    most features of any path; ``None`` when those would take more than ``budget`` bytes."""
    width = max((len(f) for f in features), default=0)
    patterns = 1 << width
    if len(features) * patterns * max(width, 1) * 8 > budget:
        return None
    padded_features = np.full((len(features), max(width, 1)), -1, dtype=np.int64)
    padded_tables = np.zeros((len(features), patterns, max(width, 1)))
    for i, (leaf_features, table) in enumerate(zip(features, tables, strict=True)):
        padded_features[i, : len(leaf_features)] = leaf_features
        padded_tables[i, : table.shape[0], : table.shape[1]] = table
    return padded_features, padded_tables


def _assemble(
    nodes: _Nodes,
    trees: _Trees,
    leaves: _Leaves,
    padded: tuple[np.ndarray, np.ndarray],
    n_features: int,
    pandas_categorical: list[list[Any]] | None,
) -> TreeTables:
    """The lists as :class:`TreeTables` arrays, in the dtypes the kernel is compiled for."""
    return TreeTables(
        feature=np.asarray(nodes.feature, dtype=np.int64),
        threshold=np.asarray(nodes.threshold, dtype=np.float64),
        kind=np.asarray(nodes.kind, dtype=np.int8),
        default_left=np.asarray(nodes.default_left, dtype=np.bool_),
        missing=np.asarray(nodes.missing, dtype=np.int8),
        category_start=np.asarray(nodes.category_start, dtype=np.int64),
        category_end=np.asarray(nodes.category_end, dtype=np.int64),
        categories=np.asarray(nodes.categories, dtype=np.float64),
        tree_nodes=np.asarray(trees.nodes, dtype=np.int64),
        tree_leaves=np.asarray(trees.leaves, dtype=np.int64),
        left_child=np.asarray(nodes.left_child, dtype=np.int64),
        right_child=np.asarray(nodes.right_child, dtype=np.int64),
        nan_left=np.asarray(nodes.nan_left, dtype=np.bool_),
        path_bit=np.asarray(nodes.path_bit, dtype=np.int64),
        category_mask=np.asarray(nodes.category_mask, dtype=np.uint64),
        small_categories=np.asarray(nodes.small_categories, dtype=np.bool_),
        tree_feature=np.asarray(trees.feature, dtype=np.int64),
        tree_expected=np.asarray(trees.expected, dtype=np.float64),
        leaf_value=np.asarray(leaves.value, dtype=np.float64),
        leaf_features=padded[0],
        leaf_table=padded[1],
        expected_value=trees.expected_value,
        n_features=n_features,
        max_nodes=trees.max_nodes,
        max_leaves=trees.max_leaves,
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
