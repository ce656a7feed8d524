"""The headline tables of an evidence paper, disclosure-controlled, in one call.

Used by ``python -m analysis tables`` (CSV for scripting) and by the
evidence summary notebook, so both publish the same numbers under the same
rules.

Examples
--------
>>> import analysis
>>> from analysis.headline import headline_tables
>>> tables, log = headline_tables(analysis.load_cohort(analysis.DEFAULT_COHORT))  # doctest: +SKIP
>>> sorted(tables)  # doctest: +SKIP
['oe_by_area', 'odds_ratios', 'paf', 'rates_by_flag']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .attributable import attributable_fractions
from .describe import rates_by_flag
from .disclosure import DisclosureLog, apply_disclosure_control, check_model_dof, publish_observed_expected, publish_rates
from .models import DEFAULT_ADJUST, FlagsModel, fit_flags_model
from .observed_expected import expected_from, observed_vs_expected
from .schema import FLAGS

MODEL_DOF_THRESHOLD: int = 10
"""Model results need at least this many residual degrees of freedom (METHODS section 7), whatever the count threshold."""

__all__ = ["HeadlineResults", "headline_tables", "choose_expected_source", "latest_period", "previous_period"]


def latest_period(cohort: pd.DataFrame) -> str:
    """The last cohort period in sort order (periods are labelled so that they sort in time)."""
    return str(sorted(cohort["period"].astype(str).unique())[-1])


def previous_period(cohort: pd.DataFrame, period: str) -> str | None:
    """The period just before ``period`` in sort order (the natural baseline), or None.

    Examples
    --------
    >>> previous_period(pd.DataFrame({"period": ["2022-23", "2023-24", "2024-25"]}), "2024-25")
    '2023-24'
    """
    earlier = [p for p in sorted(cohort["period"].astype(str).unique()) if p < period]
    return earlier[-1] if earlier else None


def choose_expected_source(cohort: pd.DataFrame, period: str, reference_period: str | None = None) -> str:
    """Which source of expected to use: the supplied column if present, else a reference-period
    case-mix model if that period is in the data, else internal standardisation."""
    if "expected" in cohort.columns:
        return "supplied"
    periods = set(cohort["period"].astype(str))
    if reference_period and reference_period in periods and reference_period != period:
        return "reference"
    return "internal"


@dataclass
class HeadlineResults:
    """The controlled headline tables, the fitted model behind them and the disclosure log."""

    tables: dict[str, pd.DataFrame]
    log: DisclosureLog
    model: FlagsModel
    period: str
    expected_source: str
    notes: list[str] = field(default_factory=list)

    def __iter__(self):  # allows ``tables, log = headline_tables(...)``
        return iter((self.tables, self.log))


def headline_tables(
    cohort: pd.DataFrame,
    period: str | None = None,
    *,
    reference_period: str | None = None,
    threshold: int = 10,
    rounding: int | None = None,
    log: DisclosureLog | None = None,
) -> HeadlineResults:
    """Rates by flag, adjusted odds ratios, O/E by area and attributable fractions, disclosure-controlled.

    Parameters
    ----------
    cohort
        A validated cohort (:func:`analysis.load_cohort`).
    period
        The period reported (default: the latest).
    reference_period
        Baseline period for a case-mix expected model when no ``expected`` column is supplied.
    threshold
        Disclosure threshold: counts below it are suppressed, and so is everything derived from them.
    rounding
        Round visible counts to this base (e.g. 5) after suppression; ``None`` for none.
    log
        A disclosure log to add to (a new one by default).

    Returns
    -------
    HeadlineResults
        ``tables`` with ``rates_by_flag``, ``odds_ratios``, ``oe_by_area`` and ``paf``;
        ``log``; the fitted ``model``; the ``period`` and ``expected_source`` used.
    """
    log = log if log is not None else DisclosureLog(default_threshold=threshold)
    period = period or latest_period(cohort)
    current = cohort[cohort["period"].astype(str) == period].copy()
    if current.empty:
        raise ValueError(f"no rows in period {period!r}; periods present: {sorted(cohort['period'].astype(str).unique())}")
    notes: list[str] = []

    rates = publish_rates(rates_by_flag(current), log, name="rates by flag", labels=["flag", "value"], threshold=threshold,
                          partition_by=["flag"], rounding=rounding)

    adjust = [c for c in DEFAULT_ADJUST if current[c].nunique(dropna=True) > 1]
    flags = [f for f in FLAGS if current[f].nunique(dropna=True) > 1]
    model = fit_flags_model(current, flags=flags, adjust=adjust)
    dof = check_model_dof(model.nobs, len(model.params), threshold=MODEL_DOF_THRESHOLD, log=log, name="flags model")
    odds = model.odds_ratios
    odds, _ = apply_disclosure_control(
        odds, count_columns=["n"], numerator=None, denominator=None,
        derived_columns=["odds_ratio", "ci_lower", "ci_upper", "p_value"], labels=["term"], threshold=threshold,
        log=log, name="adjusted odds ratios", rounding=rounding,
    )
    if not dof.passed:
        odds[["odds_ratio", "ci_lower", "ci_upper", "p_value"]] = pd.NA
        notes.append(dof.detail)

    source = choose_expected_source(cohort, period, reference_period)
    expected = expected_from(cohort, source, period=period, reference_period=reference_period)
    oe = publish_observed_expected(observed_vs_expected(current, "area", expected=expected), log, name="O/E by area",
                                   threshold=threshold, rounding=rounding)

    paf = attributable_fractions(model)
    paf, _ = apply_disclosure_control(
        paf, count_columns=["n_flagged"], derived_columns=["par_pp", "par_lower", "par_upper", "paf", "paf_lower", "paf_upper"],
        labels=["term"], threshold=threshold, log=log, name="attributable fractions", rounding=rounding,
    )
    if "sentence" in paf.columns:
        paf["sentence"] = paf["sentence"].where(paf["paf"].notna(), "Suppressed: too few people flagged to publish.")
    if not dof.passed:
        paf[["par_pp", "par_lower", "par_upper", "paf", "paf_lower", "paf_upper"]] = pd.NA

    return HeadlineResults(
        tables={"rates_by_flag": rates, "odds_ratios": odds, "oe_by_area": oe, "paf": paf},
        log=log, model=model, period=period, expected_source=str(expected.attrs.get("description", source)), notes=notes,
    )
