"""Read a user's CSV into a table, profile its columns and check tasks against it.

Everything here fails with :class:`~mtlcore.data.spec.DataError`, whose message
says what is wrong, where (file or table, column, line) and what to do about it,
so the dashboard and the CLI can show it as is. The CSV header is read with the
``csv`` module before pandas sees the file, because pandas silently renames
duplicate columns and guesses around malformed rows.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import difflib
import io
import math
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from mtlcore.data.spec import (
    MAX_CLASSES,
    TASK_KINDS,
    DataError,
    Dataset,
    TaskKind,
    TaskSpec,
    detect_task_kind,
)
from mtlcore.limits import MAX_CSV_MB_ENV, UnreadableFile, max_csv_bytes, read_regular_file

# A table (or a task) needs at least this many rows to train and validate on.
MIN_ROWS = 20

# Cells read as missing values: pandas' own markers (among them "", "NA", "N/A", "n/a",
# "NaN", "nan", "null", "NULL", "None", "#N/A") and these, which real files use too (auto-mpg
# writes a missing horsepower as "?"). Without them a numeric column with one "?" would be
# read as text. A cell is compared after its leading spaces are dropped.
MISSING_MARKERS = ("", "?", "NA", "N/A", "n/a", "null", "NaN", "-", "--")

_SAVE_AS_UTF8 = (
    "In Excel choose 'Save As' > 'CSV UTF-8', or re-save it as UTF-8 in a text "
    "editor, then load it again."
)


def read_csv_table(
    source: str | os.PathLike[str] | bytes, name: str, *, max_bytes: int | None = None
) -> pd.DataFrame:
    """Read a CSV file (a path, or its raw bytes) into a validated DataFrame.

    ``name`` is the file or table name the messages use; ``max_bytes`` defaults to the
    server's CSV limit (:func:`mtlcore.limits.max_csv_bytes`). A UTF-8 byte order mark is
    dropped; the separator (comma, semicolon, tab or ``|``) is found by
    :class:`csv.Sniffer`, and with another separator than the comma, numbers written with
    a decimal comma (``3,5``) are read as numbers (:func:`csv_format`; the table's
    ``attrs["csv_format"]`` says what was used). Column names are stripped of surrounding
    whitespace; cells in :data:`MISSING_MARKERS` (such as "?", "NA", "-") are missing
    values. Raises :class:`DataError` for a file that is too large, empty, not UTF-8,
    without a header, with empty or duplicate column names, with rows of the wrong length,
    or without any data row. How many rows training needs is checked per task
    (:func:`resolve_task`), not here: any file with a header and a row can be inspected.

    The file is parsed once, by pandas. The header is read with the ``csv`` module from
    the file's first lines (pandas silently renames duplicate columns), and the length of
    every row is checked on the bytes by :func:`_rows_fit`; only a file it cannot vouch
    for (a quote after a space, a line of spaces, a lone carriage return, a row of the
    wrong length) is walked row by row with the ``csv`` module, which finds the line to
    name in the message.
    """
    smaller = "Load a smaller file, for example a sample of its rows or only the columns you need"
    if max_bytes is None:  # the server's limit, which its owner can raise
        try:
            max_bytes = max_csv_bytes()
        except ValueError as err:
            raise DataError(f"File '{name}' was not read: {err}.", where=name) from None
        smaller += f", or raise the limit ({MAX_CSV_MB_ENV}, in MB)"
    data = _read_bytes(source, name, max_bytes, smaller + ".")
    return _read_table(data, name)


def _read_table(data: bytes, name: str, *, walk: bool = False) -> pd.DataFrame:
    """:func:`read_csv_table` of the file's bytes. ``walk``: check every row with the
    ``csv`` module even when the bytes vouch for them (the reference the tests hold the
    quick way to)."""
    skip = _check_utf8(data, name)
    head = _head(data, skip)
    if _is_empty_sheet(data, skip, head):  # no cell holds anything
        _check_rows("", name)  # says the file is empty
    fmt = _sample_format(head)
    whole = len(data) - skip <= _SNIFF_CHARS
    header = None if walk else _head_header(head, whole, name, fmt.delimiter)
    df, error = _parse(data, skip, fmt)
    n_rows = len(df) if df is not None else 0
    if header is None or df is None or not _rows_fit(data, skip, fmt.delimiter, header, df):
        header, n_rows = _check_rows(data[skip:].decode("utf-8"), name, fmt.delimiter)
    if n_rows == 0:
        raise DataError(
            f"File '{name}' has a header row ({_names(header, 5)}) but no data rows. Add a "
            "row of values under the header for each example.",
            where=name,
        )
    if df is None:  # rare: the rows looked right to the csv module
        raise DataError(
            f"File '{name}' could not be read as CSV ({error}). Check that it is a "
            f"{fmt.separated}-separated file with one row per line.",
            where=name,
        )
    df.columns = header
    df.attrs[CSV_FORMAT_ATTR] = dataclasses.asdict(fmt)
    return parse_dates(df)


def _parse(data: bytes, skip: int, fmt: CsvFormat) -> tuple[pd.DataFrame | None, str]:
    """pandas' parse of the file (None and the reason when it fails, or when pandas
    warns that it dropped values of a row longer than the header)."""
    sep = ord(fmt.delimiter)
    spaced = (
        b" " in data
        and bool(  # spaces to skip at the start of a value?
            data[skip : skip + 1] == b" "
            or np.any(_after(np.frombuffer(data, np.uint8)[skip:], (sep, _NEWLINE, _RETURN)) == 32)
        )
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            df = pd.read_csv(
                io.BytesIO(data), sep=fmt.delimiter, decimal=fmt.decimal, index_col=False,
                skipinitialspace=spaced, na_values=MISSING_MARKERS, encoding="utf-8",
            )  # fmt: skip
        except (ValueError, pd.errors.ParserError) as err:
            return None, str(err)
    for w in caught:
        if issubclass(w.category, pd.errors.ParserWarning):
            return None, str(w.message)
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return df, ""


def _after(buf: np.ndarray, marks: tuple[int, ...]) -> np.ndarray:
    """The bytes that follow one of ``marks`` in ``buf``."""
    follows = buf[:-1] == marks[0]
    for m in marks[1:]:
        follows |= buf[:-1] == m
    return buf[1:][follows]


# --- separator and decimal mark ---------------------------------------------

_EMPTY_SHEET = ' \t\r\n,;|"'  # what a spreadsheet writes for a sheet without values
CSV_FORMAT_ATTR = "csv_format"  # DataFrame.attrs key: {"delimiter": ..., "decimal": ...}
_DELIMITERS = ",;\t|"
_SNIFF_CHARS = 64_000  # the separator is found from the file's first lines
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+(?:[eE][+-]?\d+)?")
_DECIMAL_POINT = re.compile(r"[+-]?\d*\.\d+(?:[eE][+-]?\d+)?")
_SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "'|'"}


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV file separates its values and writes decimals."""

    delimiter: str = ","
    decimal: str = "."

    @property
    def separated(self) -> str:
        """``"comma"``, ``"semicolon"``, ``"tab"`` or ``"'|'"``."""
        return _SEPARATOR_NAMES[self.delimiter]

    def describe(self) -> str:
        """``"semicolon-separated, decimal comma"``."""
        return f"{self.separated}-separated" + (", decimal comma" if self.decimal == "," else "")


