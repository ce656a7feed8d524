"""Tracking reoffending KPIs over time: statistical process control (NHS England "Making Data Count").

A board asks of each KPI (the reoffending rate of adults, of youths, of
domestic-violence perpetrators, recalls, completions of community sentences):
*is this quarter's rate a real change, or noise?* This module answers it the
way NHS England's "Making Data Count" (MDC) programme does, so that KPI papers
read like the SPC charts boards already know:

1. :func:`rates_by_period`: the outcome's rate per month, quarter or year (from
   a date column) or per existing period, optionally by group or for a subset,
   with Wilson intervals.
2. :func:`p_chart` (limits from the binomial, varying with each period's
   denominator) or :func:`xmr_chart` (the MDC XmR chart: mean +/- 2.66 x the
   mean moving range).
3. :func:`special_causes`: MDC's four rules, each flagged point naming its rule.
4. :func:`variation_and_assurance`: the meaning of MDC's variation and
   assurance icons for the latest point, in words.
5. :func:`data_lag`: the last cohort period whose proven reoffending is complete.
6. :func:`oe_by_period`: observed against expected per period from a case-mix
   model fitted on a baseline period (the MoJ "adjusted baseline"), so that a
   change in who is supervised is not read as a change in performance.

Conventions, constants and sources are in ``docs/methods.md`` ("Tracking KPIs
over time"). In short: XmR limits are mean +/- 2.66 x mean moving range with
moving ranges *not* screened (as the MDC Excel tools; ``screen_outliers=True``
applies Nelson's 1982 screen as NHSRplotthedots does by default); a shift is 7
or more points in a row on one side of the centre line; a trend is 7 or more
points in a row each higher (or lower) than the one before; "two of three" is
two out of three points in a row beyond the 2-sigma line on the same side, all
three on that side of the centre line. A point that rules flag both ways reads
as an improvement, as in MDC's single-chart tool.

Every function returns a tidy DataFrame and prints nothing; every table
carries ``statistic`` and ``method``, and every estimate its ``confidence``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> days = pd.date_range("2019-01-01", "2024-12-31", freq="D")
>>> people = pd.DataFrame({"index_date": rng.choice(days, 2400)})
>>> people["reoffended"] = (rng.random(2400) < 0.3).astype(int)
>>> rates = rates_by_period(people, date="index_date", freq="Q")
>>> chart = special_causes(p_chart(rates))
>>> variation_and_assurance(chart, target=0.5, improvement="down")[["period", "variation", "assurance"]].values.tolist()
[['2024Q4', 'common cause', 'consistently passing']]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .intervals import one_confidence_level, proportion_ci
from .periods import category_codes_present, date_period_codes, long_date
from .schema import OUTCOME, ordered_levels

__all__ = [
    "rates_by_period",
    "p_chart",
    "xmr_chart",
    "rate_chart",
    "chart_for_denominators",
    "special_causes",
    "variation_and_assurance",
    "data_lag",
    "oe_by_period",
    "XMR_LIMIT",
    "XMR_SCREEN",
    "SHIFT_RUN",
    "TREND_RUN",
    "LARGE_DENOMINATOR",
    "CHART_KINDS",
]

XMR_LIMIT: float = 2.66
"""MDC's XmR constant: process limits at mean +/- 2.66 x the mean moving range (3 / 1.128, d2 for n = 2)."""

XMR_SCREEN: float = 3.267
"""Nelson's (1982) screen: moving ranges of 3.267 x their mean or more are left out (``screen_outliers=True``)."""

SHIFT_RUN: int = 7
"""MDC: a shift is 7 or more consecutive points all above, or all below, the centre line."""

TREND_RUN: int = 7
"""MDC: a trend is 7 or more consecutive points each higher (or each lower) than the one before (6 rises)."""

LARGE_DENOMINATOR: int = 5000
"""A rate chart's denominators are large when the median period counts at least this many people: then the
binomial p-chart's limits are too narrow (real rates vary more than chance from one period to the next, i.e.
over-dispersion) and :func:`rate_chart` draws an XmR chart, whose limits come from the data."""

CHART_KINDS: tuple[str, ...] = ("auto", "p", "xmr")
"""The ``chart`` codes of :func:`rate_chart`: ``"auto"`` (p-chart, or XmR when denominators are large), ``"p"``, ``"xmr"``."""

THREE_SIGMA: float = float(2 * stats.norm.cdf(3) - 1)
"""Nominal two-sided coverage of 3-sigma limits under a normal approximation (0.9973), the ``confidence`` of a chart."""


