"""The building blocks of a paper: headings, paragraphs, tables and figures that display themselves.

Each block renders to HTML (what the exported paper shows; data-derived text
is escaped by :func:`analysis.paper.text.html`) and to plain text (what a
console and nbval see). A :class:`Section` is a list of blocks shown in
order; figures go out as PNG images with real alternative text in their
metadata, which the paper's nbconvert template writes into ``alt``.

Examples
--------
>>> import pandas as pd
>>> t = Table(pd.DataFrame({"area": ["A & B"], "n": [1200]}), [Column("area", "Area"), Column("n", "People", "count")],
...           caption="People by area", number=1)
>>> print(t.text())
Table 1. People by area
Area  | People
A & B | 1,200
>>> "A &amp; B" in str(t.html())
True
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import text as tx
from .text import Markup, esc, html

__all__ = ["Block", "Heading", "Paragraph", "Bullets", "Callout", "Column", "Table", "Figure", "Section", "Raw"]

WIDE_TABLE_COLUMNS: int = 7
"""A table with this many columns or more is set in a smaller type, so that it fits the page's measure."""

WIDE_TABLE_CHARACTERS: int = 76
"""A table whose columns need more characters than this (the widest word of each header, or its widest cell, plus
two for the padding) is set in the smaller type too: about what the page's measure holds at the normal size."""

_WITH_INTERVAL = re.compile(r"^(\S+) (\(.+\))$")
"""An estimate followed by its interval in brackets, as the papers write them."""

FORMATS: dict[str, Callable[[Any], str]] = {
    "text": lambda v: "" if tx.is_missing(v) else str(v),
    "numtext": lambda v: tx.SUPPRESSED if tx.is_missing(v) else str(v),
    "count": tx.count,
    "pct": tx.pct,
    "pct0": lambda v: tx.pct(v, digits=0),
    "per100": tx.per100,
    "ratio": tx.ratio,
    "ratio3": lambda v: tx.ratio(v, digits=3),
    "number1": lambda v: tx.number(v, digits=1),
    "number2": lambda v: tx.number(v, digits=2),
    "points": tx.points,
    "p": tx.p_value,
}
"""Named cell formats for :class:`Column`."""


class Block:
    """Something a paper shows: HTML for the page, plain text for the console."""

    def html(self) -> Markup:  # pragma: no cover - every block overrides it
        raise NotImplementedError

    def text(self) -> str:  # pragma: no cover
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return str(self.html())

    def __repr__(self) -> str:
        return self.text()


@dataclass
class Raw(Block):
    """Trusted markup made by the package (never data)."""

    markup: Markup
    plain: str = ""

    def html(self) -> Markup:
        return Markup(self.markup)

    def text(self) -> str:
        return self.plain


@dataclass
class Heading(Block):
    """A section heading; ``anchor`` makes it a target of the contents list."""

    content: Any
    level: int = 2
    anchor: str | None = None

    def html(self) -> Markup:
        ident = html(' id="{}"', self.anchor) if self.anchor else Markup("")
        return html("<h{level}{ident}>{content}</h{level}>", level=self.level, ident=ident, content=self.content)

    def text(self) -> str:
        return "#" * self.level + " " + _plain(self.content)


@dataclass
class Paragraph(Block):
    """A paragraph: trusted markup from :func:`~analysis.paper.text.html`, or text (escaped)."""

    content: Any
    css: str | None = None

    def html(self) -> Markup:
        cls = html(' class="{}"', self.css) if self.css else Markup("")
        return html("<p{}>{}</p>", cls, self.content)

    def text(self) -> str:
        return _plain(self.content)


@dataclass
class Bullets(Block):
    """A bulleted list."""

    items: Sequence[Any]
    css: str | None = None

    def html(self) -> Markup:
        cls = html(' class="{}"', self.css) if self.css else Markup("")
        return html("<ul{}>{}</ul>", cls, Markup("").join(html("<li>{}</li>", i) for i in self.items))

    def text(self) -> str:
        return "\n".join("- " + _plain(i) for i in self.items)