def csv_format(text: str) -> CsvFormat:
    """The separator and decimal mark of a CSV file's text.

    The separator is the one :class:`csv.Sniffer` finds among comma, semicolon, tab and
    ``|`` in the first lines (in the header line alone when the rows disagree), if it
    splits the header into two or more names; otherwise (one column, or nothing found)
    the comma. With another separator, the decimal mark is the comma when the values of
    those lines hold numbers like ``3,5`` and none like ``3.5``: pandas then reads them
    with ``decimal=","``.
    """
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    return _sample_format(sample)


def with_decimal_points(frame: pd.DataFrame) -> pd.DataFrame:
    """A text table's numbers written with a decimal comma ("3,5", "-1,25e3") as pandas
    reads numbers ("3.5"); every other cell as it is (a comma in text stays)."""

    def column(values: pd.Series) -> pd.Series:
        text = values.astype("string")
        comma = text.str.fullmatch(_DECIMAL_COMMA.pattern).fillna(False).astype(bool)
        return values.where(~comma, text.str.replace(",", ".", regex=False))

    return frame.apply(column) if len(frame.columns) else frame


def _sample_format(sample: str) -> CsvFormat:
    """:func:`csv_format` of the file's first lines."""
    header = next((line for line in sample.splitlines() if line.strip()), "")
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:  # rows of different lengths: the separator the header line shows
        try:
            delimiter = csv.Sniffer().sniff(header, delimiters=_DELIMITERS).delimiter
        except csv.Error:
            return CsvFormat()
    try:
        rows = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
                if not _is_blank(r)]  # fmt: skip
    except csv.Error:  # a quote left open: the row check says where
        return CsvFormat(delimiter)
    if delimiter == "," or not rows or len(rows[0]) < 2:
        return CsvFormat()
    cells = [c.strip() for row in rows[1:] for c in row]
    commas = sum(bool(_DECIMAL_COMMA.fullmatch(c)) for c in cells)
    points = sum(bool(_DECIMAL_POINT.fullmatch(c)) for c in cells)
    return CsvFormat(delimiter, "," if commas and not points else ".")


