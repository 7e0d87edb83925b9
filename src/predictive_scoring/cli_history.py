"""The closed loop's commands (CONTRACT section 8): ``performance`` and ``backtest``.

Options and rendering only, like :mod:`predictive_scoring.cli`, which registers them: the work is
in :mod:`predictive_scoring.jobs.history`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from predictive_scoring import console
from predictive_scoring.config import load_config

__all__ = ["backtest", "performance"]

_Data = Annotated[str, typer.Option("--data", help="The leads and their outcomes (a source).")]
_Config = Annotated[
    Path | None, typer.Option("--config", help="YAML file merged over configs/default.yaml.")
]
_Json = Annotated[
    bool, typer.Option("--json", help="End stdout with one JSON object summarising the run.")
]


def performance(
    scores: Annotated[str, typer.Option("--scores", help="Where score wrote its runs.")],
    data: _Data,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Also per value of this leads column (or 'segment')."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write the HTML report here.")
    ] = None,
    config: _Config = None,
    as_json: _Json = False,
) -> None:
    """How past runs' scores converted: per run whose horizon has passed, conversions per tier,
    per MQL flag and per group, ROC-AUC and PR-AUC, predicted against realised."""
    from predictive_scoring import jobs

    run = jobs.performance_job(
        scores, data, load_config(config), by=by, output=output, reporter=console.Terminal()
    )
    if as_json:
        console.emit_json(run.to_dict())


def backtest(
    data: _Data,
    start: Annotated[str, typer.Option("--start", help="The first origin (ISO 8601).")],
    end: Annotated[str, typer.Option("--end", help="The last origin at most (ISO 8601).")],
    output: Annotated[str, typer.Option("--output", help="Where the scores go (as score's).")],
    every: Annotated[int, typer.Option("--every", min=1, help="Days between origins.")] = 30,
    tracking_uri: Annotated[
        str | None, typer.Option("--tracking-uri", help="MLflow tracking URI.")
    ] = None,
    model_name: Annotated[
        str | None,
        typer.Option("--model-name", help="Registered model (default: <model_name>-backtest)."),
    ] = None,
    config: _Config = None,
    as_json: _Json = False,
) -> None:
    """Train as of each origin and score the leads open there into OUTPUT, so performance
    shows how the pipeline would have done, run by run."""
    from predictive_scoring import jobs

    run = jobs.backtest_job(
        data, load_config(config), output, start=start, end=end, every_days=every,
        tracking_uri=tracking_uri, model_name=model_name, reporter=console.Terminal(),
    )  # fmt: skip
    if as_json:
        console.emit_json(run.to_dict())
