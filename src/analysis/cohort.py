"""Read, map and validate a case-level extract: the only way data enters the analyses.

:func:`open_study` reads an extract (CSV, Excel or Parquet, see
:mod:`analysis.reading`) with its study file (:mod:`analysis.study`):
``[derive]`` builds columns from expressions over the file's own columns,
``[columns]`` renames, ``[values]`` recodes, ``[filter]`` keeps rows, and the
result is validated against the open schema. Every problem found is reported
at once, as one :class:`~analysis.errors.CohortError`; nothing is partly loaded.
:func:`load_cohort` returns just the validated frame.

The open schema
---------------
* Required: the 0/1 outcome ``reoffended`` and at least one 0/1 flag (one of
  the six in :data:`analysis.schema.FLAGS`, or one declared in ``[flags]``).
* Optional: ``area``, ``sex``, ``age_band`` (or ``age`` in years, banded by
  the study's ``age_bands``), ``offence_group``, ``period`` (when absent, one
  period labelled by the study), ``expected`` (a probability), ``reoffences``,
  ``person_id``, and any other column, which is kept: numeric text becomes
  numbers, so a risk score can enter the model.
* Categories keep the extract's labels; age bands sort by their first number,
  everything else naturally ("2" before "10").

Examples
--------
>>> from analysis import load_cohort
>>> cohort = load_cohort("data/synthetic/cohort.csv")  # doctest: +SKIP
>>> cohort["reoffended"].mean()  # doctest: +SKIP
0.42...
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import CohortError, Problem
from .expressions import ALLOWED, ExpressionError, evaluate_column, evaluate_mask
from .periods import levels_present
from .reading import ReadInfo, read_extract
from .schema import (
    CATEGORICAL,
    CATEGORIES,
    FLAGS,
    MISSING_FLAG_POLICIES,
    OUTCOME,
    flags_in,
    ordered_levels,
)
from .study import Study, read_study, study_from_dict, study_from_mapping

__all__ = [
    "CohortError",
    "Problem",
    "StudyData",
    "DataQuality",
    "load_cohort",
    "open_study",
    "extract_path",
    "validate_cohort",
    "read_mapping",
    "age_bands_from_edges",
    "not_binary_problem",
    "binary_missing_problem",
    "category_missing_problem",
    "expected_problem",
    "structure_problems",
    "date_problem",
    "date_absent_problem",
    "treatment_absent_problem",
    "treatment_not_own_column_problem",
    "reoffences_problem",
    "person_twice_problem",
    "model_problems",
    "model_column_kind_problem",
    "model_column_missing_problem",
    "rename_problems",
    "columns_held",
    "recode_distinct",
    "binary_verdicts",
    "categorical_column",
    "date_verdicts",
    "number_verdicts",
    "value_examples",
    "VERDICT_ONE",
    "VERDICT_ZERO",
    "VERDICT_MISSING",
    "VERDICT_OTHER",
    "MAX_EXAMPLES",
]

MAX_EXAMPLES = 5
"""How many row numbers and example values a problem shows."""
_TRUE_WORDS = {"1", "1.0", "true"}
_FALSE_WORDS = {"0", "0.0", "false"}
_RESOLVED = "analysis-resolved-study"
_OPTIONAL_ORDER = (*CATEGORICAL, "age", "expected", "reoffences", "person_id")


# --------------------------------------------------------------------------- small helpers


def _text(value: Any) -> str:
    """The string form used for recoding: integral floats lose their '.0'."""
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _is_missing(series: pd.Series) -> pd.Series:
    missing = series.isna()
    if isinstance(series.dtype, pd.CategoricalDtype):
        blank = np.array([str(c).strip() == "" for c in series.cat.categories] + [False])
        missing |= blank[series.cat.codes.to_numpy()]
    elif series.dtype == object or pd.api.types.is_string_dtype(series):
        missing |= series.astype("string").str.strip().fillna("").eq("")
    return missing.astype(bool)


def _by_value(series: pd.Series, func) -> np.ndarray:
    """``func`` applied to each distinct non-missing value once, spread back to every row (missing -> None).

    Cohort columns hold a handful of distinct values in millions of rows, so
    this is what keeps validation fast on a national panel.
    """
    cat = series if isinstance(series.dtype, pd.CategoricalDtype) else series.astype("category")
    table = np.empty(len(cat.cat.categories) + 1, dtype=object)
    table[:-1] = [func(c) for c in cat.cat.categories]
    table[-1] = None
    return table[cat.cat.codes.to_numpy()]  # code -1 (missing) takes the last entry


def _rows(mask: pd.Series | np.ndarray) -> tuple[int, ...]:
    """1-based data-row numbers of the first few True entries (scanning only as far as they go)."""
    mask = np.asarray(mask, dtype=bool)
    found: list[int] = []
    step = 1 << 16
    for start in range(0, len(mask), step):
        hits = np.flatnonzero(mask[start:start + step])
        found.extend(int(p) + start + 1 for p in hits[:MAX_EXAMPLES - len(found)])
        if len(found) == MAX_EXAMPLES:
            break
    return tuple(found)


def _examples(series: pd.Series, mask: pd.Series | np.ndarray) -> tuple[str, ...]:
    """The first few distinct values (as text) of the rows in ``mask``, in row order."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return ()
    out: list[str] = []
    for v in pd.unique(series.array[mask]):  # each distinct value once, in order of first appearance
        t = _text(v)
        if t not in out:
            out.append(t)
        if len(out) == MAX_EXAMPLES:
            break
    return tuple(out)


