"""Read an extract as analysts have it: CSV of any common shape, Excel or Parquet.

:func:`read_extract` returns the file's own columns, untouched but for the
reading itself, and a :class:`ReadInfo` that says how the file was read (so
the paper's data-quality section can name the delimiter and the encoding):

* **CSV** (``.csv``, ``.txt``, ``.tsv``): the delimiter (comma, semicolon,
  tab or pipe) is detected from the first lines, or taken from the study's
  ``[options] delimiter``; the encoding is UTF-8, UTF-8 with a byte-order
  mark, or Windows-1252 (cp1252, what Excel on Windows writes), detected or
  given; a decimal comma ("0,45") is detected in semicolon-, tab- and
  pipe-delimited files, or given as ``[options] decimal = ","``. Every cell
  is read as text, so codes keep their leading zeros.
* **Excel** (``.xlsx``, ``.xlsm``): the first sheet, or ``[options] sheet``.
* **Parquet**: as stored.

Text columns come back as pandas categoricals (one copy of each distinct
value, which is what keeps national extracts small); blanks are missing.
Reading with pyarrow is multi-threaded.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "x.csv").write_text("a;b\\n1,5;Y\\n2;N\\n", encoding="utf-8")
>>> frame, info = read_extract(folder / "x.csv")
>>> info.delimiter, info.decimal, frame["a"].tolist()
(';', ',', ['1.5', '2'])
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import CohortError, Problem

if TYPE_CHECKING:
    import pyarrow as pa  # imported where used at run time; untyped, so these annotations are documentation

__all__ = ["ReadInfo", "read_extract", "frame_from_arrow", "DELIMITERS", "ENCODINGS"]

DELIMITERS: dict[str, str] = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
"""The delimiters recognised, and their names in the data-quality section."""

ENCODINGS: dict[str, str] = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with a byte-order mark", "cp1252": "Windows-1252 (cp1252)"}
"""The encodings read, and their names in the data-quality section."""

_SAMPLE_BYTES = 1 << 16
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+(,\d+)?\s*$")


@dataclass(frozen=True)
class ReadInfo:
    """How an extract was read: format, encoding, delimiter, decimal mark, sheet, size."""

    path: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    sheet: str | None = None
    rows: int = 0
    columns: int = 0
    decimal_columns: tuple[str, ...] = ()

    def describe(self) -> str:
        """How the file was read, in words.

        Examples
        --------
        >>> ReadInfo("x.csv", "csv", "cp1252", ";", ",", rows=3, columns=2).describe()
        'a CSV file, semicolon-delimited, Windows-1252 (cp1252), with decimal commas; 3 rows and 2 columns'
        """
        if self.format == "csv":
            parts = [f"a CSV file, {DELIMITERS.get(self.delimiter or ',', repr(self.delimiter))}-delimited"]
            parts.append(ENCODINGS.get(self.encoding or "utf-8", str(self.encoding)))
            if self.decimal == ",":
                parts.append("with decimal commas")
            text = ", ".join(parts)
        elif self.format == "excel":
            text = f"an Excel workbook (sheet '{self.sheet}')"
        else:
            text = "a Parquet file"
        return f"{text}; {self.rows:,} row{'s' if self.rows != 1 else ''} and {self.columns:,} column{'s' if self.columns != 1 else ''}"

    def to_dict(self) -> dict[str, object]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def _problem(message: str, fix: str) -> Problem:
    return Problem("(file)", message, fix=fix)


def _detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a character cut by the sample's end
            return "utf-8"
        return "cp1252"


def _detect_delimiter(text: str, source: str) -> str:
    """The delimiter that splits the first lines into the same number (> 1) of fields."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of the sample may be cut
    best: tuple[float, int, str] | None = None
    for delimiter in DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        share = sum(w == widths[0] for w in widths) / len(widths)  # a stray bad row is reported later, with its delimiter
        score = (share, widths[0], delimiter)
        if share >= 0.5 and (best is None or score[:2] > best[:2]):
            best = score
    if best is None:
        header = lines[0] if lines else ""
        raise CohortError(source, [_problem(
            f"no delimiter splits the first lines into the same number of columns (tried comma, semicolon, tab and pipe; "
            f"the header reads {header[:80]!r})",
            "save the extract as CSV with one delimiter throughout, or name it in the study file: [options] delimiter = \";\"",
        )])
    return best[2]


def _decimal_columns(frame: pd.DataFrame) -> list[str]:
    """Columns whose every value is a number written with a decimal comma (at least one comma)."""
    found = []
    for column in frame.columns:
        values = frame[column]
        if not isinstance(values.dtype, pd.CategoricalDtype):
            continue
        cats = [str(c) for c in values.cat.categories]
        if cats and any("," in c for c in cats) and all(_DECIMAL_COMMA.match(c) for c in cats):
            found.append(column)
    return found


