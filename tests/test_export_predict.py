"""One zip per experiment, predictions on new rows, and CSVs that never run as formulas."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load

from mtlcore import saved_preprocessing
from mtlcore.cli import EXIT_BAD_INPUT, main
from mtlcore.config import ExperimentConfig
from mtlcore.csv_safe import FORMULA_STARTS, csv_text, safe_cell
from mtlcore.data.prepare import split_rows
from mtlcore.data.spec import DataError
from mtlcore.experiment import load_dataset, run_experiment, write_outputs
from mtlcore.export import export_experiment
from mtlcore.predict import parse_inputs, predict
from mtlcore.runs import RunStore, drain_queue

PENGUINS = {
    "name": "penguins-tiny",
    "data": {"builtin": "penguins"},
    "tasks": ["species", "sex", "body_mass"],
    "model": {"strategy": "hard", "hidden": [8]},
    "train": {"epochs": 2, "batch_size": 64},
    "seeds": [0, 1],
}
HOUSES = {  # two tables whose same-named columns share one feature space
    "name": "houses-tiny",
    "data": {"builtin": "houses", "align_columns": True},
    "model": {"strategy": "hard", "hidden": [8]},
    "train": {"epochs": 2, "batch_size": 64},
    "seeds": [0],
}


def _train(raw: dict, out: Path) -> tuple[ExperimentConfig, Path]:
    config = ExperimentConfig.parse(raw)
    result, runs = run_experiment(config)
    write_outputs(out, config, result, runs)
    return config, out


@pytest.fixture(scope="module")
def penguins(tmp_path_factory) -> tuple[ExperimentConfig, Path]:
    return _train(PENGUINS, tmp_path_factory.mktemp("penguins"))


@pytest.fixture(scope="module")
def houses(tmp_path_factory) -> tuple[ExperimentConfig, Path]:
    return _train(HOUSES, tmp_path_factory.mktemp("houses"))


def _test_rows(config: ExperimentConfig, task: dict) -> pd.DataFrame:
    """The task's labelled test rows, in the order predictions.csv numbers them."""
    table = load_dataset(config).tables[task["table"]]
    d = config.data
    idx = split_rows(len(table), d.val_fraction, d.test_fraction, d.split_seed, task["table"])
    rows = table.iloc[idx["test"]]
    return rows[rows[task["targets"]].notna().all(axis=1)]


@pytest.mark.parametrize("which", ["penguins", "houses"])
def test_predictions_on_the_test_rows_equal_the_runs_predictions(which, request):
    config, out = request.getfixturevalue(which)
    result = json.loads((out / "result.json").read_text())
    saved = pd.read_csv(out / "predictions.csv")
    described = json.loads((out / "preprocessing.json").read_text())["tasks"]
    decimals = {t["name"]: (t.get("target_decimals") or [6])[0] for t in described}
    for seed in config.seeds:
        for name, task in result["tasks"].items():
            rows = _test_rows(config, task)
            got = predict(out, rows.to_csv(index=False).encode(), seed=seed, name="test.csv")
            assert got.seed == seed and name in got.tasks
            ref = saved[(saved.seed == seed) & (saved.model == "mtl") & (saved.task == name)]
            mine = got.frame[f"predicted {name}"]
            if task["kind"] == "regression":
                # the run rounds float32 outputs to the target's decimals, predict float64 ones
                np.testing.assert_allclose(mine.to_numpy(float), ref.prediction.to_numpy(float),
                                           rtol=1e-5, atol=10.0 ** -decimals[name])  # fmt: skip
            else:
                assert mine.astype(str).tolist() == ref.prediction.astype(str).tolist()


def test_saved_preprocessing_gives_the_training_features(penguins):
    """The JSON-described preprocessing reproduces scikit-learn's fitted transform."""
    config, out = penguins
    _, runs = run_experiment(ExperimentConfig.parse({**PENGUINS, "seeds": [0]}))
    data = runs[0].data
    saved = saved_preprocessing.from_json(saved_preprocessing.describe(data), "memory")
    for task, s in zip(data.tasks, saved, strict=True):
        rows = _test_rows(config, {"table": "penguins", "targets": list(task.targets)})
        frame = pd.read_csv(io.StringIO(rows.to_csv(index=False)), dtype=str)

        np.testing.assert_allclose(s.features(parse_inputs(frame, [s], "t")), task.X["test"])


