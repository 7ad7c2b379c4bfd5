"""The training callback of a stored run: TrainEvents -> metric rows, progress, snapshots.

Metric rows are long: ``(step, epoch, model, task, split, name, value)``.

* ``epoch`` events: one row per number in each history row, so ``loss`` and
  ``weight`` for the train and val splits and the primary metric (``rmse``,
  ``accuracy``) on val; ``step`` is the model's step count at the epoch's end. The
  weighting method's learned state adds rows with split ``"state"`` (e.g. name
  ``sigma``, one per task; a plain number gets task ``""``).
* ``grad_cosine`` events: name ``"cosine"``, task ``"a|b"``, split ``"train"``.
* ``snapshot`` events: an ``.npz`` artifact (see :mod:`mtlcore.runs._snapshots`).

Rows are buffered and written in one transaction every ``flush_seconds`` (or
every ``max_rows`` rows, and at the end): one short write twice a second instead
of one per row, so logging does not slow training. Each write also stores the
progress and reads the cancel flag; between writes the flag is read at most every
``check_seconds``. The callback returns ``False`` once a cancel is requested,
which stops the training loop.
"""

from __future__ import annotations

import math
import time
from numbers import Real
from pathlib import Path
from typing import Any

from mtlcore.runs._snapshots import save_snapshot, snapshot_filename
from mtlcore.runs._store import MetricTuple, RunStore

ROW_KEYS = frozenset({"model", "epoch", "task", "split", "seed", "step"})


def epoch_rows(event: Any) -> list[MetricTuple]:
    """Metric rows of an ``epoch`` event (history rows and the weighting state)."""
    out: list[MetricTuple] = []
    for r in event.rows:
        for key, value in r.items():
            if key not in ROW_KEYS and isinstance(value, Real):
                out.append((event.step, r["epoch"], r["model"], r["task"], r["split"], key,
                            float(value)))  # fmt: skip
    for key, value in (event.weighting_state or {}).items():
        if isinstance(value, dict):
            for task, v in value.items():
                if isinstance(v, Real):
                    out.append((event.step, event.epoch, event.model, str(task), "state", key,
                                float(v)))  # fmt: skip
        elif isinstance(value, Real) and not isinstance(value, bool):
            out.append((event.step, event.epoch, event.model, "", "state", key, float(value)))
    return out


def cosine_rows(event: Any) -> list[MetricTuple]:
    """Metric rows of a ``grad_cosine`` event: task ``"a|b"``, name ``"cosine"``."""
    return [
        (r["step"], r["epoch"], r["model"], f"{r['task_a']}|{r['task_b']}", "train", "cosine",
         float(r["cosine"]))
        for r in event.rows
    ]  # fmt: skip


class RunRecorder:
    """Callable passed to ``run_experiment`` for one stored run."""

    def __init__(
        self,
        store: RunStore,
        run_id: int,
        *,
        total_steps: int | None = None,
        snapshot_dir: Path | None = None,
        flush_seconds: float = 0.5,
        max_rows: int = 2000,
        check_seconds: float = 0.1,
    ):
        self.store = store
        self.run_id = run_id
        self.total_steps = total_steps
        self.snapshot_dir = snapshot_dir or store.run_dir(run_id) / "snapshots"
        self.flush_seconds = flush_seconds
        self.max_rows = max_rows
        self.check_seconds = check_seconds
        self.rows_written = 0
        self.cancelled = False
        self._rows: list[MetricTuple] = []
        self._artifacts: list[tuple[str, Path, dict[str, Any]]] = []
        self._progress: dict[str, Any] | None = None
        self._last_flush = self._last_check = -math.inf  # the first event writes at once
        self._plotted: set[str] = set()  # phases (mtl/stl) whose first epoch is written

    def __call__(self, event: Any) -> bool:
        if event.kind == "epoch":
            self._rows.extend(epoch_rows(event))
        elif event.kind == "grad_cosine":
            self._rows.extend(cosine_rows(event))
        elif event.kind == "snapshot" and event.snapshot is not None:
            path = self.snapshot_dir / snapshot_filename(event.model, event.epoch)
            save_snapshot(event.snapshot, path, model=event.model, seed=event.seed)
            meta = {"model": event.model, "epoch": event.epoch, "seed": event.seed}
            self._artifacts.append(("snapshot", path, meta))
        total = self.total_steps or event.total_steps
        self._progress = {
            "phase": event.phase or event.model,
            "epoch": event.epoch,
            "step": min(total, round(event.progress * total)),
            "total_steps": total,
            "progress": float(event.progress),
        }
        # A phase's first epoch is written at once: it is the first point a page can plot.
        first_point = event.kind == "epoch" and event.model not in self._plotted
        if event.kind == "epoch":
            self._plotted.add(event.model)
        now = time.monotonic()
        if (
            first_point
            or now - self._last_flush >= self.flush_seconds
            or len(self._rows) >= self.max_rows
        ):
            self.flush()
        elif now - self._last_check >= self.check_seconds:
            self._last_check = now
            self.cancelled = self.cancelled or self.store.cancel_requested(self.run_id)
        return not self.cancelled

    def flush(self) -> None:
        """Write what is buffered (rows, artifacts, progress) in one transaction."""
        rows, self._rows = self._rows, []
        artifacts, self._artifacts = self._artifacts, []
        progress, self._progress = self._progress, None
        flag = self.store.record(self.run_id, rows, progress=progress, artifacts=artifacts)
        self.rows_written += len(rows)
        self.cancelled = self.cancelled or flag
        self._last_flush = self._last_check = time.monotonic()
