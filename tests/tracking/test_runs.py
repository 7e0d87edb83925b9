"""MLflow for real: a tracking server, the registry's champion alias, the local default store,
reproducible runs, no PII anywhere MLflow keeps things, and the packaged pyfunc.

Training is the expensive part (10-20 s a run), so the runs are module-scoped fixtures shared by
several tests: the retrain scenario (three versions of one registered model on the
server) and one run against the local SQLite default.  Each fixture uses its own registered
model name and experiment, so nothing here depends on what else is in a store.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.models import Model

from predictive_scoring import schema
from predictive_scoring.cli import main
from predictive_scoring.data.synthetic import EMAIL, FIRST_NAME, LAST_NAME, PHONE
from predictive_scoring.schema import SCORE_COLUMNS
from tests.conftest import CliResult, Funnels
from tests.mlflow_server import mlflow_server as mlflow_server  # the fixture, re-exported

pytestmark = pytest.mark.slow

N_LEADS = 2000
SEED = 2  # lightgbm is served as of T1 and T2 (not the points baseline)
T1 = "2025-10-01"
T2 = "2025-12-31"
CHAMPION = "champion"
SCENARIO_MODEL = "tracking-retrain"
SCENARIO_EXPERIMENT = "tracking-retrain"
LOCAL_MODEL = "tracking-local"
METRICS = ("roc_auc", "pr_auc", "brier", "log_loss", "ece", "lift_10", "capture_20")
PARENT_ARTIFACTS = (
    "validation.json",
    "leakage_audit.json",
    "feature_spec.json",
    "data_fingerprint.json",
    "comparison.csv",
    "points_scorecard.csv",
)
# LightGBM's default of 2 threads thrashes when anything else runs on this 2-core machine (a
# train took 30-60 s instead of ~10 s): every run here uses one thread, nothing else changes.
BASE_CONFIG = """\
models:
  num_threads: 1
"""
# Features reduced to one event type with a year-long memory, and a booster of five stumps.
WORSE_CONFIG = """\
features:
  half_lives_days: [365]
  windows_days: [365]
  max_event_types: 1
models:
  num_threads: 1
  lightgbm:
    n_estimators: 5
    num_leaves: 2
    max_depth: 1
"""
PII_SAMPLE = 200


def run_cli(*args: object) -> CliResult:
    """The command line in-process (usable from module-scoped fixtures, unlike ``cli``)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return CliResult(code, out.getvalue(), err.getvalue())


def succeeded(result: CliResult) -> dict[str, Any]:
    assert result.code == 0, (
        f"exit {result.code}\nstdout:\n{result.out[-3000:]}\nstderr:\n{result.err[-3000:]}"
    )
    return result.json


def champion_of(uri: str, name: str) -> str:
    return str(MlflowClient(tracking_uri=uri).get_model_version_by_alias(name, CHAMPION).version)


