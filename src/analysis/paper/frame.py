"""The frame every paper shares: front matter, contents, summary, glossary and appendices.

A :class:`Paper` wraps one study's results for one period with one
disclosure :class:`~analysis.paper.publisher.Publisher`. Subclasses (one per
notebook) compute their tables in :meth:`Paper.prepare`, the frame audits
them across tables, and their section methods return blocks that display
themselves. The frame numbers tables and figures in order, writes the front
matter from the study file (title, organisation, author, date, version,
data source, period in words, outcome definition), puts a banner on every
paper of synthetic data, and ends with a glossary, the methods and the
disclosure appendix.

Examples
--------
>>> version_text().startswith("analysis ")
True
"""

from __future__ import annotations

import datetime as _dt
import json
import subprocess
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import pandas as pd

from ..results import StudyResults, analyse
from . import text as tx
from .blocks import Block, Bullets, Callout, Column, Figure, Heading, Paragraph, Raw, Section, Table
from .glossary import TERMS
from .publisher import Publisher
from .text import Markup, html

__all__ = ["Paper", "version_text", "DISCLOSURE_MIME"]

DISCLOSURE_MIME = "application/vnd.analysis.disclosure+json"
"""The output that carries a paper's full disclosure log; the report command writes it as CSV beside the HTML."""


def version_text() -> str:
    """The package version and, inside a git checkout, the commit: "analysis 0.2.0 (commit 1a2b3c4)".

    Examples
    --------
    >>> from analysis import __version__
    >>> version_text().startswith(f"analysis {__version__}")  # then " (commit ...)" inside a git checkout
    True
    """
    from .. import __version__

    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"analysis {__version__}" + (f" (commit {commit})" if commit else "")


