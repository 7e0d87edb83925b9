"""The model card: one HTML file per training run, for the data scientist who has to trust it.

It holds what the run saw (data summary, validation findings), what it refused (leakage audit),
how every model did on the later window (with bootstrap intervals), calibration and gains
charts, the points scorecard, what drives the served model (SHAP grouped into fit and intent)
and whether the new version was promoted.  No row of lead data appears in it.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from predictive_scoring import __version__
from predictive_scoring.data.validation import ValidationReport
from predictive_scoring.evaluation import Evaluation
from predictive_scoring.explain import humanise
from predictive_scoring.features.spec import FIT
from predictive_scoring.models.calibration import IDENTITY
from predictive_scoring.models.crm_bayes import CRM_BAYES
from predictive_scoring.models.rules import POINTS
from predictive_scoring.reports.figures import RunCharts
from predictive_scoring.reports.html import asset, page, table, text

__all__ = [
    "MODEL_CARD_ARTIFACT",
    "ModelSummary",
    "RegistrationFacts",
    "TrainingFacts",
    "model_card",
    "with_models_summary",
]


class Finding(Protocol):
    """A leakage audit finding."""

    @property
    def column(self) -> str: ...
    @property
    def reason(self) -> str: ...


class TrainingFacts(Protocol):
    """What the card reads of a training run (a ``training.TrainingResult``)."""

    @property
    def served(self) -> str: ...
    @property
    def decision(self) -> str: ...
    @property
    def horizon_days(self) -> int: ...
    @property
    def evaluations(self) -> dict[str, Evaluation]: ...
    @property
    def servable(self) -> list[str]: ...
    @property
    def leakage(self) -> Sequence[Finding]: ...
    @property
    def excluded_columns(self) -> list[str]: ...
    @property
    def data_says(self) -> dict[str, float | None]: ...
    @property
    def window_sizes(self) -> dict[str, int]: ...
    @property
    def window_bounds(self) -> dict[str, tuple[str, str]] | None: ...
    @property
    def booster_structure(self) -> dict[str, Any]: ...
    @property
    def evaluation(self) -> dict[str, str]: ...
    @property
    def refit(self) -> dict[str, Any]: ...
    @property
    def scorecard(self) -> pd.DataFrame: ...
    @property
    def rules(self) -> dict[str, dict[str, Any]]: ...


class RegistrationFacts(Protocol):
    """What the card reads of the registration: the version and the promotion decision."""

    @property
    def run_id(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def promoted(self) -> bool: ...
    @property
    def reason(self) -> str: ...


MODEL_CARD_ARTIFACT = "model_card.html"
CARD_METRICS = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "lift_10", "capture_20")
CARD_STYLE = asset("model_card.css")


def model_card(
    result: TrainingFacts,
    report: ValidationReport,
    fingerprint: dict[str, Any],
    promotion: RegistrationFacts | None,
    model_name: str,
    charts: RunCharts,
) -> str:
    """The model card of one training run as a self-contained HTML document."""
    images = {name: _data_uri(image) for name, image in charts.images.items()}
    importance = charts.importance
    title = f"Model card: {model_name} version {promotion.version}" if promotion else "Model card"
    when = fingerprint.get("as_of") or "flat export"
    subtitle = (
        f"Trained as of {when}, horizon {result.horizon_days} days; served: {result.served}; "
        f"predictive-scoring {__version__}"
    )
    body = "".join(
        [
            _decision(result, promotion),
            _data(report, fingerprint, result),
            _leakage(result),
            _comparison(result),
            _rules(result),
            _charts(images),
            _importance(importance, images.get("shap_summary.png")),
            _scorecard(result),
        ]
    )
    return page(title, subtitle, body, CARD_STYLE)


@dataclass(frozen=True)
class ModelSummary:
    """One model of a ``train`` for the card's table of every model: its registered name, the
    segment it serves (empty: the global model), what it learned from, the candidate served and
    its test-window figures, its version and promotion (``None``: served by the global model)."""

    model_name: str
    segment: str
    leads: int | None
    conversions: int | None
    served: str | None
    metrics: dict[str, float] | None
    version: str | None
    decision: str
    card: str | None


SUMMARY_METRICS = ("roc_auc", "pr_auc", "ece")


def with_models_summary(document: str, models: list[ModelSummary]) -> str:
    """``document`` (the global model's card) with a first section listing every model of the
    run, each linked to its own card (written beside it)."""
    header = ["model", "segment", "leads", "conversions", "served", *SUMMARY_METRICS]
    rows = []
    for model in models:
        figures = [
            "" if model.metrics is None else f"{model.metrics[m]:.4f}" for m in SUMMARY_METRICS
        ]
        rows.append(
            [
                model.model_name
                if model.version is None
                else f"{model.model_name} v{model.version}",
                model.segment or "(global)",
                "" if model.leads is None else f"{model.leads:,}",
                "" if model.conversions is None else f"{model.conversions:,}",
                model.served or "",
                *figures,
            ]
        )
    notes = "".join(
        f"<li><strong>{text(m.model_name)}</strong>: {text(m.decision)}"
        + (f' (<a href="{text(m.card)}">its model card</a>)' if m.card else "")
        + "</li>"
        for m in models
    )
    section = (
        '<section id="models"><h2>Every model of this run</h2>'
        "<p>Each lead is scored by its segment's champion, or by the global model when it has no "
        "segment, its segment has no model of its own or that model is not champion yet. Figures "
        "are each model's own test window.</p>"
        f"{table(rows, header, set(range(2, len(header))) - {4})}<ul>{notes}</ul></section>"
    )
    return document.replace("<main>", "<main>" + section, 1)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _decision(result: TrainingFacts, promotion: RegistrationFacts | None) -> str:
    if promotion is None:
        verdict = ""
    else:
        kind = "yes" if promotion.promoted else "no"
        outcome = "Promoted to champion" if promotion.promoted else "Not promoted"
        verdict = (
            f'<p class="verdict {kind}">{text(outcome)}: {text(promotion.reason)}</p>'
            f'<p class="note">MLflow run {text(promotion.run_id)}</p>'
        )
    return (
        '<section id="decision"><h2>Decision</h2>'
        f"<p><b>Served model: {text(result.served)}</b>: {text(result.decision)}</p>"
        f"{_served_how(result)}{verdict}</section>"
    )


def _served_how(result: TrainingFacts) -> str:
    """What was evaluated and what is served: the same recipe, refit on every labelled row."""
    evaluated = result.evaluation.get("plan", "")
    why = result.evaluation.get("why")
    warning = (
        f'<p class="verdict no">Evaluated on {text(evaluated)}: {text(why)}. The figures below say '
        "how the models rank other leads of the same period, not how they do on a later one.</p>"
        if why
        else ""
    )
    refit = result.refit
    if not refit:
        return warning
    rounds = f", {refit['rounds']:,} boosting rounds" if refit.get("rounds") else ""
    predictions = f"{refit['calibration_rows']:,} out-of-fold predictions"
    mapped = (
        f"keeps its own probabilities: no calibration map fitted on {predictions} did better "
        "out of sample"
        if refit["calibration"] == IDENTITY
        else f"is calibrated ({text(refit['calibration'])}) on {predictions}"
    )
    served = (
        f"The comparison below is of models fitted on the training window and measured on "
        f"{text(evaluated)}. The served model is the same recipe refit on every labelled row "
        f"({refit['rows']:,} rows, {refit['positives']:,} conversions{rounds}) and {mapped} "
        f"({text(refit['calibrated_on'])})."
    )
    return f'{warning}<p class="note">{served}</p>'


def _data(report: ValidationReport, fingerprint: dict[str, Any], result: TrainingFacts) -> str:
    rows = [
        (
            t.table,
            f"{t.rows:,}",
            f"{t.rows - t.quarantined:,}",
            f"{t.quarantined:,}",
            "; ".join(f"{reason} ({n:,})" for reason, n in t.reasons.items()) or "none",
        )
        for t in report.tables.values()
    ]
    facts = {
        "Source": report.source,
        "Mode": "flat CRM export" if report.flat else "leads with timestamps",
        "Time range": f"{fingerprint.get('time_from')} to {fingerprint.get('time_to')}",
        "Content hash": fingerprint.get("content_sha256", ""),
        "Windows (rows)": ", ".join(f"{k} {v:,}" for k, v in result.window_sizes.items()),
    }
    if result.window_bounds:
        facts["Window bounds"] = "; ".join(
            f"{k}: {a[:10]} to {b[:10]}" for k, (a, b) in result.window_bounds.items()
        )
    says = result.data_says
    if says.get("median_days_to_conversion") is not None:
        facts["Half-life"] = (
            f"median time to conversion {says['median_days_to_conversion']:.1f} days, "
            f"suggested half-life {says['suggested_half_life_days']:.1f}, "
            f"used {says['used_half_life_days']}"
        )
    structure = result.booster_structure
    if structure:
        losses = ", ".join(f"{k} {v:.4f}" for k, v in structure["early_stopping_log_loss"].items())
        facts["Booster structure"] = (
            "fit attributes interact within trees"
            if structure["fit_interactions"]
            else "one function per fit attribute (additive, like points)"
        ) + f"; chosen by {structure['chosen_by']} ({losses})"
    listed = "".join(f"<dt>{text(k)}</dt><dd>{text(v)}</dd>" for k, v in facts.items())
    return (
        '<section id="data"><h2>Data and validation</h2>'
        f'<dl class="kv">{listed}</dl><br>'
        + table(rows, ["table", "rows", "accepted", "quarantined", "reasons"], {1, 2, 3})
        + "</section>"
    )


def _leakage(result: TrainingFacts) -> str:
    if not result.leakage:
        found = "<p>No column predicts the label suspiciously well on its own.</p>"
    else:
        found = table([(f.column, f.reason) for f in result.leakage], ["column", "finding"], set())
    excluded = ", ".join(result.excluded_columns) or "none"
    return (
        '<section id="leakage"><h2>Leakage audit</h2>'
        f"{found}<p>Excluded from the features: {text(excluded)}</p></section>"
    )


def _comparison(result: TrainingFacts) -> str:
    header = ["model", "rows", *CARD_METRICS]
    body = []
    for name, evaluation in result.evaluations.items():
        cells = "".join(f'<td class="num">{_interval(evaluation, m)}</td>' for m in CARD_METRICS)
        marker = ' class="served"' if name == result.served else ""
        role = _role(name, result)
        label = f'{text(name)}<br><span class="ci">{text(role)}</span>' if role else text(name)
        body.append(
            f'<tr{marker}><td>{label}</td><td class="num">{evaluation.rows:,}</td>{cells}</tr>'
        )
    head = "".join(
        f'<th class="num">{text(h)}</th>' if i else f"<th>{text(h)}</th>"
        for i, h in enumerate(header)
    )
    return (
        '<section id="comparison"><h2>Comparison on the test window</h2>'
        f'<p class="note">Every model on the same later window; 95 % bootstrap intervals below '
        f"each figure. {text(POINTS)} is the rule-based scorecard, crm_naive_bayes what a CRM "
        "computes from won/lost counts. The served model is the servable candidate with the "
        "lowest log loss, when it beats the points baseline.</p>"
        f'<div class="wide"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div></section>"
    )


def _role(name: str, result: TrainingFacts) -> str:
    if name == result.served:
        return "served"
    if name in result.rules:
        return "your rules file (compared, never served)"
    if name in (POINTS, CRM_BAYES):
        return "baseline"
    if result.servable and name not in result.servable:
        return "reference only (not monotone in time)"
    return ""


def _interval(evaluation: Evaluation, metric: str) -> str:
    low, high = evaluation.lower[metric], evaluation.upper[metric]
    return f'{evaluation.metrics[metric]:.4f}<br><span class="ci">[{low:.3f}, {high:.3f}]</span>'


def _charts(images: dict[str, str]) -> str:
    captions = {
        "calibration.png": "Calibration: predicted against observed conversion",
        "gains.png": "Cumulative gains: conversions captured by calling the top share",
        "precision_recall.png": "Precision and recall",
    }
    shown = "".join(
        f'<figure><img alt="{text(caption)}" src="{images[name]}">'
        f'<figcaption class="note">{text(caption)}</figcaption></figure>'
        for name, caption in captions.items()
        if name in images
    )
    return f'<section id="charts"><h2>Calibration and gains</h2><div class="figures">{shown}</div></section>'


def _importance(importance: pd.DataFrame | None, image: str | None) -> str:
    if importance is None or importance.empty:
        return ""
    share = importance.groupby("group")["mean_abs_impact"].sum()
    total = float(share.sum()) or 1.0
    split = ", ".join(f"{group} {value / total:.0%}" for group, value in share.items())
    rows = [
        (humanise(str(r.field)), r.group, f"{r.mean_abs_impact:.4f}")
        for r in importance.itertuples(index=False)
    ]
    figure = f'<img alt="Mean absolute SHAP value per field" src="{image}">' if image else ""
    return (
        '<section id="importance"><h2>What drives the served model</h2>'
        f'<p class="note">Mean absolute SHAP value (log-odds) per field on the training '
        f"population, summed over the field's derived features; share of impact: {text(split)}. "
        f'<span class="swatch" style="background:var(--fit)"></span> {text(FIT)} '
        '<span class="swatch" style="background:var(--intent)"></span> intent</p>'
        f"{figure}" + table(rows, ["field", "group", "mean |SHAP|"], {2}) + "</section>"
    )


def _scorecard(result: TrainingFacts) -> str:
    scorecard = result.scorecard
    rows = [
        (
            r.kind,
            humanise(str(r.attribute)),
            r.value,
            f"{r.points:.2f}",
            f"{r.support:,.0f}",
            f"{r.conversion_rate:.2%}",
        )
        for r in scorecard.itertuples(index=False)
    ]
    return (
        '<section id="scorecard"><h2>Points scorecard (the baseline)</h2>'
        '<p class="note">Points per attribute value and behaviour, from conversion rates shrunk '
        "toward the overall rate: the table a marketing-automation tool can be configured from. "
        "The same points, on a 0–100 scale, are this run's <code>points_rules.yaml</code> (a "
        "rules file: <code>score --rules points_rules.yaml</code> gives every lead the "
        'baseline\'s points, and marketing can load them into its tool).</p><div class="scroll">'
        + table(
            rows, ["kind", "attribute", "value", "points", "support", "conversion rate"], {3, 4, 5}
        )
        + "</div></section>"
    )


def _handoff_cells(figures: dict[str, float | None]) -> tuple[str, str, str, str, str]:
    def shown(v: float | None, form: str) -> str:
        return "–" if v is None or v != v else format(v, form)

    return (
        shown(figures["rows"], ",.0f"),
        shown(figures["share"], ".1%"),
        shown(figures["precision"], ".1%"),
        shown(figures["recall"], ".1%"),
        shown(figures["leads_per_conversion"], ".1f"),
    )


def _rules(result: TrainingFacts) -> str:
    """Each rules file's hand-off on the test window against the served model's (CONTRACT 7)."""
    if not result.rules:
        return ""
    parts = []
    for name, figures in result.rules.items():
        cut, score = figures["model"]["model_cut"], figures["model_score_cut"]
        said = (
            "hands off no lead"
            if score is None
            else f"probability ≥ {cut:.4f}, about score ≥ {score} on the served scale"
        )
        rows = [
            (f"{name} at ≥ {figures['threshold']:g} points", *_handoff_cells(figures["rules"])),
            (f"served model ({result.served}), as many rows: {said}",
             *_handoff_cells(figures["model"])),
        ]  # fmt: skip
        parts.append(
            f"<h3>{text(name)}</h3>"
            + table(
                rows,
                ["hand-off", "rows", "share", "precision", "recall", "rows per conversion"],
                {1, 2, 3, 4, 5},
            )
        )
    return (
        '<section id="rules"><h2>Your rules and the model</h2>'
        '<p class="note">On the test window\'s snapshot rows (a lead looked at on several dates '
        "counts once per date): the rows each rules file hands to sales at its threshold, and the "
        "served candidate (its test-window fit) handing off the same number of rows, its best "
        "ones; precision is the share of those that converted within "
        "the horizon, recall the share of all conversions they hold. The rules' probabilities in "
        "the comparison come from a monotone map of their points fitted on the calibration "
        "window.</p>" + "".join(parts) + "</section>"
    )
