"""Faults a nightly job meets, injected for real and run through the command line (README
"Operations"): a tracking server that fails or dies mid-run, a full disk, two runs at once, a
signal mid-score, a damaged or incompatible model.  Each checks the exit code, one line without
a traceback, previous outputs byte-identical, no stray temporary files and the champion alias.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from predictive_scoring.errors import OutputError
from predictive_scoring.reports.html import write_page
from predictive_scoring.tracking import CHAMPION
from tests.conftest import Funnels
from tests.fault_proxy import Fault, fault_proxy
from tests.mlflow_server import serve_mlflow

MODEL = "faults"
SERVED = f"models:/{MODEL}@champion"
FAST = (
    "models:\n  num_threads: 1\n  candidates: [lightgbm]\n"
    "tracking:\n  retry_seconds: 1\n  timeout_seconds: 5\n"
)
"""One candidate and one thread keep each training short; one retry keeps each fault short."""
FIRST, LATER = "2025-10-01", "2025-12-31"  # a later as-of is promoted over the first


def run_cli(*args: object, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The command line as a scheduler runs it: its own process, its exit code."""
    command = [sys.executable, "-m", "predictive_scoring", *map(str, args)]
    env = job_env()
    return subprocess.run(
        command, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout, check=False
    )


def job_env() -> dict[str, str]:
    """A scheduler's environment: none of the MLflow settings that in-process jobs of this test
    session exported (a job takes its retry budget from its config)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
        "PYTHONUNBUFFERED": "1",
    }


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a failed command (asserting that there is no traceback)."""
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    return errors[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stray_files(folder: Path) -> list[Path]:
    """Temporary files a run left (a destination's lock file is not one: it stays, empty)."""
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


@dataclass
class Store:
    """A real tracking server whose champion is version 1 of :data:`MODEL`."""

    uri: str
    folder: Path
    data: Path
    config: Path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, funnels: Funnels) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("faults")
    config = folder / "fast.yaml"
    config.write_text(FAST)
    data = funnels.folder(2000, 2)
    with serve_mlflow(folder / "server") as uri:
        trained = run_cli(
            "train", "--data", data, "--tracking-uri", uri, "--model-name", MODEL,
            "--config", config, "--as-of", FIRST, "--model-card", folder / "card.html",
            cwd=folder,
        )  # fmt: skip
        assert trained.returncode == 0, trained.stderr[-3000:]
        yield Store(uri, folder, data, config)


def champion(uri: str) -> str:
    return str(MlflowClient(tracking_uri=uri).get_model_version_by_alias(MODEL, CHAMPION).version)


def _train_later(store: Store, uri: str, card: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "train", "--data", store.data, "--tracking-uri", uri, "--model-name", MODEL,
        "--config", store.config, "--as-of", LATER, "--model-card", card, cwd=card.parent,
    )  # fmt: skip


@pytest.mark.slow
def test_a_tracking_server_failing_mid_train_exits_4_and_moves_no_alias(
    store: Store, tmp_path: Path
) -> None:
    """The connection drops as the alias is to move, the last step (answers of HTTP 500 are
    met by ``score`` below; the server killed earlier in the run by the next test)."""
    fault = Fault("POST /api/2.0/mlflow/registered-models/alias", "drop")
    with fault_proxy(store.uri, fault) as proxied:
        result = _train_later(store, proxied, tmp_path / "card.html")
    assert fault.tripped, fault.seen[-5:]
    assert result.returncode == 4, result.stderr[-3000:]
    assert f"at {proxied}:" in one_line_error(result)
    assert "promoted to champion" not in result.stdout
    assert not (tmp_path / "card.html").exists(), "no model card claims a promotion"
    assert champion(store.uri) == "1"
    client = MlflowClient(tracking_uri=store.uri)
    newest = max(client.search_model_versions(f"name = '{MODEL}'"), key=lambda v: int(v.version))
    assert newest.version != "1", "registered (not served)"
    run = client.get_run(newest.run_id)
    assert run.data.tags.get("promoted") != "true", "the run claims no promotion"
    # (a run whose server failed mid-run stays RUNNING there: nothing can end it there then)


