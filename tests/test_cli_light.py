"""The light CLI commands never import torch (issue 11, item 11), and `runs list --limit`
is checked (item 7).

Each command runs in its own interpreter, as a user runs it; an ``atexit`` hook
writes whether ``torch`` was imported. The times and memory this saves are
measured in ``bench/bench_cli.py``, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mtlcore.config import ExperimentConfig
from mtlcore.runs import CANCELLED, RunStore

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "sample_data" / "houses.csv"

# Runs `python -m mtlcore ARGS`, then records the exit status and the torch question.
HOOK = """
import atexit, json, runpy, sys
out = sys.argv[1]
def report():
    with open(out, "w") as fh:
        json.dump({"torch": "torch" in sys.modules}, fh)
atexit.register(report)
sys.argv = ["mtlcore", *sys.argv[2:]]
runpy.run_module("mtlcore", run_name="__main__", alter_sys=True)
"""


def mtlcore_cli(home: Path, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, bool]:
    marker = tmp_path / "torch.json"
    env = {**os.environ, "MTL_STUDIO_HOME": str(home), "PYTHONPATH": str(ROOT),
           "OMP_NUM_THREADS": "1"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", HOOK, str(marker), *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done, json.loads(marker.read_text())["torch"]


def test_list_inspect_and_runs_list_show_cancel_do_not_import_torch(tmp_path, mtl_studio_home):
    assert CSV.is_file()
    config = ExperimentConfig.parse({"data": {"builtin": "houses"}, "train": {"epochs": 1}})
    [run_id] = RunStore(mtl_studio_home).submit(config)
    for args, expect in [
        (["list"], "Weighting methods:"),
        (["inspect", str(CSV)], "houses.csv"),
        (["runs", "list"], f"{run_id:>5}"),
        (["runs", "show", str(run_id)], "status    queued"),
        (["runs", "cancel", str(run_id)], f"run {run_id}: cancelled"),
    ]:
        done, torch_loaded = mtlcore_cli(mtl_studio_home, tmp_path, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert expect in done.stdout, (args, done.stdout)
        assert not torch_loaded, f"`python -m mtlcore {' '.join(args)}` imported torch"
    assert RunStore(mtl_studio_home).run(run_id).status == CANCELLED


def test_the_hook_does_see_torch_when_a_command_trains(tmp_path, mtl_studio_home):
    """The check above can fail: `train` imports torch, and the hook says so."""
    cfg = tmp_path / "tiny.yaml"
    ExperimentConfig.parse({"data": {"builtin": "houses"}, "train": {"epochs": 1},
                            "baselines": False}).save(cfg)  # fmt: skip
    done, torch_loaded = mtlcore_cli(
        mtl_studio_home, tmp_path, "train", str(cfg), "--out", str(tmp_path / "out"), "-q"
    )
    assert done.returncode == 0, done.stderr
    assert torch_loaded


def test_every_catalogue_entry_builds_through_its_own_module_and_kind():
    """The torch-free catalogue (what `list`, the config and the page read) is the
    registries' one source: every entry's module registers a factory of the entry's
    kind (a strategy builds a model; a weighting listed as a gradient method is one, a
    loss weighting is not), and every registered factory has an entry (``register``
    refuses a name the catalogue lacks)."""
    from mtlcore.catalogue import GRADIENT_METHOD, LOSS_WEIGHTING, METHODS, STRATEGIES
    from mtlcore.models import STRATEGIES as STRATEGY_REGISTRY
    from mtlcore.models.base import MultiTaskModel
    from mtlcore.weighting import METHODS as METHOD_REGISTRY
    from mtlcore.weighting import LossWeighting
    from mtlcore.weighting.gradient import GradientWeighting

    assert list(STRATEGY_REGISTRY) == list(STRATEGIES)
    assert list(METHOD_REGISTRY) == list(METHODS)
    for name in STRATEGIES:
        factory = STRATEGY_REGISTRY[name].factory
        assert isinstance(factory, type) and issubclass(factory, MultiTaskModel), name
    for name, info in METHODS.items():
        factory = METHOD_REGISTRY[name].factory
        expected = {LOSS_WEIGHTING: LossWeighting, GRADIENT_METHOD: GradientWeighting}[info.kind]
        assert isinstance(factory, type) and issubclass(factory, expected), name


def test_a_registration_outside_the_catalogue_or_twice_is_refused():
    from mtlcore.catalogue import METHODS
    from mtlcore.registry import Registry

    reg = Registry("weighting method", METHODS)
    with pytest.raises(ValueError, match="'nope' is not in mtlcore/catalogue.py; add it there"):
        reg.register("nope")
    reg.register("dwa")(object)
    with pytest.raises(ValueError, match="'dwa' is registered twice"):
        reg.register("dwa")(object)
    assert reg["dwa"].factory is object
    assert reg["dwa"].title == METHODS["dwa"].title


@pytest.mark.parametrize("limit", ["-5", "0"])
def test_runs_list_rejects_a_limit_below_one_with_one_line(limit, capsys, mtl_studio_home):
    from mtlcore.cli import main

    assert main(["runs", "list", "--limit", limit]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: runs list --limit: give a whole number of 1 or more (got {limit})"


def test_the_store_refuses_a_negative_limit(mtl_studio_home):
    with pytest.raises(ValueError, match="limit"):
        RunStore().runs(limit=-5)
