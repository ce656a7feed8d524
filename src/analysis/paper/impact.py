"""Paper 07, the impact of an intervention: did the people who took part reoffend less than similar people who did not?

The study file's ``[impact]`` section names the 0/1 treatment column (who
took part), what the intervention is called and how participants are
matched. In the Justice Data Lab's (JDL) manner the paper models each
person's probability of taking part from the study's case-mix columns and
flags (the propensity score), matches each participant to the nearest
non-participant on the logit of the score within a caliper, and weights the
non-participants by the odds of their score as a second estimate (the
effect in the treated, ATT). It shows balance before and after as
standardised mean differences (a love plot, with the 10% rule), the common
support and the participants who could not be matched, and words the result
as the JDL does: "For every 100 people who took part, between x and y fewer
reoffended". Every published count is under disclosure control.

Every sentence comes from the study and the data; degenerate data (nobody
took part, nobody did not, nobody could be matched, a model that cannot be
fitted) give a plain sentence instead of an estimate.

Examples
--------
>>> paper = ImpactPaper.open()  # doctest: +SKIP
>>> paper.estimates()[["method", "estimate", "lower", "upper"]]  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
from scipy.special import expit

from .. import impact as im
from ..cells import people_from_cells
from ..describe import rates_by
from ..schema import OUTCOME
from ..study import Impact
from . import figures as fg
from . import text as tx
from .blocks import Bullets, Column, Paragraph, Section
from .frame import Paper
from .method_text import method_words, propensity_words
from .text import html

__all__ = ["ImpactPaper", "impact_covariates", "SCORE_BINS"]

SCORE_BINS: int = 10
"""Bins of the propensity-score histogram (equal widths over 0 to 1)."""

_ESTIMATES = "the effect of taking part: participants minus comparison"
_GROUPS = "people analysed by participation"
_MATCHED = "people in the matched comparison"
_SUPPORT = "common support of the propensity score"
_BANDS = "people in each band of the propensity score (figure)"
_GROUP_CODES = (("participants", "took part", 1), ("comparison", "did not take part", 0))


def impact_covariates(study: Any, results: Any) -> list[str]:
    """The propensity model's columns: ``[impact] covariates``, or the model's case-mix columns and flags.

    Only columns the data hold are kept (the paper names any left out);
    the default leaves out the period, which is constant within the period
    analysed.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from analysis.study import Study
    >>> impact_covariates(Study(impact=Impact(treatment="t")), SimpleNamespace(adjust=["sex", "period"], flags=["dv"]))
    ['sex', 'dv']
    """
    impact = study.impact or Impact(treatment="")
    if impact.covariates is not None:
        return list(impact.covariates)
    return [c for c in [*results.adjust, *results.flags] if c != "period"]


def _smd_text(value: Any) -> str:
    """A standardised difference to three places, signed; one that rounds to zero is +0.000, never -0.000."""
    if pd.isna(value):
        return ""
    rounded = round(float(value), 3)
    return f"{rounded if rounded != 0 else 0.0:+.3f}"


class ImpactPaper(Paper):
    """The impact of an intervention, Justice Data Lab style (see the module docstring)."""

    number = "07"
    parts = ("approach", "result", "balance_section", "support", "caveats_section")
    terms = ("propensity_score", "matching", "ipw", "smd", "common_support", "wilson")

    # ----------------------------------------------------------------- words
    @property
    def impact(self) -> Impact:
        return self.study.impact or Impact(treatment="")

    @property
    def label(self) -> str:
        return self.impact.label

    @property
    def part(self) -> str:  # type: ignore[override]
        return f"The impact of {self.label}: did the people who took part have lower {self.outcome_lower} than similar people who did not?"

    def people(self) -> int:
        return int(self.n_analysed)

    # ----------------------------------------------------------------- the numbers
    def prepare(self) -> None:
        r = self.results
        self.problem: Any = None
        self.match_problem: Any = None
        self.treatment = self.impact.treatment
        # people one by one, as matching takes them: from cells (an extract read out of core), the same people in the
        # order of their values rather than the file's
        self.frame = (r.current.reset_index(drop=True) if r.trials is None
                      else people_from_cells(r.current, trials=r.trials, seed=self.impact.seed))
        self.n_analysed = 0
        self.left_out_treatment = 0
        self.missing_covariates: list[str] = []
        self.effects = pd.DataFrame()
        self.balance_table = pd.DataFrame()
        if self.study.impact is None:
            self.problem = html("The study file has no [impact] section naming who took part, so there is no impact to estimate.")
            return
        if self.treatment not in self.frame.columns:
            self.problem = html("The data have no column {}, so who took part is not known.", self.quoted(self.treatment))
            return
        wanted = impact_covariates(self.study, r)
        self.missing_covariates = [c for c in wanted if c not in self.frame.columns]
        self.covariates = [c for c in wanted if c in self.frame.columns and c != self.treatment
                           and self.frame[c].nunique(dropna=True) > 1]
        codes = pd.to_numeric(self.frame[self.treatment], errors="coerce")
        self.left_out_treatment = int(codes.isna().sum())
        if self.left_out_treatment:  # a copy of every column only when some rows go
            self.frame = self.frame[codes.notna()].reset_index(drop=True)
        self.frame[self.treatment] = codes.dropna().astype("int8").to_numpy()
        n_t = int((self.frame[self.treatment] == 1).sum())
        n_c = int((self.frame[self.treatment] == 0).sum())
        self.n_analysed = n_t + n_c
        self.n_t, self.n_c = n_t, n_c
        if n_t == 0 or n_c == 0:
            who = "took part" if n_t == 0 else "did not take part"
            self.problem = html("Nobody in {} {} in {}, so there is no comparison to make and no impact to estimate.",
                                self.period_of(), who, self.label)
            return
        if not self.covariates:
            self.problem = html("None of the characteristics the propensity model needs varies in these data, so participants "
                                "cannot be compared with similar people.")
            return
        t, ic = self.treatment, self.impact
        try:
            # the scores on their covariate-pattern cells: a frame per person would hold millions of copies of its method
            self.propensity = im.fit_propensity(self.frame, t, self.covariates)  # fitted once, for every estimate below
            self.weighted = im.ipw_att(self.frame, t, self.covariates, fit=self.propensity)
            self.support_table = im.common_support(self.frame, t, self.covariates, fit=self.propensity)
            self.pairs = im.match_nearest(self.frame, t, self.covariates, caliper=ic.caliper, replace=ic.replacement,
                                          seed=ic.seed, fit=self.propensity)
        except (ValueError, np.linalg.LinAlgError) as err:
            self.problem = html("The propensity model of who took part could not be fitted ({}), so there is no estimate.", str(err))
            return
        n_params = 1 + sum(1 if pd.api.types.is_numeric_dtype(self.frame[c]) else max(self.frame[c].nunique() - 1, 1)
                           for c in self.covariates)
        self.pub.model("propensity model", self.n_analysed - int((~self.propensity.used).sum()), n_params)
        effects = [self.weighted.assign(key="weighting")]
        n_matched = int(self.pairs.attrs.get("n_matched", self.pairs["matched"].sum()))
        if n_matched == 0:
            self.match_problem = html("No participant has a non-participant within the caliper ({} standard deviations of the "
                                      "logit of the score), so there is no matched estimate; only the weighted one is given.",
                                      f"{ic.caliper:g}")
            self.matched = None
        else:
            self.matched = im.matched_effect(self.frame, self.pairs)
            effects.insert(0, self.matched.assign(key="matching"))
        try:
            self.balance_table = im.balance(self.frame, t, self.covariates, matches=self.pairs if self.matched is not None else None,
                                            weights=self._att_weights())
        except ValueError:
            self.balance_table = pd.DataFrame()
        self._publish(effects)

    def _att_weights(self) -> np.ndarray:
        """Each person's weight for the effect in the treated: 1 for a participant, e / (1 - e) otherwise; NaN without a score."""
        fit = self.propensity
        eta = fit.row_eta()
        weight = np.where(fit.codes == 1, 1.0, np.exp(eta))
        weight[np.isnan(eta)] = np.nan
        return weight

    def _rates(self, names: tuple[str, str], positions: tuple[np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
        """rates_by of two groups of people, in this order: the participants and the others, or people at ``positions``.

        The groups are a categorical column beside the outcome, not a text per person.
        """
        y = self.frame[OUTCOME]
        if positions is None:
            group = (self.frame[self.treatment] != 1).to_numpy().astype(np.int8)
        else:
            y = y.iloc[np.concatenate(positions)].reset_index(drop=True)
            group = np.repeat(np.array([0, 1], dtype=np.int8), [positions[0].size, positions[1].size])
        lean = pd.DataFrame({"group": pd.Categorical.from_codes(group, categories=pd.Index(names)), OUTCOME: y})
        table = rates_by(lean, "group")
        table["group"] = table["group"].astype("str")
        return table.set_index("group").loc[list(names)].reset_index()

    def _publish(self, effects: list[pd.DataFrame]) -> None:
        est = pd.concat(effects, ignore_index=True)
        est["method_words"] = est["key"].map({"matching": "Propensity score matching (nearest neighbour, caliper)",
                                              "weighting": "Inverse probability weighting (ATT)"})
        est = est[["key", "method_words", "n_participants", "n_comparison", "estimate", "lower", "upper", "p_value",
                   "rate_participants", "rate_comparison", "confidence"]]
        self.pub.counts(_ESTIMATES, est.drop(columns="n_comparison"), keys=["key"], count_columns=["n_participants"],
                        derived=["estimate", "lower", "upper", "p_value", "rate_participants", "rate_comparison"],
                        population="estimates", complete=False, group=_ESTIMATES)
        self.pub.counts(_ESTIMATES + " (comparison people)", est[["key", "n_comparison", "rate_comparison"]], keys=["key"],
                        count_columns=["n_comparison"], derived=["rate_comparison"], population="estimates (comparison)",
                        complete=False, group=_ESTIMATES)
        groups = self._rates(("took part", "did not take part"))
        self.pub.rates(_GROUPS, groups, keys=["group"], partition=True, population="people analysed")
        if self.matched is not None:
            pairs = self.pairs.loc[self.pairs["matched"].astype(bool), ["participant", "comparison"]]
            index = self.frame.index
            # labels as a list, so their Index takes the labels' own type: an object Index would hash every row's label
            used = (index.get_indexer(pd.Index(pairs["participant"].tolist())),
                    index.get_indexer(pd.Index(pairs["comparison"].unique().tolist())))
            matched = self._rates(("matched participants", "matched comparison people"), used)
            self.pub.rates(_MATCHED, matched, keys=["group"], complete=False, population="matched people")
        support = self.support_table[["group", "n", "outside_other_range", "score_min", "score_max"]].copy()
        self.pub.counts(_SUPPORT, support, keys=["group"], count_columns=["n", "outside_other_range"],
                        derived=["score_min", "score_max"], population="people with a propensity score", complete=False)
        # the histogram's bars are counts of the same people: published (and audited) like any table, so a hidden bar
        # cannot be recovered as a group's total minus its other bars
        score = expit(self.propensity.eta)  # per covariate-pattern cell, with its people per group
        people, _ = self.propensity.counts()
        top = float(np.ceil(10 * score.max()) / 10) if score.size else 1.0
        self.score_edges = np.linspace(0, max(top, 0.1), SCORE_BINS + 1)
        bands = []
        for group, _, code in _GROUP_CODES:
            counts, _ = np.histogram(score, bins=self.score_edges, weights=people[:, code])
            bands += [{"group": group, "band": f"{k + 1:02d}", "n": int(c)} for k, c in enumerate(counts)]
        self.pub.counts(_BANDS, pd.DataFrame(bands), keys=["group", "band"], count_columns=["n"],
                        population="people with a propensity score")

    # ----------------------------------------------------------------- tidy outputs
    def _estimates(self) -> pd.DataFrame:
        main = self.pub[_ESTIMATES].copy()
        comparison = self.pub[_ESTIMATES + " (comparison people)"]
        main["n_comparison"] = comparison["n_comparison"].to_numpy()
        main["rate_comparison"] = main["rate_comparison"].where(comparison["rate_comparison"].notna().to_numpy())
        hidden = main["n_participants"].isna() | main["n_comparison"].isna()
        for col in ("estimate", "lower", "upper", "p_value"):
            main[col] = main[col].astype("Float64").mask(hidden.to_numpy())
        return main

    def estimates(self) -> pd.DataFrame:
        """The published estimates, one row per method (disclosure-controlled); empty when there is none."""
        if self.problem is not None:
            return pd.DataFrame()
        return self._estimates().rename(columns={"method_words": "method"})

    def headline(self) -> Any:
        """The JDL sentence for the main estimate (matching; weighting when nobody could be matched)."""
        if self.problem is not None:
            return self.problem
        est = self._estimates()
        row = est.iloc[0]
        if pd.isna(row["lower"]) or pd.isna(row["upper"]):
            return html("Too few people took part to publish the estimate under disclosure control.")
        words = im.impact_sentence(row, programme=self.label, participants="people who took part", verb=self.event,
                                   noun=self.outcome_lower)
        how = "matched" if row["key"] == "matching" else "weighted"
        return html("{} (The {} estimate: {}, 95% interval {}.)", words, how, self._pp(row["estimate"]),
                    tx.interval(100 * row["lower"], 100 * row["upper"], fmt=lambda v: f"{v:+.1f}"))

    @staticmethod
    def _pp(value: float) -> str:
        return f"{100 * float(value):+.1f} percentage points"

    def caveats(self) -> list[str]:
        """The JDL's caveats on the main estimate (imbalance, too few, many unmatched)."""
        if self.problem is not None or self.estimates().empty:
            return []
        # to_dict is typed with Hashable keys; the keys are the estimates frame's column names
        row = cast(dict[str, Any], self._estimates().iloc[0].to_dict())
        if pd.isna(row["n_participants"]):
            return []
        row["n_unmatched"] = int(self.pairs.attrs.get("n_unmatched", 0)) if row["key"] == "matching" else 0
        return im.jdl_caveats(row, self.balance_table)

    # ----------------------------------------------------------------- summary
    def summary_points(self) -> list[Any]:
        if self.problem is not None:
            return [self.problem]
        out: list[Any] = [self.headline()]
        groups = self.pub[_GROUPS]
        rates = dict(zip(groups["group"], groups["rate"]))
        if all(pd.notna(v) for v in rates.values()):
            out.append(html("Before any adjustment, {} of those who took part {} against {} of those who did not: a raw "
                            "comparison that ignores who was chosen to take part.", tx.pct(rates["took part"]), self.event,
                            tx.pct(rates["did not take part"])))
        est = self._estimates()
        if len(est) > 1 and est["lower"].notna().all():
            w = est.iloc[1]
            out.append(html("Weighting instead of matching gives {} (95% interval {}).", self._pp(w["estimate"]),
                            tx.interval(100 * w["lower"], 100 * w["upper"], fmt=lambda v: f"{v:+.1f}")))
        caveats = self.caveats()
        out.append(html("{}", caveats[0]) if caveats else
                   html("After matching every characteristic is within the 10% rule, and the Justice Data Lab's caveats on "
                        "sample size and unmatched participants do not apply."))
        return out

    # ----------------------------------------------------------------- sections
    def sections(self) -> list[tuple[str, str]]:
        return [("approach", "How the comparison group is built"), ("result", "The result"),
                ("balance", "How alike the groups are"), ("support", "Common support and unmatched participants"),
                ("caveats", "Caveats")]

    def approach(self) -> Section:
        s = Section([self.heading("approach")])
        if self.problem is not None:
            s.add(Paragraph(self.problem))
            return s
        ic = self.impact
        s.add(Paragraph(html(
            "People who take part in {} are not chosen at random, so comparing them with everyone else would mix the effect "
            "of {} with the differences in who took part. Following the Justice Data Lab, a logistic model gives each person "
            "in {} a propensity score, their probability of taking part given {}; each person who took part is then matched "
            "to the non-participant with the nearest score (on the logit scale, within a caliper of {} standard deviations{}), "
            "and {} is compared between the two groups. As a second estimate, every non-participant is kept and weighted by "
            "the odds of their score (inverse probability weighting, the effect in the treated).",
            self.label, self.label, self.period_of(), tx.join_words([self._name(c) for c in self.covariates]),
            f"{ic.caliper:g}", ", each comparison used more than once if nearest" if ic.replacement else
            ", each comparison used at most once", self.outcome_lower)))
        notes = []
        if self.missing_covariates:
            notes.append(html("The study names {} for the model, but the data do not hold {}: the model goes without.",
                              tx.join_words(self.missing_covariates), "it" if len(self.missing_covariates) == 1 else "them"))
        if self.left_out_treatment:
            notes.append(html("{} people without a recorded {} are left out.", tx.count(self.left_out_treatment), self.treatment))
        notes.append(html("Matching can only make the groups alike on what was recorded. Anything else that led people to "
                          "take part, such as motivation, may still differ between the groups."))
        s.add(Bullets(notes))
        groups = self.pub[_GROUPS].copy()
        groups["ci"] = [tx.interval(a, b, fmt=tx.pct) for a, b in zip(groups["lower"], groups["upper"])]
        s.add(self.table(groups, [Column("group", "Group"), Column("n", "People", "count"),
                                  Column("reoffenders", tx.capitalise(f"people who {self.event}"), "count"),
                                  Column("rate", "Rate", "pct"), Column("ci", "95% interval", "numtext")],
                         html("{} by participation in {}, before any matching (raw rates)", self.outcome, self.label),
                         notes=["Rate interval: Wilson score, 95%."]))
        return s

    def result(self) -> Section:
        s = Section([self.heading("result")])
        if self.problem is not None:
            s.add(Paragraph(self.problem))
            return s
        s.add(Paragraph(self.headline()))
        if self.match_problem is not None:
            s.add(Paragraph(self.match_problem))
        t = self._estimates()
        t["ci"] = [tx.interval(100 * a, 100 * b, fmt=lambda v: f"{v:+.1f}") if pd.notna(a) else "[c]"
                   for a, b in zip(t["lower"], t["upper"])]
        t["effect"] = [f"{100 * v:+.1f} ({ci})" if pd.notna(v) and ci != "[c]" else None for v, ci in zip(t["estimate"], t["ci"])]
        t["method_short"] = t["key"].map({"matching": "Matching", "weighting": "Weighting"})
        s.add(self.table(t, [Column("method_short", "Method"), Column("n_participants", "Participants", "count"),
                             Column("n_comparison", "Comparison people", "count"),
                             Column("rate_participants", "Participants' rate", "pct"),
                             Column("rate_comparison", "Comparison rate", "pct"),
                             Column("effect", f"Difference, points ({100 * float(t['confidence'].iloc[0]):g}% interval)",
                                    "numtext")],
                         html("The effect of {} on {}: participants minus a similar comparison group", self.label,
                              self.outcome_lower),
                         notes=["Matching: propensity score matching (nearest neighbour, caliper), the mean difference within "
                                "matched pairs (paired interval without replacement; weighted with replacement). Weighting: "
                                "inverse probability weighting (ATT), the comparison group weighted by the odds of the "
                                "propensity score, with an interval that allows for the score being estimated.",
                                "A negative difference means fewer participants " + self.event + "."]))
        if self.matched is not None:
            m = self.pub[_MATCHED].copy()
            s.add(self.table(m, [Column("group", "Group"), Column("n", "People", "count"),
                                 Column("reoffenders", tx.capitalise(f"people who {self.event}"), "count"),
                                 Column("rate", "Rate (unweighted)", "pct")],
                             "The people in the matched comparison",
                             notes=["Each person is counted once, however many participants they were matched to."]))
        return s

    def _name(self, column: str) -> str:
        if column in self.results.flags or column in self.study.extra_flags:
            return self.study.flag_label(column).lower()
        if column == "area":
            return self.study.area_label
        return column.replace("_", " ")

    def _level_label(self, covariate: str, level: Any) -> str:
        name = self._name(covariate)
        if level is None or (isinstance(level, float) and np.isnan(level)):
            return name
        value = self.study.area_name(level) if covariate == "area" else level
        return f"{name}: {value}"

    def balance_section(self) -> Section:
        s = Section([self.heading("balance")])
        if self.problem is not None or self.balance_table.empty:
            s.add(Paragraph(self.problem if self.problem is not None else
                            html("Balance cannot be measured: some group has nobody with every characteristic recorded.")))
            return s
        b = self.balance_table
        b = b.assign(label=[self._level_label(c, lv if pd.notna(lv) else None) for c, lv in zip(b["covariate"], b["level"])])
        wide = b.pivot_table(index="label", columns="sample", values="smd", sort=False)
        samples = [c for c in ("before", "after matching", "after weighting") if c in wide.columns]
        s.add(Paragraph(html("For each characteristic, the standardised mean difference (SMD) is the difference between "
                             "participants and the comparison group divided by its pooled standard deviation. By the 10% rule "
                             "(Austin 2009) an absolute SMD above {} means the groups are not alike on it.",
                             f"{im.SMD_THRESHOLD:g}")))
        s.add(self.figure(fg.love_plot(list(wide.index), {c: wide[c].to_numpy() for c in samples}, threshold=im.SMD_THRESHOLD),
                          html("Standardised mean differences before and after matching and weighting (love plot)"),
                          notes=["The dashed line is the 10% rule (0.1); points to its right are imbalanced."]))
        before = int((wide["before"].abs() > im.SMD_THRESHOLD).sum())
        items = [html("Before matching, {} of the {} characteristics differ by more than the 10% rule allows.", before, len(wide))]
        for c in samples[1:]:
            k = int((wide[c].abs() > im.SMD_THRESHOLD).sum())
            items.append(html("{}, {}.", tx.capitalise(c), "every characteristic is within it" if k == 0 else f"{k} still differ"))
        s.add(Bullets(items))
        table = wide.reset_index()
        columns = [Column("label", "Characteristic")] + [Column(c, f"SMD {c}", _smd_text)
                                                          for c in samples]
        s.add(self.table(table, columns, "Standardised mean differences of each characteristic",
                         notes=["SMD = (mean of participants - mean of comparison) / sqrt((variance of participants + "
                                "variance of comparison) / 2); for a yes/no characteristic the mean is the share."],
                         max_columns=len(columns)))
        return s

    def support(self) -> Section:
        s = Section([self.heading("support")])
        if self.problem is not None:
            s.add(Paragraph(self.problem))
            return s
        sup = self.pub[_SUPPORT].copy()
        bands = self.pub[_BANDS]
        edges = self.score_edges
        shares: dict[str, np.ndarray] = {}
        spans: dict[str, str] = {}
        hidden = 0
        for group, name, _ in _GROUP_CODES:
            counts = bands.loc[bands["group"] == group, "n"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            published_n = self.pub[_SUPPORT].loc[lambda t, g=group: t["group"] == g, "n"]
            if published_n.isna().any():  # a share of a hidden total would reveal it: the group is not drawn
                counts = np.full(len(counts), np.nan)
            total = float(self.support_table.loc[self.support_table["group"] == group, "n"].sum())
            hidden += int(np.isnan(counts).sum())
            shares[name] = counts / max(total, 1.0)
            drawn = np.flatnonzero(np.nan_to_num(counts) > 0)
            # the lowest and highest scores are each one person's: the range published is that of the bands drawn
            spans[group] = f"{edges[drawn[0]]:.2f} to {edges[drawn[-1] + 1]:.2f}" if drawn.size else "not published"
        s.add(Paragraph(html("A participant can only be compared with non-participants whose scores are like theirs. The "
                             "chart shows how the scores of the two groups spread; where the participants' scores go beyond "
                             "every non-participant's, nobody is comparable.")))
        s.add(self.figure(fg.score_histogram(edges, shares),
                          "Propensity scores of the people who took part and of those who did not",
                          notes=[html("Share of each group in each band of the score. {}",
                                      f"{tx.plural(hidden, 'bar', many='bars')} hidden by disclosure control (fewer than "
                                      f"{self.pub.threshold} people, or a bar that would reveal one) {'is' if hidden == 1 else 'are'} "
                                      "not drawn." if hidden else "Every bar has at least the disclosure threshold of people.")]))
        sup["range"] = sup["group"].map(spans)
        sup["group"] = sup["group"].map({"participants": "took part", "comparison": "did not take part"})
        s.add(self.table(sup, [Column("group", "Group"), Column("n", "People", "count"),
                               Column("range", "Scores (bands drawn)", "numtext"),
                               Column("outside_other_range", "Outside the other group's range", "count")],
                         "Common support: the range of the propensity score in each group",
                         notes=["Scores: from the lowest to the highest band drawn in the chart above. The lowest and highest "
                                "scores themselves are not published: each is one person's, and a score can single out the "
                                "characteristics of the person who has it."]))
        if self.matched is not None:
            unmatched = int(self.pairs.attrs.get("n_unmatched", 0))
            total = unmatched + int(self.pairs.attrs.get("n_matched", 0))
            if unmatched == 0:
                s.add(Paragraph(html("Every one of the people who took part was matched within the caliper.")))
            else:  # exact even when small: the matched and all participants are both counted in the result's table
                s.add(Paragraph(html("{} of the {} people who took part could not be matched within the caliper; the estimate "
                                     "describes the {} who could.", tx.count(unmatched), tx.count(total), tx.count(total - unmatched))))
        elif self.match_problem is not None:
            s.add(Paragraph(self.match_problem))
        return s

    def caveats_section(self) -> Section:
        s = Section([self.heading("caveats")])
        if self.problem is not None:
            s.add(Paragraph(self.problem))
            return s
        caveats = self.caveats()
        if caveats:
            s.add(Bullets([html("{}", c) for c in caveats]))
        else:
            s.add(Paragraph(html("No caveat of the Justice Data Lab applies: the groups are alike on every recorded "
                                 "characteristic after matching, at least {} people took part, and no more than {}% of them "
                                 "were left unmatched.", im.JDL_MINIMUM, f"{100 * im.UNMATCHED_SHARE:g}")))
        return s

    def closing(self) -> Section:
        s = Section()
        s.add(self.limitations([
            "Matching and weighting make the groups alike only on the characteristics recorded in the data; a difference "
            "in anything else that led people to take part (motivation, a referrer's judgement) can still explain part of "
            "the result.",
            html("The result describes the people who took part in {} and could be matched; it says nothing of people who "
                 "were never offered it.", self.label),
            "A result that is not statistically significant is not evidence of no effect: the groups may be too small to show one.",
            *([html("The extract was read out of core, so its people were rebuilt from the counts of each pattern of values, in "
                    "a random order (seed {}) rather than the file's. Greedy matching takes people in order, so the matched "
                    "estimate is the one this order gives: another order of the same people gives another, as another seed "
                    "does. The weighted estimate, the balance and the common support do not depend on the order.",
                    self.impact.seed)]
              if self.results.data.quality.out_of_core else []),
        ]))
        s.add(self.glossary())
        rows: list[dict[str, Any]] = []
        if self.problem is None:
            model = self.propensity.model
            rows.append({"output": "Propensity score", "confidence": None, "n": self.n_analysed,
                         "method": propensity_words(self.treatment, self.propensity.covariates, model.method_code, model.fitted_on)})
            if self.matched is not None:
                rows.append({"output": "Matched estimate", "method": method_words(self.matched["method"].iloc[0], self.matched.iloc[0]),
                             "confidence": 0.95, "n": int(self.matched["n_participants"].iloc[0])})
            rows.append({"output": "Weighted estimate (ATT)", "method": method_words(self.weighted["method"].iloc[0], self.weighted.iloc[0]),
                         "confidence": 0.95, "n": self.n_analysed})
            rows.append({"output": "Balance", "method": "standardised mean differences (Austin 2009), 10% rule", "confidence": None,
                         "n": self.n_analysed})
        s.add(self.methods(rows, notes=["See docs/methods.md, section \u201cImpact of an intervention\u201d."]))
        s.add(self.disclosure())
        return s
