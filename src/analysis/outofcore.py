"""Cohort cells from an extract larger than memory, by an embedded engine (DuckDB).

:func:`cohort_cells` reads a Parquet or CSV extract with DuckDB under a
memory limit (spilling to a temporary directory rather than failing), maps it
with the study file's ``[columns]`` and ``[values]``, validates it with the
same checks and words as :func:`analysis.load_cohort`, and returns one row
per covariate pattern: the people in it (``n``) and those who reoffended
(``reoffended``).

Validation works on distinct values, not rows: one scan groups the people by
the raw values of the outcome, flags, categories and ``[impact]`` treatment
as the file stores them (no per-row conversion), and each distinct value is
then recoded and judged once, in Python, by the very functions
:func:`analysis.load_cohort` uses (``[kpi] date`` values likewise, in a scan
of that column); a problem's rows are the people counted in the groups at
fault. Only ``expected``, a probability with as many values as rows, is
checked row by row in SQL. When a problem is found, a further scan per
problem finds its first row numbers and example values. Models,
expected rates, O/E and attributable fractions follow from the cells exactly
(``trials="n"`` in :func:`analysis.fit_flags_model`,
:func:`analysis.expected_probabilities` and
:func:`analysis.observed_vs_expected`; docs/methods.md, logistic regression on
grouped data), so no per-person frame is ever held in memory.

``reoffences`` is checked per distinct pair of its value and the outcome's,
``person_id`` by grouping the ids of each period (a scan as costly as the
people are many), and ``[model]`` against the columns, each as
:func:`analysis.load_cohort` checks it.

Not yet out of core: ``[derive]`` expressions, ``[filter]`` and ages banded
from an ``age`` column raise a :class:`~analysis.errors.CohortError` saying
so. ``expected`` or ``reoffences`` named in ``[model] adjust`` are not
re-checked for missing values there, and a Parquet boolean column named in
``[model]`` is taken as not numeric even when it has blanks (which
:func:`analysis.load_cohort` reads as numbers).

Examples
--------
>>> from analysis.outofcore import cohort_cells
>>> cells = cohort_cells("national.parquet", memory_limit="1GB")  # doctest: +SKIP
>>> fit = analysis.fit_flags_model(cells, trials="n")              # doctest: +SKIP
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from .cohort import (
    MAX_EXAMPLES,
    VERDICT_MISSING,
    VERDICT_ONE,
    VERDICT_OTHER,
    VERDICT_ZERO,
    StudyData,
    binary_missing_problem,
    binary_verdicts,
    categorical_column,
    category_missing_problem,
    columns_held,
    date_absent_problem,
    date_problem,
    date_verdicts,
    expected_problem,
    extract_path,
    model_column_kind_problem,
    model_column_missing_problem,
    model_problems,
    not_binary_problem,
    number_verdicts,
    person_twice_problem,
    recode_distinct,
    rename_problems,
    reoffences_problem,
    structure_problems,
    treatment_absent_problem,
    treatment_not_own_column_problem,
    value_examples,
)
from .errors import CohortError, Problem
from .periods import date_period_codes
from .reading import frame_from_arrow
from .schema import CATEGORICAL, OUTCOME, flags_in
from .study import Study, read_study, study_from_mapping

__all__ = ["cohort_cells", "open_study_cells", "fits_in_memory", "extract_rows", "available_memory", "BYTES_PER_ROW_IN_MEMORY"]

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


def _delimiter(path: Path, study: Study) -> str:
    """A CSV's delimiter: the study's, else the commonest of ``, ; tab |`` in the header."""
    if study.delimiter is not None:
        return study.delimiter
    first = Path(sorted(glob.glob(str(path)))[0]) if _is_pattern(path) else path
    with first.open("r", encoding="utf-8", errors="replace") as handle:
        header = handle.readline()
    return max(_DELIMITERS, key=header.count)


def _source(path: Path, study: Study, *, row_numbers: bool) -> str:
    """The extract as a DuckDB table function (every CSV cell as text, like :func:`analysis.load_cohort`)."""
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return f"read_parquet({_literal(str(path))}{', file_row_number = true' if row_numbers else ''})"
    if suffix in {".csv", ".txt", ".tsv"}:
        delimiter = _delimiter(path, study)
        return (f"read_csv({_literal(str(path))}, delim = {_literal(delimiter)}, header = true, all_varchar = true, "
                "quote = '\"', escape = '\"')")
    raise CohortError(str(path), [Problem("(file)", f"the out-of-core path reads Parquet or CSV, not '{suffix or '(none)'}'",
                                          fix="export the extract as Parquet (best) or CSV")])


_WHITE_SPACE = "(' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13))"
"""SQL: the white space trimmed from text (other white space is judged in Python, as odd text)."""


def _text_sql(column: str, dtype: str) -> str:
    """SQL for a column's values as the text validation reads (NULL stays NULL)."""
    c = _quote(column)
    kind = dtype.upper()
    if kind in {"DOUBLE", "FLOAT", "REAL"} or kind.startswith("DECIMAL"):
        finite = f"isfinite({c}) AND " if not kind.startswith("DECIMAL") else ""  # NaN = trunc(NaN) in DuckDB
        return (f"(CASE WHEN {finite}{c} = trunc({c}) AND abs({c}) < 1e15 THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) "
                f"ELSE CAST({c} AS VARCHAR) END)")
    if kind == "BOOLEAN":
        return f"(CASE WHEN {c} THEN 'True' WHEN NOT {c} THEN 'False' END)"
    return f"trim(CAST({c} AS VARCHAR), {_WHITE_SPACE})"


