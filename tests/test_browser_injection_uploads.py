"""Issue 11 in a real browser: payload names (tests/test_markdown_injection.py) make no request
leave for the payload's host on any page, and bad CSV files uploaded through the real
uploader get the catalogue's sentences (tests/bad_inputs)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from tests.conftest import APP_EXCEPTION, APP_IDLE, SCREENSHOT_DIR
from tests.test_markdown_injection import FILE, HOST, payload_csv

pytestmark = pytest.mark.browser

CATALOGUE = Path(__file__).parent / "bad_inputs"
PAGES = ["learn", "data", "model", "train", "compare", "predict", "transfer",
         "representations", "runs"]  # fmt: skip


def idle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector(APP_IDLE, state="attached", timeout=120_000)
    assert page.locator(APP_EXCEPTION).count() == 0


def test_payload_names_fetch_nothing_from_their_host(open_app, streamlit_server, tmp_path):
    from playwright.sync_api import expect

    page = open_app()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    path = tmp_path / FILE
    path.write_bytes(payload_csv())
    page.get_by_text("My CSV files").click()
    idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    expect(page.get_by_text("60 rows × 5 columns")).to_be_visible(timeout=20_000)
    idle(page)
    for _ in range(2):
        page.get_by_role("button", name="Add a task").click()
        idle(page)
    expect(page.get_by_text("2 task(s) ready to train.")).to_be_visible()
    query = page.url.partition("?")[2]
    assert "tasks" in query  # the upload and its tasks are in the link
    extra = "model.strategy=hierarchical&model.hidden=[8,8]&weighting.method=static"
    for name in PAGES:
        path = "" if name == "data" else name  # the default page's address is the root
        page.goto(f"{streamlit_server}/{path}?{query}&{extra}")
        idle(page)
        page.wait_for_timeout(500)  # let images and fonts load, if any were asked for
        if name == "model":  # the sliders labelled with the task names are on the page
            expect(page.get_by_text(f"http://{HOST}/track.png").first).to_be_visible()
            page.screenshot(path=SCREENSHOT_DIR / "browser_payload_names_model.png", full_page=True)
        bad = page.locator(f'img[src*="{HOST}"], a[href*="{HOST}"]')
        assert bad.count() == 0, (
            name,
            [bad.nth(i).evaluate("e => e.outerHTML") for i in range(bad.count())],
        )
    assert [url for url in requested if urlparse(url).hostname == HOST] == []
    assert {urlparse(url).hostname for url in requested} == {"127.0.0.1"}
    assert requested, "the request log saw the page's own requests"


BAD = ["empty_sheet_bom.csv", "windows_1252.csv", "semicolon_decimal_comma.csv"]


def test_bad_files_through_the_real_uploader(open_app):
    """Three files from the catalogue uploaded at once: the two bad ones get their sentences
    in error boxes, the semicolon file is read as one."""
    from playwright.sync_api import expect

    cases = {c.get("upload"): c for c in yaml.safe_load((CATALOGUE / "cases.yaml").read_text())}
    page = open_app()
    page.get_by_text("My CSV files").click()
    idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        [str(CATALOGUE / name) for name in BAD]
    )
    expect(page.get_by_text("6 rows × 3 columns (read as semicolon-separated, decimal comma)")
           ).to_be_visible(timeout=20_000)  # fmt: skip
    idle(page)
    boxes = page.locator('[data-testid="stAlertContentError"] [data-testid="stMarkdownContainer"]')
    shown = sorted(boxes.nth(i).inner_text().strip() for i in range(boxes.count()))
    expected = sorted(cases[name]["stderr"].removeprefix("error: ") for name in BAD[:2])
    assert shown == expected
    page.screenshot(path=SCREENSHOT_DIR / "browser_bad_uploads.png", full_page=True)
