"""predictive-scoring: point-in-time predictive lead scoring."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("predictive-scoring")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
