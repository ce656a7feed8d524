"""Paper 06, KPI tracking: is this period's rate a real change, or noise?

The study file's ``[kpi]`` section names the KPIs (the outcome's rate
overall, by a column such as the area, or among people with a flag), how time
is cut (a date column into months, quarters or years, or the period column)
and, optionally, a target and the direction of improvement. For each KPI the
paper gives the rate per period (disclosure-controlled), a p-chart with
limits that vary with each period's denominator, the Making Data Count
special-cause rule named on every flagged point, and the variation and
assurance readings in words. It states the data lag (when the latest
period's outcomes are complete) and the adjusted trend: observed against
expected per period from a case-mix model fitted on the baseline, so that a
change in who is supervised is not read as a change in performance.

Every sentence comes from the study and the data; degenerate data (one
period, too few periods for limits, no target, a column the data lack) give
a plain sentence instead of a chart.

Examples
--------
>>> paper = KpiPaper.open()  # doctest: +SKIP
>>> paper.kpi_summary()[["kpi", "latest_period", "variation", "assurance"]]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from .. import spc
from ..periods import kpi_period_column, rows_in_period
from ..schema import OUTCOME
from ..study import DEFAULT_OUTCOME, Kpi, KpiMeasure
from . import figures as fg
from . import text as tx
from .blocks import Column, Paragraph, Section
from .frame import Paper
from .text import Markup, html

__all__ = ["KpiPaper", "MIN_POINTS", "MDC_POINTS", "kpi_periods", "assurance_phrase", "variation_phrase"]

MIN_POINTS: int = 3
"""Fewer periods with publishable rates than this: no chart and no special-cause reading, a plain sentence instead."""

MDC_POINTS: int = 15
"""Making Data Count advises at least this many points before limits are relied on; fewer are called provisional."""

_UNITS = {"M": ("month", "months"), "Q": ("quarter", "quarters"), "Y": ("year", "years"),
          "Q-MAR": ("financial quarter", "financial quarters"), "Y-MAR": ("financial year", "financial years")}


def kpi_periods(cohort: pd.DataFrame, kpi: Kpi, *, file_column: str | None = None) -> tuple[pd.DataFrame, str, str | None]:
    """The cohort with a ``kpi_period`` column (text labels, categorical in time order), and where it came from.

    With ``[kpi] date`` naming a column of dates in the cohort, each row's
    period is its date cut by ``[kpi] frequency``; otherwise the cohort's
    ``period`` column is used as it is.

    ``file_column`` is the date column's name in the analyst's extract, for
    the words (default: ``kpi.date``, the study's name for it).

    Returns
    -------
    tuple
        The cohort with ``kpi_period`` (rows without a date have none), the
        source in words and the pandas frequency (None for the period column).

    Examples
    --------
    >>> c = pd.DataFrame({"d": pd.to_datetime(["2015-02-01", "2015-05-01", None]), "period": ["a", "a", "a"]})
    >>> frame, source, freq = kpi_periods(c, Kpi(date="d"))
    >>> frame["kpi_period"].tolist(), freq
    (['2015Q1', '2015Q2', nan], 'Q')
    """
    labels, freq = kpi_period_column(cohort, date=kpi.date, freq=kpi.freq)
    if freq is not None:
        return (cohort if "kpi_period" in cohort.columns else cohort.assign(kpi_period=labels),
                f"the dates in \u201c{file_column or kpi.date}\u201d cut into {_UNITS[freq][1]}", freq)
    return (cohort if "kpi_period" in cohort.columns else cohort.assign(kpi_period=labels)), "the cohort's periods", None


def variation_phrase(variation: str) -> str:
    """Making Data Count's variation icon in a few words ("common cause variation").

    Examples
    --------
    >>> variation_phrase("special cause improving")
    'special cause variation of an improving nature'
    """
    return {"common cause": "common cause variation",
            "special cause improving": "special cause variation of an improving nature",
            "special cause concerning": "special cause variation of a concerning nature",
            "special cause": "special cause variation"}[variation]


def assurance_phrase(assurance: str | None) -> str:
    """Making Data Count's assurance icon in a few words; without a target, says so.

    Examples
    --------
    >>> assurance_phrase("hit and miss"), assurance_phrase(None)
    ('the target is not reliably met', 'no target is set')
    """
    return {"consistently passing": "the target is consistently met",
            "consistently failing": "the target is consistently missed",
            "hit and miss": "the target is not reliably met",
            None: "no target is set"}[assurance]


def _casemix_cells(frame: pd.DataFrame, keys: list[str], *, trials: str, people: str | None = None) -> pd.DataFrame:
    """People (``trials``) and events (the outcome) per combination of ``keys``; a missing value is a combination of its own.

    ``people``: the column counting each row's people when ``frame`` is already cells (they are merged).

    Counted on integer codes (a categorical's codes, other columns factorised),
    so no per-row frame of labels or group-by index is built; each cell keeps
    the values, and dtypes, of its first row.
    """
    key = np.zeros(len(frame), dtype=np.int64)
    size = 1
    for col in keys:
        column = frame[col]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes, k = np.asarray(column.cat.codes), len(column.cat.categories)
        else:
            codes, uniques = pd.factorize(column)
            k = len(uniques)
        if size * (k + 1) >= 2**62:  # renumber the combinations seen so far before the key could overflow
            key = pd.factorize(key)[0].astype(np.int64)
            size = int(key.max()) + 1 if len(key) else 1
        key = key * (k + 1) + (np.asarray(codes, dtype=np.int64) + 1)  # code -1 (missing) becomes 0
        size *= k + 1
    if size > max(len(key), 1 << 16):  # a count per possible combination would cost more than the rows
        key = pd.factorize(key)[0].astype(np.int64)
        size = int(key.max()) + 1 if len(key) else 1
    n = np.bincount(key, weights=None if people is None else frame[people].to_numpy(dtype=float), minlength=size)
    cells = np.flatnonzero(n)
    first = np.full(size, len(key), dtype=np.int64)
    np.minimum.at(first, key, np.arange(len(key), dtype=np.int64))
    out = frame[keys].iloc[first[cells]].reset_index(drop=True)
    out[trials] = np.round(n[cells]).astype("int64")
    events = np.bincount(key, weights=frame[OUTCOME].to_numpy(dtype=float), minlength=size)[cells]
    out[OUTCOME] = np.round(events).astype("int64")
    return out


def _adjusted_inputs(frame: pd.DataFrame, baseline: str, column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The baseline's rows (or cells) to fit on, and those with a KPI period to score."""
    fit_on = frame[rows_in_period(frame, baseline, column=column)]
    dated = frame["kpi_period"].notna()
    return fit_on, (frame if dated.all() else frame[dated])


@dataclass
class _Measure:
    """One KPI: its words, its tables and (when there are enough periods) its charts."""

    spec: KpiMeasure
    name: str
    table: str | None = None
    problem: str | None = None
    charts: list[pd.DataFrame] = field(default_factory=list)
    readings: list[dict[str, Any]] = field(default_factory=list)
    groups_without_chart: list[tuple[Any, int]] = field(default_factory=list)  # (group value, or None without by; points)
    n_left_out: int = 0
    kind: str = "p"
    median_n: float = 0.0


_CHART_WORDS = {"p": "p-chart", "xmr": "XmR chart"}
_CHART_METHODS = {"p": "p-chart (3-sigma binomial limits)",
                  "xmr": "XmR chart of the rates (limits 2.66 x mean moving range, clipped to 0-100%)"}


class KpiPaper(Paper):
    """KPIs tracked over time with statistical process control (see the module docstring)."""

    number = "06"
    parts = ("tracking", "lag", "measures_section", "adjusted")
    terms = ("p_chart", "xmr_chart", "special_cause", "common_cause", "assurance", "data_lag", "adjusted_baseline", "oe",
             "wilson")

    @property
    def part(self) -> str:  # type: ignore[override]
        return f"KPI tracking: is a change in {self.outcome_lower} from one {self.unit} to the next real, or noise?"

    # ----------------------------------------------------------------- the series
    @property
    def kpi(self) -> Kpi:
        """The study's ``[kpi]`` section, or the defaults (the overall rate by the cohort's periods)."""
        return self.study.kpi or Kpi()

    @property
    def unit(self) -> str:
        return _UNITS.get(self.freq or "", ("period", "periods"))[0]

    @property
    def units(self) -> str:
        return _UNITS.get(self.freq or "", ("period", "periods"))[1]

    @property
    def period_words(self) -> str:
        levels = self.levels
        if not levels:
            return "no period"
        first, last = tx.period_span(levels[0], freq=self.freq)[0], tx.period_span(levels[-1], freq=self.freq)[1]
        if len(levels) == 1:
            return first if first == last else f"{first} to {last}"
        return f"{first} to {last}, {len(levels)} {self.units}"

    def prepare(self) -> None:
        cohort = self.results.data.cohort
        self.frame, self.source, self.freq = kpi_periods(cohort, self.kpi, file_column=self.file_column(self.kpi.date))
        self.date_missing = self.kpi.date is not None and self.freq is None
        self.levels = [str(c) for c in self.frame["kpi_period"].cat.categories]
        self.measures = [self._prepare_measure(i, m) for i, m in enumerate(self.kpi.measures, 1)]
        self._prepare_adjusted()

    def _measure_name(self, m: KpiMeasure) -> str:
        if m.label:
            return m.label
        if m.flag:
            return f"{self.outcome} among people flagged {self.study.flag_label(m.flag).lower()}"
        if m.by:
            return f"{self.outcome} by {self.study.area_label if m.by == 'area' else m.by.replace('_', ' ')}"
        return self.outcome

    def _group_name(self, by: str | None, value: Any) -> str:
        return self.study.area_name(value) if by == "area" else str(value)

    def _prepare_measure(self, i: int, m: KpiMeasure) -> _Measure:
        out = _Measure(spec=m, name=self._measure_name(m))
        frame = self.frame
        if m.by and m.by not in frame.columns:
            out.problem = html("The data have no column {}, so this KPI cannot be tracked by it.", self.quoted(m.by))
            return out
        if m.flag and m.flag not in frame.columns:
            out.problem = html("The data have no {} flag, so this KPI cannot be tracked.", self.study.flag_label(m.flag).lower())
            return out
        try:
            rates = spc.rates_by_period(frame, period="kpi_period", by=m.by, where=m.flag, trials=self.results.trials)
        except ValueError as err:  # e.g. nobody with the flag
            out.problem = html("This KPI has no people to count: {}.", str(err))
            return out
        out.n_left_out = int(rates.attrs.get("n_left_out", 0))
        rates = rates.rename(columns={"events": "reoffenders"})
        keys = ([m.by] if m.by else []) + ["period"]
        for key in keys:
            rates[key] = rates[key].astype(str)
        out.table = f"KPI {i}: {out.name} by {self.unit}"
        population = "people with a KPI period" + (f", flagged {m.flag}" if m.flag else "")
        if m.by:
            self.pub.rates(out.table, rates, keys=keys, partition_by=["period"], population=population)
        else:
            self.pub.rates(out.table, rates, keys=keys, partition=True, population=population)
        return out

    def _chart_measure(self, out: _Measure, table: str) -> None:
        """p-charts, special causes and readings from the published rates (``table``, ``out.table``; a suppressed period is left out)."""
        m = out.spec
        published = self.pub[table]
        groups = [(None, published)] if not m.by else [(g, t) for g, t in published.groupby(m.by, sort=False)]
        charted = published.dropna(subset=["n", "reoffenders"])
        charted = charted[charted["period"].isin(self.levels)]
        # one kind of chart per KPI (every group on the same footing), chosen on all its published denominators
        if len(charted):
            out.median_n = float(charted["n"].median())
            out.kind = m.chart if m.chart != "auto" else spc.chart_for_denominators(charted["n"])
        for group, t in groups:
            shown = t.dropna(subset=["n", "reoffenders"]).astype({"n": "int64", "reoffenders": "int64"})
            shown = shown[shown["period"].isin(self.levels)]
            shown = shown.assign(_order=shown["period"].map({p: k for k, p in enumerate(self.levels)})).sort_values("_order")
            if len(shown) < MIN_POINTS:
                out.groups_without_chart.append((group, len(shown)))
                continue
            chart = spc.special_causes(spc.rate_chart(shown.rename(columns={"reoffenders": "events"}).drop(columns="_order"),
                                                      chart=out.kind))
            # to_dict is typed with Hashable keys; the keys are the reading frame's column names
            reading = cast(dict[str, Any], spc.variation_and_assurance(chart, target=m.target, improvement=m.improvement).iloc[0].to_dict())
            reading["group"] = group
            reading["hidden"] = len(t) - len(shown)
            chart["group"] = group
            out.charts.append(chart)
            out.readings.append(reading)

    def _prepare_adjusted(self) -> None:
        """Observed against expected per period, expected from a case-mix model fitted on the baseline."""
        from ..expected import expected_probabilities
        from ..observed_expected import observed_vs_expected

        self.adjusted_problem: Any = None
        self.adjusted_table = "observed against expected by period (adjusted baseline)"
        r, frame = self.results, self.frame
        casemix = list(r.expected_casemix)
        baseline = self.kpi.baseline
        periods = [str(p) for p in r.data.periods]
        if baseline is None:
            baseline = periods[0] if len(periods) > 1 else (self.levels[0] if self.levels else None)
        self.baseline_label = baseline
        if baseline is None or len(self.levels) < 2:
            self.adjusted_problem = html("There is only one {} here, so there is no trend to adjust.", self.unit)
            return
        if baseline in periods:
            self.baseline_words = self.period_of(baseline)
            column = "period"
        elif baseline in self.levels:
            self.baseline_words = f"the {self.unit} {baseline}"
            column = "kpi_period"
        else:
            self.adjusted_problem = html("The baseline named in the study file ({}) is neither a period of the data nor a {} "
                                         "of the series ({} to {}), so there is no adjusted trend; name one in [kpi] baseline.",
                                         baseline, self.unit, self.levels[0], self.levels[-1])
            return
        if not casemix:
            self.adjusted_problem = html("The data have no case-mix column that varies, so expected rates cannot be modelled "
                                         "and there is no adjusted trend.")
            return
        # only the columns the model and the table read, so that selecting rows copies no more than they need
        keys = list(dict.fromkeys([*casemix, "kpi_period", *(["period"] if "period" in frame.columns else [])]))
        people = r.trials
        narrow = frame[[*keys, OUTCOME, *([people] if people else [])]]
        expected, trials = None, None
        if narrow[OUTCOME].notna().all() or people:  # the model depends on a person only through their case mix: fit and score cells
            fit_on, work = _adjusted_inputs(_casemix_cells(narrow, keys, trials="n_people", people=people), baseline, column)
            try:
                expected, trials = expected_probabilities(fit_on, work, casemix=casemix, trials="n_people"), "n_people"
            except (ValueError, np.linalg.LinAlgError) as err:
                if people:  # cells are all there is: say why, as the people's own fit below would
                    self.adjusted_problem = html("The baseline's case-mix model could not be fitted ({}), so there is no adjusted "
                                                 "trend.", str(err))
                    return
            except Exception:  # noqa: BLE001 - cells only save time: any failure is left to the people's own fit below
                if people:
                    raise
        if expected is None:
            fit_on, work = _adjusted_inputs(narrow, baseline, column)
            try:
                expected = expected_probabilities(fit_on, work, casemix=casemix)
            except (ValueError, np.linalg.LinAlgError) as err:
                self.adjusted_problem = html("The baseline's case-mix model could not be fitted ({}), so there is no adjusted trend.",
                                             str(err))
                return
        table = observed_vs_expected(work, "kpi_period", expected=expected, confidence=0.95, compare_rest=False, trials=trials)
        table = table.rename(columns={"kpi_period": "period"})
        table["period"] = table["period"].astype(str)
        self.casemix = casemix
        self.n_fit = int(expected.attrs.get("n_fit", len(fit_on) if trials is None else fit_on[trials].sum()))
        scored = int(table["n"].sum())
        dated = frame["kpi_period"].notna()
        population = ("people with a KPI period" if scored == int(dated.sum() if people is None else frame[people][dated].sum())
                      else "people scored by the baseline model")
        self.pub.observed_expected(self.adjusted_table, table, keys=["period"], population=population)

    # the frame audits after prepare(); charts need the audited tables, so they are made on first use
    @property
    def charted(self) -> list[_Measure]:
        if not getattr(self, "_charted", False):
            for out in self.measures:
                if out.table is not None:
                    self._chart_measure(out, out.table)
            self._charted = True
        return self.measures

    # ----------------------------------------------------------------- words
    def _value(self, v: Any) -> str:
        return tx.pct(v)

    def reading_sentence(self, out: _Measure, reading: dict[str, Any]) -> Any:
        """The latest point of one series, its variation and its assurance, in words (each icon named once)."""
        who = html("{}: ", self._group_name(out.spec.by, reading["group"])) if out.spec.by else html("")
        variation = tx.capitalise(variation_phrase(reading["variation"]))
        meaning = str(reading["variation_text"]).split(": ", 1)[-1]
        text = html("{}{} latest {}, {}, is {} against a centre line of {}. <strong>{}</strong>: {}", who,
                    "the" if out.spec.by else "The", self.unit,
                    reading["period"], self._value(reading["value"]), self._value(reading["centre"]), variation, meaning)
        if reading["assurance"] is not None:
            text += html(" <strong>{}</strong> (target {}, {} is better). {}", tx.capitalise(assurance_phrase(reading["assurance"])),
                         self._value(reading["target"]), "lower" if reading["improvement"] == "down" else "higher",
                         reading["assurance_text"])
        else:
            text += html(" No target is set for this KPI in the study file, so there is no assurance reading.")
        return text

    def special_sentence(self, out: _Measure, chart: pd.DataFrame) -> Any:
        """Every point of special cause in one series, with the rule that flags it."""
        flagged = chart[chart["special_cause"]]
        who = html("{}: ", self._group_name(out.spec.by, chart["group"].iloc[0])) if out.spec.by else html("")
        if flagged.empty:
            text = html("no {} shows special cause variation: the changes from one {} to the next are within what chance "
                        "gives.", self.unit, self.unit)
        else:
            items = [html("{} ({})", p, rule) for p, rule in zip(flagged["period"], flagged["rule"])]
            text = html("special cause variation at {}: {}.", tx.plural(len(flagged), self.unit, many=self.units),
                        tx.join_html(items, sep="; "))
        return who + text if out.spec.by else Markup(tx.capitalise(str(text)))

    def _by_words(self, by: str | None) -> tuple[str, str]:
        """What one group of ``by`` is called, singular and plural ("local authority", "local authorities")."""
        if by == "area":
            return self.study.area_label, self.study.area_plural
        return "group", "groups"

    def special_by_sentence(self, out: _Measure) -> Any:
        """The points of special cause in every group's series, in one sentence: only the groups that have any are named."""
        one, many = self._by_words(out.spec.by)
        flagged = [c for c in out.charts if c["special_cause"].any()]
        if not flagged:
            return html("No {} shows special cause variation in any {}: the changes from one {} to the next are within what "
                        "chance gives.", one, self.unit, self.unit)
        items = []
        for chart in flagged:
            points = chart[chart["special_cause"]]
            items.append(html("{}, {} ({})", self._group_name(out.spec.by, chart["group"].iloc[0]),
                              tx.plural(len(points), self.unit, many=self.units),
                              tx.join_html([html("{}: {}", p, rule) for p, rule in zip(points["period"], points["rule"])], sep="; ")))
        others = len(out.charts) - len(flagged)
        rest = html(" The other {} show none.", tx.plural(others, one, many=many)) if others else html("")
        return html("Special cause variation in {} of the {} {} charted: {}.{}", len(flagged), len(out.charts), many,
                    tx.join_html(items, sep="; "), rest)

    def readings_table(self, out: _Measure) -> Any:
        """The latest point of every group's series: value, centre line, variation and assurance, one row per group."""
        spec = out.spec
        one, _ = self._by_words(spec.by)
        frame = pd.DataFrame({
            "group": [self._group_name(spec.by, r["group"]) for r in out.readings],
            "period": [r["period"] for r in out.readings],
            "value": [r["value"] for r in out.readings],
            "centre": [r["centre"] for r in out.readings],
            "variation": [tx.capitalise(variation_phrase(r["variation"])) for r in out.readings],
            "assurance": [tx.capitalise(assurance_phrase(r["assurance"])) for r in out.readings],
        })
        columns = [Column("group", tx.capitalise(one)), Column("period", f"Latest {self.unit}"), Column("value", "Rate", "pct"),
                   Column("centre", "Centre line", "pct"), Column("variation", "Variation")]
        if spec.target is not None:
            columns.append(Column("assurance", "Against the target"))
        meanings = dict.fromkeys(str(r["variation_text"]) for r in out.readings)
        notes: list[Any] = list(meanings)
        if spec.target is None:
            notes.append("No target is set for this KPI in the study file, so there is no assurance reading.")
        else:
            notes += list(dict.fromkeys(str(r["assurance_text"]) for r in out.readings))
        return self.table(frame, columns, html("{}: the latest {} against each {}'s own process", out.name, self.unit, one),
                          notes=notes)

    def lag_sentence(self) -> Any:
        """The data lag: which periods' outcomes are complete, given the follow-up and the wait for proof."""
        months = self.study.follow_up_months
        waiting = self.kpi.waiting_months if self.kpi.waiting_months is not None else (6 if self.study.outcome == DEFAULT_OUTCOME else 0)
        if self.kpi.extracted:
            words = "proven reoffending" if self.study.outcome == DEFAULT_OUTCOME else self.outcome_lower
            lag = spc.data_lag(follow_up_months=months, waiting_months=waiting, as_of=self.kpi.extracted, freq=self.freq or "Q", outcome=words).iloc[0]
            text = html("{}", lag["sentence"])
            if self.freq is not None and self.levels:
                later = [p for p in self.levels if pd.Period(p, freq=self.freq).end_time.normalize() > lag["cutoff"]]
                if later:
                    text += html(" The data hold {} after it ({}): their outcomes may be incomplete, so a fall in them may be "
                                 "the lag, not an improvement.", tx.plural(len(later), self.unit, many=self.units), tx.join_words(later))
                else:
                    text += html(" Every {} charted here is complete.", self.unit)
            return text
        wait = html(" and a further {} months for offences to be proven", waiting) if waiting else html("")
        if self.freq is not None and self.levels:
            last = pd.Period(self.levels[-1], freq=self.freq)
            end = last.end_time.normalize()
            ready = end + pd.DateOffset(months=months + waiting)
            return html("Each person's outcome needs a {}-month follow-up{}. The latest {} here, {}, ended on {}, so its "
                        "outcomes are complete only from {}. The study file gives no extraction date ([kpi] extracted), so the "
                        "paper cannot say whether that date has passed.", months, wait, self.unit, last, tx.long_date(end),
                        tx.long_date(ready + pd.offsets.MonthEnd(0)))
        return html("Each person's outcome needs a {}-month follow-up{}. The study file gives no extraction date ([kpi] "
                    "extracted), so the paper cannot say whether the latest period's outcomes are complete.", months, wait)

    def adjusted_sentence(self) -> Any:
        if self.adjusted_problem is not None:
            return self.adjusted_problem
        t = self.pub[self.adjusted_table]
        shown = t.dropna(subset=["ratio"])
        above = list(shown.loc[shown["significance"] == "Higher than expected", "period"])
        below = list(shown.loc[shown["significance"] == "Lower than expected", "period"])
        parts = []
        if above:
            parts.append(html("above the baseline's expected rate beyond chance in {}", tx.join_words(above)))
        if below:
            parts.append(html("below it beyond chance in {}", tx.join_words(below)))
        verdict = tx.join_html(parts, sep="; ") if parts else html("within chance of the baseline's expected rate in every {}", self.unit)
        return html("Against a case-mix model fitted on {} ({} people), {} were {}.", self.baseline_words,
                    tx.count(self.n_fit), self.event_people, verdict)

    @property
    def event_people(self) -> str:
        return f"the people who {self.event}"

    def summary_points(self) -> list[Any]:
        out: list[Any] = []
        if len(self.levels) < 2:
            out.append(self._one_period_sentence())
        for m in self.charted:
            if m.problem is not None:
                out.append(html("{}: {}", m.name, m.problem))
                continue
            if m.spec.by:
                if m.readings:
                    counts = pd.Series([r["variation"] for r in m.readings]).value_counts()
                    label, plural = self._by_words(m.spec.by)
                    out.append(html("{}: in the latest {}, {}.", m.name, self.unit,
                                    tx.join_words([f"{variation_phrase(cast(str, v))} in {tx.plural(int(k), label, many=plural)}"
                                                   for v, k in counts.items()])))
            elif m.readings:
                r = m.readings[0]
                out.append(html("{}: {} in {}; {}, {}.", m.name, self._value(r["value"]), r["period"],
                                variation_phrase(r["variation"]), assurance_phrase(r["assurance"])))
        out.append(self.lag_sentence())
        out.append(self.adjusted_sentence())
        return out[:6]

    def people(self) -> int:
        """The people counted in the series (every period with a date), for the front matter."""
        dated = self.frame["kpi_period"].notna()
        trials = self.results.trials
        return int(dated.sum() if trials is None else self.frame[trials][dated].sum())

    def _one_period_sentence(self) -> Any:
        if not self.levels:
            return html("No one has a {} to count, so there is nothing to track.", self.unit)
        return html("The data hold one {} ({}), so there is no series to track: a KPI chart needs several {}.", self.unit,
                    self.levels[0], self.units)

    def kpi_summary(self) -> pd.DataFrame:
        """One row per KPI series charted: its latest period, value, variation and assurance (a tidy table).

        Columns: ``kpi``, ``group``, ``latest_period``, ``value``, ``centre``,
        ``lower``, ``upper``, ``target``, ``improvement``, ``variation``,
        ``assurance``, ``special_causes`` (points flagged in the series).
        """
        rows = []
        for m in self.charted:
            for r, chart in zip(m.readings, m.charts):
                rows.append({"kpi": m.name, "group": r["group"], "latest_period": r["period"], "value": r["value"],
                             "centre": r["centre"], "lower": r["lower"], "upper": r["upper"], "target": r["target"],
                             "improvement": r["improvement"], "variation": r["variation"], "assurance": r["assurance"],
                             "special_causes": int(chart["special_cause"].sum())})
        return pd.DataFrame(rows, columns=["kpi", "group", "latest_period", "value", "centre", "lower", "upper", "target",
                                           "improvement", "variation", "assurance", "special_causes"])

    # ----------------------------------------------------------------- sections
    def sections(self) -> list[tuple[str, str]]:
        out = [("tracking", "How the KPIs are tracked"), ("lag", "The data lag")]
        for i, m in enumerate(self.measures, 1):
            out.append((f"kpi-{i}", m.name))
        out.append(("adjusted", "The adjusted trend: allowing for who was supervised"))
        return out

    def tracking(self) -> Section:
        s = Section([self.heading("tracking")])
        if self.date_missing:
            s.add(Paragraph(html("The study file names the date column {} in [kpi], but the data hold no dates under that name, so "
                                 "the cohort's periods are used instead.", self.quoted(str(self.kpi.date)))))
        if len(self.levels) < 2:
            s.add(Paragraph(self._one_period_sentence()))
            return s
        s.add(Paragraph(html("Each KPI is the share of people who {} among those counted in each {}, taken from {}: {} {}, "
                             "from {} to {}. {} A point is a special cause, not noise, when NHS England's Making Data Count "
                             "rules flag it: a point outside the limits; a shift of {} or more points in a row on one side of "
                             "the centre line; a trend of {} or more points each rising or each falling; or two of three points "
                             "beyond two standard errors on one side.", self.event, self.unit, self.source, len(self.levels),
                             self.units, self.levels[0], self.levels[-1], self.chart_sentence(), spc.SHIFT_RUN, spc.TREND_RUN)))
        if len(self.levels) < MDC_POINTS:
            s.add(Paragraph(html("There are {} {}; Making Data Count advises at least {} points before limits are relied on, so "
                                 "these limits are provisional.", len(self.levels), self.units, MDC_POINTS)))
        return s

    def chart_sentence(self) -> Any:
        """Which chart the KPIs are drawn on and where its limits come from (p-chart; XmR for large denominators)."""
        p_words = html("the centre line is the rate over all the {}, and the process limits (three standard errors either side) "
                       "narrow when a {} has more people and widen when it has fewer", self.units, self.unit)
        xmr_words = html("the centre line is the mean rate over the {}, and the process limits lie 2.66 times the average "
                         "change from one {} to the next either side of it", self.units, self.unit)
        drawn = [m for m in self.charted if m.charts]
        kinds = {m.kind for m in drawn}
        if kinds == {"xmr"}:
            asked = all(m.spec.chart == "xmr" for m in drawn)
            why = (html("The study file asks for it.") if asked else
                   html("A {} counts so many people (a median of {}{}) that binomial limits would be too narrow for the "
                        "ordinary variation of a real service.", self.unit, "" if len(drawn) == 1 else "at least ",
                        tx.count(round(min(m.median_n for m in drawn)))))
            return html("Each is drawn on an XmR chart, whose limits come from the data: {}. {}", xmr_words, why)
        if kinds == {"p", "xmr"}:
            return html("A KPI is drawn on a p-chart, where {}; one whose median {} counts {} people or more (or that the study "
                        "file asks for) is drawn on an XmR chart instead, where {}.", p_words, self.unit,
                        tx.count(spc.LARGE_DENOMINATOR), xmr_words)
        return html("Each is drawn on a p-chart: {}.", p_words)

    def lag(self) -> Section:
        return Section([self.heading("lag"), Paragraph(self.lag_sentence())])

    def measures_section(self) -> Section:
        s = Section()
        for i, m in enumerate(self.charted, 1):
            s.add(self._measure_section(i, m))
        return s

    def _measure_section(self, i: int, m: _Measure) -> Section:
        s = Section([self.heading(f"kpi-{i}")])
        if m.problem is not None:
            s.add(Paragraph(m.problem))
            return s
        spec = m.spec
        who = (html("people flagged {}", self.study.flag_label(spec.flag).lower()) if spec.flag else html("everyone counted"))
        target = (html("The target is {} ({} is better).", self._value(spec.target), "lower" if spec.improvement == "down" else "higher")
                  if spec.target is not None else html("The study file sets no target for this KPI."))
        s.add(Paragraph(html("The share of {} who {}, per {}{}. {}", who, self.event, self.unit,
                             html(", for each {}", self.study.area_label if spec.by == "area" else spec.by.replace("_", " "))
                             if spec.by else html(""), target)))
        if m.charts:
            panels = []
            for chart, reading in zip(m.charts, m.readings):
                panels.append({"title": self._group_name(spec.by, reading["group"]) if spec.by else None,
                               "periods": list(chart["period"]), "value": chart["value"], "centre": chart["centre"],
                               "lower": chart["lower"], "upper": chart["upper"], "special": chart["special_cause"],
                               "target": spec.target})
            kind = _CHART_WORDS[m.kind]
            s.add(self.figure(fg.spc_chart(panels, ylabel=f"{self.outcome} (%)", what=m.name.lower() if m.name[:2] != m.name[:2].upper() else m.name,
                                           chart=kind),
                              html("{}: {} by {}", kind, m.name, self.unit),
                              notes=[html("{}Dashed lines are the process limits{}{}.",
                                          "Orange points are special causes. " if any(c["special_cause"].any() for c in m.charts)
                                          else "No point is a special cause. ", self.limits_words(m),
                                          "; the dotted line is the target" if spec.target is not None else "")]))
            if spec.by:  # one sentence and one table for every group, not a sentence per group
                s.add(Paragraph(self.special_by_sentence(m)))
                s.add(self.readings_table(m))
            else:
                s.add(Paragraph(self.special_sentence(m, m.charts[0])))
                s.add(Paragraph(self.reading_sentence(m, m.readings[0])))
        for group, n in m.groups_without_chart:
            who_g = html("{}: ", self._group_name(spec.by, group)) if spec.by else html("")
            s.add(Paragraph(html("{}{} with rates that may be published, fewer than the {} a chart needs; no limits or "
                                 "special causes are read.", who_g, tx.plural(n, self.unit, many=self.units), MIN_POINTS)))
        assert m.table is not None  # a measure without a problem has its published table
        table = self.pub[m.table].copy()
        rules = {}
        for chart in m.charts:
            for p, rule in zip(chart["period"], chart["rule"]):
                rules[(chart["group"].iloc[0], p)] = rule or "none"
        table["rule"] = [rules.get((g if spec.by else None, p), "not charted")
                         for g, p in zip(table[spec.by] if spec.by else [None] * len(table), table["period"])]
        table["ci"] = [tx.interval(a, b, fmt=tx.pct) for a, b in zip(table["lower"], table["upper"])]
        columns = ([Column(spec.by, tx.capitalise(self.study.area_label if spec.by == "area" else spec.by.replace("_", " ")))]
                   if spec.by else [])
        columns += [Column("period", tx.capitalise(self.unit)), Column("n", "People", "count"),
                    Column("reoffenders", tx.capitalise(f"people who {self.event}"), "count"), Column("rate", "Rate", "pct"),
                    Column("ci", "95% interval", "numtext"), Column("rule", "Special cause")]
        notes = [html("Rate interval: Wilson score, 95%. A suppressed cell ([c]) is left out of the chart.")]
        if m.n_left_out:
            notes.append(html("{} people without a {} (or without the column's value) are not counted.", tx.count(m.n_left_out), self.unit))
        s.add(self.table(table, columns, html("{} by {}", m.name, self.unit), notes=notes, keep=2 if spec.by else 1))
        return s

    def limits_words(self, m: _Measure) -> Any:
        """Where a KPI chart's limits come from, and why that chart (the words after "the process limits")."""
        if m.kind == "p":
            return html(", from the binomial spread of each {}'s rate given its number of people", self.unit)
        why = (html(": the median {} counts {} people, and binomial limits that narrow would read ordinary variation as "
                    "special", self.unit, tx.count(round(m.median_n))) if m.spec.chart == "auto" else html(" (the study file asks for it)"))
        return html(", from the moving range of the rates between consecutive {} (an XmR chart{})", self.units, why)

    def adjusted(self) -> Section:
        s = Section([self.heading("adjusted")])
        if self.adjusted_problem is not None:
            s.add(Paragraph(self.adjusted_problem))
            return s
        s.add(Paragraph(html("A rate can change because the people supervised change. Here each {} is set against what a "
                             "logistic model of {}, fitted on {}, expects for its people (the adjusted baseline). An observed/"
                             "expected ratio (O/E) above 1 means more people {} than the baseline's rates for people like them "
                             "predict.", self.unit, tx.join_words([c.replace("_", " ") for c in self.casemix]), self.baseline_words,
                             self.event)))
        t = self.pub[self.adjusted_table].copy()
        shown = t.dropna(subset=["ratio"])
        shown = shown[shown["period"].isin(self.levels)]
        if len(shown) >= MIN_POINTS:
            chart = spc.special_causes(spc.xmr_chart(shown[["period", "ratio"]].rename(columns={"ratio": "value"})))
            s.add(self.figure(fg.spc_chart([{"periods": list(chart["period"]), "value": chart["value"], "centre": chart["centre"],
                                             "lower": chart["lower"], "upper": chart["upper"], "special": chart["special_cause"],
                                             "target": 1.0, "target_label": "O/E = 1, the baseline"}],
                                           ylabel="Observed / expected", percent=False, value_label="O/E",
                                           what="observed/expected ratios", chart="XmR chart"),
                              html("XmR chart: observed against expected {} by {}, expected from {}", self.outcome_lower, self.unit,
                                   self.baseline_words),
                              notes=[html("The dotted line is O/E = 1, the baseline's own rates; limits from the moving range.")]))
            s.add(Paragraph(self.special_sentence(_Measure(KpiMeasure(), "O/E"), chart.assign(group=None))))
        t["ci"] = [tx.interval(a, b) for a, b in zip(t["ratio_lower"], t["ratio_upper"])]
        s.add(self.table(t, [Column("period", tx.capitalise(self.unit)), Column("n", "People", "count"),
                             Column("observed", "Observed", "count"), Column("expected", "Expected", "number1"),
                             Column("ratio", "O/E", "ratio"), Column("ci", "95% interval", "numtext"),
                             Column("significance", "Against the baseline")],
                         html("Observed against expected by {} (adjusted baseline: {})", self.unit, self.baseline_words),
                         notes=["O/E interval: exact Poisson below 10 observed, Byar's approximation otherwise, 95%."]))
        s.add(Paragraph(self.adjusted_sentence()))
        return s

    def chart_limitation(self) -> Any:
        """The caveat on the KPI charts' limits: the p-chart's binomial assumption, or how the XmR chart was chosen."""
        kinds = {m.kind for m in self.measures if m.table is not None and m.charts}
        if kinds == {"xmr"}:
            return html("XmR limits come from the variation between consecutive {}: they make no assumption about chance, "
                        "but a {} unlike the others (a change of recording, a short {}) widens them for all.", self.units,
                        self.unit, self.unit)
        text = html("p-chart limits assume each person's outcome is independent chance around the {}'s rate; with large "
                    "denominators (a median of {} people a {} or more) real rates vary more than that, and an XmR chart "
                    "(limits from the data) is drawn instead.", self.unit, tx.count(spc.LARGE_DENOMINATOR), self.unit)
        return text

    def closing(self) -> Section:
        s = Section()
        s.add(self.limitations([
            "A special cause says that something changed, not what: the data cannot say whether a service, the people "
            "supervised or the recording changed.",
            self.chart_limitation(),
            "Limits from few points are provisional; targets are those of the study file, not necessarily published ones.",
            "Recent periods whose outcomes are not yet complete can look better than they are (the data lag).",
        ]))
        s.add(self.glossary())
        n = self.people()
        rows = [{"output": f"KPI: {m.name}", "method": f"rate per period with Wilson interval; {_CHART_METHODS[m.kind]}; "
                 "Making Data Count special-cause rules, variation and assurance", "confidence": spc.THREE_SIGMA, "n": n}
                for m in self.measures if m.table is not None]
        if self.adjusted_problem is None:
            rows.append({"output": "Adjusted trend (O/E by period)", "method": "logistic case-mix model fitted on the baseline, "
                         "applied to every period; O/E interval exact Poisson below 10, Byar otherwise; XmR chart",
                         "confidence": 0.95, "n": n})
        s.add(self.methods(rows))
        s.add(self.disclosure())
        return s
