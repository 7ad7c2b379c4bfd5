"""Hard parameter sharing: one shared trunk, one head per task.

The single-network multi-task learning of the textbooks (Caruana 1997, "Multitask
Learning"). Each task's inputs pass through the layer that reads its table's
columns (shared by tasks that read the same columns), then through the shared
trunk; a small head per task produces its output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor, nn

from mtlcore.models.base import (
    Architecture,
    ModelOutput,
    ModelTask,
    MultiTaskModel,
    input_groups,
    module_keys,
    seeded_mlp,
    unique_parameters,
)
from mtlcore.models.parts import by_group, cat_rows, distinct_segments
from mtlcore.models.registry import STRATEGIES


@STRATEGIES.register("hard")
class HardSharing(MultiTaskModel):
    def __init__(self, tasks: Sequence[ModelTask], arch: Architecture, seed: int, options=None):
        super().__init__(tasks, arch, seed)
        groups = input_groups(self.tasks)
        if len(groups) > 1 and len(arch.hidden) < 2:
            raise ValueError(
                "model.hidden: tasks that read different columns need at least two hidden "
                "layers under hard sharing (the first reads each table's own columns, the "
                "rest are shared); add a layer, e.g. hidden: [64, 32]"
            )
        self.group_keys = module_keys(list(groups))
        h = arch.hidden
        # Every component is seeded by its own name, so a single-task model of a task
        # starts from the very weights that task's parts have here.
        self.encoders = nn.ModuleDict(
            {
                self.group_keys[g]: seeded_mlp(
                    self.component_seed("encoder", g),
                    [ts[0].in_dim, h[0]],
                    arch,
                    last_activation=True,
                )
                for g, ts in groups.items()
            }
        )
        self.trunk = seeded_mlp(self.component_seed("trunk"), list(h), arch, last_activation=True)
        self.heads = nn.ModuleDict(
            {
                self.keys[t.name]: seeded_mlp(
                    self.component_seed("head", t.name),
                    [h[-1], *arch.head_hidden, t.out_dim],
                    arch,
                    last_activation=False,
                )
                for t in self.tasks
            }
        )
        self._shared_encoders = [
            self.encoders[self.group_keys[g]] for g, ts in groups.items() if len(ts) > 1
        ]

    def forward(self, xs: Mapping[str, Tensor]) -> ModelOutput:
        """One pass of the shared layers over every distinct batch (:func:`distinct_segments`),
        then each task's head on its own rows."""
        segments, rows = distinct_segments(self.tasks, xs)
        if not segments:
            return ModelOutput({}, {})
        encoded = [self.encoders[self.group_keys[g]](x) for g, x in by_group(segments)]
        shared = self.trunk(cat_rows(encoded))
        outputs, features = {}, {}
        for t in self.tasks:
            if t.name in rows:
                z = shared[rows[t.name]]
                features[t.name] = z
                outputs[t.name] = self.heads[self.keys[t.name]](z)
        return ModelOutput(outputs, features)

    def shared_parameters(self) -> list[nn.Parameter]:
        if len(self.tasks) == 1:
            return []
        return unique_parameters([self.trunk, *self._shared_encoders])
