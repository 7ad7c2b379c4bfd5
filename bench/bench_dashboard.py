"""The dashboard: time from pressing Train to the first plotted point, where that time
goes, and server time per live refresh while a run trains.

Against the real thing: ``streamlit run dashboard/app.py`` on 127.0.0.1 (its own
MTL_STUDIO_HOME), driven by headless Chromium through Playwright; with ``--baseline
COMMIT`` that commit runs too (a ``git worktree``, its own server), the presses taking
turns between the two.

1. Train -> first point: the wall time from the click on *Train* until the loss chart
   holds a drawn trace in the browser, for the first press after the page opened
   (the run workers may still be starting) and, after that run, with warm workers
   (median of ``--presses``). Each warm press is split into stages: click -> run
   submitted -> claimed by a worker -> first metric row written (the store's times and
   a 10 ms poll of its database) -> first live refresh ending after it (the server's
   ``MTL_STUDIO_TIMINGS``) -> the point drawn in the browser.
2. Live refresh: while a longer run trains, the server time of every refresh of the
   live fragment (read the runs and new metric rows, build the figures, serialise
   them), and how many refreshes the page got per second.

    .venv/bin/python bench/bench_dashboard.py                        # print the figures
    .venv/bin/python bench/bench_dashboard.py --baseline HEAD~3 --no-long
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
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack, contextmanager
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
def server(tree: Path, home: Path, timings: Path):
    """A streamlit server of the dashboard; yields its URL."""
    port = free_port()
    env = {**os.environ, "MTL_STUDIO_HOME": str(home), "MTL_STUDIO_TIMINGS": str(timings),
           "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}  # fmt: skip
    cmd = [sys.executable, "-m", "streamlit", "run", str(tree / "dashboard" / "app.py"),
           "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
           "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
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


class StoreWatch:
    """Polls the run store's database (read-only, every 10 ms) in a thread: when each run
    was submitted, claimed by a worker, and first had a metric row to plot."""

    def __init__(self, home: Path):
        self.db = home / "runs.sqlite3"
        self.first_row: dict[int, float] = {}
        # created, started, status, experiment
        self.runs: dict[int, tuple[float, float | None, str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> StoreWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        conn = None
        while not self._stop.wait(0.01):
            if conn is None:
                if not self.db.exists():
                    continue
                conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
            try:
                rows = conn.execute(
                    "SELECT id, created, started, status, experiment_id FROM runs"
                ).fetchall()
                seen = conn.execute(
                    "SELECT DISTINCT run_id FROM metrics WHERE name = 'loss'"
                ).fetchall()
            except sqlite3.Error:
                continue
            now = time.time()
            self.runs.update({r[0]: tuple(r[1:]) for r in rows})
            for (rid,) in seen:
                self.first_row.setdefault(rid, now)
        if conn is not None:
            conn.close()

    def newest(self) -> list[int]:
        """The runs of the newest experiment (one per seed)."""
        exp = max(r[3] for r in self.runs.values())
        return sorted(rid for rid, r in self.runs.items() if r[3] == exp)

    def wait_finished(self, timeout_s: float = 300) -> str:
        """Wait until every run of the newest experiment has ended; the worst status."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            statuses = {self.runs[rid][2] for rid in self.newest()}
            if not statuses & {"queued", "running"}:
                return "done" if statuses == {"done"} else ", ".join(sorted(statuses))
            time.sleep(0.05)
        raise TimeoutError(f"runs {self.newest()} still {statuses} after {timeout_s} s")


def press_train(page, url: str, params: dict[str, str], timeout_s: float = 180) -> dict:
    """Open the Train page with ``params``, press Train; when the first point was drawn
    (seconds after the click, ``"point"``) and the wall clock (``time.time()``) of the
    click and of the drawn point."""
    page.goto(f"{url}/train?{urllib.parse.urlencode(params)}")
    page.wait_for_selector(IDLE, state="attached", timeout=60_000)
    button = page.get_by_role("button", name="Train", exact=True)
    clicked, t0 = time.time(), time.perf_counter()
    button.click()
    page.wait_for_function(FIRST_POINT_JS, polling=20, timeout=timeout_s * 1000)
    point = time.perf_counter() - t0
    return {"point": point, "clicked": clicked, "drawn": clicked + point}


def wait_done(page, watch: StoreWatch, timeout_s: float = 300) -> float:
    """Seconds until the newest run has finished and the page shows its result."""
    t0 = time.perf_counter()
    status = watch.wait_finished(timeout_s)
    if status != "done":
        raise RuntimeError(f"run {watch.newest()} ended {status}")
    page.get_by_text("Compare in detail").wait_for(timeout=timeout_s * 1000)
    return time.perf_counter() - t0


def timings_rows(timings: Path) -> list[dict]:
    if not timings.exists():
        return []
    return [json.loads(line) for line in timings.read_text().splitlines() if line.strip()]


STAGES = (
    ("click -> run submitted", "clicked", "created"),
    ("submitted -> claimed by a worker", "created", "started"),
    ("claimed -> first metric row written", "started", "row"),
    ("row written -> first drawing with rows (server)", "row", "drawn_server"),
    ("-> point drawn in the browser", "drawn_server", "drawn"),
)


def breakdown(press: dict, watch: StoreWatch, timings: Path) -> dict[str, float]:
    """Wall-clock stages of one press, from the store and the server's timings."""
    rid = watch.newest()[0]  # the run (first seed) the page follows
    created, started, _, _ = watch.runs[rid]
    marks = {**press, "created": created, "started": started, "row": watch.first_row[rid]}
    rows = [r for r in timings_rows(timings) if r["at"] >= press["clicked"]]
    drawn = [r["at"] for r in rows if r["what"] == "live_refresh" and r["at"] >= marks["row"]]
    marks["drawn_server"] = min(drawn, default=float("nan"))
    return {name: marks[b] - marks[a] for name, a, b in STAGES}


