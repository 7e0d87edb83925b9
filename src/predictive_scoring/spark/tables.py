"""The three input tables as Spark DataFrames: read, named, typed and checked row by row.

A source is a folder holding ``leads``, ``events`` and ``outcomes`` as Parquet or CSV, each a
file or a folder of files (``leads.parquet``, ``leads/``, ``leads.csv``, ...), or a Spark table
prefix ``spark:db.`` (tables ``db.leads``, ``db.events``, ``db.outcomes``).  Column names are
matched as the DuckDB engine matches them (trimmed, lower-cased, then ``data.column_map``).

The row rules are the DuckDB engine's (:mod:`predictive_scoring.data.validation.rules`), written
in Spark SQL: a missing or unparseable key, a timestamp out of range, a repeated lead or outcome
(the first row kept), a duplicate event, an event of an unknown or set-aside lead, a lost outcome
without ``closed_at``, a negative size.  Bad rows go to ``<quarantine>/<table>.parquet/`` with
their reason; above ``validation.max_bad_row_share`` of a table, the run stops (exit 3).
Personal data never leaves this module: ``email`` gives ``email_domain_type``, then every PII
and ignored column is dropped.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import Config
from predictive_scoring.data.privacy import CORPORATE_EMAIL, FREE_EMAIL, FREE_EMAIL_DOMAINS
from predictive_scoring.data.sources import FILE_SUFFIXES
from predictive_scoring.errors import DataError, UsageError
from predictive_scoring.spark.events import Checked, check_events, plain_checked
from predictive_scoring.spark.sql import identifier, literal, quoted_list
from predictive_scoring.timeline import DAY_US, instant_micros

__all__ = ["SPARK_TABLES", "SparkTables", "read_spark_tables"]

SPARK_TABLES = "spark:"
"""The prefix of a source (``spark:db.``) or destination (``spark:db.table``) in Spark's catalog."""
ROW = "_row"
ID = f"NULLIF(TRIM(CAST({schema.LEAD_ID} AS STRING)), '') AS _id"
"""A row's lead id as text, empty as missing: what every table's rules and joins read."""
CLEAN_EVENTS = f"{schema.LEAD_ID} STRING, t_us BIGINT, {schema.EVENT_TYPE} STRING"
CLEAN_OUTCOMES = f"{schema.LEAD_ID} STRING, converted_us BIGINT, closed_us BIGINT"
REASON = schema.QUARANTINE_REASON


@dataclass(frozen=True)
class SparkTables:
    """The accepted rows: ``leads`` (``lead_id``, ``created_us``, attributes), ``events``
    (``lead_id``, ``t_us``, ``event_type``) and ``outcomes`` (``lead_id``, ``converted_us``,
    ``closed_us``), times in microseconds since the epoch (UTC); ``flat`` for a CRM export."""

    leads: Any
    events: Any
    outcomes: Any
    flat: bool
    bad_rows: dict[str, int]

    def latest_us(self) -> int | None:
        """The latest timestamp of any table (the default ``--as-of``), in microseconds."""
        parts = [
            self.leads.selectExpr("MAX(created_us) AS t"),
            self.events.selectExpr("MAX(t_us) AS t"),
            self.outcomes.selectExpr("GREATEST(MAX(converted_us), MAX(closed_us)) AS t"),
        ]
        found = [row["t"] for part in parts for row in part.collect() if row["t"] is not None]
        return max(found) if found else None


