"""No sharing: one separate network per task — the single-task baseline.

Each task's network is exactly the hard-sharing network built for that task alone,
so the baseline of a task starts from the weights its parts have in the
multi-task model. Training all towers together on the summed loss equals training
each alone (their parameters and their batches are disjoint, and the optimisers
act per parameter), which is how the baselines run in one batched pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor, nn

from mtlcore.models.base import Architecture, ModelOutput, ModelTask, MultiTaskModel
from mtlcore.models.hard import HardSharing
from mtlcore.models.registry import STRATEGIES


@STRATEGIES.register(
    "independent",
    title="Independent (no sharing)",
    summary="""Every task gets its own network of the same shape and nothing is shared.
    This is the single-task baseline every multi-task result is measured against:
    no transfer, good or bad. Costs as much as all single-task networks together.""",
)
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
