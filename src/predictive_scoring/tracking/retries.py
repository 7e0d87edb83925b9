"""How hard a job tries a tracking server that does not answer: a bounded retry budget.

MLflow's own defaults retry an HTTP request seven times with a doubling back-off and wait up to
120 s for each answer: a tracking server that is down holds a nightly job for about four minutes
before it fails, with nothing on the terminal.  A job instead gets ``tracking.retry_seconds`` of
back-off in all (default 10 s: three retries that sleep 0, 2 and 4 s) and ``tracking.timeout_seconds`` for each
answer (default 10 s), and says once on the terminal that it is waiting.  A refused connection or
a 5xx answer therefore fails the job after about ``retry_seconds``; a server that accepts
connections and never answers after ``(retries + 1) × timeout_seconds + back-off`` (46 s by
default).  Shorter request timeouts would cost more than they save: MLflow retries a request
that timed out, and a retried ``create`` can register a second version.
MLflow's variables (``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` and the others below), when set in the
environment, win over the config.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
from collections.abc import Iterator

from predictive_scoring.config import TrackingConfig
from predictive_scoring.data.sources import describe_source
from predictive_scoring.errors import RegistryError, first_line

__all__ = [
    "BACKOFF_S",
    "RetryNotice",
    "bound_retries",
    "briefly",
    "retries_within",
    "server_reason",
    "tracking_failure",
]

BACKOFF_S = 1
"""MLflow's back-off factor: the retries after the first sleep 2, 4, 8 ... times this."""

_NOTICE_LOGGER = "predictive_scoring.tracking"


def retries_within(budget_s: float) -> int:
    """How many retries fit in ``budget_s`` of back-off (their sleeps are 0, 2, 4, ... s)."""
    if budget_s <= 0:
        return 0
    return max(1, int(math.log2(budget_s / BACKOFF_S + 2)))


_VARIABLES = (
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER",
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
)
_USER_SET = frozenset(k for k in _VARIABLES if k in os.environ)
"""The variables the user set before the process started: they win over every config."""


def bound_retries(config: TrackingConfig) -> None:
    """Give MLflow's HTTP client this job's retry budget (MLflow's variables, when the user set
    them before the process started, win; a later job of the same process sets its own)."""
    settings = {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(retries_within(config.retry_seconds)),
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": str(BACKOFF_S),
        "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, math.ceil(config.timeout_seconds))),
    }
    for key, value in settings.items():
        if key not in _USER_SET:
            os.environ[key] = value
    RetryNotice.budget_s = config.retry_seconds


BRIEF_TIMEOUT_S = 5


@contextlib.contextmanager
def briefly() -> Iterator[None]:
    """Requests made while cleaning up after a failure (ending a run, correcting its tags): no
    retries and a short timeout, so a failure or a stop is not held up by a dead server."""
    saved = {k: os.environ.get(k) for k in _VARIABLES}
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    timeout = int(os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", BRIEF_TIMEOUT_S))
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(min(timeout, BRIEF_TIMEOUT_S))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class RetryNotice(logging.Handler):
    """urllib3's "Retrying ..." records become one line of ours: the job is waiting, not hung."""

    budget_s: float = 0.0
    told = False

    def emit(self, record: logging.LogRecord) -> None:
        if RetryNotice.told or not record.getMessage().startswith("Retry"):
            return
        RetryNotice.told = True
        logging.getLogger(_NOTICE_LOGGER).warning(
            "the tracking server is not answering; retrying for up to %g s "
            "(tracking.retry_seconds)",
            RetryNotice.budget_s,
        )

    @classmethod
    def install(cls) -> None:
        """Listen to urllib3's connection pools (once per process)."""
        pool = logging.getLogger("urllib3.connectionpool")
        pool.setLevel(logging.DEBUG)  # a retry after a 5xx answer is logged at DEBUG
        pool.propagate = False
        if not any(isinstance(h, cls) for h in pool.handlers):
            pool.addHandler(cls())


_CAUSES: tuple[tuple[str, str], ...] = (
    (r"Name or service not known|nodename nor servname", "its host name is unknown"),
    (r"\[Errno -?\d+\] ([^\"')(]+)", "{0}"),
    (r"Read timed out", "no answer within {timeout} s"),
    (r"too many (\d+) error responses", "it answered HTTP {0} to every retry"),
    (r"ConnectTimeout|timed out", "no answer within {timeout} s"),
    (r"Connection aborted|RemoteDisconnected", "it closed the connection without an answer"),
)


def server_reason(exc: BaseException) -> str:
    """Why a request to the tracking server failed, in a few words: MLflow's message for a
    request that ran out of retries is urllib3's whole chain of wrapped exceptions."""
    text = str(exc)
    if "Max retries exceeded" not in text and "API request to" not in text:
        return first_line(exc)
    for pattern, reason in _CAUSES:
        found = re.search(pattern, text)
        if found:
            retries = os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "")
            timeout = os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", "?")
            said = reason.format(*(g.strip().lower() for g in found.groups()), timeout=timeout)
            return said + (f" ({retries} retries)" if retries else "")
    return first_line(exc)


def tracking_failure(
    what: str, uri: str, exc: BaseException, preposition: str = "at"
) -> RegistryError:
    """The one-line error (exit 4) for a request to the tracking store at ``uri`` that failed
    while doing ``what``: the store named without its password, the cause in a few words."""
    return RegistryError(
        f"cannot {what} {preposition} {describe_source(uri)}: {server_reason(exc)}"
    )
