"""Faults benchmark: concurrent runs per destination kind, and SIGTERM at random points of a score.

    .venv/bin/python benchmarks/faults.py [--pairs 20] [--leads 200000] [--signals 10]
                                          [--work benchmarks/results] [--seed 0]
                                          [--skip-pairs] [--skip-signals]

1. **Concurrent pairs**: for each destination kind (Parquet, CSV, DuckDB, SQLite, PostgreSQL on
   a server started here, as the tests start it), ``--pairs`` trials of two ``score`` processes
   of one as-of into one destination, started together, over a destination that already holds
   an earlier as-of.  Counted: runs that failed, corrupt outputs (unreadable, or the earlier
   as-of's rows changed) and duplicated as-ofs (any lead twice in the as-of, or a mix of the two
   runs' rows).  Scores come from a points rules file, so both runs of a pair write identical
   rows and a mix is detected by the run id each row's ``model_version`` does not carry: rows
   are compared with one run's own output instead.
2. **SIGTERM**: a model trained on a funnel of 20,000 leads scores the ``--leads`` funnel (every
   lead open); a full run is timed, then ``--signals`` runs each get SIGTERM at a uniformly random
   point of that time.  Printed for each: the point (and its share of the full run), the exit
   code, seconds from the signal to exit, whether the previous output is byte-identical and
   whether temporary files were left.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from features import ensure_funnel  # noqa: E402

from predictive_scoring import schema  # noqa: E402
from predictive_scoring.data.outputs import Destination, read_scores, write_scores  # noqa: E402

RULES = ROOT / "configs" / "rules-demo.yaml"
EARLIER, AS_OF = "2025-11-01", "2025-12-01"
KINDS = ("parquet", "csv", "duckdb", "sqlite", "postgresql")


def _command(data: Path, output: str, as_of: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "predictive_scoring", "score", "--data", str(data),
        "--output", output, "--as-of", as_of, *extra,
    ]  # fmt: skip


def _rules_run(data: Path, output: str, as_of: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _command(data, output, as_of, "--rules", str(RULES)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
    )  # fmt: skip


def _destination(kind: str, folder: Path, trial: int, postgres: str | None) -> str:
    if kind == "postgresql":
        assert postgres is not None
        return f"{postgres}#trial {trial}"
    if kind in ("parquet", "csv"):
        return str(folder / f"scores-{trial}.{kind}")
    suffix = "duckdb" if kind == "duckdb" else "db"
    return f"{kind}:///{folder / f'scores-{trial}.{suffix}'}#lead_scores"


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    columns = [schema.LEAD_ID, schema.SCORE, schema.REASONS]
    return frame[columns].sort_values(schema.LEAD_ID).reset_index(drop=True)


def pair_trials(kind: str, pairs: int, data: Path, work: Path, postgres: str | None) -> dict:
    """``pairs`` concurrent pairs into ``kind`` destinations; the counts of each outcome."""
    folder = work / f"pairs-{kind}"
    folder.mkdir(parents=True, exist_ok=True)
    reference = str(folder / "reference.parquet")
    _rules_run(data, reference, AS_OF, folder).communicate()
    rows = read_scores(Destination.parse(reference))
    expected = _comparable(rows)
    earlier_rows = rows.assign(**{schema.AS_OF: pd.Timestamp(EARLIER, tz="UTC")})
    failed = corrupt = duplicated = 0
    started = time.perf_counter()
    for trial in range(pairs):
        output = _destination(kind, folder, trial, postgres)
        write_scores([earlier_rows], Destination.parse(output), pd.Timestamp(EARLIER, tz="UTC"))
        earlier = _comparable(read_scores(Destination.parse(output)))
        runs = [_rules_run(data, output, AS_OF, folder) for _ in range(2)]
        for run in runs:
            _, err = run.communicate(timeout=600)
            if run.returncode != 0:
                failed += 1
                print(f"  {kind} trial {trial}: exit {run.returncode}: {err.strip()[-300:]}")
        try:
            stored = read_scores(Destination.parse(output))
        except Exception as exc:
            corrupt += 1
            print(f"  {kind} trial {trial}: unreadable: {exc}")
            continue
        at = stored[stored[schema.AS_OF] == pd.Timestamp(AS_OF, tz="UTC")]
        before = stored[stored[schema.AS_OF] == pd.Timestamp(EARLIER, tz="UTC")]
        if not _comparable(before).equals(earlier):
            corrupt += 1
        if at[schema.LEAD_ID].duplicated().any() or not _comparable(at).equals(expected):
            duplicated += 1
    return {
        "kind": kind,
        "pairs": pairs,
        "failed runs": failed,
        "corrupt outputs": corrupt,
        "duplicated as-ofs": duplicated,
        "seconds per pair": (time.perf_counter() - started) / pairs,
    }


def _trained_model(work: Path) -> tuple[str, Path]:
    """A SQLite store whose champion learned from a 20,000-lead funnel; its URI and folder."""
    folder = work / "signals-store"
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    if not (folder / "mlflow.db").exists():
        folder.mkdir(parents=True, exist_ok=True)
        train = ensure_funnel(20_000, 11, work)
        subprocess.run(
            [sys.executable, "-m", "predictive_scoring", "train", "--data", str(train),
             "--tracking-uri", uri, "--model-card", str(folder / "card.html")],
            check=True, cwd=folder, capture_output=True,
        )  # fmt: skip
    return uri, folder


def _all_open(leads: int, work: Path) -> Path:
    """The ``leads`` funnel without its outcomes: every lead is open."""
    source = ensure_funnel(leads, 12, work)
    folder = work / f"open-{leads}"
    if not (folder / "outcomes.parquet").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("leads", "events"):
            (folder / f"{name}.parquet").write_bytes((source / f"{name}.parquet").read_bytes())
        outcomes = pd.read_parquet(source / "outcomes.parquet")
        outcomes.iloc[:0].to_parquet(folder / "outcomes.parquet")
    return folder


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def signal_trials(signals: int, leads: int, work: Path, seed: int) -> list[dict]:
    uri, folder = _trained_model(work)
    data = _all_open(leads, work)
    output = folder / "scores.parquet"
    command = _command(data, str(output), AS_OF, "--tracking-uri", uri)
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=folder, capture_output=True)
    full = time.perf_counter() - started
    print(f"a full score of {leads:,} open leads: {full:.1f} s")
    before = _digest(output)
    rng = random.Random(seed)
    rows = []
    for trial in range(signals):
        point = rng.uniform(0.2, full)
        run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=folder)  # fmt: skip
        time.sleep(point)
        sent = time.perf_counter()
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=120)
        latency = time.perf_counter() - sent
        rows.append(
            {
                "trial": trial,
                "signal at s": round(point, 1),
                "share of the run": f"{point / full:.0%}",
                "exit": run.returncode,
                "exit after s": round(latency, 2),
                "output intact": _digest(output) == before,
                "temporary files": len(list(folder.glob(".*.tmp"))),
                "one line": "Traceback" not in err,
            }
        )
    return rows


@contextlib.contextmanager
def _postgres(wanted: bool) -> Iterator[str | None]:
    if not wanted:
        yield None
        return
    from tests.postgres_server import fresh_database, serve_postgres

    with serve_postgres() as server:
        yield fresh_database(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--signals", type=int, default=10)
    parser.add_argument("--work", type=Path, default=HERE / "results")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-pairs", action="store_true")
    parser.add_argument("--skip-signals", action="store_true")
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    if not args.skip_pairs:
        data = ensure_funnel(2000, 4, work)
        with _postgres(True) as postgres:
            results = [pair_trials(k, args.pairs, data, work, postgres) for k in KINDS]
        print(pd.DataFrame(results).to_string(index=False, float_format="%.1f"))
    if not args.skip_signals:
        rows = signal_trials(args.signals, args.leads, work, args.seed)
        print(pd.DataFrame(rows).to_string(index=False))
        worst = max(r["exit after s"] for r in rows)
        print(f"slowest exit after the signal: {worst:.2f} s")


if __name__ == "__main__":
    main()
