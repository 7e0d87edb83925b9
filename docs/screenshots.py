"""Retake the README's screenshots from a demo run (needs chromium at /usr/bin/chromium).

make demo && .venv/bin/python docs/screenshots.py [--demo-output demo-output]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo-output", type=Path, default=HERE.parent / "demo-output")
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1360, "height": 820})
        page.goto((args.demo_output / "lead-board.html").resolve().as_uri())
        page.click("button[data-tier=hot]")
        page.click("tr.lead-row >> nth=2")
        page.screenshot(path=str(HERE / "lead-board.png"))
        page = browser.new_page(viewport={"width": 1360, "height": 1500})
        page.goto((args.demo_output / "model-card.html").resolve().as_uri())
        page.screenshot(path=str(HERE / "model-card.png"))
        browser.close()


if __name__ == "__main__":
    main()
