"""Read the contract tables from a folder of files or a database.

A source is a folder holding ``leads``, ``events`` and ``outcomes`` as ``.parquet``, ``.csv.gz`` or
``.csv`` files, or a database URL (``duckdb:///path.db``, ``sqlite:///path.db``, any SQLAlchemy
URL such as ``postgresql://...``) whose tables have those names.  Table and column names are
matched case-insensitively after trimming; ``data.column_map`` maps other names onto the contract.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import DataConfig
from predictive_scoring.data.tables import RawTables
from predictive_scoring.errors import DataError, UsageError, first_line
from predictive_scoring.sql import quote_identifier

__all__ = [
    "DATABASE_SCHEMES",
    "FILE_SUFFIXES",
    "describe_source",
    "is_database_url",
    "normalise_columns",
    "read_tables",
    "sqlalchemy_url",
]

FILE_SUFFIXES: tuple[str, ...] = (".parquet", ".csv.gz", ".csv")
DATABASE_SCHEMES: tuple[str, ...] = ("duckdb", "sqlite", "postgresql", "postgres", "mysql", "mssql")


def is_database_url(source: str) -> bool:
    """True when ``source`` looks like ``scheme://...`` rather than a path."""
    scheme = source.split("://", 1)[0].split("+", 1)[0].lower() if "://" in source else ""
    return scheme in DATABASE_SCHEMES


def describe_source(source: str) -> str:
    """A description of ``source`` fit for messages and logs: passwords hidden (a database
    URL's, or an HTTP URL's, such as a tracking server's)."""
    if source.startswith(("http://", "https://")):
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(source)
        if parts.password is None:
            return source
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    if not is_database_url(source) or source.startswith("duckdb://"):
        return source
    from sqlalchemy.engine import make_url

    return make_url(sqlalchemy_url(source)).render_as_string(hide_password=True)


def read_tables(source: str, config: DataConfig) -> RawTables:
    """Read the three contract tables from ``source``; ``events``/``outcomes`` may be absent."""
    loader = _database_loader(source) if is_database_url(source) else _folder_loader(source)
    tables = {name: loader(name) for name in schema.TABLES}
    leads = tables[schema.LEADS]
    if leads is None:
        raise DataError(
            f"table {schema.LEADS} not found in {describe_source(source)} "
            f"(looked for {', '.join(schema.LEADS + s for s in FILE_SUFFIXES)} or a database table)"
        )
    mapped = {
        name: None
        if frame is None
        else normalise_columns(frame.reset_index(drop=True), name, config)
        for name, frame in tables.items()
    }
    return RawTables(
        leads=mapped[schema.LEADS],  # type: ignore[arg-type]
        events=mapped[schema.EVENTS],
        outcomes=mapped[schema.OUTCOMES],
        origin=describe_source(source),
    )


def normalise_columns(frame: pd.DataFrame, table: str, config: DataConfig) -> pd.DataFrame:
    """Trim and lower-case column names, then apply ``column_map`` for ``table``."""
    mapping = {k.strip().lower(): v for k, v in config.column_map.get(table, {}).items()}
    renamed = {}
    for column in frame.columns:
        key = str(column).strip().lower()
        renamed[column] = mapping.get(key, key)
    clashes = _duplicates(list(renamed.values()))
    if clashes:
        raise DataError(
            f"{table}: columns {sorted(clashes)} appear more than once after matching names "
            "case-insensitively"
        )
    return frame.rename(columns=renamed)


def _duplicates(names: list[str]) -> set[str]:
    return {name for name, count in Counter(names).items() if count > 1}


# ---- folders -----------------------------------------------------------------------------------


def _folder_loader(source: str) -> Callable[[str], pd.DataFrame | None]:
    folder = Path(source)
    if not folder.is_dir():
        raise UsageError(f"--data {source}: no such folder (or an unsupported database URL)")
    files = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    return lambda table: _read_file(_find_file(files, table))


def _find_file(files: Mapping[str, Path], table: str) -> Path | None:
    for suffix in FILE_SUFFIXES:
        if table + suffix in files:
            return files[table + suffix]
    return None


def _read_file(path: Path | None) -> pd.DataFrame | None:
    if path is None:
        return None
    try:
        if path.name.lower().endswith(".parquet"):
            return pd.read_parquet(path)
        # Everything as text: types are decided by validation, the same way for every format.
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], index_col=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path.name}: cannot be read ({first_line(exc)})") from None


# ---- databases ---------------------------------------------------------------------------------


def _database_loader(source: str) -> Callable[[str], pd.DataFrame | None]:
    if source.startswith("duckdb://"):
        return _duckdb_loader(source.removeprefix("duckdb://").removeprefix("/"))
    return _sqlalchemy_loader(sqlalchemy_url(source))


def _duckdb_loader(path: str) -> Callable[[str], pd.DataFrame | None]:
    import duckdb

    if not Path(path).exists():
        raise UsageError(f"--data duckdb:///{path}: no such database file")
    connection = duckdb.connect(path, read_only=True)
    names = {row[0].lower(): row[0] for row in connection.execute("SHOW TABLES").fetchall()}

    def load(table: str) -> pd.DataFrame | None:
        actual = names.get(table)
        if actual is None:
            return None
        frame: pd.DataFrame = (
            connection.sql(f"SELECT * FROM {quote_identifier(actual)}").to_arrow_table().to_pandas()
        )
        return frame

    return load


def sqlalchemy_url(source: str) -> str:
    """Pick an installed PostgreSQL driver for bare ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if source.startswith(prefix) and importlib.util.find_spec("psycopg2") is None:
            return "postgresql+psycopg://" + source.removeprefix(prefix)
    return source


def _sqlalchemy_loader(url: str) -> Callable[[str], pd.DataFrame | None]:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
        names = {n.lower(): n for n in sa.inspect(engine).get_table_names()}
    except (sa.exc.SQLAlchemyError, ImportError) as exc:
        raise DataError(f"cannot open database {describe_source(url)}: {first_line(exc)}") from None

    def load(table: str) -> pd.DataFrame | None:
        actual = names.get(table)
        return None if actual is None else pd.read_sql_table(actual, engine)

    return load
