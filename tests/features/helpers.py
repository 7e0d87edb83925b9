"""Build ``LeadData`` directly from small lists, for hand-computed examples and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import load_config
from predictive_scoring.data.tables import LeadData

UTC = "UTC"
THREADS = 2
"""Threads features are computed with in tests, as the default config's ``models.num_threads``."""


def small_history() -> LeadData:
    """Five leads with every kind of ending: won, lost, open, created later, converting at T."""
    return lead_data(
        leads=[
            ("won", "2024-01-01"),
            ("lost", "2024-01-01"),
            ("open", "2024-01-01"),
            ("late", "2024-03-01"),
            ("edge", "2024-01-01"),
        ],
        outcomes=[
            ("won", "2024-02-10", None),
            ("lost", None, "2024-01-20"),
            ("edge", "2024-03-01", None),
        ],
    )


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


def lead_data(
    leads: list[tuple[str, str]],
    events: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    outcomes: list[tuple[str, str | None, str | None]] = (),  # type: ignore[assignment]
    attributes: dict[str, list[object]] | None = None,
) -> LeadData:
    """``leads`` as (id, created_at), ``events`` as (id, occurred_at, type), ``outcomes`` as
    (id, converted_at, closed_at)."""
    lead_frame = pd.DataFrame(
        {
            schema.LEAD_ID: pd.Series([lid for lid, _ in leads], dtype="string"),
            schema.CREATED_AT: pd.to_datetime([c for _, c in leads], utc=True, format="ISO8601"),
            **(attributes or {}),
        }
    )
    event_frame = pd.DataFrame(
        {
            schema.LEAD_ID: pd.Series([e[0] for e in events], dtype="string"),
            schema.OCCURRED_AT: pd.to_datetime([e[1] for e in events], utc=True, format="ISO8601"),
            schema.EVENT_TYPE: pd.Series([e[2] for e in events], dtype="string"),
        }
    )
    outcome_frame = pd.DataFrame(
        {
            schema.LEAD_ID: pd.Series([o[0] for o in outcomes], dtype="string"),
            schema.CONVERTED_AT: pd.to_datetime(
                [o[1] for o in outcomes], utc=True, format="ISO8601"
            ),
            schema.CLOSED_AT: pd.to_datetime([o[2] for o in outcomes], utc=True, format="ISO8601"),
        }
    )
    return LeadData(lead_frame, event_frame, outcome_frame, flat=False)


def random_lead_data(seed: int, n_leads: int = 30, n_events: int = 200) -> LeadData:
    """Random but valid history over the first half of 2024."""
    rng = np.random.default_rng(seed)
    start = ts("2024-01-01")
    ids = [f"L{i}" for i in range(n_leads)]
    created = start + pd.to_timedelta(rng.integers(0, 150 * 24, n_leads), unit="h")
    owners = rng.integers(0, n_leads, n_events)
    occurred = created[owners] + pd.to_timedelta(rng.integers(-48, 120 * 24, n_events), unit="h")
    kinds = rng.choice(["page_view", "pricing_page_view", "demo_request", "unsubscribe"], n_events)
    converters = rng.choice(n_leads, n_leads // 3, replace=False)
    losers = [i for i in rng.choice(n_leads, n_leads // 5, replace=False) if i not in converters]
    outcomes = [
        (ids[i], str(created[i] + pd.Timedelta(hours=int(rng.integers(1, 90 * 24)))), None)
        for i in converters
    ] + [
        (ids[i], None, str(created[i] + pd.Timedelta(hours=int(rng.integers(1, 90 * 24)))))
        for i in losers
    ]
    return lead_data(
        list(zip(ids, created.astype(str), strict=True)),
        list(zip(np.array(ids)[owners], occurred.astype(str), kinds, strict=True)),
        outcomes,
        attributes={
            "industry": list(rng.choice(["a", "b", "c"], n_leads)),
            "company_size": list(rng.integers(1, 900, n_leads).astype(float)),
        },
    )


def truncated(data: LeadData, at: pd.Timestamp) -> LeadData:
    """The history a user would have had at ``at``: later rows simply do not exist yet."""
    outcomes = data.outcomes
    happened = (outcomes[schema.CONVERTED_AT] < at).fillna(False) | (
        outcomes[schema.CLOSED_AT] < at
    ).fillna(False)
    return LeadData(
        data.leads[data.leads[schema.CREATED_AT] < at].reset_index(drop=True),
        data.events[data.events[schema.OCCURRED_AT] < at].reset_index(drop=True),
        outcomes[happened].reset_index(drop=True),
        flat=False,
    )


def features_config(**overrides: object) -> object:
    config = load_config().with_overrides(
        {f"features.{k}": v for k, v in {"rare_category_min_count": 1, **overrides}.items()}
    )
    return config.features
