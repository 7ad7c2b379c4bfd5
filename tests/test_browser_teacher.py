"""The teacher's walk (issue 10) in a real browser: the objective is whole in its column,
classroom mode leaves no orphan description, the sidebar and the link's warnings say
what they describe. Screenshots land in tests/screenshots/."""

from __future__ import annotations

import pytest

from tests.test_browser import shot
from tests.test_teacher_walk import SYNTHETIC_TASKS, finished, synthetic

pytestmark = pytest.mark.browser

# KaTeX never wraps and the column hides what overflows: a formula wider than the box it
# sits in is cut. (The display box itself always scrolls 2 px past its content: KaTeX's
# struts, so the formula's own width is what is compared.)
OVERFLOW = """() => [...document.querySelectorAll('.katex-display')].map(
    e => e.querySelector('.katex').getBoundingClientRect().width - e.parentElement.clientWidth)"""


def test_the_objective_is_whole_for_a_gradient_method_with_four_tasks(open_app):
    page = open_app(
        "model?weighting.method=pcgrad&data.builtin=synthetic&data.options=%7B%22n_tasks%22%3A4%7D"
        "&train.regularization=l2&train.reg_lambda=0.0001"
    )
    page.locator(".katex-display").first.scroll_into_view_if_needed()
    assert "PCGrad" in page.locator(".katex-display").first.inner_text()
    overflow = page.evaluate(OVERFLOW)
    assert overflow and max(overflow) <= 0, overflow
    shot(page, "teacher_objective_pcgrad")


def test_classroom_mode_and_a_link_to_a_missing_experiment(open_app):
    exp = finished(synthetic(0.9), SYNTHETIC_TASKS, seeds=(0, 1))
    page = open_app("model?exp=999&hide=strategy,optimizer,lr,activation,dropout,optimiser")
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "exp=999: there is no experiment #999 on this server" in body
    assert "hide=optimiser: no setting is called that" in body
    assert "Hard sharing, fixed by this link." in body and "Caruana" not in body
    assert "Your draft" in page.locator('[data-testid="stSidebar"]').inner_text()
    shot(page, "teacher_classroom_model")

    page = open_app(f"compare?exp={exp}")
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert f"Experiment #{exp}" in sidebar and "relatedness 0.9" in sidebar
    assert "Seeds: 0, 1" in sidebar
    shot(page, "teacher_sidebar_compare")
