"""Data page: a built-in dataset or your own CSV files, previewed, profiled and mapped to tasks."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import cached, datasets, state, ui
from dashboard.text import md_escape
from dashboard.widgets import option_widgets
from mtlcore.data.builtin import BUILTIN_DATASETS
from mtlcore.data.ingest import CSV_FORMAT_ATTR, CsvFormat, missing_target_count
from mtlcore.data.inputs import describe_inputs
from mtlcore.data.spec import TASK_KINDS, DataError, TaskSpec
from mtlcore.kinds import predicts_numbers

SOURCE_KEY = state.WIDGET_PREFIX + "source"
KINDS = ["auto", *TASK_KINDS]
# Fixed labels: a label that changed with the target (the detected kind) came back from
# the browser as a value ("auto (detected: multiclass)"), so the detected kind is a caption.
KIND_LABELS = {"auto": "auto (from the data)"}
TYPED_NAMES_KEY = "typed_task_names"  # task names the user typed: they never follow the target


def main() -> None:
    st.title("Data")
    st.write(
        "Choose where the tasks come from: a built-in dataset, or your own CSV files. "
        "A task predicts one column (its *target*; a regression task may predict several) "
        "from other columns (its *inputs*); tasks may come from different files with "
        "different columns."
    )
    if choose_source() == "builtin":
        builtin_section()
    else:
        csv_section()


def choose_source() -> str:
    d = state.draft()
    current = "csv" if d["data"].get("csv") is not None else "builtin"
    if state.is_hidden("dataset"):
        return current
    if SOURCE_KEY not in st.session_state:
        st.session_state[SOURCE_KEY] = current
    source = st.radio(
        "Where the tasks come from", ["builtin", "csv"], key=SOURCE_KEY, horizontal=True,
        format_func={"builtin": "A built-in dataset", "csv": "My CSV files"}.get,
    )  # fmt: skip
    if source != current:
        switch_source(d, source)
    return source


def switch_source(d: dict[str, Any], source: str) -> None:
    """Swap between built-in and CSV data, remembering the other side's settings."""
    saved = st.session_state.setdefault("saved_sources", {})
    saved[current_source(d)] = {"data": dict(d["data"]), "tasks": d.get("tasks")}
    back = saved.get(source)
    if back:
        d["data"], d["tasks"] = dict(back["data"]), back["tasks"]
    elif source == "csv":
        d["data"].update(builtin=None, options={}, csv={})
        d["tasks"] = []
    else:
        d["data"].update(builtin="houses", options={}, csv=None)
        d["tasks"] = None
    state.reset_widgets("data.")
    state.reset_widgets("tasks")


def current_source(d: dict[str, Any]) -> str:
    return "csv" if d["data"].get("csv") is not None else "builtin"


# --- built-in datasets ------------------------------------------------------------------------


def builtin_section() -> None:
    d = state.draft()
    name = state.control(
        st.selectbox, "Dataset", ("data", "builtin"), hide_id="dataset",
        options=list(BUILTIN_DATASETS), format_func=lambda n: BUILTIN_DATASETS[n].title,
        on_change=on_dataset_change,
    )  # fmt: skip
    info = BUILTIN_DATASETS[name]
    if state.is_hidden("dataset"):
        # The link fixes the dataset: one line naming it, as the Model page does for a fixed
        # strategy; the long description would explain a choice the student does not see.
        st.caption(f"{md_escape(info.title)}, fixed by this link.")
    else:
        st.caption(md_escape(info.description))
        st.caption("*Source:* " + md_escape(info.source))
    if info.options_model.model_fields and not state.is_hidden("dataset_options"):
        with st.expander("Dataset options", expanded=name == "synthetic"):
            option_widgets(
                info.options_model, ("data", "options"), tasks=[], hide_id="dataset_options"
            )
    try:
        dataset = cached.builtin(name, d["data"]["options"])
    except (ValueError, DataError) as exc:
        ui.error(f"These dataset options cannot be used: {exc}")
        return
    all_tasks = [t.name for t in dataset.tasks]
    chosen = state.control(
        st.multiselect, "Tasks to learn together", ("tasks",), hide_id="tasks", options=all_tasks,
        to_widget=lambda v: all_tasks if v is None else [t for t in v if isinstance(t, str)],
        from_widget=lambda v: None if list(v) == all_tasks else list(v),
    )  # fmt: skip
    names = all_tasks if chosen is None else chosen
    if not names:
        ui.error("Pick at least one task.")
    st.dataframe(
        pd.DataFrame(
            [{"task": t.name, "table": t.table, "target": ", ".join(t.targets), "kind": t.kind,
              "inputs": ", ".join(t.inputs or ()), "what": t.description}
             for t in dataset.tasks if t.name in names]
        ),
        hide_index=True, width="stretch",
    )  # fmt: skip
    preview(dataset.tables)


