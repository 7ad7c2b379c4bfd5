"""Command line: ``python -m mtlcore {train,list,inspect,lesson,runs,sweep,export,predict}``.

Bad input (a broken config or CSV) exits with status 2 and one clear message on
stderr, never a traceback. Only the commands that train or load a model import
torch: ``list``, ``inspect`` and ``runs list/show/cancel`` never do, so they start
quickly and light (keep new commands' heavy imports inside their functions).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mtlcore.config import ConfigError, one_line
from mtlcore.data.spec import DataError
from mtlcore.mlflow_export import MlflowNotInstalled
from mtlcore.runs import RunStoreError
from mtlcore.runs._cli import EXIT_BAD_INPUT, EXIT_FAILED, add_runs_parser, run_runs_command
from mtlcore.runs.ray_backend import RayNotInstalled

if TYPE_CHECKING:  # torch: imported only by the commands that train or predict
    from mtlcore.config import ExperimentConfig
    from mtlcore.train import TrainEvent


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line (status 2), like every other bad input."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"error: {self.prog}: {message}; see {self.prog} --help\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="python -m mtlcore", description="MTL Studio's engine, headless.")
    sub = parser.add_subparsers(dest="command", required=True)

    p_train = sub.add_parser("train", help="train a config; write result.json, config, weights")
    p_train.add_argument("config", help="YAML or JSON config file (see examples/)")
    p_train.add_argument("--out", required=True, help="output folder")
    p_train.add_argument("--seeds", help="comma-separated seeds, e.g. 0,1,2 (overrides seeds)")
    p_train.add_argument("--epochs", type=int, help="override train.epochs")
    p_train.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    sub.add_parser("list", help="list built-in datasets, sharing strategies, weighting methods")

    p_inspect = sub.add_parser("inspect", help="profile a CSV: columns, types, task kinds")
    p_inspect.add_argument("csv", help="CSV file")

    p_lesson = sub.add_parser(
        "lesson", help="the guided lessons: list them, train a preset, or run a study"
    )
    p_lesson.add_argument("key", nargs="?", help="a lesson's key (leave out to list them)")
    p_lesson.add_argument("--preset", help="train this preset of the lesson (needs --out)")
    p_lesson.add_argument("--options", help="the study's options as JSON, e.g. '{\"steps\": 500}'")
    p_lesson.add_argument("--out", help="output folder (preset) or JSON file (study)")
    p_lesson.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    add_runs_parser(sub)

    p_sweep = sub.add_parser(
        "sweep", help="run a grid of experiments (axes × seeds), ranked by Δm; see docs/sweeps.md"
    )
    p_sweep.add_argument("sweep", help="sweep file: base config, axes and seeds")
    p_sweep.add_argument(
        "--out", required=True, help="output folder (sweep.json, a folder per cell)"
    )
    p_sweep.add_argument("--backend", choices=("local", "ray"), default="local",
                         help="local: this machine's worker pool (default); ray: a Ray cluster")  # fmt: skip
    p_sweep.add_argument("--address", help="with --backend ray: the cluster's address "
                         "(default: a local Ray started for the run)")  # fmt: skip
    p_sweep.add_argument("--workers", type=int, help="local pool size (default: one per two cores)")
    p_sweep.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    p_export = sub.add_parser(
        "export", help="one zip of an experiment: config, result, metrics, predictions, weights"
    )
    p_export.add_argument("source", help="a `train --out` folder, or an experiment id "
                          "(the 'exp' column of `runs list`)")  # fmt: skip
    p_export.add_argument("--out", required=True, help="the zip file to write")

    p_mlflow = sub.add_parser(
        "export-mlflow", help="log stored runs (params, per-epoch metrics, verdicts, weights) "
        "to MLflow; needs requirements-mlflow.txt",
    )  # fmt: skip
    p_mlflow.add_argument("id", help="a run id (the 'id' column of `runs list`), or with "
                          "--sweep a sweep's id")  # fmt: skip
    p_mlflow.add_argument("--sweep", action="store_true",
                          help="ID is a sweep: one MLflow run per member, under a parent run")  # fmt: skip
    p_mlflow.add_argument("--tracking-uri", required=True,
                          help="MLflow tracking URI: http://host:5000, or file:/path/to/mlruns")  # fmt: skip
    p_mlflow.add_argument("--experiment", default="MTL Studio",
                          help="MLflow experiment name (created if missing; default %(default)s)")  # fmt: skip

    p_predict = sub.add_parser(
        "predict", help="predict on new rows with a trained experiment's multi-task model"
    )
    p_predict.add_argument("source", help="a `train --out` folder, an unzipped export, or an "
                           "experiment id (the 'exp' column of `runs list`)")  # fmt: skip
    p_predict.add_argument("csv", help="CSV file with the input columns the tasks read")
    p_predict.add_argument("--out", required=True, help="the CSV file to write")
    p_predict.add_argument(
        "--seed", type=int, help="whose model predicts (default: the first seed)"
    )

    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "list":
            return _list()
        if args.command == "runs":
            _check_home()
            return run_runs_command(args)
        if args.command == "lesson":
            return _lesson(args)
        if args.command == "sweep":
            _check_home()
            return _sweep(args)
        if args.command == "export":
            return _export(args)
        if args.command == "predict":
            return _predict(args)
        if args.command == "export-mlflow":
            _check_home()
            return _export_mlflow(args)
        return _inspect(args.csv)
    except (ConfigError, DataError, RunStoreError) as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (RayNotInstalled, MlflowNotInstalled) as exc:  # an optional extra asked for
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:
        if not _diverged(exc):
            raise
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_FAILED


def _check_home() -> None:
    """The run store's folder (MTL_STUDIO_HOME) must be a folder, or creatable as one."""
    from mtlcore.runs._home import home_problem

    problem = home_problem()
    if problem:
        raise ConfigError(problem)


