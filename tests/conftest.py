"""Shared test fixtures: an isolated MTL_STUDIO_HOME per test, a live Streamlit server
and a real Chromium page driven by Playwright.

Browser tests look like this::

    @pytest.mark.browser
    def test_home(open_app):
        page = open_app()  # starts the server and the browser, waits for the first run
        expect(page.get_by_text("MTL Studio").first).to_be_visible()

To serve another script than ``dashboard/app.py``, parametrize ``streamlit_app``::

    @pytest.mark.parametrize("streamlit_app", [Path("tests/apps/demo.py")])
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from pathlib import Path

import pytest
from hypothesis import settings

# Under CI the property tests draw the same examples every run (a red CI is then
# reproducible, never a lucky draw) and no example is failed for being slow on a busy box.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT_DIR = REPO_ROOT / "tests" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_GRACE_S = 10.0


@pytest.fixture(scope="session", autouse=True)
def _torch_single_thread() -> None:
    """One torch thread: reproducible numbers and no oversubscription on a 2-core CI box."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def mtl_studio_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A fresh MTL_STUDIO_HOME (run store, artifacts) for every test; tmp_path stays empty."""
    home = tmp_path_factory.mktemp("mtl_studio_home")
    monkeypatch.setenv("MTL_STUDIO_HOME", str(home))
    return home


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def streamlit_app() -> Path:
    """The script `streamlit_server` serves; parametrize this name to serve another one."""
    return REPO_ROOT / "dashboard" / "app.py"


@pytest.fixture
def streamlit_server(
    streamlit_app: Path, mtl_studio_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Start `streamlit run <streamlit_app>` on a free local port; yield its base URL.

    The server sees this test's MTL_STUDIO_HOME. Its output is printed at teardown, so
    pytest shows it for failing tests. Teardown stops exactly the process started here.
    """
    app = Path(streamlit_app)
    app = app if app.is_absolute() else REPO_ROOT / app
    if not app.is_file():
        pytest.fail(f"Streamlit app not found: {app}")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "OMP_NUM_THREADS": "1",
    }
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    started = False
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                why = f"exited with {proc.returncode}" if proc.poll() is not None else "timed out"
                pytest.fail(
                    f"Streamlit server for {app} {why} before {url}/_stcore/health was ok.\n"
                    f"--- server output ---\n{log_path.read_text(errors='replace')}"
                )
            time.sleep(0.2)
        started = True
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=SERVER_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if started:  # a failed start already put the output in its message
            print(
                f"--- streamlit server output ({app.name}) ---\n{log_path.read_text(errors='replace')}"
            )


def _browser_unavailable() -> str | None:
    if find_spec("playwright") is None:
        return "the playwright package is not installed (make venv installs it)"
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing (as root: apt-get install -y chromium; `make test` does it)"
    return None


def require_extra(load: Callable[[], object], name: str) -> object:
    """``load()``: the module of an optional extra (``import_ray``, ``import_mlflow``, which
    raise a RuntimeError naming the install line when it is missing). Missing, the test
    skips, but fails under CI=true: `make test` installs it, so CI never passes by
    silently skipping."""
    try:
        return load()
    except RuntimeError as exc:
        reason = f"the {name} extra is not installed ({exc})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"cannot run under CI=true: {reason}")
        pytest.skip(reason)


@pytest.fixture
def browser_page() -> Iterator:
    """A Playwright page in Debian's headless Chromium, 1400x900.

    Skips when Playwright or /usr/bin/chromium is missing, but fails under CI=true so
    CI never passes by silently skipping. A full-page screenshot of the page as the test
    left it is saved to tests/screenshots/<test name>.png.
    """
    reason = _browser_unavailable()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser test cannot run under CI=true: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(30_000)
        # Streamlit loads each widget's and chart's code on first use: on a busy 2-core
        # machine a radio or a chart can appear seconds after the script run has ended
        # (CI once saw a page's text but not yet its radio after 5 s). Assertions wait
        # as long as actions do; a test that needs longer says so.
        expect.set_options(timeout=30_000)
        yield page
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Screenshot every browser_page right after its test body, while its server still runs."""
    try:
        return (yield)
    finally:
        page = getattr(item, "funcargs", {}).get("browser_page")
        if page is not None:
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", item.name)
            try:
                page.screenshot(path=SCREENSHOT_DIR / f"{name}.png", full_page=True)
            except Exception as exc:  # a screenshot must never hide the test's own outcome
                print(f"screenshot failed: {exc}")


# The stApp root reads "initial" until the first script run, then "running"/"notRunning".
APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
APP_EXCEPTION = '[data-testid="stException"]'


@pytest.fixture
def open_app(browser_page, streamlit_server: str) -> Callable:
    """`open_app(path="")` loads streamlit_server + path (e.g. "?lesson=1") in browser_page,
    waits until the script's run has finished and returns the page. It fails the test when
    the page shows a Streamlit exception box (a traceback must never reach the page),
    unless called with allow_exception=True."""

    def _open(path: str = "", timeout_ms: int = 120_000, allow_exception: bool = False):
        browser_page.goto(streamlit_server + "/" + path.lstrip("/"))
        browser_page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout_ms)
        errors = browser_page.locator(APP_EXCEPTION)
        if not allow_exception and errors.count():
            pytest.fail(f"the page shows an exception:\n{errors.first.inner_text()}")
        return browser_page

    return _open


DASHBOARD_APP = str(REPO_ROOT / "dashboard" / "app.py")


@pytest.fixture
def quiet_dashboard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """For AppTest tests: fresh Streamlit caches, workers only when a test trains, and
    stopped after it (``pytestmark = pytest.mark.usefixtures("quiet_dashboard")``)."""
    import streamlit as st

    from dashboard import runs_client

    monkeypatch.setenv(runs_client.EAGER_ENV, "0")
    st.cache_data.clear()
    yield
    runs_client.shutdown()
    st.cache_data.clear()