def _head(data: bytes, skip: int) -> str:
    """The file's first lines as text (after the byte order mark): its first
    ``_SNIFF_CHARS`` bytes, cut after the last whole line when the file goes on."""
    head = data[skip : skip + _SNIFF_CHARS]
    if len(data) - skip > _SNIFF_CHARS and b"\n" in head:
        head = head[: head.rindex(b"\n")]
    return head.decode("utf-8", errors="replace")  # the file is checked to be UTF-8


def _is_empty_sheet(data: bytes, skip: int, head: str) -> bool:
    if head.strip(_EMPTY_SHEET):
        return False
    return not data[skip:].strip(_EMPTY_SHEET.encode())


def _head_header(head: str, whole: bool, name: str, delimiter: str) -> list[str] | None:
    """The checked, stripped header: the first row of the file's first lines (``whole``:
    the head is the whole file). None when they hold no whole row, or no second row in a
    longer file, or when the second row has another length (pandas then takes one value
    more for a trailing separator on every line): the walk then reads the file."""
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter,
                        skipinitialspace=True, strict=True)  # fmt: skip
    try:
        rows = (row for row in reader if not _is_blank(row))
        first = next(rows, None)
        if first is None:
            return None
        header = _check_header(first, name)
        second = next(rows, None)
    except csv.Error:
        return None
    if second is None:
        return header if whole else None
    return header if len(second) == len(header) else None


# Rows are checked on the bytes a block at a time (bounded temporary arrays).
_SCAN_BLOCK = 1 << 22
_QUOTE, _NEWLINE, _RETURN = ord('"'), ord("\n"), ord("\r")


def _rows_fit(data: bytes, skip: int, delimiter: str, header: list[str], df: pd.DataFrame) -> bool:
    """Whether the bytes vouch that pandas' ``df`` holds every row of the file, each of
    as many values as the ``header`` as the ``csv`` module reads them; when they cannot
    tell, the row walk decides (and says where a row is wrong).

    pandas refuses a row longer than the header (or warns, for the first one) and fills a
    shorter one with missing values, so in a file without quotes only the rows whose last
    value is missing need a look: their line must hold ``len(header) - 1`` separators, and
    every line that is not empty must be a row. With quotes, every line is checked
    (:func:`_quoted_rows`). Never vouched for: one column, a NUL byte, a lone ``\\r``.
    """
    n_columns = len(header)
    if n_columns < 2 or len(df.columns) != n_columns or b"\x00" in data:
        return False
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return False
    buf = np.frombuffer(data, dtype=np.uint8)[skip:]
    sep = ord(delimiter)
    if b'"' in data:
        return _quoted_rows(buf, sep, n_columns) == len(df)
    ends = np.flatnonzero(buf == _NEWLINE)
    starts = np.concatenate([[0], ends + 1])
    stops = np.concatenate([ends, [len(buf)]])
    stops[:-1] -= buf[np.maximum(ends - 1, 0)] == _RETURN  # a \r\n line end
    lines = np.flatnonzero(stops > starts)  # the header and one line per row
    if len(lines) != len(df) + 1:
        return False
    short = lines[1:][df.iloc[:, -1].isna().to_numpy()]  # rows whose last value is missing
    if len(short) == 0:
        return True
    bounds = np.column_stack([starts[short], stops[short]]).ravel()
    is_sep = np.append(buf == sep, False).view(np.uint8)
    return bool(np.all(np.add.reduceat(is_sep, bounds)[::2] == n_columns - 1))


def _quoted_rows(buf: np.ndarray, sep: int, n_columns: int) -> int | None:
    """The number of data rows of a file with quotes when every line after the header is
    a row of ``n_columns`` values as the ``csv`` module reads it; None when the bytes
    alone cannot tell.

    Vouched for: lines separated by ``\\n`` or ``\\r\\n``, each empty (skipped) or
    holding ``n_columns - 1`` separators outside double quotes, where every quoted value
    opens at the start of a value and closes at its end (a doubled quote inside it is
    one quote). Anything else (a quote after a space or inside an unquoted value, a quote
    never closed, a line of spaces, a row of another length) is left to the walk.
    """
    inside = 0  # 1 while a quoted value is open at the end of the blocks read so far
    ends: list[np.ndarray] = []  # line ends (positions of \n outside quotes)
    seps: list[np.ndarray] = []  # separators before each line end, counted from the start
    n_seps = 0
    for start in range(0, len(buf), _SCAN_BLOCK):
        block = buf[start : start + _SCAN_BLOCK]
        is_sep, is_end = block == sep, block == _NEWLINE
        is_quote = block == _QUOTE
        at = np.flatnonzero(is_quote)
        if len(at) or inside:
            parity = (np.cumsum(is_quote, dtype=np.uint8) + inside) & 1
            opening = parity[at] == 1  # a quote that opens a value (or a doubled one)
            pos = at + start
            before = np.where(pos > 0, buf[np.maximum(pos - 1, 0)], sep)
            after = np.where(pos + 1 < len(buf), buf[np.minimum(pos + 1, len(buf) - 1)], sep)
            starts_value = np.isin(before, (sep, _NEWLINE, _QUOTE))
            ends_value = np.isin(after, (sep, _NEWLINE, _RETURN, _QUOTE))
            if not np.all(np.where(opening, starts_value, ends_value)):
                return None
            outside = parity == 0
            is_sep &= outside
            is_end &= outside
            inside = int(parity[-1])
        at_sep, at_end = np.flatnonzero(is_sep), np.flatnonzero(is_end)
        ends.append(at_end + start)
        seps.append(np.searchsorted(at_sep, at_end) + n_seps)
        n_seps += len(at_sep)
    if inside:
        return None
    end = np.concatenate([*ends, [len(buf)]]).astype(np.int64)
    count = np.diff(np.concatenate([[0], *seps, [n_seps]]).astype(np.int64))
    length = np.diff(np.concatenate([[-1], end])) - 1
    length[:-1] -= buf[np.maximum(end[:-1] - 1, 0)] == _RETURN  # a \r\n line end
    blank = length == 0
    if not np.all(blank | (count == n_columns - 1)):
        return None
    return int((~blank).sum()) - 1  # less the header


