"""The run store and the local executor: concurrency, cancel, failures, restart, fidelity.

One warm executor serves the module (its workers are forked from a forkserver that
has imported torch once); each test waits for its own runs, so the executor is idle
between tests. Configs are tiny: the built-in houses dataset, a few epochs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mtlcore.cli import main as cli_main
from mtlcore.config import ExperimentConfig
from mtlcore.runs import (
    CANCELLED,
    DONE,
    FAILED,
    ORPHAN_REASON,
    QUEUED,
    RUNNING,
    SCHEMA_VERSION,
    LocalExecutor,
    QueueFull,
    RunNotFound,
    RunStateError,
    RunStore,
    StoreError,
    execute_run,
    load_snapshot,
)
from mtlcore.runs._liveness import process_token, token_alive

TINY = {
    "name": "tiny",
    "data": {"builtin": "houses"},
    "model": {"hidden": [8, 8]},
    "train": {"epochs": 3, "batch_size": 64, "grad_cosine_every": 5},
    "seeds": [0],
}


def tiny(**changes) -> ExperimentConfig:
    """TINY with ``section__key=value`` changes (``None`` removes the key)."""
    raw = json.loads(json.dumps(TINY))
    for key, value in changes.items():
        section, _, leaf = key.partition("__")
        node, name = (raw.setdefault(section, {}), leaf) if leaf else (raw, key)
        if value is None:
            node.pop(name, None)
        else:
            node[name] = value
    return ExperimentConfig.parse(raw)


# Never ends on its own on any machine (the most steps a config allows): the tests stop it.
LONG = {"train__epochs": None, "train__steps": 10_000_000, "baselines": False}


def wait_for(store: RunStore, run_id: int, until, timeout: float = 60.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        run = store.run(run_id)
        if until(run):
            return run
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} did not reach {what or 'the state'} in {timeout}s: {run}")
        time.sleep(0.02)


def finished(store: RunStore, run_id: int, timeout: float = 60.0):
    return wait_for(store, run_id, lambda r: r.is_finished, timeout, "a final status")


def training(store: RunStore, run_id: int):
    """Wait until the run is running and has written metric rows."""
    return wait_for(
        store, run_id, lambda r: r.status == RUNNING and r.step > 0, 60.0, "running with progress"
    )


@pytest.fixture(scope="module")
def forkserver():
    """Executors fork their workers from multiprocessing's forkserver, which imports torch
    once; it serves the whole module and is stopped at its end."""
    yield
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # what CPython's own tests use
    if stop is not None:
        stop()


@pytest.fixture(scope="module")
def executor(tmp_path_factory, forkserver):
    store = RunStore(tmp_path_factory.mktemp("executor_home"))
    ex = LocalExecutor(store, workers=1)
    try:
        assert ex.wait_ready(120.0), "the worker did not start within 120 s"
        yield ex
    finally:
        ex.shutdown(timeout=10.0)
        assert not any(_alive(pid) for pid in ex.worker_pids)


def _alive(pid: int) -> bool:
    from mtlcore.runs._liveness import pid_alive

    return pid_alive(pid)


# --- the store --------------------------------------------------------------------


def test_store_lives_in_mtl_studio_home_with_a_schema_version(mtl_studio_home):
    store = RunStore()
    assert store.db_path == mtl_studio_home.resolve() / "runs.sqlite3"
    with sqlite3.connect(store.db_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        db.execute("INSERT INTO schema_version VALUES (?, 0)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer MTL Studio"):
        RunStore(mtl_studio_home)


def test_submit_makes_one_queued_run_per_seed_under_one_experiment():
    store = RunStore()
    ids = store.submit(tiny(seeds=[3, 4, 5]), name="three seeds")
    runs = [store.run(i) for i in ids]
    assert [r.seed for r in runs] == [3, 4, 5]
    assert {r.status for r in runs} == {QUEUED}
    assert len({r.experiment_id for r in runs}) == 1
    assert all(r.config().seeds == [r.seed] for r in runs)
    exp = store.experiment(runs[0].experiment_id)
    assert exp.run_ids == ids and exp.name == "three seeds"
    assert ExperimentConfig.from_text(exp.config_yaml).seeds == [3, 4, 5]
    with pytest.raises(QueueFull):
        store.submit(tiny(seeds=[1, 2]), max_queued=4)
    assert store.rename(ids[1], "  <b>lesson 1</b> ").name == "<b>lesson 1</b>"
    with pytest.raises(RunStateError):
        store.rename(ids[1], "   ")
    cancelled = store.request_cancel(ids[0])  # a queued run is cancelled at once
    assert cancelled.status == CANCELLED
    store.delete_run(ids[0])
    with pytest.raises(RunNotFound):
        store.run(ids[0])
    with pytest.raises(RunNotFound, match="whole numbers"):
        store.run("abc")


# A writer process: n_batches transactions of `batch` rows with values 0, 1, 2, ...; it imports
# only the store (no torch), so it starts in a fraction of a second.
WRITER = """
import sys
from mtlcore.runs import RunStore
home, run_id, n_batches, batch = sys.argv[1], *map(int, sys.argv[2:])
store = RunStore(home)
for b in range(n_batches):
    rows = [(b * batch + i, 1, "mtl", "t", "train", "loss", float(b * batch + i))
            for i in range(batch)]
    progress = {"phase": "mtl", "epoch": 1, "step": b, "total_steps": n_batches,
                "progress": b / n_batches}
    store.record(run_id, rows, progress=progress)
