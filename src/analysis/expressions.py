"""The expression language of mapping and study files: a safe, typed, vectorised subset of Python.

A mapping's ``[derive]`` section (and a study file's ``[filter]``) holds
expressions over the columns of an extract, written by analysts and shared
between them. Such a string must never run code, so it is not handed to
``eval`` or ``DataFrame.eval``: :func:`parse_expression` parses it with
:mod:`ast` and checks every node against a whitelist *before anything runs*,
and the evaluator here computes the few allowed operations itself, over whole
columns with numpy. docs/expressions.md is the reference for analysts.

Grammar
-------
=====================  ==================================================
column names           ``age``, or in backticks: ```Days Employed Pct```
literals               ``50``, ``-1.5``, ``'Y'``, ``"Y"``, ``True``, ``False``
comparisons            ``== != < <= > >=``, chained: ``18 <= age < 25``
logic                  ``and or not``; ``& | ~`` mean the same (with the
                       precedence of ``and or not``, as in pandas)
arithmetic             ``+ - * / // % **`` (numbers only; the exponent is a
                       number written out, at most 100 in size)
membership             ``x in ['a', 'b']``, ``x not in [1, 2]``
functions              see :data:`FUNCTIONS`
=====================  ==================================================

Everything else (attribute access, subscripts, other calls, lambdas,
comprehensions, f-strings, ``@`` variables, walrus, starred arguments, names
that are not columns) is refused with an :class:`ExpressionError` that names
the expression and the construct and says what to write instead. An
expression is at most :data:`MAX_LENGTH` characters and :data:`MAX_DEPTH`
levels deep.

Values and missing values
-------------------------
Each value is a number, a text, a condition (true/false) or a date. A column
is a number column when it holds numbers, or text whose every non-blank value
is a number; a condition column when it holds booleans; a date column when it
holds dates; otherwise text. Blank text is missing. Where an operation needs
text (a comparison with text, ``in`` with texts, the text functions), a
number column read from text is used as the text in the file.

Comparisons, arithmetic and functions give missing where an input is missing
(division by zero and results too large to hold are missing too); ``and``,
``or`` and ``not`` follow three-valued (Kleene) logic, so ``False and
missing`` is false and ``True or missing`` is true; ``isna`` and ``notna`` are
never missing; ``where(c, a, b)`` is missing where ``c`` is missing. A number
column holding only 0, 1 and missing may be used as a condition.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"Days Employed Pct": ["20", "75", None], "dv": ["Y", "N", "Y"]})
>>> evaluate("`Days Employed Pct` < 50 or dv == 'Y'", frame).tolist()
[True, False, True]
>>> parse_expression("dv.str.contains('Y')", frame.columns)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
analysis.expressions.ExpressionError: the expression "dv.str.contains('Y')" uses a method call (.contains), which is not allowed. Fix: write contains(dv, 'Y'). ...
"""

from __future__ import annotations

import ast
import datetime as _dt
import difflib
import keyword
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NoReturn, cast

import numpy as np
import pandas as pd

__all__ = [
    "ALLOWED",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "Expression",
    "ExpressionError",
    "evaluate",
    "evaluate_column",
    "evaluate_mask",
    "parse_expression",
]

MAX_LENGTH = 2000
"""The longest expression accepted, in characters."""
MAX_DEPTH = 50
"""The deepest expression accepted: levels of nesting of its syntax tree."""
MAX_EXPONENT = 100
"""The largest exponent (in absolute value) after ``**``; the exponent must be a number written out."""

FUNCTIONS: Mapping[str, str] = MappingProxyType({
    "isna": "isna(x): true where x is missing (never missing itself)",
    "notna": "notna(x): true where x is recorded (never missing itself)",
    "abs": "abs(x): the absolute value of a number",
    "round": "round(x) or round(x, digits): rounded to whole numbers or to digits decimals (halves to even)",
    "clip": "clip(x, low, high): x limited to the range low to high (numbers written out)",
    "where": "where(condition, a, b): a where the condition is true, b where it is false",
    "contains": 'contains(x, "text"): true where the text x contains "text" (exact case)',
    "startswith": 'startswith(x, "text"): true where the text x starts with "text" (exact case)',
    "lower": "lower(x): the text in lower case",
    "upper": "upper(x): the text in upper case",
    "strip": "strip(x): the text without spaces at either end",
    "number": 'number(x): the number a text starts with ("10 or more" -> 10, "none" -> missing)',
    "year": "year(x): the year of a date (text as 2016-03-31 or 31/03/2016)",
    "month": "month(x): the month (1-12) of a date",
    "date": "date(x): a text such as 2016-03-31 or 31/03/2016 (day first) as a date",
    "months_between": "months_between(a, b): whole months from date a to date b",
})
"""The functions an expression may call, each with its signature and meaning (read-only)."""

_ARITY: dict[str, tuple[int, int]] = {
    "isna": (1, 1), "notna": (1, 1), "abs": (1, 1), "round": (1, 2), "clip": (3, 3), "where": (3, 3),
    "contains": (2, 2), "startswith": (2, 2), "lower": (1, 1), "upper": (1, 1), "strip": (1, 1),
    "number": (1, 1), "year": (1, 1), "month": (1, 1), "date": (1, 1), "months_between": (2, 2),
}

ALLOWED = (
    "expressions may use column names (in backticks when they have spaces: `Days Employed Pct`), "
    "numbers, 'text', True and False, comparisons (== != < <= > >=, also chained), "
    "and / or / not (or & | ~), + - * / // % **, x in [values], and the functions "
    + ", ".join(FUNCTIONS)
    + " (see docs/expressions.md)"
)
"""A one-sentence summary of the language, used in every error."""

NUMBER, BOOL, TEXT, DATE = "number", "condition", "text", "date"

_EPOCH = _dt.date(1970, 1, 1)
_ISO_DATE = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?\s*$", re.DOTALL)
_UK_DATE = re.compile(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})(?:\s.*)?\s*$", re.DOTALL)
_LEADING_NUMBER = re.compile(r"\s*([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[+-]?\.\d+)")


# --------------------------------------------------------------------------- errors


class ExpressionError(ValueError):
    """An expression was refused or cannot be evaluated on this data.

    Attributes
    ----------
    expression : str
        The expression as written.
    construct : str
        What was refused, e.g. ``"attribute access (.str)"`` or ``"the name 'agee'"``.
    hint : str
        What to write instead.
    message : str
        The problem, as a phrase that follows the expression (``"uses ..."``).
    """

    def __init__(self, expression: str, construct: str, hint: str, message: str | None = None) -> None:
        self.expression = expression
        self.construct = construct
        self.hint = hint
        self.message = message or f"uses {construct}, which is not allowed"
        super().__init__(str(self))

    def __str__(self) -> str:
        hint = self.hint if self.hint.endswith(("?", "!", ".")) else self.hint + "."
        return f"the expression {_quote(self.expression)} {self.message}. Fix: {hint} {ALLOWED[0].upper()}{ALLOWED[1:]}."

    def __reduce__(self):  # keep the fields through pickling (e.g. multiprocessing)
        return (type(self), (self.expression, self.construct, self.hint, self.message))


def _quote(text: str) -> str:
    """The expression in double quotes (as in a TOML file), or repr when it holds a double quote."""
    return f'"{text}"' if '"' not in text and "\\" not in text and text.isprintable() else repr(text)


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Expression:
    """A parsed and checked expression, ready to evaluate on any frame with its columns.

    Made by :func:`parse_expression`; ``columns`` lists the columns it reads, in order
    of first use; ``literal`` is true for a bare constant such as ``'2013-2015'`` or ``1``.
    """

    text: str
    tree: ast.Expression = field(repr=False, compare=False)
    columns: tuple[str, ...]
    names: Mapping[str, str] = field(repr=False, compare=False)
    literal: bool = False


