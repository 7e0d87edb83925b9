"""A real PostgreSQL, started by the test session: the three tables read from it, scores written
to it one as-of per transaction, change columns, quoted identifiers, two writers at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.data.load import load_lead_data
from predictive_scoring.data.locks import destination_lock
from predictive_scoring.data.outputs import Destination, read_scores, write_scores
from predictive_scoring.data.sources import sqlalchemy_url
from tests.conftest import Tables
from tests.data.test_history import EXPECTED, FIRST, SECOND, T1, T2, _changes, _rows, _run
from tests.data.test_outputs import _chunk

HOSTILE = "lead scores; drop table leads"


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(sqlalchemy_url(url))


def test_the_three_tables_read_from_postgresql_as_from_csv(
    tables: Tables, postgres_url: str, tmp_path: Path
) -> None:
    engine = _engine(postgres_url)
    with engine.begin() as con:
        for name in schema.TABLES:
            getattr(tables, name).to_sql(name, con, index=False)
    engine.dispose()
    config = load_config()
    stored = load_lead_data(postgres_url, config, quarantine_dir=tmp_path / "q1").data
    folder = tables.write(tmp_path / "csv")
    expected = load_lead_data(str(folder), config, quarantine_dir=tmp_path / "q2").data
    for name in schema.TABLES:
        left, right = getattr(stored, name), getattr(expected, name)
        assert len(left) == len(right) > 0
        pd.testing.assert_frame_equal(
            left.reset_index(drop=True), right.reset_index(drop=True), check_dtype=False
        )


def test_scores_replace_one_as_of_in_a_table_whose_name_is_hostile(postgres_url: str) -> None:
    destination = Destination.parse(f"{postgres_url}#{HOSTILE}")
    first, second = pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-01-02", tz="UTC")
    write_scores([_chunk(first, 10, "a")], destination, first)
    write_scores([_chunk(second, 5, "b")], destination, second)
    write_scores([_chunk(second, 3, "c"), _chunk(second, 4, "d")], destination, second)
    stored = read_scores(destination)
    assert stored.groupby(schema.AS_OF).size().tolist() == [10, 7]
    assert set(stored.loc[stored[schema.AS_OF] == second, schema.LEAD_ID].str[0]) == {"c", "d"}
    assert stored[schema.AS_OF].dt.tz is not None
    names = sa.inspect(engine := _engine(postgres_url)).get_table_names()
    engine.dispose()
    assert names == [HOSTILE]  # the name was only a name: nothing else created or dropped


def test_change_columns_by_hand_in_postgresql(postgres_url: str) -> None:
    destination = Destination.parse(f"{postgres_url}#lead_scores")
    _run(destination, _rows(T1, FIRST, "lead-scoring/1"), T1)
    _run(destination, _rows(T2, SECOND, "lead-scoring/2"), T2)
    stored = read_scores(destination)
    assert _changes(stored, T2, "lead-scoring") == EXPECTED
    _run(destination, _rows(T2, SECOND, "lead-scoring/2"), T2)  # re-run: the same columns
    assert _changes(read_scores(destination), T2, "lead-scoring") == EXPECTED
    assert len(read_scores(destination)) == len(FIRST) + len(SECOND)


@pytest.mark.parametrize("created", [False, True])
def test_two_writers_of_one_as_of_leave_exactly_one_copy(created: bool, postgres_url: str) -> None:
    destination = Destination.parse(f"{postgres_url}#nightly")
    as_of = pd.Timestamp("2025-01-01", tz="UTC")
    if created:
        write_scores([_chunk(as_of, 7, "z")], destination, as_of)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(tag: str) -> None:
        def chunks() -> Iterator[pd.DataFrame]:
            yield _chunk(as_of, 50, tag)

        barrier.wait(timeout=30)  # both start together
        try:
            with destination_lock(destination, timeout_s=60):
                write_scores(chunks(), destination, as_of)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(tag,)) for tag in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    stored = read_scores(destination)
    assert len(stored) == 50
    assert stored[schema.LEAD_ID].str[0].nunique() == 1  # one writer's rows, never a mix