def _make_folder(p: Path, what: str, hint: str) -> None:
    """Create folder ``p`` (before any training, so a bad path costs no time); ``what``
    names it in the message (``--out``, ``MTL_STUDIO_HOME``), ``hint`` says what to do."""
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{what}: {p} is a file, not a folder; {hint} (it is created if "
                          "missing)")  # fmt: skip
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{what}: cannot create the folder {p} ({exc.strerror}); "
                          f"{hint}") from None  # fmt: skip


def _diverged(exc: BaseException) -> bool:
    """A DivergenceError, told apart without importing torch (only training raises it)."""
    train = sys.modules.get("mtlcore.train")
    return train is not None and isinstance(exc, train.DivergenceError)


def _train(args: argparse.Namespace) -> int:
    from mtlcore.config import ExperimentConfig

    config = ExperimentConfig.load(args.config)
    overrides: dict = {}
    if args.seeds:
        try:
            overrides["seeds"] = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            raise ConfigError(f"--seeds: expected numbers like 0,1,2, got {args.seeds!r}") from None
    raw = config.model_dump(mode="json")
    raw.update(overrides)
    if args.epochs is not None:
        raw["train"]["epochs"] = args.epochs
    config = ExperimentConfig.parse(raw, source="command line")
    return _train_and_write(config, args.out, quiet=args.quiet)


def _train_and_write(config: ExperimentConfig, out: str, *, quiet: bool) -> int:
    from mtlcore.experiment import run_experiment, write_outputs

    def progress(event: TrainEvent) -> None:
        if event.kind == "epoch" and not quiet:
            val = [r for r in event.rows if r["split"] == "val"]
            losses = "  ".join(f"{r['task']}={r['loss']:.4f}" for r in val)
            print(
                f"[{event.progress:4.0%}] seed {event.seed} {event.model} epoch "
                f"{event.epoch}: val loss {losses}",
                file=sys.stderr,
            )

    _make_folder(Path(out), "--out", "give a folder for the run's files")
    result, runs = run_experiment(config, progress)
    paths = write_outputs(out, config, result, runs)
    print(format_summary(result))
    print(f"wrote {paths['result']}, {paths['config']}, {paths['weights']}")
    return 0


