"""Read and validate a case-level cohort extract.

:func:`load_cohort` is the only way data enters the analyses. It reads a CSV
or Parquet file, applies an optional TOML mapping (rename, recode, derive),
and validates the result against the canonical schema in
:mod:`analysis.schema`. Every problem found is reported at once, as a single
:class:`CohortError`; nothing is partly loaded.

The mapping file
----------------
::

    [columns]                 # the user's column = the canonical column
    "Reoffended (Y/N)" = "reoffended"
    LDU = "area"

    [values.reoffended]       # recode values of a canonical column
    Y = 1
    N = 0

    [values.sex]
    M = "Male"
    F = "Female"

    [derive]                  # a column from an expression over the user's columns
    unemployed = "pct_days_employed < 50"   # (the language: analysis.expressions, docs/expressions.md)

    [options]
    missing_flags = "absent"  # or "keep" or "error"; see analysis.schema

Examples
--------
>>> from analysis import load_cohort
>>> cohort = load_cohort("data/synthetic/cohort.csv")  # doctest: +SKIP
>>> cohort["reoffended"].mean()  # doctest: +SKIP
0.42...
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .expressions import ALLOWED, ExpressionError, evaluate_column
from .schema import (
    CASEMIX,
    CATEGORIES,
    FLAGS,
    MISSING_FLAG_POLICIES,
    OPTIONAL,
    OUTCOME,
    REQUIRED,
)

__all__ = ["CohortError", "Problem", "load_cohort", "validate_cohort", "read_mapping"]

_MAX_EXAMPLES = 5
_TRUE_WORDS = {"1", "1.0", "true"}
_FALSE_WORDS = {"0", "0.0", "false"}


@dataclass(frozen=True)
class Problem:
    """One validation problem: where it is, how big it is and how to fix it."""

    column: str
    message: str
    n_rows: int = 0
    rows: tuple[int, ...] = ()
    examples: tuple[str, ...] = ()
    fix: str = ""

    def describe(self) -> str:
        """The problem as one readable sentence."""
        text = f"column '{self.column}': {self.message}"
        if self.n_rows:
            text += f" ({self.n_rows:,} row{'s' if self.n_rows != 1 else ''}"
            if self.rows:
                text += ", e.g. row" + ("s " if len(self.rows) > 1 else " ")
                text += ", ".join(str(r) for r in self.rows)
            if self.examples:
                text += ": " + ", ".join(repr(e) for e in self.examples)
            text += ")"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


@dataclass
class CohortError(ValueError):
    """A cohort extract failed validation; ``problems`` lists every problem found.

    Row numbers count data rows from 1 (the first row after the header).
    """

    source: str
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"The cohort '{self.source}' cannot be used: {n} problem{'s' if n != 1 else ''} found."
        lines = [f"  {i}. {p.describe()}" for i, p in enumerate(self.problems, 1)]
        return "\n".join([head, *lines])

    def to_frame(self) -> pd.DataFrame:
        """The problems as a tidy table (column, message, n_rows, rows, examples, fix)."""
        return pd.DataFrame(
            [
                {
                    "column": p.column,
                    "message": p.message,
                    "n_rows": p.n_rows,
                    "rows": list(p.rows),
                    "examples": list(p.examples),
                    "fix": p.fix,
                }
                for p in self.problems
            ]
        )


# --------------------------------------------------------------------------- reading


def read_mapping(path: str | Path | None) -> dict[str, Any]:
    """Read a TOML mapping file (or return an empty mapping for ``None``).

    Raises :class:`CohortError` naming the file when it cannot be read or has
    sections other than ``columns``, ``values``, ``derive`` and ``options``.
    """
    if path is None:
        return {}
    path = Path(path)
    try:
        mapping = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CohortError(str(path), [Problem("(mapping)", "the mapping file does not exist", fix="check the path given as mapping")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CohortError(str(path), [Problem("(mapping)", f"the mapping file is not valid TOML: {exc}", fix="correct the TOML syntax; see the example in the README")]) from None
    unknown = sorted(set(mapping) - {"columns", "values", "derive", "options"})
    if unknown:
        raise CohortError(
            str(path),
            [Problem("(mapping)", f"unknown section(s) {unknown}", fix="use only [columns], [values.<column>], [derive] and [options]")],
        )
    return mapping


def _read_table(path: Path) -> pd.DataFrame:
    """Read CSV (all columns as text) or Parquet; a clear error for anything else."""
    source = str(path)
    if not path.exists():
        raise CohortError(source, [Problem("(file)", "the file does not exist", fix="check the path")])
    suffix = path.suffix.lower()
    try:
        if suffix in {".csv", ".txt"}:
            frame = pd.read_csv(path, dtype=str, keep_default_na=True, skipinitialspace=True)
        elif suffix in {".parquet", ".pq"}:
            frame = pd.read_parquet(path)
        else:
            raise CohortError(source, [Problem("(file)", f"unsupported file type '{suffix}'", fix="provide a .csv or .parquet file")])
    except CohortError:
        raise
    except pd.errors.EmptyDataError:
        raise CohortError(source, [Problem("(file)", "the file is empty", fix="export the extract again with a header row and data")]) from None
    except (UnicodeDecodeError, pd.errors.ParserError, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CohortError(source, [Problem("(file)", f"the file cannot be read ({first})", fix="save it as UTF-8 CSV with a header row, or as Parquet")]) from None
    if frame.shape[0] == 0:
        raise CohortError(source, [Problem("(file)", "the file has a header but no data rows", fix="export the extract again with its rows")])
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _text(value: Any) -> str:
    """The string form used for recoding: integral floats lose their '.0'."""
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _is_missing(series: pd.Series) -> pd.Series:
    missing = series.isna()
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        missing |= series.astype("string").str.strip().fillna("").eq("")
    return missing.astype(bool)


def _by_value(series: pd.Series, func) -> np.ndarray:
    """``func`` applied to each distinct non-missing value once, spread back to every row (missing -> None).

    Cohort columns hold a handful of distinct values in millions of rows, so
    this is what keeps validation fast on a national panel.
    """
    cat = series.astype("category")
    table = np.empty(len(cat.cat.categories) + 1, dtype=object)
    table[:-1] = [func(c) for c in cat.cat.categories]
    table[-1] = None
    return table[cat.cat.codes.to_numpy()]  # code -1 (missing) takes the last entry


def _rows(mask: pd.Series) -> tuple[int, ...]:
    """1-based data-row numbers of the first few True entries."""
    positions = np.flatnonzero(np.asarray(mask, dtype=bool))[:_MAX_EXAMPLES]
    return tuple(int(p) + 1 for p in positions)


def _examples(series: pd.Series, mask: pd.Series) -> tuple[str, ...]:
    values = series[np.asarray(mask, dtype=bool)]
    out: list[str] = []
    for v in values:
        t = _text(v)
        if t not in out:
            out.append(t)
        if len(out) == _MAX_EXAMPLES:
            break
    return tuple(out)


def _numeric_view(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns that are entirely numeric text become numbers (for the extra columns a cohort passes through)."""
    out = {}
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s
            continue
        parsed = pd.to_numeric(s, errors="coerce")
        out[col] = parsed if parsed.notna().sum() == (~_is_missing(s)).sum() else s
    return pd.DataFrame(out, index=frame.index)


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
            problems.append(Problem(target, f"the derive expression {expression!r} is not text", fix="write the expression in quotes, e.g. unemployed = \"`Days Employed Pct` < 50\""))
            continue
        try:
            derived[target] = evaluate_column(expression, frame)
        except ExpressionError as exc:
            hint = exc.hint if exc.hint.endswith(("?", ".")) else exc.hint + "."
            problems.append(Problem(target, f"the derive expression {expression!r} {exc.message}", fix=f"{hint} {ALLOWED[0].upper()}{ALLOWED[1:]}"))
        except Exception as exc:  # never a traceback for a user's expression, even on a bug of ours
            problems.append(
                Problem(
                    target,
                    f"the derive expression {expression!r} could not be evaluated ({type(exc).__name__}: {exc})",
                    fix="simplify the expression; see docs/expressions.md",
                )
            )
    return derived


