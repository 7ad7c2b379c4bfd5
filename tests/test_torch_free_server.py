"""The Streamlit server process never imports torch (issue 12): the pages read the
torch-free catalogue (``mtlcore.catalogue``), training runs in the worker processes.
Nor does the first page, Data, import scikit-learn or ``scipy.stats`` (seconds of its
first paint on a busy machine): ``mtlcore.metrics`` imports scikit-learn in the
functions that score, and the page describes a task's inputs with ``mtlcore.data.inputs``.
The run workers import both before their first run (``mtlcore.runs._preload``).

Each check runs in a fresh interpreter (torch, once imported by another test, stays in
``sys.modules``). The seconds and memory this saves are measured in
``bench/bench_first_paint.py``, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
TORCH_FREE_PAGES = ["data", "learn", "model", "train", "compare", "transfer",
                    "representations", "runs"]  # fmt: skip

# Renders the app, then each page given, and prints which of the slow imports were
# loaded after the first render and after each page.
RENDER = """
import json, sys
from streamlit.testing.v1 import AppTest
def loaded():
    return [m for m in ("torch", "sklearn", "scipy.stats") if m in sys.modules]
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.run()
seen = {"first render": loaded()}
errors = [e.value for e in at.exception]
for page in sys.argv[2:]:
    at.switch_page(f"app_pages/{page}.py").run()
    errors += [e.value for e in at.exception]
    seen[page] = loaded()
print(json.dumps({"loaded": seen, "errors": errors}))
"""

# The first page as a user meets it: the built-in dataset, then a CSV uploaded and a
# task on it, with the table of what preprocessing does to its inputs.
FIRST_PAGE = """
import json, sys
from streamlit.testing.v1 import AppTest
from tests.messy_csv import cars_csv
def loaded():
    return [m for m in ("sklearn", "scipy.stats") if m in sys.modules]
def summaries():
    return sum("read_as" in df.value.columns for df in at.dataframe)
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.run()
seen = {"title": at.title[0].value, "builtin": loaded()}
at.radio(key="ctl:source").set_value("csv").run()
at.file_uploader[0].set_value(("cars.csv", cars_csv(), "text/csv")).run()
at.button(key="add_task").click().run()
at.selectbox(key="ctl:tasks.0.target").set_value("mpg").run()
seen["csv"] = [loaded(), summaries()]
seen["errors"] = [e.value for e in at.exception] + [e.value for e in at.error]
print(json.dumps(seen))
"""


def _python(code: str, *args: str, home: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "MTL_STUDIO_HOME": str(home), "MTL_STUDIO_EAGER_WORKERS": "0"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_page_modules_and_config_validation_do_not_import_torch(tmp_path):
    code = """
import importlib, json, sys
from pathlib import Path
for f in sorted(Path("dashboard").glob("*.py")):
    if f.stem != "app":
        importlib.import_module(f"dashboard.{f.stem}")
from mtlcore.config import ExperimentConfig
from mtlcore.models import STRATEGIES
from mtlcore.weighting import METHODS
ExperimentConfig.parse({"data": {"builtin": "houses"},
                        "model": {"strategy": "mmoe", "options": {"n_experts": 3}},
                        "weighting": {"method": "cagrad", "options": {"c": 0.5}}})
assert STRATEGIES["ple"].options_model().n_levels == 2 and METHODS["mgda"].kind
print(json.dumps({"torch": "torch" in sys.modules, "torchjd": "torchjd" in sys.modules}))
"""
    assert _python(code, home=tmp_path) == {"torch": False, "torchjd": False}


def test_the_server_renders_every_training_page_without_torch(tmp_path):
    out = _python(RENDER, str(APP), *TORCH_FREE_PAGES, home=tmp_path)
    assert out["errors"] == []
    assert not any("torch" in modules for modules in out["loaded"].values()), out["loaded"]


def test_the_first_page_and_a_csv_s_tasks_load_no_scikit_learn(tmp_path):
    out = _python(FIRST_PAGE, str(APP), home=tmp_path)
    assert out["errors"] == [] and out["title"] == "Data"
    assert out["builtin"] == []
    assert out["csv"] == [[], 1]  # the task's table of its inputs is drawn


def test_the_check_sees_torch_and_scikit_learn_when_a_page_loads_them(tmp_path):
    """The checks above can fail: building a model in the process imports torch, and
    preparing its inputs scikit-learn (with scipy.stats), and the same script reports
    them (the Predict page still does both: it runs saved models)."""
    out = _python(RENDER, str(APP), "predict", home=tmp_path)
    assert out["loaded"] == {"first render": [], "predict": ["torch", "sklearn", "scipy.stats"]}


def test_the_run_workers_import_scikit_learn_s_metrics_before_a_run(tmp_path):
    """What the pages no longer import, each run worker has before its first run: the
    forkserver imports ``mtlcore.runs._preload``, and a run's first scores do not wait."""
    code = """
import json, sys
import mtlcore.runs._preload
print(json.dumps([m in sys.modules for m in ("sklearn.metrics", "mtlcore.metrics")]))
"""
    assert _python(code, home=tmp_path) == [True, True]