def on_dataset_change() -> None:
    """Another dataset: its own options and tasks."""
    d = state.draft()
    d["data"]["options"], d["tasks"] = {}, None
    state.reset_widgets("data.options")
    state.reset_widgets("tasks")


# --- CSV files ---------------------------------------------------------------------------------


def csv_section() -> None:
    d = state.draft()
    if d["data"].get("csv") is None:
        d["data"]["csv"] = {}
    if d.get("tasks") is None:
        d["tasks"] = []
    if not state.is_hidden("upload"):
        upload_box(d)
    tables = load_tables(d)
    if not tables:
        st.info("Upload at least one CSV file with a header row to start.")
        return
    preview(tables)
    task_section(d, tables)


def upload_box(d: dict[str, Any]) -> None:
    n = st.session_state.setdefault("upload_round", 0)
    limit_mb = datasets.UPLOAD_LIMIT_BYTES // 1_000_000
    files = st.file_uploader(
        f"Upload CSV files (UTF-8, a header row, at most {limit_mb} MB each)", type=["csv"],
        accept_multiple_files=True, key=f"upload_{n}",
    )  # fmt: skip
    errors: dict[str, str] = st.session_state.setdefault("upload_errors", {})
    if files:
        with st.spinner("Checking the files…"):
            for f in files:
                add_upload(d, f.name, f.getvalue(), errors)
        st.session_state["upload_round"] = n + 1  # a fresh, empty uploader
        st.rerun()
    for filename, message in list(errors.items()):
        cols = st.columns([12, 1])
        with cols[0]:
            ui.error(message)
        if cols[1].button("✕", key=f"dismiss_{filename}", help="Dismiss"):
            del errors[filename]
            st.rerun()


def add_upload(d: dict[str, Any], filename: str, data: bytes, errors: dict[str, str]) -> None:
    """Check one uploaded file and add it as a table (or record why it cannot be used)."""
    try:
        path, _ = datasets.save_upload(data, filename)
    except DataError as err:
        errors[filename] = str(err)
        return
    errors.pop(filename, None)
    csv = d["data"]["csv"]
    if path in csv.values():
        return  # the same file again
    if len(csv) >= datasets.MAX_TABLES:
        errors[filename] = f"At most {datasets.MAX_TABLES} files; remove one to add '{filename}'."
        return
    table = datasets.table_name(filename, list(csv))
    csv[table] = path
    st.session_state.setdefault("upload_names", {})[table] = filename


