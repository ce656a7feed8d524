"""Cohort cells from an extract larger than memory, by an embedded engine (DuckDB).

:func:`cohort_cells` reads a Parquet or CSV extract with DuckDB under a
memory limit (spilling to a temporary directory rather than failing), maps it
with the study file's ``[columns]`` and ``[values]`` in SQL, validates the
columns the cells are made of with the same checks and words as
:func:`analysis.load_cohort`, and returns one row per covariate pattern:
the people in it (``n``) and those who reoffended (``reoffended``). Models,
expected rates, O/E and attributable fractions follow from the cells exactly
(``trials="n"`` in :func:`analysis.fit_flags_model`,
:func:`analysis.expected_probabilities` and
:func:`analysis.observed_vs_expected`; docs/methods.md, logistic regression on
grouped data), so no per-person frame is ever held in memory.

Not yet out of core: ``[derive]`` expressions, ``[filter]``, ages banded from
an ``age`` column, and the checks of columns that are not in the cells
(``person_id`` duplicates, ``reoffences``); they raise a
:class:`~analysis.errors.CohortError` saying so (or are not checked).

Examples
--------
>>> from analysis.outofcore import cohort_cells
>>> cells = cohort_cells("national.parquet", memory_limit="1GB")  # doctest: +SKIP
>>> fit = analysis.fit_flags_model(cells, trials="n")              # doctest: +SKIP
"""

from __future__ import annotations

import glob
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .cohort import (
    MAX_EXAMPLES,
    binary_missing_problem,
    category_missing_problem,
    expected_problem,
    not_binary_problem,
    structure_problems,
)
from .errors import CohortError, Problem
from .schema import CATEGORICAL, CATEGORIES, OUTCOME, flags_in, ordered_levels
from .study import Study, read_study, study_from_mapping

__all__ = ["cohort_cells"]

_TRUE = ("1", "1.0", "true")
_FALSE = ("0", "0.0", "false")
_ONE, _ZERO, _MISSING, _OTHER = 1, 0, 2, 3
_POLICIES = ("absent", "keep", "error")
_DELIMITERS = (",", ";", "\t", "|")


def _study(study: str | Path | Study | Mapping[str, Any] | None) -> Study:
    if isinstance(study, Study):
        return study
    if isinstance(study, Mapping):
        return study_from_mapping(study, source="study")
    return read_study(study)


def _quote(name: str) -> str:
    """A column name as an SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def _literal(text: str) -> str:
    """A Python string as an SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def _as_text(value: Any) -> str:
    """A recoded value as text, as validation reads it (integral floats lose their '.0')."""
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _is_pattern(path: Path) -> bool:
    """A glob pattern (several files of one extract, e.g. ``parts/*.parquet``) rather than one file."""
    return any(ch in str(path) for ch in "*?[")


def _source(path: Path, study: Study, *, row_numbers: bool) -> str:
    """The extract as a DuckDB table function (every CSV cell as text, like :func:`analysis.load_cohort`)."""
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return f"read_parquet({_literal(str(path))}{', file_row_number = true' if row_numbers else ''})"
    if suffix in {".csv", ".txt", ".tsv"}:
        delimiter = study.delimiter
        if delimiter is None:
            first = Path(sorted(glob.glob(str(path)))[0]) if _is_pattern(path) else path
            with first.open("r", encoding="utf-8", errors="replace") as handle:
                header = handle.readline()
            delimiter = max(_DELIMITERS, key=header.count)
        return (f"read_csv({_literal(str(path))}, delim = {_literal(delimiter)}, header = true, all_varchar = true, "
                "quote = '\"', escape = '\"')")
    raise CohortError(str(path), [Problem("(file)", f"the out-of-core path reads Parquet or CSV, not '{suffix or '(none)'}'",
                                          fix="export the extract as Parquet (best) or CSV")])


def _text_sql(column: str, dtype: str) -> str:
    """SQL for a column's values as the text validation reads (NULL stays NULL)."""
    c = _quote(column)
    kind = dtype.upper()
    if kind in {"DOUBLE", "FLOAT", "REAL"} or kind.startswith("DECIMAL"):
        return f"(CASE WHEN {c} = trunc({c}) AND abs({c}) < 1e15 THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END)"
    if kind == "BOOLEAN":
        return f"(CASE WHEN {c} THEN 'True' WHEN NOT {c} THEN 'False' END)"
    return f"trim(CAST({c} AS VARCHAR))"


