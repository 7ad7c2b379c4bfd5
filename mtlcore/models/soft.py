"""Soft parameter sharing: one network per task, tied by an L2 penalty between their layers.

Duong, L., Cohn, T., Bird, S., Cook, P. (2015). Low Resource Dependency Parsing:
Cross-lingual Parameter Sharing in a Neural Network Parser. ACL 2015.

Each task keeps the network it would have alone (the towers of ``Independent``,
so soft sharing starts from the single-task baselines' weights and with λ = 0 it
*is* the baselines). :meth:`SoftSharing.penalty` adds

    λ · mean over task pairs (i, j) of Σ_tied layers ||W_i - W_j||² + ||b_i - b_j||²

to the loss (a pair with no tied layer adds 0 to the mean). Which layers are tied: every hidden layer above the input layer (the
same shape in every tower), and the input layer only between tasks that read the
same columns of the same table (the same input group). Input layers of different
tables are never tied, even when their shapes happen to match: their weights read
different columns, so pulling them together would mean nothing. Heads are not tied.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mtlcore.catalogue import SoftOptions
from mtlcore.models.base import Architecture, ModelTask
from mtlcore.models.independent import Independent
from mtlcore.models.registry import STRATEGIES


@STRATEGIES.register("soft")
class SoftSharing(Independent):
    """Soft sharing. Shared: nothing. No parameter is used by two tasks' losses; the
    towers are coupled only through the penalty, so task gradients never meet on a
    parameter and a cosine between them would be 0 by construction, not a measure of
    conflict. (``shared_parameters()`` is empty, so no gradient conflict is measured.)
    ``features`` are each tower's last hidden layer, as in hard sharing."""

    def __init__(
        self,
        tasks: Sequence[ModelTask],
        arch: Architecture,
        seed: int,
        options: SoftOptions | None = None,
    ):
        super().__init__(tasks, arch, seed)
        self.options = options or SoftOptions()
        # Each tower's linear layers (the towers' own modules, not copies), input layer first.
        self.linears = tuple(tuple(self._linears(t.name)) for t in self.tasks)
        self.n_layers = len(self.linears[0])
        # ties[layer]: groups of towers (task indices) whose layer ``layer`` is tied.
        self.ties: list[list[list[int]]] = []
        for layer in range(self.n_layers):
            if layer == 0:
                by_group: dict[str, list[int]] = {}
                for i, t in enumerate(self.tasks):
                    by_group.setdefault(t.input_group, []).append(i)
                self.ties.append([m for m in by_group.values() if len(m) > 1])
            else:
                self.ties.append([list(range(len(self.tasks)))] if len(self.tasks) > 1 else [])
        self.n_pairs = len(self.tasks) * (len(self.tasks) - 1) // 2

    def _linears(self, task: str) -> list[nn.Linear]:
        tower = self.tower(task)
        encoder = next(iter(tower.encoders.values()))
        return [m for seq in (encoder, tower.trunk) for m in seq if isinstance(m, nn.Linear)]

    def _layer(self, layer: int, members: list[int]) -> tuple[Tensor, Tensor]:
        """Weights (M, out, in) and biases (M, out) of layer ``layer`` of the member towers."""
        lins = [self.linears[i][layer] for i in members]
        return torch.stack([lin.weight for lin in lins]), torch.stack([lin.bias for lin in lins])

    def penalty(self) -> Tensor | None:
        lam = self.options.tie_lambda
        if lam == 0 or self.n_pairs == 0:
            return None
        total = None
        for layer, groups in enumerate(self.ties):
            for members in groups:
                w, b = self._layer(layer, members)
                i, j = _pairs(len(members))
                d = (w[i] - w[j]).pow(2).sum() + (b[i] - b[j]).pow(2).sum()
                total = d if total is None else total + d
        if total is None:
            return None
        return lam * total / self.n_pairs

    @torch.no_grad()
    def mixing_state(self, xs: Mapping[str, Tensor] | None = None) -> dict[str, Any]:
        """Per tied layer, the T x T matrix of distances ||θ_i - θ_j|| between towers
        (null where the layer is not tied). ``xs`` is ignored."""
        T = len(self.tasks)
        layers = []
        for layer, groups in enumerate(self.ties):
            dist: list[list[float | None]] = [
                [0.0 if a == b else None for b in range(T)] for a in range(T)
            ]
            for members in groups:
                w, b = self._layer(layer, members)
                for (x, a), (y, c) in itertools.combinations(enumerate(members), 2):
                    d = ((w[x] - w[y]).pow(2).sum() + (b[x] - b[y]).pow(2).sum()).sqrt()
                    dist[a][c] = dist[c][a] = float(d)
            layers.append({"layer": layer + 1, "distance": dist})
        return {"kind": "tie_distance", "tasks": [t.name for t in self.tasks], "layers": layers}


def _pairs(m: int) -> tuple[list[int], list[int]]:
    """Indices (i, j) of the m(m-1)/2 pairs i < j."""
    pairs = list(itertools.combinations(range(m), 2))
    return [a for a, _ in pairs], [b for _, b in pairs]