def codes_dtype(n_categories: int) -> type:
    """The integer type pandas keeps category codes in (int8 below 127 categories, and so on)."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_categories < np.iinfo(dtype).max:
            return dtype
    return np.int64


def _text_categorical(column: pa.ChunkedArray) -> pd.Categorical:
    """A column of text (an Arrow chunked array, plain or dictionary-encoded) as a pandas categorical.

    Values are stripped of surrounding white space and blanks are missing;
    the categories are the distinct values in order of first appearance. The
    work is done on each chunk's dictionary (its distinct values), not on
    the rows: the rows are touched only to find which values occur first and
    to write one small integer code each.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = [c if pa.types.is_dictionary(c.type) else c.dictionary_encode() for c in column.chunks if len(c)]
    # each chunk's distinct values in order of first appearance: chunk after chunk, that is the column's order
    present = []
    for chunk in chunks:
        first = pd.unique(_indices(chunk))
        present.append(first[first < len(chunk.dictionary)])
    pieces = [pc.take(c.dictionary, pa.array(p)) for c, p in zip(chunks, present)]
    if pieces:
        values = pc.utf8_trim_whitespace(pa.concat_arrays([p.cast(pieces[0].type) for p in pieces]))
        values = pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)
        encoded = values.dictionary_encode()
        ids = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        dictionary = encoded.dictionary
    else:
        ids, dictionary = np.empty(0, dtype=np.int32), pa.array([], pa.string())
    if not len(dictionary):  # nothing but blanks: what pandas makes of missing values alone
        return pd.Categorical.from_codes(np.full(len(column), -1, dtype=np.int8), dtype=pd.Categorical([None]).dtype, validate=False)
    dtype = codes_dtype(len(dictionary))
    codes: np.ndarray = np.empty(len(column), dtype=dtype)
    start = offset = 0
    for chunk, first in zip(chunks, present):
        lookup: np.ndarray = np.full(len(chunk.dictionary) + 1, -1, dtype=dtype)  # the last entry is for missing values
        lookup[first] = ids[offset:offset + len(first)]
        offset += len(first)
        np.take(lookup, _indices(chunk), out=codes[start:start + len(chunk)], mode="clip")
        start += len(chunk)
    return pd.Categorical.from_codes(codes, dtype=_categories_dtype(_text_index(dictionary)), validate=False)


def _indices(chunk: pa.DictionaryArray) -> np.ndarray:
    """A dictionary chunk's indices as numpy (no copy unless some are null; null is the index one past the end)."""
    indices = chunk.indices.fill_null(len(chunk.dictionary)) if chunk.null_count else chunk.indices
    return indices.to_numpy(zero_copy_only=False)


def _categories_dtype(categories: pd.Index) -> pd.CategoricalDtype:
    """The categorical dtype of categories known to be distinct and not missing.

    ``pd.CategoricalDtype`` checks that they are unique by hashing them, which
    for pandas' Arrow-backed text means a Python string per category; with a
    million distinct identifiers that is seconds spent proving what the
    dictionary encoding already guarantees, so the check is skipped when
    pandas offers the way to.
    """
    fastpath = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    return fastpath(categories, False) if fastpath is not None else pd.CategoricalDtype(categories)


def _text_index(values: pa.Array) -> pd.Index:
    """Arrow text as the pandas Index that a list of the same Python strings would give (without making the list)."""
    dtype = pd.Index(["x"]).dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return pd.Index(pd.array(values, dtype=dtype))
    return pd.Index(values.to_pylist())


def _categorical_frame(columns: dict[str, pa.ChunkedArray], text: set[str] | frozenset[str] = frozenset()) -> pd.DataFrame:
    """Arrow columns (text as pandas categoricals, blank text missing), emptied one by one as they are converted.

    ``text`` names the columns that are text in the file but were read
    dictionary-encoded (a column stored as a dictionary, as pandas writes a
    categorical, is otherwise converted as stored). The caller hands over its
    only reference to the columns, so each Arrow column is freed as soon as
    it is converted: the peak memory is the frame plus one column, not the
    frame plus the whole Arrow table.
    """
    import pyarrow as pa

    out = {}
    for name in list(columns):
        column = columns.pop(name)
        kind = column.type.value_type if pa.types.is_dictionary(column.type) and name in text else column.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            out[name] = _text_categorical(column)
        else:
            out[name] = column.to_pandas()
        del column
    return pd.DataFrame(out, copy=False)