def _recode_sql(text: str, table: Mapping[str, Any]) -> str:
    """SQL applying a ``[values]`` table to text; the empty key recodes blanks and missing values."""
    table = {str(k).strip(): v for k, v in table.items()}
    whens = [f"WHEN {text} = {_literal(k)} THEN {_literal(_as_text(v))}" for k, v in table.items() if k != ""]
    if "" in table:
        whens.insert(0, f"WHEN {text} IS NULL OR {text} = '' THEN {_literal(_as_text(table['']))}")
    return f"(CASE {' '.join(whens)} ELSE {text} END)" if whens else text


_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
                  "DOUBLE", "FLOAT", "REAL", "BOOLEAN")


_NUMBER = r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?"
"""A number written plainly: DuckDB and pandas read it as the same double. Other text is judged in Python, value by value."""
_COMMA_NUMBER = r"[-+]?[0-9]+(,[0-9]+)?"
"""A number with a decimal comma, as :func:`analysis.reading.read_extract` recognises a decimal-comma column."""


def _outside(value: float) -> bool:
    """A number outside [0, 1] (NaN is not a number, not outside)."""
    return bool(value < 0 or value > 1)


@dataclass
class _ExpectedReading:
    """How the ``expected`` column is read in SQL, as :func:`analysis.load_cohort` reads it.

    Stored as numbers (and not recoded): the numbers, NaN as missing, with no
    text per row. Stored as text: ``_t`` (trimmed, recoded, decimal commas
    as points when the column is read so) and ``_e``, its value when written
    plainly; any other text (``_e`` NULL, ``_t`` not blank) is odd, and
    ``odd`` holds the number :func:`analysis.cohort.number_verdicts` makes of
    each odd value met (NaN: not a number; None: blank, as white space
    other than spaces is).
    """

    numeric: bool
    text: str  # SQL over the file's columns: _t
    example: str  # SQL over the file's columns: the value as a problem's example shows it
    raw: str  # SQL over the file's columns: the text before recoding (decimal-comma detection)
    commas: bool  # decimal commas read as points
    odd: dict[str, float | None] = field(default_factory=dict)

    def number(self) -> str:
        """SQL over ``_t``: the number (NULL where missing, or where odd and not a number)."""
        if self.numeric:
            return "_t"
        plain = f"(CASE WHEN regexp_full_match(_t, {_literal(_NUMBER)}) THEN TRY_CAST(_t AS DOUBLE) END)"
        known = {text: value for text, value in self.odd.items() if value is not None and not np.isnan(value)}
        if not known:
            return plain
        whens = " ".join(f"WHEN {_literal(text)} THEN CAST({_literal(repr(value))} AS DOUBLE)" for text, value in known.items())
        return f"coalesce({plain}, CASE _t {whens} END)"

    def condition(self, kind: str) -> str:
        """SQL over ``_t`` and ``_e``: the rows with the problem ``kind``."""
        if self.numeric:
            return {"missing": "_e IS NULL", "outside": "(_e < 0 OR _e > 1)", "not_number": "false"}[kind]
        test = {"missing": lambda v: v is None, "not_number": lambda v: v is not None and np.isnan(v),
                "outside": lambda v: v is not None and _outside(v)}[kind]
        bad = [_literal(t) for t, v in self.odd.items() if test(v)]
        among = f"_t IN ({', '.join(bad)})" if bad else "false"
        return {"missing": f"(_t IS NULL OR _t = '' OR {among})", "not_number": among,
                "outside": f"((_e < 0 OR _e > 1) OR {among})"}[kind]

    def aggregates(self) -> list[str]:
        """The SQL aggregates of a group: the sum of the probabilities, the rows outside [0, 1], missing, odd, and the sum of p(1-p)."""
        out = ["sum(_e) AS _expected_sum", f"count(*) FILTER (WHERE {self.condition('outside')}) AS _e_outside",
               f"count(*) FILTER (WHERE {self.condition('missing')}) AS _e_missing"]
        if not self.numeric:
            out.append("count(*) FILTER (WHERE _e IS NULL AND _t <> '') AS _e_odd")
            if self.commas:
                out += ["count(*) FILTER (WHERE contains(_r, ',')) AS _e_commas",
                        f"count(*) FILTER (WHERE _r <> '' AND NOT regexp_full_match(_r, {_literal(_COMMA_NUMBER)})) AS _e_not_commas"]
        return [*out, "sum(_e * (1 - _e)) AS _expected_variance_sum"]  # last: the checks above are read by position

    def select(self) -> str:
        """The SQL select list over the file's columns: ``_t`` (and ``_r`` for decimal-comma detection)."""
        return f"{self.text} AS _t" + (f", {self.raw} AS _r" if self.commas and not self.numeric else "")


def _expected_reading(path: Path, spec: Study, origin: dict[str, str], file_types: dict[str, str], *,
                      commas: bool | None = None) -> _ExpectedReading:
    """How to read ``expected``; ``commas``: read decimal commas as points (default: wherever load_cohort might)."""
    column, dtype = origin["expected"], file_types[origin["expected"]]
    kind = dtype.upper()
    example = _text_sql(column, dtype)
    if "expected" not in spec.values and (kind in _NUMERIC_TYPES or kind.startswith("DECIMAL")):
        x = f"CAST({_quote(column)} AS DOUBLE)"
        return _ExpectedReading(True, f"(CASE WHEN isnan({x}) THEN NULL ELSE {x} END)", example, example, False)
    text = _recode_sql(example, spec.values["expected"]) if "expected" in spec.values else example
    if commas is None:
        csv = path.suffix.lower() in {".csv", ".txt", ".tsv"}
        commas = csv and (spec.decimal == "," or (spec.decimal is None and _delimiter(path, spec) != ","))
    if commas:
        text = f"replace({text}, ',', '.')"
    return _ExpectedReading(False, text, text, example, commas)


