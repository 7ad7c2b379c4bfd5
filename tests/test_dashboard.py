"""The dashboard: every page driven by Streamlit's AppTest, and the plain logic beneath it.

Runs go through the real run store and worker processes (``MTL_STUDIO_HOME`` is
fresh per test, see conftest); configs are tiny so a run takes a second or two.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from dashboard import charts, datasets, runs_client, state
from dashboard.comparison import comparison_frame, comparison_markdown, display_table
from dashboard.diagram import dot_escape, network_dot
from dashboard.draft import parse_seeds, parse_widths
from dashboard.history import cosine_history, loss_history, val_metric_history, weight_history
from dashboard.objective import is_gradient_method, objective_latex
from dashboard.options import option_fields
from dashboard.predictions import confusion_frame, representation_points
from dashboard.text import md_escape
from dashboard.url import decode_query, default_draft, encode_query
from mtlcore.analysis import combine_results, compare
from mtlcore.config import ExperimentConfig
from mtlcore.models import STRATEGIES, Architecture, ModelTask, build_model
from mtlcore.models.parts import ExpertBank
from mtlcore.runs import MetricRow
from mtlcore.runs._worker import result_summary
from mtlcore.weighting import METHODS

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
PAGES = ["data", "model", "train", "compare", "transfer", "representations", "runs", "predict"]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    """Fresh caches, workers started only when a test trains, and stopped after it."""
    monkeypatch.setenv(runs_client.EAGER_ENV, "0")
    monkeypatch.setenv(runs_client.WORKERS_ENV, "1")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    runs_client.shutdown()
    st.cache_data.clear()
    st.cache_resource.clear()


def app(query: str = "") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    if query:
        for part in query.lstrip("?").split("&"):
            key, _, value = part.partition("=")
            at.query_params[key] = value
    at.run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    """No traceback and no error box on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"app_pages/{page}.py").run()
    return at


def wait_for_runs(at: AppTest, timeout: float = 90.0) -> None:
    """Rerun the page until every run in the store has finished."""
    deadline = time.monotonic() + timeout
    while any(not r.is_finished for r in runs_client.list_runs()):
        assert time.monotonic() < deadline, "the runs did not finish in time"
        time.sleep(0.3)
    at.run()


def small_csv(n: int = 120) -> bytes:
    rng = np.random.default_rng(1)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    df = pd.DataFrame({
        "x1": x1.round(3), "x2": x2.round(3), "group": rng.choice(["a", "b", "c"], n),
        "y_value": (x1 - 2 * x2 + rng.normal(0, 0.1, n)).round(3),
        "y_flag": np.where(x1 > 0, "yes", "no"),
    })  # fmt: skip
    return df.to_csv(index=False).encode()


def plain(text: str) -> str:
    """Page text without the backslashes that keep user text inert in markdown."""
    return re.sub(r"\\(.)", r"\1", text)


def errors(at: AppTest) -> list[str]:
    return [plain(e.value) for e in at.error]


def markdown_text(at: AppTest) -> str:
    return plain("\n".join(m.value for m in at.markdown))


# --- every page ----------------------------------------------------------------------------


def test_every_page_renders_without_runs():
    at = app()
    for page in PAGES:
        goto(at, page)
        assert_clean(at)
        assert at.title, page


def test_builtin_dataset_tasks_and_preview():
    at = app()
    assert at.radio(key="ctl:source").value == "builtin"
    assert at.selectbox(key="ctl:data.builtin").value == "houses"
    at.selectbox(key="ctl:data.builtin").set_value("penguins").run()
    assert_clean(at)
    assert at.multiselect(key="ctl:tasks").value == ["species", "sex", "body_mass"]
    at.multiselect(key="ctl:tasks").set_value(["species", "sex"]).run()
    assert state.get_in(at.session_state["draft"], ["tasks"]) == ["species", "sex"]
    assert "Palmer" in markdown_text(at) + "".join(c.value for c in at.caption)
    assert len(at.dataframe) >= 2  # tasks table, first rows (and the profile tab)


def test_synthetic_options_are_generic_widgets():
    at = app()
    at.selectbox(key="ctl:data.builtin").set_value("synthetic").run()
    at.number_input(key="ctl:data.options.n_tasks").set_value(3).run()
    assert_clean(at)
    assert at.multiselect(key="ctl:tasks").options == ["task0", "task1", "task2"]


