"""The expression language of [derive] and [filter]: what it computes, how it reports mistakes,
that no string in a mapping can run code or touch files, and a property test against pandas."""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import re
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from analysis import CohortError, load_cohort
from analysis.expressions import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    Expression,
    ExpressionError,
    evaluate,
    evaluate_column,
    evaluate_mask,
    parse_expression,
)

REPO = Path(__file__).resolve().parents[1]


def _list(series: pd.Series) -> list:
    """Values as plain Python, None for missing (whatever the dtype)."""
    out = []
    for v in series.astype(object):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
            out.append(None)
        elif isinstance(v, (np.bool_, bool)):
            out.append(bool(v))
        elif isinstance(v, (np.integer, np.floating)):
            out.append(float(v))
        else:
            out.append(v)
    return out


@pytest.fixture
def frame() -> pd.DataFrame:
    """Like a CSV read as text: numbers, Y/N, dates (ISO and UK), text with numbers, a boolean column."""
    return pd.DataFrame(
        {
            "age": ["19", "34", None, "25"],
            "Days Employed Pct": ["20", "75", "", "49.5"],
            "dv": ["Y", "N", "y", " "],
            "released": ["2016-01-31", "31/03/2016", "not a date", None],
            "arrested": ["2016-02-29", "2016-04-30", "2017-01-01", "2017-01-01"],
            "convictions": ["10 or more", "  3.5 days", "none", "1,234"],
            "code": ["0101", "0102", "0201", None],
            "drugs": ["0", "2", None, "0"],
            "alcohol": ["1", "0", "0", None],
            "flag": pd.array([True, False, None, True], dtype="boolean"),
        }
    )


# --------------------------------------------------------------------------- the grammar


@pytest.mark.parametrize(
    "text, expected",
    [
        ("`Days Employed Pct` < 50", [True, False, None, True]),
        ("age >= 25", [False, True, None, True]),
        ("18 <= age < 30", [True, False, None, True]),  # chained
        ("dv == 'Y'", [True, False, False, None]),  # exact, blank is missing
        ('dv != "Y"', [False, True, True, None]),
        ("dv in ['Y', 'y']", [True, False, True, None]),
        ("age not in [19, 25]", [False, True, None, False]),
        ("age in []", [False, False, None, False]),
        ("code == '0101'", [True, False, False, None]),  # a number column read from text compares as its text
        ("startswith(code, '01')", [True, True, False, None]),
        ("drugs > 0 or alcohol > 0", [True, True, None, None]),  # Kleene: True or missing is True
        ("drugs > 0 and alcohol > 0", [False, False, False, False]),  # False and missing is False
        ("drugs > 0 | alcohol > 0", [True, True, None, None]),  # & | ~ with the precedence of and/or/not
        ("drugs > 0 & alcohol > 0", [False, False, False, False]),
        ("drugs > 0 and alcohol == 0", [False, True, None, False]),
        ("~(dv == 'Y')", [False, True, True, None]),
        ("not dv == 'Y'", [False, True, True, None]),
        ("(drugs > 0) + (alcohol > 0)", [1.0, 1.0, None, None]),  # conditions count as 0/1
        ("age + 1", [20.0, 35.0, None, 26.0]),
        ("age - 30", [-11.0, 4.0, None, -5.0]),
        ("age * 2", [38.0, 68.0, None, 50.0]),
        ("age / 2", [9.5, 17.0, None, 12.5]),
        ("age // 10", [1.0, 3.0, None, 2.0]),
        ("age % 10", [9.0, 4.0, None, 5.0]),
        ("age ** 2", [361.0, 1156.0, None, 625.0]),
        ("age ** -1 * 19", [1.0, 19 / 34, None, 19 / 25]),
        ("-age", [-19.0, -34.0, None, -25.0]),
        ("age / (drugs * 0)", [None, None, None, None]),  # division by zero is missing
        ("abs(age - 30)", [11.0, 4.0, None, 5.0]),
        ("round(`Days Employed Pct` / 3, 1)", [6.7, 25.0, None, 16.5]),
        ("round(age / 10)", [2.0, 3.0, None, 2.0]),  # 2.5 -> 2: halves to even
        ("clip(age, 20, 30)", [20.0, 30.0, None, 25.0]),
        ("where(age < 25, 'young', 'older')", ["young", "older", None, "older"]),
        ("where(flag, age, 0)", [19.0, 0.0, None, 25.0]),
        ("where(isna(age), -1, age)", [19.0, 34.0, -1.0, 25.0]),
        ("isna(age)", [False, False, True, False]),
        ("notna(dv)", [True, True, True, False]),
        ("contains(convictions, 'or')", [True, False, False, False]),
        ("startswith(convictions, ' ')", [False, True, False, False]),
        ("lower(dv) == 'y'", [True, False, True, None]),
        ("upper(dv)", ["Y", "N", "Y", None]),
        ("strip(convictions)", ["10 or more", "3.5 days", "none", "1,234"]),
        ("number(convictions)", [10.0, 3.5, None, 1234.0]),
        ("number(age) + 1", [20.0, 35.0, None, 26.0]),
        ("year(released)", [2016.0, 2016.0, None, None]),
        ("month(released)", [1.0, 3.0, None, None]),
        ("month(arrested)", [2.0, 4.0, 1.0, 1.0]),
        ("date(released) >= '2016-02-01'", [False, True, None, None]),
        ("date(released) < '01/03/2016'", [True, False, None, None]),
        ("date(arrested) in ['2017-01-01']", [False, False, True, True]),
        ("months_between(released, arrested)", [1.0, 1.0, None, None]),
        ("flag", [True, False, None, True]),  # a column alone is copied
        ("not flag", [False, True, None, False]),
        ("flag == True", [True, False, None, True]),
        ("flag or age > 30", [True, True, None, True]),
        ("'2013-2015'", ["2013-2015"] * 4),  # a bare constant fills every row
        ("-2.5", [-2.5] * 4),
        ("True", [True] * 4),
        ("`dv`", ["Y", "N", "y", " "]),  # copied unchanged
    ],
)
def test_allowed_forms(frame, text, expected):
    result = _list(evaluate(text, frame))
    assert len(result) == len(expected)
    for got, want in zip(result, expected):
        if isinstance(want, float) and got is not None:
            assert got == pytest.approx(want), text
        else:
            assert got == want, text
    assert evaluate(text, frame).index.equals(frame.index)


