"""A real PostgreSQL server for tests: Debian's ``postgresql`` binaries, a cluster made by
``initdb`` in a temporary folder, listening on a free port of 127.0.0.1, stopped at the end.

Use the session-scoped ``postgres_url`` fixture (it yields a ``postgresql://`` URL of an empty
database made for the test that asks; see :func:`fresh_database`).  The server refuses to run as
root, so when the tests do, the cluster belongs to the ``postgres`` user and its commands run as
that user.  Where no PostgreSQL is installed the tests that need it are skipped, unless
``PREDICTIVE_SCORING_REQUIRE_POSTGRES`` is set (``.ci/run`` sets it after installing the server),
where they fail.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mlflow_server import free_port

REQUIRE = "PREDICTIVE_SCORING_REQUIRE_POSTGRES"
SUPERUSER = "scoring"
START_TIMEOUT_S = 60


def _binaries() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (Debian keeps them off the PATH)."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "pg_ctl").exists() and (Path(folder) / "initdb").exists():
            return Path(folder)
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found else None


def _owner() -> dict[str, object]:
    """``subprocess`` arguments that run a server command as a user PostgreSQL accepts."""
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("tests run as root and there is no 'postgres' user to own the cluster")
    return {"user": "postgres", "group": "postgres"}


def _run(command: list[str], **options: object) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **options)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stdout}{result.stderr}")


@contextlib.contextmanager
def serve_postgres() -> Iterator[str]:
    """Start a throw-away cluster; yield the URL of its ``postgres`` database."""
    binaries = _binaries()
    if binaries is None:
        message = "PostgreSQL is not installed (Debian: apt-get install postgresql)"
        if os.environ.get(REQUIRE):
            pytest.fail(message)
        pytest.skip(message)
    owner = _owner()
    folder = Path(tempfile.mkdtemp(prefix="predictive-scoring-pg-"))
    data = folder / "data"
    if owner:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    _run(
        [str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8"],
        **owner,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-o", options]
    _run([*start, "-w", "-t", str(START_TIMEOUT_S), "start"], **owner)
    try:
        yield f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(RuntimeError):
            _run([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], **owner)
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(server_url: str) -> str:
    """A new empty database on the server; its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    with serve_postgres() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """An empty database of the session's server, for one test."""
    return fresh_database(postgres_server)