@dataclass
class Callout(Block):
    """A boxed note: ``kind`` is "banner" (synthetic data), "note" or "warning"."""

    content: Any
    kind: str = "note"
    title: str | None = None

    def html(self) -> Markup:
        head = html("<strong>{}</strong> ", self.title) if self.title else Markup("")
        return html('<div class="callout callout-{}" role="note">{}{}</div>', self.kind, head, self.content)

    def text(self) -> str:
        return ("[" + self.title + "] " if self.title else "") + _plain(self.content)


@dataclass
class Column:
    """A column of a display table: the frame's column, its header and its cell format."""

    key: str
    header: str
    fmt: str | Callable[[Any], str] = "text"

    def format(self, value: Any) -> str:
        f = FORMATS[self.fmt] if isinstance(self.fmt, str) else self.fmt
        return f(value)

    @property
    def numeric(self) -> bool:
        return self.fmt != "text"


@dataclass
class Table(Block):
    """A captioned, numbered table with human headers, formatted cells and ``[c]`` for suppressed values.

    Tables wider than ``max_columns`` are split into parts that repeat the
    first ``keep`` (label) columns, so they fit the page.
    """

    frame: pd.DataFrame
    columns: Sequence[Column]
    caption: Any = ""
    number: int | None = None
    notes: Sequence[Any] = field(default_factory=list)
    max_columns: int = 8
    keep: int = 1
    suppressed_key: bool | None = None

    def cells(self) -> list[list[str]]:
        return [[c.format(row.get(c.key)) for c in self.columns] for row in self.frame.to_dict("records")]

    def _parts(self) -> list[list[int]]:
        n = len(self.columns)
        if n <= self.max_columns:
            return [list(range(n))]
        keep = list(range(min(self.keep, n)))
        rest = list(range(len(keep), n))
        width = max(self.max_columns - len(keep), 1)
        return [keep + rest[i:i + width] for i in range(0, len(rest), width)]

    def _title(self) -> Any:
        if self.number is None:
            return self.caption
        return html("Table {}. {}", self.number, self.caption)

    def _has_suppressed(self, cells: list[list[str]]) -> bool:
        return any(tx.SUPPRESSED in cell for row in cells for cell in row)

    def _cell(self, j: int, value: str) -> Markup:
        """One cell; an estimate with its interval ("1.23 (1.10 to 1.40)") may break before the interval, nowhere else."""
        tag, scope = ("h", Markup(' scope="row"')) if j == 0 else ("d", Markup(""))
        cls = "num" if self.columns[j].numeric else "txt"
        split = _WITH_INTERVAL.match(value) if self.columns[j].fmt == "numtext" else None
        if split:
            content = html('{} <span class="nw">{}</span>', split.group(1), split.group(2))
            return html('<t{tag} class="{cls} wrap"{scope}>{value}</t{tag}>', tag=tag, cls=cls, scope=scope, value=content)
        return html('<t{tag} class="{cls}"{scope}>{value}</t{tag}>', tag=tag, cls=cls, scope=scope, value=value)

    def _characters(self, cells: list[list[str]]) -> int:
        """The characters a row needs: per column, its widest header word, text word or number (a number may break only
        before its interval)."""
        total = 0
        for j, column in enumerate(self.columns):
            words = [len(w) for w in str(_plain(column.header)).split()] or [0]
            widest = max(words)
            for row in cells:
                if not column.numeric:  # text wraps at its spaces
                    widest = max(widest, *(len(w) for w in row[j].split() or [""]))
                    continue
                split = _WITH_INTERVAL.match(row[j]) if column.fmt == "numtext" else None
                widest = max(widest, *(len(g) for g in split.groups())) if split else max(widest, len(row[j]))
            total += widest + 2
        return total

    def html(self) -> Markup:
        cells = self.cells()
        parts = self._parts()
        out = []
        for k, part in enumerate(parts):
            title = self._title() if k == 0 else html("{} (continued)", self._title())
            head = Markup("").join(
                html('<th scope="col" class="{}{}" data-kind="{}">{}</th>', "num" if self.columns[j].numeric else "txt",
                     " nw" if " " not in _plain(self.columns[j].header).strip() else "",  # "p-value" never breaks at its hyphen
                     self.columns[j].fmt if isinstance(self.columns[j].fmt, str) else "custom", self.columns[j].header)
                for j in part)
            body = Markup("").join(
                html("<tr>{}</tr>", Markup("").join(self._cell(j, row[j]) for j in part))
                for row in cells)
            out.append(html('<table class="data"><caption>{}</caption><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
                            title, head, body))
        notes = list(self.notes)
        if self.suppressed_key or (self.suppressed_key is None and self._has_suppressed(cells)):
            notes.append(Markup("[c] = suppressed to protect confidentiality (a count below the disclosure threshold, "
                                "or a value that would reveal one)."))
        if notes:
            out.append(html('<p class="table-note">{}</p>', Markup("<br>").join(esc(n) for n in notes)))
        wide = " wide" if len(self.columns) >= WIDE_TABLE_COLUMNS or self._characters(cells) > WIDE_TABLE_CHARACTERS else ""
        return html('<div class="table-block{}">{}</div>', wide, Markup("").join(out))

    def text(self) -> str:
        cells = self.cells()
        headers = [str(c.header) for c in self.columns]
        widths = [max([len(h)] + [len(r[j]) for r in cells]) for j, h in enumerate(headers)]
        lines = [_plain(self._title())] if (self.caption or self.number) else []
        lines.append(" | ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
        lines += [" | ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
        return "\n".join(lines)


@dataclass
class Figure(Block):
    """A numbered figure: the chart as PNG, its caption above, alt text, and notes below."""

    png: bytes
    alt: str
    caption: Any = ""
    number: int | None = None
    notes: Sequence[Any] = field(default_factory=list)
    width: int | None = None

    def _title(self) -> Any:
        return html("Figure {}. {}", self.number, self.caption) if self.number is not None else self.caption

    def html(self) -> Markup:
        data = base64.b64encode(self.png).decode("ascii")
        notes = html('<p class="figure-note">{}</p>', Markup("<br>").join(esc(n) for n in self.notes)) if self.notes else Markup("")
        return html('<figure><figcaption>{}</figcaption><img src="data:image/png;base64,{}" alt="{}">{}</figure>',
                    self._title(), data, self.alt, notes)

    def text(self) -> str:
        return _plain(self._title()) + "\n[chart: " + self.alt + "]"

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        display(HTML(str(html('<p class="figure-title">{}</p>', self._title()))))
        metadata: dict[str, Any] = {"alt": self.alt}
        if self.width:
            metadata["width"] = self.width
        display({"image/png": base64.b64encode(self.png).decode("ascii"), "text/plain": f"[chart: {self.alt}]"},
                raw=True, metadata={"image/png": metadata})
        if self.notes:
            display(HTML(str(html('<p class="figure-note">{}</p>', Markup("<br>").join(esc(n) for n in self.notes)))))


@dataclass
class Section(Block):
    """Blocks shown in order (consecutive text blocks as one output, each figure as an image)."""

    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block | None) -> Section:
        self.blocks.extend(b for b in blocks if b is not None)
        return self

    def html(self) -> Markup:
        return Markup("").join(b.html() for b in self.blocks)

    def text(self) -> str:
        return "\n\n".join(b.text() for b in self.blocks)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        run: list[Block] = []

        def flush() -> None:
            if run:
                body = Markup("").join(b.html() for b in run)
                display({"text/html": str(body), "text/plain": "\n\n".join(b.text() for b in run)}, raw=True)
                run.clear()

        for block in self.blocks:
            if hasattr(block, "_ipython_display_"):
                flush()
                block._ipython_display_()
            else:
                run.append(block)
        flush()


def _plain(content: Any) -> str:
    """Plain text of a fragment (markup tags removed, entities decoded)."""
    import html as _html
    import re

    return _html.unescape(re.sub(r"<[^>]+>", "", str(content)))
