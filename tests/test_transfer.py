"""Transfer analysis: gradient conflict, lookahead task affinity and grouping, the
pairwise-gain matrix, linear CKA, and snapshots that carry truths and predictions.

Each analysis is checked on a case with a known answer: a tiny model whose shared
parameter tasks pull the same way, opposite ways or in orthogonal directions.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import Tensor, nn

import mtlcore.experiment as experiment
import mtlcore.train as train_module
from dashboard import charts
from mtlcore.analysis import (
    affinity_matrix,
    combine_transfer,
    conflict_summary,
    grouping_score,
    linear_cka,
    pair_matrix,
    suggest_grouping,
)
from mtlcore.analysis.affinity import partitions
from mtlcore.analysis.cka import cka_rows
from mtlcore.config import ConfigError, ExperimentConfig, TrainConfig
from mtlcore.data.prepare import prepare
from mtlcore.data.spec import Dataset, TaskSpec
from mtlcore.metrics import relative_gain
from mtlcore.models import Architecture, ModelOutput, ModelTask, MultiTaskModel
from mtlcore.runs import RunStore, execute_run
from mtlcore.runs._snapshots import load_snapshot, save_snapshot
from mtlcore.train import train
from mtlcore.weighting import WeightingTask, build_weighting
from tests.test_dashboard import APP, _isolated  # noqa: F401  (autouse: fresh caches, no workers)

# --- a model with a known answer ------------------------------------------------------------


class SharedVector(MultiTaskModel):
    """Every task predicts ``w · c_task`` for each row: ``w`` is the one shared parameter
    (starting at 0), ``c_task`` a fixed direction per task. Same direction: the tasks pull
    ``w`` the same way; opposite targets: opposite ways; orthogonal directions: unrelated."""

    def __init__(self, tasks: list[ModelTask], directions: Mapping[str, list[float]]):
        super().__init__(tasks, Architecture(hidden=(1,)), seed=0)
        dim = len(next(iter(directions.values())))
        self.w = nn.Parameter(torch.zeros(dim))
        self.directions = {k: torch.tensor(v) for k, v in directions.items()}

    def forward(self, xs: Mapping[str, Tensor]) -> ModelOutput:
        outputs = {k: (self.w @ self.directions[k]).expand(len(x), 1) for k, x in xs.items()}
        features = {k: self.w.expand(len(x), -1) for k, x in xs.items()}
        return ModelOutput(outputs, features)

    def shared_parameters(self) -> list[nn.Parameter]:
        return [self.w]


def constant_targets(**targets: float) -> Dataset:
    """One table; each named target is its value plus a little noise (same noise for all)."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=120)})
    noise = rng.normal(scale=0.05, size=120)
    for name, value in targets.items():
        df[name] = value * (1 + noise)
    specs = [TaskSpec(name, "t", name, "regression", ("x",)) for name in targets]
    return Dataset("toy", "toy", {"t": df}, specs)


def first_step(targets: dict[str, float], directions: dict[str, list[float]]):
    """Cosine and affinity rows measured at step 1 (w = 0) under a plain SGD step of 0.5."""
    data = prepare(constant_targets(**targets), constant_targets(**targets).tasks,
                   standardize_targets=False)  # fmt: skip
    tasks = [ModelTask(t.name, t.input_group, t.X["train"].shape[1], 1) for t in data.tasks]
    model = SharedVector(tasks, directions)
    weighting = build_weighting("equal", [WeightingTask(t.name, t.kind) for t in data.tasks])
    cfg = TrainConfig(optimizer="sgd", momentum=0.0, lr=0.5, epochs=1, batch_size=16,
                      grad_cosine_every=1, affinity_every=1)  # fmt: skip
    out = train(model, weighting, data, cfg, seed=0)
    cos = {(r["task_a"], r["task_b"]): r["cosine"] for r in out.grad_cosine if r["step"] == 1}
    z = {(r["source"], r["target"]): r["affinity"] for r in out.affinity if r["step"] == 1}
    return cos, z, out


def test_identical_tasks_agree_and_help_each_other():
    cos, z, _ = first_step({"a": 1.0, "b": 1.0}, {"a": [1.0], "b": [1.0]})
    assert cos[("a", "b")] == pytest.approx(1.0, abs=1e-6)
    # A step of 0.5 on (w - y)² lands on the batch mean: both losses nearly vanish.
    assert z[("a", "b")] == pytest.approx(1.0, abs=0.02)
    # Each task draws its own batches (seeded by its name), so "same" is up to sampling.
    assert z[("a", "b")] == pytest.approx(z[("b", "b")], rel=1e-2)


