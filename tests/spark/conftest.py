"""A real Spark for the engine's tests: one ``local[2]`` session per test module (stopped after
it, so its JVM does not stay beside the later tests), UI off, few shuffle partitions (the
engine's own local settings), its warehouse in a temporary folder.  Without Java or PySpark the tests skip, unless ``PREDICTIVE_SCORING_REQUIRE_SPARK`` is
set (as ``.ci/run`` sets it): then they fail."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from predictive_scoring.config import load_config
from predictive_scoring.spark.session import spark_session, spark_unavailable


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    missing = spark_unavailable()
    if missing:
        if os.environ.get("PREDICTIVE_SCORING_REQUIRE_SPARK"):
            pytest.fail(missing)
        pytest.skip(missing)
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    engine = load_config().engine.model_copy(
        update={"options": {"spark.sql.warehouse.dir": str(warehouse)}}
    )
    session = spark_session(engine)
    yield session
    session.stop()
