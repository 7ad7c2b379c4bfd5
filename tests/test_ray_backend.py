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

from mtlcore.config import ExperimentConfig
from mtlcore.runs import CANCELLED, DONE, RUNNING, RunStore, drain_queue
from mtlcore.runs.ray_backend import INSTALL_HINT, RayNotInstalled, import_ray, run_on_ray
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
    # Where the baselines came from may differ (a Ray task trains in a node-local store,
    # without the store's baseline cache); their numbers may not.
    sa.pop("baselines_by_seed", None), sb.pop("baselines_by_seed", None)
    assert sa == sb
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
            ja.pop("baselines_by_seed", None), jb.pop("baselines_by_seed", None)  # as above
            assert ja == jb
        elif rel.endswith(".safetensors"):  # same tensors and metadata; byte order may differ
            with safe_open(str(path), "pt") as fa, safe_open(str(other), "pt") as fb:
                assert fa.metadata() == fb.metadata()
                assert sorted(fa.keys()) == sorted(fb.keys())
                for k in fa.keys():  # noqa: SIM118 (not a dict)
                    assert fa.get_tensor(k).equal(fb.get_tensor(k)), k
        else:
            assert path.read_bytes() == other.read_bytes(), rel


def test_a_sweep_on_ray_writes_the_same_results_as_the_local_pool(ray_cluster, tmp_path: Path):
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
    done = run_on_ray(on_ray.home, ray_ids, on_finish=lambda rid, st: ended.append((rid, st)))
    assert sorted(done) == sorted((i, DONE) for i in ray_ids) and ended == done
    for ra, rb in zip(local_ids, ray_ids, strict=True):
        assert_same_run(local, ra, on_ray, rb)
    # The sweep's ranking reads the same from either store.
    ranked_local, ranked_ray = (cell_results(s, i, grid) for s, i in zip((local, on_ray), sweeps))
    assert [(c.label, c.status, c.delta_m, c.verdict) for c in ranked_local] == [
        (c.label, c.status, c.delta_m, c.verdict) for c in ranked_ray
    ]
    assert all(c.status == DONE and c.delta_m is not None for c in ranked_ray)
    # The local pool trains each seed's baselines once and the other cell reuses them; on
    # Ray every member trains its own (documented: Ray tasks do not see the cache).
    reused = {name: [bool(b["reused"]) for rid in s.sweep(i).run_ids
                     for b in (s.run(rid).result["baselines_by_seed"]).values()]
              for name, s, i in (("local", local, sweeps[0]), ("ray", on_ray, sweeps[1]))}  # fmt: skip
    assert sorted(reused["local"]) == [False, False, True, True]
    assert reused["ray"] == [False] * 4
    # The CSV run's files name the user's file, not the task's temporary copy.
    csv_run = ray_ids[-1]
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
    long = {**TINY_BUILTIN, "train": {"epochs": 5000, "batch_size": 32}, "baselines": False}
    ids = store.submit(ExperimentConfig.parse({**long, "seeds": [0, 1, 2]}))  # 3 runs, 2 CPUs
    result: list = []
    driver = threading.Thread(
        target=lambda: result.extend(run_on_ray(store, ids, poll_seconds=0.1))
    )
    driver.start()
    try:
        # claimed by the driver at once; two tasks train and their rows and progress reach
        # the store while they do (as a local run's); the third waits in Ray's queue
        wait_until(lambda: all(store.run(i).status == RUNNING for i in ids), "claiming")
        wait_until(lambda: sum(store.run(i).progress > 0 for i in ids) == 2, "live progress")
        live = {i: len(store.metrics(i)) for i in ids}
        assert sorted(n > 0 for n in live.values()) == [False, True, True]
    finally:
        for i in ids:
            store.request_cancel(i)
        driver.join(120)
    assert not driver.is_alive(), "run_on_ray did not return after the cancel"
    assert sorted(result) == sorted((i, CANCELLED) for i in ids)
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
