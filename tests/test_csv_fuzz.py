"""Fuzzing the CSV reader (issue 11): whatever bytes a file holds, reading it either gives a
table or raises DataError (a ValueError, the one the Data page and the CLI show as a
sentence naming the file), never another exception; and the column profile the page and
``inspect`` draw next works on every table it gives.

Inputs: random bytes; text from the characters CSV files are made of (separators, quotes,
line ends, digits, decimal commas, a BOM); and real files (a sample CSV, semicolon- and
tab-separated copies of it) with bytes inserted, deleted or replaced. Budgets stay small
for CI's two cores.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from unittest.mock import patch

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtlcore.data.ingest import _read_table, profile_table, read_csv_table
from mtlcore.data.spec import DataError

SAMPLE = (Path(__file__).parents[1] / "sample_data" / "penguins.csv").read_bytes()
HEAD = b"".join(SAMPLE.splitlines(keepends=True)[:30])
REAL = [
    HEAD,
    codecs.BOM_UTF8 + HEAD.replace(b",", b";").replace(b".", b","),
    HEAD.replace(b",", b"\t").replace(b"\n", b"\r\n"),
]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_or_refuse(data: bytes) -> None:
    """The reader's contract: a table (that can be profiled), or one DataError sentence."""
    try:
        table = read_csv_table(data, "fuzz.csv")
    except DataError as err:
        message = str(err)
        assert message.startswith("File 'fuzz.csv'") and "\n" not in message, message
        return
    assert isinstance(table, pd.DataFrame) and len(table) >= 1 and len(table.columns) >= 1
    profile_table(table)


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    read_or_refuse(data)


CSV_CHARS = ',;\t|"\n\r 0123456789.,-?abé' + "\ufeff"


@FUZZ
@given(st.text(alphabet=CSV_CHARS, max_size=300))
def test_text_made_of_csv_characters(text: str) -> None:
    read_or_refuse(text.encode("utf-8"))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(REAL)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(st.binary(min_size=1, max_size=4) | st.sampled_from(
            [b'"', b",", b";", b"\t", b"\n", b"\r", b"\x00", b"\xff", codecs.BOM_UTF8, b"\xe9"]
        ))  # fmt: skip
        if kind == "insert":
            data[at:at] = chunk
        elif kind == "delete":
            del data[at : at + len(chunk)]
        else:
            data[at : at + len(chunk)] = chunk
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutated_real_files(data: bytes) -> None:
    read_or_refuse(data)


# --- the quick read is the walked read ------------------------------------------------
# read_csv_table parses a file once, with pandas, and checks its rows on the bytes; only a
# file the bytes cannot vouch for is walked row by row with the csv module. The walk on
# every file (the reader as it was) must give the same table, or the same message.


def same_as_walked(data: bytes) -> None:
    def outcome(walk: bool) -> pd.DataFrame | str:
        try:
            return _read_table(data, "fuzz.csv", walk=walk)
        except DataError as err:
            return str(err)

    quick, walked = outcome(False), outcome(True)
    if isinstance(walked, str) or isinstance(quick, str):
        assert quick == walked
    else:
        pd.testing.assert_frame_equal(quick, walked)
        assert quick.attrs == walked.attrs


CELLS = st.sampled_from(
    ["1", "2.5", "-3", "", " 4", "x", "a b", "?", "NA", '"q"', '"a,b"', '"say ""hi"""', ' "s"',
     'in"side', '"open', "2021-03-04", "\t", " "]
)  # fmt: skip


@st.composite
def tables(draw: st.DrawFn) -> bytes:
    """Header and rows of CSV cells, now and then a row of another length, a blank or
    spaces-only line, a quote out of place, \\r\\n or a lone \\r."""
    sep = draw(st.sampled_from([",", ";", "\t"]))
    n = draw(st.integers(1, 4))
    lines = [sep.join(f"c{i}" for i in range(n))]
    for _ in range(draw(st.integers(0, 12))):
        width = draw(st.sampled_from([n] * 6 + [n - 1, n + 1, 0]))
        lines.append(sep.join(draw(CELLS) for _ in range(max(width, 0))))
    end = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    return (end.join(lines) + draw(st.sampled_from(["", end, end * 2]))).encode()


@FUZZ
@given(tables())
def test_quick_read_equals_walked_read_on_tables(data: bytes) -> None:
    same_as_walked(data)


@FUZZ
@given(st.text(alphabet=CSV_CHARS, max_size=300) | mutated())
def test_quick_read_equals_walked_read_on_noise(data: str | bytes) -> None:
    same_as_walked(data.encode("utf-8") if isinstance(data, str) else data)


def test_quick_read_takes_the_quick_way_on_plain_and_quoted_files() -> None:
    """The files the bytes vouch for are not walked (the walk is what made reading slow)."""
    plain = b"a,b,c\n1,2,x\n3,,y\n4,5,\n"
    quoted = b'a,b,c\n1,"2,5",x\n3,"say ""hi""",y\r\n4,5,""\n'
    for data in (plain, quoted):
        with patch("mtlcore.data.ingest._check_rows", side_effect=AssertionError("walked")):
            table = read_csv_table(data, "t.csv")
        assert table.shape == (3, 3)
    walked = patch("mtlcore.data.ingest._check_rows", side_effect=AssertionError("walked"))
    with walked, pytest.raises(AssertionError, match="walked"):  # a short row: walked, named
        read_csv_table(b"a,b,c\n1,2,x\n3,4\n", "t.csv")
