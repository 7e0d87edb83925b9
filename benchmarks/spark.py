"""Spark engine benchmark: the same open leads scored by the DuckDB engine and on Spark, same run.

    .venv/bin/python benchmarks/spark.py [--leads 1000000] [--train-leads 30000] [--work DIR]
                                         [--master local[2]] [--reuse] [--train-only]

1. Trains the served model on a separate funnel of ``--train-leads`` leads (or reuses it) and
   registers it in a SQLite MLflow store.
2. Writes the ``--leads`` funnel (1M leads, about 20M events) with every lead open (no outcomes),
   as Parquet.
3. Scores it with ``score`` on the DuckDB engine, then on Spark (``--master``, default
   ``local[2]``), both end to end from the files, each in a fresh process.  Spark's parts are
   then timed in another fresh process, each on the checked tables the first step cached: read
   and validate, the features into Spark's ``noop`` sink (the events aggregated per lead and
   type, laid out per lead, joined to the open leads), features + model + SHAP into it, then the
   real write; a part's time is its step's beyond the step before.

``--train-only`` instead trains on the training funnel with ``train --engine spark`` and with the
DuckDB engine, each in a fresh process, and prints both test-window ROC-AUCs and their gap.
4. Prints wall time and rows/s per core for each part beside the DuckDB engine's, the start-up
   cost (the session, and the first job's warm-up on a small funnel) and whether the two
   engines' rows are equal.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from features import ensure_funnel  # noqa: E402

from predictive_scoring import schema  # noqa: E402

MODEL = "spark-benchmark"
CORES = 2


def registered(train_leads: int, work: Path, reuse: bool) -> str:
    """A SQLite store whose champion is trained on a ``train_leads`` funnel; its URI."""
    store = work / "spark-store"
    uri = f"sqlite:///{store / 'mlflow.db'}"
    if reuse and (store / "mlflow.db").exists():
        return uri
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True)
    folder = ensure_funnel(train_leads, 1, work)
    command = [
        sys.executable, "-m", "predictive_scoring", "train", "--data", str(folder),
        "--tracking-uri", uri, "--model-name", MODEL, "--model-card", str(store / "card.html"),
        "--quarantine-dir", str(store / "q"),
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    print(
        f"trained and registered on {train_leads:,} leads in {time.perf_counter() - started:.0f} s"
    )
    return uri


def all_open(leads: int, work: Path) -> Path:
    """The big funnel with no outcomes: every lead open at its end."""
    source = ensure_funnel(leads, 0, work)
    folder = work / f"open-{leads}"
    if not (folder / "outcomes.parquet").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("leads", "events"):
            target = folder / f"{name}.parquet"
            if not target.exists():
                target.symlink_to(source / f"{name}.parquet")
        outcomes = pd.read_parquet(source / "outcomes.parquet").iloc[0:0]
        outcomes.to_parquet(folder / "outcomes.parquet")
    return folder


def run_score(engine: str, folder: Path, output: Path, uri: str, master: str) -> dict:
    """``score`` in a fresh process; its ``--json`` summary and wall time."""
    command = [
        sys.executable, "-m", "predictive_scoring", "score", "--engine", engine,
        "--data", str(folder), "--output", str(output), "--tracking-uri", uri,
        "--model", f"models:/{MODEL}@champion", "--quarantine-dir", str(output.parent / "q"),
        "--json",
    ]  # fmt: skip
    if engine == "spark":
        settings = output.parent / "spark-master.yaml"
        settings.write_text(f"engine: {{master: {json.dumps(master)}}}\n")
        command += ["--config", str(settings)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{engine} score failed:\n{done.stderr[-3000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    summary["wall_s"] = wall
    return summary


def spark_parts(folder: Path, uri: str, master: str, output: Path) -> dict[str, float]:
    """Spark's parts timed in one fresh process, each step's input already cached by the step
    before: the session, read and validate (the checked tables cached), the features into the
    ``noop`` sink, features + model + SHAP into it, then the real write (all of it again: the
    write's own cost is its time beyond the previous step's)."""
    code = f"""
