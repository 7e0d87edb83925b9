"""The compiled TreeSHAP gives LightGBM's ``pred_contrib`` values, split rule for split rule."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from predictive_scoring import treeshap
from predictive_scoring.treeshap import tree_contributions

TOLERANCE = 1e-9


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.integers(0, 5, n).astype(float),  # many exact zeros
            "c": rng.exponential(size=n),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue", "grey", "pink"], n)),
            "size": pd.Categorical(rng.choice(["s", "m", "l"], n)),
        }
    )
    X.loc[rng.random(n) < 0.1, "a"] = np.nan
    X.loc[rng.random(n) < 0.05, "colour"] = np.nan
    logit = (
        X["a"].fillna(1.5)
        - 0.8 * X["b"]
        + np.sin(3 * X["c"])
        + X["colour"].isin(["red", "pink"]) * 1.2
        + (X["size"] == "l") * (X["a"].fillna(0) > 0) * 1.0
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def _scoring_frame(X: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Rows to explain, with what training never saw: NaN where there was none, an unseen
    category, exact zeros and values beyond every threshold."""
    rng = np.random.default_rng(seed)
    rows = X.sample(400, random_state=seed).reset_index(drop=True)
    rows.loc[rng.random(400) < 0.1, "c"] = np.nan
    rows.loc[rng.random(400) < 0.1, "b"] = 0.0
    rows.loc[:10, "a"] = 1e9
    colour = rows["colour"].astype("object")
    colour[rng.random(400) < 0.1] = "violet"
    rows["colour"] = colour.astype("category")
    rows["size"] = rows["size"].astype("object").astype("category")  # categories in another order
    return rows


@pytest.mark.parametrize(
    "params",
    [
        {"max_depth": 4, "num_leaves": 15},
        {"max_depth": 6, "num_leaves": 40, "min_child_samples": 5},
        {"max_depth": -1, "num_leaves": 31, "zero_as_missing": True},
        {"max_depth": 3, "num_leaves": 8, "use_missing": False},
        {"max_depth": 5, "num_leaves": 20, "interaction_constraints": [[0, 1], [2, 3, 4]]},
        {"max_depth": 4, "interaction_constraints": [[0], [1], [2], [3], [4]]},
        {"interaction_constraints": [[0], [1], [2, 3, 4]], "zero_as_missing": True},
    ],
)
def test_values_match_pred_contrib(params: dict[str, object]) -> None:
    X, y = _frame(3000, seed=1)
    model = lgb.LGBMClassifier(
        n_estimators=60, learning_rate=0.1, verbose=-1, random_state=0, **params
    ).fit(X, y)
    rows = _scoring_frame(X, seed=2)
    expected = model.predict(rows, pred_contrib=True)
    result = treeshap.contributions(model, rows)
    assert result is not None
    values, base = result
    assert np.abs(values - expected[:, :-1]).max() < TOLERANCE
    assert np.abs(base - expected[:, -1]).max() < TOLERANCE
    raw = model.predict(rows, raw_score=True)
    assert np.abs(values.sum(axis=1) + base - raw).max() < 1e-9


def test_early_stopped_boosters_explain_their_best_iteration() -> None:
    X, y = _frame(3000, seed=3)
    model = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.2, verbose=-1).fit(
        X[:2000],
        y[:2000],
        eval_X=(X[2000:],),
        eval_y=(y[2000:],),
        callbacks=[lgb.early_stopping(5, verbose=False)],
    )
    assert 0 < model.best_iteration_ < 300
    expected = model.predict(X[2000:], pred_contrib=True)
    values, base = tree_contributions(model, X[2000:])
    assert np.abs(values - expected[:, :-1]).max() < TOLERANCE
    assert np.abs(base - expected[:, -1]).max() < TOLERANCE


@pytest.mark.parametrize("limit", ["MAX_PATH_FEATURES", "TABLE_BUDGET_BYTES"])
def test_boosters_too_deep_for_tables_fall_back_to_lightgbm(
    limit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = _frame(2000, seed=4)
    model = lgb.LGBMClassifier(n_estimators=20, max_depth=4, verbose=-1).fit(X, y)
    monkeypatch.setattr(treeshap, limit, 1)
    assert treeshap.contributions(model, X) is None
    values, base = tree_contributions(model, X)
    expected = model.predict(X, pred_contrib=True)
    assert np.array_equal(values, expected[:, :-1]) and np.array_equal(base, expected[:, -1])


@pytest.mark.filterwarnings("ignore:LightGBM binary classifier:UserWarning")
def test_values_match_the_shap_package() -> None:
    shap = pytest.importorskip("shap")
    X, y = _frame(2000, seed=5)
    numeric = X[["a", "b", "c"]]
    model = lgb.LGBMClassifier(n_estimators=40, max_depth=4, verbose=-1).fit(numeric, y)
    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    expected = np.asarray(explainer.shap_values(numeric))
    expected = expected[..., 1] if expected.ndim == 3 else expected
    values, base = tree_contributions(model, numeric)
    assert np.abs(values - expected).max() < 1e-6
    assert np.abs(base - np.ravel(explainer.expected_value)[-1]).max() < 1e-6


def test_a_refit_estimator_is_explained_with_its_new_trees() -> None:
    X, y = _frame(2000, seed=6)
    model = lgb.LGBMClassifier(n_estimators=20, max_depth=3, verbose=-1).fit(X, y)
    first, _ = tree_contributions(model, X)
    model.set_params(n_estimators=35).fit(X, 1 - y)
    again, _ = tree_contributions(model, X)
    expected = model.predict(X, pred_contrib=True)[:, :-1]
    assert np.abs(again - expected).max() < TOLERANCE
    assert np.abs(again - first).max() > 0.1


def test_concurrent_calls_from_threads_agree() -> None:
    from concurrent.futures import ThreadPoolExecutor

    X, y = _frame(3000, seed=7)
    model = lgb.LGBMClassifier(n_estimators=30, max_depth=4, verbose=-1).fit(X, y)
    expected = model.predict(X, pred_contrib=True)[:, :-1]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: tree_contributions(model, X)[0], range(8)))
    assert all(np.abs(r - expected).max() < TOLERANCE for r in results)