# --- dates ------------------------------------------------------------------

# Formats tried besides the one pandas guesses from the values: two-digit years, which
# pandas does not guess, and day-first variants. Month first wins a tie (pandas' default).
_DATE_FORMATS = (
    "%m/%d/%y", "%d/%m/%y", "%d.%m.%y", "%d-%m-%y", "%y-%m-%d",
    "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y",
)  # fmt: skip

DATE_FORMATS_ATTR = "date_formats"  # DataFrame.attrs key: column -> strptime format


def date_format(values: pd.Series) -> str | None:
    """The strptime format every non-missing value of a text column is written in, if
    it is a calendar date (year, month and day, perhaps with a time); else None.

    Numeric columns are never dates (20240131 stays a number). A format is accepted
    only when it reads *every* value, so a column of codes or a mix of formats stays text.
    """
    found = _date_format_and_dates(values)
    return None if found is None else found[0]


# A column's first values are tried first: a format that misses one of them cannot read
# the whole column, and most text columns are not dates.
_DATE_TRIAL = 200


def _date_format_and_dates(values: pd.Series) -> tuple[str, pd.Series] | None:
    """:func:`date_format` and the non-missing values read with it."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    present = values.dropna()
    if present.empty:
        return None
    first = str(present.iloc[0]).strip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        guesses = [guess_datetime_format(first), guess_datetime_format(first, dayfirst=True)]
    formats = [f for f in dict.fromkeys(g for g in (*guesses, *_DATE_FORMATS) if g)
               if _is_calendar_date(f)]  # fmt: skip
    if len(present) > _DATE_TRIAL:
        trial = _date_text(present.iloc[:_DATE_TRIAL])
        if not trial.str.contains(r"\d", regex=True).all():
            return None
        formats = [f for f in formats if _reads_all(trial, f) is not None]
        if not formats:
            return None
    text = _date_text(present)
    # (A format that reads every value proves each has digits: year, month or day.)
    if len(present) <= _DATE_TRIAL and not text.str.contains(r"\d", regex=True).all():
        return None
    for fmt in formats:
        parsed = _reads_all(text, fmt)
        if parsed is not None:
            return fmt, parsed
    return None


def _date_text(values: pd.Series) -> pd.Series:
    return values.astype(str).str.strip()


def _reads_all(text: pd.Series, fmt: str) -> pd.Series | None:
    """``text`` read as dates written with ``fmt``, if every value is one."""
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    return parsed if parsed.notna().all() else None


def _is_calendar_date(fmt: str) -> bool:
    has = lambda *codes: any(c in fmt for c in codes)  # noqa: E731
    return has("%Y", "%y") and has("%m", "%b", "%B") and has("%d")


def parse_dates(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns that hold calendar dates become datetime columns (in place, and
    returned); their formats go into ``df.attrs["date_formats"]`` so new rows written the
    same way are read the same way (:class:`~mtlcore.data.prepare.DateFeatures`)."""
    formats = dict(df.attrs.get(DATE_FORMATS_ATTR, {}))
    for column in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[column]):
            continue
        found = _date_format_and_dates(df[column])
        if found is not None:  # the dates read, missing values missing (as to_dates gives)
            df[column] = found[1].reindex(df.index)
            formats[str(column)] = found[0]
    df.attrs[DATE_FORMATS_ATTR] = formats
    return df


