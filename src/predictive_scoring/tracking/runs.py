"""MLflow runs: one parent run per ``train`` with a child run per candidate, one run per batch.

Logged: the resolved config as parameters, a data fingerprint (rows per table, time range, content
hash, as-of, horizon), the validation report and leakage audit, every candidate's metrics under
stable names with their bootstrap bounds, the comparison table, the calibration / gains /
precision-recall charts, the points scorecard and the feature spec.  Never a raw row: lead data
(and so PII) does not reach MLflow.

Tracking URI: ``--tracking-uri``, else ``tracking.uri`` in the config, else ``MLFLOW_TRACKING_URI``,
else ``sqlite:///mlflow.db`` in the working directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import subprocess
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from predictive_scoring import __version__, schema
from predictive_scoring.config import Config
from predictive_scoring.data.locks import file_lock, local_database
from predictive_scoring.data.sources import describe_source
from predictive_scoring.data.tables import LeadData
from predictive_scoring.data.validation import ValidationReport
from predictive_scoring.errors import ScoringError
from predictive_scoring.evaluation import Evaluation, comparison_table
from predictive_scoring.models.learned_points import POINTS_RULES
from predictive_scoring.models.ml import LIGHTGBM
from predictive_scoring.models.policy import Promotion
from predictive_scoring.scoring import BatchSummary
from predictive_scoring.tracking.retries import (
    RetryNotice,
    bound_retries,
    briefly,
    tracking_failure,
)
from predictive_scoring.training import TrainingResult

__all__ = [
    "check_store",
    "data_fingerprint",
    "git_commit",
    "local_store",
    "log_candidates",
    "log_promotion",
    "log_scoring",
    "log_text",
    "log_training",
    "quiet_mlflow",
    "tracking_uri",
    "training_run",
    "use_experiment",
]

_QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "DO_NOT_TRACK": "1",
}
PARAMETER_WIDTH = 500
STORE_LOCK_S = 600
"""How long a job waits for another that is creating or upgrading a local SQLite store."""


def tracking_uri(flag: str | None, config: Config) -> str:
    """Where runs go: flag, config, environment, else a SQLite file in the working directory.
    The job's requests to it get the config's retry budget (:mod:`.retries`)."""
    bound_retries(config.tracking)
    chosen = flag or config.tracking.uri or os.environ.get("MLFLOW_TRACKING_URI")
    return chosen or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """Keep MLflow's deprecation warnings, banners and migrations logs off the user's terminal."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    for name in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    RetryNotice.install()
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _column_hash(values: pd.Series) -> np.ndarray:
    """One hash per value: instants as their UTC microseconds, everything else as its text (so
    the hash holds however a source typed a column; formatting ten million instants as text cost
    40 s of a training run)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        naive = values.dt.tz_convert("UTC").dt.tz_localize(None)
        values = pd.Series(naive.to_numpy("datetime64[us]").view("int64"))  # NaT: the least int
    else:
        values = values.astype("string")
    hashed: np.ndarray = pd.util.hash_pandas_object(values, index=False).to_numpy()
    return hashed


def data_fingerprint(
    data: LeadData, as_of: pd.Timestamp | None, horizon_days: int
) -> dict[str, Any]:
    """Row counts, time range and a content hash of the validated tables (no row content)."""
    digest = hashlib.sha256()
    for frame in (data.leads, data.events, data.outcomes):
        for column in frame.columns:
            digest.update(_column_hash(frame[column]).tobytes())
    stamps = pd.concat(
        [
            s
            for s in (data.leads.get(schema.CREATED_AT), data.events.get(schema.OCCURRED_AT))
            if s is not None
        ]
    )
    return {
        "rows_leads": len(data.leads),
        "rows_events": len(data.events),
        "rows_outcomes": len(data.outcomes),
        "time_from": str(stamps.min()) if len(stamps) else None,
        "time_to": str(stamps.max()) if len(stamps) else None,
        "content_sha256": digest.hexdigest(),
        "as_of": str(as_of) if as_of is not None else None,
        "horizon_days": horizon_days,
        "mode": "flat" if data.flat else "timed",
    }


def git_commit() -> str:
    """The checkout's commit, or ``unknown`` outside a git checkout."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
        return done.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def use_experiment(mlflow: Any, uri: str, name: str) -> None:
    """Point MLflow at ``uri`` and ``name``; a new experiment in a SQLite store keeps its artifacts
    in ``mlartifacts/`` beside the database file rather than in the working directory."""
    try:
        with _first_use(uri):
            mlflow.set_tracking_uri(uri)
            _create_experiment(mlflow, uri, name)
        mlflow.set_experiment(name)
    except Exception as exc:
        raise tracking_failure("use the MLflow tracking store", uri, exc) from None


