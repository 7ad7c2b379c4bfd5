"""The Learn page: every lesson opens from the overview or a link, presets load into the
editor (by button and by link), and bad lesson links say so."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.url import LESSON_KEY, decode_query, encode_query, lesson_from_link
from mtlcore.lessons import LESSONS
from tests.conftest import DASHBOARD_APP

APP = DASHBOARD_APP
pytestmark = pytest.mark.usefixtures("quiet_dashboard")


def learn(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page("app_pages/learn.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def page_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [h.value for h in at.header] + [i.value for i in at.info]
    return "\n".join(parts)


def test_overview_lists_every_lesson_and_opens_one():
    at = learn()
    text = page_text(at)
    for lesson in LESSONS.values():
        assert f"{lesson.number}. {lesson.title}" in text
    at.button(key="open_few-labels").click().run()
    assert not at.exception
    text = page_text(at)
    assert LESSONS["few-labels"].question in text and "What the runs show" in text
    assert LESSON_KEY in at.query_params or at.session_state[LESSON_KEY] == "few-labels"


@pytest.mark.parametrize("key", list(LESSONS))
def test_every_lesson_opens_from_its_link(key):
    at = learn({"lesson": key})
    lesson = LESSONS[key]
    assert not at.error, [e.value for e in at.error]
    assert f"{lesson.number}. {lesson.title}" in page_text(at)
    for preset in lesson.presets:
        assert at.button(key=f"preset_{key}_{preset.key}")
        preset.experiment()  # every preset is a valid config


def test_a_preset_button_loads_the_preset_and_opens_train():
    at = learn({"lesson": "few-labels"})
    at.button(key="preset_few-labels_unrelated").click().run()
    assert not at.exception, [e.value for e in at.exception]
    draft = at.session_state["draft"]
    assert draft["data"]["options"]["relatedness"] == 0.0
    assert draft["data"]["options"]["labelled_rows"] == [None, 30]
    assert draft["seeds"] == [0, 1, 2]
    assert any("Train" in t.value for t in at.title)


def test_a_preset_link_loads_the_preset():
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update({"lesson": "few-labels", "preset": "houses-separate"})
    at.run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    draft = at.session_state["draft"]
    assert draft["data"]["builtin"] == "houses" and draft["data"]["align_columns"] is False
    assert draft["name"] == "lesson1-houses-separate"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"lesson": "no-such"}, "lesson=no-such: there is no such lesson"),
        ({"lesson": "few-labels", "preset": "nope"}, "lesson 'few-labels' has no such preset"),
        ({"preset": "related"}, "a preset needs its lesson"),
    ],
)
def test_a_bad_lesson_link_says_what_was_ignored(query, says):
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update(query)
    at.run()
    assert not at.exception
    assert any(says in w.value.replace("\\", "") for w in at.warning), [w.value for w in at.warning]


def test_lesson_links_are_pure_functions():
    key, draft, problems = lesson_from_link({"lesson": "few-labels", "preset": "related"})
    assert key == "few-labels" and not problems
    assert draft["data"]["options"]["relatedness"] == 0.9
    query = encode_query(draft, lesson=key)
    assert query["lesson"] == "few-labels"
    decoded, _, _, problems = decode_query(query)
    assert not problems and decoded == draft
