"""Bad inputs: each gives the contract's exit code, a message naming table, column and values,
and either writes nothing or quarantines exactly the bad rows with their reasons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.data.load import load_lead_data
from predictive_scoring.errors import DataError
from tests.conftest import CliResult, Tables, make_tables


@dataclass(frozen=True)
class BadRows:
    table: str
    lead_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Case:
    name: str
    spoil: Callable[[Tables, Path], None]
    code: int
    message: tuple[str, ...]
    quarantined: BadRows | None = None


def _set(table: str, row: int, column: str, value: object) -> Callable[[Tables, Path], None]:
    def spoil(t: Tables, folder: Path) -> None:
        getattr(t, table).loc[row, column] = value

    return spoil


def _drop_column(table: str, column: str) -> Callable[[Tables, Path], None]:
    def spoil(t: Tables, folder: Path) -> None:
        setattr(t, table, getattr(t, table).drop(columns=[column]))

    return spoil


def _append_copy(table: str, row: int) -> Callable[[Tables, Path], None]:
    def spoil(t: Tables, folder: Path) -> None:
        frame = getattr(t, table)
        setattr(t, table, pd.concat([frame, frame.iloc[[row]]], ignore_index=True))

    return spoil


def _all(table: str, column: str, value: object) -> Callable[[Tables, Path], None]:
    def spoil(t: Tables, folder: Path) -> None:
        getattr(t, table)[column] = value

    return spoil


def _no_leads(t: Tables, folder: Path) -> None:
    t.leads = t.leads.iloc[0:0]


def _unknown_event(t: Tables, folder: Path) -> None:
    t.events.loc[3, schema.LEAD_ID] = "GHOST-1"


def _many_duplicates(t: Tables, folder: Path) -> None:
    t.events = pd.concat([t.events, t.events.iloc[:30]], ignore_index=True)


def _clashing_columns(t: Tables, folder: Path) -> None:
    t.leads["LEAD_ID"] = t.leads[schema.LEAD_ID]


UNUSABLE = [
    Case("missing lead_id column", _drop_column("leads", "lead_id"), 3, ("leads", "'lead_id'")),
    Case(
        "missing created_at column",
        _drop_column("leads", "created_at"),
        3,
        ("leads", "'created_at'", "flat"),
    ),
    Case(
        "missing event_type column",
        _drop_column("events", "event_type"),
        3,
        ("events", "'event_type'", "columns present"),
    ),
    Case("no leads", _no_leads, 3, ("leads", "no rows")),
    Case(
        "no created_at parses",
        _all("leads", "created_at", "yesterday"),
        3,
        ("leads.created_at", "'yesterday'"),
    ),
    Case(
        "no occurred_at parses",
        _all("events", "occurred_at", "31/12/2024 10h"),
        3,
        ("events.occurred_at", "'31/12/2024 10h'"),
    ),
    Case(
        "columns clash after case folding",
        _clashing_columns,
        3,
        ("leads", "lead_id", "more than once"),
    ),
    Case(
        "too many bad rows",
        _many_duplicates,
        3,
        ("events", "30 of 330 rows", "5.0% limit", "duplicate event"),
        BadRows("events", (), "duplicate event (first row kept)"),
    ),
]

BAD_ROWS = [
    Case(
        "duplicate event",
        _append_copy("events", 7),
        0,
        (),
        BadRows("events", ("L002",), "duplicate event (first row kept)"),
    ),
    Case(
        "event for unknown lead",
        _unknown_event,
        0,
        (),
        BadRows("events", ("GHOST-1",), "unknown lead_id"),
    ),
    Case(
        "unparseable event time",
        _set("events", 11, "occurred_at", "not-a-time"),
        0,
        (),
        BadRows("events", ("L003",), "occurred_at missing or not a timestamp"),
    ),
    Case(
        "event before 1990",
        _set("events", 12, "occurred_at", "1989-12-31T23:59:59Z"),
        0,
        (),
        BadRows("events", ("L004",), "occurred_at before 1990-01-01 or in the future"),
    ),
    Case(
        "event far in the future",
        _set("events", 13, "occurred_at", "2999-01-01"),
        0,
        (),
        BadRows("events", ("L004",), "occurred_at before 1990-01-01 or in the future"),
    ),
    Case(
        "empty event type",
        _set("events", 14, "event_type", "   "),
        0,
        (),
        BadRows("events", ("L004",), "event_type is empty"),
    ),
    Case(
        "negative company size",
        _set("leads", 5, "company_size", -12),
        0,
        (),
        BadRows("leads", ("L005",), "negative company_size"),
    ),
    Case(
        "repeated lead_id",
        _append_copy("leads", 6),
        0,
        (),
        BadRows("leads", ("L006",), "repeated lead_id (first row kept)"),
    ),
    Case(
        "empty lead_id",
        _set("leads", 7, "lead_id", ""),
        0,
        (),
        BadRows("leads", (), "lead_id is empty"),
    ),
    Case(
        "unparseable created_at",
        _set("leads", 8, "created_at", "soon"),
        0,
        (),
        BadRows("leads", ("L008",), "created_at missing or not a timestamp"),
    ),
    Case(
        "outcome for unknown lead",
        _set("outcomes", 2, "lead_id", "NOBODY"),
        0,
        (),
        BadRows("outcomes", ("NOBODY",), "unknown lead_id"),
    ),
    Case(
        "unparseable conversion time",
        _set("outcomes", 3, "converted_at", "when pigs fly"),
        0,
        (),
        BadRows("outcomes", ("L003",), "converted_at is not a timestamp"),
    ),
    Case(
        "lost without closed_at",
        lambda t, f: t.outcomes.loc.__setitem__((4, ["status", "closed_at"]), ["lost", None]),
        0,
        (),
        BadRows("outcomes", ("L004",), "status lost without closed_at"),
    ),
]


@pytest.mark.parametrize("case", UNUSABLE + BAD_ROWS, ids=lambda c: c.name)
def test_bad_input(
    case: Case, tables: Tables, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    case.spoil(tables, tmp_path)
    data = tables.write(tmp_path / "data")
    quarantine = tmp_path / "quarantine"
    result = cli("validate", "--data", data, "--quarantine-dir", quarantine)
    assert result.code == case.code, result.err
    assert "Traceback" not in result.err
    for fragment in case.message:
        assert fragment in result.err
    if case.quarantined is None:
        assert not quarantine.exists(), "unusable input must write nothing"
        return
    rows = pd.read_csv(quarantine / f"{case.quarantined.table}.csv", dtype=str)
    assert (rows[schema.QUARANTINE_REASON] == case.quarantined.reason).all(), rows
    if case.quarantined.lead_ids:
        assert tuple(rows[schema.LEAD_ID]) == case.quarantined.lead_ids
    if case.code == 0:
        assert len(rows) == 1
        for other in quarantine.glob("*.csv"):
            if other.stem != case.quarantined.table:
                reasons = pd.read_csv(other)[schema.QUARANTINE_REASON]
                assert reasons.isin(["its lead was quarantined", "unknown lead_id"]).all()


def test_events_of_a_quarantined_lead_are_set_aside_with_their_own_reason(
    tables: Tables, tmp_path: Path
) -> None:
    tables.leads.loc[0, schema.CREATED_AT] = "garbage"
    config = load_config().with_overrides({"validation.max_bad_row_share": 0.5})
    validated = load_lead_data(
        str(tables.write(tmp_path / "d")), config, quarantine_dir=tmp_path / "q"
    )
    events = validated.quarantine[schema.EVENTS]
    assert set(events[schema.LEAD_ID]) == {"L000"}
    assert set(events[schema.QUARANTINE_REASON]) == {"its lead was quarantined"}
    assert "L000" not in set(validated.data.events[schema.LEAD_ID])


def test_missing_leads_table_is_unusable(
    tables: Tables, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    data = tables.write(tmp_path / "data", skip=("leads",))
    result = cli("validate", "--data", data, "--quarantine-dir", tmp_path / "q")
    assert result.code == 3
    assert "table leads not found" in result.err
    assert not (tmp_path / "q").exists()


def test_missing_folder_is_a_usage_error(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    result = cli("validate", "--data", tmp_path / "nowhere")
    assert result.code == 2
    assert "no such folder" in result.err


def test_corrupt_parquet_is_unusable(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    (tmp_path / "leads.parquet").write_bytes(b"PAR1 this is not parquet")
    result = cli("validate", "--data", tmp_path, "--quarantine-dir", tmp_path / "q")
    assert result.code == 3
    assert "leads.parquet: cannot be read" in result.err


def test_training_without_outcomes_is_unusable(tables: Tables, tmp_path: Path) -> None:
    data = tables.write(tmp_path / "data", skip=("outcomes",))
    with pytest.raises(DataError, match=r"outcomes\.converted_at: no lead has a conversion time"):
        load_lead_data(str(data), load_config(), require_labels=True, quarantine_dir=tmp_path / "q")
    assert not (tmp_path / "q").exists()


def test_flat_training_with_one_class_is_unusable(tmp_path: Path) -> None:
    flat = pd.DataFrame(
        {"lead_id": ["a", "b", "c"], "converted": ["no", "No", "0"], "x": [1, 2, 3]}
    )
    flat.to_csv(tmp_path / "leads.csv", index=False)
    with pytest.raises(DataError, match=r"leads\.converted: training needs both") as caught:
        load_lead_data(
            str(tmp_path), load_config(), require_labels=True, quarantine_dir=tmp_path / "q"
        )
    assert caught.value.exit_code == 3


def test_flat_label_values_are_normalised_and_bad_ones_quarantined(tmp_path: Path) -> None:
    values = ["1", "0", "Yes", "no", "TRUE", "false", "maybe"] + ["0"] * 20 + ["1"] * 20
    flat = pd.DataFrame({"lead_id": [f"x{i}" for i in range(len(values))], "Converted": values})
    flat.to_csv(tmp_path / "leads.csv", index=False)
    validated = load_lead_data(
        str(tmp_path), load_config(), require_labels=True, quarantine_dir=tmp_path / "q"
    )
    assert validated.data.flat
    labels = validated.data.leads.set_index(schema.LEAD_ID)[schema.CONVERTED]
    assert labels[["x0", "x1", "x2", "x3", "x4", "x5"]].tolist() == [1, 0, 1, 0, 1, 0]
    bad = validated.quarantine[schema.LEADS]
    assert bad[schema.LEAD_ID].tolist() == ["x6"]
    assert bad[schema.QUARANTINE_REASON].str.contains("converted label").all()


def test_rerun_without_bad_rows_removes_stale_quarantine(tables: Tables, tmp_path: Path) -> None:
    spoiled = make_tables()
    spoiled.events.loc[0, schema.LEAD_ID] = "GHOST"
    load_lead_data(
        str(spoiled.write(tmp_path / "bad")), load_config(), quarantine_dir=tmp_path / "q"
    )
    assert (tmp_path / "q" / "events.csv").exists()
    load_lead_data(
        str(tables.write(tmp_path / "good")), load_config(), quarantine_dir=tmp_path / "q"
    )
    assert not (tmp_path / "q" / "events.csv").exists()


def test_quarantine_csv_neutralises_formulas(tables: Tables, tmp_path: Path) -> None:
    tables.leads["company"] = "Acme"
    tables.leads.loc[9, ["company", "company_size"]] = ['=HYPERLINK("http://x","y")', -1]
    load_lead_data(str(tables.write(tmp_path / "d")), load_config(), quarantine_dir=tmp_path / "q")
    text = (tmp_path / "q" / "leads.csv").read_text()
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text and '"=HYPERLINK' not in text


def test_events_are_ordered_by_time_then_lead_as_a_stable_sort_orders_them() -> None:
    """The integer-key ordering of clean events is the stable sort by (occurred_at, lead_id):
    equal instants by id in text order (``"L10"`` before ``"L9"``, accents after ASCII), equal
    (instant, id) pairs in their row order."""
    import numpy as np

    from predictive_scoring.data.validation.clean import _by_time_then_lead

    rng = np.random.default_rng(3)
    n = 5000
    events = pd.DataFrame(
        {
            schema.LEAD_ID: pd.Series(
                rng.choice(["L9", "L10", "l1", "Lé", "L1", "Z"], n), dtype="string"
            ),
            schema.OCCURRED_AT: pd.to_datetime(rng.integers(0, 50, n), unit="s", utc=True),
            schema.EVENT_TYPE: pd.Series(rng.choice(["a", "b"], n), dtype="string"),
        },
        index=rng.permutation(n) * 3,  # kept rows carry their source labels
    )
    expected = events.sort_values([schema.OCCURRED_AT, schema.LEAD_ID], kind="stable")
    order = _by_time_then_lead(events)
    pd.testing.assert_frame_equal(events.take(order), expected)
