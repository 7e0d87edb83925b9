"""A real MLflow tracking server for tests: SQLite backend, proxied local artifacts, own process group.

Use the module-scoped ``mlflow_server`` fixture (it yields ``http://127.0.0.1:<port>``), or the
``serve_mlflow`` context manager directly.  The server is the venv's own ``mlflow`` binary; it is
stopped by killing its whole process group, so no uvicorn worker outlives the test module.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

HEALTH_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 5.0  # graceful SIGTERM first, then SIGKILL


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(log: Path, chars: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no server log)"


def _healthy(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)
    # uvicorn workers share the group: make sure none of them survives the leader
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def serve_mlflow(folder: Path, timeout_s: float = HEALTH_TIMEOUT_S) -> Iterator[str]:
    """Run ``mlflow server`` with its store in ``folder``; yield its URI once ``/health`` is OK."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    binary = Path(sys.executable).with_name("mlflow")
    command = [
        str(binary),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{(folder / 'mlflow.db').resolve()}",
        "--artifacts-destination",
        str((folder / "artifacts").resolve()),
        "--workers",
        "1",
    ]
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    log = folder / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout_s
        while not _healthy(uri):
            if process.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited with code {process.returncode} before it was "
                    f"healthy:\n{_log_tail(log)}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"mlflow server not healthy after {timeout_s:.0f} s:\n{_log_tail(log)}"
                )
            time.sleep(0.25)
        yield uri
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real tracking server for the whole test module; its URI."""
    with serve_mlflow(tmp_path_factory.mktemp("mlflow-server")) as uri:
        yield uri