def to_dates(values: pd.Series, fmt: str | None) -> pd.Series:
    """``values`` as datetimes, read with ``fmt`` (pandas' own inference when None);
    a value that is not such a date becomes missing (NaT)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    text = values.astype(str).str.strip().where(values.notna())
    return pd.to_datetime(text, format=fmt, errors="coerce")


# --- column roles -----------------------------------------------------------

ColumnRole = Literal["number", "category", "date", "identifier", "free text", "empty", "constant"]

# Share of row-to-row steps of +1 that makes a whole-number column a counter (an ID).
_COUNTER_STEPS = 0.9
# Free text: values of at least this many words (median) ...
_FREE_TEXT_WORDS = 3
# ... with at least this share of distinct values among the non-missing ones.
_FREE_TEXT_DISTINCT = 0.1


@dataclass(frozen=True)
class ColumnUse:
    """What a column is (its role) and what the defaults do with it.

    ``target`` and ``input``: whether a new task picks it as its target or reads it as
    an input by default (a user may still choose any column). ``note`` says why a column
    is left out, or how it is read.
    """

    role: ColumnRole
    target: bool
    input: bool
    note: str


def column_use(series: pd.Series) -> ColumnUse:
    """The role of a column and whether it is a default target or input.

    * empty (no values) and constant (one value): neither target nor input;
    * date (a datetime column, see :func:`parse_dates`): an input, read as its year and
      the cycles of month, day of year and day of week; not a target;
    * identifier: text with a different value in every row, text codes with more than
      ``MAX_CLASSES`` distinct single-word values, or whole numbers that number the rows
      (every value distinct and together a run of consecutive numbers, or rising by 1
      from row to row in at least 90% of rows): neither a default target nor input;
    * free text: text whose values are sentences (a median of 3 words or more) and
      varied (distinct values at least 10% of the non-missing ones, or more than
      ``MAX_CLASSES``), or multi-word text with more than ``MAX_CLASSES`` values:
      neither a default target nor input;
    * number and category: the rest; a default target and input.
    """
    values = series.dropna()
    n_values, n_unique = len(values), int(values.nunique())
    if n_values == 0:
        return ColumnUse("empty", False, False, "left out: no values")
    if n_unique < 2:
        return ColumnUse("constant", False, False, "left out: the same value in every row")
    if pd.api.types.is_datetime64_any_dtype(series):
        return ColumnUse(
            "date", False, True,
            "date: read as its year and the cycles of month, day of year and day of week",
        )  # fmt: skip
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        if _numbers_rows(values, n_unique):
            return ColumnUse(
                "identifier", False, False,
                "left out: whole numbers that count the rows, like an ID (add it as an "
                "input if it means something, such as a year)",
            )  # fmt: skip
        return ColumnUse("number", True, True, "")
    counts = values.astype(str).value_counts(sort=False)  # each distinct value once
    words = float(np.median(np.repeat([len(v.split()) for v in counts.index], counts.to_numpy())))
    if (
        n_unique > MAX_CLASSES
        and words >= 2
        or (words >= _FREE_TEXT_WORDS and n_unique >= max(3, _FREE_TEXT_DISTINCT * n_values))
    ):
        return ColumnUse(
            "free text", False, False,
            f"left out: free text ({n_unique} different values), not categories to learn",
        )  # fmt: skip
    if n_unique > MAX_CLASSES or (n_unique == n_values and n_values >= MIN_ROWS):
        return ColumnUse(
            "identifier", False, False,
            f"left out: {n_unique} different codes"
            + (", one per row" if n_unique == n_values else "")
            + ", like an ID",
        )  # fmt: skip
    return ColumnUse("category", True, True, "")


def _numbers_rows(values: pd.Series, n_unique: int) -> bool:
    """Whole numbers that number the rows: all distinct and consecutive, or a counter."""
    numbers = values.to_numpy(dtype=float)
    if len(numbers) < MIN_ROWS or not np.all(numbers % 1 == 0):
        return False
    if n_unique == len(numbers) and numbers.max() - numbers.min() + 1 == n_unique:
        return True
    return bool(np.mean(np.diff(numbers) == 1) >= _COUNTER_STEPS)


def profile_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per column of ``df``: its type, role, missing values, distinct values, a
    few example values, the task it would make as a target, whether a new task reads it
    as an input by default, and a note on why a column is left out (or how a date is read).

    ``task_kind`` is ``"regression"``, ``"binary"`` or ``"multiclass"``, or
    ``"unusable: <reason>"``. ``role`` and ``usable_as_input`` come from
    :func:`column_use`: identifiers, free text, dates (as targets), empty and constant
    columns are never picked by default.
    """
    rows = []
    for column in df.columns:
        series = df[column]
        values = series.dropna()
        n_unique = int(values.nunique())
        use = column_use(series)
        try:
            task_kind = str(detect_task_kind(series))
        except DataError:
            if use.role == "date":
                task_kind = "unusable: a date (an input, not a target)"
            elif len(values) == 0:
                task_kind = "unusable: all values missing"
            elif n_unique < 2:
                task_kind = "unusable: a single value"
            else:
                task_kind = f"unusable: too many text categories ({n_unique})"
        rows.append(
            {
                "column": str(column),
                "dtype": _dtype(series),
                "role": use.role,
                "n_missing": int(series.isna().sum()),
                "pct_missing": round(100 * float(series.isna().mean()), 1) if len(df) else 0.0,
                "n_unique": n_unique,
                "examples": ", ".join(_show(v) for v in values.unique()[:3]),
                "task_kind": task_kind,
                "default_target": use.target and not task_kind.startswith("unusable"),
                "usable_as_input": use.input,
                "note": use.note,
            }
        )
    return pd.DataFrame(rows)


