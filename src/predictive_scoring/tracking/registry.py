"""The model registry: packaging a served model, versions, and the ``champion`` alias.

A registry failure is never read as "no champion yet": only a registry that answers that the
model or its alias does not exist means there is none; any other failure raises
:class:`~predictive_scoring.errors.RegistryError` (exit 4) before an alias can move.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from predictive_scoring import __version__, schema
from predictive_scoring.data.locks import file_lock
from predictive_scoring.data.sources import describe_source
from predictive_scoring.errors import ModelError, RegistryError
from predictive_scoring.serving import LeadScoringModel, ServedModel
from predictive_scoring.tracking.retries import briefly, server_reason, tracking_failure
from predictive_scoring.tracking.runs import local_store, quiet_mlflow

__all__ = [
    "CHAMPION",
    "MODEL_ARTIFACT",
    "SERVED_FILE",
    "champion_uri",
    "current_champion",
    "load_served",
    "log_served_model",
    "promote",
    "registered_version",
    "registry_lock",
    "retire_champion",
    "set_champion",
    "version_uri",
]

log = logging.getLogger(__name__)

CHAMPION = "champion"
MODEL_ARTIFACT = "model"
SERVED_FILE = "served_model.joblib"
PACKAGE = Path(__file__).resolve().parent.parent
REQUIREMENTS = (
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
)
_NOT_FOUND = ("RESOURCE_DOES_NOT_EXIST",)


def champion_uri(model_name: str) -> str:
    """``models:/<name>@champion``: what ``score`` serves by default."""
    return f"models:/{model_name}@{CHAMPION}"


def version_uri(model_name: str, version: str) -> str:
    """``models:/<name>/<version>``."""
    return f"models:/{model_name}/{version}"


def log_served_model(
    mlflow: Any, served: ServedModel, example: pd.DataFrame, model_name: str, uri: str
) -> str:
    """Log the pyfunc in the active run and register it; return the new version number."""
    import joblib

    expected = f"{model_name}/{_next_version(model_name, uri)}"
    served.version = expected
    served.package_version = __version__
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / SERVED_FILE
        joblib.dump(served, path)
        try:
            info = mlflow.pyfunc.log_model(
                name=MODEL_ARTIFACT,
                python_model=LeadScoringModel(),
                artifacts={"served": str(path)},
                code_paths=[str(PACKAGE)],
                signature=_signature(example),
                input_example=example,
                pip_requirements=_requirements(),
                registered_model_name=model_name,
            )
        except Exception as exc:
            raise tracking_failure(f"register {model_name}", uri, exc) from None
    version = str(info.registered_model_version)
    if f"{model_name}/{version}" != expected:
        log.warning(
            "registry gave version %s while %s was expected (a concurrent train?)",
            version,
            expected,
        )
    return version


def _signature(example: pd.DataFrame) -> Any:
    """The input example's columns, plus an optional ISO 8601 ``as_of`` text column."""
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import ColSpec, Schema

    inputs = infer_signature(example).inputs
    optional = ColSpec("string", schema.AS_OF, required=False)
    return ModelSignature(inputs=Schema([*inputs.inputs, optional]))


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{n}=={version(n)}" for n in REQUIREMENTS]


def _client(uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _next_version(model_name: str, uri: str) -> int:
    """The version number the registry will give the next registration of ``model_name``."""
    try:
        versions = _client(uri).search_model_versions(f"name = '{model_name}'")
    except Exception as exc:
        raise tracking_failure("read the registry", uri, exc) from None
    return max((int(v.version) for v in versions), default=0) + 1


def load_served(model_uri: str, uri: str) -> ServedModel:
    """The :class:`~predictive_scoring.serving.ServedModel` behind a model URI."""
    with quiet_mlflow():
        import mlflow

        mlflow.set_tracking_uri(uri)
        try:
            # its warnings would be silenced here anyway; checking the model's pinned
            # requirements against the installed ones costs a quarter of a second
            loaded = mlflow.pyfunc.load_model(model_uri, suppress_warnings=True)
        except ModelError as exc:  # raised by the pyfunc's loader: the artifact itself
            raise ModelError(
                f"cannot load model {model_uri} from {describe_source(uri)}: {exc}; train again, or score with "
                "an earlier version (--model models:/<name>/<version>)"
            ) from None
        except Exception as exc:
            raise tracking_failure(
                f"load model {model_uri}", uri, exc, preposition="from"
            ) from None
        served: ServedModel = loaded.unwrap_python_model().served
        _check_package_version(served, model_uri)
        served.version = registered_version(model_uri, uri)
        return served


def _release(version: str) -> tuple[int, ...]:
    """A version's release numbers (``1.2.3rc1`` → ``(1, 2, 3)``), enough to order releases."""
    release = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(n) for n in release.group().split(".")) if release else ()


def _check_package_version(served: ServedModel, model_uri: str) -> None:
    """Refuse a model registered by a newer predictive-scoring than the one installed: it may
    hold settings or features this version reads differently."""
    if _release(served.package_version) > _release(__version__):
        raise ModelError(
            f"model {model_uri} was registered by predictive-scoring {served.package_version}, "
            f"newer than the installed {__version__}: upgrade the package "
            f"(pip install 'predictive-scoring>={served.package_version}'), or score with an "
            "earlier version (--model models:/<name>/<version>)"
        )


