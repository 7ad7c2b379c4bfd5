"""Markdown injection (issue 11, item 5): names that users choose never render as markdown.

A CSV whose column names are markdown and HTML payloads (an image and a link to another
host, raw HTML, a colour directive, LaTeX) is uploaded under a payload file name; tasks are
named after those columns, the experiment gets a payload name, and it trains (tiny) with
the hierarchical strategy and static weights, whose per-task sliders are labelled with the
task names. Every page is then visited, and every string Streamlit renders as markdown
(bodies, captions, alerts, widget labels and help, radio options, expander and tab labels,
metric labels) must hold the payloads only escaped by ``dashboard.text.md_escape`` (the
one helper the pages use, re-exported by ``dashboard.ui``). A real-browser check of the
same names is in tests/test_browser_markdown_injection.py.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import runs_client
from dashboard.text import WORD_JOINER
from tests.conftest import DASHBOARD_APP

pytestmark = pytest.mark.usefixtures("quiet_dashboard")

HOST = "evil.invalid"
IMAGE = f"![x](http://{HOST}/track.png)"
LINK = f"[go](http://{HOST}/l)"
HTML = f"<img src=http://{HOST}/h.png>"
STYLED = ":red[**$x^2$**]"
COLUMNS = {"size": None, LINK: None, STYLED: None, IMAGE: "number", HTML: "class"}
FILE = f"![f](http:{HOST}) <b>.csv"
RUN = f"<img src=http://{HOST}/run.png> ![r](http://{HOST}/r.png)"
PAGES = ["learn", "data", "model", "train", "compare", "predict", "transfer",
         "representations", "runs"]  # fmt: skip

# A payload left unescaped: its markdown or HTML, raw (no backslash before it).
UNESCAPED = re.compile(
    rf"(?<!\\)!(?<!\\)\[|(?<!\\)\]\((?:[^)]*){re.escape(HOST)}|(?<!\\)<(?:img|b|a)\b"
    rf"|(?<!\\):red(?<!\\)\[|(?<!\\)\$x"
    r"|https?\\?:\\?/\\?/evil\\?\.invalid"  # a bare URL, which GitHub markdown links
)
MARKDOWN_FIELDS = {"body", "label", "help", "caption"}
MARKDOWN_OPTIONS = {"radio", "button_group"}  # their options are markdown too


def payload_csv(n: int = 60) -> bytes:
    rng = np.random.default_rng(0)
    size = rng.normal(size=n)
    other = rng.normal(size=n)
    frame = pd.DataFrame({
        "size": size.round(3), LINK: other.round(3), STYLED: rng.choice(["a", "b"], n),
        IMAGE: (size + 0.1 * rng.normal(size=n)).round(3),
        HTML: np.where(size > 0, "big", "small"),
    })  # fmt: skip
    return frame.to_csv(index=False).encode()


def markdown_strings(at: AppTest) -> Iterator[tuple[str, str]]:
    """(element type, text) for every string the page renders as markdown."""

    def from_proto(kind: str, message) -> Iterator[tuple[str, str]]:
        for field, value in message.ListFields():
            if field.message_type is not None:
                children = [value] if hasattr(value, "ListFields") else list(value)
                for child in children:
                    if hasattr(child, "ListFields"):
                        yield from from_proto(kind, child)
            elif field.name in MARKDOWN_FIELDS and isinstance(value, str):
                yield kind, value
            elif field.name == "options" and kind in MARKDOWN_OPTIONS:
                yield from ((kind, str(v)) for v in value)
            elif field.name == "spec" and isinstance(value, str):  # a chart: its text as drawn
                texts = plotly_texts(json.loads(value)) if kind == "plotly_chart" else [value]
                yield from ((kind, text) for text in texts)

    def walk(node) -> Iterator[tuple[str, str]]:
        proto = getattr(node, "proto", None)
        if proto is not None:
            yield from from_proto(getattr(node, "type", "?"), proto)
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    yield from walk(at._tree)


# Charts draw text, not markdown: Plotly reads a few HTML tags (dashboard.charts escapes
# them), Graphviz reads its own quoting (dashboard.diagram.dot_escape), and KaTeX reads
# commands (dashboard.objective.latex_escape): none of them may hold the payloads raw.
RAW_IN_CHARTS = {"latex": re.compile(r"\\(?:href|url|includegraphics|html)"),
                 "graphviz_chart": re.compile(r"label\s*=\s*<"),  # an HTML-like label
                 "plotly_chart": re.compile(r"<(?:img|b)\b")}  # fmt: skip


PLOTLY_TEXT = {"name", "text", "title", "hovertemplate", "hovertext", "ticktext", "x", "y",
               "labels", "header", "cells", "values"}  # fmt: skip


def plotly_texts(tree, drawn: bool = False) -> Iterator[str]:
    """The strings a Plotly figure draws (names, titles, hover text, category ticks), not
    its ids such as ``legendgroup``."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from plotly_texts(value, drawn or key in PLOTLY_TEXT)
    elif isinstance(tree, list):
        for value in tree:
            yield from plotly_texts(value, drawn)
    elif isinstance(tree, str) and drawn:
        yield tree


