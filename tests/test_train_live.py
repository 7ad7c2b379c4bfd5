"""The Train page's live panel: how often it looks at a run (Streamlit's AppTest).

A new run is looked at every quarter second until its first epoch is in the store, so
its first point shows within a quarter second of being written; after that, and for a
run that has waited long, once a second (each look costs the server a script run).
The runs here are queued in the store with no worker, so nothing trains and the test
decides when rows appear.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import runs_client
from mtlcore.config import ExperimentConfig

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
FIRST_ROWS = [
    (0, 0, "mtl", t, s, "loss", 1.0)
    for t in ("house_price", "apartment_price")
    for s in ("train", "val")
]


@pytest.fixture
def periods(monkeypatch) -> list[float | None]:
    """The ``run_every`` of every fragment the pages set up, in order."""
    seen: list[float | None] = []
    real = st.fragment

    def spy(func=None, *, run_every=None, **kw):
        seen.append(run_every)
        return real(func, run_every=run_every, **kw)

    monkeypatch.setattr(st, "fragment", spy)
    monkeypatch.setenv(runs_client.EAGER_ENV, "0")  # no workers: the runs stay as made
    st.cache_data.clear()
    yield seen
    runs_client.shutdown()


def watch(exp: int) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["exp"] = str(exp)
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_new_run_is_looked_at_every_quarter_second_until_its_first_rows(periods):
    store = runs_client.store()
    [run_id] = store.submit(ExperimentConfig.parse({"data": {"builtin": "houses"}}))
    exp = store.run(run_id).experiment_id
    at = watch(exp)
    assert periods[-1] == 0.25
    assert any("Waiting for the first epoch" in str(c.proto.spec) for c in at.get("plotly_chart"))

    store.record(run_id, FIRST_ROWS)
    at.run()
    assert not at.exception
    assert periods[-1] == 1.0


def test_a_run_that_waited_long_is_looked_at_once_a_second(periods):
    store = runs_client.store()
    [run_id] = store.submit(ExperimentConfig.parse({"data": {"builtin": "houses"}}))
    with closing(sqlite3.connect(store.db_path)) as c, c:  # submitted a minute ago, no rows
        c.execute("UPDATE runs SET created = created - 60 WHERE id = ?", (run_id,))
    watch(store.run(run_id).experiment_id)
    assert periods[-1] == 1.0


def test_before_any_run_the_page_shows_where_the_curves_will_be(periods):
    # Drawn before the press, the chart also has the browser load its chart library then.
    at = AppTest.from_file(APP, default_timeout=90)
    at.switch_page("app_pages/train.py").run()
    assert not at.exception
    charts = [str(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(charts) == 1 and "loss curves appear here" in charts[0]
    assert periods == []  # nothing to follow, nothing refreshes
