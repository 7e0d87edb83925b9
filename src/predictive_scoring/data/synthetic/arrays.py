"""Array types and the small conversions every part of the generator shares."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "Bools",
    "Floats",
    "Ints",
]

Floats = npt.NDArray[np.floating[Any]]
Ints = npt.NDArray[np.integer[Any]]
Bools = npt.NDArray[np.bool_]


def _sigmoid(logit: Floats) -> Floats:
    result: Floats = 1.0 / (1.0 + np.exp(-logit))
    return result


def _vocabulary(values: tuple[str, ...]) -> pd.api.extensions.ExtensionArray:
    return pd.array(list(values), dtype="str")


def _text(values: npt.NDArray[Any]) -> pd.api.extensions.ExtensionArray:
    """A numpy string array as a pandas ``str`` array (through object: much faster)."""
    return pd.array(values.astype(object), dtype="str")
