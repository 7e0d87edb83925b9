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
from importlib import resources
from pathlib import Path
from typing import Any

from predictive_scoring.data.writers import write_atomic

__all__ = [
    "BASE_STYLE",
    "asset",
    "json_block",
    "page",
    "table",
    "text",
    "write_page",
]


def asset(name: str) -> str:
    """The text of a file shipped in the package's ``reports/assets`` folder.

    Parameters
    ----------
    name : str
        The file's name in that folder, e.g. ``"base.css"`` or ``"lead_board.js"``.

    Returns
    -------
    str
        The file's text, as stored: pages embed it verbatim.
    """
    # through importlib.resources, not a path beside __file__: the package may be installed as a
    # wheel or run from a zip, and the assets ship as package data (pyproject.toml)
    folder = resources.files("predictive_scoring.reports") / "assets"
    return (folder / name).read_text(encoding="utf-8")


BASE_STYLE = asset("base.css")  # read once at import: every page embeds it


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