def _dtype(series: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    return "number" if pd.api.types.is_numeric_dtype(series) else "text"


def missing_target_count(df: pd.DataFrame, target: str | Sequence[str]) -> int:
    """How many rows of ``df`` lack a value in ``target`` (or in any of several target
    columns): the rows a task drops."""
    columns = [target] if isinstance(target, str) else list(target)
    return int(df[columns].isna().any(axis=1).sum())


def resolve_task(dataset: Dataset, spec: TaskSpec) -> TaskSpec:
    """Check ``spec`` against its table; return a copy with ``kind`` and ``inputs`` decided.

    ``kind="auto"`` becomes the kind :func:`detect_task_kind` finds; several target
    columns make a multi-output regression task, so each must be numeric.
    ``inputs=None`` becomes every default input column of the table (see
    :func:`column_use`: not empty, constant, an identifier or free text) except this
    task's targets and the targets of the other tasks of ``dataset`` on the same table. Raises :class:`DataError` when the task cannot be trained as asked.
    """
    task, table = spec.name, spec.table
    if table not in dataset.tables:
        raise DataError(
            f"Task '{task}' uses table '{table}', but dataset '{dataset.name}' has no such "
            f"table. Its tables are: {_names(dataset.tables)}.{_did_you_mean(table, dataset.tables)}",
            where=table,
        )
    df = dataset.tables[table]
    columns = [str(c) for c in df.columns]
    targets = spec.targets
    if not targets:
        raise DataError(
            f"Task '{task}': no target column given for table '{table}'. Pick the column "
            "(or, for a multi-output regression task, the columns) to predict.",
            where=table,
        )
    for target in targets:
        if target not in columns:
            raise DataError(
                f"Task '{task}': table '{table}' has no column '{target}' to predict."
                f"{_did_you_mean(target, columns)} Its columns are: {_names(columns)}.",
                where=table,
                column=target,
            )
    repeated = [c for c, n in Counter(targets).items() if n > 1]
    if repeated:
        raise DataError(
            f"Task '{task}': target column '{repeated[0]}' of table '{table}' is listed more "
            "than once. List each target column once.",
            where=table,
            column=repeated[0],
        )

    if spec.inputs is None:
        taken = {c for t in dataset.tasks if t.table == table for c in t.targets} | set(targets)
        inputs = [c for c in columns if c not in taken and column_use(df[c]).input]
    else:
        inputs = list(dict.fromkeys(spec.inputs))
        unknown = [c for c in inputs if c not in columns]
        if unknown:
            hints = "".join(
                f" Did you mean '{close}' for '{c}'?"
                for c in unknown
                if (close := _closest(c, columns)) is not None
            )
            raise DataError(
                f"Task '{task}': table '{table}' has no input column{'s' if len(unknown) > 1 else ''} "
                f"{_names(unknown)}.{hints} Its columns are: {_names(columns)}.",
                where=table,
                column=unknown[0],
            )
        both = next((c for c in targets if c in inputs), None)
        if both is not None:
            raise DataError(
                f"Task '{task}': column '{both}' of table '{table}' is both "
                f"{'the' if len(targets) == 1 else 'a'} target and an input, so the model could "
                "copy the answer. Remove it from the inputs.",
                where=table,
                column=both,
            )
    if not inputs:
        raise DataError(
            f"Task '{task}': table '{table}' has no columns left to use as inputs besides the "
            "targets. Choose input columns, or add columns to the table.",
            where=table,
        )

    if len(targets) > 1:
        kind = _multi_output_kind(spec, df)
    else:
        kind = _decide_kind(spec, df[targets[0]])

    for column in inputs:
        if df[column].isna().all():
            raise DataError(
                f"Task '{task}': input column '{column}' of table '{table}' has no values at "
                "all. Remove it from the inputs or fill it in.",
                where=table,
                column=column,
            )
    if len(df) < MIN_ROWS:
        raise DataError(
            f"Task '{task}': table '{table}' has only {len(df)} "
            f"row{'s' if len(df) != 1 else ''}; at least {MIN_ROWS} are needed to train and "
            "validate a model. Add more rows to the file.",
            where=table,
        )
    n_labelled = len(df) - missing_target_count(df, targets)
    if n_labelled < MIN_ROWS:
        which = f"'{targets[0]}'" if len(targets) == 1 else f"all of {_names(targets)}"
        raise DataError(
            f"Task '{task}': only {n_labelled} rows of table '{table}' have a value in "
            f"{which}; at least {MIN_ROWS} are needed. Fill in more values or pick "
            f"another target column.",
            where=table,
            column=targets[0],
        )
    return dataclasses.replace(spec, kind=kind, inputs=tuple(inputs))


def _multi_output_kind(spec: TaskSpec, df: pd.DataFrame) -> TaskKind:
    """Several target columns: a regression task, so every column must hold numbers."""
    where = f"Task '{spec.name}' (table '{spec.table}')"
    targets = spec.targets
    if spec.kind not in ("auto", "regression"):
        raise DataError(
            f"{where}: target lists {len(targets)} columns ({_names(targets)}), which makes a "
            f"multi-output regression task, but kind is {spec.kind!r}. Choose kind regression "
            "(or auto), or keep one target column for a classification task.",
            where=spec.table,
            column=targets[0],
        )
    for column in targets:
        values = df[column].dropna()
        if len(values) and not pd.api.types.is_numeric_dtype(values):
            bad = next((v for v in values if _as_number(v) is None), values.iloc[0])
            raise DataError(
                f"{where}: target column '{column}' holds text such as {str(bad)!r}; every "
                "target of a multi-output task must hold numbers (it is a regression task). "
                "Remove it from the targets, give it a task of its own, or clean the column.",
                where=spec.table,
                column=column,
            )
        if values.nunique() < 2:
            raise DataError(
                f"{where}: target column '{column}' has "
                f"{'no values' if len(values) == 0 else 'a single value in every row'}, so "
                "there is nothing to predict. Remove it from the targets.",
                where=spec.table,
                column=column,
            )
    return "regression"


def _decide_kind(spec: TaskSpec, target: pd.Series) -> TaskKind:
    """The task kind for ``spec``: the detected one for ``"auto"``, else the one
    asked for, once the target column is checked to fit it."""
    where = f"Task '{spec.name}' (table '{spec.table}')"
    column = spec.targets[0]
    values = target.dropna()
    if spec.kind not in (*TASK_KINDS, "auto"):
        raise DataError(
            f"{where}: unknown kind {spec.kind!r}. Choose one of: auto, {', '.join(TASK_KINDS)}.",
            where=spec.table,
            column=column,
        )
    if spec.kind == "regression" and len(values) and not pd.api.types.is_numeric_dtype(values):
        bad = next((v for v in values if _as_number(v) is None), values.iloc[0])
        raise DataError(
            f"{where}: column '{column}' holds text such as {str(bad)!r}, so it cannot "
            "be a regression target. Choose kind multiclass, or clean the column so it "
            "holds only numbers.",
            where=spec.table,
            column=column,
        )
    try:
        detected = detect_task_kind(target)
    except DataError as err:
        raise DataError(f"{where}: {err}", where=spec.table, column=column) from None
    n_classes = int(values.nunique())
    if spec.kind == "binary" and n_classes != 2:
        raise DataError(
            f"{where}: kind binary needs exactly 2 classes, but column '{column}' has "
            f"{n_classes} ({_names(sorted(map(str, values.unique())), limit=5)}). Choose kind "
            f"{'regression' if detected == 'regression' else 'multiclass'}.",
            where=spec.table,
            column=column,
        )
    if spec.kind == "multiclass" and n_classes > MAX_CLASSES:
        raise DataError(
            f"{where}: kind multiclass allows at most {MAX_CLASSES} classes, but column "
            f"'{column}' has {n_classes} distinct values. Choose kind regression for "
            "a numeric column, or pick another target.",
            where=spec.table,
            column=column,
        )
    return detected if spec.kind == "auto" else spec.kind


def _read_bytes(
    source: str | os.PathLike[str] | bytes, name: str, max_bytes: int, smaller: str
) -> bytes:
    """The file's bytes: only a regular file, and never more than ``max_bytes`` read
    (``smaller`` says what to do about a larger one)."""
    if isinstance(source, bytes):
        if len(source) > max_bytes:
            raise DataError(
                f"File '{name}' is {_size(len(source))}, more than the {_size(max_bytes)} "
                f"limit. {smaller}",
                where=name,
            )
        return source
    try:
        return read_regular_file(source, max_bytes)
    except UnreadableFile as exc:
        label = f"'{name}'"
        if name not in (os.fspath(source), os.path.basename(source)):  # a table's name
            label += f" ({os.fspath(source)})"  # say which file it reads
        if exc.missing:
            message = f"File {label} could not be found. Check the path and try again."
        else:
            message = f"File {label} {exc.reason}." + (f" {smaller}" if exc.too_large else "")
        raise DataError(message, where=name) from None


# What a file that is not a CSV text starts with, and what it is: what people upload instead.
_NOT_TEXT = {
    codecs.BOM_UTF16_LE: "UTF-16 text (what Excel saves as 'Unicode Text'), not UTF-8",
    codecs.BOM_UTF16_BE: "UTF-16 text (what Excel saves as 'Unicode Text'), not UTF-8",
    b"PK\x03\x04": "a zip archive such as an Excel workbook (.xlsx), not a CSV text file",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls), not a CSV text file",
}