def format_summary(result: dict) -> str:
    """The per-task table: MTL, STL, the trivial baseline, the gain with its interval and
    the verdict; then Δm with its own (all from ``mtlcore.analysis``)."""
    from mtlcore.analysis import interval_text, verdict_label

    level = f"{result.get('confidence') or 0.95:.0%}"
    width = max([20, *(len(name) for name in result["tasks"])])
    head = ("task", "metric", "MTL", "STL", "trivial", "gain %", f"{level} interval", "verdict")
    lines = [_row(head, width)]
    for name, t in result["tasks"].items():
        arrow = "↑" if t.get("higher_is_better") else "↓"
        cells = (
            name, f"{t['metric']} {arrow}", _num(t.get("mtl")), _num(t.get("stl")),
            _num(t.get("trivial")), "-" if t.get("gain") is None else f"{t['gain']:+.1f}",
            interval_text(t.get("gain_low"), t.get("gain_high")), verdict_label(t.get("verdict")),
        )  # fmt: skip
        lines.append(_row(cells, width))
    n = result.get("n_seeds") or len(result.get("seeds") or [])
    seeds = f"over {n} seed{'s' if n != 1 else ''}"
    verdict = verdict_label(result.get("delta_m_verdict"))
    if result.get("delta_m") is None:
        lines.append("Δm: - (no single-task baselines to compare with)")
    elif result.get("delta_m_low") is None:
        lines.append(f"Δm = {result['delta_m']:+.2f}% {seeds}: {verdict}")
    else:
        ci = interval_text(result["delta_m_low"], result["delta_m_high"])
        lines.append(f"Δm = {result['delta_m']:+.2f}% ({level} interval {ci}) {seeds}: {verdict}")
    return "\n".join(lines)


def _row(cells: tuple[str, ...], width: int) -> str:
    name, metric, mtl, stl, trivial, gain, interval, verdict = cells
    return (
        f"{name:<{width}} {metric:<8} {mtl:>11} {stl:>11} {trivial:>11} {gain:>7}  "
        f"{interval:<16} {verdict}"
    )


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def _sweep(args: argparse.Namespace) -> int:
    """Start (or resume) a sweep, run its members on the chosen backend, rank them."""
    import time

    from mtlcore.runs import RunStore
    from mtlcore.sweep import (
        cell_results,
        finished,
        load_sweep,
        progress,
        ranking_table,
        start_sweep,
        write_sweep,
    )

    grid = load_sweep(args.sweep)
    if args.address and args.backend != "ray":
        raise ConfigError("--address: only with --backend ray")
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers: give 1 or more, not {args.workers}")
    run_on_ray = _ray_backend() if args.backend == "ray" else None
    _make_folder(Path(args.out), "--out", "give a folder for the sweep's files")
    store = RunStore()
    started = start_sweep(store, grid)
    sid, n_runs = started.sweep_id, len(grid.cells) * len(grid.seeds)
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    say(f"sweep {sid} ({grid.name}): {len(grid.cells)} cells × {len(grid.seeds)} seeds; "
        f"baselines trained {grid.baselines_trained}, reused {grid.baselines_reused}"
        + (f"; resumed, {n_runs - len(started.submitted)} runs kept" if started.resumed else ""))  # fmt: skip
    seen: dict[int, str] = {}

    def report() -> bool:
        cells = progress(store, sid, grid)
        for c in cells:
            for r in c.runs:
                if r.is_finished and seen.get(r.id) != r.status:
                    seen[r.id] = r.status
                    say(f"[{len(seen)}/{n_runs}] {c.label} seed {r.seed}: {r.status}"
                        + (f" ({r.error})" if r.error else ""))  # fmt: skip
        return finished(cells, len(grid.seeds))

    try:
        if run_on_ray is not None:
            queued = [r.id for r in store.runs(sweep_id=sid, status="queued")]
            run_on_ray(store.home, queued, address=args.address)
            report()
        else:
            from mtlcore.runs import LocalExecutor

            if not report():  # a resumed sweep may have nothing left to run
                with LocalExecutor(store, workers=args.workers, max_queued=n_runs + 1):
                    while not report():
                        time.sleep(0.5)
    except KeyboardInterrupt:
        store.cancel_sweep(sid)
        print(f"interrupted; sweep {sid}'s runs are cancelled (run the same command again "
              "to continue it)", file=sys.stderr)  # fmt: skip
        return 130
    results = cell_results(store, sid, grid)
    path = write_sweep(args.out, store, grid, sid, results)
    print(ranking_table(grid, results))
    print(f"wrote {path} and {len(results)} cell folders")
    return 0 if all(c.status == "done" for c in results) else EXIT_FAILED


