"""The Ray backend (mtlcore/runs/ray_backend.py): runs as Ray tasks, results in the same store.

One local Ray (2 CPUs) serves the whole file: starting one costs seconds. The tests
that need Ray skip with a message when the extra is not installed (and fail under
CI=true: `make test` installs it, see the Makefile's extras target).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from safetensors import safe_open

from mtlcore.cli import main as cli_main
from mtlcore.config import ExperimentConfig
from mtlcore.runs import CANCELLED, DONE, FAILED, RUNNING, RunStore, cached_baselines, drain_queue
from mtlcore.runs._baselines import EntryBytes, add_entry, entry_bytes
from mtlcore.runs._home import HOME_ENV
from mtlcore.runs.ray_backend import (
    INSTALL_HINT,
    RayNotInstalled,
    _BaselinePlan,
    import_ray,
    run_on_ray,
)
from mtlcore.sweep import cell_results, start_sweep, sweep_from_mapping
from tests.conftest import require_extra

ROOT = Path(__file__).resolve().parents[1]

TINY_BUILTIN = {
    "name": "tiny-ray",
    "data": {"builtin": "synthetic", "options": {"n_rows": 120, "n_features": 4}},
    "model": {"hidden": [8]},
    "train": {"epochs": 3, "batch_size": 32, "snapshot_every": 2, "snapshot_rows": 8},
    "seeds": [0, 1],
}


def tiny_csv(folder: Path) -> dict:
    """A CSV experiment whose file lives outside the project (shipped to the task as bytes)."""
    path = folder / "my penguins.csv"
    shutil.copy(ROOT / "sample_data" / "penguins.csv", path)
    return {
        "name": "tiny-ray-csv",
        "data": {"csv": {"penguins": str(path)}},
        "tasks": [
            {"name": "mass", "table": "penguins", "target": "body_mass_g"},
            {"name": "species", "table": "penguins", "target": "species"},
        ],
        "model": {"hidden": [8, 8]},
        "train": {"epochs": 2, "batch_size": 64},
        "seeds": [3],
    }


@pytest.fixture(scope="module")
def ray_cluster():
    require_extra(import_ray, "Ray")
    from mtlcore.runs.ray_backend import ray_session

    with ray_session(num_cpus=2) as ray:
        yield ray


def run_files(store: RunStore, run_id: int) -> dict[str, Path]:
    return {a.path.relative_to(store.run_dir(run_id)).as_posix(): a.path
            for a in store.artifacts(run_id)}  # fmt: skip


def assert_same_run(a: RunStore, ra: int, b: RunStore, rb: int) -> None:
    """What a page or tool reads of a run is the same in both stores (timings aside)."""
    ia, ib = a.run(ra), b.run(rb)
    assert (ia.status, ib.status) == (DONE, DONE), (ia.error, ib.error)
    assert ia.config_yaml == ib.config_yaml
    rows_a = [tuple(r)[2:] for r in a.metrics(ra)]
    rows_b = [tuple(r)[2:] for r in b.metrics(rb)]
    assert rows_a and rows_a == rows_b
    assert (ia.progress, ia.step, ia.total_steps) == (ib.progress, ib.step, ib.total_steps)
    sa, sb = dict(ia.result), dict(ib.result)
    sa.pop("seconds"), sb.pop("seconds")
    assert sa == sb  # the numbers, and where the baselines came from (baselines_by_seed)
    files_a, files_b = run_files(a, ra), run_files(b, rb)
    assert sorted(files_a) == sorted(files_b)
    assert [(x.kind, x.meta) for x in a.artifacts(ra)] == [
        (x.kind, x.meta) for x in b.artifacts(rb)
    ]
    for rel, path in files_a.items():
        other = files_b[rel]
        if rel == "result.json":
            ja, jb = json.loads(path.read_text()), json.loads(other.read_text())
            ja.pop("timings"), jb.pop("timings")
            assert ja == jb
        elif rel.endswith(".safetensors"):  # same tensors and metadata; byte order may differ
            with safe_open(str(path), "pt") as fa, safe_open(str(other), "pt") as fb:
                assert fa.metadata() == fb.metadata()
                assert sorted(fa.keys()) == sorted(fb.keys())
                for k in fa.keys():  # noqa: SIM118 (not a dict)
                    assert fa.get_tensor(k).equal(fb.get_tensor(k)), k
        else:
            assert path.read_bytes() == other.read_bytes(), rel


def test_a_sweep_on_ray_writes_the_same_results_as_the_local_pool(
    ray_cluster, tmp_path: Path, monkeypatch, capsys
):
    sweep = {"name": "tiny-ray-sweep", "base": TINY_BUILTIN, "seeds": [0, 1],
             "axes": {"weighting.method": ["equal", "dwa"]}}  # fmt: skip
    grid = sweep_from_mapping(sweep)
    local, on_ray = RunStore(tmp_path / "local"), RunStore(tmp_path / "ray")
    # and one CSV experiment beside the sweep, its file outside the project
    csv_config = ExperimentConfig.parse(tiny_csv(tmp_path))
    sweeps = [start_sweep(s, grid).sweep_id for s in (local, on_ray)]
    local_ids = [*local.sweep(sweeps[0]).run_ids, *local.submit(csv_config)]
    ray_ids = [*on_ray.sweep(sweeps[1]).run_ids, *on_ray.submit(csv_config)]
    drain_queue(local)
    ended: list[tuple[int, str]] = []
    # given in any order, the oldest run of each key and seed trains, as on the local pool
    done = run_on_ray(on_ray.home, ray_ids[::-1],
                      on_finish=lambda rid, st: ended.append((rid, st)))  # fmt: skip
    assert sorted(done) == sorted((i, DONE) for i in ray_ids) and ended == done
    for ra, rb in zip(local_ids, ray_ids, strict=True):
        assert_same_run(local, ra, on_ray, rb)
    # The sweep's ranking reads the same from either store.
    ranked_local, ranked_ray = (cell_results(s, i, grid) for s, i in zip((local, on_ray), sweeps))
    assert [(c.label, c.status, c.delta_m, c.verdict) for c in ranked_local] == [
        (c.label, c.status, c.delta_m, c.verdict) for c in ranked_ray
    ]
    assert all(c.status == DONE and c.delta_m is not None for c in ranked_ray)
    # Both train each seed's baselines once, in the group's first cell, and the other cell
    # reuses them (assert_same_run compared every run's baselines_by_seed): the count.
    reused = [bool(b["reused"]) for rid in on_ray.sweep(sweeps[1]).run_ids
              for b in on_ray.run(rid).result["baselines_by_seed"].values()]  # fmt: skip
    assert sorted(reused) == [False, False, True, True]
    # What the Ray tasks trained is in the driver's store cache, as trained by those runs.
    csv_run = ray_ids[-1]
    owners = [rid for rid in ray_ids if not on_ray.run(rid).result["baselines_by_seed"][
        str(on_ray.run(rid).seed)]["reused"]]  # fmt: skip
    assert len(owners) == 3 and csv_run in owners
    assert sorted((e.run_id, e.seed) for e in cached_baselines(on_ray)) == sorted(
        (rid, on_ray.run(rid).seed) for rid in owners
    )
    monkeypatch.setenv(HOME_ENV, str(on_ray.home))
    assert cli_main(["runs", "cache", "list"]) == 0
    listed = capsys.readouterr().out
    *rows, total = listed.strip().splitlines()[1:]  # key, seed, from run, size, ...
    assert total.startswith("3 cached baseline(s)")
    assert sorted(int(row.split()[2]) for row in rows) == sorted(owners)
    # ... and a later local run on the same data reuses the one a Ray task trained.
    other = ExperimentConfig.parse({**tiny_csv(tmp_path), "weighting": {"method": "dwa"}})
    [later] = on_ray.submit(other)
    assert drain_queue(on_ray) == [(later, DONE)]
    assert on_ray.run(later).result["baselines_by_seed"] == {
        "3": {"reused": True, "from_run": csv_run}
    }
    # The CSV run's files name the user's file, not the task's temporary copy.
    assert (
        str(tmp_path / "my penguins.csv") in (on_ray.run_dir(csv_run) / "config.yaml").read_text()
    )
    # A run that is no longer queued is left alone.
    assert run_on_ray(on_ray, ray_ids) == []


def wait_until(condition, what: str, timeout: float = 300.0) -> None:
    """Wait for ``condition``; the generous timeout only catches a hang (Ray starts its
    workers in 25-86 s on a loaded 2-core machine)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout} s"
        time.sleep(0.1)