def leaks(at: AppTest) -> list[tuple[str, str]]:
    out = []
    for kind, text in markdown_strings(at):
        raw = RAW_IN_CHARTS.get(kind, UNESCAPED)
        if raw.search(text):
            m = raw.search(text)
            out.append(
                (kind, text if len(text) < 300 else text[max(0, m.start() - 200) : m.end() + 60])
            )
    return out


def test_payload_names_render_as_text_on_every_page():
    at = AppTest.from_file(DASHBOARD_APP, default_timeout=120)
    at.run()
    at.radio(key="ctl:source").set_value("csv").run()
    at.file_uploader[0].set_value((FILE, payload_csv(), "text/csv")).run()
    for _ in range(2):
        at.button(key="add_task").click().run()
    tasks = at.session_state["draft"]["tasks"]
    assert [t["name"] for t in tasks] == [HTML, IMAGE]  # named after their payload targets
    at.session_state["draft"]["name"] = RUN
    found = {"data": leaks(at)}
    at.switch_page("app_pages/model.py").run()
    at.selectbox(key="ctl:model.strategy").set_value("hierarchical").run()
    at.text_input(key="ctl:model.hidden").set_value("8, 8").run()
    at.selectbox(key="ctl:weighting.method").set_value("static").run()
    at.slider(key="ctl:train.epochs").set_value(2).run()
    labels = {s.label for s in at.slider}
    shown = {re.sub(r"\\(.)", r"\1", label).replace(WORD_JOINER, "") for label in labels}
    assert {HTML, IMAGE} <= shown  # the hierarchical depths, one slider per task
    found["model"] = leaks(at)
    at.switch_page("app_pages/train.py").run()
    at.button(key="train").click().run()
    deadline = time.monotonic() + 120
    while not runs_client.list_runs() or any(not r.is_finished for r in runs_client.list_runs()):
        assert time.monotonic() < deadline, "the runs did not finish in time"
        time.sleep(0.3)
    assert {r.status for r in runs_client.list_runs()} == {"done"}
    for page in PAGES:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        found[page] = found.get(page, []) + leaks(at)
    assert {page: found_here for page, found_here in found.items() if found_here} == {}


def test_md_escape_keeps_bare_urls_and_addresses_text():
    """GitHub markdown links a bare URL or e-mail address even when its characters are
    escaped; md_escape puts an invisible word joiner where the link would start."""
    from dashboard.text import md_escape

    text = md_escape("see http://h.invalid/x, WWW.h.invalid and me@h.invalid")
    assert not UNESCAPED.search(md_escape(f"http://{HOST}/x"))
    assert text.replace(WORD_JOINER, "").replace("\\", "") == (
        "see http://h.invalid/x, WWW.h.invalid and me@h.invalid"
    )
    assert text.count(WORD_JOINER) == 3
