"""The feature spec: resolved definitions that travel with the model, and the one builder.

:func:`learn_feature_spec` reads the history visible at training time (event types, category
vocabularies, title column, bands) and freezes it; :func:`build_features` computes exactly those
features for any rows ``(lead_id, snapshot_at)``, at training and at scoring alike.  The spec is
saved as JSON beside the model, so scoring never re-learns anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from predictive_scoring import schema
from predictive_scoring.config import FeaturesConfig
from predictive_scoring.data.arrow import arrow_text
from predictive_scoring.data.tables import LeadData
from predictive_scoring.errors import examples
from predictive_scoring.features import fit
from predictive_scoring.features.intent import (
    IntentColumn,
    assemble_intent,
    compute_intent,
    cube_from_wide,
    intent_columns,
    statistics_of,
)
from predictive_scoring.timeline import DAY_US, to_micros

__all__ = [
    "FIT",
    "INTENT",
    "FeatureInfo",
    "FeatureSpec",
    "IntentBuilder",
    "build_features",
    "event_keys",
    "features_from_wide",
    "fit_features",
    "intent_from_wide",
    "intent_statistics",
    "learn_feature_spec",
    "model_matrix",
    "unseen_event_types",
    "unusable_fields",
]

FIT: Final = "fit"
INTENT: Final = "intent"


@dataclass(frozen=True)
class FeatureInfo:
    """What a feature is, for people and for explanations.

    ``field`` is what a person recognises (``company_size``, ``pricing_page_view``, ``any``);
    ``stat`` what is measured (``value``, ``band``, ``decayed``, ``count``, ``days_since``, ...);
    ``days`` the half-life or window; ``heat`` +1 when more means hotter, -1 colder, 0 neither.
    """

    name: str
    group: Literal["fit", "intent"]
    kind: Literal["numeric", "categorical"]
    field: str
    stat: str
    days: float | None = None
    heat: int = 0
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeatureSpec:
    """Every resolved feature definition; JSON round-trips through ``to_dict``/``from_dict``."""

    flat: bool
    event_types: tuple[str, ...]
    half_lives_days: tuple[float, ...]
    windows_days: tuple[int, ...]
    inactivity_days: int
    title_column: str | None
    bands: dict[str, tuple[float, ...]]
    features: tuple[FeatureInfo, ...]
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def group(self, group: str) -> list[str]:
        """Names of the ``fit`` or ``intent`` features."""
        return [f.name for f in self.features if f.group == group]

    def info(self, name: str) -> FeatureInfo:
        return next(f for f in self.features if f.name == name)

    def without_fields(self, fields: set[str]) -> FeatureSpec:
        """The spec minus every feature derived from one of ``fields`` (e.g. leaky columns)."""
        kept = tuple(f for f in self.features if f.field not in fields)
        dropped = {**self.dropped, **{f: "flagged by the leakage audit" for f in fields}}
        return replace(self, features=kept, dropped=dropped)

    def decayed_column(self, event_type: str, half_life: float) -> str:
        """The name of ``event_type``'s count decayed with ``half_life``."""
        return next(
            f.name
            for f in self.features
            if f.stat == "decayed" and f.field == event_type and f.days == half_life
        )

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeatureSpec:
        infos = tuple(
            FeatureInfo(**{**f, "categories": tuple(f["categories"])}) for f in raw["features"]
        )
        return cls(
            flat=raw["flat"],
            event_types=tuple(raw["event_types"]),
            half_lives_days=tuple(raw["half_lives_days"]),
            windows_days=tuple(raw["windows_days"]),
            inactivity_days=raw["inactivity_days"],
            title_column=raw["title_column"],
            bands={k: tuple(v) for k, v in raw["bands"].items()},
            features=infos,
            dropped=dict(raw["dropped"]),
        )


# ---- learning the spec -------------------------------------------------------------------------


def learn_feature_spec(known: LeadData, config: FeaturesConfig) -> FeatureSpec:
    """Resolve the feature definitions from the history visible at training time."""
    leads = known.leads
    title = next((c for c in config.title_columns if c in leads.columns), None)
    fit_infos, dropped = _fit_infos(leads, known.fit_columns, title, config)
    event_types: tuple[str, ...] = ()
    intent_infos: list[FeatureInfo] = []
    if not known.flat:
        event_types = _event_types(known.events, config.max_event_types)
        intent_infos = [
            _intent_info(c)
            for c in _intent_columns(event_types, config.half_lives_days, config.windows_days)
        ]
    return FeatureSpec(
        flat=known.flat,
        event_types=event_types,
        half_lives_days=tuple(config.half_lives_days),
        windows_days=tuple(config.windows_days),
        inactivity_days=config.inactivity_days,
        title_column=title,
        bands={c: tuple(config.bands[c]) for c in known.fit_columns if c in config.bands},
        features=tuple(fit_infos + intent_infos),
        dropped=dropped,
    )


