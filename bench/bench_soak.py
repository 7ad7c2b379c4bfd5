"""Browser soak: many sessions on one dashboard server at once, each repeating upload ->
train (tiny) -> train a long run and cancel it -> compare, for a while.

Against the real thing: ``streamlit run dashboard/app.py`` on 127.0.0.1 with its own
MTL_STUDIO_HOME, driven by headless Chromium through Playwright (one browser, one context
per session, all sessions at once on one asyncio loop). It prints:

* runs started by the sessions, runs in the store and runs lost (started but missing, or
  not in a final state once the sessions stop; must be 0);
* page errors: exception boxes and error alerts any session saw (must be 0);
* peak resident memory (VmRSS from /proc) of the server process and of its run workers
  (the biggest one, and all of them together), sampled every 0.5 s.

    .venv/bin/python bench/bench_soak.py --sessions 20 --minutes 10
    .venv/bin/python bench/bench_soak.py --sessions 10 --minutes 3 --append   # and RESULTS.md

The short version runs in CI: tests/test_browser_soak.py (5 sessions, one cycle each).
Needs Playwright and /usr/bin/chromium; without them it says so and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/bench_soak.py` puts bench/ on the path
    sys.path.insert(0, str(ROOT))
if str(ROOT / "bench") not in sys.path:  # loaded by tests/test_browser_soak.py from its file
    sys.path.insert(0, str(ROOT / "bench"))

from _procs import stop  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]  # fmt: skip
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PROBLEMS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
FINAL = {"done", "failed", "cancelled"}
WAIT_MS = 240_000  # the longest wait for one step, on a loaded machine
RETRY_MS = 30_000  # a press with no effect after this long was dropped: press again
TINY = "train.epochs=2&seeds=[0]&baselines=false&model.hidden=[8]"
LONG = "train.steps=1000000&seeds=[0]&baselines=false&model.hidden=[8]"  # stopped long before


def soak_csv(n: int = 80) -> bytes:
    """A small CSV with a regression and a classification target (the same for everyone,
    so sessions also upload the same file at the same time)."""
    lines = ["x1,x2,group,y_value,y_flag"]
    for i in range(n):
        x1, x2 = ((i * 37) % 23) / 7 - 1.5, ((i * 11) % 17) / 5 - 1.6
        flag = "yes" if x1 > 0 else "no"
        lines.append(f"{x1:.3f},{x2:.3f},{'abc'[i % 3]},{x1 - 2 * x2:.3f},{flag}")
    return ("\n".join(lines) + "\n").encode()


@dataclass
class Tally:
    """What the sessions did and saw."""

    started: int = 0  # Train presses, one run each (one seed)
    cycles: int = 0
    problems: list[str] = field(default_factory=list)
    steps: dict[int, str] = field(default_factory=dict)  # each session's step in progress
    repressed: int = 0  # Train/Stop presses the page dropped and the session pressed again


def failure(exc: Exception) -> str:
    """A Playwright error in one line: its first line and what it was waiting for."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    waiting = [line for line in lines if "waiting for" in line or "Expect" in line]
    return " | ".join(lines[:1] + waiting[:2])[:500]


async def idle(page, tally: Tally, where: str) -> None:
    await page.wait_for_timeout(300)
    await page.wait_for_selector(IDLE, state="attached", timeout=180_000)
    boxes = page.locator(PROBLEMS)
    for i in range(await boxes.count()):
        tally.problems.append(f"{where}: {(await boxes.nth(i).inner_text())[:300]}")


