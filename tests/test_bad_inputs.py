"""The bad-input catalogue (issue 11): every input that used to crash, hang or exhaust the
machine, and what the command line says to it now: one line on stderr, exit status 2
(bad input) or 1 (a run stopped by the server's limits), never a traceback.

Each case of ``tests/bad_inputs/cases.yaml`` runs ``python -m mtlcore`` in-process in a
temporary folder holding a copy of ``tests/bad_inputs/`` (so messages name files as the
user typed them); ``make`` creates what cannot be checked in (a named pipe, a folder, a
file over the size limit) and ``env`` sets the server owner's variables.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import torch
import yaml

from mtlcore.cli import main

CATALOGUE = Path(__file__).parent / "bad_inputs"
CASES = yaml.safe_load((CATALOGUE / "cases.yaml").read_text(encoding="utf-8"))


def run_case(
    case: dict, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> tuple[int, str, str]:
    """Run one catalogue case; return (exit status, stdout, stderr)."""
    shutil.copytree(CATALOGUE, workdir, dirs_exist_ok=True)
    for kind, name in (case.get("make") or {}).items():
        target = workdir / name
        if kind == "pipe":
            os.mkfifo(target)
        elif kind == "folder":
            target.mkdir()
        elif kind == "large_config":  # a comment line repeated past the 1 MB limit
            target.write_text("# padding\n" * 110_000, encoding="utf-8")
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    for key, value in (case.get("env") or {}).items():
        monkeypatch.setenv(key, str(value))
    capsys.readouterr()
    try:
        code = main(case["argv"])
    except SystemExit as exc:  # argparse's own exit
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input_gets_one_line(case, tmp_path, monkeypatch, capsys):
    if case.get("without_gpu") and torch.cuda.is_available():
        pytest.skip("this case needs a machine without a CUDA GPU")
    code, out, err = run_case(case, tmp_path / "work", monkeypatch, capsys)
    if "stdout" in case:
        assert (out.splitlines()[:1], err) == ([case["stdout"]], "")
    else:
        assert err == case["stderr"] + "\n"
    assert code == case["exit"]


UPLOADS = [c for c in CASES if c.get("upload")]


@pytest.mark.usefixtures("quiet_dashboard")
def test_the_data_page_says_the_same_to_each_uploaded_file():
    """The CSV cases uploaded through the Data page (the same bytes, the same function the
    page calls for its uploader): each bad file gets the CLI's message, word for word, in an
    error box; each good one becomes a table, read the same way (rows, columns, separator)."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import DASHBOARD_APP

    at = AppTest.from_file(DASHBOARD_APP, default_timeout=90)
    at.run()
    at.radio(key="ctl:source").set_value("csv").run()
    files = [(c["upload"], (CATALOGUE / c["upload"]).read_bytes(), "text/csv") for c in UPLOADS]
    at.file_uploader[0].set_value(files).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = {plain(e.value) for e in at.error}
    page = "\n".join(plain(m.value) for m in at.markdown)
    for case in UPLOADS:
        if "stderr" in case:
            assert case["stderr"].removeprefix("error: ") in shown, case["id"]
        else:  # "x.csv: 6 rows, 3 columns (read as ...)": the table's line says the same
            assert case["stdout"].replace(" rows, ", " rows × ") in page, (case["id"], page)
    assert len(shown) == sum("stderr" in c for c in UPLOADS)  # one box per bad file


def plain(markdown: str) -> str:
    """Text as the page shows it: the escaping backslashes of md_escape removed."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_the_dashboard_says_when_its_home_is_a_file(tmp_path, monkeypatch):
    """MTL_STUDIO_HOME pointing at a file: the page shows the CLI's sentence, not a traceback."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import DASHBOARD_APP

    home = tmp_path / "home.txt"
    home.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("MTL_STUDIO_HOME", str(home))
    at = AppTest.from_file(DASHBOARD_APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert [plain(e.value) for e in at.error] == [
        f"MTL Studio cannot keep its runs: MTL_STUDIO_HOME: {home} is a file, not a folder; "
        "point MTL_STUDIO_HOME at a folder you can write to (it is created if missing), then "
        "restart the dashboard."
    ]


def test_a_link_cannot_ask_for_a_huge_model():
    """Model sizes come from a dashboard link too: the huge one is dropped with a sentence
    and the draft keeps its own hidden sizes."""
    from dashboard.url import decode_query, default_draft, encode_value

    draft, _, _, problems = decode_query({"model.hidden": encode_value([4096] * 8)})
    assert draft["model"]["hidden"] == default_draft()["model"]["hidden"]
    assert problems == [
        "model.hidden from the link was ignored: link: model: this model would have "
        "117,481,473 parameters, more than this server's budget of 5,000,000 "
        "(MTL_STUDIO_MAX_PARAMS); use fewer or narrower layers in model.hidden and "
        "model.head_hidden (or fewer experts)"
    ]


def test_every_example_and_lesson_fits_the_parameter_budget():
    """The default budget leaves every shipped config (examples, lesson presets) far inside
    it, with the data's real sizes, the baselines included."""
    from mtlcore.config import ExperimentConfig
    from mtlcore.experiment import architecture, model_tasks, prepare_data
    from mtlcore.lessons import LESSONS
    from mtlcore.limits import DEFAULT_MAX_PARAMS
    from mtlcore.models import count_parameters

    configs = [
        ExperimentConfig.load(p) for p in sorted((CATALOGUE.parents[1] / "examples").glob("*.yaml"))
    ]
    configs += [p.experiment() for lesson in LESSONS.values() for p in lesson.presets]
    assert len(configs) > 20
    for config in configs:
        tasks, arch = model_tasks(prepare_data(config)), architecture(config)
        m = config.model
        largest = max(count_parameters(m.strategy, tasks, arch, m.options),
                      count_parameters("independent", tasks, arch))  # fmt: skip
        assert largest < DEFAULT_MAX_PARAMS / 10, config.name


@pytest.mark.parametrize(
    "strategy",
    ["hard", "soft", "cross_stitch", "mmoe", "ple", "cgc", "hierarchical", "independent"],
)
def test_the_bound_checked_at_validation_never_exceeds_the_real_count(strategy):
    """The config is checked with ``min_parameters`` (no torch, no data); it must be a lower
    bound of the real model, or a config could be refused that fits the budget."""
    import random

    from mtlcore.limits import min_parameters
    from mtlcore.models import Architecture, ModelTask, count_parameters

    rng = random.Random(strategy)
    for _ in range(5):
        hidden = [rng.randint(1, 64) for _ in range(rng.randint(2, 4))]
        head = [rng.randint(1, 16) for _ in range(rng.randint(0, 2))]
        experts = rng.randint(1, 5)
        options = {"mmoe": {"n_experts": experts}, "ple": {"n_shared_experts": experts},
                   "cgc": {"n_shared_experts": experts}}.get(strategy, {})  # fmt: skip
        n_tasks, in_dim = rng.randint(1, 3), rng.randint(1, 8)
        tasks = [ModelTask(f"t{i}", f"t{i}", in_dim, rng.randint(1, 3)) for i in range(n_tasks)]
        real = count_parameters(strategy, tasks, Architecture(tuple(hidden), tuple(head)), options)
        assert min_parameters(hidden, head, experts if options else 1) <= real
