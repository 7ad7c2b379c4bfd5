"""Defaults that must not expose a server (issue 11): a plain ``streamlit run
dashboard/app.py`` listens on this machine only, sends no usage statistics and makes no
request outside the server (checked in a real browser with every request logged)."""

from __future__ import annotations

import tomllib

import pytest

from tests.conftest import REPO_ROOT


def test_streamlit_config_listens_locally_without_telemetry():
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text("utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    assert config["browser"]["gatherUsageStats"] is False


@pytest.mark.browser
def test_the_page_requests_nothing_outside_the_server(open_app, browser_page, quiet_dashboard):
    outside: list[str] = []
    browser_page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if not r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
            else None
        ),
    )
    page = open_app()
    for name in ("Model", "Train", "Learn"):
        page.get_by_text(name, exact=True).first.click()
        page.wait_for_timeout(1500)
    assert outside == []