def parse_expression(text: str, columns: Sequence[str]) -> Expression:
    """Parse an expression and check it against the whitelist; nothing is evaluated.

    Parameters
    ----------
    text
        The expression, e.g. ```Days Employed Pct` < 50``.
    columns
        The names of the columns it may use. A backticked name must be one of them.

    Returns
    -------
    Expression
        The checked expression; pass it to :func:`evaluate`, :func:`evaluate_column`
        or :func:`evaluate_mask`.

    Raises
    ------
    ExpressionError
        For anything outside the language, a name that is not a column, an
        expression longer than :data:`MAX_LENGTH` or deeper than :data:`MAX_DEPTH`,
        and an expression that cannot differ between rows (it uses no column,
        or compares an expression with itself) other than a bare constant.

    Examples
    --------
    >>> e = parse_expression("`Days Employed Pct` < 50 and age >= 18", ["Days Employed Pct", "age"])
    >>> e.columns
    ('Days Employed Pct', 'age')
    >>> parse_expression("agee > 18", ["age"]).columns  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analysis.expressions.ExpressionError: the expression "agee > 18" uses the name 'agee', which is not a column. Fix: did you mean age? ...
    """
    if not isinstance(text, str):
        raise ExpressionError(repr(text), "a value that is not text", "write the expression as text in quotes", "is not text")
    if not text.strip():
        raise ExpressionError(text, "an empty expression", "write an expression such as x == 'Y'", "is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            text[:60] + "...",
            f"an expression of {len(text):,} characters",
            f"keep it under {MAX_LENGTH:,} characters: derive parts in separate columns, or recode values in [values.<column>]",
            f"is too long ({len(text):,} characters; at most {MAX_LENGTH:,})",
        )
    names = [str(c) for c in columns]
    scanned, placeholders = _scan(text, names)
    source = scanned.strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(text, "invalid syntax", _syntax_hint(text, names), f"is not a valid expression ({exc.msg})") from None
    except (ValueError, MemoryError, RecursionError, OverflowError) as exc:
        raise ExpressionError(text, "an expression Python cannot read", "write a shorter, simpler expression", f"cannot be read ({type(exc).__name__})") from None
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionError(
            text,
            f"nesting deeper than {MAX_DEPTH} levels",
            "split it: derive parts in separate columns, or write fewer brackets",
            f"is nested too deeply (more than {MAX_DEPTH} levels)",
        )
    checker = _Checker(text, source, names, placeholders)
    uses_column = checker.check(tree.body)
    literal = _is_literal(tree.body)
    if literal and isinstance(tree.body, ast.Constant) and isinstance(tree.body.value, str):
        same = [c for c in names if c.strip().lower() == tree.body.value.strip().lower()]
        if same:
            raise ExpressionError(
                text,
                f"the text '{tree.body.value}', which is also a column name",
                f"to copy the column write {_name(same[0])} without quotes; for a constant column choose a value that is not a column name",
                f"is the text '{tree.body.value}', which is also the name of a column (a constant, not the column)",
            )
    if not uses_column and not literal:
        raise ExpressionError(text, "an expression that uses no column", _constant_hint(tree.body, names, checker), "uses no column, so it gives the same value for every row")
    return Expression(text, tree, tuple(dict.fromkeys(checker.used)), dict(checker.resolved), literal)


def _scan(text: str, columns: Sequence[str]) -> tuple[str, dict[str, str]]:
    """Prepare the text for ast: backticked names become placeholder identifiers.

    Outside string literals, ```name``` is replaced by an identifier that cannot
    occur in the text, ``& | ~`` by ``and or not`` (pandas' precedence) and line
    breaks by spaces; ``@`` and ``#`` are refused. The content of backticks never
    reaches the parser, so it cannot inject code.
    """
    prefix = "_c"
    while prefix in text or any(c.startswith(prefix) for c in columns):
        prefix += "_"
    out: list[str] = []
    placeholders: dict[str, str] = {}
    column_set = set(columns)
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":
            quote = text[i : i + 3] if text[i : i + 3] in ("'''", '"""') else ch
            j = i + len(quote)
            while j < n and not text.startswith(quote, j):
                j += 2 if text[j] == "\\" else 1
            j = min(j + len(quote), n)
            out.append(text[i:j])
            i = j
        elif ch == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise ExpressionError(text, "an unclosed backtick", "close the column name with a second backtick: `Days Employed Pct`", "has a backtick (`) that is not closed")
            name = text[i + 1 : j]
            if name not in column_set and name.strip() in column_set:
                name = name.strip()
            if name not in column_set:
                if any(q in name for q in "'\"\\\n\r") or not name.isprintable():
                    raise ExpressionError(
                        text,
                        f"the backticked name {name!r}, which holds quotes or control characters and is not a column",
                        "put exactly one column name of the file between two backticks",
                        f"uses the backticked name {name!r}, which is not a column",
                    )
                raise ExpressionError(text, f"the column name `{name}`", _unknown_name_hint(name, columns), f"uses `{name}`, which is not a column")
            if _name(name) == name:  # a plain identifier: written bare, so `age` and age are the same name
                out.append(f" {name} ")
            else:  # one placeholder per column, so `a b` == `a b` is seen as a self-comparison
                placeholder = next((k for k, v in placeholders.items() if v == name), f"{prefix}{len(placeholders)}")
                placeholders[placeholder] = name
                out.append(f" {placeholder} ")
            i = j + 1
        elif ch == "@":
            raise ExpressionError(
                text,
                "an @ variable (or the @ operator)",
                "write the value itself, e.g. x > 50; expressions see only the file's columns",
                "uses @, which is not allowed",
            )
        elif ch == "#":
            raise ExpressionError(text, "a comment (#)", "put comments after the quoted expression in the TOML file", "uses #, which is not allowed")
        else:
            out.append(_REPLACED.get(ch, ch))
            i += 1
    return "".join(out), placeholders


# pandas' reading of & | ~ (as and / or / not, with their precedence); line breaks as spaces
_REPLACED = {"&": " and ", "|": " or ", "~": " not ", "\r": " ", "\n": " ", "\t": " ", "\f": " ", "\v": " "}


def _depth(tree: ast.AST) -> int:
    """Depth of the syntax tree (iteratively, so a pathological tree cannot exhaust the stack)."""
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node) if isinstance(child, (ast.expr, ast.comprehension, ast.keyword, ast.arg, ast.arguments)))
    return deepest


def _is_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) and isinstance(node.operand, ast.Constant) and _is_number(node.operand.value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _literal_value(node: ast.AST) -> Any:
    """The value of a literal (checked by :func:`_is_literal`)."""
    if isinstance(node, ast.Constant):
        return node.value
    assert isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant)
    # _is_literal let a sign through only before a number; Constant.value is typed as any constant
    return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value  # type: ignore[operator]


def _name(column: str) -> str:
    """A column as written in an expression: bare when it is an identifier, else in backticks."""
    return column if column.isidentifier() and column.isascii() and not keyword.iskeyword(column) and column not in FUNCTIONS else f"`{column}`"


def _unknown_name_hint(name: str, columns: Sequence[str]) -> str:
    folded = [c for c in columns if c.lower() == name.lower() or c.replace(" ", "_").lower() == name.lower()]
    close = folded + [c for c in difflib.get_close_matches(name, list(columns), n=3, cutoff=0.6) if c not in folded]
    if close:
        return "did you mean " + " or ".join(_name(c) for c in close[:3]) + "?"
    shown = ", ".join(_name(c) for c in list(columns)[:12]) + (" ..." if len(columns) > 12 else "")
    return f"use one of the file's columns ({shown})" if columns else "use one of the file's columns"


_NOT_NAMES = {
    "None": "test for missing values with isna(x) or notna(x)",
    "null": "test for missing values with isna(x) or notna(x)",
    "NULL": "test for missing values with isna(x) or notna(x)",
    "NA": "test for missing values with isna(x) or notna(x)",
    "nan": "test for missing values with isna(x) or notna(x)",
    "NaN": "test for missing values with isna(x) or notna(x)",
    "true": "write True", "TRUE": "write True", "false": "write False", "FALSE": "write False",
}
_PYTHON_NAMES = {
    "eval", "exec", "compile", "__import__", "open", "getattr", "setattr", "delattr", "hasattr", "globals", "locals",
    "vars", "dir", "type", "object", "input", "breakpoint", "help", "exit", "quit", "super", "print", "format", "repr",
    "chr", "ord", "bytes", "bytearray", "memoryview", "iter", "next", "id", "hash", "classmethod", "staticmethod",
    "property", "__builtins__", "__loader__", "__spec__", "np", "pd", "numpy", "pandas", "os", "sys", "subprocess",
    "builtins", "importlib", "pathlib", "shutil", "io", "map", "filter", "zip", "enumerate", "sorted", "reversed",
    "issubclass", "isinstance", "callable", "range", "slice", "list", "dict", "set", "tuple", "frozenset",
}
_CALL_HINTS = {
    "int": "number(x)", "float": "number(x)", "to_numeric": "number(x)", "astype": "number(x)",
    "str": "compare the text directly, e.g. x == 'Y'", "len": "contains(x, 'text') or startswith(x, 'text')",
    "any": "a > 0 or b > 0 or c > 0", "all": "a > 0 and b > 0 and c > 0",
    "max": "where(a > b, a, b)", "min": "where(a < b, a, b)", "sum": "a + b + c",
    "isnull": "isna(x)", "notnull": "notna(x)", "isin": "x in ['a', 'b']",
    "to_datetime": "date(x)", "fillna": "where(isna(x), 0, x)", "between": "low <= x <= high",
    "replace": "where(x == 'old', 'new', x)", "iif": "where(condition, a, b)", "ifelse": "where(condition, a, b)",
    "if_else": "where(condition, a, b)", "case": "where(condition, a, where(condition2, b, c))",
    "datediff": "months_between(a, b)", "floor": "x // 1", "sqrt": "x ** 0.5", "title": "lower(x) or upper(x)",
    "endswith": "contains(x, 'text')", "match": "contains(x, 'text') or startswith(x, 'text')",
}
_METHOD_HINTS = {
    "contains": "contains({x}, {args})", "startswith": "startswith({x}, {args})", "lower": "lower({x})",
    "upper": "upper({x})", "strip": "strip({x})", "isna": "isna({x})", "isnull": "isna({x})", "notna": "notna({x})",
    "notnull": "notna({x})", "abs": "abs({x})", "round": "round({x}, {args})", "clip": "clip({x}, {args})",
    "year": "year({x})", "month": "month({x})", "date": "date({x})", "isin": "{x} in {args}",
    "astype": "number({x})", "fillna": "where(isna({x}), {args}, {x})", "between": "low <= {x} <= high",
    "replace": "where({x} == 'old', 'new', {x})", "where": "where(condition, {x}, other)",
}