def test_missing_columns_are_named_with_the_file(penguins):
    _, out = penguins
    rows = b"island,bill_length_mm,colour\nBiscoe,45,red\n"
    with pytest.raises(DataError) as err:
        predict(out, rows, name="new_birds.csv")
    message = str(err.value)
    assert "new_birds.csv" in message
    assert "'bill_depth_mm'" in message and "'flipper_length_mm'" in message
    assert "colour" not in message  # extra columns are ignored, not blamed


def test_unparseable_numbers_name_the_column_and_first_bad_rows(penguins):
    _, out = penguins
    rows = (
        b"island,bill_length_mm,bill_depth_mm,flipper_length_mm\n"
        b"Biscoe,45,15,220\nDream,abc,18,190\nDream,,18,190\nBiscoe,4 5,17,200\n"
    )
    with pytest.raises(DataError) as err:
        predict(out, rows, name="new.csv")
    message = str(err.value)
    assert "'bill_length_mm'" in message and "new.csv" in message
    assert "row 2 ('abc')" in message and "row 4 ('4 5')" in message
    assert "row 3" not in message  # an empty cell is missing, filled as at training


def test_new_rows_get_labels_and_units_and_extra_columns_pass_through(penguins):
    config, out = penguins
    rows = (
        b"id,island,bill_length_mm,bill_depth_mm,flipper_length_mm\n"
        b"a,Biscoe,47,15,225\nb,Atlantis,,,\n"
    )
    got = predict(out, rows)
    classes = json.loads((out / "result.json").read_text())["tasks"]["species"]["classes"]
    assert list(got.frame["id"]) == ["a", "b"]  # an unknown island and empty cells still predict
    assert set(got.frame["predicted species"]) <= set(classes)
    assert set(got.frame["predicted sex"]) <= {"female", "male"}
    assert got.frame["predicted body_mass"].between(1000, 10000).all()  # grams, not z-scores


def test_semicolon_and_decimal_comma_rows_predict_as_their_comma_twin(penguins):
    """New rows read like training files: the separator and a decimal comma are found."""
    config, out = penguins
    comma = (
        b"id,island,bill_length_mm,bill_depth_mm,flipper_length_mm\n"
        b"a,Biscoe,47.5,15.25,225\nb,Dream,39.1,18.7,181\n"
    )
    semicolon = comma.replace(b",", b";").replace(b"47.5", b"47,5").replace(b"15.25", b"15,25")
    semicolon = semicolon.replace(b"39.1", b"39,1").replace(b"18.7", b"18,7")
    tab = comma.replace(b",", b"\t")
    expected = predict(out, comma).frame
    for other in (semicolon, tab):
        got = predict(out, other).frame
        pd.testing.assert_frame_equal(got.drop(columns=["bill_length_mm", "bill_depth_mm"]),
                                      expected.drop(columns=["bill_length_mm", "bill_depth_mm"]))  # fmt: skip
    assert list(predict(out, semicolon).frame["bill_length_mm"]) == ["47.5", "39.1"]


