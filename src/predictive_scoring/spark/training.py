"""Training rows' intent features on Spark (``train --engine spark``).

Every labelled snapshot row, each at its own time, is sent to Spark with its lead; the events
are aggregated per (row, event type) by the feature spec's own SQL
(:func:`~predictive_scoring.features.intent.per_type_sql` with ``per_row``, rendered for Spark),
laid out per row, and brought back to the driver, where the same Python as the DuckDB engine
turns the statistics into features.  The events Spark aggregates are those the job validated, so
both engines learn from the same rows and the same features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import EngineConfig
from predictive_scoring.data.tables import LeadData
from predictive_scoring.features.spec import FeatureSpec, IntentBuilder, intent_from_wide
from predictive_scoring.spark.scoring import wide_statistics
from predictive_scoring.spark.session import spark_session
from predictive_scoring.spark.tables import CLEAN_EVENTS
from predictive_scoring.timeline import to_micros

__all__ = ["engine_intent", "spark_intent"]


def engine_intent(engine: EngineConfig) -> IntentBuilder | None:
    """The intent features on Spark with ``engine.name: spark`` (``None``: DuckDB, here)."""
    return spark_intent(engine) if engine.name == "spark" else None


def spark_intent(engine: EngineConfig) -> IntentBuilder:
    """A builder of intent features on the Spark session of ``engine``."""

    def build(data: LeadData, rows: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
        return _intent(spark_session(engine), data, rows, spec)

    return build


def _intent(spark: Any, data: LeadData, rows: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    snap_us = to_micros(rows[schema.SNAPSHOT_AT])
    created = data.leads.set_index(schema.LEAD_ID)[schema.CREATED_AT]
    created_us = to_micros(created.loc[rows[schema.LEAD_ID].to_numpy()].reset_index(drop=True))
    batch = pd.DataFrame(
        {
            "lead_idx": rows[schema.LEAD_ID].astype(str).to_numpy(),
            "snap_us": snap_us,
            "row_key": np.arange(len(rows), dtype=np.int64),
        }
    )
    events = data.events
    frame = pd.DataFrame(
        {
            schema.LEAD_ID: events[schema.LEAD_ID].astype(str).to_numpy(),
            "t_us": to_micros(events[schema.OCCURRED_AT]),
            schema.EVENT_TYPE: events[schema.EVENT_TYPE].astype(str).to_numpy(),
        }
    )
    events_frame = spark.createDataFrame(frame, CLEAN_EVENTS)  # typed: there may be none
    rows_frame = spark.createDataFrame(batch, "lead_idx STRING, snap_us BIGINT, row_key BIGINT")
    wide = wide_statistics(spark, events_frame, rows_frame, spec, None).toPandas()
    wide = wide.set_index("lead_idx").reindex(np.arange(len(rows))).reset_index(drop=True)
    return intent_from_wide(wide, snap_us, created_us, spec).set_axis(rows.index)
