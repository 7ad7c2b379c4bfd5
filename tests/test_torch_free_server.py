"""The Streamlit server process never imports torch (issue 12): the pages read the
torch-free catalogue (``mtlcore.catalogue``), training runs in the worker processes.

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

# Renders the app, then each page given, and prints which of them left torch imported.
RENDER = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.run()
seen = {"first render": "torch" in sys.modules}
errors = [e.value for e in at.exception]
for page in sys.argv[2:]:
    at.switch_page(f"app_pages/{page}.py").run()
    errors += [e.value for e in at.exception]
    seen[page] = "torch" in sys.modules
print(json.dumps({"torch": seen, "errors": errors}))
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
    assert not any(out["torch"].values()), out["torch"]


def test_the_check_sees_torch_when_a_page_loads_it(tmp_path):
    """The check above can fail: building a model in the process imports torch, and
    the same script reports it (the Predict page still does: it runs saved models)."""
    out = _python(RENDER, str(APP), "predict", home=tmp_path)
    assert out["torch"] == {"first render": False, "predict": True}