def _expected_pending(con: Any, scan: str, reading: _ExpectedReading, groups: Any, path: Path, spec: Study, origin: dict[str, str],
                      file_types: dict[str, str]) -> tuple[_ExpectedReading, list[_Pending], bool]:
    """The problems of ``expected`` from the groups' counts: the reading they were found with, and whether sums need reading again.

    A text column whose values are not all decimal-comma numbers is not
    read with commas as points (as :func:`analysis.load_cohort` reads it),
    so its counts are taken again; odd values are judged in Python once each.
    """
    def total(name: str) -> int:
        return int(np.asarray(groups.column(name).to_numpy(zero_copy_only=False), dtype=np.int64).sum())

    counts = {kind: total(f"_e_{kind}") for kind in ("outside", "missing")}
    odd = 0 if reading.numeric else total("_e_odd")
    if reading.commas and total("_e_commas") and total("_e_not_commas"):
        reading = _expected_reading(path, spec, origin, file_types, commas=False)
        row = con.execute(f"SELECT {', '.join(reading.aggregates())} FROM (SELECT *, {reading.number()} AS _e FROM "
                          f"(SELECT {reading.select()} FROM {scan}))").fetchall()[0]
        counts = {"outside": int(row[1]), "missing": int(row[2])}
        odd = int(row[3])
    if odd:
        values = con.execute(f"SELECT _t, count(*) FROM (SELECT *, {reading.number()} AS _e FROM (SELECT {reading.text} AS _t FROM {scan})) "
                             "WHERE _e IS NULL AND _t <> '' GROUP BY 1").fetchall()
        # stripped as load_cohort strips text when it reads it (all white space, not only what SQL trims)
        numbers, blank = number_verdicts(pd.Series([str(v).strip() for v, _ in values], dtype=object))
        reading.odd = {str(v): None if b else float(x) for (v, _), x, b in zip(values, numbers, blank)}
        by_value = dict(values)
        counts["missing"] += sum(by_value[t] for t, x in reading.odd.items() if x is None)
        counts["not_number"] = sum(by_value[t] for t, x in reading.odd.items() if x is not None and np.isnan(x))
        counts["outside"] += sum(by_value[t] for t, x in reading.odd.items() if x is not None and _outside(x))
    pending = [_Pending(kind, "expected", counts[kind]) for kind in ("not_number", "outside", "missing") if counts.get(kind)]
    sums_again = any(x is not None and 0 <= x <= 1 for x in reading.odd.values())  # NaN compares false
    return reading, pending, sums_again


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
        ``[columns]`` renames and ``[values]`` recodes are applied as
        :func:`analysis.load_cohort` applies them.
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
        the flags (``int8``; nullable ``Int8`` under ``"keep"``) and the
        study's ``[impact]`` treatment if it names one (``int8``, nullable
        ``Int8`` when some are not recorded, as :func:`analysis.load_cohort`
        types it), sorted by them, with ``n`` (people), ``reoffended``
        (people who reoffended) and, when the extract supplies ``expected``,
        ``expected_sum`` and ``expected_variance_sum`` (the sums of the expected
        probabilities and of their ``p(1-p)``). ``attrs``:
        ``source``, ``flags``, ``missing_flags``, ``not_recorded`` (per
        flag), ``treatment`` (its column, or None), ``rows``, ``columns`` (of
        the file) and ``engine``.

    Raises
    ------
    CohortError
        Every problem found, at once (the cells' columns, ``reoffences``,
        ``person_id``, the ``[kpi]`` date, the ``[impact]`` treatment and
        ``[model]``),
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
    # Parquet's min and max leave NaN out, and DuckDB's statistics propagation takes them for the whole
    # column: isnan(x) is folded to false, and a NaN expected probability passed as valid
    con.execute("SET disabled_optimizers = 'statistics_propagation'")
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
    scan = _source(path, spec, row_numbers=False)
    file_types = {str(row[0]): str(row[1]) for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
    renames = {str(k): str(v) for k, v in spec.columns.items()}
    renamed = rename_problems(renames, pd.Index(list(file_types)))
    problems: list[Problem | _Pending] = list(renamed)
    if any(" renamed " in p.message for p in renamed):  # two columns onto one name: there is no mapping to validate
        raise CohortError(source, renamed)
    origin = {renames.get(name, name): name for name in file_types}  # study name -> file column
    problems.extend(_mapping_problems(origin, spec))
    flags = flags_in(list(origin), extra=spec.extra_flags)
    categorical = [c for c in CATEGORICAL if c in origin]
    date, treatment, date_problems, treatment_problems = _named_columns(spec, origin, flags)
    binary = [c for c in (OUTCOME, *flags) if c in origin] + ([treatment] if treatment else [])
    keys = list(dict.fromkeys([*categorical, *binary]))

    reading = _expected_reading(path, spec, origin, file_types) if "expected" in origin else None
    dates_pending, kpi_periods = _date_pending(con, scan, spec, origin, date) if date is not None else ([], None)
    if kpi_periods is not None:  # each distinct date's KPI period, joined in the scan: people are counted by period, not date
        con.register("_kpi_map", kpi_periods[0])
    kpi_date = origin[date] if date is not None and kpi_periods is not None else None
    groups, raw, n = _distinct_groups(con, scan, origin, keys, reading, kpi_date=kpi_date)
    expected_problems: list[_Pending] = []
    if reading is not None:
        reading, expected_problems, sums_again = _expected_pending(con, scan, reading, groups, path, spec, origin, file_types)
        if sums_again:  # odd text that is a probability after all: the sums again, with its value
            groups, raw, n = _distinct_groups(con, scan, origin, keys, reading, kpi_date=kpi_date)
    if not n.sum():  # as read_extract says it, before any validation
        csv = path.suffix.lower() in {".csv", ".txt", ".tsv"}
        raise CohortError(source, [Problem("(file)", "the file has a header but no data rows" if csv else "the file has no data rows",
                                           fix="export the extract again with its rows")])
    typed = recode_distinct(raw, spec.values)
    verdicts = {c: binary_verdicts(typed[c]) for c in binary}
    categories = {c: categorical_column(typed[c], c).reset_index(drop=True) for c in categorical}

    def pending(kind: str, column: str, mask: np.ndarray) -> None:
        problems.append(_Pending(kind, column, int(n[mask].sum()), [groups.column(keys.index(column))], mask))

    for column in [c for c in (OUTCOME, *flags) if c in verdicts]:
        if (verdicts[column] == VERDICT_OTHER).any():
            pending("not_binary", column, verdicts[column] == VERDICT_OTHER)
        if (column == OUTCOME or policy == "error") and (verdicts[column] == VERDICT_MISSING).any():
            pending("binary_missing", column, verdicts[column] == VERDICT_MISSING)
    for column in categorical:
        if categories[column].isna().any():
            pending("category_missing", column, categories[column].isna().to_numpy())
    problems.extend(expected_problems)
    problems.extend(_reoffences_pending(con, scan, spec, origin))
    problems.extend(_person_pending(con, scan, spec, origin, file_types))
    problems.extend(date_problems)
    problems.extend(dates_pending)
    problems.extend(treatment_problems)
    if treatment is not None and (verdicts[treatment] == VERDICT_OTHER).any():
        pending("not_binary", treatment, verdicts[treatment] == VERDICT_OTHER)
    problems.extend(_model_pending(con, scan, spec, origin, file_types, flags, verdicts, groups, keys, n, policy))
    if problems:
        raise CohortError(source, _resolved(con, path, spec, origin, reading, problems))

    kpi = None if kpi_periods is None else pd.Categorical.from_codes(  # type: ignore[call-overload]  # pandas-stubs: codes as ndarray
        np.asarray(groups.column("_kpi").to_numpy(zero_copy_only=False), dtype=np.int64), categories=kpi_periods[1])
    out = _typed_cells(categories, verdicts, n, groups, flags, treatment, policy, spec, kpi_period=kpi)
    out.attrs.update({"source": source, "flags": list(flags), "missing_flags": policy,
                      "not_recorded": {f: int(n[verdicts[f] == VERDICT_MISSING].sum()) for f in flags},
                      "treatment": treatment, "rows": int(n.sum()), "columns": len(file_types),
                      "engine": f"duckdb {_version()}"})
    if kpi_periods is not None:
        out.attrs["kpi_freq"] = spec.kpi.freq if spec.kpi is not None else None
    return out.reset_index(drop=True)


@dataclass
class _Pending:
    """A problem found in the counts, waiting for its first row numbers and examples (a scan of the file).

    ``values``: the raw values of the columns ``sources`` (default: the
    problem's column), one per group of distinct values, and ``mask`` the
    groups at fault; or ``select`` (an SQL select list over the file's
    columns) and ``condition`` (SQL over it) saying which rows are at fault;
    or, for ``expected`` (checked row by row in SQL), none of them.
    ``key``: the ``[model]`` key of a model column's problem.
    """

    kind: str
    column: str
    count: int
    values: list[Any] | None = None
    mask: np.ndarray | None = None
    sources: tuple[str, ...] | None = None
    select: str | None = None
    condition: str | None = None
    key: str = ""


def _mapping_problems(origin: dict[str, str], spec: Study) -> list[Problem]:
    """What is wrong with the study's mapping of the file's columns (recodes, ages, the structure)."""
    problems: list[Problem] = []
    for column in spec.values:
        if column not in origin:
            problems.append(Problem(column, "the study recodes a column that is not in the data",
                                    fix=f"rename a column to '{column}' in [columns], or remove [values.{column}]"))
    if "age" in origin and "age_band" not in origin:
        problems.append(Problem("age", "the out-of-core path does not band ages yet",
                                fix="supply an age_band column in the extract, or read an extract that fits in memory with analysis.load_cohort"))
    problems.extend(structure_problems(list(origin), spec))
    return problems


def _named_columns(spec: Study, origin: dict[str, str], flags: list[str]) -> tuple[str | None, str | None, list[Problem], list[Problem]]:
    """The ``[kpi] date`` and ``[impact] treatment`` columns, each None when absent or unusable, and the problems saying why."""
    have = columns_held(list(origin))
    date = spec.kpi.date if spec.kpi is not None else None
    date_problems: list[Problem] = []
    if date is not None and date not in origin:
        date_problems.append(date_absent_problem(date, have))
        date = None
    treatment = spec.impact.treatment if spec.impact is not None else None
    treatment_problems: list[Problem] = []
    if treatment is not None and treatment not in origin:
        treatment_problems.append(treatment_absent_problem(treatment, have))
        treatment = None
    elif treatment is not None and treatment in (OUTCOME, *flags):
        treatment_problems.append(treatment_not_own_column_problem(treatment))
        treatment = None
    return date, treatment, date_problems, treatment_problems


def _distinct_groups(con: Any, scan: str, origin: dict[str, str], keys: list[str],
                     reading: _ExpectedReading | None, *, kpi_date: str | None = None) -> tuple[Any, pd.DataFrame, np.ndarray]:
    """One scan: the people in each combination of the key columns' raw values (and the expected probabilities' sums and checks).

    The raw values are grouped as the file stores them, with no per-row
    conversion; each distinct value is then judged once, in Python, by the
    functions :func:`analysis.load_cohort` uses. Returns the Arrow table of
    groups, its key columns as :func:`analysis.load_cohort` reads them
    (named by the study) and the people in each group. With ``kpi_date`` (the
    file's ``[kpi] date`` column), each row's KPI period code is joined from
    the registered table ``_kpi_map`` (``_d``, ``_kpi``) and is a key ``_kpi``
    too (-1 without a date).
    """
    names = [f"_k{i}" for i in range(len(keys))]
    inner = [f"{_quote(origin[k])} AS {name}" for k, name in zip(keys, names)]
    aggregates = ["count(*) AS _n"]
    middle = "*"
    if reading is not None:
        inner.append(reading.select())
        middle = f"*, {reading.number()} AS _e"
        aggregates += reading.aggregates()
    rows = f"(SELECT {', '.join(inner) or '1 AS _one'} FROM {scan})"
    grouped = list(names)
    if kpi_date is not None:
        inner.append(f"{_quote(kpi_date)} AS _d")
        rows = (f"(SELECT _s.* EXCLUDE (_d), coalesce(_m._kpi, -1) AS _kpi FROM (SELECT {', '.join(inner)} FROM {scan}) AS _s "
                "LEFT JOIN _kpi_map AS _m ON _s._d = _m._d)")
        grouped.append("_kpi")
    group = f" GROUP BY {', '.join(grouped)}" if grouped else ""
    query = f"SELECT {', '.join(grouped + aggregates)} FROM (SELECT {middle} FROM {rows}){group}"
    groups = con.sql(query).to_arrow_table()
    raw = frame_from_arrow(groups.select(names).rename_columns(keys))
    return groups, raw, np.asarray(groups.column("_n").to_numpy(), dtype=np.int64)


def _date_pending(con: Any, scan: str, spec: Study, origin: dict[str, str], date: str) -> tuple[list[_Pending], tuple[Any, list[str]] | None]:
    """The ``[kpi] date`` column checked once per distinct value (a scan of that column alone).

    Returns the problems and, when there are none, each distinct value's KPI
    period: an Arrow table (``_d``, the value as the file holds it; ``_kpi``,
    the period's code, -1 without a date) and the periods' labels in time order.
    """
    table = con.sql(f"SELECT {_quote(origin[date])} AS _d, count(*) AS _n FROM {scan} GROUP BY 1").to_arrow_table()
    values = recode_distinct(frame_from_arrow(table.select(["_d"]).rename_columns([date])), spec.values, typed=False)[date]
    parsed, bad = date_verdicts(values)
    if bad.any():
        n = np.asarray(table.column("_n").to_numpy(), dtype=np.int64)
        return [_Pending("date", date, int(n[bad].sum()), [table.column("_d")], bad)], None
    import pyarrow as pa

    codes, periods = date_period_codes(pd.to_datetime(parsed), spec.kpi.freq if spec.kpi is not None else "Q")
    mapping = pa.table({"_d": table.column("_d"), "_kpi": pa.array(np.asarray(codes, dtype=np.int64))})
    return [], (mapping, [str(p) for p in periods])


def _reoffences_pending(con: Any, scan: str, spec: Study, origin: dict[str, str]) -> list[_Pending]:
    """``reoffences`` checked once per distinct pair of its value and the outcome's (a scan of the two columns)."""
    if "reoffences" not in origin:
        return []
    columns = ["reoffences"] + ([OUTCOME] if OUTCOME in origin else [])
    names = [f"_k{i}" for i in range(len(columns))]
    inner = ", ".join(f"{_quote(origin[c])} AS {k}" for c, k in zip(columns, names))
    table = con.sql(f"SELECT {', '.join(names)}, count(*) AS _n FROM (SELECT {inner} FROM {scan}) GROUP BY ALL").to_arrow_table()
    typed = recode_distinct(frame_from_arrow(table.select(names).rename_columns(columns)), spec.values)
    n = np.asarray(table.column("_n").to_numpy(), dtype=np.int64)
    counts, missing = number_verdicts(typed["reoffences"])
    with np.errstate(invalid="ignore"):
        bad = ~missing & (np.isnan(counts) | (counts < 0) | (counts % 1 != 0))
    if bad.any():
        return [_Pending("not_count", "reoffences", int(n[bad].sum()), [table.column("_k0")], bad)]
    if OUTCOME not in typed:
        return []
    verdict = binary_verdicts(typed[OUTCOME])
    y = np.where(verdict == VERDICT_ONE, 1.0, np.where(verdict == VERDICT_ZERO, 0.0, np.nan))
    disagrees = ~np.isnan(counts) & ~np.isnan(y) & ((counts > 0) != (y == 1))
    if not disagrees.any():
        return []
    return [_Pending("disagrees", "reoffences", int(n[disagrees].sum()), [table.column("_k0"), table.column("_k1")], disagrees,
                     sources=("reoffences", OUTCOME))]


def _person_sql(spec: Study, origin: dict[str, str], file_types: dict[str, str]) -> tuple[str, str]:
    """SQL select list of a person's id (``_p``, as text) and period (``_q``, as text, '' when missing), and the rows that repeat one."""
    def text(column: str) -> str:
        sql = _text_sql(origin[column], file_types[origin[column]])
        return _recode_sql(sql, spec.values[column]) if column in spec.values else sql

    select = f"{text('person_id')} AS _p, " + (f"coalesce({text('period')}, '') AS _q" if "period" in origin else "'' AS _q")
    twice = f"(_p, _q) IN (SELECT _p, _q FROM (SELECT {select} FROM {{scan}}) WHERE _p <> '' GROUP BY ALL HAVING count(*) > 1)"
    return select, twice


def _person_pending(con: Any, scan: str, spec: Study, origin: dict[str, str], file_types: dict[str, str]) -> list[_Pending]:
    """People who appear more than once in a period (a scan grouping the ids: as costly as the ids are many)."""
    if "person_id" not in origin:
        return []
    select, twice = _person_sql(spec, origin, file_types)
    count = con.execute(f"SELECT coalesce(sum(c), 0) FROM (SELECT count(*) AS c FROM (SELECT {select} FROM {scan}) WHERE _p <> '' "
                        "GROUP BY _p, _q HAVING count(*) > 1)").fetchall()[0][0]
    if not count:
        return []
    return [_Pending("person_twice", "person_id, period", int(count), select=select, condition=twice.format(scan=scan))]


def _model_pending(con: Any, scan: str, spec: Study, origin: dict[str, str], file_types: dict[str, str], flags: list[str],
                   verdicts: dict[str, np.ndarray], groups: Any, keys: list[str], n: np.ndarray, policy: str) -> list[Problem | _Pending]:
    """The study's ``[model]`` against the data's columns, as :func:`analysis.load_cohort` checks it."""
    columns = list(origin) + ([] if "period" in origin else ["period"])

    def column_problems(name: str, key: str) -> list[Problem | _Pending]:
        if name in verdicts:  # 0/1, nullable where missing or not 0/1 (flags under "absent" are 0 there)
            unknown = verdicts[name] >= VERDICT_MISSING
            if (name in flags and policy == "absent") or not unknown.any():
                return []
            return [_Pending("model_missing", name, int(n[unknown].sum()), [groups.column(keys.index(name))], unknown, key=key)]
        if name in CATEGORICAL or name in ("expected", "reoffences"):
            return []  # categories; numbers checked above (not yet re-counted for [model])
        if name == "person_id":
            return [model_column_kind_problem(name, key)]
        return _other_column_problems(con, scan, spec, origin, file_types, name, key)

    # model_problems passes on what column_problems gives, _Pending included (its annotation says Problem only)
    return cast(list[Problem | _Pending], model_problems(columns, flags, spec, column_problems))


def _other_column_problems(con: Any, scan: str, spec: Study, origin: dict[str, str], file_types: dict[str, str], name: str,
                           key: str) -> list[Problem | _Pending]:
    """A column outside the cells that ``[model]`` names: numbers (every value, as :func:`analysis.load_cohort` reads them), none missing."""
    column, dtype = origin[name], file_types[origin[name]].upper()
    if name not in spec.values and (dtype in _NUMERIC_TYPES and dtype != "BOOLEAN" or dtype.startswith("DECIMAL")):
        x = f"CAST({_quote(column)} AS DOUBLE)"
        missing = f"({x} IS NULL OR isnan({x}))"
    elif name not in spec.values and dtype not in ("VARCHAR",):
        return [model_column_kind_problem(name, key)]  # dates, booleans: not numbers
    else:
        text = _text_sql(column, file_types[column])
        text = _recode_sql(text, spec.values[name]) if name in spec.values else text
        odd = con.execute(f"SELECT DISTINCT _t FROM (SELECT {text} AS _t FROM {scan}) WHERE _t <> '' AND "
                          f"NOT regexp_full_match(_t, {_literal(_NUMBER)}) LIMIT {_EXAMPLE_VALUES}").fetchall()
        numbers, blank = number_verdicts(pd.Series([str(v).strip() for (v,) in odd], dtype=object))
        if (np.isnan(numbers) & ~blank).any():
            return [model_column_kind_problem(name, key)]
        blanks = [_literal(v) for (v,), b in zip(odd, blank) if b]
        missing = f"({text} IS NULL OR {text} = ''{' OR ' + text + ' IN (' + ', '.join(blanks) + ')' if blanks else ''})"
    count = con.execute(f"SELECT count(*) FROM {scan} WHERE {missing}").fetchall()[0][0]
    return [_Pending("model_missing", name, int(count), select=f"{missing} AS _hit", condition="_hit", key=key)] if count else []


def _typed_cells(categories: dict[str, pd.Series], verdicts: dict[str, np.ndarray], n: np.ndarray, groups: Any, flags: list[str],
                 treatment: str | None, policy: str, spec: Study, *, kpi_period: pd.Categorical | None = None) -> pd.DataFrame:
    """The validated groups typed as the in-memory cohort is (categories, flags as 0/1), merged into cells."""
    out = pd.DataFrame(categories, index=pd.RangeIndex(len(n)))
    if "period" not in categories:
        out.insert(0, "period", pd.Categorical([spec.period or "All people"] * len(n)))  # type: ignore[arg-type]  # pandas-stubs: insert takes a Categorical
    for flag in flags:
        verdict = verdicts[flag]
        missing = verdict == VERDICT_MISSING
        if policy == "keep":
            out[flag] = pd.arrays.IntegerArray(np.where(missing, 0, verdict).astype(np.int8), missing)
        else:
            out[flag] = np.where(missing, 0, verdict).astype(np.int8)
    if treatment is not None:
        missing = verdicts[treatment] == VERDICT_MISSING
        out[treatment] = pd.arrays.IntegerArray(np.where(missing, 0, verdicts[treatment]).astype(np.int8), missing)
    if kpi_period is not None:
        out["kpi_period"] = kpi_period
    out["n"] = n
    out["reoffended"] = np.where(verdicts[OUTCOME] == VERDICT_ONE, n, 0)
    if "_expected_sum" in groups.column_names:
        out["expected_sum"] = np.asarray(groups.column("_expected_sum").to_numpy(zero_copy_only=False), dtype=float)
        out["expected_variance_sum"] = np.asarray(groups.column("_expected_variance_sum").to_numpy(zero_copy_only=False), dtype=float)
    keys_out = [c for c in out.columns if c not in ("n", "reoffended", "expected_sum", "expected_variance_sum")]
    if keys_out:
        out = out.groupby(keys_out, observed=True, sort=True, dropna=False, as_index=False).sum()
    if treatment is not None and not out[treatment].isna().any():
        out[treatment] = out[treatment].astype("int8")  # as load_cohort types a treatment recorded for everyone
    return out


def _version() -> str:
    import duckdb

    return str(duckdb.__version__)


def _resolved(con: Any, path: Path, spec: Study, origin: dict[str, str], reading: _ExpectedReading | None,
              found: list[Problem | _Pending]) -> list[Problem]:
    """The problems, those found in the counts given their first row numbers and values (a scan of the file for each)."""
    parquet = path.suffix.lower() in {".parquet", ".pq"}
    con.execute("SET threads = 1")  # rows in file order for a CSV
    con.execute("SET preserve_insertion_order = true")
    row = "file_row_number + 1" if parquet else "row_number() OVER ()"
    scan = _source(path, spec, row_numbers=parquet)
    out: list[Problem] = []
    for item in found:
        if isinstance(item, Problem):
            out.append(item)
            continue
        if item.values is None and item.select is None and reading is not None:  # expected, judged row by row in SQL
            rows_source = (f"(SELECT *, {reading.number()} AS _e FROM (SELECT {reading.text} AS _t, {reading.example} AS _x, "
                           f"{row} AS _row FROM {scan}))")
            condition = reading.condition(item.kind)
            rows = _first_rows(con, rows_source, condition)
            examples = () if item.kind == "missing" else tuple(dict.fromkeys(str(r[0]).strip() for r in con.execute(
                f"SELECT _x, min(_row) AS first FROM {rows_source} WHERE {condition} GROUP BY 1 ORDER BY first "
                f"LIMIT {_EXAMPLE_VALUES}").fetchall()))[:MAX_EXAMPLES]
            out.append(expected_problem(item.kind, item.count, rows, examples=examples))
            continue
        if item.select is not None:
            rows_source, condition = f"(SELECT {item.select}, {row} AS _row FROM {scan})", cast(str, item.condition)  # given with select
        else:
            sources = item.sources or (item.column,)
            select = ", ".join(f"{_quote(origin[c])} AS _v{i}" for i, c in enumerate(sources))
            assert item.values is not None and item.mask is not None  # without select, a _Pending holds the groups at fault
            rows_source, condition = f"(SELECT {select}, {row} AS _row FROM {scan})", _among(con, item.values, item.mask)
        out.append(_problem(con, item, rows_source, condition, spec))
    return out


def _problem(con: Any, item: _Pending, rows_source: str, condition: str, spec: Study) -> Problem:
    """A problem found in the counts, in load_cohort's words, with its first rows (and examples) from ``rows_source``."""
    rows = _first_rows(con, rows_source, condition)
    if item.kind == "binary_missing":
        return binary_missing_problem(item.column, item.count, rows)
    if item.kind == "category_missing":
        return category_missing_problem(item.column, item.count, rows)
    if item.kind == "disagrees":
        return reoffences_problem("disagrees", item.count, rows)
    if item.kind == "model_missing":
        return model_column_missing_problem(item.column, item.key, item.count, rows)
    if item.kind == "person_twice":
        examples = tuple(str(r[0]) for r in con.execute(
            f"SELECT _p, min(_row) FROM {rows_source} WHERE {condition} GROUP BY 1 ORDER BY 2 LIMIT {MAX_EXAMPLES}").fetchall())
        return person_twice_problem(item.count, rows, examples)
    examples = _value_examples(con, rows_source, condition, item.column, spec, typed=item.kind != "date")
    if item.kind == "not_count":
        return reoffences_problem("not_count", item.count, rows, examples=examples)
    return (date_problem if item.kind == "date" else not_binary_problem)(item.column, item.count, rows, examples)


def _among(con: Any, values: list[Any], mask: np.ndarray) -> str:
    """SQL true for a row whose raw values ``_v0``, ``_v1``... are those of a group at ``mask`` (registered with DuckDB as a small table)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(values) > 1:  # several columns: the groups' combinations, missing matching missing
        con.register("_bad_values", pa.table({f"v{i}": v.filter(pa.array(mask)) for i, v in enumerate(values)}))
        same = " AND ".join(f"b.v{i} IS NOT DISTINCT FROM _v{i}" for i in range(len(values)))
        return f"EXISTS (SELECT 1 FROM _bad_values b WHERE {same})"
    chosen = pc.unique(values[0].filter(pa.array(mask)).combine_chunks())
    parts = []
    if chosen.null_count < len(chosen):
        con.register("_bad_values", pa.table({"v": chosen.drop_null()}))
        parts.append("_v0 IN (SELECT v FROM _bad_values)")
    if chosen.null_count:
        parts.append("_v0 IS NULL")
    return "(" + " OR ".join(parts) + ")"


def _first_rows(con: Any, rows_source: str, condition: str) -> tuple[int, ...]:
    """The first row numbers (1-based, in file order) where ``condition`` holds."""
    return tuple(int(r[0]) for r in con.execute(
        f"SELECT _row FROM {rows_source} WHERE {condition} ORDER BY _row LIMIT {MAX_EXAMPLES}").fetchall())


def _value_examples(con: Any, rows_source: str, condition: str, column: str, spec: Study, *, typed: bool) -> tuple[str, ...]:
    """A problem's examples: the first distinct values at fault, recoded and as text, as :func:`analysis.load_cohort` shows them."""
    first = con.sql(f"SELECT _v0, min(_row) AS _first FROM {rows_source} WHERE {condition} GROUP BY 1 ORDER BY 2 "
                    f"LIMIT {_EXAMPLE_VALUES}").to_arrow_table()
    values = recode_distinct(frame_from_arrow(first.select(["_v0"]).rename_columns([column])), spec.values, typed=typed)[column]
    return value_examples(values, np.ones(len(values), dtype=bool))


_EXAMPLE_VALUES = 1000
"""How many distinct raw values at fault are read for a problem's examples (several may read as one text)."""


# --------------------------------------------------------------------------- a study read out of core

BYTES_PER_ROW_IN_MEMORY = 400
"""Peak bytes per row of reading, validating and reporting an extract in memory (``bench/README.md``: about 1.5 GiB
at 5M rows in one process, with two papers running at once); :func:`fits_in_memory` judges by it."""


def extract_rows(path: str | Path) -> int:
    """The rows of a Parquet or CSV extract: exact for Parquet (its metadata), estimated for CSV (from the first MiB's lines).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> csv = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = csv.write_text("a,b\\n" + "1,2\\n" * 1000)
    >>> extract_rows(csv)
    1000
    """
    path = Path(path)
    files = sorted(glob.glob(str(path))) if _is_pattern(path) else [str(path)]
    total = 0
    for name in files:
        file = Path(name)
        if file.suffix.lower() in {".parquet", ".pq"}:
            import pyarrow.parquet as pq

            total += int(pq.ParquetFile(file).metadata.num_rows)
            continue
        size = file.stat().st_size
        with file.open("rb") as handle:
            head = handle.read(1 << 20)
        lines = head.count(b"\n")
        if size <= len(head):
            total += max(lines - 1 + (0 if head.endswith(b"\n") else 1), 0)
        else:
            header = head.find(b"\n") + 1
            total += int(round((size - header) / max((len(head) - header) / max(lines - 1, 1), 1.0)))
    return total


def available_memory() -> int:
    """Bytes of memory available to new work on this machine (``MemAvailable``; the total where that is not known).

    Examples
    --------
    >>> available_memory() > 0
    True
    """
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def fits_in_memory(path: str | Path, *, available: int | None = None) -> bool:
    """Whether an extract can be read and reported in memory here: its rows x :data:`BYTES_PER_ROW_IN_MEMORY` within half the memory available.

    Excel workbooks always are (they are read in memory, and no sheet is that large).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> csv = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = csv.write_text("a,b\\n" + "1,2\\n" * 1000)
    >>> fits_in_memory(csv, available=10**9), fits_in_memory(csv, available=10**5)
    (True, False)
    """
    path = Path(path)
    if path.suffix.lower() not in {".parquet", ".pq", ".csv", ".txt", ".tsv"}:
        return True
    free = available_memory() if available is None else available
    return extract_rows(path) * BYTES_PER_ROW_IN_MEMORY <= free / 2


def open_study_cells(
    study: str | Path | Study | Mapping[str, Any] | None,
    cohort: str | Path | None = None,
    *,
    memory_limit: str = "1GB",
    threads: int = 2,
    temp_directory: str | Path | None = None,
) -> StudyData:
    """A study whose extract is read out of core: the people counted in cells by DuckDB, ready for :func:`analysis.analyse`.

    What :func:`analysis.open_study` gives for an extract that fits in memory,
    with the cohort as cells (``trials = "n"``; see :mod:`analysis.cells`),
    validated with the same checks and words (:func:`cohort_cells`). The
    results, and papers 01 to 06, are those of the people (docs/methods.md,
    "Cells of people"). Supplied ``expected`` probabilities become each cell's
    mean and mean ``p(1-p)``.

    Raises
    ------
    CohortError
        Every problem with the extract, as :func:`cohort_cells` finds them, or a
        ``[model]`` column that is not a category, a flag or the period (a
        numeric case-mix column is not aggregated out of core yet).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"reoffended": [1, 0, 1], "dv": [1, 1, 0], "sex": ["Male", "Male", "Female"]}).to_parquet(folder / "x.parquet")
    >>> data = open_study_cells(None, folder / "x.parquet")
    >>> data.trials, data.cohort[["sex", "dv", "n", "reoffended"]].values.tolist()
    ('n', [['Male', 1, 2, 1], ['Female', 0, 1, 1]])
    """
    from .cells import TRIALS
    from .cohort import DataQuality
    from .reading import ReadInfo

    spec = _study(study)
    path = extract_path(spec, cohort)
    cells = cohort_cells(path, spec, memory_limit=memory_limit, threads=threads, temp_directory=temp_directory)
    covariates = list(spec.impact.covariates or ()) if spec.impact is not None else []
    model_columns = [part.strip() for term in [*(spec.adjust or ()), *(spec.expected_casemix or ()), *spec.interactions, *covariates]
                     for part in str(term).split(":")]
    absent = [c for c in dict.fromkeys(model_columns) if c not in cells.columns and c not in (OUTCOME, "expected")]
    if absent:
        raise CohortError(str(path), [Problem(
            "[model]", f"the out-of-core path counts people by categories, flags and the period; {', '.join(absent)} "
            f"{'is' if len(absent) == 1 else 'are'} not one of them",
            fix="band a numeric case-mix column into categories when the extract is exported, or leave it out of [model] "
                "(and [impact] covariates)")])
    if "expected_sum" in cells.columns:
        cells["expected"] = cells["expected_sum"] / cells[TRIALS]
        cells["expected_variance"] = cells["expected_variance_sum"] / cells[TRIALS]
        cells = cells.drop(columns=["expected_sum", "expected_variance_sum"])
    rows = int(cells.attrs.get("rows", int(cells[TRIALS].sum())))
    csv = path.suffix.lower() in {".csv", ".txt", ".tsv"}
    read = ReadInfo(str(path), "csv" if csv else "parquet", encoding="utf-8" if csv else None,
                    delimiter=_delimiter(path, spec) if csv and not _is_pattern(path) else None, rows=rows,
                    columns=int(cells.attrs.get("columns", 0)))
    quality = DataQuality(source=str(path), read=read, rows_read=rows, rows_kept=rows,
                          not_recorded=dict(cells.attrs.get("not_recorded", {})),
                          missing_flags=str(cells.attrs.get("missing_flags", spec.missing_flags)),
                          period_supplied=spec.period is None, out_of_core=True)
    return StudyData(spec, cells, quality, trials=TRIALS)
