"""Progressive layered extraction (PLE): stacked levels of shared and task experts.

Tang, H., Liu, J., Zhao, M., Gong, X. (2020). Progressive Layered Extraction (PLE):
A Novel Multi-Task Learning (MTL) Model for Personalized Recommendations. RecSys 2020.

Each level (an *extraction layer*) has ``n_shared_experts`` shared experts and
``n_task_experts`` experts per task. Task ``t``'s gate mixes ``t``'s experts and
the shared experts; on every level but the last, a shared gate mixes *all*
experts into the input of the next level's shared experts, so task experts feed
the other tasks too, one level up. One level is CGC (``mtlcore.models.cgc``).

The hidden widths (``expert_hidden``, default ``model.hidden``) are split among
the levels in order, earlier levels taking the extra layer when they do not
divide evenly: with ``hidden: [64, 32]`` and two levels, level-1 experts are one
layer to 64 units and level-2 experts one layer 64 -> 32. So a PLE network is as
deep as its hard-sharing counterpart, and ``n_levels`` can be at most the number
of widths. Level-1 experts and gates read raw inputs: where they may see the rows
of tasks from different tables, their first layer has one copy per input group.

Rows of different tasks never mix (a task's output does not depend on which
other tasks are in the batch). Parts run on the rows they matter for: the shared
path and the inner levels' task experts on every task's rows (the shared gate
mixes them all), a task's gate on every row only below the last two levels, and
everything else on the task's own rows. A task's path through a level-1 layer of
another table exists only where the shared path needs it.

Example::

    model = build_model("ple", tasks, Architecture(hidden=(64, 32)), seed=0,
                        options={"n_levels": 2, "n_shared_experts": 2, "n_task_experts": 1})
    model(xs)
    model.mixing_state()["levels"][0]["shared_gate"]  # {"experts": [...], "weights": [...]}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mtlcore.catalogue import PLEOptions
from mtlcore.models.base import Architecture, ModelOutput, ModelTask, MultiTaskModel, seeded_mlp
from mtlcore.models.parts import (
    ExpertBank,
    GateLog,
    GroupLinear,
    GroupMLP,
    Segments,
    distinct_segments,
    gate_mix,
    group_in_dims,
    parameters_by_name,
    parameters_used_by_several_tasks,
)
from mtlcore.models.registry import STRATEGIES


def split_widths(widths: Sequence[int], n_levels: int) -> list[list[int]]:
    """``widths`` cut into ``n_levels`` consecutive runs, earlier runs one longer if uneven."""
    q, r = divmod(len(widths), n_levels)
    out, start = [], 0
    for i in range(n_levels):
        n = q + (i < r)
        out.append(list(widths[start : start + n]))
        start += n
    return out


class ExtractionLevel(nn.Module):
    """One level: shared experts, each task's experts, each task's gate, maybe a shared gate."""

    def __init__(
        self,
        model: MultiTaskModel,
        level: int,
        widths: list[int],
        in_width: int | None,  # None: level 1, reading raw inputs
        n_levels: int,
        n_shared: int,
        n_task: int,
    ):
        super().__init__()
        tasks, arch = model.tasks, model.arch
        all_dims = group_in_dims(model)
        last = level == n_levels

        def expert(dims: dict[str, int], *name: object) -> nn.Module:
            if in_width is None:
                return GroupMLP(model, dims, widths, ("level", level, *name))
            seed = model.component_seed("level", level, *name, "trunk")
            return seeded_mlp(seed, [in_width, *widths], arch, last_activation=True)

        def bank(dims: dict[str, int], n: int, *name: object) -> ExpertBank:
            # each expert built and seeded on its own, then stored stacked
            return ExpertBank([expert(dims, *name, e) for e in range(n)], arch)

        def gate(dims: dict[str, int], n_out: int, *name: object) -> nn.Module:
            if in_width is None:
                return GroupLinear(model, dims, n_out, "level", level, *name)
            seed = model.component_seed("level", level, *name)
            return seeded_mlp(seed, [in_width, n_out], arch, last_activation=False)

        def dims(t: ModelTask, own_rows: bool) -> dict[str, int]:
            return {t.input_group: t.in_dim} if own_rows else all_dims

        # Which rows each part sees (so which tables its level-1 layers read): task
        # experts feed this level's shared gate, so all rows but on the last level;
        # a task's gate feeds its experts one level up, so all rows only when those
        # feed a shared gate in turn (below the last two levels).
        self.shared_experts = bank(all_dims, n_shared, "shared")
        self.task_experts = nn.ModuleDict(
            {model.keys[t.name]: bank(dims(t, last), n_task, "task", t.name)
             for t in tasks if n_task > 0}
        )  # fmt: skip
        self.gates = nn.ModuleDict(
            {
                model.keys[t.name]: gate(
                    dims(t, level >= n_levels - 1), n_task + n_shared, "gate", t.name
                )
                for t in tasks
            }
        )
        self.shared_gate = (
            None if last else gate(all_dims, len(tasks) * n_task + n_shared, "shared_gate")
        )
        self.width = widths[-1]


def _run(m: nn.Module, q: Tensor | None, segments: Segments) -> Tensor:
    """``m`` on the level's input: a tensor, or (level 1, ``q`` None) the raw segments."""
    return m.on_segments(segments) if q is None else m(q)


