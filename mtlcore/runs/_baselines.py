"""The run store's baseline cache: single-task baselines trained once, reused after.

Single-task baselines depend on the data, the tasks, the baseline network's shape,
the training settings and the seed, not on the sharing strategy or the weighting
method (``mtlcore.experiment``). A second experiment on the same data with another
strategy or weighting, a re-run, a sweep cell or a lesson preset needs the very
baselines an earlier run trained; with the cache it copies them instead of
training them again (bench/RESULTS.md, "Baseline cache": on issue 12's workload a run
that trains its baselines costs about 1.9x one without, a run that reuses them about
1.2x; the rest is their test predictions, computed and written as a trained run's).

**Key.** :func:`baseline_key`: the sweep's notion (``mtlcore.sweep.baseline_key``:
the config without its name, seeds, strategy, strategy options and weighting) with
each CSV file's path replaced by a SHA-256 of its bytes (a file edited in place is
other data; the same file uploaded twice is the same), ``train.device`` by the
device it resolved to, without the settings that only measure the multi-task model
(``grad_cosine_every``, ``affinity_every``) or train more models after the
baselines (``pairwise``), and with the versions of MTL Studio and torch and the
revision of the training arithmetic (``mtlcore.train.ARITHMETIC``: new code may train
other numbers). Steps per epoch and batch groups follow from the data, the tasks and
the batch size, all in the key. The seed is the second half of the key.

**Where.** One row per (key, seed) in the store's SQLite table ``baselines`` (the
run that trained them, each task's test metrics, the size); the files in
``<home>/baselines/<key hash>/seed<k>-run<id>-<nonce>/``: ``weights.safetensors``,
``baseline.json`` (the training's epoch events: the curves the Train page draws
dashed, with their steps and the weighting state) and ``snapshots/*.npz``. A table
gives "first write wins" in the same transactions as the rest of the store and a
listing without walking folders; the files keep weights and snapshots out of the
database, so its write-ahead log and metric queries stay small.

**Concurrency.** A run that finds no entry *claims* the (key, seed) (table
``baseline_claims``) and trains; another run needing the same baselines meanwhile
waits for the claimer, polling twice a second, as long as the claimer runs and at
most ``wait_seconds`` (the caller's bound), then reads the entry; past the bound,
or when the claimer failed, was cancelled or its process died, it trains itself.
Entries are written to a fresh folder first and then inserted with ``INSERT OR
IGNORE``: when two runs both trained, the first row stays and the second run's
folder is removed; a reader never sees half-written files. An entry whose files
cannot be read (cleared meanwhile, a disk problem) counts as missing and is dropped.

**Lifetime.** ``runs delete`` of the run that trained an entry keeps the entry: it
holds the baselines of the data, not of the run (the run id stays as where they came
from). ``python -m mtlcore runs cache clear`` removes every entry and its files;
``runs cache list`` shows them with their size (about the baselines' weights plus
their curves: tens of kilobytes for small networks, plus any snapshots).

**Between stores.** :func:`entry_bytes` reads an entry with its files as bytes and
:func:`add_entry` writes one into another store (first write wins, as above): the Ray
backend (``mtlcore.runs.ray_backend``) seeds each task's throw-away store with the
entries its run reuses and adds the ones a task trained to the real store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtlcore.runs import _db
from mtlcore.runs._liveness import token_alive
from mtlcore.runs._records import RUNNING
from mtlcore.runs._snapshots import _jsonable, load_snapshot, save_snapshot, snapshot_filename

if TYPE_CHECKING:
    import torch

    from mtlcore.config import ExperimentConfig
    from mtlcore.experiment import Baseline
    from mtlcore.runs._store import RunStore

FORMAT = "mtlcore-baseline-1"
FOLDER = "baselines"  # under the store's home
POLL_SECONDS = 0.5  # how often a run waiting for another's baselines looks again
# Train settings that leave the single-task baselines as they are.
NOT_IN_KEY = ("grad_cosine_every", "affinity_every", "pairwise")


def baseline_key(config: ExperimentConfig, device: torch.device | str) -> str:
    """What a seed's single-task baselines depend on, as canonical JSON text (see the
    module docstring); equal text, equal baselines."""
    import torch

    import mtlcore
    from mtlcore.sweep import baseline_key as config_key
    from mtlcore.train import ARITHMETIC

    raw = json.loads(config_key(config))
    train = raw.setdefault("train", {})
    for k in NOT_IN_KEY:
        train.pop(k, None)
    train["device"] = torch.device(device).type
    if config.data.csv:
        raw["data"]["csv"] = {table: file_digest(path) for table, path in config.data.csv.items()}
    raw["engine"] = {"mtlcore": mtlcore.__version__, "torch": torch.__version__,
                     "arithmetic": ARITHMETIC}  # fmt: skip
    return json.dumps(raw, sort_keys=True, separators=(",", ":"))


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return "sha256:" + h.hexdigest()


@dataclass(frozen=True)
class CachedBaseline:
    """One entry of the cache, as ``runs cache list`` shows it."""

    key: str  # SHA-256 of the key text
    seed: int
    key_text: str
    run_id: int | None  # the run that trained them (it may since have been deleted)
    folder: Path
    bytes: int
    seconds: float | None  # how long their training took
    metrics: dict[str, dict[str, float]]  # task -> test metrics
    created: float


class StoreBaselines:
    """One run's view of the cache (an ``mtlcore.experiment.BaselineCache``)."""

    def __init__(self, store: RunStore, run_id: int, key_text: str):
        self.store, self.run_id, self.key_text = store, int(run_id), key_text
        self.key = hashlib.sha256(key_text.encode()).hexdigest()

    @classmethod
    def for_run(cls, store: RunStore, run_id: int, config: ExperimentConfig) -> StoreBaselines:
        from mtlcore.train import resolve_device

        return cls(store, run_id, baseline_key(config, resolve_device(config.train.device)))

    def find(
        self, seed: int, *, wait_seconds: float, waiting: Callable[[], None]
    ) -> Baseline | None:
        """The seed's cached baselines; else None with the (key, seed) claimed by this
        run, after waiting up to ``wait_seconds`` for a live claimer (see the module)."""
        deadline = time.monotonic() + wait_seconds
        while True:
            found = self._load(seed)
            if found is not None:
                return found
            holder = self._claim(seed)
            if holder is None or time.monotonic() > deadline:
                return None
            waiting()
            time.sleep(POLL_SECONDS)

    def keep(self, seed: int, baseline: Baseline) -> None:
        """Write the seed's baselines; the first entry of a (key, seed) stays. A cache
        that cannot be written (a full disk) leaves the run as it is, uncached."""

        def write(folder: Path) -> int:
            return write_baseline(folder, baseline, seed=seed, run_id=self.run_id)

        try:
            _add(self.store, self.key_text, seed, self.run_id, baseline.seconds,
                 baseline.metrics, write)  # fmt: skip
        except OSError:
            self._release(seed)

    def _load(self, seed: int) -> Baseline | None:
        row = (
            self.store._conn()
            .execute(
                "SELECT folder, run_id, key_text FROM baselines WHERE key = ? AND seed = ?",
                (self.key, seed),
            )
            .fetchone()
        )
        if row is None or row["key_text"] != self.key_text:
            return None
        try:
            return read_baseline(self.store.home / row["folder"], source_run=row["run_id"])
        except (OSError, ValueError, KeyError):  # cleared meanwhile, or damaged: train again
            with _db.write(self.store._conn()) as c:
                c.execute(
                    "DELETE FROM baselines WHERE key = ? AND seed = ? AND folder = ?",
                    (self.key, seed, row["folder"]),
                )
            return None

    def _claim(self, seed: int) -> int | None:
        """Claim (key, seed) for this run; the run id of a live claimer instead, if any."""
        with _db.write(self.store._conn()) as c:
            row = c.execute(
                "SELECT c.run_id, r.status, r.worker_token FROM baseline_claims c "
                "LEFT JOIN runs r ON r.id = c.run_id WHERE c.key = ? AND c.seed = ?",
                (self.key, seed),
            ).fetchone()
            if (
                row is not None
                and row["run_id"] != self.run_id
                and row["status"] == RUNNING
                and token_alive(row["worker_token"])
            ):
                return int(row["run_id"])
            c.execute(
                "INSERT OR REPLACE INTO baseline_claims (key, seed, run_id, created) "
                "VALUES (?, ?, ?, ?)",
                (self.key, seed, self.run_id, time.time()),
            )
        return None

    def _release(self, seed: int) -> None:
        with _db.write(self.store._conn()) as c:
            c.execute(
                "DELETE FROM baseline_claims WHERE key = ? AND seed = ? AND run_id = ?",
                (self.key, seed, self.run_id),
            )


