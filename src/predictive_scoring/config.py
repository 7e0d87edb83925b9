"""Typed configuration: the only reader of ``configs/default.yaml``.

Precedence: command-line flags > the file given with ``--config`` > ``configs/default.yaml``.
The models below carry no defaults of their own, so the YAML file is the one place defaults live.
Unknown keys and bad values raise :class:`~predictive_scoring.errors.ConfigError` naming their path.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from predictive_scoring.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "RENAMED_KEYS",
    "Config",
    "DataConfig",
    "EngineConfig",
    "FeaturesConfig",
    "LabelsConfig",
    "LeakageConfig",
    "LightGBMConfig",
    "LogisticConfig",
    "ModelsConfig",
    "MqlConfig",
    "ReportsConfig",
    "ScoringConfig",
    "SegmentsConfig",
    "TargetConfig",
    "TiersConfig",
    "TrackingConfig",
    "TrendConfig",
    "ValidationConfig",
    "load_config",
]

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default.yaml")
RENAMED_KEYS: dict[tuple[str, str], str] = {("models", "validation_share"): "calibration_share"}
"""Keys of earlier versions, still read (with a warning) under their new names."""

log = logging.getLogger(__name__)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Section):
    source: str | None
    column_map: dict[str, dict[str, str]]
    pii_columns: list[str]
    ignore_columns: list[str]
    missing_markers: list[str]


class ValidationConfig(_Section):
    max_bad_row_share: float = Field(ge=0, le=1)
    earliest: str
    future_tolerance_days: float = Field(ge=0)
    non_negative_columns: list[str]
    quarantine_dir: str


class LabelsConfig(_Section):
    horizon_days: int = Field(gt=0)


class FeaturesConfig(_Section):
    snapshot_every_days: int = Field(gt=0)
    max_snapshots_per_lead: int = Field(gt=0)
    entry_snapshots: bool
    half_lives_days: list[float] = Field(min_length=1)
    windows_days: list[int] = Field(min_length=1)
    inactivity_days: int = Field(gt=0)
    rare_category_min_count: int = Field(ge=1)
    max_categories: int = Field(ge=2)
    max_event_types: int = Field(ge=1)
    title_columns: list[str]
    bands: dict[str, list[float]]


class LightGBMConfig(_Section):
    n_estimators: int = Field(gt=0)
    learning_rate: float = Field(gt=0)
    num_leaves: int = Field(ge=2)
    max_depth: int
    min_child_samples: int = Field(ge=1)
    early_stopping_rounds: int = Field(ge=1)
    fit_interactions: bool | Literal["auto"]


class LogisticConfig(_Section):
    C: float = Field(gt=0)
    max_rows: int = Field(ge=1000)


class LeakageConfig(_Section):
    auc_threshold: float = Field(gt=0.5, le=1)
    value_rate: float = Field(gt=0, le=1)
    value_min_support: int = Field(ge=1)
    value_min_share: float = Field(ge=0, le=1)
    allow: bool


class ModelsConfig(_Section):
    seed: int
    num_threads: int = Field(ge=1)
    calibration_share: float = Field(gt=0, lt=1)
    calibration_blocks: int = Field(ge=2)
    test_share: float = Field(gt=0, lt=1)
    candidates: list[Literal["lightgbm", "logistic"]] = Field(min_length=1)
    lightgbm: LightGBMConfig
    logistic: LogisticConfig
    calibration: Literal["auto", "isotonic", "sigmoid"]
    leakage: LeakageConfig
    promotion_margin: float = Field(ge=0)


class TiersConfig(_Section):
    hot: float = Field(ge=0, le=100)
    warm: float = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> TiersConfig:
        if self.warm > self.hot:
            raise ValueError("warm threshold must not exceed hot threshold")
        return self


class MqlConfig(_Section):
    score: float = Field(ge=0, le=100)
    capacity: int | None = Field(ge=1)


class TrendConfig(_Section):
    steady_within: float = Field(ge=0)


class ScoringConfig(_Section):
    tiers: TiersConfig
    mql: MqlConfig
    trend: TrendConfig
    top_reasons: int = Field(ge=0)
    chunk_size: int = Field(ge=1)
    psi_warning: float = Field(gt=0)
    lock_timeout_seconds: float = Field(ge=0)
    """How long a run waits for another run that holds its destination (README "Operations")."""


class TrackingConfig(_Section):
    uri: str | None
    experiment: str = Field(min_length=1)
    scoring_experiment: str = Field(min_length=1)
    model_name: str = Field(min_length=1)
    retry_seconds: float = Field(ge=0, le=3600)
    """Back-off a request to the tracking server may spend on retries (:mod:`predictive_scoring.tracking.retries`)."""
    timeout_seconds: float = Field(gt=0, le=3600)
    """How long one request waits for the tracking server's answer."""