# --- upload -> map -> train -> compare -> look --------------------------------------------------


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.radio(key="ctl:source").set_value("csv").run()
    at.file_uploader[0].set_value((name, data, "text/csv")).run()
    return at


def test_upload_map_train_compare_and_look():
    at = upload(app(), "measurements.csv", small_csv())
    assert_clean(at)
    assert "120 rows × 5 columns" in markdown_text(at)
    at.button(key="add_task").click().run()
    at.button(key="add_task").click().run()
    assert_clean(at)
    tasks = at.session_state["draft"]["tasks"]
    assert [t["target"] for t in tasks] == ["y_flag", "y_value"]
    assert "y_value" not in tasks[0]["inputs"], "a target must not stay another task's input"
    assert at.success and "2 task(s) ready" in at.success[0].value

    goto(at, "model")
    at.slider(key="ctl:train.epochs").set_value(3).run()
    at.text_input(key="ctl:model.hidden").set_value("16, 8").run()
    assert_clean(at)
    assert "y\\_flag" in at.latex[0].value

    goto(at, "train")
    at.button(key="train").click().run()
    assert_clean(at)
    wait_for_runs(at)
    assert_clean(at)
    assert "Δm" in markdown_text(at)
    assert at.get("plotly_chart"), "the loss curves"
    runs = runs_client.list_runs()  # three seeds by default, one run each
    assert sorted(r.seed for r in runs) == [0, 1, 2] and {r.status for r in runs} == {"done"}
    run = min(runs, key=lambda r: r.id)
    assert at.query_params["exp"] in (str(run.experiment_id), [str(run.experiment_id)])
    assert at.dataframe[0].value["seeds"].tolist() == [3, 3]  # the Result table on Train

    goto(at, "compare")
    assert_clean(at)
    table = at.dataframe[0].value
    assert list(table["task"]) == ["y_flag", "y_value"]
    assert table["gain %"].notna().all() and (table["seeds"] == 3).all()
    assert table["95% interval"].str.contains(" to ").all()
    assert set(table["verdict"]) <= {"helps", "hurts", "within the noise"}
    assert table["trivial"].ne("—").all()
    assert len(at.get("plotly_chart")) >= 4  # bars, gains, a confusion matrix pair, a scatter

    goto(at, "representations")
    assert_clean(at)
    assert len(at.get("plotly_chart")) == 3  # multi-task beside single-task, and their CKA
    at.radio(key="repr_color").set_value("error").run()
    assert_clean(at)

    goto(at, "runs")
    assert_clean(at)
    assert at.dataframe[0].value["status"].tolist() == ["done"] * 3
    assert {b.key for b in at.get("download_button")} >= {"dl_config", "dl_result", "dl_weights"}
    newest = max(runs, key=lambda r: r.id)  # the Runs page starts at the newest run
    at.text_input(key=f"rename_{newest.id}").set_value("my first run")
    at.button(key="rename").click().run()
    assert runs_client.status(newest.id).name == "my first run"


def test_a_bad_upload_is_a_sentence_next_to_the_file():
    at = upload(app(), "tiny.csv", b"a,b\n1,2\n3,4,5\n")
    assert not at.exception
    assert any("tiny.csv" in e and "line 3" in e for e in errors(at))
    assert at.session_state["draft"]["data"]["csv"] == {}


def test_a_task_problem_shows_under_the_task_and_blocks_training():
    at = upload(app(), "m.csv", small_csv())
    at.button(key="add_task").click().run()
    at.selectbox(key="ctl:tasks.0.kind").set_value("regression").run()  # y_flag holds text
    assert not at.exception
    assert any("y_flag" in e and "regression" in e for e in errors(at))
    goto(at, "train")
    assert at.button(key="train").disabled
    assert any("Fix the tasks" in e for e in errors(at))