"""


def test_concurrent_writer_processes_lose_no_rows(mtl_studio_home):
    store = RunStore()
    n_proc, n_batches, batch = 4, 40, 50
    run_ids = [store.submit(tiny())[0] for _ in range(n_proc)]
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(mtl_studio_home),
                str(rid),
                str(n_batches),
                str(batch),
            ],
            env=env,
        )
        for rid in run_ids
    ]
    try:
        while any(p.poll() is None for p in procs):  # a browser session polling meanwhile
            for rid in run_ids:
                store.metrics(rid)
                store.run(rid)
            time.sleep(0.01)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
    assert [p.returncode for p in procs] == [0] * n_proc
    for rid in run_ids:
        values = [m.value for m in store.metrics(rid)]
        assert values == [float(v) for v in range(n_batches * batch)]
        assert store.run(rid).step == n_batches - 1
    rows = store.metrics(run_ids[0])
    assert store.metrics(run_ids[0], after=rows[99].id) == rows[100:]  # polling by id


def test_process_tokens_tell_a_dead_or_reused_pid():
    assert token_alive(process_token())
    host, pid, start = process_token().split(":")
    assert not token_alive(f"{host}:{pid}:{int(start or 0) + 1}")  # same pid, other process
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not token_alive(process_token(proc.pid))
    assert token_alive(f"another-{socket.gethostname()}:1:1")  # cannot tell: left alone


# --- the executor -----------------------------------------------------------------


def test_metrics_and_result_equal_a_direct_run(executor):
    from mtlcore.experiment import run_experiment

    config = tiny(train__snapshot_every=2, train__snapshot_rows=10)
    [run_id] = executor.submit(config)
    run = finished(executor.store, run_id)
    assert run.status == DONE, run.error
    assert run.progress == 1.0 and run.step == run.total_steps > 0

    result, _ = run_experiment(config)
    expected = {}
    for row in result["history"]:
        for name, value in row.items():
            if name not in ("model", "epoch", "task", "split", "seed"):
                expected[(row["model"], row["epoch"], row["task"], row["split"], name)] = value
    for row in result["grad_cosine"]:
        key = (row["model"], row["epoch"], f"{row['task_a']}|{row['task_b']}", "train", "cosine")
        expected[key] = row["cosine"]
    stored = {(m.model, m.epoch, m.task, m.split, m.name): m.value
              for m in executor.store.metrics(run_id) if m.split != "state"}  # fmt: skip
    assert stored == expected
    for name, task in result["tasks"].items():
        assert run.result["tasks"][name]["mtl"] == task["mtl"]
        assert run.result["tasks"][name]["stl"] == task["stl"]
    assert run.result["delta_m"] == result["delta_m"]

    files = {a.kind: a.path for a in executor.store.artifacts(run_id)}
    assert {"result", "config", "weights"} <= set(files)
    on_disk = json.loads(files["result"].read_text())
    assert on_disk["tasks"] == json.loads(json.dumps(result["tasks"]))
    snaps = executor.store.snapshots(run_id, model="mtl")
    assert [s.meta["epoch"] for s in snaps] == [0, 2]
    snap = load_snapshot(snaps[-1].path)
    assert snap.epoch == 2 and set(snap.features) == set(result["tasks"])
    assert all(len(snap.rows[t]) == len(snap.features[t]) <= 10 for t in snap.features)


def test_cancel_stops_a_running_run_and_keeps_its_metrics(executor):
    store = executor.store
    [run_id] = executor.submit(tiny(**LONG))
    training(store, run_id)
    executor.cancel(run_id)
    run = finished(store, run_id)
    assert run.status == CANCELLED and run.cancel_requested <= run.finished
    assert store.metrics(run_id, name="loss")
    assert 0 < run.progress < 1


def test_training_stops_at_the_first_event_that_sees_the_cancel(tmp_path):
    """How promptly a cancel lands is counted in training events, not seconds: the recorder
    reads the flag (at most every ``check_seconds``; here at every event) and the loop stops
    at the event that saw it, writing what it had."""
    from mtlcore.experiment import run_experiment
    from mtlcore.runs._recorder import RunRecorder
    from mtlcore.train import TrainingCancelled

    store = RunStore(tmp_path)
    config = tiny(**LONG)
    [run_id] = store.submit(config)
    assert store.claim(run_id, process_token(), os.getpid())
    recorder = RunRecorder(store, run_id, check_seconds=0.0)
    seen: list[int] = []

    def callback(event) -> bool:
        seen.append(event.step)
        if len(seen) == 5:
            store.request_cancel(run_id)
        return recorder(event)

    with pytest.raises(TrainingCancelled, match=r"cancelled at step \d+"):
        run_experiment(config, callback)
    assert len(seen) == 5  # no event after the one that saw the flag
    recorder.flush()
    assert store.metrics(run_id, name="loss")  # what it had is kept


def test_a_killed_worker_fails_its_run_and_the_next_run_works(executor):
    store = executor.store
    [run_id] = executor.submit(tiny(**LONG))
    run = training(store, run_id)
    os.kill(run.worker_pid, signal.SIGKILL)
    run = finished(store, run_id, timeout=10.0)
    assert run.status == FAILED
    assert "SIGKILL" in run.error
    assert store.metrics(run_id)  # what it wrote before it died is kept
    [next_id] = executor.submit(tiny())
    assert finished(store, next_id).status == DONE
    assert run.worker_pid not in executor.worker_pids


def test_a_diverging_run_fails_with_the_divergence_message(executor):
    config = tiny(train__optimizer="sgd", train__lr=10.0, data__standardize_targets=False)
    [run_id] = executor.submit(config)
    run = finished(executor.store, run_id)
    assert run.status == FAILED
    assert "diverged" in run.error and "Lower the learning rate" in run.error


def test_a_run_that_raises_fails_with_a_readable_reason(executor, tmp_path):
    from mtlcore.data.spec import DataError
    from mtlcore.experiment import prepare_data

    missing = tmp_path / "nowhere.csv"
    config = ExperimentConfig.parse(
        {
            "data": {"csv": {"t": str(missing)}},
            "tasks": [{"name": "y", "table": "t", "target": "y"}],
        }
    )
    with pytest.raises(DataError) as direct:
        prepare_data(config)
    [run_id] = executor.submit(config)
    run = finished(executor.store, run_id)
    assert run.status == FAILED
    assert run.error == str(direct.value)


def test_an_unexpected_exception_keeps_its_traceback_apart(monkeypatch):
    import mtlcore.experiment

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(mtlcore.experiment, "run_experiment", boom)
    store = RunStore()
    [run_id] = store.submit(tiny())
    assert store.claim(run_id, process_token(), os.getpid())
    assert execute_run(store, run_id) == FAILED
    run = store.run(run_id)
    assert run.error == "RuntimeError: boom"
    assert "Traceback" in run.error_detail


def test_restart_fails_runs_of_a_dead_worker_and_picks_up_the_queue(forkserver):
    store = RunStore()
    [orphan] = store.submit(tiny())
    [waiting] = store.submit(tiny())
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert store.claim_next(process_token(gone.pid), gone.pid) == orphan  # "running", then died
    with LocalExecutor(store, workers=1) as ex:
        assert ex.orphans_failed == [orphan]
        run = store.run(orphan)
        assert (run.status, run.error) == (FAILED, ORPHAN_REASON)
        assert finished(store, waiting).status == DONE
        pids = ex.worker_pids
    assert not any(_alive(pid) for pid in pids)


def test_wake_starts_runs_queued_into_the_store_directly(tmp_path, forkserver):
    """A sweep queues its runs into the store (``start_sweep``), not through ``submit``:
    ``wake`` has the idle workers take them now, not at their next look (an hour here)."""
    store = RunStore(tmp_path / "home")
    with LocalExecutor(store, workers=1, idle_poll_seconds=3600.0) as ex:
        assert ex.wait_ready(120.0), "the worker did not start within 120 s"
        [first] = ex.submit(tiny())  # the worker then finds the queue empty and sleeps
        assert finished(store, first).status == DONE
        [queued] = store.submit(tiny())
        ex.wake()
        assert finished(store, queued).status == DONE


# --- the command line -------------------------------------------------------------


def test_cli_submit_show_export_delete(tmp_path, capsys):
    config_path = tmp_path / "tiny.yaml"
    tiny().save(config_path)
    assert cli_main(["runs", "submit", str(config_path), "--seeds", "0,1", "-q"]) == 0
    ids = [int(line) for line in capsys.readouterr().out.split()]
    store = RunStore()
    assert [store.run(i).status for i in ids] == [DONE, DONE]

    assert cli_main(["runs", "list"]) == 0
    assert f"{ids[1]:>5}" in capsys.readouterr().out
    assert cli_main(["runs", "show", str(ids[0])]) == 0
    shown = capsys.readouterr().out
    assert "done" in shown and "house_price" in shown and "rmse" in shown

    assert cli_main(["runs", "export", str(ids[0]), "--out", str(tmp_path / "exported")]) == 0
    assert cli_main(["train", str(config_path), "--out", str(tmp_path / "trained"), "-q"]) == 0
    names = sorted(p.name for p in (tmp_path / "exported").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "trained").iterdir())
    exported = json.loads((tmp_path / "exported" / "result.json").read_text())
    trained = json.loads((tmp_path / "trained" / "result.json").read_text())
    assert exported["tasks"] == trained["tasks"] and exported["history"] == trained["history"]

    assert cli_main(["runs", "delete", str(ids[0])]) == 0
    assert not store.run_dir(ids[0]).exists()
    capsys.readouterr()


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "999"],
        ["show", "abc"],
        ["cancel", "999"],
        ["delete", "-1"],
        ["export", "999", "--out", "x"],
    ],
)
def test_cli_bad_run_ids_exit_2_with_one_line(argv, capsys):
    assert cli_main(["runs", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err


def test_cli_refuses_what_a_run_state_does_not_allow(capsys, tmp_path):
    store = RunStore()
    [run_id] = store.submit(tiny())
    assert cli_main(["runs", "export", str(run_id), "--out", str(tmp_path)]) == 2
    assert "only a done run" in capsys.readouterr().err
    assert store.claim(run_id, process_token(), os.getpid())  # running, held by this process
    with pytest.raises(RunStateError):
        store.delete_run(run_id)
    assert cli_main(["runs", "delete", str(run_id)]) == 2
    assert "cancel it first" in capsys.readouterr().err
    store.finish(run_id, CANCELLED)


def test_cli_cancel_of_a_run_whose_worker_is_gone_is_immediate(capsys):
    store = RunStore()
    [run_id] = store.submit(tiny())
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store.claim(run_id, process_token(gone.pid), gone.pid)
    assert cli_main(["runs", "cancel", str(run_id)]) == 0
    assert capsys.readouterr().out.strip() == f"run {run_id}: cancelled"
    assert store.run(run_id).status == CANCELLED