def _fit_infos(
    leads: pd.DataFrame, columns: list[str], title: str | None, config: FeaturesConfig
) -> tuple[list[FeatureInfo], dict[str, str]]:
    infos: list[FeatureInfo] = []
    dropped: dict[str, str] = {}
    for column in columns:
        values = leads[column]
        if column == title:
            infos += _title_infos(values, config)
        elif pd.api.types.is_numeric_dtype(values.dtype):
            infos.append(FeatureInfo(column, FIT, "numeric", column, "value"))
            if column in config.bands:
                banded = fit.bands(values, config.bands[column])
                infos.append(
                    _categorical(f"{column}{fit.BAND_SUFFIX}", column, "band", banded, config)
                )
        elif fit.looks_like_identifier(values):
            dropped[column] = "identifier-like: most values are unique"
        else:
            infos.append(_categorical(column, column, "value", values, config))
    return infos, dropped


def _title_infos(titles: pd.Series, config: FeaturesConfig) -> list[FeatureInfo]:
    derived = fit.title_features(titles)
    return [
        _categorical(
            fit.NORMALISED_TITLE, str(titles.name), "title", derived[fit.NORMALISED_TITLE], config
        ),
        _categorical(fit.SENIORITY, str(titles.name), "seniority", derived[fit.SENIORITY], config),
        _categorical(fit.FUNCTION, str(titles.name), "function", derived[fit.FUNCTION], config),
    ]


def _categorical(
    name: str, source: str, stat: str, values: pd.Series, config: FeaturesConfig
) -> FeatureInfo:
    vocabulary = fit.category_vocabulary(
        values, config.rare_category_min_count, config.max_categories
    )
    return FeatureInfo(name, FIT, "categorical", source, stat, categories=tuple(vocabulary))


def _event_types(events: pd.DataFrame, limit: int) -> tuple[str, ...]:
    counts = events[schema.EVENT_TYPE].value_counts()
    frequent = counts.sort_index().sort_values(ascending=False, kind="stable").head(limit)
    return tuple(sorted(str(t) for t in frequent.index))


def _slugs(event_types: tuple[str, ...]) -> tuple[str, ...]:
    slugs: list[str] = []
    for event_type in event_types:
        base = re.sub(r"[^a-z0-9]+", "_", event_type.lower()).strip("_") or "event"
        slug, n = base, 2
        while slug in slugs:
            slug, n = f"{base}_{n}", n + 1
        slugs.append(slug)
    return tuple(slugs)


def _intent_columns(
    event_types: tuple[str, ...],
    half_lives: list[float] | tuple[float, ...],
    windows: list[int] | tuple[int, ...],
) -> list[IntentColumn]:
    return intent_columns(event_types, _slugs(event_types), tuple(half_lives), tuple(windows))


def _intent_info(column: IntentColumn) -> FeatureInfo:
    return FeatureInfo(
        column.name, INTENT, "numeric", column.event_type, column.stat, column.days, column.heat
    )


# ---- building features -------------------------------------------------------------------------


def model_matrix(X: pd.DataFrame) -> pd.DataFrame:
    """Features as models learn from them and score with them: float64 columns as float32.

    Half the memory of a training matrix, and LightGBM (which bins in float32) no longer
    converts a float64 copy of every row for each of its fits (6 to 9 s a fit on 1.7M rows).
    Counts and ages are exact; decayed counts keep 7 digits.  Training and scoring both cast, so
    every model sees the same values in both (a points band edge is never crossed by rounding).
    """
    wide = [c for c in X.columns if X[c].dtype == np.float64]
    return X.astype(dict.fromkeys(wide, np.float32)) if wide else X


IntentBuilder = Callable[[LeadData, pd.DataFrame, FeatureSpec], pd.DataFrame]
"""Another engine's intent features of ``rows`` (aligned to them): :func:`build_features`'s own,
computed elsewhere (:func:`predictive_scoring.spark.training.spark_intent`)."""