def test_opposed_tasks_conflict_and_hurt_each_other():
    # One shared scalar must go up for a and down for b (no head to flip the sign).
    cos, z, _ = first_step({"a": 1.0, "b": -1.0}, {"a": [1.0], "b": [1.0]})
    assert cos[("a", "b")] == pytest.approx(-1.0, abs=1e-6)
    assert z[("a", "b")] == pytest.approx(-3.0, abs=0.1)  # the loss of b quadruples
    assert z[("b", "a")] < 0 < z[("a", "a")]


def test_unrelated_tasks_neither_agree_nor_transfer():
    cos, z, _ = first_step({"a": 1.0, "b": 1.0}, {"a": [1.0, 0.0], "b": [0.0, 1.0]})
    assert cos[("a", "b")] == pytest.approx(0.0, abs=1e-6)
    assert z[("a", "b")] == pytest.approx(0.0, abs=1e-6)
    assert z[("b", "a")] == pytest.approx(0.0, abs=1e-6)
    assert z[("a", "a")] > 0.9


def test_affinity_is_measured_every_n_steps_and_averaged():
    _, _, out = first_step({"a": 1.0, "b": -1.0}, {"a": [1.0], "b": [1.0]})
    steps = sorted({r["step"] for r in out.affinity})
    assert steps == list(range(1, out.steps + 1))
    m = affinity_matrix(out.affinity, ["a", "b"])
    by_hand = np.mean([r["affinity"] for r in out.affinity if r["source"] == "a"
                       and r["target"] == "b"])  # fmt: skip
    assert m.shape == (2, 2) and m[0, 1] == pytest.approx(by_hand)


# --- measuring leaves training alone ----------------------------------------------------------


@pytest.mark.parametrize("strategy", ["hard", "mmoe"])
def test_affinity_and_cosine_do_not_change_the_training(strategy):
    def losses(**train_opts):
        cfg = ExperimentConfig.parse({
            "data": {"builtin": "synthetic", "options": {"n_tasks": 3, "n_rows": 160}},
            "model": {"strategy": strategy, "hidden": [8, 8], "dropout": 0.3},
            "train": {"epochs": 2, "batch_size": 16, **train_opts},
            "baselines": False,
        })  # fmt: skip
        result, _ = experiment.run_experiment(cfg)
        return [r["loss"] for r in result["history"]], result

    off, r_off = losses(affinity_every=0, grad_cosine_every=0)
    on, r_on = losses(affinity_every=1, grad_cosine_every=1)
    assert on == off  # exactly: dropout masks and the optimiser state are untouched
    assert r_off["affinity"] is None and r_on["affinity"]["measurements"] > 0
    assert len(r_on["affinity"]["matrix"]) == 3


# --- summaries with known answers --------------------------------------------------------------


def test_conflict_summary_counts_negative_cosines():
    rows = [
        {"seed": 0, "epoch": 1, "step": 1, "task_a": "a", "task_b": "b", "cosine": 0.5},
        {"seed": 0, "epoch": 1, "step": 11, "task_a": "a", "task_b": "b", "cosine": -0.1},
        {"seed": 0, "epoch": 2, "step": 21, "task_a": "a", "task_b": "b", "cosine": -0.3},
        {"seed": 0, "epoch": 2, "step": 21, "task_a": "a", "task_b": "c", "cosine": 0.2},
    ]
    s = conflict_summary(rows)
    ab = next(p for p in s["pairs"] if p["task_b"] == "b")
    assert ab["mean_cosine"] == pytest.approx(0.1 / 3)
    assert ab["conflict_share"] == pytest.approx(2 / 3) and ab["measurements"] == 3
    by_epoch = {(p["task_b"], p["epoch"]): p for p in s["by_epoch"]}
    assert by_epoch[("b", 1)]["conflict_share"] == 0.5
    assert by_epoch[("b", 2)]["mean_cosine"] == pytest.approx(-0.3)
    assert by_epoch[("c", 2)]["conflict_share"] == 0.0
    m = pair_matrix(s["pairs"], ["a", "b", "c"], "conflict_share")
    assert m.loc["b", "a"] == m.loc["a", "b"] == pytest.approx(2 / 3)
    assert math.isnan(m.loc["b", "c"]) and math.isnan(m.loc["a", "a"])
    assert conflict_summary([]) == {"pairs": [], "by_epoch": []}


