"""Aligned inputs (data.align_columns): same-named columns of different tables, one feature space."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mtlcore.config import ExperimentConfig
from mtlcore.data.prepare import AlignedInputs, PreparedData, aligned_groups, prepare, split_rows
from mtlcore.data.spec import Dataset, TaskSpec
from mtlcore.experiment import model_tasks
from mtlcore.models import Architecture, build_model

ARCH = Architecture(hidden=(16, 8))


def two_tables() -> Dataset:
    """Table a has x, z and text c; table b has x, text c (one category a lacks) and w."""
    rng = np.random.default_rng(0)
    a = pd.DataFrame({"x": rng.normal(10, 2, 60), "z": rng.normal(size=60)})
    a["c"] = rng.choice(["p", "q"], 60)
    a.loc[[3, 7], "x"] = np.nan
    a["y"] = a.x.fillna(10) + a.z + rng.normal(scale=0.1, size=60)
    a["cls"] = np.where(a.z > 0, "pos", "neg")
    b = pd.DataFrame({"x": rng.normal(-5, 1, 40), "w": rng.normal(size=40)})
    b["c"] = rng.choice(["p", "r"], 40)
    b["y"] = b.x + b.w + rng.normal(scale=0.1, size=40)
    return Dataset(
        "toy",
        "",
        {"a": a, "b": b},
        [
            TaskSpec("ya", "a", "y", "regression", ("x", "z", "c")),
            TaskSpec("yb", "b", "y", "regression", ("x", "c", "w")),
            TaskSpec("ca", "a", "cls", "binary", ("x", "z")),
        ],
    )


def aligned(ds: Dataset | None = None) -> PreparedData:
    ds = ds or two_tables()
    return prepare(ds, ds.tasks, align_columns=True)


def preprocessor(data: PreparedData, task: str) -> AlignedInputs:
    pre = data.task(task).preprocessor
    assert isinstance(pre, AlignedInputs)
    return pre


def union_training_values(ds: Dataset, column: str) -> pd.Series:
    """The column over both tables' training splits (every target is present)."""
    return pd.concat(
        [
            table.iloc[split_rows(len(table), 0.15, 0.15, 0, name)["train"]][column]
            for name, table in ds.tables.items()
            if column in table
        ],
        ignore_index=True,
    )


def test_same_named_columns_get_one_preprocessor_fitted_on_the_union_of_training_rows():
    ds = two_tables()
    data = aligned(ds)
    pre = preprocessor(data, "ya")
    assert all(t.preprocessor is pre for t in data.tasks)
    assert list(pre.columns) == ["x", "z", "c", "w"] and pre.tables == ["a", "b"]
    x = union_training_values(ds, "x")
    assert x.isna().sum() >= 1  # one of a's missing x values is a training row
    imputer, scaler = pre.columns["x"][0], pre.columns["x"][-1]
    assert imputer.statistics_[0] == pytest.approx(x.median())
    assert scaler.mean_[0] == pytest.approx(x.fillna(x.median()).mean())
    assert scaler.scale_[0] == pytest.approx(x.fillna(x.median()).std(ddof=0))
    # Table a's x is centred near +10 and b's near -5: the union's mean lies between them.
    assert -5 < scaler.mean_[0] < 10
    # z only in table a: fitted on a's training rows alone.
    z = union_training_values(ds, "z")
    assert pre.columns["z"][-1].mean_[0] == pytest.approx(z.mean())
    # Text: one encoder, categories of both tables.
    assert pre.column_features("c") == ["c_p", "c_q", "c_r"]


def test_a_capped_task_adds_only_the_rows_it_trains_on():
    ds = two_tables()
    specs = [ds.tasks[0], TaskSpec("yb", "b", "y", "regression", ("x", "c", "w"), train_rows=12)]
    data = prepare(ds, specs, align_columns=True)
    n_a = len(split_rows(len(ds.tables["a"]), 0.15, 0.15, 0, "a")["train"])
    assert data.task("yb").n_rows("train") == 12
    assert preprocessor(data, "yb").columns["x"][-1].n_samples_seen_ == n_a + 12
    assert preprocessor(data, "yb").columns["w"][-1].n_samples_seen_ == 12


def test_a_column_a_table_lacks_is_neutral_and_each_table_has_an_indicator():
    data = aligned()
    names = data.task("ya").feature_names
    assert names == ["x", "z", "c_p", "c_q", "c_r", "w", "table_a", "table_b"]
    assert all(t.feature_names == names for t in data.tasks)
    col = {n: i for i, n in enumerate(names)}
    for split in ("train", "val", "test"):
        ya, yb, ca = (data.task(n).X[split] for n in ("ya", "yb", "ca"))
        assert (ya[:, col["w"]] == 0).all() and (yb[:, col["z"]] == 0).all()
        # ca reads x and z of table a only: its c one-hot is all zero, its w too.
        assert (ca[:, [col["c_p"], col["c_q"], col["c_r"], col["w"]]] == 0).all()
        assert (ya[:, col["c_r"]] == 0).all() and (yb[:, col["c_q"]] == 0).all()
        np.testing.assert_array_equal(ya[:, -2:], np.tile([1, 0], (len(ya), 1)))
        np.testing.assert_array_equal(yb[:, -2:], np.tile([0, 1], (len(yb), 1)))
    # Standardised on the union: the union's training rows average 0 in x.
    train_x = np.concatenate([data.task("ya").X["train"][:, 0], data.task("yb").X["train"][:, 0]])
    assert abs(train_x.mean()) < 1e-5