def test_export_zip_holds_every_seed_and_round_trips(penguins, tmp_path):
    config, out = penguins
    data = export_experiment(out, tmp_path / "exp.zip")
    assert (tmp_path / "exp.zip").read_bytes() == data
    zf = zipfile.ZipFile(io.BytesIO(data))
    names = set(zf.namelist())
    assert names == {
        "README.txt", "config.yaml", "result.json", "metrics.csv", "predictions.csv",
        "preprocessing.json", "weights/seed0.safetensors", "weights/seed1.safetensors",
    }  # fmt: skip
    result = json.loads(zf.read("result.json"))
    assert result["seeds"] == [0, 1] and all("verdict" in t for t in result["tasks"].values())
    assert ExperimentConfig.from_text(zf.read("config.yaml").decode()).seeds == [0, 1]
    metrics = pd.read_csv(io.BytesIO(zf.read("metrics.csv")))
    assert list(metrics.columns) == ["seed", "step", "epoch", "model", "task", "split", "name",
                                     "value"]  # fmt: skip
    assert set(metrics.seed) == {0, 1} and {"loss", "weight"} <= set(metrics.name)
    for seed in (0, 1):
        tensors = load(zf.read(f"weights/seed{seed}.safetensors"))
        assert tensors and all(k.startswith(f"seed{seed}.") for k in tensors)
    for name in names - {"README.txt"}:
        assert name in zf.read("README.txt").decode() or name.startswith("weights/")
    zf.extractall(tmp_path / "unzipped")
    rows = b"island,bill_length_mm,bill_depth_mm,flipper_length_mm\nDream,40,18,190\n"
    for seed in (0, 1):
        a = predict(out, rows, seed=seed).frame
        b = predict(tmp_path / "unzipped", rows, seed=seed).frame
        pd.testing.assert_frame_equal(a, b)
    again = zipfile.ZipFile(io.BytesIO(export_experiment(tmp_path / "unzipped")))
    assert set(again.namelist()) == names
    assert again.read("predictions.csv") == zf.read("predictions.csv")


def test_export_of_a_run_store_experiment_pools_its_seeds(mtl_studio_home, tmp_path):
    store = RunStore(mtl_studio_home)
    ids = store.submit(ExperimentConfig.parse({**PENGUINS, "seeds": [3, 4]}))
    assert [s for _, s in drain_queue(store)] == ["done", "done"]
    exp = store.run(ids[0]).experiment_id
    zf = zipfile.ZipFile(io.BytesIO(export_experiment(str(exp), store=store)))
    result = json.loads(zf.read("result.json"))
    assert result["n_seeds"] == 2 and [r["seeds"] for r in result["by_seed"]] == [[3], [4]]
    assert result["tasks"]["species"]["verdict"] is not None
    metrics = pd.read_csv(io.BytesIO(zf.read("metrics.csv")))
    assert set(metrics.seed) == {3, 4}
    assert {"weights/seed3.safetensors", "weights/seed4.safetensors", "preprocessing.json"} <= set(
        zf.namelist()
    )
    rows = b"island,bill_length_mm,bill_depth_mm,flipper_length_mm\nDream,40,18,190\n"
    assert predict(str(exp), rows, seed=4, store=store).seed == 4


def test_cli_export_and_predict(penguins, tmp_path, capsys):
    _, out = penguins
    assert main(["export", str(out), "--out", str(tmp_path / "e.zip")]) == 0
    assert "weights/seed1.safetensors" in zipfile.ZipFile(tmp_path / "e.zip").namelist()
    new = tmp_path / "new.csv"
    new.write_text("island,bill_length_mm,bill_depth_mm,flipper_length_mm,note\n"
                   "Biscoe,45,15,220,=cmd|calc\n")  # fmt: skip
    code = main(["predict", str(out), str(new), "--out", str(tmp_path / "p.csv"), "--seed", "1"])
    assert code == 0
    written = pd.read_csv(tmp_path / "p.csv")
    assert written["note"].tolist() == ["'=cmd|calc"]  # neutralised, not a formula
    assert {"predicted species", "predicted sex", "predicted body_mass"} <= set(written.columns)
    capsys.readouterr()
    bad = tmp_path / "bad.csv"
    bad.write_text("island\nBiscoe\n")
    assert main(["predict", str(out), str(bad), "--out", str(tmp_path / "x.csv")]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: File 'bad.csv' lacks") and "Traceback" not in err
    assert main(["predict", str(out), str(new), "--out", "x.csv", "--seed", "9"]) == EXIT_BAD_INPUT
    assert "no trained seed 9" in capsys.readouterr().err
    assert main(["export", "12345", "--out", str(tmp_path / "y.zip")]) == EXIT_BAD_INPUT
    assert "no experiment with id 12345" in capsys.readouterr().err


# --- formula cells --------------------------------------------------------------------------

text_cells = st.text(min_size=1, max_size=12).filter(lambda s: "\x00" not in s)
numbers = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False)