def _recode_sql(text: str, table: Mapping[str, Any]) -> str:
    """SQL applying a ``[values]`` table to text; the empty key recodes blanks and missing values."""
    table = {str(k).strip(): v for k, v in table.items()}
    whens = [f"WHEN {text} = {_literal(k)} THEN {_literal(_as_text(v))}" for k, v in table.items() if k != ""]
    if "" in table:
        whens.insert(0, f"WHEN {text} IS NULL OR {text} = '' THEN {_literal(_as_text(table['']))}")
    return f"(CASE {' '.join(whens)} ELSE {text} END)" if whens else text


def _verdict_sql(text: str) -> str:
    """1, 0, missing (2) or another value (3) for a 0/1 column's text."""
    return (f"(CASE WHEN {text} IS NULL OR {text} = '' THEN {_MISSING} WHEN lower({text}) IN {tuple(_TRUE)} THEN {_ONE} "
            f"WHEN lower({text}) IN {tuple(_FALSE)} THEN {_ZERO} ELSE {_OTHER} END)")


_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
                  "DOUBLE", "FLOAT", "REAL", "BOOLEAN")


def _numeric_verdict_sql(column: str, dtype: str) -> str | None:
    """The verdict computed on numbers when the file stores the column as numbers (no text to build per row)."""
    if dtype.upper() not in _NUMERIC_TYPES and not dtype.upper().startswith("DECIMAL"):
        return None
    c = f"CAST({_quote(column)} AS DOUBLE)"
    return f"(CASE WHEN {c} IS NULL OR isnan({c}) THEN {_MISSING} WHEN {c} = 1 THEN {_ONE} WHEN {c} = 0 THEN {_ZERO} ELSE {_OTHER} END)"


def _levels(column: str, labels: list[str]) -> tuple[list[str], dict[str, str]]:
    """Levels of a categorical column and how labels map onto them (the toolkit's own codes in another case)."""
    mapping = {label: label for label in labels}
    known = CATEGORIES.get(column)
    if known:
        lookup = {k.lower(): k for k in known}
        if labels and all(v.lower() in lookup for v in labels) and any(v not in known for v in labels):
            mapping = {v: lookup[v.lower()] for v in labels}
    return ordered_levels(column, mapping.values()), mapping


def cohort_cells(
    path: str | Path,
    study: str | Path | Study | Mapping[str, Any] | None = None,
    *,
    memory_limit: str = "1GB",
    threads: int = 2,
    temp_directory: str | Path | None = None,
    missing_flags: str | None = None,
) -> pd.DataFrame:
    """People and reoffenders per covariate pattern of an extract, aggregated by DuckDB within a memory limit.

    Parameters
    ----------
    path
        The extract: Parquet (``.parquet``, ``.pq``) or CSV (``.csv``,
        ``.txt``, ``.tsv``; delimiter from the study file, else the commonest
        of ``, ; tab |`` in the header; every cell read as text). A glob
        pattern such as ``parts/*.parquet`` reads several files as one
        extract (row numbers in problems then count within each file).
    study
        A study file, :class:`~analysis.study.Study` or structure: its
        ``[columns]`` renames and ``[values]`` recodes are applied in SQL.
        ``[derive]`` and ``[filter]`` are not supported out of core yet.
    memory_limit
        DuckDB's memory limit (e.g. ``"1GB"``); beyond it the aggregation
        spills to ``temp_directory``.
    threads
        DuckDB's threads.
    temp_directory
        Where DuckDB spills; default a new folder in the system's temporary directory.
    missing_flags
        Policy for flags that are not recorded (``"absent"``: 0, ``"keep"``:
        a missing flag, ``"error"``: a problem); default the study's.

    Returns
    -------
    pandas.DataFrame
        One row per covariate pattern of the categorical columns present
        (``period``, ``area``, ``sex``, ``age_band``, ``offence_group``, as
        categoricals with the levels :func:`analysis.load_cohort` gives) and
        the flags (``int8``; nullable ``Int8`` under ``"keep"``), sorted by
        them, with ``n`` (people), ``reoffended`` (people who reoffended) and,
        when the extract supplies ``expected``, ``expected_sum`` (the sum of
        the expected probabilities). ``attrs``: ``source``, ``flags``,
        ``missing_flags``, ``not_recorded`` (per flag), ``rows`` and ``engine``.

    Raises
    ------
    CohortError
        Every problem found in the columns the cells are made of, at once,
        in the words of :func:`analysis.load_cohort` (column, rows, the first
        row numbers and values, the fix); or a study feature the out-of-core
        path does not support yet.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"reoffended": [1, 0, 1], "dv": [1, 1, 0], "sex": ["Male", "Male", "Female"]}).to_parquet(folder / "x.parquet")
    >>> cohort_cells(folder / "x.parquet")[["sex", "dv", "n", "reoffended"]].values.tolist()
    [['Male', 1, 2, 1], ['Female', 0, 1, 1]]
    """
    import duckdb

    path = Path(path)
    source = str(path)
    spec = _study(study)
    unsupported = [name for name, used in (("[derive]", bool(spec.derive)), ("[filter]", bool(spec.filter))) if used]
    if unsupported:
        raise CohortError(source, [Problem(
            "(study file)", f"the out-of-core path does not support {' and '.join(unsupported)} yet",
            fix="apply them when the extract is exported (e.g. in the query that writes it), "
                "or read an extract that fits in memory with analysis.load_cohort")])
    policy = missing_flags or spec.missing_flags
    if policy not in _POLICIES:
        raise ValueError(f"missing_flags must be one of {_POLICIES}, not {policy!r}")
    if not (path.exists() or (_is_pattern(path) and glob.glob(str(path)))):
        raise CohortError(source, [Problem("(file)", "the file does not exist", fix="check the path")])

    spill = Path(temp_directory) if temp_directory is not None else Path(tempfile.mkdtemp(prefix="analysis-duckdb-"))
    con = duckdb.connect(":memory:", config={"memory_limit": str(memory_limit), "threads": int(threads),
                                             "temp_directory": str(spill), "preserve_insertion_order": False})
    con.execute("SET enable_progress_bar = false")  # a library does not print
    try:
        return _cells(con, path, spec, policy)
    except duckdb.Error as exc:  # an unreadable file, or more memory than the limit: said in words, not a traceback
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fix = (f"raise memory_limit above {memory_limit!r}, or give temp_directory a disk with more room"
               if isinstance(exc, duckdb.OutOfMemoryException)
               else "check that the file is a complete Parquet or CSV export of the extract")
        raise CohortError(source, [Problem("(file)", f"DuckDB could not read it ({message})", fix=fix)]) from None
    finally:
        con.close()
        if temp_directory is None:
            shutil.rmtree(spill, ignore_errors=True)