def build_features(
    data: LeadData,
    rows: pd.DataFrame,
    spec: FeatureSpec,
    threads: int,
    keys: pd.DataFrame | None = None,
    intent: IntentBuilder | None = None,
) -> pd.DataFrame:
    """The features of ``rows`` (``lead_id``, ``snapshot_at``), one row each, in ``spec`` order.

    Only events strictly before each row's ``snapshot_at`` count; fit features come from the lead's
    attributes alone.  Categories outside the spec's vocabulary become ``(other)``.  ``keys``
    (from :func:`event_keys`) saves recomputing the events' integer keys for every chunk;
    ``intent`` computes the intent features on another engine.
    """
    lead_idx = pd.Index(data.leads[schema.LEAD_ID]).get_indexer(rows[schema.LEAD_ID])
    if (lead_idx < 0).any():
        missing = rows.loc[lead_idx < 0, schema.LEAD_ID].head(3).tolist()
        raise KeyError(f"rows name leads that are not in the data: {missing}")
    leads, inverse = np.unique(lead_idx, return_inverse=True)
    fit_frame = fit_features(data.leads.iloc[leads], spec).iloc[inverse].reset_index(drop=True)
    if not spec.flat and intent is not None:
        computed = intent(data, rows, spec).reset_index(drop=True)
        fit_frame = pd.concat([fit_frame, computed], axis=1)
    elif not spec.flat:
        keys = event_keys(data, spec) if keys is None else keys
        keys = _events_of(keys, leads, len(data.leads))
        here = _intent_frame(data, rows, lead_idx, spec, keys, threads).reset_index(drop=True)
        fit_frame = pd.concat([fit_frame, here], axis=1)
    features: pd.DataFrame = fit_frame[spec.names].set_axis(rows.index)
    return features


def intent_statistics(
    spec: FeatureSpec,
) -> tuple[list[IntentColumn], tuple[float, ...], tuple[int, ...]]:
    """The spec's intent features, and the half-lives and windows of the statistics behind them
    (what :func:`~predictive_scoring.features.intent.per_type_sql` computes per lead and type)."""
    columns = _intent_columns(spec.event_types, spec.half_lives_days, spec.windows_days)
    half_lives, windows = statistics_of(columns)
    return columns, half_lives, windows


def features_from_wide(
    leads: pd.DataFrame,
    wide: pd.DataFrame,
    snap_us: np.ndarray,
    created_us: np.ndarray,
    spec: FeatureSpec,
) -> pd.DataFrame:
    """The features of one row per lead of ``leads`` (typed attributes) at ``snap_us``, from its
    per-type statistics as a row of ``wide`` (:func:`~predictive_scoring.features.intent.wide_sql`):
    what :func:`build_features` gives, for an engine that aggregates the events itself."""
    frame = fit_features(leads, spec)
    if not spec.flat:
        frame = pd.concat([frame, intent_from_wide(wide, snap_us, created_us, spec)], axis=1)
    features: pd.DataFrame = frame[spec.names]
    return features


def intent_from_wide(
    wide: pd.DataFrame, snap_us: np.ndarray, created_us: np.ndarray, spec: FeatureSpec
) -> pd.DataFrame:
    """The intent features of each row of ``wide`` (its per-type statistics, from
    :func:`~predictive_scoring.features.intent.wide_sql`) at ``snap_us``, for a lead created at
    ``created_us``."""
    columns, half_lives, windows = intent_statistics(spec)
    cube = cube_from_wide(wide, len(spec.event_types), half_lives, windows)
    age = (np.asarray(snap_us, dtype=np.int64) - np.asarray(created_us, dtype=np.int64)) / DAY_US
    values = assemble_intent(cube, columns, age, spec.inactivity_days)
    return pd.DataFrame(values, columns=[c.name for c in columns])


def _events_of(keys: pd.DataFrame, leads: np.ndarray, n_leads: int) -> pd.DataFrame:
    """The event keys of ``leads`` (positions) only, in their order, when those are fewer than
    half of all ``n_leads``: a scoring chunk's query then reads its own leads' events, not the
    whole history's."""
    if 2 * len(leads) >= n_leads or len(keys) == 0:
        return keys
    wanted = np.zeros(n_leads + 1, dtype=bool)  # the last entry, False, is where -1 points
    wanted[leads] = True
    selected: pd.DataFrame = keys[wanted[keys["lead_idx"].to_numpy()]]
    return selected


