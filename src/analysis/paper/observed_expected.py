"""Paper 04, observed against expected: which areas and groups have more of the outcome than their case mix predicts.

The answer depends on where the expected rate comes from, so the paper sets
the sources the data allow side by side (an expected rate supplied with the
extract; a case-mix model fitted on the same people; a model fitted on a
baseline period, the adjusted baseline), adds the funnel plot (do areas
differ from each other beyond chance?) and says in plain words what they
mean together: for example, that when every area sits above the supplied
expected rate by a similar amount, the expected rates may be set too low
for the year.

Examples
--------
>>> paper = ObservedExpectedPaper.open()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..schema import value_label
from ..study import Study
from . import figures as fg
from . import text as tx
from .blocks import Bullets, Column, Heading, Paragraph, Section
from .frame import Paper
from .method_text import method_words
from .text import html

__all__ = ["ObservedExpectedPaper", "SOURCE_NAMES"]

SOURCE_NAMES = {"supplied": "Supplied expected rate", "internal": "Case mix, this period", "baseline": "Adjusted baseline"}
"""Short names of the sources of expected, as the tables head them."""

_SIMILAR = 0.1
"""O/E ratios within this range of each other count as "a similar amount"."""


class ObservedExpectedPaper(Paper):
    """Areas and groups against their expected rates (see the module docstring)."""

    number = "04"
    parts = ('no_areas', 'sources_section', 'funnel', 'published_section', 'by_sex', 'fine', 'baseline')
    terms = ("expected", "oe", "case_mix", "internal_standardisation", "adjusted_baseline", "funnel_plot", "overdispersion",
             "wilson")

    @property
    def part(self) -> str:  # type: ignore[override]
        return f"Observed against expected: which {self.study.area_plural} and groups have more {self.outcome_lower} than their case mix predicts"

    # ----------------------------------------------------------------- tables
    def prepare(self) -> None:
        r = self.results
        self.sources = list(r.expected_sources)
        for source in self.sources:
            if r.oe_by_area:
                t = self._wide(r.oe_by_area[source], "area")
                self.pub.observed_expected(self._area_table(source), t, keys=["area"], population=self._population(t, source))
        if len(r.areas) > 1 and "internal" in r.expected_sources and "sex" in r.current.columns and r.current["sex"].nunique() > 1:
            t = self._wide(r.oe_by(["area", "sex"], "internal"), ["area", "sex"])
            self.pub.observed_expected(self._area_sex_table, t, keys=["area", "sex"], population=self._population(t, "internal"))
        self.fine_keys = [k for k in ("area", "sex", "age_band") if k in r.current.columns and r.current[k].nunique() > 1]
        if len(self.fine_keys) >= 2 and "internal" in r.expected_sources and len(r.areas) > 1:
            t = self._wide(r.oe_by(self.fine_keys, "internal"), self.fine_keys)
            self.pub.observed_expected(self._fine_table, t, keys=self.fine_keys, population=self._population(t, "internal"))
        if not r.oe_baseline_with_model_uncertainty.empty:
            t = r.oe_baseline_with_model_uncertainty.copy()
            t["group"] = "area=" + t["area"].astype(str)
            self.pub.observed_expected(self._uncertainty_table, t, keys=["area"], population=self._population(t, "baseline"))
        self.published = self._published_rates()

    def _population(self, table: pd.DataFrame, source: str) -> str:
        """The cohort, or (when a model could not score everyone) the people that source scored."""
        return "cohort" if int(table["n"].sum()) == self.results.overall["n"] else f"cohort scored by the {source} model"

    @staticmethod
    def _wide(t: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
        """One row per group: the 95% columns, plus the 99.8% interval of O/E."""
        keys = [by] if isinstance(by, str) else list(by)
        lo95 = t[t["confidence"] == 0.95].reset_index(drop=True)
        hi = t[t["confidence"] == 0.998].reset_index(drop=True)
        if len(hi) == len(lo95):
            lo95["ratio_lower_998"] = hi["ratio_lower"].to_numpy()
            lo95["ratio_upper_998"] = hi["ratio_upper"].to_numpy()
            lo95["significance_998"] = hi["significance"].to_numpy()
        for k in keys:
            lo95[k] = lo95[k].astype(str)
        return lo95

    def _area_table(self, source: str) -> str:
        return f"observed against expected by {self.study.area_label} ({SOURCE_NAMES[source].lower()})"

    @property
    def _area_sex_table(self) -> str:
        return f"observed against expected by {self.study.area_label} and sex"

    @property
    def _fine_table(self) -> str:
        return "observed against expected by " + tx.join_words([self._key_name(k) for k in self.fine_keys])

    @property
    def _uncertainty_table(self) -> str:
        return f"observed against the adjusted baseline by {self.study.area_label}, with the model's uncertainty"

    def _area_names(self, areas: Any) -> list[str]:
        return [self.study.area_name(a) for a in areas]

    def _key_name(self, key: str) -> str:
        return {"area": self.study.area_label, "sex": "sex", "age_band": "age band", "offence_group": "offence"}.get(key, key.replace("_", " "))

    @property
    def expected_axis(self) -> str:
        """The funnel plot's x axis in the study's words ("Expected number who were rearrested (E)")."""
        return f"Expected number who {self.event} (E)"

    def expected_words(self, source: str) -> str:
        """Where one source's expected rates come from, in words."""
        r = self.results
        e = r.expected_sources[source]
        if source == "supplied":
            label = self.study.expected_label  # the default already says it came with the extract; say it once
            return label if "supplied" in label.lower() else f"{label}, supplied with the extract"
        terms = [self._key_name(t) for t in e.attrs.get("terms", [])]
        model = f"a logistic model of {tx.join_words(terms)}" if terms else "the overall rate"
        if source == "internal":
            return f"{model} fitted on the same people, so that O/E is 1 overall"
        return f"{model} fitted on the {e.attrs.get('n_fit', 0):,} people of {self.period_of(r.reference_period)} and applied to {self.period_of()}"

    # ----------------------------------------------------------------- sections
    def sections(self) -> list[tuple[str, str]]:
        r, study = self.results, self.study
        if len(r.areas) < 2:
            return [("no-areas", f"Comparing {study.area_plural}")]
        out = [("sources", f"{tx.capitalise(study.area_plural)} against three kinds of expected rate" if len(self.sources) == 3
                else f"{tx.capitalise(study.area_plural)} against their expected rates")]
        out.append(("funnel", f"Do {study.area_plural} differ from each other beyond chance?"))
        if self.published is not None:
            out.append(("published", "Beside the published figures"))
        if self._area_sex_table in self.pub:
            out.append(("by-sex", f"Men and women in each {study.area_label}"))
        if self._fine_table in self.pub:
            out.append(("fine", "Finer groups: " + tx.join_words([self._key_name(k) for k in self.fine_keys])))
        if self._uncertainty_table in self.pub:
            out.append(("baseline", "The adjusted baseline, with the model's own uncertainty"))
        return out

    def area_chart(self, pub: Any = None) -> tuple[bytes, str] | None:
        """O/E by area with its 95% interval from each source of expected, or None.

        Only the cells ``pub`` (default: this paper's publisher; the summary passes its own) publishes are drawn.
        """
        labels, est, lo, hi, series = [], [], [], [], []
        for source in self.sources:
            t = (pub or self.pub)[self._area_table(source)].dropna(subset=["ratio"])
            labels += list(t["area"])
            est += list(t["ratio"].astype(float))
            lo += list(t["ratio_lower"].astype(float))
            hi += list(t["ratio_upper"].astype(float))
            series += [SOURCE_NAMES[source]] * len(t)
        if not labels:
            return None
        return fg.forest_plot(labels, est, lo, hi, series=series if len(self.sources) > 1 else None,
                              xlabel="Observed / expected (log scale), 95% interval", what="observed/expected ratios",
                              ylabel=tx.capitalise(self.study.area_label))

    def area_chart_caption(self) -> Any:
        """The caption of :meth:`area_chart`: which sources of expected it shows."""
        if len(self.sources) == 1:
            return html("Observed against expected {} by {} ({})", self.outcome_lower, self.study.area_label,
                        SOURCE_NAMES[self.sources[0]].lower())
        return html("Observed against expected {} by {}, from each source of expected", self.outcome_lower, self.study.area_label)

    def _verdicts(self, source: str) -> dict[str, Any]:
        t = self.pub[self._area_table(source)]
        shown = t.dropna(subset=["ratio"])
        ratios = shown["ratio"].astype(float)
        return {
            "table": t, "shown": shown, "n": len(t),
            "above": list(shown.loc[shown["significance"] == "Higher than expected", "area"]),
            "below": list(shown.loc[shown["significance"] == "Lower than expected", "area"]),
            "min": float(ratios.min()) if len(ratios) else np.nan, "max": float(ratios.max()) if len(ratios) else np.nan,
        }

    def together_sentences(self) -> list[Any]:
        """What the sources and the funnel mean together, in plain words."""
        r = self.results
        out: list[Any] = []
        if len(r.areas) < 2:
            return out
        for source in self.sources:
            v = self._verdicts(source)
            if not len(v["shown"]):
                continue
            name = html("<strong>{}</strong>, {}", SOURCE_NAMES[source], self.expected_words(source))
            rng = html("O/E from {} to {}", tx.ratio(v["min"]), tx.ratio(v["max"]))
            if len(v["above"]) == len(v["shown"]) and v["max"] - v["min"] <= _SIMILAR:
                text = html("{}: <strong>every {} is above expected by a similar amount</strong> ({}). When all are above by "
                            "about the same, the likelier reading is that these expected rates are set too low for the period, "
                            "not that every {} did worse than predicted.", name, self.study.area_label, rng, self.study.area_label)
            elif len(v["below"]) == len(v["shown"]) and v["max"] - v["min"] <= _SIMILAR:
                text = html("{}: <strong>every {} is below expected by a similar amount</strong> ({}): the period as a whole had "
                            "less of the outcome than expected, rather than any one {} standing out.", name, self.study.area_label,
                            rng, self.study.area_label)
            else:
                parts = []
                if v["above"]:
                    parts.append(html("above expected beyond chance: {}", tx.join_words(self._area_names(v["above"]))))
                if v["below"]:
                    parts.append(html("below expected beyond chance: {}", tx.join_words(self._area_names(v["below"]))))
                if not parts:
                    parts.append(html("no {} differs from expected by more than chance would readily give", self.study.area_label))
                text = html("{}: {}; {}.", name, rng, tx.join_html(parts, sep="; "))
            out.append(text)
        funnel = self._funnel()
        if funnel is not None:
            out.append(funnel["sentence"])
        return out

    def summary_points(self) -> list[Any]:
        r = self.results
        if len(r.areas) < 2:
            return [self._no_areas_sentence()]
        return self.together_sentences()[:5]

    def _no_areas_sentence(self) -> Any:
        r = self.results
        if not r.has_area:
            return html("The extract has no {} column, so {} cannot be compared.", self.study.area_label, self.study.area_plural)
        return html("The extract holds one {} ({}), so there is nothing to compare it with; the whole cohort's figures are in "
                    "papers 02 and 03.", self.study.area_label, tx.join_words(r.areas))

    def no_areas(self) -> Section:
        if len(self.results.areas) >= 2:
            return Section()
        return Section([self.heading("no-areas"), Paragraph(self._no_areas_sentence())])

    def sources_section(self) -> Section:
        r = self.results
        if len(r.areas) < 2:
            return Section()
        s = Section([self.heading("sources")])
        items = []
        for source in self.sources:
            items.append(html("<strong>{}</strong>: {}.", SOURCE_NAMES[source], self.expected_words(source)))
        missing = [k for k in ("supplied", "baseline") if k not in self.sources]
        if "supplied" in missing:
            items.append(html("No expected rate was supplied with the extract."))
        if "baseline" in missing:
            items.append(html("The extract holds no earlier period, so there is no adjusted baseline."))
        s.add(Paragraph("The expected rate of an area is the rate its people would have if each had the outcome at the rate "
                        "predicted for their case mix. The sources of that prediction the data allow:"))
        s.add(Bullets(items))
        base = self.pub[self._area_table(self.sources[0])][["area", "n", "observed", "observed_rate"]].copy()
        rates = [Column("area", tx.capitalise(self.study.area_label)), Column("n", "People", "count"),
                 Column("observed_rate", "Observed (%)", "pct")]
        ratios = [Column("area", tx.capitalise(self.study.area_label))]
        unscored = False
        for source in self.sources:
            t = self.pub[self._area_table(source)].set_index("area")
            key = source[:4]
            present = set(t.index)
            t = t.reindex(base["area"])
            base[f"{key}_exp"] = [v if a in present else "not scored" for a, v in zip(base["area"], t["expected_rate"])]
            base[f"{key}_oe"] = ["not scored" if a not in present else tx.SUPPRESSED if tx.is_missing(t.loc[a, "ratio"]) else
                                 f"{tx.ratio(t.loc[a, 'ratio'])} ({tx.interval(t.loc[a, 'ratio_lower'], t.loc[a, 'ratio_upper'])})"
                                 for a in base["area"]]
            unscored |= len(present) < len(base)
            rates.append(Column(f"{key}_exp", f"Expected: {SOURCE_NAMES[source].lower()} (%)",
                                lambda v: v if isinstance(v, str) else tx.pct(v)))
            ratios.append(Column(f"{key}_oe", f"{SOURCE_NAMES[source]}: O/E (95% interval)", "numtext"))
        s.add(self.table(base, rates, html("{} by {}: observed and expected from each source", self.outcome, self.study.area_label)))
        notes = ["O/E interval: exact Poisson below 10 observed, Byar's approximation otherwise (as UKHSA), 95%. "
                 "Above 1: more than expected."]
        if unscored:
            notes.append(html("Not scored: the {}'s people have a case mix the baseline period's model never saw "
                              "(e.g. {} absent from the baseline), so it cannot set their expected rate.",
                              self.study.area_label, tx.with_article(self.study.area_label)))
        s.add(self.table(base, ratios, (html("Observed / expected (O/E) by {}, from each source of expected", self.study.area_label) if len(self.sources) > 1
                                          else html("Observed / expected (O/E) by {} ({})", self.study.area_label,
                                                    SOURCE_NAMES[self.sources[0]].lower())),
                         notes=notes))
        chart = self.area_chart()
        if chart is not None:
            s.add(self.figure(chart, self.area_chart_caption()))
        s.add(Heading("What they mean together", level=3))
        s.add(Bullets(self.together_sentences()))
        return s

    def _funnel(self) -> dict[str, Any] | None:
        """Funnel of O/E by area against the case-mix model of this period (target 1), on the areas that may be shown."""
        from ..funnel import funnel_units

        if "internal" not in self.sources or len(self.results.areas) < 3:
            return None
        t = self.pub[self._area_table("internal")].dropna(subset=["observed"]).astype({"observed": "int64", "n": "int64"})
        if len(t) < 3:
            return None
        units = t.assign(expected=t["expected"].astype(float))
        table = funnel_units(units, kind="ratio", method="truncation")
        first = table[table["confidence"] == 0.95]
        outside = first[first["significance"] != "Not significant"]
        names = self._area_names(str(g).split("=", 1)[-1] for g in outside["group"])
        od = first.iloc[0]
        sentence = html("On the funnel plot (case mix of this period, phi {}{}), ", f"{od['phi']:.2f}",
                        ", limits widened for overdispersion" if od["adjusted"] else ", no widening needed")
        if names:
            sentence += html("<strong>{}</strong> stand{} apart from the other {} beyond chance.", tx.join_words(names),
                             "s" if len(names) == 1 else "", self.study.area_plural)
        else:
            sentence += html("no {} stands apart from the others beyond chance.", self.study.area_label)
        return {"units": units, "table": table, "sentence": sentence, "n": len(t), "outside": names}

    def funnel(self) -> Section:
        r = self.results
        if len(r.areas) < 2:
            return Section()
        s = Section([self.heading("funnel")])
        f = self._funnel()
        if f is None:
            s.add(Paragraph(html("A funnel plot needs at least three {} whose counts may be published; there are {}.",
                                 self.study.area_plural, len(r.areas))))
            return s
        s.add(Paragraph(html("Each {} is set against its expected count, with control limits that narrow as the expected count "
                             "grows. Expected comes from the case-mix model of this period, so the plot asks whether {} differ "
                             "from each other once their case mix is allowed for. Units usually vary more than chance alone "
                             "allows (overdispersion); phi measures it, and the limits are widened by tau-squared when phi is "
                             "above 1.", self.study.area_label, self.study.area_plural)))
        s.add(self.figure(fg.funnel_chart(f["units"], unit_name=self.study.area_label, unit_plural=self.study.area_plural,
                                          namer=lambda g: _unit_name(g, self.study), label_namer=_unit_name,
                                          xlabel=self.expected_axis),
                          html("Funnel plot: observed against expected {} by {}", self.outcome_lower, self.study.area_label)))
        t = f["table"]
        w = t[t["confidence"] == 0.95].reset_index(drop=True)
        w998 = t[t["confidence"] == 0.998].reset_index(drop=True)
        w["area"] = [str(g).split("=", 1)[-1] for g in w["group"]]
        w["l95"] = [tx.interval(a, b) for a, b in zip(w["lower"], w["upper"])]
        w["l998"] = [tx.interval(a, b) for a, b in zip(w998["lower"], w998["upper"])]
        s.add(self.table(w, [Column("area", tx.capitalise(self.study.area_label)), Column("observed", "Observed", "count"),
                             Column("expected", "Expected", "number1"), Column("estimate", "O/E", "ratio"),
                             Column("l95", "95% limits", lambda v: v), Column("l998", "99.8% limits", lambda v: v),
                             Column("significance", "Position")],
                         "Funnel plot: each unit's position",
                         notes=[html("Overdispersion: phi = {}, tau-squared = {}, from {} of {} units ({}). Limits: {}.",
                                     f"{w['phi'].iloc[0]:.2f}", f"{w['tau2'].iloc[0]:.4f}", int(w["n_used"].iloc[0]), len(w),
                                     w["overdispersion"].iloc[0], method_words(w["method"].iloc[0], w.iloc[0]))]))
        s.add(Paragraph(f["sentence"]))
        return s

    def _published_rates(self) -> pd.DataFrame | None:
        """The published reference's area rates, when the study names one and its period and areas match."""
        from ..published import load_published

        study, r = self.study, self.results
        if not study.published or len(r.areas) < 2:
            return None
        table = load_published(("crc_area_rates",))
        table = table[table["period"].astype(str) == r.period]
        if table.empty:
            return None
        table = table.assign(area=table["group"].str.replace("area=", "", regex=False))
        wide = table.pivot_table(index="area", columns="measure", values="value", aggfunc="first")
        wide = wide[wide.index.isin(r.areas)]
        return wide.reset_index() if len(wide) else None

    def published_section(self) -> Section:
        if self.published is None:
            return Section()
        s = Section([self.heading("published")])
        s.add(Paragraph(html("The study names a published reference ({}); its figures for the same {} and period stand beside "
                             "the extract's.", self.study.published_reference, self.study.area_plural)))
        source = "supplied" if "supplied" in self.sources else self.sources[0]
        t = self.pub[self._area_table(source)].set_index("area")
        pub = self.published.copy()
        pub["actual"] = pub["area"].map(t["observed_rate"])
        pub["expected_here"] = pub["area"].map(t["expected_rate"])
        s.add(self.table(pub, [Column("area", tx.capitalise(self.study.area_label)),
                               Column("expected_rate", "Published expected (%)", lambda v: tx.number(v, digits=2) + "%"),
                               Column("actual_rate", "Published actual (%)", lambda v: tx.number(v, digits=2) + "%"),
                               Column("expected_here", f"Expected here ({SOURCE_NAMES[source].lower()}) (%)", "pct"),
                               Column("actual", "Actual here (%)", "pct")],
                         "Published figures and the extract's, by " + self.study.area_label,
                         notes=[html("Published: {}.", self.study.published_reference)]))
        return s

    def by_sex(self) -> Section:
        if self._area_sex_table not in self.pub:
            return Section()
        s = Section([self.heading("by-sex")])
        t = self.pub[self._area_sex_table].copy()
        t["ci"] = [tx.interval(a, b) for a, b in zip(t["ratio_lower"], t["ratio_upper"])]
        s.add(Paragraph(html("Each group against its expected rate from the case-mix model of this period ({}).", self.expected_words("internal"))))
        s.add(self.table(t, [Column("area", tx.capitalise(self.study.area_label)), Column("sex", "Sex"), Column("n", "People", "count"),
                             Column("observed", "Observed", "count"), Column("expected", "Expected", "number1"),
                             Column("ratio", "O/E", "ratio"), Column("ci", "95% interval", lambda v: v),
                             Column("significance", "Against expected")],
                         html("Observed against expected by {} and sex", self.study.area_label), keep=2))
        above = t[t["significance"] == "Higher than expected"]
        if len(above):
            s.add(Paragraph(html("Above expected beyond chance: {}.", tx.join_words([f"{self.study.area_name(a)} ({x.lower()})" for a, x in zip(above["area"], above["sex"])]))))
        else:
            s.add(Paragraph("No group of men or women is above its expected rate beyond chance."))
        return s

    def fine(self) -> Section:
        if self._fine_table not in self.pub:
            return Section()
        from ..funnel import funnel_units

        s = Section([self.heading("fine")])
        t = self.pub[self._fine_table]
        shown = t.dropna(subset=["observed"]).astype({"observed": "int64", "n": "int64"})
        hidden = len(t) - len(shown)
        s.add(Paragraph(html("{} groups; {} shown (the rest have too few people, or too few with or without the outcome, to "
                             "publish). Expected: {}.", len(t), len(shown), self.expected_words("internal"))))
        if len(shown) >= 3:
            units = shown.assign(expected=shown["expected"].astype(float))
            s.add(self.figure(fg.funnel_chart(units, unit_name="group", label_all=False, namer=lambda g: _unit_name(g, self.study),
                                              xlabel=self.expected_axis),
                              html("Funnel plot of the finer groups ({})", tx.join_words([self._key_name(k) for k in self.fine_keys]))))
            table = funnel_units(units, kind="ratio", method="truncation")
            first = table[table["confidence"] == 0.95]
            outside = first[first["significance"] != "Not significant"].copy()
            if len(outside):
                outside["unit"] = [_unit_name(g, self.study) for g in outside["group"]]
                s.add(self.table(outside, [Column("unit", "Group"), Column("observed", "Observed", "count"),
                                           Column("expected", "Expected", "number1"), Column("estimate", "O/E", "ratio"),
                                           Column("significance", "Position")],
                                 "Finer groups outside the funnel's limits"))
            else:
                s.add(Paragraph("No finer group lies outside the funnel's limits."))
        if hidden:
            s.add(Paragraph(html("{} groups are not shown to protect confidentiality.", hidden)))
        return s

    def baseline(self) -> Section:
        if self._uncertainty_table not in self.pub:
            return Section()
        s = Section([self.heading("baseline")])
        t = self.pub[self._uncertainty_table].copy()
        t["ci"] = [tx.interval(a, b) for a, b in zip(t["ratio_lower"], t["ratio_upper"])]
        s.add(Paragraph(html("The intervals of the adjusted baseline above treat its expected rates as known. They are estimated "
                             "from one period of data, so here the baseline model's own uncertainty is added (delta method): "
                             "the variance of O - E becomes the binomial variance plus the variance of E from the model's "
                             "coefficients.")))
        s.add(self.table(t, [Column("area", tx.capitalise(self.study.area_label)), Column("observed", "Observed", "count"),
                             Column("expected", "Expected", "number1"), Column("ratio", "O/E", "ratio"),
                             Column("ci", "95% interval (model uncertainty included)", lambda v: v), Column("z", "z", "number2")],
                         html("Observed against the adjusted baseline by {}, with the baseline model's uncertainty", self.study.area_label)))
        beyond = t[t["z"].astype(float).abs() > 1.959964]
        s.add(Paragraph(html("With the model's uncertainty included, {}.",
                             html("{} remain beyond chance", tx.join_words(self._area_names(beyond["area"]))) if len(beyond)
                             else html("no {} differs from its adjusted baseline beyond chance", self.study.area_label))))
        return s

    def closing(self) -> Section:
        s = Section()
        s.add(self.limitations([
            "\"More than expected\" means more than the case-mix model predicts; a different model gives different expected rates, "
            "and each table says which one it uses.",
            "O/E intervals treat each person's outcome as chance around the prediction; the funnel's overdispersion allows for "
            "real differences between units that the case mix does not explain.",
            "Associations, not causes: an area above expected may differ in ways the data do not record.",
        ]))
        s.add(self.glossary())
        rows = [{"output": f"O/E ({SOURCE_NAMES[k].lower()})", "method": self.expected_words(k) + "; O/E interval exact Poisson below 10, Byar otherwise",
                 "confidence": 0.95, "n": self.results.overall["n"]} for k in self.sources]
        rows.append({"output": "Funnel plot", "method": "exact limits, or random-effects limits after SHMI truncation when phi > 1",
                     "confidence": 0.998, "n": self.results.overall["n"]})
        s.add(self.methods(rows))
        s.add(self.disclosure())
        return s


def _unit_name(group: str, study: Study | None = None) -> str:
    """"area=Dudley;sex=Female" -> "Dudley / Female" (values in words; with a study, an area code gets its label)."""
    parts = [p.split("=", 1) for p in str(group).split(";")]
    return " / ".join(study.area_name(v) if study is not None and k == "area" else value_label(k, v) for k, v in parts)