def test_grouping_picks_the_blocks_of_a_block_matrix():
    tasks = ["a", "b", "c", "d", "e"]
    z = np.full((5, 5), -0.2)
    for block in ([0, 2], [1, 3, 4]):
        for i in block:
            for j in block:
                z[i, j] = 0.4
    g = suggest_grouping(z, tasks)
    assert g.groups == [["a", "c"], ["b", "d", "e"]] and g.exhaustive
    assert g.score == pytest.approx(0.4)
    assert "group-mates" in g.rule
    # Alone scores 0; an all-negative matrix keeps every task alone.
    assert grouping_score(z, [[i] for i in range(5)]) == 0.0
    assert suggest_grouping(-np.ones((3, 3)), ["a", "b", "c"]).groups == [["a"], ["b"], ["c"]]
    # Ties go to fewer groups: four equally related tasks train together.
    assert suggest_grouping(np.ones((4, 4)), list("abcd")).groups == [list("abcd")]


def test_grouping_is_greedy_beyond_eight_tasks_and_counts_every_partition():
    assert [sum(1 for _ in partitions(list(range(n)))) for n in range(1, 6)] == [1, 2, 5, 15, 52]
    blocks = [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    z = np.full((10, 10), -0.1)
    for b in blocks:
        z[np.ix_(b, b)] = 0.3
    g = suggest_grouping(z, [f"t{i}" for i in range(10)])
    assert not g.exhaustive
    assert g.groups == [[f"t{i}" for i in b] for b in blocks]


def test_cka_is_one_for_the_same_representation_and_invariant_to_rotation_and_scale():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 12))
    q, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, x @ q) == pytest.approx(1.0)
    assert linear_cka(x, 7.5 * x + 3.0) == pytest.approx(1.0)  # scale, and centring
    assert linear_cka(x, rng.normal(size=(300, 12))) < 0.1
    # Not invariant to an arbitrary linear map (Kornblith et al. 2019, section 3).
    assert linear_cka(x, x * np.r_[100.0, np.ones(11)]) < 0.9
    # Fewer rows than features takes the Gram-matrix route; same answer.
    wide_x, wide_y = rng.normal(size=(20, 40)), rng.normal(size=(20, 30))
    narrow = linear_cka(wide_x, wide_y)
    kx, ky = wide_x - wide_x.mean(0), wide_y - wide_y.mean(0)
    by_features = np.linalg.norm(ky.T @ kx) ** 2 / (
        np.linalg.norm(kx.T @ kx) * np.linalg.norm(ky.T @ ky)
    )
    assert narrow == pytest.approx(by_features)
    assert math.isnan(linear_cka(np.ones((5, 3)), x[:5]))


# --- pairwise transfer ---------------------------------------------------------------------------


def count_trainings(monkeypatch) -> list[str]:
    labels: list[str] = []
    real = train_module.train

    def counting(*args, **kwargs):
        labels.append(kwargs.get("label", "mtl"))
        return real(*args, **kwargs)

    monkeypatch.setattr(experiment, "train", counting)
    monkeypatch.setattr(train_module, "train", counting)  # what the pair trainings import
    return labels


def small(n_tasks: int, **over) -> ExperimentConfig:
    raw = {
        "data": {"builtin": "synthetic", "options": {"n_tasks": n_tasks, "n_rows": 120}},
        "model": {"hidden": [8, 4]},
        "train": {"epochs": 2, "batch_size": 32, "pairwise": True, "affinity_every": 0},
    }
    raw.update(over)
    return ExperimentConfig.parse(raw)


