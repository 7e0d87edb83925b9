"""Training benchmark: ``train`` on large histories beside a hand-written peer, in one run.

    .venv/bin/python benchmarks/training.py [--leads 250000 1000000] [--work DIR] [--skip-peer]

For each size, a generated history with realistic activity (about 40 events per lead, bursty,
closed-lost leads, drifting mix: the generator's defaults with livelier leads) is cached as
Parquet under ``--work``; then, each in a fresh process so that wall time and peak memory are its
own:

* ``predictive-scoring train --json`` on it (a fresh MLflow store, so no champion to meet): the
  wall time, the process's peak resident memory and the job's own breakdown per step
  (``timing`` in its JSON);
* the hand-written peer (``peers.hand_written_training``): DuckDB snapshots every 14 days of every
  open lead up to T - H and one depth-4 LightGBM on all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
sys.path.insert(0, str(HERE))

from features import ensure_funnel  # noqa: E402


def run(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Run ``command``; its wall seconds, peak resident GB (``ru_maxrss``, which on Linux starts
    from this process's peak: the children report their own ``VmHWM``) and stdout."""
    started = time.perf_counter()
    with subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"{command[:4]} exited {process.returncode}")
    return seconds, usage.ru_maxrss / 1024**2, out


def train(folder: Path, work: Path) -> dict[str, object]:
    store = work / f"train-{folder.name}"
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True)
    command = [
        PYTHON, "-m", "predictive_scoring", "train", "--data", str(folder),
        "--tracking-uri", f"sqlite:///{store / 'mlflow.db'}", "--model-card",
        str(store / "card.html"), "--quarantine-dir", str(store / "q"), "--json",
    ]  # fmt: skip
    seconds, _, out = run(command, store)
    summary = json.loads(out.strip().splitlines()[-1])
    return {"seconds": seconds, "peak_gb": summary["timing"]["peak_gb"], "summary": summary}


def peer(folder: Path, as_of: str, horizon: int, work: Path) -> dict[str, object]:
    code = (
        f"import json, sys, pandas as pd; sys.path.insert(0, {str(HERE)!r}); "
        "from peers import hand_written_training; "
        f"print(json.dumps(hand_written_training({str(folder)!r}, pd.Timestamp({as_of!r}), "
        f"{horizon})))"
    )
    seconds, _, out = run([PYTHON, "-c", code], work)
    return {"seconds": seconds, **json.loads(out.strip().splitlines()[-1])}


def report(leads: int, events: int, ours: dict, theirs: dict | None) -> None:
    summary = ours["summary"]
    timing = summary["timing"]
    print(f"\n== {leads:,} leads, {events:,} events ({events / leads:.1f} per lead)")
    print(f"{'step':<52} {'seconds':>9} {'peak GB':>8}")
    for step in timing["steps"]:
        name = step["step"]
        indent = "  " * name.count("/")
        label = indent + name.rsplit("/", 1)[-1]
        print(f"{label:<52} {step['seconds']:>9.1f} {step['peak_gb']:>8.2f}")
    print(
        f"{'train, wall (process start to exit)':<52} {ours['seconds']:>9.1f} {ours['peak_gb']:>8.2f}"
    )
    served = summary["served_model"]
    metrics = summary["metrics"][served]
    print(
        f"served {served}: test-window ROC-AUC {metrics['roc_auc']:.4f}, "
        f"PR-AUC {metrics['pr_auc']:.4f}, ECE {metrics['ece']:.4f}"
    )
    if theirs is not None:
        print(
            f"peer (DuckDB snapshots + one LightGBM on {theirs['rows']:,.0f} rows): "
            f"{theirs['seconds']:.1f} s wall (snapshots {theirs['snapshots_s']:.1f} s, "
            f"fit {theirs['fit_s']:.1f} s), peak {theirs['peak_gb']:.2f} GB; "
            f"train / peer = {ours['seconds'] / theirs['seconds']:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--work", type=Path, default=HERE / "results")
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    import pandas as pd

    from predictive_scoring.config import load_config

    horizon = load_config().labels.horizon_days
    for leads in args.leads:
        folder = ensure_funnel(leads, 0, args.work, lively=True)
        events = pd.read_parquet(folder / "events.parquet", columns=["occurred_at"])
        ours = train(folder, args.work)
        as_of = str(ours["summary"]["as_of"])  # type: ignore[index]
        theirs = None if args.skip_peer else peer(folder, as_of, horizon, args.work)
        report(leads, len(events), ours, theirs)


if __name__ == "__main__":
    main()