def test_stop_cancels_a_running_run_and_the_queued_seeds():
    # never ends on its own (the most steps a config allows): only Stop ends it
    at = app("?train.steps=10000000&baselines=false&train.snapshot_every=0")
    goto(at, "train")
    at.button(key="train").click().run()
    deadline = time.monotonic() + 60
    while not any(r.status == "running" for r in runs_client.list_runs()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    at.run()
    at.button(key="stop").click().run()
    wait_for_runs(at, timeout=30)
    assert [r.status for r in runs_client.list_runs()] == ["cancelled"] * 3
    assert not at.exception


# --- the link, classroom mode, the model page ----------------------------------------------------


def test_link_sets_the_experiment_and_hides_controls():
    at = app("?model.strategy=mmoe&train.lr=0.003&hide=optimizer,lr")
    goto(at, "model")
    assert_clean(at)
    assert at.selectbox(key="ctl:model.strategy").value == "mmoe"
    keys = {w.key for w in [*at.selectbox, *at.select_slider]}
    assert "ctl:train.optimizer" not in keys and "ctl:train.lr" not in keys
    assert at.session_state["draft"]["train"]["lr"] == 0.003
    assert "expert" in at.get("graphviz_chart")[0].proto.spec
    assert any("lr, optimizer" in plain(i.value) for i in at.info)


def test_a_bad_link_value_is_dropped_with_a_sentence():
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["train.lr"] = "-1"
    at.query_params["nonsense.key"] = "1"
    at.run()
    assert not at.exception
    warnings = plain(" ".join(w.value for w in at.warning))
    assert "train.lr" in warnings and "nonsense.key" in warnings
    assert at.session_state["draft"]["train"]["lr"] == 0.01


def test_static_weights_get_a_slider_per_task_and_enter_the_objective():
    at = app()
    goto(at, "model")
    at.selectbox(key="ctl:weighting.method").set_value("static").run()
    keys = {s.key for s in at.slider}
    assert {
        "ctl:weighting.options.weights.house_price",
        "ctl:weighting.options.weights.apartment_price",
    } <= keys
    at.slider(key="ctl:weighting.options.weights.house_price").set_value(2.5).run()
    assert r"2.5\cdot L_{\text{house\_price}}" in at.latex[0].value
    at.selectbox(key="ctl:train.regularization").set_value("l2").run()
    at.select_slider(key="ctl:train.reg_lambda").set_value(0.001).run()
    assert r"\lVert\theta\rVert_2^2" in at.latex[0].value


def test_strategy_options_render_from_their_model_and_bad_widths_say_why():
    at = app()
    goto(at, "model")
    at.selectbox(key="ctl:model.strategy").set_value("ple").run()
    assert_clean(at)
    assert at.number_input(key="ctl:model.options.n_levels").value == 2
    at.text_input(key="ctl:model.hidden").set_value("64, abc").run()
    assert any("abc" in e for e in errors(at))
    assert at.session_state["draft"]["model"]["hidden"] == [64, 32]


def test_an_unexpected_error_is_a_sentence_not_a_traceback(monkeypatch):
    at = app()

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(runs_client, "list_runs", broken)
    goto(at, "runs")
    assert not at.exception
    assert any("disk on fire" in e for e in errors(at))


# --- plain logic ----------------------------------------------------------------------------------


def test_query_encoding_round_trips_and_only_holds_changes():
    draft = default_draft()
    assert encode_query(draft) == {}
    draft["model"]["strategy"] = "mmoe"
    draft["model"]["options"] = {"n_experts": 6}
    draft["train"]["lr"] = 0.003
    draft["name"] = "123"  # a string that looks like a number stays a string
    q = encode_query(draft, hide=["lr"], exp=4)
    assert q["model.strategy"] == "mmoe" and q["hide"] == "lr" and q["exp"] == "4"
    back, hide, exp, problems = decode_query(q)
    assert (hide, exp, problems) == ({"lr"}, 4, [])
    assert back == ExperimentConfig.parse(draft).model_dump(mode="json")
    assert back["name"] == "123"


def test_csv_links_name_uploads_never_paths(mtl_studio_home):
    path, _ = datasets.save_upload(small_csv(), "m.csv")
    draft = default_draft()
    draft["data"].update(builtin=None, csv={"m": path})
    draft["tasks"] = [
        {"name": "t", "table": "m", "target": "y_value", "kind": "auto", "inputs": ["x1"]}
    ]
    q = encode_query(draft, upload_id=datasets.upload_id)
    assert str(mtl_studio_home) not in json.dumps(q)
    back, _, _, problems = decode_query(q, upload_path=datasets.upload_path)
    assert problems == [] and back["data"]["csv"] == {"m": path}
    draft["data"]["csv"], draft["tasks"] = {}, []  # CSV chosen, nothing uploaded yet
    assert encode_query(draft) == {}
    evil = {"data.csv": json.dumps({"m": "upload:../../etc/passwd"})}
    _, _, _, problems = decode_query(evil, upload_path=datasets.upload_path)
    assert problems and "upload the CSV again" in problems[0]


def test_option_fields_cover_every_registered_option():
    kinds = {
        f.name: f.kind
        for registry in (STRATEGIES, METHODS)
        for entry in registry.values()
        for f in option_fields(entry.options_model)
    }
    assert kinds["n_experts"] == "int" and kinds["tie_lambda"] == "float"
    assert kinds["weights"] == "per_task_float" and kinds["depths"] == "per_task_int"
    assert kinds["expert_hidden"] == "widths" and kinds["scale_mode"] == "choice"


def test_parse_widths_and_seeds():
    assert parse_widths("64, 32") == [64, 32]
    assert parse_widths(" ", allow_empty=True) == []
    assert parse_seeds("0, 2-4") == [0, 2, 3, 4]
    for bad, fn in (
        ("64, x", parse_widths),
        ("0", parse_widths),
        ("a", parse_seeds),
    ):
        with pytest.raises(ValueError):
            fn(bad)


def test_objective_latex_escapes_task_names():
    tex = objective_latex(
        ["a_b", "50%$#{}"], weights={"a_b": 2.0}, method_title="Static", gradient_method=False,
        regularization="l1", reg_lambda=1e-5,
    )  # fmt: skip
    assert r"2\cdot L_{\text{a\_b}}" in tex and r"50\%\$\#\{\}" in tex
    assert r"1\times 10^{-5}" in tex and r"\lVert\theta\rVert_1" in tex
    learned = objective_latex(["a"], weights=None, method_title="PCGrad", gradient_method=True,
                                    regularization="none", reg_lambda=0.0)  # fmt: skip
    assert "w_{1}(t)" in learned and "PCGrad" in learned
    assert is_gradient_method("pcgrad") and not is_gradient_method("uncertainty")


def test_md_escape_keeps_user_text_inert():
    text = md_escape("[click](javascript:alert(1)) <b>$x$</b> **bold**")
    assert "\\[" in text and "\\$" in text and "\\<" in text and "\\*\\*" in text


def one_seed_summaries(values: dict[str, list[tuple[float, float]]]) -> list[dict]:
    """Run summaries as the workers store them, one run per seed: task -> (MTL, STL) RMSE
    per seed, with a trivial RMSE of 100."""
    n = len(next(iter(values.values())))
    out = []
    for seed in range(n):
        result = compare({task: {"higher_is_better": False, "mtl_by_seed": {seed: v[seed][0]},
                                 "stl_by_seed": {seed: v[seed][1]}} for task, v in values.items()})  # fmt: skip
        for entry in result["tasks"].values():
            entry.update(kind="regression", metric="rmse", higher_is_better=False, trivial=100.0)
        out.append(result_summary({**result, "seeds": [seed], "timings": {}}))
    return out


def finished_experiment(values: dict[str, list[tuple[float, float]]]) -> int:
    """An experiment in the run store whose runs finished with these values (no training)."""
    store = runs_client.store()
    summaries = one_seed_summaries(values)
    config = ExperimentConfig.parse({"name": "crafted", "seeds": list(range(len(summaries)))})
    ids = store.submit(config)
    for run_id, summary in zip(ids, summaries, strict=True):
        assert store.claim(run_id, "test-token", os.getpid())
        store.finish(run_id, "done", result=summary)
    return store.run(ids[0]).experiment_id


FIVE_OF_FIVE_WORSE = [
    (110.0, 100.0),
    (110.0, 100.0),
    (110.0, 100.0),
    (130.0, 100.0),
    (130.0, 100.0),
]


def test_the_pages_read_the_engines_verdict_and_colour_only_findings():
    noisy = [(99.0, 100.0), (101.0, 100.0), (100.5, 100.0), (99.8, 100.0), (100.2, 100.0)]
    summaries = one_seed_summaries({"worse": FIVE_OF_FIVE_WORSE, "same": noisy})
    comparison = combine_results(summaries)
    cmp = comparison_frame(comparison)
    assert cmp["n_seeds"].tolist() == [5, 5]
    # Worse on every seed is a finding (the old |gain| < 2 std rule called it noise).
    assert cmp["verdict"].tolist() == ["hurts", "within the noise"]
    lines = comparison_markdown(comparison)
    assert plain(lines[1]).startswith(":red[worse: sharing hurts") and not lines[2].startswith(":")
    table = display_table(cmp)
    assert table["trivial"].tolist() == ["100", "100"] and table["verdict"][0] == "hurts"
    assert table["95% interval"][0].endswith(" to " + f"{cmp['gain_high'][0]:+.1f}")

    one = combine_results(one_seed_summaries({"a_[x](y)": [(90.0, 100.0)]}))
    assert comparison_frame(one)["gain_std"].isna().all()  # no spread: NaN, never 0
    lines = comparison_markdown(one)
    assert not any(line.startswith((":green", ":red")) for line in lines)
    assert "a\\_\\[x\\]\\(y\\)" in lines[1]  # the task name stays text
    assert display_table(comparison_frame(one))["verdict"].tolist() == [
        "one seed — run more to tell"
    ]


def gain_chart(at: AppTest) -> dict:
    """The plotly spec of the gain bars on the page."""
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return next(c for c in specs if "Gain per task" in c["layout"].get("title", {}).get("text", ""))


def test_compare_shows_verdict_interval_and_trivial_and_colours_only_findings():
    exp = finished_experiment({"price [x](y)": FIVE_OF_FIVE_WORSE, "rent": FIVE_OF_FIVE_WORSE})
    one = finished_experiment({"price": [(90.0, 100.0)]})
    at = goto(app(f"?exp={exp}"), "compare")
    assert_clean(at)
    table = at.dataframe[0].value
    assert table["verdict"].tolist() == ["hurts", "hurts"] and table["seeds"].tolist() == [5, 5]
    assert (
        table["trivial"].tolist() == ["100", "100"]
        and table["95% interval"].str.contains(" to ").all()
    )
    captions = "\n".join(c.value for c in at.caption)
    assert "price \\[x\\]\\(y\\)" in captions  # the task name stays text
    assert ":red[price [x](y): sharing hurts" in plain(captions)  # a finding: coloured
    charts_ = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    gains = gain_chart(at)
    assert gains["data"][0]["marker"]["color"] == [charts.HARM, charts.HARM]
    assert gains["data"][0]["error_y"]["visible"] is True
    bars = next(c for c in charts_ if any(t.get("name") == "trivial baseline" for t in c["data"]))
    assert [s["y0"] for s in bars["layout"]["shapes"]] == [100.0, 100.0]

    at.selectbox(key="compare_exp").set_value(one).run()
    assert_clean(at)
    assert at.dataframe[0].value["verdict"].tolist() == ["one seed — run more to tell"]
    text = "\n".join([*(m.value for m in at.markdown), *(c.value for c in at.caption)])
    assert ":green[" not in text and ":red[" not in text
    gains = gain_chart(at)
    assert gains["data"][0]["marker"]["color"] == [charts.NOISE]  # +10 % on one seed: not green


def test_metric_rows_become_chart_frames():
    rows = pd.DataFrame(
        [
            (1, 1, 5, 1, "mtl", "a", "train", "loss", 0.9),
            (2, 1, 5, 1, "mtl", "a", "val", "loss", 1.0),
            (3, 1, 5, 1, "mtl", "a", "train", "weight", 1.0),
            (4, 1, 5, 1, "stl", "a", "train", "loss", 0.8),
            (5, 1, 1, 1, "mtl", "a|b", "train", "cosine", -0.2),
            (6, 1, 5, 1, "mtl", "a", "val", "rmse", 3.0),
        ],
        columns=MetricRow._fields,
    )
    assert len(loss_history(rows)) == 3
    assert weight_history(rows)["weight"].tolist() == [1.0]
    assert cosine_history(rows)["pair"].tolist() == ["a · b"]
    assert val_metric_history(rows)["metric"].tolist() == ["rmse"]


def test_charts_keep_one_colour_per_task_and_dash_the_baselines():
    colors = charts.task_colors(["a", "b"])
    assert colors["a"] != colors["b"] and charts.task_colors(["a", "b", "c"])["a"] == colors["a"]
    history = pd.DataFrame({
        "model": ["mtl", "mtl", "stl", "stl"], "task": ["a", "a", "a", "a"],
        "split": ["train", "val", "train", "val"], "epoch": [1, 1, 1, 1], "loss": [1.0, 1.1, 0.9, 1.0],
    })  # fmt: skip
    fig = charts.loss_curves(history, colors)
    dashes = {t.name: t.line.dash for t in fig.data}
    assert dashes == {"a · multi-task": "solid", "a · single-task": "dash"}
    assert {t.line.color for t in fig.data} == {colors["a"]}
    cmp = pd.DataFrame({"task": ["a", "b", "c"], "gain": [5.0, -5.0, 9.0],
                        "gain_low": [1.0, -8.0, np.nan], "gain_high": [9.0, -2.0, np.nan],
                        "verdict": ["helps", "hurts", "one seed"]})  # fmt: skip
    bar = charts.gain_bars(cmp).data[0]
    assert list(bar.marker.color) == [charts.HELP, charts.HARM, charts.NOISE]
    assert list(bar.error_y.array) == [4.0, 3.0, 0.0] and list(bar.error_y.arrayminus) == [
        4.0,
        3.0,
        0.0,
    ]
    heat = charts.cosine_heatmap(pd.DataFrame({"step": [1, 2], "epoch": [1, 1], "pair": ["a · b"] * 2,
                                               "cosine": [0.2, 0.4]}))  # fmt: skip
    assert heat.data[0].z.tolist() == [[pytest.approx(0.3)]] and heat.data[0].zmid == 0


# Two tasks read the same columns of one table (one input group), a third another table.
DIAGRAM_TASKS = [
    datasets.TaskView('h"1', "houses", ("a", "b")),
    datasets.TaskView("h2", "houses", ("a", "b")),
    datasets.TaskView("apt", "apartments", ("a",)),
]
DIAGRAM_OPTIONS = {"hierarchical": {"depths": {"h2": 1}}}  # h2's head reads the input layer


def drawn_task_sets(dot: str) -> dict[str, frozenset[str]]:
    """Per drawn layer, expert or gate: the tasks whose rows pass through it, i.e. whose
    input node reaches it and whose output it reaches (ties drawn without direction, such
    as soft sharing's, carry no rows)."""
    unescape = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
    nodes = {
        nid: (re.sub(r'\\[\\"n]', lambda m: unescape[m[0]], label), attrs)
        for nid, label, attrs in re.findall(r'^  (n\d+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$', dot, re.M)
    }  # fmt: skip
    after: dict[str, set[str]] = {}
    for a, b, attrs in re.findall(r"^  (n\d+) -> (n\d+)(.*);$", dot, re.M):
        if 'dir="none"' not in attrs:
            after.setdefault(a, set()).add(b)

    def below(n: str) -> set[str]:
        seen, todo = {n}, [n]
        while todo:
            for m in after.get(todo.pop(), ()):
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        return seen

    node = {label: nid for nid, (label, _) in nodes.items()}
    ends = {
        t.name: (node[f"{t.table}\n{', '.join(t.inputs)}"], node[t.name]) for t in DIAGRAM_TASKS
    }
    return {
        f"{nid} {label}": frozenset(t for t, (i, o) in ends.items() if nid in below(i) and o in below(nid))
        for nid, (label, attrs) in nodes.items()
        if 'shape="note"' not in attrs and 'shape="ellipse"' not in attrs  # not inputs, outputs
    }  # fmt: skip


def diagram_model(strategy: str) -> tuple[torch.nn.Module, list[ModelTask]]:
    """The model ``strategy`` builds for the diagram's tasks, and those tasks."""
    tasks = [ModelTask(t.name, f"{t.table}:{','.join(t.inputs)}", len(t.inputs), 1)
             for t in DIAGRAM_TASKS]  # fmt: skip
    arch = Architecture(hidden=(32, 16), head_hidden=(8,))
    return build_model(strategy, tasks, arch, 0, DIAGRAM_OPTIONS.get(strategy)), tasks


def model_task_sets(strategy: str) -> dict[str, frozenset[str]]:
    """Per parameter of the model ``strategy`` builds: the tasks whose output it moves."""
    model, tasks = diagram_model(strategy)
    xs = {t.name: torch.randn(16, t.in_dim, generator=torch.Generator().manual_seed(1))
          for t in tasks}  # fmt: skip
    params = dict(model.named_parameters())
    reached: dict[str, set[str]] = {name: set() for name in params}
    for t in tasks:
        grads = torch.autograd.grad(model(xs).outputs[t.name].sum(), list(params.values()),
                                    allow_unused=True)  # fmt: skip
        for name, g in zip(params, grads, strict=True):
            if g is not None and bool(g.abs().sum() > 0):
                reached[name].add(t.name)
    return {name: frozenset(ts) for name, ts in reached.items() if ts}


def sharing_pairs(task_sets: Iterable[frozenset[str]]) -> set[frozenset[str]]:
    return {frozenset(p) for ts in task_sets for p in itertools.combinations(sorted(ts), 2)}


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_every_strategy_diagram_draws_the_sharing_its_model_has(strategy: str):
    """What the Model page draws is what the model does: each drawn layer, expert or gate
    carries the rows of exactly the tasks that some parameter of the real model serves (a
    drawn expert stands for its per-table input layers too), and two tasks meet in the
    drawing exactly when they share parameters in the model."""
    colors = charts.task_colors([t.name for t in DIAGRAM_TASKS])
    dot = network_dot(strategy, DIAGRAM_TASKS, hidden=[32, 16], head_hidden=[8],
                      options=DIAGRAM_OPTIONS.get(strategy, {}), colors=colors)  # fmt: skip
    assert f'label="{dot_escape(chr(104) + chr(34) + "1")}"' in dot and 'label="apt"' in dot
    drawn, built = drawn_task_sets(dot), model_task_sets(strategy)
    assert set(drawn.values()) <= set(built.values()), {k: sorted(v) for k, v in drawn.items()}
    assert sharing_pairs(drawn.values()) == sharing_pairs(built.values())
    heads = [k for k, ts in drawn.items() if k.split(" ", 1)[1].startswith("head")]
    assert sorted(next(iter(drawn[k])) for k in heads) == sorted(t.name for t in DIAGRAM_TASKS)
    if strategy in ("mmoe", "cgc", "ple"):  # as many experts drawn as the model holds
        # (each bank of same-shaped experts is stored stacked: it knows how many it holds)
        banks = [m for m in diagram_model(strategy)[0].modules() if isinstance(m, ExpertBank)]
        assert sum("expert" in k for k in drawn) == sum(b.n_experts for b in banks) > 0
        assert "gate" in dot
    if strategy == "cross_stitch":
        assert "cross-stitch" in dot


def test_the_confusion_frame_counts_every_pair():
    counts = confusion_frame(["x", "y", "y"], ["x", "x", "y"], ["x", "y"])
    assert counts.to_numpy().tolist() == [[1, 0], [1, 1]]


def test_representation_points_read_truth_and_errors():
    # Truths and decoded predictions come from the snapshot (mtlcore.train.Snapshot).
    pts = representation_points("t", 2, np.array([1.0, 2.0]), np.array([1.5, 2.0]))
    assert pts["error"].tolist() == [0.5, 0.0]
    pts = representation_points("c", 2, np.array(["a", "b"]), np.array(["b", "b"]))
    assert pts["error"].tolist() == ["wrong", "right"]
    old = representation_points("c", 2)  # a snapshot saved before truths were stored
    assert list(old.columns) == ["task"] and len(old) == 2


def test_upload_ids_never_escape_the_uploads_folder():
    assert datasets.upload_path("../../etc/passwd") is None
    assert datasets.upload_id("/etc/passwd.csv") is None
    assert datasets.table_name("My Houses.csv", ["my_houses"]) == "my_houses_2"


def test_chart_labels_show_user_names_as_text():
    colors = charts.task_colors(["<b>x</b>"])
    history = pd.DataFrame({"model": ["mtl"], "task": ["<b>x</b>"], "split": ["train"],
                            "epoch": [1], "loss": [1.0]})  # fmt: skip
    assert charts.loss_curves(history, colors).data[0].name.startswith("&lt;b&gt;x&lt;/b&gt;")