def _syntax_hint(text: str, columns: Sequence[str]) -> str:
    unquoted = [c for c in columns if not (c.isidentifier() and not keyword.iskeyword(c)) and c in text.replace(f"`{c}`", "")]
    if unquoted:
        return "put column names with spaces or symbols in backticks: " + ", ".join(f"`{c}`" for c in unquoted[:3])
    if re.search(r"(?<![=!<>])=(?!=)", text):
        return "compare with == (a single = is not a comparison)"
    if re.search(r"\bif\b", text):
        return "write where(condition, value_if_true, value_if_false)"
    return "check the brackets and quotes: text goes in quotes ('Y'), column names with spaces in backticks (`Days Employed Pct`)"


def _constant_hint(node: ast.expr, columns: Sequence[str], checker: _Checker) -> str:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            close = [c for c in columns if c.lower() == sub.value.lower()] or difflib.get_close_matches(sub.value, list(columns), n=1, cutoff=0.8)
            if close:
                return f"'{sub.value}' is text in quotes; to use the column write {_name(close[0])} (backticks, not quotes)"
    return "use a column, e.g. x == 'Y'; for a constant column write the value alone, e.g. '2013-2015' or 1"


class _Checker:
    """Walk the syntax tree and refuse everything outside the whitelist (nothing is evaluated)."""

    def __init__(self, text: str, source: str, columns: Sequence[str], placeholders: Mapping[str, str]) -> None:
        self.text = text
        self.source = source
        self.columns = list(columns)
        self.column_set = set(columns)
        self.placeholders = placeholders
        self.used: list[str] = []
        self.resolved: dict[str, str] = {}

    def refuse(self, construct: str, hint: str, message: str | None = None) -> NoReturn:
        raise ExpressionError(self.text, construct, hint, message)

    def show(self, node: ast.AST) -> str:
        return _show(node, self.placeholders)

    def check(self, node: ast.AST) -> bool:
        """Check ``node``; True when it reads a column."""
        method = getattr(self, "check_" + type(node).__name__, None)
        if method is None:
            self.refuse_other(node)
        return method(node)

    # ---- allowed nodes

    def check_Constant(self, node: ast.Constant) -> bool:
        value = node.value
        if isinstance(value, bool) or isinstance(value, str):
            return False
        if isinstance(value, int):
            if abs(value) > 2**53:
                self.refuse(f"the number {str(value)[:20]}...", "write numbers of at most 15 digits", "uses a number too large to hold exactly")
            return False
        if isinstance(value, float):
            if not np.isfinite(value):
                self.refuse(f"the number {self.show(node)}", "write a number that fits (at most about 1e308)", "uses a number too large to hold")
            return False
        if value is None:
            self.refuse("None", "test for missing values with isna(x) or notna(x)")
        if isinstance(value, bytes):
            self.refuse("a bytes literal (b'...')", "write text as 'text' without the b")
        if isinstance(value, complex):
            self.refuse("a complex number", "write a real number such as 1.5")
        self.refuse(f"the constant {self.show(node)}", "write a number, 'text', True or False")

    def check_Name(self, node: ast.Name) -> bool:
        written = ast.get_source_segment(self.source, node)
        if written is not None and written != node.id:
            self.refuse_lookalike(written, node.id)
        if node.id in self.placeholders:
            column = self.placeholders[node.id]
        elif node.id in self.column_set:
            column = node.id
        else:
            name = node.id
            if name in FUNCTIONS:
                self.refuse(f"the function name '{name}' without brackets", f"call it: {FUNCTIONS[name].split(':')[0]}")
            if name in _NOT_NAMES:
                self.refuse(f"the name '{name}'", _NOT_NAMES[name], f"uses the name '{name}', which is not a column")
            if name in _PYTHON_NAMES or name.startswith("__"):
                self.refuse(
                    f"the name '{name}'",
                    "expressions see only the file's columns and the listed functions; use a column name",
                    f"uses the name '{name}', which is not a column (Python names are not available)",
                )
            if name in ("and", "or", "not", "AND", "OR", "NOT"):
                self.refuse(f"the name '{name}'", "write and, or, not in lower case")
            self.refuse(f"the name '{name}'", _unknown_name_hint(name, self.columns), f"uses the name '{name}', which is not a column")
        self.resolved[node.id] = column
        self.used.append(column)
        return True

    def check_UnaryOp(self, node: ast.UnaryOp) -> bool:
        if not isinstance(node.op, (ast.Not, ast.USub, ast.UAdd, ast.Invert)):  # pragma: no cover - no other unary operators exist
            self.refuse(f"the operator {type(node.op).__name__}", "use not, - or +")
        return self.check(node.operand)

    def check_BoolOp(self, node: ast.BoolOp) -> bool:
        return any([self.check(v) for v in node.values])

    _BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**"}

    def check_BinOp(self, node: ast.BinOp) -> bool:
        op = type(node.op)
        if op is ast.MatMult:
            self.refuse("the @ operator", "write the value itself; expressions see only the file's columns")
        if op is ast.BitXor:
            self.refuse("the ^ operator", "write (a or b) and not (a and b) for either but not both; ** raises to a power")
        if op in (ast.LShift, ast.RShift):
            self.refuse("a shift operator (<< or >>)", "use * 2 or // 2, or a comparison such as x > 5")
        if op not in self._BINOPS:  # & and | were read as and / or by _scan, so no other operator remains
            self.refuse(f"the operator {op.__name__}", "use + - * / // % **, and / or / not")
        for side in (node.left, node.right):
            if op is ast.Mult and (isinstance(side, (ast.List, ast.Tuple, ast.Set)) or (isinstance(side, ast.Constant) and isinstance(side.value, str))):
                self.refuse("repetition of a text or list (*)", "* multiplies numbers only; compare text with ==, contains() or startswith()")
        if op is ast.Mod and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
            self.refuse("text formatting with %", "% is the remainder of numbers only; compare text with ==, contains() or startswith()")
        if op is ast.Pow:
            exponent = node.right
            if not (_is_literal(exponent) and _is_number(_literal_value(exponent))):
                self.refuse(
                    f"the exponent {self.show(exponent)} (** needs a number written out)",
                    f"write the exponent as a number of at most {MAX_EXPONENT}, e.g. x ** 2",
                )
            if abs(_literal_value(exponent)) > MAX_EXPONENT:
                self.refuse(f"the exponent {self.show(exponent)}", f"use an exponent of at most {MAX_EXPONENT}", f"uses the exponent {self.show(exponent)}, larger than {MAX_EXPONENT}")
        if op in (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod) and _same(node.left, node.right) and _reads_column(node.left):
            self.refuse(
                f"{self.show(node)} (an expression combined with itself)",
                "check the names: this gives the same value for every row",
                f"combines {self.show(node.left)} with itself ({self.show(node)}), which gives the same value for every row",
            )
        left = self.check(node.left)
        right = self.check(node.right)
        return left or right

    _CMPOPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)

    def check_Compare(self, node: ast.Compare) -> bool:
        uses = self.check(node.left)
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            if isinstance(op, (ast.Is, ast.IsNot)):
                self.refuse("'is' / 'is not'", "use == and != to compare values, and isna(x) / notna(x) for missing values")
            if isinstance(op, (ast.In, ast.NotIn)):
                if len(node.ops) > 1:
                    self.refuse("'in' inside a chain of comparisons", "write the membership test on its own, joined with and: x in [1, 2] and y > 0")
                self.check_list(right)
                if isinstance(left, (ast.List, ast.Tuple, ast.Set)):
                    self.refuse("a list before 'in'", "write the column first: x in ['a', 'b']")
                break
            if _same(left, right) and _reads_column(left):
                self.refuse(
                    f"the comparison of {self.show(left)} with itself",
                    "compare the column with a value or another column, e.g. x == 'Y'",
                    f"compares {self.show(left)} with itself, which gives the same value for every row",
                )
            uses = self.check(right) or uses
            left = right
        return uses

    def check_list(self, node: ast.AST) -> None:
        if not isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            self.refuse(f"'in' followed by {self.show(node)}", "write a list of values in square brackets: x in ['a', 'b']")
        kinds = set()
        for element in node.elts:
            if not _is_literal(element):
                self.refuse(f"the list element {self.show(element)}", "a list holds values written out: x in ['a', 'b'] or x in [1, 2, 3]")
            self.check(element)
            value = _literal_value(element)
            kinds.add(BOOL if isinstance(value, bool) else TEXT if isinstance(value, str) else NUMBER)
        if len(kinds) > 1:
            self.refuse(f"a list mixing {' and '.join(sorted(kinds))} values", "use values of one kind: all text ('1', '2') or all numbers (1, 2)")

    def check_Call(self, node: ast.Call) -> bool:
        func = node.func
        if isinstance(func, ast.Attribute):
            self.refuse_method(node, func)
        if not isinstance(func, ast.Name):
            self.refuse(f"a call of {self.show(func)}", "only the listed functions can be called, by name: isna(x), where(c, a, b), ...")
        name = func.id
        written = ast.get_source_segment(self.source, func)
        if written is not None and written != name:
            self.refuse_lookalike(written, name)
        if name not in FUNCTIONS:
            self.refuse_unknown_function(name)
        if node.keywords:
            self.refuse(f"a named argument in {name}()", f"give the arguments in order: {FUNCTIONS[name].split(':')[0]}")
        if any(isinstance(a, ast.Starred) for a in node.args):
            self.refuse("a starred argument (*)", f"give the arguments one by one: {FUNCTIONS[name].split(':')[0]}")
        low, high = _ARITY[name]
        if not low <= len(node.args) <= high:
            self.refuse(
                f"{name}() with {len(node.args)} argument{'s' if len(node.args) != 1 else ''}",
                f"write {FUNCTIONS[name].split(':')[0]}",
                f"calls {name}() with {len(node.args)} argument{'s' if len(node.args) != 1 else ''}",
            )
        args = node.args
        self.check_call_arguments(name, args)
        return any([self.check(a) for a in args])

    def refuse_unknown_function(self, name: str) -> NoReturn:
        """Refuse a call to a name that is not one of the functions, saying what to write instead."""
        if name in _CALL_HINTS:
            self.refuse(f"a call to '{name}'", f"write {_CALL_HINTS[name]}", f"calls '{name}', which is not one of the functions")
        if name in _PYTHON_NAMES or name.startswith("_") or name in self.column_set:
            self.refuse(
                f"a call to '{name}'",
                "expressions cannot call Python functions; use only " + ", ".join(FUNCTIONS),
                f"calls '{name}', which is not one of the functions",
            )
        close = difflib.get_close_matches(name, list(FUNCTIONS), n=2, cutoff=0.6)
        hint = f"did you mean {' or '.join(close)}?" if close else "use one of " + ", ".join(FUNCTIONS)
        self.refuse(f"a call to '{name}'", hint, f"calls '{name}', which is not one of the functions")

    def check_call_arguments(self, name: str, args: list[ast.expr]) -> None:
        """The checks of one function's arguments beyond their number (text in quotes, literal digits and bounds, ...)."""
        if name in ("contains", "startswith") and not (isinstance(args[1], ast.Constant) and isinstance(args[1].value, str)):
            self.refuse(f"{name}() with {self.show(args[1])} as its text", f"give the text in quotes: {name}({self.show(args[0])}, 'text')")
        if name == "round" and len(args) == 2:
            if not (_is_literal(args[1]) and isinstance(_literal_value(args[1]), int) and not isinstance(_literal_value(args[1]), bool) and abs(_literal_value(args[1])) <= 15):
                self.refuse(f"round() with {self.show(args[1])} digits", f"give the digits as a whole number from -15 to 15: round({self.show(args[0])}, 1)")
        if name == "clip":
            for bound in args[1:]:
                if not (_is_literal(bound) and _is_number(_literal_value(bound))):
                    self.refuse(f"clip() with the bound {self.show(bound)}", "give both bounds as numbers: clip(x, 0, 100)")
            if _literal_value(args[1]) > _literal_value(args[2]):
                self.refuse("clip() with low above high", f"write the lower bound first: clip({self.show(args[0])}, {self.show(args[2])}, {self.show(args[1])})")
        if name == "where" and _same(args[1], args[2]):
            self.refuse("where() with the same value on both branches", "give different values for true and false: where(x > 0, 'yes', 'no')", "gives the same value whether the condition holds or not")
        if name == "months_between" and _same(args[0], args[1]) and _reads_column(args[0]):
            self.refuse("months_between() of a date with itself", "give two different dates: months_between(date_of_release, date_of_arrest)", "measures from a date to itself, which gives 0 for every row")

    # ---- refused nodes, with what to write instead

    def refuse_lookalike(self, written: str, normalised: str) -> NoReturn:
        """Python reads ｅｖａｌ as eval (NFKC); we refuse any name not written as it is read."""
        if normalised in FUNCTIONS:
            hint = f"write the function name in plain letters: {normalised}"
        elif normalised in self.column_set:
            hint = f"write the column name in plain letters ({normalised}) or exactly as in the file between backticks"
        else:
            hint = "write column names exactly as in the file (between backticks when they are not plain letters) and only the listed functions"
        self.refuse(f"the name {written!r}, written with look-alike Unicode characters (read as '{normalised}')", hint)

    def refuse_method(self, call: ast.Call, func: ast.Attribute) -> NoReturn:
        private = _private_attribute(call)
        if private:
            self.refuse(f"attribute access (.{private})", "expressions cannot reach Python internals; use column names and the listed functions")
        base = func.value
        if isinstance(base, ast.Attribute) and base.attr in ("str", "dt"):
            base = base.value
        if func.attr == "format" or (isinstance(base, ast.Constant) and isinstance(base.value, str)):
            self.refuse(f"a method call (.{func.attr})", "text cannot be formatted or called; compare it with ==, contains() or startswith()")
        template = _METHOD_HINTS.get(func.attr)
        args = ", ".join(self.show(a) for a in call.args)
        if template:
            hint = "write " + template.format(x=self.show(base), args=args)
        else:
            hint = "use the listed functions, e.g. contains(x, 'a'), isna(x), lower(x)"
        self.refuse(f"a method call (.{func.attr})", hint)

    def check_Attribute(self, node: ast.Attribute) -> bool:
        private = _private_attribute(node)
        if private:
            self.refuse(f"attribute access (.{private})", "expressions cannot reach Python internals; use column names and the listed functions")
        base = node.value.value if isinstance(node.value, ast.Attribute) and node.value.attr in ("str", "dt") else node.value
        template = _METHOD_HINTS.get(node.attr)
        if template and "{args}" not in template:
            self.refuse(f"attribute access (.{node.attr})", "write " + template.format(x=self.show(base)))
        self.refuse(f"attribute access (.{node.attr})", "use the column by name (in backticks when it has spaces or dots: `a.b`) and the listed functions")

    def check_Subscript(self, node: ast.Subscript) -> bool:
        private = _private_attribute(node)
        if private:
            self.refuse(f"attribute access (.{private})", "expressions cannot reach Python internals; use column names and the listed functions")
        if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            self.refuse("a subscript ([...])", f"to use a column write its name: {_name(node.slice.value)}")
        self.refuse("a subscript ([...])", "use whole columns by name; to take part of a text use startswith() or contains()")

    def check_IfExp(self, node: ast.IfExp) -> bool:
        self.refuse("'... if ... else ...'", f"write where({self.show(node.test)}, {self.show(node.body)}, {self.show(node.orelse)})")

    def check_Lambda(self, node: ast.Lambda) -> bool:
        self.refuse("a lambda", "write the calculation directly over the columns, e.g. where(x > 0, 1, 0)")

    def _comprehension(self, node: ast.AST) -> NoReturn:
        self.refuse("a comprehension or generator (for ... in ...)", "write the conditions out, e.g. a > 0 or b > 0 or c > 0")

    check_ListComp = check_SetComp = check_DictComp = check_GeneratorExp = _comprehension

    def check_JoinedStr(self, node: ast.JoinedStr) -> bool:
        self.refuse("an f-string", "write plain text in quotes, without an f before it")

    def check_NamedExpr(self, node: ast.NamedExpr) -> bool:
        self.refuse("an assignment (:=)", "derive each column in its own line of [derive]; compare with ==")

    def check_Starred(self, node: ast.Starred) -> bool:
        self.refuse("a starred expression (*)", "give values one by one")

    def check_List(self, node: ast.AST) -> bool:
        self.refuse("a list outside 'in'", "lists of values are used only after in: x in ['a', 'b']")

    check_Tuple = check_Set = check_List

    def check_Dict(self, node: ast.Dict) -> bool:
        self.refuse("a dictionary ({...})", "recode values in the mapping's [values.<column>] section, or use where(x == 'a', 1, 0)")

    def refuse_other(self, node: ast.AST) -> NoReturn:
        kind = {
            "Await": "await", "Yield": "yield", "YieldFrom": "yield from", "FormattedValue": "an f-string",
            "Slice": "a slice", "Interpolation": "a template string", "TemplateStr": "a template string",
        }.get(type(node).__name__, f"a {type(node).__name__} expression")
        self.refuse(kind, "use the columns, values, operators and functions listed")


