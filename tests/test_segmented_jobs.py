"""A model per segment, end to end against a real MLflow server: training with fallbacks,
routing at scoring, and champions that belong to their own segment."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from predictive_scoring import jobs, schema, tracking
from predictive_scoring.config import load_config
from predictive_scoring.data.synthetic import generate_funnel
from predictive_scoring.data.synthetic.params import PERSONA_EFFECTS, PERSONAS, FunnelParams
from predictive_scoring.data.synthetic.vocabulary import BUYER_TYPE
from predictive_scoring.jobs.several import _train_segments
from predictive_scoring.stopwatch import Stopwatch
from tests.mlflow_server import mlflow_server  # noqa: F401  (the module's fixture)

SEGMENTED = {
    "segments.column": BUYER_TYPE,
    "segments.min_leads": 500,
    "segments.min_conversions": 100,
    "segments.min_test_conversions": 10,
    "segments.versus_global": False,  # 2,500 leads: the global model is the better one here
    "models.candidates": ["lightgbm"],  # the logistic adds time, not coverage, here
}


def _models(run: jobs.TrainRun) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in run.to_dict()["models"]}


@pytest.mark.slow
def test_segments_train_fall_back_route_and_keep_their_own_champions(
    tmp_path: Path,
    mlflow_server: str,  # noqa: F811
) -> None:
    folder = tmp_path / "data"
    params = FunnelParams(personas=PERSONAS, persona_effects=PERSONA_EFFECTS)
    generate_funnel(2500, seed=3, params=params).write(folder)
    config = load_config().with_overrides(
        {**SEGMENTED, "reports.model_card": str(tmp_path / "card.html")}
    )
    run = jobs.train_job(str(folder), config, tracking_uri=mlflow_server)
    models = _models(run)
    assert list(models) == ["", "partner", "sales_led", "self_serve"]
    assert models["partner"]["status"] == "served by the global model"
    assert "segments.min_conversions" in models["partner"]["reason"]
    for name in ("sales_led", "self_serve"):
        assert models[name]["status"] == "trained" and models[name]["promoted"]
        assert models[name]["model_name"] == f"lead-scoring-{name.replace('_', '-')}"
        assert models[name]["leads"] >= 500 and models[name]["conversions"] >= 100
    card = (tmp_path / "card.html").read_text("utf-8")
    assert "Every model of this run" in card and 'href="card-sales-led.html"' in card
    assert (tmp_path / "card-self-serve.html").exists()

    # score leads whose persona is unseen or missing beside the others
    scoring = tmp_path / "scoring"
    shutil.copytree(folder, scoring)
    leads = pd.read_parquet(scoring / "leads.parquet")
    sales = leads.index[leads[BUYER_TYPE] == "sales_led"]
    leads[BUYER_TYPE] = leads[BUYER_TYPE].astype(object)
    leads.loc[sales[:300], BUYER_TYPE] = "reseller"
    leads.loc[sales[300:600], BUYER_TYPE] = None
    leads.to_parquet(scoring / "leads.parquet")
    output = tmp_path / "scores.parquet"
    batch = jobs.score_job(str(scoring), config, str(output), tracking_uri=mlflow_server).batch
    scores = pd.read_parquet(output).merge(leads[[schema.LEAD_ID, BUYER_TYPE]], on=schema.LEAD_ID)
    versions = scores.groupby(scores[BUYER_TYPE].fillna("(missing)"))
    seen = {k: (set(v[schema.SEGMENT]), set(v[schema.MODEL_VERSION])) for k, v in versions}
    assert seen == {
        "partner": ({""}, {"lead-scoring/1"}),
        "reseller": ({""}, {"lead-scoring/1"}),
        "(missing)": ({""}, {"lead-scoring/1"}),
        "sales_led": ({"sales_led"}, {"lead-scoring-sales-led/1"}),
        "self_serve": ({"self_serve"}, {"lead-scoring-self-serve/1"}),
    }
    assert batch.rows == len(scores) and scores[schema.LEAD_ID].is_unique
    assert batch.models["sales_led"]["rows"] == int((scores[schema.SEGMENT] == "sales_led").sum())

    # a routed lead's row is its segment model's own
    alone = tmp_path / "alone.parquet"
    jobs.score_job(
        str(scoring), config, str(alone), model="models:/lead-scoring-sales-led/1",
        tracking_uri=mlflow_server,
    )  # fmt: skip
    own = pd.read_parquet(alone).set_index(schema.LEAD_ID)
    routed = scores[scores[schema.SEGMENT] == "sales_led"].set_index(schema.LEAD_ID)
    pd.testing.assert_series_equal(
        routed[schema.PROBABILITY], own.loc[routed.index, schema.PROBABILITY]
    )

    # a segment model that loses to the global model on their shared test rows is not promoted
    # and its champion retires; a segment that falls back loses its champion too; the segment a
    # run does not name keeps its own
    def segments_step(filters: dict[str, str]) -> list[Any]:
        # (the segments' step of train alone: retraining the global model adds nothing here)
        settings = load_config().with_overrides(
            {
                **{k: v for k, v in SEGMENTED.items() if k != "segments.column"},
                "segments.versus_global": True,
                "segments.filters": filters,
                "reports.model_card": str(tmp_path / "card.html"),
            }
        )
        validated = jobs.load(str(folder), settings)
        when = jobs.resolve_as_of(None, validated.data)
        return _train_segments(
            validated, settings, when, mlflow_server, jobs.Silent(), Stopwatch(), run.result
        )

    (beaten,) = segments_step({"sales_led": f"{BUYER_TYPE} == 'sales_led'"})
    assert beaten.trained is not None and beaten.trained.registration.version == "2"
    assert not beaten.trained.registration.promoted
    reason = beaten.trained.registration.reason
    assert "does not beat the global model" in reason and "version 1, retired" in reason
    assert tracking.current_champion("lead-scoring-sales-led", mlflow_server) is None
    assert tracking.current_champion("lead-scoring-self-serve", mlflow_server) == "1"
    (third,) = segments_step({"self_serve": f"{BUYER_TYPE} == 'self_serve' and company_size < 2"})
    assert third.trained is None and third.name == "self_serve"
    assert "champion, version 1, retired" in third.reason
    assert tracking.current_champion("lead-scoring-self-serve", mlflow_server) is None
    jobs.score_job(str(scoring), config, str(output), tracking_uri=mlflow_server)
    again_scored = pd.read_parquet(output).merge(
        leads[[schema.LEAD_ID, BUYER_TYPE]], on=schema.LEAD_ID
    )
    serve = again_scored[again_scored[BUYER_TYPE].isin(["self_serve", "sales_led"])]
    champion = tracking.current_champion("lead-scoring", mlflow_server)
    assert set(serve[schema.SEGMENT]) == {""}
    assert set(serve[schema.MODEL_VERSION]) == {f"lead-scoring/{champion}"}
