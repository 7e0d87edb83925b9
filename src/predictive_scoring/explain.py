"""Why a lead scored as it did: exact contributions, fit/intent split, reasons in plain words.

Contributions are in log-odds.  For the served LightGBM booster they are exact TreeSHAP values
(``pred_contrib``): base + contributions = the booster's raw score, and calibration is a monotone
map on top, so the order and sign of reasons are the served model's.  The booster is trained with
``interaction_constraints=[fit, intent]``, so each tree uses fit features only or intent features
only; the sum of the fit contributions depends on fit attributes alone and the intent sum on
behaviour alone.  For additive models (the points scorecard, the logistic regression) the
contribution of a feature is the change in the model's score when that feature is set to a
reference row's value, which is exact for additive models.

Contributions of features derived from one field (``decayed_demo_request_3d``,
``count_demo_request_30d``, ``days_since_demo_request`` → ``demo_request``; a size and its band →
``company_size``) are summed into that field, the thing a person recognises; the text is written
from the features' metadata, never parsed from column names.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from predictive_scoring.features import fit, intent
from predictive_scoring.features.spec import FIT, FeatureInfo, FeatureSpec

__all__ = [
    "EVENT_PHRASES",
    "SENIORITY_PHRASES",
    "describe",
    "group_sums",
    "humanise",
    "importance_by_field",
    "importance_figure",
    "reasons",
    "served_importance",
]

EVENT_PHRASES: dict[str, tuple[str, str]] = {
    "demo_request": ("Requested a demo", "Has not requested a demo"),
    "pricing_page_view": ("Viewed pricing", "Has not viewed pricing"),
    "page_view": ("Visited the site", "Has not visited the site"),
    "email_open": ("Opened an email", "Has not opened an email"),
    "email_click": ("Clicked an email", "Has not clicked an email"),
    "whitepaper_download": ("Downloaded a whitepaper", "Has not downloaded a whitepaper"),
    "webinar_attended": ("Attended a webinar", "Has not attended a webinar"),
    "contact_page_view": ("Viewed the contact page", "Has not viewed the contact page"),
    "free_trial_signup": ("Signed up for a free trial", "Has not signed up for a free trial"),
    "unsubscribe": ("Unsubscribed", "Has not unsubscribed"),
}
SENIORITY_PHRASES = {
    "c_level": "C-level title",
    "vp": "VP-level title",
    "director": "Director-level title",
    "manager": "Manager-level title",
    "individual": "Individual-contributor title",
    "intern": "Intern or student title",
}


def humanise(name: str) -> str:
    """``company_size`` → ``Company size``."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


# ---- contributions -----------------------------------------------------------------------------