def _same(a: ast.AST, b: ast.AST) -> bool:
    return ast.dump(a) == ast.dump(b)


def _reads_column(node: ast.AST) -> bool:
    functions = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return any(isinstance(n, ast.Name) and id(n) not in functions for n in ast.walk(node))


def _private_attribute(node: ast.AST) -> str | None:
    """The first attribute starting with _ (e.g. __class__) anywhere inside ``node``."""
    private = [sub.attr for sub in ast.walk(node) if isinstance(sub, ast.Attribute) and sub.attr.startswith("_")]
    dunder = [a for a in private if a.startswith("__")]
    return dunder[0] if dunder else private[0] if private else None


def _show(node: ast.AST, placeholders: Mapping[str, str]) -> str:
    """The source of a node as the analyst would write it (placeholders back in backticks)."""
    try:
        text = ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every parsed node
        return "..."
    if placeholders:
        text = re.sub("|".join(sorted(map(re.escape, placeholders), key=len, reverse=True)), lambda m: f"`{placeholders[m.group(0)]}`", text)
    return text if len(text) <= 80 else text[:77] + "..."


# --------------------------------------------------------------------------- values


@dataclass
class _Value:
    """A value of the language: numbers (float64), conditions (bool), dates (int64 days
    since 1970-01-01) or text (int64 codes into ``uniques``, -1 missing), each with a
    ``missing`` mask; constants are 0-d arrays so numpy broadcasts them.
    ``text`` is the file's text of a number column read from text."""

    kind: str
    values: np.ndarray
    missing: np.ndarray
    uniques: np.ndarray | None = None
    text: _Value | None = None