@pytest.mark.slow
def test_a_tracking_server_killed_mid_train_exits_4_and_moves_no_alias(
    store: Store, tmp_path: Path
) -> None:
    """The store's own server is killed once the models are compared; a new server on the same
    store then shows the champion unmoved."""
    shutil.copytree(store.folder / "server", tmp_path / "server")
    card = tmp_path / "card.html"
    with serve_mlflow(tmp_path / "server") as uri:
        command = [
            sys.executable, "-m", "predictive_scoring", "train", "--data", str(store.data),
            "--tracking-uri", uri, "--model-name", MODEL, "--config", str(store.config),
            "--as-of", LATER, "--model-card", str(card),
        ]  # fmt: skip
        env = job_env()
        train = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
            env=env,
        )  # fmt: skip
        assert train.stdout is not None
        for line in train.stdout:
            if line.startswith("Served:"):  # compared: next it logs and registers
                break
        server = _server_process(uri)
        os.killpg(server, signal.SIGKILL)
        _, err = train.communicate(timeout=120)
    result = subprocess.CompletedProcess(command, train.returncode, "", err)
    assert result.returncode == 4, err[-3000:]
    assert f"at {uri}:" in one_line_error(result)
    assert not card.exists()
    with serve_mlflow(tmp_path / "server") as again:
        assert champion(again) == "1"


def _server_process(uri: str) -> int:
    """The process group of the ``mlflow server`` listening at ``uri`` (found by its port)."""
    port = uri.rsplit(":", 1)[1]
    found = subprocess.run(
        ["pgrep", "-f", f"mlflow server .*--port {port}"], capture_output=True, text=True
    )
    pids = [int(p) for p in found.stdout.split()]
    assert pids, f"no mlflow server on port {port}"
    return os.getpgid(pids[0])


def test_score_with_the_tracking_server_down_exits_4_quickly_leaving_the_output(
    store: Store, tmp_path: Path
) -> None:
    output = tmp_path / "scores.parquet"
    first = run_cli(
        "score", "--data", store.data, "--tracking-uri", store.uri, "--model", SERVED,
        "--config", store.config, "--output", output, cwd=tmp_path,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-3000:]
    before = digest(output)
    started = time.monotonic()
    down = run_cli(
        "score", "--data", store.data, "--tracking-uri", "http://127.0.0.1:9",
        "--model", SERVED, "--config", store.config, "--output", output, cwd=tmp_path,
    )  # fmt: skip
    assert down.returncode == 4
    assert "http://127.0.0.1:9" in one_line_error(down) and "connection refused" in down.stderr
    assert "retrying for up to 1 s" in down.stderr, "the wait is said on the terminal"
    assert time.monotonic() - started < 30, "a bounded retry budget, not MLflow's four minutes"
    assert digest(output) == before and not stray_files(tmp_path)
    fault = Fault("GET /api/2.0/mlflow/registered-models/alias", "500")
    with fault_proxy(store.uri, fault) as proxied:
        failing = run_cli(
            "score", "--data", store.data, "--tracking-uri", proxied, "--model", SERVED,
            "--config", store.config, "--output", output, cwd=tmp_path,
        )  # fmt: skip
    assert fault.tripped and failing.returncode == 4
    assert f"from {proxied}: it answered HTTP 500 to every retry" in one_line_error(failing)
    assert digest(output) == before and not stray_files(tmp_path)


# ---- outputs: a full disk, two runs at once, a signal mid-score --------------------------------

RULES = Path(__file__).parents[1] / "configs" / "rules-demo.yaml"
"""A points rules file: these faults are in writing, which rules and models share."""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a tmpfs of 3 MB (needs root, as in CI; otherwise skipped)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path, leave: int) -> None:
    """Fill ``folder``'s file system but for ``leave`` bytes."""
    free = shutil.disk_usage(folder).free
    with open(folder / "ballast", "wb") as handle:
        handle.write(b"\0" * max(0, free - leave))


@pytest.mark.parametrize(
    "where", ["scores.parquet", "scores.csv", "sqlite:///{}/s.db#t", "duckdb:///{}/s.duckdb#t"]
)
def test_a_full_disk_exits_1_naming_the_path_and_keeps_the_previous_scores(
    where: str, small_disk: Path, funnels: Funnels, cli: Any
) -> None:
    output = where.format(small_disk) if "://" in where else str(small_disk / where)
    data = funnels.folder(2000, 2)
    common = ("score", "--data", data, "--rules", RULES, "--output", output)
    assert cli(*common, "--as-of", "2025-11-01").code == 0
    written = sorted(p for p in small_disk.iterdir() if not p.name.startswith("."))
    before = {p: digest(p) for p in written}
    _fill(small_disk, leave=20_000)
    result = cli(*common, "--as-of", "2025-12-01")
    assert result.code == 1, result.err
    line = one_line_error(subprocess.CompletedProcess([], 1, "", result.err))
    assert "No space left on device" in line or "disk is full" in line, line
    assert output.split("#")[0].removeprefix("sqlite:///").removeprefix("duckdb:///") in line
    assert {p: digest(p) for p in written} == before, "the previous output is intact"
    assert not stray_files(small_disk)


