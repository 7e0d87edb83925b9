"""Speed of ``score --rules``: every open lead of a generated funnel scored with a rules file.

    .venv/bin/python benchmarks/rules.py [--leads 1000000] [--rules configs/rules-demo.yaml]
                                         [--work benchmarks/results]

Prints the open leads scored, the wall time of the job (points, reasons, write) after the data is
in memory, leads per second and the process's peak memory.  The funnel is generated once and
cached in ``--work`` (as ``benchmarks/scoring.py`` does).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from features import ensure_funnel, read_lead_data  # noqa: E402

from predictive_scoring import jobs  # noqa: E402
from predictive_scoring.config import load_config  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--rules", type=Path, default=HERE.parent / "configs" / "rules-demo.yaml")
    parser.add_argument("--work", type=Path, default=HERE / "results")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    data = read_lead_data(ensure_funnel(args.leads, 0, args.work))
    as_of = jobs.resolve_as_of(None, data)
    config = load_config()
    output = args.work / f"rules-{args.leads}.parquet"
    started = time.perf_counter()
    batch = jobs.score_with_rules_file(data, args.rules, config, as_of, str(output), jobs.Silent())
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    steps = ", ".join(
        f"{s['step']} {s['seconds']:.1f} s" for s in batch.timing["steps"] if "/" not in s["step"]
    )
    print(
        f"{args.leads:,}-lead funnel, {len(data.events):,} events: {batch.rows:,} open leads "
        f"scored with {batch.model_version} in {wall:.1f} s ({batch.rows / wall:,.0f} leads/s; "
        f"{steps}); peak memory {peak:.2f} GB"
    )


if __name__ == "__main__":
    main()