def _check_utf8(data: bytes, name: str) -> int:
    """Refuse a file that is not UTF-8 text; return the length of its byte order mark."""
    what = next((w for start, w in _NOT_TEXT.items() if data.startswith(start)), None)
    if what is not None:
        raise DataError(f"File '{name}' is {what}. {_SAVE_AS_UTF8}", where=name)
    if not data.isascii():
        try:
            data.decode("utf-8")  # a byte order mark decodes too
        except UnicodeDecodeError as err:
            offset = err.start
            line = data[:offset].count(b"\n") + 1
            raise DataError(
                f"File '{name}' is not UTF-8 text: byte {offset} (line {line}) cannot be read. "
                f"It was probably saved in another encoding such as Windows-1252. {_SAVE_AS_UTF8}",
                where=name,
            ) from None
    return len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0


def _check_header(first: list[str], name: str) -> list[str]:
    """The first row's names, stripped, once they are checked to make a header."""
    header = [c.strip() for c in first]
    if any(header) and all(_as_number(c) is not None for c in header if c):
        raise DataError(
            f"File '{name}' has no header row: its first line holds only numbers "
            f"({', '.join(header[:5])}). Add a first line with a name for each column.",
            where=name,
        )
    if "" in header:
        position = header.index("") + 1
        raise DataError(
            f"File '{name}': column {position} has no name in the header row. Give every "
            "column a name, or delete the empty column.",
            where=name,
        )
    duplicates = [c for c, n in Counter(header).items() if n > 1]
    if duplicates:
        raise DataError(
            f"File '{name}' has more than one column named '{duplicates[0]}'. Rename the "
            "columns so every name is different.",
            where=name,
            column=duplicates[0],
        )
    return header


