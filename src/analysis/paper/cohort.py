"""Paper 02, the cohort: who is in it, how common each flag is, and crude rates by flag and group.

Examples
--------
>>> paper = CohortPaper.open()  # doctest: +SKIP
>>> paper.front_matter()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..describe import flag_combinations, rates_by
from ..schema import value_label
from . import figures as fg
from . import text as tx
from .blocks import Bullets, Column, Paragraph, Section
from .frame import Paper
from .text import html

__all__ = ["CohortPaper"]

_GROUPS = (("sex", "Sex"), ("age_band", "Age band"), ("offence_group", "Offence"))


class CohortPaper(Paper):
    """Who is in the cohort (see the module docstring)."""

    number = "02"
    parts = ('data_quality', 'prevalence', 'together', 'by_flag', 'by_group')
    terms = ("crude_rate", "wilson")

    @property
    def part(self) -> str:  # type: ignore[override]
        return f"The cohort: who is in it, how common each flag is, and {self.outcome_lower} by flag and group"

    # ----------------------------------------------------------------- tables
    def prepare(self) -> None:
        r = self.results
        cur = r.current
        total = pd.DataFrame({"n": [r.overall["n"]], "reoffenders": [r.overall["events"]]})
        total["rate"] = total["reoffenders"] / total["n"]
        self.pub.rates("all people in the period", total, keys=[])
        if r.flags:
            by_flag = r.rates_by_flag
            for flag in r.flags:
                part = by_flag[by_flag["flag"] == flag].rename(columns={"value": flag}).drop(columns=["flag", "label"])
                self.pub.rates(self.flag_table(flag), part, keys=[flag], partition=True)
            for i, a in enumerate(r.flags):
                for b in r.flags[i + 1:]:
                    both = int(r.people(cur)[(cur[a] == 1) & (cur[b] == 1)].sum())
                    self.pub.counts(f"people with both {r.label(a).lower()} and {r.label(b).lower()}",
                                    pd.DataFrame({a: [1], b: [1], "n": [both]}), keys=[a, b], count_columns=["n"],
                                    complete=False, group="people with each pair of flags")
            combos = flag_combinations(cur, flags=r.flags, top=12, labels=r.labels, trials=r.trials).drop(columns=["n_flags", "share"])
            self.pub.rates("flag combinations", combos, keys=list(r.flags), complete=False)
        for key in self.group_columns():
            self.pub.rates(f"{self.outcome_lower} by {self.group_name(key).lower()}", rates_by(cur, key, trials=r.trials), keys=[key], partition=True)
        if r.has_area and "age_band" in cur.columns and len(r.areas) > 1:
            table = rates_by(cur, ["area", "age_band"], trials=r.trials)
            self.pub.rates(f"{self.outcome_lower} by {self.study.area_label} and age band", table, keys=["area", "age_band"],
                           partition_by=["area"])

    def flag_table(self, flag: str) -> str:
        return f"{self.outcome_lower} by {self.results.label(flag).lower()}"

    def prevalence_table(self) -> pd.DataFrame:
        """Each modelled flag's prevalence, from the published counts of its table (so hidden there, hidden here)."""
        from ..intervals import proportion_ci

        rows = []
        for flag in self.results.flags:
            t = self.pub[self.flag_table(flag)]
            n = {int(v): c for v, c in zip(t[flag], t["n"])}
            flagged, unflagged = n.get(1), n.get(0)
            visible = not tx.is_missing(flagged) and not tx.is_missing(unflagged)
            total = int(flagged) + int(unflagged) if visible else None  # type: ignore[arg-type]  # visible: neither count is None
            rows.append({"flag": flag, "label": self.results.label(flag), "n": total, "flagged": flagged if visible else None})
        out = pd.DataFrame(rows)
        shown = out["flagged"].notna()
        out["rate"] = np.nan
        out["lower"] = np.nan
        out["upper"] = np.nan
        if shown.any():
            ci = proportion_ci(out.loc[shown, "flagged"].astype(int).to_numpy(), out.loc[shown, "n"].astype(int).to_numpy(), confidence=0.95)
            out.loc[shown, "rate"] = ci["estimate"].to_numpy()
            out.loc[shown, "lower"] = ci["lower"].to_numpy()
            out.loc[shown, "upper"] = ci["upper"].to_numpy()
        return out

    def group_columns(self) -> list[str]:
        cur = self.results.current
        keys = (["area"] if self.results.has_area else []) + [k for k, _ in _GROUPS]
        return [k for k in keys if k in cur.columns and cur[k].nunique() > 1]

    def group_name(self, key: str) -> str:
        return tx.capitalise(self.study.area_label) if key == "area" else dict(_GROUPS)[key]

    # ----------------------------------------------------------------- the paper's sections
    def sections(self) -> list[tuple[str, str]]:
        out = [("data", "The extract and its quality")]
        if self.results.flags:
            out.append(("prevalence", "How common is each flag?"))
        if len(self.results.flags) > 1:
            out.append(("together", "Which flags come together?"))
        if self.results.flags:
            out.append(("by-flag", f"{self.outcome} with and without each flag"))
        if self.group_columns():
            names = tx.join_words([self.group_name(k).lower() for k in self.group_columns()])
            out.append(("by-group", f"{self.outcome} by {names}"))
        return out

    def summary_points(self) -> list[Any]:
        r = self.results
        everyone = self.pub["all people in the period"].iloc[0]
        points = [html("For every 100 people in the cohort ({} people), <strong>{}</strong> {}.",
                       tx.count(everyone["n"]), tx.per100(everyone["rate"]), self.event)]
        if r.flags:
            prev = self.prevalence_table().dropna(subset=["rate"])
            if not prev.empty:
                top = prev.sort_values("rate", ascending=False).iloc[0]
                points.append(html("The most common flag is <strong>{}</strong>: {} in every 100 people.",
                                   self.quoted(top["label"]), tx.per100(top["rate"])))
        gaps = self._gaps()
        if not gaps.empty:
            g = gaps.iloc[0]
            points.append(html("The largest crude gap is for the flag <strong>{}</strong>: {} in every 100 flagged {}, against {} "
                               "in every 100 not flagged (before any allowance for case mix).", self.quoted(g["label"]),
                               tx.per100(g["with"]), self.event, tx.per100(g["without"])))
        q = r.data.quality
        if q.rows_dropped:
            points.append(html("{} of the {} rows of the extract were left out by the study's filter.",
                               tx.count(q.rows_dropped), tx.count(q.rows_read)))
        if r.flags_left_out:
            points.append(self._left_out_sentence())
        return points[:5]

    def _left_out_sentence(self) -> Any:
        r = self.results
        parts = [html("{} ({})", r.label(f).lower(), why) for f, why in r.flags_left_out.items()]
        return html("Left out, because a flag needs two values to be compared: {}.", tx.join_html(parts, sep="; "))

    def _gaps(self) -> pd.DataFrame:
        rows = []
        for flag in self.results.flags:
            t = self.pub[self.flag_table(flag)]
            rates = dict(zip(t[flag], t["rate"]))
            if any(tx.is_missing(rates.get(v)) for v in (0, 1)):
                continue
            rows.append({"flag": flag, "label": self.results.label(flag), "with": float(rates[1]), "without": float(rates[0])})
        out = pd.DataFrame(rows, columns=["flag", "label", "with", "without"])
        out["gap"] = out["with"] - out["without"]
        return out.sort_values("gap", ascending=False, kind="stable").reset_index(drop=True)

    def data_quality(self) -> Section:
        r, q, study = self.results, self.results.data.quality, self.study
        s = Section([self.heading("data")])
        read = q.read.describe() if q.read else "the canonical cohort file"
        s.add(Paragraph(html("The extract was read as {}. ", read)
                        + (html("The study's filter (<code>{}</code>) kept {} of {} rows; {} were left out. ", q.filter_expression,
                                tx.count(q.rows_kept), tx.count(q.rows_read), tx.count(q.rows_dropped)) if q.filter_expression else html(""))
                        + html("This paper describes the {} people of {}.", tx.count(r.overall["n"]), self.period_of())
                        + (html(" It was read out of core: DuckDB counted its people in {} cells of identical values, and every "
                                "figure in this series comes from those counts, the same as from one row per person.",
                                tx.count(len(r.data.cohort)))
                           if q.out_of_core else html(""))))
        facts = []
        facts.append(html("Outcome: {}", self.outcome_definition()))
        if r.present_flags:
            facts.append(html("Flags: {}.", tx.join_words([r.label(f) for f in r.present_flags])))
        if r.flags_left_out:
            facts.append(self._left_out_sentence())
        policy = {"absent": "a flag that is not recorded is read as not present",
                  "keep": "a flag that is not recorded is kept as missing and left out of that flag's figures",
                  "error": "every flag had to be recorded"}[q.missing_flags]
        not_recorded = {f: n for f, n in q.not_recorded.items() if n}
        if not_recorded:
            facts.append(html("Not recorded: {} ({}).", tx.join_words([f"{r.label(f).lower()} for {n:,} people" for f, n in not_recorded.items()]), policy))
        else:
            facts.append(html("Every flag was recorded for everyone."))
        for column, n in q.blanks_recoded.items():
            if n:
                facts.append(html("{} blank values of {} were recoded as the study file says.", tx.count(n), column.replace("_", " ")))
        for name, expression in q.derived.items():
            facts.append(html("{} was derived as <code>{}</code>.", tx.capitalise(r.label(name) if name in r.labels else name), expression))
        if r.has_area:
            facts.append(html("{}: {}.", tx.capitalise(tx.plural(len(r.areas), study.area_label, many=study.area_plural)),
                              tx.join_words(r.areas) if len(r.areas) <= 30 else f"{r.areas[0]} to {r.areas[-1]}"))
        else:
            facts.append(html("The extract has no {} column, so nothing in this series compares {}.", study.area_label, study.area_plural))
        periods = r.data.periods
        if len(periods) > 1:
            facts.append(html("Periods in the extract: {}; reported: {}.", tx.join_words([tx.period_words(p) for p in periods]), self.period_words))
        s.add(Bullets(facts))
        return s

    def prevalence(self) -> Section:
        if not self.results.flags:
            return Section()
        s = Section([self.heading("prevalence")])
        t = self.prevalence_table().sort_values("rate", ascending=False, na_position="last", kind="stable")
        s.add(self.table(t, [Column("label", "Flag"), Column("n", "People", "count"), Column("flagged", "Flagged", "count"),
                             Column("rate", "Flagged (%)", "pct"), Column("lower", "95% interval from", "pct"),
                             Column("upper", "to", "pct")],
                         "People with each flag", notes=["Intervals: Wilson score, 95%."]))
        shown = t.dropna(subset=["rate"])
        if len(shown):
            s.add(self.figure(fg.dot_plot(shown["label"], shown["rate"].astype(float), lower=shown["lower"].astype(float),
                                          upper=shown["upper"].astype(float), xlabel="People flagged (%), 95% interval", percent=True),
                              "How common each flag is"))
        return s

    def together(self) -> Section:
        r = self.results
        if len(r.flags) < 2:
            return Section()
        s = Section([self.heading("together")])
        prev = self.prevalence_table().set_index("flag")
        labels = [r.label(f) for f in r.flags]
        grid = np.full((len(r.flags), len(r.flags)), np.nan)
        best: tuple[float, str, str] | None = None
        for i, a in enumerate(r.flags):
            for j, b in enumerate(r.flags):
                if i == j:
                    continue
                pair = f"people with both {r.label(a).lower()} and {r.label(b).lower()}" if i < j else \
                    f"people with both {r.label(b).lower()} and {r.label(a).lower()}"
                both = self.pub[pair]["n"].iloc[0]
                n_a = prev.loc[a, "flagged"]
                if tx.is_missing(both) or tx.is_missing(n_a) or not n_a:
                    continue
                grid[i, j] = 100 * float(both) / float(n_a)  # type: ignore[arg-type]  # pandas-stubs: .iloc[0] may be any scalar
                if best is None or grid[i, j] > best[0]:
                    best = (grid[i, j], a, b)
        s.add(Paragraph("Each row of the grid is the people with one flag; each cell, the percentage of them who also have "
                        "the column's flag. Flags that come together make crude comparisons overlap; paper 03 separates them."))
        s.add(self.figure(fg.heatmap(grid, row_labels=labels, col_labels=labels, value_label="% who also have the column's flag",
                                     what="the percentage of people with one flag who also have another", skip_diagonal=True),
                          "Of the people with each flag (rows), the percentage who also have each other flag (columns)",
                          notes=["[c]: too few people have both flags to publish."]))
        if best is not None:
            s.add(Paragraph(html("The strongest overlap: {} in every 100 people with the flag <strong>{}</strong> also have <strong>{}</strong>.",
                                 f"{best[0]:.0f}", self.quoted(r.label(best[1])), self.quoted(r.label(best[2])))))
        combos = self.pub["flag combinations"].copy()
        combos["flags"] = combos["combination"].replace({"none": "No flag"})
        s.add(self.table(combos, [Column("flags", "Flags held"), Column("n", "People", "count"),
                                  Column("reoffenders", tx.capitalise(self.event), "count"), Column("rate", f"{self.outcome} (%)", "pct")],
                         "The most common combinations of flags", max_columns=4))
        return s

    def by_flag(self) -> Section:
        r = self.results
        if not r.flags:
            return Section()
        s = Section([self.heading("by-flag")])
        rows = []
        for flag in r.flags:
            t = self.pub[self.flag_table(flag)]
            for v, status in ((1, "Flagged"), (0, "Not flagged")):
                hit = t[t[flag] == v]
                if hit.empty:
                    continue
                rec = hit.iloc[0]
                rows.append({"label": r.label(flag), "status": status, "n": rec["n"], "events": rec["reoffenders"],
                             "rate": rec["rate"], "lower": rec["lower"], "upper": rec["upper"]})
        table = pd.DataFrame(rows)
        s.add(self.table(table, [Column("label", "Flag"), Column("status", "Group"), Column("n", "People", "count"),
                                 Column("events", tx.capitalise(self.event), "count"), Column("rate", f"{self.outcome} (%)", "pct"),
                                 Column("lower", "95% interval from", "pct"), Column("upper", "to", "pct")],
                         f"{self.outcome} with and without each flag", keep=2,
                         notes=["Crude rates: no allowance for case mix or the other flags. Intervals: Wilson score, 95%."]))
        shown = table.dropna(subset=["rate"])
        if len(shown):
            s.add(self.figure(fg.dot_plot(shown["label"], shown["rate"].astype(float), lower=shown["lower"].astype(float), upper=shown["upper"].astype(float),
                                          series=shown["status"], xlabel=f"{self.outcome} (%), 95% interval", percent=True),
                              f"{self.outcome} with and without each flag"))
        gaps = self._gaps()
        if not gaps.empty:
            s.add(Bullets([html("For every 100 people with the flag <strong>{}</strong>, {} {}, against {} of every 100 without it.",
                                self.quoted(str(g.label)), tx.per100(g.with_), self.event, tx.per100(g.without))
                           for g in gaps.rename(columns={"with": "with_"}).itertuples()]))
        return s

    def by_group(self) -> Section:
        keys = self.group_columns()
        if not keys:
            return Section()
        s = Section([self.heading("by-group")])
        for key in keys:
            name = self.group_name(key)
            t = self.pub[f"{self.outcome_lower} by {name.lower()}"].copy()
            t[key] = [value_label(key, v) for v in t[key]]
            s.add(self.table(t, [Column(key, name), Column("n", "People", "count"), Column("reoffenders", tx.capitalise(self.event), "count"),
                                 Column("rate", f"{self.outcome} (%)", "pct"), Column("lower", "95% interval from", "pct"),
                                 Column("upper", "to", "pct")],
                             f"{self.outcome} by {name.lower()}"))
            shown = t.dropna(subset=["rate"])
            if len(shown) > 1:
                s.add(self.figure(fg.dot_plot(shown[key].astype(str), shown["rate"].astype(float), lower=shown["lower"].astype(float),
                                              upper=shown["upper"].astype(float), xlabel=f"{self.outcome} (%), 95% interval", percent=True),
                                  f"{self.outcome} by {name.lower()}"))
        name = f"{self.outcome_lower} by {self.study.area_label} and age band"
        if name in self.pub:
            t = self.pub[name]
            grid = t.pivot_table(index="area", columns="age_band", values="rate", observed=True, dropna=False, aggfunc="first")
            grid = grid.reindex(index=[a for a in self.results.areas if a in grid.index])
            values = grid.astype(float).to_numpy() * 100
            s.add(self.figure(fg.heatmap(values, row_labels=list(grid.index), col_labels=[str(c) for c in grid.columns],
                                         value_label=f"{self.outcome} (%)", cmap="Reds",
                                         what=f"{self.outcome_lower} by {self.study.area_label} and age band"),
                              f"{self.outcome} by {self.study.area_label} and age band (crude, %)",
                              notes=["[c]: too few people, or too few with or without the outcome, to publish."]))
        return s

    def closing(self) -> Section:
        s = Section()
        s.add(self.limitations([
            "Crude rates: people differ in age, offence, history and other needs, so a flag's crude rate mixes its own "
            "association with everything that travels with it. Paper 03 allows for them.",
            "Flags record needs that were identified; where recording differs between places or over time, prevalences "
            "and rates are not comparable.",
            "Associations, not causes.",
        ]))
        s.add(self.glossary())
        s.add(self.methods([
            {"output": "Rates and prevalences", "method": "share of people, Wilson score interval", "confidence": 0.95,
             "n": self.results.overall["n"]},
        ]))
        s.add(self.disclosure())
        return s
