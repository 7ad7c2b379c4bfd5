"""Learn page: guided lessons, each reproducing one multi-task learning finding.

A lesson is text from the engine's catalogue (``mtlcore.lessons``) plus either
presets — ordinary experiments, loaded into the editor with one click or one link
and run on the Train page — or a study of its own, drawn by its view module in
``dashboard/lessons/`` (computed in a child process, never in this server).
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from dashboard import lessons, state
from dashboard.url import LESSON_KEY, PRESET_KEY
from mtlcore.lessons import LESSONS, Lesson, Preset

PAGES = {"train": "app_pages/train.py", "compare": "app_pages/compare.py",
         "transfer": "app_pages/transfer.py", "representations": "app_pages/representations.py",
         "sweep": "app_pages/sweep.py"}  # fmt: skip
# The session key the Sweep page reads a lesson's grid from (dashboard/app_pages/sweep.py).
SWEEP_LESSON = "sweep_lesson"


def main() -> None:
    st.title("Learn")
    key = state.current_lesson()
    if key not in LESSONS:
        overview()
        return
    lesson = LESSONS[key]
    if st.button("All lessons", icon=":material/arrow_back:", key="learn_back"):
        state.set_current_lesson(None)
        st.rerun()
    show(lesson)


def overview() -> None:
    st.write(
        "Each lesson shows one idea of multi-task learning in a few minutes, with settings "
        "that reproduce it on this machine. What a lesson says is what its runs show over "
        "several seeds — checked by the project's tests, with the numbers in each lesson."
    )
    for lesson in LESSONS.values():
        with st.container(border=True):
            left, right = st.columns([5, 1], vertical_alignment="center")
            left.markdown(f"**{lesson.number}. {lesson.title}**")
            left.caption(lesson.claim)
            if right.button("Open", key=f"open_{lesson.key}", icon=":material/school:"):
                state.set_current_lesson(lesson.key)
                st.rerun()


def show(lesson: Lesson) -> None:
    st.header(f"{lesson.number}. {lesson.title}")
    st.markdown(f"**What the runs show.** {lesson.claim}")
    st.markdown(f"**What to do.** {lesson.what_to_do}")
    st.markdown(f"**What to look at.** {lesson.look_at}")
    st.info(f"**Question.** {lesson.question}", icon=":material/help:")
    if lesson.presets:
        presets(lesson)
    view = lessons.view(lesson.key)
    if lesson.study is not None and view is not None:
        view.show(lesson)
    if lesson.measured:
        with st.expander("Measured over seeds"):
            st.markdown(lesson.measured)
    st.caption("Sources: " + " · ".join(lesson.sources))


def presets(lesson: Lesson) -> None:
    st.subheader("Presets")
    st.caption(
        "A preset replaces the experiment you are editing. Each link opens the Train page "
        "with the preset loaded — hand it out as it is."
    )
    for preset in lesson.presets:
        left, right = st.columns([3, 2], vertical_alignment="center")
        if left.button(f"Load: {preset.label}", key=f"preset_{lesson.key}_{preset.key}",
                       icon=":material/play_circle:"):  # fmt: skip
            load(lesson, preset)
        right.markdown(f"[Link to this preset]({preset_link(lesson, preset)})")
    grid = lesson.sweep()
    left, right = st.columns([3, 2], vertical_alignment="center")
    if left.button("Run the whole grid on the Sweep page", key=f"sweep_{lesson.key}",
                   icon=":material/grid_view:"):  # fmt: skip
        st.session_state[SWEEP_LESSON] = lesson.key
        st.switch_page(PAGES["sweep"])
    right.caption(
        f"Every preset on seeds {', '.join(map(str, grid.seeds))}: {len(grid.cells)} × "
        f"{len(grid.seeds)} runs, ranked by Δm; the single-task baselines train "
        f"{grid.baselines_trained} times, not {len(grid.cells) * len(grid.seeds)}."
    )


def preset_link(lesson: Lesson, preset: Preset, page: str = "train") -> str:
    """A relative link that opens ``page`` with the preset loaded (see ``dashboard.url.lesson_from_link``)."""
    return f"{page}?{urlencode({LESSON_KEY: lesson.key, PRESET_KEY: preset.key})}"


def load(lesson: Lesson, preset: Preset) -> None:
    state.replace_draft(preset.experiment().model_dump(mode="json"))
    state.set_current_experiment(None)
    st.switch_page(PAGES["train"])


main()