def test_frames_unlike_the_training_frame_are_refused() -> None:
    X, y = _frame(1000, seed=8)
    model = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    with pytest.raises(ValueError, match="trained on 5 columns"):
        treeshap.contributions(model, X.drop(columns="c"))
    with pytest.raises(ValueError, match="2 categorical"):
        treeshap.contributions(model, X.assign(a=X["a"].astype("category")))


def test_single_leaf_trees_add_their_value_to_the_base() -> None:
    X, y = _frame(200, seed=9)
    model = lgb.LGBMClassifier(n_estimators=5, min_child_samples=500, verbose=-1).fit(X, y)
    expected = model.predict(X, pred_contrib=True)
    values, base = tree_contributions(model, X)
    assert np.all(values == 0) and np.abs(base - expected[:, -1]).max() < TOLERANCE


def test_category_sets_beyond_the_bit_mask_follow_lightgbm() -> None:
    """Codes of 64 and above cannot be decided by the 64-bit mask: those splits take the
    general rule, and both kinds agree with LightGBM in one booster."""
    rng = np.random.default_rng(10)
    n = 4000
    level = rng.integers(0, 120, n)
    X = pd.DataFrame(
        {
            "many": pd.Categorical([f"v{i:03d}" for i in level]),
            "few": pd.Categorical(rng.choice(["a", "b", "c", "d"], n)),
            "x": rng.normal(size=n),
        }
    )
    logit = np.where(level % 7 == 0, 1.5, -0.5) + (X["few"] == "b") * X["x"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    model = lgb.LGBMClassifier(
        n_estimators=40, max_depth=4, min_data_per_group=5, cat_smooth=1, verbose=-1
    ).fit(X, y)
    tables = treeshap.tables_for(model)
    assert tables is not None
    categorical = tables.kind == treeshap.CATEGORICAL
    assert (categorical & tables.small_categories).any()
    assert (categorical & ~tables.small_categories).any()
    rows = X.sample(700, random_state=1).reset_index(drop=True)  # two blocks and a part
    rows.loc[:20, "many"] = np.nan
    expected = model.predict(rows, pred_contrib=True)
    values, base = tree_contributions(model, rows)
    assert np.abs(values - expected[:, :-1]).max() < TOLERANCE
    assert np.abs(base - expected[:, -1]).max() < TOLERANCE


@pytest.mark.parametrize(
    "params",
    [
        {"max_depth": 4, "num_leaves": 15},
        {"interaction_constraints": [[0], [1], [2, 3, 4]], "zero_as_missing": True},
        {"max_depth": 3, "min_child_samples": 2000},  # single-leaf trees among the others
    ],
)
def test_one_pass_gives_lightgbm_s_own_raw_scores_and_probabilities(
    params: dict[str, object],
) -> None:
    X, y = _frame(3000, seed=11)
    model = lgb.LGBMClassifier(
        n_estimators=80, learning_rate=0.1, verbose=-1, random_state=0, **params
    ).fit(X, y)
    rows = _scoring_frame(X, seed=12)
    result = treeshap.explained(model, rows)
    assert result is not None and result.probability is not None
    np.testing.assert_array_equal(result.raw, model.predict(rows, raw_score=True))
    np.testing.assert_array_equal(result.probability, model.predict_proba(rows)[:, 1])
    alone = treeshap.predicted(model, rows)  # the same walk, no explanation
    assert alone is not None and alone.values.shape == (len(rows), 0)
    np.testing.assert_array_equal(alone.probability, result.probability)
    np.testing.assert_array_equal(alone.raw, model.decision_function(rows))
    expected = model.predict(rows, pred_contrib=True)
    assert np.abs(result.values - expected[:, :-1]).max() < TOLERANCE


def test_early_stopped_and_other_objectives_predict_as_lightgbm_does() -> None:
    X, y = _frame(3000, seed=13)
    stopped = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.3, verbose=-1).fit(
        X[:2000], y[:2000], eval_X=(X[2000:],), eval_y=(y[2000:],),
        callbacks=[lgb.early_stopping(3, verbose=False)],
    )  # fmt: skip
    assert 0 < stopped.best_iteration_ < 300
    result = treeshap.explained(stopped, X[2000:])
    assert result is not None and result.probability is not None
    np.testing.assert_array_equal(result.probability, stopped.predict_proba(X[2000:])[:, 1])
    alone = treeshap.predicted(stopped, X[2000:])
    assert alone is not None
    np.testing.assert_array_equal(alone.raw, stopped.decision_function(X[2000:]))
    # a scale the model string prints with 6 digits only: predictions use the printed one
    scaled = lgb.LGBMClassifier(n_estimators=20, sigmoid=1 / 3, verbose=-1).fit(X, y)
    result = treeshap.explained(scaled, X)
    assert result is not None and result.probability is not None
    np.testing.assert_array_equal(result.probability, scaled.predict_proba(X)[:, 1])
    entropy = lgb.LGBMClassifier(n_estimators=20, objective="cross_entropy", verbose=-1)
    result = treeshap.explained(entropy.fit(X, y), X)
    assert result is not None and result.probability is None  # not LightGBM's binary sigmoid
    alone = treeshap.predicted(entropy, X)
    assert alone is not None and alone.probability is None
    np.testing.assert_array_equal(result.raw, entropy.predict(X, raw_score=True))
