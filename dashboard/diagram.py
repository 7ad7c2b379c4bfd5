"""The network a sharing strategy builds, as Graphviz DOT text (``st.graphviz_chart``).

A pure function of the strategy, the tasks (name, table, input columns), the layer
widths and the strategy's options: inputs at the top, task outputs at the bottom;
shared parts grey, a task's own parts in its colour; experts and gates for
MMoE/CGC/PLE, one tower per task for independent, soft (dashed ties) and
cross-stitch (α units between layers). Node ids are generated; user names only
ever appear inside escaped, quoted labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dashboard.datasets import TaskView

SHARED_FILL = "#e8e8e8"
INPUT_FILL = "#f7f7f7"
MAX_DRAWN_EXPERTS = 5


def dot_escape(text: str) -> str:
    """Text safe inside a double-quoted DOT label."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def widths_text(widths: Sequence[int]) -> str:
    return " → ".join(str(w) for w in widths) if widths else "—"


@dataclass
class Graph:
    """A small DOT builder that hands out node ids."""

    lines: list[str] = field(default_factory=list)
    n: int = 0

    def node(self, label: str, **attrs: str) -> str:
        self.n += 1
        nid = f"n{self.n}"
        extra = "".join(f', {k}="{v}"' for k, v in attrs.items())
        self.lines.append(f'  {nid} [label="{dot_escape(label)}"{extra}];')
        return nid

    def edge(self, a: str, b: str, **attrs: str) -> None:
        extra = ", ".join(f'{k}="{v}"' for k, v in attrs.items())
        self.lines.append(f"  {a} -> {b}" + (f" [{extra}];" if extra else ";"))

    def text(self) -> str:
        head = [
            "digraph network {",
            '  rankdir="TB"; nodesep="0.3"; ranksep="0.35";',
            '  node [shape="box", style="rounded,filled", fontname="Helvetica", fontsize="14", '
            f'fillcolor="{SHARED_FILL}", color="#777777"];',
            '  edge [color="#777777", arrowsize="0.6"];',
        ]
        return "\n".join([*head, *self.lines, "}"])


def network_dot(
    strategy: str,
    tasks: Sequence[TaskView],
    *,
    hidden: Sequence[int],
    head_hidden: Sequence[int] = (),
    options: Mapping[str, Any] | None = None,
    colors: Mapping[str, str] | None = None,
) -> str:
    """DOT text of the network ``strategy`` builds for ``tasks``."""
    g = Graph()
    if not tasks:
        g.node("Choose at least one task on the Data page", shape="plaintext", style="")
        return g.text()
    colors = colors or {}
    opts = dict(options or {})
    inputs = _inputs(g, tasks)
    draw = _DRAWERS.get(strategy, _hard)
    ends = draw(g, tasks, inputs, list(hidden), opts, colors)
    for t in tasks:
        _head(g, t, ends[t.name], head_hidden, colors)
    return g.text()


def _inputs(g: Graph, tasks: Sequence[TaskView]) -> dict[str, str]:
    """One input node per input group (tasks reading the same columns of the same table)."""
    nodes: dict[str, str] = {}
    by_group: dict[tuple[str, tuple[str, ...]], str] = {}
    for t in tasks:
        group = (t.table, t.inputs)
        if group not in by_group:
            cols = ", ".join(t.inputs[:4]) + (
                f", … (+{len(t.inputs) - 4})" if len(t.inputs) > 4 else ""
            )
            label = f"{t.table}\n{cols}" if cols else t.table
            by_group[group] = g.node(label, shape="note", fillcolor=INPUT_FILL)
        nodes[t.name] = by_group[group]
    return nodes


def _task_fill(colors: Mapping[str, str], task: str) -> dict[str, str]:
    c = colors.get(task, "#1f77b4")
    return {"fillcolor": c + "33", "color": c}


def _head(
    g: Graph, t: TaskView, src: str, head_hidden: Sequence[int], colors: Mapping[str, str]
) -> None:
    c = colors.get(t.name, "#1f77b4")
    label = "head" + (f" {widths_text(head_hidden)} →" if head_hidden else "") + " output"
    head = g.node(label, **_task_fill(colors, t.name))
    out = g.node(t.name, shape="ellipse", style="filled", fillcolor=c, fontcolor="white", color=c)
    g.edge(src, head)
    g.edge(head, out)