class ReportsConfig(_Section):
    model_card: str
    display_columns: list[str]
    page_size: int = Field(ge=1)


class SegmentsConfig(_Section):
    """A model per segment of leads (CONTRACT section 6): one per value of ``column``, or one per
    named filter (first match wins); a segment below the minimums is served by the global model."""

    column: str | None
    filters: dict[str, str]
    min_leads: int = Field(ge=1)
    min_conversions: int = Field(ge=1)
    min_test_conversions: int = Field(ge=1)
    versus_global: bool
    """Promote a segment model only when it beats the global model on the test rows both hold."""

    @model_validator(mode="after")
    def _one_kind(self) -> SegmentsConfig:
        if self.column is not None and self.filters:
            raise ValueError("give segments.column or segments.filters, not both")
        return self

    @property
    def active(self) -> bool:
        """Whether any segment is asked for."""
        return self.column is not None or bool(self.filters)


class TargetConfig(_Section):
    """A further model beside conversion: positive when an event of ``event_type`` occurs in
    (s, s + H], among ``population`` (``open`` leads or ``customers``: converted before s).  The
    one section whose entries the user names, so ``population`` defaults here, to ``open``."""

    population: Literal["open", "customers"] = "open"
    event_type: str = Field(min_length=1)


class EngineConfig(_Section):
    """Where features are computed and leads scored (CONTRACT section 9): DuckDB and pandas on
    this machine, or Spark (:mod:`predictive_scoring.spark`)."""

    name: Literal["duckdb", "spark"]
    master: str = Field(min_length=1)
    """The Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn``, ...)."""
    options: dict[str, str | int | float | bool]
    """Spark session settings, e.g. ``{"spark.executor.memory": "8g"}``."""


class Config(_Section):
    """The whole resolved configuration."""

    data: DataConfig
    validation: ValidationConfig
    labels: LabelsConfig
    features: FeaturesConfig
    models: ModelsConfig
    scoring: ScoringConfig
    tracking: TrackingConfig
    reports: ReportsConfig
    segments: SegmentsConfig
    targets: dict[str, TargetConfig]
    engine: EngineConfig

    def with_overrides(self, overrides: dict[str, Any]) -> Config:
        """Return a copy with dotted-path overrides applied, e.g. ``{"labels.horizon_days": 14}``."""
        raw = self.model_dump()
        for dotted, value in overrides.items():
            if value is not None:
                _set_dotted(raw, _renamed_path(dotted), value)
        return _validated(raw, "command-line flag")


def load_config(path: Path | str | None = None) -> Config:
    """Read the defaults, merge the file at ``path`` over them and validate the result."""
    raw = _read_yaml(DEFAULT_CONFIG_PATH)
    origin = str(DEFAULT_CONFIG_PATH)
    if path is not None:
        user = _renamed(_read_yaml(Path(path)), str(path))
        raw = _deep_merge(raw, user)
        origin = str(path)
    return _validated(raw, origin)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return loaded


def _renamed_path(dotted: str) -> str:
    """A dotted key with an old name (:data:`RENAMED_KEYS`) as its new one, with a warning."""
    *parents, leaf = dotted.split(".")
    new = RENAMED_KEYS.get((".".join(parents), leaf))
    if new is None:
        return dotted
    log.warning("%s is now called %s", dotted, ".".join([*parents, new]))
    return ".".join([*parents, new])


def _renamed(raw: dict[str, Any], origin: str) -> dict[str, Any]:
    """``raw`` with the keys of :data:`RENAMED_KEYS` moved to their new names."""
    renamed = copy.deepcopy(raw)
    for (section, old), new in RENAMED_KEYS.items():
        part = renamed.get(section)
        if not isinstance(part, dict) or old not in part:
            continue
        if new in part:
            raise ConfigError(
                f"{origin}: {section}.{old} is the old name of {section}.{new}; give one"
            )
        log.warning("%s: %s.%s is now called %s.%s", origin, section, old, section, new)
        part[new] = part.pop(old)
    return renamed


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and value:
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = raw
    for part in parents:
        node = node[part]
    node[leaf] = value


def _validated(raw: dict[str, Any], origin: str) -> Config:
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin)) from None


def _describe(exc: ValidationError, origin: str) -> str:
    lines = [f"invalid configuration ({origin}):"]
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        shown = "" if error["type"] == "extra_forbidden" else f" (got {error.get('input')!r})"
        lines.append(f"  {path}: {message}{shown}")
    return "\n".join(lines)
