"""Disclosure control (docs/methods.md, disclosure control): primary, complementary, derived, rounding, dof, log."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.disclosure import (
    PRESETS,
    DisclosureLog,
    apply_disclosure_control,
    check_model_dof,
    recoverable_cells,
    resolve_threshold,
    round_to_base,
    suppress_counts,
    suppress_crosstab,
    suppress_rates,
)


def with_margins(interior: pd.DataFrame, name: str = "All") -> pd.DataFrame:
    t = interior.copy()
    t[name] = t.sum(axis=1)
    t.loc[name] = t.sum(axis=0)
    return t


def lines_ok(safe: pd.DataFrame) -> bool:
    """Every row and column (margins included) has 0 or >= 2 suppressed cells."""
    mask = safe.isna().to_numpy()
    return all(k != 1 for k in mask.sum(axis=0)) and all(k != 1 for k in mask.sum(axis=1))


def feasible_values(safe: pd.DataFrame, cell: tuple[int, int]) -> set[int]:
    """Brute force: every whole-number value the cell can take consistent with the published table.

    Each hidden interior cell ranges over 0..min(its visible row total, column total);
    the table must have visible margins.
    """
    full = safe.to_numpy(dtype=float, na_value=np.nan)
    n, m = full.shape[0] - 1, full.shape[1] - 1
    assert not np.isnan(full[:, m]).any() and not np.isnan(full[n, :]).any()
    hidden = [(int(i), int(j)) for i, j in zip(*np.nonzero(np.isnan(full)))]
    ranges = [range(int(min(full[i, m], full[n, j])) + 1) for i, j in hidden]
    grid = np.nan_to_num(full).astype(int)
    values = set()
    for combo in itertools.product(*ranges):
        for c, v in zip(hidden, combo):
            grid[c] = v
        if all(grid[i, :m].sum() == grid[i, m] for i in range(n)) and all(grid[:n, j].sum() == grid[n, j] for j in range(m)):
            values.add(combo[hidden.index(cell)])
    return values


# --------------------------------------------------------------------------- thresholds


def test_presets_and_threshold():
    assert PRESETS == {"strict": 10, "nhs": 7, "ons": 5}
    assert [resolve_threshold(preset=p) for p in (5, 7, 10, "ons", "nhs", "strict")] == [5, 7, 10, 5, 7, 10]
    assert resolve_threshold(threshold=12) == 12
    with pytest.raises(ValueError):
        resolve_threshold(preset=6)
    with pytest.raises(ValueError):
        resolve_threshold(preset="loose")


# --------------------------------------------------------------------------- primary


def test_primary_suppression_by_hand():
    s = pd.Series([25, 9, 10, 0, 40], index=list("abcde"))
    t = pd.DataFrame({"group": s.index, "n": s.values})
    log = DisclosureLog()
    safe = apply_disclosure_control(t, count_columns=["n"], labels=["group"], name="t", log=log)
    assert safe["n"].isna().tolist() == [False, True, False, True, False]  # 9 and 0 hidden; 10 shown
    assert str(safe["n"].dtype) == "Int64"
    frame = log.to_frame()
    assert frame["rule"].tolist() == ["primary", "primary"]
    assert frame["location"].tolist() == ["row 'b', column 'n'", "row 'd', column 'n'"]
    assert frame["detail"].tolist()[0] == "primary: count < 10 (zeros included)"
    # the log never carries the confidential value
    assert not frame["detail"].str.contains("9").any()


def test_zero_policy():
    t = pd.DataFrame({"n": [0, 3, 5, 20]})
    shown = apply_disclosure_control(t, count_columns=["n"], zeros="show", preset="ons")
    hidden = apply_disclosure_control(t, count_columns=["n"], zeros="suppress", preset="ons")
    assert shown["n"].isna().tolist() == [False, True, False, False]
    assert hidden["n"].isna().tolist() == [True, True, False, False]
    with pytest.raises(ValueError):
        apply_disclosure_control(t, zeros="sometimes")


def test_visible_zero_not_preferred_as_complement():
    # with zeros shown, a visible 0 protects nothing: the next smallest cell is used
    s = pd.Series([0, 3, 20, 30, 53], index=["a", "b", "c", "d", "All"])
    safe = suppress_counts(s, zeros="show")
    assert safe.isna().tolist() == [False, True, True, False, False]


# --------------------------------------------------------------------------- complementary


ADVERSARIAL = with_margins(
    pd.DataFrame(
        {"Male": [3, 40, 30], "Female": [50, 45, 35], "Unknown": [60, 55, 70]},
        index=["Dudley", "Sandwell", "Walsall"],
    )
)


def test_adversarial_single_cell_would_be_recoverable():
    naive = ADVERSARIAL.astype("Float64")
    naive.iloc[0, 0] = pd.NA  # primary only
    assert recoverable_cells(naive) == [("Dudley", "Male")]
    # ... and it is: row total minus the visible cells
    assert ADVERSARIAL.loc["Dudley", "All"] - ADVERSARIAL.loc["Dudley", ["Female", "Unknown"]].sum() == 3


def test_adversarial_protected_after_complementary_suppression():
    log = DisclosureLog()
    safe = suppress_crosstab(ADVERSARIAL, name="area by sex", log=log)
    assert pd.isna(safe.loc["Dudley", "Male"])
    mask = safe.isna().to_numpy()
    for k, line in itertools.chain(enumerate(mask), enumerate(mask.T)):
        assert line.sum() == 0 or line.sum() >= 2, k
    assert recoverable_cells(safe) == []
    # the chosen complements are the smallest visible cells of the lines
    assert pd.isna(safe.loc["Dudley", "Female"])  # smallest in row Dudley (50 < 60)
    assert pd.isna(safe.loc["Walsall", "Male"])  # smallest in column Male (30 < 40)
    rules = log.to_frame()["rule"].tolist()
    assert rules[0] == "primary" and set(rules[1:]) == {"secondary"}
    assert "protects row 'Dudley'" in log.to_frame()["detail"].iloc[1]


def test_brute_force_tiny_table_not_uniquely_determined():
    tiny = with_margins(pd.DataFrame({"a": [2, 11], "b": [12, 10], "c": [20, 30]}, index=["x", "y"]))
    safe = suppress_crosstab(tiny)
    assert lines_ok(safe) and safe.isna().to_numpy().sum() == 4
    # a single suppressed cell would be pinned down: check the brute force sees that
    naive = tiny.astype("Float64")
    naive.iloc[0, 0] = pd.NA
    assert feasible_values(naive, (0, 0)) == {2}
    for cell in zip(*np.nonzero(safe.isna().to_numpy())):
        cell = (int(cell[0]), int(cell[1]))
        values = feasible_values(safe, cell)
        assert len(values) >= 2, cell
        assert tiny.iloc[cell] in values


def test_bridge_pattern_caught_by_audit():
    # Two 2x2 rectangles joined by a shared line can leave a cell pinned down by
    # combining lines; the audit must hide more until nothing is recoverable.
    rng = np.random.default_rng(3)
    for _ in range(30):
        interior = pd.DataFrame(rng.integers(0, 25, size=(4, 4)), index=list("pqrs"), columns=list("wxyz"))
        safe = suppress_crosstab(with_margins(interior))
        assert lines_ok(safe)
        assert recoverable_cells(safe) == []


def test_paired_complement_hides_fewer_cells():
    table = pd.DataFrame({"Male": [40, 3, 25], "Female": [20, 15, 30]}, index=["Dudley", "Sandwell", "Walsall"])
    smallest = suppress_crosstab(table)
    paired = suppress_crosstab(table, complement="paired")
    assert paired.isna().sum().sum() <= smallest.isna().sum().sum()
    assert paired.isna().sum().sum() == 4


def test_implied_margins_are_protected_but_not_returned():
    interior = ADVERSARIAL.iloc[:-1, :-1]
    log = DisclosureLog()
    safe = suppress_crosstab(interior, log=log)
    assert list(safe.columns) == list(interior.columns) and list(safe.index) == list(interior.index)
    published = with_margins(interior).astype("Float64")  # totals published elsewhere
    published.iloc[:-1, :-1] = published.iloc[:-1, :-1].mask(safe.isna())
    assert lines_ok(published)
    assert recoverable_cells(published) == []
    with pytest.raises(ValueError):
        suppress_crosstab(safe)  # missing cells without margins: totals unknown


def test_margins_must_add_up():
    bad = ADVERSARIAL.copy()
    bad.loc["Dudley", "All"] += 1
    with pytest.raises(ValueError):
        suppress_crosstab(bad)


def test_one_dimensional_table():
    s = pd.Series([50, 4, 30, 84], index=["A", "B", "C", "All"], name="people")
    log = DisclosureLog()
    safe = suppress_counts(s, name="by area", log=log)
    assert safe.isna().tolist() == [False, True, True, False]  # 30 is the smallest visible cell
    assert safe.name == "people"
    assert log.to_frame()["rule"].tolist() == ["primary", "secondary"]
    # a single cell against its total: the total must go
    one = pd.Series([4, 4], index=["A", "All"])
    assert suppress_counts(one).isna().all()


def test_tidy_table_with_total_row():
    t = pd.DataFrame({"area": ["A", "B", "C", "All"], "n": [50, 4, 30, 84]})
    log = DisclosureLog()
    safe = apply_disclosure_control(t, count_columns=["n"], labels=["area"], total_row="All", log=log)
    assert safe["n"].isna().tolist() == [False, True, True, False]
    assert "secondary" in log.to_frame()["rule"].tolist()


# --------------------------------------------------------------------------- rates


def test_rates_inherit_suppression_and_non_events_rule():
    t = pd.DataFrame(
        {
            "area": ["A", "B", "C", "D"],
            "reoffended": [40, 6, 52, 30],
            "n": [120, 30, 150, 33],  # D: 3 people did not reoffend
            "rate": [40 / 120, 6 / 30, 52 / 150, 30 / 33],
            "lower": [0.25, 0.08, 0.27, 0.76],
            "upper": [0.42, 0.38, 0.43, 0.97],
        }
    )
    log = DisclosureLog()
    safe = apply_disclosure_control(t, numerator="reoffended", denominator="n", labels=["area"], name="by area", log=log)
    assert safe["reoffended"].isna().tolist() == [False, True, False, True]
    for col in ("rate", "lower", "upper"):
        assert safe[col].isna().tolist() == [False, True, False, True]
    assert safe["n"].isna().sum() == 0
    frame = log.to_frame()
    assert "non-events (n - reoffended) < 10 (zero included)" in frame["detail"].tolist()
    assert (frame["rule"] == "derived").sum() == 6


def test_rates_blank_when_denominator_missing_and_at_100_percent():
    t = pd.DataFrame({"x": [20, 20, 15], "n": [pd.NA, 20, 40], "rate": [0.5, 1.0, 0.375]})
    t["n"] = t["n"].astype("Int64")
    log = DisclosureLog()
    safe = suppress_rates(t, "x", "n", ["rate"], log=log)
    assert safe["rate"].isna().tolist() == [True, True, False]  # missing denominator; 100% (0 non-events)
    assert safe["x"].isna().tolist() == [False, True, False]


# --------------------------------------------------------------------------- rounding


def test_round_to_base_5_by_hand():
    got = round_to_base(pd.Series([10, 12, 12.5, 13, 17, 17.5, 18, 22.5, pd.NA], dtype="Float64"), base=5)
    assert got.iloc[:-1].tolist() == [10, 10, 15, 15, 15, 20, 20, 25]
    assert pd.isna(got.iloc[-1]) and str(got.dtype) == "Int64"
    assert round_to_base(np.array([2.5, 7.4999]), base=5).tolist() == [5.0, 5.0]


def test_rounding_after_suppression_totals_independent():
    s = pd.Series([12, 13, 3, 28, 56], index=["a", "b", "c", "d", "All"])
    log = DisclosureLog()
    safe = suppress_counts(s, rounding=5, log=log)
    assert safe.isna().tolist() == [True, False, True, False, False]  # 3 primary, 12 is the complement
    assert safe.dropna().tolist() == [15, 30, 55]  # 13 -> 15, 28 -> 30, 56 -> 55 on its own
    assert log.to_frame()["rule"].tolist()[-1] == "rounding"
    t = pd.DataFrame({"n": [12, 13, 4]})
    out = apply_disclosure_control(t, rounding=5)
    assert out["n"].isna().tolist() == [False, False, True]
    assert out["n"].dropna().tolist() == [10, 15]


# --------------------------------------------------------------------------- models


def test_check_model_dof():
    log = DisclosureLog()
    bad = check_model_dof(16, 10, log=log, name="flags model")
    good = check_model_dof(500, 12, log=log)
    edge = check_model_dof(20, 10)
    assert (bad.passed, bad.residual_df) == (False, 6)
    assert good.passed and edge.passed
    assert bad.detail == "model: residual df 6 < 10 (fail: do not publish the coefficients)"
    assert log.to_frame()["rule"].tolist() == ["model", "model"]
    assert bad.to_dict()["passed"] is False


# --------------------------------------------------------------------------- log


def test_log_markdown_empty_and_full():
    empty = DisclosureLog()
    md = empty.to_markdown()
    assert md.startswith("## Disclosure log")
    assert "No cells were suppressed." in md and "below 10" in md
    assert list(empty.to_frame().columns) == ["table", "location", "rule", "detail"]

    log = DisclosureLog()
    suppress_crosstab(ADVERSARIAL, log=log, name="area by sex", preset="nhs")
    check_model_dof(16, 10, log=log, name="flags model")
    md = log.to_markdown()
    assert "below 7" in md and "No cells were suppressed" not in md
    assert "area by sex: 1 primary, " in md
    assert "| area by sex | row 'Dudley', column 'Male' | primary |" in md
    assert "Model flags model: residual df 6 < 10" in md
    assert "complementary" in md
    assert "count 3" not in md and "3 <" not in md  # the suppressed value itself is not in the report


def test_log_mentions_rounding():
    log = DisclosureLog()
    suppress_counts(pd.Series([12, 13, 3, 28, 56], index=["a", "b", "c", "d", "All"]), rounding=5, log=log)
    assert "rounded to the nearest 5" in log.to_markdown()


# --------------------------------------------------------------------------- laws


@st.composite
def crosstabs(draw):
    n_rows = draw(st.integers(1, 4))
    n_cols = draw(st.integers(1, 4))
    cells = draw(st.lists(st.integers(0, 40), min_size=n_rows * n_cols, max_size=n_rows * n_cols))
    interior = pd.DataFrame(np.array(cells).reshape(n_rows, n_cols),
                            index=[f"r{i}" for i in range(n_rows)], columns=[f"c{j}" for j in range(n_cols)])
    return with_margins(interior)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=crosstabs(), threshold=st.sampled_from([5, 7, 10]), zeros=st.sampled_from(["suppress", "show"]),
       complement=st.sampled_from(["smallest", "paired"]))
def test_laws_crosstab(table, threshold, zeros, complement):
    log = DisclosureLog()
    safe = suppress_crosstab(table, threshold=threshold, zeros=zeros, complement=complement, log=log)
    visible = safe.to_numpy(dtype=float, na_value=np.nan)
    visible = visible[~np.isnan(visible)]
    low = 0 if zeros == "suppress" else 1
    assert not np.any((visible >= low) & (visible < threshold))
    assert lines_ok(safe)
    assert recoverable_cells(safe) == []
    # visible cells are unchanged
    shown = safe.notna().to_numpy()
    assert np.array_equal(safe.to_numpy(dtype=float, na_value=np.nan)[shown], table.to_numpy(dtype=float)[shown])
    # idempotent
    again = suppress_crosstab(safe, threshold=threshold, zeros=zeros, complement=complement)
    pd.testing.assert_frame_equal(again, safe)
    # the log holds one record per hidden cell, and no values
    assert (log.to_frame()["rule"].isin(["primary", "secondary"])).sum() == int(safe.isna().sum().sum())


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(0, 60), min_size=1, max_size=6), threshold=st.sampled_from([5, 7, 10]))
def test_laws_one_dimensional(counts, threshold):
    s = pd.Series(counts + [sum(counts)], index=[f"g{i}" for i in range(len(counts))] + ["All"])
    safe = suppress_counts(s, threshold=threshold)
    v = safe.dropna().astype(float)
    assert not ((v >= 0) & (v < threshold)).any()
    assert safe.isna().sum() != 1
    again = suppress_counts(safe, threshold=threshold)
    pd.testing.assert_series_equal(again, safe)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=1, max_size=6),
       threshold=st.sampled_from([5, 7, 10]))
def test_laws_rates(rows, threshold):
    num = [a for a, b in rows]
    den = [a + b for a, b in rows]
    t = pd.DataFrame({"num": num, "den": den})
    t["rate"] = [a / d if d else np.nan for a, d in zip(num, den)]
    safe = apply_disclosure_control(t, numerator="num", denominator="den", threshold=threshold)
    n, d = safe["num"].astype("Float64"), safe["den"].astype("Float64")
    shown = n.notna() & d.notna()
    assert ((d[shown] - n[shown]) >= threshold).all()
    assert safe.loc[~shown, "rate"].isna().all()
    again = apply_disclosure_control(safe, numerator="num", denominator="den", threshold=threshold)
    pd.testing.assert_frame_equal(again, safe)


def test_zero_row_pinned_by_non_negativity_is_protected():
    """Regression (found by hypothesis): a wholly hidden zero row is still pinned by the grand total."""
    table = pd.DataFrame({"c0": [0, 0, 0], "c1": [0, 0, 0], "c2": [0, 5, 5], "All": [0, 5, 5]}, index=["r0", "r1", "All"])
    assert recoverable_cells(table.astype("Float64").mask(table < 5)) != []
    safe = suppress_crosstab(table, threshold=5)
    assert recoverable_cells(safe) == []


def test_publish_rates_blanks_small_groups_and_their_rates():
    from analysis.describe import rates_by
    from analysis.disclosure import DisclosureLog, publish_rates

    toy = pd.DataFrame({"area": ["A"] * 5 + ["B"] * 40, "reoffended": [1, 0, 1, 0, 1] + [1, 0] * 20})
    log = DisclosureLog()
    safe = publish_rates(rates_by(toy, "area"), name="by area", labels=["area"], log=log)
    a, b = safe.iloc[0], safe.iloc[1]
    assert pd.isna(a["n"]) and pd.isna(a["reoffenders"]) and pd.isna(a["rate"]) and pd.isna(a["upper"])
    assert b["n"] == 40 and b["reoffenders"] == 20 and b["rate"] == 0.5
    assert set(log.to_frame()["rule"]) >= {"primary", "derived"}


def test_partition_protects_a_row_that_the_total_would_reveal():
    from analysis.disclosure import DisclosureLog, publish_rates

    t = pd.DataFrame({"flag": ["homeless", "homeless", "dv", "dv"], "value": [1, 0, 1, 0],
                      "n": [30, 500, 100, 430], "reoffenders": [26, 200, 40, 186]})
    t["rate"] = t["reoffenders"] / t["n"]
    log = DisclosureLog()
    safe = publish_rates(t, name="by flag", labels=["flag", "value"], partition_by=["flag"], log=log)
    # homeless=1 has 4 non-reoffenders: suppressed; homeless=0 must go too, or total - it reveals it.
    assert safe["reoffenders"].isna().tolist() == [True, True, False, False]
    assert safe["rate"].isna().tolist() == [True, True, False, False]
    assert safe["n"].notna().all()
    rules = log.to_frame()
    assert ((rules["rule"] == "secondary") & rules["location"].str.contains("homeless / 0")).any()
    # Without the partition the second row would stay visible (and recoverable by subtraction).
    plain = publish_rates(t, name="by flag", labels=["flag", "value"])
    assert plain["reoffenders"].isna().tolist() == [True, False, False, False]