def load_tables(d: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The uploaded tables, each with a remove button; a file that can't be read says why."""
    tables: dict[str, pd.DataFrame] = {}
    names = st.session_state.setdefault("upload_names", {})
    for table, path in list(d["data"]["csv"].items()):
        cols = st.columns([10, 2])
        try:
            df = cached.table(path)
        except (DataError, OSError) as exc:
            with cols[0]:
                ui.error(f"Table '{table}': {exc}")
            df = None
        if df is not None:
            tables[table] = df
            source = names.get(table, f"{table}.csv")
            fmt = CsvFormat(**df.attrs.get(CSV_FORMAT_ATTR, {}))
            read_as = "" if fmt == CsvFormat() else f" (read as {fmt.describe()})"
            cols[0].markdown(
                f"**{md_escape(table)}** — {md_escape(source)}: {len(df):,} rows × {df.shape[1]} "
                f"columns{md_escape(read_as)}"
            )
        if not state.is_hidden("upload") and cols[1].button("Remove", key=f"remove_table_{table}"):
            del d["data"]["csv"][table]
            state.reset_widgets("tasks")
            st.rerun()
    return tables


def preview(tables: dict[str, pd.DataFrame]) -> None:
    st.subheader("Preview")
    names = list(tables)
    table = st.selectbox("Table", names, key="preview_table") if len(names) > 1 else names[0]
    df = tables[table]
    rows, prof = st.tabs(["First rows", "Column profile"])
    dates = {  # a date column read from the file shows as a date, not midnight of it
        str(c): st.column_config.DateColumn(format="YYYY-MM-DD")
        for c in df.columns
        if pd.api.types.is_datetime64_any_dtype(df[c])
    }
    rows.dataframe(df.head(50), width="stretch", hide_index=True, column_config=dates)
    prof.caption(
        "What each column would make as a target (task kind), its role and whether a new "
        "task reads it as an input; *note* says why a column is left out (an identifier, "
        "free text, a single value) or how a date is read: its year, and its month, day of "
        "year and day of week as cycles (sine and cosine)."
    )
    prof.dataframe(cached.profile(df), width="stretch", hide_index=True)


# --- the task mapping --------------------------------------------------------------------------


def task_section(d: dict[str, Any], tables: dict[str, pd.DataFrame]) -> None:
    st.subheader("Tasks")
    st.caption(
        "Map columns to tasks: each task has a target column, a kind (detected from the "
        "data; change it if it is wrong) and input columns, from one of your files. A "
        "regression task may predict more numeric columns at once (*more targets*): one "
        "output each, its metrics pooled over them."
    )
    tasks: list[dict[str, Any]] = d["tasks"]
    if tasks and any(not isinstance(t, dict) for t in tasks):
        d["tasks"] = tasks = [t for t in tasks if isinstance(t, dict)]
    resolved, problems = datasets.check_tasks(tables, tasks)
    if tasks:
        if problems:
            ui.error(f"{len(problems)} task(s) need attention before training; see below.")
        else:
            st.success(f"{len(tasks)} task(s) ready to train.", icon=":material/check_circle:")
    if state.is_hidden("tasks"):
        fixed_tasks(tasks, resolved, problems, tables)
        return
    for i in range(len(tasks)):
        with st.container(border=True):
            task_editor(d, i, tables, problems.get(i))
            if resolved[i] is not None:
                preprocessing_summary(tables[resolved[i].table], resolved[i])
    if not state.is_hidden("tasks"):
        st.button(
            "Add a task", icon=":material/add:", key="add_task", on_click=add_task, args=(tables,)
        )


def fixed_tasks(
    tasks: list[dict[str, Any]],
    resolved: list[TaskSpec | None],
    problems: dict[int, DataError],
    tables: dict[str, pd.DataFrame],
) -> None:
    """The tasks a link fixes (``hide=tasks``): one table of what each reads and predicts,
    instead of editors whose every control is hidden (no empty columns)."""
    st.caption("The tasks are fixed by this link.")
    rows = [
        {"task": str(t.get("name") or ""), "file": str(t.get("table") or ""),
         "target": ", ".join(targets_of(t)),
         "kind": spec.kind if spec is not None else str(t.get("kind") or "auto"),
         "inputs": ", ".join(spec.inputs or ()) if spec is not None else ""}
        for t, spec in zip(tasks, resolved, strict=True)
    ]  # fmt: skip
    st.dataframe(pd.DataFrame(rows, columns=["task", "file", "target", "kind", "inputs"]),
                 hide_index=True, width="stretch")  # fmt: skip
    for i, problem in sorted(problems.items()):
        ui.error(f"Task {i + 1}: {problem}")
    for spec in resolved:
        if spec is not None:
            with st.container(border=True):
                st.markdown(f"**{md_escape(spec.name)}**")
                preprocessing_summary(tables[spec.table], spec)


def targets_of(task: dict[str, Any]) -> list[str]:
    """A draft task's target columns: its ``target`` is one name or a list of names."""
    target = task.get("target")
    if target is None:
        return []
    return [target] if isinstance(target, str) else [str(c) for c in target]


def as_target(columns: list[str]) -> str | list[str]:
    """The config's ``target`` for these columns: a name for one, a list for several."""
    return columns[0] if len(columns) == 1 else list(columns)


def other_targets(d: dict[str, Any], table: str, skip: int | None = None) -> list[str]:
    """Every target column of the tasks on ``table`` (but task ``skip``)."""
    return [
        c
        for j, t in enumerate(d["tasks"])
        if j != skip and t.get("table") == table
        for c in targets_of(t)
    ]


# The callbacks below run before the page is drawn, so they may set any widget's value.


def add_task(tables: dict[str, pd.DataFrame]) -> None:
    d = state.draft()
    table = next(iter(tables))
    prof = cached.profile(tables[table])
    taken = other_targets(d, table)
    target = datasets.pick_target(prof, taken) or str(tables[table].columns[-1])
    name = datasets.unique_task_name(target, [t.get("name", "") for t in d["tasks"]])
    inputs = datasets.default_inputs(tables[table], prof, target, taken)
    d["tasks"].append(
        {"name": name, "table": table, "target": target, "kind": "auto", "inputs": inputs}
    )
    drop_from_other_inputs(d, len(d["tasks"]) - 1)


def remove_task(i: int) -> None:
    del state.draft()["tasks"][i]
    state.reset_widgets("tasks")


def drop_from_other_inputs(d: dict[str, Any], i: int) -> None:
    """A task's targets stop being inputs of the other tasks of its table (no answer leaks)."""
    task = d["tasks"][i]
    targets = set(targets_of(task))
    for j, other in enumerate(d["tasks"]):
        inputs = other.get("inputs") or []
        if j != i and other.get("table") == task["table"] and targets & set(inputs):
            set_inputs(other, j, [c for c in inputs if c not in targets])


def set_inputs(task: dict[str, Any], i: int, inputs: list[str]) -> None:
    task["inputs"] = inputs
    st.session_state[state.widget_key(("tasks", i, "inputs"))] = inputs


def on_table_change(i: int, tables: dict[str, pd.DataFrame]) -> None:
    """Another file: a fresh target and inputs from its columns."""
    d = state.draft()
    task = d["tasks"][i]
    table = st.session_state[state.widget_key(("tasks", i, "table"))]
    df, prof = tables[table], cached.profile(tables[table])
    others = other_targets(d, table, skip=i)
    task["table"] = table
    task["target"] = datasets.pick_target(prof, others) or str(df.columns[-1])
    st.session_state[state.widget_key(("tasks", i, "target"))] = task["target"]
    st.session_state[more_targets_key(i)] = []
    set_inputs(task, i, datasets.default_inputs(df, prof, task["target"], others))
    drop_from_other_inputs(d, i)
    name_after_target(d, i, tables)


def on_target_change(i: int, tables: dict[str, pd.DataFrame]) -> None:
    """A new target is no longer an input, of this task or of the others; a task named
    after its target by the page is renamed after the new one."""
    d = state.draft()
    task = d["tasks"][i]
    targets = targets_of(task)
    st.session_state[more_targets_key(i)] = targets[1:]
    inputs = [c for c in task.get("inputs") or [] if c not in targets]
    set_inputs(task, i, inputs + given_back_inputs(d, i, tables, inputs))
    drop_from_other_inputs(d, i)
    name_after_target(d, i, tables)


def previous_targets_key(i: int) -> str:
    """Session key of task ``i``'s targets as last drawn (not a widget's key)."""
    return f"data_page:previous_targets:{i}"


def given_back_inputs(
    d: dict[str, Any], i: int, tables: dict[str, pd.DataFrame], inputs: list[str]
) -> list[str]:
    """The columns that stopped being this task's targets and would be default inputs
    (not an identifier, free text, constant or empty, nor another task's target): they
    become inputs again, so changing a target never drops a column from every task."""
    task = d["tasks"][i]
    df = tables.get(task.get("table") or "")
    if df is None:
        return []
    before = st.session_state.get(previous_targets_key(i), [])
    taken = {*targets_of(task), *inputs, *other_targets(d, task["table"], skip=i)}
    usable = datasets.default_inputs(df, cached.profile(df), "", [])
    return [c for c in usable if c in before and c not in taken]


def name_after_target(d: dict[str, Any], i: int, tables: dict[str, pd.DataFrame]) -> None:
    """A name the page gave (a column name, perhaps with _2) follows the first target, so
    results and downloads say what the task predicts; a name the user typed stays."""
    task = d["tasks"][i]
    name, targets = str(task.get("name") or ""), targets_of(task)
    columns = [str(c) for df in tables.values() for c in df.columns]
    typed = st.session_state.setdefault(TYPED_NAMES_KEY, set())
    if not targets or name in typed or not datasets.is_default_task_name(name, columns):
        return
    others = [t.get("name", "") for j, t in enumerate(d["tasks"]) if j != i]
    task["name"] = datasets.unique_task_name(targets[0], others)
    st.session_state[state.widget_key(("tasks", i, "name"))] = task["name"]


def on_name_change(i: int) -> None:
    """The user typed this name: it no longer follows the target."""
    name = str(state.draft()["tasks"][i].get("name") or "")
    st.session_state.setdefault(TYPED_NAMES_KEY, set()).add(name)


def more_targets_key(i: int) -> str:
    return state.widget_key(("tasks", i, "more_targets"))


def on_more_targets_change(i: int, tables: dict[str, pd.DataFrame]) -> None:
    """The first target plus the picked columns; those stop being anyone's input."""
    task = state.draft()["tasks"][i]
    first = targets_of(task)[:1]
    more = [c for c in st.session_state[more_targets_key(i)] if c not in first]
    task["target"] = as_target(first + more)
    on_target_change(i, tables)


def with_first_target(task: dict[str, Any], first: str) -> str | list[str]:
    """The selectbox's new first target, keeping the other targets (but that column)."""
    return as_target([first, *[c for c in targets_of(task)[1:] if c != first]])


def task_editor(
    d: dict[str, Any], i: int, tables: dict[str, pd.DataFrame], problem: DataError | None
) -> None:
    path = ("tasks", i)
    c1, c2, c3, c4 = st.columns([3, 2, 3, 3])
    with c1:
        state.control(st.text_input, "Task name", (*path, "name"), hide_id="tasks", max_chars=64,
                      on_change=on_name_change, args=(i,))  # fmt: skip
    with c2:
        table = state.control(st.selectbox, "File", (*path, "table"), hide_id="tasks",
                              options=list(tables), on_change=on_table_change, args=(i, tables))  # fmt: skip
    df = tables.get(table) if table else None
    if df is None:
        if problem is not None:
            ui.error(str(problem))
        return
    prof = cached.profile(df)
    columns = [str(c) for c in df.columns]
    task = d["tasks"][i]
    with c3:
        state.control(st.selectbox, "Target (what to predict)", (*path, "target"),
                      hide_id="tasks", options=columns, on_change=on_target_change,
                      args=(i, tables),
                      to_widget=lambda v: (targets_of({"target": v}) or [None])[0],
                      from_widget=lambda v: with_first_target(state.draft()["tasks"][i], v))  # fmt: skip
    targets = targets_of(task)
    st.session_state[previous_targets_key(i)] = targets  # what on_target_change sees as before
    kinds = dict(zip(prof["column"], prof["task_kind"]))
    detected = kinds.get(targets[0], "?") if len(targets) == 1 else "regression, several targets"
    with c4:
        kind = state.control(
            st.selectbox, "Kind", (*path, "kind"), hide_id="tasks", options=KINDS,
            format_func=lambda k: KIND_LABELS.get(k, k),
        )  # fmt: skip
        st.caption(f"Detected from the data: {md_escape(detected)}")
    numbers = predicts_numbers(detected if kind == "auto" else kind)
    if not state.is_hidden("tasks") and (numbers or len(targets) > 1):
        more_targets(i, targets, [c for c in columns if predicts_numbers(kinds.get(c))], tables)
    if problem is not None and problem.column in (None, *targets):
        ui.error(str(problem))
    state.control(
        st.multiselect, "Inputs (columns the task reads)", (*path, "inputs"), hide_id="tasks",
        options=[c for c in columns if c not in targets],
        to_widget=lambda v: [c for c in (v or []) if c not in targets],
    )  # fmt: skip
    if problem is not None and problem.column not in (None, *targets):
        ui.error(str(problem))
    if not state.is_hidden("tasks"):
        st.button("Remove this task", key=f"remove_task_{i}", on_click=remove_task, args=(i,))


def more_targets(
    i: int, targets: list[str], numeric: list[str], tables: dict[str, pd.DataFrame]
) -> None:
    """Further target columns of a regression task (a multi-output task), none by default.

    Offered: the table's columns that make a regression target, besides the first target;
    a picked column that is not among them (kind changed, say) stays so it can be removed.
    """
    key = more_targets_key(i)
    options = [c for c in dict.fromkeys([*numeric, *targets[1:]]) if c != targets[0]]
    if key not in st.session_state or st.session_state[key] != targets[1:]:
        st.session_state[key] = targets[1:]
    st.multiselect(
        "More targets (multi-output regression: one output per column)", options, key=key,
        on_change=on_more_targets_change, args=(i, tables),
        help="Predict several numeric columns with one task; its RMSE and MAE pool every "
        "output, R² is their mean, and predictions.csv has a row per output.",
    )  # fmt: skip


def preprocessing_summary(df: pd.DataFrame, spec: TaskSpec) -> None:
    """What training will do to this task's rows: dropped rows, encodings, filled values."""
    dropped = missing_target_count(df, spec.targets)
    which = "whose target is missing" if spec.n_outputs == 1 else "that miss a target value"
    with st.expander("What preprocessing does to this task's data"):
        st.caption(
            f"Drops {dropped} row(s) of this file {which}"
            + (" (for this task only)." if dropped else ".")
            + " Each input is read as below; a missing input value is filled in (numbers and "
            "dates: the median of the training rows; text: the most frequent value)."
        )
        st.dataframe(
            describe_inputs(df, spec), hide_index=True, width="stretch",
            column_config={
                "column": st.column_config.TextColumn("column", width="medium"),
                "read_as": st.column_config.TextColumn("read as", width="large"),
                "features": st.column_config.NumberColumn("features", width="small"),
                "filled": st.column_config.TextColumn("values filled in", width="medium"),
            },
        )  # fmt: skip


main()
