"""``score --engine spark``: the open leads scored on Spark into a partitioned Parquet folder or a
Spark table (CONTRACT section 9; README "Running on Spark").

The same champion, the same feature spec and the same Python make the rows
(:mod:`predictive_scoring.spark.scoring`); only where the events are aggregated and where the
batches run changes.  The run is logged to MLflow like any other ``score``.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predictive_scoring import schema, tracking
from predictive_scoring.config import Config
from predictive_scoring.data.history import model_of
from predictive_scoring.data.locks import destination_lock
from predictive_scoring.data.outputs import Destination
from predictive_scoring.errors import UsageError
from predictive_scoring.jobs.common import (
    Reporter,
    ScoreRun,
    Silent,
    announcer,
    parse_as_of,
    refuse_unusable,
)
from predictive_scoring.scoring import MQL, BatchSummary, drifted, population_stability
from predictive_scoring.serving import ServedModel
from predictive_scoring.spark.outputs import SparkDestination, previous_rows, write_partition
from predictive_scoring.spark.scoring import scored_frame, spec_fields
from predictive_scoring.spark.session import spark_session
from predictive_scoring.spark.tables import SparkTables, read_spark_tables
from predictive_scoring.stopwatch import Stopwatch

__all__ = ["score_on_spark"]


def score_on_spark(
    source: str,
    config: Config,
    output: str,
    *,
    as_of: str | pd.Timestamp | None = None,
    model: str | None = None,
    tracking_uri: str | None = None,
    quarantine_dir: Path | None = None,
    reporter: Reporter | None = None,
) -> ScoreRun:
    """Score every lead open at ``as_of`` on Spark with ``model`` (default: the champion) into
    ``output`` (the batch's summary and its MLflow run)."""
    reporter = reporter or Silent()
    watch = Stopwatch(announcer(reporter))
    destination = SparkDestination.parse(output)
    _refuse_unsupported(config, model)
    with watch.time("spark session"):
        spark = spark_session(config.engine)
    with watch.time("read and validate"):
        tables = read_spark_tables(spark, source, config, quarantine_dir)
    when = _as_of(as_of, tables)
    uri = tracking.tracking_uri(tracking_uri, config)
    model_uri = model or tracking.champion_uri(config.tracking.model_name)
    with watch.time("load model"):
        served = tracking.load_served(model_uri, uri)
    _check_fields(tables, served, reporter)
    with _lock(destination, config, reporter):
        with watch.time("history"):
            previous = previous_rows(spark, destination, when, _model(served))
        with watch.time("features, scores and write"):
            frame = scored_frame(spark, tables, served, config, when, previous)
            write_partition(frame, destination, when)
        with watch.time("summary"):
            rows, counts, drift = _summary(spark, destination, when, served)
    above = drifted(drift, config.scoring.psi_warning)
    reporter.say(
        f"Scored {rows:,} open leads as of {when or 'a flat export'} with {served.version} "
        f"on Spark ({config.engine.master}) -> {destination.shown()}"
    )
    reporter.say("Tiers: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    if above:
        reporter.warn(
            f"WARNING: population drift against the training population: {above} "
            f"(PSI above {config.scoring.psi_warning}); consider retraining"
        )
    batch = BatchSummary(
        as_of=when,
        model_version=served.version,
        model_uri=model_uri,
        rows=rows,
        counts=counts,
        unseen_event_types={},
        output=destination.shown(),
        drift=drift,
        drift_warning=bool(above),
        timing=watch.breakdown(),
        models={"": {"model_version": served.version, "rows": rows}},
    )
    with watch.time("mlflow logging"):
        run_id = tracking.log_scoring(batch, uri, config.tracking.scoring_experiment)
    reporter.say(f"Time: {watch.summary()}")
    return ScoreRun(replace(batch, timing=watch.breakdown()), run_id)


def _refuse_unsupported(config: Config, model: str | None) -> None:
    if config.scoring.mql.capacity is not None:
        raise UsageError(
            "scoring.mql.capacity (the N best leads of a run) is not available on the Spark "
            "engine yet: use scoring.mql.score, or engine.name: duckdb"
        )
    if config.segments.active and model is None:
        raise UsageError(
            "segment models are served by the DuckDB engine only: give --model to score every "
            "lead with one model on Spark, or use engine.name: duckdb"
        )


def _as_of(value: str | pd.Timestamp | None, tables: SparkTables) -> pd.Timestamp | None:
    if tables.flat:
        return None
    if value is not None:
        return parse_as_of(value)
    latest = tables.latest_us()
    return None if latest is None else pd.Timestamp(latest * 1000, tz="UTC")


def _model(served: ServedModel) -> str:
    return str(model_of(pd.Series([served.version], dtype="string")).iloc[0])


def _check_fields(tables: SparkTables, served: ServedModel, reporter: Reporter) -> None:
    """Exit 4 when the leads lack columns the model reads (:func:`refuse_unusable`)."""
    absent = [f for f in spec_fields(served.spec) if f not in tables.leads.columns]
    refuse_unusable(dict.fromkeys(absent, "absent"), served, reporter)


def _lock(destination: SparkDestination, config: Config, reporter: Reporter) -> Any:
    """The folder's lock, as every file destination's (a Spark table: its catalog arbitrates)."""
    if destination.path is None:
        return contextlib.nullcontext()
    timeout = config.scoring.lock_timeout_seconds
    return destination_lock(Destination(path=destination.path), timeout, reporter.say)


def _summary(
    spark: object, destination: SparkDestination, as_of: pd.Timestamp | None, served: ServedModel
) -> tuple[int, dict[str, int], dict[str, float]]:
    """Rows, tiers and MQLs of the partition just written, and its PSIs against the training
    population (from the scores' histograms: exact, without collecting the rows)."""
    from pyspark.sql import functions as sf

    written = (
        spark.table(destination.table)  # type: ignore[attr-defined]
        if destination.table is not None
        else spark.read.parquet(str(destination.path))  # type: ignore[attr-defined]
    )
    if as_of is not None:
        written = written.where(sf.col(schema.AS_OF) == sf.lit(as_of.to_pydatetime()))
    keys = [schema.TIER, schema.IS_MQL, schema.SCORE, schema.FIT_SCORE, schema.INTENT_SCORE]
    groups = pd.DataFrame(
        [r.asDict() for r in written.groupBy(*keys).agg(sf.count("*").alias("n")).collect()],
        columns=[*keys, "n"],
    )  # one job: at most a few thousand groups, however many rows
    counts = {str(k): int(v) for k, v in groups.groupby(schema.TIER)["n"].sum().items()}
    counts[MQL] = int(groups.loc[groups[schema.IS_MQL].astype(bool), "n"].sum())
    drift = {}
    for column in (schema.SCORE, schema.FIT_SCORE, schema.INTENT_SCORE):
        if column in served.reference_shares:
            values = np.repeat(groups[column].to_numpy(np.int64), groups["n"].to_numpy(np.int64))
            drift[f"psi_{column}"] = population_stability(values, served.reference_shares[column])
    return int(groups["n"].sum()), counts, drift