def read_spark_tables(
    spark: Any, source: str, config: Config, quarantine_dir: Path | None = None
) -> SparkTables:
    """The source's tables checked by the row rules; bad rows written to ``quarantine_dir``."""
    raw = {name: _read(spark, source, name, config) for name in _TABLES}
    leads_raw = raw[schema.LEADS]
    if leads_raw is None:
        raise DataError(f"{source}: no leads table (a file or folder named leads, or a table)")
    flat = schema.CREATED_AT not in leads_raw.columns and raw[schema.EVENTS] is None
    if flat:
        return _flat_tables(spark, leads_raw, config)
    for name, table in raw.items():
        if table is not None:
            _require(name, table, _REQUIRED[name])
    bounds = (
        instant_micros(pd.Timestamp(config.validation.earliest, tz="UTC")),
        instant_micros(pd.Timestamp.now(tz="UTC"))
        + int(config.validation.future_tolerance_days * DAY_US),
    )
    checked_leads = _check_leads(leads_raw, config, bounds).persist()
    good_leads = checked_leads.where(f"{REASON} IS NULL")
    outcomes = _check_outcomes(raw[schema.OUTCOMES], bounds, spark)
    checked = {
        schema.LEADS: plain_checked(checked_leads, _clean_leads(good_leads, config)),
        schema.EVENTS: _check_events(raw[schema.EVENTS], checked_leads, bounds, spark),
        schema.OUTCOMES: plain_checked(
            outcomes,
            outcomes.where(f"{REASON} IS NULL").select(schema.LEAD_ID, "converted_us", "closed_us"),
        ),
    }
    quarantine = Path(quarantine_dir or config.validation.quarantine_dir)
    bad = _set_aside(checked, quarantine, config)
    return SparkTables(
        leads=checked[schema.LEADS].clean,
        events=checked[schema.EVENTS].clean,
        outcomes=checked[schema.OUTCOMES].clean,
        flat=False,
        bad_rows=bad,
    )


_TABLES = (schema.LEADS, schema.EVENTS, schema.OUTCOMES)
_REQUIRED = {
    schema.LEADS: (schema.LEAD_ID, schema.CREATED_AT),
    schema.EVENTS: (schema.LEAD_ID, schema.OCCURRED_AT, schema.EVENT_TYPE),
    schema.OUTCOMES: (schema.LEAD_ID,),
}


def _read(spark: Any, source: str, table: str, config: Config) -> Any | None:
    """One table, its columns named as the contract names them, with its row order."""
    from pyspark.sql import functions as sf

    if source.startswith(SPARK_TABLES):
        name = source.removeprefix(SPARK_TABLES) + table
        frame = spark.table(name) if spark.catalog.tableExists(name) else None
    else:
        frame = _read_files(spark, source, table)
    if frame is None:
        return None
    mapping = {k.strip().lower(): v for k, v in config.data.column_map.get(table, {}).items()}
    names = [mapping.get(str(c).strip().lower(), str(c).strip().lower()) for c in frame.columns]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise DataError(
            f"{table}: columns {clashes} appear more than once after matching names "
            "case-insensitively"
        )
    return frame.toDF(*names).withColumn(ROW, sf.monotonically_increasing_id())


def _read_files(spark: Any, source: str, table: str) -> Any | None:
    folder = Path(source)
    if not folder.is_dir():
        raise UsageError(f"--data {source}: no such folder (or give spark:<database>. tables)")
    entries = {p.name.lower(): p for p in folder.iterdir()}
    for suffix in ("", *FILE_SUFFIXES):
        path = entries.get(table + suffix)
        if path is None:
            continue
        kinds = [p.name.lower() for p in path.rglob("*") if p.is_file()] if path.is_dir() else []
        csv = suffix.startswith(".csv") or any(".csv" in k for k in kinds)
        reader = spark.read.option("recursiveFileLookup", "true") if path.is_dir() else spark.read
        if csv:
            return reader.option("header", "true").option("inferSchema", "false").csv(str(path))
        return reader.parquet(str(path))
    return None


def _require(table: str, frame: Any, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{table}: required column {missing[0]!r} is missing (columns: {frame.columns[:12]})"
        )


def _micros(column: str, dtype: str) -> str:
    """``column`` as microseconds since the epoch (UTC; text parsed as ISO 8601, null if not)."""
    if dtype.startswith("timestamp") or dtype == "date":
        return f"unix_micros(CAST({identifier(column)} AS TIMESTAMP))"
    text = f"NULLIF(TRIM(CAST({identifier(column)} AS STRING)), '')"
    return f"unix_micros(try_cast({text} AS TIMESTAMP))"


def _present(column: str) -> str:
    return f"NULLIF(TRIM(CAST({identifier(column)} AS STRING)), '') IS NOT NULL"


def _time_rules(column: str, us: str, bounds: tuple[int, int], required: bool) -> list[str]:
    missing = f"WHEN NOT {_present(column)} THEN 'missing {column}'" if required else ""
    return [
        missing,
        f"WHEN {_present(column)} AND {us} IS NULL THEN 'unparseable {column}'",
        f"WHEN {us} < {bounds[0]} OR {us} > {bounds[1]} THEN '{column} out of range'",
    ]


