"""The ``predictive-scoring`` command line: validate · train · score · explain · report · demo.

Expected failures (:class:`~predictive_scoring.errors.ScoringError`) print one message and exit with
the contract's code; ``--json`` makes the last stdout line one JSON object summarising the run.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from predictive_scoring import __version__
from predictive_scoring.config import Config, load_config
from predictive_scoring.errors import ScoringError, UsageError

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
QuarantineOption = Annotated[
    Path | None,
    typer.Option(
        "--quarantine-dir", help="Where bad rows go (default: validation.quarantine_dir)."
    ),
]


def _settings(config_path: Path | None, overrides: dict[str, Any] | None = None) -> Config:
    return load_config(config_path).with_overrides(overrides or {})


def _source(data: str | None, config: Config) -> str:
    source = data or config.data.source
    if not source:
        raise UsageError("no data source: pass --data SRC or set data.source in the config")
    return source


def _emit_json(summary: dict[str, Any]) -> None:
    typer.echo(json.dumps(summary, default=str, sort_keys=True))


@app.command()
def validate(
    data: DataOption = None,
    config: ConfigOption = None,
    quarantine_dir: QuarantineOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check the three tables against the contract; bad rows go to the quarantine folder."""
    from predictive_scoring.data.load import load_lead_data

    settings = _settings(config)
    validated = load_lead_data(_source(data, settings), settings, quarantine_dir=quarantine_dir)
    typer.echo(validated.report.render())
    if as_json:
        _emit_json(validated.report.to_dict())


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


def _as_of(value: str | None, data: Any) -> Any:
    from predictive_scoring.data.tables import parse_instant

    if data.flat:
        return None
    if value is None:
        return data.latest_timestamp()
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise UsageError(f"--as-of: {exc}") from None


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
    as_json: JsonOption = False,
) -> None:
    """Train the points baseline and calibrated candidates, compare them on a later window."""
    from predictive_scoring.data.load import load_lead_data

    settings = _settings(
        config,
        {
            "labels.horizon_days": horizon_days,
            "tracking.experiment": experiment,
            "tracking.model_name": model_name,
            "reports.model_card": str(model_card) if model_card else None,
        },
    )
    validated = load_lead_data(
        _source(data, settings), settings, require_labels=True, quarantine_dir=quarantine_dir
    )
    typer.echo(validated.report.render())
    summary = _train_and_log(
        validated,
        settings,
        _as_of(as_of, validated.data),
        tracking_uri,
        Path(settings.reports.model_card),
    )
    if as_json:
        _emit_json(summary)


def _train_and_log(
    validated: Any, settings: Config, when: Any, tracking_uri: str | None, card: Path
) -> dict[str, Any]:
    """Train, print the comparison, log to MLflow, write the model card; return the summary."""
    from predictive_scoring.evaluation import METRICS, format_comparison
    from predictive_scoring.features.spec import build_features
    from predictive_scoring.reports.figures import run_charts
    from predictive_scoring.reports.html import write_page
    from predictive_scoring.reports.model_card import MODEL_CARD_ARTIFACT, model_card
    from predictive_scoring.tracking import (
        data_fingerprint,
        input_example,
        log_run_text,
        log_training,
    )
    from predictive_scoring.tracking import tracking_uri as resolve_uri
    from predictive_scoring.training import train_models

    horizon = settings.labels.horizon_days
    typer.echo(f"\nTraining as of {when or 'flat export'} (horizon {horizon} days) ...")
    result = train_models(validated.data, settings, when)
    typer.echo(f"\nComparison on the test window ({result.window_sizes['test']:,} rows):")
    typer.echo(format_comparison(list(result.evaluations.values())))
    typer.echo(f"\nServed: {result.served}: {result.decision}")
    uri = resolve_uri(tracking_uri, settings)
    fingerprint = data_fingerprint(validated.data, when, horizon)

    def champion_loss(champion: Any) -> float:
        features = build_features(validated.data, result.test_rows, champion.spec)
        return METRICS["log_loss"](result.test_labels, champion.probabilities(features))

    example = input_example(result.serving, result.reference_features)
    charts = run_charts(result)
    registration = log_training(
        result, settings, validated.report, fingerprint, uri, example, champion_loss, charts
    )
    run_id = registration.run_id
    typer.echo(f"MLflow run {run_id} in {uri}")
    name = settings.tracking.model_name
    verdict = "promoted to champion" if registration.promoted else "not promoted"
    typer.echo(
        f"Registered {name} version {registration.version}: {verdict} ({registration.reason})"
    )
    document = model_card(result, validated.report, fingerprint, registration, name, charts)
    log_run_text(run_id, document, MODEL_CARD_ARTIFACT, uri)
    write_page(document, card)
    typer.echo(f"Model card: {card}")
    return {
        "run_id": run_id,
        "model_name": name,
        "version": registration.version,
        "promoted": registration.promoted,
        "promotion": registration.reason,
        "served_model": result.served,
        "decision": result.decision,
        "as_of": when,
        "tracking_uri": uri,
        "model_card": str(card),
        "metrics": {n: e.metrics for n, e in result.evaluations.items()},
    }


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
    config: ConfigOption = None,
    quarantine_dir: QuarantineOption = None,
    report_path: ReportOption = None,
    as_json: JsonOption = False,
) -> None:
    """Score every open lead as of T with the champion model; write the scores atomically."""
    from predictive_scoring.data.load import load_lead_data

    settings = _settings(config, {"scoring.top_reasons": top_reasons})
    if not output:
        raise UsageError("score needs --output DEST (.parquet, .csv or a database URL#table)")
    validated = load_lead_data(_source(data, settings), settings, quarantine_dir=quarantine_dir)
    summary = _score_and_write(
        validated, settings, _as_of(as_of, validated.data), output, model, tracking_uri
    )
    if report_path is not None:
        summary["report"] = _write_board(
            output, report_path, validated.data.display, settings, as_of=summary["as_of"]
        )
    if as_json:
        _emit_json(summary)