def group_sums(
    contributions: np.ndarray, spec: FeatureSpec, columns: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the fit contributions and of the intent contributions per row."""
    is_fit = np.array([spec.info(c).group == FIT for c in columns])
    return contributions[:, is_fit].sum(axis=1), contributions[:, ~is_fit].sum(axis=1)


# ---- reasons -----------------------------------------------------------------------------------


def reasons(
    contributions: np.ndarray,
    X: pd.DataFrame,
    spec: FeatureSpec,
    top_k: int,
    best_values: dict[str, str] | None = None,
) -> list[str]:
    """The top ``top_k`` fields by absolute impact, both signs, as JSON text per row.

    Vectorised: a field's words depend on a few of its features only (whole days, counts, a
    category), so :func:`describe` runs once per distinct combination of those values among the
    rows that show the field, and the JSON is assembled column-wise.  The text is exactly what
    :func:`describe` gives row by row.
    """
    infos = [spec.info(c) for c in X.columns]
    fields = sorted({i.field for i in infos})
    n, k = len(X), min(top_k, len(fields))
    if n == 0 or k == 0:
        return ["[]"] * n
    index = {f: j for j, f in enumerate(fields)}
    per_field = np.zeros((n, len(fields)))
    for j, info in enumerate(infos):
        per_field[:, index[info.field]] += contributions[:, j]
    order = np.argsort(-np.abs(per_field), axis=1, kind="stable")[:, :k]
    impact = np.take_along_axis(per_field, order, axis=1)
    shown = impact != 0  # zero impacts sort last, so the shown reasons are a prefix of each row
    before = np.empty((n, k), dtype=object)
    after = np.empty((n, k), dtype=object)
    for j, field in enumerate(fields):
        rows, ranks = np.nonzero((order == j) & shown)
        if len(rows):
            field_infos = [i for i in infos if i.field == field]
            head, tail = _fragments(field, field_infos, X, rows, best_values or {})
            before[rows, ranks] = head
            after[rows, ranks] = tail
    numbers = np.round(impact, 4).astype(str).astype(object)
    text = np.full(n, "[", dtype=object)
    for rank in range(k):
        on = shown[:, rank]
        if not on.any():
            break
        item = before[on, rank] + numbers[on, rank] + after[on, rank]
        text[on] = text[on] + (item if rank == 0 else ", " + item)
    return list(text + "]")


# The features a field's words read, and how finely: days in whole days (as the words say them),
# everything else as it is; decayed counts and the log total are never read.
_UNREAD_STATS = frozenset({"decayed", "total"})
_WHOLE_DAYS = frozenset({"days_since", "first_touch", "inactive", "lead_age"})


def _fragments(
    field: str,
    infos: list[FeatureInfo],
    X: pd.DataFrame,
    rows: np.ndarray,
    best: dict[str, str],
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's JSON before and after its impact, for one field, via distinct values."""
    read = [i for i in infos if i.stat not in _UNREAD_STATS]
    keys: dict[str, Any] = {}
    raw: dict[str, np.ndarray] = {}
    for info in read:
        values = X[info.name].iloc[rows]
        if info.kind == "numeric":
            numbers = values.to_numpy(dtype=float, na_value=np.nan)
            raw[info.name] = numbers
            if info.group != FIT and info.stat in _WHOLE_DAYS:
                numbers = np.round(numbers)  # round half to even, as Python's round()
            keys[info.name] = numbers
        else:
            raw[info.name] = values.to_numpy(dtype=object)
            keys[info.name] = raw[info.name]
    frame = pd.DataFrame(keys)
    codes: np.ndarray = np.zeros(len(rows), dtype=np.int64)
    firsts: np.ndarray = np.zeros(1, dtype=np.int64)
    if frame.shape[1]:
        codes = frame.groupby(list(frame.columns), dropna=False, sort=False).ngroup().to_numpy()
        _, firsts = np.unique(codes, return_index=True)
    heads, tails = [], []
    label = json.dumps(field, ensure_ascii=False)
    for first in firsts:
        read_values = {name: _plain(column[first]) for name, column in raw.items()}
        words, value = describe(field, infos, read_values, best)
        heads.append(
            '{"feature": '
            + label
            + ', "value": '
            + json.dumps(value, ensure_ascii=False)
            + ', "impact": '
        )
        tails.append(', "text": ' + json.dumps(words, ensure_ascii=False) + "}")
    return np.asarray(heads, dtype=object)[codes], np.asarray(tails, dtype=object)[codes]