import json, time
import pandas as pd
from predictive_scoring import tracking
from predictive_scoring.config import load_config
from predictive_scoring.spark.session import spark_session
from predictive_scoring.spark.tables import read_spark_tables
from predictive_scoring.spark.outputs import SparkDestination, write_partition
from predictive_scoring.spark import scoring
config = load_config().with_overrides({{"engine.name": "spark", "engine.master": {master!r}}})
out = {{}}
t = time.perf_counter(); spark = spark_session(config.engine); out["session_s"] = time.perf_counter() - t
served = tracking.load_served("models:/{MODEL}@champion", {uri!r})
t = time.perf_counter()
tables = read_spark_tables(spark, {str(folder)!r}, config, None)
as_of = pd.Timestamp(tables.latest_us() * 1000, tz="UTC")
out["read_s"] = time.perf_counter() - t
us = int(as_of.value // 1000)
t = time.perf_counter()
leads = scoring.open_leads(tables, us)
rows = leads.selectExpr("lead_id AS lead_idx")
wide = scoring.wide_statistics(spark, tables.events, rows, served.spec, us)
leads.join(wide, leads["lead_id"] == wide["lead_idx"], "left").write.format("noop").mode("overwrite").save()
out["features_s"] = time.perf_counter() - t
t = time.perf_counter()
scoring.scored_frame(spark, tables, served, config, as_of, None).write.format("noop").mode("overwrite").save()
out["features_model_shap_s"] = time.perf_counter() - t
t = time.perf_counter()
frame = scoring.scored_frame(spark, tables, served, config, as_of, None)
write_partition(frame, SparkDestination(path=__import__("pathlib").Path({str(output)!r})), as_of)
out["features_model_shap_write_s"] = time.perf_counter() - t
print(json.dumps(out))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"spark parts failed:\n{done.stderr[-3000:]}")
    parts: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return parts


def same_rows(duck: Path, spark: Path) -> str:
    import pyarrow.dataset as ds

    a = pd.read_parquet(duck).sort_values(schema.LEAD_ID).reset_index(drop=True)
    b = ds.dataset(spark, partitioning="hive").to_table().to_pandas()
    b = b.sort_values(schema.LEAD_ID).reset_index(drop=True)
    if len(a) != len(b):
        return f"row counts differ: {len(a):,} vs {len(b):,}"
    gap = float(np.abs(a[schema.PROBABILITY] - b[schema.PROBABILITY]).max())
    columns = [schema.LEAD_ID, schema.SCORE, schema.FIT_SCORE, schema.INTENT_SCORE, schema.TIER,
               schema.IS_MQL, schema.REASONS]  # fmt: skip
    differ = {c: int((a[c].astype(str) != b[c].astype(str)).sum()) for c in columns}
    return f"max probability gap {gap:.1e}; rows differing per column {differ}"


def startup(work: Path, uri: str, master: str) -> float:
    """Wall time of a Spark ``score`` of a 3,000-lead funnel, process start to exit."""
    folder = ensure_funnel(3_000, 2, work)
    summary = run_score("spark", folder, work / "spark-startup", uri, master)
    return float(summary["wall_s"])


