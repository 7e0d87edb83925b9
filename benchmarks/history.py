"""Cost of score history and the closed loop (CONTRACT section 8).

    .venv/bin/python benchmarks/history.py [--leads 1000000] [--runs 30] [--performance-leads 100000]
                                           [--funnel-leads 320000]
                                           [--work benchmarks/results]

1. **Change columns**: a destination (Parquet, then DuckDB) holding ``--runs`` earlier nightly
   runs of ``--leads`` rows each; one more run of ``--leads`` rows is given its change columns
   (reading each model's previous run, then ``previous_score``, ``score_change``, ``trend``,
   ``newly_hot`` on every chunk of 100,000): the time that adds to scoring, and the peak memory.
2. **performance** over ``--runs`` runs of ``--performance-leads`` leads of a generated funnel
   (the leads open at each as-of, weekly): the job's wall time (reading the scores without their
   reasons, loading and validating the data, measuring every run) and the measuring alone.

Destinations are built directly with Arrow and DuckDB (a run after run rewrite would measure
the history's writing, not its reading) and cached in ``--work``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from features import ensure_funnel, read_lead_data  # noqa: E402

from predictive_scoring import jobs, schema  # noqa: E402
from predictive_scoring.config import load_config  # noqa: E402
from predictive_scoring.data.history import add_changes, previous_scores  # noqa: E402
from predictive_scoring.data.outputs import Destination  # noqa: E402
from predictive_scoring.performance import performance  # noqa: E402

CHUNK = 100_000
FIRST_NIGHT = pd.Timestamp("2025-01-01", tz="UTC")


def _run(ids: np.ndarray, night: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    score = rng.integers(0, 101, len(ids))
    return pd.DataFrame(
        {
            schema.LEAD_ID: ids,
            schema.AS_OF: pd.Series([night] * len(ids), dtype="datetime64[us, UTC]"),
            schema.PROBABILITY: score / 100,
            schema.SCORE: score,
            schema.FIT_SCORE: score,
            schema.INTENT_SCORE: score,
            schema.TIER: np.where(score >= 80, "hot", np.where(score >= 50, "warm", "cold")),
            schema.IS_MQL: score >= 80,
            schema.REASONS: "[]",
            schema.MODEL_VERSION: "lead-scoring/1",
            schema.SEGMENT: "",
        }
    )


def _destinations(leads: int, runs: int, work: Path) -> tuple[Path, Path]:
    """A Parquet file and a DuckDB table, each holding ``runs`` nights of ``leads`` rows."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = work / f"history-{leads}-{runs}.parquet"
    database = work / f"history-{leads}-{runs}.duckdb"
    if parquet.exists() and database.exists():
        return parquet, database
    started = time.perf_counter()
    ids = np.array([f"L{k:08d}" for k in range(leads)], dtype=object)
    rng = np.random.default_rng(0)
    writer = None
    with duckdb.connect(str(database)) as con:
        for night in range(runs):
            frame = _run(ids, FIRST_NIGHT + pd.Timedelta(days=night), rng)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            writer = writer or pq.ParquetWriter(parquet, table.schema)
            writer.write_table(table)
            con.register("night", frame)
            con.execute("CREATE TABLE IF NOT EXISTS lead_scores AS SELECT * FROM night LIMIT 0")
            con.execute("INSERT INTO lead_scores SELECT * FROM night")
            con.unregister("night")
    assert writer is not None
    writer.close()
    print(f"built {runs} runs of {leads:,} rows in {time.perf_counter() - started:.1f} s")
    return parquet, database


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def change_columns(leads: int, runs: int, work: Path) -> None:
    parquet, database = _destinations(leads, runs, work)
    night = FIRST_NIGHT + pd.Timedelta(days=runs)
    ids = np.array([f"L{k:08d}" for k in range(leads)], dtype=object)
    tonight = _run(ids, night, np.random.default_rng(1))
    for label, text in (("Parquet", str(parquet)), ("DuckDB", f"duckdb:///{database}#lead_scores")):
        started = time.perf_counter()
        previous = previous_scores(Destination.parse(text), night)
        read = time.perf_counter() - started
        assert previous is not None
        changed = 0
        for start in range(0, leads, CHUNK):
            chunk = add_changes(tonight.iloc[start : start + CHUNK], previous, 5)
            changed += int(chunk[schema.TREND].notna().sum())
        total = time.perf_counter() - started
        print(
            f"change columns, {label} destination holding {runs} runs of {leads:,} rows: "
            f"{total:.1f} s added to a run of {leads:,} leads (previous run read in {read:.1f} s, "
            f"{changed:,} rows given their change); peak memory {_peak_gb():.2f} GB"
        )


def _performance_scores(data: object, leads: int, runs: int, work: Path) -> Path:
    path = work / f"performance-{leads}-{runs}.parquet"
    if path.exists():
        return path
    from predictive_scoring.features.snapshots import scoring_rows

    latest = data.latest_timestamp()  # type: ignore[attr-defined]
    nights = [latest - pd.Timedelta(days=60 + 7 * k) for k in range(runs)][::-1]
    rng = np.random.default_rng(2)
    parts = []
    for night in nights:
        open_ids = scoring_rows(data, night)[schema.LEAD_ID].to_numpy()  # type: ignore[arg-type]
        chosen = rng.choice(open_ids, min(leads, len(open_ids)), replace=False)
        parts.append(_run(chosen, night, rng))
    pd.concat(parts, ignore_index=True).to_parquet(path, index=False)
    return path


def performance_over_runs(leads: int, runs: int, work: Path, funnel_leads: int) -> None:
    folder = ensure_funnel(funnel_leads, 0, work)
    data = read_lead_data(folder)
    scores_path = _performance_scores(data, leads, runs, work)
    scores = pd.read_parquet(scores_path)
    started = time.perf_counter()
    summary = performance(scores, data, load_config().labels.horizon_days, by="lead_source")
    measuring = time.perf_counter() - started
    started = time.perf_counter()
    run = jobs.performance_job(
        str(scores_path), str(folder), load_config(), by="lead_source",
        output=work / "performance.html", quarantine_dir=work / "q",
    )  # fmt: skip
    job = time.perf_counter() - started
    complete = sum(r["status"] == "complete" for r in run.summary["runs"])
    fewest = int(scores.groupby(schema.AS_OF).size().min())
    print(f"leads per run: at least {fewest:,} (asked {leads:,})")
    print(
        f"performance over {runs} runs of {leads:,} leads ({len(scores):,} rows, {complete} "
        f"complete): job {job:.1f} s (read, validate the data, measure, report); measuring "
        f"alone {measuring:.1f} s; peak memory {_peak_gb():.2f} GB"
    )
    assert summary["complete_runs"] == complete


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--performance-leads", type=int, default=100_000)
    parser.add_argument(
        "--funnel-leads", type=int, default=320_000,
        help="the funnel measured by performance: big enough that every run has its leads open",
    )  # fmt: skip
    parser.add_argument("--work", type=Path, default=HERE / "results")
    parser.add_argument("--only", choices=["changes", "performance"], default=None)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "changes"):
        change_columns(args.leads, args.runs, args.work)
    if args.only in (None, "performance"):
        performance_over_runs(args.performance_leads, args.runs, args.work, args.funnel_leads)


if __name__ == "__main__":
    main()
