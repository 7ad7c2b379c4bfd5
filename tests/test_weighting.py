"""Properties of the loss weighting and gradient combination methods (mtlcore.weighting).

In the spirit of torchjd's own tests: each method is checked on a small closed-form
case of what it promises (no conflict left, min-norm point, balanced training rates,
...), every method on the contracts the training loop relies on (the weights it
returns are the ones in the update; task-specific parameters get their own task's
gradient; state() is JSON), and every method trains through ``train`` with hard
sharing and with the independent model.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from importlib.util import find_spec

import numpy as np
import pytest
import torch
from safetensors.torch import save
from torch import Tensor, nn

from mtlcore.config import TrainConfig
from mtlcore.data.prepare import PreparedData, prepare
from mtlcore.models import Architecture, ModelOutput, ModelTask, MultiTaskModel, build_model
from mtlcore.train import task_loss, train
from mtlcore.weighting import METHODS, StepContext, WeightingTask, build_weighting
from mtlcore.weighting.gradient import GradientWeighting
from mtlcore.weighting.gradnorm import last_shared_weight
from tests.toy_tables import two_table_dataset

# requirements.txt installs ecos (torchjd's nash-mtl extra); elsewhere nash_mtl is skipped,
# but never under CI, which must not pass by skipping.
HAS_ECOS = find_spec("ecos") is not None or os.environ.get("CI", "").lower() == "true"
NEEDS_ECOS = pytest.mark.skipif(
    not HAS_ECOS, reason="nash_mtl needs the ecos solver: pip install 'torchjd[nash_mtl]'"
)

LOSS_METHODS = ["equal", "static", "uncertainty", "dwa", "gradnorm", "rlw", "famo"]
GRADIENT_METHODS = ["pcgrad", "mgda", "cagrad", "imtl_g", "aligned_mtl", "upgrad", "nash_mtl"]


def method_params(names):
    return [pytest.param(m, marks=NEEDS_ECOS) if m == "nash_mtl" else m for m in names]


ALL = method_params(LOSS_METHODS + GRADIENT_METHODS)
GRADIENT = method_params(GRADIENT_METHODS)
TWO = [WeightingTask("a", "regression"), WeightingTask("b", "regression")]
ARCH = Architecture(hidden=(8, 6))


def test_every_method_is_registered_with_its_docs_and_strict_options():
    assert set(LOSS_METHODS + GRADIENT_METHODS) <= set(METHODS)
    for name in LOSS_METHODS[3:] + GRADIENT_METHODS:
        entry = METHODS[name]
        assert entry.title and entry.paper and len(entry.summary) > 100, name
        with pytest.raises(ValueError, match="no_such_option"):
            entry.options({"no_such_option": 1})


# --- a model whose two tasks have the very same gradients ------------------------------


class TwinModel(MultiTaskModel):
    """A shared layer and two identical heads; both tasks read the same batch."""

    def __init__(self, seed: int = 0):
        tasks = [ModelTask("a", "g", 3, 1), ModelTask("b", "g", 3, 1)]
        super().__init__(tasks, Architecture(hidden=(4,)), seed)
        torch.manual_seed(seed)
        self.trunk = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
        head = nn.Linear(4, 1)
        self.heads = nn.ModuleDict({"a": head, "b": copy.deepcopy(head)})

    def forward(self, xs: Mapping[str, Tensor]) -> ModelOutput:
        feats = {k: self.trunk(x) for k, x in xs.items()}
        return ModelOutput({k: self.heads[k](z) for k, z in feats.items()}, feats)

    def shared_parameters(self) -> list[nn.Parameter]:
        return list(self.trunk.parameters())


def twin_losses(model: TwinModel, shift_b: float = 0.0) -> tuple[Tensor, ModelOutput]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, generator=g)
    y = torch.randn(16, generator=g)
    out = model({"a": x, "b": x})
    la = ((out.outputs["a"].squeeze(-1) - y) ** 2).mean()
    lb = ((out.outputs["b"].squeeze(-1) - y) ** 2).mean()
    return torch.stack([la, lb - shift_b]), out


def flat_grad(params) -> Tensor:
    return torch.cat([p.grad.reshape(-1) for p in params])


@pytest.mark.parametrize("method", ALL)
def test_identical_task_gradients_give_a_positive_multiple_of_that_gradient(method):
    model = TwinModel()
    losses, out = twin_losses(model)
    (g,) = [torch.autograd.grad(losses[0], model.trunk[0].weight, retain_graph=True)[0]]
    weighting = build_weighting(method, TWO)
    w = weighting.backward(losses, StepContext(model, 1, 1))
    d = model.trunk[0].weight.grad
    scale = float((d * g).sum() / (g * g).sum())
    assert scale > 0
    torch.testing.assert_close(d, scale * g, rtol=1e-4, atol=1e-6)
    assert w.shape == (2,) and bool(torch.isfinite(w).all())


@pytest.mark.parametrize("method", ["pcgrad", "mgda", "imtl_g", "aligned_mtl", "upgrad"])
def test_gradient_methods_step_like_equal_when_the_gradients_agree(method):
    # The scale convention of gradient.py: identical gradients -> the sum of the gradients.
    g = torch.tensor([[0.3, -1.0, 2.0]])
    w, d = build_weighting(method, TWO).combine(torch.cat([g, g]))
    torch.testing.assert_close(d, 2 * g[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(w.sum(), torch.tensor(2.0), rtol=1e-4, atol=1e-5)


# --- the contracts the training loop relies on ------------------------------------------


@pytest.fixture(scope="module")
def data() -> PreparedData:
    ds = two_table_dataset(96, 48, b_sign=-1.0)
    return prepare(ds, ds.tasks)


def model_tasks(data: PreparedData) -> list[ModelTask]:
    return [ModelTask(t.name, t.input_group, t.X["train"].shape[1], t.out_dim) for t in data.tasks]


def weighting_tasks(data: PreparedData) -> list[WeightingTask]:
    return [WeightingTask(t.name, t.kind) for t in data.tasks]


def batch_losses(model: MultiTaskModel, data: PreparedData) -> tuple[Tensor, ModelOutput]:
    """Every task's loss on its own first rows (tasks read different tables)."""
    xs = {t.name: torch.from_numpy(t.X["train"][:24]) for t in data.tasks}
    out = model(xs)
    ys = {t.name: torch.from_numpy(t.y["train"][:24]) for t in data.tasks}
    return torch.stack([task_loss(t, out.outputs[t.name], ys[t.name]) for t in data.tasks]), out