def test_kinds_of_results(frame):
    assert str(evaluate("age > 20", frame).dtype) == "boolean"
    assert str(evaluate("age + 1", frame).dtype) == "Int64"  # whole numbers
    assert str(evaluate("age / 2", frame).dtype) == "Float64"
    assert isinstance(evaluate("lower(dv)", frame).dtype, pd.CategoricalDtype)  # text, one entry per distinct value
    assert pd.api.types.is_datetime64_any_dtype(evaluate("date(released)", frame).dtype)
    assert evaluate("age", frame).equals(frame["age"])  # copied as it is: text stays text


def test_column_names_that_are_keywords_functions_or_odd_are_backticked(frame):
    odd = frame.assign(**{"year": ["2016", "2017", None, "2018"], "class": ["a", "b", "a", "b"], "2015 count": ["1", "2", "3", "4"], "a&b|c~d": ["1", "0", "1", "0"]})
    assert _list(evaluate("year > 2016", odd)) == [False, True, None, True]  # a column, not the function, when not called
    assert _list(evaluate("year(arrested) == `year`", odd)) == [True, False, None, False]
    assert _list(evaluate("`class` == 'a'", odd)) == [True, False, True, False]
    assert _list(evaluate("`2015 count` >= 3", odd)) == [False, False, True, True]
    assert _list(evaluate("`a&b|c~d` == 1 & `class` == 'a'", odd)) == [True, False, True, False]
    assert _list(evaluate("contains(dv, '`') or contains(dv, '#@&|~')", odd)) == [False, False, False, None]  # symbols inside text are text


def test_multiline_expressions_and_parquet_types():
    frame = pd.DataFrame(
        {
            "a": [1, 2, 3],
            "b": [True, False, True],
            "when": pd.to_datetime(["2016-01-31", "2016-05-01", None]),
            "cat": pd.Categorical(["x", "y", None]),
            "objnum": pd.Series([1, None, 2.5], dtype=object),
        }
    )
    assert _list(evaluate("a > 1\n  and b", frame)) == [False, False, True]
    assert _list(evaluate("year(when) + month(when)", frame)) == [2017.0, 2021.0, None]
    assert _list(evaluate("when < '2016-03-01'", frame)) == [True, False, None]
    assert _list(evaluate("cat == 'y'", frame)) == [False, True, None]
    assert _list(evaluate("objnum * 2", frame)) == [2.0, None, 5.0]
    assert _list(evaluate("months_between(when, '2017-02-28')", frame)) == [13.0, 9.0, None]  # 31 Jan + 13 months = 28 Feb


def test_months_between_counts_whole_months_as_documented():
    doc = (REPO / "docs" / "expressions.md").read_text(encoding="utf-8")
    table = re.findall(r"^\| (\d{4}-\d\d-\d\d) \| (\d{4}-\d\d-\d\d) \| (-?\d+) \|$", doc, flags=re.M)
    assert len(table) >= 5
    frame = pd.DataFrame({"a": [a for a, _, _ in table], "b": [b for _, b, _ in table]})
    assert _list(evaluate("months_between(a, b)", frame)) == [float(m) for _, _, m in table]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)), st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)), st.booleans()), min_size=1, max_size=20))
def test_months_between_and_date_parts_agree_with_dateutil(pairs):
    frame = pd.DataFrame(
        {
            "a": [a.isoformat() for a, _, _ in pairs],
            "b": [b.strftime("%d/%m/%Y") if uk else b.isoformat() for _, b, uk in pairs],
        }
    )
    expected = [float(relativedelta(b, a).years * 12 + relativedelta(b, a).months) for a, b, _ in pairs]
    assert _list(evaluate("months_between(a, b)", frame)) == expected
    assert _list(evaluate("year(b) * 100 + month(b)", frame)) == [float(b.year * 100 + b.month) for _, b, _ in pairs]


def test_dates_on_many_rows_agree_with_dateutil():
    """Above a few thousand rows the calendar is looked up per day of the span; same answers."""
    rng = np.random.default_rng(3)
    start = dt.date(2014, 1, 1)
    a = [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 2000, 6000)]
    b = [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 2000, 6000)]
    frame = pd.DataFrame({"a": [d.isoformat() for d in a], "b": [d.strftime("%d/%m/%Y") for d in b]})
    months = evaluate("months_between(a, b)", frame).to_numpy(dtype=float)
    assert months.tolist() == [float(relativedelta(y, x).years * 12 + relativedelta(y, x).months) for x, y in zip(a, b)]
    assert evaluate("year(a) * 100 + month(a)", frame).tolist() == [d.year * 100 + d.month for d in a]


def test_number_reads_the_leading_number():
    frame = pd.DataFrame({"x": ["10 or more", "  3.5 days", "none", "-2", "+.5", "1,234 days", "12,5", "£10", "3. ", "", None]})
    assert _list(evaluate("number(x)", frame)) == [10.0, 3.5, None, -2.0, 0.5, 1234.0, 12.0, None, 3.0, None, None]


def test_missing_values_follow_the_documented_rules():
    f = pd.DataFrame({"t": pd.array([True, True, False, False, None, None, True, False, None], dtype="boolean"),
                      "u": pd.array([True, None, False, None, True, None, False, True, False], dtype="boolean"),
                      "x": [1.0, None, 3.0, 4.0, None, 6.0, 7.0, 8.0, 9.0]})
    t, u = f["t"], f["u"]
    assert _list(evaluate("t and u", f)) == _list(t & u)  # pandas' Kleene logic
    assert _list(evaluate("t or u", f)) == _list(t | u)
    assert _list(evaluate("not t", f)) == _list(~t)
    assert _list(evaluate("isna(x)", f)) == [False, True, False, False, True, False, False, False, False]
    assert _list(evaluate("where(t, x, 0)", f)) == [1.0, None, 0.0, 0.0, None, None, 7.0, 0.0, None]
    assert _list(evaluate("x ** 0", f)) == [1.0, None, 1.0, 1.0, None, 1.0, 1.0, 1.0, 1.0]  # missing stays missing (pandas says 1)