def _cells(con: Any, path: Path, spec: Study, policy: str) -> pd.DataFrame:
    source = str(path)
    described = con.execute(f"DESCRIBE SELECT * FROM {_source(path, spec, row_numbers=False)}").fetchall()
    file_types = {str(row[0]): str(row[1]) for row in described}
    renames = {str(k): str(v) for k, v in spec.columns.items()}
    origin = {renames.get(name, name): name for name in file_types}  # study name -> file column
    columns = list(origin)
    problems = _mapping_problems(renames, file_types, origin, spec)
    if any(p.column in (OUTCOME, "(flags)", "age") or "not in the" in p.message for p in problems):
        raise CohortError(source, problems)

    def text(column: str) -> str:
        base = _text_sql(origin[column], file_types[origin[column]])
        return _recode_sql(base, spec.values[column]) if column in spec.values else base

    def verdict(column: str) -> str:
        numeric = None if column in spec.values else _numeric_verdict_sql(origin[column], file_types[origin[column]])
        return numeric or _verdict_sql(text(column))

    flags = flags_in(columns, spec.extra_flags)
    categorical = [c for c in CATEGORICAL if c in origin]
    select = {}
    for column in (OUTCOME, *flags):
        select[f"t_{column}"] = text(column)
        select[f"v_{column}"] = verdict(column)
    select.update({f"t_{c}": f"NULLIF({text(c)}, '')" for c in categorical})
    has_expected = "expected" in origin
    if has_expected:
        t = text("expected")
        select["t_expected"] = t
        select["e_value"] = _expected_sql(t, origin["expected"], file_types[origin["expected"]], spec)
    inner = ", ".join(f"{sql} AS {_quote(name)}" for name, sql in select.items())

    def flag_key(flag: str) -> str:
        v = _quote(f"v_{flag}")
        return f"(CASE WHEN {v} = {_MISSING} THEN 0 ELSE {v} END)" if policy == "absent" else v

    keys = [f"{_quote('t_' + c)} AS {_quote(c)}" for c in categorical] + [f"{flag_key(f)} AS {_quote(f)}" for f in flags]
    aggregates = _aggregates_sql(flags, policy, has_expected)
    group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
    query = (f"SELECT {', '.join(keys + aggregates)} FROM (SELECT {inner} FROM {_source(path, spec, row_numbers=False)}){group}")
    cells = con.execute(query).fetchdf()

    n = cells["n"].to_numpy(dtype=np.int64)
    found, not_recorded = _cell_findings(cells, n, flags, categorical, policy, has_expected)
    if found or problems:
        problems.extend(_problems(con, path, spec, inner, found))
        raise CohortError(source, problems)
    out = _typed_cells(cells, n, flags, categorical, policy, has_expected, spec)
    out.attrs.update({"source": source, "flags": list(flags), "missing_flags": policy, "not_recorded": not_recorded,
                      "rows": int(n.sum()), "engine": f"duckdb {_version()}"})
    return out.reset_index(drop=True)