def _encoders(
    g: Graph, tasks: Sequence[TaskView], inputs: dict[str, str], width: int
) -> dict[str, str]:
    """The first layer per input group, shared by the tasks of that group."""
    out: dict[str, str] = {}
    made: dict[str, str] = {}
    for t in tasks:
        src = inputs[t.name]
        if src not in made:
            n_tasks = sum(inputs[o.name] == src for o in tasks)
            label = f"input layer → {width}" + (" (shared)" if n_tasks > 1 else "")
            made[src] = g.node(label)
            g.edge(src, made[src])
        out[t.name] = made[src]
    return out


def _hard(g, tasks, inputs, hidden, opts, colors) -> dict[str, str]:
    enc = _encoders(g, tasks, inputs, hidden[0])
    last: dict[str, str] = dict(enc)
    prev_nodes = set(enc.values())
    if len(hidden) > 1:
        top = g.node(f"shared layers\n{widths_text(hidden)}")
        for n in prev_nodes:
            g.edge(n, top)
        last = {t.name: top for t in tasks}
    return last


def _hierarchical(g, tasks, inputs, hidden, opts, colors) -> dict[str, str]:
    depths = {str(k): int(v) for k, v in (opts.get("depths") or {}).items()}
    enc = _encoders(g, tasks, inputs, hidden[0])
    layers = {1: enc}
    top = max([min(max(1, depths.get(t.name, len(hidden))), len(hidden)) for t in tasks])
    prev = set(enc.values())
    for d in range(2, top + 1):
        node = g.node(f"shared layer {d}: {hidden[d - 1]}")
        for p in prev:
            g.edge(p, node)
        prev = {node}
        layers[d] = {t.name: node for t in tasks}
    return {
        t.name: layers[min(max(1, depths.get(t.name, len(hidden))), len(hidden))][t.name]
        for t in tasks
    }


def _towers(g, tasks, inputs, hidden, colors) -> dict[str, list[str]]:
    """One tower per task: a node per hidden layer, in the task's colour."""
    towers = {}
    for t in tasks:
        nodes = [g.node(f"{t.name}: layer {i + 1} → {w}", **_task_fill(colors, t.name))
                 for i, w in enumerate(hidden)]  # fmt: skip
        g.edge(inputs[t.name], nodes[0])
        for a, b in zip(nodes, nodes[1:]):
            g.edge(a, b)
        towers[t.name] = nodes
    return towers


def _independent(g, tasks, inputs, hidden, opts, colors) -> dict[str, str]:
    return {k: v[-1] for k, v in _towers(g, tasks, inputs, hidden, colors).items()}


def _soft(g, tasks, inputs, hidden, opts, colors) -> dict[str, str]:
    towers = _towers(g, tasks, inputs, hidden, colors)
    lam = opts.get("tie_lambda", 0.1)
    names = [t.name for t in tasks]
    for a, b in zip(names, names[1:]):
        for i, (x, y) in enumerate(zip(towers[a], towers[b])):
            if i == 0 and inputs[a] != inputs[b]:
                continue  # input layers of different tables are never tied
            g.edge(x, y, dir="none", style="dashed", constraint="false", color="#999999",
                   label=f"tie λ={lam:g}" if i == len(hidden) - 1 else "", fontsize="9")  # fmt: skip
    return {k: v[-1] for k, v in towers.items()}


def _cross_stitch(g, tasks, inputs, hidden, opts, colors) -> dict[str, str]:
    towers = _towers(g, tasks, inputs, hidden, colors)
    for t in tasks:  # the towers' chains are redrawn through the α units below
        g.lines = [ln for ln in g.lines if not _chain_edge(ln, towers[t.name])]
    ends = {t.name: towers[t.name][0] for t in tasks}
    for i in range(len(hidden)):
        unit = g.node(f"cross-stitch α{i + 1}", shape="circle", fixedsize="false", fontsize="9")
        for t in tasks:
            g.edge(towers[t.name][i], unit)
        for t in tasks:
            if i + 1 < len(hidden):
                g.edge(unit, towers[t.name][i + 1])
        if i + 1 == len(hidden):
            ends = {t.name: unit for t in tasks}
    return ends


