"""Features and scores on Spark: the open leads at T, their events aggregated by the feature
spec's own SQL, and the served model applied to each batch of leads.

The events are aggregated per (lead, event type) by
:func:`~predictive_scoring.features.intent.per_type_sql` rendered for Spark SQL, then laid out as
one row per lead (:func:`~predictive_scoring.features.intent.wide_sql`).  Each Arrow batch of
open leads, with those statistics and their attributes, goes through the same Python as the
DuckDB engine (``mapInPandas``): fit features, intent features
(:func:`~predictive_scoring.features.spec.features_from_wide`), then the served model's rows
(:func:`~predictive_scoring.serving.score_features`: probability, exact SHAP reasons, fit and
intent sub-scores, tier, MQL flag), and what changed since the destination's previous as-of.
Only events strictly before T count, and only leads created before T that had neither converted
nor been closed before T are scored: the same rules, so the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import Config, ScoringConfig
from predictive_scoring.data.history import PREVIOUS_TIER, add_changes, model_of
from predictive_scoring.data.validation import type_fit_columns
from predictive_scoring.features.intent import per_type_sql, wide_sql
from predictive_scoring.features.spec import FIT, FeatureSpec, features_from_wide, intent_statistics
from predictive_scoring.serving import ServedModel, score_features
from predictive_scoring.spark.sql import identifier
from predictive_scoring.spark.tables import SparkTables
from predictive_scoring.timeline import instant_micros

__all__ = [
    "SCORES_DDL",
    "ScorePlan",
    "open_leads",
    "score_batches",
    "scored_frame",
    "spec_fields",
    "type_codes",
    "wide_statistics",
]

SCORES_DDL = ", ".join(
    [
        f"{schema.LEAD_ID} STRING",
        f"{schema.AS_OF} TIMESTAMP",
        f"{schema.PROBABILITY} DOUBLE",
        f"{schema.SCORE} BIGINT",
        f"{schema.FIT_SCORE} BIGINT",
        f"{schema.INTENT_SCORE} BIGINT",
        f"{schema.TIER} STRING",
        f"{schema.IS_MQL} BOOLEAN",
        f"{schema.REASONS} STRING",
        f"{schema.MODEL_VERSION} STRING",
        f"{schema.SEGMENT} STRING",
        f"{schema.PREVIOUS_SCORE} BIGINT",
        f"{schema.SCORE_CHANGE} BIGINT",
        f"{schema.TREND} STRING",
        f"{schema.NEWLY_HOT} BOOLEAN",
    ]
)
"""The rows the Spark engine writes: the contract's columns and what changed (CONTRACT 4, 8)."""


def spec_fields(spec: FeatureSpec) -> list[str]:
    """The lead columns the spec's fit features read (never PII: the spec holds none)."""
    fields = {info.field for info in spec.features if info.group == FIT}
    if spec.title_column:
        fields.add(spec.title_column)
    return sorted(fields)


def type_codes(spark: Any, spec: FeatureSpec) -> Any:
    """The spec's event types and their codes, as a small table to join events with."""
    rows = [(name, code) for code, name in enumerate(spec.event_types)]
    return spark.createDataFrame(rows, f"{schema.EVENT_TYPE} STRING, type_code INT")


def open_leads(tables: SparkTables, as_of_us: int | None) -> Any:
    """The leads open at T (every lead of a flat export): created before T, and neither
    converted nor closed before T."""
    if tables.flat or as_of_us is None:
        return tables.leads
    ended = tables.outcomes.where(f"converted_us < {as_of_us} OR closed_us < {as_of_us}").select(
        schema.LEAD_ID
    )
    created = tables.leads.where(f"created_us < {as_of_us}")
    return created.join(ended, on=schema.LEAD_ID, how="left_anti")


def wide_statistics(
    spark: Any, events: Any, rows: Any, spec: FeatureSpec, snapshot_us: int | None
) -> Any:
    """One row per lead of ``rows`` (``lead_idx``; with ``snap_us`` and ``row_key`` when
    ``snapshot_us`` is ``None``: each row at its own time) with its per-type statistics."""
    _, half_lives, windows = intent_statistics(spec)
    coded = events.join(type_codes(spark, spec).hint("broadcast"), on=schema.EVENT_TYPE)
    coded.selectExpr(f"{schema.LEAD_ID} AS lead_idx", "t_us", "type_code").createOrReplaceTempView(
        "events"
    )
    rows.createOrReplaceTempView("batch")
    per_row = snapshot_us is None
    query = per_type_sql(
        half_lives, windows, per_row=per_row, dialect="spark", snapshot_us=snapshot_us
    )
    spark.sql(query).createOrReplaceTempView("stats")
    return spark.sql(wide_sql(len(spec.event_types), half_lives, windows))


