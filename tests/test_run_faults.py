"""No run is left hanging: the process running (or about to run) it is SIGKILLed.

Issue 11, item 1. Each test starts its own processes and ends only those, by PID:
a detached CLI worker, a foreground ``runs submit``, a dashboard-like server
(LocalExecutor) and its worker. After each death every affected run reaches a
final status with a reason at the next look at the store (by any process), and
``runs submit --wait`` returns. "Eventually" is polled for at most 60 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mtlcore.config import ExperimentConfig
from mtlcore.runs import DONE, FAILED, ORPHAN_REASON, RUNNING, LocalExecutor, RunStore

ROOT = Path(__file__).resolve().parents[1]
# Never ends on its own on any machine (the most steps a config allows): the tests kill it.
LONG = {
    "name": "long",
    "data": {"builtin": "houses"},
    "model": {"hidden": [8, 8]},
    "train": {"steps": 10_000_000, "batch_size": 64},
    "baselines": False,
    "seeds": [0],
}
TINY = {**LONG, "name": "tiny", "train": {"epochs": 2, "batch_size": 64}}
NOT_STARTED = "ended before it started"


@pytest.fixture(scope="module")
def forkserver():
    """The executors here fork their workers from one forkserver; stopped at the end."""
    yield
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)
    if stop is not None:
        stop()


def env_for(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MTL_STUDIO_HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
    }


def config_file(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / f"{raw['name']}.yaml"
    ExperimentConfig.parse(raw).save(path)
    return path


def poll(what: str, check, timeout: float = 60.0):
    """check() until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)
    return value


def training(store: RunStore, run_id: int):
    def check():
        run = store.run(run_id)
        assert not run.is_finished, f"run {run_id} ended early: {run.status} {run.error}"
        return run if run.status == RUNNING and run.step > 0 else None

    return poll(f"run {run_id} training", check)


def exited(pid: int) -> None:
    """Wait until child ``pid`` has exited, leaving it a zombie (its exit status readable)."""
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)


def read_ids(proc: subprocess.Popen, n: int) -> list[int]:
    return [int(proc.stdout.readline()) for _ in range(n)]


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_sigkill_of_the_detached_worker_ends_wait_with_both_runs_failed(tmp_path, mtl_studio_home):
    cfg = config_file(tmp_path, LONG)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtlcore", "runs", "submit", str(cfg), "--seeds", "0,1",
         "--detach", "--wait"],
        env=env_for(mtl_studio_home), cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        first, second = read_ids(proc, 2)
        store = RunStore(mtl_studio_home)
        worker = training(store, first).worker_pid
        assert worker != proc.pid  # the background `runs work`, not the submitter
        os.kill(worker, signal.SIGKILL)
        _, err = proc.communicate(timeout=60)  # --wait returns
    finally:
        stop(proc)
    assert proc.returncode == 1
    runs = [store.run(first), store.run(second)]
    assert [r.status for r in runs] == [FAILED, FAILED]
    assert "killed by SIGKILL" in runs[0].error
    assert NOT_STARTED in runs[1].error and f"pid {worker}" in runs[1].error
    assert f"run {first}: failed: {runs[0].error}" in err
    assert f"run {second}: failed: {runs[1].error}" in err
    assert store.metrics(first, name="loss")  # what it wrote before it died is kept


def test_sigkill_of_a_foreground_submit_fails_its_runs_at_the_next_look(tmp_path, mtl_studio_home):
    cfg = config_file(tmp_path, LONG)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtlcore", "runs", "submit", str(cfg), "--seeds", "0,1", "-q"],
        env=env_for(mtl_studio_home), cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        first, second = read_ids(proc, 2)
        assert training(RunStore(mtl_studio_home), first).worker_pid == proc.pid
        os.kill(proc.pid, signal.SIGKILL)
        exited(proc.pid)
        # A process that has never looked at the store (like a new `runs list`) sees
        # both runs final on its first look.
        store = RunStore(mtl_studio_home)
        runs = {r.id: r for r in store.runs()}
    finally:
        stop(proc)
    assert (runs[first].status, runs[second].status) == (FAILED, FAILED)
    assert "killed by SIGKILL" in runs[first].error
    assert NOT_STARTED in runs[second].error and f"pid {proc.pid}" in runs[second].error


def test_server_restart_fails_the_dead_run_runs_the_queue_and_a_killed_worker_fails(
    tmp_path, mtl_studio_home, forkserver
):
    server_code = (
        "import sys, time\n"
        "from mtlcore.config import ExperimentConfig\n"
        "from mtlcore.runs import LocalExecutor\n"
        f"ex = LocalExecutor(workers=1)\n"
        f"print(*ex.submit(ExperimentConfig.parse({LONG!r})), flush=True)\n"
        f"print(*ex.submit(ExperimentConfig.parse({TINY!r})), flush=True)\n"
        "time.sleep(600)\n"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", server_code], env=env_for(mtl_studio_home), cwd=ROOT,
        text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = None
    try:
        running, queued = read_ids(server, 2)
        store = RunStore(mtl_studio_home)
        worker = training(store, running).worker_pid
        os.kill(server.pid, signal.SIGKILL)  # the server dies first, then its worker
        exited(server.pid)
        os.kill(worker, signal.SIGKILL)
        poll("the server's worker to exit", lambda: not _alive(worker))
        assert store.run(queued).status == "queued"  # nobody owns it: it waits for a server
        fresh = RunStore(mtl_studio_home)
        run = fresh.run(running)
        assert run.status == FAILED  # with why, where the exit status was still readable
        assert "killed by SIGKILL" in run.error or run.error == ORPHAN_REASON
    finally:
        stop(server)
        if worker is not None and _alive(worker):
            os.kill(worker, signal.SIGKILL)

    with LocalExecutor(RunStore(mtl_studio_home), workers=1) as ex:  # the restart
        poll("the queued run to finish", lambda: store.run(queued).is_finished)
        assert store.run(queued).status == DONE
        [long_id] = ex.submit(ExperimentConfig.parse(LONG))
        pid = training(store, long_id).worker_pid
        os.kill(pid, signal.SIGKILL)  # the dashboard's worker
        run = poll("the killed worker's run to fail", lambda: _final(RunStore(store.home), long_id))
    assert run.status == FAILED and "killed by SIGKILL" in run.error


def _final(store: RunStore, run_id: int):
    run = store.run(run_id)
    return run if run.is_finished else None


def _alive(pid: int) -> bool:
    from mtlcore.runs._liveness import pid_alive

    return pid_alive(pid)