def _chain_edge(line: str, nodes: list[str]) -> bool:
    return any(line.strip() == f"{a} -> {b};" for a, b in zip(nodes, nodes[1:]))


def _experts(g: Graph, n: int, label: str, widths: Sequence[int], **attrs: str) -> list[str]:
    """Up to MAX_DRAWN_EXPERTS expert nodes; more are drawn as one stacked node."""
    if n <= MAX_DRAWN_EXPERTS:
        return [g.node(f"{label} {i + 1}\n{widths_text(widths)}", **attrs) for i in range(n)]
    return [g.node(f"{n} × {label}\n{widths_text(widths)}", shape="box3d", **attrs)]


def _gate(g: Graph, task: str, colors: Mapping[str, str]) -> str:
    return g.node(f"gate {task}", shape="diamond", **_task_fill(colors, task), fontsize="9")


def _mmoe(g, tasks, inputs, hidden, opts, colors) -> dict[str, str]:
    widths = list(opts.get("expert_hidden") or hidden)
    experts = _experts(g, int(opts.get("n_experts", 4)), "expert", widths)
    for src in dict.fromkeys(inputs.values()):
        for e in experts:
            g.edge(src, e)
    ends = {}
    for t in tasks:
        gate = _gate(g, t.name, colors)
        g.edge(inputs[t.name], gate, style="dotted")
        for e in experts:
            g.edge(e, gate)
        ends[t.name] = gate
    return ends


def _cgc(g, tasks, inputs, hidden, opts, colors) -> dict[str, str]:
    return _ple(g, tasks, inputs, hidden, {**opts, "n_levels": 1}, colors)


def _ple(g, tasks, inputs, hidden, opts, colors) -> dict[str, str]:
    widths = list(opts.get("expert_hidden") or hidden)
    n_levels = max(1, min(int(opts.get("n_levels", 2)), len(widths)))
    n_shared, n_task = int(opts.get("n_shared_experts", 2)), int(opts.get("n_task_experts", 1))
    task_src = {t.name: [inputs[t.name]] for t in tasks}
    shared_src = list(dict.fromkeys(inputs.values()))
    # as the PLE model splits them (mtlcore.models.ple.split_widths), without importing torch
    levels = [[int(x) for x in run] for run in np.array_split(widths, n_levels)]
    for level, w in enumerate(levels, start=1):
        tag = f"L{level} " if n_levels > 1 else ""
        shared = _experts(g, n_shared, f"{tag}shared expert", w)
        for s in shared_src:
            for e in shared:
                g.edge(s, e)
        own: dict[str, list[str]] = {}
        for t in tasks:
            own[t.name] = (
                _experts(g, n_task, f"{tag}{t.name} expert", w, **_task_fill(colors, t.name))
                if n_task
                else []
            )
            for s in task_src[t.name]:
                for e in own[t.name]:
                    g.edge(s, e)
        gates = {}
        for t in tasks:
            gates[t.name] = _gate(g, f"{t.name}{' L' + str(level) if n_levels > 1 else ''}", colors)
            for e in own[t.name] + shared:
                g.edge(e, gates[t.name])
        if level < n_levels:
            sg = g.node(f"L{level} shared gate", shape="diamond", fontsize="9")
            for e in shared + [e for es in own.values() for e in es]:
                g.edge(e, sg)
            shared_src = [sg]
        task_src = {t: [gates[t]] for t in gates}
    return {t.name: task_src[t.name][0] for t in tasks}


_DRAWERS = {
    "hard": _hard,
    "hierarchical": _hierarchical,
    "independent": _independent,
    "soft": _soft,
    "cross_stitch": _cross_stitch,
    "mmoe": _mmoe,
    "cgc": _cgc,
    "ple": _ple,
}


def describe(strategy: str) -> str:
    """A one-line legend for the diagram."""
    if strategy in ("mmoe", "cgc", "ple"):
        return "Grey: shared experts. Coloured: a task's own gate (◇), experts and head."
    if strategy in ("independent", "soft", "cross_stitch"):
        return "One tower per task, in the task's colour; grey: what connects them."
    return "Grey: layers the tasks share. Coloured: each task's own head."