def _check_rows(text: str, name: str, delimiter: str = ",") -> tuple[list[str], int]:
    """Walk the whole file with the ``csv`` module: validate the header and the length of
    every row, naming the line at fault; return the stripped header and the number of
    data rows."""
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True, strict=True
    )
    start = 1  # the line the row being read starts on
    try:
        first = next((row for row in reader if not _is_blank(row)), None)
        if first is None:  # nothing, blank lines, or only "" (an empty sheet saved as CSV)
            raise DataError(
                f"File '{name}' is empty: it has no header row and no data. Load a CSV file "
                "with a header row naming the columns and a row of values for each example.",
                where=name,
            )
        header = _check_header(first, name)
        sep = CsvFormat(delimiter).separated
        read_as = "" if delimiter == "," else f" (read as {sep}-separated)"
        n_rows = 0
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if _is_blank(row):
                continue  # pandas skips blank lines too
            if len(row) != len(header):
                raise DataError(
                    f"File '{name}', line {line}: the row has {len(row)} "
                    f"value{'s' if len(row) != 1 else ''} but the header has {len(header)} "
                    f"column{'s' if len(header) != 1 else ''}{read_as}. Fix that line: a "
                    f"value that contains a {sep} must be put in double quotes "
                    '("..."), and every opening quote needs a closing one.',
                    where=name,
                )
            n_rows += 1
    except csv.Error as err:
        raise DataError(
            f"File '{name}', line {start}: not valid CSV ({err}). Check that line for a "
            "double quote that is never closed or a quote in the middle of a value.",
            where=name,
        ) from None
    return header, n_rows


def _is_blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and not row[0].strip())


def _as_number(value: object) -> float | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _show(value: object) -> str:
    """A value as a user would write it: 181 rather than 181.0, a date without 00:00:00."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return str(value.date())
    return str(value)


def _closest(name: str, options: Iterable[str]) -> str | None:
    """The option most like ``name`` (ignoring case), if one is close enough."""
    by_lower = {str(o).lower(): str(o) for o in options}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def _did_you_mean(name: str, options: Iterable[str]) -> str:
    close = _closest(name, options)
    return f" Did you mean '{close}'?" if close is not None else ""


def _names(items: Iterable[object], limit: int = 30) -> str:
    names = [f"'{i}'" for i in items]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes:,} bytes"
