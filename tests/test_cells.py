"""Models, expected rates, O/E and attributable fractions from cells of people equal those from the people.

A cell is a covariate pattern with ``n`` people of whom ``reoffended``
reoffended (what :func:`analysis.outofcore.cohort_cells` returns). The
references are the package's row-level functions on the same people, and two
independent fits: statsmodels' ``Logit`` on the rows and its
``GLM(Binomial, freq_weights)`` on the cells expanded to one row per outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import analysis
from analysis.attributable import attributable_fractions
from analysis.expected import expected_probabilities
from analysis.models import fit_flags_model, fit_logistic
from analysis.observed_expected import observed_vs_expected

FLAGS = list(analysis.FLAGS)
AREAS = ["Dudley", "Sandwell", "Walsall", "Wolverhampton"]
ADJUST = ["area", "sex", "age_band", "offence_group"]
EXACT = dict(rtol=0, atol=1e-10)


def simulate(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "period": pd.Categorical(rng.choice(["2014-10/2015-09", "2015-10/2016-09"], n)),
        "area": pd.Categorical(rng.choice(AREAS, n), categories=AREAS),
        "sex": pd.Categorical(rng.choice(["Male", "Female"], n, p=[0.8, 0.2]), categories=["Male", "Female"]),
        "age_band": pd.Categorical(rng.choice(["18-20", "21-24", "25-29"], n), categories=["18-20", "21-24", "25-29"]),
        "offence_group": pd.Categorical(rng.choice(["violence", "theft", "drugs"], n), categories=["violence", "theft", "drugs"]),
    })
    eta = -0.4 + 0.3 * (df["sex"] == "Male") - 0.3 * (df["age_band"] == "25-29") + 0.2 * (df["area"] == "Walsall")
    for j, f in enumerate(FLAGS):
        df[f] = (rng.random(n) < 0.15 + 0.04 * j).astype("int8")
        eta = eta + (0.1 + 0.15 * j) * df[f]
    df["reoffended"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype("int8")
    return df


def to_cells(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Cells by pandas: people and reoffenders per pattern of ``keys``, in an arbitrary (shuffled) order."""
    cells = df.groupby(keys, observed=True, as_index=False).agg(n=("reoffended", "size"), reoffended=("reoffended", "sum"))
    return cells.sample(frac=1, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    return simulate()


@pytest.fixture(scope="module")
def cells(people) -> pd.DataFrame:
    # finer than the model (period too): cells that share the model's pattern must be merged
    return to_cells(people, ["period", *FLAGS, *ADJUST])


@pytest.mark.parametrize("interactions", [(), ("dv:area",)])
def test_flags_model_from_cells_equals_the_fit_on_people(people, cells, interactions):
    rows = fit_flags_model(people, interactions=interactions)
    grouped = fit_flags_model(cells, interactions=interactions, trials="n")
    assert grouped.n_units == rows.n_units and grouped.nobs == rows.nobs == len(people)
    pd.testing.assert_index_equal(grouped.params.index, rows.params.index)
    np.testing.assert_allclose(grouped.params, rows.params, **EXACT)
    np.testing.assert_allclose(grouped.cov, rows.cov, **EXACT)
    assert grouped.llf == pytest.approx(rows.llf, abs=1e-8)
    assert grouped.method == rows.method and grouped.notes == rows.notes
    pd.testing.assert_frame_equal(grouped.odds_ratios, rows.odds_ratios, check_exact=False, rtol=1e-10, atol=1e-12)
    pd.testing.assert_frame_equal(grouped.comparison, rows.comparison, check_exact=False, rtol=1e-10, atol=1e-12)
    pd.testing.assert_frame_equal(grouped.standardised_risks, rows.standardised_risks, check_exact=False, rtol=1e-10, atol=1e-12)


def test_flags_model_from_cells_equals_statsmodels(people, cells):
    fit = fit_flags_model(cells, trials="n")
    X = pd.get_dummies(people[ADJUST], drop_first=True, dtype=float)
    design = pd.concat([pd.Series(1.0, index=people.index, name="Intercept"), people[FLAGS].astype(float), X], axis=1)
    logit = sm.Logit(people["reoffended"].astype(float), design).fit(disp=0, method="newton", tol=1e-13, maxiter=100)
    np.testing.assert_allclose(fit.params.to_numpy(), logit.params.to_numpy(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov)), logit.bse.to_numpy(), rtol=0, atol=1e-8)
    # the cells themselves, as a frequency-weighted binomial GLM: each cell twice, once per outcome
    yes = cells.assign(y=1.0, w=cells["reoffended"].astype(float))
    no = cells.assign(y=0.0, w=(cells["n"] - cells["reoffended"]).astype(float))
    both = pd.concat([yes, no], ignore_index=True)
    both = both[both["w"] > 0].reset_index(drop=True)
    Xc = pd.concat([pd.Series(1.0, index=both.index, name="Intercept"), both[FLAGS].astype(float),
                    pd.get_dummies(both[ADJUST], drop_first=True, dtype=float)], axis=1)
    glm = sm.GLM(both["y"], Xc, family=sm.families.Binomial(), freq_weights=both["w"]).fit(tol=1e-13, maxiter=100)
    np.testing.assert_allclose(fit.params.to_numpy(), glm.params.to_numpy(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov)), glm.bse.to_numpy(), rtol=0, atol=1e-8)
    assert fit.llf == pytest.approx(logit.llf, abs=1e-7)


