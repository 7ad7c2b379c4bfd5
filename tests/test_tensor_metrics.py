"""Per-epoch validation metrics computed on tensors are scikit-learn's numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mtlcore.data.prepare import prepare
from mtlcore.data.spec import Dataset, TaskSpec
from mtlcore.evaluate import score
from mtlcore.metrics import regression_metrics, tensor_metric

FINITE = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, allow_subnormal=False,
                   width=32)  # fmt: skip


@st.composite
def truth_and_prediction(draw):
    rows, k = draw(st.integers(1, 40)), draw(st.integers(1, 3))
    shape = (rows,) if k == 1 else (rows, k)
    y = draw(arrays(np.float64, shape, elements=FINITE))
    p = draw(arrays(np.float64, shape, elements=FINITE))
    return y, p


@settings(max_examples=150, deadline=None)
@given(truth_and_prediction())
def test_regression_metrics_match_scikit_learn(pair):
    y, p = pair
    expected = regression_metrics(y, p)
    for metric in ("rmse", "mae", "r2"):
        got = tensor_metric(metric, torch.from_numpy(y), torch.from_numpy(p))
        if np.isnan(expected[metric]):
            assert np.isnan(got)
        else:
            assert got == pytest.approx(expected[metric], rel=1e-9, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=50))
def test_accuracy_matches_scikit_learn(pairs):
    from sklearn.metrics import accuracy_score

    y, p = (np.array(v) for v in zip(*pairs, strict=True))
    got = tensor_metric("accuracy", torch.from_numpy(y), torch.from_numpy(p))
    assert got == accuracy_score(y, p)


def test_an_unknown_metric_is_named():
    with pytest.raises(ValueError, match="'f2'"):
        tensor_metric("f2", torch.zeros(2), torch.zeros(2))


def _data():
    rng = np.random.default_rng(0)
    import pandas as pd

    n = 120
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    df["y"] = 50 + 10 * df.x + rng.normal(size=n)
    df["y2"] = -3 + df.z
    df["c"] = rng.choice(["a", "b", "c"], n)
    df["b"] = rng.choice(["no", "yes"], n)
    specs = [
        TaskSpec("reg", "t", "y", "regression", ("x", "z")),
        TaskSpec("multi", "t", ("y", "y2"), "regression", ("x", "z")),
        TaskSpec("cls", "t", "c", "multiclass", ("x", "z")),
        TaskSpec("bin", "t", "b", "binary", ("x", "z")),
    ]
    return prepare(Dataset("m", "m", {"t": df}, specs), specs, standardize_targets=True)


DATA = _data()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["reg", "multi", "cls", "bin"]),
       st.floats(1e-3, 1e3, allow_subnormal=False))  # fmt: skip
def test_the_per_epoch_metric_is_the_reported_metric_of_the_same_outputs(seed, name, scale):
    task = DATA.task(name)
    rows = task.n_rows("val")
    out = torch.from_numpy(
        (np.random.default_rng(seed).normal(size=(rows, task.out_dim)) * scale).astype(np.float32)
    )
    y = torch.from_numpy(task.y["val"])
    expected = score(task, out.numpy(), "val")
    # score() holds a single target's values in float32 (target_in_units), the curves' in
    # float64: rmse and mae agree to float32 rounding, R² (a fraction of 1) to 1e-6
    for metric, tol in {"rmse": {"rel": 1e-6}, "mae": {"rel": 1e-6}, "r2": {"rel": 1e-6, "abs": 1e-6},
                        "accuracy": {"rel": 0}}.items():  # fmt: skip
        if metric in expected:
            got = task.kind_rules.tensor_metric(task, out, y, metric)
            assert got == pytest.approx(expected[metric], **tol)
