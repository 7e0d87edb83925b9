"""Unusable input: what raises :class:`~predictive_scoring.errors.DataError` before anything is
written (a missing table or required column, no leads, no timestamp that parses, no labels)."""

from __future__ import annotations

import pandas as pd

from predictive_scoring import schema
from predictive_scoring.data.tables import LeadData, RawTables
from predictive_scoring.errors import DataError, examples


def _require_columns(raw: RawTables, require_labels: bool) -> None:
    leads_contract = _leads_contract(raw, require_labels)
    contracts: list[tuple[pd.DataFrame | None, schema.TableContract]] = [
        (raw.leads, leads_contract)
    ]
    contracts += [
        (raw.table(name), schema.CONTRACTS[name]) for name in (schema.EVENTS, schema.OUTCOMES)
    ]
    for frame, contract in contracts:
        if frame is None:
            continue
        missing = [c for c in contract.required if c not in frame.columns]
        if missing:
            hint = _flat_hint(raw, contract)
            raise DataError(
                f"{contract.name}: required column {missing[0]!r} is missing "
                f"(columns present: {examples(list(frame.columns), limit=8)}){hint}"
            )
    if len(raw.leads) == 0:
        raise DataError(f"{schema.LEADS}: the table has no rows; there is nothing to score")


def _leads_contract(raw: RawTables, require_labels: bool) -> schema.TableContract:
    """Timed leads need a creation time; a flat export needs its label to train, not to score."""
    if not raw.flat:
        return schema.LEADS_CONTRACT
    return schema.FLAT_LEADS_CONTRACT if require_labels else schema.FLAT_UNLABELLED_CONTRACT


def _flat_hint(raw: RawTables, contract: schema.TableContract) -> str:
    if contract.name == schema.LEADS and schema.CONVERTED not in raw.leads.columns:
        return (
            f"; a flat CRM export needs a {schema.CONVERTED!r} label column instead of "
            f"{schema.CREATED_AT!r}"
        )
    return ""


def _require_parseable(table: str, column: str, raw: pd.Series, parsed: pd.Series) -> None:
    if len(raw) and raw.notna().any() and parsed.isna().all():
        offenders = raw.dropna().unique()[:3]
        raise DataError(
            f"{table}.{column}: no value could be parsed as an ISO 8601 timestamp "
            f"(e.g. {examples(offenders)})"
        )


def _require_labels(data: LeadData) -> None:
    if data.flat:
        labels = data.leads[schema.CONVERTED].dropna()
        if labels.nunique() < 2:
            raise DataError(
                f"{schema.LEADS}.{schema.CONVERTED}: training needs both converted and "
                f"unconverted leads (values found: {examples(sorted(labels.unique()))})"
            )
        return
    if data.outcomes[schema.CONVERTED_AT].notna().sum() == 0:
        raise DataError(
            f"{schema.OUTCOMES}.{schema.CONVERTED_AT}: no lead has a conversion time, so there is "
            "nothing to learn from or to measure scores against (the outcomes table is missing "
            "or holds no converted_at values)"
        )