def _mapping_problems(renames: dict[str, str], file_types: dict[str, str], origin: dict[str, str], spec: Study) -> list[Problem]:
    """What is wrong with the study's mapping of the file's columns (renames, recodes, ages, the structure)."""
    problems: list[Problem] = []
    not_there = [k for k in renames if k not in file_types]
    if not_there:
        problems.append(Problem(", ".join(not_there), "the study renames column(s) that are not in the file",
                                fix=f"use the file's own column names ({', '.join(list(file_types)[:15])})"))
    for column in spec.values:
        if column not in origin:
            problems.append(Problem(column, "the study recodes a column that is not in the data",
                                    fix=f"rename a column to '{column}' in [columns], or remove [values.{column}]"))
    if "age" in origin and "age_band" not in origin:
        problems.append(Problem("age", "the out-of-core path does not band ages yet",
                                fix="supply an age_band column in the extract, or read an extract that fits in memory with analysis.load_cohort"))
    problems.extend(structure_problems(list(origin), spec))
    return problems


def _expected_sql(text: str, file_column: str, file_type: str, spec: Study) -> str:
    """SQL for the expected probability as a number (NULL where it is not one); ``text``: the column as text."""
    column, dtype = _quote(file_column), file_type.upper()
    if "expected" not in spec.values and (dtype in _NUMERIC_TYPES or dtype.startswith("DECIMAL")):
        return f"CAST({column} AS DOUBLE)"
    if spec.decimal in (None, "."):
        return f"TRY_CAST({text} AS DOUBLE)"
    return f"TRY_CAST(replace({text}, {_literal(spec.decimal)}, '.') AS DOUBLE)"


def _aggregates_sql(flags: list[str], policy: str, has_expected: bool) -> list[str]:
    """The SQL aggregates of one cell: its people, reoffenders, and the counts the validation reads."""
    y = _quote(f"v_{OUTCOME}")
    aggregates = [
        "count(*) AS n",
        f"sum(CASE WHEN {y} = {_ONE} THEN 1 ELSE 0 END) AS reoffended",
        f"sum(CASE WHEN {y} = {_MISSING} THEN 1 ELSE 0 END) AS _y_missing",
        f"sum(CASE WHEN {y} = {_OTHER} THEN 1 ELSE 0 END) AS _y_other",
    ]
    if policy == "absent":
        aggregates += [f"sum(CASE WHEN {_quote('v_' + f)} = {_MISSING} THEN 1 ELSE 0 END) AS {_quote('_nr_' + f)}" for f in flags]
    if has_expected:
        e, t = '"e_value"', '"t_expected"'
        aggregates += [
            f"sum({e}) AS expected_sum",
            f"sum(CASE WHEN {e} IS NULL AND {t} IS NOT NULL AND {t} <> '' THEN 1 ELSE 0 END) AS _e_not_number",
            f"sum(CASE WHEN {e} < 0 OR {e} > 1 THEN 1 ELSE 0 END) AS _e_outside",
            f"sum(CASE WHEN {t} IS NULL OR {t} = '' THEN 1 ELSE 0 END) AS _e_missing",
        ]
    return aggregates


def _cell_findings(cells: pd.DataFrame, n: np.ndarray, flags: list[str], categorical: list[str], policy: str,
                   has_expected: bool) -> tuple[list[tuple[str, str, int]], dict[str, int]]:
    """Validation from the cells' counts: (kind, column, rows) for each problem found, and the flags not recorded."""
    found: list[tuple[str, str, int]] = []  # (kind, column, rows)
    if cells["_y_other"].sum():
        found.append(("not_binary", OUTCOME, int(cells["_y_other"].sum())))
    if cells["_y_missing"].sum():
        found.append(("binary_missing", OUTCOME, int(cells["_y_missing"].sum())))
    not_recorded: dict[str, int] = {}
    for flag in flags:
        verdict = cells[flag].to_numpy()
        if (verdict == _OTHER).any():
            found.append(("not_binary", flag, int(n[verdict == _OTHER].sum())))
        if policy == "error" and (verdict == _MISSING).any():
            found.append(("binary_missing", flag, int(n[verdict == _MISSING].sum())))
        not_recorded[flag] = int(cells[f"_nr_{flag}"].sum()) if policy == "absent" else int(n[verdict == _MISSING].sum())
    for column in categorical:
        missing = cells[column].isna().to_numpy()
        if missing.any():
            found.append(("category_missing", column, int(n[missing].sum())))
    if has_expected:
        for kind in ("not_number", "outside", "missing"):
            count = int(cells[f"_e_{kind}"].sum())
            if count:
                found.append((kind, "expected", count))
    return found, not_recorded


