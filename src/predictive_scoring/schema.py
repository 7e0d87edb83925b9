"""Table contracts and column names: the one place they are spelled.

Every other module imports the names from here; no string literal for a contract column appears
elsewhere.  See CONTRACT.md sections 1 and 4.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AS_OF",
    "CHANGE_COLUMNS",
    "CLOSED_AT",
    "CONTRACTS",
    "CONVERTED",
    "CONVERTED_AT",
    "CREATED_AT",
    "DEFAULT_SCORES_TABLE",
    "EMAIL",
    "EMAIL_DOMAIN_TYPE",
    "ENTRY",
    "EVENTS",
    "EVENTS_CONTRACT",
    "EVENT_TYPE",
    "FIT_SCORE",
    "FLAT_LEADS_CONTRACT",
    "FLAT_UNLABELLED_CONTRACT",
    "HOT",
    "INTENT_SCORE",
    "IS_MQL",
    "LABEL",
    "LEADS",
    "LEADS_CONTRACT",
    "LEAD_ID",
    "MODEL_VERSION",
    "NEWLY_HOT",
    "NOT_ATTRIBUTES",
    "OCCURRED_AT",
    "OUTCOMES",
    "OUTCOMES_CONTRACT",
    "POINTS",
    "PREVIOUS_SCORE",
    "PROBABILITY",
    "QUARANTINE_REASON",
    "QUARANTINE_ROW",
    "REASONS",
    "REFERENCE_WEIGHT",
    "SCORE",
    "SCORE_CHANGE",
    "SCORE_COLUMNS",
    "SEGMENT",
    "SNAPSHOT_AT",
    "STATUS",
    "STATUS_LOST",
    "TABLES",
    "TIER",
    "TIERS",
    "TREND",
    "TREND_DOWN",
    "TREND_NEW",
    "TREND_STEADY",
    "TREND_UP",
    "TableContract",
]

# ---- table names -------------------------------------------------------------------------------
LEADS = "leads"
EVENTS = "events"
OUTCOMES = "outcomes"
TABLES: tuple[str, ...] = (LEADS, EVENTS, OUTCOMES)

# ---- input columns -----------------------------------------------------------------------------
LEAD_ID = "lead_id"
CREATED_AT = "created_at"
OCCURRED_AT = "occurred_at"
EVENT_TYPE = "event_type"
CONVERTED_AT = "converted_at"
STATUS = "status"
CLOSED_AT = "closed_at"
CONVERTED = "converted"
"""Flat-mode label column on ``leads``."""

STATUS_LOST = "lost"
"""Outcome status meaning the lead was disqualified at ``closed_at``."""

# ---- derived columns ---------------------------------------------------------------------------
EMAIL = "email"
"""The PII column an ``email_domain_type`` may be derived from before it is dropped."""
EMAIL_DOMAIN_TYPE = "email_domain_type"
"""Derived from a lead's email (free vs corporate) before the email is dropped."""
SNAPSHOT_AT = "snapshot_at"
LABEL = "label"
REFERENCE_WEIGHT = "reference_weight"
"""How many open-lead rows a training row stands for in the score reference (1 / its keep
probability after thinning; 0 for entry snapshots).  A weight for drawing the reference, not for
fitting."""
ENTRY = "entry_snapshot"
"""True for a lead's entry snapshot (its first daily tick), False for a snapshot-grid row."""

# ---- output columns (CONTRACT section 4) ---------------------------------------------------------
AS_OF = "as_of"
PROBABILITY = "probability"
SCORE = "score"
FIT_SCORE = "fit_score"
INTENT_SCORE = "intent_score"
TIER = "tier"
IS_MQL = "is_mql"
REASONS = "reasons"
MODEL_VERSION = "model_version"
SEGMENT = "segment"
"""The segment whose model scored the row (CONTRACT section 6); empty for the global model."""
NOT_ATTRIBUTES: tuple[str, ...] = (LEAD_ID, CREATED_AT, CONVERTED)
"""Leads columns that say nothing about who the lead is (identity, time, a flat export's label):
never a segment's attribute, never a rules file's."""
POINTS = "points"
"""A rules file's raw points total (CONTRACT section 7): a column of ``score --rules`` rows only."""
SCORE_COLUMNS: tuple[str, ...] = (
    LEAD_ID,
    AS_OF,
    PROBABILITY,
    SCORE,
    FIT_SCORE,
    INTENT_SCORE,
    TIER,
    IS_MQL,
    REASONS,
    MODEL_VERSION,
    SEGMENT,
)
TIERS: tuple[str, ...] = ("hot", "warm", "cold")
HOT = TIERS[0]
DEFAULT_SCORES_TABLE = "lead_scores"

PREVIOUS_SCORE = "previous_score"
SCORE_CHANGE = "score_change"
TREND = "trend"
NEWLY_HOT = "newly_hot"
CHANGE_COLUMNS: tuple[str, ...] = (PREVIOUS_SCORE, SCORE_CHANGE, TREND, NEWLY_HOT)
"""What changed since the previous as-of of the same model (CONTRACT section 8): columns of a
run whose destination holds earlier as-ofs."""
TREND_NEW = "new"
TREND_UP = "up"
TREND_DOWN = "down"
TREND_STEADY = "steady"

# ---- quarantine ----------------------------------------------------------------------------------
QUARANTINE_ROW = "row_number"
QUARANTINE_REASON = "reason"


@dataclass(frozen=True)
class TableContract:
    """What a source table must and may hold."""

    name: str
    required: tuple[str, ...]
    timestamps: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def known(self) -> tuple[str, ...]:
        """Columns the contract names (required first, then optional)."""
        return self.required + self.optional


LEADS_CONTRACT = TableContract(LEADS, required=(LEAD_ID, CREATED_AT), timestamps=(CREATED_AT,))
FLAT_LEADS_CONTRACT = TableContract(LEADS, required=(LEAD_ID, CONVERTED), timestamps=())
FLAT_UNLABELLED_CONTRACT = TableContract(
    LEADS, required=(LEAD_ID,), timestamps=(), optional=(CONVERTED,)
)
"""A flat export to score: its leads need no label (a ``converted`` column is ignored)."""
EVENTS_CONTRACT = TableContract(
    EVENTS, required=(LEAD_ID, OCCURRED_AT, EVENT_TYPE), timestamps=(OCCURRED_AT,)
)
OUTCOMES_CONTRACT = TableContract(
    OUTCOMES,
    required=(LEAD_ID,),
    timestamps=(CONVERTED_AT, CLOSED_AT),
    optional=(CONVERTED_AT, STATUS, CLOSED_AT),
)
CONTRACTS: dict[str, TableContract] = {
    LEADS: LEADS_CONTRACT,
    EVENTS: EVENTS_CONTRACT,
    OUTCOMES: OUTCOMES_CONTRACT,
}