def test_cancel_in_the_store_stops_running_and_waiting_ray_tasks(ray_cluster, tmp_path: Path):
    store = RunStore(tmp_path)
    long = {**TINY_BUILTIN, "train": {"epochs": 5000, "batch_size": 32}}
    ids = store.submit(ExperimentConfig.parse({**long, "seeds": [0, 1, 2]}))  # 3 runs, 2 CPUs
    # and a run that needs the baselines the first trains: it waits for that one, in the driver
    other = {**long, "seeds": [0], "weighting": {"method": "dwa"}}
    [waiter] = store.submit(ExperimentConfig.parse(other))
    result: list = []
    driver = threading.Thread(
        target=lambda: result.extend(run_on_ray(store, [*ids, waiter], poll_seconds=0.1))
    )
    driver.start()
    try:
        # claimed by the driver at once; two tasks train and their rows and progress reach
        # the store while they do (as a local run's); the third waits in Ray's queue
        wait_until(lambda: all(store.run(i).status == RUNNING for i in [*ids, waiter]), "claiming")
        wait_until(lambda: sum(store.run(i).progress > 0 for i in ids) == 2, "live progress")
        live = {i: len(store.metrics(i)) for i in ids}
        assert sorted(n > 0 for n in live.values()) == [False, True, True]
        # cancelled while it waits: it ends at once, the run it waited for trains on
        store.request_cancel(waiter)
        wait_until(lambda: store.run(waiter).status == CANCELLED, "the waiting run's cancel")
        assert store.run(ids[0]).status == RUNNING and store.metrics(waiter) == []
    finally:
        for i in ids:
            store.request_cancel(i)
        driver.join(120)
    assert not driver.is_alive(), "run_on_ray did not return after the cancel"
    assert sorted(result) == sorted((i, CANCELLED) for i in [*ids, waiter])
    assert all(store.run(i).status == CANCELLED for i in ids)
    assert all(len(store.metrics(i)) >= n for i, n in live.items())  # rows so far are kept
    # The cluster's CPUs are free again: a new run goes through.
    [again] = store.submit(ExperimentConfig.parse({**TINY_BUILTIN, "seeds": [0]}))
    assert run_on_ray(store, [again]) == [(again, DONE)]


