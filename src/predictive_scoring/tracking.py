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
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd

from predictive_scoring import __version__, schema
from predictive_scoring.config import Config
from predictive_scoring.data.tables import LeadData
from predictive_scoring.data.validation import ValidationReport
from predictive_scoring.errors import RegistryError, first_line
from predictive_scoring.evaluation import comparison_table
from predictive_scoring.models.ml import LIGHTGBM
from predictive_scoring.reports.figures import RunCharts
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
            f"cannot use the MLflow tracking store at {uri}: {first_line(exc)}"
        ) from None


@dataclass(frozen=True)
class Registration:
    """What a training run left in MLflow."""

    run_id: str
    version: str
    promoted: bool
    reason: str
    champion_before: str | None


def log_training(
    result: TrainingResult,
    config: Config,
    report: ValidationReport,
    fingerprint: dict[str, Any],
    uri: str,
    example: pd.DataFrame,
    champion_loss: Callable[[Any], float],
    charts: RunCharts,
) -> Registration:
    """Log the run, register the served model as a new version and apply the promotion gate.

    ``champion_loss`` re-evaluates the current champion on this run's test window (the same rows
    the candidates were compared on): its old metrics are never trusted.
    """
    name = config.tracking.model_name
    with quiet_mlflow():
        import mlflow

        use_experiment(mlflow, uri, config.tracking.experiment)
        with mlflow.start_run(run_name=f"train-{fingerprint['as_of'] or 'flat'}") as parent:
            _log_parent(mlflow, result, config, report, fingerprint, charts)
            version = log_served_model(mlflow, result.serving, example, name)
            if result.serving is not None and result.serving.version != f"{name}/{version}":
                logging.getLogger(__name__).warning(
                    "registry gave version %s while %s was expected (a concurrent train?)",
                    version,
                    result.serving.version,
                )
            before = current_champion(name, uri)
            challenger = result.evaluations[result.served].metrics["log_loss"]
            baseline = result.evaluations[POINTS].metrics["log_loss"]
            incumbent = (
                None
                if before is None
                else champion_loss(load_served(f"models:/{name}/{before}", uri))
            )
            promoted, reason = promotion_decision(
                challenger,
                baseline,
                incumbent,
                config.models.promotion_margin,
                result.served == POINTS,
            )
            if promoted:
                set_champion(name, version, uri)
            mlflow.set_tags(
                {
                    "registered_version": version,
                    "promoted": str(promoted).lower(),
                    "promotion": reason,
                }
            )
            for name, evaluation in result.evaluations.items():
                with mlflow.start_run(run_name=name, nested=True):
                    mlflow.set_tags(
                        {"candidate": name, "served": str(name == result.served).lower()}
                    )
                    if name == LIGHTGBM and result.booster_structure:
                        mlflow.set_tag(
                            "fit_interactions",
                            str(result.booster_structure["fit_interactions"]).lower(),
                        )
                    mlflow.log_metrics(evaluation.metrics)
                    mlflow.log_metrics({f"{k}_low": v for k, v in evaluation.lower.items()})
                    mlflow.log_metrics({f"{k}_high": v for k, v in evaluation.upper.items()})
            return Registration(str(parent.info.run_id), version, promoted, reason, before)


def log_run_text(run_id: str, content: str, artifact: str, uri: str) -> None:
    """Attach ``content`` to a finished run as the artifact ``artifact`` (e.g. the model card)."""
    with quiet_mlflow():
        from mlflow import MlflowClient

        MlflowClient(tracking_uri=uri).log_text(run_id, content, artifact)


