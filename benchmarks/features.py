"""Feature engine benchmark: scoring-time features and training snapshots on a large funnel.

    .venv/bin/python benchmarks/features.py [--leads 1000000] [--seed 0] [--work DIR]

Generates the synthetic funnel once (cached as Parquet under ``--work``), then measures each step
in a fresh process, so peak memory (the process's resident high-water mark, data included) belongs
to that step alone:

* ``training``: learn the feature spec as of T (the latest timestamp), training snapshots as of T
  (default cadence, cap and horizon) and their features; the spec is saved, as training does;
* ``scoring``: read the tables and the saved spec, find the leads open at T and build their
  features (what a nightly scoring run computes before the model).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.data.privacy import strip_personal_data
from predictive_scoring.data.tables import LeadData

HERE = Path(__file__).resolve().parent


LIVELY = {"active_day_logit": -2.3, "session_extra_events": 2.2}
"""Knobs over the generator's defaults that give about 40 events per lead (20 by default)."""


def ensure_funnel(leads: int, seed: int, work: Path, lively: bool = False) -> Path:
    """Generate and cache the funnel as Parquet (with ``lively``, about 40 events per lead);
    return its folder."""
    from predictive_scoring.data.synthetic import FunnelParams, generate_funnel

    folder = work / (f"funnel-{leads}-{seed}" + ("-lively" if lively else ""))
    if not (folder / "events.parquet").exists():
        started = time.perf_counter()
        params = FunnelParams(**LIVELY) if lively else None  # type: ignore[arg-type]
        generate_funnel(n_leads=leads, seed=seed, params=params).write(folder, fmt="parquet")
        print(f"generated {leads:,} leads in {time.perf_counter() - started:.1f} s -> {folder}")
    return folder


def read_lead_data(folder: Path) -> LeadData:
    """The generated tables as typed ``LeadData`` (validated data, without re-running checks)."""
    leads = pd.read_parquet(folder / "leads.parquet")
    events = pd.read_parquet(folder / "events.parquet")
    outcomes = pd.read_parquet(folder / "outcomes.parquet")
    closed = outcomes[schema.CLOSED_AT].where(outcomes[schema.STATUS] == schema.STATUS_LOST)
    outcomes = outcomes.assign(**{schema.CLOSED_AT: closed})[
        [schema.LEAD_ID, schema.CONVERTED_AT, schema.CLOSED_AT]
    ]
    stripped = strip_personal_data(leads, load_config().data)  # email_domain_type derived
    return LeadData(stripped, events, outcomes, flat=False)


def measure(step: str, folder: Path) -> dict[str, float]:
    """Run one step in this process and return its timings (seconds) and peak memory (GB)."""
    from predictive_scoring.features.snapshots import scoring_rows, training_snapshots
    from predictive_scoring.features.spec import FeatureSpec, build_features, learn_feature_spec
    from predictive_scoring.timeline import visible_at

    config = load_config()
    started = time.perf_counter()
    data = read_lead_data(folder)
    read = time.perf_counter()
    as_of = data.latest_timestamp()
    spec_path = folder / "feature_spec.json"
    if step == "scoring":
        spec = FeatureSpec.from_dict(json.loads(spec_path.read_text()))
    else:
        spec = learn_feature_spec(visible_at(data, as_of), config.features)
        spec_path.write_text(json.dumps(spec.to_dict()))
    learned = time.perf_counter()
    if step == "scoring":
        rows = scoring_rows(data, as_of)
    else:
        features = config.features
        rows = training_snapshots(
            data,
            as_of,
            config.labels.horizon_days,
            features.snapshot_every_days,
            features.max_snapshots_per_lead,
            features.entry_snapshots,
        )
    found = time.perf_counter()
    frame = build_features(data, rows, spec, threads=config.models.num_threads)
    built = time.perf_counter()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return {
        "rows": len(frame),
        "features": frame.shape[1],
        "events": len(data.events),
        "read_s": read - started,
        "spec_s": learned - read,
        "rows_s": found - learned,
        "features_s": built - found,
        "total_without_read_s": built - read,
        "peak_gb": peak_gb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=HERE / "results")
    parser.add_argument("--step", choices=["scoring", "training"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = ensure_funnel(args.leads, args.seed, args.work)
    if args.step:
        print(json.dumps(measure(args.step, folder)))
        return
    for step in ("training", "scoring"):
        command = [
            sys.executable,
            __file__,
            "--leads",
            str(args.leads),
            "--seed",
            str(args.seed),
            "--work",
            str(args.work),
            "--step",
            step,
        ]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        result = json.loads(output.strip().splitlines()[-1])
        print(
            f"{step:<9} {result['rows']:>10,} rows × {result['features']} features from "
            f"{result['events']:,} events: features {result['features_s']:.1f} s "
            f"(rows {result['rows_s']:.1f} s, spec {result['spec_s']:.1f} s, read {result['read_s']:.1f} s), "
            f"peak memory {result['peak_gb']:.2f} GB"
        )


if __name__ == "__main__":
    main()
