"""The Great Expectations adapter: one quiet ephemeral context, and a suite run on a check frame."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import pandas as pd

from predictive_scoring.data.validation.rules import RowRule


def _validate_frame(name: str, frame: pd.DataFrame, rules: list[RowRule]) -> list[list[int]]:
    """Run one suite over ``frame``; return the unexpected row positions per rule, in order."""
    import great_expectations as gx

    context, batch_definition = _context()
    # A fresh name per suite: the context, and every suite added to it, outlives the call.
    suite = gx.ExpectationSuite(name=f"{name}-{len(context.suites.all())}")
    expectations = [rule.build(rule.column) for rule in rules]
    for expectation in expectations:
        suite.add_expectation(expectation)
    suite = context.suites.add(suite)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    with _quiet():
        result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    return _unexpected_rows(result, expectations)


def _unexpected_rows(result: Any, expectations: list[Any]) -> list[list[int]]:
    """The unexpected row positions of each expectation, in order; one that failed to run raises."""
    by_id = {r.expectation_config.id: r for r in result.results}
    found = []
    for expectation in expectations:
        outcome = by_id[expectation.id]
        if outcome.exception_info and outcome.exception_info.get("raised_exception"):
            raise RuntimeError(f"expectation failed to run: {outcome.exception_info}")
        found.append(list(outcome.result.get("unexpected_index_list") or []))
    return found


@cache
def _context() -> tuple[Any, Any]:
    """One ephemeral context per process, and the batch definition every suite runs on."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    with _quiet():
        context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("predictive-scoring").add_dataframe_asset("table")
    return context, asset.add_batch_definition_whole_dataframe("whole")


@contextmanager
def _quiet() -> Iterator[None]:
    """Great Expectations' log records below errors, and every warning, silenced for the block."""
    logger = logging.getLogger("great_expectations")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
