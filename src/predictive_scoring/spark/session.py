"""The Spark session the engine runs in, and what to install when it cannot start.

PySpark is an optional extra (``pip install 'predictive-scoring[spark]'``) and Spark needs a Java
runtime; without either, ``--engine spark`` stops with exit 2 and one line saying what to install,
and nothing else in the package imports PySpark.  The session runs in UTC (every timestamp the
engine reads or writes is UTC), with Arrow transfers on, and, on a local master, this Python for
its workers so they import this package.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

from predictive_scoring.config import EngineConfig
from predictive_scoring.errors import UsageError, first_line

__all__ = ["DEFAULT_OPTIONS", "spark_session", "spark_unavailable"]

DEFAULT_OPTIONS: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "20000",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.ui.showConsoleProgress": "false",
}
"""Settings every session gets; ``engine.options`` override them."""

LOG_SETTINGS = Path(__file__).with_name("log4j2.properties")
PANDAS_NOTICE = "PySpark does not yet fully support pandas"
"""PySpark 4.3 warns on every import under pandas 3; the engine's tests hold it to its rows."""

LOCAL_OPTIONS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "4g",
}
"""Settings for a ``local[N]`` master (one machine: no UI, few shuffle partitions)."""


def spark_unavailable() -> str | None:
    """What to install before ``--engine spark`` can run, or ``None`` when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return (
            "--engine spark needs PySpark: pip install 'predictive-scoring[spark]' "
            "(or choose engine.name: duckdb)"
        )
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and os.path.exists(java_home)):
        return (
            "--engine spark needs a Java runtime (17 or later): install one, e.g. "
            "apt-get install openjdk-17-jre-headless, or set JAVA_HOME"
        )
    return None


def spark_session(engine: EngineConfig) -> Any:
    """The active Spark session, or a new one on ``engine.master`` with ``engine.options``.

    Raises
    ------
    UsageError
        When PySpark or Java is missing, or the session cannot start (exit 2).
    """
    missing = spark_unavailable()
    if missing:
        raise UsageError(missing)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    warnings.filterwarnings("ignore", message=PANDAS_NOTICE, category=FutureWarning)
    os.environ.setdefault("PYTHONWARNINGS", f"ignore:{PANDAS_NOTICE}:FutureWarning")
    options: dict[str, Any] = dict(DEFAULT_OPTIONS)
    options["spark.driver.extraJavaOptions"] = f"-Dlog4j.configurationFile=file:{LOG_SETTINGS}"
    if engine.master.startswith("local"):
        options.update(LOCAL_OPTIONS)
        # the workers of a local master are this Python, so they import this package
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    options.update(
        {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in engine.options.items()}
    )
    builder = SparkSession.builder.master(engine.master).appName("predictive-scoring")
    for key, value in options.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: a broken Java, a bad master URL
        raise UsageError(
            f"Spark could not start on {engine.master} ({type(exc).__name__}: {first_line(exc)})"
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session
