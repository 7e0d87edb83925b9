"""Score history in a destination (CONTRACT section 8): what changed since the previous run.

A run whose destination already holds earlier as-of times gives every row ``previous_score``,
``score_change``, ``trend`` and ``newly_hot``, against the latest as-of strictly before T of the
same model.  The same model is the same registered model (``lead-scoring/3`` and
``lead-scoring/4`` are one model whose champion moved; a segment's model is its own), or the same
rules file (``rules:<name>``).  Only rows of earlier as-ofs are read, so re-running T gives the
same columns, and rows of later as-ofs never enter.

History is read cheaply: a Parquet file gives its ``as_of`` and ``model_version`` columns
(dictionary-encoded) to find each model's previous as-of, then only that as-of's rows; a database
answers one ``GROUP BY`` and one ``SELECT`` of those rows; a CSV file is read in batches, keeping
only the latest earlier rows of each model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.data.outputs import Destination, holds_table
from predictive_scoring.data.sources import sqlalchemy_url
from predictive_scoring.sql import quote_identifier

__all__ = [
    "PREVIOUS_TIER",
    "add_changes",
    "model_of",
    "previous_scores",
]

MODEL = "model"
"""The model a row's ``model_version`` belongs to (see :func:`model_of`)."""
PREVIOUS_TIER = "previous_tier"
_KEPT = [schema.LEAD_ID, schema.AS_OF, schema.MODEL_VERSION, schema.SCORE, schema.TIER]
CSV_BATCH_ROWS = 200_000


def model_of(versions: pd.Series) -> pd.Series:
    """``lead-scoring/4`` → ``lead-scoring``: the registered model of each ``model_version``
    (a rules file's ``rules:<name>`` is its own)."""
    text = versions.astype("string").fillna("")
    model: pd.Series = text.str.replace(r"/[^/]*$", "", regex=True).where(
        ~text.str.startswith("rules:"), text
    )
    return model


def add_changes(chunk: pd.DataFrame, previous: pd.DataFrame, steady_within: float) -> pd.DataFrame:
    """``chunk`` with ``previous_score``, ``score_change``, ``trend`` and ``newly_hot`` from
    ``previous`` (:func:`previous_scores`: ``score`` and ``previous_tier`` by lead and model)."""
    keys = pd.MultiIndex.from_arrays(
        [chunk[schema.LEAD_ID].astype("string"), model_of(chunk[schema.MODEL_VERSION])]
    )
    position = previous.index.get_indexer(keys)  # the index's hash table is built once a run
    found = previous.iloc[np.maximum(position, 0)].reset_index(drop=True)
    absent = position < 0
    found.loc[absent, [schema.SCORE, PREVIOUS_TIER]] = None
    before = found[schema.SCORE].astype("Int64").to_numpy()
    score = chunk[schema.SCORE].astype("Int64").to_numpy()
    change = pd.array(score - before, dtype="Int64")
    known = ~pd.isna(change)
    size = np.abs(change.to_numpy(dtype=float, na_value=np.nan))
    trend = np.where(
        ~known,
        schema.TREND_NEW,
        np.where(
            size < steady_within,
            schema.TREND_STEADY,
            np.where(
                change.to_numpy(dtype=float, na_value=0) > 0, schema.TREND_UP, schema.TREND_DOWN
            ),
        ),
    )
    hot_now = (chunk[schema.TIER].astype("string") == schema.HOT).fillna(False).to_numpy(bool)
    hot_before = (found[PREVIOUS_TIER].astype("string") == schema.HOT).fillna(False).to_numpy(bool)
    changes: dict[str, Any] = {
        schema.PREVIOUS_SCORE: pd.array(before, dtype="Int64"),
        schema.SCORE_CHANGE: change,
        schema.TREND: pd.array(trend, dtype="string"),
        schema.NEWLY_HOT: hot_now & ~hot_before,
    }
    return chunk.assign(**changes)


def previous_scores(destination: Destination, as_of: pd.Timestamp) -> pd.DataFrame | None:
    """Each model's rows at its latest as-of strictly before ``as_of`` in ``destination``:
    ``score`` and ``previous_tier`` indexed by (``lead_id``, ``model``); ``None`` when it holds no
    earlier as-of at all."""
    if destination.path is not None:
        rows = _from_file(destination.path, as_of)
    elif destination.duckdb_file is not None:
        rows = _from_duckdb(destination, as_of)
    else:
        rows = _from_sqlalchemy(destination, as_of)
    if rows is None:
        return None
    rows = rows.assign(
        **{
            schema.LEAD_ID: rows[schema.LEAD_ID].astype("string"),
            MODEL: model_of(rows[schema.MODEL_VERSION]),
        }
    )
    rows = _latest_per_model(rows)
    rows = rows.drop_duplicates([schema.LEAD_ID, MODEL], keep="last")
    renamed = rows.rename(columns={schema.TIER: PREVIOUS_TIER})
    kept = renamed.astype({schema.SCORE: "Int64", PREVIOUS_TIER: "string"})
    return kept.set_index([schema.LEAD_ID, MODEL])[[schema.SCORE, PREVIOUS_TIER]]