# --------------------------------------------------------------------------- derive, filter


def test_evaluate_column_makes_conditions_0_1_and_keeps_other_values(frame):
    flag = evaluate_column("`Days Employed Pct` < 50", frame)
    assert str(flag.dtype) == "Int8" and _list(flag) == [1.0, 0.0, None, 1.0]
    assert _list(evaluate_column("flag", frame)) == [1.0, 0.0, None, 1.0]
    assert _list(evaluate_column("age * 2", frame)) == [38.0, 68.0, None, 50.0]
    assert _list(evaluate_column("where(age < 25, 'young', 'older')", frame)) == ["young", "older", None, "older"]
    assert _list(evaluate_column("code", frame)) == ["0101", "0102", "0201", None]  # leading zeros kept
    assert _list(evaluate_column("1", frame)) == [1.0] * 4


def test_evaluate_mask_drops_missing_and_counts_it(frame):
    keep = evaluate_mask("age >= 25", frame)
    assert keep.dtype == bool and keep.tolist() == [False, True, False, True]
    assert keep.attrs["n_missing"] == 1
    assert evaluate_mask("isna(age) or age >= 25", frame).tolist() == [False, True, True, True]
    assert evaluate_mask("drugs", frame.assign(drugs=["0", "1", None, "1"])).tolist() == [False, True, False, True]  # 0/1 numbers
    for text, construct in [("age", "a filter that gives numbers"), ("lower(dv)", "a filter that gives texts"), ("True", "a constant as a filter")]:
        with pytest.raises(ExpressionError) as info:
            evaluate_mask(text, frame)
        assert info.value.construct == construct and "condition" in info.value.hint


def test_parsed_expressions_are_reused_and_checked_against_the_frame(frame):
    parsed = parse_expression("`Days Employed Pct` < 50 and dv == 'Y'", frame.columns)
    assert isinstance(parsed, Expression) and parsed.columns == ("Days Employed Pct", "dv")
    assert _list(evaluate(parsed, frame)) == [True, False, False, None]
    with pytest.raises(ExpressionError, match="not a column of this data"):
        evaluate(parsed, frame.drop(columns="dv"))


def test_derive_through_load_cohort_keeps_kinds(rows, write_csv):
    raw = rows.rename(columns={"area": "LDU", "expected": "OGRS3 pct"}).drop(columns=["unemployed", "period"])
    raw["LDU"] = "  " + raw["LDU"].str.lower() + " "
    raw["OGRS3 pct"] = (raw["OGRS3 pct"] * 100).round(2)
    raw["Days Employed Pct"] = np.where(rows["unemployed"] == 1, 10, 90)
    raw["age"] = np.arange(len(raw)) + 18
    mapping = {
        "derive": {
            "area": "strip(LDU)",  # text stays text (then validated against the areas)
            "expected": "`OGRS3 pct` / 100",  # numbers stay numbers
            "unemployed": "`Days Employed Pct` < 50",  # a condition becomes 0/1
            "period": "'2015-10/2016-09'",  # a constant column
            "band": "where(age < 25, 'young', 'older')",  # an extra column, kept
        },
        "values": {"area": {"dudley": "Dudley", "sandwell": "Sandwell", "walsall": "Walsall", "wolverhampton": "Wolverhampton"}},
    }
    cohort = load_cohort(write_csv(raw), mapping)
    assert cohort["area"].astype(str).tolist() == rows["area"].tolist()
    np.testing.assert_allclose(cohort["expected"], rows["expected"], atol=1e-9)
    assert cohort["unemployed"].tolist() == rows["unemployed"].tolist()
    assert set(cohort["period"].astype(str)) == {"2015-10/2016-09"}
    assert cohort["band"].astype(str).tolist() == ["young"] * 7 + ["older"] * 13


def test_a_derived_flag_is_missing_only_where_its_condition_is(rows, write_csv):
    raw = rows.drop(columns="unemployed")
    raw["drugs"] = ["1", "0", None, None] + ["0"] * (len(raw) - 4)
    raw["alcohol"] = ["0", None, "1", None] + ["0"] * (len(raw) - 4)
    kept = load_cohort(write_csv(raw), {"derive": {"unemployed": "drugs > 0 or alcohol > 0"}}, missing_flags="keep")
    assert _list(kept["unemployed"])[:5] == [1.0, None, 1.0, None, 0.0]
    assert kept.attrs["not_recorded"]["unemployed"] == 2


@pytest.mark.parametrize(
    "expression, phrase",
    [
        ("1 > 0", "uses no column, so it gives the same value for every row"),
        ("'reoffended' == 1", "uses no column"),
        ("dv == dv", "compares dv with itself"),
        ("where(dv == 1, 1, 1)", "gives the same value whether the condition holds or not"),
        ("expected - expected", "combines expected with itself"),
        ("'area'", "also the name of a column"),
    ],
)
def test_an_expression_that_cannot_differ_between_rows_is_an_error(rows, write_csv, expression, phrase):
    with pytest.raises(CohortError) as info:
        load_cohort(write_csv(rows), {"derive": {"unemployed": expression}})
    problem = [p for p in info.value.problems if p.column == "unemployed"][0]
    assert repr(expression) in problem.message and phrase in problem.message


# --------------------------------------------------------------------------- errors that say what to write