def _runs_as_formula(cell: str) -> bool:
    """Would a spreadsheet run it? Text starting with = + - @ tab CR that is not a number."""
    if not cell.startswith(FORMULA_STARTS):
        return False
    try:
        float(cell)
    except ValueError:
        return True
    return not re.fullmatch(r"[+-]?[0-9.eE+-]+", cell)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(text_cells, numbers), min_size=1, max_size=6), text_cells)
def test_no_text_cell_can_run_as_a_formula_and_numbers_stay(cells, column):
    texts, values = [c[0] for c in cells], [c[1] for c in cells]
    frame = pd.DataFrame({"text": texts, "number": values, column: texts})
    header, *body = list(csv.reader(io.StringIO(csv_text(frame), newline="")))
    assert not any(_runs_as_formula(h) for h in header)
    for original, (text, _, again) in zip(texts, body, strict=True):
        assert not _runs_as_formula(text) and text == again
        assert text == ("'" + original if _runs_as_formula(original) else original)
    written = [float(row[1]) for row in body]
    assert written == values  # numbers, negative ones included, are written as they are


@pytest.mark.parametrize(
    ("cell", "written"),
    [("=1+1", "'=1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=x", "'\t=x"),
     ("+cmd", "'+cmd"), ("-1.5", "-1.5"), ("+2e3", "+2e3"), ("plain", "plain"), (-3.0, -3.0)],
)  # fmt: skip
def test_safe_cell(cell, written):
    assert safe_cell(cell) == written


def csv_text_per_cell(frame: pd.DataFrame) -> str:
    """The writer as it was before issue 12's speed-up: safe_cell mapped over every cell of
    each text column, then pandas' to_csv; the fast one must write the same bytes."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or isinstance(out[column].dtype, pd.StringDtype):
            out[column] = out[column].map(safe_cell)
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out.to_csv(index=False, lineterminator="\r\n")


def test_the_fast_writer_writes_the_same_bytes_as_the_per_cell_one(tmp_path):
    from mtlcore.csv_safe import write_csv

    frame = pd.DataFrame({
        "label": ["=HYPERLINK(\"x\")", "plain", "-1.5", "-2+3", "@SUM(A1)", "\t=x", "\r+y",
                  "naïve ☃ 日本", 'say "hi", then go', "line\nbreak"],
        "number": [1.5, -2.0, np.nan, 0.0, -1e-9, 3e20, 7.0, -0.5, 2.25, np.nan],
        "integer": [-3, 0, 5, -7, 1, 2, 3, 4, 5, 6],
        "mixed": [1, None, "=1", -4.5, "x", np.nan, True, "+cmd", "-7", "ünï"],
        "ints_and_none": [1, None, 3, None, 5, 6, 7, 8, 9, 10],
        "string": pd.array(["=a", None, "b", "-1", "+x", "-\u0663", "", "@", "é", "'q"],
                           dtype="string"),  # -٣: a number to Python's \d, not to [0-9]
        "python_string": pd.array(["-1e5", "=b", None, "+\u0663.5", "x", "-", "+", ".5", "-.",
                                   "\t1"], dtype=pd.StringDtype("python")),
        "=formula name": ["same"] * 10,
    })  # fmt: skip
    frame["ints_and_none"] = frame["ints_and_none"].astype(object)
    before = frame.copy()
    assert csv_text(frame) == csv_text_per_cell(frame)
    path = write_csv(frame, tmp_path / "out.csv")
    assert path.read_bytes() == csv_text_per_cell(frame).encode("utf-8")
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is left alone
    clean = frame[["number", "integer"]]  # nothing to neutralise: the same bytes too
    assert csv_text(clean) == csv_text_per_cell(clean)


cells = st.one_of(text_cells, numbers, st.none(), st.sampled_from(["=1", "-1", "+a", "@"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(cells, min_size=1, max_size=8))
def test_the_fast_writer_matches_the_per_cell_one_on_any_cells(values):
    frame = pd.DataFrame(
        {"cell": pd.Series(values, dtype=object), "text": [str(v) for v in values]}
    )
    assert csv_text(frame) == csv_text_per_cell(frame)
