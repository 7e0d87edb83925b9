"""A synthetic B2B lead funnel whose conversion probability is exactly computable.

The generator simulates a daily grid: day ``d`` is ``[midnight_d, midnight_{d+1})`` UTC, counted
from ``FunnelParams.start``.  Everything that drives day ``d`` (the conversion hazard, the
closed-lost hazard and the event rates) is a function of what is *observable* strictly before
``midnight_d``: the lead's row in ``leads`` (its canonical job title, company size, email domain,
...) and its events before that midnight.  No lead carries a hidden variable, so
:meth:`SyntheticFunnel.true_probability` rebuilds every open lead's state from the three tables
alone and runs the *same* daily step forward by Monte Carlo.

It has the habits of real funnels, each a ``FunnelParams`` knob with an "off" value: leads go
stale after half a year (conversion all but stops; age is read from ``created_at``), the lead
mix drifts (``content_syndication`` grows from 3 % to 35 % of new leads, ``marketplace`` appears
in the last 30 % of the history, each with its own conversion effect), activity comes in bursts
(self-excitation), and leads are closed lost.  ``generate_funnel(..., messy=True)`` exposes the
tables as a CRM exports them (duplicates, orphans, unreadable timestamps, stray spellings) over
the same clean funnel.

The modules, in the order the data flows:

* ``vocabulary``: column names, event types, attribute vocabularies and their effects;
* ``params``: :class:`FunnelParams`, every knob and its default;
* ``dynamics``: the knobs compiled into arrays; ``process``: the daily step (what one day does);
* ``leads``: the leads table; ``history``: the daily step over the history, events and outcomes;
* ``observe``: the tables read back as the process sees them; ``truth``: replay and Monte Carlo;
* ``funnel``: :func:`generate_funnel` and :class:`SyntheticFunnel`; ``messy``: messy exports;
* ``arrays`` and ``clock``: array types and simulated time, shared by all of them.
"""

from __future__ import annotations

from predictive_scoring.data.synthetic.dynamics import _Dynamics as _Dynamics
from predictive_scoring.data.synthetic.funnel import SyntheticFunnel, generate_funnel
from predictive_scoring.data.synthetic.history import _simulate_history as _simulate_history
from predictive_scoring.data.synthetic.leads import _draw_leads as _draw_leads
from predictive_scoring.data.synthetic.observe import _profile as _profile
from predictive_scoring.data.synthetic.observe import canonical_job_title
from predictive_scoring.data.synthetic.params import FunnelParams
from predictive_scoring.data.synthetic.truth import _population_at as _population_at
from predictive_scoring.data.synthetic.vocabulary import _TITLES as _TITLES
from predictive_scoring.data.synthetic.vocabulary import (
    ANNUAL_REVENUE,
    COMPANY,
    COMPANY_SIZE,
    COUNTRY,
    EMAIL,
    EVENT_TYPES,
    FIRST_NAME,
    GROWING_SOURCE,
    INDUSTRY,
    JOB_TITLE,
    LAST_NAME,
    LEAD_SOURCE,
    NEW_SOURCE,
    PHONE,
    STATUS_WON,
)

# The ``_name as _name`` imports above are internals the tests check the generator against (one
# role per spelling, a replayed state equal to the simulated one); they are not part of the API.
__all__ = [
    "ANNUAL_REVENUE",
    "COMPANY",
    "COMPANY_SIZE",
    "COUNTRY",
    "EMAIL",
    "EVENT_TYPES",
    "FIRST_NAME",
    "GROWING_SOURCE",
    "INDUSTRY",
    "JOB_TITLE",
    "LAST_NAME",
    "LEAD_SOURCE",
    "NEW_SOURCE",
    "PHONE",
    "STATUS_WON",
    "FunnelParams",
    "SyntheticFunnel",
    "canonical_job_title",
    "generate_funnel",
]
