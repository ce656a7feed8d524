"""The one setup call every notebook makes, so outputs are deterministic.

Fixes pandas display options, the seaborn theme and figure size, and the
random seed, so that a top-to-bottom run gives the same text output every
time (which strict nbval checks).

Examples
--------
>>> from analysis.notebook import setup
>>> setup()
>>> import pandas as pd
>>> pd.get_option("display.precision")
3
>>> pd.reset_option("^display")  # leave later examples in this process with pandas' own display
"""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd

SEED: int = 20180410
"""Seed for any resampling a notebook does (the date of the scrutiny panel)."""


def setup(*, seed: int = SEED) -> None:
    """Set display options, plotting theme and seed for a notebook.

    Examples
    --------
    >>> import matplotlib, pandas as pd
    >>> setup()
    >>> pd.get_option("display.precision"), tuple(matplotlib.rcParams["figure.figsize"])
    (3, (8.0, 4.5))
    >>> pd.reset_option("^display")  # leave later examples in this process with pandas' own display
    """
    pd.set_option("display.precision", 3)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.max_rows", 80)
    pd.set_option("display.width", 120)
    pd.set_option("display.float_format", None)
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
    matplotlib.rcParams.update(
        {
            "figure.figsize": (8, 4.5),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "svg.hashsalt": "analysis",
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
        }
    )
    np.random.seed(seed)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
