# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (reoffending analysis)
#     language: python
#     name: python3
# ---

# %% [markdown] tags=["notebook-only"]
# # 07 · The impact of an intervention
#
# Did the people who took part reoffend less than similar people who did not? In the Justice Data Lab's manner,
# each participant named by the study file's `[impact]` treatment column is matched to the non-participant with
# the nearest propensity score; inverse probability weighting gives a second estimate; balance is shown as
# standardised mean differences (a love plot with the 10% rule), with the common support, the participants who
# could not be matched and the JDL's caveats.
#
# The words, numbers and charts of this paper come from the study file and the data through the `analysis`
# package; this notebook tells the paper's story in order and only calls it. Cells tagged `notebook-only` (like
# this one) are left out of the exported paper. To run it on your own extract, set `study_path` below (see
# `docs/study-file.md`, section `[impact]`), or use `python -m analysis report --study your_study.toml`.

# %% tags=["parameters"]
# Parameters: papermill and `python -m analysis report` set these; change them here to run on your own study.
study_path = None  # a study file (TOML), or the resolved study.json the report command writes; None: the default study
cohort_path = None  # the extract; None: the one the study file names
period = None  # the period reported; None: the latest in the data
reference_period = None  # the baseline period; None: the one before it, if any
disclosure_threshold = 10  # counts below this are suppressed
disclosure_rounding = None  # e.g. 5 to round visible counts to base 5
results_path = None  # the report command sets this: the results it computed once for all its papers; None: computed here

# %%
import analysis
from analysis.paper import ImpactPaper

analysis.setup()
paper = ImpactPaper.open(study_path, cohort_path, period=period, reference_period=reference_period,
                         threshold=disclosure_threshold, rounding=disclosure_rounding, results=results_path)
paper.front_matter()

# %%
paper.approach()

# %%
paper.result()

# %%
paper.balance_section()

# %%
paper.support()

# %%
paper.caveats_section()

# %%
paper.closing()