def _add(
    store: RunStore,
    key_text: str,
    seed: int,
    run_id: int | None,
    seconds: float | None,
    metrics: dict[str, dict[str, float]],
    write: Callable[[Path], int],
) -> bool:
    """Write an entry's files with ``write(folder) -> bytes`` into a fresh folder, then
    insert its row and drop ``run_id``'s claim of the (key, seed); the first entry of a
    (key, seed) stays (a later one's folder is removed). Whether it was added; what
    ``write`` raised (OSError, ValueError) with the folder removed when it failed."""
    home, key = store.home, hashlib.sha256(key_text.encode()).hexdigest()
    folder = home / FOLDER / key[:16] / f"seed{seed}-run{run_id}-{uuid.uuid4().hex[:8]}"
    try:
        size = write(folder)
    except (OSError, ValueError):
        shutil.rmtree(folder, ignore_errors=True)
        raise
    with _db.write(store._conn()) as c:
        added = c.execute(
            "INSERT OR IGNORE INTO baselines (key, seed, key_text, run_id, folder, bytes, "
            "seconds, metrics, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, seed, key_text, run_id, folder.relative_to(home).as_posix(), size, seconds,
             json.dumps(_jsonable(metrics)), time.time()),
        ).rowcount  # fmt: skip
        c.execute(
            "DELETE FROM baseline_claims WHERE key = ? AND seed = ? AND run_id = ?",
            (key, seed, run_id),
        )
    if not added:  # another run kept the same baselines first
        shutil.rmtree(folder, ignore_errors=True)
    return bool(added)


