"""Experiment page: pick a dataset, tasks, sharing and weighting; train; compare MTL with STL."""

from __future__ import annotations

import streamlit as st

from dashboard.logic import build_config, comparison_table, gain_verdict
from mtlcore.config import ConfigError
from mtlcore.data.builtin import BUILTIN_DATASETS, load_builtin
from mtlcore.data.spec import DataError
from mtlcore.experiment import run_experiment
from mtlcore.models import STRATEGIES
from mtlcore.train import DivergenceError, TrainEvent
from mtlcore.weighting import METHODS


@st.cache_data(show_spinner=False, max_entries=16)
def task_names(dataset: str, options: dict) -> list[str]:
    return [t.name for t in load_builtin(dataset, options).tasks]


def explain(entry) -> None:
    st.caption(entry.summary + (f"  \n*Paper:* {entry.paper}" if entry.paper else ""))


st.title("MTL Studio")
st.write(
    "Train one network on several tasks at once and see, task by task, whether sharing "
    "helped or hurt compared with a network trained on that task alone."
)

data_col, model_col, train_col = st.columns(3, gap="large")

with data_col:
    st.subheader("1 · Data")
    dataset = st.selectbox(
        "Dataset",
        list(BUILTIN_DATASETS),
        format_func=lambda n: BUILTIN_DATASETS[n].title,
        key="dataset",
    )
    info = BUILTIN_DATASETS[dataset]
    st.caption(info.description)
    options: dict = {}
    if dataset == "synthetic":
        options["n_tasks"] = st.slider("Number of tasks", 2, 6, 2, key="syn_n")
        options["correlation"] = st.slider(
            "Task relatedness (correlation)", -1.0, 1.0, 0.5, 0.1, key="syn_corr",
            help="1: the tasks are the same function; 0: unrelated; -1: opposed.",
        )
        options["noise"] = st.slider("Label noise", 0.0, 2.0, 0.1, 0.05, key="syn_noise")
    all_tasks = task_names(dataset, options)
    tasks = st.multiselect("Tasks", all_tasks, default=all_tasks, key=f"tasks_{dataset}")

with model_col:
    st.subheader("2 · Model")
    strategy = st.selectbox(
        "Sharing strategy",
        list(STRATEGIES),
        format_func=lambda n: STRATEGIES[n].title,
        key="strategy",
    )
    explain(STRATEGIES[strategy])
    width = st.select_slider("Hidden layer width", [8, 16, 32, 64, 128], value=64, key="width")
    hidden = [width, max(4, width // 2)]
    method = st.selectbox(
        "Loss weighting",
        list(METHODS),
        format_func=lambda n: METHODS[n].title,
        key="method",
    )
    explain(METHODS[method])
    weights: dict[str, float] = {}
    if method == "static":
        for t in tasks:
            weights[t] = st.slider(f"Weight of {t}", 0.0, 5.0, 1.0, 0.1, key=f"w_{t}")

with train_col:
    st.subheader("3 · Training")
    optimizer = st.selectbox("Optimiser", ["adam", "adamw", "sgd"], key="optimizer")
    lr = st.select_slider(
        "Learning rate", [0.0003, 0.001, 0.003, 0.01, 0.03, 0.1], value=0.01, key="lr"
    )
    epochs = st.slider("Epochs", 1, 200, 30, key="epochs")
    batch_size = st.select_slider("Batch size", [8, 16, 32, 64, 128, 256], value=32, key="batch")
    seed = st.number_input("Seed", 0, 10_000, 0, key="seed")
    baselines = st.checkbox(
        "Also train single-task baselines", value=True, key="baselines",
        help="Each task alone, same network, optimiser, epochs, seed and batches.",
    )
    start = st.button("Train", type="primary", disabled=not tasks, key="train")

if not tasks:
    st.info("Pick at least one task to train.")

if start:
    try:
        config = build_config(
            dataset=dataset, dataset_options=options, tasks=tasks, strategy=strategy,
            hidden=hidden, method=method, weights=weights, optimizer=optimizer, lr=lr,
            epochs=epochs, batch_size=batch_size, baselines=baselines, seed=int(seed),
        )  # fmt: skip
        bar = st.progress(0.0, text="Preparing the data…")

        def on_event(event: TrainEvent) -> None:
            what = "multi-task model" if event.model == "mtl" else "single-task baselines"
            bar.progress(
                min(event.progress, 1.0),
                text=f"Training the {what}: epoch {event.epoch} of {epochs}",
            )

        result, _ = run_experiment(config, on_event)
        bar.progress(1.0, text="Done.")
        st.session_state["result"] = result
    except (ConfigError, DataError, DivergenceError) as exc:
        st.session_state.pop("result", None)
        st.error(str(exc))

result = st.session_state.get("result")
if result:
    st.subheader("Multi-task vs single-task")
    st.write(gain_verdict(result))
    table = comparison_table(result)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "multi-task": st.column_config.NumberColumn(format="%.4g"),
            "single-task": st.column_config.NumberColumn(format="%.4g"),
            "gain %": st.column_config.NumberColumn(
                format="%+.1f", help="Positive: sharing helped this task."
            ),
        },
    )
    for note in result["notes"]:
        st.caption(note)
