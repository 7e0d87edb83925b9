"""What validation found: per-expectation results, per-table reports, and the run's report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from predictive_scoring.errors import DataError, TooManyBadRowsError, examples

__all__ = [
    "CheckResult",
    "TableReport",
    "ValidationReport",
    "too_many_bad_rows",
]


@dataclass
class CheckResult:
    """The summary of one expectation's result (never the raw values of a PII column)."""

    expectation: str
    column: str
    success: bool
    unexpected: int
    examples: list[str]

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-able values."""
        return {
            "expectation": self.expectation,
            "column": self.column,
            "success": self.success,
            "unexpected_count": self.unexpected,
            "examples": self.examples,
        }


@dataclass
class TableReport:
    """What validation found in one table."""

    table: str
    rows: int
    quarantined: int = 0
    inherited: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    quarantine_path: str | None = None

    @property
    def bad_share(self) -> float:
        """Share of rows with a defect of their own (rows of a set-aside lead do not count)."""
        return (self.quarantined - self.inherited) / self.rows if self.rows else 0.0

    def describe(self, reason: str) -> str:
        """``reason`` with a few offending values, e.g. ``negative company_size (e.g. '-5')``."""
        shown = self.examples.get(reason)
        return f"{reason} (e.g. {examples(shown)})" if shown else reason

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able values, with the accepted count and each check."""
        return {
            "table": self.table,
            "rows": self.rows,
            "accepted": self.rows - self.quarantined,
            "quarantined": self.quarantined,
            "of_quarantined_leads": self.inherited,
            "bad_share": round(self.bad_share, 6),
            "reasons": self.reasons,
            "examples": self.examples,
            "quarantine_path": self.quarantine_path,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass
class ValidationReport:
    """Validation results for a source: a JSON-able document other steps attach to MLflow."""

    source: str
    flat: bool
    tables: dict[str, TableReport]
    max_bad_row_share: float

    @property
    def quarantined(self) -> int:
        """Rows set aside over all tables."""
        return sum(t.quarantined for t in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        """The document attached to MLflow as ``validation.json``."""
        return {
            "source": self.source,
            "mode": "flat" if self.flat else "timed",
            "max_bad_row_share": self.max_bad_row_share,
            "quarantined": self.quarantined,
            "tables": {name: t.to_dict() for name, t in self.tables.items()},
        }

    def render(self) -> str:
        """A short human-readable summary."""
        mode = "flat CRM export" if self.flat else "leads with timestamps"
        lines = [f"Validated {self.source} ({mode})"]
        for t in self.tables.values():
            lines.append(
                f"  {t.table:<9} {t.rows:>10,} rows  {t.rows - t.quarantined:>10,} accepted  "
                f"{t.quarantined:>8,} quarantined ({t.bad_share:.1%})"
            )
            lines.extend(f"      {n:>8,}  {t.describe(reason)}" for reason, n in t.reasons.items())
            if t.quarantine_path:
                lines.append(f"      bad rows with reasons: {t.quarantine_path}")
        return "\n".join(lines)


def too_many_bad_rows(report: ValidationReport) -> DataError | None:
    """The error to raise when a table's share of bad rows is above the limit, else ``None``."""
    over = [t for t in report.tables.values() if t.bad_share > report.max_bad_row_share]
    if not over:
        return None
    return TooManyBadRowsError("\n".join(_over_limit(t, report.max_bad_row_share) for t in over))


def _over_limit(t: TableReport, limit: float) -> str:
    """The line of the error that names ``t``, its share of bad rows and their reasons."""
    reasons = ", ".join(f"{n:,} {t.describe(r)}" for r, n in t.reasons.items())
    where = f"; see {t.quarantine_path}" if t.quarantine_path else ""
    return (
        f"{t.table}: {t.quarantined - t.inherited:,} of {t.rows:,} rows "
        f"({t.bad_share:.1%}) are bad, above the {limit:.1%} limit "
        "(validation.max_bad_row_share): "
        f"{reasons}{where}"
    )
