"""MLflow: runs (:mod:`.runs`) and the model registry with its ``champion`` alias (:mod:`.registry`).

The pyfunc lives in :mod:`predictive_scoring.serving`; version 0.1 pickled it as
``predictive_scoring.tracking.LeadScoringModel``, so that name stays importable here and
champions registered then still load.
"""

from predictive_scoring.serving import LeadScoringModel
from predictive_scoring.tracking.registry import (
    CHAMPION,
    champion_uri,
    current_champion,
    load_served,
    log_served_model,
    promote,
    registered_version,
    registry_lock,
    retire_champion,
    set_champion,
    version_uri,
)
from predictive_scoring.tracking.runs import (
    check_store,
    data_fingerprint,
    log_candidates,
    log_promotion,
    log_scoring,
    log_text,
    log_text_to,
    log_training,
    quiet_mlflow,
    tracking_uri,
    training_run,
)

__all__ = [
    "CHAMPION",
    "LeadScoringModel",
    "champion_uri",
    "check_store",
    "current_champion",
    "data_fingerprint",
    "load_served",
    "log_candidates",
    "log_promotion",
    "log_scoring",
    "log_served_model",
    "log_text",
    "log_text_to",
    "log_training",
    "promote",
    "quiet_mlflow",
    "registered_version",
    "registry_lock",
    "retire_champion",
    "set_champion",
    "tracking_uri",
    "training_run",
    "version_uri",
]