# --------------------------------------------------------------------------- validation


def _binary(series: pd.Series, column: str, problems: list[Problem], *, allow_missing: bool) -> pd.Series:
    """Convert to 0/1 (nullable Int8), recording non-binary values as a problem."""
    words = pd.Series(_by_value(series, lambda v: _text(v).lower()), index=series.index)
    missing = words.isna() | words.eq("")
    ones = words.isin(_TRUE_WORDS)
    zeros = words.isin(_FALSE_WORDS)
    bad = ~(ones | zeros | missing)
    if bad.any():
        problems.append(
            Problem(
                column,
                "values are not 0/1",
                int(bad.sum()),
                _rows(bad),
                _examples(series, bad),
                f"recode them in the mapping file, e.g. [values.{column}] Y = 1 and N = 0",
            )
        )
    if missing.any() and not allow_missing:
        problems.append(
            Problem(
                column,
                "values are missing" if column != OUTCOME else "the outcome is missing",
                int(missing.sum()),
                _rows(missing),
                fix=(
                    "every person needs a proven-reoffending outcome (0/1); drop people whose follow-up is not complete"
                    if column == OUTCOME
                    else "record the flag, or load with missing_flags='absent' (not recorded = 0) or 'keep'"
                ),
            )
        )
    out = pd.Series(pd.NA, index=series.index, dtype="Int8")
    out[ones.to_numpy()] = 1
    out[zeros.to_numpy()] = 0
    return out


