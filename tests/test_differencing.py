"""Disclosure control across tables: the differencing audit.

Every check of the audit's result is made by an intruder written here, independently of
``analysis.differencing``: a dense linear programme over the *full* fine cross-classification
(no junction-tree reduction), or an exhaustive enumeration of whole-number tables.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from analysis.differencing import CountTable, DifferencingError, audit_differencing, feasible_ranges
from analysis.disclosure import DisclosureLog, publish_rates

# --------------------------------------------------------------------------- an independent intruder


def intruder_ranges(tables, levels, nested=("reoffenders", "n")):
    """Whole-number ranges of every hidden count (and hidden non-events) by brute-force LP.

    One unknown per fine cell and measure over the full product of ``levels``; every visible
    cell (and every absent combination of a complete table, as a zero) is an equation; for
    the ``nested`` (part, whole) pair, 0 <= part <= whole in every fine cell. Returns
    {(table, row position, column): (lower, upper)}; column ``"n - reoffenders"`` for non-events.
    """
    keys = list(levels)
    fine = list(itertools.product(*levels.values()))
    measures = sorted({c for t in tables for c in t.counts}, key=["n", "reoffenders"].index)
    nf, nv = len(fine), len(fine) * len(measures)

    def indicator(spec, measure):
        v = np.zeros(nv)
        j = measures.index(measure)
        for i, f in enumerate(fine):
            if all(f[keys.index(k)] == level for k, level in spec.items()):
                v[j * nf + i] = 1.0
        return v

    eq, rhs, targets = [], [], {}
    for t in tables:
        published = t.published()
        seen = set()
        for pos, rec in enumerate(published.to_dict("records")):
            spec = {k: rec[k] for k in t.keys if rec[k] != "All"}
            seen.add(tuple(rec[k] for k in t.keys))
            for c in t.counts:
                a = indicator(spec, c)
                if pd.isna(rec[c]):
                    targets[(t.name, pos, c)] = a
                else:
                    eq.append(a)
                    rhs.append(float(rec[c]))
            if set(nested) <= set(t.counts) and (pd.isna(rec[nested[0]]) or pd.isna(rec[nested[1]])):
                targets[(t.name, pos, f"{nested[1]} - {nested[0]}")] = indicator(spec, nested[1]) - indicator(spec, nested[0])
        if t.complete and t.keys:
            for combo in itertools.product(*[levels[k] for k in t.keys]):
                if combo not in seen:
                    for c in t.counts:
                        eq.append(indicator(dict(zip(t.keys, combo)), c))
                        rhs.append(0.0)
    ub = []
    if set(nested) <= set(measures):
        p, w = measures.index(nested[0]), measures.index(nested[1])
        for i in range(nf):
            row = np.zeros(nv)
            row[p * nf + i], row[w * nf + i] = 1.0, -1.0
            ub.append(row)
    A_eq, b_eq = (np.array(eq), np.array(rhs)) if eq else (None, None)
    A_ub = np.array(ub) if ub else None
    b_ub = np.zeros(len(ub)) if ub else None
    out = {}
    for key, a in targets.items():
        bounds = []
        for sign in (1.0, -1.0):
            res = linprog(sign * a, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            if res.status == 3:
                bounds.append(-np.inf if sign > 0 else np.inf)
            else:
                assert res.status == 0, res.message
                bounds.append(sign * res.fun)
        lo, hi = bounds
        out[key] = (np.ceil(lo - 1e-6), np.floor(hi + 1e-6) if np.isfinite(hi) else np.inf)
    return out


def narrowest(tables, levels, **kw):
    ranges = intruder_ranges(tables, levels, **kw)
    return min((hi - lo for lo, hi in ranges.values()), default=np.inf)


def hidden(t: CountTable) -> list[tuple[str, str]]:
    """(row label, column) of every suppressed count of a table."""
    return [(t.label(i), c) for i, c in zip(*np.nonzero(t.mask)) for c in [t.counts[c]]]


def by(frame: pd.DataFrame, keys, counts=("n",)) -> pd.DataFrame:
    return frame.groupby(list(keys), as_index=False)[list(counts)].sum()


def range_of(ranges: pd.DataFrame, table: str, location: str) -> tuple[float, float]:
    row = ranges[(ranges["table"] == table) & (ranges["location"] == location)]
    assert len(row) == 1, (table, location)
    return float(row["lower"].iloc[0]), float(row["upper"].iloc[0])


# --------------------------------------------------------------------------- hand-worked cases

AREAS, SEXES, AGES = ["Dudley", "Walsall"], ["Female", "Male"], ["young", "old"]


def fine_frame(values) -> pd.DataFrame:
    """area x sex x age counts from a nested list values[area][sex][age]."""
    rows = [dict(area=a, sex=s, age=g, n=values[i][j][k])
            for i, a in enumerate(AREAS) for j, s in enumerate(SEXES) for k, g in enumerate(AGES)]
    return pd.DataFrame(rows)


LEVELS = {"area": AREAS, "sex": SEXES, "age": AGES}


def test_finer_cell_recovered_from_coarser_table():
    #                  young  old   (all)
    # Dudley  Female      4    16    20
    # Dudley  Male       30    35    65
    # Walsall Female     12    14    26
    # Walsall Male       40    45    85
    cells = fine_frame([[[4, 16], [30, 35]], [[12, 14], [40, 45]]])
    mask = pd.DataFrame({"n": [True] + [False] * 7})  # only Dudley/Female/young (4) is hidden
    fine = CountTable("by area, sex and age", cells, ("area", "sex", "age"), suppressed=mask)
    coarse = CountTable("by area and sex", by(cells, ["area", "sex"]), ("area", "sex"))
    cell = "row 'Dudley / Female / young', column 'n'"

    # Within its own table the hidden 4 is unbounded (the table shows no totals) ...
    assert range_of(feasible_ranges([fine]), fine.name, cell) == (0.0, np.inf)
    # ... but the coarser table shows Dudley's women (20): 20 - 16 (Dudley women, old) = 4.
    assert range_of(feasible_ranges([fine, coarse]), fine.name, cell) == (4.0, 4.0)

    log = DisclosureLog()
    safe_fine, safe_coarse = audit_differencing([fine, coarse], log=log)
    # The cheapest protection moves 10 people between Dudley's young and old women: hide the 16.
    assert hidden(safe_fine) == [("Dudley / Female / young", "n"), ("Dudley / Female / old", "n")]
    assert hidden(safe_coarse) == []
    ranges = feasible_ranges([safe_fine, safe_coarse])
    assert range_of(ranges, fine.name, cell) == (0.0, 20.0)
    assert (ranges["width"] >= 10).all()
    assert narrowest([safe_fine, safe_coarse], LEVELS) >= 10
    record = log.to_frame().iloc[-1]
    assert record["rule"] == "secondary" and record["table"] == fine.name
    assert record["location"] == "row 'Dudley / Female / old', column 'n'"
    assert f"protects {cell} of 'by area, sex and age'" in record["detail"]
    assert "differencing across tables: 'by area, sex and age' and 'by area and sex'" in record["detail"]


def test_coarser_cell_recovered_from_finer_table_with_margin_rows():
    # Walsall women are 2 + 4 = 6 (hidden in both tables); Walsall men 40 + 45 = 85.
    cells = fine_frame([[[14, 16], [30, 35]], [[2, 4], [40, 45]]])
    coarse_data = pd.concat([by(cells, ["area", "sex"]),
                             by(cells, ["area"]).assign(sex="All")], ignore_index=True)
    coarse_data = coarse_data.sort_values(["area", "sex"], kind="stable", ignore_index=True)
    # rows: Dudley/All 95, Dudley/Female 30, Dudley/Male 65, Walsall/All 91, Walsall/Female 6, Walsall/Male 85
    assert coarse_data["n"].tolist() == [95, 30, 65, 91, 6, 85]
    # The publisher hid Walsall's 6 women and, as their complement in row Walsall, its 85 men,
    # so the table on its own passes the line rule (two hidden cells in the row) ...
    coarse = CountTable("by area and sex", coarse_data, ("area", "sex"),
                        suppressed=pd.DataFrame({"n": [False, False, False, False, True, True]}))
    fine_mask = pd.DataFrame({"n": cells["n"] < 10})  # Walsall women: 2 and 4
    fine = CountTable("by area, sex and age", cells, ("area", "sex", "age"), suppressed=fine_mask)
    women = "row 'Walsall / Female', column 'n'"
    assert range_of(feasible_ranges([coarse]), coarse.name, women) == (0.0, 91.0)
    # ... but the finer table shows Walsall's men by age: 40 + 45 = 85, and 91 - 85 = 6.
    ranges = feasible_ranges([coarse, fine])
    assert range_of(ranges, coarse.name, women) == (6.0, 6.0)
    assert range_of(ranges, coarse.name, "row 'Walsall / Male', column 'n'") == (85.0, 85.0)

    safe = audit_differencing([coarse, fine])
    assert (feasible_ranges(safe)["width"] >= 10).all()
    assert narrowest(safe, LEVELS) >= 10
    # the margin rows (Dudley/All, Walsall/All) are totals: dearer than the cells inside them
    assert not safe[0].mask[[0, 3], 0].any()


def test_non_nested_overlaps_joint_audit_finds_what_pairwise_misses():
    # area x sex x age (never published):
    #                 young old
    # Dudley  Female    12   18     Dudley 66 = 25 + 41 (area x age)
    # Dudley  Male      13   23
    # Walsall Female    10   18
    # Walsall Male      23   27
    cells = fine_frame([[[12, 18], [13, 23]], [[10, 18], [23, 27]]])
    area_sex = CountTable("by area and sex", by(cells, ["area", "sex"]), ("area", "sex"),
                          suppressed=pd.DataFrame({"n": [True, False, True, True]}))  # only Dudley men (36) shown
    area_age = CountTable("by area and age", by(cells, ["area", "age"]), ("area", "age"),
                          suppressed=pd.DataFrame({"n": [False, False, False, True]}))  # Walsall/young hidden
    sex_age = CountTable("by sex and age", by(cells, ["sex", "age"]), ("sex", "age"))  # all shown
    assert area_age.data["area"].tolist() == ["Dudley", "Dudley", "Walsall", "Walsall"]
    assert area_age.data["age"].tolist() == ["old", "young", "old", "young"]
    tables = [area_sex, area_age, sex_age]
    cell = "row 'Walsall / Female', column 'n'"
    # Recovery needs all three tables:
    #   Dudley's total       = 41 + 25 (area x age)                    = 66
    #   Dudley's women       = 66 - 36 (Dudley's men, area x sex)      = 30
    #   all women            = 22 + 36 (sex x age)                     = 58
    #   Walsall's women      = 58 - 30                                 = 28
    assert range_of(feasible_ranges(tables), area_sex.name, cell) == (28.0, 28.0)
    assert intruder_ranges(tables, LEVELS)[(area_sex.name, 2, "n")] == (28.0, 28.0)
    # Any two of the tables leave it wide open: a pairwise audit would pass it.
    for pair in itertools.combinations(tables, 2):
        if area_sex in pair:
            lo, hi = range_of(feasible_ranges(pair), area_sex.name, cell)
            assert hi - lo >= 10, [t.name for t in pair]
    safe = audit_differencing(tables)
    assert (feasible_ranges(safe)["width"] >= 10).all()
    assert narrowest(safe, LEVELS) >= 10


def area_sex_rates(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["area", "sex", "n", "reoffenders"])


def test_reoffenders_hidden_for_few_non_events_recovered_from_another_table():
    data = area_sex_rates([("Dudley", "Female", 30, 12), ("Dudley", "Male", 60, 58),
                           ("Walsall", "Female", 25, 11), ("Walsall", "Male", 40, 30)])
    # Dudley's men: 60 people, 58 reoffended -> only 2 did not, so 'reoffenders' is hidden
    # (the non-events rule); every other count of both tables is shown.
    log = DisclosureLog()
    area_sex = CountTable("by area and sex", data, ("area", "sex"), ("n", "reoffenders"))
    sex = CountTable("by sex", by(data, ["sex"], ["n", "reoffenders"]), ("sex",), ("n", "reoffenders"))
    assert sex.data.values.tolist() == [["Female", 55, 23], ["Male", 100, 88]]  # 12 men did not reoffend
    primary = audit_differencing([area_sex], log=log, min_width=0.5)[0]
    assert hidden(primary) == [("Dudley / Male", "reoffenders")]
    assert "non-events (n - reoffenders) < 10" in log.to_frame()["detail"].iloc[0]
    # On its own the table leaves it at 0..60. With the table by sex the non-events come back:
    # men who did not reoffend: 100 - 88 = 12, of whom Walsall's 40 - 30 = 10, so Dudley's are 2,
    # and Dudley's male reoffenders are 60 - 2 = 58.
    assert range_of(feasible_ranges([primary]), area_sex.name, "row 'Dudley / Male', column 'reoffenders'") == (0.0, 60.0)
    ranges = feasible_ranges([primary, sex])
    assert range_of(ranges, area_sex.name, "row 'Dudley / Male', column 'reoffenders'") == (58.0, 58.0)
    non_events = "row 'Dudley / Male', column 'n - reoffenders' (non-events, not published)"
    assert range_of(ranges, area_sex.name, non_events) == (2.0, 2.0)

    safe = audit_differencing([primary, sex])
    ranges = feasible_ranges(safe)
    assert not ranges["published"].all()  # non-events cells are audited too
    assert (ranges["width"] >= 10).all()
    levels = {"area": ["Dudley", "Walsall"], "sex": ["Female", "Male"]}
    assert narrowest(safe, levels) >= 10


def test_non_events_protected_even_when_both_counts_are_wide():
    # Dudley women: 2 people, both reoffended. The whole area x sex table is hidden and its margins
    # (n and reoffenders by area and by sex) are shown. n and reoffenders of Dudley women can each
    # take many values, but their difference cannot: the women's non-events are 21 - 15 = 6 in all,
    # so Dudley women's non-events are between 0 and 6 -- "at most 6 of them did not reoffend".
    data = area_sex_rates([("Dudley", "Female", 2, 2), ("Dudley", "Male", 26, 11),
                           ("Walsall", "Female", 19, 13), ("Walsall", "Male", 12, 10)])
    everything = pd.DataFrame(True, index=data.index, columns=["n", "reoffenders"])
    tables = [CountTable("by area and sex", data, ("area", "sex"), ("n", "reoffenders"), suppressed=everything),
              CountTable("by area", by(data, ["area"], ["n", "reoffenders"]), ("area",), ("n", "reoffenders")),
              CountTable("by sex", by(data, ["sex"], ["n", "reoffenders"]), ("sex",), ("n", "reoffenders"))]
    ranges = feasible_ranges(tables)
    counts = ranges[ranges["published"] & ranges["location"].str.startswith("row 'Dudley / Female'")]
    assert (counts["width"] >= 10).all()
    assert range_of(ranges, "by area and sex",
                    "row 'Dudley / Female', column 'n - reoffenders' (non-events, not published)") == (0.0, 6.0)
    log = DisclosureLog()
    safe = audit_differencing(tables, primary=False, log=log)
    assert (feasible_ranges(safe)["width"] >= 10).all()
    assert narrowest(safe, {"area": ["Dudley", "Walsall"], "sex": ["Female", "Male"]}) >= 10
    assert log.to_frame()["detail"].str.contains("n - reoffenders").any()


# --------------------------------------------------------------------------- semantics


def test_complete_tables_publish_their_absent_zeros_filtered_ones_do_not():
    # Nobody is a woman in Dudley: the complete table omits the row, which the reader reads as 0.
    data = pd.DataFrame({"area": ["Dudley", "Walsall", "Walsall"], "sex": ["Male", "Female", "Male"],
                         "n": [13, 20, 25]})
    mask = pd.DataFrame({"n": [True, False, False]})
    area = CountTable("by area", pd.DataFrame({"area": ["Dudley", "Walsall"], "n": [13, 45]}), ("area",))
    men = "row 'Dudley / Male', column 'n'"
    complete = CountTable("by area and sex", data, ("area", "sex"), suppressed=mask)
    assert range_of(feasible_ranges([complete, area]), complete.name, men) == (13.0, 13.0)
    filtered = CountTable("by area and sex", data, ("area", "sex"), suppressed=mask, complete=False)
    assert range_of(feasible_ranges([filtered, area]), filtered.name, men) == (0.0, 13.0)
    # a filtered table marked complete contradicts the totals
    flagged = CountTable("flagged by area", pd.DataFrame({"area": ["Dudley"], "flag": [1], "n": [12]}),
                         ("area", "flag"), suppressed=pd.DataFrame({"n": [True]}))
    with pytest.raises(DifferencingError, match="not consistent"):
        feasible_ranges([flagged, area])
    assert range_of(feasible_ranges([CountTable(flagged.name, flagged.data, flagged.keys, suppressed=flagged.suppressed,
                                                complete=False), area]),
                    flagged.name, "row 'Dudley / 1', column 'n'") == (0.0, 13.0)


def test_tables_of_different_populations_do_not_constrain_each_other():
    cells = fine_frame([[[4, 16], [30, 35]], [[12, 14], [40, 45]]])
    fine = CountTable("by area, sex and age", cells, ("area", "sex", "age"),
                      suppressed=pd.DataFrame({"n": [True] + [False] * 7}))
    other = CountTable("by area and sex, 2016", by(cells, ["area", "sex"]), ("area", "sex"), population="2016")
    assert range_of(feasible_ranges([fine, other]), fine.name,
                    "row 'Dudley / Female / young', column 'n'") == (0.0, np.inf)
    safe = audit_differencing([fine, other])
    assert hidden(safe[0]) == [("Dudley / Female / young", "n")]


def test_min_width_half_checks_exact_recovery_only():
    area = CountTable("by area", pd.DataFrame({"area": ["A", "B", "C"], "n": [3, 4, 50]}), ("area",))
    total = CountTable("total", pd.DataFrame({"n": [57]}), ())
    masked = area.with_suppressed({(0, "n"), (1, "n")})
    # 3 + 4 = 7 = 57 - 50: each is known to be between 0 and 7 -- not exact, but narrower than 10
    assert feasible_ranges([masked, total])["width"].tolist() == [7.0, 7.0]
    loose = audit_differencing([masked, total], min_width=0.5)
    assert hidden(loose[0]) == [("A", "n"), ("B", "n")] and hidden(loose[1]) == []
    strict = audit_differencing([masked, total])
    assert (feasible_ranges(strict)["width"] >= 10).all()
    assert ("C", "n") in hidden(strict[0]) or hidden(strict[1]) == [("All", "n")]


def test_primary_rule_applied_and_logged_unless_switched_off():
    area = CountTable("by area", pd.DataFrame({"area": ["A", "B", "C"], "n": [3, 40, 50]}), ("area",))
    log = DisclosureLog()
    safe = audit_differencing([area], log=log)[0]
    assert hidden(safe) == [("A", "n")]  # no total is published: nothing to difference against
    frame = log.to_frame()
    assert frame["rule"].tolist() == ["primary"]
    assert frame["location"].tolist() == ["row 'A', column 'n'"]
    assert hidden(audit_differencing([area], primary=False)[0]) == []
    assert hidden(audit_differencing([area], preset="ons", primary=True)[0]) == [("A", "n")]


def test_unprotectable_cell_pinned_by_published_zeros_raises():
    # 'by area' is complete and lists only Walsall, so Dudley's total is a published 0 ...
    area = CountTable("by area", pd.DataFrame({"area": ["Walsall"], "n": [40]}), ("area",))
    # ... and pins the hidden Dudley/Female cell of a filtered table at 0.
    women = CountTable("women by area", pd.DataFrame({"area": ["Dudley", "Walsall"], "sex": "Female", "n": [0, 15]}),
                       ("area", "sex"), complete=False)
    with pytest.raises(DifferencingError, match="published zeros"):
        audit_differencing([women, area])


def test_whole_line_fallback_after_max_rounds():
    cells = fine_frame([[[4, 16], [30, 35]], [[12, 14], [40, 45]]])
    fine = CountTable("by area, sex and age", cells, ("area", "sex", "age"))
    coarse = CountTable("by area and sex", by(cells, ["area", "sex"]), ("area", "sex"))
    log = DisclosureLog()
    safe = audit_differencing([fine, coarse], max_rounds=0, log=log)
    # every cell in a line with Dudley/Female/young (differs in one key) goes
    assert {("Dudley / Female / old", "n"), ("Dudley / Male / young", "n"),
            ("Walsall / Female / young", "n")} <= set(hidden(safe[0]))
    assert log.to_frame()["detail"].str.contains("so the whole line was suppressed").any()
    assert (feasible_ranges(safe)["width"] >= 10).all()


def test_reduction_keeps_star_shaped_papers_small_and_cycles_raise():
    # 12 flags by area: the full product would be 30 x 2^12 = 122,880 fine cells; the audit works on
    # one 30 x 2 block per flag.
    rng = np.random.default_rng(7)
    sizes = np.r_[0.1, np.full(29, 1.0)]  # one small area (about 20 people), whose flag rows are hidden
    people = pd.DataFrame({"area": rng.choice([f"a{i:02d}" for i in range(30)], 6000, p=sizes / sizes.sum())})
    for k in range(12):
        people[f"f{k}"] = (rng.random(6000) < 0.3).astype(int)
    tables = [CountTable("by area", people.groupby("area", as_index=False).size().rename(columns={"size": "n"}), ("area",))]
    for k in range(12):
        tables.append(CountTable(f"f{k} by area", people.groupby(["area", f"f{k}"], as_index=False).size()
                                 .rename(columns={"size": "n"}), ("area", f"f{k}")))
    safe = audit_differencing(tables, max_cells=1000)
    assert sum(int(t.mask.sum()) for t in safe) > 0
    assert (feasible_ranges(safe, max_cells=1000)["width"] >= 10).all()
    # three classifications in a cycle need their full product, which can be too large
    big = [f"l{i:02d}" for i in range(60)]
    grid = pd.DataFrame(list(itertools.product(big, big)), columns=["x", "y"]).assign(n=1)
    cycle = [CountTable("x by y", grid, ("x", "y")),
             CountTable("y by z", grid.rename(columns={"x": "y", "y": "z"}), ("y", "z")),
             CountTable("z by x", grid.rename(columns={"x": "z", "y": "x"}), ("z", "x"))]
    with pytest.raises(DifferencingError, match="max_cells"):
        feasible_ranges(cycle)


def test_validation():
    good = pd.DataFrame({"area": ["A", "B"], "n": [10, 20]})
    with pytest.raises(ValueError, match="duplicate"):
        CountTable("t", pd.DataFrame({"area": ["A", "A"], "n": [1, 2]}), ("area",))
    with pytest.raises(ValueError, match="whole and non-negative"):
        CountTable("t", pd.DataFrame({"area": ["A"], "n": [-1]}), ("area",))
    with pytest.raises(ValueError, match="true counts"):
        CountTable("t", pd.DataFrame({"area": ["A"], "n": [None]}), ("area",))
    with pytest.raises(ValueError, match="aligned"):
        CountTable("t", good, ("area",), suppressed=pd.DataFrame({"m": [True, False]}))
    with pytest.raises(ValueError, match="not a subset"):
        CountTable("t", good.assign(reoffences=[12, 3]), ("area",), ("n", "reoffences"))
    CountTable("t", good.assign(reoffences=[12, 3]), ("area",), ("n", "reoffences"), subsets={})
    with pytest.raises(ValueError, match="unique"):
        feasible_ranges([CountTable("t", good, ("area",)), CountTable("t", good, ("area",))])


def test_published_blanks_counts_and_rates_and_from_published_round_trip():
    t = pd.DataFrame({"area": ["A", "B", "C"], "n": [40, 200, 90], "reoffenders": [3, 80, 45]})
    t["rate"] = t["reoffenders"] / t["n"]
    log = DisclosureLog()
    shown = publish_rates(t, name="by area", labels=["area"], partition=True, log=log)
    table = CountTable.from_published("by area", t, shown, ("area",), ("n", "reoffenders"))
    assert hidden(table) == [("A", "reoffenders"), ("C", "reoffenders")]
    out = table.published()
    assert out["reoffenders"].isna().tolist() == [True, False, True]
    assert out["rate"].isna().tolist() == [True, False, True]
    assert str(out["n"].dtype) == "Int64"


# --------------------------------------------------------------------------- determinism and the log


def paper(seed: int) -> list[CountTable]:
    rng = np.random.default_rng(seed)
    people = pd.DataFrame({"area": rng.choice(["Dudley", "Sandwell", "Walsall"], 400, p=[0.2, 0.3, 0.5]),
                           "sex": rng.choice(["Female", "Male"], 400, p=[0.2, 0.8]),
                           "age": rng.choice(["young", "middle", "old"], 400),
                           "reoffended": rng.integers(0, 2, 400)})
    agg = dict(n=("reoffended", "size"), reoffenders=("reoffended", "sum"))
    mk = lambda name, keys: CountTable(name, people.groupby(list(keys)).agg(**agg).reset_index(),  # noqa: E731
                                       tuple(keys), ("n", "reoffenders"))
    return [mk("by area, sex and age", ["area", "sex", "age"]), mk("by area and sex", ["area", "sex"]),
            mk("by sex and age", ["sex", "age"]), mk("by area", ["area"]),
            CountTable("total", pd.DataFrame({"n": [400], "reoffenders": [int(people["reoffended"].sum())]}), (),
                       ("n", "reoffenders"))]


def test_deterministic_and_log_names_tables_and_cells_never_values():
    tables = paper(11)
    log1, log2 = DisclosureLog(), DisclosureLog()
    first = audit_differencing(tables, log=log1)
    second = audit_differencing(tables, log=log2)
    for a, b in zip(first, second):
        assert np.array_equal(a.mask, b.mask)
    pd.testing.assert_frame_equal(log1.to_frame(), log2.to_frame())
    frame = log1.to_frame()
    assert set(frame["rule"]) == {"primary", "secondary"}
    names = {t.name for t in tables}
    assert set(frame["table"]) <= names
    secondary = frame[frame["rule"] == "secondary"]
    assert secondary["detail"].str.startswith("complementary suppression: protects row '").all()
    assert secondary["detail"].str.contains(r"\((?:differencing across tables: '|differencing within table ')").all()
    assert secondary["detail"].str.contains("differencing across tables").any()
    for text in pd.concat([frame["location"], secondary["detail"]]):
        assert re.fullmatch(r"[^0-9]*", text), text  # no digits at all: no values
    primary = frame[frame["rule"] == "primary"]
    assert set(re.findall(r"\d+", " ".join(primary["detail"]))) == {"10"}  # only the threshold
    # every suppressed count is logged once, by table and cell
    logged = set(zip(frame["table"], frame["location"]))
    for t in first:
        for label, c in hidden(t):
            assert (t.name, f"row '{label}', column '{c}'") in logged
    assert len(logged) == len(frame)
    # the paper is now safe against the independent intruder
    levels = {"area": ["Dudley", "Sandwell", "Walsall"], "sex": ["Female", "Male"], "age": ["middle", "old", "young"]}
    assert narrowest(first, levels) >= 10
    # idempotent
    again = audit_differencing(first)
    for a, b in zip(first, again):
        assert np.array_equal(a.mask, b.mask)


# --------------------------------------------------------------------------- adversarial


@st.composite
def nested_papers(draw):
    """area x sex x age counts (small, many zeros) and the nested tables a paper would show."""
    n_areas = draw(st.integers(1, 3))
    values = draw(st.lists(st.integers(0, 25), min_size=n_areas * 4, max_size=n_areas * 4))
    areas = ["Dudley", "Sandwell", "Walsall"][:n_areas]
    rows = [dict(area=a, sex=s, age=g, n=v) for (a, s, g), v in
            zip(itertools.product(areas, SEXES, AGES), values)]
    cells = pd.DataFrame(rows)
    tables = [CountTable("by area, sex and age", cells, ("area", "sex", "age")),
              CountTable("by area and sex", by(cells, ["area", "sex"]), ("area", "sex")),
              CountTable("by area", by(cells, ["area"]), ("area",)),
              CountTable("total", pd.DataFrame({"n": [int(cells["n"].sum())]}), ())]
    if draw(st.booleans()):
        tables.append(CountTable("by sex and age", by(cells, ["sex", "age"]), ("sex", "age")))
    return tables, {"area": areas, "sex": SEXES, "age": AGES}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=nested_papers(), threshold=st.sampled_from([5, 10]))
def test_adversarial_nested_tables_no_hidden_cell_narrower_than_threshold(case, threshold):
    tables, levels = case
    safe = audit_differencing(tables, threshold=threshold)
    # visible cells are the true values and none is small
    for t in safe:
        visible = t.values[~t.mask]
        assert not ((visible >= 0) & (visible < threshold)).any()
    # the intruder (an independent LP over the full fine table) cannot narrow any hidden cell
    assert narrowest(safe, levels) >= threshold


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=8, max_size=8))
def test_adversarial_overlapping_tables_with_reoffenders(values):
    rows = [dict(area=a, sex=s, age=g, n=x + y, reoffenders=x)
            for (a, s, g), (x, y) in zip(itertools.product(AREAS, SEXES, AGES), values)]
    cells = pd.DataFrame(rows)
    nr = ("n", "reoffenders")
    tables = [CountTable("by area and sex", by(cells, ["area", "sex"], nr), ("area", "sex"), nr),
              CountTable("by area and age", by(cells, ["area", "age"], nr), ("area", "age"), nr),
              CountTable("by sex and age", by(cells, ["sex", "age"], nr), ("sex", "age"), nr)]
    safe = audit_differencing(tables)
    assert narrowest(safe, LEVELS) >= 10


def whole_number_ranges(tables, cap=24):
    """Exhaustive enumeration: every whole-number area x sex table agreeing with what is shown.

    ``tables`` are a 2 x 2 area x sex table (first) and any of its margins, ``n`` only. Each fine
    cell runs from 0 to the smallest visible cell containing it (or ``cap``). Returns
    {(table, row position): (min, max)} over the hidden cells.
    """
    fine = tables[0].data.to_dict("records")
    members, known = {}, {}
    for t in tables:
        for i, rec in enumerate(t.data.to_dict("records")):
            members[(t.name, i)] = np.array([all(rec[k] == f[k] for k in t.keys) for f in fine])
            if not t.mask[i, 0]:
                known[(t.name, i)] = int(t.values[i, 0])
    caps = [min([v for key, v in known.items() if members[key][j]] + [cap]) for j in range(len(fine))]
    grid = np.stack(np.meshgrid(*[np.arange(c + 1) for c in caps], indexing="ij"), axis=-1).reshape(-1, len(fine))
    ok = np.ones(len(grid), dtype=bool)
    for key, v in known.items():
        ok &= grid[:, members[key]].sum(axis=1) == v
    grid = grid[ok]
    return {key: (int(grid[:, m].sum(axis=1).min()), int(grid[:, m].sum(axis=1).max()))
            for key, m in members.items() if key not in known}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(st.integers(0, 12), min_size=4, max_size=4), with_total=st.booleans())
def test_adversarial_exhaustive_enumeration_tiny_tables(values, with_total):
    cells = pd.DataFrame([dict(area=a, sex=s, n=v) for (a, s), v in zip(itertools.product(AREAS, SEXES), values)])
    tables = [CountTable("by area and sex", cells, ("area", "sex")),
              CountTable("by area", by(cells, ["area"]), ("area",)),
              CountTable("by sex", by(cells, ["sex"]), ("sex",))]
    if with_total:
        tables.append(CountTable("total", pd.DataFrame({"n": [sum(values)]}), ()))
    safe = audit_differencing(tables, threshold=5)
    for (name, i), (lo, hi) in whole_number_ranges(safe, cap=24).items():
        # the enumeration stops at 24 a cell; a range reaching it is at least as wide as shown
        assert hi - lo >= 5 or (hi >= 24 and lo <= 19), (name, i, lo, hi)
