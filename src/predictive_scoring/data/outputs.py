"""Where scores go: a Parquet or CSV file, or a database table; atomic and idempotent per as-of.

Files are written to a temporary file beside the destination and renamed over it, so a crash or a
kill mid-write leaves the previous file intact; rows of other as-of times are carried over and the
as-of being written is replaced, never duplicated.  Databases get one transaction that deletes the
as-of's rows and inserts the new ones.  CSV cells that a spreadsheet would run as formulas are
neutralised.  Rows arrive in chunks, so memory is bounded by the chunk, not by the run.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from predictive_scoring import schema
from predictive_scoring.data.sources import describe_source, is_database_url, sqlalchemy_url
from predictive_scoring.data.writers import neutralise_formulas, write_atomic
from predictive_scoring.errors import OutputError, ScoringError, UsageError, first_line, os_reason
from predictive_scoring.sql import quote_identifier
from predictive_scoring.timeline import same_as_of

__all__ = [
    "Destination",
    "describe_output",
    "empty_scores",
    "holds_table",
    "read_scores",
    "write_scores",
]


@dataclass(frozen=True)
class Destination:
    """A parsed ``--output``: a file path, or a database URL and table."""

    path: Path | None = None
    url: str | None = None
    table: str = schema.DEFAULT_SCORES_TABLE

    @classmethod
    def parse(cls, text: str) -> Destination:
        if is_database_url(text):
            url, _, table = text.partition("#")
            return cls(url=url, table=table or schema.DEFAULT_SCORES_TABLE)
        path = Path(text)
        if path.suffix.lower() not in (".parquet", ".csv"):
            raise UsageError(
                f"--output {text}: use a .parquet or .csv path, or a database URL#table"
            )
        return cls(path=path)

    @property
    def duckdb_file(self) -> str | None:
        """The database file of a ``duckdb://`` destination (``None`` for any other kind)."""
        if self.url is None or not self.url.startswith("duckdb://"):
            return None
        return self.url.removeprefix("duckdb://").removeprefix("/")


def holds_table(destination: Destination) -> bool:
    """Whether a database destination's database and table exist (nothing is created)."""
    assert destination.url is not None
    if destination.duckdb_file is not None:
        import duckdb

        path = destination.duckdb_file
        if path != ":memory:" and not Path(path).exists():
            return False
        with duckdb.connect(path, read_only=True) as con:
            found = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                [destination.table],
            ).fetchall()  # fetched to the end: the connection is free for the next query
        return bool(found and found[0][0])
    import sqlalchemy as sa

    url = sa.engine.make_url(sqlalchemy_url(destination.url))
    database = url.database or ""
    local = url.get_backend_name() == "sqlite" and database not in ("", ":memory:")
    if local and not Path(database).exists():
        return False
    engine = sa.create_engine(url)
    try:
        return bool(sa.inspect(engine).has_table(destination.table))
    finally:
        engine.dispose()


def describe_output(text: str) -> str:
    """The destination fit for logs and MLflow: database passwords hidden."""
    if is_database_url(text):
        url, _, table = text.partition("#")
        return describe_source(url) + (f"#{table}" if table else "")
    return text


def write_scores(
    chunks: Iterable[pd.DataFrame], destination: Destination, as_of: pd.Timestamp | None
) -> int:
    """Write every chunk as the rows of ``as_of``, replacing that as-of's earlier rows.  The
    chunks are made as they are written (scoring streams into the write): an error in making
    one goes on as it was raised, never as a failure to write."""
    made = _made(conformed(chunk) for chunk in chunks)
    try:
        if destination.path is not None:
            return _write_file(made, destination.path, as_of)
        return _write_database(made, destination, as_of)
    except _ChunkError as failed:
        raise failed.error from failed.error.__cause__


