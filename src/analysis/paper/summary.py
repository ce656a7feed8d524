"""Paper 05, the evidence summary: the headline findings of papers 02 to 04 in plain English, with caveats.

The summary does not compute anything of its own: it builds the risk-flags
and observed-against-expected papers from the same results and quotes their
published tables, so its numbers are theirs (a test checks this). Its
disclosure control covers every table it draws on, audited together.

Examples
--------
>>> paper = SummaryPaper.open()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from . import figures as fg
from . import text as tx
from .blocks import Bullets, Paragraph, Section
from .frame import Paper
from .method_text import model_words
from .observed_expected import SOURCE_NAMES, ObservedExpectedPaper
from .risk_flags import RiskFlagsPaper, effect_sentence
from .text import html

__all__ = ["SummaryPaper"]


class SummaryPaper(Paper):
    """The evidence summary (see the module docstring)."""

    number = "05"
    parts = ('flags', 'differences', 'areas', 'share', 'charts')
    terms = ("odds_ratio", "risk_ratio", "marginal_effect", "adjusted", "case_mix", "expected", "oe", "adjusted_baseline",
             "internal_standardisation", "funnel_plot", "overdispersion", "paf", "c_statistic", "calibration", "interaction")

    @property
    def part(self) -> str:  # type: ignore[override]
        return f"Evidence summary: risk flags, {self.study.area_plural} and {self.outcome_lower}"

    def prepare(self) -> None:
        r = self.results
        self.flags_paper = RiskFlagsPaper(r, threshold=self.pub.threshold, rounding=self.pub.rounding)
        self.oe_paper = ObservedExpectedPaper(r, threshold=self.pub.threshold, rounding=self.pub.rounding)
        for part in (self.flags_paper, self.oe_paper):
            for name, entry in part.pub.entries.items():
                if name not in self.pub.entries:
                    self.pub.entries[name] = entry  # shared: suppression added here reaches the quoted tables too
            self.pub.log.records.extend(part.pub.log.records)
            self.pub.log.settings.update(part.pub.log.settings)
        self.pub.log.records[:] = [dict(t) for t in dict.fromkeys(tuple(sorted(rec.items())) for rec in self.pub.log.records)]
        total = r.overall
        import pandas as pd

        everyone = pd.DataFrame({"n": [total["n"]], "reoffenders": [total["events"]]})
        everyone["rate"] = everyone["reoffenders"] / everyone["n"]
        self.pub.rates("all people in the period", everyone, keys=[])

    def sections(self) -> list[tuple[str, str]]:
        r = self.results
        out = [("flags", f"Risk flags and {self.outcome_lower}")]
        if self.flags_paper._found_interactions():
            out.append(("differences", "Where the association differs"))
        if len(r.areas) >= 2:
            out.append(("areas", f"{tx.capitalise(self.study.area_plural)} against what their case mix predicts"))
        if r.flags and self.flags_paper.model_ok:
            out.append(("share", f"How much {self.outcome_lower} the flags account for"))
        out.append(("charts", "Key charts"))
        return out

    # ----------------------------------------------------------------- the findings
    def _overall(self) -> Any:
        e = self.pub["all people in the period"].iloc[0]
        return html("For every 100 people in the cohort ({} people, {}), <strong>{}</strong> {}.", tx.count(e["n"]),
                    self.period_words, tx.per100(e["rate"]), self.event)

    def summary_points(self) -> list[Any]:
        points = [self._overall()]
        flags = self.flags_paper.summary_points()
        if flags:
            points.append(flags[0])
        areas = self.oe_paper.summary_points()
        if len(self.results.areas) >= 2:
            points.extend(areas[:2])
        found = self.flags_paper._found_interactions()
        if found:
            points.append(html("The association differs beyond chance for {}.", tx.join_html(found, sep="; ")))
        return points[:5]

    def flags(self) -> Section:
        r = self.results
        s = Section([self.heading("flags")])
        s.add(Paragraph(self._overall()))
        if not r.flags:
            s.add(Paragraph(self.flags_paper._no_flags_sentence()))
            return s
        if not self.flags_paper.model_ok:
            s.add(Paragraph(html("The model cannot be published: {}.", self.flags_paper.model_check.detail)))
            return s
        eff = self.flags_paper.effects.sort_values("risk_difference", ascending=False, na_position="last", kind="stable")
        s.add(Paragraph(html("Each flag below is compared with people without it, first as it stands, then allowing for {} and the "
                             "other flags (paper 03 has the detail).", tx.join_words([self.flags_paper._by_name(a) for a in r.adjust])
                             or "the other flags")))
        s.add(Bullets([effect_sentence(row, self.event, self.quoted(row["label"])) for row in eff.to_dict("records")]))
        if r.flags_left_out:
            s.add(Paragraph(html("Not analysed, because they have one value in the period: {}.",
                                 tx.join_words([f"{r.label(f)} ({w})" for f, w in r.flags_left_out.items()]))))
        return s

    def differences(self) -> Section:
        found = self.flags_paper._found_interactions()
        if not found:
            return Section()
        s = Section([self.heading("differences")])
        s.add(Paragraph(html("Of {} tests of whether a flag's association differs by {}, these survive the Holm correction for "
                             "multiple testing:", len(self.results.interaction_tests),
                             tx.join_words([self.flags_paper._by_name(b) for b in self.results.interaction_by], conjunction="or"))))
        s.add(Bullets(found))
        return s

    def areas(self) -> Section:
        if len(self.results.areas) < 2:
            return Section()
        s = Section([self.heading("areas")])
        s.add(Paragraph(html("Whether {} has more {} than expected depends on where the expected rate comes from. Paper 04 sets "
                             "the sources side by side; together they say:", tx.with_article(self.study.area_label), self.outcome_lower)))
        s.add(Bullets(self.oe_paper.together_sentences()))
        return s

    def share(self) -> Section:
        r = self.results
        if not r.flags or not self.flags_paper.model_ok:
            return Section()
        s = Section([self.heading("share")])
        paf = r.attributable
        joint = paf[paf["kind"] == "joint"].iloc[0]
        shap = paf[paf["kind"] == "shapley"].sort_values("paf", ascending=False)
        top = shap.iloc[0]
        s.add(Paragraph(html("With none of the {} flags present, other characteristics unchanged, the model predicts that <strong>{}</strong> "
                             "in every 100 would have the outcome instead of {} (a share of {}%, 95% interval {}). The largest part "
                             "goes with {} ({} points of the {}%, averaged over the order in which flags are removed). These are "
                             "associations, not proof that meeting a need would prevent the outcome.",
                             len(r.flags), f"{100 * joint['counterfactual_rate']:.0f}", f"{100 * joint['predicted_rate']:.0f}",
                             f"{100 * joint['paf']:.0f}", tx.interval(100 * joint["paf_lower"], 100 * joint["paf_upper"], fmt=tx.number, digits=0),
                             self.quoted(r.label(top["term"])), f"{100 * top['paf']:.0f}", f"{100 * joint['paf']:.0f}")))
        return s

    def charts(self) -> Section:
        r = self.results
        s = Section([self.heading("charts")])
        if r.flags and self.flags_paper.model_ok:
            eff = self.flags_paper.effects.dropna(subset=["risk_difference"])
            if len(eff):
                s.add(self.figure(fg.dot_plot(eff["label"], eff["risk_difference"].astype(float), lower=eff["rd_lower"].astype(float),
                                              upper=eff["rd_upper"].astype(float), xlabel="Difference in percentage points, 95% interval",
                                              percent=True, reference=0.0),
                                  "How many more people in every 100 with each flag have the outcome, allowing for case mix and the other flags"))
        if len(r.areas) >= 2:
            chart = self.oe_paper.area_chart(self.pub)
            if chart is not None:
                s.add(self.figure(chart, self.oe_paper.area_chart_caption()))
        if r.flags and self.flags_paper.model_ok:
            paf = r.attributable
            shap = paf[paf["kind"] == "shapley"]
            joint = paf[paf["kind"] == "joint"].iloc[0]
            labels = [r.label(t) for t in shap["term"]] + ["All flags together"]
            values = list(100 * shap["paf"].astype(float)) + [100 * float(joint["paf"])]
            s.add(self.figure(fg.bar_chart(labels, values, xlabel="Share of the outcome (%), averaged over removal orders",
                                           highlight=[False] * len(shap) + [True], what="the share of the outcome associated with each flag"),
                              "Share of the outcome associated with each flag"))
        return s

    def caveats(self) -> list[Any]:
        """Limitations written from the diagnostics (discrimination, calibration, overdispersion, small numbers)."""
        r = self.results
        items: list[Any] = []
        if r.flags and not r.discrimination.empty:
            auc = r.discrimination.iloc[0]
            items.append(html("<strong>Discrimination.</strong> The model ranks people who {} above those who did not {} times in "
                              "100 (C-statistic {}, 95% interval {}): {}.", self.event, f"{100 * auc['estimate']:.0f}",
                              f"{auc['estimate']:.2f}", tx.interval(auc["lower"], auc["upper"]),
                              "good for a model of this kind" if auc["estimate"] >= 0.7 else "modest, so predictions for one person are uncertain"))
        if not r.calibration.empty:
            c = r.calibration.set_index("statistic")
            citl, slope = c.loc["calibration_in_the_large"], c.loc["calibration_slope"]
            items.append(html("<strong>Calibration.</strong> The same model fitted on {} and applied to {} has calibration-in-the-large "
                              "{} (95% interval {}) and slope {} (95% interval {}): {}.", self.period_of(r.reference_period),
                              self.period_of(), f"{citl['estimate']:+.3f}", tx.interval(citl["lower"], citl["upper"], fmt=lambda v: f"{v:+.3f}"),
                              f"{slope['estimate']:.3f}", tx.interval(slope["lower"], slope["upper"], fmt=lambda v: f"{v:.3f}"),
                              RiskFlagsPaper._calibration_words(c)))
        elif r.flags:
            items.append(html("<strong>Calibration.</strong> There is no baseline period, so the model could not be checked on other people."))
        funnel = self.oe_paper._funnel()
        if funnel is not None:
            od = funnel["table"].iloc[0]
            items.append(html("<strong>Overdispersion.</strong> Across the {} {}, phi is {}{}.{}", funnel["n"], self.study.area_plural,
                              f"{od['phi']:.2f}",
                              ": they differ more than chance alone allows, and the funnel's limits are widened for it" if od["adjusted"]
                              else html(": taken together, they vary no more than chance gives, so the funnel's limits are not "
                                        "widened; even so, {} stand{} apart beyond chance", tx.join_words(funnel["outside"]),
                                        "s" if len(funnel["outside"]) == 1 else "") if funnel["outside"]
                              else ": taken together, their differences are within what chance gives",
                              " With so few, phi itself is imprecise." if funnel["n"] < 10 else ""))
        hidden = int(self.pub.summary()["cells hidden"].sum()) if self.pub.entries else 0
        items.append(html("<strong>Small numbers.</strong> {}", html("{} counts in the tables behind this summary were suppressed; figures "
                                                                     "that rest on them are not shown.", hidden) if hidden else
                          html("No count behind this summary fell below the disclosure threshold of {}.", self.pub.threshold)))
        items.append(html("<strong>Association, not cause.</strong> Flags mark identified needs; people with them differ in ways the "
                          "data do not record. The findings describe who has the outcome, not what would happen if a need were met."))
        if r.flags_left_out:
            items.append(html("<strong>Flags not analysed.</strong> {}.",
                              tx.join_words([f"{r.label(f)}: {w}" for f, w in r.flags_left_out.items()])))
        return items

    def closing(self) -> Section:
        r = self.results
        s = Section()
        s.add(self.limitations(self.caveats()))
        s.add(self.glossary())
        rows = []
        if r.flags:
            rows.append({"output": "Associations of the flags", "method": model_words(r.model.method_code, r.model.fitted_on) + "; risk ratios and differences by counterfactual standardisation",
                         "confidence": r.confidence, "n": r.model.nobs})
            rows.append({"output": "Shares of the outcome", "method": "counterfactual standardisation; Shapley average", "confidence": r.confidence,
                         "n": r.model.nobs})
        for k in self.oe_paper.sources:
            rows.append({"output": f"O/E ({SOURCE_NAMES[k].lower()})", "method": self.oe_paper.expected_words(k), "confidence": 0.95,
                         "n": r.overall["n"]})
        s.add(self.methods(rows))
        s.add(self.disclosure())
        return s