def registered_version(model_uri: str, uri: str) -> str:
    """``name/version`` for ``models:/name/version`` or ``models:/name@alias``; else the URI."""
    if not model_uri.startswith("models:/"):
        return model_uri
    reference = model_uri.removeprefix("models:/")
    if "@" not in reference:
        return reference
    name, alias = reference.split("@", 1)
    try:
        version = _client(uri).get_model_version_by_alias(name, alias).version
    except Exception as exc:
        raise tracking_failure(f"resolve {model_uri}", uri, exc) from None
    return f"{name}/{version}"


def current_champion(model_name: str, uri: str) -> str | None:
    """The version the ``champion`` alias points at; ``None`` only when the registry says the
    model or its alias does not exist.

    Raises
    ------
    RegistryError
        When the registry cannot answer (unreachable, failing, refusing): the caller must not
        read that as "no champion yet".
    """
    with quiet_mlflow():
        try:
            return str(_client(uri).get_model_version_by_alias(model_name, CHAMPION).version)
        except Exception as exc:
            if _says_absent(exc):
                return None
            raise tracking_failure(f"read the champion of {model_name}", uri, exc) from None


def _says_absent(exc: Exception) -> bool:
    """The registry answered that the model, or its alias, does not exist."""
    code = getattr(exc, "error_code", None)
    if code in _NOT_FOUND:
        return True
    message = str(exc).lower()
    return code == "INVALID_PARAMETER_VALUE" and "alias" in message and "not found" in message


def set_champion(model_name: str, version: str, uri: str) -> None:
    """Point the ``champion`` alias of ``model_name`` at ``version``."""
    with quiet_mlflow():
        try:
            _client(uri).set_registered_model_alias(model_name, CHAMPION, version)
        except Exception as exc:
            raise tracking_failure(f"move the champion of {model_name}", uri, exc) from None


def retire_champion(model_name: str, uri: str, expected: str | None = None) -> str | None:
    """Remove the ``champion`` alias of ``model_name`` (a segment that fell back: the global
    model serves its leads from now on); the version it pointed at, ``None`` when it had none.
    With ``expected``, only when the champion is still that version (another run may have
    promoted one since)."""
    version = current_champion(model_name, uri)
    if version is None or (expected is not None and version != expected):
        return None
    with quiet_mlflow():
        try:
            _client(uri).delete_registered_model_alias(model_name, CHAMPION)
        except Exception as exc:
            raise tracking_failure(f"retire the champion of {model_name}", uri, exc) from None
    return version


@contextlib.contextmanager
def registry_lock(
    uri: str, timeout_s: float, waiting: Callable[[str], None] | None = None
) -> Iterator[None]:
    """One promotion gate at a time in a local SQLite store: a ``train`` holds it from reading
    the champion to moving the alias, so a second ``train`` is gated against the first's winner.
    A tracking server offers no lock; :func:`promote` checks instead that the champion has not
    moved since it was read."""
    store = local_store(uri)
    if store is None:
        yield
        return
    lock = store.with_name(f".{store.name}.registry.lock")
    with file_lock(lock, f"the registry {describe_source(uri)}", timeout_s, waiting):
        yield


def promote(
    model_name: str, version: str, run_id: str, uri: str, gated_against: str | None
) -> str | None:
    """Move ``champion`` to ``version``, the last step of a training run, when the champion is
    still ``gated_against`` (the version the gate compared with); otherwise leave it and return
    why.  When the registry refuses, or the champion moved, the run's tags are corrected (where
    the store still answers): the run does not claim a promotion that did not happen.  Once the
    alias has moved (also when the answer to moving it was lost), the promotion stands: a failure
    to tag the run only warns."""
    now = current_champion(model_name, uri)
    if now != gated_against:
        moved = (
            "another run "
            + ("removed the champion" if now is None else f"moved the champion to version {now}")
            + f" after this run compared with {_named(gated_against)}; train again to compare"
        )
        _not_promoted(run_id, uri, f"not promoted: {moved}")
        return moved
    try:
        set_champion(model_name, version, uri)
    except RegistryError as error:
        if _champion_or_none(model_name, uri) != version:
            _not_promoted(run_id, uri, f"not promoted: {error}")
            raise
    with quiet_mlflow(), briefly():
        try:
            _client(uri).set_tag(run_id, "promoted", "true")
        except Exception as exc:
            log.warning(
                "version %s of %s is champion; its run %s still says promoted: pending (%s)",
                version, model_name, run_id, server_reason(exc),
            )  # fmt: skip
    return None


def _named(version: str | None) -> str:
    return "no champion" if version is None else f"version {version}"


def _champion_or_none(model_name: str, uri: str) -> str | None:
    """:func:`current_champion`, ``None`` also when the registry cannot answer (asked once)."""
    try:
        with briefly():
            return current_champion(model_name, uri)
    except RegistryError:
        return None


def _not_promoted(run_id: str, uri: str, reason: str) -> None:
    with quiet_mlflow(), briefly(), contextlib.suppress(Exception):
        client = _client(uri)
        client.set_tag(run_id, "promoted", "false")
        client.set_tag(run_id, "promotion", reason)