def test_two_tables_share_the_input_group_and_under_hard_sharing_the_first_layer():
    data = aligned()
    groups = {t.input_group for t in data.tasks}
    assert groups == {"aligned:a+b:x,z,c,w"}
    model = build_model("hard", model_tasks(data), ARCH, 0)
    assert len(model.encoders) == 1
    shared = {id(p) for p in model.shared_parameters()}
    encoder = next(iter(model.encoders.values()))
    assert {id(p) for p in encoder.parameters()} <= shared
    assert {id(p) for p in model.trunk.parameters()} <= shared
    # One hidden layer is enough now: every task reads the same feature space.
    build_model("hard", model_tasks(data), Architecture(hidden=(16,)), 0)


def test_without_alignment_the_tables_keep_their_own_first_layers():
    ds = two_tables()
    data = prepare(ds, ds.tasks)
    assert data.task("ya").input_group == "a:x,z,c" != data.task("yb").input_group
    assert all(t.aligned_group is None for t in data.tasks)


def test_validation_and_test_rows_never_influence_the_fit():
    ds = two_tables()
    before = aligned(ds)
    for name, table in ds.tables.items():
        held_out = np.concatenate(
            [split_rows(len(table), 0.15, 0.15, 0, name)[s] for s in ("val", "test")]
        )
        table.loc[table.index[held_out], "x"] = 1e6
        table.loc[table.index[held_out], "c"] = "unseen"
    after = aligned(ds)
    assert after.task("ya").feature_names == before.task("ya").feature_names
    for t in before.tasks:
        np.testing.assert_array_equal(after.task(t.name).X["train"], t.X["train"])
    pre = preprocessor(after, "yb")
    assert pre.columns["x"][-1].mean_[0] == preprocessor(before, "yb").columns["x"][-1].mean_[0]


def test_tasks_of_one_table_are_prepared_exactly_as_without_alignment():
    ds = two_tables()
    one_table = [t for t in ds.tasks if t.table == "a"]
    plain, with_key = prepare(ds, one_table), prepare(ds, one_table, align_columns=True)
    for p, w in zip(plain.tasks, with_key.tasks, strict=True):
        assert w.input_group == p.input_group == "a:" + ",".join(p.spec.inputs)
        assert w.feature_names == p.feature_names and w.aligned_group is None
        for split in ("train", "val", "test"):
            np.testing.assert_array_equal(w.X[split], p.X[split])


def test_a_task_sharing_no_column_name_with_another_table_keeps_its_own_inputs():
    ds = two_tables()
    ds.tables["b"] = ds.tables["b"].rename(columns={"x": "x_b", "c": "c_b"})
    specs = [ds.tasks[0], TaskSpec("yb", "b", "y", "regression", ("x_b", "c_b", "w"))]
    assert aligned_groups(specs) == []
    data = prepare(ds, specs, align_columns=True)
    assert data.task("yb").input_group == "b:x_b,c_b,w"


def test_a_column_that_is_text_in_one_table_is_read_as_text_in_all():
    ds = two_tables()
    ds.tables["b"]["z"] = np.random.default_rng(1).choice(["lo", "hi"], len(ds.tables["b"]))
    specs = [ds.tasks[0], TaskSpec("yb", "b", "y", "regression", ("x", "z"))]
    data = prepare(ds, specs, align_columns=True)
    pre = preprocessor(data, "ya")
    assert not pre.numeric("z") and "z_hi" in pre.column_features("z")


def test_single_task_baselines_start_as_the_multi_task_models_parts():
    data = aligned()
    hard = build_model("hard", model_tasks(data), ARCH, 3)
    alone = build_model("independent", model_tasks(data), ARCH, 3)
    (key,) = hard.encoders.keys()
    for t in data.tasks:
        tower = alone.tower(t.name)
        for mine, theirs in (
            (tower.encoders[key], hard.encoders[key]),
            (tower.trunk, hard.trunk),
            (tower.heads[tower.keys[t.name]], hard.heads[hard.keys[t.name]]),
        ):
            for p, q in zip(mine.parameters(), theirs.parameters(), strict=True):
                assert torch.equal(p, q)


def test_the_config_key_defaults_on_and_the_notes_say_so():
    assert ExperimentConfig().data.align_columns is True
    assert ExperimentConfig.parse({"data": {"align_columns": False}}).data.align_columns is False
    notes = aligned().notes()
    assert any("ya, yb, ca" in n and "data.align_columns" in n for n in notes)
