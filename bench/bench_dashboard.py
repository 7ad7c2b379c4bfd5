"""The dashboard: time from pressing Train to the first plotted point, and server time per
live refresh while a run trains.

Against the real thing: ``streamlit run dashboard/app.py`` on 127.0.0.1 (its own
MTL_STUDIO_HOME), driven by headless Chromium through Playwright.

1. Train -> first point: the wall time from the click on *Train* until the loss chart
   holds a drawn trace in the browser, for the first press after the page opened
   (the run workers may still be starting) and, after that run, with warm workers
   (median of ``--presses``).
2. Live refresh: while a longer run trains, the server time of every refresh of the
   live fragment (``MTL_STUDIO_TIMINGS``: read the runs and new metric rows, build
   the figures, serialise them), and how many refreshes the page got per second.

    .venv/bin/python bench/bench_dashboard.py            # print the figures
    .venv/bin/python bench/bench_dashboard.py --append   # and append them to bench/RESULTS.md

Needs Playwright and /usr/bin/chromium (``make test`` installs it as root); without
them it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from datetime import datetime
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
FIRST_POINT_JS = (
    "() => document.querySelectorAll("
    "'[data-testid=stPlotlyChart] .scatterlayer .trace path.js-line, "
    "[data-testid=stPlotlyChart] .scatterlayer .trace path.point').length > 0"
)
SHORT = {"data.builtin": "houses", "train.epochs": "3", "model.hidden": "[16,8]"}
LONG = {
    "data.builtin": "synthetic",
    "data.options": json.dumps({"n_rows": 5000}),
    "train.epochs": "40",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(home: Path, timings: Path):
    """A streamlit server of the dashboard; yields its URL."""
    port = free_port()
    env = {**os.environ, "MTL_STUDIO_HOME": str(home), "MTL_STUDIO_TIMINGS": str(timings),
           "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}  # fmt: skip
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
           "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
           "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the streamlit server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def press_train(page, url: str, params: dict[str, str], timeout_s: float = 180) -> float:
    """Open the Train page with ``params``, press Train; seconds until the first drawn point."""
    page.goto(f"{url}/train?{urllib.parse.urlencode(params)}")
    page.wait_for_selector(IDLE, state="attached", timeout=60_000)
    button = page.get_by_role("button", name="Train", exact=True)
    t0 = time.perf_counter()
    button.click()
    page.wait_for_function(FIRST_POINT_JS, polling=20, timeout=timeout_s * 1000)
    return time.perf_counter() - t0


def wait_done(page, timeout_s: float = 300) -> float:
    t0 = time.perf_counter()
    page.get_by_text("Compare in detail").wait_for(timeout=timeout_s * 1000)
    return time.perf_counter() - t0


def refreshes(timings: Path, since: float) -> list[float]:
    if not timings.exists():
        return []
    rows = [json.loads(line) for line in timings.read_text().splitlines() if line.strip()]
    return [r["seconds"] for r in rows if r["what"] == "live_refresh" and r["at"] >= since]


def measure(presses: int) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench_dashboard_") as tmp:
        home, timings = Path(tmp) / "home", Path(tmp) / "timings.jsonl"
        with server(home, timings) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            cold = press_train(page, url, SHORT)
            wait_done(page)
            warm = []
            for _ in range(presses):
                warm.append(press_train(page, url, SHORT))
                wait_done(page)
            started = time.time()
            long_first = press_train(page, url, LONG)
            t0 = time.perf_counter()
            wait_done(page)
            trained = time.perf_counter() - t0
            live = refreshes(timings, started)
            browser.close()
    return {"cold": cold, "warm": warm, "long_first": long_first, "long_seconds": trained,
            "live": live}  # fmt: skip


def report(m: dict[str, object], args: argparse.Namespace) -> str:
    live = sorted(m["live"])  # type: ignore[arg-type]
    warm = m["warm"]  # type: ignore[assignment]
    q = statistics.quantiles(live, n=10) if len(live) >= 2 else [float("nan")] * 9
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "## Dashboard: Train -> first plotted point, server time per live refresh (`bench_dashboard.py`)",
        "",
        f"{datetime.now():%Y-%m-%d %H:%M}. Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load {load:.1f} at the end; {platform.platform()}; Python "
        f"{platform.python_version()}. Real server (`streamlit run`) and headless Chromium on the "
        "same machine; one run worker.",
        "",
        f"`.venv/bin/python bench/bench_dashboard.py --presses {args.presses}`:",
        "",
        "| what | figure |",
        "| --- | --- |",
        f"| Train -> first point, first press after the page opened | {m['cold']:.2f} s |",
        f"| Train -> first point, warm workers, median (max) of {len(warm)} | "
        f"{statistics.median(warm):.2f} s ({max(warm):.2f} s) |",
        f"| Train -> first point, longer run (synthetic, 5,000 rows) | {m['long_first']:.2f} s |",
        f"| live refresh, server time: median / p90 / max over {len(live)} | "
        f"{statistics.median(live) * 1000:.0f} / {q[8] * 1000:.0f} / {max(live) * 1000:.0f} ms |",
        f"| live refreshes per second while that run trained ({m['long_seconds']:.1f} s) | "
        f"{len(live) / m['long_seconds']:.2f} |",  # type: ignore[operator]
        "",
        "Reading them: after the click the page submits the run and waits (up to a "
        "second) for its first epoch to be written, so that the very next drawing already "
        "has points; the run writes its metric rows in batches every half second, so for "
        "a small run most of the first-point time is that batching plus drawing the chart "
        "in the browser (a fresh worker adds seconds, hence the first press). A refresh "
        "re-reads only new metric rows and rebuilds the figures only when rows arrived; "
        "its server time grows with the epochs drawn but stays well under the one-second "
        "period, so the page stays responsive while a run trains. On this 2-core machine "
        "the run's worker, the server and Chromium share the cores, which inflates every "
        "figure here.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=3, help="warm Train presses to time")
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    if find_spec("playwright") is None or not CHROMIUM.is_file():
        print("bench_dashboard: needs playwright and /usr/bin/chromium; skipped")
        return 0
    text = report(measure(args.presses), args)
    print(text)
    if args.append:
        results = ROOT / "bench" / "RESULTS.md"
        with results.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)
        print(f"appended to {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