def _distinct(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """The column as a code per row (-1: missing) and its distinct values: its categories, or factorized."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(), series.cat.categories
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes, pd.Index(uniques)


_PLAIN_ENDS = r"^[\x21-\x7e]([\s\S]*[\x21-\x7e])?$"
"""Text that starts and ends with a visible ASCII character: str.strip() leaves it as it is."""


def _texts(values: pd.Index) -> tuple[pd.Index, np.ndarray]:
    """:func:`_text` of each distinct value: the distinct texts and, for each value, the index of its text.

    Text that ``_text`` leaves unchanged (it starts and ends with a visible
    character) is recognised with one vectorised test, so a column of a
    million distinct identifiers is not taken through Python value by value.
    """
    if isinstance(values.dtype, pd.StringDtype) and len(values):
        import pyarrow as pa
        import pyarrow.compute as pc

        plain = pc.match_substring_regex(pa.array(values.array), _PLAIN_ENDS)
        if pc.all(plain).as_py():
            return values, np.arange(len(values))
    kind, size = values.dtype.kind, getattr(values.dtype, "itemsize", 8)
    if len(values) and (kind == "i" or (kind == "u" and size < 8)):
        # distinct whole numbers (e.g. numeric person ids) have distinct texts: written in one vectorised step
        return pd.Index(pd.array(values.to_numpy(dtype="int64"), dtype="Int64").astype("string")), np.arange(len(values))
    texts = pd.Index([_text(v) for v in values], dtype=object)
    ids, distinct = pd.factorize(texts)
    return pd.Index(distinct, dtype=object), ids


def _spread(table: np.ndarray, codes: np.ndarray, missing: Any) -> np.ndarray:
    """``table`` (one entry per distinct value) taken for every row; code -1 takes ``missing``."""
    return np.append(table, np.array([missing], dtype=table.dtype))[codes]


def _numbers(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The column as numbers (NaN where a value is not a number) and where it is missing (NaN or blank).

    Numbers stay as they are; anything else is parsed once per distinct value
    (as ``pd.to_numeric`` parses each row) and spread to the rows.
    """
    if pd.api.types.is_numeric_dtype(raw) and not isinstance(raw.dtype, pd.CategoricalDtype):
        return raw, raw.isna().to_numpy()  # what pd.to_numeric gives numbers, without its copy
    codes, uniques = _distinct(raw)
    parsed = pd.to_numeric(pd.Series(uniques.to_numpy(dtype=object), dtype=object), errors="coerce").to_numpy()
    blank = np.append(_blank(uniques), True)  # the last entry: missing values (code -1)
    if (codes == -1).any() or parsed.dtype.kind not in "iuf":
        parsed = np.append(parsed.astype(float), np.nan)  # missing rows are NaN, as pd.to_numeric makes them
    return pd.Series(parsed[codes], index=raw.index), blank[codes]


def _blank(values: pd.Index) -> np.ndarray:
    """Which distinct values are blank text (``str(v).strip() == ""``); text with visible ends is tested in one go."""
    blank = np.zeros(len(values), dtype=bool)
    check = np.ones(len(values), dtype=bool)
    if isinstance(values.dtype, pd.StringDtype) and len(values):
        import pyarrow as pa
        import pyarrow.compute as pc

        check = ~pc.match_substring_regex(pa.array(values.array), _PLAIN_ENDS).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(check).tolist():
        blank[i] = str(values[i]).strip() == ""
    return blank


def _text_column(texts: pd.Index, ids: np.ndarray, index: pd.Index) -> pd.Series:
    """The text of each row (missing where ``ids`` is -1), as pandas makes a column of Python strings (without making them)."""
    if not len(texts) or not (ids >= 0).any():
        return pd.Series(np.full(len(ids), None, dtype=object), index=index)
    dtype = pd.Index(["x"]).dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        values = pc.take(pa.array(texts.array if isinstance(texts.dtype, pd.StringDtype) else list(texts), type=pa.large_string()),
                         pa.array(ids, mask=ids < 0))
        return pd.Series(pd.array(values, dtype=dtype), index=index)
    return pd.Series(_spread(texts.to_numpy(dtype=object), ids, None), index=index)


def _small_codes(n: int) -> type:
    """The integer type pandas keeps the codes of ``n`` categories in."""
    from .reading import codes_dtype

    return codes_dtype(n)


def _numeric(series: pd.Series) -> pd.Series | None:
    """The column as numbers if every non-missing value is a number, else None."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return None
    if pd.api.types.is_numeric_dtype(series):
        return series
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = series.cat.categories
        text = categories.to_numpy(dtype=object) if isinstance(categories.dtype, pd.StringDtype) else [str(c) for c in categories]
        cats = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce")
        blank = _blank(categories)
        if (cats.isna().to_numpy() & ~blank).any():
            return None
        table = np.append(cats.to_numpy(dtype=float), np.nan)
        return pd.Series(table[series.cat.codes.to_numpy()], index=series.index, name=series.name)
    parsed = pd.to_numeric(series, errors="coerce")
    return parsed if parsed.notna().sum() == (~_is_missing(series)).sum() else None


def _numeric_view(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns that are entirely numeric text become numbers (for derive expressions)."""
    out = {}
    for col in frame.columns:
        parsed = _numeric(frame[col])
        out[col] = frame[col] if parsed is None else parsed
    return pd.DataFrame(out, index=frame.index)


def read_mapping(path: str | Path | None) -> dict[str, Any]:
    """Read a TOML mapping (or study) file as a plain structure; ``None`` gives an empty one.

    Kept for older code; :func:`analysis.study.read_study` returns the checked :class:`~analysis.study.Study`.

    Examples
    --------
    >>> from analysis.paths import EXAMPLES_DIR
    >>> m = read_mapping(EXAMPLES_DIR / "mapping.toml")   # the example mapping file
    >>> m["columns"]["NFA"], m["values"]["sex"], m["options"]
    ('homeless', {'M': 'Male', 'F': 'Female'}, {'missing_flags': 'absent'})
    >>> read_mapping(None)
    {}
    """
    return read_study(path).mapping() if path is not None else {}


def age_bands_from_edges(edges: tuple[int, ...] | list[int]) -> list[tuple[float, float, str]]:
    """Band labels from lower edges: ``[18, 21, 25]`` -> "18-20", "21-24", "25+" (and "under 18").

    Examples
    --------
    >>> [label for *_, label in age_bands_from_edges([18, 21, 25])]
    ['under 18', '18-20', '21-24', '25+']
    """
    edges = list(edges)
    bands: list[tuple[float, float, str]] = [(-np.inf, edges[0], f"under {edges[0]}")]
    for lo, hi in zip(edges, edges[1:]):
        bands.append((lo, hi, f"{lo}-{hi - 1}"))
    bands.append((edges[-1], np.inf, f"{edges[-1]}+"))
    return bands


# --------------------------------------------------------------------------- data quality


@dataclass
class DataQuality:
    """What happened between the file and the analysed cohort, for the paper's data-quality section."""

    source: str = ""
    read: ReadInfo | None = None
    rows_read: int = 0
    rows_kept: int = 0
    filter_expression: str | None = None
    blanks_recoded: dict[str, int] = field(default_factory=dict)
    not_recorded: dict[str, int] = field(default_factory=dict)
    missing_flags: str = "absent"
    derived: dict[str, str] = field(default_factory=dict)
    age_banded: bool = False
    period_supplied: bool = True
    out_of_core: bool = False

    @property
    def rows_dropped(self) -> int:
        """Rows removed by the study's ``[filter]``."""
        return self.rows_read - self.rows_kept

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "read"}
        out["read"] = self.read.to_dict() if self.read else None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataQuality:
        data = dict(data)
        read = data.pop("read", None)
        if read:
            fields: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in read.items()}
            read = ReadInfo(**fields)
        return cls(read=read, **data)


# --------------------------------------------------------------------------- expressions


def _derive(frame: pd.DataFrame, derive: Mapping[str, Any], problems: list[Problem]) -> dict[str, pd.Series]:
    """Evaluate each ``[derive]`` expression over the user's (unrenamed) columns.

    The expressions are the safe language of :mod:`analysis.expressions`: each is
    checked against its whitelist before anything is evaluated, and a refused or
    ill-typed expression becomes a :class:`Problem` for its target column.
    Conditions become 0/1 (missing where the condition is missing); numbers,
    text and dates keep their values; a bare constant fills the column.
    """
    derived: dict[str, pd.Series] = {}
    for target, expression in (derive or {}).items():
        if isinstance(expression, (bool, int, float)):  # TOML: unemployed = 0 is the constant 0
            expression = str(expression)
        if not isinstance(expression, str):
            problems.append(Problem(target, f"the derive expression {expression!r} is not text",
                                    fix="write the expression in quotes, e.g. unemployed = \"`Days Employed Pct` < 50\""))
            continue
        try:
            derived[target] = evaluate_column(expression, frame)
        except ExpressionError as exc:
            hint = exc.hint if exc.hint.endswith(("?", ".")) else exc.hint + "."
            problems.append(Problem(target, f"the derive expression {expression!r} {exc.message}", fix=f"{hint} {ALLOWED[0].upper()}{ALLOWED[1:]}"))
        except Exception as exc:  # never a traceback for a user's expression, even on a bug of ours
            problems.append(Problem(target, f"the derive expression {expression!r} could not be evaluated ({type(exc).__name__})",
                                    fix="simplify the expression; see docs/expressions.md"))
    return derived