@pytest.mark.parametrize(
    "text, construct, hint",
    [
        ("dv.str.contains('Y')", "a method call (.contains)", "write contains(dv, 'Y')"),
        ("dv.str.startswith('Y')", "a method call (.startswith)", "write startswith(dv, 'Y')"),
        ("age.isna()", "a method call (.isna)", "write isna(age)"),
        ("`Days Employed Pct`.isnull()", "a method call (.isnull)", "write isna(`Days Employed Pct`)"),
        ("dv.isin(['Y', 'y'])", "a method call (.isin)", "write dv in ['Y', 'y']"),
        ("released.dt.year", "attribute access (.year)", "write year(released)"),
        ("1 if dv == 'Y' else 0", "'... if ... else ...'", "write where(dv == 'Y', 1, 0)"),
        ("agee > 18", "the name 'agee'", "did you mean age?"),
        ("AGE > 18", "the name 'AGE'", "did you mean age?"),
        ("Days_Employed_Pct < 50", "the name 'Days_Employed_Pct'", "did you mean `Days Employed Pct`?"),
        ("`Days Employed` < 50", "the column name `Days Employed`", "did you mean `Days Employed Pct`?"),
        ("Days Employed Pct < 50", "invalid syntax", "in backticks: `Days Employed Pct`"),
        ("dv = 'Y'", "invalid syntax", "compare with =="),
        ("isnul(age)", "a call to 'isnul'", "did you mean isna?"),
        ("int(age) > 3", "a call to 'int'", "write number(x)"),
        ("any([drugs > 0, alcohol > 0])", "a call to 'any'", "write a > 0 or b > 0 or c > 0"),
        ("isna", "the function name 'isna' without brackets", "call it: isna(x)"),
        ("age == None", "None", "isna(x) or notna(x)"),
        ("age is None", "'is' / 'is not'", "isna(x)"),
        ("dv + 1 > 2", "arithmetic (+) of text", "use number(dv)"),
        ("convictions > 5", "a comparison of text with numbers", "use number(convictions) > 5"),
        ("age > '5'", "a comparison of text with numbers", "write the number without quotes: age > 5"),
        ("dv and age > 3", "and of text", "e.g. dv == 'Y'"),
        ("age or dv == 'Y'", "or of numbers other than 0 and 1", "e.g. age > 0"),
        ("year(age)", "year() of numbers", "date column"),
        ("date(released) > '2016-31-01'", "the text '2016-31-01' as a date", "2016-03-31 or 31/03/2016"),
        ("where(age > 3, 'a', 1)", "where() with text and number choices", "give two values of one kind"),
        ("contains(dv, age)", "contains() with age as its text", "give the text in quotes"),
        ("round(age, 0.5)", "round() with 0.5 digits", "whole number"),
        ("clip(age, 50, 10)", "clip() with low above high", "clip(age, 10, 50)"),
        ("clip(age, 0, age)", "clip() with the bound age", "numbers"),
        ("where(age > 3, 1)", "where() with 2 arguments", "where(condition, a, b)"),
        ("round(x=age)", "a named argument in round()", "in order"),
        ("dv in [1, 'Y']", "a list mixing number and text values", "one kind"),
        ("dv in ['Y'] == True", "'in' inside a chain of comparisons", "joined with and"),
        ("age in dv", "'in' followed by dv", "square brackets"),
        ("age in [1, 2] + [3]", "'in' followed by [1, 2] + [3]", "square brackets"),
        ("dv in [age]", "the list element age", "values written out"),
        ("age ^ 2 > 1", "the ^ operator", "** raises to a power"),
        ("age ** age", "the exponent age (** needs a number written out)", "e.g. x ** 2"),
        ("age ** 101", "the exponent 101", "at most 100"),
        ("`age", "an unclosed backtick", "second backtick"),
        ("", "an empty expression", "x == 'Y'"),
    ],
)
def test_a_refused_construct_says_what_to_write_instead(frame, text, construct, hint):
    with pytest.raises(ExpressionError) as info:
        evaluate(text, frame)
    err = info.value
    assert err.construct == construct
    assert hint in err.hint
    assert err.expression == text
    message = str(err)
    assert repr(text)[1:-1] in message or f'"{text}"' in message
    assert "Fix:" in message and "isna, notna" in message and "docs/expressions.md" in message  # the allowed forms


def test_the_cohort_error_names_column_expression_construct_and_fix(rows, write_csv):
    with pytest.raises(CohortError) as info:
        load_cohort(write_csv(rows), {"derive": {"unemployed": "area.str.contains('Dud')", "homeless": "dv = 'Y'"}})
    err = info.value
    first = [p for p in err.problems if p.column == "unemployed"][0]
    assert first.message == "the derive expression \"area.str.contains('Dud')\" uses a method call (.contains), which is not allowed"
    assert first.fix.startswith("write contains(area, 'Dud'). Expressions may use column names")
    assert [p for p in err.problems if p.column == "homeless"][0].fix.startswith("compare with ==")
    assert "Traceback" not in str(err)


def test_non_text_derive_values(rows, write_csv):
    cohort = load_cohort(write_csv(rows.drop(columns="unemployed")), {"derive": {"unemployed": 0}})
    assert (cohort["unemployed"] == 0).all()
    with pytest.raises(CohortError, match="is not text"):
        load_cohort(write_csv(rows), {"derive": {"unemployed": ["dv"]}})