def _ray_backend() -> Callable:
    """``mtlcore.runs.ray_backend.run_on_ray``, or one line saying how to get it."""
    import importlib

    try:
        ray_backend = importlib.import_module("mtlcore.runs.ray_backend")
    except ImportError as exc:
        raise ConfigError(f"--backend ray: Ray backend not available ({exc}); install it with "
                          "pip install -r requirements-ray.txt, or use --backend local") from None  # fmt: skip
    check = getattr(ray_backend, "import_ray", None)
    if check is not None:
        check()  # Ray itself missing: one line now, before any run is queued
    return ray_backend.run_on_ray


def _lesson(args: argparse.Namespace) -> int:
    """List the lessons, print one, train one of its presets or run its study."""
    import json

    from pydantic import ValidationError

    from mtlcore.config import format_validation_error
    from mtlcore.lessons import LESSONS

    if args.key is None:
        for lesson in LESSONS.values():
            print(f"  {lesson.key:<24} {lesson.number}. {lesson.title}")
        return 0
    if args.key not in LESSONS:
        raise ConfigError(f"lesson: there is no lesson {args.key!r}; lessons are: "
                          f"{', '.join(LESSONS)}")  # fmt: skip
    lesson = LESSONS[args.key]
    if args.preset is not None:
        keys = [p.key for p in lesson.presets]
        if args.preset not in keys:
            raise ConfigError(f"lesson {lesson.key}: no preset {args.preset!r}; its presets "
                              f"are: {', '.join(keys) or 'none'}")  # fmt: skip
        if not args.out:
            raise ConfigError("lesson --preset: give --out DIR for the run's files")
        return _train_and_write(lesson.preset(args.preset).experiment(), args.out, quiet=args.quiet)
    if args.options is not None or (lesson.study is not None and args.out):
        if lesson.study is None:
            raise ConfigError(f"lesson {lesson.key} has no study; train a preset with --preset")
        try:
            options = json.loads(args.options or "{}")
        except ValueError as exc:
            raise ConfigError(f"lesson --options: not valid JSON ({exc})") from None
        if not isinstance(options, dict):
            raise ConfigError("lesson --options: give a JSON object, e.g. '{\"steps\": 500}'")
        try:
            result = lesson.study.run(options)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, f"lesson {lesson.key} --options",
                                                      joiner=": ")) from None  # fmt: skip
        text = json.dumps(result, allow_nan=False)
        if args.out:
            try:
                Path(args.out).write_text(text + "\n", encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"--out: cannot write {args.out} ({exc.strerror})") from None
        else:
            print(text)
        return 0
    print(f"{lesson.number}. {lesson.title}\n\n{lesson.claim}\n")
    print(f"What to do: {lesson.what_to_do}\nLook at: {lesson.look_at}\n"
          f"Question: {lesson.question}")  # fmt: skip
    for p in lesson.presets:
        print(f"  --preset {p.key:<20} {p.label}")
    if lesson.study is not None:
        print("  study options: " + ", ".join(lesson.study.options_model.model_fields))
    return 0


