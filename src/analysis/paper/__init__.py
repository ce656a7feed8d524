"""The presentation layer: papers built from a study's results, disclosure-controlled, with their frame.

Each notebook makes one paper object and calls its sections; the paper
computes every table first, applies disclosure control across all of them,
and returns blocks (headings, paragraphs, tables, figures) that display
themselves with escaped text, human headers, ``[c]`` for suppressed cells,
numbered captions and alternative text.

Examples
--------
>>> from analysis.paper import CohortPaper
>>> paper = CohortPaper.open()  # doctest: +SKIP
"""

from .blocks import Bullets, Callout, Column, Figure, Heading, Paragraph, Section, Table
from .cohort import CohortPaper
from .frame import Paper, version_text
from .impact import ImpactPaper
from .kpi import KpiPaper
from .observed_expected import ObservedExpectedPaper
from .published_position import PublishedPositionPaper
from .publisher import Publisher
from .risk_flags import RiskFlagsPaper
from .summary import SummaryPaper

PAPERS: dict[str, type[Paper]] = {
    "01": PublishedPositionPaper,
    "02": CohortPaper,
    "03": RiskFlagsPaper,
    "04": ObservedExpectedPaper,
    "05": SummaryPaper,
    "06": KpiPaper,
    "07": ImpactPaper,
}
"""The papers of the series by notebook number."""

__all__ = ["Paper", "PAPERS", "CohortPaper", "RiskFlagsPaper", "ObservedExpectedPaper", "SummaryPaper", "KpiPaper", "ImpactPaper",
           "PublishedPositionPaper", "Publisher", "Section", "Table", "Figure", "Column", "Heading", "Paragraph",
           "Bullets", "Callout", "version_text"]