def test_without_ray_one_clear_line_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails as if not installed
    with pytest.raises(RayNotInstalled) as err:
        run_on_ray(Path("unused"), [1])
    assert INSTALL_HINT in str(err.value) and "\n" not in str(err.value)


def test_mtlcore_imports_without_ray_or_mlflow():
    code = (
        "import sys; sys.modules['ray'] = None; sys.modules['mlflow'] = None\n"
        "import mtlcore, mtlcore.cli, mtlcore.runs, mtlcore.runs.ray_backend, mtlcore.mlflow_export"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


class FakeRay:
    """What the baseline plan asks of ``ray``: ``put`` (here the entry itself)."""

    @staticmethod
    def put(value):
        return value


def entry(key: str, seed: int, run_id: int) -> EntryBytes:
    meta = {"format": "mtlcore-baseline-1", "seed": seed, "run_id": run_id, "events": []}
    return EntryBytes(key, seed, run_id, 1.0, {"y": {"mse": 0.5}},
                      {"baseline.json": json.dumps(meta).encode(), "weights.safetensors": b"w"})  # fmt: skip


def test_runs_wait_only_for_the_run_that_trains_their_baselines(tmp_path: Path):
    """The Ray driver's order, without Ray: runs whose entries the store has start at once;
    of those whose entry is missing, the first trains it and the others wait for it only."""
    store = RunStore(tmp_path)
    add_entry(store, entry("C", 0, run_id=9))  # trained earlier (by any run of the store)
    needs = {1: [("A", 0)], 2: [("B", 0)], 3: [("A", 0)], 4: [("B", 0)], 5: [("C", 0)],
             6: [], 7: [("A", 0)]}  # fmt: skip
    plan = _BaselinePlan(FakeRay(), store, needs, list(needs))
    first = dict(plan.startable())
    assert sorted(first) == [1, 2, 5, 6]  # 3, 4 and 7 wait; not for the whole first wave
    assert first[5][0].run_id == 9 and first[1] == first[2] == first[6] == []
    # Run 2 trained B: its task's entry is added to the store, and run 4 starts with it
    # while 3 and 7 still wait for run 1.
    add_entry(store, entry("B", 0, run_id=77), run_id=2)
    plan.ended(2, DONE)
    [(rid, [got])] = list(plan.startable())
    assert rid == 4 and (got.key_text, got.seed, got.run_id) == ("B", 0, 2)
    assert json.loads(got.files["baseline.json"])["run_id"] == 2  # as this store knows it
    # Run 1 failed before keeping A: the next waiting run (3) trains it, 7 waits for 3.
    plan.ended(1, FAILED)
    assert list(plan.startable()) == [(3, [])] and plan.waiting == [7]
    # Run 3 ended done yet its entry is not under this key (a node with other versions):
    # the runs left train their own at once, rather than one after another.
    plan.ended(3, DONE)
    assert list(plan.startable()) == [(7, [])] and plan.waiting == []


def test_a_cache_entry_moves_between_stores_with_its_files(tmp_path: Path):
    a, b = RunStore(tmp_path / "a"), RunStore(tmp_path / "b")
    [rid] = a.submit(ExperimentConfig.parse({**TINY_BUILTIN, "seeds": [4]}))
    assert drain_queue(a) == [(rid, DONE)]
    [kept] = cached_baselines(a)
    moved = entry_bytes(a, kept.key_text, 4)
    assert moved is not None and {"baseline.json", "weights.safetensors"} <= set(moved.files)
    assert add_entry(b, moved, run_id=12) and not add_entry(b, moved, run_id=13)  # first stays
    [there] = cached_baselines(b)
    assert (there.key, there.seed, there.run_id, there.metrics) == (kept.key, 4, 12, kept.metrics)
    # A run in the second store reuses it, as trained by run 12 (its numbers unchanged).
    [again] = b.submit(ExperimentConfig.parse({**TINY_BUILTIN, "seeds": [4]}))
    assert drain_queue(b) == [(again, DONE)]
    assert b.run(again).result["baselines_by_seed"] == {"4": {"reused": True, "from_run": 12}}
    assert b.run(again).result["tasks"] == a.run(rid).result["tasks"]
    # A file outside its entry's folder is refused, and nothing of it is kept.
    bad = EntryBytes("K", 0, 1, 1.0, {}, {"../escape.json": b"{}", "baseline.json": b"{}"})
    with pytest.raises(ValueError, match="outside its entry's folder"):
        add_entry(b, bad)
    assert len(cached_baselines(b)) == 1 and not list(b.home.rglob("escape.json"))