def child_runs(uri: str, parent_id: str) -> dict[str, Any]:
    """The parent's child runs by their ``candidate`` tag."""
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_run(parent_id).info.experiment_id
    children = client.search_runs(
        [experiment], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    by_candidate = {run.data.tags["candidate"]: run for run in children}
    assert len(by_candidate) == len(children), "one child run per candidate"
    return by_candidate


@pytest.fixture(scope="module", autouse=True)
def _restore_mlflow_globals() -> Iterator[None]:
    """``mlflow.set_tracking_uri`` (called by the product and here) also exports
    ``MLFLOW_TRACKING_URI``: give later test modules back the environment they had."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    yield
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def funnel_dir(funnels: Funnels) -> Path:
    """Generated leads, events and outcomes (2025), leads with their PII columns kept."""
    return funnels.folder(N_LEADS, SEED)


@dataclass(frozen=True)
class Configs:
    base: Path
    worse: Path


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> Configs:
    folder = tmp_path_factory.mktemp("config")
    (folder / "base.yaml").write_text(BASE_CONFIG)
    (folder / "worse.yaml").write_text(WORSE_CONFIG)
    return Configs(folder / "base.yaml", folder / "worse.yaml")


@dataclass(frozen=True)
class Step:
    result: dict[str, Any]
    champion: str


@dataclass(frozen=True)
class Scenario:
    uri: str
    first: Step
    retrain: Step
    worse: Step


@pytest.fixture(scope="module")
def scenario(
    mlflow_server: str,
    funnel_dir: Path,
    configs: Configs,
    tmp_path_factory: pytest.TempPathFactory,
) -> Scenario:
    """Train as of T1, retrain as of T2, then a crippled candidate as of T2: three versions."""
    common = (
        "--data",
        funnel_dir,
        "--model-card",
        tmp_path_factory.mktemp("cards") / "card.html",
        "--tracking-uri",
        mlflow_server,
        "--model-name",
        SCENARIO_MODEL,
        "--experiment",
        SCENARIO_EXPERIMENT,
        "--json",
    )
    steps = []
    for as_of, config in ((T1, configs.base), (T2, configs.base), (T2, configs.worse)):
        summary = succeeded(run_cli("train", "--as-of", as_of, "--config", config, *common))
        steps.append(Step(summary, champion_of(mlflow_server, SCENARIO_MODEL)))
    return Scenario(mlflow_server, *steps)


@dataclass(frozen=True)
class LocalRun:
    folder: Path
    result: dict[str, Any]


@pytest.fixture(scope="module")
def local_run(
    funnel_dir: Path, configs: Configs, tmp_path_factory: pytest.TempPathFactory
) -> LocalRun:
    """The scenario's first step with no tracking URI anywhere: the working directory's store."""
    folder = tmp_path_factory.mktemp("local-store")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.delenv("MLFLOW_REGISTRY_URI", raising=False)
        summary = succeeded(
            run_cli(
                "train",
                "--data",
                funnel_dir,
                "--as-of",
                T1,
                "--config",
                configs.base,
                "--model-name",
                LOCAL_MODEL,
                "--json",
            )
        )
    return LocalRun(folder, summary)


# ---- the retrain scenario against a real server -------------------------------------------------


@pytest.mark.server
def test_first_version_becomes_champion(scenario: Scenario) -> None:
    first = scenario.first.result
    assert first["version"] == "1"
    assert first["promoted"] is True
    assert first["promotion"] == "no champion yet: the new version becomes champion"
    assert scenario.first.champion == "1"
    version = MlflowClient(tracking_uri=scenario.uri).get_model_version(SCENARIO_MODEL, "1")
    assert version.run_id == first["run_id"]


@pytest.mark.server
def test_retrain_registers_version_two_and_the_gate_decides(scenario: Scenario) -> None:
    retrain = scenario.retrain.result
    assert retrain["version"] == "2"
    assert retrain["served_model"] == "lightgbm"
    promotion = retrain["promotion"]
    found = re.match(
        r"log loss (\d\.\d{4}) (?:does not beat|beats) the champion \((\d\.\d{4})\)", promotion
    )
    assert found, f"the decision names both losses, re-measured on the same rows: {promotion}"
    assert f"test rows from {T1} on, whose outcomes neither had learned" in promotion or (
        "served against served" in promotion
    ), "the champion (trained as of T1) is judged on rows it never learned from, if enough"
    assert retrain["promoted"] is (float(found.group(1)) < float(found.group(2)))
    assert scenario.retrain.champion == ("2" if retrain["promoted"] else "1")
    tags = MlflowClient(tracking_uri=scenario.uri).get_run(retrain["run_id"]).data.tags
    assert tags["registered_version"] == "2"
    assert tags["promoted"] == str(retrain["promoted"]).lower()
    assert tags["promotion"] == retrain["promotion"]


@pytest.mark.server
def test_worse_candidate_is_registered_but_not_promoted(scenario: Scenario) -> None:
    worse = scenario.worse.result
    assert worse["version"] == "3"
    assert worse["promoted"] is False
    assert "beat" in worse["promotion"], worse["promotion"]  # says what it failed to beat
    assert scenario.worse.champion == scenario.retrain.champion
    client = MlflowClient(tracking_uri=scenario.uri)
    assert client.get_model_version(SCENARIO_MODEL, "3").run_id == worse["run_id"]
    tags = client.get_run(worse["run_id"]).data.tags
    assert (tags["registered_version"], tags["promoted"]) == ("3", "false")
    assert tags["promotion"] == worse["promotion"]


@pytest.mark.server
def test_run_logs_every_candidate_with_bounds_and_the_artifacts(scenario: Scenario) -> None:
    first = scenario.first.result
    children = child_runs(scenario.uri, first["run_id"])
    assert set(children) == set(first["metrics"])
    client = MlflowClient(tracking_uri=scenario.uri)
    table = pd.read_csv(
        mlflow.artifacts.download_artifacts(
            run_id=first["run_id"], artifact_path="comparison.csv", tracking_uri=scenario.uri
        )
    ).set_index("model")
    for candidate, run in children.items():
        logged = run.data.metrics
        for metric in METRICS:
            low, high = logged[f"{metric}_low"], logged[f"{metric}_high"]
            assert low < high, (candidate, metric)
            assert (low, high) == pytest.approx(
                (table.loc[candidate, f"{metric}_low"], table.loc[candidate, f"{metric}_high"])
            ), "the child run and the comparison table hold the same interval"
        point = {k: v for k, v in logged.items() if not k.endswith(("_low", "_high"))}
        assert point == first["metrics"][candidate], candidate
    top = {a.path for a in client.list_artifacts(first["run_id"])}
    assert set(PARENT_ARTIFACTS) <= top
    plots = [a.path for a in client.list_artifacts(first["run_id"], "plots")]
    assert plots and all(p.endswith(".png") for p in plots)
    params = client.get_run(first["run_id"]).data.params
    assert params["tracking.model_name"] == SCENARIO_MODEL
    assert params["labels.horizon_days"] == "30"


@pytest.mark.server
def test_shap_summary_plot_is_logged(scenario: Scenario) -> None:
    client = MlflowClient(tracking_uri=scenario.uri)
    plots = [a.path for a in client.list_artifacts(scenario.first.result["run_id"], "plots")]
    assert any("shap" in p.lower() for p in plots), plots


# ---- the local default store ---------------------------------------------------------------------


def test_without_a_tracking_uri_runs_go_to_mlflow_db_in_the_working_directory(
    local_run: LocalRun,
) -> None:
    database = local_run.folder.resolve() / "mlflow.db"
    assert database.is_file()
    uri = f"sqlite:///{database}"
    assert local_run.result["tracking_uri"] == uri
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(local_run.result["run_id"])
    assert run.info.status == "FINISHED"
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= set(PARENT_ARTIFACTS)
    assert local_run.result["version"] == "1" and local_run.result["promoted"] is True
    assert champion_of(uri, LOCAL_MODEL) == "1"
    # the artifacts live beside the database, not in some other working directory
    assert Path(run.info.artifact_uri.removeprefix("file://")).is_relative_to(
        local_run.folder.resolve()
    )


# ---- determinism ---------------------------------------------------------------------------------


@pytest.mark.server
def test_same_data_config_and_seed_log_identical_metrics(
    scenario: Scenario, local_run: LocalRun
) -> None:
    """The scenario's first run (server) and the local run: same data, config, seed and as-of."""
    on_server = child_runs(scenario.uri, scenario.first.result["run_id"])
    local_uri = local_run.result["tracking_uri"]
    locally = child_runs(local_uri, local_run.result["run_id"])
    assert set(on_server) == set(locally) and len(on_server) >= 3
    for candidate, run in on_server.items():
        assert run.data.metrics == locally[candidate].data.metrics, candidate
    assert scenario.first.result["metrics"] == local_run.result["metrics"]


# ---- no PII anywhere MLflow keeps things ----------------------------------------------------------


@dataclass(frozen=True)
class Pii:
    """Values from the input's PII columns: sampled emails and phones (searched as raw bytes, so
    they are found inside any encoding that keeps text), every first and last name (searched as
    whole words; in binary files only names of 4+ letters, since shorter ones occur by chance)."""

    emails: tuple[str, ...]
    phones: tuple[str, ...]
    names: frozenset[str]

    @classmethod
    def sample(cls, leads: pd.DataFrame) -> Pii:
        rng = np.random.default_rng(0)

        def some(column: str) -> tuple[str, ...]:
            values = leads[column].dropna().astype(str).unique()
            values = values[[len(v) >= 6 for v in values]]
            return tuple(rng.choice(values, min(PII_SAMPLE, len(values)), replace=False))

        names = pd.concat([leads[FIRST_NAME], leads[LAST_NAME]]).dropna().astype(str)
        return cls(some(EMAIL), some(PHONE), frozenset(names.unique()))

    def found_in(self, data: bytes, names: bool = True) -> list[str]:
        hits = [v for v in (*self.emails, *self.phones) if v.encode() in data]
        if names:
            try:
                data.decode("utf-8")
                shortest = 1
            except UnicodeDecodeError:
                shortest = 4
            words = {w.decode() for w in re.findall(rb"[A-Za-z]+", data)}
            hits += sorted(n for n in words & self.names if len(n) >= shortest)
        return hits


def _without_embedded_images(data: bytes) -> tuple[bytes, list[bytes]]:
    """HTML with its base64 images cut out (random letters in base64 read as names), and the
    decoded images, which are scanned as binary files."""
    pattern = rb"data:image/png;base64,([A-Za-z0-9+/=]+)"
    images = [base64.b64decode(m) for m in re.findall(pattern, data)]
    return re.sub(pattern, b"", data), images


def _packaged_source(path: Path, root: Path) -> bool:
    """The package's own code inside a model (``code_paths``): it legitimately holds the synthetic
    generator's name vocabulary, so only emails and phones are searched there."""
    return "code" in path.relative_to(root).parts and path.suffix in (".py", ".pyc")


@pytest.mark.server
def test_no_pii_in_runs_models_or_scores(
    scenario: Scenario, funnel_dir: Path, tmp_path: Path
) -> None:
    leads = pd.read_parquet(funnel_dir / "leads.parquet")
    assert {EMAIL, FIRST_NAME, LAST_NAME, PHONE} <= set(leads.columns)
    pii = Pii.sample(leads)
    assert len(pii.emails) == len(pii.phones) == PII_SAMPLE and len(pii.names) > 50
    raw = leads.to_csv(index=False).encode()
    assert set(pii.found_in(raw)) == {*pii.emails, *pii.phones, *pii.names}, "the scan finds PII"
    uri = scenario.uri
    scores = tmp_path / "scores.parquet"
    scored = succeeded(
        run_cli(
            "score",
            "--data",
            funnel_dir,
            "--output",
            scores,
            "--model",
            f"models:/{SCENARIO_MODEL}@{CHAMPION}",
            "--tracking-uri",
            uri,
            "--json",
        )
    )
    assert scored["rows"] > 0

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(SCENARIO_EXPERIMENT)
    assert experiment is not None
    training_runs = client.search_runs([experiment.experiment_id])
    assert len(training_runs) == 3 * (1 + len(scenario.first.result["metrics"]))
    # every run in the store: the training runs and whatever ``score`` recorded
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    if "run_id" in scored:  # the scoring run, when score records one
        assert scored["run_id"] in {r.info.run_id for r in runs}
    roots: list[Path] = []
    metadata: list[Any] = []
    for run in runs:
        roots.append(
            Path(
                mlflow.artifacts.download_artifacts(
                    run_id=run.info.run_id,
                    dst_path=str(tmp_path / "runs" / run.info.run_id),
                    tracking_uri=uri,
                )
            )
        )
        metadata.append([run.info.run_name, run.data.params, run.data.tags])
    versions = client.search_model_versions(f"name = '{SCENARIO_MODEL}'")
    assert sorted(v.version for v in versions) == ["1", "2", "3"]
    for version in versions:
        roots.append(
            Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=f"models:/{SCENARIO_MODEL}/{version.version}",
                    dst_path=str(tmp_path / "models" / version.version),
                    tracking_uri=uri,
                )
            )
        )
        metadata.append([version.description, version.tags, version.aliases])

    leaks: dict[str, list[str]] = {}
    scanned = 0
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            content, images = _without_embedded_images(path.read_bytes())
            found = pii.found_in(content, names=not _packaged_source(path, root))
            found += [hit for image in images for hit in pii.found_in(image)]
            scanned += 1
            if found:
                leaks[str(path.relative_to(tmp_path))] = found[:5]
    assert scanned > 50, "the models' files, the runs' artifacts"
    assert any(p.name == "served_model.joblib" for r in roots for p in r.rglob("*"))
    text = json.dumps(metadata, default=str).encode()
    if found := pii.found_in(text):
        leaks["run and model version params/tags"] = found[:5]
    written = pd.read_parquet(scores)
    if found := pii.found_in(written.astype(str).to_csv(index=False).encode()):
        leaks[scores.name] = found[:5]
    assert not leaks, f"PII found: {leaks}"


