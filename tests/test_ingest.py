"""CSV ingest, column profiling and task resolution: each bad input gets its own message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mtlcore.data.ingest import (
    MIN_ROWS,
    missing_target_count,
    profile_table,
    read_csv_table,
    resolve_task,
)
from mtlcore.data.spec import DataError, Dataset, TaskSpec
from mtlcore.limits import DEFAULT_MAX_CSV_MB, MAX_CSV_MB_ENV, max_csv_bytes


def write(tmp_path: Path, content: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def good_csv(n_rows: int = 25) -> str:
    return "size, price ,city\n" + "".join(
        f"{i},{100 + 3 * i},{'ab'[i % 2]}\n" for i in range(n_rows)
    )


def read_error(source: Path | bytes, **kwargs: int) -> DataError:
    with pytest.raises(DataError) as info:
        read_csv_table(source, "data.csv", **kwargs)
    assert info.value.where == "data.csv"
    assert "'data.csv'" in str(info.value)
    return info.value


# --- read_csv_table ---------------------------------------------------------


def test_reads_a_good_file_and_strips_column_names(tmp_path: Path) -> None:
    df = read_csv_table(write(tmp_path, good_csv()), "data.csv")
    assert list(df.columns) == ["size", "price", "city"]
    assert len(df) == 25
    assert pd.api.types.is_numeric_dtype(df["price"])
    assert df["city"].tolist()[:2] == ["a", "b"]


def test_reads_bytes_with_a_utf8_bom_and_blank_lines() -> None:
    data = b"\xef\xbb\xbf" + (good_csv() + "\n\n").encode()
    df = read_csv_table(data, "data.csv")
    assert list(df.columns) == ["size", "price", "city"]
    assert len(df) == 25


def test_leading_blank_lines_are_skipped() -> None:
    df = read_csv_table(("\n  \n" + good_csv()).encode(), "data.csv")
    assert list(df.columns) == ["size", "price", "city"] and len(df) == 25


def test_unclosed_quote_names_the_line(tmp_path: Path) -> None:
    text = good_csv().replace("\n5,115,b\n", '\n5,115,"b\n')
    err = read_error(write(tmp_path, text))
    assert "line 7" in str(err) and "double quote that is never closed" in str(err)


def test_missing_values_are_read_as_missing(tmp_path: Path) -> None:
    text = good_csv().replace("\n3,109,b\n", "\n,109,NA\n")
    df = read_csv_table(write(tmp_path, text), "data.csv")
    assert df["size"].isna().sum() == 1 and df["city"].isna().sum() == 1


def test_file_too_large(tmp_path: Path) -> None:
    err = read_error(write(tmp_path, good_csv()), max_bytes=100)
    assert "limit" in str(err) and "100 bytes" in str(err) and "smaller file" in str(err)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    err = read_error(tmp_path / "nope.csv")
    assert "could not be found" in str(err)


@pytest.mark.parametrize("content", [b"", b"  \n\r\n \n"])
def test_empty_file(content: bytes) -> None:
    err = read_error(content)
    assert "is empty" in str(err) and "header row" in str(err)


def test_no_header(tmp_path: Path) -> None:
    text = "".join(f"{i},{i * 2.5},{-i}\n" for i in range(30))
    err = read_error(write(tmp_path, text))
    assert "no header row" in str(err) and "Add a first line" in str(err)


def test_duplicate_column_names(tmp_path: Path) -> None:
    text = "a,b, a\n" + "1,2,3\n" * 25
    err = read_error(write(tmp_path, text))
    assert err.column == "a"
    assert "more than one column named 'a'" in str(err) and "Rename" in str(err)


def test_empty_column_name(tmp_path: Path) -> None:
    text = "a,,c\n" + "1,2,3\n" * 25
    err = read_error(write(tmp_path, text))
    assert "column 2 has no name" in str(err) and "Give every column a name" in str(err)


def test_not_utf8_names_the_line_and_says_to_save_as_utf8(tmp_path: Path) -> None:
    text = good_csv().replace("\n4,112,a\n", "\n4,112,café\n")
    err = read_error(write(tmp_path, text.encode("latin-1")))
    assert "not UTF-8" in str(err) and "line 6" in str(err) and "UTF-8" in str(err)
    assert "CSV UTF-8" in str(err)


def test_row_with_too_many_fields_names_the_line(tmp_path: Path) -> None:
    text = good_csv().replace("\n2,106,a\n", "\n2,106,a,extra\n")
    err = read_error(write(tmp_path, text))
    assert "line 4" in str(err) and "4 values" in str(err) and "3 columns" in str(err)
    assert "double quotes" in str(err)


def test_row_with_too_few_fields_names_the_line(tmp_path: Path) -> None:
    text = good_csv().replace("\n7,121,b\n", "\n7,121\n")
    err = read_error(write(tmp_path, text))
    assert "line 9" in str(err) and "2 values" in str(err)


def test_too_few_rows_are_read_but_not_trained_on(tmp_path: Path) -> None:
    """The minimum belongs to training: a short file is read (and can be inspected); a
    task on it is refused, naming the table and what to do."""
    df = read_csv_table(write(tmp_path, good_csv(MIN_ROWS - 1)), "data.csv")
    assert len(df) == MIN_ROWS - 1
    ds = Dataset("csv", "", {"data": df})
    err = resolve_error(TaskSpec("t", "data", "price"), ds)
    assert str(err) == (
        f"Task 't': table 'data' has only {MIN_ROWS - 1} rows; at least {MIN_ROWS} are "
        "needed to train and validate a model. Add more rows to the file."
    )


def test_header_only_has_no_data_rows(tmp_path: Path) -> None:
    err = read_error(write(tmp_path, "a,b\n"))
    assert "header row ('a', 'b') but no data rows" in str(err)


# --- profile_table ----------------------------------------------------------


def test_profile_table_describes_every_column() -> None:
    n = 60
    df = pd.DataFrame(
        {
            "price": np.linspace(100.0, 400.0, n),
            "rooms": [1, 2, 3] * (n // 3),
            "sold": ["yes", "no"] * (n // 2),
            "id": [f"id{i}" for i in range(n)],  # more distinct values than MAX_CLASSES
            "empty": [np.nan] * n,
            "const": [7] * n,
            "size": [np.nan] * 6 + [(7 * i) % 23 for i in range(n - 6)],  # not a row counter
        }
    )
    prof = profile_table(df).set_index("column")
    assert list(prof.index) == list(df.columns)
    assert prof.loc["price", "dtype"] == "number" and prof.loc["sold", "dtype"] == "text"
    assert prof.loc["price", "task_kind"] == "regression"
    assert prof.loc["rooms", "task_kind"] == "multiclass"
    assert prof.loc["sold", "task_kind"] == "binary"
    assert prof.loc["empty", "task_kind"] == "unusable: all values missing"
    assert prof.loc["const", "task_kind"] == "unusable: a single value"
    assert prof.loc["id", "task_kind"].startswith("unusable: too many text categories")
    assert prof.loc["size", "n_missing"] == 6 and prof.loc["size", "pct_missing"] == 10.0
    assert prof.loc["rooms", "n_unique"] == 3 and prof.loc["rooms", "examples"] == "1, 2, 3"
    usable = prof["usable_as_input"].to_dict()
    assert usable == {
        "price": True,
        "rooms": True,
        "sold": True,
        "id": False,
        "empty": False,
        "const": False,
        "size": True,
    }


# --- resolve_task -----------------------------------------------------------


def make_dataset(n: int = 60) -> Dataset:
    rng = np.random.default_rng(0)
    homes = pd.DataFrame(
        {
            "size": rng.uniform(30, 200, n),
            "rooms": rng.integers(1, 5, n),
            "city": rng.choice(["north", "south"], n),
            "price": rng.uniform(1e5, 5e5, n),
            "grade": rng.choice(["a", "b", "c"], n),
            "label": ["abc"] + [f"{v:.0f}" for v in rng.uniform(0, 100, n - 1)],
            "empty": [np.nan] * n,
            "const": ["x"] * n,
        }
    )
    other = pd.DataFrame({"size": rng.uniform(0, 1, n), "price": rng.uniform(0, 1, n)})
    tasks = [
        TaskSpec("price", "homes", "price"),
        TaskSpec("grade", "homes", "grade"),
        TaskSpec("other_size", "other", "size"),
    ]
    return Dataset("demo", "", {"homes": homes, "other": other}, tasks)


def resolve_error(spec: TaskSpec, dataset: Dataset | None = None) -> DataError:
    with pytest.raises(DataError) as info:
        resolve_task(dataset or make_dataset(), spec)
    assert f"'{spec.name}'" in str(info.value)
    return info.value


def test_resolve_auto_kind_and_default_inputs() -> None:
    ds = make_dataset()
    task = resolve_task(ds, ds.task("price"))
    assert task.kind == "regression"
    # Targets of other tasks on the same table are not inputs; 'other' is another table.
    # The entirely missing column 'empty' and the constant 'const' are not default inputs.
    assert task.inputs == ("size", "rooms", "city", "label")
    assert resolve_task(ds, ds.task("grade")).kind == "multiclass"
    assert resolve_task(ds, TaskSpec("city", "homes", "city", inputs=("size",))).kind == "binary"


def test_resolve_keeps_explicit_inputs_and_kind() -> None:
    ds = make_dataset()
    spec = TaskSpec("rooms", "homes", "rooms", "regression", ("size", "city", "size"))
    task = resolve_task(ds, spec)
    assert task.kind == "regression" and task.inputs == ("size", "city")
    assert task.name == "rooms" and task.table == "homes"


def test_unknown_table_lists_tables() -> None:
    err = resolve_error(TaskSpec("t", "home", "price"))
    assert err.where == "home"
    assert "'homes', 'other'" in str(err) and "Did you mean 'homes'?" in str(err)


def test_unknown_target_suggests_closest_column() -> None:
    err = resolve_error(TaskSpec("t", "homes", "prize"))
    assert err.where == "homes" and err.column == "prize"
    assert "no column 'prize'" in str(err) and "Did you mean 'price'?" in str(err)
    assert "'size', 'rooms'" in str(err)


def test_unknown_inputs_are_listed_with_suggestions() -> None:
    err = resolve_error(TaskSpec("t", "homes", "price", inputs=("size", "Rooms", "zzz")))
    assert err.column == "Rooms"
    assert "'Rooms', 'zzz'" in str(err) and "Did you mean 'rooms' for 'Rooms'?" in str(err)
    assert "Its columns are:" in str(err)


def test_target_among_inputs() -> None:
    err = resolve_error(TaskSpec("t", "homes", "price", inputs=("size", "price")))
    assert err.column == "price" and "both the target and an input" in str(err)
    assert "Remove it from the inputs" in str(err)


def test_no_inputs_left() -> None:
    ds = make_dataset()
    ds.tasks.append(TaskSpec("other_price", "other", "price"))
    err = resolve_error(ds.task("other_size"), ds)
    assert err.where == "other" and "no columns left to use as inputs" in str(err)


def test_regression_on_text_names_a_text_value() -> None:
    err = resolve_error(TaskSpec("t", "homes", "label", "regression", ("size",)))
    assert err.column == "label"
    assert "holds text such as 'abc'" in str(err) and "Choose kind multiclass" in str(err)


def test_single_class_target() -> None:
    err = resolve_error(TaskSpec("t", "homes", "const", "binary", ("size",)))
    assert err.where == "homes" and err.column == "const"
    assert "table 'homes'" in str(err) and "single value" in str(err)


def test_binary_with_three_classes() -> None:
    err = resolve_error(TaskSpec("t", "homes", "grade", "binary", ("size",)))
    assert "exactly 2 classes" in str(err) and "has 3" in str(err)
    assert "Choose kind multiclass" in str(err)


def test_multiclass_with_too_many_classes() -> None:
    err = resolve_error(TaskSpec("t", "homes", "size", "multiclass", ("rooms",)))
    assert "at most" in str(err) and "Choose kind regression" in str(err)


def test_unknown_kind() -> None:
    err = resolve_error(TaskSpec("t", "homes", "price", "classification", ("size",)))  # type: ignore[arg-type]
    assert "unknown kind 'classification'" in str(err)


def test_input_entirely_missing() -> None:
    err = resolve_error(TaskSpec("t", "homes", "price", inputs=("size", "empty")))
    assert err.column == "empty" and "has no values at all" in str(err)


def test_too_few_rows_with_a_target() -> None:
    ds = make_dataset()
    homes = ds.tables["homes"]
    homes.loc[: len(homes) - MIN_ROWS, "price"] = np.nan
    assert missing_target_count(homes, "price") == len(homes) - MIN_ROWS + 1
    err = resolve_error(TaskSpec("t", "homes", "price", inputs=("size",)), ds)
    assert err.column == "price"
    assert f"only {MIN_ROWS - 1} rows" in str(err) and f"at least {MIN_ROWS}" in str(err)


def test_the_default_size_limit_is_the_servers_and_says_how_to_raise_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real file (a million rows of 21 columns is about 130 MB) fits the default; the
    server's owner sets another with MTL_STUDIO_MAX_CSV_MB, and the message names it."""
    monkeypatch.delenv(MAX_CSV_MB_ENV, raising=False)
    assert max_csv_bytes() == DEFAULT_MAX_CSV_MB * 1_000_000 >= 200_000_000
    path = write(tmp_path, good_csv())
    monkeypatch.setenv(MAX_CSV_MB_ENV, "0.0001")
    err = read_error(path)
    assert "more than the 100 bytes limit" in str(err) and MAX_CSV_MB_ENV in str(err)
    monkeypatch.setenv(MAX_CSV_MB_ENV, "1")
    assert len(read_csv_table(path, "data.csv")) == 25
    monkeypatch.setenv(MAX_CSV_MB_ENV, "-5")
    err = read_error(path)
    assert f"{MAX_CSV_MB_ENV}='-5' is not a size in MB" in str(err)
    # A caller's own limit (the page's uploads) is not the server's setting to raise.
    assert MAX_CSV_MB_ENV not in str(read_error(path, max_bytes=100))
