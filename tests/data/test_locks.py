"""Destination locks: a second run waits, says so once, gives up after its timeout; a killed
holder frees the lock; two runs of different as-ofs into one file both keep their rows."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.data.locks import destination_lock, lock_path
from predictive_scoring.data.outputs import Destination, read_scores, write_scores
from predictive_scoring.errors import DestinationBusyError
from tests.data.test_outputs import _chunk


def test_lock_files_sit_beside_files_and_local_databases(tmp_path: Path) -> None:
    assert lock_path(Destination.parse(str(tmp_path / "s.parquet"))) == tmp_path / ".s.parquet.lock"
    duck = Destination.parse(f"duckdb:///{tmp_path}/s.duckdb#t")
    assert lock_path(duck) == tmp_path / ".s.duckdb.lock"
    assert lock_path(Destination.parse("sqlite:///rel/s.db")) == Path("rel/.s.db.lock")
    assert lock_path(Destination.parse("postgresql://u@h/db#t")) is None


def _busy(destination: Destination, timeout_s: float) -> tuple[list[str], float, str]:
    said: list[str] = []
    started = time.monotonic()
    with (
        pytest.raises(DestinationBusyError) as raised,
        destination_lock(destination, timeout_s, said.append),
    ):
        pass
    return said, time.monotonic() - started, str(raised.value)


def test_a_second_run_waits_then_gives_up_naming_the_destination(tmp_path: Path) -> None:
    destination = Destination.parse(str(tmp_path / "scores.parquet"))
    with destination_lock(destination, 1):
        said, waited, message = _busy(destination, 0.5)
    assert len(said) == 1 and "another run holds" in said[0]
    assert 0.5 <= waited < 3
    assert str(tmp_path / "scores.parquet") in message and "lock_timeout_seconds" in message
    with destination_lock(destination, 0):  # free again once the holder left
        pass
    assert DestinationBusyError.exit_code == 1


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    path = tmp_path / "scores.csv"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from predictive_scoring.data.locks import destination_lock\n"
            "from predictive_scoring.data.outputs import Destination\n"
            f"with destination_lock(Destination.parse({str(path)!r}), 1):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    _busy(Destination.parse(str(path)), 0.3)
    holder.kill()
    holder.wait(timeout=10)
    with destination_lock(Destination.parse(str(path)), 5):
        pass


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_two_runs_of_different_as_ofs_into_one_file_both_keep_their_rows(
    suffix: str, tmp_path: Path
) -> None:
    destination = Destination.parse(str(tmp_path / f"scores{suffix}"))
    barrier = threading.Barrier(2)

    def run(day: str, tag: str) -> None:
        as_of = pd.Timestamp(day, tz="UTC")
        barrier.wait(timeout=30)
        with destination_lock(destination, 30):
            write_scores([_chunk(as_of, 20, tag)], destination, as_of)

    threads = [
        threading.Thread(target=run, args=args)
        for args in (("2025-01-01", "a"), ("2025-01-02", "b"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    stored = read_scores(destination)
    assert stored.groupby(schema.AS_OF).size().tolist() == [20, 20]


def test_postgresql_destinations_lock_by_table(postgres_url: str) -> None:
    nightly = Destination.parse(f"{postgres_url}#nightly")
    other = Destination.parse(f"{postgres_url}#weekly")
    with destination_lock(nightly, 1):
        said, _, message = _busy(nightly, 0.3)
        with destination_lock(other, 0.3):  # another table is another lock
            pass
    assert said and "nightly" in message
    with destination_lock(nightly, 0):
        pass