# --- moving entries between stores (the Ray backend) ---------------------------------


@dataclass(frozen=True)
class EntryBytes:
    """One cache entry with its files as bytes, to carry it to another store: the Ray
    backend seeds a node's throw-away store with the entries a run will reuse, and brings
    back the ones a node trained."""

    key_text: str
    seed: int
    run_id: int | None  # the run that trained them, in the store they came from
    seconds: float | None
    metrics: dict[str, dict[str, float]]
    files: dict[str, bytes]  # path in the entry's folder -> its bytes


def entry_bytes(store: RunStore, key_text: str, seed: int) -> EntryBytes | None:
    """The store's entry for (``key_text``, ``seed``) as bytes; None when it has none (or
    its files cannot be read)."""
    key = hashlib.sha256(key_text.encode()).hexdigest()
    row = (
        store._conn()
        .execute("SELECT * FROM baselines WHERE key = ? AND seed = ?", (key, seed))
        .fetchone()
    )
    if row is None or row["key_text"] != key_text:
        return None
    folder = store.home / row["folder"]
    try:
        files = {p.relative_to(folder).as_posix(): p.read_bytes()
                 for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip
    except OSError:
        return None
    if "baseline.json" not in files:
        return None
    return EntryBytes(key_text, seed, row["run_id"], row["seconds"], json.loads(row["metrics"]),
                      files)  # fmt: skip


def add_entry(store: RunStore, entry: EntryBytes, *, run_id: int | None = None) -> bool:
    """Add ``entry`` to the store's cache as trained by ``run_id`` (default: the entry's
    own run); the first entry of a (key, seed) stays. Whether it was added."""
    source = entry.run_id if run_id is None else run_id

    def write(folder: Path) -> int:
        folder.mkdir(parents=True)
        for rel, data in entry.files.items():
            path = (folder / rel).resolve()
            if folder.resolve() not in path.parents:
                raise ValueError(f"cached baseline file {rel!r}: outside its entry's folder")
            if rel == "baseline.json":  # the run that trained them, as this store knows it
                meta = json.loads(data)
                data = json.dumps({**meta, "run_id": source}, default=float).encode()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())

    return _add(store, entry.key_text, entry.seed, source, entry.seconds, entry.metrics, write)


# --- files ---------------------------------------------------------------------------


