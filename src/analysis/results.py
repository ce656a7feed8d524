"""Every statistic a study's papers report, computed once, from one place.

:func:`analyse` takes a validated study (:class:`analysis.cohort.StudyData`)
and the period to report, and returns a :class:`StudyResults` whose
attributes are computed on first use and then kept: crude rates, the adjusted
flags model, odds ratios beside standardised risk ratios and differences,
interactions, diagnostics, attributable fractions, and observed against
expected by area from each source of expected. Every paper (and the
``tables`` command) reads the same object, so no two papers can disagree
about a number. Nothing here applies disclosure control: the presentation
layer (:mod:`analysis.paper`) publishes from these results.

It also decides, once, what the data allow: which flags can be modelled
(those with two values in the period), which are left out and why, which
case-mix columns vary, whether there is a baseline period, how many areas
there are.

Examples
--------
>>> import analysis
>>> results = analyse(analysis.open_study())  # doctest: +SKIP
>>> results.period, results.flags[:2]  # doctest: +SKIP
('2015-10/2016-09', ['dv', 'child_protection'])
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .cohort import StudyData
from .periods import latest_period, levels_present, previous_period, rows_in_period
from .schema import OUTCOME

__all__ = ["StudyResults", "analyse", "load_results", "DEFAULT_ADJUST_COLUMNS"]

DEFAULT_ADJUST_COLUMNS: tuple[str, ...] = ("area", "sex", "age_band", "offence_group")
"""Case-mix columns of the adjusted model when the study names none (those present are used)."""


@dataclass
class StudyResults:
    """The results of one study for one period (see :func:`analyse`).

    Attributes
    ----------
    data
        The study and its validated cohort.
    period, reference_period
        The period reported and the baseline period (None when there is none).
    current, baseline
        The rows of those periods.
    flags
        Flags modelled: present in the study with two values in the period.
    flags_left_out
        Flags of the study that cannot be modelled, with the reason in words.
    adjust
        Case-mix columns of the adjusted model that vary in the period.
    """

    data: StudyData
    period: str
    reference_period: str | None
    current: pd.DataFrame
    baseline: pd.DataFrame | None
    flags: list[str]
    flags_left_out: dict[str, str]
    adjust: list[str]
    expected_casemix: list[str]
    interactions: list[str]
    notes: list[str] = field(default_factory=list)
    confidence: float = 0.95

    # ----------------------------------------------------------------- the data in words
    @property
    def study(self):
        return self.data.study

    @property
    def labels(self) -> dict[str, str]:
        return self.data.labels

    @property
    def trials(self) -> str | None:
        """The column counting each row's people when the cohort is cells (see :class:`~analysis.cohort.StudyData`), else None."""
        return self.data.trials

    def people(self, frame: pd.DataFrame) -> pd.Series:
        """How many people each row of ``frame`` stands for: 1 for a person, its count for a cell."""
        if self.trials is None:
            return pd.Series(1, index=frame.index, dtype="int64")
        return frame[self.trials].astype("int64")

    def label(self, flag: str) -> str:
        return self.study.flag_label(flag)

    @property
    def has_area(self) -> bool:
        return "area" in self.current.columns

    @property
    def areas(self) -> list[str]:
        """Areas present in the period, in reading order."""
        if not self.has_area:
            return []
        return levels_present(self.current["area"])

    @property
    def has_supplied_expected(self) -> bool:
        return "expected" in self.current.columns

    @cached_property
    def overall(self) -> dict[str, float]:
        """People, people with the outcome and the rate in the period."""
        y = self.current[OUTCOME]
        n, events = int(self.people(self.current).sum()), int(y.sum())
        return {"n": n, "events": events, "rate": events / n if n else float("nan")}

    # ----------------------------------------------------------------- describe
    @cached_property
    def prevalence(self) -> pd.DataFrame:
        from .describe import flag_prevalence

        return flag_prevalence(self.current, flags=self.present_flags, labels=self.labels, trials=self.trials)

    @property
    def present_flags(self) -> list[str]:
        """Flags of the study present in the data (modelled or not)."""
        return [f for f in self.data.flags if f in self.current.columns]

    @cached_property
    def rates_by_flag(self) -> pd.DataFrame:
        from .describe import rates_by_flag

        return rates_by_flag(self.current, flags=self.flags, labels=self.labels, trials=self.trials) if self.flags else pd.DataFrame()

    def rates_by(self, by: str | list[str]) -> pd.DataFrame:
        from .describe import rates_by

        return rates_by(self.current, by, trials=self.trials)

    # ----------------------------------------------------------------- the adjusted model
    @cached_property
    def model(self):
        """The adjusted flags model (None when no flag can be modelled)."""
        from .models import fit_flags_model

        if not self.flags:
            return None
        return fit_flags_model(self.current, flags=self.flags, adjust=self.adjust, interactions=self.interactions,
                               confidence=self.confidence, trials=self.trials)

    @cached_property
    def effects(self) -> pd.DataFrame:
        """One row per modelled flag: crude rates, adjusted OR, standardised risks, RR and difference.

        Columns: ``flag``, ``label``, ``n_flagged``, ``n_unflagged``,
        ``events_flagged``, ``events_unflagged``, ``rate_flagged``,
        ``rate_unflagged`` (crude), ``unadjusted_or`` (+ ``_lower``/``_upper``),
        ``odds_ratio`` (+ ``or_lower``/``or_upper``, ``p_value``),
        ``risk_flagged``, ``risk_unflagged`` (standardised), ``risk_ratio``
        (+ ``rr_lower``/``rr_upper``), ``risk_difference`` (+ ``rd_lower``/``rd_upper``),
        ``confidence``, ``fitted_on`` and ``method`` (the model's
        :attr:`analysis.FlagsModel.method_code`).
        """
        model = self.model
        if model is None:
            return pd.DataFrame()
        comp = model.comparison.set_index("term")
        risks = model.standardised_risks.set_index("term")
        rows = []
        y, people = self.current[OUTCOME], self.people(self.current)
        for flag in self.flags:
            if flag not in comp.index:
                continue
            on = self.current[flag] == 1
            off = self.current[flag] == 0
            c, r = comp.loc[flag], risks.loc[flag]
            n_on, n_off, e_on, e_off = int(people[on].sum()), int(people[off].sum()), int(y[on].sum()), int(y[off].sum())
            rows.append({
                "flag": flag, "label": self.label(flag),
                "n_flagged": n_on, "n_unflagged": n_off,
                "events_flagged": e_on, "events_unflagged": e_off,
                "rate_flagged": e_on / n_on if n_on else float("nan"), "rate_unflagged": e_off / n_off if n_off else float("nan"),
                "unadjusted_or": c.get("unadjusted_or", np.nan), "unadjusted_lower": c.get("unadjusted_lower", np.nan),
                "unadjusted_upper": c.get("unadjusted_upper", np.nan),
                "odds_ratio": c["adjusted_or"], "or_lower": c["adjusted_lower"], "or_upper": c["adjusted_upper"], "p_value": c["p_value"],
                "risk_flagged": r["risk_flagged"], "risk_unflagged": r["risk_unflagged"],
                "risk_ratio": r["risk_ratio"], "rr_lower": r["rr_lower"], "rr_upper": r["rr_upper"],
                "risk_difference": r["risk_difference"], "rd_lower": r["rd_lower"], "rd_upper": r["rd_upper"],
                "confidence": model.confidence,
                "fitted_on": model.fitted_on,
                "method": model.method_code,
            })
        return pd.DataFrame(rows)

    @cached_property
    def interaction_by(self) -> list[str]:
        """The columns each flag's association is tested across: area and age band, where they vary."""
        return [c for c in ("area", "age_band") if c in self.current.columns and self.current[c].nunique() > 1]

    @cached_property
    def interaction_tests(self) -> pd.DataFrame:
        from .diagnostics import interaction_tests

        if self.model is None or not self.interaction_by:
            return pd.DataFrame(columns=["flag", "by", "lr", "df", "p_value", "p_holm"])
        return interaction_tests(self.current, flags=self.flags, by=self.interaction_by, adjust=self.adjust, trials=self.trials)

    @cached_property
    def interactions_found(self) -> pd.DataFrame:
        """Interactions surviving the Holm correction, with the flag's odds ratio in each level."""
        from .diagnostics import flag_effect_by

        tests = self.interaction_tests
        if tests.empty:
            return pd.DataFrame()
        frames = []
        for _, row in tests[tests["p_holm"] < 1 - self.confidence].iterrows():
            by_level = flag_effect_by(self.current, row["flag"], row["by"], flags=self.flags, adjust=self.adjust,
                                      confidence=self.confidence, trials=self.trials)
            frames.append(by_level.assign(lr=row["lr"], df=row["df"], p_holm=row["p_holm"]))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    # ----------------------------------------------------------------- diagnostics
    @cached_property
    def baseline_model(self):
        """The same model fitted on the baseline period (for out-of-sample calibration), or None."""
        from .models import fit_flags_model

        if self.baseline is None or not self.flags:
            return None
        flags = [f for f in self.flags if self.baseline[f].nunique() > 1]
        adjust = [a for a in self.adjust if a in self.baseline and self.baseline[a].nunique() > 1]
        if not flags:
            return None
        return fit_flags_model(self.baseline, flags=flags, adjust=adjust, confidence=self.confidence, trials=self.trials)

    @cached_property
    def discrimination(self) -> pd.DataFrame:
        from .diagnostics import discrimination

        return discrimination(self.model, confidence=self.confidence) if self.model is not None else pd.DataFrame()

    @cached_property
    def calibration(self) -> pd.DataFrame:
        """Calibration of the baseline period's model applied to the reported period (out of sample)."""
        from .diagnostics import calibration

        if self.baseline_model is None:
            return pd.DataFrame()
        return calibration(self.baseline_model, self.current, confidence=self.confidence, trials=self.trials)

    @cached_property
    def hosmer_lemeshow(self) -> pd.DataFrame:
        from .diagnostics import hosmer_lemeshow

        return hosmer_lemeshow(self.model) if self.model is not None else pd.DataFrame()

    @cached_property
    def collinearity(self) -> pd.DataFrame:
        from .diagnostics import flag_collinearity

        if self.model is None or len(self.flags) < 2:
            return pd.DataFrame()
        return flag_collinearity(self.model)

    # ----------------------------------------------------------------- attributable fractions
    @cached_property
    def attributable(self) -> pd.DataFrame:
        from .attributable import attributable_fractions

        if self.model is None:
            return pd.DataFrame()
        phrases = {f: self.label(f).lower() for f in self.flags}
        return attributable_fractions(self.model, labels=phrases)

    # ----------------------------------------------------------------- expected and O/E
    @cached_property
    def expected_sources(self) -> dict[str, pd.Series]:
        """Expected probabilities for the period from each source the data allow.

        ``"supplied"``: the extract's ``expected`` column; ``"internal"``: the
        study's case-mix model fitted on the period itself; ``"baseline"``:
        the case-mix model with the area fitted on the baseline period (the
        adjusted baseline: is each area above what its own baseline predicts?).
        """
        from .observed_expected import expected_from

        sources: dict[str, pd.Series] = {}
        cohort = self.data.cohort
        if self.has_supplied_expected:
            e = self.current["expected"].astype(float).rename("expected")
            e.attrs.update(source="supplied", internal=False, description=f"Expected: {self.study.expected_label}.")
            sources["supplied"] = e
        if self.expected_casemix:
            sources["internal"] = expected_from(cohort, source="internal", period=self.period, casemix=self.expected_casemix,
                                                trials=self.trials)
        elif self.flags:
            e = pd.Series(self.overall["rate"], index=self.current.index, name="expected")
            e.attrs.update(source="internal", internal=True, terms=[], interactions=[],
                           description="Expected: the period's overall rate (the study has no case-mix columns).")
            sources["internal"] = e
        if self.baseline is not None:
            casemix = [c for c in ["area", *self.expected_casemix] if c in self.baseline.columns]
            if casemix:
                sources["baseline"] = expected_from(cohort, source="reference", period=self.period, reference_period=self.reference_period,
                                                    casemix=casemix, trials=self.trials)
            else:
                n_fit = int(self.people(self.baseline).sum())
                rate = float(self.baseline[OUTCOME].sum()) / n_fit
                e = pd.Series(rate, index=self.current.index, name="expected")
                e.attrs.update(source="reference", internal=False, terms=[], interactions=[], n_fit=n_fit,
                               description="Expected: the baseline period's overall rate (the study has no case-mix columns).")
                sources["baseline"] = e
        return sources

    def oe_by(self, by: str | list[str], source: str) -> pd.DataFrame:
        """Observed against expected by ``by`` from one expected source (95% and 99.8%)."""
        from .observed_expected import observed_vs_expected

        variance = "expected_variance" if source == "supplied" and self.trials and "expected_variance" in self.current else None
        return observed_vs_expected(self.current, by, expected=self.expected_sources[source], trials=self.trials, variance=variance)

    @cached_property
    def oe_by_area(self) -> dict[str, pd.DataFrame]:
        """O/E by area from every expected source (empty when there are fewer than two areas)."""
        if len(self.areas) < 2:
            return {}
        return {source: self.oe_by("area", source) for source in self.expected_sources}

    @cached_property
    def oe_by_flag(self) -> pd.DataFrame:
        """O/E of the people with each flag, against the case-mix expectation (no flag in the expected model)."""
        source = "baseline" if "baseline" in self.expected_sources else "internal"
        if source not in self.expected_sources:
            return pd.DataFrame()
        expected = self.expected_sources[source]
        if source == "baseline" and self.expected_casemix:  # the area is in the baseline model; for flags use the case mix alone
            from .observed_expected import expected_from

            expected = expected_from(self.data.cohort, source="reference", period=self.period, reference_period=self.reference_period,
                                     casemix=self.expected_casemix, trials=self.trials)
        frames = []
        from .observed_expected import observed_vs_expected

        for flag in self.flags:
            t = observed_vs_expected(self.current, flag, expected=expected, compare_rest=False, trials=self.trials)
            frames.append(t[t[flag] == 1].drop(columns=[flag]).assign(flag=flag, label=self.label(flag)))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    @cached_property
    def oe_baseline_with_model_uncertainty(self) -> pd.DataFrame:
        """O/E by area against the adjusted baseline, with the baseline model's own uncertainty."""
        from .expected_uncertainty import oe_with_model_uncertainty

        casemix = [c for c in ["area", *self.expected_casemix] if self.baseline is not None and c in self.baseline.columns]
        if self.baseline is None or len(self.areas) < 2 or not casemix:
            return pd.DataFrame()
        return oe_with_model_uncertainty(self.baseline, self.current, "area", casemix=casemix, confidence=self.confidence,
                                         trials=self.trials)

    def computed(self) -> dict[str, Any]:
        """The results computed so far, by name (what :meth:`adopt` copies)."""
        names = [name for name, value in vars(type(self)).items() if isinstance(value, cached_property)]
        return {name: self.__dict__[name] for name in names if name in self.__dict__}

    def adopt(self, other: StudyResults) -> StudyResults:
        """Take the results ``other`` computed for the same study and period (e.g. from its cells); returns ``self``.

        The report computes once, from the cells of people (the same numbers
        as from the rows, docs/methods.md), and hands the papers that need the
        rows (06, 07) the rows with those results, so nothing is computed twice.

        Raises
        ------
        ValueError
            When ``other`` describes another period, baseline, flags or case mix.

        Examples
        --------
        >>> import analysis
        >>> from analysis.cells import study_cells
        >>> data = analysis.open_study()
        >>> rows = analyse(data).adopt(analyse(study_cells(data)).compute())
        >>> rows.trials is None, "model" in rows.computed(), rows.model.nobs
        (True, True, 8000)
        """
        if other.describe() != self.describe() or other.expected_casemix != self.expected_casemix:
            raise ValueError("the results to adopt are for another period, baseline, flags or case mix")
        self.__dict__.update(other.computed())
        return self

    def compute(self) -> StudyResults:
        """Compute every result now (each is otherwise computed on first use); returns ``self``.

        The report command computes once and hands the same results to every
        paper (:meth:`save`, :func:`load_results`), so no paper recomputes
        another's numbers.
        """
        for name, value in vars(type(self)).items():
            if isinstance(value, cached_property):
                getattr(self, name)
        return self

    def __getstate__(self) -> dict[str, Any]:
        # the period's and the baseline's rows are slices of the cohort: not written twice, and rebuilt on first use
        # after loading (a paper that reads only computed results never holds them; at 5M rows each is 220 MiB)
        return {k: v for k, v in self.__dict__.items() if k not in ("current", "baseline")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __getattr__(self, name: str) -> Any:
        # only reached for an attribute the instance does not hold: the rows of a loaded result, rebuilt once
        if name in ("current", "baseline") and "data" in self.__dict__:
            cohort = self.data.cohort
            period = self.period if name == "current" else self.reference_period
            rows = cohort[rows_in_period(cohort, period)] if period else None
            self.__dict__[name] = rows
            return rows
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def period_counts(self, column: str) -> pd.Series:
        """People in the period by each value of ``column`` (as text), from the cohort's codes: no rows are copied.

        Examples
        --------
        >>> import analysis
        >>> analyse(analysis.open_study()).period_counts("area").to_dict()
        {'Dudley': 1900, 'Sandwell': 2300, 'Walsall': 1800, 'Wolverhampton': 2000}
        """
        cohort = self.data.cohort
        values = cohort[column][rows_in_period(cohort, self.period)]
        if self.trials is not None:  # cells: each row counts its people
            people = cohort[self.trials][rows_in_period(cohort, self.period)].astype("int64")
            counts = people.groupby(values.astype(str) if not isinstance(values.dtype, pd.CategoricalDtype) else values,
                                    observed=True, sort=isinstance(values.dtype, pd.CategoricalDtype)).sum().rename("count")
            counts.index = counts.index.astype(str)
            return counts[counts > 0]
        if isinstance(values.dtype, pd.CategoricalDtype):
            counts = values.value_counts(sort=False)
            counts.index = counts.index.astype(str)
            return counts[counts > 0]
        return values.astype(str).value_counts(sort=False)

    def save(self, path: str | Path) -> Path:
        """Write the results (with everything computed so far) for papers run in other processes.

        The file is a Python pickle: it is meant for the papers of one report
        run, with the same version of the package, and is read back only by
        :func:`load_results`. It is not an exchange format and should not be kept.
        """
        target = Path(path)
        with target.open("wb") as handle:
            pickle.dump(self, handle, protocol=pickle.HIGHEST_PROTOCOL)
        return target

    def describe(self) -> dict[str, Any]:
        """The facts the papers state about the data, in one place (for tests and the front matter)."""
        return {
            "period": self.period, "reference_period": self.reference_period, "n": self.overall["n"],
            "flags": list(self.flags), "flags_left_out": dict(self.flags_left_out), "adjust": list(self.adjust),
            "areas": len(self.areas), "expected_sources": list(self.expected_sources),
        }


def analyse(
    data: StudyData,
    *,
    period: str | None = None,
    reference_period: str | None = None,
    confidence: float = 0.95,
) -> StudyResults:
    """Prepare a study's results for one period (computed lazily, each once).

    Parameters
    ----------
    data
        From :func:`analysis.open_study`.
    period
        The period to report (default: the latest).
    reference_period
        The baseline period (default: the one before ``period``, if any).
        Must differ from ``period``.
    confidence
        Level of every interval (99.8% limits are added where a table shows both).

    Returns
    -------
    StudyResults

    Raises
    ------
    ValueError
        When ``period`` or ``reference_period`` is not in the data.

    Examples
    --------
    Six people in two periods, written to a temporary file: the latest period (2016) is
    reported against the one before, and period 2016 holds one person in A and two in B.

    >>> import pathlib, tempfile, analysis
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cohort.csv"
    >>> _ = path.write_text("person_id,area,period,dv,reoffended\\n1,A,2015,1,1\\n2,A,2015,0,0\\n"
    ...                     "3,B,2015,0,1\\n4,B,2016,1,1\\n5,A,2016,0,0\\n6,B,2016,1,1\\n")
    >>> results = analyse(analysis.open_study(cohort=path))
    >>> results.period, results.reference_period, results.period_counts("area").to_dict()
    ('2016', '2015', {'A': 1, 'B': 2})
    """
    periods = data.periods
    period = str(period) if period is not None else latest_period(periods)
    if period not in periods:
        raise ValueError(f"the period {period!r} is not in the data (it has {', '.join(periods)})")
    if reference_period is not None:
        if reference_period not in periods or reference_period == period:
            raise ValueError(f"the reference period {reference_period!r} must be another period of the data ({', '.join(periods)})")
    else:
        reference_period = previous_period(periods, period)
    cohort = data.cohort
    current = cohort[rows_in_period(cohort, period)]
    baseline = cohort[rows_in_period(cohort, reference_period)] if reference_period else None
    study = data.study

    left_out: dict[str, str] = {}
    flags: list[str] = []
    for flag in data.flags:
        values = current[flag].dropna()
        if values.empty or values.nunique() < 2:
            if values.empty or values.iloc[0] == 0:
                left_out[flag] = "no one in the period has it"
            else:
                left_out[flag] = "everyone in the period has it"
        else:
            flags.append(flag)
    wanted = list(study.adjust) if study.adjust is not None else [c for c in DEFAULT_ADJUST_COLUMNS if c in current.columns]
    adjust = [c for c in wanted if c in current.columns and current[c].nunique(dropna=True) > 1 and c not in flags]
    casemix_wanted = (list(study.expected_casemix) if study.expected_casemix is not None
                      else [c for c in wanted if c not in ("area", "period")])
    casemix = [c for c in casemix_wanted if c in current.columns and current[c].nunique(dropna=True) > 1]
    interactions = [t for t in study.interactions if all(p.strip() in [*flags, *adjust] for p in t.split(":"))]
    notes = []
    dropped = [c for c in wanted if c not in adjust and c in current.columns]
    if dropped:
        notes.append("one value in the period, so not adjusted for: " + ", ".join(dropped))
    return StudyResults(data=data, period=period, reference_period=reference_period, current=current, baseline=baseline,
                        flags=flags, flags_left_out=left_out, adjust=adjust, expected_casemix=casemix,
                        interactions=interactions, notes=notes, confidence=confidence)


def load_results(path: str | Path) -> StudyResults:
    """Read results written by :meth:`StudyResults.save` in the same report run.

    Only files this package wrote for the current run should be read: a
    pickle can run code when loaded, so never point this at a file someone
    sent you.

    Examples
    --------
    >>> import tempfile, analysis
    >>> results = analyse(analysis.open_study())  # doctest: +SKIP
    >>> path = results.compute().save(Path(tempfile.mkdtemp()) / "results.pickle")  # doctest: +SKIP
    >>> load_results(path).period == results.period  # doctest: +SKIP
    True
    """
    with Path(path).open("rb") as handle:
        results = pickle.load(handle)
    if not isinstance(results, StudyResults):
        raise TypeError(f"{path} does not hold study results")
    return results
