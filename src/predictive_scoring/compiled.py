"""Numba compilation with an on-disk cache where one can be written.

A read-only install with no writable cache folder compiles on first use instead of failing to
import.  numba's cache is keyed on the source file of each compiled function, and compiled code
freezes the globals it reads: constants a compiled function uses live in its own module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numba

__all__ = ["compiled"]

_Function = TypeVar("_Function", bound=Callable[..., Any])


def compiled(**options: Any) -> Callable[[_Function], _Function]:
    """``numba.njit(cache=True, **options)``, without the cache where none can be written."""

    def wrap(function: _Function) -> _Function:
        try:
            fast: _Function = numba.njit(cache=True, **options)(function)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            fast = numba.njit(cache=False, **options)(function)
        return fast

    return wrap
