"""Peers: what a data scientist writes by hand in a day, run beside the pipeline on the same rows.

* ``all_snapshots_lightgbm``: a plain LightGBM (depth 4, no constraints, no calibration) on every
  labelled 14-day snapshot up to T - H, with the pipeline's own features;
* on flat exports, from the raw columns: a one-hot logistic regression, sklearn's
  ``HistGradientBoostingClassifier`` and FLAML AutoML with a 90-second budget (``metric="ap"``,
  seed 0; installed by ``make install-benchmarks``, skipped with a note otherwise).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import Config
from predictive_scoring.data.tables import LeadData
from predictive_scoring.features.snapshots import training_snapshots
from predictive_scoring.features.spec import FeatureSpec, build_features

FLAML_SECONDS = 90
MAX_CATEGORIES = 250
"""Most frequent values kept per raw text column (HistGradientBoosting takes at most 255)."""
EVERY_SNAPSHOT = 10**6
"""``max_snapshots_per_lead`` that keeps every snapshot (no thinning)."""


def all_snapshots_lightgbm(
    data: LeadData, spec: FeatureSpec, config: Config, as_of: pd.Timestamp
) -> Callable[[pd.DataFrame], np.ndarray]:
    """A plain LightGBM fitted on every labelled grid snapshot up to ``as_of - H``."""
    import lightgbm as lgb

    horizon = config.labels.horizon_days
    rows = training_snapshots(
        data, as_of, horizon, config.features.snapshot_every_days, EVERY_SNAPSHOT, entry=False
    )
    X = build_features(data, rows, spec, config.models.num_threads)
    model = lgb.LGBMClassifier(
        n_estimators=400,
        learning_rate=0.05,
        num_leaves=15,
        max_depth=4,
        min_child_samples=40,
        n_jobs=config.models.num_threads,
        random_state=0,
        verbose=-1,
    ).fit(X, rows[schema.LABEL].to_numpy())
    return lambda features: model.predict_proba(features[X.columns])[:, 1]


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Raw export columns: numbers as numbers, everything else categorical (its
    ``MAX_CATEGORIES`` most frequent values, the rest as one)."""
    out = frame.copy()
    for column in out.columns:
        numbers = pd.to_numeric(out[column], errors="coerce")
        if numbers.notna().sum() == out[column].notna().sum():
            out[column] = numbers.astype(float)
        else:
            text = out[column].astype(object)
            text = text.where(text.notna(), np.nan).map(_text, na_action="ignore")
            frequent = text.value_counts().index[:MAX_CATEGORIES]
            out[column] = pd.Categorical(text.where(text.isin(frequent) | text.isna(), "(other)"))
    return out


def _text(value: object) -> str:
    return str(value)


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as plain text, missing as its own value (for one-hot encoding)."""
    text = {
        c: frame[c].astype(object).where(frame[c].notna(), "(missing)").astype(str)
        for c in frame.select_dtypes("category")
    }
    return frame.assign(**text)


def flat_peers(train: pd.DataFrame, y: np.ndarray, test: pd.DataFrame) -> dict[str, np.ndarray]:
    """The flat-export peers fitted on ``train`` (raw columns) and their probabilities on ``test``."""
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    both = _typed(pd.concat([train, test], ignore_index=True))
    X, Z = both.iloc[: len(train)], both.iloc[len(train) :]
    logistic = make_pipeline(
        make_column_transformer(
            (
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                make_column_selector(dtype_include="number"),
            ),
            (
                OneHotEncoder(handle_unknown="ignore", min_frequency=5),
                make_column_selector(dtype_include="object"),
            ),
        ),
        LogisticRegression(max_iter=5000),
    ).fit(_as_text(X), y)
    boosted = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    boosted.fit(X, y)
    peers = {
        "one_hot_logistic": logistic.predict_proba(_as_text(Z))[:, 1],
        "hist_gradient_boosting": boosted.predict_proba(Z)[:, 1],
    }
    automl = _flaml(X, y, Z)
    if automl is not None:
        peers[f"flaml_automl_{FLAML_SECONDS}s"] = automl
    return peers


def _flaml(X: pd.DataFrame, y: np.ndarray, Z: pd.DataFrame) -> np.ndarray | None:
    try:
        from flaml import AutoML
    except ImportError:
        print("   (FLAML is not installed: `make install-benchmarks` adds it)")
        return None
    automl = AutoML()
    started = time.perf_counter()
    automl.fit(
        X, y, task="classification", metric="ap", time_budget=FLAML_SECONDS, seed=0, verbose=0
    )
    print(f"   FLAML: best {automl.best_estimator} after {time.perf_counter() - started:.0f} s")
    probability: np.ndarray = automl.predict_proba(Z)[:, 1]
    return probability


HAND_WRITTEN_EVENT_WINDOWS = (7, 30, 90)
"""Days of the hand-written peer's per-type event counts."""