class Paper:
    """One paper of a study (subclass per notebook; see the module docstring).

    Parameters
    ----------
    results
        The study's results for the period reported (:func:`analysis.results.analyse`).
    threshold, rounding
        Disclosure control, set once for the whole paper.
    """

    #: The paper's part of the series and its heading
    number: str = ""
    part: str = ""
    #: Glossary terms this paper uses (keys of :data:`analysis.paper.glossary.TERMS`)
    terms: tuple[str, ...] = ()
    #: The section methods, in the order the notebook calls them (between the front matter and the closing)
    parts: tuple[str, ...] = ()

    def __init__(self, results: StudyResults, *, threshold: int = 10, rounding: int | None = None) -> None:
        self.results = results
        self.study = results.study
        self.pub = Publisher(threshold=threshold, rounding=rounding)
        self._tables = 0
        self._figures = 0
        self.prepare()
        self.pub.audit()

    @classmethod
    def open(cls, study: Any = None, cohort: Any = None, *, period: str | None = None, reference_period: str | None = None,
             threshold: int = 10, rounding: int | None = None, results: str | Path | None = None) -> Paper:
        """Open the study, analyse the period and prepare the paper in one call (what each notebook does).

        ``results`` is the file of results the report command computed once
        for all its papers (:meth:`analysis.results.StudyResults.save`); when
        given, the study is not read again and ``study``, ``cohort``,
        ``period`` and ``reference_period`` must describe the same run.
        """
        if results is not None:
            from ..results import load_results

            loaded = load_results(results)
            if period is not None and str(period) != loaded.period:
                raise ValueError(f"the results file is for the period {loaded.period!r}, not {period!r}")
            return cls(loaded, threshold=threshold, rounding=rounding)
        from ..cohort import open_study

        data = open_study(study, cohort)
        return cls(analyse(data, period=period, reference_period=reference_period), threshold=threshold, rounding=rounding)

    # ----------------------------------------------------------------- to override
    def prepare(self) -> None:
        """Compute and publish every table of the paper (before anything is shown)."""

    def sections(self) -> list[tuple[str, str]]:
        """(anchor, title) of the paper's numbered sections, in order."""
        return []

    def summary_points(self) -> list[Any]:
        """The 3 to 5 key findings of the paper, as HTML fragments."""
        return []

    # ----------------------------------------------------------------- words
    @property
    def outcome(self) -> str:
        return self.study.outcome

    @property
    def outcome_lower(self) -> str:
        text = self.study.outcome
        return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text

    @property
    def event(self) -> str:
        return self.study.event

    @property
    def period_words(self) -> str:
        return tx.period_words(self.results.period)

    def period_of(self, period: str | None = None) -> str:
        """"the period October 2015 to September 2016", or "the cohort “Released 2019-2021”" for a label that is not a date."""
        label = period or self.results.period
        words = tx.period_words(label)
        if words != str(label) or str(label)[:1].isdigit():
            return f"the period {words}"
        return f"the cohort \u201c{label}\u201d"

    @staticmethod
    def quoted(label: str) -> str:
        """A label as written, in quotation marks (so any label reads as a name in a sentence)."""
        return f"\u201c{label}\u201d"

    def file_column(self, name: str | None) -> str | None:
        """A study column's name in the analyst's own extract (before ``[columns]`` renamed it), for the paper's words."""
        if name is None:
            return None
        own = [str(k) for k, v in self.study.columns.items() if str(v) == name]
        return own[0] if own else name

    @cached_property
    def build_date(self) -> str:
        if self.study.date:
            return self.study.date
        return _dt.date.today().isoformat()

    def people(self) -> int:
        """The number of people the paper describes, for the front matter (the period's, unless a paper says otherwise)."""
        return int(self.results.overall["n"])

    def outcome_definition(self) -> str:
        from ..study import DEFAULT_OUTCOME

        months = self.study.follow_up_months
        if self.study.outcome == DEFAULT_OUTCOME and months == 12:
            return ("Proven reoffending: an offence committed in a 12-month follow-up that is proven by a court conviction "
                    "or a caution within that time or a further six months (the Ministry of Justice definition).")
        return f"{self.study.outcome}: recorded in the extract, over a follow-up of {months} months."

    # ----------------------------------------------------------------- numbered blocks
    def table(self, frame: pd.DataFrame, columns: Sequence[Column], caption: Any, notes: Sequence[Any] = (), **kwargs: Any) -> Table:
        self._tables += 1
        return Table(frame.reset_index(drop=True), list(columns), caption=caption, number=self._tables, notes=list(notes), **kwargs)

    def figure(self, chart: tuple[bytes, str], caption: Any, notes: Sequence[Any] = ()) -> Figure:
        self._figures += 1
        png, alt = chart
        return Figure(png=png, alt=alt, caption=caption, number=self._figures, notes=list(notes))

    def heading(self, anchor: str) -> Heading:
        """The numbered heading of a section declared in :meth:`sections`."""
        for i, (key, title) in enumerate(self.sections(), 1):
            if key == anchor:
                return Heading(html("{}. {}", i, title), level=2, anchor=anchor)
        raise KeyError(anchor)

    # ----------------------------------------------------------------- the frame
    def title(self) -> str:
        return self.study.title

    def banner(self) -> Block | None:
        if not self.study.synthetic:
            return None
        return Callout(html("Every number in this paper comes from <strong>synthetic data</strong>: records made up by a "
                            "computer program to resemble real data in aggregate. No real person is in them. These are "
                            "<strong>not real findings</strong> and must not be quoted as evidence."),
                       kind="banner", title="Synthetic data, not real findings.")

    def front_matter(self) -> Section:
        """Banner, title, metadata, contents and the summary: the top of the paper."""
        study = self.study
        s = Section()
        s.add(self.banner())
        s.add(Raw(html('<header class="paper-header"><p class="series">{}</p><h1>{}</h1><p class="subtitle">{}</p></header>',
                       f"Paper {self.number} of the series" if self.number else "", self.title(), self.part),
                  plain=f"# {self.title()}\n{self.part}"))
        meta = [("Organisation", study.organisation), ("Author", study.author), ("Published", self.build_date),
                ("Version", (f"{study.version}; " if study.version else "") + version_text()),
                ("Data source", study.data_source or Path(self.results.data.quality.source).name),
                ("Period", self.period_words + (f" (baseline: {tx.period_words(self.results.reference_period)})"
                                                if self.results.reference_period else "")),
                ("Outcome", self.outcome_definition()),
                ("People", f"{self.people():,}"),
                ("Disclosure control", f"counts below {self.pub.threshold} suppressed"
                 + (f"; counts rounded to base {self.pub.rounding}" if self.pub.rounding else ""))]
        rows = Markup("").join(html("<dt>{}</dt><dd>{}</dd>", k, v) for k, v in meta if v)
        s.add(Raw(html('<dl class="paper-meta">{}</dl>', rows),
                  plain="\n".join(f"{k}: {v}" for k, v in meta if v)))
        numbered = [(k, f"{i}. {t}") for i, (k, t) in enumerate(self.sections(), 1)]  # as the headings number them
        entries = [("summary", "Summary"), *numbered, ("limitations", "Limitations"), ("glossary", "Glossary"),
                   ("methods", "Methods"), ("disclosure", "Disclosure control")]
        items = Markup("").join(html('<li><a href="#{}">{}</a></li>', k, t) for k, t in entries)
        s.add(Raw(html('<nav class="contents" aria-label="Contents"><h2 class="contents-title">Contents</h2><ul>{}</ul></nav>', items),
                  plain="Contents: " + "; ".join(t for _, t in entries)))
        s.add(Heading("Summary", anchor="summary"))
        points = self.summary_points()
        s.add(Bullets(points, css="key-points") if points else Paragraph("There is nothing to summarise for this period."))
        return s

    def limitations(self, items: Sequence[Any]) -> Section:
        s = Section([Heading("Limitations", anchor="limitations")])
        s.add(Bullets(list(items)))
        return s

    def glossary(self) -> Section:
        terms = list(self.terms) + (["synthetic"] if self.study.synthetic else []) + ["suppressed", "confidence_interval"]
        seen = list(dict.fromkeys(t for t in terms if t in TERMS))
        rows = Markup("").join(html("<dt>{}</dt><dd>{}</dd>", *TERMS[t]) for t in seen)
        return Section([Heading("Glossary", anchor="glossary"),
                        Raw(html('<dl class="glossary">{}</dl>', rows), plain="\n".join(f"{TERMS[t][0]}: {TERMS[t][1]}" for t in seen))])

    def methods(self, rows: Sequence[dict[str, Any]], notes: Sequence[Any] = ()) -> Section:
        """The methods appendix: one row per output (what, method, confidence, people)."""
        frame = pd.DataFrame(rows, columns=["output", "method", "confidence", "n"])
        s = Section([Heading("Methods", anchor="methods")])
        s.add(Paragraph("Each output below names the method that produced it. The formulas, conventions and references "
                        "are in the toolkit's methods document (docs/methods.md in the analysis repository); every "
                        "statistic is tested there against independent values."))
        s.add(self.table(frame, [Column("output", "Output"), Column("method", "Method"),
                                 Column("confidence", "Confidence", lambda v: "" if tx.is_missing(v) else f"{100 * float(v):g}%"),
                                 Column("n", "People", "count")],
                         "How each output was produced", max_columns=4))
        for note in notes:
            s.add(Paragraph(note))
        return s

    def render(self) -> Section:
        """The whole paper as one section: front matter, every part in order, and the closing appendices.

        What the notebook shows cell by cell, in one call (for tests and for scripts).
        """
        whole = Section([self.front_matter()])
        for name in self.parts:
            whole.add(getattr(self, name)())
        whole.add(self.closing())
        return whole

    def closing(self) -> Section:
        """Limitations, glossary, methods and the disclosure appendix (each paper writes its own)."""
        return Section([self.glossary(), self.disclosure()])

    def disclosure(self) -> DisclosureAppendix:
        """The disclosure appendix: the rules, a line per table, and the full log for the CSV beside the paper."""
        return DisclosureAppendix(self)