def test_cells_with_missing_values_and_single_levels_give_the_same_notes(people):
    df = people.copy()
    df["sex"] = df["sex"].cat.add_categories(["Unknown"])
    df.loc[:40, "sex"] = np.nan  # people with a missing term are left out
    df["period"] = "2015-10/2016-09"  # one value: left out, with a note
    terms = ["dv", "homeless", "sex", "period"]
    rows = fit_logistic(df, terms)
    cells = df.groupby(terms, observed=True, dropna=False, as_index=False).agg(n=("reoffended", "size"), reoffended=("reoffended", "sum"))
    grouped = fit_logistic(cells, terms, trials="n")
    assert grouped.notes == rows.notes and any("41 row(s)" in note for note in rows.notes)
    np.testing.assert_allclose(grouped.params, rows.params, **EXACT)
    np.testing.assert_allclose(grouped.cov, rows.cov, **EXACT)


def test_counts_that_are_not_counts_are_refused(cells):
    bad = cells.assign(reoffended=cells["n"] + 1)
    with pytest.raises(ValueError, match="whole numbers between 0 and 'n'"):
        fit_logistic(bad, ["dv"], trials="n")
    with pytest.raises(ValueError, match="offset"):
        fit_logistic(cells.assign(o=0.0), ["dv"], trials="n", offset="o")


def test_attributable_fractions_from_cells_equal_those_from_people(people, cells):
    rows = attributable_fractions(fit_flags_model(people))
    grouped = attributable_fractions(fit_flags_model(cells, trials="n"))
    pd.testing.assert_frame_equal(grouped, rows, check_exact=False, rtol=1e-10, atol=1e-12)


def test_expected_and_observed_vs_expected_from_cells_equal_those_from_people(people, cells):
    casemix = ["sex", "age_band", "offence_group"]
    base_rows, now_rows = (people[people["period"] == p] for p in ("2014-10/2015-09", "2015-10/2016-09"))
    base_cells, now_cells = (cells[cells["period"] == p] for p in ("2014-10/2015-09", "2015-10/2016-09"))
    e_rows = expected_probabilities(base_rows, now_rows, casemix=casemix)
    e_cells = expected_probabilities(base_cells, now_cells, casemix=casemix, trials="n")
    assert e_cells.attrs == e_rows.attrs
    by_area_rows = e_rows.groupby(now_rows["area"], observed=True).sum()
    by_area_cells = (e_cells * now_cells["n"]).groupby(now_cells["area"], observed=True).sum()
    np.testing.assert_allclose(by_area_cells.to_numpy(), by_area_rows.to_numpy(), **EXACT)
    t_rows = observed_vs_expected(now_rows, "area", expected=e_rows)
    t_cells = observed_vs_expected(now_cells, "area", expected=e_cells, trials="n")
    pd.testing.assert_frame_equal(t_cells, t_rows, check_exact=False, rtol=1e-10, atol=1e-10)