def fit_features(leads: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Fit features of every lead, in ``leads`` order."""
    columns: dict[str, pd.Series] = {}
    titles = fit.title_features(leads[spec.title_column]) if spec.title_column else None
    for info in spec.features:
        if info.group != FIT:
            continue
        raw = _fit_source(leads, info, titles, spec)
        if info.kind == "numeric":
            columns[info.name] = pd.to_numeric(raw, errors="coerce").astype("float64")
        else:
            columns[info.name] = fit.encode_categories(raw, info.categories)
    return pd.DataFrame(columns, index=leads.index).reset_index(drop=True)


def unusable_fields(leads: pd.DataFrame, spec: FeatureSpec) -> dict[str, str]:
    """The lead columns ``spec``'s fit features read that ``leads`` cannot give: absent, or
    holding no number where the spec reads numbers (column: why).  A model scoring them would
    see every lead's value as missing and rank them on what is left."""
    problems: dict[str, str] = {}
    for info in spec.features:
        if info.group != FIT or info.field in problems:
            continue
        if info.field not in leads.columns:
            problems[info.field] = "absent"
            continue
        values = leads[info.field]
        numeric = info.kind == "numeric" or info.stat == "band"
        if numeric and not pd.api.types.is_numeric_dtype(values):
            given = values.dropna()
            if len(given) and pd.to_numeric(given, errors="coerce").notna().sum() == 0:
                problems[info.field] = f"no numbers, e.g. {examples(given.unique()[:3])}"
    return problems


def _fit_source(
    leads: pd.DataFrame, info: FeatureInfo, titles: pd.DataFrame | None, spec: FeatureSpec
) -> pd.Series:
    if info.field not in leads.columns:
        return pd.Series(np.nan, index=leads.index)
    if info.stat in ("title", "seniority", "function") and titles is not None:
        return titles[info.name]
    if info.stat == "band":
        return fit.bands(pd.to_numeric(leads[info.field], errors="coerce"), spec.bands[info.field])
    return leads[info.field]


def event_keys(data: LeadData, spec: FeatureSpec) -> pd.DataFrame:
    """The events as integer keys: lead position, microseconds, type code (-1: unknown type)."""
    events = data.events
    return pd.DataFrame(
        {
            "lead_idx": _codes(events[schema.LEAD_ID], data.leads[schema.LEAD_ID]),
            "t_us": to_micros(events[schema.OCCURRED_AT]),
            "type_code": _codes(events[schema.EVENT_TYPE], pd.Series(spec.event_types)).astype(
                np.int16
            ),
        }
    )


def _intent_frame(
    data: LeadData,
    rows: pd.DataFrame,
    lead_idx: np.ndarray,
    spec: FeatureSpec,
    keys: pd.DataFrame,
    threads: int,
) -> pd.DataFrame:
    created = data.leads[schema.CREATED_AT].iloc[lead_idx]
    row_frame = pd.DataFrame(
        {
            "lead_idx": lead_idx,
            "snap_us": to_micros(rows[schema.SNAPSHOT_AT]),
            "created_us": to_micros(created),
        }
    )
    columns = _intent_columns(spec.event_types, spec.half_lives_days, spec.windows_days)
    return compute_intent(
        keys, row_frame, columns, len(spec.event_types), spec.inactivity_days, threads
    )


def _codes(values: pd.Series, vocabulary: pd.Series) -> np.ndarray:
    """Position of each value in ``vocabulary`` (-1 when absent; int32), hashed by Arrow.

    Text already held by Arrow is read in place: on 40M events a copy of each column would be
    the scoring run's peak of memory.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    held = arrow_text(values)
    vocabulary_array = pa.array(vocabulary.astype("string[pyarrow]"))
    found = pc.index_in(held, value_set=vocabulary_array.cast(held.type))
    codes: np.ndarray = found.fill_null(-1).to_numpy(zero_copy_only=False)
    return codes.astype(np.int32, copy=False)


def unseen_event_types(events: pd.DataFrame, spec: FeatureSpec) -> dict[str, int]:
    """Event types in ``events`` that the spec does not know (ignored when scoring), with counts."""
    import pyarrow as pa
    import pyarrow.compute as pc

    held = arrow_text(events[schema.EVENT_TYPE])
    known = pc.is_in(held, value_set=pa.array(list(spec.event_types), type=held.type))
    unseen = pc.filter(held, pc.invert(known))  # null types are not unseen types
    counts = pc.value_counts(unseen).to_pylist() if len(unseen) else []
    found = {str(c["values"]): int(c["counts"]) for c in counts if c["values"] is not None}
    return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))
