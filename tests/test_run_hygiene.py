"""The home folder stays bounded (issue 11, item 10): snapshots per run, unused
uploads, worker logs and the SQLite write-ahead log."""

from __future__ import annotations

import math
import os
import time

from hypothesis import given
from hypothesis import strategies as st

from mtlcore.config import ExperimentConfig
from mtlcore.runs import RunStore, execute_run, tidy
from mtlcore.runs._hygiene import DAY, KEEP_LOGS, UPLOAD_DAYS, prune_logs
from mtlcore.runs._liveness import process_token
from mtlcore.train import MAX_SNAPSHOTS, snapshot_epochs


@given(st.integers(0, 20_000), st.integers(1, 50), st.integers(2, 80))
def test_snapshot_epochs_are_due_epochs_bounded_and_spread(epochs, every, limit):
    due = list(range(0, epochs + 1, every))
    got = snapshot_epochs(epochs, every, limit)
    assert got == sorted(set(got)) and set(got) <= set(due)
    assert len(got) == min(limit, len(due))
    assert got[0] == 0 and got[-1] == due[-1]  # before training and the last due epoch
    if len(due) > limit:  # spread evenly: no gap wider than the even spacing, rounded up
        gaps = [b - a for a, b in zip(got, got[1:], strict=False)]
        assert max(gaps) <= math.ceil((len(due) - 1) / (limit - 1)) * every


def test_no_snapshots_when_not_asked():
    assert snapshot_epochs(100, 0) == []


def test_a_stored_run_keeps_at_most_max_snapshots_per_model(mtl_studio_home):
    epochs = MAX_SNAPSHOTS + 10
    config = ExperimentConfig.parse({
        "data": {"builtin": "synthetic", "options": {"n_rows": 40, "n_features": 3}},
        "model": {"hidden": [4]},
        "train": {"epochs": epochs, "batch_size": 64, "snapshot_every": 1, "snapshot_rows": 4},
    })  # fmt: skip
    store = RunStore()
    [run_id] = store.submit(config)
    assert store.claim(run_id, process_token(), os.getpid())
    assert execute_run(store, run_id) == "done"
    for model in ("mtl", "stl"):
        snaps = store.snapshots(run_id, model=model)
        epochs_kept = sorted({a.meta["epoch"] for a in snaps})
        assert epochs_kept == snapshot_epochs(epochs, 1), model
        assert len(epochs_kept) == MAX_SNAPSHOTS and epochs_kept[-1] == epochs
    files = list((store.run_dir(run_id) / "snapshots").glob("*.npz"))
    assert len(files) == len(store.snapshots(run_id)) == 2 * MAX_SNAPSHOTS  # mtl + stl


def test_tidy_expires_old_uploads_no_run_uses_and_nothing_else(mtl_studio_home):
    store = RunStore()
    uploads = store.home / "uploads"
    uploads.mkdir()
    old = time.time() - (UPLOAD_DAYS + 1) * DAY
    files = {name: uploads / name for name in
             ("0a1b2c3d4e5f60718293a4b5.csv", "1111aaaa2222bbbb3333cccc.csv",
              "2222aaaa2222bbbb3333cccc.csv", "3333aaaa2222bbbb3333cccc.tmp")}  # fmt: skip
    for path in files.values():
        path.write_text("x,y\n1,2\n")
    unused_old, used_old, unused_new, half_written = files.values()
    for path in (unused_old, used_old, half_written):
        os.utime(path, (old, old))
    store.submit(ExperimentConfig.parse({
        "data": {"csv": {"t": str(used_old)}},
        "tasks": [{"name": "y", "table": "t", "target": "y"}],
    }))  # fmt: skip
    done = tidy(store)
    assert sorted(done.uploads) == sorted([unused_old, half_written])
    assert sorted(p.name for p in uploads.iterdir()) == sorted([used_old.name, unused_new.name])
    assert tidy(store).uploads == []  # nothing more to do


def test_worker_logs_are_rotated(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    now = time.time()
    made = []
    for i in range(KEEP_LOGS + 5):
        path = logs / f"worker-{i:03d}.log"
        path.write_text("run 1: done\n")
        os.utime(path, (now - 1000 + i, now - 1000 + i))
        made.append(path)
    (logs / "notes.txt").write_text("not a worker log")
    removed = prune_logs(tmp_path)
    assert sorted(removed) == made[:5]
    assert sorted(logs.glob("worker-*.log")) == made[5:]
    assert (logs / "notes.txt").exists()


def test_tidy_checkpoints_and_truncates_the_wal(mtl_studio_home):
    store = RunStore()
    config = ExperimentConfig.parse({"data": {"builtin": "houses"}})
    for _ in range(20):
        store.submit(config)
    wal = store.db_path.with_name(store.db_path.name + "-wal")
    assert wal.stat().st_size > 0
    assert tidy(store).wal_truncated
    assert wal.stat().st_size == 0
    assert len(RunStore(store.home).runs()) == 20  # nothing lost
