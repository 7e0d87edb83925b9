"""Scoring benchmark: 1M open leads scored and explained end to end, and what the constraints cost.

    .venv/bin/python benchmarks/scoring.py [--leads 1000000] [--train-leads 100000] [--work DIR]
                                           [--lively] [--keep-outcomes] [--reuse] [--startup]
                                           [--segments 3]

1. Trains the served model (the additive, monotone LightGBM) on a separate funnel of
   ``--train-leads`` leads and compares its test-window ROC-AUC with an unconstrained LightGBM
   (no depth limit, 31 leaves, no interaction or monotone constraints) on the same rows.
2. In a fresh process (so peak memory is the scoring run's), scores every lead open at the end of
   the ``--leads`` funnel: features, probabilities, exact SHAP, fit/intent sub-scores, reasons text
   and an atomic Parquet write, chunk by chunk, timing each part.  The funnel's outcomes are
   dropped so that every lead is open (1,000,000 open leads with their 20M events); with
   ``--keep-outcomes`` only the leads really open at the end are scored (about 56 %).

``--startup`` times ``predictive-scoring score`` end to end, process start to exit, on a small
funnel, three times: what a scheduled run pays before and after scoring proper.

With ``--segments 3`` the leads are split in three by a hash of their id and routed to three
segment models (copies of the served one, so each costs what the one does): what routing through
several models costs beside scoring with one.

With ``--lively`` both funnels have about 40 events per lead (``features.LIVELY``) and the served
booster's fit attributes interact (``models.lightgbm.fit_interactions: true``).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import joblib
import lightgbm as lgb
import pandas as pd
from sklearn.metrics import roc_auc_score

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from features import ensure_funnel, read_lead_data  # noqa: E402

from predictive_scoring.config import load_config  # noqa: E402
from predictive_scoring.stopwatch import peak_gb  # noqa: E402


def train_served(train_leads: int, work: Path, reuse: bool = False, lively: bool = False) -> Path:
    """Train on a separate funnel; save the served model; print the constraint's AUC cost.  With
    ``lively`` the funnel has about 40 events per lead and fit attributes interact in the
    booster (``models.lightgbm.fit_interactions: true``)."""
    from predictive_scoring import jobs
    from predictive_scoring.training import booster_features

    path = work / (f"served-{train_leads}" + ("-lively" if lively else "") + ".joblib")
    if path.exists() and reuse:
        print(f"reusing the served model in {path} (drop --reuse to retrain)")
        return path
    config = load_config().with_overrides({"models.candidates": ["lightgbm"]})
    if lively:
        config = config.with_overrides({"models.lightgbm.fit_interactions": True})
    config = config.with_overrides({"reports.model_card": str(work / "served-card.html")})
    validated = jobs.load(
        str(ensure_funnel(train_leads, 1, work, lively)),
        config,
        require_labels=True,
        quarantine_dir=work / "q",
    )
    data = validated.data
    started = time.perf_counter()
    uri = f"sqlite:///{(work / 'mlflow.db').resolve()}"
    result = jobs.train_validated(
        validated, config, data.latest_timestamp(), uri, jobs.Silent()
    ).result
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
    trees = result.booster_structure.get("trees", 0) if result.served == "lightgbm" else 0
    print(
        f"served booster: {len(fit_f)} fit + {len(intent_f)} intent features, {trees} trees; "
        f"structure {result.booster_structure}"
    )
    return path


def _unconstrained_auc(data, result, config) -> float:  # type: ignore[no-untyped-def]
    from predictive_scoring import schema
    from predictive_scoring.features.spec import build_features
    from predictive_scoring.training import labelled_rows

    rows, y = labelled_rows(data, config, result.as_of)
    X = build_features(data, rows, result.spec, config.models.num_threads)
    test_start = result.test_rows[schema.SNAPSHOT_AT].min()
    train = (
        rows[schema.SNAPSHOT_AT] + pd.Timedelta(days=config.labels.horizon_days) <= test_start
    ).to_numpy()
    test = (rows[schema.SNAPSHOT_AT] >= test_start).to_numpy() & ~rows[schema.ENTRY].to_numpy(
        dtype=bool
    )
    model = lgb.LGBMClassifier(
        n_estimators=300, learning_rate=0.05, num_leaves=31, verbose=-1, n_jobs=2, random_state=0
    )
    model.fit(X[train], y[train])
    return float(roc_auc_score(y[test], model.predict_proba(X[test])[:, 1]))


def score_run(
    leads: int,
    served_path: Path,
    work: Path,
    all_open: bool,
    lively: bool = False,
    segments: int = 0,
) -> dict[str, float]:
    """Score every open lead of the big funnel through the scoring job, which times each part;
    with ``segments``, the leads are routed to that many segment models."""
    from predictive_scoring.jobs import Silent, score_validated

    config = load_config()
    served = joblib.load(served_path)
    data = read_lead_data(ensure_funnel(leads, 0, work, lively))
    if all_open:
        data = replace(data, outcomes=data.outcomes.iloc[0:0])
    batch = score_validated(
        data,
        served,
        config,
        data.latest_timestamp(),
        str(work / "scores.parquet"),
        str(served_path),
        Silent(),
        routes=segment_routes(data, served, segments),
    )
    seconds = {part["step"]: part["seconds"] for part in batch.timing["steps"]}
    total = batch.timing["total_seconds"]
    return {
        "rows": batch.rows,
        "events": len(data.events),
        "total_s": total,
        "rows_per_s": batch.rows / total,
        "peak_gb": peak_gb(),  # VmHWM: this process's own, not the parent's it was forked from
        **{f"{k}_s": seconds.get(k, 0.0) for k in PARTS},
        "rest_s": total - sum(seconds.get(k, 0.0) for k in PARTS),
    }


def segment_routes(data, served, segments: int) -> list:  # type: ignore[no-untyped-def]
    """``segments`` routes splitting every lead by a hash of its id, each to a copy of
    ``served`` marked with its segment: the cost of routing through several models, each as
    costly as the one (segment models of the same structure on a third of the rows)."""
    from predictive_scoring import schema
    from predictive_scoring.jobs.score import Route

    if segments == 0:
        return []
    ids = data.leads[schema.LEAD_ID]
    group = pd.util.hash_pandas_object(ids, index=False).to_numpy() % segments
    return [
        Route(f"s{k}", replace(served, segment=f"s{k}"), ids[group == k]) for k in range(segments)
    ]


PARTS = ("route", "rows", "features", "predict and shap", "reasons", "write", "drift")
"""The scoring job's steps, as its ``timing`` names them."""