def _score_and_write(
    validated: Any,
    settings: Config,
    when: Any,
    output: str,
    model: str | None,
    tracking_uri: str | None,
) -> dict[str, Any]:
    from tqdm import tqdm

    from predictive_scoring.data.outputs import Destination, describe_output, write_scores
    from predictive_scoring.features.spec import unseen_event_types
    from predictive_scoring.scoring import DriftMonitor, score_leads
    from predictive_scoring.tracking import load_served, log_scoring
    from predictive_scoring.tracking import tracking_uri as resolve_uri

    destination = Destination.parse(output)
    uri = resolve_uri(tracking_uri, settings)
    model_uri = model or f"models:/{settings.tracking.model_name}@champion"
    served = load_served(model_uri, uri)
    unseen = unseen_event_types(validated.data.events, served.spec)
    if unseen:
        typer.echo(f"Event types unknown to the model, ignored: {unseen}")
    chunks = score_leads(
        validated.data, served, when, settings.scoring, settings.scoring.top_reasons
    )
    counts: dict[str, int] = {}

    progress = tqdm(unit=" leads", unit_scale=True, disable=not sys.stderr.isatty(), leave=False)

    def counted(frames: Any) -> Any:
        for frame in frames:
            progress.update(len(frame))
            for tier, n in frame["tier"].value_counts().items():
                counts[str(tier)] = counts.get(str(tier), 0) + int(n)
            counts["mql"] = counts.get("mql", 0) + int(frame["is_mql"].sum())
            yield frame

    monitor = DriftMonitor(served.reference_shares)
    written = write_scores(monitor.watch(counted(chunks)), destination, when)
    progress.close()
    drift = monitor.report()
    typer.echo(
        f"Scored {written:,} open leads as of {when or 'a flat export'} with {served.version} "
        f"-> {output}"
    )
    typer.echo("Tiers: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    drifted = {k: round(v, 3) for k, v in drift.items() if v > settings.scoring.psi_warning}
    if drifted:
        typer.echo(
            f"WARNING: population drift against the training population: {drifted} "
            f"(PSI above {settings.scoring.psi_warning}); consider retraining",
            err=True,
        )
    summary = {
        "as_of": when,
        "model_version": served.version,
        "model_uri": model_uri,
        "rows": written,
        "counts": counts,
        "unseen_event_types": unseen,
        "output": describe_output(output),
        "drift": drift,
        "drift_warning": bool(drifted),
    }
    summary["run_id"] = log_scoring(summary, uri, settings.tracking.scoring_experiment)
    return summary


def _write_board(
    scores: str,
    path: Path,
    display: Any,
    settings: Config,
    *,
    as_of: Any = None,
    require_rows: bool = False,
) -> str:
    """Write the lead board of the run of ``as_of`` (else the latest) in ``scores``."""
    from predictive_scoring.data.outputs import Destination, describe_output, read_scores
    from predictive_scoring.reports.html import write_page
    from predictive_scoring.reports.lead_board import lead_board

    frame = read_scores(Destination.parse(scores))
    if require_rows and frame.empty:
        where = describe_output(scores)
        raise UsageError(
            f"--scores {where}: no scores there; run `predictive-scoring score --output "
            f"{where}` first"
        )
    write_page(lead_board(frame, display, settings.reports.page_size, as_of), path)
    typer.echo(f"Lead board: {path}")
    return str(path)


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
    settings = _settings(config)
    display = None
    if data:
        from predictive_scoring.data.load import load_lead_data

        display = load_lead_data(data, settings, quarantine_dir=None).data.display
    _write_board(scores, output, display, settings, require_rows=True)


@app.command()
def explain(
    lead_id: Annotated[str, typer.Argument(help="The lead to explain.")],
    scores: Annotated[str, typer.Option("--scores", help="Where score wrote its output.")],
    as_of: AsOfOption = None,
) -> None:
    """Print one lead's card: score, tier, fit vs intent, reasons with signs, as-of, model version."""
    import json as json_module

    from predictive_scoring.data.outputs import Destination, read_scores

    frame = read_scores(Destination.parse(scores))
    rows = frame[frame["lead_id"].astype("string") == lead_id]
    if as_of is not None:
        from predictive_scoring.data.tables import parse_instant

        rows = rows[rows["as_of"] == parse_instant(as_of)]
    if rows.empty:
        raise UsageError(f"lead {lead_id!r} is not in {scores}")
    row = rows.sort_values("as_of").iloc[-1]
    typer.echo(
        f"Lead {row['lead_id']}  score {row['score']}/100  tier {row['tier']}  MQL: {'yes' if row['is_mql'] else 'no'}"
    )
    typer.echo(f"probability {row['probability']:.1%} of converting within the horizon")
    typer.echo(f"fit {row['fit_score']}/100   intent {row['intent_score']}/100")
    typer.echo(f"as of {row['as_of']}   model {row['model_version']}")
    for reason in json_module.loads(row["reasons"]):
        sign = "+" if reason["impact"] > 0 else "-"
        typer.echo(f"  {sign} {reason['text']}  ({reason['impact']:+.2f})")


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
    from predictive_scoring.data.load import load_lead_data
    from predictive_scoring.data.synthetic import generate_funnel

    settings = load_config()
    data_dir = output_dir / "data"
    typer.echo(f"Generating {leads:,} leads (seed {seed}) into {data_dir} ...")
    funnel = generate_funnel(n_leads=leads, seed=seed)
    funnel.write(data_dir)
    validated = load_lead_data(
        str(data_dir), settings, require_labels=True, quarantine_dir=output_dir / "quarantine"
    )
    typer.echo(validated.report.render())
    uri = f"sqlite:///{(output_dir / 'mlflow.db').resolve()}"
    when = validated.data.latest_timestamp()
    card = output_dir / "model-card.html"
    summary = _train_and_log(validated, settings, when, uri, card)
    scores = output_dir / "scores.parquet"
    scored = _score_and_write(validated, settings, when, str(scores), None, uri)
    board = Path(
        _write_board(
            str(scores),
            output_dir / "lead-board.html",
            validated.data.display,
            settings,
            as_of=scored["as_of"],
        )
    )
    typer.echo(f"\nDemo data:    {data_dir}")
    typer.echo(f"Model card:   {card.resolve()}")
    typer.echo(f"Lead board:   {board.resolve()}")
    typer.echo(f"Scores:       {scores.resolve()}")
    typer.echo(f"MLflow store: {uri}")
    typer.echo(f"Open the MLflow UI with: .venv/bin/mlflow ui --backend-store-uri {uri}")
    if as_json:
        _emit_json({"data": str(data_dir), "training": summary, "scoring": scored})


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
    """Run the command line; return the process exit code."""
    _quiet_libraries()
    _configure_logging()
    try:
        app(args=argv, prog_name="predictive-scoring", standalone_mode=False)
    except ScoringError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except Exception as exc:
        if _is_cli_usage_error(exc):
            exc.show()  # type: ignore[attr-defined]
            return int(exc.exit_code)  # type: ignore[attr-defined]
        if os.environ.get("PREDICTIVE_SCORING_DEBUG"):
            raise
        typer.echo(
            f"error: unexpected {type(exc).__name__}: {exc}\n"
            "(set PREDICTIVE_SCORING_DEBUG=1 to see the traceback)",
            err=True,
        )
        return 1
    return 0


def _is_cli_usage_error(exc: Exception) -> bool:
    """Typer's own parsing errors (an unknown option, a bad value): they know how to show."""
    return isinstance(exc, typer.TyperException) and hasattr(exc, "show")


def _configure_logging() -> None:
    """Our own messages at INFO on stderr; other libraries' only when they are errors."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.addFilter(
        lambda r: r.name.startswith("predictive_scoring") or r.levelno >= logging.ERROR
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def _quiet_libraries() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