def _categorical(series: pd.Series, column: str, problems: list[Problem]) -> pd.Series:
    text = pd.Series(_by_value(series, _text), index=series.index)
    missing = text.isna() | text.eq("")
    text = text.where(~missing, None)
    if missing.any():
        problems.append(
            Problem(column, "values are missing", int(missing.sum()), _rows(missing), fix=f"every row needs a {column}; fill it or drop the rows")
        )
    allowed = CATEGORIES.get(column)
    if allowed is None:
        levels = sorted(text[~missing].unique())
        return pd.Series(pd.Categorical(text.where(~missing, None), categories=levels), index=series.index, name=column)
    lookup = {a.lower(): a for a in allowed}
    canonical = pd.Series(_by_value(text, lambda v: lookup.get(v.lower(), v)), index=text.index)
    unknown = ~missing & ~canonical.isin(allowed)
    if unknown.any():
        shown = ", ".join(allowed[:8]) + (" ..." if len(allowed) > 8 else "")
        problems.append(
            Problem(
                column,
                "values are not known categories",
                int(unknown.sum()),
                _rows(unknown),
                _examples(series, unknown),
                f"recode them in the mapping file under [values.{column}] to one of: {shown} (see data/data_dictionary.csv)",
            )
        )
    return pd.Series(pd.Categorical(canonical.where(~unknown & ~missing, None), categories=list(allowed)), index=series.index, name=column)