def _first_failing(rules: list[str]) -> str:
    """The reason of the first of ``rules`` (``WHEN ... THEN 'reason'``) a row fails, or NULL."""
    return f"CASE {' '.join(r for r in rules if r)} ELSE NULL END"


def _reason(frame: Any, rules: list[str]) -> Any:
    """``frame`` with the first failing rule's reason (``NULL`` when the row is good)."""
    return frame.selectExpr("*", f"{_first_failing(rules)} AS {REASON}")


def _first_of(keys: list[str]) -> str:
    order = ", ".join(identifier(k) for k in keys)
    return f"row_number() OVER (PARTITION BY {order} ORDER BY {ROW}) = 1"


def _check_leads(frame: Any, config: Config, bounds: tuple[int, int]) -> Any:
    dtypes = dict(frame.dtypes)
    us = _micros(schema.CREATED_AT, dtypes[schema.CREATED_AT])
    frame = frame.selectExpr(
        "*",
        ID,
        f"{us} AS created_us",
    )
    frame = frame.selectExpr("*", f"{_first_of(['_id'])} AS _first")
    rules = [
        f"WHEN _id IS NULL THEN 'missing {schema.LEAD_ID}'",
        *_time_rules(schema.CREATED_AT, "created_us", bounds, required=True),
        f"WHEN NOT _first THEN 'repeated {schema.LEAD_ID} (first row kept)'",
    ]
    for column in [c for c in config.validation.non_negative_columns if c in frame.columns]:
        rules.append(f"WHEN try_cast({identifier(column)} AS DOUBLE) < 0 THEN 'negative {column}'")
    return _reason(frame, rules)


def _check_events(frame: Any | None, leads: Any, bounds: tuple[int, int], spark: Any) -> Checked:
    if frame is None:
        empty = spark.createDataFrame([], f"{CLEAN_EVENTS}, {REASON} STRING")
        return plain_checked(empty, empty.drop(REASON))
    us = _micros(schema.OCCURRED_AT, dict(frame.dtypes)[schema.OCCURRED_AT])
    parsed = frame.selectExpr(
        "*",
        ID,
        f"{us} AS t_us",
        f"NULLIF(LOWER(TRIM(CAST({schema.EVENT_TYPE} AS STRING))), '') AS _type",
    )
    rules = [
        f"WHEN _id IS NULL THEN 'missing {schema.LEAD_ID}'",
        *_time_rules(schema.OCCURRED_AT, "t_us", bounds, required=True),
        f"WHEN _type IS NULL THEN '{schema.EVENT_TYPE} is empty'",
    ]
    return check_events(parsed, leads, _first_failing(rules))


def _check_outcomes(frame: Any | None, bounds: tuple[int, int], spark: Any) -> Any:
    if frame is None:
        return spark.createDataFrame([], f"{CLEAN_OUTCOMES}, {REASON} STRING")
    dtypes = dict(frame.dtypes)
    times = {}
    for column in (schema.CONVERTED_AT, schema.CLOSED_AT):
        times[column] = (
            _micros(column, dtypes[column]) if column in dtypes else "CAST(NULL AS BIGINT)"
        )
    status = f"LOWER(TRIM(CAST({schema.STATUS} AS STRING)))" if schema.STATUS in dtypes else "NULL"
    frame = frame.selectExpr(
        "*",
        ID,
        f"{times[schema.CONVERTED_AT]} AS converted_us",
        f"{times[schema.CLOSED_AT]} AS closed_us",
        f"{status} AS _status",
    )
    frame = frame.selectExpr("*", f"{_first_of(['_id'])} AS _first")
    rules = [f"WHEN _id IS NULL THEN 'missing {schema.LEAD_ID}'"]
    for column, us in ((schema.CONVERTED_AT, "converted_us"), (schema.CLOSED_AT, "closed_us")):
        if column in dtypes:
            rules += _time_rules(column, us, bounds, required=False)
    rules += [
        f"WHEN _status = {literal(schema.STATUS_LOST)} AND closed_us IS NULL "
        "THEN 'status lost without closed_at'",
        "WHEN NOT _first THEN 'second outcome for a lead (first row kept)'",
    ]
    checked = _reason(frame, rules)
    return checked.drop(schema.LEAD_ID, "_first", "_status").withColumnRenamed(
        "_id", schema.LEAD_ID
    )


