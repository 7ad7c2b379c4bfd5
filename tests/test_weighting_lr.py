"""The ``weight_lr`` option of the methods with learned loss weights (uncertainty, GradNorm).

Their parameters are the optimiser's second group; ``weight_lr`` is that group's
learning rate, and leaving it out keeps the model's, so runs without it are the runs
from before the option existed.
"""

from __future__ import annotations

import pytest
import torch

from mtlcore.config import TrainConfig
from mtlcore.data.builtin import load_builtin
from mtlcore.data.prepare import prepare
from mtlcore.experiment import model_tasks
from mtlcore.models import Architecture, build_model
from mtlcore.train import make_optimizer, train
from mtlcore.weighting import WeightingTask, build_weighting

LEARNED = ["uncertainty", "gradnorm"]
CFG = TrainConfig(epochs=3, batch_size=32, lr=0.01, grad_cosine_every=0, affinity_every=0)


@pytest.fixture(scope="module")
def data():
    ds = load_builtin("synthetic", {"n_rows": 200, "scales": [1.0, 10.0]})
    return prepare(ds, ds.tasks, standardize_targets=False)


def fit(data, method: str, options: dict | None):
    model = build_model("hard", model_tasks(data), Architecture(hidden=(16, 8)), 0)
    tasks = [WeightingTask(t.name, t.kind) for t in data.tasks]
    weighting = build_weighting(method, tasks, options)
    out = train(model, weighting, data, CFG, seed=0)
    return weighting, out


@pytest.mark.parametrize("method", LEARNED)
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_the_weights_group_gets_weight_lr_and_the_model_keeps_train_lr(method, optimizer):
    tasks = [WeightingTask("a", "regression"), WeightingTask("b", "regression")]
    cfg = TrainConfig(optimizer=optimizer, lr=0.01, weight_decay=0.1)
    model_param = torch.nn.Parameter(torch.zeros(3))
    for lr, expected in ((0.2, 0.2), (None, 0.01)):
        weighting = build_weighting(method, tasks, {"weight_lr": lr})
        opt = make_optimizer([model_param], cfg, list(weighting.parameters()),
                             weighting.parameter_lr())  # fmt: skip
        model_group, weight_group = opt.param_groups
        assert model_group["lr"] == 0.01
        assert weight_group["lr"] == expected
        assert weight_group["weight_decay"] == 0.0


def test_methods_without_learned_parameters_have_no_lr_of_their_own():
    tasks = [WeightingTask("a", "regression"), WeightingTask("b", "regression")]
    for method in ("equal", "dwa", "famo", "pcgrad"):
        assert build_weighting(method, tasks).parameter_lr() is None


@pytest.mark.parametrize("method", LEARNED)
def test_weight_lr_must_be_positive(method):
    with pytest.raises(ValueError, match="weight_lr"):
        build_weighting(method, [WeightingTask("a", "regression")], {"weight_lr": 0})


@pytest.mark.parametrize("method", LEARNED)
def test_default_is_the_model_lr_and_a_larger_one_moves_the_weights_further(data, method):
    w_default, default = fit(data, method, None)
    w_same, same = fit(data, method, {"weight_lr": CFG.lr})
    w_fast, fast = fit(data, method, {"weight_lr": 10 * CFG.lr})
    assert default.history == same.history  # the default changes nothing that ran before
    assert fast.history != default.history
    start = {"uncertainty": 0.0, "gradnorm": 1.0}[method]  # log σ² = 0, w = 1 at the start
    params = [next(iter(w.parameters())).detach() for w in (w_default, w_fast)]
    moved = [float((p - start).abs().max()) for p in params]
    assert moved[1] > 2 * moved[0] > 0