def refreshes(timings: Path, since: float) -> list[float]:
    rows = timings_rows(timings)
    return [r["seconds"] for r in rows if r["what"] == "live_refresh" and r["at"] >= since]


def measure(trees: dict[str, Path], presses: int, long_run: bool) -> dict[str, dict]:
    """Per tree (one server each, all started first): a first press, then ``presses`` warm
    presses taking turns between the trees; the long run on the first tree only."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench_dashboard_") as tmp, ExitStack() as stack:
        pw = stack.enter_context(sync_playwright())
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        sides = {}
        for i, (name, tree) in enumerate(trees.items()):
            home, timings = Path(tmp) / f"home{i}", Path(tmp) / f"timings{i}.jsonl"
            url = stack.enter_context(server(tree, home, timings))
            watch = stack.enter_context(StoreWatch(home))
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            sides[name] = {"url": url, "watch": watch, "page": page, "timings": timings}
        out: dict[str, dict] = {name: {"warm": [], "stages": []} for name in trees}
        for name, side in sides.items():
            out[name]["cold"] = press_train(side["page"], side["url"], SHORT)["point"]
            wait_done(side["page"], side["watch"])
        for _ in range(presses):
            for name, side in sides.items():
                press = press_train(side["page"], side["url"], SHORT)
                out[name]["warm"].append(press["point"])
                out[name]["stages"].append(breakdown(press, side["watch"], side["timings"]))
                print(f"{name}: {press['point']:.2f} s",
                      {k: round(v, 2) for k, v in out[name]["stages"][-1].items()}, flush=True)  # fmt: skip
                wait_done(side["page"], side["watch"])
        if long_run:
            name, side = next(iter(trees)), next(iter(sides.values()))
            started = time.time()
            out[name]["long_first"] = press_train(side["page"], side["url"], LONG)["point"]
            out[name]["long_seconds"] = wait_done(side["page"], side["watch"])
            out[name]["live"] = refreshes(side["timings"], started)
        browser.close()
    return out


def report(m: dict[str, dict], args: argparse.Namespace) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    names = list(m)
    med = {n: statistics.median(m[n]["warm"]) for n in names}
    cmd = f"`.venv/bin/python bench/bench_dashboard.py --presses {args.presses}" + (
        f" --baseline {args.baseline}`" if args.baseline else "`"
    )
    lines = [
        "## Dashboard: Train -> first plotted point, server time per live refresh (`bench_dashboard.py`)",
        "",
        f"{datetime.now():%Y-%m-%d %H:%M}. Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load {load:.1f} at the end; {platform.platform()}; Python "
        f"{platform.python_version()}. Real servers (`streamlit run`, one per tree, one run "
        "worker each) and headless Chromium on the same machine; warm presses take turns "
        "between the trees.",
        "",
        cmd + ":",
        "",
        "| what | " + " | ".join(names) + " |",
        "| --- |" + " ---: |" * len(names),
        "| Train -> first point, first press after the page opened (s) | "
        + " | ".join(f"{m[n]['cold']:.2f}" for n in names)
        + " |",
        f"| Train -> first point, warm workers, median (max) of {args.presses} (s) | "
        + " | ".join(f"{med[n]:.2f} ({max(m[n]['warm']):.2f})" for n in names)
        + " |",
        *(
            f"| - {stage} (median) | "
            + " | ".join(
                f"{statistics.median(s[stage] for s in m[n]['stages']):.2f}" for n in names
            )
            + " |"
            for stage, _, _ in STAGES
        ),  # fmt: skip
    ]
    if len(names) == 2:
        lines.append(
            f"| warm first point, {names[1]} / {names[0]} | {med[names[1]] / med[names[0]]:.2f}x | |"
        )
    first = m[names[0]]
    if "live" in first:
        live = sorted(first["live"])
        q = statistics.quantiles(live, n=10) if len(live) >= 2 else [float("nan")] * 9
        lines += [
            "",
            f"{names[0]}, a longer run (synthetic, 5,000 rows, 40 epochs): first point "
            f"{first['long_first']:.2f} s; live refresh server time median / p90 / max over "
            f"{len(live)}: {statistics.median(live) * 1000:.0f} / {q[8] * 1000:.0f} / "
            f"{max(live) * 1000:.0f} ms; {len(live) / first['long_seconds']:.2f} refreshes "
            f"per second while it trained ({first['long_seconds']:.1f} s).",
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=3, help="warm Train presses to time")
    parser.add_argument("--baseline", help="a commit to time beside this tree (git worktree)")
    parser.add_argument("--no-long", action="store_true", help="skip the longer run")
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    if find_spec("playwright") is None or not CHROMIUM.is_file():
        print("bench_dashboard: needs playwright and /usr/bin/chromium; skipped")
        return 0
    trees = {"this tree": ROOT}
    base = Path(tempfile.mkdtemp(prefix="bench_dashboard_base_")) / "tree"
    if args.baseline:
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.baseline],
                       cwd=ROOT, check=True, capture_output=True)  # fmt: skip
        trees[f"baseline {args.baseline}"] = base
    try:
        text = report(measure(trees, args.presses, not args.no_long), args)
    finally:
        if args.baseline:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT,
                           check=False)  # fmt: skip
    print(text)
    if args.append:
        results = ROOT / "bench" / "RESULTS.md"
        with results.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)
        print(f"appended to {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