def _constant(value: Any) -> _Value:
    false = np.asarray(False)
    if isinstance(value, bool):
        return _Value(BOOL, np.asarray(value), false)
    if isinstance(value, str):
        return _Value(TEXT, np.asarray(0, dtype=np.int64), false, np.array([value], dtype=object))
    return _Value(NUMBER, np.asarray(float(value)), false)


def _take(table: np.ndarray, codes: np.ndarray, fill: Any) -> np.ndarray:
    """``table[codes]`` with code -1 giving ``fill``."""
    extended = np.empty(len(table) + 1, dtype=np.asarray(table).dtype if len(table) else np.asarray([fill]).dtype)
    extended[:-1] = table
    extended[-1] = fill
    return np.asarray(extended[codes])


def _factorize(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 missing) and distinct values; Arrow-backed text is dictionary-encoded by Arrow (fast)."""
    dtype = series.dtype
    if (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow") or (isinstance(dtype, pd.ArrowDtype) and pd.api.types.is_string_dtype(dtype)):
        try:
            import pyarrow as pa

            array = pa.array(series.array)
            if isinstance(array, pa.ChunkedArray):
                array = array.combine_chunks()
            encoded = array.dictionary_encode(null_encoding="encode")  # a null is a dictionary entry (None), no mask
            codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
            return codes, np.asarray(encoded.dictionary.to_pylist(), dtype=object)
        except Exception:  # pragma: no cover - fall back to pandas on any Arrow surprise
            pass
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)


def _column(series: pd.Series) -> _Value:
    """A frame column as a value of the language (kind from its dtype or, for text, its values)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        missing = series.isna().to_numpy(dtype=bool)
        values = series.to_numpy(dtype=bool, na_value=False) & ~missing
        return _Value(BOOL, values, missing)
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        missing = ~np.isfinite(values)
        return _Value(NUMBER, np.where(missing, 0.0, values), missing)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        s = series.dt.tz_localize(None) if getattr(dtype, "tz", None) is not None else series
        missing = s.isna().to_numpy(dtype=bool)
        days = s.to_numpy().astype("datetime64[D]").astype(np.int64)
        return _Value(DATE, np.where(missing, 0, days), missing)
    codes, uniques = _factorize(series)
    blank = np.array([u is None or (isinstance(u, str) and not u.strip()) for u in uniques], dtype=bool)
    if blank.any():
        codes = _take(np.where(blank, -1, np.arange(len(uniques))), codes, -1)
    present = [u for u, b in zip(uniques, blank) if not b]
    if present and all(isinstance(u, (bool, np.bool_)) for u in present):
        table = np.array([bool(u) for u in uniques] + [False])
        missing = codes < 0
        return _Value(BOOL, table[codes] & ~missing, missing)
    if present and all(isinstance(u, (_dt.date, pd.Timestamp, np.datetime64)) for u in present):
        days = np.array([_days(u) if not b else 0 for u, b in zip(uniques, blank)] + [0], dtype=np.int64)
        missing = codes < 0
        return _Value(DATE, days[codes], missing)
    all_text = all(isinstance(u, str) for u in present)
    text_uniques = np.array([u if isinstance(u, str) else "" if u is None else _plain(u) for u in uniques], dtype=object)
    text = _Value(TEXT, codes, codes < 0, text_uniques)
    numbers = _numbers(uniques, blank)
    if numbers is not None:
        values = _take(numbers, codes, np.nan)
        missing = ~np.isfinite(values)
        return _Value(NUMBER, np.where(missing, 0.0, values), missing, text=text if all_text else None)
    return text


