"""The two shapes lead data takes: as read from a source, and validated and typed."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from predictive_scoring import schema

__all__ = [
    "LeadData",
    "RawTables",
    "parse_instant",
    "parse_timestamps",
]


@dataclass(frozen=True)
class RawTables:
    """Tables as read: contract column names normalised, values untouched.

    ``origin`` describes the source for messages, with any password hidden.
    """

    leads: pd.DataFrame
    events: pd.DataFrame | None
    outcomes: pd.DataFrame | None
    origin: str

    @property
    def flat(self) -> bool:
        """A flat CRM export: no ``created_at`` on leads and no events or outcomes tables."""
        return (
            schema.CREATED_AT not in self.leads.columns
            and self.events is None
            and self.outcomes is None
        )

    def table(self, name: str) -> pd.DataFrame | None:
        """Return the table called ``name`` (``None`` when the source has none)."""
        found: pd.DataFrame | None = getattr(self, name)
        return found


@dataclass(frozen=True)
class LeadData:
    """Validated tables: typed, PII removed, bad rows set aside.

    ``leads`` holds ``lead_id`` (str), ``created_at`` (UTC, absent in flat mode), the fit attributes
    and, in flat mode, the 0/1 label. ``events`` holds ``lead_id``, ``occurred_at``, ``event_type``;
    ``outcomes`` one row per lead with ``converted_at`` and ``closed_at`` (lost leads only).  Both
    are empty frames when the source has none.  ``display`` holds ``lead_id`` and the columns
    reports show beside it (``reports.display_columns``, never PII, never features).
    """

    leads: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    flat: bool
    display: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({schema.LEAD_ID: []}))

    @property
    def fit_columns(self) -> list[str]:
        """The fit attributes: every lead column but the contract's own."""
        return [c for c in self.leads.columns if c not in schema.NOT_ATTRIBUTES]

    def event_type_names(self) -> set[str]:
        """The event types the events hold (each distinct value once, not each row)."""
        if schema.EVENT_TYPE not in self.events or self.events.empty:
            return set()
        return {str(t) for t in self.events[schema.EVENT_TYPE].dropna().unique()}

    def latest_timestamp(self) -> pd.Timestamp | None:
        """The latest timestamp present in any table: the default ``--as-of``."""
        stamps = [
            self.leads.get(schema.CREATED_AT),
            self.events.get(schema.OCCURRED_AT),
            self.outcomes.get(schema.CONVERTED_AT),
            self.outcomes.get(schema.CLOSED_AT),
        ]
        maxima = [s.max() for s in stamps if s is not None and s.notna().any()]
        return max(maxima) if maxima else None


def parse_timestamps(values: pd.Series) -> pd.Series:
    """Parse ISO 8601 values to UTC; a value without zone is UTC, unparseable ones become NaT."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        converted: pd.Series = values.dt.tz_convert("UTC")
        return converted
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        localized: pd.Series = values.dt.tz_localize("UTC")
        return localized
    text = values.astype("string").str.strip()
    return pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")


def parse_instant(value: str | pd.Timestamp) -> pd.Timestamp:
    """Parse one instant (e.g. ``--as-of``) the way table timestamps are parsed.

    Raises
    ------
    ValueError
        When ``value`` is not an ISO 8601 timestamp.
    """
    parsed = parse_timestamps(pd.Series([value]))[0]
    if pd.isna(parsed):
        raise ValueError(f"not an ISO 8601 timestamp: {value!r}")
    return pd.Timestamp(parsed)