def _list() -> int:
    from mtlcore.catalogue import METHODS, STRATEGIES  # the registries' torch-free side
    from mtlcore.data.builtin import list_builtins

    print("Built-in datasets:")
    for d in list_builtins():
        print(f"  {d.name:<14} {d.title}")
    print("Sharing strategies:")
    for e in STRATEGIES.values():
        print(f"  {e.name:<14} {e.title}")
    print("Weighting methods:")
    for e in METHODS.values():
        print(f"  {e.name:<14} {e.title}  [{e.kind}]")
    return 0


def _out_file(path: str, example: str) -> Path:
    """Check ``--out`` of ``export``/``predict`` before any work: a file to write, not a
    folder, in a folder that exists or can be created (``example`` names such a file)."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"--out: {p} is a folder; give the path of the file to write, such "
                          f"as {p / example}")  # fmt: skip
    folder = next((f for f in (p, *p.parents) if f.exists()), Path("."))
    if folder != p and not folder.is_dir():
        raise ConfigError(f"--out: {p} cannot be written: {folder} is a file, not a folder; "
                          "give a file in a folder you can write to")  # fmt: skip
    return p


def _write_out(p: Path, write: Callable[[Path], object]) -> None:
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        write(p)
    except OSError as exc:
        raise ConfigError(f"--out: cannot write {p} ({exc.strerror}); give a file in a "
                          "folder you can write to") from None  # fmt: skip


def _export(args: argparse.Namespace) -> int:
    from mtlcore.export import export_experiment

    out = _out_file(args.out, "experiment.zip")
    data = export_experiment(args.source)
    _write_out(out, lambda p: p.write_bytes(data))
    print(f"wrote {args.out} ({len(data) / 1e6:.2f} MB)")
    return 0


def _export_mlflow(args: argparse.Namespace) -> int:
    from mtlcore.mlflow_export import export_runs, export_sweep
    from mtlcore.runs import RunStore

    store, uri, name = RunStore(), args.tracking_uri, args.experiment
    if args.sweep:
        parent, exported, waiting = export_sweep(store, args.id, uri, experiment=name)
        print(f"sweep {args.id}: parent MLflow run {parent} in experiment {name!r} at {uri}")
        if waiting:
            print(f"note: run(s) {', '.join(map(str, waiting))} have not finished and were left "
                  "out; export the sweep again once they have", file=sys.stderr)  # fmt: skip
    else:
        exported = export_runs(store, [args.id], uri, experiment=name)
    for e in exported:
        print(f"run {e.run_id} -> MLflow run {e.mlflow_run_id}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from mtlcore.csv_safe import write_csv
    from mtlcore.predict import predict

    out = _out_file(args.out, "predictions.csv")
    result = predict(args.source, args.csv, seed=args.seed)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    _write_out(out, lambda p: write_csv(result.frame, p))
    print(f"wrote {args.out}: {len(result.frame)} rows, {', '.join(result.columns)} "
          f"(seed {result.seed}'s multi-task model)")  # fmt: skip
    return 0


def _inspect(path: str) -> int:
    from mtlcore.data.ingest import CSV_FORMAT_ATTR, CsvFormat, profile_table, read_csv_table

    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file. Check the path.", where=str(p))
    df = read_csv_table(p, path)  # refuses a folder, a device or a pipe with a sentence
    fmt = CsvFormat(**df.attrs[CSV_FORMAT_ATTR])
    read_as = "" if fmt == CsvFormat() else f" (read as {fmt.describe()})"
    rows = f"{len(df)} row{'s' if len(df) != 1 else ''}"
    print(f"{p.name}: {rows}, {len(df.columns)} columns{read_as}")
    print(profile_table(df).to_string(index=False))
    return 0