def _plain(value: Any) -> Any:
    """A feature value as :func:`describe` reads it: Python scalars, NaN for missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    return value


def describe(
    field: str, infos: list[FeatureInfo], values: Any, best: dict[str, str]
) -> tuple[str, Any]:
    """Plain words for one field of one lead, and the value shown beside them."""
    if infos[0].group == FIT:
        return _describe_fit(field, infos, values, best)
    return _describe_intent(field, infos, values)


def _value(values: Any, name: str) -> Any:
    value = values.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _describe_fit(
    field: str, infos: list[FeatureInfo], values: Any, best: dict[str, str]
) -> tuple[str, Any]:
    stats = {i.stat: i.name for i in infos}
    label = humanise(field)
    if "seniority" in stats:
        seniority = str(_value(values, stats["seniority"]) or fit.MISSING)
        title = _value(values, stats.get("title", "")) or seniority
        phrase = SENIORITY_PHRASES.get(
            seniority, f"{label} unknown" if seniority == fit.MISSING else label
        )
        return phrase, str(title)
    name = stats.get("band") or stats.get("value") or infos[0].name
    value = _value(values, name)
    if value is None or value == fit.MISSING:
        return f"{label} unknown", None
    if value == fit.OTHER:
        return f"{label}: an uncommon value", str(value)
    if field == "email_domain_type":
        return f"{humanise(str(value))} email domain", str(value)
    suffix = " (best-converting band)" if "band" in stats and best.get(name) == str(value) else ""
    shown = value if isinstance(value, str) else _number(value)
    return f"{label} {shown}{suffix}" if "band" in stats else f"{label}: {shown}", value


def _describe_intent(field: str, infos: list[FeatureInfo], values: Any) -> tuple[str, Any]:
    stats = {(i.stat, i.days): i.name for i in infos}
    if field == intent.INACTIVITY:
        days = round(_value(values, intent.INACTIVE_DAYS) or 0)  # whole days, as the words say
        return (
            f"No activity for {days:,} days beyond the usual gap" if days else "Recently active"
        ), days
    if field == intent.LEAD_AGE:
        days = _value(values, intent.LEAD_AGE_DAYS) or 0
        return f"Lead created {round(days):,} days ago", round(days)
    if field == intent.FIRST_TOUCH:
        days = _value(values, intent.DAYS_SINCE_FIRST_EVENT)
        return (
            "First touch " + (f"{round(days):,} days ago" if days is not None else "not yet")
        ), (round(days) if days is not None else None)
    if field == intent.TREND:
        trend = _value(values, intent.TREND_FEATURE) or 0
        word = "rising" if trend > 0 else "falling" if trend < 0 else "steady"
        return f"Activity {word} over the last week", round(float(trend), 2)
    done, never = EVENT_PHRASES.get(field, (f"{humanise(field)}", f"No {humanise(field).lower()}"))
    since = _value(values, stats.get(("days_since", None), ""))
    if since is None:
        return (never if field != intent.ACTIVITY else "No activity yet"), 0
    counts = sorted(
        (days, name) for (stat, days), name in stats.items() if stat == "count" and days
    )
    window, name = (
        next(((d, n) for d, n in counts if d >= 30), counts[-1]) if counts else (None, "")
    )
    count = _value(values, name) or 0
    if field == intent.ACTIVITY:
        return (
            f"{int(count)} interactions in the last {int(window or 0)} days, the last {_days(since)}",
            int(count),
        )
    if count >= 2:
        return f"{done} {int(count)} times in the last {int(window or 0)} days", int(count)
    return f"{done} {_days(since)}", int(count)


def _days(days: float) -> str:
    whole = round(days)
    return "today" if whole == 0 else "1 day ago" if whole == 1 else f"{whole:,} days ago"


def _number(value: Any) -> str:
    number = float(value)
    return f"{number:,.0f}" if number.is_integer() else f"{number:,.2f}"


def importance_by_field(
    contributions: np.ndarray, spec: FeatureSpec, columns: list[str]
) -> pd.DataFrame:
    """Mean absolute contribution per field, with its group, largest first (global importance)."""
    infos = [spec.info(c) for c in columns]
    frame = pd.DataFrame(np.abs(contributions), columns=[i.field for i in infos])
    importance = frame.T.groupby(level=0).sum().T.mean()
    groups = {i.field: i.group for i in infos}
    table = pd.DataFrame({"field": importance.index, "mean_abs_impact": importance.to_numpy()})
    table["group"] = table["field"].map(groups)
    return table.sort_values("mean_abs_impact", ascending=False, kind="stable").reset_index(
        drop=True
    )


def served_importance(served: Any, X: pd.DataFrame) -> pd.DataFrame | None:
    """:func:`importance_by_field` of a served model on the rows ``X`` (``None`` without rows)."""
    if not len(X):
        return None
    contributions, _ = served.contributions(X)
    return importance_by_field(contributions, served.spec, served.feature_names)


def importance_figure(table: pd.DataFrame, top: int = 20) -> object:
    """A horizontal bar chart of :func:`importance_by_field`, fit and intent in two colours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = table.head(top).iloc[::-1]
    colours = ["#2b6cb0" if g == FIT else "#dd6b20" for g in shown["group"]]
    fig, ax = plt.subplots(figsize=(7, max(3, 0.32 * len(shown))))
    ax.barh([humanise(f) for f in shown["field"]], shown["mean_abs_impact"], color=colours)
    ax.set(
        xlabel="mean |SHAP| (log-odds)", title="What drives the score (blue: fit, orange: intent)"
    )
    fig.tight_layout()
    return fig
