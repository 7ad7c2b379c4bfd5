"""One preprocessor per table and inputs (issue 12): the tasks of a table that read the same
columns share one preprocessor, fitted on the table's training rows (never its validation or
test rows); a task that keeps fewer rows because of missing targets gets those rows of the
table's matrix, the very numbers the preprocessor gives them. A task capped by
``train_rows`` (few labels by design) keeps a preprocessor of its own rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtlcore.data.prepare import prepare, split_rows
from mtlcore.data.spec import Dataset, TaskSpec


def table(seed: int = 0, n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "x": rng.normal(3, 2, n),
        "c": rng.choice(["u", "v", "w"], n),
        "d": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
    })  # fmt: skip
    df.loc[rng.random(n) < 0.1, "x"] = np.nan
    df.loc[rng.random(n) < 0.1, "c"] = None
    df["y"] = np.nan_to_num(df.x) + rng.normal(size=n)
    df["few"] = np.where(rng.random(n) < 0.3, np.nan, df.y * 2)  # a target often missing
    df["cls"] = np.where(df.y > 3, "hi", "lo")
    return df


INPUTS = ("x", "c", "d")


def tasks() -> list[TaskSpec]:
    return [
        TaskSpec("y", "t", "y", "regression", INPUTS),
        TaskSpec("cls", "t", "cls", "binary", INPUTS),
        TaskSpec("few", "t", "few", "regression", INPUTS),
        TaskSpec("capped", "t", "y", "regression", INPUTS, train_rows=30),
    ]


def test_tasks_of_a_table_share_one_preprocessor_fitted_on_its_training_rows():
    for seed in (0, 1, 2):
        df = table(seed)
        data = prepare(Dataset("d", "", {"t": df}), tasks())
        pres = {t.name: id(t.preprocessor) for t in data.tasks}
        assert pres["y"] == pres["cls"] == pres["few"]
        assert pres["capped"] != pres["y"]  # few labels by design: its own rows only
        pre = data.tasks[0].preprocessor
        train = df.iloc[split_rows(len(df), 0.15, 0.15, 0, "t")["train"]]
        imputer, scaler = pre.named_transformers_["num"]
        assert imputer.statistics_[0] == np.nanmedian(train.x)  # every training row counts
        x = train.x.fillna(np.nanmedian(train.x))
        np.testing.assert_allclose(scaler.mean_[0], x.mean())
        np.testing.assert_allclose(scaler.scale_[0], x.std(ddof=0))


def test_a_task_with_fewer_rows_gets_those_rows_of_the_tables_matrix():
    df = table(3)
    data = prepare(Dataset("d", "", {"t": df}), tasks())
    t = {x.name: x for x in data.tasks}
    splits = split_rows(len(df), 0.15, 0.15, 0, "t")
    for split, rows in splits.items():
        assert t["y"].X[split] is t["cls"].X[split]  # same rows: the very same array
        keep = rows[df.few.notna().to_numpy()[rows]]
        expected = (
            t["few"]
            .preprocessor.transform(df.iloc[keep][list(INPUTS)].astype({"c": object}))
            .astype(np.float32)
        )
        np.testing.assert_allclose(t["few"].X[split], expected, atol=1e-6)
        assert t["few"].X[split].flags.c_contiguous and t["few"].X[split].dtype == np.float32
        np.testing.assert_array_equal(t["few"].y[split].shape, (len(keep),))
    assert t["few"].batch_group != t["y"].batch_group
    capped = t["capped"]
    assert capped.n_rows("train") == 30 and capped.X["train"].shape[0] == 30
    assert capped.n_rows("val") == t["y"].n_rows("val")  # the cap leaves validation whole
    scaler = capped.preprocessor.named_transformers_["num"][-1]
    np.testing.assert_allclose(capped.X["train"][:, 0].mean(), 0, atol=1e-5)  # its own rows
    assert scaler.n_samples_seen_ == 30
    assert t["few"].dropped_missing_target == int(df.few.isna().sum())
    # Filled values are counted over the rows the task keeps.
    labelled = df[df.few.notna()]
    assert t["few"].imputed == {
        "x": int(labelled.x.isna().sum()),
        "c": int(labelled.c.isna().sum()),
    }


def test_validation_and_test_rows_never_move_the_fit():
    df = table(4)
    splits = split_rows(len(df), 0.15, 0.15, 0, "t")
    held_out = np.concatenate([splits["val"], splits["test"]])
    moved = df.copy()
    moved.loc[held_out, "x"] = 1e6
    moved.loc[held_out, "c"] = "new"
    a = prepare(Dataset("d", "", {"t": df}), tasks()).tasks[0]
    b = prepare(Dataset("d", "", {"t": moved}), tasks()).tasks[0]
    np.testing.assert_array_equal(a.X["train"], b.X["train"])
    assert a.feature_names == b.feature_names  # no one-hot column for the held-out 'new'


def test_a_tasks_arrays_do_not_depend_on_the_tasks_beside_it():
    df = table(5)
    ds = Dataset("d", "", {"t": df})
    together = {t.name: t for t in prepare(ds, tasks()).tasks}
    for spec in tasks():
        alone = prepare(ds, [spec]).tasks[0]
        assert alone.batch_group == together[spec.name].batch_group
        for split in ("train", "val", "test"):
            np.testing.assert_array_equal(alone.X[split], together[spec.name].X[split])
