"""The published figures: complete, transcribed faithfully, and internally checked."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from analysis.published import COLUMNS, TABLES, load_published, recompute_derived

SHARED = Path(__file__).resolve().parents[2] / "shared"


def test_every_table_has_provenance_columns_and_unique_ids():
    table = load_published()
    assert set(table["table"]) == set(TABLES)
    assert set(COLUMNS) <= set(table.columns)
    assert table["figure_id"].is_unique
    numeric = table[table["measure"].ne("statement")]
    assert numeric[["source_table", "period", "cohort", "group", "measure", "value", "unit"]].notna().all().all()


def test_derived_figures_recomputed_from_their_counts():
    checks = recompute_derived()
    # Hand-checked expectations: which published figures disagree with their own counts.
    assert set(checks.loc[~checks["agrees"], "figure_id"]) == {
        "moj_1516_juvenile_share",  # 970 / 6436 = 15.07%, published 14.1%
        "off_1516_violence_rate",  # 211 / 859 = 24.56%, published 24.5%
        "yjb_2015_reoffences_per_reoffender",  # 1280 / 393 = 3.257, published 3.25
    }
    # The CSV flags exactly those rows as discrepancies, and records the value from counts.
    assert (checks["agrees"] == ~checks["discrepancy"]).all()
    np.testing.assert_allclose(checks["derived_value"].astype(float), checks["recomputed"], atol=5e-5)
    assert len(checks) >= 14


def test_key_figures_by_hand():
    values = load_published().set_index("figure_id")["value"].astype(float)
    assert values["moj_1516_offenders"] == 21536 and values["moj_1516_reoffenders"] == 6436
    assert round(6436 / 21536 * 100, 1) == values["moj_1516_rate"]
    assert round(5900 / 20548 * 100, 1) == values["moj_1415_rate"]
    assert round(1140 / 381, 2) == values["yjb_2014_reoffences_per_reoffender"]
    assert values["crc_walsall_actual"] == 47.19 and values["focus_dudley_female_expected"] == 39.56


SEED = SHARED / "seeds"


@pytest.mark.skipif(not SEED.exists(), reason="shared/seeds is not beside the repository")
def test_every_published_number_appears_in_the_seed_text():
    """An independent check of the transcription: each value is printed in the source document."""
    text = " ".join(p.read_text(encoding="utf-8", errors="replace") for p in SEED.glob("*.txt"))
    table = load_published()
    numeric = table[table["measure"].ne("statement")]
    missing = []
    for row in numeric.itertuples():
        decimals = int(row.decimals)
        shown = f"{float(row.value):.{decimals}f}"
        if not re.search(r"(?<![\d.])" + re.escape(shown) + r"(?![\d])", text):
            missing.append((row.figure_id, shown))
    assert not missing, f"not found in the seed text: {missing}"
