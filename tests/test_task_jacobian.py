"""The per-task gradients the gradient methods combine (``task_jacobian``).

They are taken in two stages (each task's own nodes, then the shared layers batched over
the tasks, the cut found in the autograd graph): a pure speed-up, so on every sharing
strategy — tasks on one batch, on several batches and on other tables — the rows must be
the gradients of each loss differentiated alone, and the task parameters must get the
gradient of the summed losses. Graphs where the cut would count a gradient twice take
the one batched pass over the whole graph, with the same numbers.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from mtlcore.experiment import model_tasks
from mtlcore.models import STRATEGIES, Architecture, build_model
from mtlcore.train import split_tensors, task_loss
from mtlcore.weighting.gradient import _shared_cut, task_jacobian
from tests.test_one_pass import DATA

ARCH = Architecture(hidden=(16, 8))


def alone(losses: Tensor, shared: list[Tensor], specific: list[Tensor]):
    """Each loss differentiated on its own: the rows of J, and Σ_i of the task gradients."""
    rows, own = [], [None] * len(specific)
    for loss in losses:
        g = torch.autograd.grad(loss, shared + specific, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([
            x.reshape(-1) if x is not None else torch.zeros(p.numel())
            for x, p in zip(g[: len(shared)], shared, strict=True)
        ]))  # fmt: skip
        for k, x in enumerate(g[len(shared) :]):
            if x is not None:
                own[k] = x if own[k] is None else own[k] + x
    return torch.stack(rows), own


def check(losses: Tensor, shared: list[Tensor], specific: list[Tensor]) -> None:
    J, own = task_jacobian(losses, shared, specific)
    J0, own0 = alone(losses, shared, specific)
    assert J.shape == J0.shape and bool(J0.abs().sum(1).gt(0).all())
    torch.testing.assert_close(J, J0, rtol=1e-5, atol=1e-7)
    for g, g0 in zip(own, own0, strict=True):
        assert (g is None) == (g0 is None)
        if g is not None:
            torch.testing.assert_close(g, g0, rtol=1e-5, atol=1e-7)


# the strategies with shared parameters (independent and soft sharing have none to combine)
SHARING = [
    n for n in sorted(STRATEGIES) if build_model(n, model_tasks(DATA), ARCH, 0).shared_parameters()
]


@pytest.mark.parametrize("name", SHARING)
def test_the_rows_are_each_losss_own_gradient_on_every_strategy(name):
    torch.manual_seed(0)
    model = build_model(name, model_tasks(DATA), ARCH, 0)
    xs = {k: v[:32] for k, v in split_tensors(DATA.tasks, "train", torch.device("cpu")).items()}
    out = model(xs)
    ys = {t.name: torch.from_numpy(t.y["train"][:32]) for t in DATA.tasks}
    losses = torch.stack([task_loss(t, out.outputs[t.name], ys[t.name]) for t in DATA.tasks])
    shared = [p for p in model.shared_parameters() if p.requires_grad]
    specific = [p for p in model.task_parameters() if p.requires_grad]
    assert shared
    check(losses, shared, specific)


class Skip(nn.Module):
    """Two shared layers; each head reads the second and, past it, the first: a cut at
    both would count the first layer's gradient through the second twice."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.a, self.b = nn.Linear(3, 4), nn.Linear(4, 4)
        self.heads = nn.ModuleList([nn.Linear(8, 1) for _ in range(3)])

    def forward(self, x: Tensor) -> list[Tensor]:
        h = torch.tanh(self.a(x))
        z = torch.tanh(self.b(h))
        return [
            head(torch.cat([z, h * (i + 1)], 1)).squeeze(-1) for i, head in enumerate(self.heads)
        ]


class DirectLeaf(nn.Module):
    """Each task multiplies the shared layer's output by a shared scale of its own
    use: the tasks' own nodes feed the scale's accumulator directly."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(2)
        self.trunk = nn.Linear(3, 4)
        self.scale = nn.Parameter(torch.tensor([0.5, -1.5, 2.0, 1.0]))
        self.heads = nn.ModuleList([nn.Linear(4, 1) for _ in range(2)])

    def forward(self, x: Tensor) -> list[Tensor]:
        z = torch.tanh(self.trunk(x))
        return [head(z * self.scale).squeeze(-1) for head in self.heads]


@pytest.mark.parametrize(
    ("model", "cut"),
    [(Skip(), False), (DirectLeaf(), True)],
    ids=["skip connection", "entry into a parameter"],
)
def test_models_the_cut_handles_or_refuses_give_each_losss_own_gradient(model, cut):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(20, 3, generator=g), torch.randn(20, generator=g)
    losses = torch.stack([((o - y) ** 2).mean() for o in model(x)])
    heads = list(model.heads.parameters())
    shared = [p for n, p in model.named_parameters() if not n.startswith("heads.")]
    assert (_shared_cut(losses, shared) is not None) == cut
    check(losses, shared, heads)


def test_twin_tasks_with_their_own_pass_of_the_shared_layer():
    """Each task runs the shared layer on its own batch: the tasks meet only at the
    parameters' accumulators, which become the cut."""
    torch.manual_seed(3)
    trunk, heads = nn.Linear(3, 4), nn.ModuleList([nn.Linear(4, 1), nn.Linear(4, 1)])
    xa, xb = torch.randn(8, 3), torch.randn(8, 3)
    losses = torch.stack([
        heads[0](torch.tanh(trunk(xa))).pow(2).mean(), heads[1](torch.tanh(trunk(xb))).mean()
    ])  # fmt: skip
    shared = list(trunk.parameters())
    cut = _shared_cut(losses, shared)
    assert cut is not None and len(cut.leaves) == len(shared)
    check(losses, shared, list(heads.parameters()))
