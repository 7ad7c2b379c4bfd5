"""The CLI contract: train writes result.json/config.yaml/weights; bad input exits 2, one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from safetensors import safe_open

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
TOP_KEYS = {"tasks", "delta_m", "history", "weighting_state", "seeds", "timings"}
TASK_KEYS = {"kind", "metric", "higher_is_better", "mtl", "stl", "gain"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mtlcore", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def short_config(example: Path, tmp_path: Path, epochs: int = 2) -> Path:
    raw = yaml.safe_load(example.read_text())
    raw["train"]["epochs"] = epochs
    path = tmp_path / example.name
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_train_writes_the_contract(example: Path, tmp_path: Path):
    out = tmp_path / "out"
    proc = cli("train", str(short_config(example, tmp_path)), "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert set(result) >= TOP_KEYS
    assert result["seeds"] == [0]
    for task in result["tasks"].values():
        assert set(task) >= TASK_KEYS
        assert task["mtl"] is not None and task["stl"] is not None and task["trivial"] is not None
        # One seed: no spread (null, not 0.0) and no finding.
        assert task["mtl_std"] is None and task["gain_std"] is None and task["gain_low"] is None
        assert task["verdict"] == "one seed"
    assert result["delta_m_std"] is None and result["delta_m_verdict"] == "one seed"
    assert "one seed — run more to tell" in proc.stdout and "trivial" in proc.stdout
    rows = result["history"]
    assert {"epoch", "task", "split", "loss", "weight"} <= set(rows[0])
    assert {r["model"] for r in rows} == {"mtl", "stl"}
    assert yaml.safe_load((out / "config.yaml").read_text())["train"]["epochs"] == 2
    with safe_open(str(out / "weights.safetensors"), "pt") as f:
        keys = list(f.keys())
        assert f.metadata()["config"].startswith("name:")
    assert any(k.startswith("seed0.mtl.") for k in keys)
    assert any(k.startswith("seed0.stl.") for k in keys)
    assert "Δm" in proc.stdout
    predictions = pd.read_csv(out / "predictions.csv")
    assert set(predictions["model"]) == {"mtl", "stl"}
    assert set(predictions["task"]) == set(result["tasks"])
    for name, task in result["tasks"].items():
        rows = predictions[(predictions.task == name) & (predictions.model == "mtl")]
        assert len(rows) == task["rows"]["test"] * len(task["targets"])  # a row per output


def test_several_seeds_give_mean_and_std(tmp_path: Path):
    out = tmp_path / "out"
    config = short_config(ROOT / "examples" / "houses.yaml", tmp_path)
    proc = cli("train", str(config), "--out", str(out), "--seeds", "0,1,2", "-q")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["seeds"] == [0, 1, 2] and result["n_seeds"] == 3
    assert {r["seed"] for r in result["history"]} == {0, 1, 2}
    for task in result["tasks"].values():
        assert task["mtl_std"] > 0 and task["stl_std"] > 0 and task["gain_std"] is not None
        assert task["gain_low"] < task["gain"] < task["gain_high"]
        assert task["verdict"] in ("helps", "hurts", "within the noise")
        assert list(task["gain_by_seed"]) == ["0", "1", "2"]
    assert result["delta_m_std"] is not None and result["delta_m_std"] > 0
    assert result["delta_m_low"] < result["delta_m"] < result["delta_m_high"]
    assert "95% interval" in proc.stdout and "over 3 seeds:" in proc.stdout


def test_list_names_every_dataset_strategy_and_method():
    proc = cli("list")
    assert proc.returncode == 0
    for name in ("houses", "synthetic", "penguins", "hard", "independent", "uncertainty"):
        assert name in proc.stdout


def test_inspect_profiles_a_csv():
    proc = cli("inspect", str(ROOT / "sample_data" / "penguins.csv"))
    assert proc.returncode == 0, proc.stderr
    assert "species" in proc.stdout and "multiclass" in proc.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["inspect", "nope.csv"], "no such file"),
        (["train", "nope.yaml", "--out", "x"], "no such config file"),
    ],
)
def test_missing_files_exit_2_with_one_line(args, expected):
    proc = cli(*args)
    assert proc.returncode == 2
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_config_exits_2_naming_the_key(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  optimiser: adam\n")
    proc = cli("train", str(bad), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "train.optimiser: unknown key" in proc.stderr and "Traceback" not in proc.stderr


def test_empty_csv_exits_2(tmp_path: Path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    proc = cli("inspect", str(empty))
    assert proc.returncode == 2 and "empty" in proc.stderr.lower()
    assert "Traceback" not in proc.stderr


def test_diverging_run_exits_1_and_says_so(tmp_path: Path):
    raw = yaml.safe_load((ROOT / "examples" / "houses.yaml").read_text())
    raw["train"].update({"optimizer": "sgd", "lr": 10.0, "epochs": 20})
    raw["data"]["standardize_targets"] = False
    path = tmp_path / "diverge.yaml"
    path.write_text(yaml.safe_dump(raw))
    proc = cli("train", str(path), "--out", str(tmp_path / "o"), "-q")
    assert proc.returncode == 1
    assert "diverged" in proc.stderr and "Traceback" not in proc.stderr