async def press_train(page, url: str, tally: Tally, where: str) -> None:
    """Open the Train page at ``url`` and press Train until the page follows a run (a press
    that lands while the page reruns can be dropped by the browser; a user presses again)."""
    await page.goto(url)
    await idle(page, tally, where)
    none_yet = page.get_by_text("Press Train to start a run")
    for attempt in range(WAIT_MS // RETRY_MS):
        tally.repressed += attempt > 0
        await page.get_by_role("button", name="Train").click()
        if await gone(none_yet):
            tally.started += 1
            return
        await idle(page, tally, where)
        if not await none_yet.is_visible():  # the run started late: it is followed now
            tally.started += 1
            return
    raise AssertionError(f"{where}: no run started after pressing Train for {WAIT_MS} ms")


async def stop_run(page, tally: Tally, where: str) -> None:
    """Press Stop until the page says the run was stopped (as ``press_train``, a press can
    be dropped; pressing again asks for the same cancel)."""
    stopped = page.get_by_text("was stopped").first
    stop_button = page.get_by_role("button", name="Stop")
    pressed = False
    for _ in range(WAIT_MS // RETRY_MS):
        if await stopped.is_visible():
            return
        if await shown(stop_button):
            tally.repressed += pressed
            await stop_button.click()
            pressed = True
        if await shown(stopped):
            return
        await idle(page, tally, where)
    raise AssertionError(f"{where}: the page never said the run was stopped")


async def shown(locator) -> bool:
    """Whether ``locator`` is visible within RETRY_MS."""
    try:
        await locator.wait_for(state="visible", timeout=RETRY_MS)
    except Exception:  # playwright's TimeoutError: not (yet) shown
        return False
    return True


async def gone(locator) -> bool:
    """Whether ``locator`` is hidden within RETRY_MS."""
    try:
        await locator.wait_for(state="hidden", timeout=RETRY_MS)
    except Exception:
        return False
    return True


async def add_task(page, k: int, tally: Tally, where: str) -> None:
    """Press *Add a task* until the page shows ``k`` tasks (a press that lands while the
    page reruns can be dropped by the browser; pressing again is what a user does)."""
    from playwright.async_api import expect

    names = page.get_by_label("Task name")  # one box per task
    deadline = time.monotonic() + WAIT_MS / 1000
    while await names.count() < k:
        await idle(page, tally, where)
        if await names.count() == k - 1:
            await page.get_by_role("button", name="Add a task").click()
        for _ in range(20):  # up to ~20 s for the page to show it
            await page.wait_for_timeout(1000)
            if await names.count() >= k:
                break
        assert time.monotonic() < deadline, f"{where}: the page never showed task {k}"
    await expect(page.get_by_text(f"{k} task(s) ready to train.")).to_be_visible(timeout=WAIT_MS)


async def session(browser, base: str, csv: Path, until: float, tally: Tally, n: int) -> None:
    """Cycles of upload, train, cancel, compare until ``until`` (at least one); a step
    that never comes ends the session with a problem in the tally."""
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        await cycles(page, base, csv, until, tally, n)
    except Exception as exc:  # a step that never came: the page's problem is in the tally
        shot = csv.parent / f"soak-session-{n}.png"  # what the page showed, for a look
        with contextlib.suppress(Exception):
            await page.screenshot(path=str(shot), full_page=True)
        tally.problems.append(f"session {n} stopped at {tally.steps.get(n, 'the start')!r}: "
                              f"{failure(exc)} (screenshot: {shot})")  # fmt: skip
    finally:
        await context.close()


async def cycles(page, base: str, csv: Path, until: float, tally: Tally, n: int) -> None:
    from playwright.async_api import expect

    def at(step: str) -> str:
        tally.steps[n] = step
        return f"session {n}: {step}"

    while True:
        await page.goto(base + "/")  # the Data page is the default one
        await idle(page, tally, at("data"))
        await page.get_by_text("My CSV files").click()
        await idle(page, tally, at("data, my CSV files"))
        await page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
        at("upload")
        await expect(page.get_by_text("80 rows × 5 columns")).to_be_visible(timeout=WAIT_MS)
        for k in (1, 2):
            await add_task(page, k, tally, at(f"task {k}"))
        await idle(page, tally, at("tasks"))
        query = page.url.partition("?")[2]
        await press_train(page, f"{base}/train?{query}&{TINY}", tally, at("train"))
        at("train, waiting for 'done in'")
        await expect(page.get_by_text("done in").first).to_be_visible(timeout=WAIT_MS)
        await press_train(page, f"{base}/train?{query}&{LONG}", tally, at("long"))
        await stop_run(page, tally, at("stop"))
        await idle(page, tally, at("cancel"))
        await page.goto(f"{base}/compare?{query}")
        await idle(page, tally, at("compare"))
        tally.cycles += 1
        if time.monotonic() >= until:
            return


async def drive(base: str, sessions: int, seconds: float, csv: Path) -> Tally:
    from playwright.async_api import async_playwright

    tally = Tally()
    until = time.monotonic() + seconds
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            await asyncio.gather(*(session(browser, base, csv, until, tally, n)
                                   for n in range(sessions)))  # fmt: skip
        finally:
            await browser.close()
    return tally


# --- memory ---------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (the run workers and what they start)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/stat", encoding="ascii") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


@dataclass
class Memory:
    server_mb: float = 0.0
    worker_mb: float = 0.0  # the biggest single worker
    workers_mb: float = 0.0  # all workers together


@contextlib.contextmanager
def sampled(pid: int, every_s: float = 0.5) -> Iterator[Memory]:
    peak, stop = Memory(), threading.Event()

    def sample() -> None:
        while not stop.wait(every_s):
            sizes = [rss_mb(c) for c in children(pid)]
            peak.server_mb = max(peak.server_mb, rss_mb(pid))
            peak.worker_mb = max([peak.worker_mb, *sizes])
            peak.workers_mb = max(peak.workers_mb, sum(sizes))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


# --- server and the store -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(home: Path) -> Iterator[tuple[str, int]]:
    """``streamlit run dashboard/app.py`` on a free local port; yields (url, pid)."""
    port = free_port()
    env = {**os.environ, "MTL_STUDIO_HOME": str(home), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
           "--server.headless", "true", "--server.address", "127.0.0.1",
           "--server.port", str(port), "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false"]  # fmt: skip
    log = open(home / "server.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r,
            ):
                if r.status == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {(home / 'server.log').read_text()}")
            time.sleep(0.3)
        yield url, proc.pid
    finally:
        stop(proc)
        log.close()


def settle(home: Path, timeout_s: float = 30.0) -> list:
    """The store's runs once none is queued or running (or after ``timeout_s``)."""
    from mtlcore.runs import RunStore

    store = RunStore(home)
    deadline = time.monotonic() + timeout_s
    while True:
        runs = store.runs()
        if all(r.status in FINAL for r in runs) or time.monotonic() > deadline:
            return runs
        time.sleep(0.5)


@dataclass
class Outcome:
    sessions: int
    seconds: float
    wall_s: float
    tally: Tally
    memory: Memory
    statuses: dict[str, int]
    tracebacks: list[str]  # in the server's log
    home: Path

    @property
    def stored(self) -> int:
        return sum(self.statuses.values())

    @property
    def lost(self) -> int:
        """Runs started but not in the store, or in it but not finished."""
        unfinished = sum(n for s, n in self.statuses.items() if s not in FINAL)
        return max(0, self.tally.started - self.stored) + unfinished


def soak(sessions: int, seconds: float, home: Path | None = None) -> Outcome:
    """Run the soak against a fresh server; ``home`` defaults to a temporary folder."""
    with contextlib.ExitStack() as stack:
        if home is None:  # kept, with the server's log, for a look afterwards
            home = Path(tempfile.mkdtemp(prefix="mtl-soak-"))
        csv = home / "soak.csv"
        csv.write_bytes(soak_csv())
        start = time.monotonic()
        url, pid = stack.enter_context(server(home))
        with sampled(pid) as memory:
            tally = asyncio.run(drive(url, sessions, seconds, csv))
            runs = settle(home)
        statuses: dict[str, int] = {}
        for r in runs:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        log = (home / "server.log").read_text(encoding="utf-8", errors="replace")
        tracebacks = [part.strip()[-3000:] for part in log.split("Traceback (most recent")[1:]]
        return Outcome(sessions, seconds, time.monotonic() - start, tally, memory, statuses,
                       tracebacks, home)  # fmt: skip


def report(o: Outcome, command: str) -> str:
    t, m = o.tally, o.memory
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())  # fmt: skip
    return "\n".join([
        f"## Browser soak (`bench_soak.py`), {o.sessions} sessions × {o.seconds / 60:g} min",
        "",
        f"{datetime.now():%Y-%m-%d}. Machine: `nproc` {os.cpu_count()}, {cpu}, shared with "
        "other work while measuring; one dashboard server (1 run worker per 2 cores), "
        f"headless Chromium, Python {platform.python_version()}. `{command}`",
        "",
        "| figure | value |",
        "| --- | ---: |",
        f"| cycles (upload, train, train + cancel, compare) | {t.cycles} |",
        f"| runs started | {t.started} |",
        f"| Train/Stop presses dropped by the page and pressed again | {t.repressed} |",
        f"| runs in the store | {o.stored} ({', '.join(f'{n} {s}' for s, n in sorted(o.statuses.items()))}) |",
        f"| **runs lost** | **{o.lost}** |",
        f"| **page errors** | **{len(t.problems)}** |",
        f"| tracebacks in the server's log | {len(o.tracebacks)} |",
        f"| peak server RSS | {m.server_mb:.0f} MB |",
        f"| peak worker RSS (largest one) | {m.worker_mb:.0f} MB |",
        f"| peak workers RSS (all together) | {m.workers_mb:.0f} MB |",
        f"| wall time | {o.wall_s:.0f} s |",
        "",
    ])  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    if find_spec("playwright") is None or not CHROMIUM.is_file():
        print("needs Playwright and /usr/bin/chromium; skipped")
        return 0
    outcome = soak(args.sessions, args.minutes * 60)
    text = report(outcome, "python bench/bench_soak.py " + " ".join(sys.argv[1:]))
    print(text)
    for problem in outcome.tally.problems[:20]:
        print("page error:", problem)
    print(f"server log: {outcome.home / 'server.log'}")
    for traceback in outcome.tracebacks[:5]:
        print("server traceback:", traceback)
    if args.append:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n" + text)
    return 1 if outcome.lost or outcome.tally.problems else 0


if __name__ == "__main__":
    sys.exit(main())