def validate_cohort(frame: pd.DataFrame, *, source: str = "cohort", missing_flags: str = "absent") -> pd.DataFrame:
    """Validate and type a frame that already uses the canonical column names.

    Parameters
    ----------
    frame
        One row per person and period, canonical column names (see ``analysis.schema``).
    source
        A name for the data, used in the error message.
    missing_flags
        Policy for flags that are not recorded: ``"absent"``, ``"keep"`` or ``"error"``.

    Returns
    -------
    pandas.DataFrame
        Typed cohort: ``reoffended`` and flags as integers (nullable ``Int8`` for
        flags under ``"keep"``), case mix as categoricals, ``expected`` as float.
        ``attrs["not_recorded"]`` counts not-recorded flags; ``attrs["missing_flags"]``
        names the policy.

    Raises
    ------
    CohortError
        Listing every problem found.

    Examples
    --------
    >>> import pandas as pd
    >>> row = dict(reoffended=1, dv=0, child_protection=0, mental_health=1, substance_misuse=0,
    ...            homeless=0, unemployed=1, area="Dudley", sex="Male", age_band="25-29",
    ...            offence_group="violence", period="2015-10/2016-09")
    >>> validate_cohort(pd.DataFrame([row]))["mental_health"].tolist()
    [1]
    """
    if missing_flags not in MISSING_FLAG_POLICIES:
        raise ValueError(f"missing_flags must be one of {MISSING_FLAG_POLICIES}, not {missing_flags!r}")
    problems: list[Problem] = []
    absent = [c for c in REQUIRED if c not in frame.columns]
    if absent:
        problems.append(
            Problem(
                ", ".join(absent),
                f"required column{'s are' if len(absent) > 1 else ' is'} missing (the file has: {', '.join(map(str, frame.columns[:15]))}{' ...' if frame.shape[1] > 15 else ''})",
                fix="rename your columns in the mapping file's [columns] section, or derive them in [derive]",
            )
        )
    out = frame.reset_index(drop=True).copy()
    not_recorded: dict[str, int] = {}

    if OUTCOME in out:
        out[OUTCOME] = _binary(out[OUTCOME], OUTCOME, problems, allow_missing=False)
    for flag in FLAGS:
        if flag not in out:
            continue
        values = _binary(out[flag], flag, problems, allow_missing=missing_flags != "error")
        not_recorded[flag] = int(values.isna().sum())
        if missing_flags == "absent":
            values = values.fillna(0)
        out[flag] = values
    for col in CASEMIX:
        if col in out:
            out[col] = _categorical(out[col], col, problems)

    if "expected" in out:
        raw = out["expected"]
        expected = pd.to_numeric(raw, errors="coerce")
        missing = _is_missing(raw)
        not_number = expected.isna() & ~missing
        outside = expected.notna() & ~expected.between(0, 1)
        if not_number.any():
            problems.append(Problem("expected", "values are not numbers", int(not_number.sum()), _rows(not_number), _examples(raw, not_number), "give the expected probability as a number between 0 and 1"))
        if outside.any():
            problems.append(Problem("expected", "probabilities are outside [0, 1]", int(outside.sum()), _rows(outside), _examples(raw, outside), "give probabilities (0-1), not percentages; divide a percentage by 100 in the extract"))
        if missing.any():
            problems.append(Problem("expected", "values are missing", int(missing.sum()), _rows(missing), fix="supply an expected probability for every row, or drop the column and use a case-mix model"))
        out["expected"] = expected.astype(float)
    if "reoffences" in out:
        raw = out["reoffences"]
        counts = pd.to_numeric(raw, errors="coerce")
        missing = _is_missing(raw)
        bad = ~missing & (counts.isna() | (counts < 0) | (counts % 1 != 0))
        if bad.any():
            problems.append(Problem("reoffences", "values are not whole numbers >= 0", int(bad.sum()), _rows(bad), _examples(raw, bad), "give the count of proven re-offences per person"))
        if OUTCOME in out and not bad.any():
            y = out[OUTCOME]
            inconsistent = counts.notna() & y.notna() & ((counts > 0) != (y == 1))
            if inconsistent.any():
                problems.append(Problem("reoffences", "disagrees with reoffended (re-offences > 0 exactly when reoffended = 1)", int(inconsistent.sum()), _rows(inconsistent), fix="check that both columns come from the same follow-up"))
        out["reoffences"] = counts.astype("Int64")
    if "person_id" in out and "period" in out:
        pid = out["person_id"].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else _text(v))
        key = pd.DataFrame({"person_id": pid, "period": out["period"].astype(object)})
        dup = key.duplicated(keep=False) & pid.notna()
        if dup.any():
            problems.append(
                Problem(
                    "person_id, period",
                    "the same person appears more than once in a period",
                    int(dup.sum()),
                    _rows(dup),
                    _examples(pid, dup),
                    "keep one row per person and cohort period (the first index event in the period)",
                )
            )
        out["person_id"] = pid

    if problems:
        raise CohortError(source, problems)
    out[OUTCOME] = out[OUTCOME].astype("int8")
    if missing_flags != "keep":
        for flag in FLAGS:
            out[flag] = out[flag].astype("int8")
    out.attrs["source"] = source
    out.attrs["missing_flags"] = missing_flags
    out.attrs["not_recorded"] = not_recorded
    return out