# ---- the packaged model ----------------------------------------------------------------------------


@pytest.fixture
def champion_model(scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """The champion's folder and the pyfunc loaded the way the contract says, tracking URI set."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", scenario.uri)
    mlflow.set_tracking_uri(scenario.uri)
    model_uri = f"models:/{SCENARIO_MODEL}@{CHAMPION}"
    folder = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(tmp_path))
    )
    return folder, mlflow.pyfunc.load_model(model_uri)


@pytest.mark.server
def test_champion_loads_as_pyfunc_and_predicts_the_contract_columns(
    champion_model: Any,
) -> None:
    folder, model = champion_model
    example = Model.load(str(folder)).load_input_example(str(folder))
    assert isinstance(example, pd.DataFrame) and len(example) > 0
    assert example.columns[0] == schema.LEAD_ID
    assert not {EMAIL, FIRST_NAME, LAST_NAME, PHONE, "company"} & set(example.columns)
    assert example[schema.LEAD_ID].str.startswith("example-").all()

    scored = model.predict(example)
    assert isinstance(scored, pd.DataFrame)
    assert list(scored.columns) == list(SCORE_COLUMNS)
    assert scored[schema.LEAD_ID].tolist() == example[schema.LEAD_ID].tolist()
    assert scored[schema.PROBABILITY].between(0, 1).all()
    for column in (schema.SCORE, schema.FIT_SCORE, schema.INTENT_SCORE):
        assert scored[column].between(0, 100).all(), column
    assert set(scored[schema.TIER]) <= set(schema.TIERS)
    for reasons in scored[schema.REASONS]:
        parsed = json.loads(reasons)
        assert 0 < len(parsed) <= 5
        assert all(set(r) == {"feature", "value", "impact", "text"} for r in parsed)


@pytest.mark.server
def test_pyfunc_passes_as_of_through(champion_model: Any) -> None:
    folder, model = champion_model
    example = Model.load(str(folder)).load_input_example(str(folder))
    scored = model.predict(example.assign(**{schema.AS_OF: "2025-12-31T00:00:00Z"}))
    assert (scored[schema.AS_OF] == pd.Timestamp("2025-12-31", tz="UTC")).all()


def test_the_data_fingerprint_holds_however_a_source_typed_its_instants_and_changes_with_them(
    funnels: Funnels,
) -> None:
    from dataclasses import replace

    from predictive_scoring.tracking.runs import data_fingerprint

    data = funnels.data(300, 4)
    events = data.events
    paris = events.assign(
        **{
            schema.OCCURRED_AT: events[schema.OCCURRED_AT]
            .astype("datetime64[ns, UTC]")
            .dt.tz_convert("Europe/Paris")
        }
    )
    moved = events.copy()
    moved.loc[moved.index[0], schema.OCCURRED_AT] += pd.Timedelta(microseconds=1)
    digest = data_fingerprint(data, None, 30)["content_sha256"]
    assert data_fingerprint(replace(data, events=paris), None, 30)["content_sha256"] == digest
    assert data_fingerprint(replace(data, events=moved), None, 30)["content_sha256"] != digest
