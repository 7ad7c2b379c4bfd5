"""Command line: ``python -m mtlcore {train,list,inspect,runs}``.

Bad input (a broken config or CSV) exits with status 2 and one clear message on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mtlcore.config import ConfigError, ExperimentConfig
from mtlcore.data.spec import DataError
from mtlcore.runs._cli import add_runs_parser, run_runs_command
from mtlcore.train import DivergenceError, TrainEvent

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mtlcore", description="MTL Studio's engine, headless."
    )
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

    add_runs_parser(sub)

    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "list":
            return _list()
        if args.command == "runs":
            return run_runs_command(args)
        return _inspect(args.csv)
    except (ConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DivergenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _train(args: argparse.Namespace) -> int:
    from mtlcore.experiment import run_experiment, write_outputs

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

    def progress(event: TrainEvent) -> None:
        if event.kind == "epoch" and not args.quiet:
            val = [r for r in event.rows if r["split"] == "val"]
            losses = "  ".join(f"{r['task']}={r['loss']:.4f}" for r in val)
            print(
                f"[{event.progress:4.0%}] seed {event.seed} {event.model} epoch "
                f"{event.epoch}: val loss {losses}",
                file=sys.stderr,
            )

    result, runs = run_experiment(config, progress)
    paths = write_outputs(args.out, config, result, runs)
    print(format_summary(result))
    print(f"wrote {paths['result']}, {paths['config']}, {paths['weights']}")
    return 0


def format_summary(result: dict) -> str:
    """The per-task MTL-vs-STL table as plain text."""
    lines = [f"{'task':<20} {'metric':<9} {'MTL':>12} {'STL':>12} {'gain %':>8}"]
    for name, t in result["tasks"].items():
        stl = "-" if t["stl"] is None else f"{t['stl']:.4g}"
        gain = "-" if t["gain"] is None else f"{t['gain']:+.1f}"
        lines.append(f"{name:<20} {t['metric']:<9} {t['mtl']:>12.4g} {stl:>12} {gain:>8}")
    if result.get("delta_m") is not None:
        n = result["n_seeds"]
        spread = f" ± {result['delta_m_std']:.1f}" if n > 1 else ""
        lines.append(f"Δm = {result['delta_m']:+.2f}%{spread} over {n} seed(s)")
    return "\n".join(lines)


def _list() -> int:
    from mtlcore.data.builtin import list_builtins
    from mtlcore.models import STRATEGIES
    from mtlcore.weighting import METHODS

    print("Built-in datasets:")
    for d in list_builtins():
        print(f"  {d.name:<14} {d.title}")
    print("Sharing strategies:")
    for e in STRATEGIES.values():
        print(f"  {e.name:<14} {e.title}")
    print("Weighting methods:")
    for e in METHODS.values():
        print(f"  {e.name:<14} {e.title}")
    return 0


def _inspect(path: str) -> int:
    from mtlcore.data.ingest import profile_table, read_csv_table

    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file. Check the path.", where=str(p))
    df = read_csv_table(p, p.name)
    print(f"{p.name}: {len(df)} rows, {len(df.columns)} columns")
    print(profile_table(df).to_string(index=False))
    return 0