@pytest.mark.parametrize("method", ALL)
def test_returned_weights_are_the_weights_of_the_update(method, data):
    """Shared grads = Σ w_i g_i with the w that backward returns; a task-specific
    parameter gets its own task's gradient (× w_i for a loss weighting)."""
    model = build_model("hard", model_tasks(data), ARCH, 0)
    shared = model.shared_parameters()
    specific = model.task_parameters()
    losses, out = batch_losses(model, data)
    rows, own = [], []
    for loss in losses:
        g = torch.autograd.grad(loss, shared + specific, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([x.reshape(-1) for x in g[: len(shared)]]))
        own.append(g[len(shared) :])
    weighting = build_weighting(method, weighting_tasks(data))
    for step in (1, 2):  # the second step sees learned/stateful weights too
        model.zero_grad(set_to_none=True)
        if step == 2:
            losses, out = batch_losses(model, data)
        w = weighting.backward(losses, StepContext(model, step, 1))
    assert w.shape == (3,) and bool((w >= 0).all())
    torch.testing.assert_close(flat_grad(shared), w @ torch.stack(rows), rtol=1e-4, atol=1e-6)
    task_scale = torch.ones(3) if method in GRADIENT_METHODS else w
    for k, p in enumerate(specific):
        # (through the stacked losses, another task's gradient is zeros rather than None)
        users = [i for i in range(3) if own[i][k] is not None and bool(own[i][k].any())]
        assert len(users) == 1  # task-specific: one task uses it
        i = users[0]
        torch.testing.assert_close(p.grad, task_scale[i] * own[i][k], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("method", GRADIENT)
def test_gradient_methods_without_shared_parameters_add_the_losses(method, data):
    model = build_model("independent", model_tasks(data), ARCH, 0)
    losses, out = batch_losses(model, data)
    expected = torch.autograd.grad(losses.sum(), list(model.parameters()), retain_graph=True)
    w = build_weighting(method, weighting_tasks(data)).backward(losses, StepContext(model, 1, 1))
    assert w.tolist() == [1.0, 1.0, 1.0]
    for p, g in zip(model.parameters(), expected, strict=True):
        torch.testing.assert_close(p.grad, g)


@pytest.mark.parametrize("strategy", ["hard", "independent"])
@pytest.mark.parametrize("method", ALL)
def test_every_method_trains_and_its_state_is_json(method, strategy, data):
    cfg = TrainConfig(epochs=2, batch_size=32, lr=0.01, grad_cosine_every=0)
    model = build_model(strategy, model_tasks(data), ARCH, 0)
    weighting = build_weighting(method, weighting_tasks(data))
    events = []
    out = train(model, weighting, data, cfg, seed=0, callback=events.append)
    rows = [r for r in out.history if r["split"] == "train"]
    assert len(rows) == (1 + 2) * 3  # epoch 0 (before training), 1 and 2
    assert all(np.isfinite(r["loss"]) and np.isfinite(r["weight"]) for r in rows)
    state = weighting.state()
    assert json.loads(json.dumps(state)) == state
    save({k: v.detach().contiguous() for k, v in weighting.state_dict().items()})  # weights file
    # every epoch event carries the state as JSON (the live page reads it); the last one is
    # the state the run ends with
    states = [e.weighting_state for e in events if e.kind == "epoch"]
    assert len(states) == 1 + cfg.epochs and states[-1] == state  # epoch 0 (before training) on
    assert all(json.loads(json.dumps(s, allow_nan=False)) == s for s in states)
    if method in GRADIENT_METHODS and strategy == "hard":
        assert set(state) >= {"weights", "mean_weights", "cosine", "grad_norm", "steps"}
        assert set(state["weights"]) == {"ya", "yb", "ca"}
        assert all(-1.0001 <= c <= 1.0001 for c in state["mean_cosine"].values())


@pytest.mark.parametrize("method", ["rlw", "pcgrad"])
def test_random_methods_give_the_same_numbers_for_the_same_seed(method, data):
    cfg = TrainConfig(epochs=2, batch_size=16, lr=0.01, grad_cosine_every=0)

    def history(seed: int):
        model = build_model("hard", model_tasks(data), ARCH, seed)
        weighting = build_weighting(method, weighting_tasks(data))
        return train(model, weighting, data, cfg, seed=seed).history

    first = history(0)
    assert first == history(0)
    assert [r["weight"] for r in first] != [r["weight"] for r in history(1)] or method != "rlw"


# --- each method's own promise ----------------------------------------------------------


def test_pcgrad_leaves_no_conflict_between_two_tasks():
    pcgrad = build_weighting("pcgrad", TWO)
    rng = torch.Generator().manual_seed(1)
    cases = [torch.tensor([[1.0, 0.0], [-1.0, 1.0]])]
    cases += [torch.randn(2, 5, generator=rng) for _ in range(20)]
    conflicts = 0
    for J in cases:
        conflicts += int(J[0] @ J[1] < 0)
        _, d = pcgrad.combine(J)
        assert bool((J @ d >= -1e-5).all()), J
    assert conflicts >= 5  # the random cases did include conflicts
    # On the closed-form case: each gradient loses its component along the other.
    _, d = pcgrad.combine(cases[0])
    torch.testing.assert_close(d, torch.tensor([0.5, 0.5]) + torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize(
    ("J", "weights"),
    [
        # min ||a·(2,0) + (1-a)·(0,1)||: a = 0.2, the point (0.4, 0.8)
        ([[2.0, 0.0], [0.0, 1.0]], [0.2, 0.8]),
        # (1,0) is itself the closest point of the hull to the origin
        ([[1.0, 0.0], [3.0, 1.0]], [1.0, 0.0]),
    ],
)
def test_mgda_finds_the_min_norm_point_of_the_hull(J, weights):
    J = torch.tensor(J)
    w, d = build_weighting("mgda", TWO, {"epsilon": 1e-6, "max_iters": 1000}).combine(J)
    expected = torch.tensor(weights)
    torch.testing.assert_close(w / 2, expected, atol=1e-3, rtol=0)  # ×T: the sum scale
    torch.testing.assert_close(d / 2, expected @ J, atol=1e-3, rtol=0)


@pytest.mark.parametrize("method", ["mgda", "cagrad", "imtl_g", "aligned_mtl", "upgrad"])
def test_gradient_methods_are_permutation_invariant(method):
    J = torch.randn(3, 6, generator=torch.Generator().manual_seed(3))
    tasks = [WeightingTask(n, "regression") for n in "abc"]
    perm = torch.tensor([2, 0, 1])
    w, d = build_weighting(method, tasks).combine(J)
    wp, dp = build_weighting(method, tasks).combine(J[perm])
    torch.testing.assert_close(wp, w[perm], atol=1e-3, rtol=1e-3)
    torch.testing.assert_close(dp, d, atol=1e-3, rtol=1e-3)


def test_upgrad_and_cagrad_follow_their_options():
    J = torch.tensor([[1.0, 0.0], [-0.5, 1.0]])
    _, d0 = build_weighting("cagrad", TWO, {"c": 0.0}).combine(J)
    torch.testing.assert_close(d0, J.sum(0))  # c = 0: the mean gradient (×T)
    _, d = build_weighting("upgrad", TWO, {"pref_vector": {"a": 3.0}}).combine(J)
    assert bool((J @ d >= -1e-5).all())
    assert float(J[0] @ d) > float(J[1] @ d)  # the preferred task gains more
    with pytest.raises(ValueError, match="pref_vector: no task named 'c'"):
        build_weighting("upgrad", TWO, {"pref_vector": {"c": 1.0}})


def test_gradnorm_keeps_the_sum_and_raises_the_slowest_task():
    def run(shift: float) -> list[list[float]]:
        model = TwinModel()
        gradnorm = build_weighting("gradnorm", TWO, {"alpha": 1.5})
        opt = torch.optim.SGD(gradnorm.parameters(), lr=0.05)
        seen = []
        for step in range(1, 61):
            model.zero_grad(set_to_none=True)
            opt.zero_grad(set_to_none=True)
            # b's loss "falls" (lower by a constant, same gradient); a's stays where it began
            losses, out = twin_losses(model, shift_b=shift if step > 1 else 0.0)
            w = gradnorm.backward(losses, StepContext(model, step, 1))
            seen.append(w.tolist())
            opt.step()
        return seen

    flat, slow_a = run(0.0), run(0.3)
    assert all(sum(w) == pytest.approx(2.0) for w in flat + slow_a)
    np.testing.assert_allclose(flat[-1], [1.0, 1.0], atol=1e-6)  # identical tasks: no change
    assert slow_a[-1][0] > slow_a[10][0] > 1.0  # a's weight rose over time
    # At equilibrium w_a ||∇L_a|| / (w_b ||∇L_b||) = (r_a / r_b)^α, and the gradients are equal.
    loss = float(twin_losses(TwinModel())[0][0].detach())
    expected = (loss / (loss - 0.3)) ** 1.5
    assert slow_a[-1][0] / slow_a[-1][1] == pytest.approx(expected, rel=0.05)


def test_gradnorm_balances_on_the_last_shared_layer(data):
    model = build_model("hard", model_tasks(data), ARCH, 0)
    assert last_shared_weight(model) is model.trunk[-2].weight  # the trunk's last Linear
    assert last_shared_weight(build_model("independent", model_tasks(data), ARCH, 0)) is None
    gradnorm = build_weighting("gradnorm", weighting_tasks(data))
    losses, out = batch_losses(model, data)
    gradnorm.backward(losses, StepContext(model, 1, 1))
    state = gradnorm.state()
    assert sum(state["weights"].values()) == pytest.approx(3.0)
    assert set(state["grad_norm"]) == {"ya", "yb", "ca"}


def test_dwa_weights_follow_the_loss_ratios():
    dwa = build_weighting("dwa", TWO, {"temperature": 2.0})
    losses = torch.tensor([1.0, 1.0])
    assert dwa.weights(losses).tolist() == [1.0, 1.0]
    dwa.epoch_end(1, torch.tensor([1.0, 4.0]))
    assert dwa.weights(losses).tolist() == [1.0, 1.0]  # equal for the first two epochs
    dwa.epoch_end(2, torch.tensor([0.5, 2.0]))  # both halved: equal ratios
    torch.testing.assert_close(dwa.weights(losses), torch.tensor([1.0, 1.0]))
    dwa.epoch_end(3, torch.tensor([0.5, 1.0]))  # a stalled (ratio 1), b halved again
    w = dwa.weights(losses)
    assert float(w.sum()) == pytest.approx(2.0) and w[0] > w[1]
    expected = torch.softmax(torch.tensor([1.0, 0.5]) / 2.0, 0) * 2
    torch.testing.assert_close(w, expected)
    assert dwa.state()["loss_ratio"] == pytest.approx({"a": 1.0, "b": 0.5})


def test_rlw_weights_are_positive_sum_to_t_and_reproducible():
    def draws(seed: int) -> list[list[float]]:
        model = TwinModel(seed)
        rlw = build_weighting("rlw", TWO)
        out = []
        for step in range(1, 6):
            losses, o = twin_losses(model)
            out.append(rlw.backward(losses, StepContext(model, step, 1)).tolist())
        return out

    a, b, c = draws(0), draws(0), draws(1)
    assert a == b and a != c
    assert len({tuple(w) for w in a}) == 5  # a new draw every step
    assert all(min(w) > 0 and sum(w) == pytest.approx(2.0) for w in a + c)


def test_famo_gives_priority_to_the_task_that_improves_least():
    famo = build_weighting("famo", TWO, {"w_lr": 0.1})
    for step in range(1, 30):
        losses = torch.tensor([1.0, 0.9**step], requires_grad=True)  # b keeps improving
        w = famo.backward(losses, StepContext(None, step, 1))  # type: ignore[arg-type]
        assert float(w.sum()) == pytest.approx(2.0)
    z = famo.state()["priority"]
    assert z["a"] > 0.6 > z["b"]


def test_nash_mtl_without_ecos_says_what_to_install(monkeypatch):
    import mtlcore.weighting.nash_mtl as nash

    monkeypatch.setattr(nash, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match=r"nash_mtl.*pip install"):
        build_weighting("nash_mtl", TWO)


def test_gradient_state_is_small_and_names_the_tasks():
    model = TwinModel()
    weighting = build_weighting("upgrad", TWO)
    assert isinstance(weighting, GradientWeighting)
    for step in range(1, 50):
        losses, out = twin_losses(model)
        weighting.backward(losses, StepContext(model, step, 1))
    state = weighting.state()
    assert state["steps"] == 49 and len(json.dumps(state)) < 1000
    assert state["cosine"] == pytest.approx({"a": 1.0, "b": 1.0}, abs=1e-4)
