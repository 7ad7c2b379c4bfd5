"""Building blocks that several sharing strategies use.

- :class:`GroupMLP`: an MLP whose first layer has one version per input group, so
  one network (an expert, a cross-stitch tower) can read the rows of every task,
  whichever table and columns they come from.
- :class:`ExpertBank`: several experts of one shape stored stacked and run as one
  batched product per layer (what MMoE, CGC and PLE run their experts as).
- :func:`linear_blocks`: an ``nn.Sequential`` cut into one block per layer, for
  strategies that act between layers (cross-stitch mixing, hierarchical heads).
- :func:`gate_mix`: a softmax gate's weighted sum of expert outputs, and
  :class:`GateLog`: each gate's mean weights over the last forward pass.
- :func:`distinct_segments` / :func:`by_group`: the distinct input batches of a step
  (tasks that read the same rows share one batch object), so the shared layers run
  once per step on all of them at once, whatever the number of tasks.
- :func:`task_users` / :func:`parameters_used_by_several_tasks`: which parameters
  more than one task's output depends on, read off the autograd graph of probe
  forward passes (what "shared" means for the gated and hierarchical strategies).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mtlcore.models.base import (
    ACTIVATIONS,
    Architecture,
    ModelTask,
    MultiTaskModel,
    module_keys,
    seeded_mlp,
)

Segments = list[tuple[str, Tensor]]  # (input group, rows) per task batch, in task order


class GroupMLP(nn.Module):
    """An MLP through ``widths`` whose first layer has one copy per input group.

    ``encoders[group key]`` maps that group's columns to ``widths[0]``; ``trunk``
    runs ``widths[0] -> ... -> widths[-1]`` (empty with one width). Both end in an
    activation. The names and seeds mirror :class:`~mtlcore.models.hard.HardSharing`
    (``encoders``, ``trunk``; seeds ``(*prefix, "encoder", group)`` and
    ``(*prefix, "trunk")``), so with an empty ``prefix`` the network a task sees
    is exactly its single-task network.
    """

    def __init__(
        self,
        model: MultiTaskModel,
        in_dims: Mapping[str, int],
        widths: Sequence[int],
        prefix: tuple[object, ...] = (),
    ):
        super().__init__()
        self.group_keys = module_keys(list(in_dims))
        arch = model.arch
        self.encoders = nn.ModuleDict(
            {
                self.group_keys[g]: seeded_mlp(
                    model.component_seed(*prefix, "encoder", g), [d, widths[0]], arch,
                    last_activation=True,
                )
                for g, d in in_dims.items()
            }
        )  # fmt: skip
        self.trunk = seeded_mlp(
            model.component_seed(*prefix, "trunk"), list(widths), arch, last_activation=True
        )
        self.trunk_blocks = linear_blocks(self.trunk)

    def encode(self, x: Tensor, group: str) -> Tensor:
        return self.encoders[self.group_keys[group]](x)

    def forward(self, x: Tensor, group: str) -> Tensor:
        return self.trunk(self.encode(x, group))

    def on_segments(self, segments: Segments) -> Tensor:
        """The network on every segment, rows stacked in segment order: one pass per
        input group (segments arrive grouped by input group, see :func:`distinct_segments`)."""
        return self.trunk(cat_rows([self.encode(x, g) for g, x in by_group(segments)]))


class GroupLinear(nn.Module):
    """One linear layer per input group onto a common width (a gate that reads raw inputs)."""

    def __init__(self, model: MultiTaskModel, in_dims: Mapping[str, int], out: int, *parts):
        super().__init__()
        self.group_keys = module_keys(list(in_dims))
        self.layers = nn.ModuleDict(
            {
                self.group_keys[g]: seeded_mlp(
                    model.component_seed(*parts, g), [d, out], model.arch, last_activation=False
                )
                for g, d in in_dims.items()
            }
        )

    def forward(self, x: Tensor, group: str) -> Tensor:
        return self.layers[self.group_keys[group]](x)

    def on_segments(self, segments: Segments) -> Tensor:
        return cat_rows([self(x, g) for g, x in by_group(segments)])


class StackedLinear(nn.Module):
    """E linear layers of one shape as one ``(E, out, in)`` weight and ``(E, out)`` bias;
    row ``e`` is layer ``e``'s ``nn.Linear`` weight (bias)."""

    def __init__(self, layers: Sequence[nn.Linear]):
        super().__init__()
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in layers]))
        self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in layers]))

    def on_shared(self, x: Tensor) -> Tensor:
        """Every layer on the same ``(rows, in)`` input: ``(rows, E·out)``, one product."""
        return F.linear(x, self.weight.flatten(0, 1), self.bias.flatten())

    def forward(self, h: Tensor) -> Tensor:
        """Layer ``e`` on ``h[e]``: ``(E, rows, in) -> (E, rows, out)``, one batched product."""
        return torch.baddbmm(self.bias.unsqueeze(1), h, self.weight.transpose(1, 2))


