"""The whole dashboard in a real browser: upload a CSV, map two tasks, train, compare, look.

Screenshots of every step land in tests/screenshots/ (look at them after a change
to the pages). Run with ``pytest -m browser``; needs /usr/bin/chromium.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import APP_EXCEPTION, APP_IDLE, SCREENSHOT_DIR

pytestmark = pytest.mark.browser

TRAIN_TIMEOUT_MS = 120_000


def small_csv(path: Path) -> Path:
    """150 rows: two numbers and a category predict a number and a yes/no."""
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=150), rng.normal(size=150)
    group = rng.choice(["north", "south", "east"], size=150)
    df = pd.DataFrame(
        {
            "x1": x1.round(3),
            "x2": x2.round(3),
            "group": group,
            "y_value": (2 * x1 - x2 + (group == "north") + rng.normal(0, 0.1, 150)).round(3),
            "y_flag": np.where(x1 + x2 > 0, "yes", "no"),
        }
    )
    df.to_csv(path, index=False)
    return path


def idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until the script run has finished, and fail on any exception box."""
    page.wait_for_timeout(300)
    page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout_ms)
    errors = page.locator(APP_EXCEPTION)
    assert errors.count() == 0, errors.first.inner_text()


def go(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    page.wait_for_url(re.compile(".*"), timeout=10_000)
    idle(page)


def shot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its own container, so grow the viewport."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        "Math.max(...[...document.querySelectorAll('[data-testid=stMain], "
        "[data-testid=stAppViewContainer], section')].map(e => e.scrollHeight), 900)"
    )
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(1500)  # charts and the diagram animate in
    page.screenshot(path=SCREENSHOT_DIR / f"browser_{name}.png", full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})


def test_upload_map_train_compare_and_look(open_app, tmp_path):
    from playwright.sync_api import expect

    page = open_app("?train.epochs=4&model.hidden=[16,8]")
    expect(page.get_by_text("Where the tasks come from", exact=True)).to_be_visible()

    # Data: upload a CSV and map two tasks.
    page.get_by_text("My CSV files").click()
    idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        str(small_csv(tmp_path / "measurements.csv"))
    )
    expect(page.get_by_text("150 rows × 5 columns")).to_be_visible(timeout=20_000)
    idle(page)
    for _ in range(2):
        page.get_by_role("button", name="Add a task").click()
        idle(page)
    expect(page.get_by_text("2 task(s) ready to train.")).to_be_visible()
    shot(page, "1_data")

    # Model: the diagram follows the strategy.
    go(page, "Model")
    diagram = page.locator('[data-testid="stGraphVizChart"] svg')
    expect(diagram).to_be_visible(timeout=20_000)
    expect(page.locator(".katex").first).to_be_visible()
    shot(page, "2_model_hard")
    page.get_by_role("combobox", name="Strategy").click()
    page.get_by_role("option", name="Multi-gate mixture of experts (MMoE)").click()
    idle(page)
    expect(diagram.get_by_text("gate y_flag")).to_be_attached(timeout=20_000)
    shot(page, "2_model_mmoe")

    # Train: start, then the live curves appear and the run finishes.
    go(page, "Train")
    page.get_by_role("button", name="Train").click()
    lines = page.locator('[data-testid="stPlotlyChart"] .scatterlayer .trace path.js-line')
    expect(lines.first).to_be_attached(timeout=TRAIN_TIMEOUT_MS)
    shot(page, "3_train_live")
    expect(page.get_by_text("Compare in detail")).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    idle(page)
    shot(page, "4_train_done")

    # Compare: three seeds (the default) give each task a verdict with its interval; the
    # trivial baseline is a dotted line on the metric bars.
    go(page, "Compare")
    expect(page.get_by_text("Predictions vs truth")).to_be_visible()
    expect(page.locator('[data-testid="stPlotlyChart"]').first).to_be_visible()
    verdicts = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="3 seeds")
    expect(verdicts.first).to_contain_text(
        re.compile(
            r"(helps|hurts|within the noise).*95% interval|95% interval.*(helps|hurts|within the noise)"
        )
    )
    expect(page.locator("svg text", has_text="trivial baseline").first).to_be_attached()
    shot(page, "5_compare")

    # Representations: multi-task beside single-task.
    go(page, "Representations")
    expect(page.get_by_text("Multi-task (shared)", exact=False).first).to_be_attached(
        timeout=20_000
    )
    shot(page, "6_representations")

    # Runs: the history, with downloads and the way back to the other pages.
    go(page, "Runs")
    expect(page.get_by_role("button", name="Config (YAML)")).to_be_visible()
    shot(page, "7_runs")


def test_compare_shows_verdict_interval_and_trivial_baseline(open_app):
    """Stored runs (no training): five seeds, one task worse on every one, one within the
    noise; a finding is red, the rest stays uncoloured; user names stay text."""
    from playwright.sync_api import expect

    from tests.test_dashboard import FIVE_OF_FIVE_WORSE, finished_experiment

    noisy = [(99.0, 100.0), (101.0, 100.0), (100.5, 100.0), (99.8, 100.0), (100.2, 100.0)]
    exp = finished_experiment({"price": FIVE_OF_FIVE_WORSE, "rent <b>x</b>": noisy})
    page = open_app(f"?exp={exp}")
    go(page, "Compare")
    captions = page.locator('[data-testid="stCaptionContainer"]')
    hurts = captions.get_by_text("price: sharing hurts", exact=False)
    expect(hurts).to_be_visible()
    expect(hurts).to_contain_text("95% interval")
    noise = captions.get_by_text("rent <b>x</b>: ", exact=False)  # the name as text, not HTML
    expect(noise).to_contain_text("within the noise")
    colour = "el => getComputedStyle(el).color"
    assert hurts.evaluate(colour) != noise.evaluate(colour), "a finding is coloured, noise is not"
    expect(page.locator("svg text", has_text="trivial baseline")).to_be_attached()
    expect(page.locator("svg text", has_text="-18.0%").first).to_be_attached()  # price's gain
    expect(page.locator('[data-testid="stPlotlyChart"] .errorbar').first).to_be_attached()
    shot(page, "8_compare_verdicts")
