"""The headline tables of a study, disclosure-controlled, as the papers publish them.

``python -m analysis tables`` writes these as CSV for scripting. They are
read from the evidence summary's published tables (:class:`analysis.paper.SummaryPaper`),
so a CSV and a paper made with the same settings show the same numbers
under the same suppression. Values are at full precision (rounding is left
to whoever displays them); suppressed values are empty.

Examples
--------
>>> import analysis
>>> from analysis.headline import headline_tables
>>> results = headline_tables(analysis.open_study())  # doctest: +SKIP
>>> sorted(results.tables)  # doctest: +SKIP
['attributable_fractions', 'odds_ratios', 'oe_by_area', 'rates_by_flag']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .cohort import StudyData
from .results import analyse

__all__ = ["HeadlineTables", "headline_tables"]


@dataclass
class HeadlineTables:
    """The headline tables, the disclosure log and the period they describe."""

    tables: dict[str, pd.DataFrame]
    log: pd.DataFrame
    period: str
    reference_period: str | None


def headline_tables(
    data: StudyData,
    *,
    period: str | None = None,
    reference_period: str | None = None,
    threshold: int = 10,
    rounding: int | None = None,
) -> HeadlineTables:
    """Rates by flag, adjusted associations, O/E by area from each source, and attributable fractions.

    Parameters
    ----------
    data
        A validated study (:func:`analysis.open_study`).
    period, reference_period
        The period reported and its baseline (defaults as :func:`analysis.results.analyse`).
    threshold, rounding
        Disclosure control, as for the papers.

    Returns
    -------
    HeadlineTables
        ``tables``: ``rates_by_flag`` (flag, value, n, events, rate and Wilson
        interval), ``odds_ratios`` (per flag: people flagged, crude rates,
        unadjusted and adjusted odds ratios, standardised risk ratio and
        difference, with intervals and p-value), ``oe_by_area`` (per area and
        source of expected: n, observed, expected, O/E and its interval,
        label), ``attributable_fractions`` (single, Shapley and joint); each
        with ``method`` (the code, docs/api.md rule 7), ``method_words`` (the
        same in the words the papers print) and ``confidence``;
        ``oe_by_area`` has its interval's code in ``ratio_method`` and its
        words in ``ratio_method_words``. ``log``: one line per suppressed
        cell and rule.

    Examples
    --------
    >>> import analysis
    >>> headline = headline_tables(analysis.open_study(), threshold=10)  # doctest: +SKIP
    >>> sorted(headline.tables)  # doctest: +SKIP
    ['attributable_fractions', 'odds_ratios', 'oe_by_area', 'rates_by_flag']
    """
    from .paper import SummaryPaper
    from .paper.method_text import table_method_words

    results = analyse(data, period=period, reference_period=reference_period)
    paper = SummaryPaper(results, threshold=threshold, rounding=rounding)
    flags_paper, oe_paper = paper.flags_paper, paper.oe_paper
    tables: dict[str, pd.DataFrame] = {}

    rates = []
    for flag in results.flags:
        t = paper.pub[flags_paper.flag_table(flag)].rename(columns={flag: "value", "reoffenders": "events"})
        rates.append(t.assign(flag=flag, label=results.label(flag)))
    columns = ["flag", "label", "value", "n", "events", "rate", "lower", "upper", "method", "method_words", "confidence"]
    tables["rates_by_flag"] = (pd.concat(rates, ignore_index=True).pipe(_with_words)[columns] if rates else pd.DataFrame(columns=columns))

    eff = flags_paper.effects if results.flags else pd.DataFrame()
    columns = ["flag", "label", "n_flagged", "rate_flagged", "rate_unflagged", "unadjusted_or", "unadjusted_lower",
               "unadjusted_upper", "odds_ratio", "or_lower", "or_upper", "p_value", "risk_flagged", "risk_unflagged",
               "risk_ratio", "rr_lower", "rr_upper", "risk_difference", "rd_lower", "rd_upper", "confidence", "method", "method_words"]
    tables["odds_ratios"] = eff.pipe(_with_words)[columns] if not eff.empty else pd.DataFrame(columns=columns)

    oe = []
    for source in oe_paper.sources if len(results.areas) >= 2 else []:
        t = paper.pub[oe_paper._area_table(source)].assign(expected_source=source, expected_from=oe_paper.expected_words(source))
        oe.append(t)
    columns = ["area", "expected_source", "n", "observed", "expected", "observed_rate", "expected_rate", "ratio", "ratio_lower",
               "ratio_upper", "significance", "ratio_method", "ratio_method_words", "confidence", "expected_from"]
    if oe:
        frame = pd.concat(oe, ignore_index=True)
        tables["oe_by_area"] = frame.assign(ratio_method_words=table_method_words(frame, column="ratio_method"))[columns]
    else:
        tables["oe_by_area"] = pd.DataFrame(columns=columns)

    columns = ["term", "kind", "predicted_rate", "counterfactual_rate", "par", "par_lower", "par_upper", "paf", "paf_lower",
               "paf_upper", "n", "n_flagged", "method", "method_words", "confidence"]
    if results.flags and flags_paper.model_ok:
        paf = results.attributable.pipe(_with_words)[columns].copy()
        # pandas-stubs: .loc[row, col] may be any scalar, wider than what pd.isna is typed to take
        hidden = {f for f in results.flags if pd.isna(flags_paper.effects.set_index("flag").loc[f, "n_flagged"])}  # type: ignore[arg-type]
        numbers = ["predicted_rate", "counterfactual_rate", "par", "par_lower", "par_upper", "paf", "paf_lower", "paf_upper", "n_flagged"]
        paf.loc[paf["term"].isin(hidden), numbers] = np.nan
        tables["attributable_fractions"] = paf
    else:
        tables["attributable_fractions"] = pd.DataFrame(columns=columns)
    return HeadlineTables(tables=tables, log=paper.pub.details(), period=results.period, reference_period=results.reference_period)


def _with_words(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with ``method_words``: its ``method`` codes in the words the papers print."""
    from .paper.method_text import table_method_words

    return table.assign(method_words=table_method_words(table))
