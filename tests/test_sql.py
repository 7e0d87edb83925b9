"""SQL text."""

from __future__ import annotations

from predictive_scoring.sql import quote_identifier


def test_quote_identifier_escapes_quotes() -> None:
    assert quote_identifier('lead"s') == '"lead""s"'