def _latest_per_model(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows at each model's latest as-of."""
    stamps = pd.to_datetime(rows[schema.AS_OF], utc=True)
    latest = stamps.groupby(rows[MODEL].to_numpy()).transform("max")
    kept: pd.DataFrame = rows[(stamps == latest).to_numpy()]
    return kept


def _stamp_filter(as_of: pd.Timestamp) -> Any:
    import pyarrow as pa
    import pyarrow.dataset as ds

    return ds.field(schema.AS_OF) < pa.scalar(as_of.to_pydatetime(), pa.timestamp("us", "UTC"))


def _from_file(path: Path, as_of: pd.Timestamp) -> pd.DataFrame | None:
    if not path.exists():
        return None
    if path.suffix.lower() == ".csv":
        return _from_csv(path, as_of)
    import pyarrow.dataset as ds

    read = ds.ParquetReadOptions(dictionary_columns=[schema.MODEL_VERSION])
    dataset = ds.dataset(path, format=ds.ParquetFileFormat(read_options=read))
    if schema.AS_OF not in dataset.schema.names:
        return None
    earlier = _stamp_filter(as_of) & ds.field(schema.AS_OF).is_valid()
    latest: dict[str, pd.Timestamp] = {}  # per version; batches have their own dictionaries
    for batch in dataset.to_batches(columns=[schema.AS_OF, schema.MODEL_VERSION], filter=earlier):
        pairs = batch.to_pandas()
        grouped = pairs.groupby(schema.MODEL_VERSION, observed=True)[schema.AS_OF].max()
        for version, stamp in grouped.items():
            latest[str(version)] = max(stamp, latest.get(str(version), stamp))
    if not latest:
        return None
    wanted = _per_model_latest(list(latest.items()))
    import pyarrow as pa

    chosen = ds.field(schema.AS_OF).isin(
        pa.array([t.to_pydatetime() for t in wanted], pa.timestamp("us", "UTC"))
    )
    frame: pd.DataFrame = dataset.to_table(columns=_KEPT, filter=chosen).to_pandas()
    return frame


def _from_csv(path: Path, as_of: pd.Timestamp) -> pd.DataFrame | None:
    """The latest earlier rows of each model, a batch of the file at a time."""
    kept: pd.DataFrame | None = None
    seen = False
    text = {schema.LEAD_ID: str, schema.MODEL_VERSION: str, schema.TIER: str}
    with pd.read_csv(
        path, usecols=_KEPT, dtype=text, keep_default_na=False, na_values=[""],
        chunksize=CSV_BATCH_ROWS,
    ) as reader:  # fmt: skip
        for frame in reader:
            stamps = pd.to_datetime(frame[schema.AS_OF], utc=True, format="ISO8601")
            frame = frame.assign(**{schema.AS_OF: stamps})[(stamps < as_of).to_numpy()]
            if frame.empty:
                continue
            seen = True
            frame = frame.assign(**{MODEL: model_of(frame[schema.MODEL_VERSION])})
            both = frame if kept is None else pd.concat([kept, frame], ignore_index=True)
            kept = _latest_per_model(both)
    if not seen or kept is None:
        return None
    return kept.drop(columns=MODEL)


def _from_duckdb(destination: Destination, as_of: pd.Timestamp) -> pd.DataFrame | None:
    import duckdb

    if not holds_table(destination):
        return None
    name = quote_identifier(destination.table)
    stamp = quote_identifier(schema.AS_OF)
    version = quote_identifier(schema.MODEL_VERSION)
    with duckdb.connect(destination.duckdb_file, read_only=True) as con:
        latest = (
            con.sql(
                f"SELECT {version}, max({stamp}) FROM {name} WHERE {stamp} < $1 GROUP BY {version}",
                params=[as_of.to_pydatetime()],
            )
            .to_arrow_table()
            .to_pandas()
        )  # through Arrow: time zones need no pytz
        if latest.empty:
            return None
        stamps = _per_model_latest(list(latest.itertuples(index=False, name=None)))
        columns = ", ".join(quote_identifier(c) for c in _KEPT)
        marks = ", ".join(f"${k + 1}" for k in range(len(stamps)))
        frame: pd.DataFrame = (
            con.sql(
                f"SELECT {columns} FROM {name} WHERE {stamp} IN ({marks})",
                params=[t.to_pydatetime() for t in stamps],
            )
            .to_arrow_table()
            .to_pandas()
        )
    return frame


def _per_model_latest(latest: list[tuple[Any, Any]]) -> list[pd.Timestamp]:
    """The distinct as-ofs that are some model's latest, from (version, latest as-of) pairs."""
    table = pd.DataFrame(latest, columns=[schema.MODEL_VERSION, schema.AS_OF])
    stamps = pd.to_datetime(table[schema.AS_OF], utc=True)
    per_model = stamps.groupby(model_of(table[schema.MODEL_VERSION]).to_numpy()).max()
    return [pd.Timestamp(t) for t in per_model.unique()]


def _from_sqlalchemy(destination: Destination, as_of: pd.Timestamp) -> pd.DataFrame | None:
    import sqlalchemy as sa

    if not holds_table(destination):
        return None
    engine = sa.create_engine(sqlalchemy_url(str(destination.url)))
    try:
        table = sa.Table(destination.table, sa.MetaData(), autoload_with=engine)
        stamp, version = table.c[schema.AS_OF], table.c[schema.MODEL_VERSION]
        naive = as_of.tz_convert("UTC").tz_localize(None).to_pydatetime()
        with engine.connect() as connection:
            latest = connection.execute(
                sa.select(version, sa.func.max(stamp)).where(stamp < naive).group_by(version)
            ).fetchall()
            if not latest:
                return None
            stamps = _per_model_latest([(v, t) for v, t in latest])
            naive_stamps = [t.tz_convert("UTC").tz_localize(None).to_pydatetime() for t in stamps]
            query = sa.select(*(table.c[c] for c in _KEPT)).where(stamp.in_(naive_stamps))
            frame = pd.DataFrame(connection.execute(query).fetchall(), columns=_KEPT)
    finally:
        engine.dispose()
    return frame
