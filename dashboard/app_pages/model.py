"""Model page: sharing strategy (with a diagram of its network), loss weighting, training settings
and the joint objective with the current values."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

import streamlit as st

from dashboard import state, ui
from dashboard.charts import task_colors
from dashboard.diagram import describe, network_dot
from dashboard.draft import format_ints, parse_seeds, parse_widths
from dashboard.objective import is_gradient_method, objective_latex
from dashboard.text import md_escape
from dashboard.widgets import option_widgets
from mtlcore.config import TrainConfig
from mtlcore.models import STRATEGIES
from mtlcore.weighting import METHODS

LR_GRID = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
BATCH_GRID = [8, 16, 32, 64, 128, 256, 512]
LAMBDA_GRID = [0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
DEFAULT_EPOCHS = TrainConfig.model_fields["epochs"].default
STEPS_DEFAULT = 500  # what the steps field starts from when a user switches to steps


def main() -> None:
    st.title("Model")
    st.write(
        "How the tasks share parameters, how their losses are weighted, and how the "
        "network is trained. The diagram and the objective follow your choices."
    )
    tasks = ui.draft_tasks()
    names = [t.name for t in tasks]
    if not names:
        st.info("No tasks yet: choose or map some on the Data page.")
    d = state.draft()
    has_options = {
        "strategy_options": bool(STRATEGIES[d["model"]["strategy"]].options_model.model_fields),
        "weights": bool(METHODS[d["weighting"]["method"]].options_model.model_fields),
    }
    side_by_side(strategy_section, diagram, names, tasks,
                 [c for c in STRATEGY_CONTROLS if has_options.get(c, True)])  # fmt: skip
    st.divider()
    side_by_side(weighting_section, objective, names, names,
                 [c for c in WEIGHTING_CONTROLS if has_options.get(c, True)])  # fmt: skip
    if visible(TRAINING_CONTROLS):
        st.divider()
        training_section()


# What ?hide= can name in each section: a section whose controls are all hidden (classroom
# mode) is left out, and its drawing takes the whole width.
STRATEGY_CONTROLS = ("strategy", "hidden", "head_hidden", "activation", "dropout",
                     "strategy_options")  # fmt: skip
WEIGHTING_CONTROLS = ("method", "weights")
OPTIMISER_CONTROLS = ("optimizer", "lr", "momentum", "weight_decay")
LENGTH_CONTROLS = ("epochs", "batch_size", "schedule")
REGULARISER_CONTROLS = ("regularization", "reg_lambda")
RUNS_CONTROLS = ("seeds", "baselines")
MEASUREMENT_CONTROLS = ("snapshot_every", "grad_cosine_every", "affinity_every", "pairwise")
TRAINING_CONTROLS = (*OPTIMISER_CONTROLS, *LENGTH_CONTROLS, *REGULARISER_CONTROLS,
                     *RUNS_CONTROLS, *MEASUREMENT_CONTROLS)  # fmt: skip


def visible(controls: Sequence[str]) -> bool:
    """Whether any of these controls is shown (not all hidden by the link)."""
    return not all(state.is_hidden(c) for c in controls)


def side_by_side(controls_fn, drawing_fn, controls_arg, drawing_arg, ids) -> None:
    """The controls left, what they build right; the drawing alone when they are hidden."""
    if not visible(ids):
        drawing_fn(drawing_arg)
        return
    left, right = st.columns([5, 6], gap="large")
    with left:
        controls_fn(controls_arg)
    with right:
        drawing_fn(drawing_arg)


def strategy_section(tasks: list[str]) -> None:
    st.subheader("Sharing strategy")
    d = state.draft()
    strategy = state.control(
        st.selectbox, "Strategy", ("model", "strategy"), options=list(STRATEGIES),
        format_func=lambda n: STRATEGIES[n].title, on_change=clear_options, args=("model",),
    )  # fmt: skip
    entry = STRATEGIES[strategy]
    explain_unless_hidden(entry, "strategy")
    state.control(
        st.text_input, "Hidden layer widths", ("model", "hidden"), hide_id="hidden",
        help="The trunk: the first layer reads each table's columns; under hard sharing the "
        "rest are shared by every task. Comma-separated, e.g. 64, 32.",
        to_widget=format_ints, from_widget=lambda s: parse_widths(s, what="hidden layer widths"),
    )  # fmt: skip
    state.control(
        st.text_input, "Head layer widths (each task's own)", ("model", "head_hidden"),
        help="Layers inside each task's head before its output; empty for none.",
        to_widget=format_ints,
        from_widget=lambda s: parse_widths(s, what="head layer widths", allow_empty=True),
    )  # fmt: skip
    activation, dropout = visible_columns(("activation", "dropout"))
    with activation or nullcontext():  # hidden: control() draws nothing
        state.control(
            st.selectbox, "Activation", ("model", "activation"), options=["relu", "tanh", "gelu"]
        )
    with dropout or nullcontext():
        state.control(
            st.slider, "Dropout", ("model", "dropout"), min_value=0.0, max_value=0.9, step=0.05
        )
    if entry.options_model.model_fields and not state.is_hidden("strategy_options"):
        st.markdown(f"**{entry.title} options**")
        option_widgets(entry.options_model, ("model", "options"), tasks=tasks,
                       hide_id="strategy_options", depth_limit=len(d["model"]["hidden"]))  # fmt: skip


def explain_unless_hidden(entry: Any, control: str) -> None:
    """The choice's description; when the link fixes the choice, one line naming it (its
    description would explain a control the student does not see)."""
    if state.is_hidden(control):
        st.caption(f"{md_escape(entry.title)}, fixed by this link.")
    else:
        ui.explain(entry)


def visible_columns(groups: Sequence[str | Sequence[str]]) -> list[Any]:
    """One column per group of controls with something shown, None for a group the link
    hides entirely (no empty columns). A group is a control or a tuple of them."""
    shown = [visible((g,) if isinstance(g, str) else g) for g in groups]
    cols = iter(st.columns(sum(shown)) if any(shown) else [])
    return [next(cols) if s else None for s in shown]


def clear_options(section: str) -> None:
    """Another strategy or method: its own options, from their defaults."""
    state.draft()[section]["options"] = {}
    state.reset_widgets(f"{section}.options")


def diagram(tasks: list[Any]) -> None:
    d = state.draft()
    m = d["model"]
    st.subheader("The network it builds")
    dot = network_dot(
        m["strategy"], tasks, hidden=m["hidden"], head_hidden=m["head_hidden"],
        options=m["options"], colors=task_colors([t.name for t in tasks]),
    )  # fmt: skip
    st.graphviz_chart(dot, width="stretch")
    st.caption(describe(m["strategy"]) + " Inputs at the top, each task's output at the bottom.")


def weighting_section(tasks: list[str]) -> None:
    st.subheader("Loss weighting")
    method = state.control(
        st.selectbox, "Method", ("weighting", "method"), options=list(METHODS),
        format_func=lambda n: METHODS[n].title, on_change=clear_options, args=("weighting",),
    )  # fmt: skip
    entry = METHODS[method]
    explain_unless_hidden(entry, "method")
    if entry.options_model.model_fields:
        option_widgets(
            entry.options_model, ("weighting", "options"), tasks=tasks, hide_id="weights"
        )


def objective(tasks: list[str]) -> None:
    d = state.draft()
    method, t = d["weighting"]["method"], d["train"]
    weights: dict[str, float] | None = None
    if method == "equal":
        weights = {n: 1.0 for n in tasks}
    elif method == "static":
        given = d["weighting"]["options"].get("weights") or {}
        weights = {n: float(given.get(n, 1.0)) for n in tasks}
    st.subheader("The objective")
    st.latex(
        objective_latex(
            tasks, weights=weights, method_title=METHODS[method].title,
            gradient_method=is_gradient_method(method),
            regularization=t["regularization"], reg_lambda=t["reg_lambda"],
        )
    )  # fmt: skip
    st.caption(
        "L_i is the mean squared error of a regression task and the cross-entropy of a "
        "classification task, on its own rows. "
        + ("The weights w_i(t) are set by the method as training goes; the Train page "
           "draws them." if weights is None else "The weights are fixed.")
    )  # fmt: skip


def training_section() -> None:
    st.subheader("Training")
    d = state.draft()
    t = d["train"]
    opt = t["optimizer"]
    optimiser = ("optimizer", "lr", *(("momentum",) if opt == "sgd" else ()),
                 *(("weight_decay",) if opt == "adamw" else ()))  # fmt: skip
    regulariser = ("regularization", *(("reg_lambda",) if t["regularization"] != "none" else ()))
    c1, c2, c3, c4 = visible_columns([optimiser, LENGTH_CONTROLS, regulariser, RUNS_CONTROLS])
    with c1 or nullcontext():
        opt = state.control(st.selectbox, "Optimiser", ("train", "optimizer"),
                            options=["adam", "adamw", "sgd"], hide_id="optimizer")  # fmt: skip
        state.control(st.select_slider, "Learning rate", ("train", "lr"), hide_id="lr",
                      options=sorted({*LR_GRID, float(t["lr"])}))  # fmt: skip
        if opt == "sgd":
            state.control(st.slider, "Momentum", ("train", "momentum"), min_value=0.0,
                          max_value=0.99, step=0.01)  # fmt: skip
        if opt == "adamw":
            state.control(st.select_slider, "Weight decay", ("train", "weight_decay"),
                          options=sorted({*LAMBDA_GRID, float(t["weight_decay"])}))  # fmt: skip
    with c2 or nullcontext():
        length_controls(t)
        state.control(st.select_slider, "Batch size", ("train", "batch_size"),
                      options=sorted({*BATCH_GRID, int(t["batch_size"])}))  # fmt: skip
        sched = state.control(
            st.selectbox, "Learning-rate schedule", ("train", "schedule"),
            options=["none", "cosine", "step"],
            format_func={"none": "constant", "cosine": "cosine to 0",
                         "step": "step (× γ at each drop)"}.get,
            help="After the warm-up: constant, annealed to 0 along a cosine, or multiplied "
            "by γ at each drop. The Train page draws the rate per epoch.",
        )  # fmt: skip
        state.control(st.number_input, "Warm-up steps", ("train", "warmup_steps"),
                      hide_id="schedule", min_value=0, max_value=100_000, step=10,
                      help="The learning rate rises linearly from 0 over these steps.")  # fmt: skip
        if sched == "step":
            state.control(st.select_slider, "γ (factor at each drop)", ("train", "step_gamma"),
                          hide_id="schedule", options=sorted({0.1, 0.3, 0.5, 0.7, 0.9,
                                                              float(t["step_gamma"])}))  # fmt: skip
    with c3 or nullcontext():
        reg = state.control(st.selectbox, "Regulariser R(θ)", ("train", "regularization"),
                            options=["none", "l1", "l2"],
                            format_func={"none": "none", "l1": "L1: Σ|θ|", "l2": "L2: Σθ²"}.get)  # fmt: skip
        if reg != "none":
            state.control(st.select_slider, "λ (regulariser strength)", ("train", "reg_lambda"),
                          options=sorted({*LAMBDA_GRID, float(t["reg_lambda"])}))  # fmt: skip
    with c4 or nullcontext():
        state.control(
            st.text_input, "Seeds", ("seeds",),
            help="One run per seed; with several, results show mean ± spread. E.g. 0, 1, 2.",
            to_widget=format_ints, from_widget=parse_seeds,
        )  # fmt: skip
        state.control(
            st.toggle, "Single-task baselines", ("baselines",),
            help="Also train each task alone (same network, optimiser, epochs, seed and "
            "batches) to compare with.",
        )  # fmt: skip
    if not visible(MEASUREMENT_CONTROLS):
        return
    with st.expander("Measurements"):
        state.control(st.number_input, "Representation snapshot every N epochs (0 = off)",
                      ("train", "snapshot_every"), min_value=0, max_value=1000, step=1)  # fmt: skip
        state.control(st.number_input, "Gradient agreement every N steps (0 = off)",
                      ("train", "grad_cosine_every"), min_value=0, max_value=10_000, step=1)  # fmt: skip
        state.control(
            st.number_input, "Task affinity (lookahead, TAG) every N steps (0 = off)",
            ("train", "affinity_every"), min_value=0, max_value=10_000, step=1,
            help="Fifty et al. 2021: how much a step on one task's gradient lowers each other "
            "task's loss. One measurement costs about one training step.",
        )  # fmt: skip
        state.control(
            st.toggle, "Pairwise transfer: also train every pair of tasks", ("train", "pairwise"),
            help="For up to 5 tasks: the gain each task gets from each partner, as a matrix "
            "on the Transfer page. Costs one multi-task training per pair and seed.",
        )  # fmt: skip


def length_controls(t: dict[str, Any]) -> None:
    """Train for a number of epochs, or for a number of optimiser steps (``train.steps``).

    The config allows one of the two: choosing steps puts epochs back to its default."""
    if state.is_hidden("epochs"):
        return
    mode = st.radio("Train for", ["epochs", "steps"], horizontal=True, key="length_mode",
                    index=int(t.get("steps") is not None))  # fmt: skip
    if mode == "epochs":
        if t.get("steps") is not None:
            state.set_in(state.draft(), ("train", "steps"), None)
            state.reset_widgets("train.epochs")
        state.control(st.slider, "Epochs", ("train", "epochs"), min_value=1,
                      max_value=max(300, int(t["epochs"])))  # fmt: skip
        return
    if t.get("steps") is None:
        state.set_in(state.draft(), ("train", "epochs"), DEFAULT_EPOCHS)
        state.set_in(state.draft(), ("train", "steps"), STEPS_DEFAULT)
    state.control(st.number_input, "Optimiser steps", ("train", "steps"), hide_id="epochs",
                  min_value=1, max_value=1_000_000, step=50,
                  help="An epoch is still one pass over the largest task, for the curves; "
                  "the last one may be partial.")  # fmt: skip


main()