def test_a_read_only_destination_exits_1_naming_it(
    small_disk: Path, funnels: Funnels, cli: Any
) -> None:
    output = small_disk / "scores.parquet"
    common = ("score", "--data", funnels.folder(2000, 2), "--rules", RULES, "--output", output)
    assert cli(*common, "--as-of", "2025-11-01").code == 0
    before = digest(output)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    result = cli(*common, "--as-of", "2025-12-01")
    assert result.code == 1, result.err
    line = one_line_error(subprocess.CompletedProcess([], 1, "", result.err))
    assert "Read-only file system" in line and str(output) in line
    assert digest(output) == before


def test_a_full_disk_for_the_quarantine_the_lead_board_or_the_model_card_exits_1_naming_it(
    small_disk: Path, funnels: Funnels, tables: Any, cli: Any
) -> None:
    tables.leads.loc[0, "lead_id"] = ""  # a bad row goes to quarantine
    data = tables.write(small_disk.parent / "bad")
    _fill(small_disk, leave=0)
    checked = cli("validate", "--data", data, "--quarantine-dir", small_disk / "q")
    assert checked.code == 1 and "No space left on device" in checked.err
    assert str(small_disk / "q") in checked.err and "Traceback" not in checked.err
    (small_disk / "ballast").unlink()
    scores = small_disk.parent / "scores.parquet"
    rules = ("score", "--data", funnels.folder(2000, 2), "--rules", RULES, "--output", scores)
    assert cli(*rules).code == 0
    _fill(small_disk, leave=0)
    board = cli("report", "--scores", scores, "--output", small_disk / "board.html")
    assert board.code == 1 and str(small_disk / "board.html") in board.err
    assert not (small_disk / "board.html").exists() and not stray_files(small_disk)
    # the model card goes through the same atomic write as every file the pipeline writes
    (small_disk / "ballast").unlink()
    card = write_page("<p>earlier</p>", small_disk / "model-card.html")
    _fill(small_disk, leave=0)
    with pytest.raises(OutputError, match=f"cannot write {card}: No space left on device"):
        write_page("<p>" + "x" * 100_000 + "</p>", card)
    assert card.read_text() == "<p>earlier</p>" and not stray_files(small_disk)


def _concurrent_pair(output: str, data: Path, cwd: Path) -> list[subprocess.CompletedProcess[str]]:
    """Two ``score`` runs of one as-of into one destination, started together."""
    env = job_env()
    command = [
        sys.executable, "-m", "predictive_scoring", "score", "--data", str(data),
        "--rules", str(RULES), "--output", output, "--as-of", "2025-12-01",
    ]  # fmt: skip
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd=cwd, env=env)
        for _ in range(2)
    ]  # fmt: skip
    outputs = [r.communicate(timeout=120) for r in runs]
    return [
        subprocess.CompletedProcess(command, r.returncode, out, err)
        for r, (out, err) in zip(runs, outputs, strict=True)
    ]


@pytest.mark.parametrize(
    "where", ["scores.parquet", "duckdb:///{}/s.duckdb#t", "sqlite:///{}/s.db#t", "postgresql"]
)
def test_two_runs_of_one_as_of_into_one_destination_both_succeed_with_one_copy(
    where: str, tmp_path: Path, funnels: Funnels, request: pytest.FixtureRequest
) -> None:
    if where == "postgresql":
        output = f"{request.getfixturevalue('postgres_url')}#lead scores"
    else:
        output = where.format(tmp_path) if "://" in where else str(tmp_path / where)
    data = funnels.folder(500, 4)
    results = _concurrent_pair(output, data, tmp_path)
    assert [r.returncode for r in results] == [0, 0], [r.stderr[-2000:] for r in results]
    from predictive_scoring.data.outputs import Destination, read_scores

    stored = read_scores(Destination.parse(output))
    assert len(stored) == stored["lead_id"].nunique() > 0, "one copy of the as-of, never two"
    assert stored["as_of"].nunique() == 1 and not stray_files(tmp_path)


def test_sigterm_mid_score_exits_143_promptly_leaving_the_previous_output(
    tmp_path: Path, funnels: Funnels
) -> None:
    import random

    output = tmp_path / "scores.parquet"
    data = funnels.folder(6000, 7)
    common = ["score", "--data", data, "--rules", RULES, "--output", output]
    assert run_cli(*common, "--as-of", "2025-11-01", cwd=tmp_path).returncode == 0
    before = digest(output)
    command = [sys.executable, "-m", "predictive_scoring", *map(str, common)]
    delay = random.Random().uniform(0.5, 4.0)
    score = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    time.sleep(delay)
    sent = time.monotonic()
    score.send_signal(signal.SIGTERM)
    _, err = score.communicate(timeout=30)
    # stopped, not run to its end; how promptly is measured by benchmarks/faults.py (0.03 to
    # 0.43 s), not here, where a loaded machine may hold a library call for seconds
    assert time.monotonic() - sent <= 15, f"stopped {time.monotonic() - sent:.1f} s after"
    if score.returncode == 0:  # it had finished before the signal: a rare, legal outcome
        return
    # -15: stopped by SIGTERM's default action, still importing (before anything is written)
    assert score.returncode in (143, -signal.SIGTERM), err[-2000:]
    assert "Traceback" not in err
    assert digest(output) == before and not stray_files(tmp_path)


