"""Paper 01, the published position: the figures of the study's published reference, with the weight each can bear.

A study names a published reference in ``[study] published``; only
``"black-country-2018"`` exists (section 5 of the Black Country Reducing
Reoffending Strategy 2018-2020, transcribed in ``data/published``). This
paper reproduces every figure, adds Wilson intervals where counts are
published, tests the year-on-year changes, derives the flag prevalences the
published rates imply, and shows the figures that disagree with their own
counts. Everything in it was already published in aggregate; no case-level
count is shown (the extract is used only to weight the published area rates).

Examples
--------
>>> paper = PublishedPositionPaper.open()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..intervals import compare_proportions, proportion_ci
from ..published import load_published, recompute_derived
from ..synthetic import implied_prevalence
from . import figures as fg
from . import text as tx
from .blocks import Bullets, Column, Paragraph, Section
from .frame import Paper
from .text import html

__all__ = ["PublishedPositionPaper"]


def _pct_published(value: Any) -> str:
    return "" if tx.is_missing(value) else f"{float(value):.2f}%"


class PublishedPositionPaper(Paper):
    """The published reference's figures (see the module docstring)."""

    number = "01"
    parts = ('moj', 'offences', 'youth', 'crc_areas', 'crc_flags', 'implied', 'focus', 'discrepancies')
    terms = ("published_reference", "wilson", "expected", "p_value")

    @property
    def part(self) -> str:  # type: ignore[override]
        return "The published position: what the reference publishes, and how much weight each figure can bear"

    def prepare(self) -> None:
        self.available = self.study.published == "black-country-2018"
        self.figures = load_published()
        self.values = self.figures.set_index("figure_id")["value"].astype(float)

    def sections(self) -> list[tuple[str, str]]:
        if not self.available:
            return []
        return [("moj", "MoJ proven reoffending cohorts, all ages"), ("offences", "Reoffending by index offence"),
                ("youth", "Youth reoffending"), ("crc-areas", "CRC service users: expected against actual by area"),
                ("crc-flags", "CRC service users: reoffending by risk flag"), ("implied", "The flag prevalences the published rates imply"),
                ("focus", "Area focus statements"), ("discrepancies", "Published figures that disagree with their own counts")]

    def summary_points(self) -> list[Any]:
        if not self.available:
            return [html("This study names no published reference, so there are no published figures to show.")]
        v = self.values
        crc = self._crc()
        top = crc.sort_values("difference", ascending=False).iloc[0]
        checks = recompute_derived(self.figures)
        return [
            html("The MoJ proven reoffending rate rose from {}% in 2014-15 to {}% in 2015-16 ({} offenders in the later cohort).",
                 f"{v['moj_1415_reoffenders'] / v['moj_1415_offenders'] * 100:.1f}", f"{v['moj_1516_reoffenders'] / v['moj_1516_offenders'] * 100:.1f}",
                 tx.count(v["moj_1516_offenders"])),
            html("Every area's CRC service users reoffended above their expected rate; the largest gap was in <strong>{}</strong> "
                 "({}% against {}% expected).", top["area"], f"{top['actual_rate']:.2f}", f"{top['expected_rate']:.2f}"),
            html("Homelessness had the highest published rate ({}% against {}% for those in settled accommodation).",
                 f"{v['crc_flag_homeless_actual']:.2f}", f"{v['crc_flag_settled_actual']:.2f}"),
            html("{} of {} figures that can be derived from others agree with them at their published precision; the rest are "
                 "shown in section 8, not corrected.", int(checks["agrees"].sum()), len(checks)),
        ]

    def _banner_note(self) -> Paragraph:
        return Paragraph(html("Source: {}. Figures are transcribed with their provenance; the notes column of the toolkit's "
                              "published tables states every assumption made in transcribing them.", self.study.published_reference))

    def moj(self) -> Section:
        if not self.available:
            return Section()
        v = self.values
        s = Section([self.heading("moj"), self._banner_note()])
        rows = []
        for label, key in (("April 2015 to March 2016", "moj_1516"), ("April 2014 to March 2015", "moj_1415")):
            n, x = int(v[f"{key}_offenders"]), int(v[f"{key}_reoffenders"])
            ci = proportion_ci(x, n, confidence=0.95).iloc[0]
            rows.append({"period": label, "n": n, "x": x, "published": v[f"{key}_rate"], "rate": ci["estimate"],
                         "ci": tx.interval(ci["lower"], ci["upper"], fmt=tx.pct)})
        t = pd.DataFrame(rows)
        s.add(self.table(t, [Column("period", "Cohort"), Column("n", "Offenders", "count"), Column("x", "Reoffenders", "count"),
                             Column("published", "Published rate (%)", lambda x: f"{x:.1f}%"), Column("rate", "Rate from the counts (%)", "pct"),
                             Column("ci", "95% interval", lambda x: x)], "MoJ proven reoffending cohorts",
                         notes=["Intervals: Wilson score, 95%, from the published counts."]))
        change = compare_proportions(int(v["moj_1516_reoffenders"]), int(v["moj_1516_offenders"]), int(v["moj_1415_reoffenders"]),
                                     int(v["moj_1415_offenders"]), confidence=0.95).set_index("statistic").loc["difference"]
        s.add(Paragraph(html("The rate {} by {} points (95% interval {} to {}; two-proportion test p = {}). {}",
                             "rose" if change["estimate"] >= 0 else "fell", tx.points(abs(change["estimate"]), signed=False), tx.points(change["lower"]), tx.points(change["upper"]), tx.p_value(change["p_value"]),
                             "With cohorts of over 20,000 the rise is larger than chance would readily give, though it is about one more "
                             "reoffender in every 100 offenders." if change["p_value"] < 0.05 else "The change is within what chance could give.")))
        split = self.figures[self.figures["table"].eq("moj_cohorts") & self.figures["measure"].eq("share_of_reoffenders")].copy()
        split["age_group"] = split["group"].str.replace("age_group=", "", regex=False).str.capitalize()
        split["period_words"] = split["period"].map(tx.period_words)
        s.add(self.table(split, [Column("period_words", "Cohort"), Column("age_group", "Age group"),
                                 Column("value", "Published share of reoffenders (%)", lambda x: f"{x:.1f}%"),
                                 Column("derived_value", "Share from the counts (%)", lambda x: "" if tx.is_missing(x) else f"{float(x):.1f}%")],
                         "Reoffenders by age group", keep=2))
        return s

    def offences(self) -> Section:
        if not self.available:
            return Section()
        s = Section([self.heading("offences")])
        off = self.figures[self.figures["table"].eq("offence_types")].copy()
        off["offence"] = off["group"].str.replace("offence_group=", "", regex=False).str.capitalize()
        wide = off.pivot_table(index="offence", columns="measure", values="value", aggfunc="first").reset_index()
        ci = proportion_ci(wide["reoffenders"].astype(int).to_numpy(), wide["offenders"].astype(int).to_numpy(), confidence=0.95)
        wide["rate"], wide["lower"], wide["upper"] = ci["estimate"].to_numpy(), ci["lower"].to_numpy(), ci["upper"].to_numpy()
        wide = wide.sort_values("rate", ascending=False).reset_index(drop=True)
        s.add(self.table(wide, [Column("offence", "Index offence"), Column("offenders", "Offenders", "count"),
                                Column("reoffenders", "Reoffenders", "count"),
                                Column("reoffending_rate", "Published rate (%)", lambda x: f"{x:.1f}%"),
                                Column("rate", "Rate from the counts (%)", "pct"), Column("lower", "95% interval from", "pct"),
                                Column("upper", "to", "pct")], "Reoffending by index offence, April 2015 to March 2016 (MoJ)"))
        s.add(self.figure(fg.dot_plot(wide["offence"], wide["rate"], lower=wide["lower"], upper=wide["upper"], percent=True,
                                      xlabel="Proven reoffending (%), 95% Wilson interval"),
                          "Reoffending by index offence, April 2015 to March 2016 (MoJ)"))
        return s

    def youth(self) -> Section:
        if not self.available:
            return Section()
        v = self.values
        s = Section([self.heading("youth")])
        rows = []
        for label, key in (("January to December 2015", "yjb_2015"), ("January to December 2014", "yjb_2014")):
            n, x, r = int(v[f"{key}_cohort"]), int(v[f"{key}_reoffenders"]), int(v[f"{key}_reoffences"])
            ci = proportion_ci(x, n, confidence=0.95).iloc[0]
            rows.append({"period": label, "n": n, "x": x, "rate": ci["estimate"], "ci": tx.interval(ci["lower"], ci["upper"], fmt=tx.pct),
                         "per": r / x, "published": v[f"{key}_reoffences_per_reoffender"]})
        t = pd.DataFrame(rows)
        s.add(self.table(t, [Column("period", "Cohort"), Column("n", "Young people", "count"), Column("x", "Reoffenders", "count"),
                             Column("rate", "Rate from the counts (%)", "pct"), Column("ci", "95% interval", lambda x: x),
                             Column("published", "Published re-offences per reoffender", "number2"),
                             Column("per", "From the counts", "number2")], "Youth Justice Board reoffending cohorts"))
        d = compare_proportions(rows[0]["x"], rows[0]["n"], rows[1]["x"], rows[1]["n"], confidence=0.95).set_index("statistic").loc["difference"]
        s.add(Paragraph(html("For every 100 young people in the 2015 cohort, {} reoffended (2014: {}); the binary rate is not "
                             "published and is computed here from the counts. The change of {} points (95% interval {} to {}, "
                             "p = {}) {} distinguishable from chance with cohorts under 1,000.", tx.per100(rows[0]["rate"]),
                             tx.per100(rows[1]["rate"]), tx.points(d["estimate"]), tx.points(d["lower"]), tx.points(d["upper"]),
                             tx.p_value(d["p_value"]), "is" if d["p_value"] < 0.05 else "is not")))
        return s

    def _crc(self) -> pd.DataFrame:
        crc = self.figures[self.figures["table"].eq("crc_area_rates")].copy()
        crc["area"] = crc["group"].str.replace("area=", "", regex=False)
        wide = crc.pivot_table(index="area", columns="measure", values="value", aggfunc="first").reset_index()
        wide["difference"] = wide["actual_rate"] - wide["expected_rate"]
        wide["ratio"] = wide["actual_rate"] / wide["expected_rate"]
        return wide

    def crc_areas(self) -> Section:
        if not self.available:
            return Section()
        s = Section([self.heading("crc-areas")])
        wide = self._crc()
        s.add(Paragraph("The CRC table publishes rates without counts, so no interval can be attached here; paper 04 rebuilds it "
                        "from the cohort with intervals."))
        s.add(self.table(wide, [Column("area", "Area"), Column("expected_rate", "Expected (%)", _pct_published),
                                Column("actual_rate", "Actual (%)", _pct_published), Column("difference", "Difference (points)", lambda x: f"{x:+.2f}"),
                                Column("ratio", "Actual / expected", "ratio")], "CRC expected and actual reoffending, October 2015 to September 2016"))
        labels = list(wide["area"]) * 2
        values = list(wide["expected_rate"] / 100) + list(wide["actual_rate"] / 100)
        series = ["Expected"] * len(wide) + ["Actual"] * len(wide)
        s.add(self.figure(fg.dot_plot(labels, values, series=series, percent=True, xlabel="Proven reoffending (%)"),
                          "CRC expected and actual reoffending by area, October 2015 to September 2016"))
        top = wide.sort_values("difference", ascending=False).iloc[0]
        s.add(Paragraph(html("Every area reoffended above its expected rate. The largest gap was in <strong>{}</strong>: {}% against {}% "
                             "expected, {} more reoffenders in every 100 service users than their case mix predicted.", top["area"],
                             f"{top['actual_rate']:.2f}", f"{top['expected_rate']:.2f}", f"{top['difference']:.1f}")))
        return s

    def _flags(self) -> pd.DataFrame:
        flags = self.figures[self.figures["table"].eq("crc_flag_rates")].copy()
        flags["flag"] = flags["group"].str.split("=").str[0]
        flags["value_flag"] = flags["group"].str.split("=").str[1].astype(int)
        wide = flags.pivot_table(index=["flag", "value_flag"], columns="measure", values="value", aggfunc="first").reset_index()
        wide["label"] = [self.study.flag_label(f) if v == 1 else {"homeless": "Settled accommodation", "unemployed": "Employed"}.get(f, f)
                         for f, v in zip(wide["flag"], wide["value_flag"])]
        return wide.sort_values("actual_rate", ascending=False).reset_index(drop=True)

    def crc_flags(self) -> Section:
        if not self.available:
            return Section()
        s = Section([self.heading("crc-flags")])
        wide = self._flags()
        s.add(self.table(wide, [Column("label", "Group"), Column("actual_rate", "Actual (%)", _pct_published),
                                Column("expected_rate", "Expected (%)", lambda x: _pct_published(x) or "not published")],
                         "CRC reoffending by risk flag, October 2015 to September 2016"))
        shown = wide.dropna(subset=["actual_rate"])
        s.add(self.figure(fg.bar_chart(shown["label"], shown["actual_rate"] / 100, percent=True, xlabel="Proven reoffending (%)",
                                       what="the published reoffending rate of each group"),
                          "CRC reoffending by risk flag, October 2015 to September 2016"))
        return s

    def implied(self) -> Section:
        if not self.available:
            return Section()
        s = Section([self.heading("implied")])
        wide, crc = self._flags(), self._crc()
        sizes = (self.results.period_counts("area").reindex(crc["area"]).fillna(0) if "area" in self.results.data.cohort
                 else pd.Series(0, index=crc["area"]))
        weighting = "the area rates weighted by the extract's caseload"
        if sizes.sum() == 0:
            sizes[:] = 1
            weighting = "the four area rates weighted equally, as the extract holds none of these areas"
        overall = float((crc.set_index("area")["actual_rate"] * sizes.to_numpy()).sum() / sizes.sum())
        low, high = crc["actual_rate"].min(), crc["actual_rate"].max()
        rows = []
        for flag, label in (("homeless", "Homeless"), ("unemployed", "Unemployed")):
            r1 = wide.query("flag == @flag and value_flag == 1")["actual_rate"].iloc[0]
            r0 = wide.query("flag == @flag and value_flag == 0")["actual_rate"].iloc[0]
            rows.append({"label": label, "with": r1, "without": r0, "implied": implied_prevalence(r1, r0, overall),
                         "low": max(0.0, implied_prevalence(r1, r0, low)), "high": implied_prevalence(r1, r0, high)})
        t = pd.DataFrame(rows)
        s.add(Paragraph(html("Homelessness and unemployment are published with the rate of the people without them, so the share "
                             "flagged follows from the overall rate: p = (overall - without) / (with - without). The overall CRC rate "
                             "is not published; it is taken here as {} ({}%).", weighting, f"{overall:.1f}")))
        s.add(self.table(t, [Column("label", "Flag"), Column("with", "Rate with (%)", _pct_published), Column("without", "Rate without (%)", _pct_published),
                             Column("implied", "Implied share flagged (%)", "pct"), Column("low", "Range from", "pct"), Column("high", "to", "pct")],
                         "The flag prevalences the published rates imply",
                         notes=[html("The range uses any overall rate between the lowest and highest area rate ({}% to {}%).", f"{low:.2f}", f"{high:.2f}")]))
        return s

    def focus(self) -> Section:
        if not self.available:
            return Section()
        s = Section([self.heading("focus")])
        focus = self.figures[self.figures["table"].eq("area_focus")]
        statements = focus[focus["measure"].eq("statement")]
        s.add(Bullets([html("<strong>{}</strong>: {}", g.replace("area=", "").replace(";", ", ").replace("age=", "age "), n)
                       for g, n in zip(statements["group"], statements["note"])]))
        top = focus[focus["group"].str.contains("offence_group")].copy()
        top["area"] = top["group"].str.extract(r"area=([^;]+)")[0]
        top["offence"] = top["group"].str.extract(r"offence_group=(.+)")[0].str.capitalize()
        top["rank"] = top["figure_id"].str.extract(r"top(\d)")[0].astype(int)
        top = top.sort_values(["area", "rank"])
        s.add(self.table(top, [Column("area", "Area"), Column("rank", "Rank", "count"), Column("offence", "Offence"),
                               Column("value", "Published rate (%)", _pct_published)],
                         "The offences with the highest reoffending rates in each area's focus section", keep=2))
        return s

    def discrepancies(self) -> Section:
        if not self.available:
            return Section()
        s = Section([self.heading("discrepancies")])
        checks = recompute_derived(self.figures)
        bad = checks[~checks["agrees"]]
        s.add(Paragraph(html("{} of {} figures that can be derived from others agree with them at their published precision.",
                             int(checks["agrees"].sum()), len(checks))))
        if len(bad):
            s.add(self.table(bad, [Column("figure_id", "Figure"), Column("value", "Published", "number2"),
                                   Column("recomputed_rounded", "From its counts", "number2"), Column("note", "Note")],
                             "Published figures that disagree with their own counts (both kept, neither corrected)", max_columns=4))
        return s

    def closing(self) -> Section:
        s = Section()
        s.add(self.limitations([
            "Figures are transcribed from the text of council papers; where the layout leaves a label unclear, the assumption is "
            "stated with the figure.",
            "MoJ cohorts include all offenders cautioned, convicted or released; CRC figures cover low and medium risk adults "
            "supervised by the CRC; YJB figures cover 10-17-year-olds. They are not comparable with each other.",
            "Intervals describe chance variation in the counts only; they say nothing about recording practice or changes in the cohort.",
        ]))
        s.add(self.glossary())
        s.add(self.methods([{"output": "Rates from published counts", "method": "Wilson score interval", "confidence": 0.95, "n": None},
                            {"output": "Year-on-year changes", "method": "two-proportion z-test; Newcombe interval for the difference",
                             "confidence": 0.95, "n": None}]))
        s.add(self.disclosure())
        return s