class ExpertBank(nn.Module):
    """Experts of one shape that read the same input, stored stacked and run together.

    Built from the experts as separate modules (each a :class:`GroupMLP`, or an
    ``nn.Sequential`` of linear layers each followed by the activation), whose weights
    it copies, so it starts exactly where they would (each expert's layers keep their
    own seeded ``nn.Linear`` initialisation). Each layer is one :class:`StackedLinear`:
    the first layer of all experts is one product on their common input, every later
    layer one ``torch.baddbmm``, instead of one product per expert. The output is the
    experts' outputs stacked, ``(experts, rows, width)``. With dropout, the masks of all
    experts are drawn at once.

    Weight files saved when each expert was a module of its own (``<bank>.<e>.…``) are
    stacked on load into this layout (:meth:`_stack_old_keys`).
    """

    def __init__(self, experts: Sequence[nn.Module], arch: Architecture):
        super().__init__()
        if not experts:
            raise ValueError("an expert bank needs at least one expert")
        first = experts[0]
        self.n_experts = len(experts)
        self.group_keys: dict[str, str] | None = None
        self.encoders: nn.ModuleDict | None = None
        if isinstance(first, GroupMLP):
            self.group_keys = first.group_keys
            self.encoders = nn.ModuleDict(
                {k: StackedLinear([_linears(e.encoders[k])[0] for e in experts])
                 for k in first.encoders}
            )  # fmt: skip
            stacks = [_linears(e.trunk) for e in experts]
        else:
            stacks = [_linears(e) for e in experts]
        self.layers = nn.ModuleList(StackedLinear(ls) for ls in zip(*stacks, strict=True))
        self.activation = ACTIVATIONS[arch.activation]()
        self.dropout = nn.Dropout(arch.dropout) if arch.dropout > 0 else None
        self._register_load_state_dict_pre_hook(self._stack_old_keys)

    def _after(self, h: Tensor) -> Tensor:
        h = self.activation(h)
        return self.dropout(h) if self.dropout is not None else h

    def _stacked(self, flat: Tensor, layers: Sequence[StackedLinear]) -> Tensor:
        """``flat`` ((rows, E·width), a first layer's activated output) through ``layers``."""
        h = flat.unflatten(1, (self.n_experts, -1)).transpose(0, 1)
        for layer in layers:
            h = self._after(layer(h))
        return h

    def forward(self, x: Tensor) -> Tensor:
        """Every expert on the same ``(rows, in)`` input (experts without input groups)."""
        return self._stacked(self._after(self.layers[0].on_shared(x)), self.layers[1:])

    def on_segments(self, segments: Segments) -> Tensor:
        """Every expert on every segment, rows stacked in segment order (see
        :meth:`GroupMLP.on_segments`): ``(experts, rows, width)``."""
        assert self.encoders is not None and self.group_keys is not None
        encoded = [self._after(self.encoders[self.group_keys[g]].on_shared(x))
                   for g, x in by_group(segments)]  # fmt: skip
        return self._stacked(cat_rows(encoded), self.layers)

    def _stack_old_keys(self, state_dict, prefix, *args) -> None:
        """Rewrite ``state_dict``'s per-expert entries under ``prefix`` (``<e>.encoders.<g>.<i>.*``,
        ``<e>.trunk.<i>.*`` or ``<e>.<i>.*``) into the stacked ``encoders.<g>.*`` / ``layers.<k>.*``."""
        old = re.compile(
            rf"{re.escape(prefix)}(\d+)\.(?:encoders\.([^.]+)\.\d+|(?:trunk\.)?(\d+))\.(weight|bias)$"
        )
        found: dict[tuple[str, int, str], dict[int, Tensor]] = {}
        for key in [k for k in state_dict if k.startswith(prefix)]:
            m = old.match(key)
            if m is None:
                continue
            expert, group, index, kind = m.groups()
            where = (f"encoders.{group}", 0, kind) if group else ("layers", int(index), kind)
            found.setdefault(where, {})[int(expert)] = state_dict.pop(key)
        if not found:
            return
        ranks = {i: k for k, i in enumerate(sorted({i for n, i, _ in found if n == "layers"}))}
        for (name, index, kind), per_expert in found.items():
            if sorted(per_expert) != list(range(self.n_experts)):
                raise ValueError(
                    f"weights for {prefix!r}: the file has experts {sorted(per_expert)} "
                    f"but the model has {self.n_experts}; load it into a model built with "
                    "the same number of experts"
                )
            new = name if name != "layers" else f"layers.{ranks[index]}"
            state_dict[f"{prefix}{new}.{kind}"] = torch.stack(
                [per_expert[e] for e in sorted(per_expert)]
            )


