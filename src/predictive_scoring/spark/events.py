"""The events table's row rules on Spark, built for its size.

Row rules that need no other row (a missing lead id, time or type, a time out of range) are one
pass.  The others are decided per distinct (lead, time, type): the events are aggregated once by
that key (its first row and how many rows share it), which both removes the duplicates (the
first row kept) and gives the rows whose lead is unknown or set aside, with a join of the keys,
not of every row, to the leads.  That aggregate is the clean events table, cached, so the counts
and the features read it without reading and checking the events again.  The bad rows
themselves are only gathered when the counts say there are some (for the quarantine).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from predictive_scoring import schema
from predictive_scoring.spark.sql import literal

__all__ = ["DUPLICATE", "Checked", "check_events", "plain_checked"]

REASON = schema.QUARANTINE_REASON
DUPLICATE = "duplicate event (first row kept)"
KEY = ["_id", "t_us", "_type"]


@dataclass(frozen=True)
class Checked:
    """One table's row rules: ``counts`` (``reason``, ``n``; ``reason`` null for the accepted
    rows), the ``bad`` rows with their reason (lazy) and the ``clean`` rows."""

    counts: Any
    bad: Any
    clean: Any


def plain_checked(frame: Any, clean: Any) -> Checked:
    """A table checked row by row (``frame`` holds each row's ``reason``)."""
    return Checked(
        counts=frame.groupBy(REASON).count().withColumnRenamed("count", "n"),
        bad=frame.where(f"{REASON} IS NOT NULL"),
        clean=clean,
    )


def check_events(parsed: Any, leads: Any, row_rules: str) -> Checked:
    """``parsed`` events (``_id``, ``t_us``, ``_type``, ``_row`` and the source columns) checked
    against the checked ``leads`` (``_id``, ``reason``); ``row_rules`` is the ``CASE`` of the
    rules that read one row alone."""
    from pyspark.sql import functions as sf

    rows = parsed.selectExpr("*", f"{row_rules} AS {REASON}")
    known = (
        leads.where("_id IS NOT NULL")
        .groupBy(sf.col("_id").alias("_lead"))
        .agg(sf.max(sf.col(REASON).isNull()).alias("_ok"))
    )
    keys = (
        rows.where(f"{REASON} IS NULL")
        .groupBy(*KEY)
        .agg(sf.min("_row").alias("_first"), sf.count("*").alias("_n"))
    )
    keys = keys.join(known, keys["_id"] == known["_lead"], "left").selectExpr(
        *KEY,
        "_first",
        "_n",
        f"CASE WHEN _lead IS NULL THEN {literal('unknown ' + schema.LEAD_ID)} "
        f"WHEN NOT _ok THEN {literal('its lead was quarantined')} END AS _why",
    )
    keys = keys.persist()
    counts = (
        rows.where(f"{REASON} IS NOT NULL")
        .groupBy(REASON)
        .agg(sf.count("*").alias("n"))
        .unionByName(
            keys.where("_why IS NOT NULL")
            .groupBy(sf.col("_why").alias(REASON))
            .agg(sf.sum("_n").alias("n"))
        )
        .unionByName(
            keys.where("_why IS NULL").agg(
                sf.lit(DUPLICATE).alias(REASON), sf.sum(sf.col("_n") - 1).alias("n")
            )
        )
        .unionByName(
            keys.where("_why IS NULL").agg(
                sf.lit(None).cast("string").alias(REASON), sf.count("*").alias("n")
            )
        )
    )
    clean = keys.where("_why IS NULL").selectExpr(
        f"_id AS {schema.LEAD_ID}", "t_us", f"_type AS {schema.EVENT_TYPE}"
    )
    return Checked(counts=counts, bad=_bad_rows(rows, keys), clean=clean)


def _bad_rows(rows: Any, keys: Any) -> Any:
    """Every bad row with its reason: its own rule's, its key's lead's, or a repeat's."""
    from pyspark.sql import functions as sf

    on = sf.expr(" AND ".join(f"r.{k} = k.{k}" for k in KEY))
    valid = rows.where(f"{REASON} IS NULL").alias("r")
    joined = valid.join(keys.alias("k"), on, "inner")
    by_key = joined.where("k._why IS NOT NULL").select("r.*", "k._why")
    repeats = joined.where("k._why IS NULL AND r._row <> k._first").select("r.*")
    source = [c for c in rows.columns if c != REASON]
    return (
        rows.where(f"{REASON} IS NOT NULL")
        .unionByName(by_key.drop(REASON).withColumnRenamed("_why", REASON).select(*source, REASON))
        .unionByName(repeats.drop(REASON).selectExpr(*source, f"{literal(DUPLICATE)} AS {REASON}"))
    )