@pytest.mark.parametrize("baselines", [True, False])
def test_pairwise_trains_every_pair_once_and_each_baseline_once(monkeypatch, baselines):
    labels = count_trainings(monkeypatch)
    result, _ = experiment.run_experiment(small(3, baselines=baselines, seeds=[0, 1]))
    pairs = sorted(label for label in labels if label.startswith("pair:"))
    assert pairs == sorted(["pair:task0|task1", "pair:task0|task2", "pair:task1|task2"] * 2)
    assert labels.count("stl") == 2 and labels.count("mtl") == 2  # one baseline per seed
    pw = result["pairwise"]
    assert pw["tasks"] == ["task0", "task1", "task2"]
    assert pw["trainings"] == (6 if baselines else 8)
    gain, value = np.array(pw["gain"], dtype=float), np.array(pw["value"], dtype=float)
    assert gain.shape == value.shape == (3, 3)
    assert np.isnan(np.diag(gain)).all() and np.isfinite(gain[~np.eye(3, dtype=bool)]).all()
    if baselines:  # the diagonal is the experiment's own single-task baseline
        for i, t in enumerate(pw["tasks"]):
            assert value[i, i] == pytest.approx(result["tasks"][t]["stl"])
    # Each seed's gain is rebuilt from its values: mean gains match for one seed exactly.
    one, _ = experiment.run_experiment(small(3, baselines=baselines))
    g1, v1 = np.array(one["pairwise"]["gain"], dtype=float), np.array(one["pairwise"]["value"])
    assert g1[0, 1] == pytest.approx(relative_gain(v1[0, 1], v1[0, 0], False))


def test_two_tasks_reuse_the_multitask_model_and_too_many_tasks_is_a_config_error(monkeypatch):
    labels = count_trainings(monkeypatch)
    result, _ = experiment.run_experiment(small(2))
    assert labels == ["mtl", "stl"]
    g = result["pairwise"]["gain"]
    assert g[0][1] == pytest.approx(result["tasks"]["task0"]["gain"])
    assert g[1][0] == pytest.approx(result["tasks"]["task1"]["gain"])
    with pytest.raises(ConfigError, match="train.pairwise"):
        experiment.run_experiment(small(6))
    assert labels == ["mtl", "stl"]  # refused before anything trained


# --- snapshots and CKA in result.json -------------------------------------------------------------


def mixed_dataset() -> Dataset:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=200), "z": rng.normal(size=200)})
    df["y"] = 3 * df.x + 100 + rng.normal(scale=0.1, size=200)
    df["flag"] = np.where(df.z > 0, "yes", "no")
    df["kind"] = rng.choice(["<b>a</b>", "b", "c"], 200)
    return Dataset("mixed", "mixed", {"t": df}, [
        TaskSpec("price", "t", "y", "regression", ("x", "z")),
        TaskSpec("flag", "t", "flag", "binary", ("x", "z")),
        TaskSpec("kind", "t", "kind", "multiclass", ("x", "z")),
    ])  # fmt: skip


def test_snapshots_round_trip_with_truths_and_predictions(tmp_path):
    ds = mixed_dataset()
    data = prepare(ds, ds.tasks)
    cfg = ExperimentConfig.parse({"model": {"hidden": [8, 4]}, "tasks": None})
    model, weighting = experiment.build(cfg, data, 0)
    tcfg = TrainConfig(epochs=1, batch_size=32, snapshot_every=1, snapshot_rows=15)
    out = train(model, weighting, data, tcfg, seed=0)
    snap = out.snapshots[-1]
    path = save_snapshot(snap, tmp_path / "s.npz", model="mtl", seed=0)
    back = load_snapshot(path)
    assert back.has_truth and set(back.truth) == {"price", "flag", "kind"}
    price = data.task("price")
    rows = back.rows["price"]
    np.testing.assert_allclose(back.truth["price"], price.target_in_units(price.y["val"][rows]))
    np.testing.assert_allclose(
        back.prediction["price"], price.target_in_units(back.outputs["price"][:, 0]), rtol=1e-5
    )
    assert back.truth["price"].dtype == np.float64 and 90 < back.truth["price"].mean() < 110
    assert back.truth["kind"].dtype.kind == "U"  # strings, not pickled objects
    assert set(back.truth["kind"]) <= {"<b>a</b>", "b", "c"}
    assert set(back.prediction["flag"]) <= {"no", "yes"}
    flag_idx = (back.outputs["flag"][:, 0] > 0).astype(int)
    assert back.prediction["flag"].tolist() == [data.task("flag").classes[i] for i in flag_idx]
    with np.load(path, allow_pickle=False) as npz:  # readable without pickle
        assert all(npz[k].dtype != object for k in npz.files)


