"""Putting data into words: one escaping helper and the number formats every paper uses.

Every string that comes from the data or the study file (labels, category
values, column names, titles) reaches a paper through :func:`html`, which
builds an HTML fragment from a template whose arguments are escaped: a label
such as ``<script>`` or ``Walsall_North *A*`` is shown exactly as written,
never read as markup. Nothing in a paper is Markdown, so ``*``, ``_``, ``|``,
``#`` and backticks in labels need no further care. Chart labels go through
:func:`chart_text` (matplotlib would read ``$...$`` as mathematics).

The number formats follow ONS and Justice Data Lab practice: counts as whole
numbers with thousands separators, rates to one decimal place, ratios to two,
p-values as "<0.001", and ``[c]`` for a suppressed value.

Examples
--------
>>> str(html("<strong>{}</strong> reoffended", "<script>alert(1)</script>Dudley"))
'<strong>&lt;script&gt;alert(1)&lt;/script&gt;Dudley</strong> reoffended'
>>> count(12345), pct(0.4236), ratio(1.1622), p_value(0.0004), count(None)
('12,345', '42.4%', '1.16', '<0.001', '[c]')
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape

from ..periods import long_date, period_span, period_words

__all__ = [
    "Markup",
    "SUPPRESSED",
    "esc",
    "html",
    "join_html",
    "count",
    "pct",
    "per100",
    "ratio",
    "p_value",
    "points",
    "interval",
    "number",
    "period_words",
    "period_span",
    "long_date",
    "join_words",
    "plural",
    "capitalise",
    "with_article",
    "chart_text",
    "is_missing",
]

SUPPRESSED = "[c]"
"""What a suppressed value shows (the ONS convention, "confidential")."""


def is_missing(value: Any) -> bool:
    """True for None, NaN and pandas' NA.

    Examples
    --------
    >>> import pandas as pd
    >>> is_missing(None), is_missing(float("nan")), is_missing(pd.NA), is_missing(0), is_missing("")
    (True, True, True, False, False)
    """
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN
    except (TypeError, ValueError):  # pd.NA raises on bool()
        return True


def esc(value: Any) -> Markup:
    """The value as escaped HTML text (Markup passes through unchanged).

    Examples
    --------
    >>> str(esc("A & <B>")), str(esc(None)), str(esc(Markup("<em>x</em>")))
    ('A &amp; &lt;B&gt;', '', '<em>x</em>')
    """
    return escape("" if value is None else value)


def html(template: str, *args: Any, **kwargs: Any) -> Markup:
    """An HTML fragment: ``template`` is trusted markup, every argument is escaped.

    Examples
    --------
    >>> str(html("{} and {}", "a<b & c", Markup("<em>d</em>")))
    'a&lt;b &amp; c and <em>d</em>'
    """
    return Markup(template).format(*args, **kwargs)


def join_html(parts: Iterable[Any], *, sep: str = " ") -> Markup:
    """Join fragments, escaping any that are not already markup.

    Examples
    --------
    >>> str(join_html(["a<b", Markup("<br>"), "c"], sep=""))
    'a&lt;b<br>c'
    """
    return Markup(sep).join(esc(p) for p in parts)


def count(value: Any) -> str:
    """A count with thousands separators; ``[c]`` when suppressed.

    Examples
    --------
    >>> count(1234567), count(2.6), count(float("nan"))
    ('1,234,567', '3', '[c]')
    """
    if is_missing(value):
        return SUPPRESSED
    return f"{int(round(float(value))):,}"


def number(value: Any, *, digits: int = 1) -> str:
    """A number to ``digits`` decimal places with thousands separators; ``[c]`` when missing.

    Examples
    --------
    >>> number(1234.567), number(0.5, digits=3), number(None)
    ('1,234.6', '0.500', '[c]')
    """
    if is_missing(value):
        return SUPPRESSED
    return f"{float(value):,.{digits}f}"


def pct(value: Any, *, digits: int = 1) -> str:
    """A fraction as a percentage: 0.4236 -> "42.4%"; ``[c]`` when suppressed.

    Examples
    --------
    >>> pct(0.4236), pct(0.05, digits=0), pct(None)
    ('42.4%', '5%', '[c]')
    """
    if is_missing(value):
        return SUPPRESSED
    return f"{100 * float(value):.{digits}f}%"


def per100(value: Any) -> str:
    """A fraction as a whole number of every 100: 0.4236 -> "42".

    Examples
    --------
    >>> per100(0.4236), per100(0.999), per100(None)
    ('42', '100', '[c]')
    """
    if is_missing(value):
        return SUPPRESSED
    return f"{100 * float(value):.0f}"


def ratio(value: Any, *, digits: int = 2) -> str:
    """A ratio to two decimal places.

    Examples
    --------
    >>> ratio(1.1622), ratio(0.5, digits=1), ratio(float("inf")), ratio(None)
    ('1.16', '0.5', 'infinite', '[c]')
    """
    if is_missing(value):
        return SUPPRESSED
    if math.isinf(float(value)):
        return "infinite"
    return f"{float(value):.{digits}f}"


def points(value: Any, *, digits: int = 1, signed: bool = True) -> str:
    """A difference of fractions in percentage points: 0.023 -> "+2.3".

    Examples
    --------
    >>> points(0.023), points(-0.0149), points(0.023, signed=False)
    ('+2.3', '-1.5', '2.3')
    """
    if is_missing(value):
        return SUPPRESSED
    return f"{100 * float(value):+.{digits}f}" if signed else f"{100 * float(value):.{digits}f}"


def p_value(value: Any) -> str:
    """A p-value: "<0.001" below 0.001, else three decimal places.

    Examples
    --------
    >>> p_value(0.0004), p_value(0.04567), p_value(None)
    ('<0.001', '0.046', '[c]')
    """
    if is_missing(value):
        return SUPPRESSED
    return "<0.001" if float(value) < 0.001 else f"{float(value):.3f}"


def interval(lower: Any, upper: Any, *, fmt=ratio, **kwargs: Any) -> str:
    """"a to b" with the given format; ``[c]`` when either end is suppressed.

    Examples
    --------
    >>> interval(0.41679, 0.50382, fmt=pct)
    '41.7% to 50.4%'
    """
    if is_missing(lower) or is_missing(upper):
        return SUPPRESSED
    return f"{fmt(lower, **kwargs)} to {fmt(upper, **kwargs)}"


def join_words(items: Iterable[Any], *, conjunction: str = "and") -> str:
    """"a, b and c".

    Examples
    --------
    >>> join_words(["a"]), join_words(["a", "b"]), join_words(["a", "b", "c"], conjunction="or")
    ('a', 'a and b', 'a, b or c')
    """
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def plural(n: int, word: str, *, many: str | None = None) -> str:
    """"1 area", "2 areas" (with thousands separators).

    Examples
    --------
    >>> plural(1, "area"), plural(1200, "person", many="people")
    ('1 area', '1,200 people')
    """
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def with_article(noun: str) -> str:
    """"a local authority", "an area", "an LDU" (acronyms read letter by letter).

    Examples
    --------
    >>> with_article("area"), with_article("local authority"), with_article("LDU"), with_article("PUMA")
    ('an area', 'a local authority', 'an LDU', 'a PUMA')
    """
    word = noun.strip().split(" ")[0] if noun.strip() else noun
    if word.isupper() and len(word) > 1 and word not in {"PUMA", "NATO"}:
        vowel_sound = word[0] in "AEFHILMNORSX"
    else:
        vowel_sound = word[:1].lower() in "aeiou"
    return ("an " if vowel_sound else "a ") + noun


def capitalise(text: str) -> str:
    """The first letter in capitals, the rest as written ("PUMA" stays "PUMA").

    Examples
    --------
    >>> capitalise("area"), capitalise("PUMA"), capitalise("")
    ('Area', 'PUMA', '')
    """
    return text[:1].upper() + text[1:] if text else text


def chart_text(text: Any) -> str:
    """A label for matplotlib: dollar signs shown as written, not read as mathematics.

    Examples
    --------
    >>> print(chart_text("Costs in $ and $$"))
    Costs in \\$ and \\$\\$
    """
    return str(text).replace("$", r"\$")