# ---- a damaged or incompatible model -------------------------------------------------------------


@dataclass
class LocalStore:
    uri: str
    data: Path
    artifact: Path


@pytest.fixture(scope="module")
def local_store(tmp_path_factory: pytest.TempPathFactory, funnels: Funnels) -> LocalStore:
    """A SQLite store whose champion is the session's model of the 3,000-lead funnel, registered
    directly (its training is shared with other tests)."""
    from tests.stores import register_trained
    from tests.test_training import N_LEADS, SEED

    folder = tmp_path_factory.mktemp("local-store")
    uri = register_trained(folder, funnels, MODEL)
    (artifact,) = folder.rglob("served_model.joblib")
    return LocalStore(uri, funnels.folder(N_LEADS, SEED), artifact)


def _score(store: LocalStore, cli: Any, data: Path, output: Path, model: str = SERVED) -> Any:
    return cli(
        "score", "--data", data, "--tracking-uri", store.uri, "--model", model, "--output", output
    )


@pytest.fixture
def _mlflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow exports the URI it is given to the environment: undone after the test."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")


@pytest.mark.usefixtures("_mlflow_env")
def test_a_truncated_model_artifact_exits_4_saying_what_to_do(
    local_store: LocalStore, tmp_path: Path, cli: Any
) -> None:
    output = tmp_path / "scores.parquet"
    assert _score(local_store, cli, local_store.data, output).code == 0
    before = digest(output)
    whole = local_store.artifact.read_bytes()
    try:
        local_store.artifact.write_bytes(whole[: len(whole) // 3])
        result = _score(local_store, cli, local_store.data, output)
    finally:
        local_store.artifact.write_bytes(whole)
    assert result.code == 4, result.err
    line = one_line_error(subprocess.CompletedProcess([], 4, "", result.err))
    assert "damaged or incomplete" in line and "train again" in line
    assert digest(output) == before and not stray_files(tmp_path)


@pytest.mark.usefixtures("_mlflow_env")
def test_a_model_of_a_newer_package_version_exits_4(
    local_store: LocalStore, tmp_path: Path, cli: Any
) -> None:
    import joblib

    whole = local_store.artifact.read_bytes()
    served = joblib.load(local_store.artifact)
    served.package_version = "99.0.0"
    try:
        joblib.dump(served, local_store.artifact)
        result = _score(local_store, cli, local_store.data, tmp_path / "s.parquet")
    finally:
        local_store.artifact.write_bytes(whole)
    assert result.code == 4, result.err
    line = one_line_error(subprocess.CompletedProcess([], 4, "", result.err))
    assert "predictive-scoring 99.0.0" in line and "upgrade" in line
    assert not (tmp_path / "s.parquet").exists()


@pytest.mark.usefixtures("_mlflow_env")
def test_data_without_a_column_the_model_reads_exits_4_naming_it(
    local_store: LocalStore, tmp_path: Path, cli: Any
) -> None:
    import pandas as pd

    folder = tmp_path / "data"
    shutil.copytree(local_store.data, folder)
    leads = pd.read_parquet(folder / "leads.parquet")
    leads.drop(columns=["industry"]).to_parquet(folder / "leads.parquet")
    result = _score(local_store, cli, folder, tmp_path / "s.parquet")
    assert result.code == 4, result.err
    line = one_line_error(subprocess.CompletedProcess([], 4, "", result.err))
    assert "'industry' (absent)" in line and "train a model" in line
    leads.assign(company_size="big").to_parquet(folder / "leads.parquet")
    result = _score(local_store, cli, folder, tmp_path / "s.parquet")
    assert result.code == 4 and "'company_size' (no numbers, e.g. 'big')" in result.err
    assert not (tmp_path / "s.parquet").exists()
    # an export without emails only loses the attribute derived from them: a warning
    leads.drop(columns=["email"]).to_parquet(folder / "leads.parquet")
    result = _score(local_store, cli, folder, tmp_path / "s.parquet")
    assert result.code == 0 and "'email_domain_type', derived from an email column" in result.err
