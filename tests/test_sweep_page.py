"""Sweep page (AppTest): the grid from the same catalogues as the Model page, its counts
and errors, Run queues the sweep's runs in the store, and a finished sweep shows its
progress, heatmap and ranking with the engine's verdicts; user text stays text."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from mtlcore.runs import QUEUED, RunStore, drain_queue
from mtlcore.sweep import cell_results, ranked, start_sweep, sweep_grid
from tests.conftest import DASHBOARD_APP
from tests.test_sweep import tiny_sweep

pytestmark = pytest.mark.usefixtures("quiet_dashboard")


def sweep_page() -> AppTest:
    at = AppTest.from_file(DASHBOARD_APP, default_timeout=90)
    at.run()
    at.switch_page("app_pages/sweep.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def captions(at: AppTest) -> str:
    """The captions' text as shown (their markdown escapes taken out)."""
    return "\n".join(c.value.replace("\\", "") for c in at.caption)


def errors(at: AppTest) -> str:
    """The error boxes' text as shown (their markdown escapes taken out)."""
    return "\n".join(e.value.replace("\\", "") for e in at.error)


def test_the_grid_counts_its_runs_and_says_what_to_fix():
    at = sweep_page()
    # No sweep in the store yet: the page says what to do, and offers no list to pick from.
    assert "No sweep on this server yet" in at.info[-1].value
    assert "1 cell × 3 seeds = 3 runs" in captions(at)  # the default grid: one of each choice
    assert not [s for s in at.selectbox if s.key == "sweep_pick"]
    assert at.multiselect(key="sweep_strategies").value == ["hard"]  # the Model page's choice
    at.multiselect(key="sweep_strategies").set_value(["hard", "mmoe"]).run()
    at.multiselect(key="sweep_methods").set_value(["equal", "uncertainty"]).run()
    at.text_input(key="sweep_seeds").set_value("0, 1").run()
    assert "4 cells × 2 seeds = 8 runs" in captions(at)
    assert "baselines trained 2 times and reused 6 times" in captions(at)
    at.selectbox(key="sweep_extra").set_value("train.lr").run()
    at.text_input(key="sweep_values:train.lr").set_value("0.01, 0.003").run()
    assert "8 cells × 2 seeds = 16 runs" in captions(at)
    assert "trained 4 times" in captions(at)  # the learning rate changes the baselines
    at.text_input(key="sweep_values:train.lr").set_value("0.01, fast").run()
    assert "'fast' is not a number" in errors(at)
    at.text_input(key="sweep_values:train.lr").set_value("0.01, -1").run()
    assert "axes: train.lr = -1.0: train.lr: Input should be greater than 0" in errors(at)
    assert not [b for b in at.button if b.key == "sweep_run"]  # nothing to run
    at.multiselect(key="sweep_methods").set_value([]).run()
    assert "at least one sharing strategy and one weighting method" in errors(at)


def test_run_queues_the_sweep_and_a_finished_one_shows_heatmap_and_ranking(monkeypatch):
    from mtlcore.runs import LocalExecutor

    woken = []
    monkeypatch.setattr(LocalExecutor, "wake", lambda self: woken.append(self))
    # a finished sweep, run in this process beforehand
    store = RunStore()
    grid = tiny_sweep()
    started = start_sweep(store, grid)
    drain_queue(store)
    at = sweep_page()
    assert at.selectbox(key="sweep_pick").value == started.sweep_id
    assert not at.exception and not at.error, [e.value for e in at.error]
    ranking = at.dataframe[0].value
    results = ranked(cell_results(store, started.sweep_id, grid))
    assert list(ranking["rank"]) == [1, 2, 3, 4]
    # counted from the runs: 2 seeds of the one group trained once each, the rest reused
    [bar] = at.get("progress")
    assert bar.proto.text == "100% of 8 runs (baselines trained 2, reused 6)"
    assert list(ranking["model.strategy"]) == [c.values["model.strategy"] for c in results]
    assert ranking["Δm %"].tolist() == pytest.approx([c.delta_m for c in results])
    assert set(ranking["verdict"]) <= {"helps", "hurts", "within the noise"}
    assert at.selectbox(key="sweep_x").value == "model.strategy"
    assert at.selectbox(key="sweep_y").value == "weighting.method"
    assert len(at.get("plotly_chart")) == 1
    # another grid: Run queues it as a new sweep (the workers are not needed for that)
    at.multiselect(key="sweep_methods").set_value(["equal"]).run()
    at.text_input(key="sweep_seeds").set_value("5").run()
    at.button(key="sweep_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert woken, "the page wakes the idle workers after queuing (not at their next look)"
    new = at.selectbox(key="sweep_pick").value
    assert new != started.sweep_id
    assert len(sweep_grid(store, new).cells) == 1
    assert {r.status for r in store.runs(sweep_id=new)} <= {QUEUED, "running", "done"}
    assert at.button(key="sweep_stop")
    at.button(key="sweep_stop").click().run()
    assert {r.status for r in store.runs(sweep_id=new)} <= {"cancelled", "done"}


def test_a_sweep_whose_runs_were_lost_runs_the_rest_from_the_page():
    import subprocess
    import sys

    from mtlcore.runs._liveness import process_token

    store = RunStore()
    grid = tiny_sweep()
    started = start_sweep(store, grid)
    lost = started.submitted[0]
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert store.claim(lost, process_token(gone.pid), gone.pid)  # its server went away
    at = sweep_page()
    assert "1 run(s) failed or were stopped" in captions(at)
    at.button(key="sweep_resume").click().run()
    assert not at.exception, [e.value for e in at.exception]
    runs = store.runs(sweep_id=started.sweep_id)
    assert len(runs) == len(started.submitted) + 1  # only the lost one again
    again = max(runs, key=lambda r: r.id)
    assert (again.sweep_cell, again.seed) == (store.run(lost).sweep_cell, store.run(lost).seed)
    store.cancel_sweep(started.sweep_id)


def test_the_heatmap_colours_only_findings_and_says_every_verdict():
    import pandas as pd

    from dashboard.charts import sweep_heatmap

    cells = pd.DataFrame(
        [
            {"x": "hard", "y": "equal", "delta_m": 4.0, "verdict": "helps",
             "delta_m_low": 1.0, "delta_m_high": 7.0},
            {"x": "mmoe", "y": "equal", "delta_m": -6.0, "verdict": "hurts",
             "delta_m_low": -9.0, "delta_m_high": -3.0},
            {"x": "hard", "y": "<b>dwa</b>", "delta_m": 2.5, "verdict": "within the noise",
             "delta_m_low": -1.0, "delta_m_high": 6.0},
            {"x": "mmoe", "y": "<b>dwa</b>", "delta_m": None, "verdict": "no baseline",
             "delta_m_low": None, "delta_m_high": None},
        ]
    )  # fmt: skip
    fig = sweep_heatmap(cells, "model.strategy", "weighting.method")
    heat = fig.data[0]
    assert [list(row) for row in heat.z] == [[4.0, -6.0], [0.0, 0.0]]  # noise and not done: white
    assert heat.text[0][0].startswith("+4.0%<br>helps")
    assert heat.text[1][0].startswith("+2.5%<br>within the noise<br>interval -1.0% to +6.0%")
    assert heat.text[1][1] == "no baseline"
    assert list(heat.y) == ["equal", "&lt;b&gt;dwa&lt;/b&gt;"]  # user text stays text
