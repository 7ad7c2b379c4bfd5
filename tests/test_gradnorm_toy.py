"""The ``gradnorm_toy`` built-in dataset (Chen et al. 2018, GradNorm, Sec. 4)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from mtlcore.data.builtin import load_builtin
from mtlcore.data.prepare import prepare


def outputs(ds, task: str) -> np.ndarray:
    spec = ds.task(task)
    return ds.tables[spec.table][list(spec.targets)].to_numpy()


def test_tasks_have_one_block_of_outputs_each_on_their_own_scale():
    ds = load_builtin("gradnorm_toy", {"scales": [1, 10, 100], "n_rows": 200})
    assert [t.name for t in ds.tasks] == ["task0", "task1", "task2"]
    for i, (task, scale) in enumerate(zip(ds.tasks, [1, 10, 100], strict=True)):
        assert task.kind == "regression" and task.n_outputs == 100 and len(task.inputs) == 250
        y = outputs(ds, f"task{i}")
        assert np.abs(y).max() < scale  # σ_i · tanh(·)
        assert 0.5 * scale < np.abs(y).mean() < scale


def test_without_task_specific_parts_the_tasks_differ_only_in_scale():
    ds = load_builtin("gradnorm_toy", {"scales": [2, 100], "task_variance": 0, "n_rows": 150})
    np.testing.assert_allclose(outputs(ds, "task1"), 50 * outputs(ds, "task0"), rtol=1e-12)


def test_the_shared_map_makes_the_tasks_related_and_the_own_part_tells_them_apart():
    ds = load_builtin("gradnorm_toy", {"n_rows": 500})
    a, b = outputs(ds, "task0"), outputs(ds, "task1")
    corr = [np.corrcoef(a[:, j], b[:, j])[0, 1] for j in range(a.shape[1])]
    assert 0.3 < np.mean(corr) < 0.95  # B shared (variance 10), ε_i own (variance 3.5)


def test_same_seed_same_table_and_bad_options_name_the_key():
    one = load_builtin("gradnorm_toy", {"n_rows": 120, "seed": 3}).tables["toy"]
    two = load_builtin("gradnorm_toy", {"n_rows": 120, "seed": 3}).tables["toy"]
    assert one.equals(two)
    with pytest.raises(ValidationError, match="scales"):
        load_builtin("gradnorm_toy", {"scales": [1]})
    with pytest.raises(ValidationError, match="n_outputs"):
        load_builtin("gradnorm_toy", {"n_outputs": 0})


def test_prepared_unstandardised_targets_keep_the_scales():
    ds = load_builtin("gradnorm_toy", {"n_rows": 200, "n_inputs": 10, "n_outputs": 3})
    data = prepare(ds, ds.tasks, standardize_targets=False)
    y0, y1 = (t.y["train"] for t in data.tasks)
    assert y0.shape[1] == y1.shape[1] == 3
    assert 50 < np.abs(y1).mean() / np.abs(y0).mean() < 200