def test_first_format_snapshots_still_load_without_truths(tmp_path):
    meta = {"format": "mtlcore-snapshot-1", "model": "mtl", "epoch": 3, "seed": 0,
            "tasks": ["a"], "mixing": {}}  # fmt: skip
    path = tmp_path / "old.npz"
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), rows_0=np.arange(3),
                        features_0=np.zeros((3, 2), np.float32),
                        outputs_0=np.zeros((3, 1), np.float32))  # fmt: skip
    old = load_snapshot(path)
    assert old.epoch == 3 and not old.has_truth and old.prediction == {}


def test_cka_rows_compare_the_models_on_the_same_rows():
    cfg = small(2, train={"epochs": 2, "batch_size": 32, "snapshot_every": 1,
                          "snapshot_rows": 30, "affinity_every": 0})  # fmt: skip
    result, _ = experiment.run_experiment(cfg)
    rows = pd.DataFrame(result["cka"])
    assert sorted(rows["epoch"].unique()) == [0, 1, 2]
    assert set(rows["task"]) == {"task0", "task1"}
    assert ((rows["cka"] > 0) & (rows["cka"] <= 1 + 1e-9)).all()
    # Before training the single-task network is the multi-task one's part: CKA is 1.
    assert rows[rows["epoch"] == 0]["cka"].tolist() == pytest.approx([1.0, 1.0])
    no_base, _ = experiment.run_experiment(small(2, baselines=False))
    assert no_base["cka"] == []
    snap = cka_rows([], [])
    assert snap == []


def test_result_json_holds_the_transfer_keys_and_the_analysis_needs_no_torch(tmp_path):
    result, runs = experiment.run_experiment(small(3, train={"epochs": 1, "batch_size": 32,
                                                             "affinity_every": 2}))  # fmt: skip
    paths = experiment.write_outputs(tmp_path, small(3), result, runs)
    stored = json.loads(paths["result"].read_text())
    assert {"grad_conflict", "affinity", "pairwise", "cka"} <= set(stored)
    assert stored["grad_conflict"]["pairs"] and stored["affinity"]["grouping"]["groups"]
    code = "import sys, mtlcore.analysis; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- combining the runs of an experiment -----------------------------------------------------------


def test_combine_transfer_pools_cosines_and_weights_affinity_by_measurements():
    def result(seed: int, z: float, n: int, gain: float) -> dict:
        return {
            "grad_cosine": [
                {
                    "seed": seed,
                    "epoch": 1,
                    "step": 1,
                    "task_a": "a",
                    "task_b": "b",
                    "cosine": -0.5 if seed else 0.5,
                }
            ],  # fmt: skip
            "affinity": {
                "every": 5,
                "tasks": ["a", "b"],
                "measurements": n,
                "matrix": [[1.0, z], [z, 1.0]],
            },  # fmt: skip
            "pairwise": {
                "tasks": ["a", "b"],
                "metric": {"a": "rmse", "b": "rmse"},
                "gain": [[None, gain], [-gain, None]],
                "gain_std": [[None, 0], [0, None]],
                "value": [[1, 1], [1, 1]],
                "trainings": 0,
                "seconds": 1.0,
            },  # fmt: skip
            "cka": [{"seed": seed, "epoch": 0, "task": "a", "cka": 1.0}],
        }

    t = combine_transfer([result(0, 0.3, 3, 2.0), result(1, -0.1, 1, 4.0), {}])
    assert t["grad_conflict"]["pairs"][0]["conflict_share"] == 0.5
    assert t["affinity"]["matrix"][0][1] == pytest.approx((0.3 * 3 - 0.1) / 4)
    assert t["affinity"]["measurements"] == 4
    assert t["affinity"]["grouping"]["groups"] == [["a", "b"]]
    assert t["pairwise"]["gain"][0][1] == pytest.approx(3.0)
    assert t["pairwise"]["gain_std"][0][1] == pytest.approx(math.sqrt(2))
    assert t["pairwise"]["gain"][0][0] is None
    assert len(t["cka"]) == 2
    old = combine_transfer([{"grad_cosine": []}])  # a result from before these keys
    assert old == {"grad_conflict": {"pairs": [], "by_epoch": []}, "affinity": None,
                   "pairwise": None, "cka": []}  # fmt: skip