def write_baseline(folder: Path, baseline: Baseline, *, seed: int, run_id: int | None) -> int:
    """Write one entry's files into ``folder`` (new); returns their total size in bytes."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    events = []
    for e in baseline.events:
        entry: dict[str, Any] = {"kind": e.kind, "epoch": e.epoch, "step": e.step,
                                 "total_steps": e.total_steps}  # fmt: skip
        if e.kind == "snapshot" and e.snapshot is not None:
            name = f"snapshots/{snapshot_filename('stl', e.epoch)}"
            save_snapshot(e.snapshot, folder / name, model="stl", seed=seed)
            entry["file"] = name
        else:
            entry["rows"] = e.rows
            entry["weighting_state"] = _jsonable(e.weighting_state)
        events.append(entry)
    tensors = {k: v.detach().cpu().contiguous() for k, v in baseline.state.items()}
    save_file(tensors, str(folder / "weights.safetensors"))
    meta = {"format": FORMAT, "seed": seed, "run_id": run_id, "seconds": baseline.seconds,
            "metrics": baseline.metrics, "events": events}  # fmt: skip
    (folder / "baseline.json").write_text(json.dumps(meta, default=float), encoding="utf-8")
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def read_baseline(folder: Path, *, source_run: int | None) -> Baseline:
    """Read an entry written by :func:`write_baseline`."""
    from safetensors.torch import load_file

    from mtlcore.experiment import Baseline
    from mtlcore.train import Snapshot, TrainEvent

    meta = json.loads((folder / "baseline.json").read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"{folder}: not a cached baseline ({meta.get('format')!r})")
    events = []
    for e in meta["events"]:
        event = TrainEvent(e["kind"], "stl", e["epoch"], e["step"], e["total_steps"],
                           rows=e.get("rows", []),
                           weighting_state=e.get("weighting_state") or {})  # fmt: skip
        if "file" in e:
            s = load_snapshot(folder / e["file"])
            event.snapshot = Snapshot(s.epoch, s.rows, s.features, s.outputs, s.mixing,
                                      s.truth, s.prediction, s.targets)  # fmt: skip
        events.append(event)
    state = load_file(str(folder / "weights.safetensors"))
    return Baseline(state, events, meta["metrics"], meta["seconds"], source_run)


# --- listing and clearing ------------------------------------------------------------


def cached_baselines(store: RunStore) -> list[CachedBaseline]:
    """Every entry of the store's cache, newest first."""
    rows = store._conn().execute("SELECT * FROM baselines ORDER BY created DESC").fetchall()
    return [
        CachedBaseline(r["key"], r["seed"], r["key_text"], r["run_id"], store.home / r["folder"],
                       r["bytes"], r["seconds"], json.loads(r["metrics"]), r["created"])
        for r in rows
    ]  # fmt: skip


def clear_baselines(store: RunStore) -> tuple[int, int]:
    """Remove every entry, the cache's folder and the claims of runs no longer running;
    (entries, bytes) removed. Safe while runs use the store: one that was reading an
    entry trains its baselines instead, and a running run's claim stays."""
    with _db.write(store._conn()) as c:
        n, size = c.execute("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM baselines").fetchone()
        c.execute("DELETE FROM baselines")
        # claims of runs no longer running (a run that failed while training its baselines)
        c.execute("DELETE FROM baseline_claims WHERE run_id NOT IN "
                  "(SELECT id FROM runs WHERE status = ?)", (RUNNING,))  # fmt: skip
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(store.home / FOLDER)
    return int(n), int(size)


def reuse_note(summaries: list[dict[str, Any]]) -> str | None:
    """One sentence naming the seeds whose single-task baselines came from the cache and
    the runs that trained them (from each result's ``baselines_by_seed``); None when
    every seed trained its own. The Train and Compare pages show it under the result."""
    reused = {
        int(seed): entry.get("from_run")
        for summary in summaries
        for seed, entry in (summary.get("baselines_by_seed") or {}).items()
        if entry and entry.get("reused")
    }
    if not reused:
        return None
    where = ", ".join(
        f"seed {seed} from run {run}" if run is not None else f"seed {seed}"
        for seed, run in sorted(reused.items())
    )
    return (
        f"Single-task baselines reused, not trained again: {where} (the same data, tasks, "
        "network, training settings and seed give the same baselines; "
        "`python -m mtlcore runs cache clear` forgets them)."
    )
