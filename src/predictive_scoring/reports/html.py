"""Self-contained HTML: every value escaped, data embedded as inert JSON, nothing fetched.

Pages carry their own CSS, scripts and images (PNG as data URIs), so they render offline and can
be mailed or attached to an MLflow run.  Data reaches a page in two ways only: :func:`text`
(HTML-escaped) in markup, and :func:`json_block` (a ``<script type="application/json">`` whose
``<``, ``>`` and ``&`` are JSON-escaped) read by scripts that insert it with ``textContent``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from predictive_scoring.data.writers import write_atomic

BASE_STYLE = """
:root { --fit: #2b6cb0; --intent: #dd6b20; --up: #2f855a; --down: #c53030; --muted: #5a6472;
        --line: #dde1e7; --hot: #c53030; --warm: #d69e2e; --cold: #4a6fa5; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #1a202c; background: #f7f8fa; }
header { background: #1a202c; color: #fff; padding: 14px 24px; }
header h1 { margin: 0; font-size: 20px; }
header p { margin: 4px 0 0; color: #cbd5e0; }
main { padding: 16px 24px 40px; max-width: 1400px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px;
          margin: 0 0 16px; }
h2 { font-size: 16px; margin: 0 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
         vertical-align: top; }
th { font-weight: 600; color: var(--muted); background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.muted { color: var(--muted); }
.note { color: var(--muted); font-size: 13px; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; color: #fff;
         font-size: 12px; font-weight: 600; }
.badge.hot { background: var(--hot); } .badge.warm { background: var(--warm); }
.badge.cold { background: var(--cold); }
.scroll { max-height: 420px; overflow: auto; }
img { max-width: 100%; }
.figures { display: flex; flex-wrap: wrap; gap: 12px; }
.figures figure { margin: 0; flex: 1 1 380px; }
"""


def text(value: object) -> str:
    """``value`` as HTML text: ``<script>`` shows as the characters it is made of."""
    return html.escape("" if value is None else str(value), quote=True)


def json_block(element_id: str, payload: Any) -> str:
    """``payload`` as an inert JSON script element (cannot close the element or run)."""
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    safe = (
        raw.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return f'<script type="application/json" id="{text(element_id)}">{safe}</script>'


def table(rows: Iterable[Iterable[object]], header: Iterable[str], numeric: set[int]) -> str:
    """An HTML table of escaped cells; columns whose position is in ``numeric`` align right."""
    head = "".join(
        f'<th class="num">{text(h)}</th>' if i in numeric else f"<th>{text(h)}</th>"
        for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{text(c)}</td>' if i in numeric else f"<td>{text(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, subtitle: str, body: str, style: str = "", script: str = "") -> str:
    """A whole document: no external resource, a strict content security policy."""
    policy = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
    )
    scripts = f"<script>{script}</script>" if script else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{text(title)}</title><style>{BASE_STYLE}{style}</style></head><body>"
        f"<header><h1>{text(title)}</h1><p>{text(subtitle)}</p></header>"
        f"<main>{body}</main>{scripts}</body></html>\n"
    )


def write_page(document: str, path: Path) -> Path:
    """Write ``document`` to ``path`` atomically (old or new file, never half of one)."""

    def write(temporary: Path) -> None:
        temporary.write_text(document, encoding="utf-8")

    write_atomic(path, write)
    return path
