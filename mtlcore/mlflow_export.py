"""Export stored runs to MLflow, for teams that track their experiments there.

``python -m mtlcore export-mlflow RUN --tracking-uri URI`` (or ``ID --sweep``)
logs, per run of the store, one MLflow run with:

* params: the run's config, flattened (``model.strategy``, ``train.lr``; lists and
  the task list as JSON text), plus ``seed``;
* metrics: every per-epoch row the run wrote, as ``{model}/{task}/{split}/{name}``
  with the epoch as the step (``mtl/house_price/val/loss``; a weighting state such
  as ``mtl/house_price/state/sigma``; gradient cosines ``mtl/a|b/train/cosine`` at
  their training step, ``|`` written ``_``), and the final comparison per task
  (``final/{task}/mtl``, ``.../stl``, ``.../gain``) and ``final/delta_m``;
* tags: the verdicts (``verdict/{task}``, ``verdict/delta_m``: helps, hurts, within
  the noise, one seed), the run's status and its ids in the store;
* artifacts: result.json, config.yaml, weights.safetensors, predictions.csv and
  preprocessing.json, as the run wrote them.

A sweep exports one MLflow run per member, nested under a parent run named after
the sweep (MLflow's ``mlflow.parentRunId`` tag), with the sweep's spec as an
artifact. A member that reuses its group's baselines (it trained none) gets its final
comparison and verdicts against them, as the sweep's ranking computes it (tag
``mtlstudio.baselines_from``: the run that trained them). MLflow is an optional extra (``pip install -r requirements-mlflow.txt``,
the light ``mlflow-skinny`` client) imported only inside these functions. A
``file:`` tracking URI (a local folder) is allowed although MLflow now keeps that
store in maintenance mode: asking for it is the opt-in.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtlcore.runs._records import CANCELLED, DONE, FAILED, FINISHED, RunInfo, RunStateError
from mtlcore.runs._store import RunStore

INSTALL_HINT = "pip install -r requirements-mlflow.txt"
DEFAULT_EXPERIMENT = "MTL Studio"
# The files of a run that go to MLflow (snapshots stay: they are for the dashboard's pages).
ARTIFACT_KINDS = ("result", "config", "weights", "predictions", "preprocessing")
MLFLOW_STATUS = {DONE: "FINISHED", FAILED: "FAILED", CANCELLED: "KILLED"}
MAX_PARAM_CHARS = 6000  # MLflow's limit on a param's value
_NOT_IN_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")  # what an MLflow metric or tag key may hold


class MlflowNotInstalled(RuntimeError):
    """The MLflow export was asked for and MLflow is not installed."""


@dataclass(frozen=True)
class Exported:
    """A store run and the MLflow run it became."""

    run_id: int
    mlflow_run_id: str


def import_mlflow() -> Any:
    """``mlflow``, or :class:`MlflowNotInstalled` with the one line that says what to do."""
    try:
        import mlflow
        import mlflow.tracking  # noqa: F401 (the client lives there)
    except ImportError:
        raise MlflowNotInstalled(
            f"export-mlflow needs MLflow, which is not installed: {INSTALL_HINT}"
        ) from None
    return mlflow


def client_for(tracking_uri: str) -> Any:
    """An ``MlflowClient`` for ``tracking_uri`` (``http://host:5000``, ``file:/path``, ...)."""
    import_mlflow()
    from mlflow.tracking import MlflowClient

    if tracking_uri.startswith("file:") or "://" not in tracking_uri:
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # a local folder, asked for
    return MlflowClient(tracking_uri)


def export_runs(
    store: RunStore,
    run_ids: Iterable[int],
    tracking_uri: str,
    *,
    experiment: str = DEFAULT_EXPERIMENT,
    parent: str | None = None,
    comparisons: dict[int, tuple[dict[str, Any], int]] | None = None,
) -> list[Exported]:
    """Log each finished run to MLflow (see the module docstring); ``parent``: an MLflow run
    id to nest them under; ``comparisons``: run id -> (its comparison, the run whose
    baselines it rests on), for sweep members that reuse another run's baselines. A queued
    or running run is an error that names it."""
    client = client_for(tracking_uri)  # first: without MLflow, say so before anything else
    runs = [store.run(r) for r in run_ids]
    unfinished = [r.id for r in runs if r.status not in FINISHED]
    if unfinished:
        raise RunStateError(
            f"run(s) {', '.join(map(str, unfinished))} have not finished; wait for them or "
            "cancel them (`python -m mtlcore runs list` shows them), then export again"
        )
    experiment_id = _experiment_id(client, experiment)
    comparisons = comparisons or {}
    return [
        Exported(r.id, _export_one(client, experiment_id, store, r, parent, comparisons.get(r.id)))
        for r in runs
    ]


def export_sweep(
    store: RunStore, sweep_id: int | str, tracking_uri: str, *, experiment: str = DEFAULT_EXPERIMENT
) -> tuple[str, list[Exported], list[int]]:
    """One parent MLflow run for the sweep, its finished members nested under it.

    Returns (the parent's MLflow run id, the exported members, the ids of members not
    yet finished, which are left out and named in the parent's tags)."""
    client = client_for(tracking_uri)
    sweep = store.sweep(sweep_id)
    members = [store.run(r) for r in sweep.run_ids]
    finished = [r.id for r in members if r.status in FINISHED]
    waiting = [r.id for r in members if r.status not in FINISHED]
    experiment_id = _experiment_id(client, experiment)
    tags = {"mtlstudio.sweep_id": str(sweep.id), "mtlstudio.kind": "sweep",
            "mtlstudio.members": str(len(members)), "mtlstudio.members_left_out":
            ",".join(map(str, waiting)) or "none"}  # fmt: skip
    parent = client.create_run(experiment_id, run_name=sweep.name, tags=tags,
                               start_time=_ms(sweep.created)).info.run_id  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="mtl-mlflow-") as tmp:
        spec = Path(tmp) / "sweep.json"
        spec.write_text(sweep.spec, encoding="utf-8")
        client.log_artifact(parent, str(spec))
    exported = export_runs(store, finished, tracking_uri, experiment=experiment, parent=parent,
                           comparisons=sweep_comparisons(store, sweep.id, members))  # fmt: skip
    client.set_terminated(parent, "FINISHED")
    return parent, exported, waiting


