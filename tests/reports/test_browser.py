"""The lead board in a real browser: Playwright driving Debian's chromium, headless.

Skipped (with the reason) where chromium or Playwright is missing; ``.ci/run`` installs chromium
first, so CI always runs it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from predictive_scoring import schema
from predictive_scoring.reports.html import write_page
from predictive_scoring.reports.lead_board import lead_board
from tests.reports.conftest import SCRIPT_COMPANY, BoardRun

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = browser.new_page(viewport={"width": 1400, "height": 900})
    opened.dialogs = []
    opened.errors = []
    opened.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
    opened.on("pageerror", lambda error: opened.errors.append(str(error)))
    yield opened
    opened.close()


def test_filter_to_hot_leads_and_open_a_lead_s_reasons(board_run: BoardRun, page: Any) -> None:
    scores = pd.read_parquet(board_run.scores).set_index(schema.LEAD_ID)
    page.goto(board_run.board.as_uri())
    page.click("button[data-tier=hot]")
    rows = page.locator("tr.lead-row")
    hot = int((scores[schema.TIER] == "hot").sum())
    assert rows.count() == min(hot, 50)
    assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.tier)")) == {"hot"}
    assert f"{hot:,} of {len(scores):,} leads" in page.inner_text("#page-info")
    first = rows.nth(0)
    lead = first.get_attribute("data-lead")
    first.click()
    detail = page.locator("#detail")
    assert detail.locator(".detail-title").inner_text() == f"Lead {lead}"
    expected = json.loads(scores.loc[lead, schema.REASONS])
    shown = detail.locator(".reason-text").all_inner_texts()
    assert shown == [r["text"] for r in expected]
    impacts = detail.locator(".impact").all_inner_texts()
    assert impacts == [f"{r['impact']:+.2f}" for r in expected]
    ups = detail.locator(".wf-bar.up").count()
    assert ups == sum(r["impact"] > 0 for r in expected)
    words = detail.locator("ul.reasons li").all_inner_texts()
    assert words[0].endswith(expected[0]["text"])
    assert not page.errors


def test_script_named_company_shows_as_text_and_no_dialog_fires(
    board_run: BoardRun, page: Any
) -> None:
    page.goto(board_run.board.as_uri())
    page.fill("#search", board_run.script_lead)
    row = page.locator("tr.lead-row")
    assert row.count() == 1
    assert row.locator("td.display").inner_text() == SCRIPT_COMPANY
    page.fill("#search", "<script>")
    assert page.locator("tr.lead-row").count() == 1
    row.click()
    assert page.locator("#detail .detail-display").inner_text() == f"Company: {SCRIPT_COMPANY}"
    page.wait_for_timeout(200)
    assert page.dialogs == [] and not page.errors
    assert page.evaluate("document.querySelectorAll('script').length") == 2


def test_a_board_of_100k_leads_pages_through_them(tmp_path: Path, page: Any) -> None:
    n = 100_000
    scores = pd.DataFrame(
        {
            schema.LEAD_ID: [f"L{i:06d}" for i in range(n)],
            schema.AS_OF: pd.Timestamp("2024-02-01", tz="UTC"),
            schema.PROBABILITY: [(i % 1000) / 1000 for i in range(n)],
            schema.SCORE: [(i % 1000) // 10 for i in range(n)],
            schema.FIT_SCORE: 50,
            schema.INTENT_SCORE: 40,
            schema.TIER: ["hot" if i % 1000 >= 800 else "cold" for i in range(n)],
            schema.IS_MQL: False,
            schema.REASONS: json.dumps(
                [{"feature": "f", "value": "v", "impact": 1.0, "text": "x"}]
            ),
            schema.MODEL_VERSION: "m/1",
        }
    )
    path = write_page(lead_board(scores), tmp_path / "big.html")
    page.goto(path.as_uri())
    assert page.locator("tr.lead-row").count() == 50
    assert "Page 1 of 2,000" in page.inner_text("#page-info")
    page.click("#next")
    assert page.locator("tr.lead-row").nth(0).locator("td").nth(0).inner_text() == "51"
    page.click("button[data-tier=hot]")
    assert "of 400 · 20,000 of 100,000 leads" in page.inner_text("#page-info")
    page.fill("#search", "L099999")
    assert page.locator("tr.lead-row").count() == 1
    assert not page.errors


def test_a_rules_file_s_board_shows_points_where_models_show_a_chance(
    tmp_path: Path, page: Any
) -> None:
    scores = pd.DataFrame(
        {
            schema.LEAD_ID: ["r1", "r2"],
            schema.AS_OF: pd.Timestamp("2024-02-01", tz="UTC"),
            schema.PROBABILITY: [float("nan")] * 2,
            schema.SCORE: [88, 15],
            schema.FIT_SCORE: [25, 15],
            schema.INTENT_SCORE: [62, 0],
            schema.TIER: ["hot", "cold"],
            schema.IS_MQL: [True, False],
            schema.REASONS: [
                json.dumps(
                    [
                        {
                            "feature": "demo_request",
                            "value": 1,
                            "impact": 30.0,
                            "text": "Requested a demo in the last 30 days: +30",
                        }
                    ]
                ),
                "[]",
            ],
            schema.MODEL_VERSION: "rules:current-rules",
            schema.SEGMENT: "",
            schema.POINTS: [87.5, 15.0],
        }
    )
    path = write_page(lead_board(scores), tmp_path / "rules.html")
    page.goto(path.as_uri())
    first = page.locator("tr.lead-row").nth(0)
    assert "87.5 pts" in first.inner_text()
    first.click()
    detail = page.inner_text("#detail")
    assert "87.5 points (a rules file: no probability)" in detail and "NaN" not in detail
    assert "Requested a demo in the last 30 days: +30" in detail
    assert "Scored by rules:current-rules" in detail
    assert not page.errors


def test_a_second_run_shows_trends_filters_newly_hot_and_draws_each_lead_s_history(
    tmp_path: Path, page: Any
) -> None:
    from predictive_scoring.data.history import add_changes, previous_scores
    from predictive_scoring.data.outputs import Destination, read_scores, write_scores

    destination = Destination.parse(str(tmp_path / "scores.parquet"))
    nights = [pd.Timestamp(f"2024-02-0{d}", tz="UTC") for d in (1, 2, 3)]
    runs = [{"a": 50, "b": 70, "c": 30}, {"a": 60, "b": 85, "c": 31}, {"a": 90, "b": 40, "c": 32}]
    for night, run in zip(nights, runs, strict=True):
        rows = pd.DataFrame(
            {
                schema.LEAD_ID: list(run), schema.AS_OF: night, schema.PROBABILITY: 0.2,
                schema.SCORE: list(run.values()), schema.FIT_SCORE: 50, schema.INTENT_SCORE: 50,
                schema.TIER: ["hot" if v >= 80 else "warm" if v >= 50 else "cold"
                              for v in run.values()],
                schema.IS_MQL: False, schema.REASONS: "[]", schema.MODEL_VERSION: "m/1",
                schema.SEGMENT: "",
            }
        )  # fmt: skip
        previous = previous_scores(destination, night)
        chunk = rows if previous is None else add_changes(rows, previous, 5)
        write_scores([chunk], destination, night)
    path = write_page(lead_board(read_scores(destination)), tmp_path / "board.html")
    page.goto(path.as_uri())
    changes = page.locator("td.change").all_inner_texts()
    assert changes == ["▲ +30newly hot", "▼ -45", "● +1"]  # a (90), b (40), c (32): steady
    page.click("#newly-hot")
    assert page.locator("tr.lead-row").count() == 1
    page.locator("tr.lead-row").first.click()
    assert "Since the previous run: ▲ +30 (up) · newly hot" in page.inner_text("#detail")
    assert page.locator("#detail svg.history circle").count() == 3
    assert page.locator("#detail svg.history circle title").first.text_content() == "2024-02-01: 50"
    assert not page.errors