@dataclass(frozen=True)
class ScorePlan:
    """What every batch needs: the model, the run's settings and the columns to read."""

    served: ServedModel
    scoring: ScoringConfig
    as_of: pd.Timestamp | None
    fields: list[str]
    missing_markers: list[str]
    history: bool


def score_batches(plan: ScorePlan, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The output rows of each batch of open leads (attributes, ``created_us`` and the wide
    per-type statistics; ``_previous_*`` when the destination has history)."""
    for batch in batches:
        if len(batch):
            yield _score_batch(plan, batch.reset_index(drop=True))


def _score_batch(plan: ScorePlan, batch: pd.DataFrame) -> pd.DataFrame:
    served = plan.served
    present = [f for f in plan.fields if f in batch.columns]
    leads = type_fit_columns(batch[present].copy(), plan.missing_markers)
    snap_us = np.full(len(batch), instant_micros(plan.as_of) if plan.as_of is not None else 0)
    created = batch["created_us"].to_numpy(dtype=np.float64, na_value=0).astype(np.int64)
    X = features_from_wide(leads, batch, snap_us, created, served.spec)
    rows = score_features(served, X, batch[schema.LEAD_ID], plan.as_of, plan.scoring)
    previous = _previous(batch, served) if plan.history else _nothing_before()
    rows = add_changes(rows, previous, plan.scoring.trend.steady_within)
    return rows.astype(
        {
            schema.SCORE: np.int64,
            schema.FIT_SCORE: np.int64,
            schema.INTENT_SCORE: np.int64,
            schema.PREVIOUS_SCORE: "Int64",
            schema.SCORE_CHANGE: "Int64",
        }
    )


def _previous(batch: pd.DataFrame, served: ServedModel) -> pd.DataFrame:
    """The batch's previous scores as :func:`~predictive_scoring.data.history.add_changes` reads
    them: ``score`` and ``previous_tier`` by (lead, model)."""
    known = batch["_previous_score"].notna().to_numpy()
    ids = batch.loc[known, schema.LEAD_ID].astype("string")
    model = model_of(pd.Series([served.version] * len(ids), dtype="string"))
    frame = pd.DataFrame(
        {
            schema.SCORE: batch.loc[known, "_previous_score"].astype("Int64").to_numpy(),
            PREVIOUS_TIER: batch.loc[known, "_previous_tier"].astype("string").to_numpy(),
        },
        index=pd.MultiIndex.from_arrays([ids.to_numpy(), model.to_numpy()]),
    )
    return frame


def _nothing_before() -> pd.DataFrame:
    """A previous-scores frame no lead matches (every row's trend is ``new``)."""
    return pd.DataFrame(
        {
            schema.SCORE: pd.array([None], dtype="Int64"),
            PREVIOUS_TIER: pd.array([None], dtype="string"),
        },
        index=pd.MultiIndex.from_arrays([["\0"], ["\0"]]),
    )


def scored_frame(
    spark: Any,
    tables: SparkTables,
    served: ServedModel,
    config: Config,
    as_of: pd.Timestamp | None,
    previous: Any | None,
) -> Any:
    """The run's output rows as a Spark DataFrame (lazy: computed as it is written)."""
    as_of_us = None if as_of is None else instant_micros(as_of)
    leads = open_leads(tables, as_of_us)
    fields = [f for f in spec_fields(served.spec) if f in leads.columns]
    chosen = leads.select(schema.LEAD_ID, "created_us", *[identifier(f) for f in fields])
    if not served.spec.flat and as_of_us is not None:
        rows = chosen.selectExpr(f"{schema.LEAD_ID} AS lead_idx")
        wide = wide_statistics(spark, tables.events, rows, served.spec, as_of_us)
        chosen = chosen.join(wide, chosen[schema.LEAD_ID] == wide["lead_idx"], "left").drop(
            "lead_idx"
        )
    if previous is not None:
        chosen = chosen.join(
            previous, chosen[schema.LEAD_ID] == previous["_previous_id"], "left"
        ).drop("_previous_id")
    plan = ScorePlan(
        served=served,
        scoring=config.scoring,
        as_of=as_of,
        fields=fields,
        missing_markers=list(config.data.missing_markers),
        history=previous is not None,
    )
    return chosen.mapInPandas(lambda batches: score_batches(plan, batches), SCORES_DDL)
