"""The performance report: how past runs' scores converted, run by run (CONTRACT section 8).

One self-contained HTML page drawn from :func:`predictive_scoring.performance.performance`'s
summary: realised conversion per tier by run and predicted against realised conversions as
inline SVG charts, a table of every run (pending ones say so, with no conversions), and with
``--by`` the channel view: per group, leads, MQLs, expected and realised conversions over every
complete run.  Every value is escaped.
"""

from __future__ import annotations

from typing import Any

from predictive_scoring.reports.html import page, table, text
from predictive_scoring.schema import TIERS

__all__ = ["performance_report"]

WIDTH, HEIGHT, PAD = 640, 220, 40
COLOURS = {"hot": "#c0392b", "warm": "#e67e22", "cold": "#2e86c1", "predicted": "#7f8c8d",
           "realised": "#27ae60"}  # fmt: skip
STYLE = ".chart{margin:1rem 0}.chart svg{max-width:100%;height:auto}.legend span{margin-right:1rem}"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _number(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _line_chart(title: str, labels: list[str], series: dict[str, list[float | None]]) -> str:
    """A small line chart: one line per series over ``labels`` (gaps where a value is None)."""
    values = [v for line in series.values() for v in line if v is not None]
    top = max(values) if values else 1.0
    top = top if top > 0 else 1.0
    n = len(labels)

    def x(i: int) -> float:
        return PAD + (WIDTH - 2 * PAD) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return HEIGHT - PAD + (2 * PAD - HEIGHT) * v / top

    lines = []
    for name, line in series.items():
        points = [(x(i), y(v)) for i, v in enumerate(line) if v is not None]
        colour = COLOURS.get(name, "#555")
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        lines.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>'
            + "".join(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>' for px, py in points
            )
        )
    ticks = "".join(
        f'<text x="{x(i):.1f}" y="{HEIGHT - PAD + 16}" font-size="10" text-anchor="middle">'
        f"{text(label)}</text>"
        for i, label in enumerate(labels)
        if n <= 12 or i % max(1, n // 12) == 0
    )
    axis = (
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'stroke="#999"/>'
        f'<text x="{PAD - 4}" y="{PAD}" font-size="10" text-anchor="end">{text(_short(top))}</text>'
        f'<text x="{PAD - 4}" y="{HEIGHT - PAD}" font-size="10" text-anchor="end">0</text>'
    )
    legend = "".join(
        f'<span style="color:{COLOURS.get(name, "#555")}">■ {text(name)}</span>' for name in series
    )
    return (
        f'<figure class="chart"><figcaption>{text(title)}</figcaption>'
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{text(title)}">'
        f'{axis}{"".join(lines)}{ticks}</svg><div class="legend">{legend}</div></figure>'
    )


def _short(value: float) -> str:
    return f"{value:.3g}" if value < 1 else f"{value:,.0f}"


def performance_report(summary: dict[str, Any]) -> str:
    """The report of one ``performance`` summary as an HTML document."""
    runs = list(reversed(summary["runs"]))  # oldest first, as the charts read
    done = [r for r in runs if r["status"] == "complete"]
    labels = [f"{r['as_of'][:10]}" for r in done]
    charts = ""
    if done:
        charts = _line_chart(
            "Realised conversion rate per tier, by run",
            labels,
            {t: [r["tiers"][t]["conversion_rate"] for r in done] for t in TIERS},
        ) + _line_chart(
            "Predicted against realised conversions, by run",
            labels,
            {
                "predicted": [r.get("predicted") for r in done],
                "realised": [float(r["conversions"]) for r in done],
            },
        )
    rows = [
        (
            r["as_of"][:16].replace("T", " "),
            r["model_version"],
            r["status"],
            f"{r['leads']:,}",
            "pending" if r["status"] != "complete" else f"{r['conversions']:,}",
            _share(r.get("conversion_rate")),
            _number(r.get("predicted"), 1),
            _number(r.get("roc_auc")),
            _number(r.get("pr_auc")),
            _share(r["tiers"]["hot"]["conversion_rate"]) if "tiers" in r else "—",
            _share(r["mql"]["true"]["conversion_rate"]) if "mql" in r else "—",
        )
        for r in summary["runs"]
    ]
    header = ["as of", "model", "status", "leads", "conversions", "rate", "predicted",
              "ROC-AUC", "PR-AUC", "hot: rate", "MQL: rate"]  # fmt: skip
    body = (
        f'<section><p class="note">A run counts once its horizon ({summary["horizon_days"]} days) '
        f"has passed by the data's latest time ({text(summary['data_until'][:16])}): a lead "
        "converted when it did so after the run and within the horizon; leads already converted "
        "or closed at the run are left out. Pending runs have no conversions yet, not zero.</p>"
        f'{charts}<h2>Runs</h2><div class="scroll">'
        + table(rows, header, {3, 4, 5, 6, 7, 8, 9, 10})
        + "</div></section>"
        + _channels(summary)
    )
    subtitle = (
        f"{summary['complete_runs']} complete runs, {summary['pending_runs']} pending · data "
        f"until {summary['data_until'][:10]}"
    )
    return page("Score performance", subtitle, body, STYLE)


def _channels(summary: dict[str, Any]) -> str:
    groups = summary.get("groups") or {}
    if not groups:
        return ""
    ordered = sorted(groups.items(), key=lambda item: -item[1]["leads"])
    rows = [
        (
            name,
            f"{g['leads']:,}",
            f"{g['mqls']:,}",
            _number(g.get("predicted"), 1),
            f"{g['conversions']:,}",
            _share(g.get("conversion_rate")),
            f"{g['mql_conversions']:,}",
        )
        for name, g in ordered
    ]
    header = [str(summary["by"]), "leads", "MQLs", "expected conversions", "conversions",
              "rate", "MQL conversions"]  # fmt: skip
    return (
        f"<section><h2>By {text(summary['by'])}, over every complete run</h2>"
        '<p class="note">Which groups bring leads that convert, not only many leads: a lead '
        "counts once per run that scored it.</p>"
        + table(rows, header, {1, 2, 3, 4, 5, 6})
        + "</section>"
    )
