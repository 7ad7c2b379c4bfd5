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

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtlcore.data.ingest import profile_table, read_csv_table
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