def frame_from_arrow(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as :func:`read_extract` makes a frame of it: text as categoricals (stripped, blank missing), the rest as stored.

    :mod:`analysis.outofcore` reads DuckDB's results through it, so that a
    value reaches validation in the form it has when the extract is read in memory.

    Examples
    --------
    >>> import pyarrow as pa
    >>> frame = frame_from_arrow(pa.table({"sex": [" Male", "", None], "dv": [1.0, None, 0.0]}))
    >>> frame["sex"].tolist(), frame["dv"].tolist()
    (['Male', nan, nan], [1.0, nan, 0.0])
    """
    import pyarrow as pa

    text = {f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)}
    return _categorical_frame(dict(zip(table.column_names, table.columns)), text=text)


def _csv_header(text: str, delimiter: str, source: str) -> list[str]:
    """The column names in the first row of a CSV sample (stripped); a CohortError if there are none or one repeats."""
    header = next(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter), [])
    names = [h.strip() for h in header]
    if not names or all(not n for n in names):
        raise CohortError(source, [_problem("the file has no header row", "export the extract with the column names in the first row")])
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CohortError(source, [_problem(f"the header repeats column name(s) {', '.join(map(repr, duplicates))}",
                                            "give every column its own name in the extract")])
    return names


def _unreadable_csv(error: str, delimiter: str) -> Problem:
    """The problem to report when pyarrow cannot parse a CSV file (``error``: its message)."""
    first = error.splitlines()[0]
    match = re.search(r"Expected (\d+) columns, got (\d+)", first)
    if match:
        message = (f"a row has {match.group(2)} fields where the header has {match.group(1)} "
                   f"(read as {DELIMITERS[delimiter]}-delimited)")
        fix = ("check the delimiter (set [options] delimiter in the study file) and that text containing the "
               "delimiter is quoted")
    else:
        message, fix = f"the file cannot be read ({first})", "save it as CSV (UTF-8 or Windows-1252) with a header row, as Excel .xlsx, or as Parquet"
    return _problem(message, fix)


def _read_csv(path: Path, source: str, delimiter: str | None, decimal: str | None, encoding: str | None) -> tuple[pd.DataFrame, ReadInfo]:
    import pyarrow as pa
    from pyarrow import csv as pacsv

    with path.open("rb") as handle:
        head = handle.read(_SAMPLE_BYTES)
    if not head.strip():
        raise CohortError(source, [_problem("the file is empty", "export the extract again with a header row and data")])
    if encoding is not None and encoding not in ENCODINGS:
        raise CohortError(source, [_problem(f"the encoding {encoding!r} is not supported", f"use one of {', '.join(ENCODINGS)} in [options] encoding")])
    chosen = encoding or _detect_encoding(head)
    text = head.decode(chosen, errors="replace")
    if delimiter is None:
        delimiter = _detect_delimiter(text, source)
    elif delimiter not in DELIMITERS:
        raise CohortError(source, [_problem(f"the delimiter {delimiter!r} is not supported", "use one of ',', ';', '\\t' or '|' in [options] delimiter")])
    names = _csv_header(text, delimiter, source)
    pa_encoding = {"utf-8": "utf8", "utf-8-sig": "utf8", "cp1252": "cp1252"}[chosen]

    def attempt(enc: str) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, encoding=enc, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            # every cell as text, dictionary-encoded as it is parsed: each column is small integers and its distinct values
            convert_options=pacsv.ConvertOptions(column_types={n: pa.dictionary(pa.int32(), pa.string()) for n in names},
                                                 strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False),
        )

    try:
        try:
            table = attempt(pa_encoding)
        except pa.ArrowInvalid as exc:
            if encoding is None and chosen == "utf-8" and "UTF8" in str(exc).upper():
                chosen, table = "cp1252", attempt("cp1252")  # an invalid UTF-8 byte after the sample
            else:
                raise
    except pa.ArrowInvalid as exc:
        raise CohortError(source, [_unreadable_csv(str(exc), delimiter)]) from None
    if table.num_rows == 0:
        raise CohortError(source, [_problem("the file has a header but no data rows", "export the extract again with its rows")])
    columns = dict(zip(table.column_names, table.columns))
    del table  # the frame takes the columns over one by one
    frame = _categorical_frame(columns, text=set(names))
    decimal_cols: list[str] = []
    if decimal == "," or (decimal is None and delimiter != ","):
        decimal_cols = _decimal_columns(frame)
        for column in decimal_cols:
            frame[column] = frame[column].cat.rename_categories(lambda c: str(c).replace(",", "."))
    elif decimal not in (None, "."):
        raise CohortError(source, [_problem(f"the decimal mark {decimal!r} is not supported", "use \".\" or \",\" in [options] decimal")])
    info = ReadInfo(str(path), "csv", chosen, delimiter, "," if decimal_cols or decimal == "," else ".", None,
                    frame.shape[0], frame.shape[1], tuple(decimal_cols))
    return frame, info


def _read_excel(path: Path, source: str, sheet: str | None) -> tuple[pd.DataFrame, ReadInfo]:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - openpyxl is a dependency
        raise CohortError(source, [_problem("reading Excel needs the openpyxl package", "pip install openpyxl, or save the sheet as CSV")]) from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a corrupt or password-protected workbook
        raise CohortError(source, [_problem(f"the workbook cannot be opened ({type(exc).__name__})", "save it again as .xlsx, or as CSV")]) from None
    names = book.sheetnames
    chosen = sheet if sheet is not None else names[0]
    if chosen not in names:
        raise CohortError(source, [_problem(f"the workbook has no sheet {chosen!r} (it has {', '.join(map(repr, names))})",
                                            "name one of those in [options] sheet")])
    rows = book[chosen].iter_rows(values_only=True)
    header = next(rows, None)
    if header is None or all(h is None for h in header):
        raise CohortError(source, [_problem(f"sheet {chosen!r} is empty", "put the column names in the first row and the data below")])
    names_row = [str(h).strip() if h is not None else f"column {i + 1}" for i, h in enumerate(header)]
    data = [["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)) for v in row]
            for row in rows if row is not None and any(v not in (None, "") for v in row)]
    book.close()
    if not data:
        raise CohortError(source, [_problem(f"sheet {chosen!r} has a header but no data rows", "put the data below the header")])
    width = len(names_row)
    data = [r[:width] + [""] * (width - len(r)) for r in data]
    frame = pd.DataFrame(data, columns=names_row)
    frame = frame.apply(lambda s: s.str.strip().replace("", None).astype("category"))
    return frame, ReadInfo(str(path), "excel", None, None, None, chosen, frame.shape[0], frame.shape[1])


def _read_parquet(path: Path, source: str) -> tuple[pd.DataFrame, ReadInfo]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        try:
            schema = pq.read_schema(path)
        except Exception:
            schema = None  # read_table says why, in its own words
        # text is read dictionary-encoded (as Parquet usually stores it): small integers and the distinct values
        text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)] if schema is not None else []
        table = pq.read_table(path, read_dictionary=text or None)
    except Exception as exc:
        raise CohortError(source, [_problem(f"the Parquet file cannot be read ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})",
                                            "write it again with pandas or pyarrow")]) from None
    if table.num_rows == 0:
        raise CohortError(source, [_problem("the file has no data rows", "export the extract again with its rows")])
    columns = dict(zip(table.column_names, table.columns))
    del table  # the frame takes the columns over one by one
    frame = _categorical_frame(columns, text=set(text))
    return frame, ReadInfo(str(path), "parquet", rows=frame.shape[0], columns=frame.shape[1])


def read_extract(
    path: str | Path,
    *,
    delimiter: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
) -> tuple[pd.DataFrame, ReadInfo]:
    """Read a CSV, Excel or Parquet extract, detecting how a CSV is written.

    Parameters
    ----------
    path
        ``.csv``, ``.txt`` or ``.tsv``; ``.xlsx`` or ``.xlsm``; ``.parquet`` or ``.pq``.
    delimiter, decimal, encoding
        For CSV, override detection (from the study's ``[options]``).
    sheet
        For Excel, the sheet (default the first).

    Returns
    -------
    (pandas.DataFrame, ReadInfo)
        The file's columns (names stripped of spaces; text as categoricals
        with blanks missing) and how it was read.

    Raises
    ------
    CohortError
        The file is missing, empty, of an unknown type or cannot be parsed;
        the message says how to fix it.

    Examples
    --------
    A tab-delimited file is recognised as such; text stays text (categoricals) until the cohort is validated:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "extract.csv"
    >>> _ = path.write_text("area\\treoffended\\nDudley\\t1\\nWalsall\\t0\\n", encoding="utf-8")
    >>> frame, info = read_extract(path)
    >>> info.describe(), frame["area"].tolist()
    ('a CSV file, tab-delimited, UTF-8; 2 rows and 2 columns', ['Dudley', 'Walsall'])
    """
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise CohortError(source, [_problem("the file does not exist", "check the path (given as --cohort, or as extract in the study file)")])
    if path.is_dir():
        raise CohortError(source, [_problem("this is a folder, not a file", "give the extract's file name")])
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt", ".tsv"}:
        return _read_csv(path, source, delimiter, decimal, encoding)
    if suffix in {".xlsx", ".xlsm"}:
        return _read_excel(path, source, sheet)
    if suffix in {".parquet", ".pq"}:
        return _read_parquet(path, source)
    if suffix == ".xls":
        raise CohortError(source, [_problem("old-style Excel (.xls) files are not read", "save the sheet as .xlsx or as CSV")])
    raise CohortError(source, [_problem(f"unsupported file type '{suffix or '(none)'}'", "provide a .csv, .xlsx or .parquet file")])