def _filter(frame: pd.DataFrame, expression: str | None, problems: list[Problem]) -> np.ndarray | None:
    """The rows the study's ``[filter] keep`` expression keeps (None: keep all); rows where it is missing are dropped."""
    if not expression:
        return None
    try:
        return np.asarray(evaluate_mask(expression, frame), dtype=bool)
    except ExpressionError as exc:
        hint = exc.hint if exc.hint.endswith(("?", ".")) else exc.hint + "."
        problems.append(Problem("(filter)", f"the filter {expression!r} {exc.message}", fix=f"{hint} {ALLOWED[0].upper()}{ALLOWED[1:]}"))
    except Exception as exc:
        problems.append(Problem("(filter)", f"the filter {expression!r} could not be evaluated ({type(exc).__name__})",
                                fix="simplify the expression; see docs/expressions.md"))
    return None


# --------------------------------------------------------------------------- problems
# What each check says, in one place: validate_cohort (in memory) and analysis.outofcore (in SQL) report
# the same problems in the same words.


def not_binary_problem(column: str, n_rows: int, rows: tuple[int, ...], examples: tuple[str, ...]) -> Problem:
    """A 0/1 column (the outcome or a flag) holds other values.

    Examples
    --------
    >>> p = not_binary_problem("dv", 2, (3, 7), ("Y", "N"))
    >>> p.column, p.message, p.rows, p.fix
    ('dv', 'values are not 0/1', (3, 7), 'recode them in the study file, e.g. [values.dv] Y = 1 and N = 0')
    """
    return Problem(column, "values are not 0/1", n_rows, rows, examples,
                   f"recode them in the study file, e.g. [values.{column}] Y = 1 and N = 0")


def binary_missing_problem(column: str, n_rows: int, rows: tuple[int, ...]) -> Problem:
    """The outcome, or a flag under ``missing_flags = "error"``, is missing.

    Examples
    --------
    >>> binary_missing_problem("reoffended", 1, (4,)).message, binary_missing_problem("dv", 1, (4,)).message
    ('the outcome is missing', 'values are missing')
    """
    return Problem(
        column,
        "values are missing" if column != OUTCOME else "the outcome is missing",
        n_rows,
        rows,
        fix=(
            "every person needs an outcome (0/1); drop people whose follow-up is not complete, e.g. with [filter] keep"
            if column == OUTCOME
            else "record the flag, or set [options] missing_flags = \"absent\" (not recorded = 0) or \"keep\""
        ),
    )


def category_missing_problem(column: str, n_rows: int, rows: tuple[int, ...]) -> Problem:
    """A categorical column (area, sex, age band, offence group, period) has blanks.

    Examples
    --------
    >>> p = category_missing_problem("area", 2, (0, 5))
    >>> p.column, p.message, p.n_rows
    ('area', 'values are missing', 2)
    """
    return Problem(column, "values are missing", n_rows, rows,
                   fix=f"every row needs a {column}: recode blanks in the study file, e.g. [values.{column}] \"\" = \"Not recorded\", "
                       "or drop the rows with [filter] keep")


def expected_problem(kind: str, n_rows: int, rows: tuple[int, ...], *, examples: tuple[str, ...] = ()) -> Problem:
    """The supplied expected probability: ``kind`` is ``"not_number"``, ``"outside"`` or ``"missing"``.

    Examples
    --------
    >>> expected_problem("outside", 1, (2,), examples=("42",)).message
    'probabilities are outside [0, 1]'
    >>> expected_problem("negative", 1, (2,))
    Traceback (most recent call last):
    ...
    ValueError: kind must be 'not_number', 'outside' or 'missing', not 'negative'
    """
    if kind == "not_number":
        return Problem("expected", "values are not numbers", n_rows, rows, examples, "give the expected probability as a number between 0 and 1")
    if kind == "outside":
        return Problem("expected", "probabilities are outside [0, 1]", n_rows, rows, examples,
                       "give probabilities (0-1), not percentages; divide a percentage by 100 in [derive]")
    if kind == "missing":
        return Problem("expected", "values are missing", n_rows, rows,
                       fix="supply an expected probability for every row, or drop the column and let a case-mix model set expected rates")
    raise ValueError(f"kind must be 'not_number', 'outside' or 'missing', not {kind!r}")


def structure_problems(columns: list[str], study: Study) -> list[Problem]:
    """Problems with the columns themselves: no outcome, declared flags absent, no flag at all.

    Examples
    --------
    A file with an area and a flag but no outcome column:

    >>> from analysis.study import Study
    >>> [(p.column, p.message) for p in structure_problems(["area", "dv"], Study())]
    [('reoffended', 'the outcome column is missing (the file has: area, dv)')]
    """
    problems: list[Problem] = []
    have = ", ".join(map(str, columns[:15])) + (" ..." if len(columns) > 15 else "")
    if OUTCOME not in columns:
        problems.append(Problem(OUTCOME, f"the outcome column is missing (the file has: {have})",
                                fix=f"rename your 0/1 outcome column to {OUTCOME!r} in the study file's [columns], e.g. \"Reoffended (Y/N)\" = \"{OUTCOME}\""))
    undeclared = [f for f in study.extra_flags if f not in columns]
    if undeclared:
        problems.append(Problem(", ".join(undeclared), "declared in [flags] but not in the data",
                                fix=f"rename a column to it in [columns], derive it in [derive], or remove it from [flags] (the file has: {have})"))
    if not flags_in(columns, extra=study.extra_flags):
        problems.append(Problem("(flags)", f"no risk flag column found (the file has: {have})",
                                fix="rename a 0/1 column to one of " + ", ".join(FLAGS) + " in [columns], or declare your own in [flags]"))
    return problems


def columns_held(columns: list[str] | pd.Index) -> str:
    """The extract's first columns, for a fix that names what the file has.

    Examples
    --------
    >>> columns_held(["area", "dv"])
    'area, dv'
    >>> columns_held([f"c{i}" for i in range(16)]).endswith("c14 ...")  # the first 15, then "..."
    True
    """
    columns = [str(c) for c in columns]
    return ", ".join(columns[:15]) + (" ..." if len(columns) > 15 else "")


def date_absent_problem(column: str, have: str) -> Problem:
    """The ``[kpi] date`` column is not in the data; ``have``: :func:`columns_held` of the data.

    Examples
    --------
    >>> date_absent_problem("start", "area, dv").message
    '[kpi] date names a column the data do not have'
    """
    return Problem(column, "[kpi] date names a column the data do not have",
                   fix=f"rename the extract's date column to {column!r} in [columns], or name one of its columns (the file has: {have})")


def date_problem(column: str, n_rows: int, rows: tuple[int, ...], examples: tuple[str, ...]) -> Problem:
    """Values of the ``[kpi] date`` column are not dates in the form YYYY-MM-DD.

    Examples
    --------
    >>> p = date_problem("start", 1, (3,), ("31/12/2020",))
    >>> p.column, p.examples
    ('start', ('31/12/2020',))
    """
    return Problem(column, "values of the [kpi] date column are not dates in the form YYYY-MM-DD", n_rows, rows, examples,
                   "write the dates as YYYY-MM-DD, or build the column in [derive] with date(...) (docs/expressions.md)")


def treatment_absent_problem(treatment: str, have: str) -> Problem:
    """The ``[impact] treatment`` column is not in the data; ``have``: :func:`columns_held` of the data.

    Examples
    --------
    >>> treatment_absent_problem("took_part", "area, dv").message
    '[impact] treatment names a column the data do not have'
    """
    return Problem(treatment, "[impact] treatment names a column the data do not have",
                   fix=f"rename the extract's column marking who took part to {treatment!r} in [columns], or name "
                       f"one of its columns (the file has: {have})")


def treatment_not_own_column_problem(treatment: str) -> Problem:
    """The ``[impact] treatment`` is the outcome or a flag.

    Examples
    --------
    >>> treatment_not_own_column_problem("dv").message
    '[impact] treatment is the outcome or a flag'
    """
    return Problem(treatment, "[impact] treatment is the outcome or a flag",
                   fix="name the column marking who took part in the intervention, a column of its own")


