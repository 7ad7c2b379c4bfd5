"""A lesson's grid in a real browser: lesson 2 on the Learn page, "Run the whole grid on
the Sweep page", and the Sweep page shows the lesson's six presets as the grid, what each
changes, and what the runs cost (nothing is run: tests/test_sweep_lesson_page.py queues it);
its address does not carry the Learn page's ``?lesson=``.

Screenshot: tests/screenshots/browser_sweep_lesson.png. Run with ``pytest -m browser``.
"""

from __future__ import annotations

import re

import pytest

from tests.test_browser import idle, shot

pytestmark = pytest.mark.browser


def test_a_lessons_grid_opens_on_the_sweep_page(open_app):
    from playwright.sync_api import expect

    page = open_app("learn?lesson=sharing-hurts")
    page.get_by_role("button", name="Run the whole grid on the Sweep page").click()
    idle(page)
    expect(page.get_by_text("The grid: lesson 2, When sharing hurts")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/sweep"))
    expect(page).not_to_have_url(re.compile(r"lesson="))  # the Learn page's, not this page's
    grid = page.locator('[data-testid="stDataFrame"]').first
    expect(grid).to_be_visible()
    expect(page.get_by_text("6 cells × 3 seeds = 18 runs")).to_be_visible()
    expect(page.get_by_text("baselines trained 9 times and reused 9 times")).to_be_visible()
    expect(page.get_by_role("button", name="Run sweep")).to_be_visible()
    shot(page, "sweep_lesson")
