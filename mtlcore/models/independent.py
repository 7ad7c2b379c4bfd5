"""No sharing: one separate network per task — the single-task baseline.

Each task's network is exactly the hard-sharing network built for that task alone,
so the baseline of a task starts from the weights its parts have in the
multi-task model. Training all towers together on the summed loss equals training
each alone (their parameters and their batches are disjoint, and the optimisers
act per parameter), which is how the baselines run in one batched pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pad_sequence

from mtlcore.models.base import ACTIVATIONS, Architecture, ModelOutput, ModelTask, MultiTaskModel
from mtlcore.models.hard import HardSharing
from mtlcore.models.registry import STRATEGIES


@STRATEGIES.register("independent")
class Independent(MultiTaskModel):
    def __init__(self, tasks: Sequence[ModelTask], arch: Architecture, seed: int, options=None):
        super().__init__(tasks, arch, seed)
        self.towers = nn.ModuleDict(
            {self.keys[t.name]: HardSharing([t], arch, seed) for t in self.tasks}
        )

    def forward(self, xs: Mapping[str, Tensor]) -> ModelOutput:
        outputs, features = {}, {}
        for t in self.tasks:
            if t.name in xs:
                out = self.towers[self.keys[t.name]]({t.name: xs[t.name]})
                outputs[t.name] = out.outputs[t.name]
                features[t.name] = out.features[t.name]
        return ModelOutput(outputs, features)

    def shared_parameters(self) -> list[nn.Parameter]:
        return []

    def tower(self, task: str) -> HardSharing:
        return self.towers[self.keys[task]]


class GroupedIndependent(MultiTaskModel):
    """The single-task networks of :class:`Independent`, stored stacked and run together.

    Tasks whose networks have the same shape (same input width and output width) form
    one group; each linear layer of a group is one ``(members, out, in)`` weight and
    ``(members, out)`` bias, the rows ``i`` of which are exactly member ``i``'s
    single-task layer (built by :class:`HardSharing` under that task's seeds and
    copied). A forward pass runs each layer once per group (``torch.baddbmm``)
    instead of once per task, and the optimiser updates one tensor per layer per
    group. Nothing is shared: every number a task's output and gradient depend on is
    its own slice, and an element-wise optimiser moves each slice as it would move
    the separate network, so each task trains as it would alone (up to float
    rounding of the batched product). Dropout masks are drawn for the whole group at
    once, so with dropout a task's masks differ from a separate run's.

    Members' batches of different sizes are zero-padded to the largest (rows are
    independent, padded outputs are dropped), unless padding would more than double
    the rows; then each member runs on its own slice of the weights.
    """

    def __init__(self, tasks: Sequence[ModelTask], arch: Architecture, seed: int, options=None):
        super().__init__(tasks, arch, seed)
        shapes: dict[tuple[int, int], list[int]] = {}
        for i, t in enumerate(self.tasks):
            shapes.setdefault((t.in_dim, t.out_dim), []).append(i)
        self.members = [list(m) for m in shapes.values()]  # task indices per group
        self.groups = nn.ModuleList(
            GroupedTower([HardSharing([self.tasks[i]], arch, seed) for i in m], arch)
            for m in self.members
        )

    def forward(self, xs: Mapping[str, Tensor]) -> ModelOutput:
        outputs, features = {}, {}
        for members, group in zip(self.members, self.groups, strict=True):
            present = [(j, self.tasks[i].name) for j, i in enumerate(members)
                       if self.tasks[i].name in xs]  # fmt: skip
            if not present:
                continue
            feats, outs = group([j for j, _ in present], [xs[name] for _, name in present])
            for (_, name), f, o in zip(present, feats, outs, strict=True):
                features[name], outputs[name] = f, o
        return ModelOutput(outputs, features)

    def shared_parameters(self) -> list[nn.Parameter]:
        return []

    def weight_matrices(self) -> list[nn.Parameter]:
        return [w for group in self.groups for w in group.weights]  # biases are stacked, too


class GroupedTower(nn.Module):
    """The same-shaped networks of several tasks as one stack of grouped linear layers."""

    def __init__(self, towers: Sequence[HardSharing], arch: Architecture):
        super().__init__()
        linears = [_linears(t) for t in towers]
        self.n_features = len(arch.hidden)
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([ls[k].weight.detach() for ls in linears]))
            for k in range(len(linears[0]))
        )
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([ls[k].bias.detach() for ls in linears]))
            for k in range(len(linears[0]))
        )
        self.activation = ACTIVATIONS[arch.activation]()
        self.dropout = nn.Dropout(arch.dropout) if arch.dropout > 0 else None

    def forward(self, members: list[int], xs: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """(features, outputs) per member ``members[i]`` on its batch ``xs[i]``."""
        rows = [len(x) for x in xs]
        if max(rows) * len(rows) > 2 * sum(rows):  # too uneven to pad: a slice each
            pairs = [self._one(m, x) for m, x in zip(members, xs, strict=True)]
            return [f for f, _ in pairs], [o for _, o in pairs]
        index = None if members == list(range(len(self.weights[0]))) else members
        h = pad_sequence(xs, batch_first=True)  # (members, rows, in)
        feats = h
        last = len(self.weights) - 1
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if index is not None:
                w, b = w[index], b[index]
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            if k < last:
                h = self._after(h)
            if k == self.n_features - 1:
                feats = h
        return [feats[i, :n] for i, n in enumerate(rows)], [h[i, :n] for i, n in enumerate(rows)]

    def _one(self, member: int, x: Tensor) -> tuple[Tensor, Tensor]:
        h = feats = x
        last = len(self.weights) - 1
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = F.linear(h, w[member], b[member])
            if k < last:
                h = self._after(h)
            if k == self.n_features - 1:
                feats = h
        return feats, h

    def _after(self, h: Tensor) -> Tensor:
        h = self.activation(h)
        return self.dropout(h) if self.dropout is not None else h


def _linears(tower: HardSharing) -> list[nn.Linear]:
    """A single-task network's linear layers in order: input layer, trunk, head."""
    encoder = next(iter(tower.encoders.values()))
    seqs = (encoder, tower.trunk, next(iter(tower.heads.values())))
    return [m for seq in seqs for m in seq if isinstance(m, nn.Linear)]