def reoffences_problem(kind: str, n_rows: int, rows: tuple[int, ...], *, examples: tuple[str, ...] = ()) -> Problem:
    """``reoffences``: ``kind`` is ``"not_count"`` (not whole numbers >= 0) or ``"disagrees"`` (with the outcome).

    Examples
    --------
    >>> reoffences_problem("not_count", 1, (0,), examples=("-1",)).message
    'values are not whole numbers >= 0'
    """
    if kind == "not_count":
        return Problem("reoffences", "values are not whole numbers >= 0", n_rows, rows, examples, "give the count of proven re-offences per person")
    if kind == "disagrees":
        return Problem("reoffences", "disagrees with the outcome (re-offences > 0 exactly when the outcome is 1)", n_rows, rows,
                       fix="check that both columns come from the same follow-up")
    raise ValueError(f"kind must be 'not_count' or 'disagrees', not {kind!r}")


def person_twice_problem(n_rows: int, rows: tuple[int, ...], examples: tuple[str, ...]) -> Problem:
    """The same ``person_id`` appears more than once in a period.

    Examples
    --------
    >>> p = person_twice_problem(2, (4, 9), ("17",))
    >>> p.column, p.n_rows
    ('person_id, period', 2)
    """
    return Problem("person_id, period", "the same person appears more than once in a period", n_rows, rows, examples,
                   "keep one row per person and cohort period (the first index event in the period)")


# --------------------------------------------------------------------------- validation


_ONE, _ZERO, _MISSING, _OTHER = 1, 0, 2, 3
VERDICT_ONE, VERDICT_ZERO, VERDICT_MISSING, VERDICT_OTHER = _ONE, _ZERO, _MISSING, _OTHER
"""What :func:`binary_verdicts` says of a 0/1 column's value: 1, 0, missing (blank) or another value."""


def binary_verdicts(series: pd.Series) -> np.ndarray:
    """Per row: 1, 0, missing (2) or another value (3), as ``int8``.

    Numbers are compared as numbers over the whole column; anything else is
    judged once per distinct value (its text, in any case: "1", "1.0",
    "true", "0", "0.0", "false"; blank is missing) and the verdicts are
    spread to the rows through the value codes.

    Examples
    --------
    >>> binary_verdicts(pd.Series(["1", "false", "", "2"], dtype="category")).tolist()
    [1, 0, 2, 3]
    """
    dtype = series.dtype
    if (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)) and not isinstance(dtype, pd.CategoricalDtype) \
            and getattr(dtype, "kind", "O") in "biuf":
        missing = series.isna().to_numpy()
        if missing.any():  # nullable integers and booleans, or floats with NaN: the missing rows read as 0, then marked
            # pandas-stubs types to_numpy's dtype narrower than the numpy dtype of an extension dtype that this passes
            values = series.to_numpy(dtype=np.float64 if dtype.kind == "f" else getattr(dtype, "numpy_dtype", dtype), na_value=0)  # type: ignore[arg-type]
        else:
            values = series.to_numpy()
        verdicts = np.full(len(values), _OTHER, dtype=np.int8)
        verdicts[values == 1] = _ONE
        verdicts[values == 0] = _ZERO
        verdicts[missing] = _MISSING
        return verdicts
    codes, uniques = _distinct(series)
    table = np.full(len(uniques) + 1, _MISSING, dtype=np.int8)  # the last entry: missing values (code -1)
    for i, value in enumerate(uniques):
        word = _text(value).lower()
        table[i] = _ONE if word in _TRUE_WORDS else _ZERO if word in _FALSE_WORDS else _MISSING if word == "" else _OTHER
    return table[codes]


def _binary(series: pd.Series, column: str, problems: list[Problem], *, allow_missing: bool) -> pd.Series:
    """Convert to 0/1 (nullable Int8), recording non-binary values as a problem."""
    verdicts = binary_verdicts(series)
    bad = verdicts == _OTHER
    if bad.any():
        problems.append(not_binary_problem(column, int(np.count_nonzero(bad)), _rows(bad), _examples(series, bad)))
    missing = verdicts == _MISSING
    if not allow_missing and missing.any():
        problems.append(binary_missing_problem(column, int(np.count_nonzero(missing)), _rows(missing)))
    unknown = verdicts > _ONE  # missing or not 0/1
    verdicts[unknown] = 0
    return pd.Series(pd.arrays.IntegerArray(verdicts, unknown), index=series.index)


def _categorical(series: pd.Series, column: str, problems: list[Problem]) -> pd.Series:
    """The column as a categorical of its text, levels in reading order; blanks are reported as missing.

    Each distinct value is read once; the rows only carry codes.
    """
    codes, uniques = _distinct(series)
    texts, text_of = _texts(uniques)
    blank = np.asarray(texts == "", dtype=bool)
    # distinct texts in order of first appearance in the rows (what pd.unique of the rows' texts gives)
    seen = pd.unique(codes)
    order = pd.unique(text_of[seen[seen >= 0]])
    order = order[~blank[order]]
    labels = [str(t) for t in texts[order]] if len(order) else []
    known = CATEGORIES.get(column)
    if known:  # the toolkit's own codes in another case ("MALE", "Violence") are read as those codes
        lookup = {k.lower(): k for k in known}
        if labels and all(v.lower() in lookup for v in labels) and any(v not in known for v in labels):
            labels = [lookup[v.lower()] for v in labels]
    levels = ordered_levels(column, labels)
    # per distinct text: its level (-1 for blank); then per distinct value; then one code per row
    position = {level: i for i, level in enumerate(levels)}
    level_of_text = np.full(len(texts), -1, dtype=np.int64)
    level_of_text[order] = [position[label] for label in labels]
    table = level_of_text[text_of] if len(uniques) else np.empty(0, dtype=np.int64)
    dtype = _small_codes(len(levels))
    result = _spread(table.astype(dtype), codes, -1)
    missing = result == -1
    if missing.any():
        problems.append(category_missing_problem(column, int(np.count_nonzero(missing)), _rows(missing)))
    categorical = pd.Categorical.from_codes(result, dtype=pd.CategoricalDtype(levels), validate=False)
    return pd.Series(categorical, index=series.index, name=column)


def categorical_column(series: pd.Series, column: str) -> pd.Series:
    """A categorical column (area, sex, age band, offence group, period) typed as :func:`validate_cohort` types it.

    The levels are the extract's labels in reading order; a blank is missing
    (NaN). Run on a column's distinct values it gives the levels of the whole
    column, since the levels depend only on which labels occur.

    Examples
    --------
    >>> categorical_column(pd.Series(["10", "2", " ", "2"]), "area").cat.categories.tolist()
    ['2', '10']
    """
    return _categorical(series, column, [])


def recode_distinct(frame: pd.DataFrame, values: Mapping[str, Mapping[str, Any]], *, typed: bool = True) -> pd.DataFrame:
    """The study's ``[values]`` recodes applied to the columns of ``frame``, as :func:`open_study` applies them.

    ``frame`` holds columns of an extract, often only their distinct values;
    a recode of a column ``frame`` does not hold is skipped. ``typed``: the
    columns are ones validation reads value by value (the outcome, flags,
    categories, a treatment), recoded into categoricals as
    :func:`open_study` recodes those; else recoded as any other column (a
    ``[kpi] date``). Returns a new frame.

    Examples
    --------
    >>> recode_distinct(pd.DataFrame({"dv": ["Y", "N", ""]}), {"dv": {"Y": 1, "N": 0, "": 0}})["dv"].tolist()
    [1, 0, 0]
    """
    out = frame.copy()
    _apply_values(out, {c: t for c, t in values.items() if c in out}, [], DataQuality(), typed=set(out.columns) if typed else set())
    return out


