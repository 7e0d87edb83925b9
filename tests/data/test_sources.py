"""Reading sources: formats, databases, names matched case-insensitively, timestamps to UTC."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.data.load import load_lead_data
from predictive_scoring.data.sources import describe_source, read_tables
from predictive_scoring.data.tables import parse_instant, parse_timestamps
from tests.conftest import Tables


def test_timestamps_with_z_offsets_or_no_zone_parse_to_utc() -> None:
    raw = pd.Series(
        ["2024-03-01T12:00:00Z", "2024-03-01T14:00:00+02:00", "2024-03-01 12:00:00", "2024-03-01"]
    )
    parsed = parse_timestamps(raw)
    assert str(parsed.dt.tz) == "UTC"
    assert parsed.iloc[:3].nunique() == 1
    assert parsed.iloc[0] == pd.Timestamp("2024-03-01T12:00:00", tz="UTC")
    assert parsed.iloc[3] == pd.Timestamp("2024-03-01T00:00:00", tz="UTC")


def test_naive_and_aware_datetime_columns_both_become_utc() -> None:
    naive = pd.Series(pd.to_datetime(["2024-01-01 05:00"]))
    aware = pd.Series(pd.to_datetime(["2024-01-01 07:00"]).tz_localize("Europe/Berlin"))
    assert parse_timestamps(naive)[0] == pd.Timestamp("2024-01-01 05:00", tz="UTC")
    assert parse_timestamps(aware)[0] == pd.Timestamp("2024-01-01 06:00", tz="UTC")


def test_parse_instant_rejects_garbage() -> None:
    assert parse_instant("2024-05-01") == pd.Timestamp("2024-05-01", tz="UTC")
    with pytest.raises(ValueError, match="not an ISO 8601"):
        parse_instant("next tuesday")


def test_column_names_match_case_insensitively_after_trimming(
    tables: Tables, tmp_path: Path
) -> None:
    tables.leads = tables.leads.rename(columns={"lead_id": " Lead_ID ", "created_at": "CREATED_AT"})
    tables.events = tables.events.rename(columns={"event_type": "Event_Type"})
    raw = read_tables(str(tables.write(tmp_path)), load_config().data)
    assert {schema.LEAD_ID, schema.CREATED_AT} <= set(raw.leads.columns)
    assert raw.events is not None and schema.EVENT_TYPE in raw.events.columns


def test_column_map_maps_other_names(tmp_path: Path) -> None:
    pd.DataFrame({"Prospect ID": ["a", "b"], "Converted": [1, 0]}).to_csv(
        tmp_path / "leads.csv", index=False
    )
    config_file = tmp_path / "c.yaml"
    config_file.write_text("data:\n  column_map:\n    leads: {'prospect id': lead_id}\n")
    raw = read_tables(str(tmp_path), load_config(config_file).data)
    assert raw.flat
    assert raw.leads[schema.LEAD_ID].tolist() == ["a", "b"]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_every_file_format_reads_the_same(suffix: str, tables: Tables, tmp_path: Path) -> None:
    for name in schema.TABLES:
        frame = getattr(tables, name)
        path = tmp_path / f"{name}{suffix}"
        frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)
    data = load_lead_data(str(tmp_path), load_config(), quarantine_dir=tmp_path / "q").data
    assert len(data.leads) == len(tables.leads)
    assert len(data.events) == len(tables.events)
    assert data.leads[schema.CREATED_AT].dt.tz is not None
    assert pd.api.types.is_float_dtype(data.leads["company_size"])


def _expected_counts(tables: Tables) -> tuple[int, int, int]:
    return len(tables.leads), len(tables.events), len(tables.outcomes)


def test_duckdb_database(tables: Tables, tmp_path: Path) -> None:
    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        for name in schema.TABLES:
            frame = getattr(tables, name)
            con.register("frame", frame)
            con.execute(f"CREATE TABLE {name.upper()} AS SELECT * FROM frame")
    data = load_lead_data(f"duckdb:///{path}", load_config(), quarantine_dir=tmp_path / "q").data
    assert (len(data.leads), len(data.events), len(data.outcomes)) == _expected_counts(tables)


def test_sqlite_database(tables: Tables, tmp_path: Path) -> None:
    path = tmp_path / "crm.sqlite"
    with sqlite3.connect(path) as con:
        for name in schema.TABLES:
            getattr(tables, name).to_sql(name, con, index=False)
    data = load_lead_data(f"sqlite:///{path}", load_config(), quarantine_dir=tmp_path / "q").data
    assert (len(data.leads), len(data.events), len(data.outcomes)) == _expected_counts(tables)
    converted = data.outcomes[schema.CONVERTED_AT]
    assert converted.notna().all() and str(converted.dt.tz) == "UTC"


def test_database_password_is_hidden_in_messages() -> None:
    shown = describe_source("postgresql://scorer:s3cret@db.example:5432/crm")
    assert "s3cret" not in shown and "scorer" in shown