def _stack(parts: list[Tensor]) -> Tensor:
    """Expert banks' outputs ``(experts, rows, width)`` as one stack, in order."""
    return parts[0] if len(parts) == 1 else torch.cat(parts)


@STRATEGIES.register("ple")
class ProgressiveLayeredExtraction(MultiTaskModel):
    """PLE. Shared: every parameter that more than one task's output depends on (found
    from the autograd graph when the model is built): the shared experts and shared
    gates; on inner levels also the task experts, and below the last two levels the
    task gates, since they feed the shared path. A level-1 layer that reads one
    table's columns is shared only when several tasks read that table. ``features``
    are what each task's head reads: the last level's gate mixture for that task."""

    def __init__(
        self,
        tasks: Sequence[ModelTask],
        arch: Architecture,
        seed: int,
        options: PLEOptions | None = None,
    ):
        super().__init__(tasks, arch, seed)
        self.options = options = options or PLEOptions()
        widths = list(options.expert_hidden or arch.hidden)
        if options.n_levels > len(widths):
            source = "model.options.expert_hidden" if options.expert_hidden else "model.hidden"
            raise ValueError(
                f"model.options.n_levels: {options.n_levels} levels need at least "
                f"{options.n_levels} expert layers (one per level), but {source} has "
                f"{len(widths)}; add widths to {source} or lower n_levels"
            )
        levels, in_width = [], None
        for i, w in enumerate(split_widths(widths, options.n_levels)):
            levels.append(
                ExtractionLevel(
                    self, i + 1, w, in_width, options.n_levels,
                    options.n_shared_experts, options.n_task_experts,
                )
            )  # fmt: skip
            in_width = w[-1]
        self.levels = nn.ModuleList(levels)
        self.heads = nn.ModuleDict(
            {
                self.keys[t.name]: seeded_mlp(
                    self.component_seed("head", t.name),
                    [widths[-1], *arch.head_hidden, t.out_dim], arch, last_activation=False,
                )
                for t in self.tasks
            }
        )  # fmt: skip
        # The shared gate lists task experts by task name, not config order, so that
        # reordering the tasks only reorders the outputs.
        self.sorted_names = sorted(t.name for t in self.tasks)
        self.gate_log = GateLog(self._expert_names())
        self._shared = parameters_used_by_several_tasks(self)
        self.gate_log.record({})  # forget the probe pass

    def _expert_names(self) -> dict[tuple[int, str | None], list[str]]:
        o = self.options
        shared = [f"shared {e + 1}" for e in range(o.n_shared_experts)]
        own = {t.name: [f"{t.name} {e + 1}" for e in range(o.n_task_experts)] for t in self.tasks}
        names: dict[tuple[int, str | None], list[str]] = {}
        for level in range(1, o.n_levels + 1):
            for t in self.tasks:
                names[(level, t.name)] = own[t.name] + shared
            if level < o.n_levels:
                names[(level, None)] = [n for name in self.sorted_names for n in own[name]] + shared
        return names

    def forward(self, xs: Mapping[str, Tensor]) -> ModelOutput:
        present = [t for t in self.tasks if t.name in xs]
        if not present:
            return ModelOutput({}, {})
        # Every distinct batch once (tasks that read the same rows share one batch).
        segments, rows = distinct_segments(self.tasks, xs)
        own_segment = {t.name: [(t.input_group, xs[t.name])] for t in present}
        n = len(self.levels)
        means: dict[tuple[int, str | None], Tensor] = {}

        # A path's input: a tensor, or None for the raw inputs of level 1. Task paths hold
        # every row below the last two levels (they feed a shared gate), then only the
        # task's own rows; the shared path holds every row.
        q_task: dict[str, Tensor | None] = dict.fromkeys(t.name for t in self.tasks)
        q_shared: Tensor | None = None
        for number, level in enumerate(self.levels[:-1], start=1):
            # Each bank's experts as one stack (experts, rows, width).
            shared = _run(level.shared_experts, q_shared, segments)
            own = {
                t.name: [_run(level.task_experts[self.keys[t.name]], q_task[t.name], segments)]
                if self.keys[t.name] in level.task_experts else []
                for t in self.tasks
            }  # fmt: skip
            new_task: dict[str, Tensor | None] = {}
            for t in self.tasks:
                gate, choices = level.gates[self.keys[t.name]], _stack([*own[t.name], shared])
                if number < n - 1:  # every row
                    z, w = gate_mix(_run(gate, q_task[t.name], segments), choices)
                    w = w[rows[t.name]] if t.name in rows else None
                elif t.name in rows:  # the next level is the last: the task's own rows
                    r, q = rows[t.name], q_task[t.name]
                    q = None if q is None else q[r]
                    z, w = gate_mix(_run(gate, q, own_segment[t.name]), choices[:, r])
                else:
                    continue
                new_task[t.name] = z
                if w is not None:  # a task's gate, averaged over the task's own rows
                    means[(number, t.name)] = w.detach().mean(dim=0)
            everyone = _stack([x for name in self.sorted_names for x in own[name]] + [shared])
            q_shared, w = gate_mix(_run(level.shared_gate, q_shared, segments), everyone)
            means[(number, None)] = w.detach().mean(dim=0)
            q_task = new_task

        # Last level: each task's path on its own rows.
        last = self.levels[-1]
        shared_all = _run(last.shared_experts, q_shared, segments)
        outputs, features, extra = {}, {}, {}
        for t in present:
            r, key = rows[t.name], self.keys[t.name]
            q = q_task[t.name] if n > 1 else None  # already the task's own rows
            own = (
                [_run(last.task_experts[key], q, own_segment[t.name])]
                if key in last.task_experts
                else []
            )
            logits = _run(last.gates[key], q, own_segment[t.name])
            z, w = gate_mix(logits, _stack([*own, shared_all[:, r]]))
            features[t.name] = z
            outputs[t.name] = self.heads[key](z)
            extra[f"gate:{t.name}"] = w
            means[(n, t.name)] = w.detach().mean(dim=0)
        self.gate_log.record(means)
        return ModelOutput(outputs, features, extra)

    def shared_parameters(self) -> list[nn.Parameter]:
        return parameters_by_name(self, self._shared)

    def mixing_state(self, xs: Mapping[str, Tensor] | None = None) -> dict[str, Any]:
        """Gate weights per level: each task's gate averaged over that task's rows and the
        shared gate over all rows, of the last forward pass (or of ``xs``, leaving the
        record of the last pass as it was)."""
        return self.gate_log.state(self, xs)
