"""Plain-English definitions of the terms the papers use, in the manner of an ONS bulletin's glossary.

Each paper lists only the terms it uses (:data:`TERMS` keys). Definitions
are written for a board member, not a statistician, and say how to read the
number, not only what it is.

Examples
--------
>>> TERMS["odds_ratio"][0]
'Odds ratio'
"""

from __future__ import annotations

__all__ = ["TERMS"]

TERMS: dict[str, tuple[str, str]] = {
    "propensity_score": (
        "Propensity score",
        "A person's modelled probability of taking part in the intervention, given their recorded characteristics "
        "(a logistic regression). People with similar scores are alike on those characteristics taken together.",
    ),
    "matching": (
        "Propensity score matching",
        "Pairing each participant with the non-participant whose propensity score is nearest, within a maximum distance "
        "(the caliper), so that the comparison group resembles the participants; the Justice Data Lab's method.",
    ),
    "ipw": (
        "Inverse probability weighting",
        "A second way to build the comparison group: every non-participant is kept, weighted by the odds of their score, "
        "so that the weighted group resembles the participants (the effect in the treated, ATT).",
    ),
    "smd": (
        "Standardised mean difference",
        "The difference between participants and the comparison group in a characteristic, divided by its pooled "
        "standard deviation. By the 10% rule, a difference above 0.1 means the groups are not alike on it.",
    ),
    "common_support": (
        "Common support",
        "The range of propensity scores both groups share. A participant outside it has nobody comparable to be "
        "matched with.",
    ),
    "confidence_interval": (
        "Confidence interval",
        "The range within which the true value is likely to lie, given the size of the group: a 95% interval would "
        "contain the true value in 95 of 100 repeated samples. Wide intervals mean small groups. Intervals describe "
        "chance variation only, not differences in recording practice.",
    ),
    "wilson": (
        "Wilson interval",
        "The confidence interval used here for a rate (a proportion of people). It behaves well for small groups and "
        "for rates near 0% or 100%; it is the method used by UK public-health statistics.",
    ),
    "crude_rate": (
        "Crude rate",
        "The share of a group with the outcome, before any allowance for who is in the group (their age, sex, offence "
        "or other flags).",
    ),
    "odds_ratio": (
        "Odds ratio",
        "How the odds of the outcome for people with a flag compare with the odds for people without it, other things "
        "in the model held equal. 1 means no difference. Odds are not chances: when an outcome is common, an odds ratio "
        "of 2 means much less than \"twice as likely\", so this paper gives the risk ratio and the difference in "
        "percentage points beside it.",
    ),
    "risk_ratio": (
        "Risk ratio",
        "How many times as likely the outcome is with a flag as without it, other characteristics as they are "
        "(the predicted rate with the flag divided by the predicted rate without it, averaged over everyone). "
        "1 means no difference.",
    ),
    "marginal_effect": (
        "Difference in percentage points (average marginal effect)",
        "How many more (or fewer) people in every 100 would have the outcome with the flag than without it, other "
        "characteristics as they are: the predicted rate with the flag minus the predicted rate without it, averaged "
        "over everyone.",
    ),
    "adjusted": (
        "Adjusted",
        "Estimated in a logistic regression model that also contains the other flags and the case-mix columns, so that "
        "a flag's association is not just that of the characteristics that travel with it.",
    ),
    "case_mix": (
        "Case mix",
        "The characteristics of a group that predict the outcome regardless of any flag or place, such as age, sex, "
        "offence and risk score.",
    ),
    "expected": (
        "Expected rate",
        "The rate a group would have if its people had the outcome at the rate predicted for their case mix. "
        "Which model sets the prediction matters, and every table says which one was used.",
    ),
    "oe": (
        "Observed / expected (O/E)",
        "The number of people with the outcome divided by the number expected from their case mix. Above 1 means more "
        "than expected: 1.10 means 10% more.",
    ),
    "adjusted_baseline": (
        "Adjusted baseline",
        "Expected rates from a model fitted on an earlier (baseline) period and applied to the current period's "
        "people: O/E then says whether a place is above or below its own baseline, allowing for any change in who it "
        "works with.",
    ),
    "internal_standardisation": (
        "Internal standardisation",
        "Expected rates from a case-mix model fitted on the same period's people. O/E is then 1 overall, and each "
        "group's O/E says how far it departs from what its case mix predicts within this cohort.",
    ),
    "funnel_plot": (
        "Funnel plot",
        "A chart of each unit's O/E (or rate) against its size, with control limits that narrow as units get larger. "
        "Points outside the limits differ by more than chance alone would readily give.",
    ),
    "overdispersion": (
        "Overdispersion (phi, tau-squared)",
        "When units differ from each other by more than chance alone allows. phi measures it (1 = none); tau-squared "
        "is the extra variation between units, used to widen the funnel's limits so that only exceptional units stand out.",
    ),
    "paf": (
        "Population attributable fraction (PAF)",
        "The share of the outcome in the cohort associated with a flag: how much lower the predicted rate would be if no "
        "one had the flag, other characteristics unchanged. An association, not proof that meeting the need would "
        "prevent the outcome. Shares for single flags overlap and must not be added; the average (Shapley) shares add "
        "up to the joint share.",
    ),
    "c_statistic": (
        "C-statistic",
        "How well the model separates people who had the outcome from those who did not: the chance that a person with "
        "the outcome has a higher predicted risk than a person without it. 0.5 is chance, 1 is perfect.",
    ),
    "calibration": (
        "Calibration",
        "Whether predicted rates match observed rates. Calibration-in-the-large above 0 means more outcomes than "
        "predicted; a calibration slope below 1 means predictions that are too extreme.",
    ),
    "interaction": (
        "Interaction",
        "When a flag's association differs between groups (for example, between areas). Tested by comparing models "
        "with and without the difference; p-values are adjusted for the number of tests (Holm).",
    ),
    "p_value": (
        "p-value",
        "How often a difference at least this large would arise by chance if there were no real difference. Below 0.05 "
        "is usually read as more than chance would readily give.",
    ),
    "vif": (
        "Variance inflation factor",
        "How much a flag's estimate is blurred because it travels with other flags. Below about 2.5 it does not matter.",
    ),
    "p_chart": (
        "p-chart",
        "A chart of a rate over time: a centre line (the rate over all periods) and process limits three standard errors "
        "either side, which narrow for periods with more people and widen for periods with fewer.",
    ),
    "xmr_chart": (
        "XmR chart",
        "A chart of values over time whose limits come from the data themselves: the mean plus or minus 2.66 times the "
        "average change from one point to the next.",
    ),
    "special_cause": (
        "Special cause variation",
        "A change bigger or more systematic than the process usually produces: a point outside the limits, a shift of 7 "
        "points on one side of the centre line, a trend of 7 points rising or falling, or 2 of 3 points near a limit "
        "(NHS England's Making Data Count rules).",
    ),
    "common_cause": (
        "Common cause variation",
        "The ups and downs a stable process produces by chance; nothing to react to on its own.",
    ),
    "assurance": (
        "Assurance",
        "Whether a target will be met if nothing changes: consistently (the limits are all on the right side of it), "
        "consistently missed (all on the wrong side) or not reliably (the target lies between the limits).",
    ),
    "data_lag": (
        "Data lag",
        "The time before a period's outcomes are complete: the follow-up, plus any wait for an outcome to be "
        "confirmed (the Ministry of Justice allows six months for an offence to be proven by a court or caution).",
    ),
    "suppressed": (
        "[c] (suppressed)",
        "A value withheld to protect confidentiality: a count below the disclosure threshold, or a value that would "
        "let such a count be worked out from the others.",
    ),
    "synthetic": (
        "Synthetic data",
        "Made-up records generated by a computer program to resemble real data in aggregate. No real person is in them, "
        "and they are not evidence about anyone.",
    ),
    "published_reference": (
        "Published figures",
        "Figures published by the organisation named as the reference, transcribed with their source; they describe "
        "their own cohort, which may differ from the one analysed here.",
    ),
}
