"""The Sweep page in a real browser: build a 2 × 2 sweep (two strategies × two weighting
methods) on the built-in synthetic dataset with tiny training, run it on the server's
workers, watch it finish and open its Δm heatmap and ranking.

Screenshot: tests/screenshots/browser_sweep.png. Run with ``pytest -m browser``.
"""

from __future__ import annotations

import re

import pytest

from mtlcore.runs import DONE, RunStore
from tests.test_browser import idle, shot

pytestmark = pytest.mark.browser

SWEEP_TIMEOUT_MS = 240_000  # 8 tiny runs on one worker of a busy 2-core box


def pick(page, box: str, option: str) -> None:
    page.get_by_role("combobox", name=box).click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")  # a multiselect keeps its list open
    idle(page)


def test_build_run_and_open_a_2x2_sweep(open_app, mtl_studio_home):
    from playwright.sync_api import expect

    page = open_app("?data.builtin=synthetic&train.epochs=2&model.hidden=[8]")
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Sweep").click()
    idle(page)
    expect(
        page.get_by_text("Which sharing strategy and weighting suit these tasks")
    ).to_be_visible()
    pick(page, "Sharing strategies", "Multi-gate mixture of experts (MMoE)")
    pick(page, "Weighting methods", "Uncertainty weighting")
    seeds = page.get_by_role("textbox", name="Seeds")
    seeds.fill("0, 1")
    seeds.press("Enter")
    idle(page)
    expect(page.get_by_text("4 cells × 2 seeds = 8 runs")).to_be_visible()
    expect(page.get_by_text("baselines trained 2 times and reused 6 times")).to_be_visible()
    page.get_by_role("button", name="Run sweep").click()
    expect(page.get_by_text("100% of 8 runs")).to_be_visible(timeout=SWEEP_TIMEOUT_MS)
    # the counts as the runs report them (baselines_by_seed), no longer only the plan
    expect(page.get_by_text("100% of 8 runs (baselines trained 2, reused 6)")).to_be_visible()
    idle(page)
    chart = page.locator('[data-testid="stPlotlyChart"]')
    expect(chart.first).to_be_visible()
    expect(chart.get_by_text("Δm over the grid").first).to_be_attached()
    # the heatmap's four cells, one per strategy × method, each with its Δm and verdict
    expect(chart.get_by_text(re.compile(r"^[+-]\d+\.\d%$"))).to_have_count(4)
    verdicts = chart.get_by_text(re.compile(r"^(helps|hurts|within the noise)$"))
    expect(verdicts).to_have_count(4)
    expect(page.get_by_role("button", name="Stop sweep")).to_have_count(0)  # it has ended
    shot(page, "sweep")
    store = RunStore(mtl_studio_home)
    [sweep] = store.sweeps()
    runs = store.runs(sweep_id=sweep.id)
    assert len(runs) == 8 and {r.status for r in runs} == {DONE}
    # trained once per seed; the other cells copied them from the store's baseline cache
    reused = [r.result["baselines_by_seed"][str(r.seed)]["reused"] for r in runs]
    assert reused.count(False) == 2 and reused.count(True) == 6
