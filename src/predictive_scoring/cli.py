"""The ``predictive-scoring`` command line: validate · train · score · explain · report · demo ·
performance · backtest.

Expected failures (:class:`~predictive_scoring.errors.ScoringError`) print one message and exit with
the contract's code; ``--json`` makes the last stdout line one JSON object summarising the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from predictive_scoring import __version__, console
from predictive_scoring.cli_history import backtest, performance
from predictive_scoring.config import Config, load_config
from predictive_scoring.errors import UsageError

__all__ = ["app", "main", "run"]

app = typer.Typer(
    name="predictive-scoring",
    help="Point-in-time predictive lead scoring: validate, train, score, explain, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DataOption = Annotated[
    str | None,
    typer.Option("--data", help="Folder of leads/events/outcomes files, or a database URL."),
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="YAML file merged over configs/default.yaml.")
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="End stdout with one JSON object summarising the run.")
]
ReportOption = Annotated[
    Path | None,
    typer.Option("--report", help="Also write the sales lead board (HTML) to this path."),
]
EngineOption = Annotated[
    str | None,
    typer.Option("--engine", help="duckdb (this machine) or spark (default: engine.name)."),
]
QuarantineOption = Annotated[
    Path | None,
    typer.Option(
        "--quarantine-dir", help="Where bad rows go (default: validation.quarantine_dir)."
    ),
]


def _settings(config_path: Path | None, overrides: dict[str, Any] | None = None) -> Config:
    return load_config(config_path).with_overrides(overrides or {})


@app.command()
def validate(
    data: DataOption = None,
    config: ConfigOption = None,
    quarantine_dir: QuarantineOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check the three tables against the contract; bad rows go to the quarantine folder."""
    from predictive_scoring import jobs

    settings = _settings(config)
    validated = jobs.load(
        jobs.resolve_source(data, settings), settings, quarantine_dir=quarantine_dir
    )
    typer.echo(validated.report.render())
    if as_json:
        console.emit_json(validated.report.to_dict())


AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Time T (ISO 8601): only what was known before T is used."),
]
TrackingOption = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db).",
    ),
]


@app.command()
def train(
    data: DataOption = None,
    as_of: AsOfOption = None,
    horizon_days: Annotated[
        int | None, typer.Option("--horizon-days", min=1, help="Label horizon H in days.")
    ] = None,
    config: ConfigOption = None,
    tracking_uri: TrackingOption = None,
    experiment: Annotated[
        str | None, typer.Option("--experiment", help="MLflow experiment.")
    ] = None,
    model_name: Annotated[
        str | None, typer.Option("--model-name", help="Registered model name.")
    ] = None,
    quarantine_dir: QuarantineOption = None,
    model_card: Annotated[
        Path | None,
        typer.Option("--model-card", help="Where to write the HTML model card (default: config)."),
    ] = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="A points rules file to compare (repeatable)."),
    ] = None,
    engine: EngineOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train the points baseline and calibrated candidates, compare them on a later window."""
    from predictive_scoring import jobs

    settings = _settings(
        config,
        {
            "labels.horizon_days": horizon_days,
            "tracking.experiment": experiment,
            "tracking.model_name": model_name,
            "reports.model_card": str(model_card) if model_card else None,
            "engine.name": engine,
        },
    )
    run = jobs.train_job(
        jobs.resolve_source(data, settings),
        settings,
        as_of=as_of,
        tracking_uri=tracking_uri,
        quarantine_dir=quarantine_dir,
        reporter=console.Terminal(),
        rules=rules or [],
    )
    if as_json:
        console.emit_json(run.to_dict())


@app.command()
def score(
    data: DataOption = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output", help="Scores destination: .parquet, .csv, or a database URL#table."
        ),
    ] = None,
    as_of: AsOfOption = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Model URI (default models:/<model name>@champion)."),
    ] = None,
    tracking_uri: TrackingOption = None,
    top_reasons: Annotated[
        int | None, typer.Option("--top-reasons", min=0, help="Reasons per lead (default 5).")
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target", help="Score a target of the config (its population, its champion)."
        ),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            help="Score with this points rules file alone (no model; CONTRACT section 7).",
        ),
    ] = None,
    config: ConfigOption = None,
    quarantine_dir: QuarantineOption = None,
    report_path: ReportOption = None,
    engine: EngineOption = None,
    as_json: JsonOption = False,
) -> None:
    """Score every open lead as of T with the champion model (or a rules file); write the scores
    atomically."""
    from predictive_scoring import jobs

    settings = _settings(config, {"scoring.top_reasons": top_reasons, "engine.name": engine})
    if not output:
        raise UsageError("score needs --output DEST (.parquet, .csv or a database URL#table)")
    run = jobs.score_job(
        jobs.resolve_source(data, settings),
        settings,
        output,
        as_of=as_of,
        model=model,
        tracking_uri=tracking_uri,
        quarantine_dir=quarantine_dir,
        report=report_path,
        reporter=console.Terminal(),
        target=target,
        rules=rules,
    )
    if as_json:
        console.emit_json(run.to_dict())


@app.command()
def report(
    scores: Annotated[str, typer.Option("--scores", help="Where score wrote its output.")],
    output: Annotated[Path, typer.Option("--output", help="The HTML file to write.")],
    data: Annotated[
        str | None,
        typer.Option("--data", help="Source to show reports.display_columns from (optional)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Write the sales lead board (one self-contained HTML file) from written scores."""
    from predictive_scoring import jobs

    settings = _settings(config)
    display = jobs.load(data, settings).data.display if data else None
    board = jobs.report_job(scores, output, settings, display, require_rows=True)
    typer.echo(f"Lead board: {board}")


@app.command()
def explain(
    lead_id: Annotated[str, typer.Argument(help="The lead to explain.")],
    scores: Annotated[str, typer.Option("--scores", help="Where score wrote its output.")],
    as_of: AsOfOption = None,
) -> None:
    """Print one lead's card: score, tier, fit vs intent, reasons with signs, as-of, model version."""
    from predictive_scoring import jobs

    row = jobs.lead_row(lead_id, scores, as_of)
    for line in console.lead_card(row):
        typer.echo(line)


@app.command()
def demo(
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="Where the demo writes data and results.")
    ] = Path("demo-output"),
    leads: Annotated[
        int, typer.Option("--leads", min=100, help="How many leads to generate.")
    ] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the generated funnel.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Generate a realistic funnel and run the main job on it end to end."""
    from predictive_scoring import jobs

    run = jobs.demo_job(output_dir, leads, seed, console.Terminal())
    typer.echo(f"\nDemo data:    {run.data}")
    typer.echo(f"Model card:   {run.training.model_card.resolve()}")
    typer.echo(f"Lead board:   {run.board.resolve()}")
    typer.echo(f"Scores:       {run.scores.resolve()}")
    typer.echo(f"MLflow store: {run.tracking_uri}")
    typer.echo(
        f"Open the MLflow UI with: .venv/bin/mlflow ui --backend-store-uri {run.tracking_uri}"
    )
    if as_json:
        console.emit_json(run.to_dict())


app.command()(performance)
app.command()(backtest)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", is_eager=True)
    ] = False,
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit code (CONTRACT section 3)."""
    console.quiet_libraries()
    console.configure_logging()
    console.stop_on_sigterm()
    return console.exit_code(
        lambda: app(args=argv, prog_name="predictive-scoring", standalone_mode=False)
    )


def run() -> None:
    """Console-script entry point."""
    console.end_process(main())