class _ChunkError(Exception):
    """An error raised while a chunk was being made, carried through the writer's handlers."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _made(chunks: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """``chunks``, with any error in making one wrapped as :class:`_ChunkError`."""
    iterator = iter(chunks)
    while True:
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        except Exception as exc:
            raise _ChunkError(exc) from None
        yield chunk


def read_scores(
    destination: Destination, columns: list[str] | None = None, as_of: pd.Timestamp | None = None
) -> pd.DataFrame:
    """All rows at ``destination`` (empty when there is nothing yet); only ``columns`` (those it
    holds) when given: a history of many runs is read without its reasons; with ``as_of``, that
    run's rows (a Parquet file skips the others' row groups; other kinds filter after reading)."""
    path = destination.path
    if path is not None and as_of is not None and path.suffix.lower() == ".parquet":
        if not path.exists():
            return empty_scores()
        import pyarrow as pa
        import pyarrow.dataset as ds

        stamp = pa.scalar(as_of.to_pydatetime(), pa.timestamp("us", "UTC"))
        table = ds.dataset(path).to_table(columns=columns, filter=ds.field(schema.AS_OF) == stamp)
        return conformed(table.to_pandas())
    if destination.path is not None:
        parts = list(_file_parts(destination.path, columns=columns))
        frame = conformed(pd.concat(parts, ignore_index=True)) if parts else empty_scores()
    else:
        frame = conformed(_read_database(destination, columns))
    if as_of is None or frame.empty:
        return frame
    chosen: pd.DataFrame = frame[same_as_of(frame[schema.AS_OF], as_of).to_numpy()]
    return chosen


READ_BATCH_ROWS = 200_000
"""Rows of a scores file read at a time when a run rewrites it (its history is never all in
memory at once)."""


def _file_parts(
    path: Path, batch_rows: int | None = None, columns: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    """The rows of a scores file, ``batch_rows`` at a time (``None``: all at once), with only
    ``columns`` when given."""
    if not path.exists():
        return
    if columns is not None:
        held = set(_file_columns(path))
        columns = [c for c in columns if c in held]
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        if batch_rows is None:
            yield pd.read_parquet(path, columns=columns)
            return
        with pq.ParquetFile(path) as handle:
            for batch in handle.iter_batches(batch_size=batch_rows):
                yield batch.to_pandas()
        return
    text = {schema.LEAD_ID: str, schema.SEGMENT: str, schema.MODEL_VERSION: str}
    options: dict[str, Any] = {"dtype": text, "keep_default_na": False, "usecols": columns}
    if batch_rows is None:
        yield _csv_scores(pd.read_csv(path, na_values=[""], **options))
        return
    with pd.read_csv(path, na_values=[""], chunksize=batch_rows, **options) as reader:
        for frame in reader:
            yield _csv_scores(frame)


def _csv_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Scores read from CSV with ``as_of`` as UTC instants."""
    frame[schema.AS_OF] = pd.to_datetime(frame[schema.AS_OF], utc=True, format="ISO8601")
    return frame


ADDED_COLUMNS: dict[str, str] = {schema.SEGMENT: ""}
"""Output columns added since version 0.1 and the value rows written before them hold."""


def conformed(frame: pd.DataFrame) -> pd.DataFrame:
    """Scores with every column of the contract: rows written before a column existed (an older
    file, table or version) get its :data:`ADDED_COLUMNS` value."""
    for column, value in ADDED_COLUMNS.items():
        if column not in frame:
            frame = frame.assign(**{column: value})
        elif frame[column].isna().any():
            frame = frame.assign(**{column: frame[column].astype(object).fillna(value)})
    return frame


def _file_columns(path: Path) -> list[str]:
    """The columns of the scores file at ``path`` (none when there is no file yet)."""
    if not path.exists():
        return []
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    with open(path, encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle), [])


OPTIONAL_COLUMNS: dict[str, str] = {
    schema.POINTS: "float64",
    schema.PREVIOUS_SCORE: "Int64",
    schema.SCORE_CHANGE: "Int64",
    schema.TREND: "string",
    schema.NEWLY_HOT: "boolean",
}
"""Columns only some rows have, and their (nullable) types: a rules file's ``points``, the
change columns of a run whose destination held earlier as-ofs (CONTRACT sections 7 and 8)."""


def _file_layout(
    chunks: Iterable[pd.DataFrame], path: Path
) -> tuple[Iterator[pd.DataFrame], list[str]]:
    """The run's chunks and the columns every row of the file gets: the contract's, and each
    optional column this run or an earlier one wrote."""
    stream = iter(chunks)
    first = next(stream, None)
    chunked = stream if first is None else itertools.chain([first], stream)
    held = set(_file_columns(path)) | (set(first.columns) if first is not None else set())
    return chunked, [*schema.SCORE_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in held)]


