"""A lesson's grid on the Sweep page (AppTest): the Learn page's "Run the whole grid" opens
the Sweep page with the lesson's presets as the grid, its counts and seeds; Run queues it
as one sweep; "Build my own grid instead" goes back to the Model page's base."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from mtlcore.lessons import lesson
from mtlcore.runs import QUEUED, RunStore
from mtlcore.sweep import VARIANT, sweep_grid
from tests.conftest import DASHBOARD_APP

pytestmark = pytest.mark.usefixtures("quiet_dashboard")


def captions(at: AppTest) -> str:
    return "\n".join(c.value.replace("\\", "") for c in at.caption)


def test_the_learn_page_opens_the_lessons_grid_on_the_sweep_page():
    at = AppTest.from_file(DASHBOARD_APP, default_timeout=90)
    at.run()
    at.switch_page("app_pages/learn.py").run()
    at.button(key="open_sharing-hurts").click().run()
    assert "6 × 3 runs, ranked by Δm; the single-task baselines train 9 times, not 18" in (
        captions(at))  # fmt: skip
    at.button(key="sweep_sharing-hurts").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.subheader][0] == "The grid: lesson 2, When sharing hurts"
    cells = at.dataframe[0].value  # the presets table (no sweep to follow yet)
    presets = lesson("sharing-hurts").presets
    assert list(cells["preset"]) == [p.key for p in presets]
    assert list(cells["what it is"]) == [p.label for p in presets]
    by_preset = dict(zip(cells["preset"], cells["changes from the first"], strict=True))
    assert by_preset["hard"] == "(the first preset)"
    assert by_preset["related-1"] == "data.options.relatedness = 1.0"
    assert "model.strategy = mmoe" in by_preset["mmoe"]
    assert "6 cells × 3 seeds = 18 runs; single-task baselines trained 9 times and reused 9" in (
        captions(at))  # fmt: skip

    # AppTest keeps the page it switched from for later runs; a browser stays on Sweep
    at.switch_page("app_pages/sweep.py").run()
    assert [s.value for s in at.subheader][0] == "The grid: lesson 2, When sharing hurts"
    at.text_input(key="sweep_lesson_seeds:sharing-hurts").set_value("0, x").run()
    assert not [b for b in at.button if b.key == "sweep_run"]  # nothing to run
    assert at.error
    at.text_input(key="sweep_lesson_seeds:sharing-hurts").set_value("4").run()
    assert "6 cells × 1 seed = 6 runs" in captions(at)
    at.button(key="sweep_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    store = RunStore()
    sweep_id = at.selectbox(key="sweep_pick").value
    grid = sweep_grid(store, sweep_id)
    assert grid.axes == [(VARIANT, [p.key for p in presets])] and grid.seeds == [4]
    assert grid.fingerprint == lesson("sharing-hurts").sweep([4]).fingerprint
    assert {r.status for r in store.runs(sweep_id=sweep_id)} <= {QUEUED, "running", "done"}
    at.button(key="sweep_stop").click().run()

    at.button(key="sweep_own").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.multiselect(key="sweep_strategies")  # the Model page's base again


def test_the_grid_table_shows_only_options_that_differ_from_the_defaults():
    """A preset that changes the strategy, the weighting or the dataset carries that
    choice's whole options, defaults included; the table leaves the defaults out (it
    showed ``model.options.expert_hidden = None`` for MMoE), and keeps what differs."""
    at = AppTest.from_file(DASHBOARD_APP, default_timeout=90)
    at.run()
    rows = {}
    for key in ("sharing-hurts", "loss-scales", "hierarchical"):
        at.session_state["sweep_lesson"] = key
        at.switch_page("app_pages/sweep.py").run()
        assert not at.exception, [e.value for e in at.exception]
        cells = at.dataframe[0].value
        rows |= dict(zip(cells["preset"], cells["changes from the first"], strict=True))
    assert rows["mmoe"] == "model.strategy = mmoe"  # n_experts 4 and expert_hidden: defaults
    assert rows["cross-stitch"] == "model.strategy = cross_stitch"
    assert rows["gradnorm"] == "weighting.method = gradnorm; weighting.options.weight_lr = 0.1"
    assert rows["hard"] == "model.strategy = hard"  # was "model.options = {}"
    assert rows["toy-equal"] == (
        "data.builtin = gradnorm_toy; data.options.n_rows = 1000; data.options.n_inputs = 25; "
        "model.hidden = [100, 100, 100, 100]; train.batch_size = 64; train.snapshot_every = 0"
    )
    # an option of an unchanged dataset is the preset's own change, even at its default
    assert rows["related-1"] == "data.options.relatedness = 1.0"
    assert not [r for r in rows.values() if "None" in r or "{}" in r], rows


def test_the_sweep_pages_address_does_not_carry_the_lesson():
    """The Learn page's lesson is in the address (``?lesson=``: a link back to it); the
    Sweep page, opened by "Run the whole grid", means nothing by it and leaves it out;
    back on the Learn page the tab still follows the lesson."""
    at = AppTest.from_file(DASHBOARD_APP, default_timeout=90)
    at.run()
    at.switch_page("app_pages/learn.py").run()
    at.button(key="open_sharing-hurts").click().run()
    assert at.query_params["lesson"] == "sharing-hurts"
    at.button(key="sweep_sharing-hurts").click().run()
    at.switch_page("app_pages/sweep.py").run()  # AppTest stays on the page it switched from
    assert [s.value for s in at.subheader][0] == "The grid: lesson 2, When sharing hurts"
    assert "lesson" not in at.query_params, dict(at.query_params)
    at.switch_page("app_pages/learn.py").run()
    assert at.query_params["lesson"] == "sharing-hurts"
    assert [h.value for h in at.header][0] == "2. When sharing hurts"
