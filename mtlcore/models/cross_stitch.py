"""Cross-stitch networks: one network per task, mixed after every hidden layer.

Misra, I., Shrivastava, A., Gupta, A., Hebert, M. (2016). Cross-stitch Networks for
Multi-task Learning. CVPR 2016.

After hidden layer ``l`` each task's tower continues from a learned mix of all
towers' activations: ``x̃_i = Σ_j α[l]_ij x_j`` (one T x T matrix per layer, row
``i`` the mix tower ``i`` reads). α starts near the identity (``alpha_self`` on the
diagonal, the rest of each row spread evenly), so training starts close to
independent towers and learns how much to share, layer by layer.

Mixing needs every tower's activations on the same rows, so every tower runs on
every task's rows; tasks that read different tables therefore give each tower one
input layer per input group. A tower's layers are seeded like the task's
single-task network (``Independent``), so with α = identity the model *is* the
single-task baselines. Cost: T towers run on the rows of all T tasks, about T
times the compute of the independent towers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mtlcore.catalogue import CrossStitchOptions
from mtlcore.models.base import Architecture, ModelOutput, ModelTask, MultiTaskModel, seeded_mlp
from mtlcore.models.parts import GroupMLP, by_group, cat_rows, distinct_segments, group_in_dims
from mtlcore.models.registry import STRATEGIES


@STRATEGIES.register("cross_stitch")
class CrossStitch(MultiTaskModel):
    """Cross-stitch towers. Shared: the α units, the only parameters every task's loss
    moves by design (each tower's weights belong to its task, although other tasks'
    gradients reach them through the off-diagonal α). ``features`` are the mixed
    activations after the last hidden layer, which each task's head reads."""

    def __init__(
        self,
        tasks: Sequence[ModelTask],
        arch: Architecture,
        seed: int,
        options: CrossStitchOptions | None = None,
    ):
        super().__init__(tasks, arch, seed)
        self.options = options = options or CrossStitchOptions()
        dims = group_in_dims(self)
        h = arch.hidden
        self.towers = nn.ModuleDict(
            {self.keys[t.name]: GroupMLP(self, dims, h) for t in self.tasks}
        )
        self.heads = nn.ModuleDict(
            {
                self.keys[t.name]: seeded_mlp(
                    self.component_seed("head", t.name),
                    [h[-1], *arch.head_hidden, t.out_dim], arch, last_activation=False,
                )
                for t in self.tasks
            }
        )  # fmt: skip
        self.alpha = nn.Parameter(initial_alpha(len(self.tasks), options.alpha_self, len(h)))

    def forward(self, xs: Mapping[str, Tensor]) -> ModelOutput:
        present = [t for t in self.tasks if t.name in xs]
        if not present:
            return ModelOutput({}, {})
        segments, rows = distinct_segments(self.tasks, xs)
        towers = [self.towers[self.keys[t.name]] for t in self.tasks]
        # (towers, distinct rows of the present tasks, width), mixed after every layer
        acts = torch.stack(
            [cat_rows([tw.encode(x, g) for g, x in by_group(segments)]) for tw in towers]
        )
        acts = stitch(self.alpha[0], acts)
        for layer, blocks in enumerate(zip(*(tw.trunk_blocks for tw in towers)), start=1):
            acts = stitch(self.alpha[layer], torch.stack([b(a) for b, a in zip(blocks, acts)]))
        outputs, features = {}, {}
        index = {t.name: i for i, t in enumerate(self.tasks)}
        for t in present:
            z = acts[index[t.name], rows[t.name]]
            features[t.name] = z
            outputs[t.name] = self.heads[self.keys[t.name]](z)
        return ModelOutput(outputs, features)

    def shared_parameters(self) -> list[nn.Parameter]:
        return [self.alpha] if len(self.tasks) > 1 else []

    def mixing_state(self, xs: Mapping[str, Tensor] | None = None) -> dict[str, Any]:
        """α per hidden layer (row i: how tower i mixes the towers). ``xs`` is ignored:
        α does not depend on the inputs."""
        alpha = self.alpha.detach().float().cpu()
        return {
            "kind": "cross_stitch",
            "tasks": [t.name for t in self.tasks],
            "layers": [{"layer": i + 1, "alpha": a.tolist()} for i, a in enumerate(alpha)],
        }


def initial_alpha(n_tasks: int, alpha_self: float, n_layers: int) -> Tensor:
    """(layers, T, T): ``alpha_self`` on the diagonal, each row's rest spread evenly (rows sum to 1)."""
    if n_tasks == 1:
        return torch.ones(n_layers, 1, 1)
    off = (1.0 - alpha_self) / (n_tasks - 1)
    a = torch.full((n_tasks, n_tasks), off)
    a.fill_diagonal_(alpha_self)
    return a.expand(n_layers, -1, -1).clone()


def stitch(alpha: Tensor, acts: Tensor) -> Tensor:
    """``x̃_i = Σ_j α_ij x_j`` for activations ``acts`` of shape (towers, rows, width)."""
    return torch.einsum("ij,jnd->ind", alpha, acts)