def _set_aside(checked: dict[str, Checked], quarantine: Path, config: Config) -> dict[str, int]:
    """Count each table's bad rows (one Spark job for all three), stop when a table has too
    many, and write them aside; the bad rows of each table."""
    from functools import reduce

    from pyspark.sql import functions as sf

    parts = [c.counts.withColumn("_table", sf.lit(name)) for name, c in checked.items()]
    found: dict[str, dict[str | None, int]] = {name: {} for name in checked}
    for row in reduce(lambda a, b: a.unionByName(b), parts).collect():
        if row["n"]:
            found[row["_table"]][row[REASON]] = int(row["n"])
    bad_rows = {}
    for name, counts in found.items():
        bad: dict[str | None, int] = {r: n for r, n in counts.items() if r is not None}
        _check_share(name, counts, bad, config)
        if bad:
            rows = checked[name].bad
            kept = [c for c in rows.columns if not c.startswith("_") or c == REASON]
            _write_aside(rows.select(*kept), quarantine / f"{name}.parquet")
        bad_rows[name] = sum(bad.values())
    return bad_rows


def _check_share(
    table: str, counts: dict[str | None, int], bad: dict[str | None, int], config: Config
) -> None:
    """Exit 3 when more than ``validation.max_bad_row_share`` of a table's rows are bad."""
    total = sum(counts.values())
    own = sum(n for reason, n in bad.items() if reason != "its lead was quarantined")
    if total and own / total > config.validation.max_bad_row_share:
        ranked = sorted(bad.items(), key=lambda item: -item[1])[:3]
        worst = ", ".join(f"{reason} ({n:,})" for reason, n in ranked)
        raise DataError(
            f"{table}: {own:,} of {total:,} rows are bad ({worst}), more than "
            f"validation.max_bad_row_share = {config.validation.max_bad_row_share}"
        )


def _write_aside(frame: Any, path: Path) -> None:
    """Write ``frame`` as a Parquet folder at ``path``, replacing it only once complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    frame.write.parquet(str(aside))
    if path.exists():
        old = path.with_name(f".{path.name}.old-{uuid.uuid4().hex[:8]}")
        path.rename(old)
        aside.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        aside.rename(path)


def _attributes(frame: Any, config: Config) -> list[str]:
    """The lead columns that may be fit attributes: neither contract keys, PII nor ignored."""
    dropped = {c.strip().lower() for c in [*config.data.pii_columns, *config.data.ignore_columns]}
    reserved = {schema.LEAD_ID, schema.CREATED_AT, schema.CONVERTED, ROW, REASON, "created_us"}
    return [c for c in frame.columns if c not in dropped | reserved and not c.startswith("_")]


def _email_domain_type(config: Config, columns: list[str]) -> list[str]:
    pii = {c.strip().lower() for c in config.data.pii_columns}
    if schema.EMAIL not in pii or schema.EMAIL not in columns:
        return []
    email = f"LOWER(TRIM(CAST({identifier(schema.EMAIL)} AS STRING)))"
    domain = f"CASE WHEN instr({email}, '@') > 0 THEN substring_index({email}, '@', -1) END"
    free = quoted_list(sorted(FREE_EMAIL_DOMAINS))
    return [
        f"CASE WHEN {domain} IS NULL OR {domain} = '' THEN NULL WHEN {domain} IN ({free}) "
        f"THEN {literal(FREE_EMAIL)} ELSE {literal(CORPORATE_EMAIL)} END "
        f"AS {identifier(schema.EMAIL_DOMAIN_TYPE)}"
    ]


def _clean_leads(frame: Any, config: Config) -> Any:
    attributes = [identifier(c) for c in _attributes(frame, config)]
    return frame.selectExpr(
        f"_id AS {schema.LEAD_ID}",
        "created_us",
        *attributes,
        *_email_domain_type(config, frame.columns),
    )


def _flat_tables(spark: Any, leads: Any, config: Config) -> SparkTables:
    _require(schema.LEADS, leads, (schema.LEAD_ID,))
    frame = leads.selectExpr(
        "*",
        ID,
        "CAST(NULL AS BIGINT) AS created_us",
    )
    clean = _clean_leads(frame.where("_id IS NOT NULL"), config)
    events = spark.createDataFrame([], CLEAN_EVENTS)
    return SparkTables(clean, events, spark.createDataFrame([], CLEAN_OUTCOMES), True, {})
