"""Writing files so that readers see the old file or the new one, never half of one.

Every file the pipeline writes (scores, quarantine CSVs, HTML reports) goes through
:func:`write_atomic`: a temporary file in the destination's folder, fsynced, then renamed over the
destination.  CSV cells that a spreadsheet would run as formulas are neutralised first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from predictive_scoring.errors import OutputError, os_reason

__all__ = ["FORMULA_PREFIXES", "neutralise_formulas", "write_atomic", "write_csv"]

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through ``write(temporary)`` then rename: readers see old or new, never half.

    The temporary file sits in the destination's folder (same file system), is fsynced, and
    replaces the destination in one ``os.replace``; on any failure it is removed.
    """
    import os
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {os_reason(exc)}") from None
    os.close(fd)
    temporary = Path(name)
    try:
        write(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(temporary, _file_mode(path))
        os.replace(temporary, path)
    except OSError as exc:  # a full disk, a file-size limit: the previous file stays
        raise OutputError(f"cannot write {path}: {os_reason(exc)}") from None
    finally:
        temporary.unlink(missing_ok=True)


def _file_mode(path: Path) -> int:
    """The permissions the written file gets: those of the file it replaces, else what the umask
    gives a new file (temporary files are created private)."""
    import stat

    if path.exists():
        return stat.S_IMODE(path.stat().st_mode)
    return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask, read without changing it where the system tells (Linux)."""
    import os

    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    umask = os.umask(0o022)  # elsewhere the only way is to set it, then put it back at once
    os.umask(umask)
    return umask


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) with ``'``.

    Plain numbers written as text (``-5``) are left alone.
    """
    out = frame.copy()
    for column in out.columns:
        if not _is_text(out[column]):
            continue
        text = out[column].astype("string")
        risky = text.str.startswith(FORMULA_PREFIXES).fillna(False)
        risky &= pd.to_numeric(text, errors="coerce").isna()
        if risky.any():
            out[column] = text.where(~risky, "'" + text)
    return out


def _is_text(values: pd.Series) -> bool:
    kind = values.dtype
    return not (
        pd.api.types.is_numeric_dtype(kind)
        or pd.api.types.is_bool_dtype(kind)
        or pd.api.types.is_datetime64_any_dtype(kind)
    )


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV atomically, with spreadsheet formulas neutralised."""
    safe = neutralise_formulas(frame)
    write_atomic(path, lambda tmp: safe.to_csv(tmp, index=False))