def promotion_decision(
    challenger: float, baseline: float, champion: float | None, margin: float, is_baseline: bool
) -> tuple[bool, str]:
    """Move ``champion`` only when the new model earns it (log loss on the same latest window).

    A candidate must beat both the points baseline and the champion.  When no candidate beat the
    baseline, the baseline itself is the new version: it replaces the champion only by beating it,
    so a champion that has gone stale can still be replaced by the rules.
    """
    if champion is None:
        return True, "no champion yet: the new version becomes champion"
    if not is_baseline and challenger + margin >= baseline:
        return (
            False,
            f"log loss {challenger:.4f} does not beat the points baseline ({baseline:.4f}) by {margin}",
        )
    if challenger + margin >= champion:
        return (
            False,
            f"log loss {challenger:.4f} does not beat the champion ({champion:.4f}) by {margin} on this window",
        )
    return (
        True,
        f"log loss {challenger:.4f} beats the champion ({champion:.4f}) and the points baseline ({baseline:.4f})",
    )


def _log_parent(
    mlflow: Any,
    result: TrainingResult,
    config: Config,
    report: ValidationReport,
    fingerprint: dict[str, Any],
    charts: RunCharts,
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
            "booster_structure": result.booster_structure,
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
    if charts.importance is not None:
        mlflow.log_text(charts.importance.to_csv(index=False), "shap_importance.csv")
    with tempfile.TemporaryDirectory() as folder:
        for filename, image in charts.images.items():
            (Path(folder) / filename).write_bytes(image)
        mlflow.log_artifacts(folder, "plots")


def _flatten(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:500]
    return flat


# ---- packaged model, registry and promotion ----------------------------------------------------

CHAMPION = "champion"
MODEL_ARTIFACT = "model"
SERVED_FILE = "served_model.joblib"


class LeadScoringModel(mlflow.pyfunc.PythonModel):
    """The MLflow pyfunc: a feature frame in (``lead_id``, optional ``as_of``, the spec's
    features), the contract's output columns out.  It carries the calibrated model, the feature
    spec and the reference distributions (one joblib artifact) and the package code."""

    def load_context(self, context: Any) -> None:
        import joblib

        self.served = joblib.load(context.artifacts["served"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        from predictive_scoring.scoring import score_features

        as_of = None
        if schema.AS_OF in model_input.columns and model_input[schema.AS_OF].notna().any():
            as_of = pd.Timestamp(model_input[schema.AS_OF].dropna().iloc[0])
            as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")
        features = _typed_features(model_input, self.served)
        return score_features(
            self.served, features, model_input[schema.LEAD_ID], as_of, self.served.scoring
        )


def _typed_features(frame: pd.DataFrame, served: Any) -> pd.DataFrame:
    """Categorical features back to the spec's categories (a signature carries them as text)."""
    from predictive_scoring.features.fit import encode_categories

    columns = {}
    for name in served.feature_names:
        info = served.spec.info(name)
        values = (
            frame[name]
            if name in frame.columns
            else pd.Series(None, index=frame.index, dtype="object")
        )
        columns[name] = (
            encode_categories(values, info.categories)
            if info.kind == "categorical"
            else pd.to_numeric(values, errors="coerce").astype("float64")
        )
    return pd.DataFrame(columns, index=frame.index)


def input_example(served: Any, features: pd.DataFrame) -> pd.DataFrame:
    """A few rows of features (never lead attributes such as emails) with placeholder ids."""
    sample = features[served.feature_names].head(3).copy()
    for name, info in ((n, served.spec.info(n)) for n in served.feature_names):
        if info.kind == "categorical":
            sample[name] = sample[name].astype("string")
    sample.insert(0, schema.LEAD_ID, [f"example-{i}" for i in range(len(sample))])
    example: pd.DataFrame = sample.reset_index(drop=True)
    return example


def log_served_model(mlflow: Any, served: Any, example: pd.DataFrame, model_name: str) -> str:
    """Log the pyfunc in the active run and register it; return the new version number."""
    import tempfile

    import joblib

    served.version = f"{model_name}/{_next_version(model_name)}"
    package = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / SERVED_FILE
        joblib.dump(served, path)
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT,
            python_model=LeadScoringModel(),
            artifacts={"served": str(path)},
            code_paths=[str(package)],
            signature=_signature(example),
            input_example=example,
            pip_requirements=_requirements(),
            registered_model_name=model_name,
        )
    return str(info.registered_model_version)


def _signature(example: pd.DataFrame) -> Any:
    """The input example's columns, plus an optional ISO 8601 ``as_of`` text column."""
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import ColSpec, Schema

    inputs = infer_signature(example).inputs
    optional = ColSpec("string", schema.AS_OF, required=False)
    return ModelSignature(inputs=Schema([*inputs.inputs, optional]))


def _requirements() -> list[str]:
    from importlib.metadata import version

    names = [
        "mlflow",
        "pandas",
        "numpy",
        "scikit-learn",
        "lightgbm",
        "numba",
        "duckdb",
        "pyarrow",
        "pydantic",
        "pyyaml",
        "joblib",
    ]
    return [f"{n}=={version(n)}" for n in names]


def _next_version(model_name: str) -> int:
    """The version number the registry will give the next registration of ``model_name``."""
    from mlflow import MlflowClient

    versions = MlflowClient().search_model_versions(f"name = '{model_name}'")
    return max((int(v.version) for v in versions), default=0) + 1


def load_served(model_uri: str, uri: str) -> Any:
    """The :class:`~predictive_scoring.scoring.ServedModel` behind a model URI."""
    with quiet_mlflow():
        import mlflow

        mlflow.set_tracking_uri(uri)
        try:
            loaded = mlflow.pyfunc.load_model(model_uri)
        except Exception as exc:
            raise RegistryError(
                f"cannot load model {model_uri} from {uri}: {first_line(exc)}"
            ) from None
        served = loaded.unwrap_python_model().served
        served.version = registered_version(model_uri, uri)
        return served


def registered_version(model_uri: str, uri: str) -> str:
    """``name/version`` for ``models:/name/version`` or ``models:/name@alias``; else the URI."""
    from mlflow import MlflowClient

    if not model_uri.startswith("models:/"):
        return model_uri
    reference = model_uri.removeprefix("models:/")
    if "@" in reference:
        name, alias = reference.split("@", 1)
        version = MlflowClient(tracking_uri=uri).get_model_version_by_alias(name, alias).version
        return f"{name}/{version}"
    return reference


def current_champion(model_name: str, uri: str) -> str | None:
    """The version the ``champion`` alias points at, or ``None``."""
    with quiet_mlflow():
        from mlflow import MlflowClient

        try:
            return str(
                MlflowClient(tracking_uri=uri)
                .get_model_version_by_alias(model_name, CHAMPION)
                .version
            )
        except Exception:
            return None


def set_champion(model_name: str, version: str, uri: str) -> None:
    with quiet_mlflow():
        from mlflow import MlflowClient

        MlflowClient(tracking_uri=uri).set_registered_model_alias(model_name, CHAMPION, version)


def log_scoring(summary: dict[str, Any], uri: str, experiment: str) -> str:
    """Record a scoring run in its own experiment: as-of, model, counts, drift, output."""
    with quiet_mlflow():
        import mlflow

        use_experiment(mlflow, uri, experiment)
        with mlflow.start_run(run_name=f"score-{summary['as_of']}") as run:
            mlflow.log_params(
                {
                    "as_of": str(summary["as_of"]),
                    "model_version": summary["model_version"],
                    "model_uri": summary["model_uri"],
                    "output": summary["output"],
                }
            )
            mlflow.log_metrics(
                {"rows": summary["rows"], **{f"count_{k}": v for k, v in summary["counts"].items()}}
            )
            mlflow.log_metrics(summary["drift"])
            mlflow.set_tags({"drift_warning": str(summary["drift_warning"]).lower()})
            mlflow.log_dict(
                {"unseen_event_types": summary["unseen_event_types"]}, "unseen_event_types.json"
            )
            return str(run.info.run_id)
