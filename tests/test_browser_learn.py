"""The Learn page in a real browser: open lesson 1, load a preset with one click, train it
(three seeds) and read its verdict on Compare; a preset link loads the same preset.

Screenshots land in tests/screenshots/browser_learn_*.png (look at them after a change).
"""

from __future__ import annotations

import re

import pytest

from tests.test_browser import TRAIN_TIMEOUT_MS, go, idle, shot

pytestmark = pytest.mark.browser


def test_walk_lesson_one_from_the_learn_page_to_its_verdict(open_app):
    from playwright.sync_api import expect

    page = open_app("learn", timeout_ms=120_000)
    expect(page.get_by_text("1. A related task helps a data-poor one")).to_be_visible()
    shot(page, "learn_1_overview")
    page.get_by_role("button", name="Open").first.click()
    idle(page)
    expect(page.get_by_text("What the runs show.")).to_be_visible()
    expect(page.get_by_role("link", name="Link to this preset").first).to_be_visible()
    shot(page, "learn_2_lesson")

    page.get_by_role("button", name=re.compile("Load: Related partner")).click()
    idle(page)
    expect(page.get_by_role("heading", name="Train")).to_be_visible(timeout=20_000)
    expect(page.get_by_text("relatedness 0.9", exact=False).first).to_be_attached()
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text("Compare in detail")).to_be_visible(timeout=3 * TRAIN_TIMEOUT_MS)
    idle(page)
    shot(page, "learn_3_trained")

    go(page, "Compare")
    verdicts = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="3 seeds")
    expect(verdicts.first).to_contain_text("task1")
    expect(page.get_by_text(re.compile(r"task1: sharing helps")).first).to_be_visible()
    shot(page, "learn_4_compare")


def test_a_preset_link_opens_train_with_the_preset(open_app):
    from playwright.sync_api import expect

    page = open_app("train?lesson=few-labels&preset=houses-separate", timeout_ms=120_000)
    expect(page.get_by_role("heading", name="Train")).to_be_visible()
    expect(page.get_by_label("Run name")).to_have_value("lesson1-houses-separate", timeout=20_000)
    expect(page.get_by_text("each table its own input layer").first).to_be_attached()
    assert "lesson=few-labels" in page.url
