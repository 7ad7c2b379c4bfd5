"""The Representations page's animated view in a real browser (Playwright + Chromium).

One seed of lesson 5's *related partner* preset is trained in this process into the
test's run store; the page then shows task1's rows over the epochs, multi-task beside
single-task. The test presses Play and checks that the frames really change (the title's
epoch and CKA), and leaves screenshots in tests/screenshots/ to look at.
"""

from __future__ import annotations

import re

import pytest

from mtlcore.lessons import LESSONS
from tests.test_browser import idle, shot
from tests.test_transfer import stored

pytestmark = pytest.mark.browser

TITLE = '[data-testid="stPlotlyChart"] .g-gtitle .gtitle'
LOADED_MS = 90_000


def test_the_animation_plays_over_the_epochs(open_app):
    from playwright.sync_api import expect

    config = LESSONS["representation"].preset("related").experiment()
    config.seeds = [0]
    config.train.device = "cpu"
    config.train.grad_cosine_every = 0
    config.train.affinity_every = 0
    exp = stored(config)

    # Straight to the page, with time to spare for a first run on a busy machine.
    page = open_app(f"representations?exp={exp}", timeout_ms=LOADED_MS)
    expect(page.get_by_text("Animated over training")).to_be_visible(timeout=LOADED_MS)
    page.get_by_text("Animated over training").click()
    idle(page, LOADED_MS)
    page.get_by_test_id("stSelectbox").filter(has_text="Task").click()
    page.get_by_role("option", name="task1").click()
    idle(page, LOADED_MS)
    title = page.locator(TITLE).first
    expect(title).to_contain_text("task1, epoch 20")
    expect(title).to_contain_text(re.compile(r"linear CKA multi-task vs single-task: 0\.\d\d"))
    expect(page.locator(".slider-container").first).to_be_attached()
    expect(page.get_by_text("Multi-task (shared)").first).to_be_attached()
    expect(page.get_by_text("Single-task (its own network)").first).to_be_attached()
    last_frame = page.locator('[data-testid="stPlotlyChart"] .scatterlayer').first.inner_html()
    shot(page, "repr_1_animation_last_epoch")

    page.locator(".updatemenu-button", has_text="Play").first.click()
    expect(title).to_contain_text(re.compile(r"task1, epoch [0-9]\b"), timeout=10_000)
    page.wait_for_timeout(300)
    assert page.locator('[data-testid="stPlotlyChart"] .scatterlayer').first.inner_html() != (
        last_frame
    ), "the dots move between frames"
    shot(page, "repr_2_animation_playing")
    expect(title).to_contain_text("task1, epoch 20", timeout=30_000)  # it plays to the end
