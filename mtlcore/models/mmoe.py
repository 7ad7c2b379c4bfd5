"""Multi-gate mixture-of-experts (MMoE): shared experts, one softmax gate per task.

Ma, J., Zhao, Z., Yi, X., Chen, J., Hong, L., Chi, E. H. (2018). Modeling Task
Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts. KDD 2018.

Every expert is a copy of what hard sharing shares (an MLP through the hidden
widths); task ``t``'s head reads ``Σ_e g_t(x)_e · expert_e(x)`` where the gate
``g_t`` is a softmax over the experts computed from ``t``'s own inputs. Tasks that
read different tables: each expert's first layer has one copy per input group
(like hard sharing's input layers), so every expert reads every task's rows; each
gate reads its task's raw inputs.

Example::

    model = build_model("mmoe", tasks, Architecture(hidden=(64, 32)), seed=0,
                        options={"n_experts": 4})
    out = model(xs)                    # out.extra["gate:<task>"]: (rows, n_experts)
    model.mixing_state()["levels"][0]["gates"]["<task>"]["weights"]  # mean gate weights
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn

from mtlcore.catalogue import MMoEOptions
from mtlcore.models.base import Architecture, ModelOutput, ModelTask, MultiTaskModel, seeded_mlp
from mtlcore.models.parts import (
    ExpertBank,
    GateLog,
    GroupMLP,
    distinct_segments,
    gate_mix,
    group_in_dims,
    parameters_by_name,
    parameters_used_by_several_tasks,
)
from mtlcore.models.registry import STRATEGIES


@STRATEGIES.register("mmoe")
class MultiGateMixtureOfExperts(MultiTaskModel):
    """MMoE. Shared: the experts (their input layer of a group only when several tasks
    read that group); each task's gate and head are its own. ``features`` are the
    gate-mixed expert outputs each head reads."""

    def __init__(
        self,
        tasks: Sequence[ModelTask],
        arch: Architecture,
        seed: int,
        options: MMoEOptions | None = None,
    ):
        super().__init__(tasks, arch, seed)
        self.options = options or MMoEOptions()
        widths = list(self.options.expert_hidden or arch.hidden)
        dims = group_in_dims(self)
        # All experts as one stack (each built and seeded as its own GroupMLP first).
        self.experts = ExpertBank(
            [GroupMLP(self, dims, widths, ("expert", e)) for e in range(self.options.n_experts)],
            arch,
        )
        self.gates = nn.ModuleDict(
            {
                self.keys[t.name]: seeded_mlp(
                    self.component_seed("gate", t.name), [t.in_dim, self.options.n_experts],
                    arch, last_activation=False,
                )
                for t in self.tasks
            }
        )  # fmt: skip
        self.heads = nn.ModuleDict(
            {
                self.keys[t.name]: seeded_mlp(
                    self.component_seed("head", t.name),
                    [widths[-1], *arch.head_hidden, t.out_dim], arch, last_activation=False,
                )
                for t in self.tasks
            }
        )  # fmt: skip
        names = [f"expert {e + 1}" for e in range(self.options.n_experts)]
        self.gate_log = GateLog({(1, t.name): names for t in self.tasks})
        self._shared = parameters_used_by_several_tasks(self)
        self.gate_log.record({})  # forget the probe pass

    def forward(self, xs: Mapping[str, Tensor]) -> ModelOutput:
        """All experts once over every distinct batch (:func:`distinct_segments`); each
        task's gate on its own rows mixes the experts' outputs of those rows."""
        segments, rows = distinct_segments(self.tasks, xs)
        # (experts, rows of every distinct batch, width): one batched pass, sliced per task
        experts = self.experts.on_segments(segments) if segments else None
        outputs, features, extra, means = {}, {}, {}, {}
        for t in self.tasks:
            if t.name not in rows:
                continue
            r, key = rows[t.name], self.keys[t.name]
            z, w = gate_mix(self.gates[key](xs[t.name]), experts[:, r])
            features[t.name] = z
            outputs[t.name] = self.heads[key](z)
            extra[f"gate:{t.name}"] = w
            means[(1, t.name)] = w.detach().mean(dim=0)
        self.gate_log.record(means)
        return ModelOutput(outputs, features, extra)

    def shared_parameters(self) -> list[nn.Parameter]:
        return parameters_by_name(self, self._shared)

    def mixing_state(self, xs: Mapping[str, Tensor] | None = None) -> dict[str, Any]:
        """Each task's gate weights, averaged over its rows of the last forward pass
        (or of ``xs``, without changing what the last pass recorded)."""
        return self.gate_log.state(self, xs)
