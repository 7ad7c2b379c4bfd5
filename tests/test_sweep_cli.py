"""The ``sweep`` command: ranked table on stdout, progress on stderr, sweep.json and a
folder per cell; ``runs list``/``runs cancel --sweep`` see the members; the same command
again resumes; bad input is one line. Tiny trainings (see tests/test_sweep.py)."""

from __future__ import annotations

import json
import sys

import pytest

from mtlcore.cli import main as cli_main
from mtlcore.config import ExperimentConfig
from mtlcore.runs import RunStore
from mtlcore.sweep import start_sweep
from tests.test_sweep import BASE, tiny_sweep


def test_cancel_sweep_from_the_command_line(capsys):
    store = RunStore()
    started = start_sweep(store, tiny_sweep())
    assert cli_main(["runs", "cancel", "--sweep", str(started.sweep_id)]) == 0
    assert capsys.readouterr().out.strip() == f"sweep {started.sweep_id}: 8 cancelled"
    assert cli_main(["runs", "cancel", "--sweep", "99"]) == 2
    assert "no sweep with id 99" in capsys.readouterr().err


def test_sweep_command_writes_the_ranking_sweep_json_and_a_folder_per_cell(tmp_path, capsys):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(json.dumps({"name": "cli", "base": BASE,
                                 "axes": {"model.strategy": ["hard", "mmoe"]}, "seeds": [0, 1]}))  # fmt: skip
    out = tmp_path / "out"
    assert cli_main(["sweep", str(sweep), "--out", str(out), "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert "baselines trained 2, reused 2" in captured.err
    assert "[4/4]" in captured.err
    lines = captured.out.splitlines()
    assert lines[0].split()[:2] == ["rank", "model.strategy"]
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["baselines"]["trained"] == 2 and len(summary["cells"]) == 2
    for cell in summary["cells"]:
        folder = out / cell["folder"]
        result = json.loads((folder / "result.json").read_text())
        assert result["delta_m"] == pytest.approx(cell["delta_m"])
        assert result["delta_m_verdict"] == cell["delta_m_verdict"]
        assert ExperimentConfig.load(folder / "config.yaml").seeds == [0, 1]
        for seed in (0, 1):
            assert {"result.json", "config.yaml", "weights.safetensors"} <= {
                p.name for p in (folder / f"seed{seed}").iterdir()}  # fmt: skip
    # runs list shows the members with their sweep
    assert cli_main(["runs", "list", "--sweep", str(summary["sweep_id"])]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert "sweep" in listed[0].split() and len(listed) == 5
    assert all(line.split()[2] == str(summary["sweep_id"]) for line in listed[1:])
    # the same command again: resumed, nothing re-run, the same ranking
    assert cli_main(["sweep", str(sweep), "--out", str(out), "-q"]) == 0
    assert capsys.readouterr().out.splitlines()[:3] == lines[:3]
    assert len(RunStore().runs(sweep_id=summary["sweep_id"])) == 4


def test_sweep_command_bad_input_is_one_line(tmp_path, capsys, monkeypatch):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("base: {}\naxes: {model.stratgy: [hard]}\n")
    assert cli_main(["sweep", str(sweep), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'model.stratgy' is not a config key" in err
    sweep.write_text("axes: {model.strategy: [hard]}\n")
    monkeypatch.setitem(sys.modules, "mtlcore.runs.ray_backend", None)  # Ray not installed
    assert cli_main(["sweep", str(sweep), "--out", str(tmp_path / "o"), "--backend", "ray"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Ray backend not available" in err
    assert not (tmp_path / "o").exists()  # refused before any run was queued


def test_sweep_command_runs_variants(tmp_path, capsys):
    """A sweep file with variants (named partial configs, as a lesson's presets) runs as
    any other: a variant column in the table, one folder per variant."""
    sweep = tmp_path / "variants.yaml"
    sweep.write_text(json.dumps({"name": "presets", "base": BASE, "seeds": [0],
                                 "variants": {"hard": {},
                                              "mmoe": {"model": {"strategy": "mmoe"}}}}))  # fmt: skip
    out = tmp_path / "out"
    assert cli_main(["sweep", str(sweep), "--out", str(out), "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert "baselines trained 1, reused 1" in captured.err
    assert captured.out.splitlines()[0].split()[:2] == ["rank", "variant"]
    summary = json.loads((out / "sweep.json").read_text())
    assert summary["axes"] == {"variant": ["hard", "mmoe"]}
    assert sorted(c["folder"] for c in summary["cells"]) == ["000-variant=hard", "001-variant=mmoe"]
    result = json.loads((out / "001-variant=mmoe" / "result.json").read_text())
    assert result["strategy"] == "mmoe" and result["baselines_from"] == "000-variant=hard"
