"""Where the Spark engine writes scores: a Parquet folder partitioned by ``as_of``, or a table.

A folder holds one sub-folder per as-of (``as_of=2024-06-01 00%3A00%3A00``, Spark's own naming,
so ``spark.read.parquet(folder)`` gives ``as_of`` back as a timestamp).  An as-of is written aside
(``.pending-<id>/``, a hidden folder every reader skips), then swapped in: the previous partition
is renamed to ``.replaced-<id>-<partition>``, the new one renamed into its place and the old one
deleted.  A job killed while writing leaves the previous partition in place; one killed between
the two renames leaves it under its ``.replaced`` name, and the next write (or
:func:`recover_partitions`) puts it back.  Other as-ofs are never touched.  A Spark table
(``spark:db.table``) is written with dynamic partition overwrite: only the as-of's partition is
replaced.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from predictive_scoring import schema
from predictive_scoring.errors import OutputError, UsageError, os_reason
from predictive_scoring.spark.tables import SPARK_TABLES

__all__ = [
    "PENDING",
    "REPLACED",
    "SparkDestination",
    "previous_rows",
    "recover_partitions",
    "write_partition",
]

PENDING = ".pending-"
REPLACED = ".replaced-"


@dataclass(frozen=True)
class SparkDestination:
    """A parsed ``--output`` of the Spark engine: a folder, or a Spark table."""

    path: Path | None = None
    table: str | None = None

    @classmethod
    def parse(cls, text: str) -> SparkDestination:
        if text.startswith(SPARK_TABLES):
            table = text.removeprefix(SPARK_TABLES)
            if not table or table.endswith("."):
                raise UsageError(f"--output {text}: name a table, e.g. spark:db.lead_scores")
            return cls(table=table)
        if "://" in text or text.lower().endswith(".csv"):
            raise UsageError(
                f"--output {text}: the Spark engine writes a Parquet folder (a path) or a Spark "
                "table (spark:db.table)"
            )
        return cls(path=Path(text))

    def shown(self) -> str:
        return str(self.path) if self.path is not None else f"{SPARK_TABLES}{self.table}"


def recover_partitions(folder: Path) -> list[str]:
    """Put back any partition a killed swap left under its ``.replaced`` name; remove pending
    writes (the partitions restored are returned)."""
    if not folder.is_dir():
        return []
    restored = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(REPLACED):
            original = folder / entry.name.split("-", 2)[2]
            if original.exists():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.rename(original)
                restored.append(original.name)
        elif entry.name.startswith(PENDING):
            shutil.rmtree(entry, ignore_errors=True)
    return restored


def write_partition(frame: Any, destination: SparkDestination, as_of: pd.Timestamp | None) -> None:
    """Write ``frame`` (the run's rows) as ``as_of``'s partition of ``destination``, replacing
    that partition only."""
    if destination.table is not None:
        _write_table(frame, destination.table)
        return
    assert destination.path is not None
    folder = destination.path
    try:
        folder.mkdir(parents=True, exist_ok=True)
        recover_partitions(folder)
    except OSError as exc:
        raise OutputError(f"cannot write {folder}: {os_reason(exc)}") from None
    pending = folder / f"{PENDING}{uuid.uuid4().hex[:12]}"
    try:
        frame.write.partitionBy(schema.AS_OF).parquet(str(pending))
        made = [p for p in pending.iterdir() if p.name.startswith(f"{schema.AS_OF}=")]
        for part in made:  # one: every row has the run's as-of
            _swap(part, folder / part.name)
    except OSError as exc:
        raise OutputError(f"cannot write {folder}: {os_reason(exc)}") from None
    finally:
        shutil.rmtree(pending, ignore_errors=True)


def _swap(new: Path, target: Path) -> None:
    if not target.exists():
        new.rename(target)
        return
    old = target.with_name(f"{REPLACED}{uuid.uuid4().hex[:8]}-{target.name}")
    target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _write_table(frame: Any, table: str) -> None:
    spark = frame.sparkSession
    if spark.catalog.tableExists(table):
        spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
        frame.select(*spark.table(table).columns).write.mode("overwrite").insertInto(table)
    else:
        frame.write.partitionBy(schema.AS_OF).format("parquet").saveAsTable(table)


def previous_rows(
    spark: Any, destination: SparkDestination, as_of: pd.Timestamp | None, model: str
) -> Any | None:
    """The rows of ``model`` at its latest as-of strictly before ``as_of`` in ``destination``
    (``lead_id``, ``previous_score``, ``previous_tier``), or ``None`` when there are none."""
    if as_of is None:
        return None
    if destination.table is not None:
        if not spark.catalog.tableExists(destination.table):
            return None
        rows = spark.table(destination.table)
    else:
        assert destination.path is not None
        recover_partitions(destination.path)
        parts = [p for p in destination.path.glob(f"{schema.AS_OF}=*") if p.is_dir()]
        if not parts:
            return None
        rows = spark.read.parquet(str(destination.path))
    from pyspark.sql import functions as sf

    mine = rows.where(
        (sf.col(schema.AS_OF) < sf.lit(as_of.to_pydatetime()))
        & (
            sf.when(
                sf.col(schema.MODEL_VERSION).startswith("rules:"), sf.col(schema.MODEL_VERSION)
            ).otherwise(sf.regexp_replace(sf.col(schema.MODEL_VERSION), "/[^/]*$", ""))
            == sf.lit(model)
        )
    )
    latest = mine.agg(sf.max(schema.AS_OF).alias("latest")).collect()[0]["latest"]
    if latest is None:
        return None
    return (
        mine.where(sf.col(schema.AS_OF) == sf.lit(latest))
        .dropDuplicates([schema.LEAD_ID])
        .select(
            sf.col(schema.LEAD_ID).alias("_previous_id"),
            sf.col(schema.SCORE).alias("_previous_score"),
            sf.col(schema.TIER).alias("_previous_tier"),
        )
    )
