"""The Data page in a real browser with a daily weather CSV: a task renamed with its new
target, and *Add a task* after a target change without a false "unknown kind" error
(the Kind box's label once came back from the browser as its value)."""

from __future__ import annotations

import pytest

from tests.conftest import APP_EXCEPTION, APP_IDLE, SCREENSHOT_DIR
from tests.messy_csv import weather_csv

pytestmark = pytest.mark.browser


def idle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector(APP_IDLE, state="attached", timeout=120_000)
    assert page.locator(APP_EXCEPTION).count() == 0


def test_change_a_target_then_add_a_task(open_app, tmp_path):
    from playwright.sync_api import expect

    path = tmp_path / "weather.csv"
    path.write_bytes(weather_csv())
    page = open_app()
    page.get_by_text("My CSV files").click()
    idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    expect(page.get_by_text("400 rows × 6 columns")).to_be_visible(timeout=20_000)
    idle(page)
    page.get_by_role("button", name="Add a task").click()
    idle(page)
    name = page.get_by_label("Task name").first
    expect(name).to_have_value("weather")
    expect(page.get_by_text("Detected from the data: multiclass")).to_be_visible()

    page.get_by_role("combobox", name="Target (what to predict)").first.click()
    page.get_by_role("option", name="temp_max", exact=True).click()
    idle(page)
    expect(name).to_have_value("temp_max")
    expect(page.get_by_text("Detected from the data: regression")).to_be_visible()
    page.get_by_role("button", name="Add a task").click()
    idle(page)
    expect(page.get_by_text("2 task(s) ready to train.")).to_be_visible()
    assert page.get_by_text("unknown kind").count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    page.get_by_text("What preprocessing does to this task's data").first.click()
    page.wait_for_timeout(800)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 2600})
    page.wait_for_timeout(800)
    page.screenshot(path=SCREENSHOT_DIR / "browser_data_weather.png", full_page=True)
