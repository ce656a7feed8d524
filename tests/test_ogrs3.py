"""OGRS3 against the worked value in docs/methods.md (Howard et al. 2009)."""

import numpy as np
import pytest

from analysis.ogrs3 import ogrs3_age_band, ogrs3_probability


def test_worked_value_one_and_two_years():
    # Male, 27, first sanction at 16, 5 previous sanctions, domestic burglary: 27.0% and 43.2%.
    assert ogrs3_probability(27, 16, 5, "Male", "burglary_domestic", years=1)[0] == pytest.approx(0.270, abs=5e-4)
    assert ogrs3_probability(27, 16, 5, "Male", "burglary_domestic", years=2)[0] == pytest.approx(0.432, abs=5e-4)


def test_by_hand_first_offender():
    # P = 0: C = ln(1 / 10), G = 0.126142106; female 50+, violence.
    y = 1.402562384 + 1.251124464 * np.log(1 / 10) + 0.126142106 - 2.449837160
    assert ogrs3_probability(55, 55, 0, "Female", "violence")[0] == pytest.approx(1 / (1 + np.exp(-y)), rel=1e-12)


def test_bands_and_errors():
    assert ogrs3_age_band([20, 21, 29, 30, 39, 40, 70]).tolist() == ["18-20", "21-24", "25-29", "30-34", "35-39", "40-49", "50+"]
    with pytest.raises(ValueError):
        ogrs3_probability(17, 15, 1, "Male", "violence")
    with pytest.raises(ValueError, match="unknown"):
        ogrs3_probability(30, 15, 1, "Male", "shoplifting")
