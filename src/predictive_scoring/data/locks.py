"""One run at a time per destination: a scheduler that retries, or two jobs started at once, queue
instead of racing.

A run holds its destination's lock from reading the destination's history to the end of its
write, so two runs of the same as-of leave one copy of it and two runs of different as-ofs both
keep their rows (without the lock, the later rename of a rewritten file would drop the other's).

- A file (Parquet, CSV) and a local database file (DuckDB, SQLite): an exclusive ``flock`` on
  ``.<name>.lock`` beside it.  The lock file stays (it is empty); the lock itself goes with the
  process that held it, however that process ends, so a killed run never leaves a stale lock.
- PostgreSQL: a session advisory lock keyed by the table's name, held on a connection of its own;
  it too ends with the session.  Other database servers are not locked (documented): their writes
  are one transaction each, so a second run's rows replace the first's.

A second run waits, saying so once on the terminal, and gives up after ``timeout_s`` with
:class:`~predictive_scoring.errors.DestinationBusyError` (exit 1).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from predictive_scoring.data.outputs import Destination, describe_output
from predictive_scoring.data.sources import sqlalchemy_url
from predictive_scoring.errors import DestinationBusyError, OutputError, first_line, os_reason

__all__ = [
    "POLL_S",
    "TIMEOUT_SETTING",
    "advisory_key",
    "destination_lock",
    "file_lock",
    "local_database",
    "lock_path",
]

POLL_S = 0.1
"""How often a waiting run tries the lock again."""
TIMEOUT_SETTING = "scoring.lock_timeout_seconds"


def lock_path(destination: Destination) -> Path | None:
    """The lock file of a file or local database destination (``None`` for a database server)."""
    local = destination.path
    if local is None and destination.url is not None:
        local = local_database(destination.url)
    if local is None:
        return None
    return local.with_name(f".{local.name}.lock")


def _backend(url: str) -> tuple[str, str]:
    """A database URL's backend (lower case: ``sqlite``, ``duckdb``, ``postgresql``, ...) and
    database (a file's path for the local ones), however its scheme is spelled."""
    import sqlalchemy as sa

    parsed = sa.engine.make_url(sqlalchemy_url(url))
    return parsed.get_backend_name().lower(), parsed.database or ""


def local_database(url: str) -> Path | None:
    """The file of a DuckDB or SQLite URL (``None`` for a server, or an in-memory database)."""
    backend, database = _backend(url)
    if backend not in ("duckdb", "sqlite") or database in ("", ":memory:"):
        return None
    return Path(database)


@contextlib.contextmanager
def destination_lock(
    destination: Destination, timeout_s: float, waiting: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold ``destination``'s lock for the block; ``waiting(message)`` is called once if another
    run holds it."""
    shown = _shown(destination)
    path = lock_path(destination)
    if path is not None:
        with file_lock(path, shown, timeout_s, waiting):
            yield
        return
    assert destination.url is not None
    if _backend(destination.url)[0] != "postgresql":
        yield
        return
    with _advisory_lock(destination, shown, timeout_s, waiting):
        yield


def _shown(destination: Destination) -> str:
    if destination.path is not None:
        return str(destination.path)
    assert destination.url is not None
    return describe_output(f"{destination.url}#{destination.table}")


def _wait(
    attempt: Callable[[], bool],
    shown: str,
    timeout_s: float,
    waiting: Callable[[str], None] | None,
    setting: str = TIMEOUT_SETTING,
) -> None:
    """Call ``attempt`` until it takes the lock or ``timeout_s`` has passed."""
    deadline = time.monotonic() + timeout_s
    told = False
    while not attempt():
        if time.monotonic() >= deadline:
            raise DestinationBusyError(
                f"another run holds {shown}: gave up after waiting {timeout_s:g} s"
                + (f" ({setting})" if setting else "")
            )
        if not told and waiting is not None:
            waiting(f"another run holds {shown}: waiting for it (up to {timeout_s:g} s)")
            told = True
        time.sleep(POLL_S)


@contextlib.contextmanager
def file_lock(
    path: Path,
    shown: str,
    timeout_s: float,
    waiting: Callable[[str], None] | None = None,
    setting: str = TIMEOUT_SETTING,
) -> Iterator[None]:
    """An exclusive ``flock`` on the file ``path`` (made if absent) for the block; ``shown`` names
    what it guards in the messages, ``setting`` the config key of ``timeout_s`` (if any)."""
    import fcntl

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # read-only is enough for flock; 0o666 (less the umask) lets the group's other users
        # take the lock a first user's run made
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)
    except OSError as exc:  # a read-only or full folder: nothing could be written there anyway
        raise OutputError(f"cannot write {shown}: {os_reason(exc)} (at {path})") from None
    try:

        def attempt() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            except OSError as exc:  # a file system without locks (some NFS mounts)
                raise OutputError(f"cannot lock {shown}: {os_reason(exc)} (at {path})") from None
            return True

        _wait(attempt, shown, timeout_s, waiting, setting)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _refused(shown: str) -> Iterator[None]:
    """A database that cannot be reached or refuses the lock: one line, exit 1."""
    import sqlalchemy as sa

    try:
        yield
    except sa.exc.DBAPIError as exc:
        raise OutputError(f"cannot lock {shown}: {first_line(exc.orig or exc)}") from None


def advisory_key(table: str) -> int:
    """A signed 64-bit key for ``table``'s advisory lock (stable across processes and versions)."""
    digest = hashlib.sha256(f"predictive-scoring:{table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def _advisory_lock(
    destination: Destination, shown: str, timeout_s: float, waiting: Callable[[str], None] | None
) -> Iterator[None]:
    import sqlalchemy as sa

    assert destination.url is not None
    engine = sa.create_engine(sqlalchemy_url(destination.url), poolclass=sa.pool.NullPool)
    key = advisory_key(destination.table)
    try:
        with _refused(shown), engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")

            def attempt() -> bool:
                with _refused(shown):
                    taken: Any = connection.execute(
                        sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}
                    ).scalar()
                return bool(taken)

            _wait(attempt, shown, timeout_s, waiting)
            try:
                yield
            finally:
                with contextlib.suppress(sa.exc.DBAPIError):
                    connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        engine.dispose()