def sweep_comparisons(
    store: RunStore, sweep_id: int, members: list[RunInfo]
) -> dict[int, tuple[dict[str, Any], int]]:
    """Each done member's comparison against its group's baselines (the done run of the same
    seed that trained them, as the sweep's ranking pairs them), with that run's id."""
    from mtlcore.analysis import combine_results
    from mtlcore.sweep import latest_runs, sweep_grid, with_baselines

    grid = sweep_grid(store, sweep_id)
    latest = latest_runs(store, sweep_id)
    out = {}
    for run in members:
        if run.status != DONE or not run.result or run.sweep_cell is None:
            continue
        owner = grid.owner_of(grid.cells[run.sweep_cell])
        base = latest.get((owner.index, run.seed))
        if base is not None and base.status == DONE and base.result:
            out[run.id] = (combine_results([with_baselines(run, base)]), base.id)
    return out


def flat_params(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """A config as MLflow params: nested keys joined with dots, lists and other values as
    JSON text (cut to MLflow's length limit)."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flat_params(value, f"{name}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            out[name] = text[:MAX_PARAM_CHARS]
    return out


def metric_key(*parts: str) -> str:
    """An MLflow metric/tag key from parts (task names are user text: characters MLflow
    refuses become ``_``)."""
    return "/".join(_NOT_IN_KEY.sub("_", p) for p in parts)


def _experiment_id(client: Any, name: str) -> str:
    found = client.get_experiment_by_name(name)
    return found.experiment_id if found is not None else client.create_experiment(name)


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


def _export_one(client: Any, experiment_id: str, store: RunStore, run: RunInfo,
                parent: str | None, compared: tuple[dict[str, Any], int] | None) -> str:  # fmt: skip
    from mlflow.entities import Metric, Param, RunTag

    tags = {
        "mtlstudio.run_id": str(run.id),
        "mtlstudio.experiment_id": str(run.experiment_id),
        "mtlstudio.status": run.status,
    }
    if run.sweep_id is not None:
        tags["mtlstudio.sweep_id"] = str(run.sweep_id)
    if parent is not None:
        tags["mlflow.parentRunId"] = parent
    if run.error:
        tags["mtlstudio.error"] = run.error[:MAX_PARAM_CHARS]
    result = _result(store, run)
    if compared is not None:  # a sweep member: Δm against its group's baselines
        result = compared[0]
        tags["mtlstudio.baselines_from"] = str(compared[1])
    metrics = [_metric(Metric, r, run) for r in store.metrics(run.id)]
    finished_ms = _ms(run.finished) or 0
    for task, t in (result or {}).get("tasks", {}).items():
        for part in ("mtl", "stl", "gain"):
            if isinstance(t.get(part), int | float):
                metrics.append(
                    Metric(metric_key("final", task, part), float(t[part]), finished_ms, 0)
                )
        if t.get("verdict"):
            tags[metric_key("verdict", task)] = str(t["verdict"])
    if result and isinstance(result.get("delta_m"), int | float):
        metrics.append(Metric("final/delta_m", float(result["delta_m"]), finished_ms, 0))
    if result and result.get("delta_m_verdict"):
        tags["verdict/delta_m"] = str(result["delta_m_verdict"])
    mlflow_run = client.create_run(experiment_id, run_name=f"{run.name} (seed {run.seed})",
                                   start_time=_ms(run.started or run.created), tags=tags)  # fmt: skip
    rid = mlflow_run.info.run_id
    params = {**flat_params(run.config().model_dump(mode="json")), "seed": str(run.seed)}
    client.log_batch(rid, metrics=metrics, params=[Param(k, v) for k, v in params.items()],
                     tags=[RunTag(k, v) for k, v in tags.items()])  # fmt: skip
    for art in store.artifacts(run.id):
        if art.kind in ARTIFACT_KINDS and art.path.is_file():
            client.log_artifact(rid, str(art.path))
    client.set_terminated(rid, MLFLOW_STATUS.get(run.status, "FAILED"), end_time=_ms(run.finished))
    return rid


def _result(store: RunStore, run: RunInfo) -> dict[str, Any] | None:
    """The run's full result.json (its per-task verdicts and Δm), else its stored summary."""
    for art in store.artifacts(run.id, "result"):
        if art.path.is_file():
            return json.loads(art.path.read_text(encoding="utf-8"))
    return run.result


def _metric(metric_cls: Any, row: Any, run: RunInfo) -> Any:
    """An MLflow Metric from a store row (epoch as the step; a cosine at its train step;
    NaN, e.g. an AUC with one class, stays NaN)."""
    step = row.step if row.name == "cosine" else row.epoch
    stamp = _ms(run.started or run.created) or 0
    key = metric_key(row.model, row.task or "all", row.split, row.name)
    return metric_cls(key, row.value, stamp, step)