def _plain(value: Any) -> str:
    """Text of a non-text value in an object column (integral floats lose their '.0')."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _numbers(uniques: np.ndarray, blank: np.ndarray) -> np.ndarray | None:
    """The distinct values as numbers, or None when any non-blank one is not a number."""
    out = np.full(len(uniques), np.nan)
    for i, (u, b) in enumerate(zip(uniques, blank)):
        if b:
            continue
        if isinstance(u, (bool, np.bool_)):
            return None
        if isinstance(u, (int, float, np.integer, np.floating)):
            out[i] = float(u)
            continue
        if not isinstance(u, str):
            try:
                out[i] = float(u)  # e.g. Decimal
            except (TypeError, ValueError, OverflowError):
                return None
            continue
        try:
            out[i] = float(u.strip())
        except ValueError:
            return None
        if u.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
            return None
    return out


def _days(value: Any) -> int:
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        value = pd.Timestamp(value).date()
    if isinstance(value, _dt.datetime):
        value = value.date()
    return (value - _EPOCH).days


def _parse_date(text: str) -> int | None:
    """Days since 1970-01-01 of an ISO (2016-03-31) or UK (31/03/2016) date, or None."""
    m = _ISO_DATE.match(text)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        m = _UK_DATE.match(text)
        if not m:
            return None
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    try:
        return (_dt.date(y, mo, d) - _EPOCH).days
    except ValueError:
        return None


def _leading_number(text: str) -> float:
    m = _LEADING_NUMBER.match(text)
    return float(m.group(1).replace(",", "")) if m else np.nan


# --------------------------------------------------------------------------- evaluation


_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide,
    ast.FloorDiv: np.floor_divide, ast.Mod: np.remainder, ast.Pow: np.power,
}
_SYMBOL: dict[type, str] = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.In: "in", ast.NotIn: "not in", **{k: v for k, v in _Checker._BINOPS.items()}}


class _Evaluator:
    """Evaluate a checked expression over a frame, node by node, with numpy over whole columns."""

    def __init__(self, expression: Expression, frame: pd.DataFrame) -> None:
        self.expression = expression
        self.frame = frame
        self.labels = {str(c): c for c in frame.columns}
        self.cache: dict[str, _Value] = {}

    def fail(self, construct: str, hint: str, message: str) -> NoReturn:
        raise ExpressionError(self.expression.text, construct, hint, message)

    def show(self, node: ast.AST) -> str:
        return _show(node, {k: v for k, v in self.expression.names.items() if k != v})

    def value(self, node: ast.AST) -> _Value:
        method = getattr(self, "eval_" + type(node).__name__, None)
        if method is None:  # only a hand-made Expression could get here; the checker refuses these
            raise ExpressionError(self.expression.text, f"a {type(node).__name__} expression", "use the columns, values, operators and functions listed")
        return method(node)

    # ---- kinds

    def number(self, v: _Value, node: ast.AST, what: str) -> _Value:
        if v.kind == NUMBER:
            return v
        if v.kind == BOOL:
            return _Value(NUMBER, v.values.astype(float), v.missing)
        shown = self.show(node)
        if v.kind == TEXT:
            self.fail(f"{what} of text", f"use number({shown}) for the number a text starts with, or compare text with == 'value'", f"uses {what} of {shown}, which is text")
        self.fail(f"{what} of a date", f"use year({shown}), month({shown}) or months_between(a, b)", f"uses {what} of {shown}, which is a date")

    def condition(self, v: _Value, node: ast.AST, what: str) -> _Value:
        if v.kind == BOOL:
            return v
        shown = self.show(node)
        if v.kind == NUMBER and bool(np.all((v.values == 0) | (v.values == 1) | v.missing)):
            return _Value(BOOL, (v.values == 1) & ~v.missing, v.missing)
        example = f"{shown} == 'Y'" if v.kind == TEXT else f"{shown} > 0" if v.kind == NUMBER else f"notna({shown})"
        kind = "numbers other than 0 and 1" if v.kind == NUMBER else f"{v.kind}s" if v.kind != TEXT else "text"
        self.fail(f"{what} of {kind}", f"write a condition, e.g. {example}", f"uses {shown} in {what}, but it holds {kind}, not true/false")

    def text(self, v: _Value, node: ast.AST, what: str) -> _Value:
        if v.kind == TEXT:
            return v
        if v.text is not None:
            return v.text
        shown = self.show(node)
        hint = f"{what} works on text; {shown} holds {v.kind}s" if v.kind != BOOL else f"{what} works on text; {shown} is a condition"
        self.fail(f"{what} of {v.kind if v.kind != BOOL else 'a condition'}", hint + ("; compare numbers with < or ==" if v.kind == NUMBER else ""), f"uses {what} on {shown}, which is not text")

    def date(self, v: _Value, node: ast.AST, what: str, *, literal: bool = False) -> _Value:
        if v.kind == DATE:
            return v
        if v.kind == TEXT or (v.text is not None and bool(np.all(v.missing))):
            t = v if v.kind == TEXT else v.text
            assert t is not None and t.uniques is not None
            parsed = np.array([(_parse_date(u) if u is not None else None) for u in t.uniques], dtype=object)
            if literal and parsed[0] is None:
                self.fail(
                    f"the text '{t.uniques[0]}' as a date",
                    "write dates as 2016-03-31 or 31/03/2016 (day first)",
                    f"compares a date with '{t.uniques[0]}', which is not a date",
                )
            days = np.array([p if p is not None else 0 for p in parsed] + [0], dtype=np.int64)
            bad = np.array([p is None for p in parsed] + [True])
            codes = t.values
            return _Value(DATE, days[codes], t.missing | bad[codes])
        shown = self.show(node)
        self.fail(f"{what} of {v.kind}s", f"{what} needs a date column, or text such as 2016-03-31 or 31/03/2016", f"uses {what} on {shown}, which holds {v.kind}s, not dates")

    # ---- nodes

    def eval_Constant(self, node: ast.Constant) -> _Value:
        return _constant(node.value)

    def eval_Name(self, node: ast.Name) -> _Value:
        column = self.expression.names.get(node.id)
        if column is None or column not in self.labels:
            self.fail(f"the column {_name(column or node.id)}", _unknown_name_hint(column or node.id, list(self.labels)), f"uses {_name(column or node.id)}, which is not a column of this data")
        if column not in self.cache:
            self.cache[column] = _column(self.frame[self.labels[column]])
        return self.cache[column]

    def eval_UnaryOp(self, node: ast.UnaryOp) -> _Value:
        v = self.value(node.operand)
        if isinstance(node.op, (ast.Not, ast.Invert)):
            c = self.condition(v, node.operand, "not")
            return _Value(BOOL, ~c.values & ~c.missing, c.missing)
        x = self.number(v, node.operand, "a sign (- or +)")
        return _Value(NUMBER, -x.values if isinstance(node.op, ast.USub) else x.values, x.missing)

    def eval_BoolOp(self, node: ast.BoolOp) -> _Value:
        word = "and" if isinstance(node.op, ast.And) else "or"
        result = self.condition(self.value(node.values[0]), node.values[0], word)
        for operand in node.values[1:]:
            result = _logic(word, result, self.condition(self.value(operand), operand, word))
        return result

    def eval_BinOp(self, node: ast.BinOp) -> _Value:
        if type(node.op) not in _ARITHMETIC:  # only a hand-made Expression could get here
            raise ExpressionError(self.expression.text, f"the operator {type(node.op).__name__}", "use + - * / // % **")
        symbol = _SYMBOL[type(node.op)]
        a = self.number(self.value(node.left), node.left, f"arithmetic ({symbol})")
        b = self.number(self.value(node.right), node.right, f"arithmetic ({symbol})")
        with np.errstate(all="ignore"):
            out = _ARITHMETIC[type(node.op)](a.values, b.values)
        missing = a.missing | b.missing | ~np.isfinite(out)
        return _Value(NUMBER, np.where(missing, 0.0, out), missing)

    def eval_Compare(self, node: ast.Compare) -> _Value:
        left_node, left = node.left, self.value(node.left)
        result: _Value | None = None
        for op, right_node in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                part = self.membership(left, left_node, right_node, negate=isinstance(op, ast.NotIn))
                right = left
            else:
                right = self.value(right_node)
                part = self.compare(type(op), left, left_node, right, right_node)
            result = part if result is None else _logic("and", result, part)
            left_node, left = right_node, right
        assert result is not None
        return result

    def compare(self, op: type, a: _Value, a_node: ast.AST, b: _Value, b_node: ast.AST) -> _Value:
        kinds = {a.kind, b.kind}
        symbol = _SYMBOL[op]
        if DATE in kinds:
            a = self.date(a, a_node, "a comparison with a date", literal=isinstance(a_node, ast.Constant))
            b = self.date(b, b_node, "a comparison with a date", literal=isinstance(b_node, ast.Constant))
            av, bv = a.values, b.values
        elif TEXT in kinds:
            other = b if a.kind == TEXT else a
            wholly_missing_text = other.text is not None and bool(np.all(other.missing))
            if other.kind != TEXT and (other.text is None or (op not in (ast.Eq, ast.NotEq) and not wholly_missing_text)):
                self.fail_text_vs(a, a_node, b, b_node, symbol)
            a, b = self.text(a, a_node, "a comparison"), self.text(b, b_node, "a comparison")
            av, bv = _text_ranks(a, b)
        else:
            a, b = self.number(a, a_node, "a comparison"), self.number(b, b_node, "a comparison")
            av, bv = a.values, b.values
        missing = a.missing | b.missing
        return _Value(BOOL, _COMPARE[op](av, bv) & ~missing, missing)

    def fail_text_vs(self, a: _Value, a_node: ast.AST, b: _Value, b_node: ast.AST, symbol: str) -> NoReturn:
        text_node, other, other_node = (a_node, b, b_node) if a.kind == TEXT else (b_node, a, a_node)
        shown_text, shown_other = self.show(text_node), self.show(other_node)
        if isinstance(text_node, ast.Constant):
            value = text_node.value
            try:
                hint = f"write the number without quotes: {shown_other} {symbol} {_plain(float(cast(str, value)))}"  # a text constant
            except ValueError:
                hint = f"{shown_other} holds {other.kind}s; compare it with a {other.kind}" + (" (True or False)" if other.kind == BOOL else ", e.g. " + f"{shown_other} {symbol} 1")
        else:
            hint = f"{shown_text} is text: use number({shown_text}) {symbol} {shown_other} for the number it starts with, or compare it with text: {shown_text} {symbol} 'value'"
        self.fail(f"a comparison of text with {other.kind}s", hint, f"compares text ({shown_text}) with {'a condition' if other.kind == BOOL else other.kind + 's'} ({shown_other})")

    def membership(self, left: _Value, left_node: ast.AST, list_node: ast.AST, *, negate: bool) -> _Value:
        assert isinstance(list_node, (ast.List, ast.Tuple, ast.Set))
        items = [_literal_value(e) for e in list_node.elts]
        if not items:
            return _Value(BOOL, np.zeros(np.shape(left.missing), dtype=bool) if negate is False else ~left.missing, np.asarray(left.missing))
        if isinstance(items[0], str):
            if left.kind == DATE:
                days = []
                for item in items:
                    d = _parse_date(item)
                    if d is None:
                        self.fail(f"the text '{item}' as a date", "write dates as 2016-03-31 or 31/03/2016 (day first)", f"looks for '{item}', which is not a date, in a date")
                    days.append(d)
                hit = np.isin(left.values, days)
            else:
                if left.kind != TEXT and left.text is None:
                    shown = self.show(left_node)
                    self.fail(f"'in' with a list of text on {left.kind}s", f"{shown} holds {left.kind}s: write the values without quotes, e.g. {shown} in [1, 2]", f"looks for text in {shown}, which holds {left.kind}s")
                t = self.text(left, left_node, "'in'")
                assert t.uniques is not None
                wanted = set(items)
                hit = _take(np.array([u in wanted for u in t.uniques], dtype=bool), t.values, False)
                left = t
        else:
            if left.kind in (TEXT, DATE):
                shown = self.show(left_node)
                self.fail(
                    f"'in' with a list of numbers on {left.kind}",
                    f"{shown} is {left.kind}: write the values in quotes, e.g. {shown} in ['1', '2']",
                    f"looks for numbers in {shown}, which is {left.kind}",
                )
            x = self.number(left, left_node, "'in'")
            hit = np.isin(x.values, np.array([float(i) for i in items], dtype=float)) if items else np.zeros(np.shape(x.values), dtype=bool)
            left = x
        values = (~hit if negate else hit) & ~left.missing
        return _Value(BOOL, np.asarray(values), left.missing)

    def eval_Call(self, node: ast.Call) -> _Value:
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        handler = getattr(self, "fn_" + name, None) if name in FUNCTIONS else None
        if handler is None:
            raise ExpressionError(self.expression.text, f"a call to '{name or self.show(node.func)}'", "use one of " + ", ".join(FUNCTIONS))
        return handler(node, *node.args)

    # ---- functions

    def fn_isna(self, node: ast.Call, x: ast.AST) -> _Value:
        v = self.value(x)
        return _Value(BOOL, np.asarray(v.missing).copy(), np.zeros(np.shape(v.missing), dtype=bool))

    def fn_notna(self, node: ast.Call, x: ast.AST) -> _Value:
        v = self.value(x)
        return _Value(BOOL, ~np.asarray(v.missing), np.zeros(np.shape(v.missing), dtype=bool))

    def fn_abs(self, node: ast.Call, x: ast.AST) -> _Value:
        v = self.number(self.value(x), x, "abs()")
        return _Value(NUMBER, np.abs(v.values), v.missing)

    def fn_round(self, node: ast.Call, x: ast.AST, digits: ast.AST | None = None) -> _Value:
        v = self.number(self.value(x), x, "round()")
        d = int(_literal_value(digits)) if digits is not None else 0
        with np.errstate(all="ignore"):
            out = np.round(v.values, d)
        missing = v.missing | ~np.isfinite(out)
        return _Value(NUMBER, np.where(missing, 0.0, out), missing)

    def fn_clip(self, node: ast.Call, x: ast.AST, low: ast.AST, high: ast.AST) -> _Value:
        v = self.number(self.value(x), x, "clip()")
        return _Value(NUMBER, np.clip(v.values, float(_literal_value(low)), float(_literal_value(high))), v.missing)

    def fn_where(self, node: ast.Call, cond: ast.AST, a_node: ast.AST, b_node: ast.AST) -> _Value:
        c = self.condition(self.value(cond), cond, "where()")
        a, b = self.value(a_node), self.value(b_node)
        kinds = {a.kind, b.kind}
        if kinds == {BOOL}:
            kind = BOOL
        elif TEXT in kinds:
            if {a.kind, b.kind} - {TEXT} and not (a.text or b.text):
                self.fail_where(a, a_node, b, b_node)
            a, b = self.text(a, a_node, "where()"), self.text(b, b_node, "where()")
            assert a.uniques is not None and b.uniques is not None
            offset = len(a.uniques)
            codes = np.where(c.values, a.values, np.where(b.values >= 0, b.values + offset, -1))
            codes = np.where(c.missing, -1, codes)
            return _Value(TEXT, np.asarray(codes, dtype=np.int64), np.asarray(codes < 0), np.concatenate([a.uniques, b.uniques]))
        elif DATE in kinds:
            if kinds - {DATE}:
                self.fail_where(a, a_node, b, b_node)
            kind = DATE
        else:
            a, b = self.number(a, a_node, "where()"), self.number(b, b_node, "where()")
            kind = NUMBER
        values = np.where(c.values, a.values, b.values)
        missing = c.missing | np.where(c.values, a.missing, b.missing)
        return _Value(kind, np.where(missing, values.dtype.type(0), values), missing)

    def fail_where(self, a: _Value, a_node: ast.AST, b: _Value, b_node: ast.AST) -> NoReturn:
        self.fail(
            f"where() with {a.kind} and {b.kind} choices",
            "give two values of one kind, e.g. where(x > 0, 'yes', 'no') or where(x > 0, 1, 0)",
            f"chooses between {self.show(a_node)} ({a.kind}) and {self.show(b_node)} ({b.kind}), which are not of one kind",
        )

    def _text_function(self, x: ast.AST, what: str, func: Callable[[str], Any], kind: str) -> _Value:
        t = self.text(self.value(x), x, what)
        assert t.uniques is not None
        mapped = [func(u) for u in t.uniques]
        if kind == TEXT:
            return _Value(TEXT, t.values, t.missing, np.array(mapped, dtype=object))
        if kind == BOOL:
            return _Value(BOOL, _take(np.array(mapped, dtype=bool), t.values, False) & ~t.missing, t.missing)
        values = _take(np.array(mapped, dtype=float), t.values, np.nan)
        missing = ~np.isfinite(values)
        return _Value(NUMBER, np.where(missing, 0.0, values), missing)

    def fn_contains(self, node: ast.Call, x: ast.AST, needle: ast.AST) -> _Value:
        wanted = _literal_value(needle)
        return self._text_function(x, "contains()", lambda u: wanted in u, BOOL)

    def fn_startswith(self, node: ast.Call, x: ast.AST, prefix: ast.AST) -> _Value:
        wanted = _literal_value(prefix)
        return self._text_function(x, "startswith()", lambda u: u.startswith(wanted), BOOL)

    def fn_lower(self, node: ast.Call, x: ast.AST) -> _Value:
        return self._text_function(x, "lower()", str.lower, TEXT)

    def fn_upper(self, node: ast.Call, x: ast.AST) -> _Value:
        return self._text_function(x, "upper()", str.upper, TEXT)

    def fn_strip(self, node: ast.Call, x: ast.AST) -> _Value:
        return self._text_function(x, "strip()", str.strip, TEXT)

    def fn_number(self, node: ast.Call, x: ast.AST) -> _Value:
        v = self.value(x)
        if v.kind in (NUMBER, BOOL):
            return self.number(v, x, "number()")
        return self._text_function(x, "number()", _leading_number, NUMBER)

    def fn_date(self, node: ast.Call, x: ast.AST) -> _Value:
        return self.date(self.value(x), x, "date()")

    def fn_year(self, node: ast.Call, x: ast.AST) -> _Value:
        d = self.date(self.value(x), x, "year()")
        return _Value(NUMBER, np.where(d.missing, 0.0, _calendar(d.values)[0]).astype(float), d.missing)

    def fn_month(self, node: ast.Call, x: ast.AST) -> _Value:
        d = self.date(self.value(x), x, "month()")
        return _Value(NUMBER, np.where(d.missing, 0.0, _calendar(d.values)[1]).astype(float), d.missing)

    def fn_months_between(self, node: ast.Call, a_node: ast.AST, b_node: ast.AST) -> _Value:
        a = self.date(self.value(a_node), a_node, "months_between()", literal=isinstance(a_node, ast.Constant))
        b = self.date(self.value(b_node), b_node, "months_between()", literal=isinstance(b_node, ast.Constant))
        missing = a.missing | b.missing
        months = _months_between(np.where(missing, 0, a.values), np.where(missing, 0, b.values))
        return _Value(NUMBER, np.where(missing, 0.0, months.astype(float)), missing)


def _logic(word: str, a: _Value, b: _Value) -> _Value:
    """Three-valued (Kleene) and / or of two conditions."""
    a_true, b_true = a.values & ~a.missing, b.values & ~b.missing
    a_false, b_false = ~a.values & ~a.missing, ~b.values & ~b.missing
    if word == "and":
        missing = (a.missing | b.missing) & ~a_false & ~b_false
        return _Value(BOOL, a_true & b_true, missing)
    missing = (a.missing | b.missing) & ~a_true & ~b_true
    return _Value(BOOL, a_true | b_true, missing)


def _text_ranks(a: _Value, b: _Value) -> tuple[np.ndarray, np.ndarray]:
    """Per-row ranks of two texts in their joint sorted distinct values (so comparisons of ranks are text comparisons)."""
    assert a.uniques is not None and b.uniques is not None
    pooled = np.unique(np.concatenate([a.uniques, b.uniques]).astype(str))
    ranks_a = np.searchsorted(pooled, a.uniques.astype(str)) if len(a.uniques) else np.zeros(0, dtype=np.int64)
    ranks_b = np.searchsorted(pooled, b.uniques.astype(str)) if len(b.uniques) else np.zeros(0, dtype=np.int64)
    return _take(ranks_a, a.values, -1), _take(ranks_b, b.values, -1)


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month (1-12) and day of days since 1970-01-01, in integer arithmetic (H. Hinnant's
    ``civil_from_days``): much faster than numpy's datetime64 conversions on millions of rows."""
    z = np.asarray(days, dtype=np.int64) + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


