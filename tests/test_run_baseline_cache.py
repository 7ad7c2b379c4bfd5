"""The run store's baseline cache (mtlcore.runs._baselines): single-task baselines
trained once per (data, tasks, network, training settings, seed) and reused after.

Runs execute in this process (``execute_run``); every test has a fresh store
(conftest's MTL_STUDIO_HOME).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file
from streamlit.testing.v1 import AppTest

from mtlcore.cli import main as cli_main
from mtlcore.config import ExperimentConfig
from mtlcore.experiment import Baseline
from mtlcore.runs import (
    DONE,
    FAILED,
    SCHEMA_VERSION,
    RunStore,
    StoreBaselines,
    _db,
    baseline_key,
    cached_baselines,
    clear_baselines,
    execute_run,
    load_snapshot,
    tidy,
)
from mtlcore.runs._liveness import process_token

BASE = {
    "name": "cache",
    "data": {"builtin": "houses"},
    "model": {"hidden": [8, 8], "dropout": 0.2},  # dropout on: the replay must not need it
    "train": {"epochs": 2, "batch_size": 64, "snapshot_every": 1, "snapshot_rows": 20},
    "seeds": [0, 1, 2],
}


def config(**sections) -> ExperimentConfig:
    raw = json.loads(json.dumps(BASE))
    for section, values in sections.items():
        if isinstance(values, dict):
            raw.setdefault(section, {}).update(values)
        else:
            raw[section] = values
    return ExperimentConfig.parse(raw)


def run_all(store: RunStore, cfg: ExperimentConfig) -> list[int]:
    """Submit ``cfg`` (one run per seed) and run each here; all must end done."""
    ids = store.submit(cfg)
    for rid in ids:
        assert store.claim(rid, process_token(), os.getpid())
        status = execute_run(store, rid)
        assert status == DONE, store.run(rid).error
    return ids


def result(store: RunStore, rid: int) -> dict:
    return json.loads((store.run_dir(rid) / "result.json").read_text())


def stl_part(store: RunStore, rid: int) -> dict:
    """Everything a run holds of its single-task baselines."""
    r = result(store, rid)
    weights = load_file(str(store.run_dir(rid) / "weights.safetensors"))
    snaps = [load_snapshot(a.path) for a in store.snapshots(rid, model="stl")]
    predictions = [
        line for line in (store.run_dir(rid) / "predictions.csv").read_text().splitlines()
        if ",stl," in line
    ]  # fmt: skip
    return {
        "tasks": {t: (e["stl_by_seed"], e["metrics_stl"]) for t, e in r["tasks"].items()},
        "history": [h for h in r["history"] if h["model"] == "stl"],
        "rows": [tuple(m)[2:] for m in store.metrics(rid, model="stl")],
        "weights": {k: v.tolist() for k, v in weights.items() if ".stl." in k},
        "snapshots": [(s.epoch, {t: f.tolist() for t, f in s.features.items()}) for s in snaps],
        "predictions": predictions,
        "delta_m": r["delta_m"],
        "cka": r.get("cka"),
    }


def test_a_reused_baseline_equals_a_trained_one_over_three_seeds_with_dropout():
    store = RunStore()
    first = run_all(store, config())  # trains and fills the cache
    other = config(weighting={"method": "uncertainty"})
    reused = run_all(store, other)  # another weighting: same baselines, from the cache
    for src, rid in zip(first, reused, strict=True):
        seed = str(store.run(rid).seed)
        assert result(store, src)["baselines_by_seed"][seed] == {"reused": False, "from_run": None}
        assert result(store, rid)["baselines_by_seed"][seed] == {"reused": True, "from_run": src}
        assert result(store, rid)["timings"]["stl_seconds"] == 0.0
        assert store.run(rid).phase == "stl-reused"  # what the Train page's progress said
    assert len(cached_baselines(store)) == 3  # one per seed
    clear_baselines(store)
    trained = run_all(store, other)  # the same experiment, its baselines trained again
    for a, b in zip(reused, trained, strict=True):
        got, want = stl_part(store, a), stl_part(store, b)
        assert got["rows"] and got["snapshots"] and got["weights"] and got["predictions"]
        assert got == want  # metrics, curves, snapshots, weights, predictions, Δm, CKA
        assert not result(store, b)["baselines_by_seed"][str(store.run(b).seed)]["reused"]


def test_the_key_changes_with_what_baselines_depend_on_only(tmp_path):
    key = lambda **s: baseline_key(config(**s), "cpu")  # noqa: E731
    base = key()
    same = [
        key(model={"strategy": "mmoe", "options": {"n_experts": 2}}),
        key(weighting={"method": "uncertainty"}),
        key(name="other", seeds=[5]),
        key(train={"grad_cosine_every": 0, "affinity_every": 3, "pairwise": True}),
    ]
    assert all(k == base for k in same)
    changed = [
        key(train={"lr": 0.02}),
        key(train={"epochs": 4}),
        key(train={"batch_size": 32}),  # another batch size: other batches, steps per epoch
        key(model={"hidden": [8, 4]}),
        key(model={"dropout": 0.1}),
        key(data={"val_fraction": 0.2}),
        key(data={"builtin": "synthetic", "options": {"relatedness": 0.5}}),
        baseline_key(config(), "cuda"),
    ]
    assert len({base, *changed}) == len(changed) + 1

    path = tmp_path / "t.csv"
    path.write_text("a,b,y,z\n" + "".join(f"{i},{i % 3},{i * 2},{i % 5}\n" for i in range(40)))
    csv = {"data": {"csv": {"t": str(path)}}}

    def csv_key(target: str) -> str:
        cfg = ExperimentConfig.parse({**csv, "tasks": [{"name": "y", "table": "t",
                                                         "target": target}]})  # fmt: skip
        return baseline_key(cfg, "cpu")

    before, other_target = csv_key("y"), csv_key("z")
    moved = tmp_path / "copy.csv"
    moved.write_bytes(path.read_bytes())
    assert before != other_target
    assert baseline_key(ExperimentConfig.parse({"data": {"csv": {"t": str(moved)}}, "tasks": [
        {"name": "y", "table": "t", "target": "y"}]}), "cpu") == before  # fmt: skip
    path.write_text(path.read_text().replace("0,0,0,0", "0,0,1,0"))  # one value edited
    assert csv_key("y") != before


def fake_baseline(value: float) -> Baseline:
    import torch

    return Baseline({"w": torch.full((2,), value)}, [], {"t": {"rmse": value}}, 1.0)


def running_run(store: RunStore) -> int:
    [rid] = store.submit(config(seeds=[0]))
    assert store.claim(rid, process_token(), os.getpid())
    return rid


def test_two_runs_keeping_the_same_baselines_keep_the_first():
    store = RunStore()
    a, b = (StoreBaselines(store, running_run(store), "key") for _ in range(2))
    a.keep(0, fake_baseline(1.0))
    b.keep(0, fake_baseline(2.0))
    [entry] = cached_baselines(store)
    assert entry.run_id == a.run_id and entry.metrics == {"t": {"rmse": 1.0}}
    assert [p.name for p in entry.folder.parent.iterdir()] == [entry.folder.name]  # b's removed
    found = b.find(0, wait_seconds=0, waiting=lambda: None)
    assert found is not None and found.source_run == a.run_id and found.state["w"][0] == 1.0
    # a copy no entry names (its run died before recording it) goes after a day, not before
    stray = entry.folder.parent / "seed0-run99-dead"
    stray.mkdir()
    assert tidy(store).baselines == []
    assert tidy(store, now=time.time() + 2 * 86400).baselines == [stray]
    assert entry.folder.is_dir() and not stray.exists()


def test_a_run_waits_for_a_live_run_training_the_same_baselines_and_not_for_a_dead_one():
    store = RunStore()
    claimer = StoreBaselines(store, running_run(store), "key")
    waiter = StoreBaselines(store, running_run(store), "key")
    assert claimer.find(0, wait_seconds=60, waiting=pytest.fail) is None  # claimed: train
    waits: list[float] = []
    keeper = threading.Timer(1.0, lambda: claimer.keep(0, fake_baseline(3.0)))
    keeper.start()
    found = waiter.find(0, wait_seconds=60, waiting=lambda: waits.append(time.monotonic()))
    keeper.join()
    assert found is not None and found.source_run == claimer.run_id and waits

    # a claimer whose run failed is not waited for: the next run claims and trains
    dead = StoreBaselines(store, running_run(store), "other")
    assert dead.find(0, wait_seconds=60, waiting=pytest.fail) is None
    store.finish(dead.run_id, FAILED, error="boom")
    next_run = StoreBaselines(store, waiter.run_id, "other")
    assert next_run.find(0, wait_seconds=60, waiting=pytest.fail) is None
    # and a claimer still running past the bound: train after it
    late = StoreBaselines(store, running_run(store), "other")
    waits.clear()
    assert late.find(0, wait_seconds=0.6, waiting=lambda: waits.append(1)) is None and waits
    # clearing the cache drops the dead run's claim only
    store.finish(claimer.run_id, FAILED, error="done with it")
    store._conn().execute("INSERT INTO baseline_claims VALUES ('key', 1, ?, 0)", (claimer.run_id,))
    clear_baselines(store)
    claims = store._conn().execute("SELECT key, run_id FROM baseline_claims").fetchall()
    assert [tuple(c) for c in claims] == [(next_run.key, next_run.run_id)]


def test_an_old_store_is_migrated_and_its_runs_kept(mtl_studio_home: Path):
    db = sqlite3.connect(mtl_studio_home / "runs.sqlite3", isolation_level=None)
    db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied REAL NOT NULL)")
    for version in (1, 2, 3):
        for statement in _db.MIGRATIONS[version]:
            db.execute(statement)
        db.execute("INSERT INTO schema_version VALUES (?, 0)", (version,))
    db.execute("INSERT INTO experiments (name, created, config) VALUES ('old', 0, '{}')")
    db.execute("INSERT INTO runs (experiment_id, name, seed, config, status, created) "
               "VALUES (1, 'old run', 0, 'name: old', 'done', 0)")  # fmt: skip
    db.close()
    store = RunStore()
    assert store.run(1).name == "old run"
    version = store._conn().execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    assert version == SCHEMA_VERSION == 4
    assert cached_baselines(store) == []


def test_cache_list_and_clear_commands_and_deleting_the_source_run_keeps_the_entry(capsys):
    store = RunStore()
    cfg = config(seeds=[0], train={"epochs": 2, "snapshot_every": 0})
    [src] = run_all(store, cfg)
    store.delete_run(src)  # the entry holds the data's baselines, not the run's
    [again] = run_all(store, cfg)
    assert result(store, again)["baselines_by_seed"]["0"] == {"reused": True, "from_run": src}
    assert cli_main(["runs", "cache", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{src:>8}" in out and "1 cached baseline(s)" in out and "house_price" in out
    assert cli_main(["runs", "cache", "clear"]) == 0
    assert "removed 1 cached baseline(s)" in capsys.readouterr().out
    assert cached_baselines(store) == [] and not (store.home / "baselines").exists()
    assert cli_main(["runs", "cache", "list"]) == 0
    assert "no cached baselines" in capsys.readouterr().out
    [third] = run_all(store, cfg)
    assert result(store, third)["baselines_by_seed"]["0"]["reused"] is False


APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


@pytest.mark.usefixtures("quiet_dashboard")
def test_train_and_compare_pages_say_which_run_the_baselines_came_from():
    store = RunStore()
    cfg = config(seeds=[0], train={"epochs": 2, "snapshot_every": 0})
    [src] = run_all(store, cfg)
    [reused] = run_all(store, config(seeds=[0], train={"epochs": 2, "snapshot_every": 0},
                                     weighting={"method": "uncertainty"}))  # fmt: skip
    note = f"Single-task baselines reused, not trained again: seed 0 from run {src}"
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    # Compare opens the newest experiment (the reused one); Train then follows it
    for page in ("app_pages/compare.py", "app_pages/train.py"):
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        assert store.run(reused).experiment_id == max(e.id for e in store.experiments())
        assert any(note in c.value for c in at.caption), (page, [c.value for c in at.caption])


def test_two_runs_needing_the_same_baselines_at_once_train_them_once():
    """Two runs of one key executing at the same time (threads, each with its own store
    connection, as two workers): one trains the baselines, the other waits for its claim
    or finds its entry; both end with the same single-task values, nothing corrupted."""
    store = RunStore()
    cfgs = [config(seeds=[0], train={"epochs": 2, "snapshot_every": 0},
                   weighting={"method": m}) for m in ("equal", "uncertainty")]  # fmt: skip
    ids = [rid for c in cfgs for rid in store.submit(c)]
    for rid in ids:
        assert store.claim(rid, process_token(), os.getpid())
    ended: dict[int, str] = {}
    workers = [threading.Thread(target=lambda r=rid: ended.update({r: execute_run(store, r)}))
               for rid in ids]  # fmt: skip
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=600)
    assert ended == {rid: DONE for rid in ids}, [store.run(r).error for r in ids]
    results = [result(store, rid) for rid in ids]
    reused = [r["baselines_by_seed"]["0"]["reused"] for r in results]
    assert sorted(reused) == [False, True]
    trainer = ids[reused.index(False)]
    assert results[reused.index(True)]["baselines_by_seed"]["0"]["from_run"] == trainer
    stl = [{t: e["stl_by_seed"] for t, e in r["tasks"].items()} for r in results]
    assert stl[0] == stl[1]
    [entry] = cached_baselines(store)
    assert entry.run_id == trainer
    assert store._conn().execute("SELECT COUNT(*) FROM baseline_claims").fetchone()[0] == 0