# --------------------------------------------------------------------------- public entry point


def _apply_values(frame: pd.DataFrame, values: Mapping[str, Mapping[str, Any]], problems: list[Problem]) -> None:
    for column, recode in values.items():
        if column not in frame:
            problems.append(Problem(column, "the mapping recodes a column that is not in the data", fix=f"rename a column to '{column}' in [columns], or remove [values.{column}]"))
            continue
        table = {str(k).strip(): v for k, v in recode.items()}
        frame[column] = pd.Series(_by_value(frame[column], lambda v: table.get(_text(v), v)), index=frame.index)


def load_cohort(
    path: str | Path,
    mapping: str | Path | Mapping[str, Any] | None = None,
    *,
    missing_flags: str | None = None,
) -> pd.DataFrame:
    """Read a cohort extract (CSV or Parquet), map it to the canonical schema and validate it.

    Parameters
    ----------
    path
        A ``.csv`` or ``.parquet`` file, one row per person and cohort period.
    mapping
        A TOML mapping file (or the same structure as a dict): ``[columns]``
        renames, ``[values.<column>]`` recodes, ``[derive]`` builds a column from
        an expression over the user's columns, ``[options]`` sets ``missing_flags``.
    missing_flags
        Policy for flags that are not recorded (``"absent"``, ``"keep"``,
        ``"error"``); overrides the mapping's option. Default ``"absent"``.

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
    >>> sorted(cohort["area"].cat.categories)  # doctest: +SKIP
    ['Dudley', 'Sandwell', 'Walsall', 'Wolverhampton']
    """
    path = Path(path)
    spec = dict(mapping) if isinstance(mapping, Mapping) else read_mapping(mapping)
    frame = _read_table(path)
    problems: list[Problem] = []

    derived = _derive(frame, spec.get("derive", {}), problems)
    renames = {str(k): str(v) for k, v in spec.get("columns", {}).items()}
    not_there = [k for k in renames if k not in frame.columns]
    if not_there:
        problems.append(
            Problem(
                ", ".join(not_there),
                "the mapping renames column(s) that are not in the file",
                fix=f"use the file's own column names ({', '.join(map(str, frame.columns[:15]))})",
            )
        )
    frame = frame.rename(columns=renames)
    for target, values in derived.items():
        frame[target] = values
    _apply_values(frame, spec.get("values", {}), problems)

    policy = missing_flags or spec.get("options", {}).get("missing_flags", "absent")
    if policy not in MISSING_FLAG_POLICIES:
        problems.append(Problem("(options)", f"missing_flags = {policy!r} is not a policy", fix=f"use one of {', '.join(MISSING_FLAG_POLICIES)}"))
        policy = "absent"
    try:
        cohort = validate_cohort(frame, source=str(path), missing_flags=policy)
    except CohortError as err:
        raise CohortError(str(path), problems + err.problems) from None
    if problems:
        raise CohortError(str(path), problems)
    extra = [c for c in cohort if c not in REQUIRED and c not in OPTIONAL]
    keep = [c for c in (*REQUIRED, *OPTIONAL) if c in cohort] + extra
    result = cohort[keep].copy()
    if extra:  # other columns pass through; those that are wholly numeric become numbers
        numeric = _numeric_view(result[extra])
        for column in extra:
            result[column] = numeric[column]
    result.attrs.update(cohort.attrs)
    return result