def _typed_cells(cells: pd.DataFrame, n: np.ndarray, flags: list[str], categorical: list[str], policy: str,
                 has_expected: bool, spec: Study) -> pd.DataFrame:
    """The validated cells typed as the in-memory cohort is (categories, flags as 0/1), merged where keys coincide."""
    out = pd.DataFrame(index=cells.index)
    for column in categorical:
        labels = sorted(cells[column].dropna().unique().tolist(), key=str)
        levels, mapping = _levels(column, labels)
        out[column] = pd.Categorical(cells[column].map(mapping), categories=levels)
    if "period" not in categorical:
        out.insert(0, "period", pd.Categorical([spec.period or "All people"] * len(cells)))  # type: ignore[arg-type]  # pandas-stubs: insert takes a Categorical
    for flag in flags:
        values = cells[flag]
        if policy == "keep":
            out[flag] = pd.array(values.where(values != _MISSING), dtype="Int8")  # type: ignore[call-overload]  # pandas-stubs: no Series-with-dtype-name overload
        else:
            out[flag] = values.astype("int8")
    out["n"] = n
    out["reoffended"] = cells["reoffended"].to_numpy(dtype=np.int64)
    if has_expected:
        out["expected_sum"] = cells["expected_sum"].to_numpy(dtype=float)
    keys_out = [c for c in out.columns if c not in ("n", "reoffended", "expected_sum")]
    if keys_out:
        out = out.groupby(keys_out, observed=True, sort=True, dropna=False, as_index=False).sum()
    return out


def _version() -> str:
    import duckdb

    return str(duckdb.__version__)


def _problems(con: Any, path: Path, spec: Study, inner: str, found: list[tuple[str, str, int]]) -> list[Problem]:
    """The problems found in the counts, with the first row numbers and values (a scan of the file for each)."""
    if not found:
        return []
    parquet = path.suffix.lower() in {".parquet", ".pq"}
    con.execute("SET threads = 1")  # rows in file order for a CSV
    con.execute("SET preserve_insertion_order = true")
    row = "file_row_number + 1" if parquet else "row_number() OVER ()"
    rows_source = f"(SELECT {inner}, {row} AS _row FROM {_source(path, spec, row_numbers=parquet)})"
    out: list[Problem] = []
    for kind, column, count in found:
        if column == "expected":
            t, e = '"t_expected"', '"e_value"'
            condition = {"not_number": f"{e} IS NULL AND {t} IS NOT NULL AND {t} <> ''",
                         "outside": f"({e} < 0 OR {e} > 1)", "missing": f"({t} IS NULL OR {t} = '')"}[kind]
        elif kind == "category_missing":
            condition = f"{_quote('t_' + column)} IS NULL"
        else:
            condition = f"{_quote('v_' + column)} = {_OTHER if kind == 'not_binary' else _MISSING}"
        rows = tuple(int(r[0]) for r in con.execute(
            f"SELECT _row FROM {rows_source} WHERE {condition} ORDER BY _row LIMIT {MAX_EXAMPLES}").fetchall())
        examples: tuple[str, ...] = ()
        if kind in ("not_binary", "not_number", "outside"):
            value = _quote("t_" + column)
            examples = tuple(str(r[0]) for r in con.execute(
                f"SELECT {value}, min(_row) AS first FROM {rows_source} WHERE {condition} GROUP BY 1 ORDER BY first LIMIT {MAX_EXAMPLES}").fetchall())
        if kind == "not_binary":
            out.append(not_binary_problem(column, count, rows, examples))
        elif kind == "binary_missing":
            out.append(binary_missing_problem(column, count, rows))
        elif kind == "category_missing":
            out.append(category_missing_problem(column, count, rows))
        else:
            out.append(expected_problem(kind, count, rows, examples))
    return out
