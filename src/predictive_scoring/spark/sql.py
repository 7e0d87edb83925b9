"""Spark SQL text: identifiers in backticks (embedded backticks doubled), string literals."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["identifier", "literal", "quoted_list"]


def identifier(name: str) -> str:
    """A Spark SQL identifier: in backticks, embedded backticks doubled."""
    return "`" + name.replace("`", "``") + "`"


def literal(text: str) -> str:
    """A Spark SQL string literal: in single quotes, backslashes and quotes escaped."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quoted_list(values: Iterable[str]) -> str:
    """``'a', 'b', ...`` for an ``IN (...)`` list."""
    return ", ".join(literal(v) for v in values)
