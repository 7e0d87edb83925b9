"""Scoring benchmark: 1M open leads scored and explained end to end, and what the constraints cost.

    .venv/bin/python benchmarks/scoring.py [--leads 1000000] [--train-leads 100000] [--work DIR]

1. Trains the served model (the additive, monotone LightGBM) on a separate funnel of
   ``--train-leads`` leads and compares its test-window ROC-AUC with an unconstrained LightGBM
   (no depth limit, 31 leaves, no interaction or monotone constraints) on the same rows.
2. In a fresh process (so peak memory is the scoring run's), scores every lead open at the end of
   the ``--leads`` funnel: features, probabilities, exact SHAP, fit/intent sub-scores, reasons text
   and an atomic Parquet write, chunk by chunk, timing each part.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import joblib
import lightgbm as lgb
import pandas as pd
from sklearn.metrics import roc_auc_score

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from features import ensure_funnel, read_lead_data  # noqa: E402

from predictive_scoring.config import load_config  # noqa: E402


def train_served(train_leads: int, work: Path, reuse: bool = False) -> Path:
    """Train on a separate funnel; save the served model; print the constraint's AUC cost."""
    from predictive_scoring.training import booster_features, train_models

    path = work / f"served-{train_leads}.joblib"
    if path.exists() and reuse:
        print(f"reusing the served model in {path} (drop --reuse to retrain)")
        return path
    config = load_config().with_overrides({"models.candidates": ["lightgbm"]})
    data = read_lead_data(ensure_funnel(train_leads, 1, work))
    as_of = data.latest_timestamp()
    started = time.perf_counter()
    result = train_models(data, config, as_of)
    print(
        f"trained the served model on {train_leads:,} leads in {time.perf_counter() - started:.0f} s"
    )
    served_auc = result.evaluations["lightgbm"].metrics["roc_auc"]
    free_auc = _unconstrained_auc(data, result, config)
    print(
        f"test-window ROC-AUC: served (depth 4, additive, monotone) {served_auc:.4f}; "
        f"unconstrained LightGBM {free_auc:.4f}; cost {free_auc - served_auc:+.4f}"
    )
    assert result.serving is not None
    joblib.dump(result.serving, path)
    fit_f, intent_f = booster_features(result.spec)
    print(f"served booster: {len(fit_f)} fit + {len(intent_f)} intent features")
    return path


def _unconstrained_auc(data, result, config) -> float:  # type: ignore[no-untyped-def]
    from predictive_scoring import schema
    from predictive_scoring.features.spec import build_features
    from predictive_scoring.training import labelled_rows

    rows, y = labelled_rows(data, config, result.as_of)
    X = build_features(data, rows, result.spec)
    test_start = result.test_rows[schema.SNAPSHOT_AT].min()
    train = (
        rows[schema.SNAPSHOT_AT] + pd.Timedelta(days=config.labels.horizon_days) <= test_start
    ).to_numpy()
    test = (rows[schema.SNAPSHOT_AT] >= test_start).to_numpy()
    model = lgb.LGBMClassifier(
        n_estimators=300, learning_rate=0.05, num_leaves=31, verbose=-1, n_jobs=2, random_state=0
    )
    model.fit(X[train], y[train])
    return float(roc_auc_score(y[test], model.predict_proba(X[test])[:, 1]))


def score_run(leads: int, served_path: Path, work: Path) -> dict[str, float]:
    """Score every open lead of the big funnel, timing each part."""
    from predictive_scoring import schema
    from predictive_scoring.data.outputs import Destination, write_scores
    from predictive_scoring.explain import group_sums, reasons
    from predictive_scoring.features.snapshots import scoring_rows
    from predictive_scoring.features.spec import build_features, event_keys
    from predictive_scoring.scoring import percentile_score, tiers

    config = load_config()
    served = joblib.load(served_path)
    data = read_lead_data(ensure_funnel(leads, 0, work))
    as_of = data.latest_timestamp()
    timings = {"features": 0.0, "model": 0.0, "shap": 0.0, "reasons": 0.0, "write": 0.0}
    started = time.perf_counter()
    rows = scoring_rows(data, as_of)
    keys = event_keys(data, served.spec)
    timings["features"] += time.perf_counter() - started

    def chunks():  # type: ignore[no-untyped-def]
        size = config.scoring.chunk_size
        for start in range(0, len(rows), size):
            part = rows.iloc[start : start + size].reset_index(drop=True)
            clock = time.perf_counter()
            X = build_features(data, part, served.spec, keys=keys)
            timings["features"] += time.perf_counter() - clock
            clock = time.perf_counter()
            probability = served.probabilities(X)
            timings["model"] += time.perf_counter() - clock
            clock = time.perf_counter()
            contributions, _ = served.contributions(X)
            timings["shap"] += time.perf_counter() - clock
            clock = time.perf_counter()
            fit_sum, intent_sum = group_sums(contributions, served.spec, served.feature_names)
            score = percentile_score(probability, served.probability_quantiles)
            frame = pd.DataFrame(
                {
                    schema.LEAD_ID: part[schema.LEAD_ID].astype("string").to_numpy(),
                    schema.AS_OF: pd.Series(
                        [as_of] * len(part), dtype="datetime64[us, UTC]"
                    ).to_numpy(),
                    schema.PROBABILITY: probability,
                    schema.SCORE: score,
                    schema.FIT_SCORE: percentile_score(fit_sum, served.fit_quantiles),
                    schema.INTENT_SCORE: percentile_score(intent_sum, served.intent_quantiles),
                    schema.TIER: tiers(score, config.scoring),
                    schema.IS_MQL: score >= config.scoring.mql.score,
                    schema.REASONS: reasons(
                        contributions, X[served.feature_names], served.spec, 5, served.best_values
                    ),
                    schema.MODEL_VERSION: "benchmark",
                }
            )
            timings["reasons"] += time.perf_counter() - clock
            yield frame

    destination = Destination.parse(str(work / "scores.parquet"))
    written = write_scores(chunks(), destination, as_of)
    total = time.perf_counter() - started
    timings["write"] = total - sum(v for k, v in timings.items() if k != "write")
    return {
        "rows": written,
        "events": len(data.events),
        "total_s": total,
        "rows_per_s": written / total,
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        **{f"{k}_s": v for k, v in timings.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--train-leads", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=HERE / "results")
    parser.add_argument("--served", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reuse", action="store_true", help="reuse a served model trained earlier")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    warnings.filterwarnings("ignore")
    if args.served:
        print(json.dumps(score_run(args.leads, args.served, args.work)))
        return
    served = train_served(args.train_leads, args.work, args.reuse)
    ensure_funnel(args.leads, 0, args.work)
    command = [
        sys.executable,
        __file__,
        "--leads",
        str(args.leads),
        "--work",
        str(args.work),
        "--served",
        str(served),
    ]
    result = json.loads(
        subprocess.run(command, check=True, capture_output=True, text=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    shap_share = result["shap_s"] / result["total_s"]
    print(
        f"scored and explained {result['rows']:,} open leads ({result['events']:,} events) in "
        f"{result['total_s']:.1f} s = {result['rows_per_s']:,.0f} rows/s; peak memory {result['peak_gb']:.2f} GB"
    )
    print(
        "time: "
        + ", ".join(
            f"{k} {result[f'{k}_s']:.1f} s"
            for k in ("features", "model", "shap", "reasons", "write")
        )
        + f"; SHAP share {shap_share:.0%}"
    )


if __name__ == "__main__":
    main()
