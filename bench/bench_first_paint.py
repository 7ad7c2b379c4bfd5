"""First paint of the dashboard on a fresh server (issue 12).

For each tree (this checkout, and a baseline commit checked out with
``git worktree add`` into a temporary folder), interleaved, ``--repeats`` times: start
``streamlit run dashboard/app.py`` on a free port with a fresh MTL_STUDIO_HOME, and
time from the start to (1) ``/_stcore/health`` answering, (2) the first visible text
in the page's main area in Chromium (a loading line counts: the user sees something),
(3) the landing page's content (the Data page's heading); and, from the moment the
page is opened (the browser is already running): the frontend's websocket open, the
server's first message on it, the message that carries the loading line, and the
line shown. Prints each figure, the medians and the ratios, and the load average. The
machine is used as it is::

    PYTHONPATH=. .venv/bin/python bench/bench_first_paint.py --baseline df626b4 [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _procs import stop
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip
FIRST_TEXT = (
    "() => (document.querySelector('[data-testid=\"stMain\"]')?.innerText || '').trim().length > 0"
)
CONTENT = "() => !!document.querySelector('[data-testid=\"stMain\"] h1')"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def _trace(ws, marks: dict[str, float]) -> None:
    marks.setdefault("open -> ws", time.perf_counter())

    def frame(payload) -> None:
        marks.setdefault("open -> 1st msg", time.perf_counter())
        data = payload if isinstance(payload, bytes) else payload.encode()
        if b"Loading MTL Studio" in data:
            marks.setdefault("open -> line msg", time.perf_counter())

    ws.on("framereceived", frame)


def measure(tree: Path, browser) -> dict[str, float]:
    port, home = _port(), tempfile.mkdtemp(prefix="mtl-bench-home-")
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "MTL_STUDIO_HOME": home}
    cmd = [sys.executable, "-m", "streamlit", "run", str(tree / "dashboard" / "app.py"),
           "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port",
           str(port), "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while not _healthy(url):
            time.sleep(0.05)
        out = {"health": time.perf_counter() - t0}
        page = browser.new_page()
        marks: dict[str, float] = {}
        page.on("websocket", lambda ws: _trace(ws, marks))
        opened = time.perf_counter()
        page.goto(url)
        page.wait_for_function(FIRST_TEXT, timeout=180_000, polling=50)
        out["first text"] = time.perf_counter() - t0
        # From the page's opening: the frontend connected, the server's first message, the
        # loading line's message (what the server does before it is the app's to cut).
        out.update({k: v - opened for k, v in marks.items()})
        out["open -> text"] = out["first text"] - (opened - t0)
        page.wait_for_function(CONTENT, timeout=180_000, polling=100)
        out["content"] = time.perf_counter() - t0
        page.close()
        return out
    finally:
        stop(proc)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", required=True, help="commit to compare with")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="mtl-bench-base-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(base), args.baseline],
                   cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    trees = {f"baseline {args.baseline}": base, "this tree": ROOT}
    results: dict[str, list[dict[str, float]]] = {k: [] for k in trees}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for _ in range(args.repeats):
                for name, tree in trees.items():
                    results[name].append(measure(tree, browser))
                    print(name, {k: round(v, 2) for k, v in results[name][-1].items()}, flush=True)
            browser.close()
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()}")
    med = {n: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for n, rs in results.items()}
    for name, m in med.items():
        print(f"{name:<20} " + "  ".join(f"{k} {v:6.2f} s" for k, v in m.items()))
    (b, ours) = med.values()
    print("baseline / ours:  " + "  ".join(f"{k} {b[k] / ours[k]:.2f}x" for k in b))


if __name__ == "__main__":
    main()
