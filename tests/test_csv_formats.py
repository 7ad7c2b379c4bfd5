"""Reading the CSV files people really have (issue 11): an empty sheet saved by a
spreadsheet, semicolon- and tab-separated files with decimal commas, a byte order mark,
and files shorter than training needs, which can still be inspected."""

from __future__ import annotations

import codecs

import pandas as pd
import pytest

from mtlcore.cli import main
from mtlcore.data.ingest import CSV_FORMAT_ATTR, CsvFormat, csv_format, read_csv_table
from mtlcore.data.spec import DataError

EMPTY = (
    "File 'sheet.csv' is empty: it has no header row and no data. Load a CSV file with a "
    "header row naming the columns and a row of values for each example."
)


@pytest.mark.parametrize(
    "data",
    [codecs.BOM_UTF8 + b"\n", codecs.BOM_UTF8 + b"\r\n", b'""', b'""\n', b'"",""\n', b"",
     codecs.BOM_UTF8, b";;\n"],
    ids=["bom-newline", "bom-crlf", "empty-quotes", "empty-quotes-newline", "two-empty-cells",
         "nothing", "bom-only", "semicolons-only"],
)  # fmt: skip
def test_an_empty_looking_file_says_it_is_empty(data: bytes) -> None:
    with pytest.raises(DataError) as info:
        read_csv_table(data, "sheet.csv")
    assert str(info.value) == EMPTY


def rows(sep: str, decimal: str, n: int = 6) -> str:
    lines = [sep.join(["size", "price", "city"])]
    lines += [sep.join([f"{i}{decimal}5", str(100 + i), "ab"[i % 2]]) for i in range(n)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("sep", "decimal", "described"),
    [(";", ",", "semicolon-separated, decimal comma"), ("\t", ".", "tab-separated"),
     ("\t", ",", "tab-separated, decimal comma"), ("|", ".", "'|'-separated"),
     (";", ".", "semicolon-separated")],
)  # fmt: skip
def test_the_separator_and_decimal_comma_are_found(sep: str, decimal: str, described: str) -> None:
    data = codecs.BOM_UTF8 + rows(sep, decimal).encode()
    df = read_csv_table(data, "t.csv")
    assert list(df.columns) == ["size", "price", "city"]
    assert df["size"].tolist() == [i + 0.5 for i in range(6)]  # numbers, not text
    assert pd.api.types.is_integer_dtype(df["price"])
    assert CsvFormat(**df.attrs[CSV_FORMAT_ATTR]).describe() == described


def test_comma_files_stay_comma_files() -> None:
    """Semicolons and tabs inside values, and a quoted decimal comma, do not fool it."""
    text = "name,note,x\n" + "".join(f'"P{i}; a","x;y;z",{i}.5\n' for i in range(5))
    assert csv_format(text) == CsvFormat()
    df = read_csv_table(text.encode(), "t.csv")
    assert df["note"].iloc[0] == "x;y;z" and df["x"].iloc[1] == 1.5
    one_column = "name\nalpha;beta\ngamma;delta\n"
    assert csv_format(one_column) == CsvFormat()
    assert read_csv_table(one_column.encode(), "t.csv")["name"].tolist() == [
        "alpha;beta", "gamma;delta",
    ]  # fmt: skip


def test_a_row_of_the_wrong_length_says_how_the_file_was_read() -> None:
    text = rows(";", ",") + "1,5;2;3;4\n"
    with pytest.raises(DataError) as info:
        read_csv_table(text.encode(), "t.csv")
    assert str(info.value).startswith(
        "File 't.csv', line 8: the row has 4 values but the header has 3 columns (read as "
        "semicolon-separated). Fix that line: a value that contains a semicolon must be put "
        'in double quotes ("...")'
    )


def test_inspect_reads_a_short_semicolon_file(tmp_path, monkeypatch, capsys) -> None:
    """Inspecting is reading: 6 rows are enough, and it says how it read the file."""
    (tmp_path / "short.csv").write_bytes(codecs.BOM_UTF8 + rows(";", ",").encode())
    monkeypatch.chdir(tmp_path)
    assert main(["inspect", "short.csv"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        "short.csv: 6 rows, 3 columns (read as semicolon-separated, decimal comma)"
    )