def number_verdicts(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column read as numbers as ``expected`` is read (NaN where missing or not a number), and which values are missing.

    Text is parsed once per distinct value, as ``pd.to_numeric`` parses it.

    Examples
    --------
    >>> numbers, missing = number_verdicts(pd.Series(["0.5", "", "nan", "1e999"]))
    >>> numbers.tolist(), missing.tolist()
    ([0.5, nan, nan, inf], [False, True, False, False])
    """
    numbers, missing = _numbers(values)
    return numbers.to_numpy(dtype=float, na_value=np.nan), np.asarray(missing, dtype=bool)


def value_examples(series: pd.Series, mask: pd.Series | np.ndarray) -> tuple[str, ...]:
    """The first few distinct values (as text) of the rows in ``mask``, in row order: a problem's examples.

    Examples
    --------
    >>> value_examples(pd.Series(["2", "1", "yes", "2", " no"]), [True, False, True, True, True])
    ('2', 'yes', 'no')
    """
    return _examples(series, mask)


def _band_ages(series: pd.Series, edges: tuple[int, ...], problems: list[Problem]) -> pd.Series | None:
    ages = _numeric(series)
    if ages is None:
        codes, uniques = _distinct(series)
        not_number = pd.to_numeric(pd.Series(uniques.to_numpy(dtype=object), dtype=object), errors="coerce").isna().to_numpy()
        bad = _spread(not_number & ~_blank(uniques), codes, False)
        problems.append(Problem("age", "values are not numbers of years", int(bad.sum()), _rows(bad), _examples(series, bad),
                                "give age in whole years, or give age bands in a column renamed to age_band"))
        return None
    bands = age_bands_from_edges(edges)
    values = ages.to_numpy(dtype=float, na_value=np.nan)
    # band j holds edges[j-1] <= age < edges[j]: the number of edges at or below the age; no band for NaN or +inf
    band = np.searchsorted(np.asarray(edges, dtype=float), values, side="right")
    band[~(values < np.inf)] = -1
    counts = np.bincount(band + 1, minlength=len(bands) + 1)[1:]
    used = [label for (*_, label), count in zip(bands, counts) if count]
    renumber = np.full(len(bands) + 1, -1, dtype=np.int8)  # the last entry: no band
    renumber[np.flatnonzero(counts)] = np.arange(len(used))
    codes = renumber[band]
    return pd.Series(pd.Categorical.from_codes(codes, categories=used), index=series.index, name="age_band")  # type: ignore[call-overload]  # pandas-stubs: int8 codes


def validate_cohort(
    frame: pd.DataFrame,
    *,
    source: str = "cohort",
    missing_flags: str = "absent",
    study: Study | None = None,
) -> pd.DataFrame:
    """Validate and type a frame that already uses the study's column names.

    Parameters
    ----------
    frame
        One row per person and period.
    source
        A name for the data, used in the error message.
    missing_flags
        Policy for flags that are not recorded: ``"absent"``, ``"keep"`` or ``"error"``.
    study
        The study (extra flags, model columns, period label, age bands); default: none.

    Returns
    -------
    pandas.DataFrame
        Typed cohort: ``reoffended`` and flags as ``int8`` (nullable ``Int8``
        under ``"keep"``), categorical columns with the extract's labels in
        reading order, ``expected`` as float, a ``period`` column (the study's
        label when the extract has none), other columns kept (numeric text as
        numbers). ``attrs``: ``source``, ``missing_flags``, ``not_recorded``
        (per flag), ``flags`` (the flags present).

    Raises
    ------
    CohortError
        Listing every problem found.

    Examples
    --------
    >>> import pandas as pd
    >>> row = dict(reoffended=1, dv=0, mental_health=1, area="10", sex="M", age_band="18-22")
    >>> typed = validate_cohort(pd.DataFrame([row, dict(row, area="2")]))
    >>> typed["mental_health"].tolist(), list(typed["area"].cat.categories), typed["period"].iloc[0]
    ([1, 1], ['2', '10'], 'All people')
    """
    study = study or Study()
    if missing_flags not in MISSING_FLAG_POLICIES:
        raise ValueError(f"missing_flags must be one of {MISSING_FLAG_POLICIES}, not {missing_flags!r}")
    problems: list[Problem] = []
    out = frame.reset_index(drop=True)  # copy-on-write: columns are replaced below, the caller's frame is not touched
    problems.extend(structure_problems(list(frame.columns), study))
    flags = flags_in(out, extra=study.extra_flags)

    if OUTCOME in out:
        out[OUTCOME] = _binary(out[OUTCOME], OUTCOME, problems, allow_missing=False)
    not_recorded = _typed_flags(out, flags, missing_flags, problems)

    _typed_categories(out, study, problems)

    for column, check in _COLUMN_CHECKS:
        if column in out:
            check(out, problems)

    _typed_kpi_date(out, frame, study, problems)
    treatment = _typed_treatment(out, frame, study, flags, problems)

    # other columns pass through; wholly numeric ones become numbers (a risk score can enter the model)
    known = {OUTCOME, *flags, *CATEGORICAL, "expected", "reoffences", "person_id", *([treatment] if treatment else [])}
    for column in [c for c in out.columns if c not in known]:
        parsed = _numeric(out[column])
        if parsed is not None:
            out[column] = parsed
    _check_model_columns(out, study, flags, problems)

    if problems:
        raise CohortError(source, problems)
    out[OUTCOME] = out[OUTCOME].astype("int8")
    if missing_flags != "keep":
        for flag in flags:
            out[flag] = out[flag].astype("int8")
    if treatment is not None and not out[treatment].isna().any():
        out[treatment] = out[treatment].astype("int8")
    order = [OUTCOME, *flags] + [c for c in _OPTIONAL_ORDER if c in out] + [c for c in out.columns
                                                                             if (c not in known or c == treatment) and c != "age"]
    out = out[list(dict.fromkeys(order))]
    out.attrs["source"] = source
    out.attrs["missing_flags"] = missing_flags
    out.attrs["not_recorded"] = not_recorded
    out.attrs["flags"] = list(flags)
    return out


def _typed_kpi_date(out: pd.DataFrame, frame: pd.DataFrame, study: Study, problems: list[Problem]) -> None:
    """The KPI paper's date column (``[kpi] date``) becomes dates, or a problem."""
    if study.kpi is None or study.kpi.date is None:
        return
    parsed_dates = _dates(out, study.kpi.date, problems, columns_held(frame.columns))
    if parsed_dates is not None:
        out[study.kpi.date] = parsed_dates


def _typed_treatment(out: pd.DataFrame, frame: pd.DataFrame, study: Study, flags: list[str], problems: list[Problem]) -> str | None:
    """The impact paper's treatment (``[impact] treatment``): 0/1 like a flag, a blank left out of the paper.

    Returns the column's name, or None when the study names none or the column is unusable (a problem says why).
    """
    treatment = study.impact.treatment if study.impact is not None else None
    if treatment is None:
        return None
    if treatment not in out:
        problems.append(treatment_absent_problem(treatment, columns_held(frame.columns)))
        return None
    if treatment in (OUTCOME, *flags):
        problems.append(treatment_not_own_column_problem(treatment))
        return None
    out[treatment] = _binary(out[treatment], treatment, problems, allow_missing=True)
    return treatment


def _typed_categories(out: pd.DataFrame, study: Study, problems: list[Problem]) -> None:
    """Age banded (when no band is given), the period (the study's label when absent) and every categorical column."""
    if "age" in out and "age_band" not in out:
        banded = _band_ages(out["age"], study.age_bands, problems)
        if banded is not None:
            out["age_band"] = banded
    if "period" not in out:  # one period: one value, held once
        out["period"] = pd.Categorical.from_codes(np.zeros(len(out), dtype=np.int8), categories=[study.period or "All people"], validate=False)  # type: ignore[call-overload]  # pandas-stubs: int8 codes
    for col in CATEGORICAL:
        if col in out:
            out[col] = _categorical(out[col], col, problems)


def _typed_flags(out: pd.DataFrame, flags: list[str], missing_flags: str, problems: list[Problem]) -> dict[str, int]:
    """Type every flag column of ``out`` as 0/1 under the missing-flags policy; the number not recorded per flag."""
    not_recorded: dict[str, int] = {}
    for flag in flags:
        values = _binary(out[flag], flag, problems, allow_missing=missing_flags != "error")
        not_recorded[flag] = int(values.isna().sum())
        if missing_flags == "absent":
            values = values.fillna(0)
        out[flag] = values
    return not_recorded


def _check_expected(out: pd.DataFrame, problems: list[Problem]) -> None:
    """``expected`` as a float probability in [0, 1]; problems for text, values outside and blanks."""
    raw = out["expected"]
    expected, missing = _numbers(raw)
    values = expected.to_numpy(dtype=float, na_value=np.nan)
    not_number = np.isnan(values) & ~missing
    outside = (values < 0) | (values > 1)
    if not_number.any():
        problems.append(expected_problem("not_number", int(np.count_nonzero(not_number)), _rows(not_number), examples=_examples(raw, not_number)))
    if outside.any():
        problems.append(expected_problem("outside", int(np.count_nonzero(outside)), _rows(outside), examples=_examples(raw, outside)))
    if missing.any():
        problems.append(expected_problem("missing", int(np.count_nonzero(missing)), _rows(missing)))
    out["expected"] = expected.astype(float)


def _check_reoffences(out: pd.DataFrame, problems: list[Problem]) -> None:
    """``reoffences`` as whole numbers >= 0 that agree with the outcome."""
    raw = out["reoffences"]
    counts, missing = _numbers(raw)
    values = counts.to_numpy(dtype=float, na_value=np.nan)
    bad = ~missing & (np.isnan(values) | (values < 0) | (values % 1 != 0))
    if bad.any():
        problems.append(reoffences_problem("not_count", int(np.count_nonzero(bad)), _rows(bad), examples=_examples(raw, bad)))
    else:
        if OUTCOME in out:
            y = out[OUTCOME].to_numpy(dtype=float, na_value=np.nan)
            inconsistent = ~np.isnan(values) & ~np.isnan(y) & ((values > 0) != (y == 1))
            if inconsistent.any():
                problems.append(reoffences_problem("disagrees", int(np.count_nonzero(inconsistent)), _rows(inconsistent)))
        out["reoffences"] = counts.astype("Int64")


def _check_person_id(out: pd.DataFrame, problems: list[Problem]) -> None:
    """``person_id`` as text, with a problem for a person who appears twice in a period."""
    codes, uniques = _distinct(out["person_id"])
    texts, text_of = _texts(uniques)
    ids = _spread(text_of, codes, -1)  # one code per distinct text (-1: missing)
    periods = out["period"].cat.codes.to_numpy().astype(np.int64) + 1
    key = ids.astype(np.int64) * (len(out["period"].cat.categories) + 1) + periods
    dup = pd.Series(key).duplicated(keep=False).to_numpy() & (ids >= 0)
    pid = _text_column(texts, ids, out.index)
    if dup.any():
        problems.append(person_twice_problem(int(np.count_nonzero(dup)), _rows(dup), _examples(pid, dup)))
    out["person_id"] = pid


_COLUMN_CHECKS = (("expected", _check_expected), ("reoffences", _check_reoffences), ("person_id", _check_person_id))
"""The optional columns checked one by one, in the order their problems are listed."""


def _dates(out: pd.DataFrame, column: str, problems: list[Problem], have: str) -> pd.Series | None:
    """The ``[kpi] date`` column as dates (``datetime64``; a blank is missing), or None with a problem added.

    Dates are read as ``YYYY-MM-DD`` (ISO 8601, a time of day allowed); any
    other form is reported with examples and the fix.

    Examples
    --------
    >>> problems = []
    >>> _dates(pd.DataFrame({"d": ["2015-01-31", None]}), "d", problems, "d").dt.day.tolist(), problems
    ([31.0, nan], [])
    """
    if column not in out:
        problems.append(date_absent_problem(column, have))
        return None
    values = out[column]
    parsed, bad = date_verdicts(values)
    if bad.any():
        problems.append(date_problem(column, int(bad.sum()), _rows(bad), _examples(values, bad)))
        return None
    return parsed


def date_verdicts(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """A ``[kpi] date`` column as dates (NaT where missing or not a date) and which values are not dates.

    Text is read as ``YYYY-MM-DD`` (ISO 8601, a time of day allowed) once per
    distinct value; a blank is missing, not wrong.

    Examples
    --------
    >>> parsed, bad = date_verdicts(pd.Series(["2015-01-31", "", "31/01/2015"]))
    >>> parsed.dt.day.tolist(), bad.tolist()
    ([31.0, nan, nan], [False, False, True])
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values, np.zeros(len(values), dtype=bool)
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = pd.to_datetime(pd.Series([str(c).strip() for c in values.cat.categories], dtype=object), format="ISO8601", errors="coerce")
        codes = values.cat.codes.to_numpy()
        parsed: pd.Series = pd.Series(np.where(codes >= 0, cats.to_numpy()[np.maximum(codes, 0)], np.datetime64("NaT")), index=values.index)
        parsed = pd.to_datetime(parsed)
    else:
        text = values.astype("string").str.strip().replace("", pd.NA)  # type: ignore[call-overload]  # pandas-stubs: replace by pd.NA
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    bad = (parsed.isna() & ~_is_missing(values)).to_numpy(dtype=bool)
    return parsed, bad


def _check_model_columns(out: pd.DataFrame, study: Study, flags: list[str], problems: list[Problem]) -> None:
    """The study's [model] must name columns the data hold, of the right kind."""
    def column_problems(name: str, key: str) -> list[Problem]:
        if name not in CATEGORICAL and not pd.api.types.is_numeric_dtype(out[name]) and name not in flags:
            return [model_column_kind_problem(name, key)]
        if pd.api.types.is_numeric_dtype(out[name]) and out[name].isna().any():
            missing = out[name].isna()
            return [model_column_missing_problem(name, key, int(missing.sum()), _rows(missing))]
        return []

    problems.extend(model_problems(list(out.columns), flags, study, column_problems))


def model_problems(columns: list[str], flags: list[str], study: Study, column_problems) -> list[Problem]:
    """What is wrong with the study's ``[model]`` for data with these columns and flags, in the order validation lists it.

    ``column_problems(name, key)`` gives the problems of the values of a
    column ``[model] adjust`` or ``expected`` names (``key``), one the data hold.

    Examples
    --------
    >>> study = Study(model_flags=("dv", "gang"))
    >>> [p.column for p in model_problems(["reoffended", "dv"], ["dv"], study, lambda name, key: [])]
    ['gang']
    """
    problems: list[Problem] = []
    if study.model_flags is not None:
        absent = [f for f in study.model_flags if f not in flags]
        if absent:
            problems.append(Problem(", ".join(absent), "[model] flags names flags that are not 0/1 flag columns of the data",
                                    fix=f"use flags the data hold ({', '.join(flags) or 'none'}), or declare extras in [flags]"))
    for key, names in (("adjust", study.adjust or ()), ("expected", study.expected_casemix or ())):
        for name in names:
            if name not in columns:
                problems.append(Problem(name, f"[model] {key} names a column that is not in the data",
                                        fix="rename a column to it in [columns], or remove it from [model]"))
            elif name in flags and key == "expected":
                problems.append(Problem(name, "[model] expected must not hold a flag (O/E by flag would compare the flag with itself)",
                                        fix="leave flags out of the expected model"))
            else:
                problems.extend(column_problems(name, key))
    known = {*flags, *(study.adjust or ()), *CATEGORICAL}
    for term in study.interactions:
        a, b = (t.strip() for t in term.split(":"))
        for part in (a, b):
            if part not in columns or part not in known:
                problems.append(Problem(part, f"[model] interactions: {term!r} names a column that is not a flag or case-mix column of the data",
                                        fix="use flag:column pairs of columns in the model, e.g. \"dv:area\""))
    return problems


def model_column_kind_problem(name: str, key: str) -> Problem:
    """A column ``[model] adjust`` or ``expected`` names is neither numeric nor categorical.

    Examples
    --------
    >>> model_column_kind_problem("score", "adjust").column
    'score'
    """
    return Problem(name, f"[model] {key}: the column is neither numeric nor one of {', '.join(CATEGORICAL)}",
                   fix="give numbers (e.g. a risk score), or rename it to a categorical column")


def model_column_missing_problem(name: str, key: str, n_rows: int, rows: tuple[int, ...]) -> Problem:
    """A numeric column ``[model] adjust`` or ``expected`` names has missing values.

    Examples
    --------
    >>> model_column_missing_problem("score", "adjust", 1, (6,)).message
    '[model] adjust: values are missing'
    """
    return Problem(name, f"[model] {key}: values are missing", n_rows, rows, fix="recode them in [values], or drop the rows with [filter] keep")


# --------------------------------------------------------------------------- the study's data


@dataclass
class StudyData:
    """A validated cohort with its study and what happened on the way in.

    Attributes
    ----------
    study
        The study (the paper's words, the model).
    cohort
        The validated, typed cohort (see :func:`validate_cohort`).
    quality
        How the file was read, rows filtered, blanks recoded, flags not recorded.
    trials
        None when ``cohort`` has one row per person. When it is cells of people
        (one row per pattern of values, as an extract too large for memory is
        aggregated by :func:`open_study_cells`), the column counting each
        cell's people; the outcome column then counts those with the outcome.
    """

    study: Study
    cohort: pd.DataFrame
    quality: DataQuality
    trials: str | None = None

    @property
    def flags(self) -> list[str]:
        """The flags of the study present in the data (the model's flags if the study names them)."""
        present = flags_in(self.cohort, extra=self.study.extra_flags)
        if self.study.model_flags is not None:
            return [f for f in self.study.model_flags if f in present]
        return present

    @property
    def labels(self) -> dict[str, str]:
        """The label of every flag present."""
        return {f: self.study.flag_label(f) for f in flags_in(self.cohort, extra=self.study.extra_flags)}

    @property
    def periods(self) -> list[str]:
        """The periods in the data, in reading order."""
        return levels_present(self.cohort["period"])

    def save(self, folder: str | Path) -> Path:
        """Write the canonical cohort (Parquet) and the resolved study (JSON); returns the JSON's path.

        :func:`open_study` on that JSON reads the canonical file without mapping or re-validating.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        parquet = folder / "cohort.parquet"
        self.cohort.to_parquet(parquet, index=False)
        resolved = folder / "study.json"
        resolved.write_text(json.dumps({
            "format": _RESOLVED,
            "study": self.study.to_dict(),
            "quality": self.quality.to_dict(),
            "cohort": parquet.name,
            "trials": self.trials,
            "attrs": {k: v for k, v in self.cohort.attrs.items()},
        }, indent=1, default=str), encoding="utf-8")
        return resolved


def _open_resolved(path: Path, data: Mapping[str, Any]) -> StudyData:
    import pyarrow.parquet as pq

    table = pq.read_table(path.parent / data["cohort"])
    cohort = table.to_pandas()
    for col in CATEGORICAL:  # categories come back in their saved (reading) order
        if col in cohort and not isinstance(cohort[col].dtype, pd.CategoricalDtype):
            cohort[col] = pd.Categorical(cohort[col].astype(object), categories=ordered_levels(col, cohort[col].dropna().unique()))
    cohort.attrs.update(data.get("attrs", {}))
    study = study_from_dict(data["study"])
    return StudyData(study, cohort, DataQuality.from_dict(data["quality"]), trials=data.get("trials"))


def _as_study(study: str | Path | Study | Mapping[str, Any] | None) -> Study:
    if isinstance(study, Study):
        return study
    if isinstance(study, Mapping):
        return study_from_mapping(study, source="study")
    return read_study(study)


def extract_path(study: Study, cohort: str | Path | None) -> Path:
    """The extract to read: ``cohort`` when given, else the one the study file names (relative to it).

    Raises
    ------
    CohortError
        When neither gives one, with the fix.

    Examples
    --------
    >>> extract_path(Study(), "data/private/extract.csv")
    PosixPath('data/private/extract.csv')
    """
    if cohort is None:
        cohort = study.resolve_extract()
        if cohort is None:
            raise CohortError(study.source or "study", [Problem("(study file)", "no extract given",
                                                                fix="give the extract with --cohort, or name it in the study file: [study] extract = \"extract.csv\"")])
    return Path(cohort)


def open_study(
    study: str | Path | Study | Mapping[str, Any] | None = None,
    cohort: str | Path | None = None,
    *,
    missing_flags: str | None = None,
) -> StudyData:
    """Read an extract with its study file, map and validate it.

    Parameters
    ----------
    study
        A study (or mapping) file, a :class:`~analysis.study.Study`, the
        parsed structure, or a resolved ``study.json`` written by
        :meth:`StudyData.save`. ``None``: the default synthetic study when no
        ``cohort`` is given, else the defaults (no mapping).
    cohort
        The extract (CSV, Excel or Parquet). Default: the study's ``extract``.
    missing_flags
        Overrides the study's ``[options] missing_flags``.

    Returns
    -------
    StudyData
        The study, the validated cohort and the data-quality record.

    Raises
    ------
    CohortError
        Every problem with the study file or the extract, at once.

    Examples
    --------
    >>> data = open_study()  # doctest: +SKIP
    >>> data.study.area_label, data.flags[:2]  # doctest: +SKIP
    ('local authority', ['dv', 'child_protection'])
    """
    from .paths import DEFAULT_STUDY

    if study is None and cohort is None:
        study = DEFAULT_STUDY
    if isinstance(study, (str, Path)) and str(study).endswith(".json"):
        path = Path(study)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if data.get("format") == _RESOLVED:
            return _open_resolved(path, data)
        raise CohortError(str(path), [Problem("(study file)", "this JSON file is not a resolved study written by the toolkit",
                                              fix="give the study's TOML file")])
    spec = _as_study(study)
    path = extract_path(spec, cohort)
    frame, info = read_extract(path, delimiter=spec.delimiter, decimal=spec.decimal, encoding=spec.encoding, sheet=spec.sheet)
    problems: list[Problem] = []
    quality = DataQuality(source=str(path), read=info, rows_read=len(frame), filter_expression=spec.filter,
                          period_supplied=False)

    derived = _derive(frame, spec.derive, problems)
    quality.derived = {k: spec.derive[k] for k in derived}
    keep = _filter(frame, spec.filter, problems)
    renames = {str(k): str(v) for k, v in spec.columns.items()}
    problems.extend(rename_problems(renames, frame.columns))
    frame = frame.rename(columns=renames)
    for target, values in derived.items():
        frame[target] = values
    typed_columns = {OUTCOME, *flags_in(frame, extra=spec.extra_flags), *CATEGORICAL, "expected", "reoffences", "person_id",
                     *([spec.impact.treatment] if spec.impact is not None else [])}
    _apply_values(frame, spec.values, problems, quality, typed=typed_columns)
    quality.period_supplied = "period" in frame.columns
    quality.age_banded = "age" in frame.columns and "age_band" not in frame.columns

    policy = missing_flags or spec.missing_flags
    if policy not in MISSING_FLAG_POLICIES:
        problems.append(Problem("(options)", f"missing_flags = {policy!r} is not a policy", fix=f"use one of {', '.join(MISSING_FLAG_POLICIES)}"))
        policy = "absent"
    if keep is not None:
        frame = frame.loc[keep]
        if not len(frame):
            problems.append(Problem("(filter)", f"the filter {spec.filter!r} keeps no rows", fix="check the expression against the file's values"))
    if problems:
        # validation problems too, so that the analyst sees everything at once
        try:
            validate_cohort(frame, source=str(path), missing_flags=policy, study=spec)
        except CohortError as err:
            problems.extend(err.problems)
        raise CohortError(str(path), problems)
    typed = validate_cohort(frame, source=str(path), missing_flags=policy, study=spec)
    quality.rows_kept = len(typed)
    quality.not_recorded = dict(typed.attrs["not_recorded"])
    quality.missing_flags = policy
    return StudyData(spec, typed, quality)


def rename_problems(renames: dict[str, str], columns: pd.Index) -> list[Problem]:
    """What is wrong with the study's ``[columns]`` renames of a file with these columns (nothing: an empty list).

    Examples
    --------
    ``Sex`` and ``Area`` are both renamed to ``area``, which the file already has:

    >>> import pandas as pd
    >>> [p.message for p in rename_problems({"Area": "area", "Sex": "area"}, pd.Index(["Area", "Sex", "area"]))]
    ['several columns are renamed to the same name', 'a column is renamed to a name the file already has']
    >>> rename_problems({"Area": "area"}, pd.Index(["Area", "dv"]))
    []
    """
    problems: list[Problem] = []
    not_there = [k for k in renames if k not in columns]
    if not_there:
        problems.append(Problem(", ".join(not_there), "the study renames column(s) that are not in the file",
                                fix=f"use the file's own column names ({', '.join(map(str, columns[:15]))})"))
    targets = list(renames.values())
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        problems.append(Problem(", ".join(twice), "several columns are renamed to the same name", fix="rename one column to each name"))
    clash = [t for t in renames.values() if t in columns and t not in renames]
    if clash:
        problems.append(Problem(", ".join(clash), "a column is renamed to a name the file already has",
                                fix="rename the file's own column too, or choose another name"))
    return problems


def _apply_values(frame: pd.DataFrame, values: Mapping[str, Mapping[str, Any]], problems: list[Problem], quality: DataQuality,
                  typed: set[str] | frozenset[str] = frozenset()) -> None:
    """Recode ``[values]``: each distinct value once; blanks by the empty key.

    A column in ``typed`` (one that validation reads value by value: the
    outcome, flags, categories, expected, re-offences, person id) becomes a
    categorical of the recoded values, so no row is touched in Python; any
    other column keeps the object form it has always had (validation turns
    wholly numeric columns into numbers, and their type depends on that form).
    """
    for column, recode in values.items():
        if column not in frame:
            problems.append(Problem(column, "the study recodes a column that is not in the data",
                                    fix=f"rename a column to '{column}' in [columns], or remove [values.{column}]"))
            continue
        table = {str(k).strip(): v for k, v in recode.items()}
        series = frame[column]
        recoded = _recoded_categorical(series, table) if column in typed else None
        if recoded is not None:
            frame[column], blanks = recoded
            if "" in table:
                quality.blanks_recoded[column] = blanks
        elif "" in table:
            blank = _is_missing(series)
            quality.blanks_recoded[column] = int(blank.sum())
            by_row = pd.Series(_by_value(series, lambda v: table.get(_text(v), v)), index=frame.index, dtype=object)  # noqa: B023
            by_row[blank.to_numpy()] = table[""]
            frame[column] = by_row
        else:
            frame[column] = pd.Series(_by_value(series, lambda v: table.get(_text(v), v)), index=frame.index)  # noqa: B023


def _plain_value(value: Any) -> bool:
    """A value a categorical holds without changing what validation reads from it: text, or a number (not bool, not NaN)."""
    if isinstance(value, str):
        return True
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    return not np.isnan(value) and abs(value) < 2 ** 53  # type: ignore[operator]  # numpy stubs: abs of a numpy scalar


def _recoded_categorical(series: pd.Series, table: Mapping[str, Any]) -> tuple[pd.Series, int] | None:
    """``series`` recoded by ``table`` (blank and missing by its "" key, if any) as a categorical, and the blanks recoded.

    None when a value could not be a category as it is (a boolean, which
    equals 1 but reads "True"; NaN), and the caller recodes row by row.
    """
    codes, uniques = _distinct(series)
    blank_key = "" in table
    mapped = [table.get(_text(v), v) for v in uniques]
    blank = np.append(_blank(uniques), True) if blank_key else None  # the last entry: missing values (code -1)
    if blank is not None:  # exactly when blank_key
        mapped = [table[""] if b else m for m, b in zip(mapped, blank[:-1])]
    if not all(_plain_value(m) for m in [*mapped, *([table[""]] if blank_key else [])]):
        return None
    categories: dict[Any, int] = {}
    position = np.array([categories.setdefault(m, len(categories)) for m in mapped], dtype=np.int64)
    missing_to = -1
    if blank is not None:
        missing_to = categories.setdefault(table[""], len(categories))
        position[blank[:-1]] = missing_to
    dtype = _small_codes(len(categories))
    result = _spread(position.astype(dtype), codes, missing_to)
    blanks = int(np.count_nonzero(blank[codes])) if blank is not None else 0
    categorical = pd.Categorical.from_codes(result, categories=pd.Index(list(categories), dtype=object), validate=False)
    return pd.Series(categorical, index=series.index), blanks


def load_cohort(
    path: str | Path | None = None,
    mapping: str | Path | Mapping[str, Any] | None = None,
    *,
    study: str | Path | Study | Mapping[str, Any] | None = None,
    missing_flags: str | None = None,
) -> pd.DataFrame:
    """Read an extract (CSV, Excel or Parquet), map it with its study file and validate it.

    Parameters
    ----------
    path
        The extract, one row per person and cohort period (default: the study's ``extract``).
    mapping
        A mapping file or structure (the older name for a study file with mapping sections only).
    study
        A study file, :class:`~analysis.study.Study` or structure; see :func:`open_study`.
    missing_flags
        Policy for flags that are not recorded (``"absent"``, ``"keep"``,
        ``"error"``); overrides the study's option.

    Returns
    -------
    pandas.DataFrame
        The validated, typed cohort (see :func:`validate_cohort`).

    Raises
    ------
    CohortError
        One error listing every problem: the column, how many rows, the first
        rows and examples, and the fix.

    Examples
    --------
    >>> cohort = load_cohort("data/synthetic/cohort.csv")  # doctest: +SKIP
    >>> list(cohort["area"].cat.categories)  # doctest: +SKIP
    ['Dudley', 'Sandwell', 'Walsall', 'Wolverhampton']
    """
    if mapping is not None and study is not None:
        raise ValueError("give a study or a mapping, not both (a mapping is a study file)")
    spec = study if study is not None else mapping
    if spec is None and path is not None:
        from .paths import DEFAULT_COHORT, DEFAULT_STUDY

        if Path(path).resolve() == Path(DEFAULT_COHORT).resolve():
            spec = DEFAULT_STUDY
    return open_study(spec, path, missing_flags=missing_flags).cohort
