"""Paper 03, risk flags: each flag's association with the outcome once the case mix and the other flags are allowed for.

Odds ratios stand beside standardised risk ratios and differences in
percentage points ("x in 100 against y in 100"), because an odds ratio of a
common outcome is easily heard as "times as likely". Interactions are tested
with a Holm correction; the model's fit is checked in and out of sample; the
share of the outcome associated with each flag is estimated by counterfactual
standardisation.

Examples
--------
>>> paper = RiskFlagsPaper.open()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd

from ..schema import value_label
from . import figures as fg
from . import text as tx
from .blocks import Bullets, Column, Paragraph, Section
from .frame import Paper
from .method_text import model_words
from .text import html

__all__ = ["RiskFlagsPaper", "effect_sentence"]


def effect_sentence(row: Any, event: str, label: str) -> Any:
    """One flag's association in plain words: crude rates, then the adjusted risk ratio, difference and odds ratio.

    ``row`` is a row of the published effects table (see :class:`RiskFlagsPaper`): values that are
    suppressed read as such.

    Examples
    --------
    A flag whose adjusted difference, +12 points, has an interval (+5 to +19) clear of zero;
    then one whose crude rate is suppressed (its label is escaped, as every label is):

    >>> row = {"rate_flagged": 0.62, "rate_unflagged": 0.41, "risk_difference": 0.12, "rd_lower": 0.05, "rd_upper": 0.19,
    ...        "risk_ratio": 1.3, "rr_lower": 1.1, "rr_upper": 1.52, "odds_ratio": 1.71}
    >>> print(effect_sentence(row, "reoffended", "Domestic violence"))  # doctest: +NORMALIZE_WHITESPACE
    For every 100 people with the flag <strong>Domestic violence</strong>, 62 reoffended, against 41 in every 100
    without it. Allowing for the case mix and the other flags, the flag goes with <strong>12 more</strong> in every
    100 (95% interval +5.0 to +19.0 points): a risk 1.30 times as high (95% interval 1.10 to 1.52; odds ratio 1.71).
    >>> print(effect_sentence(dict(row, rate_flagged=float("nan")), "reoffended", "DV <5"))
    <strong>DV &lt;5</strong>: too few people to publish (see the disclosure appendix).
    """
    if tx.is_missing(row["rate_flagged"]) or tx.is_missing(row["odds_ratio"]):
        return html("<strong>{}</strong>: too few people to publish (see the disclosure appendix).", label)
    crude = html("For every 100 people with the flag <strong>{}</strong>, {} {}, against {} in every 100 without it. ",
                 label, tx.per100(row["rate_flagged"]), event, tx.per100(row["rate_unflagged"]))
    rd = float(row["risk_difference"])
    lo, hi = float(row["rd_lower"]), float(row["rd_upper"])
    if lo > 0 or hi < 0:
        direction = "more" if rd > 0 else "fewer"
        adjusted = html("Allowing for the case mix and the other flags, the flag goes with <strong>{} {}</strong> in every 100 "
                        "(95% interval {} to {} points): a risk {} times as high (95% interval {}; odds ratio {}).",
                        f"{abs(100 * rd):.0f}", direction, tx.points(lo), tx.points(hi), tx.ratio(row["risk_ratio"]),
                        tx.interval(row["rr_lower"], row["rr_upper"]), tx.ratio(row["odds_ratio"]))
    else:
        adjusted = html("Allowing for the case mix and the other flags, the difference could be chance: {} points in every 100 "
                        "(95% interval {} to {}; risk ratio {}, odds ratio {}).", tx.points(rd), tx.points(lo), tx.points(hi),
                        tx.ratio(row["risk_ratio"]), tx.ratio(row["odds_ratio"]))
    return crude + adjusted


class RiskFlagsPaper(Paper):
    """Each flag's association once case mix is allowed for (see the module docstring)."""

    number = "03"
    parts = ('no_flags', 'adjusted', 'differences', 'fit', 'attributable', 'expected')
    terms = ("adjusted", "case_mix", "odds_ratio", "risk_ratio", "marginal_effect", "interaction", "p_value",
             "c_statistic", "calibration", "vif", "paf", "expected", "oe", "internal_standardisation", "adjusted_baseline")

    @property
    def part(self) -> str:  # type: ignore[override]
        return f"Risk flags and {self.outcome_lower}, allowing for the case mix"

    # ----------------------------------------------------------------- tables
    def prepare(self) -> None:
        r = self.results
        self.model_ok = False
        if not r.flags:
            return
        model = r.model
        check = self.pub.model("flags model", model.nobs, model.df_model)
        self.model_ok = check.passed
        self.model_check = check
        for flag in r.flags:
            part = r.rates_by_flag[r.rates_by_flag["flag"] == flag].rename(columns={"value": flag}).drop(columns=["flag", "label"])
            self.pub.rates(self.flag_table(flag), part, keys=[flag], partition=True)
        self.effects = self._published_effects()
        if not r.interactions_found.empty:
            for key, part in r.interactions_found.groupby(["flag", "by"], sort=False):
                flag, by = cast(tuple[str, str], key)  # groupby types its keys as Hashable: these are a flag's and a column's names
                levels = part.rename(columns={"level": by})[[by, "n", "n_flagged", "odds_ratio", "lower", "upper", "p_value"]]
                levels[by] = levels[by].astype(str)
                self.pub.counts(f"people by {self._by_name(by)} ({r.label(flag).lower()} interaction)", levels[[by, "n"]],
                                keys=[by], count_columns=["n"], group="people in each level of the interactions")
                flagged = levels[[by, "n_flagged", "odds_ratio", "lower", "upper", "p_value"]].assign(**{flag: 1})
                self.pub.counts(self._interaction_table(flag, by), flagged, keys=[by, flag], count_columns=["n_flagged"],
                                measures=["n"], derived=["odds_ratio", "lower", "upper", "p_value"], complete=False)
        oe = r.oe_by_flag
        if not oe.empty:
            rates = r.rates_by_flag
            for flag in r.flags:
                rows = oe[(oe["flag"] == flag) & (oe["confidence"] == 0.95)].assign(**{flag: 1})
                n_flagged = int(rates.loc[(rates["flag"] == flag) & (rates["value"] == 1), "n"].sum())
                scored_all = len(rows) == 1 and int(rows["n"].iloc[0]) == n_flagged
                self.pub.observed_expected(self._oe_table(flag), rows, keys=[flag], complete=False,
                                           population="cohort" if scored_all else "cohort scored by the case-mix model")

    def flag_table(self, flag: str) -> str:
        return f"{self.outcome_lower} by {self.results.label(flag).lower()}"

    def _interaction_table(self, flag: str, by: str) -> str:
        return f"{self.results.label(flag).lower()} by {self._by_name(by)}"

    def _oe_table(self, flag: str) -> str:
        return f"observed against expected: {self.results.label(flag).lower()}"

    def _by_name(self, by: str) -> str:
        return self.study.area_label if by == "area" else by.replace("_", " ")

    def _published_effects(self) -> pd.DataFrame:
        """The effects table with crude counts from the published flag tables and estimates only if the model passes."""
        r = self.results
        eff = r.effects.copy()
        for i, row in eff.iterrows():
            t = self.pub[self.flag_table(row["flag"])]
            by_value = {int(v): rec for v, rec in zip(t[row["flag"]], t.to_dict("records"))}
            on, off = by_value.get(1, {}), by_value.get(0, {})
            eff.at[i, "n_flagged"] = on.get("n")
            eff.at[i, "rate_flagged"] = on.get("rate")
            eff.at[i, "rate_unflagged"] = off.get("rate")
            if tx.is_missing(on.get("n")) or not self.model_ok:
                for col in ("unadjusted_or", "unadjusted_lower", "unadjusted_upper", "odds_ratio", "or_lower", "or_upper",
                            "p_value", "risk_flagged", "risk_unflagged", "risk_ratio", "rr_lower", "rr_upper",
                            "risk_difference", "rd_lower", "rd_upper"):
                    eff.at[i, col] = np.nan
        return eff

    # ----------------------------------------------------------------- sections
    def sections(self) -> list[tuple[str, str]]:
        r = self.results
        if not r.flags:
            return [("no-flags", "No flag can be analysed")]
        out = [("adjusted", f"Each flag and {self.outcome_lower}, allowing for the case mix")]
        if r.interaction_by:
            out.append(("differences", "Does the association differ by " + tx.join_words([self._by_name(b) for b in r.interaction_by], conjunction="or") + "?"))
        out += [("fit", "How well the model fits"), ("attributable", f"How much {self.outcome_lower} the flags account for")]
        if not r.oe_by_flag.empty:
            out.append(("expected", "People with each flag against what their case mix predicts"))
        return out

    def summary_points(self) -> list[Any]:
        r = self.results
        if not r.flags:
            return [self._no_flags_sentence()]
        if not self.model_ok:
            return [html("The model cannot be published: {}.", self.model_check.detail)]
        eff = self.effects.dropna(subset=["risk_difference"])
        points: list[Any] = []
        if not eff.empty:
            top = eff.sort_values("risk_difference", ascending=False).iloc[0]
            points.append(html("The flag with the largest adjusted association is <strong>{}</strong>: allowing for the case mix "
                               "and the other flags, <strong>{} more in every 100</strong> people with it {} than would have without "
                               "it (risk ratio {}; odds ratio {}).",
                               self.quoted(top["label"]), f"{100 * top['risk_difference']:.0f}", self.event, tx.ratio(top["risk_ratio"]),
                               tx.ratio(top["odds_ratio"])))
            lower = eff[eff["rd_upper"] < 0]
            if not lower.empty:
                points.append(html("Allowing for the case mix, {} go{} with <em>fewer</em> people who {}.",
                                   tx.join_words([self.quoted(l) for l in lower["label"]]), "es" if len(lower) == 1 else "",
                                   self.event))
            null = eff[(eff["rd_lower"] <= 0) & (eff["rd_upper"] >= 0)]
            if not null.empty:
                points.append(html("For {}, the adjusted difference could be chance.", tx.join_words([self.quoted(l) for l in null["label"]])))
        found = self._found_interactions()
        if found:
            points.append(html("The association differs by place or age beyond chance (after the Holm correction) for: {}.",
                               tx.join_html(found, sep="; ")))
        paf = self.results.attributable
        if not paf.empty:
            joint = paf[paf["kind"] == "joint"].iloc[0]
            points.append(html("With none of the flags present, other characteristics unchanged, the model predicts {} in every 100 "
                               "instead of {}.", f"{100 * joint['counterfactual_rate']:.0f}", f"{100 * joint['predicted_rate']:.0f}"))
        return points[:5]

    @property
    def event_short(self) -> str:
        """The event as a noun phrase after "more": "reoffended" -> "people who reoffended"."""
        return f"people who {self.event}"

    def _no_flags_sentence(self) -> Any:
        r = self.results
        if r.flags_left_out:
            why = "; ".join(f"{r.label(f)}: {w}" for f, w in r.flags_left_out.items())
            return html("No flag has both values in the period, so no association can be estimated ({}).", why)
        return html("The extract holds no flag column with two values, so no association can be estimated.")

    def _found_interactions(self) -> list[Any]:
        r = self.results
        found = r.interactions_found
        if found.empty or not self.model_ok:
            return []
        out = []
        for key, part in found.groupby(["flag", "by"], sort=False):
            flag, by = cast(tuple[str, str], key)  # groupby types its keys as Hashable: these are a flag's and a column's names
            t = self.pub[self._interaction_table(flag, by)].dropna(subset=["odds_ratio"])
            if t.empty:
                continue
            hi = t.loc[t["odds_ratio"].astype(float).idxmax()]  # type: ignore[call-overload]  # pandas-stubs: idxmax returns Hashable, .loc wants a label type
            out.append(html("{} by {} (odds ratio {} in {}, {} to {} elsewhere)", self.quoted(r.label(flag)), self._by_name(by),
                            tx.ratio(hi["odds_ratio"]), self.study.area_name(hi[by]) if by == "area" else value_label(by, hi[by]),
                            tx.ratio(t.drop(index=hi.name)["odds_ratio"].astype(float).min()) if len(t) > 1 else "-",
                            tx.ratio(t.drop(index=hi.name)["odds_ratio"].astype(float).max()) if len(t) > 1 else "-"))
        return out

    def no_flags(self) -> Section:
        if self.results.flags:
            return Section()
        return Section([self.heading("no-flags"), Paragraph(self._no_flags_sentence())])

    def adjusted(self) -> Section:
        r = self.results
        if not r.flags:
            return Section()
        s = Section([self.heading("adjusted")])
        model = r.model
        adjust = [self._by_name(a) for a in r.adjust]
        s.add(Paragraph(html("A logistic regression of {} on the {} flags, adjusted for {}, fitted on the {} people of {}. ",
                             self.outcome_lower, len(r.flags), tx.join_words(adjust) if adjust else "nothing else (the extract has no case-mix columns that vary)",
                             tx.count(model.nobs), self.period_of())
                        + (html("Separation was found for {}, so the estimates are Firth-penalised. ", tx.join_words(model.separation["term"]))
                           if not model.separation.empty else html("No separation was found, so these are ordinary maximum-likelihood estimates. "))
                        + html("Odds ratios are given with risk ratios and differences in percentage points, which say the same in "
                               "terms of people.")))
        if not self.model_ok:
            s.add(Paragraph(html("The model's estimates cannot be published: {}.", self.model_check.detail)))
            return s
        eff = self.effects
        s.add(self.table(eff, [Column("label", "Flag"), Column("n_flagged", "People flagged", "count"),
                               Column("rate_flagged", f"{self.outcome}, flagged (%)", "pct"),
                               Column("rate_unflagged", "Not flagged (%)", "pct"),
                               Column("risk_flagged", "Adjusted, flagged (%)", "pct"),
                               Column("risk_unflagged", "Adjusted, not flagged (%)", "pct")],
                         f"{self.outcome} with and without each flag: crude and adjusted",
                         notes=["Adjusted: the model's predicted rate for everyone with the flag set on, and set off, other "
                                "characteristics as they are (counterfactual standardisation)."]))
        s.add(self.table(self._interval_columns(eff), [Column("label", "Flag"),
                                                       Column("rd", "Difference, points (95% interval)", "numtext"),
                                                       Column("rr", "Risk ratio (95% interval)", "numtext"),
                                                       Column("or", "Odds ratio (95% interval)", "numtext"),
                                                       Column("p_value", "p-value", "p")],
                         "Adjusted associations: difference in percentage points, risk ratio and odds ratio",
                         notes=["Adjusted for the case mix and the other flags. Intervals: delta method (difference, risk ratio), "
                                "Wald (odds ratio), 95%."]))
        shown = eff.dropna(subset=["odds_ratio"])
        if len(shown):
            labels = list(shown["label"]) * 2
            series = ["Unadjusted"] * len(shown) + ["Adjusted"] * len(shown)
            est = list(shown["unadjusted_or"]) + list(shown["odds_ratio"])
            lo = list(shown["unadjusted_lower"]) + list(shown["or_lower"])
            hi = list(shown["unadjusted_upper"]) + list(shown["or_upper"])
            s.add(self.figure(fg.forest_plot(labels, est, lo, hi, series=series, xlabel="Odds ratio (log scale), 95% interval"),
                              "Odds ratio of each flag, before and after allowing for the case mix and the other flags"))
            s.add(self.figure(fg.dot_plot(shown["label"], shown["risk_difference"].astype(float), lower=shown["rd_lower"].astype(float),
                                          upper=shown["rd_upper"].astype(float), xlabel="Difference in percentage points, 95% interval",
                                          percent=True, reference=0.0),
                              "Adjusted difference in percentage points: how many more people in every 100 with each flag"))
        s.add(Bullets([effect_sentence(row, self.event, self.quoted(row["label"])) for row in eff.to_dict("records")]))
        if model.notes:
            s.add(Paragraph(html("Model notes: {}.", "; ".join(model.notes))))
        return s

    @staticmethod
    def _interval_columns(eff: pd.DataFrame) -> pd.DataFrame:
        """Each estimate with its interval in one cell: "+11.0 (+8.0 to +14.0)"."""
        out = eff.copy()

        def cell(est, lo, hi, fmt):
            return tx.SUPPRESSED if tx.is_missing(est) else f"{fmt(est)} ({tx.interval(lo, hi, fmt=fmt)})"

        out["rd"] = [cell(e, a, b, tx.points) for e, a, b in zip(eff["risk_difference"], eff["rd_lower"], eff["rd_upper"])]
        out["rr"] = [cell(e, a, b, tx.ratio) for e, a, b in zip(eff["risk_ratio"], eff["rr_lower"], eff["rr_upper"])]
        out["or"] = [cell(e, a, b, tx.ratio) for e, a, b in zip(eff["odds_ratio"], eff["or_lower"], eff["or_upper"])]
        return out

    def differences(self) -> Section:
        r = self.results
        if not r.flags or not r.interaction_by:
            return Section()
        s = Section([self.heading("differences")])
        if not self.model_ok:
            s.add(Paragraph("Not shown: the model cannot be published."))
            return s
        tests = r.interaction_tests.copy()
        tests["flag_label"] = tests["flag"].map(r.label)
        tests["by_label"] = tests["by"].map(self._by_name)
        s.add(Paragraph(html("Each flag's association was allowed to differ across each {} in turn, and the model compared with "
                             "the one without the difference (a likelihood-ratio test). With {} tests, p-values are adjusted "
                             "by the Holm method.", tx.join_words([self._by_name(b) for b in r.interaction_by], conjunction="and each"), len(tests))))
        s.add(self.table(tests, [Column("flag_label", "Flag"), Column("by_label", "Differs by"), Column("lr", "Chi-squared", "number1"),
                                 Column("df", "Degrees of freedom", "count"), Column("p_value", "p-value", "p"),
                                 Column("p_holm", "Holm-adjusted p", "p")],
                         "Tests of whether each flag's association differs", keep=2))
        found = r.interactions_found
        if found.empty:
            s.add(Paragraph("No difference survives the Holm adjustment: each flag's association is about the same across the groups tested."))
            return s
        for key, _ in found.groupby(["flag", "by"], sort=False):
            flag, by = cast(tuple[str, str], key)  # groupby types its keys as Hashable: these are a flag's and a column's names
            t = self.pub[self._interaction_table(flag, by)].copy()
            t[by] = [value_label(by, v) for v in t[by]]
            t["ci"] = [tx.interval(a, b) for a, b in zip(t["lower"], t["upper"])]
            s.add(self.table(t, [Column(by, tx.capitalise(self._by_name(by))), Column("n_flagged", "People flagged", "count"),
                                 Column("odds_ratio", "Odds ratio", "ratio"), Column("ci", "95% interval", lambda v: v)],
                             html("The odds ratio of {} in each {}", self.quoted(r.label(flag)), self._by_name(by))))
            shown = t.dropna(subset=["odds_ratio"])
            if len(shown):
                s.add(self.figure(fg.forest_plot(shown[by], shown["odds_ratio"].astype(float), shown["lower"].astype(float),
                                                 shown["upper"].astype(float), xlabel="Adjusted odds ratio (log scale), 95% interval"),
                                  html("The odds ratio of {} in each {} (model with the interaction)", self.quoted(r.label(flag)), self._by_name(by))))
        s.add(Paragraph(html("Differences that survive the correction: {}.", tx.join_html(self._found_interactions(), sep="; "))))
        return s

    def fit(self) -> Section:
        r = self.results
        if not r.flags:
            return Section()
        s = Section([self.heading("fit")])
        rows = []
        auc = r.discrimination.iloc[0]
        rows.append({"statistic": "C-statistic (same people)", "estimate": auc["estimate"], "ci": tx.interval(auc["lower"], auc["upper"], fmt=lambda v: f"{v:.3f}"),
                     "reading": "0.5 is chance, 1 is perfect"})
        hl = r.hosmer_lemeshow.iloc[0]
        rows.append({"statistic": "Hosmer-Lemeshow (same people)", "estimate": hl["estimate"], "ci": f"p = {tx.p_value(hl['p_value'])}",
                     "reading": f"{int(hl['groups'])} groups of predicted risk; with thousands of people it flags small gaps"})
        cal = r.calibration
        if not cal.empty:
            c = cal.set_index("statistic")
            for key, name, reading in (("calibration_in_the_large", "Calibration-in-the-large (baseline model, this period)", "0 is ideal; above 0, more than predicted"),
                                       ("calibration_slope", "Calibration slope (baseline model, this period)", "1 is ideal; below 1, predictions too extreme")):
                rows.append({"statistic": name, "estimate": c.loc[key, "estimate"],
                             "ci": tx.interval(c.loc[key, "lower"], c.loc[key, "upper"], fmt=lambda v: f"{v:.3f}"), "reading": reading})
        table = pd.DataFrame(rows)
        s.add(self.table(table, [Column("statistic", "Measure"), Column("estimate", "Estimate", "ratio3"), Column("ci", "95% interval or test", lambda v: v),
                                 Column("reading", "How to read it")], "How well the model fits", max_columns=4))
        text = html("The model ranks people who {} above those who did not {} times in 100 (C-statistic {}). ", self.event,
                    f"{100 * auc['estimate']:.0f}", f"{auc['estimate']:.3f}")
        if not cal.empty:
            c = cal.set_index("statistic")
            text += html("Fitted on {} and applied to {}, calibration-in-the-large is {} and the slope {}: ",
                         self.period_of(r.reference_period), self.period_of(), f"{c.loc['calibration_in_the_large', 'estimate']:+.3f}",  # type: ignore[str-bytes-safe]  # pandas-stubs: .loc[row, col] may be any scalar, bytes included
                         f"{c.loc['calibration_slope', 'estimate']:.3f}")  # type: ignore[str-bytes-safe]  # pandas-stubs: .loc[row, col] may be any scalar, bytes included
            text += html("{}. ", self._calibration_words(c))
        else:
            text += html("There is no baseline period, so the model could not be checked on other people. ")
        vif = r.collinearity
        if not vif.empty:
            worst = vif.loc[vif["vif"].idxmax()]  # type: ignore[call-overload]  # pandas-stubs: idxmax returns Hashable, .loc wants a label type
            text += html("The largest variance inflation factor is {} ({}), so {}.", f"{worst['vif']:.2f}", self.quoted(r.label(worst["term"])),
                         "the flags' estimates are not blurred by their overlap" if worst["vif"] < 2.5 else "read the estimates of flags that travel together with care")
        s.add(Paragraph(text))
        if r.baseline_model is not None:
            from ..diagnostics import calibration_table

            s.add(self.figure(fg.calibration_chart(calibration_table(r.baseline_model, r.current, trials=r.trials)),
                              html("Observed against predicted {} by tenth of predicted risk: model fitted on {}, applied to {}",
                                   self.outcome_lower, tx.period_words(r.reference_period), self.period_words)))
        return s

    @staticmethod
    def _calibration_words(c: pd.DataFrame) -> str:
        citl, slope = c.loc["calibration_in_the_large"], c.loc["calibration_slope"]
        parts = []
        if citl["lower"] > 0:
            parts.append("more people had the outcome than the earlier period's model predicted")
        elif citl["upper"] < 0:
            parts.append("fewer people had the outcome than the earlier period's model predicted")
        else:
            parts.append("overall, predictions matched the outcome within chance")
        if slope["lower"] > 1:
            parts.append("the differences between people were larger than predicted (slope above 1)")
        elif slope["upper"] < 1:
            parts.append("the predictions were too extreme (slope below 1)")
        return tx.join_words(parts) + "; associations estimated in one year carry over to another only approximately"

    def attributable(self) -> Section:
        r = self.results
        if not r.flags:
            return Section()
        s = Section([self.heading("attributable")])
        if not self.model_ok:
            s.add(Paragraph("Not shown: the model cannot be published."))
            return s
        paf = r.attributable.copy()
        shap = paf[paf["kind"] == "shapley"].set_index("term")
        single = paf[paf["kind"] == "single"].set_index("term")
        joint = paf[paf["kind"] == "joint"].iloc[0]
        eff = self.effects.set_index("flag")
        rows = []
        for flag in r.flags:
            hidden = tx.is_missing(eff.loc[flag, "n_flagged"])
            rows.append({"label": r.label(flag),
                         "shapley": np.nan if hidden else 100 * shap.loc[flag, "paf"],  # type: ignore[operator]  # pandas-stubs: .loc[row, col] may be any scalar
                         "single": np.nan if hidden else 100 * single.loc[flag, "paf"],  # type: ignore[operator]  # pandas-stubs: .loc[row, col] may be any scalar
                         "ci": tx.SUPPRESSED if hidden else tx.interval(100 * single.loc[flag, "paf_lower"], 100 * single.loc[flag, "paf_upper"], fmt=tx.number),  # type: ignore[operator]  # pandas-stubs: .loc[row, col] may be any scalar
                         "points": np.nan if hidden else 100 * single.loc[flag, "par"]})  # type: ignore[operator]  # pandas-stubs: .loc[row, col] may be any scalar
        rows.append({"label": "All flags together", "shapley": 100 * joint["paf"], "single": 100 * joint["paf"],
                     "ci": tx.interval(100 * joint["paf_lower"], 100 * joint["paf_upper"], fmt=tx.number), "points": 100 * joint["par"]})
        table = pd.DataFrame(rows)
        s.add(self.table(table, [Column("label", "Flag"), Column("shapley", "Share, averaged over orders (%)", "number1"),
                                 Column("single", "Share, flag alone (%)", "number1"), Column("ci", "95% interval", lambda v: v),
                                 Column("points", "Points lower with no one flagged", "number1")],
                         f"Share of {self.outcome_lower} associated with each flag (population attributable fraction)",
                         notes=["Shares of single flags overlap and must not be added; the averaged (Shapley) shares add up to "
                                "the share of all flags together. A negative share means the flag goes with less of the outcome."]))
        bars = table.dropna(subset=["shapley"])
        s.add(self.figure(fg.bar_chart(bars["label"], bars["shapley"].astype(float), xlabel="Share of the outcome (%), averaged over removal orders",
                                       highlight=[l == "All flags together" for l in bars["label"]],
                                       what="the share of the outcome associated with each flag"),
                          f"Share of {self.outcome_lower} associated with each flag, adding up to the flags together"))
        s.add(Paragraph(html("With none of the flags present, other characteristics unchanged, the model predicts that {} in every 100 "
                             "would have the outcome instead of {}: {} points lower, a share of {}% (95% interval {}). "
                             "These are associations, not proof that meeting a need would prevent the outcome.",
                             f"{100 * joint['counterfactual_rate']:.1f}", f"{100 * joint['predicted_rate']:.1f}", f"{100 * joint['par']:.1f}",
                             f"{100 * joint['paf']:.1f}", tx.interval(100 * joint["paf_lower"], 100 * joint["paf_upper"], fmt=tx.number))))
        return s

    def expected(self) -> Section:
        r = self.results
        oe = r.oe_by_flag
        if oe.empty:
            return Section()
        s = Section([self.heading("expected")])
        frames = []
        for flag in r.flags:
            t = self.pub[self._oe_table(flag)].copy()
            t["label"] = r.label(flag)
            frames.append(t)
        table = pd.concat(frames, ignore_index=True)
        table["ci"] = [tx.interval(a, b) for a, b in zip(table["ratio_lower"], table["ratio_upper"])]
        source = oe["expected_source"].iloc[0]
        s.add(Paragraph(html("Here the flags are left out of the model that sets the expected rate, so O/E asks whether people with a "
                             "flag have the outcome more often than their case mix alone predicts. {}", source)))
        s.add(self.table(table, [Column("label", "Flag"), Column("n", "People flagged", "count"), Column("observed", "Observed", "count"),
                                 Column("expected", "Expected", "number1"), Column("ratio", "O/E", "ratio"),
                                 Column("ci", "95% interval", lambda v: v), Column("significance", "Against expected")],
                         "People with each flag: observed against expected",
                         notes=["O/E interval: exact Poisson below 10 observed, Byar's approximation otherwise (as UKHSA)."]))
        return s

    def closing(self) -> Section:
        r = self.results
        s = Section()
        items = ["Associations, not causes: flags mark identified needs, and people with them differ in ways the data do not record."]
        if r.flags:
            items.append("The odds ratios and shares describe this cohort in this period; the calibration check shows how far they carry to another.")
        if r.flags_left_out:
            items.append(html("Flags left out because they have one value in the period: {}.",
                              tx.join_words([f"{r.label(f)} ({w})" for f, w in r.flags_left_out.items()])))
        s.add(self.limitations(items))
        s.add(self.glossary())
        rows = []
        if r.flags:
            rows = [
                {"output": "Odds ratios", "method": model_words(r.model.method_code, r.model.fitted_on), "confidence": r.confidence, "n": r.model.nobs},
                {"output": "Risk ratios and differences", "method": "counterfactual standardisation over the people in the model; delta method",
                 "confidence": r.confidence, "n": r.model.nobs},
                {"output": "Interaction tests", "method": "likelihood-ratio tests; Holm adjustment", "confidence": None, "n": r.model.nobs},
                {"output": "Shares of the outcome (PAF)", "method": "counterfactual standardisation (Greenland and Drescher); Shapley average over removal orders; delta method",
                 "confidence": r.confidence, "n": r.model.nobs},
                {"output": "C-statistic", "method": "DeLong interval", "confidence": r.confidence, "n": r.model.nobs},
            ]
        s.add(self.methods(rows))
        s.add(self.disclosure())
        return s