def local_store(uri: str) -> Path | None:
    """The database file of a local SQLite tracking store (``None`` for a server)."""
    return local_database(uri) if uri.lower().startswith("sqlite") else None


@contextlib.contextmanager
def _first_use(uri: str) -> Iterator[None]:
    """One process at a time creates or upgrades a local SQLite store: two jobs started together
    on a new ``mlflow.db`` would both run its migrations, and one would fail."""
    store = local_store(uri)
    if store is None:
        yield
        return
    shown = f"the tracking store {describe_source(uri)}"
    with file_lock(store.with_name(f".{store.name}.init.lock"), shown, STORE_LOCK_S, setting=""):
        yield


def _create_experiment(mlflow: Any, uri: str, name: str) -> None:
    """Create ``name`` if absent; in a SQLite store its artifacts go beside the database."""
    if mlflow.get_experiment_by_name(name) is None and uri.startswith("sqlite:///"):
        folder = Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts"
        mlflow.create_experiment(name, artifact_location=folder.resolve().as_uri())


def check_store(uri: str, experiment: str) -> None:
    """Exit 4 now, before hours of work, when the tracking store cannot be used."""
    with quiet_mlflow():
        import mlflow

        use_experiment(mlflow, uri, experiment)


@contextlib.contextmanager
def _tracking_errors(mlflow: Any, what: str) -> Iterator[None]:
    """A failure of the tracking store while doing ``what`` as a :class:`RegistryError` (exit 4)."""
    try:
        yield
    except ScoringError:
        raise
    except Exception as exc:
        raise tracking_failure(what, mlflow.get_tracking_uri(), exc) from None


@contextlib.contextmanager
def training_run(
    uri: str, experiment: str, as_of: str | None, model_name: str | None = None, **tags: str
) -> Iterator[tuple[Any, str]]:
    """The parent run of one model of a ``train``, quiet: yields ``(mlflow, run id)``.  It is
    named after the model (``<model-name> train-<as-of>``) and tagged with it and ``tags`` (the
    segment or target), so every model of a run is found by name in the UI.  The run ends FAILED
    when the block raises, KILLED when the process is stopped (SIGTERM, Ctrl-C)."""
    with quiet_mlflow():
        import mlflow

        use_experiment(mlflow, uri, experiment)
        name = f"train-{as_of or 'flat'}"
        with _tracking_errors(mlflow, "start a run"):
            parent = mlflow.start_run(
                run_name=name if model_name is None else f"{model_name} {name}",
                tags={**({} if model_name is None else {"model_name": model_name}), **tags},
            )
        run_id = str(parent.info.run_id)
        try:
            yield mlflow, run_id
        except Exception:
            with briefly(), contextlib.suppress(Exception):
                mlflow.end_run("FAILED")
            raise
        except BaseException:  # stopped: SIGTERM, Ctrl-C
            with briefly(), contextlib.suppress(Exception):
                mlflow.end_run("KILLED")
            raise
        with _tracking_errors(mlflow, f"end run {run_id}"):
            mlflow.end_run()


def log_training(
    mlflow: Any,
    result: TrainingResult,
    config: Config,
    report: ValidationReport,
    fingerprint: dict[str, Any],
    images: Mapping[str, bytes],
    importance: pd.DataFrame | None,
) -> None:
    """Log what the parent run of ``train`` holds: tags, parameters, the data fingerprint, the
    validation report, the leakage audit, the spec, the windows, the comparison and the charts."""
    with _tracking_errors(mlflow, "log the training run"):
        mlflow.set_tags(
            {
                "package_version": __version__,
                "git_commit": git_commit(),
                "served_model": result.served,
                "decision": result.decision,
            }
        )
        mlflow.log_params(_flatten(config.model_dump()))
        mlflow.log_dict(fingerprint, "data_fingerprint.json")
        mlflow.log_dict(report.to_dict(), "validation.json")
        mlflow.log_dict(_leakage_audit(result, config), "leakage_audit.json")
        mlflow.log_dict(result.spec.to_dict(), "feature_spec.json")
        mlflow.log_dict(_windows(result), "windows.json")
        mlflow.log_metrics(result.evaluations[result.served].metrics)
        table = comparison_table(list(result.evaluations.values())).reset_index()
        mlflow.log_table(table, "comparison.json")
        mlflow.log_text(table.to_csv(index=False), "comparison.csv")
        mlflow.log_text(result.scorecard.to_csv(index=False), "points_scorecard.csv")
        if result.learned_rules:
            mlflow.log_text(result.learned_rules, POINTS_RULES)
        if result.rules:
            mlflow.log_dict(result.rules, "rules_handoff.json")
        if importance is not None:
            mlflow.log_text(importance.to_csv(index=False), "shap_importance.csv")
        with tempfile.TemporaryDirectory() as folder:
            for filename, image in images.items():
                (Path(folder) / filename).write_bytes(image)
            mlflow.log_artifacts(folder, "plots")