def test_limits():
    with pytest.raises(ExpressionError, match="too long"):
        parse_expression(" or ".join(["isna(a)"] * (MAX_LENGTH // 8 + 1)), ["a"])
    deep = "a" + " + a" * (MAX_DEPTH - 2)
    parse_expression(deep, ["a"])
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_expression(deep + " + a" * 2, ["a"])
    parse_expression("a ** 100 + a ** -100 + a ** 0.5", ["a"])


# --------------------------------------------------------------------------- no string in a mapping can run code


CANARY = "pwned_canary.txt"

# Each pattern is written to run `touch {CANARY_PATH}` or write {CANARY_PATH} if it ever ran
# (and the relative name in the working directory). {CMD} and {PATH} are filled in per test.
ESCAPES: dict[str, str] = {
    "issue_14_globals": "area.__class__.__init__.__globals__['np'].testing._private.utils.os.system('{CMD}') == 0",
    "subclasses": "().__class__.__bases__[0].__subclasses__()[-1].__init__.__globals__['__builtins__']['__import__']('os').system('{CMD}')",
    "subclasses_warnings": "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]()._module.__builtins__['__import__']('os').system('{CMD}')",
    "mro_object": "area.__class__.__mro__[-1].__subclasses__()",
    "builtins_subscript": "__builtins__['__import__']('os').system('{CMD}')",
    "builtins_attribute": "__builtins__.__import__('os').system('{CMD}')",
    "getattr": "getattr(getattr(__import__('os'), 'system'), '__call__')('{CMD}')",
    "getattr_dunder_string": "getattr(area, '__cla' + 'ss__')",
    "eval_by_name": "eval(\"__import__('os').system('{CMD}')\")",
    "exec_by_name": "exec(\"import os; os.system('{CMD}')\")",
    "import_by_name": "__import__('os').system('{CMD}')",
    "open_by_name": "open('{PATH}', 'w').write('x')",
    "compile_by_name": "compile('1', '{PATH}', 'eval')",
    "globals_locals_vars": "globals()['__builtins__'] or vars() or locals()",
    "breakpoint": "breakpoint()",
    "format_method": "'{0.__class__.__init__.__globals__}'.format(area) == 'x'",
    "format_method_no_dunder": "'{0}'.format(area) == 'x'",
    "fstring": "f\"{__import__('os').system('{CMD}')}\" == '0'",
    "fstring_plain": "f'{area}' == 'x'",
    "percent_format": "'%s' % __import__('os').system('{CMD}')",
    "percent_format_column": "'%s' % area == 'x'",
    "at_local": "@os.system('{CMD}')",
    "at_local_in_comparison": "area == @__import__('os').system('{CMD}')",
    "matmul": "area @ area",
    "lambda": "(lambda: __import__('os').system('{CMD}'))()",
    "lambda_default": "(lambda x=__import__('os').system('{CMD}'): x)()",
    "list_comprehension": "[__import__('os').system('{CMD}') for _ in [1]]",
    "generator": "any(__import__('os').system('{CMD}') for _ in [1])",
    "generator_bare": "(x for x in area)",
    "dict_comprehension": "{k: __import__('os').system('{CMD}') for k in [1]}",
    "walrus": "(s := __import__('os').system('{CMD}'))",
    "walrus_column": "(area := 1) > 0",
    "starred": "isna(*[__import__('os').system('{CMD}')])",
    "starred_list": "area in [*area]",
    "subscript": "area[0] == 'D'",
    "subscript_slice": "area[::-1] == 'D'",
    "method_to_csv_writes_a_file": "area.to_csv('{PATH}') == 1",
    "method_to_pickle": "area.to_pickle('{PATH}')",
    "pandas_name": "pd.read_pickle('{PATH}')",
    "numpy_name": "np.testing._private.utils.os.system('{CMD}')",
    "os_name": "os.system('{CMD}')",
    "huge_power": "10**10**10 > area",
    "huge_power_literal": "2 ** 9999999 > 1",
    "huge_text_repetition": "'a' * 10**9 == area",
    "huge_text_repetition_reversed": "10**9 * 'a' == area",
    "huge_list_repetition": "area in [1] * 10**9",
    "deep_parentheses": "(" * 300 + "area" + ")" * 300 + " == 'x'",
    "deep_calls": "abs(" * 60 + "expected" + ")" * 60 + " > 0",
    "deep_unary": "not " * 400 + "isna(area)",
    "deep_sum": " + ".join(["expected"] * 60) + " > 0",
    "very_long": " or ".join(["isna(area)"] * 2000),
    "unicode_eval": "ｅｖａｌ(\"__import__('os').system('{CMD}')\")",
    "unicode_import": "__ｉｍｐｏｒｔ__('os').system('{CMD}')",
    "unicode_dunder": "area.__ｃｌａｓｓ__ == 1",
    "unicode_column_lookalike": "ａｒｅａ == 'Dudley'",
    "backtick_code": "`area` + `__import__('os').system('{CMD}')`",
    "backtick_quote": "`area'` == 'x'",
    "backtick_breaks_out": "`area') or __import__('os').system('{CMD}') or ('`",
    "backtick_unclosed": "`area == 'x'",
    "backtick_inside_text_then_code": "'`' == __import__('os').system('{CMD}') == '`'",
    "semicolon_statement": "isna(area); __import__('os').system('{CMD}')",
    "newline_statement": "isna(area)\nimport os",
    "comment_smuggling": "isna(area) # __import__('os').system('{CMD}')",
    "null_byte": "isna(area)\x00__import__('os')",
    "yield": "(yield __import__('os').system('{CMD}'))",
    "await": "await area",
    "if_expression": "__import__('os').system('{CMD}') if 1 else 0",
    "dict_literal": "{}.__class__",
    "type_call": "type(area).__subclasses__(type(area))",
    "loader": "__loader__.load_module('os').system('{CMD}')",
    "bytes_literal": "b'x' == area",
}


_AUDIT: list[tuple[str, tuple]] | None = None
_WATCHED = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "subprocess.Popen", "pty.spawn",
            "ctypes.", "exec", "builtins.input", "pickle.find_class", "marshal.load", "os.remove", "os.rename", "shutil.", "socket.")


def _audit_hook(event: str, args: tuple) -> None:
    if _AUDIT is None:
        return
    if event == "open":
        path, mode, flags = (list(args) + [None, None, None])[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if writing or CANARY in str(path):
            _AUDIT.append((event, args))
    elif event.startswith(_WATCHED):
        _AUDIT.append((event, args))


sys.addaudithook(_audit_hook)  # process-wide and permanent, but it records only while _AUDIT is a list


@pytest.fixture
def extract(rows, write_csv, tmp_path, monkeypatch):
    """A valid extract, a working directory of its own, and the audit log switched on around each load."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    path = write_csv(rows.assign(np=1, pd=2, os=3))  # columns named like modules must not help either
    load_cohort(path, {"derive": {"unemployed": "isna(area)"}})  # warm up: lazy imports happen here, not under audit
    return path


def _payload(pattern: str, canary: Path) -> str:
    return pattern.replace("{CMD}", f"touch {canary} {CANARY}").replace("{PATH}", str(canary))


@pytest.mark.parametrize("name", list(ESCAPES))
def test_no_escape_pattern_runs(name, extract, tmp_path):
    global _AUDIT
    canary = tmp_path / CANARY
    expression = _payload(ESCAPES[name], canary)
    _AUDIT = []
    try:
        with pytest.raises(CohortError) as info:
            load_cohort(extract, {"derive": {"unemployed": expression}})
        events, _AUDIT = _AUDIT, None
    finally:
        _AUDIT = None
    problem = [p for p in info.value.problems if p.column == "unemployed"]
    assert len(problem) == 1 and "the derive expression" in problem[0].message and problem[0].fix
    assert not canary.exists() and not (Path.cwd() / CANARY).exists() and not (REPO / CANARY).exists()
    assert events == [], events
    with pytest.raises(ExpressionError):  # refused by the checker, before any evaluation
        parse_expression(expression, ["area", "expected", "np", "pd", "os"])


def test_the_escape_list_covers_the_issue():
    assert len(ESCAPES) >= 20
    text = " ".join(ESCAPES.values())
    for needle in ("__globals__", "__builtins__", "__subclasses__", "getattr(", "eval(", "exec(", "__import__(", "open(",
                   ".format(", "f\"", "'%s' %", "@", "lambda", " for ", ":=", "*[", "[0]", "10**10**10", "'a' * 10**9",
                   "[1] * 10**9", "((((", "abs(abs(", "ｅｖａｌ", "`area'`"):
        assert needle in text, needle


def test_the_audit_hook_would_see_an_escape(tmp_path):
    """The hook is not blind: an os.system call and a file write are both recorded."""
    global _AUDIT
    _AUDIT = []
    try:
        os.system("true")
        (tmp_path / "written.txt").write_text("x")
        events, _AUDIT = _AUDIT, None
    finally:
        _AUDIT = None
    assert [e for e, _ in events if e == "os.system"] and [e for e, _ in events if e == "open"]


def test_no_eval_exec_or_pandas_eval_in_the_package():
    for path in (REPO / "src" / "analysis").glob("*.py"):
        code = path.read_text(encoding="utf-8")
        for pattern in (r"(?<![\w.])eval\(", r"(?<![\w.])exec\(", r"(?<![\w.])compile\(", r"\.eval\(", r"\.query\("):
            hits = [line for line in code.splitlines() if re.search(pattern, line) and not line.lstrip().startswith((">>>", "#"))]
            assert not hits, f"{path.name}: {hits}"


# --------------------------------------------------------------------------- every documented expression works


def _toml_blocks(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    return [tomllib.loads(block) for block in re.findall(r"```toml\n(.*?)```", text, flags=re.S)]


def _docs_sample() -> pd.DataFrame:
    text = (REPO / "docs" / "expressions.md").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    start = next(i for i, line in enumerate(lines) if line.startswith("| person |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 1 :]:
        if not line.startswith("| P"):
            break
        rows.append([c.strip() or None for c in line.strip("|").split("|")])
    return pd.DataFrame(rows, columns=header, dtype=object)


def test_every_expression_in_the_docs_readme_and_example_mapping_works():
    sample = _docs_sample()
    assert len(sample) == 3
    checked = 0
    for source in (REPO / "docs" / "expressions.md", REPO / "README.md", REPO / "examples" / "mapping.toml"):
        blocks = [tomllib.loads(source.read_text(encoding="utf-8"))] if source.suffix == ".toml" else _toml_blocks(source)
        if source.name == "README.md":  # its worked example is the rearrest study, checked against that file below
            blocks = [b for b in blocks if "study" not in b]
        for block in blocks:
            for target, expression in block.get("derive", {}).items():
                assert len(evaluate_column(expression, sample)) == 3, (source.name, target)
                checked += 1
            for target, expression in block.get("filter", {}).items():
                assert len(evaluate_mask(expression, sample)) == 3, (source.name, target)
                checked += 1
    assert checked >= 15
    readme_study = next(b for b in _toml_blocks(REPO / "README.md") if "study" in b)
    study = tomllib.loads((REPO / "examples" / "rearrest" / "study.toml").read_text(encoding="utf-8"))
    for section, keys in readme_study.items():
        for key, value in keys.items():
            assert study[section][key] == value, (section, key)  # the README quotes the example as it is
    d = {k: v for block in _toml_blocks(REPO / "docs" / "expressions.md") for k, v in block.get("derive", {}).items()}
    assert _list(evaluate_column(d["substance_misuse"], sample)) == [1.0, 0.0, 1.0]  # P3: 1 because of drugs, alcohol missing
    assert _list(evaluate_column(d["arrested_within_36_months"], sample)) == [1.0, None, 0.0]
    assert _list(evaluate_column(d["homeless"], sample)) == [1.0, 0.0, None]
    assert _list(evaluate_column(d["dv"], sample)) == [1.0, 0.0, 1.0]
    assert _list(evaluate_column(d["previous"], sample)) == [10.0, 2.0, None]
    assert _list(evaluate_column(d["arrested_within_a_year"], sample)) == [1.0, 0.0, 0.0]
    assert _list(evaluate_column(d["area"], sample)) == ["01901", "01902", "01901"]  # the later recipe: a copy


def test_the_docs_error_example_is_what_load_cohort_says(rows, write_csv):
    doc = (REPO / "docs" / "expressions.md").read_text(encoding="utf-8")
    shown = re.search(r"```\n(column 'dv': .*?)\n(Fix: .*?)\.\.\.", doc, flags=re.S)
    assert shown
    with pytest.raises(CohortError) as info:
        load_cohort(write_csv(rows.assign(dv_text="Y")), {"derive": {"dv": "dv_text.str.contains('Y')"}})
    said = [p.describe() for p in info.value.problems if p.column == "dv"][0]
    assert said.startswith(shown.group(1).strip())
    assert shown.group(2).split("(in backticks")[0] in said


def test_functions_are_documented():
    doc = (REPO / "docs" / "expressions.md").read_text(encoding="utf-8")
    for name in FUNCTIONS:
        assert f"`{name}(" in doc, name


# --------------------------------------------------------------------------- property: the evaluator agrees with pandas


TEXTS = ["Y", "y", "N", " a ", "b", "10 or more", "  3.5 days", "none", "-2 x", ""]


def _leading(s: pd.Series) -> pd.Series:
    """Reference for number(): pandas' own regex extraction (the texts here have no thousands commas)."""
    return pd.to_numeric(s.str.extract(r"^\s*([+-]?\d+(?:\.\d+)?)", expand=False)).astype("Float64")


@dataclass
class Gen:
    """A generated expression: its text, its kind and a reference computed with pandas."""

    text: str
    kind: str  # num, bool, text
    ref: Callable[[dict[str, pd.Series]], pd.Series]
    uses: bool


def _fin(s: pd.Series) -> pd.Series:
    """Float64 with every non-finite value missing (the language's rule for arithmetic)."""
    s = s.astype("Float64")
    values = s.to_numpy(dtype="float64", na_value=np.nan)
    return s.mask(~np.isfinite(values))


def _const(value: Any, dtype: Any) -> Callable[[dict], pd.Series]:
    return lambda cols: pd.Series([value] * cols["_n"], index=cols["_index"], dtype=dtype)


@functools.cache
def _tree(depth: int):
    """Strategy for (num | bool | text) Gen of at most ``depth`` levels."""

    def leaf_num():
        return st.one_of(
            st.sampled_from(["n1", "n2"]).map(lambda c: Gen(c, "num", lambda cols, c=c: cols[c], True)),
            st.sampled_from([0, 1, 2, 3, -1, 0.5, 2.5, 10]).map(lambda v: Gen(repr(v), "num", _const(float(v), "Float64"), False)),
        )

    def leaf_bool():
        return st.one_of(
            st.just(Gen("b1", "bool", lambda cols: cols["b1"], True)),
            st.sampled_from([True, False]).map(lambda v: Gen(repr(v), "bool", _const(v, "boolean"), False)),
        )

    def leaf_text():
        return st.one_of(
            st.sampled_from(["t1", "t2"]).map(lambda c: Gen(c, "text", lambda cols, c=c: cols[c], True)),
            st.sampled_from(["Y", "b", "10 or more", "zz"]).map(lambda v: Gen(repr(v), "text", _const(v, pd.StringDtype("python")), False)),
        )

    if depth <= 0:
        return {"num": leaf_num(), "bool": leaf_bool(), "text": leaf_text()}
    sub = _tree(depth - 1)
    num, boolean, text = sub["num"], sub["bool"], sub["text"]

    def differ(a: Gen, b: Gen) -> bool:
        return a.text != b.text

    arith = st.tuples(num, st.sampled_from(["+", "-", "*", "/", "//", "%"]), num).filter(lambda t: differ(t[0], t[2]) or t[1] in "+*").map(
        lambda t: Gen(f"({t[0].text}) {t[1]} ({t[2].text})", "num",
                      lambda cols, a=t[0], op=t[1], b=t[2]: _fin(_binary(op, a.ref(cols).astype("Float64"), b.ref(cols).astype("Float64"))), t[0].uses or t[2].uses))
    power = st.tuples(num, st.sampled_from([0, 1, 2, 3, -1, 0.5])).map(
        lambda t: Gen(f"({t[0].text}) ** {t[1]}", "num", lambda cols, a=t[0], k=t[1]: _fin(a.ref(cols) ** k).mask(a.ref(cols).isna()), t[0].uses))
    bool_as_num = st.tuples(boolean, num).map(
        lambda t: Gen(f"({t[0].text}) + ({t[1].text})", "num", lambda cols, a=t[0], b=t[1]: _fin(a.ref(cols).astype("Float64") + b.ref(cols)), t[0].uses or t[1].uses))
    negate = num.map(lambda a: Gen(f"-({a.text})", "num", lambda cols, a=a: -a.ref(cols), a.uses))
    absolute = num.map(lambda a: Gen(f"abs({a.text})", "num", lambda cols, a=a: a.ref(cols).abs(), a.uses))
    rounded = st.tuples(num, st.sampled_from([0, 1, 2])).map(
        lambda t: Gen(f"round({t[0].text}, {t[1]})", "num", lambda cols, a=t[0], k=t[1]: a.ref(cols).round(k), t[0].uses))
    clipped = st.tuples(num, st.sampled_from([(-1, 1), (0, 2.5), (0, 0)])).map(
        lambda t: Gen(f"clip({t[0].text}, {t[1][0]}, {t[1][1]})", "num", lambda cols, a=t[0], lh=t[1]: a.ref(cols).clip(lh[0], lh[1]), t[0].uses))
    number = text.map(lambda a: Gen(f"number({a.text})", "num", lambda cols, a=a: _leading(a.ref(cols)), a.uses))

    def where(kind: str, choices):
        def ref(cols, c, a, b):
            cond, x, y = c.ref(cols), a.ref(cols), b.ref(cols)
            out = y.copy()
            take = cond.fillna(False).to_numpy(dtype=bool)
            out[take] = x[take]
            return out.mask(cond.isna().to_numpy())

        return st.tuples(boolean, choices, choices).filter(lambda t: differ(t[1], t[2])).map(
            lambda t: Gen(f"where({t[0].text}, {t[1].text}, {t[2].text})", kind, lambda cols, t=t: ref(cols, *t), t[0].uses or t[1].uses or t[2].uses))

    compare_num = st.tuples(num, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), num).filter(lambda t: differ(t[0], t[2])).map(
        lambda t: Gen(f"({t[0].text}) {t[1]} ({t[2].text})", "bool", lambda cols, t=t: _binary(t[1], t[0].ref(cols), t[2].ref(cols)), t[0].uses or t[2].uses))
    chained = st.tuples(num, num, num).filter(lambda t: differ(t[0], t[1]) and differ(t[1], t[2])).map(
        lambda t: Gen(f"({t[0].text}) < ({t[1].text}) <= ({t[2].text})", "bool",
                      lambda cols, t=t: (t[0].ref(cols) < t[1].ref(cols)) & (t[1].ref(cols) <= t[2].ref(cols)), any(g.uses for g in t)))
    compare_text = st.tuples(text, st.sampled_from(["==", "!=", "<", ">="]), text).filter(lambda t: differ(t[0], t[2])).map(
        lambda t: Gen(f"({t[0].text}) {t[1]} ({t[2].text})", "bool", lambda cols, t=t: _binary(t[1], t[0].ref(cols), t[2].ref(cols)), t[0].uses or t[2].uses))
    compare_bool = st.tuples(boolean, st.sampled_from(["==", "!="]), st.one_of(boolean, num)).filter(lambda t: differ(t[0], t[2])).map(
        lambda t: Gen(f"({t[0].text}) {t[1]} ({t[2].text})", "bool",
                      lambda cols, t=t: _binary(t[1], t[0].ref(cols).astype("Float64"), t[2].ref(cols).astype("Float64")), t[0].uses or t[2].uses))
    member_text = st.tuples(text, st.booleans(), st.lists(st.sampled_from(TEXTS), max_size=3)).map(
        lambda t: Gen(f"({t[0].text}) {'not in' if t[1] else 'in'} {t[2]!r}", "bool",
                      lambda cols, t=t: _member(t[0].ref(cols), t[2], t[1]), t[0].uses))
    member_num = st.tuples(num, st.booleans(), st.lists(st.sampled_from([0, 1, 2.5, -1]), max_size=3)).map(
        lambda t: Gen(f"({t[0].text}) {'not in' if t[1] else 'in'} {t[2]!r}", "bool",
                      lambda cols, t=t: _member(t[0].ref(cols), t[2], t[1]), t[0].uses))
    logic = st.tuples(boolean, st.sampled_from(["and", "or", "&", "|"]), boolean).map(
        lambda t: Gen(f"({t[0].text}) {t[1]} ({t[2].text})", "bool",
                      lambda cols, t=t: (t[0].ref(cols) & t[2].ref(cols)) if t[1] in ("and", "&") else (t[0].ref(cols) | t[2].ref(cols)), t[0].uses or t[2].uses))
    negation = st.tuples(st.sampled_from(["not ", "~"]), boolean).map(
        lambda t: Gen(f"{t[0]}({t[1].text})", "bool", lambda cols, a=t[1]: ~a.ref(cols), t[1].uses))
    missingness = st.tuples(st.sampled_from(["isna", "notna"]), st.one_of(num, text, boolean)).map(
        lambda t: Gen(f"{t[0]}({t[1].text})", "bool",
                      lambda cols, t=t: (t[1].ref(cols).isna() if t[0] == "isna" else t[1].ref(cols).notna()).astype("boolean"), t[1].uses))
    searching = st.tuples(st.sampled_from(["contains", "startswith"]), text, st.sampled_from(["Y", " ", "or", "b", ""])).map(
        lambda t: Gen(f"{t[0]}({t[1].text}, {t[2]!r})", "bool",
                      lambda cols, t=t: (t[1].ref(cols).str.contains(t[2], regex=False) if t[0] == "contains" else t[1].ref(cols).str.startswith(t[2])).astype("boolean"), t[1].uses))
    tidy = st.tuples(st.sampled_from(["lower", "upper", "strip"]), text).map(
        lambda t: Gen(f"{t[0]}({t[1].text})", "text", lambda cols, t=t: getattr(t[1].ref(cols).str, t[0])(), t[1].uses))

    return {
        "num": st.one_of(leaf_num(), arith, power, bool_as_num, negate, absolute, rounded, clipped, number, where("num", num)),
        "bool": st.one_of(leaf_bool(), compare_num, chained, compare_text, compare_bool, member_text, member_num, logic, negation, missingness, searching, where("bool", boolean)),
        "text": st.one_of(leaf_text(), tidy, where("text", text)),
    }


def _binary(op: str, a: pd.Series, b: pd.Series) -> pd.Series:
    import operator as o

    return {"+": o.add, "-": o.sub, "*": o.mul, "/": o.truediv, "//": o.floordiv, "%": o.mod,
            "==": o.eq, "!=": o.ne, "<": o.lt, "<=": o.le, ">": o.gt, ">=": o.ge}[op](a, b)


def _member(s: pd.Series, items: list, negate: bool) -> pd.Series:
    hit = s.isin(items).astype("boolean")
    return (~hit if negate else hit).mask(s.isna())


@st.composite
def frames(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 8))
    number = st.one_of(st.none(), st.sampled_from([0.0, 1.0, -1.0, 2.5, 3.0, -0.5, 10.0, 7.25]))
    n1 = draw(st.lists(number, min_size=n, max_size=n))
    n2 = draw(st.lists(number, min_size=n, max_size=n))
    texts = st.one_of(st.none(), st.sampled_from(TEXTS))
    return pd.DataFrame(
        {
            "n1": [None if v is None else repr(v) for v in n1],  # numbers as text, as from a CSV
            "n2": pd.array(n2, dtype="float64"),  # numbers as numbers, missing as NaN
            "t1": ["Y"] + draw(st.lists(texts, min_size=n - 1, max_size=n - 1)),  # always a word: a text column
            "t2": draw(st.lists(texts, min_size=n, max_size=n)),
            "b1": pd.array(draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n)), dtype="boolean"),
        },
        index=pd.RangeIndex(10, 10 + n),  # not 0..n-1: results must follow the frame's index
    )


