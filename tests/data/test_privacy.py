"""PII never becomes a feature and never reaches reports; the email's domain type may."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.data.load import load_lead_data
from predictive_scoring.data.privacy import email_domain_type
from tests.conftest import CliResult, Tables


def test_email_domain_type() -> None:
    emails = pd.Series(["Ann@Gmail.com", "bob@acme.io", None, "no-at-sign", "x@OUTLOOK.COM"])
    assert email_domain_type(emails).tolist() == ["free", "corporate", pd.NA, pd.NA, "free"]


def test_pii_columns_are_dropped_after_deriving_email_type(tables: Tables, tmp_path: Path) -> None:
    tables.leads["Phone"] = "+1 555 0100"
    data = load_lead_data(str(tables.write(tmp_path)), load_config(), quarantine_dir=tmp_path / "q")
    columns = set(data.data.leads.columns)
    assert not columns & {"email", "first_name", "phone"}
    assert schema.EMAIL_DOMAIN_TYPE in columns
    assert set(data.data.fit_columns) == {"industry", "company_size", schema.EMAIL_DOMAIN_TYPE}


def test_no_pii_value_in_validation_output(
    tables: Tables, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    tables.events.loc[0, schema.LEAD_ID] = "GHOST"
    result = cli(
        "validate",
        "--data",
        tables.write(tmp_path / "d"),
        "--quarantine-dir",
        tmp_path / "q",
        "--json",
    )
    assert result.code == 0, result.err
    report = json.dumps(result.json)
    for value in tables.leads["email"].tolist() + tables.leads["first_name"].tolist():
        assert value not in report and value not in result.out and value not in result.err
