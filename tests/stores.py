"""A SQLite MLflow store whose champion is the session's model of the 3,000-lead funnel,
registered directly (its training is shared with the other tests that ask for it)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import Funnels


def register_trained(folder: Path, funnels: Funnels, model_name: str) -> str:
    """Register the session's trained model as ``model_name``'s champion in a SQLite store in
    ``folder``; its tracking URI (MLflow's exported environment put back as it was)."""
    import mlflow

    from predictive_scoring import tracking
    from predictive_scoring.serving import input_example
    from tests.test_training import AS_OF, N_LEADS, SEED

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    result = funnels.trained(N_LEADS, SEED, AS_OF)
    assert result.serving is not None
    example = input_example(result.serving, result.reference_features)
    before = os.environ.get("MLFLOW_TRACKING_URI")
    try:
        with tracking.training_run(uri, "tests", "local", model_name) as (client, _):
            version = tracking.log_served_model(client, result.serving, example, model_name, uri)
        tracking.set_champion(model_name, version, uri)
    finally:
        mlflow.set_tracking_uri(before or "")
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        if before:
            os.environ["MLFLOW_TRACKING_URI"] = before
    return uri