def _laid_out(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` with exactly ``columns`` (an optional column null where the row has none)."""
    if list(frame.columns) == columns:
        return frame
    absent = {
        c: pd.Series(None, index=frame.index, dtype=OPTIONAL_COLUMNS[c])
        for c in columns
        if c not in frame
    }
    return frame.assign(**absent)[columns] if absent else frame[columns]


def _write_file(chunks: Iterable[pd.DataFrame], path: Path, as_of: pd.Timestamp | None) -> int:
    kept = 0
    chunks, columns = _file_layout(chunks, path)

    def earlier_runs() -> Iterator[pd.DataFrame]:
        """The file's rows of other as-of dates, batch by batch."""
        nonlocal kept
        for part in _file_parts(path, READ_BATCH_ROWS):
            other = conformed(part[~same_as_of(part[schema.AS_OF], as_of)])
            kept += len(other)
            if len(other):
                yield _laid_out(other, columns)

    written = 0

    def write(temporary: Path) -> None:
        nonlocal written
        parts = itertools.chain(earlier_runs(), (_laid_out(c, columns) for c in chunks))
        if path.suffix.lower() == ".parquet":
            written = _stream_parquet(parts, temporary) - kept
        else:
            written = _stream_csv(parts, temporary) - kept

    write_atomic(path, write)
    return written


def _stream_parquet(parts: Iterable[pd.DataFrame], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer: pq.ParquetWriter | None = None
    rows = 0
    for part in parts:
        table = pa.Table.from_pandas(part, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table.cast(writer.schema))
        rows += len(part)
    if writer is None:
        empty_scores().to_parquet(path, index=False)
    else:
        writer.close()
    return rows


def _stream_csv(parts: Iterable[pd.DataFrame], path: Path) -> int:
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for part in parts:
            neutralise_formulas(part).to_csv(
                handle, index=False, header=rows == 0, date_format="%Y-%m-%dT%H:%M:%S.%fZ"
            )
            rows += len(part)
        if rows == 0:
            handle.write(",".join(schema.SCORE_COLUMNS) + "\n")
    return rows


def _write_database(
    chunks: Iterable[pd.DataFrame], destination: Destination, as_of: pd.Timestamp | None
) -> int:
    assert destination.url is not None
    try:
        if destination.duckdb_file is not None:
            return _write_duckdb(chunks, destination.duckdb_file, destination.table, as_of)
        return _write_sqlalchemy(chunks, destination.url, destination.table, as_of)
    except (ScoringError, _ChunkError):
        raise
    except Exception as exc:  # a full disk, a refusing server: its transaction rolled back
        shown = describe_output(f"{destination.url}#{destination.table}")
        raise OutputError(f"cannot write the scores to {shown}: {_database_reason(exc)}") from None


def _database_reason(exc: Exception) -> str:
    """A database driver's failure in a few words (SQLAlchemy adds a link and the statement)."""
    inner = getattr(exc, "orig", None) or exc
    text = first_line(inner)
    return os_reason(inner) if "errno" in text.lower() else text


def _write_duckdb(
    chunks: Iterable[pd.DataFrame], path: str, table: str, as_of: pd.Timestamp | None
) -> int:
    import duckdb

    name = quote_identifier(table)
    written = 0
    with duckdb.connect(path) as con:
        con.begin()
        try:
            for chunk in chunks:
                con.register("chunk", chunk)
                con.execute(f"CREATE TABLE IF NOT EXISTS {name} AS SELECT * FROM chunk LIMIT 0")
                if written == 0:
                    _add_duckdb_columns(con, table, name)
                    _delete_duckdb(con, name, as_of)
                for column in OPTIONAL_COLUMNS:
                    if column in chunk:
                        con.execute(
                            f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS "
                            f"{quote_identifier(column)} {_SQL_TYPES[column]}"
                        )
                con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM chunk")
                con.unregister("chunk")
                written += len(chunk)
            con.commit()
        except BaseException:
            with contextlib.suppress(Exception):  # a failed commit has no transaction left
                con.rollback()
            raise
    return written


_SQL_TYPES = {
    schema.POINTS: "DOUBLE PRECISION",
    schema.PREVIOUS_SCORE: "INTEGER",
    schema.SCORE_CHANGE: "INTEGER",
    schema.TREND: "VARCHAR(16)",
    schema.NEWLY_HOT: "BOOLEAN",
}


def _literal(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _add_duckdb_columns(con: Any, table: str, name: str) -> None:
    """A table written before a column of :data:`ADDED_COLUMNS` existed gains it."""
    present = {row[0] for row in con.execute(f"SELECT * FROM {name} LIMIT 0").description}
    for column, value in ADDED_COLUMNS.items():
        if column not in present:
            con.execute(
                f"ALTER TABLE {name} ADD COLUMN {quote_identifier(column)} VARCHAR "
                f"DEFAULT {_literal(value)}"
            )


def _delete_duckdb(con: object, name: str, as_of: pd.Timestamp | None) -> None:
    column = quote_identifier(schema.AS_OF)
    if as_of is None:
        con.execute(f"DELETE FROM {name} WHERE {column} IS NULL")  # type: ignore[attr-defined]
    else:
        con.execute(f"DELETE FROM {name} WHERE {column} = ?", [as_of.to_pydatetime()])  # type: ignore[attr-defined]


def _naive_utc(frame: pd.DataFrame) -> pd.DataFrame:
    """SQL databases get ``as_of`` as naive UTC (documented), which every dialect stores alike."""
    return frame.assign(
        **{schema.AS_OF: pd.to_datetime(frame[schema.AS_OF], utc=True).dt.tz_localize(None)}
    )


def _write_sqlalchemy(
    chunks: Iterable[pd.DataFrame], url: str, table: str, as_of: pd.Timestamp | None
) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(sqlalchemy_url(url))
    if engine.dialect.name == "sqlite":
        _transactional_sqlite(engine)
    written = 0
    with engine.begin() as connection:
        for chunk in chunks:
            naive = _naive_utc(chunk)
            if written == 0 and sa.inspect(connection).has_table(table):
                _add_sql_columns(connection, table, [c for c in OPTIONAL_COLUMNS if c in chunk])
                target = sa.Table(table, sa.MetaData(), autoload_with=connection)
                stamp = (
                    None
                    if as_of is None
                    else as_of.tz_convert("UTC").tz_localize(None).to_pydatetime()
                )
                condition = (
                    target.c[schema.AS_OF].is_(None)
                    if stamp is None
                    else target.c[schema.AS_OF] == stamp
                )
                connection.execute(target.delete().where(condition))
            naive.to_sql(table, connection, if_exists="append", index=False)
            written += len(chunk)
    return written


def _transactional_sqlite(engine: Any) -> None:
    """SQLite's Python driver runs DDL (``ALTER TABLE``, ``CREATE TABLE``) outside the
    transaction, committing it at once: a write that fails later would leave the table altered.
    The driver's own transaction handling is turned off and ``BEGIN IMMEDIATE`` opens the
    transaction (taking the write lock at once), so the whole write is one transaction
    (SQLAlchemy's documented recipe)."""
    import sqlalchemy as sa

    @sa.event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _add_sql_columns(connection: Any, table: str, optional: list[str]) -> None:
    """A table written before a column of :data:`ADDED_COLUMNS` existed gains it (its earlier
    rows hold the column's value for them); it gains each ``optional`` column this run writes
    (null in earlier rows)."""
    import sqlalchemy as sa

    present = {c["name"] for c in sa.inspect(connection).get_columns(table)}
    for column in optional:
        if column not in present:
            connection.execute(
                sa.text(
                    f"ALTER TABLE {quote_identifier(table)} ADD COLUMN "
                    f"{quote_identifier(column)} {_SQL_TYPES[column]}"
                )
            )
    for column, value in ADDED_COLUMNS.items():
        if column not in present:
            connection.execute(
                sa.text(
                    f"ALTER TABLE {quote_identifier(table)} ADD COLUMN "
                    f"{quote_identifier(column)} VARCHAR(255) DEFAULT {_literal(value)}"
                )
            )


def _read_database(destination: Destination, columns: list[str] | None = None) -> pd.DataFrame:
    """The destination table's rows (``columns`` of them, those it holds); empty (never created)
    when the database or table is absent."""
    assert destination.url is not None
    if not holds_table(destination):
        return empty_scores()
    if destination.duckdb_file is not None:
        import duckdb

        with duckdb.connect(destination.duckdb_file, read_only=True) as con:
            name = quote_identifier(destination.table)
            selected = "*"
            if columns is not None:
                held = {row[0] for row in con.sql(f"SELECT * FROM {name} LIMIT 0").description}
                selected = ", ".join(quote_identifier(c) for c in columns if c in held)
            frame: pd.DataFrame = (
                con.sql(f"SELECT {selected} FROM {name}").to_arrow_table().to_pandas()
            )
            return _as_of_in_utc(frame)
    import sqlalchemy as sa

    engine = sa.create_engine(sqlalchemy_url(destination.url))
    inspector = sa.inspect(engine)
    if columns is not None:
        held = {c["name"] for c in inspector.get_columns(destination.table)}
        columns = [c for c in columns if c in held]
    return _as_of_in_utc(pd.read_sql_table(destination.table, engine, columns=columns))


def _as_of_in_utc(frame: pd.DataFrame) -> pd.DataFrame:
    """``as_of`` as UTC: databases hand timestamps back naive (UTC as stored) or in the session's
    time zone."""
    stamps = pd.to_datetime(frame[schema.AS_OF])
    if stamps.dt.tz is None:
        stamps = stamps.dt.tz_localize("UTC")
    return frame.assign(**{schema.AS_OF: stamps.dt.tz_convert("UTC")})


def empty_scores() -> pd.DataFrame:
    """A scores table with the contract's columns and no rows."""
    return pd.DataFrame(columns=list(schema.SCORE_COLUMNS))