STARTUP_LEADS = 3_000
"""Leads of the funnel ``--startup`` scores: small, so what is measured is the fixed cost."""


def startup_runs(work: Path, runs: int = 3) -> None:
    """Time ``predictive-scoring score`` end to end on a small funnel, process start to exit, as
    a scheduler runs it: train once into a fresh MLflow store, then score ``runs`` times and
    print each run's wall time, the job's own steps and what the steps leave (imports, exit)."""
    store = work / "startup"
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True)
    folder = ensure_funnel(STARTUP_LEADS, 2, work)
    uri = f"sqlite:///{store / 'mlflow.db'}"
    common = ["--data", str(folder), "--tracking-uri", uri, "--quarantine-dir", str(store / "q")]
    train = [sys.executable, "-m", "predictive_scoring", "train", *common]
    subprocess.run(
        [*train, "--model-card", str(store / "card.html")], check=True, capture_output=True
    )
    score = [sys.executable, "-m", "predictive_scoring", "score", *common, "--json"]
    for run in range(1, runs + 1):
        started = time.perf_counter()
        done = subprocess.run(
            [*score, "--output", str(store / "scores.parquet")],
            check=True,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        steps = {part["step"]: part["seconds"] for part in summary["timing"]["steps"]}
        scoring = sum(steps.get(k, 0.0) for k in PARTS)  # rows … write, drift: scoring proper
        print(
            f"start-up run {run}: {summary['rows']:,} leads scored in {wall:.2f} s wall; "
            f"read and validate {steps.get('read and validate', 0.0):.2f} s, load model "
            f"{steps.get('load model', 0.0):.2f} s, scoring proper {scoring:.2f} s, MLflow "
            f"logging {steps.get('mlflow logging', 0.0):.2f} s, outside the job's steps "
            f"(interpreter, imports, exit) {wall - summary['timing']['total_seconds']:.2f} s; "
            f"start-up and exit (everything but scoring proper) {wall - scoring:.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--train-leads", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=HERE / "results")
    parser.add_argument("--served", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reuse", action="store_true", help="reuse a served model trained earlier")
    parser.add_argument(
        "--startup",
        action="store_true",
        help=f"only time `score` end to end on a {STARTUP_LEADS:,}-lead funnel (fixed costs)",
    )
    parser.add_argument(
        "--keep-outcomes", action="store_true", help="score only the leads open at the end"
    )
    parser.add_argument(
        "--lively",
        action="store_true",
        help="about 40 events per lead and a booster whose fit attributes interact",
    )
    parser.add_argument(
        "--segments",
        type=int,
        default=0,
        help="route the leads through this many segment models (each a copy of the served one)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    warnings.filterwarnings("ignore")
    if args.startup:
        startup_runs(args.work)
        return
    if args.served:
        print(
            json.dumps(
                score_run(
                    args.leads,
                    args.served,
                    args.work,
                    not args.keep_outcomes,
                    args.lively,
                    args.segments,
                )
            )
        )
        return
    served = train_served(args.train_leads, args.work, args.reuse, args.lively)
    ensure_funnel(args.leads, 0, args.work, args.lively)
    command = [
        sys.executable,
        __file__,
        "--leads",
        str(args.leads),
        "--work",
        str(args.work),
        "--served",
        str(served),
        *(["--keep-outcomes"] if args.keep_outcomes else []),
        *(["--lively"] if args.lively else []),
        *(["--segments", str(args.segments)] if args.segments else []),
    ]
    result = json.loads(
        subprocess.run(command, check=True, capture_output=True, text=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    shap_share = result["predict and shap_s"] / result["total_s"]
    print(
        f"scored and explained {result['rows']:,} open leads ({result['events']:,} events) in "
        f"{result['total_s']:.1f} s = {result['rows_per_s']:,.0f} rows/s; peak memory {result['peak_gb']:.2f} GB"
    )
    print(
        "time: "
        + ", ".join(f"{k} {result[f'{k}_s']:.1f} s" for k in (*PARTS, "rest"))
        + f"; predict and SHAP share {shap_share:.0%} (rest: scores, sub-scores, tiers between the steps)"
    )


if __name__ == "__main__":
    main()