# --------------------------------------------------------------------------- periods


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _period_codes(frame: pd.DataFrame, date: str | None, period: str | None, freq: str) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's period as a code into a table of periods in time order (-1 when missing).

    The table has ``period`` (a text label) and, for periods made from dates,
    ``period_start`` and ``period_end`` (the first and last day).
    """
    if date is not None and period is not None:
        raise ValueError("give either date= (a date column, cut into periods by freq) or period= (a period column), not both")
    if date is None and period is None:
        if "period" not in frame.columns:
            raise ValueError("name a date column (date=...) or a period column (period=...): the data have no 'period' column")
        period = "period"
    if date is not None:
        if date not in frame.columns:
            raise KeyError(f"no date column '{date}' in the data")
        raw = frame[date]
        dates = pd.to_datetime(raw, errors="coerce")
        bad = dates.isna() & raw.notna()
        if bad.any():
            examples = ", ".join(repr(v) for v in raw[bad].astype(str).unique()[:3])
            raise ValueError(f"{int(bad.sum()):,} value(s) of '{date}' are not dates (e.g. {examples})")
        try:
            codes, uniques = date_period_codes(dates, freq)  # the distinct dates cut into periods, not every row
        except (ValueError, TypeError) as err:
            raise ValueError(f"freq must be a period frequency such as 'M', 'Q', 'Y', 'Q-MAR' or 'Y-MAR', not {freq!r}") from err
        table = pd.DataFrame({
            "period": uniques.astype(str),
            "period_start": uniques.start_time.normalize(),
            "period_end": uniques.end_time.normalize(),
        })
        return np.asarray(codes), table
    assert period is not None
    if period not in frame.columns:
        raise KeyError(f"no period column '{period}' in the data")
    values = frame[period]
    if isinstance(values.dtype, pd.CategoricalDtype):  # from the codes: no label per row
        codes, levels = category_codes_present(values)
        return codes, pd.DataFrame({"period": levels})
    levels = ordered_levels(period, values.dropna().astype(str).unique())
    codes = np.asarray(pd.Categorical(values.astype("string"), categories=levels).codes, dtype=np.int64)
    return codes, pd.DataFrame({"period": levels})


def _subset(frame: pd.DataFrame, where: Any) -> tuple[np.ndarray, str]:
    """Rows in the subset (``where``: a 0/1 column name, an expression, or a boolean mask) and its description."""
    if where is None:
        return np.ones(len(frame), dtype=bool), "everyone"
    if isinstance(where, str):
        if where in frame.columns:
            values = pd.to_numeric(frame[where], errors="coerce")
            if not values.dropna().isin([0, 1]).all():
                raise ValueError(f"where='{where}' names a column that is not 0/1; write a condition instead, e.g. \"{where} == 'x'\"")
            return (values == 1).to_numpy(), f"people with {where} = 1"
        from .expressions import evaluate_mask

        return evaluate_mask(where, frame).to_numpy(dtype=bool), f"people for whom {where}"
    mask = where.reindex(frame.index) if isinstance(where, pd.Series) else where
    mask = np.asarray(mask)
    if mask.shape != (len(frame),):
        raise ValueError("where= as a mask must have one value per row")
    return np.asarray(pd.Series(mask).fillna(False).astype(bool)), "a subset of people"


def _grouped_counts(frame: pd.DataFrame, by_cols: list[str], codes: np.ndarray, n_periods: int, y: np.ndarray,
                    keep: np.ndarray, people: np.ndarray | None = None) -> pd.DataFrame:
    """People (``n``) and ``events`` per group of ``by_cols`` and period code (``_code``), counted on integer codes.

    The rows kept are reduced to one integer per (group, period) and counted
    with ``bincount``: no per-row frame of labels is built. Groups come in the
    order a sorted group-by on the rows' own values gives (each column's
    distinct values sorted, then the period code). ``people``: how many people
    each row counts (cells of people), else one each.
    """
    everyone = bool(keep.all())  # then no row is selected out, and nothing per row is copied to select it

    def kept(values: np.ndarray) -> np.ndarray:
        return values if everyone else values[keep]

    key: np.ndarray | None = None
    size = 1
    levels: list[np.ndarray] = []
    for col in by_cols:
        column = frame[col]
        if isinstance(column.dtype, pd.CategoricalDtype):
            row_codes = kept(np.asarray(column.cat.codes))
            values = column.cat.categories.to_numpy()
        else:
            row_codes, values = pd.factorize(kept(column.to_numpy()))
        rank, ordered = pd.factorize(values, sort=True)  # each distinct value's place in sorted order
        place = np.asarray(rank, dtype=np.int64)[row_codes]
        if key is None:
            key = place
        else:
            key *= len(ordered)
            key += place
        size *= len(ordered)
        levels.append(np.asarray(ordered))
    if key is None:
        key = np.asarray(kept(codes), dtype=np.int64)  # only read from here on
    else:
        key *= n_periods
        key += kept(codes)
    size *= n_periods
    weights = kept(y)
    counted = None if people is None else kept(people)
    if size <= max(len(key), 1 << 16):  # a count per possible cell costs no more than the rows themselves
        n = np.bincount(key, weights=counted, minlength=size)
        cells = np.flatnonzero(n)
        n, events = n[cells], np.bincount(key, weights=weights, minlength=size)[cells]
    else:
        cells, inverse = np.unique(key, return_inverse=True)
        n, events = np.bincount(inverse, weights=counted), np.bincount(inverse, weights=weights)
        cells, n, events = cells[n > 0], n[n > 0], events[n > 0]
    out: dict[str, Any] = {}
    rest, period_code = np.divmod(cells, n_periods)
    for col, ordered in reversed(list(zip(by_cols, levels))):
        rest, rank = np.divmod(rest, len(ordered))
        out[col] = ordered[rank]
    counts = pd.DataFrame({col: out[col] for col in by_cols})
    counts["_code"] = period_code
    counts["n"] = np.round(n).astype("int64")
    counts["events"] = np.round(events).astype("int64")
    return counts


def rates_by_period(
    frame: pd.DataFrame,
    *,
    outcome: str = OUTCOME,
    date: str | None = None,
    period: str | None = None,
    freq: str = "Q",
    by: str | Sequence[str] | None = None,
    where: str | pd.Series | np.ndarray | None = None,
    confidence: float = 0.95,
    trials: str | None = None,
) -> pd.DataFrame:
    """The rate of a 0/1 outcome in each period, with Wilson intervals.

    Parameters
    ----------
    frame
        One row per person (or per index event).
    outcome
        The 0/1 outcome column (default ``reoffended``).
    date
        A date column (e.g. the index date: release or start of the order),
        cut into periods by ``freq``.
    period
        An existing period column, used as it is (in its category order, or
        naturally sorted). With neither ``date`` nor ``period``, the column
        ``period`` is used.
    freq
        ``"M"`` (month), ``"Q"`` (calendar quarter) or ``"Y"`` (calendar year);
        any pandas period frequency works, e.g. ``"Q-MAR"``/``"Y-MAR"`` for
        financial quarters/years (labelled by the year in which they *end*;
        ``period_start``/``period_end`` make the dates plain).
    by
        Column(s) to give a series per group (e.g. ``"area"``).
    where
        A subset: the name of a 0/1 column (people with that flag), a condition
        in the expression language (``"age_band == '18-20'"``) or a boolean mask.
    confidence
        Level of the Wilson interval.
    trials
        When the rows are cells of people (see :mod:`analysis.cells`), the
        column counting each cell's people; ``outcome`` then counts those with
        the outcome. The table is the one from the people.

    Returns
    -------
    pandas.DataFrame
        One row per group and period with people: the ``by`` columns,
        ``period``, ``period_start`` and ``period_end`` (from dates only),
        ``n``, ``events``, ``rate``, ``lower``, ``upper`` (Wilson),
        ``statistic`` ("proportion"), ``outcome`` (the outcome column),
        ``subset`` (the people counted, in words: "everyone", "people with dv
        = 1", ...), ``method`` (``"wilson_rate_per_period"``), ``confidence``. Periods with
        nobody are absent (a chart then skips them: say so under it).
        ``attrs`` holds ``outcome``, ``subset``, ``n_left_out`` (rows of the
        subset with a missing outcome, period or ``by`` value) and ``freq``.

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({"index_date": ["2023-01-05", "2023-02-11", "2023-04-20", "2023-05-02"],
    ...                        "reoffended": [1, 0, 1, 1]})
    >>> rates_by_period(people, date="index_date", freq="Q")[["period", "n", "events", "rate"]]
       period  n  events  rate
    0  2023Q1  2       1   0.5
    1  2023Q2  2       2   1.0
    """
    confidence = one_confidence_level(confidence, function="rates_by_period")
    if outcome not in frame.columns:
        raise KeyError(f"no outcome column '{outcome}' in the data")
    by_cols = _as_list(by)
    missing = [c for c in by_cols if c not in frame.columns]
    if missing:
        raise KeyError(f"by column(s) not in the data: {missing}")
    codes, table = _period_codes(frame, date, period, freq)
    raw = frame[outcome]
    y = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    known = ~np.isnan(y)
    people = None if trials is None else pd.to_numeric(frame[trials]).to_numpy(dtype=float)
    if people is not None:
        with np.errstate(invalid="ignore"):
            if not ((y >= 0) & (y <= people) & (y % 1 == 0) | ~known).all():
                raise ValueError(f"with trials={trials!r}, '{outcome}' must count the people with the outcome in each cell")
    elif (raw.notna().to_numpy() & ~known).any() or not ((y == 0.0) | (y == 1.0) | ~known).all():
        raise ValueError(f"'{outcome}' must be 0/1 (or missing)")
    subset, subset_text = _subset(frame, where)
    recorded = known & (codes >= 0)
    for col in by_cols:
        recorded &= frame[col].notna().to_numpy()
    keep = recorded & subset
    n_left_out = int((subset & ~recorded).sum()) if people is None else int(people[subset & ~recorded].sum())
    if not keep.any():
        raise ValueError("no rows with a recorded outcome and period" + ("" if where is None else " in the subset"))
    counts = _grouped_counts(frame, by_cols, codes, len(table), y, keep, people)
    out = counts.join(table, on="_code").drop(columns="_code")
    ci = proportion_ci(out["events"].to_numpy(), out["n"].to_numpy(), method="wilson", confidence=confidence)
    out["rate"] = out["events"] / out["n"]
    out["lower"] = ci["lower"].to_numpy()
    out["upper"] = ci["upper"].to_numpy()
    out["statistic"] = "proportion"
    out["outcome"] = outcome
    out["subset"] = subset_text
    out["method"] = "wilson_rate_per_period"
    out["confidence"] = float(confidence)
    dates = ["period_start", "period_end"] if "period_start" in out else []
    out = out[[*by_cols, "period", *dates, "n", "events", "rate", "lower", "upper", "statistic", "outcome", "subset", "method",
               "confidence"]]
    for col in by_cols:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            out[col] = pd.Categorical(out[col], categories=frame[col].cat.categories)
    out.attrs.update(outcome=outcome, subset=subset_text, n_left_out=n_left_out, freq=freq if date is not None else None)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- charts


def _one_series(frame: pd.DataFrame, need: Sequence[str]) -> pd.DataFrame:
    """One series of periods, copied; the input's own interval and labels are renamed out of the chart's way."""
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise KeyError(f"the chart needs column(s) {missing} (e.g. from rates_by_period)")
    if "period" in frame.columns and frame["period"].astype(str).duplicated().any():
        raise ValueError("a period appears twice: chart one series at a time (filter rates_by_period(..., by=...) to one group)")
    t = frame.reset_index(drop=True).copy()
    # e.g. rates_by_period's Wilson interval becomes rate_lower/rate_upper; the chart's own limits are lower/upper
    renames = {c: f"{c}_interval" for c in ("lower", "upper") if c in t.columns}
    if "rate" in t.columns:
        renames = {c: f"rate_{c}" for c in ("lower", "upper") if c in t.columns}
    t = t.rename(columns=renames)
    provenance = ["statistic", "method", "confidence"]
    if "method" in t.columns and (t["method"] == "wilson_rate_per_period").all():
        provenance += ["outcome", "subset"]  # the rates' own provenance, not the chart's
    return t.drop(columns=[c for c in provenance if c in t.columns])


def _baseline_mask(periods: pd.Series, baseline: int | str | Sequence[Any] | None, minimum: int = 1) -> np.ndarray:
    """Which points form the baseline: all (None), the first k (an int), or the named periods."""
    n = len(periods)
    if baseline is None:
        mask = np.ones(n, dtype=bool)
    elif isinstance(baseline, (int, np.integer)) and not isinstance(baseline, bool):
        if not 1 <= int(baseline) <= n:
            raise ValueError(f"baseline={baseline} must be between 1 and the number of points ({n})")
        mask = np.arange(n) < int(baseline)
    else:
        # a bool baseline still lands here (bool is an int excluded above) and fails as it always has
        labels = [str(baseline)] if isinstance(baseline, str) else [str(b) for b in baseline]  # type: ignore[union-attr]
        text = periods.astype(str)
        unknown = [lab for lab in labels if lab not in set(text)]
        if unknown:
            raise ValueError(f"baseline period(s) {unknown} are not in the chart ({', '.join(text[:6])}...)")
        mask = text.isin(labels).to_numpy()
    if mask.sum() < minimum:
        raise ValueError(f"the baseline needs at least {minimum} points")
    return mask


def p_chart(rates: pd.DataFrame, *, baseline: int | str | Sequence[Any] | None = None) -> pd.DataFrame:
    """A p-chart: each period's rate against binomial limits that vary with its denominator.

    Centre ``p = sum(events) / sum(n)`` over the baseline periods; for period i,
    ``sigma_i = sqrt(p (1 - p) / n_i)``, process limits ``p +/- 3 sigma_i`` and
    warning (2-sigma) lines ``p +/- 2 sigma_i``, all clipped to [0, 1].

    Parameters
    ----------
    rates
        One series of periods with ``n`` and ``events`` (e.g. from
        :func:`rates_by_period` for one group), in time order.
    baseline
        The periods that set the centre line: all (default), the first k
        (``baseline=12``, like MDC's "fix after n points") or a list of period
        labels. Limits for later periods then show change against the baseline.

    Returns
    -------
    pandas.DataFrame
        The input columns, plus ``value`` (the rate), ``centre``, ``sigma``,
        ``lower``, ``upper``, ``lower_2sigma``, ``upper_2sigma``, ``baseline``
        (bool), ``chart`` ("p"), ``statistic`` ("p-chart"), ``n_baseline``
        and ``n_points`` (the periods that set the centre, of all the
        periods), ``method`` (``"p_chart"``: centre sum(events)/sum(n) over
        the baseline, limits +/- 3 and warning lines +/- 2 sqrt(p(1-p)/n_i),
        clipped to [0, 1]) and ``confidence`` (0.9973, the nominal coverage
        of 3-sigma limits).

    Examples
    --------
    >>> import pandas as pd
    >>> rates = pd.DataFrame({"period": ["Q1", "Q2"], "n": [100, 400], "events": [30, 120]})
    >>> p_chart(rates)[["centre", "lower", "upper"]].round(4).values.tolist()
    [[0.3, 0.1625, 0.4375], [0.3, 0.2313, 0.3687]]
    """
    t = _one_series(rates, ("n", "events"))
    n = t["n"].to_numpy(dtype=float)
    x = t["events"].to_numpy(dtype=float)
    if (n <= 0).any() or (x < 0).any() or (x > n).any():
        raise ValueError("each period needs n > 0 and 0 <= events <= n")
    periods = t["period"] if "period" in t else pd.Series(np.arange(1, len(t) + 1))
    base = _baseline_mask(periods, baseline)
    pbar = x[base].sum() / n[base].sum()
    sigma = np.sqrt(pbar * (1 - pbar) / n)
    t["value"] = x / n
    t["centre"] = pbar
    t["sigma"] = sigma
    t["lower"] = np.clip(pbar - 3 * sigma, 0.0, 1.0)
    t["upper"] = np.clip(pbar + 3 * sigma, 0.0, 1.0)
    t["lower_2sigma"] = np.clip(pbar - 2 * sigma, 0.0, 1.0)
    t["upper_2sigma"] = np.clip(pbar + 2 * sigma, 0.0, 1.0)
    t["baseline"] = base
    t["chart"] = "p"
    t["statistic"] = "p-chart"
    t["n_baseline"] = int(base.sum())
    t["n_points"] = len(t)
    t["method"] = "p_chart"
    t["confidence"] = THREE_SIGMA
    return t


def xmr_chart(
    values: pd.DataFrame | pd.Series | Sequence[float] | np.ndarray,
    *,
    baseline: int | str | Sequence[Any] | None = None,
    screen_outliers: bool = False,
) -> pd.DataFrame:
    """An XmR (individuals) chart as Making Data Count draws it.

    Centre: the mean of the baseline points. Moving ranges ``|x_i - x_(i-1)|``
    between consecutive points that are both in the baseline (with named
    baseline periods that leave a gap, the two points either side of the gap
    do not make a moving range); process limits
    ``mean +/- 2.66 x mean(moving range)``; the 2-sigma lines at two thirds of
    that distance (``sigma = 2.66 / 3 x mean(MR)``, i.e. mean(MR) / 1.128).
    Limits are not clipped (an O/E ratio is not bounded by 1).

    Use it for rates with large denominators, where the binomial p-chart's
    limits are too narrow because real rates vary more than binomially between
    periods (the XmR chart takes its spread from the data).

    Parameters
    ----------
    values
        A frame with a ``value``, ``rate`` or ``ratio`` column (e.g. from
        :func:`rates_by_period` or :func:`oe_by_period`), a Series (its index
        becomes ``period``) or an array, in time order.
    baseline
        Points that set the centre and limits: all (default), the first k, or
        named periods.
    screen_outliers
        False (default, as the MDC Excel tools): every moving range counts.
        True: moving ranges of 3.267 x their mean or more are left out and the
        mean recomputed (Nelson 1982; NHSRplotthedots' default).

    Returns
    -------
    pandas.DataFrame
        ``period``, ``value``, ``moving_range``, ``centre``,
        ``mean_moving_range``, ``sigma``, ``lower``, ``upper``,
        ``lower_2sigma``, ``upper_2sigma``, ``baseline``, ``chart`` ("XmR"),
        ``statistic``, ``n_baseline`` and ``n_points`` (the points that set
        the centre, of all the points), ``screen_outliers`` (bool) and
        ``n_screened`` (moving ranges left out by the screen), ``method``
        (``"xmr"``: centre the mean of the baseline, limits +/- 2.66 x the
        mean moving range, 2-sigma lines at two thirds of that),
        ``confidence`` (0.9973), plus any other input columns (e.g. ``n``).

    Examples
    --------
    >>> c = xmr_chart([10, 12, 11, 13, 12])
    >>> float(c["centre"][0]), float(c["mean_moving_range"][0]), round(float(c["upper"][0]), 3)
    (11.6, 1.5, 15.59)
    """
    if isinstance(values, pd.DataFrame):
        column = next((c for c in ("value", "rate", "ratio") if c in values.columns), None)
        if column is None:
            raise KeyError("an XmR chart needs a 'value', 'rate' or 'ratio' column")
        t = _one_series(values, (column,))
        if column != "value":
            t["value"] = t[column]
    elif isinstance(values, pd.Series):
        t = pd.DataFrame({"period": values.index.astype(str), "value": values.to_numpy(dtype=float)})
    else:
        v = np.asarray(values, dtype=float)
        t = pd.DataFrame({"period": np.arange(1, v.size + 1).astype(str), "value": v})
    if "period" not in t.columns:
        t.insert(0, "period", np.arange(1, len(t) + 1).astype(str))
    x = t["value"].to_numpy(dtype=float)
    if np.isnan(x).any():
        raise ValueError("an XmR chart needs a value for every point")
    base = _baseline_mask(t["period"], baseline, minimum=2)
    xb = x[base]
    # moving ranges between consecutive points that are both in the baseline (a gap is not a moving range)
    mr = np.abs(np.diff(x))[base[1:] & base[:-1]]
    if mr.size == 0:
        raise ValueError("the baseline needs at least two consecutive points for a moving range")
    amr = float(mr.mean())
    screened = 0
    if screen_outliers:
        kept = mr[mr < XMR_SCREEN * amr]
        screened = int(mr.size - kept.size)
        amr = float(kept.mean()) if kept.size else amr
    centre = float(xb.mean())
    sigma = XMR_LIMIT / 3 * amr
    t["moving_range"] = np.concatenate([[np.nan], np.abs(np.diff(x))])
    t["centre"] = centre
    t["mean_moving_range"] = amr
    t["sigma"] = sigma
    t["lower"] = centre - XMR_LIMIT * amr
    t["upper"] = centre + XMR_LIMIT * amr
    t["lower_2sigma"] = centre - 2 * sigma
    t["upper_2sigma"] = centre + 2 * sigma
    t["baseline"] = base
    t["chart"] = "XmR"
    t["statistic"] = "XmR chart"
    t["n_baseline"] = int(base.sum())
    t["n_points"] = len(t)
    t["screen_outliers"] = bool(screen_outliers)
    t["n_screened"] = screened
    t["method"] = "xmr"
    t["confidence"] = THREE_SIGMA
    return t


def chart_for_denominators(n: Sequence[float] | np.ndarray | pd.Series, *, large: int = LARGE_DENOMINATOR) -> str:
    """The chart ``"auto"`` picks for a series of rates: ``"xmr"`` when its denominators are large, else ``"p"``.

    Large means the median denominator is at least ``large`` (default
    :data:`LARGE_DENOMINATOR`). With denominators that large the binomial
    limits of a p-chart are a fraction of a percentage point wide, narrower
    than the period-to-period variation every real service has, so most points
    would read as special causes; the XmR chart takes its spread from the
    moving range of the rates themselves (Making Data Count's default chart).

    Examples
    --------
    >>> chart_for_denominators([1000, 1200, 900]), chart_for_denominators([60000, 58000, 61000])
    ('p', 'xmr')
    """
    values = np.asarray(n, dtype=float)
    if values.size == 0 or np.isnan(values).any():
        raise ValueError("chart_for_denominators needs a denominator for every period")
    return "xmr" if float(np.median(values)) >= large else "p"


def rate_chart(
    rates: pd.DataFrame,
    *,
    chart: str = "auto",
    baseline: int | str | Sequence[Any] | None = None,
    large: int = LARGE_DENOMINATOR,
) -> pd.DataFrame:
    """A chart of one series of rates: a p-chart, or an XmR chart when the denominators are large.

    Parameters
    ----------
    rates
        One series of periods with ``n`` and ``events``, in time order (as for
        :func:`p_chart`).
    chart
        ``"auto"`` (default): :func:`chart_for_denominators` chooses; ``"p"``:
        always a p-chart; ``"xmr"``: always an XmR chart of the rates.
    baseline
        The points that set the centre and limits (see :func:`p_chart`).
    large
        The median denominator from which ``"auto"`` draws an XmR chart.

    Returns
    -------
    pandas.DataFrame
        As :func:`p_chart` or :func:`xmr_chart` (``chart`` is ``"p"`` or
        ``"XmR"``); an XmR chart of rates has its limits clipped to [0, 1]
        (``method`` ``"xmr_rate"``), keeps ``n`` and ``events`` and adds
        ``chart_choice`` (the ``chart`` asked for: ``"auto"`` when the large
        denominators chose it) and ``large_denominator`` (``large``).

    Examples
    --------
    >>> import pandas as pd
    >>> rates = pd.DataFrame({"period": ["Q1", "Q2", "Q3", "Q4"], "n": [60000] * 4,
    ...                       "events": [18000, 18600, 17400, 18000]})
    >>> c = rate_chart(rates)
    >>> c["chart"][0], round(float(c["centre"][0]), 3), round(float(c["upper"][0]), 4)
    ('XmR', 0.3, 0.3355)
    """
    if chart not in CHART_KINDS:
        raise ValueError(f"chart={chart!r}: use one of {', '.join(repr(k) for k in CHART_KINDS)}")
    t = _one_series(rates, ("n", "events"))
    kind = chart_for_denominators(t["n"], large=large) if chart == "auto" else chart
    if kind == "p":
        return p_chart(rates, baseline=baseline)
    n = t["n"].to_numpy(dtype=float)
    x = t["events"].to_numpy(dtype=float)
    if (n <= 0).any() or (x < 0).any() or (x > n).any():
        raise ValueError("each period needs n > 0 and 0 <= events <= n")
    out = xmr_chart(t.assign(value=x / n), baseline=baseline)
    for column in ("lower", "upper", "lower_2sigma", "upper_2sigma"):
        out[column] = out[column].clip(0.0, 1.0)
    out["chart_choice"] = chart
    out["large_denominator"] = large
    out["method"] = "xmr_rate"
    return out


# --------------------------------------------------------------------------- special causes


def _in_runs(mask: np.ndarray, length: int) -> np.ndarray:
    """Points belonging to a run of at least ``length`` consecutive True values."""
    out = np.zeros(mask.size, dtype=bool)
    start = None
    for i, m in enumerate(np.append(mask, False)):
        if m and start is None:
            start = i
        elif not m and start is not None:
            if i - start >= length:
                out[start:i] = True
            start = None
    return out


def _in_trends(steps: np.ndarray, points: int) -> np.ndarray:
    """Points of a run of ``points`` or more, each step (``steps[i]``: from point i to i+1) in one direction."""
    n = steps.size + 1
    out = np.zeros(n, dtype=bool)
    run_steps = _in_runs(steps, points - 1)  # steps in runs of >= points - 1 consecutive moves
    idx = np.flatnonzero(run_steps)
    out[idx] = True
    out[idx + 1] = True
    return out


def _two_of_three(beyond: np.ndarray, same_side: np.ndarray) -> np.ndarray:
    """Points beyond a 2-sigma line that are two (or three) of three consecutive points beyond it.

    As Making Data Count: all three points of the window are on the same side of the centre line
    (``same_side``), and only the points beyond the line are flagged.
    """
    out = np.zeros(beyond.size, dtype=bool)
    for s in range(beyond.size - 2):
        window = beyond[s:s + 3]
        if window.sum() >= 2 and same_side[s:s + 3].all():
            out[s:s + 3] |= window
    return out


def special_causes(chart: pd.DataFrame, *, shift_run: int = SHIFT_RUN, trend_run: int = TREND_RUN) -> pd.DataFrame:
    """Making Data Count's special-cause rules applied to every point of a chart.

    The rules, as NHS England's Making Data Count (MDC) tools apply them
    (``docs/methods.md``, "Tracking KPIs over time"):

    * **outside limits**: the point is above the upper or below the lower
      process limit (a point exactly on a limit is not beyond it);
    * **shift**: the point is one of ``shift_run`` (7) or more consecutive points
      all above, or all below, the centre line (a point on the line breaks the run);
    * **trend**: the point is one of ``trend_run`` (7) or more consecutive points
      each higher (or each lower) than the one before (an equal value breaks it;
      all 7 points, the first included, are flagged);
    * **two of three**: the point is beyond a 2-sigma line and is one of two (or
      three) out of three consecutive points beyond the 2-sigma line on the same
      side, all three of them on that side of the centre line; the third point,
      if it is not beyond the line, is not flagged. A point beyond the process
      limit counts as beyond the 2-sigma line (so MDC's tools since 2023). The
      Western Electric rule, unlike MDC's, does not ask where the third point lies.

    Parameters
    ----------
    chart
        From :func:`p_chart` or :func:`xmr_chart` (needs ``value``, ``centre``,
        ``lower``, ``upper``, ``lower_2sigma``, ``upper_2sigma``), in time order.
    shift_run, trend_run
        Run lengths; MDC's are 7 and 7. Other guidance uses 8 or 9 for a shift
        (Western Electric, Nelson) and 6 for a trend: change them only to
        reproduce another tool, and say so.

    Returns
    -------
    pandas.DataFrame
        The chart, one row per point, plus ``outside_limits``, ``shift``,
        ``trend``, ``two_of_three`` (bool, one per rule), ``special_cause``
        (any rule), ``rule`` (every rule that applies, e.g.
        ``"outside limits (high); shift (high)"``, empty when none) and
        ``direction``: "high" when every rule that applies points up (outside
        high, shift high, rising trend, 2 of 3 high), "low" when every one
        points down, "both" when they disagree (a falling trend above the
        centre line; the peak of a rise followed by a fall), None for common
        cause. :func:`variation_and_assurance` reads "both" as MDC's
        single-chart tool does: as an improvement. Then ``shift_run`` and
        ``trend_run``; the chart's ``method`` code gains ``"+special_causes"``
        (e.g. ``"p_chart+special_causes"``).

    Examples
    --------
    >>> values = [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 9, 5]
    >>> chart = xmr_chart(values, baseline=10)
    >>> t = special_causes(chart)
    >>> t.loc[t["special_cause"], ["period", "rule", "direction"]].values.tolist()
    [['11', 'outside limits (high)', 'high']]
    """
    need = ("value", "centre", "lower", "upper", "lower_2sigma", "upper_2sigma")
    missing = [c for c in need if c not in chart.columns]
    if missing:
        raise KeyError(f"special_causes needs a chart from p_chart or xmr_chart (missing {missing})")
    if shift_run < 2 or trend_run < 3:
        raise ValueError("shift_run must be at least 2 and trend_run at least 3")
    t = chart.reset_index(drop=True).copy()
    v = t["value"].to_numpy(dtype=float)
    c = t["centre"].to_numpy(dtype=float)
    high_out = v > t["upper"].to_numpy(dtype=float)
    low_out = v < t["lower"].to_numpy(dtype=float)
    shift_high = _in_runs(v > c, shift_run)
    shift_low = _in_runs(v < c, shift_run)
    steps = np.diff(v)
    rising = _in_trends(steps > 0, trend_run) if v.size else np.zeros(0, dtype=bool)
    falling = _in_trends(steps < 0, trend_run) if v.size else np.zeros(0, dtype=bool)
    two_high = _two_of_three(v > t["upper_2sigma"].to_numpy(dtype=float), v > c)
    two_low = _two_of_three(v < t["lower_2sigma"].to_numpy(dtype=float), v < c)

    # each rule points up (outside high, shift high, rising trend, 2 of 3 high) or down
    up = high_out | shift_high | rising | two_high
    down = low_out | shift_low | falling | two_low
    rules, directions = [], []
    for i in range(v.size):
        named = []
        if high_out[i] or low_out[i]:
            named.append(f"outside limits ({'high' if high_out[i] else 'low'})")
        if shift_high[i] or shift_low[i]:
            named.append(f"shift ({'high' if shift_high[i] else 'low'})")
        if rising[i] or falling[i]:
            moves = [w for w, on in (("rising", rising[i]), ("falling", falling[i])) if on]
            named.append(f"trend ({' and '.join(moves)})")
        if two_high[i] or two_low[i]:
            named.append(f"2 of 3 beyond 2 sigma ({'high' if two_high[i] else 'low'})")
        rules.append("; ".join(named))
        directions.append("both" if up[i] and down[i] else ("high" if up[i] else ("low" if down[i] else None)))
    t["outside_limits"] = high_out | low_out
    t["shift"] = shift_high | shift_low
    t["trend"] = rising | falling
    t["two_of_three"] = two_high | two_low
    t["special_cause"] = t[["outside_limits", "shift", "trend", "two_of_three"]].any(axis=1)
    t["rule"] = rules
    t["direction"] = pd.Series(directions, dtype=object)
    t["shift_run"] = shift_run
    t["trend_run"] = trend_run
    if "method" in t.columns:
        t["method"] = t["method"].astype(str) + "+special_causes"
    return t


# --------------------------------------------------------------------------- icons in words

_VARIATION_TEXT = {
    "common cause": "Common cause variation: no significant change; the latest value is within what the process usually produces.",
    "special cause improving": "Special cause variation of an improving nature: the latest value is significantly {side} than the process usually produces.",
    "special cause concerning": "Special cause variation of a concerning nature: the latest value is significantly {side} than the process usually produces.",
    "special cause": "Special cause variation: the latest value is significantly {side} than the process usually produces (neither direction is better).",
}
_BOTH_WAYS_TEXT = {
    "special cause improving": ("Special cause variation of an improving nature: the latest value is significantly {side} than the "
                                "process usually produces. Other rules point the other way; as in the Making Data Count tools, "
                                "the improvement is shown."),
    "special cause": ("Special cause variation: the latest value is part of patterns both higher and lower than the process "
                      "usually produces (neither direction is better)."),
}

_ASSURANCE_TEXT = {
    "consistently passing": "The process limits are all on the right side of the target: if nothing changes, the target will consistently be met.",
    "consistently failing": "The process limits are all on the wrong side of the target: if nothing changes, the target will consistently be missed; the process must change to meet it.",
    "hit and miss": "The target lies between the process limits: it will be met in some periods and missed in others, by chance alone.",
}


def variation_and_assurance(chart: pd.DataFrame, *, target: float | None = None, improvement: str = "down") -> pd.DataFrame:
    """The meaning of Making Data Count's variation and assurance icons for the latest point, in words.

    Variation (from the latest point's special causes, :func:`special_causes`):
    "common cause"; "special cause improving" or "special cause concerning"
    (by whether its direction is the ``improvement`` direction); "special
    cause" when ``improvement="neutral"``. A point whose rules point both ways
    (``direction="both"``, e.g. a falling trend above the centre line) is
    "special cause improving", as MDC's single-chart tool shows it.

    Assurance (against ``target``, from the latest point's process limits, as
    the MDC tools and NHSRplotthedots do): with lower better
    (``improvement="down"``), "consistently passing" when the target is above
    the upper limit, "consistently failing" when it is below the lower limit,
    otherwise "hit and miss" (a target exactly on a limit included); the other
    way round when higher is better. No assurance without a target (None or
    NaN) or for a neutral measure. On a p-chart the limits are those of the
    latest period's denominator.

    Parameters
    ----------
    chart
        From :func:`p_chart`, :func:`xmr_chart` or :func:`special_causes`.
    target
        The KPI's target, on the scale of ``value`` (a proportion for a rate).
    improvement
        ``"down"`` (lower is better: reoffending), ``"up"`` (higher is better:
        completions) or ``"neutral"``.

    Returns
    -------
    pandas.DataFrame
        One row: ``period``, ``value``, ``centre``, ``lower``, ``upper``,
        ``target``, ``improvement``, ``special_cause``, ``rule``,
        ``direction``, ``variation``, ``variation_text``, ``assurance``,
        ``assurance_text``, ``statistic``, ``method``
        (``"mdc_variation_assurance"``), ``confidence``.

    Examples
    --------
    >>> t = variation_and_assurance(xmr_chart([0.30, 0.32, 0.31, 0.29, 0.31, 0.30]), target=0.25)
    >>> t["variation"].item(), t["assurance"].item()
    ('common cause', 'consistently failing')
    """
    if improvement not in ("down", "up", "neutral"):
        raise ValueError("improvement must be 'down' (lower is better), 'up' or 'neutral'")
    sc = chart if "special_cause" in chart.columns else special_causes(chart)
    if sc.empty:
        raise ValueError("the chart has no points")
    last = sc.iloc[-1]
    direction = last["direction"]
    better = "high" if improvement == "up" else "low"
    if not bool(last["special_cause"]):
        variation = "common cause"
    elif improvement == "neutral":
        variation = "special cause"
    else:
        variation = "special cause improving" if direction in (better, "both") else "special cause concerning"
    if direction == "both":  # the improvement's side (improving), or no side (neutral)
        variation_text = _BOTH_WAYS_TEXT[variation].format(side="higher" if better == "high" else "lower")
    else:
        variation_text = _VARIATION_TEXT[variation].format(side="higher" if direction == "high" else "lower")
    assurance = None
    if target is not None and not np.isnan(target):
        target = float(target)
    else:
        target = None
    if target is not None and improvement != "neutral":
        lower, upper = float(last["lower"]), float(last["upper"])
        if target > upper:
            assurance = "consistently passing" if improvement == "down" else "consistently failing"
        elif target < lower:
            assurance = "consistently failing" if improvement == "down" else "consistently passing"
        else:
            assurance = "hit and miss"
    row = {
        "period": last.get("period"),
        "value": float(last["value"]),
        "centre": float(last["centre"]),
        "lower": float(last["lower"]),
        "upper": float(last["upper"]),
        "target": np.nan if target is None else float(target),
        "improvement": improvement,
        "special_cause": bool(last["special_cause"]),
        "rule": last["rule"],
        "direction": direction,
        "variation": variation,
        "variation_text": variation_text,
        "assurance": assurance,
        "assurance_text": None if assurance is None else _ASSURANCE_TEXT[assurance],
        "statistic": "Making Data Count variation and assurance",
        "method": "mdc_variation_assurance",
        "confidence": THREE_SIGMA,
    }
    return pd.DataFrame([row])


# --------------------------------------------------------------------------- the data lag


_FREQ_WORDS = {"M": "month", "Q": "quarter", "Y": "year"}


def data_lag(
    *,
    follow_up_months: int = 12,
    waiting_months: int = 6,
    as_of: str | pd.Timestamp,
    freq: str = "Q",
    outcome: str = "proven reoffending",
) -> pd.DataFrame:
    """The last index date, and the last complete period, whose proven reoffending is known.

    Proven reoffending counts offences committed within ``follow_up_months`` of
    the index date (release from custody, start of a court order or caution)
    and proven by a court or caution within a further ``waiting_months``
    (the Ministry of Justice's measure: 12 + 6 months). So a person's outcome
    is complete only when the index date is at least
    ``follow_up_months + waiting_months`` calendar months before ``as_of`` (the
    date the data were extracted): ``index_date + k months <= as_of``, with
    k = follow-up + waiting and month ends kept (31 August + 6 months is
    28/29 February).

    Parameters
    ----------
    follow_up_months, waiting_months
        The follow-up and the further waiting period, in months.
    as_of
        The date the reoffending data were extracted.
    freq
        Periods for ``last_complete_period``: ``"M"``, ``"Q"``, ``"Y"`` or any
        pandas period frequency (``"Q-MAR"``, ``"Y-MAR"`` for financial).
    outcome
        The outcome in words, for the sentence (a study's own outcome, e.g.
        "rearrest within three years of release"); with no waiting period the
        sentence says nothing of offences being proven.

    Returns
    -------
    pandas.DataFrame
        One row: ``as_of``, ``cutoff`` (the latest index date with a complete
        outcome), ``follow_up_months``, ``waiting_months``, ``freq``,
        ``last_complete_period`` (label) with its ``period_start`` and
        ``period_end``, ``sentence`` (ready for a paper), ``statistic``
        ("data lag") and ``method`` (``"data_lag"``: complete when the index
        date plus the follow-up and waiting months is on or before ``as_of``).

    Examples
    --------
    >>> lag = data_lag(as_of="2024-03-31")
    >>> lag[["cutoff", "last_complete_period", "period_start", "period_end"]]
          cutoff last_complete_period period_start period_end
    0 2022-09-30               2022Q3   2022-07-01 2022-09-30
    """
    for name, value in (("follow_up_months", follow_up_months), ("waiting_months", waiting_months)):
        if isinstance(value, bool) or not float(value).is_integer() or value < 0:
            raise ValueError(f"{name} must be a whole number of months >= 0, not {value!r}")
    follow_up_months, waiting_months = int(follow_up_months), int(waiting_months)
    as_of = pd.Timestamp(as_of).normalize()
    k = follow_up_months + waiting_months
    cutoff = as_of - pd.DateOffset(months=k)
    if as_of.is_month_end:  # the last day of as_of's month is reached from the last day of the earlier month
        cutoff = cutoff + pd.offsets.MonthEnd(0)
    try:
        last = pd.Period(cutoff, freq=freq)
    except (ValueError, TypeError) as err:
        raise ValueError(f"freq must be a period frequency such as 'M', 'Q' or 'Y', not {freq!r}") from err
    if last.end_time.normalize() > cutoff:
        last = last - 1
    start, end = last.start_time.normalize(), last.end_time.normalize()
    unit = _FREQ_WORDS.get(freq.split("-")[0], "period")
    wait = f" and a further {waiting_months} months for offences to be proven" if waiting_months else ""
    sentence = (
        f"{outcome[:1].upper() + outcome[1:]} is complete for people whose index date was on or before {long_date(cutoff)}: "
        f"each needs a {follow_up_months}-month follow-up{wait}, {k} months in all before the data were extracted on "
        f"{long_date(as_of)}. The latest complete {unit} is {last} ({long_date(start)} to {long_date(end)})."
    )
    return pd.DataFrame([{
        "as_of": as_of,
        "cutoff": cutoff,
        "follow_up_months": follow_up_months,
        "waiting_months": waiting_months,
        "freq": freq,
        "last_complete_period": str(last),
        "period_start": start,
        "period_end": end,
        "sentence": sentence,
        "statistic": "data lag",
        "method": "data_lag",
    }])


# --------------------------------------------------------------------------- adjusted baseline


def oe_by_period(
    frame: pd.DataFrame,
    baseline_period: str,
    casemix: Sequence[str],
    *,
    period: str = "period",
    date: str | None = None,
    freq: str = "Q",
    outcome: str = OUTCOME,
    confidence: float | Iterable[float] = 0.95,
) -> pd.DataFrame:
    """Observed against expected in every period, expected from a case-mix model of the baseline period.

    A logistic model of the outcome on ``casemix`` is fitted on the baseline
    period (:func:`analysis.expected_probabilities`) and applied to every
    period; each period's O/E (:func:`analysis.observed_vs_expected`) then says
    whether its people reoffended more or less than the *baseline's*
    reoffending among people like them: the MoJ "adjusted baseline". A rise in
    the raw rate that is only a change in who is supervised leaves O/E near 1.
    In the baseline period itself O/E is 1 exactly (the model's score equation
    for its intercept).

    Parameters
    ----------
    frame
        One row per person, all periods.
    baseline_period
        The period label the model is fitted on (e.g. ``"2022Q1"``).
    casemix
        Case-mix columns of the model (categorical, or a score entering linearly).
    period
        The period column (ignored when ``date`` is given).
    date, freq
        Alternatively, a date column cut into periods, as :func:`rates_by_period`.
    outcome
        The 0/1 outcome.
    confidence
        Level(s) of the intervals.

    Returns
    -------
    pandas.DataFrame
        The :func:`analysis.observed_vs_expected` table by period (``period``
        in time order, ``n``, ``observed``, ``expected``, ``ratio`` with PHE's
        interval, ...), plus ``baseline`` (bool), ``baseline_period`` and,
        from dates, ``period_start`` and ``period_end``; the ``method`` code
        gains ``"+adjusted_baseline"`` (e.g. ``"oe_phe+adjusted_baseline"``).
        People whose case mix the baseline never saw are left out, as
        ``expected_source`` says.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"period": ["p1"] * 6 + ["p2"] * 4, "sex": ["M", "M", "F", "F", "F", "F", "M", "M", "M", "F"],
    ...                       "reoffended": [1, 0, 1, 0, 0, 0, 1, 1, 0, 1]})
    >>> oe_by_period(frame, "p1", ["sex"])[["period", "observed", "expected", "ratio"]].round(4)
      period  observed  expected   ratio
    0     p1         2      2.00  1.0000
    1     p2         3      1.75  1.7143
    """
    from .expected import expected_probabilities
    from .observed_expected import observed_vs_expected

    codes, table = _period_codes(frame, date, None if date is not None else period, freq)
    labels = table["period"].tolist()
    if str(baseline_period) not in labels:
        raise ValueError(f"the baseline period {baseline_period!r} is not in the data ({', '.join(labels)})")
    work = frame.drop(columns=[c for c in ("period",) if c in frame.columns])
    work = work.assign(period=pd.Categorical.from_codes(codes, categories=labels))  # type: ignore[call-overload]  # pandas-stubs: codes as ndarray[Any]
    fit_on = work[work["period"] == str(baseline_period)]
    expected = expected_probabilities(fit_on, work, casemix=list(casemix), outcome=outcome)
    out = observed_vs_expected(work, "period", expected=expected, outcome=outcome, confidence=confidence, compare_rest=False)
    out["period"] = out["period"].astype(str)
    out.insert(1, "baseline", out["period"] == str(baseline_period))
    if "period_start" in table.columns:
        spans = table.set_index("period")
        out.insert(2, "period_start", out["period"].map(spans["period_start"]))
        out.insert(3, "period_end", out["period"].map(spans["period_end"]))
    out.insert(list(out.columns).index("method"), "baseline_period", str(baseline_period))
    out["method"] = out["method"] + "+adjusted_baseline"
    return out