def hand_written_training(folder: str, as_of: pd.Timestamp, horizon_days: int) -> dict[str, float]:
    """The plain script a data scientist writes for a funnel's history: DuckDB snapshots every 14
    days of every open lead up to ``as_of - H`` (label: converted within H), per-type event counts
    over 7, 30 and 90 days and ever, days since the last event and the lead's age, the raw fit
    columns (text ones as categories), and one depth-4 LightGBM (400 rounds) on every row.  Returns its
    seconds per step and the rows it trained on (it runs in this process: time and memory are
    its own when the caller runs it in a fresh one)."""
    import duckdb
    import lightgbm as lgb

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    for table in ("leads", "events", "outcomes"):
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{folder}/{table}.parquet')"
        )
    types = [t for (t,) in con.execute("SELECT DISTINCT event_type FROM events").fetchall()]
    end = (as_of - pd.Timedelta(days=horizon_days)).tz_convert("UTC").tz_localize(None)
    counts = ",\n".join(
        f"count(*) FILTER (WHERE e.event_type = '{t}' AND e.occurred_at >= s.snapshot_at - "
        f'INTERVAL {d} DAY) AS "{t}_{d}d"'
        for t in types
        for d in HAND_WRITTEN_EVENT_WINDOWS
    )
    ever = ",\n".join(
        f"count(*) FILTER (WHERE e.event_type = '{t}') AS \"{t}_ever\"" for t in types
    )
    query = f"""
    WITH grid AS (
        SELECT unnest(generate_series(
            (SELECT min(created_at) FROM leads)::TIMESTAMP + INTERVAL 14 DAY,
            TIMESTAMP '{end}', INTERVAL 14 DAY)) AS snapshot_at
    ),
    snaps AS (
        SELECT l.lead_id, g.snapshot_at, l.created_at,
               (o.converted_at IS NOT NULL AND o.converted_at::TIMESTAMP
                   < g.snapshot_at + INTERVAL {horizon_days} DAY)::INT AS label
        FROM leads l CROSS JOIN grid g LEFT JOIN outcomes o USING (lead_id)
        WHERE l.created_at::TIMESTAMP < g.snapshot_at
          AND (o.converted_at IS NULL OR o.converted_at::TIMESTAMP >= g.snapshot_at)
          AND (o.closed_at IS NULL OR o.status = 'won' OR o.closed_at::TIMESTAMP >= g.snapshot_at)
    ),
    activity AS (
        SELECT s.lead_id, s.snapshot_at, {counts}, {ever},
               date_diff('day', max(e.occurred_at::TIMESTAMP), s.snapshot_at) AS days_since_last
        FROM snaps s JOIN events e
          ON e.lead_id = s.lead_id AND e.occurred_at::TIMESTAMP < s.snapshot_at
        GROUP BY s.lead_id, s.snapshot_at
    )
    SELECT s.label, date_diff('day', s.created_at::TIMESTAMP, s.snapshot_at) AS age_days,
           l.industry, l.company_size, l.annual_revenue, l.job_title, l.country, l.lead_source,
           a.* EXCLUDE (lead_id, snapshot_at)
    FROM snaps s JOIN leads l USING (lead_id)
    LEFT JOIN activity a USING (lead_id, snapshot_at)
    """
    frame = con.execute(query).df()
    con.close()
    snapshots = time.perf_counter() - started
    y = frame.pop("label").to_numpy()
    for column in ("industry", "job_title", "country", "lead_source"):
        frame[column] = frame[column].astype("category")
    model = lgb.LGBMClassifier(
        n_estimators=400, learning_rate=0.05, num_leaves=15, max_depth=4, min_child_samples=40,
        n_jobs=2, random_state=0, verbose=-1,
    ).fit(frame, y)  # fmt: skip
    assert model.booster_.num_trees() == 400
    from predictive_scoring.stopwatch import peak_gb

    return {
        "peak_gb": peak_gb(),
        "rows": float(len(y)),
        "snapshots_s": snapshots,
        "fit_s": time.perf_counter() - started - snapshots,
        "total_s": time.perf_counter() - started,
    }
