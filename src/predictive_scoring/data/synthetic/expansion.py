"""Expansion after conversion: customers who later buy more (``upgrade`` events), for targets.

A won lead is a customer from its conversion on; each later day it upgrades with probability
``sigmoid(expansion_logit + expansion_fit_effect * fit)``, where ``fit`` is its fit log-odds (the
same attributes that made it convert make it grow).  Drawn from a stream of its own after the
funnel, so a funnel without expansion (``expansion_logit=None``, the default) is drawn as
before, and the conversion process, and so its truth, never sees these events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.data.synthetic.arrays import _sigmoid
from predictive_scoring.data.synthetic.params import FunnelParams
from predictive_scoring.data.synthetic.process import _Profile
from predictive_scoring.data.synthetic.vocabulary import UPGRADE
from predictive_scoring.timeline import DAY_US, to_micros

__all__: list[str] = []


def _with_expansions(
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    leads: pd.DataFrame,
    profile: _Profile,
    params: FunnelParams,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """``events`` with every customer's ``upgrade`` events, ordered by ``occurred_at``."""
    if params.expansion_logit is None:
        return events
    won = outcomes[outcomes[schema.CONVERTED_AT].notna()]
    position = pd.Index(leads[schema.LEAD_ID]).get_indexer(pd.Index(won[schema.LEAD_ID]))
    end_us = to_micros(pd.Series([params.start_timestamp])).item() + params.history_days * DAY_US
    converted_us = to_micros(won[schema.CONVERTED_AT])
    days = np.maximum(0, (end_us - converted_us) // DAY_US)
    daily = _sigmoid(
        params.expansion_logit + params.expansion_fit_effect * profile.fit_conversion[position]
    )
    counts = rng.binomial(days, np.asarray(daily, dtype=float))
    lead = np.repeat(np.arange(len(won)), counts)
    at = converted_us[lead] + (rng.random(lead.size) * (end_us - converted_us[lead])).astype(
        np.int64
    )
    upgrades = pd.DataFrame(
        {
            schema.LEAD_ID: won[schema.LEAD_ID].to_numpy()[lead],
            schema.OCCURRED_AT: pd.to_datetime(at, unit="us", utc=True),
            schema.EVENT_TYPE: UPGRADE,
        }
    )
    merged = pd.concat([events, upgrades.astype({schema.LEAD_ID: events[schema.LEAD_ID].dtype})])
    merged[schema.EVENT_TYPE] = merged[schema.EVENT_TYPE].astype(events[schema.EVENT_TYPE].dtype)
    return merged.sort_values(schema.OCCURRED_AT, kind="stable").reset_index(drop=True)