def _reference_columns(frame: pd.DataFrame) -> dict[str, Any]:
    def text(s: pd.Series) -> pd.Series:
        s = s.astype(pd.StringDtype("python"))
        return s.mask(s.str.strip() == "")

    return {
        "_n": len(frame),
        "_index": frame.index,
        "n1": _fin(pd.to_numeric(frame["n1"])),
        "n2": _fin(frame["n2"]),
        "t1": text(frame["t1"]),
        "t2": text(frame["t2"]),
        "b1": frame["b1"],
    }


_EXPRESSIONS = st.integers(0, 3).flatmap(lambda d: st.sampled_from(["num", "bool", "text"]).flatmap(lambda k: _tree(d)[k]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(frame=frames(), gen=_EXPRESSIONS)
def test_property_the_evaluator_agrees_with_pandas(frame, gen):
    assume(gen.uses and gen.text not in ("n1", "n2", "t1", "t2", "b1"))  # a column alone is copied, not computed
    got = evaluate(gen.text, frame)
    want = gen.ref(_reference_columns(frame))
    assert got.index.equals(frame.index)
    got_values, want_values = _list(got), _list(pd.Series(want, index=frame.index))
    for g, w in zip(got_values, want_values, strict=True):
        if isinstance(w, float) and g is not None:
            assert g == pytest.approx(w, rel=1e-12, abs=1e-12), (gen.text, got_values, want_values)
        else:
            assert g == w, (gen.text, got_values, want_values)
    # the same expression through [derive] and [filter]
    column = evaluate_column(gen.text, frame)
    if gen.kind == "bool":
        assert _list(column) == [None if w is None else float(w) for w in want_values]
        assert evaluate_mask(gen.text, frame).tolist() == [w is True for w in want_values]