def _linears(module: nn.Module) -> list[nn.Linear]:
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def distinct_segments(
    tasks: Sequence[ModelTask], xs: Mapping[str, Tensor]
) -> tuple[Segments, dict[str, slice]]:
    """The distinct input batches of the tasks present in ``xs``, and each task's rows.

    Tasks that read the same rows get the same tensor object (``mtlcore.train`` draws
    one batch per batch group), so a batch counts once however many tasks read it.
    The segments come grouped by input group (in order of first appearance), so the
    layer that reads a group's columns runs once on all of its rows
    (:func:`by_group`). ``rows[task]`` is where the task's batch lies in the
    concatenation of the segments. Rows are independent in every layer, so one pass
    over the concatenation equals a pass per task on its own batch.
    """
    groups: dict[str, list[Tensor]] = {}
    seen: set[int] = set()
    for t in tasks:
        x = xs.get(t.name)
        if x is not None and id(x) not in seen:
            seen.add(id(x))
            groups.setdefault(t.input_group, []).append(x)
    segments = [(g, x) for g, batch in groups.items() for x in batch]
    where = {id(x): r for (_, x), r in zip(segments, row_slices([len(x) for _, x in segments]),
                                            strict=True)}  # fmt: skip
    return segments, {t.name: where[id(xs[t.name])] for t in tasks if t.name in xs}


def by_group(segments: Segments) -> Segments:
    """Consecutive segments of one input group joined into one: (group, all its rows)."""
    joined: list[tuple[str, list[Tensor]]] = []
    for g, x in segments:
        if joined and joined[-1][0] == g:
            joined[-1][1].append(x)
        else:
            joined.append((g, [x]))
    return [(g, cat_rows(batch)) for g, batch in joined]


def cat_rows(parts: Sequence[Tensor]) -> Tensor:
    """``torch.cat`` along rows, without a copy for a single part."""
    return parts[0] if len(parts) == 1 else torch.cat(list(parts), dim=0)


def linear_blocks(seq: nn.Sequential) -> tuple[nn.Sequential, ...]:
    """``seq`` cut before each ``nn.Linear``: one block per layer (linear, activation, dropout).

    The blocks hold the same module objects as ``seq`` (no copies, no new parameters).
    They are returned as a tuple so ``nn.Module`` does not register them twice.
    """
    blocks: list[list[nn.Module]] = []
    for m in seq:
        if isinstance(m, nn.Linear) or not blocks:
            blocks.append([])
        blocks[-1].append(m)
    return tuple(nn.Sequential(*b) for b in blocks)