_MONTH_LENGTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _calendar(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day and length of the month of each day (days since 1970-01-01).

    Dates in an extract span a few thousand days, so the calendar is worked out once
    per day of that span and looked up, rather than computed for millions of rows.
    """
    days = np.asarray(days, dtype=np.int64)
    if days.size > 4096:
        low, high = int(days.min()), int(days.max())
        if high - low < days.size // 2:
            table = _calendar(np.arange(low, high + 1))
            offset = days - low
            return tuple(np.take(t, offset) for t in table)  # type: ignore[return-value]
    year, month, day = _civil(days)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return year, month, day, _MONTH_LENGTH[month - 1] + (leap & (month == 2))


def _months_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whole months stepped from day ``a`` towards day ``b`` without passing it (days since 1970).

    A month from the 31st ends on the last day of a shorter month (31 January
    + 1 month = 29 February 2016), as in ``dateutil.relativedelta``.
    """
    year_a, month_a, day_a, _ = _calendar(a)
    year_b, month_b, day_b, length_b = _calendar(b)
    raw = (year_b - year_a) * 12 + (month_b - month_a)
    landed = np.minimum(day_a, length_b)  # the day of b's month reached by stepping raw months from a
    forward = np.asarray(b) >= np.asarray(a)
    return np.where(forward, raw - (landed > day_b), raw + (landed < day_b))


# --------------------------------------------------------------------------- public evaluation


def _prepare(expression: str | Expression, frame: pd.DataFrame) -> Expression:
    if isinstance(expression, Expression):
        absent = [c for c in expression.columns if c not in {str(c) for c in frame.columns}]
        if absent:
            raise ExpressionError(
                expression.text,
                f"the column {_name(absent[0])}",
                _unknown_name_hint(absent[0], [str(c) for c in frame.columns]),
                f"uses {_name(absent[0])}, which is not a column of this data",
            )
        return expression
    return parse_expression(expression, [str(c) for c in frame.columns])


def _value(expression: Expression, frame: pd.DataFrame) -> _Value:
    with np.errstate(all="ignore"):
        return _Evaluator(expression, frame).value(expression.tree.body)


def _series(v: _Value, index: pd.Index) -> pd.Series:
    """A value as a Series: numbers Float64 (Int64 when every value is whole), conditions
    boolean, text a categorical of its distinct values, dates datetime64; constants broadcast."""
    n = len(index)
    values = np.broadcast_to(v.values, (n,))
    missing = np.broadcast_to(v.missing, (n,)).copy()
    if v.kind == NUMBER:
        present = values[~missing]
        if present.size == 0 or (np.all(np.mod(present, 1) == 0) and np.all(np.abs(present) < 2**53)):
            return pd.Series(pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), missing), index=index)
        return pd.Series(pd.arrays.FloatingArray(np.asarray(values, dtype=np.float64).copy(), missing), index=index)
    if v.kind == BOOL:
        return pd.Series(pd.arrays.BooleanArray(np.asarray(values, dtype=bool).copy(), missing), index=index)
    if v.kind == DATE:
        days = np.asarray(values, dtype=np.int64).astype("datetime64[D]").copy()
        days[missing] = np.datetime64("NaT")
        return pd.Series(days.astype("datetime64[s]"), index=index)
    assert v.uniques is not None
    categories, inverse = np.unique(v.uniques.astype(str), return_inverse=True) if len(v.uniques) else (np.array([], dtype=object), np.array([], dtype=np.int64))
    codes = _take(np.asarray(inverse, dtype=np.int64).ravel(), np.asarray(values, dtype=np.int64), -1)
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(categories.astype(object), dtype=object)), index=index)


