"""O/E with the case-mix model's own uncertainty, against simulation and the in-model identity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.expected_uncertainty import oe_with_model_uncertainty


def _people(n: int, rng: np.random.Generator) -> pd.DataFrame:
    frame = pd.DataFrame({
        "sex": rng.choice(["Male", "Female"], n, p=[0.8, 0.2]),
        "age_band": rng.choice(["18-20", "25-29", "40-49"], n),
        "area": rng.choice(["A", "B", "C"], n, p=[0.2, 0.5, 0.3]),
    })
    logit = -0.3 + 0.5 * (frame["sex"] == "Male") - 0.6 * (frame["age_band"] == "40-49") + 0.4 * (frame["age_band"] == "18-20")
    frame["p_true"] = 1 / (1 + np.exp(-logit))
    return frame


def test_in_model_grouping_has_no_variance_internally():
    rng = np.random.default_rng(1)
    df = _people(3000, rng)
    df["reoffended"] = (rng.random(len(df)) < df["p_true"]).astype(int)
    for grouping in ("sex", "age_band"):  # each term of the (additive) model
        t = oe_with_model_uncertainty(df, df, grouping, casemix=["sex", "age_band"])
        np.testing.assert_allclose(t["observed"], t["expected"], rtol=1e-8)
        np.testing.assert_allclose(t["variance_total"], 0, atol=1e-6)
        assert (t["variance_model"] > 0).all()


def _simulated_variance(internal: bool, reps: int = 300) -> tuple[float, float]:
    rng = np.random.default_rng(7)
    target = _people(2000, rng)
    fit = target if internal else _people(2000, rng)
    diffs, predicted = [], []
    for _ in range(reps):
        fit = fit.assign(reoffended=(rng.random(len(fit)) < fit["p_true"]).astype(int))
        tgt = fit if internal else target.assign(reoffended=(rng.random(len(target)) < target["p_true"]).astype(int))
        row = oe_with_model_uncertainty(fit, tgt, "area", casemix=["sex", "age_band"], internal=internal).set_index("area").loc["A"]
        diffs.append(row["observed"] - row["expected"])
        predicted.append(row["variance_total"])
    return float(np.var(diffs, ddof=1)), float(np.mean(predicted))


@pytest.mark.parametrize("internal", [True, False])
def test_delta_method_variance_matches_simulation(internal):
    """Area is not in the model and has no effect: O - E over repeated samples has the predicted variance."""
    simulated, predicted = _simulated_variance(internal)
    assert predicted == pytest.approx(simulated, rel=0.2)


def test_model_uncertainty_moves_the_variance_the_right_way():
    rng = np.random.default_rng(3)
    df = _people(3000, rng)
    df["reoffended"] = (rng.random(len(df)) < df["p_true"]).astype(int)
    base = _people(3000, rng)
    base["reoffended"] = (rng.random(len(base)) < base["p_true"]).astype(int)
    internal = oe_with_model_uncertainty(df, df, "area", casemix=["sex", "age_band"])
    reference = oe_with_model_uncertainty(base, df, "area", casemix=["sex", "age_band"])
    assert (internal["variance_total"] < internal["variance_binomial"]).all()
    assert (reference["variance_total"] > reference["variance_binomial"]).all()
    assert {"statistic", "method", "confidence", "n", "observed", "expected"} <= set(reference.columns)
    assert (reference["ratio_lower"] < reference["ratio"]).all() and (reference["ratio"] < reference["ratio_upper"]).all()