def gate_mix(logits: Tensor, experts: Sequence[Tensor] | Tensor) -> tuple[Tensor, Tensor]:
    """``(Σ_e softmax(logits)_e · experts[e], the softmax weights)``; rows are independent.
    ``experts``: a list of (rows, d) outputs, or their stack (experts, rows, d)."""
    weights = torch.softmax(logits, dim=-1)
    stacked = experts if isinstance(experts, Tensor) else torch.stack(list(experts))
    # A broadcast product summed over the experts: the same numbers as
    # einsum("ne,end->nd"), which runs as `rows` tiny matrix products (7x slower).
    mixed = (weights.T.unsqueeze(-1) * stacked).sum(dim=0)
    return mixed, weights


def group_in_dims(model: MultiTaskModel) -> dict[str, int]:
    """input group -> its input width, in order of first appearance."""
    dims: dict[str, int] = {}
    for t in model.tasks:
        dims.setdefault(t.input_group, t.in_dim)
    return dims


def row_slices(sizes: Sequence[int]) -> list[slice]:
    """Where each of consecutive blocks of ``sizes`` rows lies in their concatenation."""
    out, start = [], 0
    for n in sizes:
        out.append(slice(start, start + n))
        start += n
    return out


def task_users(model: MultiTaskModel) -> dict[str, int]:
    """Parameter name -> how many tasks' outputs depend on it.

    Read off autograd graphs of probe forward passes, one per task with only that
    task's batch (one row of zeros), in eval mode so dropout draws no random
    numbers: a task uses a parameter when its output reaches it. One pass per
    task, because in a joint pass the rows of all tasks may share a tensor, and
    the graph would link a task to layers that only other tasks' rows went
    through. This is the exact meaning of "shared" for gradient-conflict
    measurement and the gradient methods, whatever the wiring of the strategy,
    and it finds parameters no task uses.
    """
    named = list(model.named_parameters())
    if not named:
        return {}
    device = named[0][1].device
    users = [0] * len(named)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            for t in model.tasks:
                out = model({t.name: torch.zeros(1, t.in_dim, device=device)}).outputs[t.name]
                grads = torch.autograd.grad(out.sum(), [p for _, p in named], allow_unused=True)
                users = [n + (g is not None) for n, g in zip(users, grads, strict=True)]
    finally:
        model.train(was_training)
    return {name: n for (name, _), n in zip(named, users, strict=True)}


def parameters_used_by_several_tasks(model: MultiTaskModel) -> list[str]:
    """Names of the parameters that more than one task's output depends on (see :func:`task_users`)."""
    return [name for name, n in task_users(model).items() if n > 1]


def parameters_by_name(model: nn.Module, names: Sequence[str]) -> list[nn.Parameter]:
    params = dict(model.named_parameters())
    return [params[n] for n in names]


GateKey = tuple[int, str | None]  # (level, task name); None names a level's shared gate


class GateLog:
    """Each gate's weights averaged over the rows of the last forward pass.

    ``experts[(level, gate)]`` names the experts a gate chooses among, in its
    weights' order. Means stay tensors until read, so recording syncs no device.
    """

    def __init__(self, experts: Mapping[GateKey, list[str]]):
        self.experts = dict(experts)
        self.means: dict[GateKey, Tensor] = {}

    def record(self, means: dict[GateKey, Tensor]) -> None:
        self.means = means

    def state(
        self, model: MultiTaskModel, xs: Mapping[str, Tensor] | None = None
    ) -> dict[str, Any]:
        """The JSON form; with ``xs``, of a no-grad eval forward of ``xs`` (the record is kept)."""
        means, source = self.means, "last forward pass"
        if xs is not None:
            saved, was_training = self.means, model.training
            model.eval()
            try:
                with torch.no_grad():
                    model(xs)
                means, source = self.means, "given batch"
            finally:
                self.means = saved
                model.train(was_training)
        levels: dict[int, dict[str, Any]] = {}
        for (level, gate), w in means.items():
            entry = levels.setdefault(level, {"level": level, "gates": {}})
            item = {
                "experts": list(self.experts[(level, gate)]),
                "weights": [float(v) for v in w.detach().float().cpu()],
            }
            if gate is None:
                entry["shared_gate"] = item
            else:
                entry["gates"][gate] = item
        return {
            "kind": "gates",
            "source": source,
            "tasks": [t.name for t in model.tasks],
            "levels": [levels[k] for k in sorted(levels)],
        }