def test_transfer_charts_label_tasks_as_text_and_outline_groups():
    tasks = ["<b>a</b>", "b", "c"]
    m = pd.DataFrame([[0.1, 0.2, -0.1], [0.2, 0.1, -0.1], [-0.1, -0.1, 0.1]], tasks, tasks)
    fig = charts.affinity_heatmap(m, [["b", "<b>a</b>"], ["c"]])
    heat = fig.data[0]
    assert list(heat.y) == ["b", "&lt;b&gt;a&lt;/b&gt;", "c"]  # grouped order, escaped
    assert len(fig.layout.shapes) == 1  # one outlined group of two
    cos = pair_matrix([{"task_a": "a", "task_b": "b", "mean_cosine": -0.4}], ["a", "b"])
    share = pair_matrix(
        [{"task_a": "a", "task_b": "b", "conflict_share": 0.75}], ["a", "b"], "conflict_share"
    )
    heat = charts.conflict_heatmap(cos, share).data[0]
    assert "75% in conflict" in heat.text[0][1] and heat.text[0][0] == ""
    gains = pd.DataFrame([[np.nan, 5.0], [-2.0, np.nan]], ["a", "b"], ["a", "b"])
    assert charts.pairwise_heatmap(gains).data[0].text[1][0] == "-2.0%"
    curves = pd.DataFrame({"pair": ["a · b"] * 2, "epoch": [1, 2], "mean_cosine": [0.2, -0.1],
                           "conflict_share": [0.0, 1.0]})  # fmt: skip
    assert len(charts.conflict_curves(curves).data) == 2
    cka = pd.DataFrame({"seed": [0, 1], "epoch": [1, 1], "task": ["a", "a"], "cka": [0.6, 0.8]})
    assert charts.cka_curves(cka, {"a": "#000"}).data[0].y[0] == pytest.approx(0.7)
    assert not charts.cka_curves(cka.iloc[:0], {}).data  # an empty chart that says why


# --- the pages ------------------------------------------------------------------------------------


def stored(config: ExperimentConfig) -> int:
    """Run ``config`` in this process through the run store; return its experiment id."""
    store = RunStore()
    ids = store.submit(config)
    for rid in ids:
        assert store.claim(rid, "test-token", os.getpid())
        assert execute_run(store, rid) == "done", store.run(rid).error
    return store.run(ids[0]).experiment_id


def open_page(page: str, exp: int) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["exp"] = str(exp)
    at.run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def page_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    return "\n".join(parts + [i.value for i in at.info])


def test_transfer_page_shows_conflict_affinity_pairs_and_cka():
    exp = stored(small(3, seeds=[0, 1], train={
        "epochs": 2, "batch_size": 32, "pairwise": True, "affinity_every": 2,
        "grad_cosine_every": 2, "snapshot_every": 1, "snapshot_rows": 20,
    }))  # fmt: skip
    at = open_page("transfer", exp)
    text = page_text(at)
    assert "Group 1" in text and "Z(i→j)" in text
    assert "share of measured steps in conflict" in text
    assert "From 2 seeds" in text
    keys = {c.proto.id for c in at.get("plotly_chart")}
    assert len(at.get("plotly_chart")) == 5, keys  # matrix, curves, affinity, pairs, CKA
    assert not at.info  # pairwise was trained, so no "how to get one"


def test_transfer_page_says_how_to_get_what_was_not_measured():
    exp = stored(small(2, train={"epochs": 1, "batch_size": 32, "affinity_every": 0}))
    at = open_page("transfer", exp)
    text = page_text(at)
    assert "`train.pairwise: true`" in text and "`train.affinity_every`" in text
    assert "snapshot" in text


def test_representations_page_reads_truths_from_snapshots_not_the_data(monkeypatch):
    exp = stored(small(2, train={"epochs": 2, "batch_size": 32, "snapshot_every": 1,
                                 "snapshot_rows": 20, "affinity_every": 0}))  # fmt: skip

    def no_data(*args, **kwargs):
        raise AssertionError("the Representations page prepared the data")

    monkeypatch.setattr(experiment, "prepare_data", no_data)
    at = open_page("representations", exp)
    at.radio(key="repr_color").set_value("error").run()
    assert not at.exception and not at.error
    assert "Linear CKA" in page_text(at)
    assert len(at.get("plotly_chart")) == 3  # multi-task, single-task, CKA