def train_both(train_leads: int, work: Path) -> None:
    """``train`` on the training funnel with each engine, in fresh processes; both test-window
    ROC-AUCs, their gap and wall times."""
    folder = ensure_funnel(train_leads, 1, work)
    found = {}
    for engine in ("duckdb", "spark"):
        store = work / f"train-{engine}"
        shutil.rmtree(store, ignore_errors=True)
        store.mkdir(parents=True)
        command = [
            sys.executable, "-m", "predictive_scoring", "train", "--engine", engine,
            "--data", str(folder), "--tracking-uri", f"sqlite:///{store / 'mlflow.db'}",
            "--model-card", str(store / "card.html"), "--quarantine-dir", str(store / "q"),
            "--json",
        ]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{engine} train failed:\n{done.stderr[-3000:]}")
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        served = summary["served_model"]
        metrics = summary["metrics"][served]
        found[engine] = (served, metrics["roc_auc"], time.perf_counter() - started)
    for engine, (served, auc, wall) in found.items():
        print(
            f"train --engine {engine}: served {served}, test-window ROC-AUC {auc:.4f}, {wall:.1f} s"
        )
    gap = found["spark"][1] - found["duckdb"][1]
    print(f"ROC-AUC Spark minus DuckDB: {gap:+.4f} (target within 0.003)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--train-leads", type=int, default=30_000)
    parser.add_argument("--work", type=Path, default=HERE / "results")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument(
        "--train-only", action="store_true", help="only train with both engines and compare"
    )
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.train_only:
        train_both(args.train_leads, work)
        return
    uri = registered(args.train_leads, work, args.reuse)
    folder = all_open(args.leads, work)
    events = pd.read_parquet(folder / "events.parquet", columns=[schema.LEAD_ID])
    print(f"{args.leads:,} open leads, {len(events):,} events; Spark master {args.master}")
    del events
    duck_out, spark_out = work / "duck-scores.parquet", work / "spark-scores"
    shutil.rmtree(spark_out, ignore_errors=True)
    duck_out.unlink(missing_ok=True)
    duck = run_score("duckdb", folder, duck_out, uri, args.master)
    spark = run_score("spark", folder, spark_out, uri, args.master)
    parts = spark_parts(folder, uri, args.master, work / "spark-parts")
    report(duck, spark, parts, startup(work, uri, args.master))
    print(same_rows(duck_out, spark_out))


def _steps(summary: dict) -> dict[str, float]:
    return {s["step"]: s["seconds"] for s in summary["timing"]["steps"]}


def report(duck: dict, spark: dict, parts: dict[str, float], start_s: float) -> None:
    rows = duck["rows"]
    d = _steps(duck)
    spark_parts = {
        "read and validate": parts["read_s"],
        "features": parts["features_s"],
        "model + SHAP + reasons": parts["features_model_shap_s"] - parts["features_s"],
        # the write's run recomputes everything before it: its own cost is what it takes
        # beyond the noop run (at or under zero: within the two runs' noise)
        "write": max(0.0, parts["features_model_shap_write_s"] - parts["features_model_shap_s"]),
    }
    duck_parts = {
        "read and validate": d.get("read and validate", 0.0),
        "features": d.get("rows", 0.0) + d.get("features", 0.0),
        "model + SHAP + reasons": d.get("predict and shap", 0.0) + d.get("reasons", 0.0),
        "write": d.get("write", 0.0),
    }
    print(
        f"{'part':24} {'DuckDB s':>9} {'rows/s/core':>12} {'Spark s':>9} {'rows/s/core':>12} {'ratio':>6}"
    )
    for part in spark_parts:
        a, b = duck_parts[part], spark_parts[part]
        if b <= 0:
            print(f"{part:24} {a:9.1f} {rows / a / CORES:12,.0f} {b:9.1f} {'(noise)':>12}")
            continue
        ra, rb = rows / max(a, 1e-9) / CORES, rows / b / CORES
        print(f"{part:24} {a:9.1f} {ra:12,.0f} {b:9.1f} {rb:12,.0f} {rb / ra:6.2f}")
    a = sum(duck_parts.values())
    b = sum(spark_parts.values())
    print(
        f"{'scoring (all parts)':24} {a:9.1f} {rows / a / CORES:12,.0f} {b:9.1f} "
        f"{rows / b / CORES:12,.0f} {(rows / b) / (rows / a):6.2f}"
    )
    print(f"raw Spark steps (s): {json.dumps({k: round(v, 1) for k, v in parts.items()})}")
    print(
        f"end to end (process): DuckDB {duck['wall_s']:.1f} s, Spark {spark['wall_s']:.1f} s; "
        f"Spark session start {parts['session_s']:.1f} s; a 3,000-lead Spark score from process "
        f"start to exit {start_s:.1f} s"
    )


if __name__ == "__main__":
    main()
