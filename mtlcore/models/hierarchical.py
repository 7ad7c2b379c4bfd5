"""Hierarchical sharing: one shared trunk, each task's head attached at its own depth.

Søgaard, A., Goldberg, Y. (2016). Deep multi-task learning with low level tasks
supervised at lower layers. ACL 2016. Hashimoto, K., Xiong, C., Tsuruoka, Y.,
Socher, R. (2017). A Joint Many-Task Model: Growing a Neural Network for Multiple
NLP Tasks. EMNLP 2017.

The network of hard sharing (``HardSharing``: the same module names and seeds),
but task ``t``'s head reads the output of hidden layer ``depths[t]`` (1-based: 1 is
the layer that reads the inputs, ``len(model.hidden)`` the top, the default). A
task attached low uses only the layers below its head and gets no gradient from
the ones above; the tasks attached higher build on what it learned. Layers above
the highest head are not built. With every head at the top this is hard sharing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import Tensor, nn

from mtlcore.catalogue import HierarchicalOptions
from mtlcore.models.base import (
    Architecture,
    ModelOutput,
    ModelTask,
    MultiTaskModel,
    input_groups,
    module_keys,
    seeded_mlp,
)
from mtlcore.models.parts import (
    by_group,
    cat_rows,
    distinct_segments,
    linear_blocks,
    parameters_by_name,
    parameters_used_by_several_tasks,
)
from mtlcore.models.registry import STRATEGIES


@STRATEGIES.register("hierarchical")
class HierarchicalSharing(MultiTaskModel):
    """Hierarchical sharing. Shared: the layers below more than one task's head (an
    input layer when several tasks read its table's columns). ``features`` are the
    layer each task's head reads, so their widths differ between tasks at different
    depths."""

    def __init__(
        self,
        tasks: Sequence[ModelTask],
        arch: Architecture,
        seed: int,
        options: HierarchicalOptions | None = None,
    ):
        super().__init__(tasks, arch, seed)
        self.options = options = options or HierarchicalOptions()
        h = arch.hidden
        groups = input_groups(self.tasks)
        if len(groups) > 1 and len(h) < 2:
            raise ValueError(
                "model.hidden: tasks that read different columns need at least two hidden "
                "layers under hierarchical sharing (the first reads each table's own "
                "columns, the rest are shared); add a layer, e.g. hidden: [64, 32]"
            )
        self.depths = _validated_depths(options.depths, [t.name for t in self.tasks], len(h))
        self.group_keys = module_keys(list(groups))
        self.encoders = nn.ModuleDict(
            {
                self.group_keys[g]: seeded_mlp(
                    self.component_seed("encoder", g), [ts[0].in_dim, h[0]], arch,
                    last_activation=True,
                )
                for g, ts in groups.items()
            }
        )  # fmt: skip
        # Same seed as hard sharing's trunk; layers are initialised in order, so the
        # first layers of this shorter trunk equal hard sharing's.
        top = max(self.depths.values())
        self.trunk = seeded_mlp(
            self.component_seed("trunk"), list(h[:top]), arch, last_activation=True
        )
        self.trunk_blocks = linear_blocks(self.trunk)
        self.heads = nn.ModuleDict(
            {
                self.keys[t.name]: seeded_mlp(
                    self.component_seed("head", t.name),
                    [h[self.depths[t.name] - 1], *arch.head_hidden, t.out_dim], arch,
                    last_activation=False,
                )
                for t in self.tasks
            }
        )  # fmt: skip
        self._shared = parameters_used_by_several_tasks(self)

    def forward(self, xs: Mapping[str, Tensor]) -> ModelOutput:
        """One pass up the shared layers over every distinct batch (:func:`distinct_segments`),
        as high as the highest head present; each head reads its task's rows at its depth."""
        segments, rows = distinct_segments(self.tasks, xs)
        if not segments:
            return ModelOutput({}, {})
        present = [t for t in self.tasks if t.name in rows]
        z = cat_rows([self.encoders[self.group_keys[g]](x) for g, x in by_group(segments)])
        outputs, features = {}, {}
        for depth in range(1, max(self.depths[t.name] for t in present) + 1):
            if depth > 1:
                z = self.trunk_blocks[depth - 2](z)
            for t in present:
                if self.depths[t.name] == depth:
                    features[t.name] = z[rows[t.name]]
                    outputs[t.name] = self.heads[self.keys[t.name]](features[t.name])
        return ModelOutput(outputs, features)

    def shared_parameters(self) -> list[nn.Parameter]:
        return parameters_by_name(self, self._shared)


def _validated_depths(depths: dict[str, int], names: list[str], n_layers: int) -> dict[str, int]:
    unknown = [k for k in depths if k not in names]
    if unknown:
        raise ValueError(
            f"model.options.depths: no task named {', '.join(map(repr, unknown))}; "
            f"the tasks are: {', '.join(map(repr, names))}"
        )
    bad = {k: v for k, v in depths.items() if not 1 <= v <= n_layers}
    if bad:
        k, v = next(iter(bad.items()))
        raise ValueError(
            f"model.options.depths: {k!r} is at depth {v}, but model.hidden has {n_layers} "
            f"layer{'s' if n_layers != 1 else ''}; use a depth from 1 to {n_layers} "
            "(1 reads the layer next to the inputs)"
        )
    return {n: depths.get(n, n_layers) for n in names}