class DisclosureAppendix(Section):
    """The disclosure appendix; its full log also goes out as data for the report command to write as CSV."""

    def __init__(self, paper: Paper) -> None:
        pub = paper.pub
        blocks: list[Block] = [Heading("Disclosure control", anchor="disclosure")]
        rules = [
            f"Counts below {pub.threshold} are suppressed, zeros included, because an empty cell reveals that nobody in a "
            "group has an attribute.",
            "Where a total would let a suppressed count be worked out by subtraction, a second (complementary) count is "
            "suppressed too; rates and their intervals are withheld wherever their count is, and wherever the people "
            f"without the outcome number fewer than {pub.threshold}.",
            "Expected counts are withheld with the observed count they go with, because a model fitted on the same people "
            "can reproduce it.",
            pub.audit_note or "No count table needed an audit across tables.",
            "Models are published only with at least 10 residual degrees of freedom.",
        ]
        if pub.rounding:
            rules.append(f"Visible counts are rounded to the nearest {pub.rounding} (halves up), after suppression; "
                         "totals are rounded independently, so rounded cells may not add up to rounded totals.")
        blocks.append(Bullets(rules))
        summary = pub.summary()
        if summary.empty:
            blocks.append(Paragraph("This paper publishes no count tables from the extract."))
        else:
            hidden = int(summary["cells hidden"].sum())
            blocks.append(Paragraph(html("{} of the {} count tables in this paper have suppressed cells ({} cells in all). "
                                         "The full log, one line per suppressed cell and rule, is published beside this "
                                         "paper as a CSV file.", int((summary["cells hidden"] > 0).sum()), len(summary), hidden)))
            blocks.append(paper.table(summary, [Column("table", "Table"), Column("groups", "Rows", "count"),
                                                Column("primary", "Primary", "count"),
                                                Column("complementary", "Complementary", "count"),
                                                Column("across tables", "Across tables", "count"),
                                                Column("cells hidden", "Cells hidden", "count")],
                                      "Suppression by table", max_columns=6, suppressed_key=False))
        models = pub.log.to_frame()
        models = models[models["rule"] == "model"]
        for rec in models.itertuples(index=False):
            # itertuples types every field as any pandas scalar; a model row's detail is always text
            blocks.append(Paragraph(html("Model {}: {}.", rec.table, cast(str, rec.detail).removeprefix("model: "))))
        super().__init__(blocks)
        self.details = pub.details()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        super()._ipython_display_()
        display({DISCLOSURE_MIME: json.loads(self.details.to_json(orient="records")),
                 "text/plain": f"[disclosure log: {len(self.details)} lines, written as CSV beside the paper]"}, raw=True)
