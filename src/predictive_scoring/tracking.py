"""MLflow: one parent run per ``train``, a child run per candidate, everything a reviewer needs.

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
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from predictive_scoring import __version__, schema
from predictive_scoring.config import Config
from predictive_scoring.data.tables import LeadData
from predictive_scoring.data.validation import ValidationReport
from predictive_scoring.errors import RegistryError
from predictive_scoring.evaluation import comparison_figures, comparison_table
from predictive_scoring.training import POINTS, TrainingResult

_QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "DO_NOT_TRACK": "1",
}


def tracking_uri(flag: str | None, config: Config) -> str:
    """Where runs go: flag, config, environment, else a SQLite file in the working directory."""
    chosen = flag or config.tracking.uri or os.environ.get("MLFLOW_TRACKING_URI")
    return chosen or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """Keep MLflow's deprecation warnings, banners and migrations logs off the user's terminal."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    for name in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def data_fingerprint(
    data: LeadData, as_of: pd.Timestamp | None, horizon_days: int
) -> dict[str, Any]:
    """Row counts, time range and a content hash of the validated tables (no row content)."""
    digest = hashlib.sha256()
    for frame in (data.leads, data.events, data.outcomes):
        hashed = pd.util.hash_pandas_object(frame.astype("string"), index=False)
        digest.update(hashed.to_numpy().tobytes())
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
        mlflow.set_tracking_uri(uri)
        if mlflow.get_experiment_by_name(name) is None and uri.startswith("sqlite:///"):
            folder = Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts"
            mlflow.create_experiment(name, artifact_location=folder.resolve().as_uri())
        mlflow.set_experiment(name)
    except Exception as exc:
        raise RegistryError(
            f"cannot use the MLflow tracking store at {uri}: {_first_line(exc)}"
        ) from None


def log_training(
    result: TrainingResult,
    config: Config,
    report: ValidationReport,
    fingerprint: dict[str, Any],
    uri: str,
    experiment: str,
) -> str:
    """Log the run; return the parent run id."""
    with quiet_mlflow():
        import mlflow

        use_experiment(mlflow, uri, experiment)
        with mlflow.start_run(run_name=f"train-{fingerprint['as_of'] or 'flat'}") as parent:
            _log_parent(mlflow, result, config, report, fingerprint)
            for name, evaluation in result.evaluations.items():
                with mlflow.start_run(run_name=name, nested=True):
                    mlflow.set_tags(
                        {"candidate": name, "served": str(name == result.served).lower()}
                    )
                    mlflow.log_metrics(evaluation.metrics)
                    mlflow.log_metrics({f"{k}_low": v for k, v in evaluation.lower.items()})
                    mlflow.log_metrics({f"{k}_high": v for k, v in evaluation.upper.items()})
            return str(parent.info.run_id)


def _log_parent(
    mlflow: Any,
    result: TrainingResult,
    config: Config,
    report: ValidationReport,
    fingerprint: dict[str, Any],
) -> None:
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
    mlflow.log_dict(
        {
            "findings": [f.to_dict() for f in result.leakage],
            "excluded_columns": result.excluded_columns,
            "allowed": config.models.leakage.allow,
        },
        "leakage_audit.json",
    )
    mlflow.log_dict(result.spec.to_dict(), "feature_spec.json")
    mlflow.log_dict(
        {
            "windows": result.window_sizes,
            "bounds": result.window_bounds,
            "data_says": result.data_says,
        },
        "windows.json",
    )
    served = result.evaluations[result.served]
    mlflow.log_metrics(served.metrics)
    table = comparison_table(list(result.evaluations.values())).reset_index()
    mlflow.log_table(table, "comparison.json")
    mlflow.log_text(table.to_csv(index=False), "comparison.csv")
    scorecard = result.models[POINTS].named_steps["model"].scorecard()
    mlflow.log_text(scorecard.to_csv(index=False), "points_scorecard.csv")
    import matplotlib.pyplot as plt

    for filename, figure in comparison_figures(result.test_labels, result.test_predictions).items():
        mlflow.log_figure(figure, f"plots/{filename}")
        plt.close(figure)  # type: ignore[arg-type]


def _flatten(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:500]
    return flat


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