def evaluate(expression: str | Expression, frame: pd.DataFrame) -> pd.Series:
    """Evaluate an expression over the columns of ``frame``: one value per row.

    Parameters
    ----------
    expression
        The expression text (checked with :func:`parse_expression` against the
        frame's columns) or an :class:`Expression` already parsed.
    frame
        The data; its column names are the names the expression may use.

    Returns
    -------
    pandas.Series
        Indexed like ``frame``. Conditions are ``boolean`` (nullable); numbers
        ``Int64`` when every value is whole, else ``Float64``; text a categorical
        of its distinct values; dates ``datetime64``. A column name alone returns
        the column unchanged; a bare constant is repeated in every row. Missing
        values follow the rules of the language (module docstring).

    Raises
    ------
    ExpressionError
        When the expression is refused, or its values do not fit the operation
        (e.g. text compared with a number).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": ["19", "34", None], "Proven (Y/N)": ["Y", "N", "Y"]})
    >>> evaluate("where(age < 25, 'young', 'older')", frame).tolist()
    ['young', 'older', nan]
    >>> evaluate("`Proven (Y/N)` == 'Y' and age >= 18", frame).tolist()
    [True, False, <NA>]
    """
    parsed = _prepare(expression, frame)
    body = parsed.tree.body
    if isinstance(body, ast.Name):  # a column alone is copied as it is
        return frame[{str(c): c for c in frame.columns}[parsed.names[body.id]]].copy()
    return _series(_value(parsed, frame), frame.index)


def evaluate_column(expression: str | Expression, frame: pd.DataFrame) -> pd.Series:
    """Evaluate an expression as a new column (``[derive]``): conditions become 0/1.

    As :func:`evaluate`, except that a condition is returned as nullable
    ``Int8`` 0/1 (missing stays missing), a boolean column copied alone too.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"Days Employed Pct": ["20", "75", ""]})
    >>> evaluate_column("`Days Employed Pct` < 50", frame).tolist()
    [1, 0, <NA>]
    >>> evaluate_column("'2013-2015'", frame).tolist()
    ['2013-2015', '2013-2015', '2013-2015']
    """
    result = evaluate(expression, frame)
    if pd.api.types.is_bool_dtype(result.dtype):
        return result.astype("boolean").astype("Int8")
    return result


def evaluate_mask(expression: str | Expression, frame: pd.DataFrame) -> pd.Series:
    """Evaluate a filter condition: the rows to keep.

    The expression must give a condition (or a 0/1 number column). Rows where
    the condition is missing are **not** kept, as in SQL's ``WHERE``; to keep
    them write e.g. ``isna(x) or x > 5``.

    Returns
    -------
    pandas.Series
        Boolean (never missing), indexed like ``frame``; ``attrs["n_missing"]``
        counts the rows dropped because the condition was missing.

    Raises
    ------
    ExpressionError
        When the expression is refused, does not give a condition, or is a bare constant.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"age": [17, 30, None]})
    >>> keep = evaluate_mask("age >= 18", frame)
    >>> keep.tolist(), keep.attrs["n_missing"]
    ([False, True, False], 1)
    """
    parsed = _prepare(expression, frame)
    if parsed.literal:
        raise ExpressionError(parsed.text, "a constant as a filter", "write a condition over a column, e.g. age >= 18", "is a constant, so it keeps all rows or none")
    evaluator = _Evaluator(parsed, frame)
    with np.errstate(all="ignore"):
        value = evaluator.value(parsed.tree.body)
        if value.kind != BOOL:
            shown = evaluator.show(parsed.tree.body)
            example = f"{shown} == 'Y'" if value.kind == TEXT else f"{shown} > 0" if value.kind == NUMBER else f"notna({shown})"
            if not (value.kind == NUMBER and bool(np.all((value.values == 0) | (value.values == 1) | value.missing))):
                raise ExpressionError(parsed.text, f"a filter that gives {value.kind}s", f"write a condition, e.g. {example}", f"gives {value.kind}s, not a condition (true/false)")
            value = evaluator.condition(value, parsed.tree.body, "a filter")
    n = len(frame)
    missing = np.broadcast_to(value.missing, (n,))
    keep = pd.Series(np.broadcast_to(value.values, (n,)) & ~missing, index=frame.index)
    keep.attrs["n_missing"] = int(missing.sum())
    return keep