def _leakage_audit(result: TrainingResult, config: Config) -> dict[str, Any]:
    return {
        "findings": [f.to_dict() for f in result.leakage],
        "excluded_columns": result.excluded_columns,
        "allowed": config.models.leakage.allow,
    }


def _windows(result: TrainingResult) -> dict[str, Any]:
    return {
        "windows": result.window_sizes,
        "bounds": result.window_bounds,
        "data_says": result.data_says,
        "booster_structure": result.booster_structure,
        "evaluation": result.evaluation,
        "served_refit": result.refit,
    }


def log_candidates(mlflow: Any, result: TrainingResult) -> None:
    """One child run per candidate and baseline: its metrics with their bootstrap bounds."""
    with _tracking_errors(mlflow, "log the candidates' runs"):
        for name, evaluation in result.evaluations.items():
            _log_candidate(mlflow, result, name, evaluation)


def _log_candidate(mlflow: Any, result: TrainingResult, name: str, evaluation: Evaluation) -> None:
    with mlflow.start_run(run_name=name, nested=True):
        mlflow.set_tags({"candidate": name, "served": str(name == result.served).lower()})
        if name == LIGHTGBM and result.booster_structure:
            mlflow.set_tag(
                "fit_interactions",
                str(result.booster_structure["fit_interactions"]).lower(),
            )
        mlflow.log_metrics(evaluation.metrics)
        mlflow.log_metrics({f"{k}_low": v for k, v in evaluation.lower.items()})
        mlflow.log_metrics({f"{k}_high": v for k, v in evaluation.upper.items()})


def log_promotion(mlflow: Any, version: str, promotion: Promotion) -> None:
    """Tag the parent run with the version it registered and the promotion decision."""
    with _tracking_errors(mlflow, "tag the training run"):
        mlflow.set_tags(promotion_tags(version, promotion))


def promotion_tags(version: str, promotion: Promotion) -> dict[str, str]:
    """The tags a training run carries about its registered version and the promotion gate,
    before the alias moves (:func:`~predictive_scoring.tracking.registry.promote` confirms)."""
    return {
        "registered_version": version,
        "promoted": "pending" if promotion.promoted else "false",  # "true" once the alias moved
        "promotion": promotion.reason,
    }


def log_text(mlflow: Any, content: str, artifact: str) -> None:
    """Attach ``content`` to the active run as the artifact ``artifact`` (e.g. the model card)."""
    with _tracking_errors(mlflow, f"attach {artifact} to the run"):
        mlflow.log_text(content, artifact)


def log_text_to(run_id: str, uri: str, content: str, artifact: str) -> None:
    """Attach ``content`` to the ended run ``run_id`` as ``artifact`` (replacing it)."""
    with quiet_mlflow():
        from mlflow import MlflowClient

        try:
            MlflowClient(tracking_uri=uri).log_text(run_id, content, artifact)
        except Exception as exc:
            raise tracking_failure(f"attach {artifact} to run {run_id}", uri, exc) from None


def _flatten(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:PARAMETER_WIDTH]
    return flat


def log_scoring(summary: BatchSummary, uri: str, experiment: str) -> str:
    """Record a scoring run in its own experiment: as-of, model, counts, drift, output."""
    with quiet_mlflow():
        import mlflow

        use_experiment(mlflow, uri, experiment)
        with (
            _tracking_errors(mlflow, "log the scoring run"),
            mlflow.start_run(run_name=f"score-{summary.as_of}") as run,
        ):
            mlflow.log_params(
                {
                    "as_of": str(summary.as_of),
                    "model_version": summary.model_version,
                    "model_uri": summary.model_uri,
                    "output": summary.output,
                }
            )
            mlflow.log_metrics(
                {"rows": summary.rows, **{f"count_{k}": v for k, v in summary.counts.items()}}
            )
            mlflow.log_metrics(summary.drift)
            mlflow.set_tags({"drift_warning": str(summary.drift_warning).lower()})
            mlflow.log_dict(
                {"unseen_event_types": summary.unseen_event_types}, "unseen_event_types.json"
            )
            return str(run.info.run_id)
