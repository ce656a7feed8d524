"""Reading extracts as analysts have them: delimiters, decimal commas, encodings, Excel, Parquet, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.errors import CohortError
from analysis.reading import read_extract

ROWS = [["area", "rate", "label"], ["1", "0,45", "Café"], ["10", "1,5", "Ümit & Co"], ["2", "", "x"]]


def _write(path: Path, delimiter: str, encoding: str = "utf-8", rows=ROWS) -> Path:
    path.write_bytes(("\n".join(delimiter.join(r) for r in rows) + "\n").encode(encoding))
    return path


@pytest.mark.parametrize("delimiter, name", [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_delimiter_and_decimal_comma_are_detected(tmp_path, delimiter, name):
    frame, info = read_extract(_write(tmp_path / "x.csv", delimiter))
    assert info.delimiter == delimiter and info.decimal == ","
    assert name in info.describe() and "decimal commas" in info.describe()
    assert frame["rate"].tolist()[:2] == ["0.45", "1.5"] and pd.isna(frame["rate"].iloc[2])
    assert frame["area"].tolist() == ["1", "10", "2"]  # codes stay text, blanks are missing
    assert frame["label"].tolist() == ["Café", "Ümit & Co", "x"]


def test_comma_delimited_file_keeps_decimal_points(tmp_path):
    rows = [["a", "b"], ["0.5", "01"], ["1.25", "02"]]
    frame, info = read_extract(_write(tmp_path / "x.csv", ",", rows=rows))
    assert info.delimiter == "," and info.decimal == "."
    assert frame["a"].tolist() == ["0.5", "1.25"] and frame["b"].tolist() == ["01", "02"]


@pytest.mark.parametrize("encoding, expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252")])
def test_encodings_are_detected_and_named(tmp_path, encoding, expected):
    frame, info = read_extract(_write(tmp_path / "x.csv", ";", encoding))
    assert info.encoding == expected
    assert frame.columns[0] == "area"  # no byte-order mark left in the first name
    assert frame["label"].iloc[0] == "Café"


def test_a_cp1252_byte_beyond_the_sample_is_still_read(tmp_path):
    rows = [["id", "name"]] + [[str(i), "plain"] for i in range(20000)] + [["x", "Caf\xe9"]]
    path = tmp_path / "late.csv"
    path.write_bytes(("\n".join(",".join(r) for r in rows) + "\n").encode("cp1252"))
    frame, info = read_extract(path)
    assert info.encoding == "cp1252" and frame["name"].iloc[-1] == "Café"


def test_an_inconsistent_file_names_the_delimiters_tried(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a;b;c\n1,2\n3|4|5|6\n", encoding="utf-8")
    with pytest.raises(CohortError) as info:
        read_extract(path)
    text = str(info.value)
    assert "comma, semicolon, tab and pipe" in text and "[options] delimiter" in text


def test_a_row_with_the_wrong_number_of_fields_names_the_delimiter(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a;b\n1;2\n3;4\n5;6;7\n", encoding="utf-8")
    with pytest.raises(CohortError) as info:
        read_extract(path)
    assert "semicolon-delimited" in str(info.value)


def test_excel_first_sheet_or_the_named_one(tmp_path):
    path = tmp_path / "x.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"a": [1, 2], "b": ["Y", None]}).to_excel(writer, sheet_name="first", index=False)
        pd.DataFrame({"c": [0.5]}).to_excel(writer, sheet_name="second", index=False)
    frame, info = read_extract(path)
    assert info.format == "excel" and info.sheet == "first"
    assert frame["a"].tolist() == ["1", "2"] and frame["b"].iloc[0] == "Y" and pd.isna(frame["b"].iloc[1])
    frame, info = read_extract(path, sheet="second")
    assert frame["c"].tolist() == ["0.5"]
    with pytest.raises(CohortError, match="no sheet 'third'"):
        read_extract(path, sheet="third")


def test_parquet_keeps_numbers_and_reads_text_as_categories(tmp_path):
    path = tmp_path / "x.parquet"
    pd.DataFrame({"n": [1, 2], "area": ["B", "A"]}).to_parquet(path)
    frame, info = read_extract(path)
    assert info.format == "parquet" and frame["n"].tolist() == [1, 2]
    assert isinstance(frame["area"].dtype, pd.CategoricalDtype) and frame["area"].tolist() == ["B", "A"]


@pytest.mark.parametrize("name, content, phrase", [
    ("x.csv", "", "empty"), ("x.csv", "a,b\n", "no data rows"), ("x.xls", "x", ".xlsx"), ("x.doc", "x", "unsupported"),
    ("x.parquet", "not parquet", "cannot be read"), ("x.xlsx", "not a workbook", "cannot be opened"),
    ("x.csv", "a,a\n1,2\n", "repeats column name"),
])
def test_unreadable_files_get_one_clear_error(tmp_path, name, content, phrase):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CohortError) as info:
        read_extract(path)
    assert phrase in str(info.value) and "Fix:" in str(info.value)
