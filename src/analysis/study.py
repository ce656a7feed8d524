"""The study file: what an extract's columns mean and the words its paper uses.

A study file is TOML (``docs/study-file.md`` documents every key). It has the
paper's words (``[study]``), the mapping of the file onto the toolkit's names
(``[columns]``, ``[values.COLUMN]``, ``[derive]``), which rows to keep
(``[filter]``), flags beyond the six (``[flags]``), what the adjusted model
holds (``[model]``), the KPIs to track over time (``[kpi]``), the intervention
whose impact is estimated (``[impact]``) and how to read
the file (``[options]``). A mapping file,
the older form, is a study file with only the mapping sections.

:func:`read_study` checks the file itself (unknown sections and keys, wrong
types) and reports every problem at once as a :class:`~analysis.errors.CohortError`.

Examples
--------
>>> study = study_from_mapping({"study": {"title": "Rearrest", "area_label": "PUMA"},
...                             "flags": {"gang": "Gang affiliated"}})
>>> study.title, study.area_plural, study.flag_label("gang"), study.flag_label("dv")
('Rearrest', 'PUMAs', 'Gang affiliated', 'Domestic violence perpetrator')
"""

from __future__ import annotations

import datetime as _dt
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import CohortError, Problem
from .schema import FLAG_LABELS, FLAGS, MISSING_FLAG_POLICIES
from .spc import CHART_KINDS

__all__ = ["Study", "Kpi", "KpiMeasure", "Impact", "read_study", "study_from_mapping", "DEFAULT_OUTCOME", "PUBLISHED_REFERENCES",
           "OGRS3_AGE_EDGES", "KPI_FREQUENCIES"]

DEFAULT_OUTCOME = "Proven reoffending within 12 months"

PUBLISHED_REFERENCES: dict[str, str] = {
    "black-country-2018": "Black Country Reducing Reoffending Strategy 2018-2020, section 5 (City of Wolverhampton Council, 10 April 2018)",
}
"""Published references a study may name in ``[study] published``."""

OGRS3_AGE_EDGES: tuple[int, ...] = (18, 21, 25, 30, 35, 40, 50)
"""Lower edges of the OGRS3 age bands (18-20, 21-24, ..., 50+), the default banding of an ``age`` column."""

_STUDY_KEYS: dict[str, type | tuple[type, ...]] = {
    "title": str, "organisation": str, "author": str, "date": (str, _dt.date), "version": (str, int, float),
    "data_source": str, "extract": str, "outcome": str, "event": str, "follow_up_months": int,
    "area_label": str, "area_label_plural": str, "period": str, "expected_label": str,
    "published": str, "synthetic": bool,
}
_MODEL_KEYS: dict[str, type] = {"flags": list, "adjust": list, "interactions": list, "expected": list}
_OPTION_KEYS: dict[str, type | tuple[type, ...]] = {
    "missing_flags": str, "delimiter": str, "decimal": str, "encoding": str, "sheet": str, "age_bands": list,
}
_KPI_KEYS: dict[str, type | tuple[type, ...]] = {
    "date": str, "frequency": str, "baseline": str, "extracted": (str, _dt.date), "waiting_months": int, "measures": list,
}
_MEASURE_KEYS: dict[str, type | tuple[type, ...]] = {
    "label": str, "by": str, "flag": str, "target_percent": (int, float), "improvement": str, "chart": str,
}
_IMPACT_KEYS: dict[str, type | tuple[type, ...]] = {
    "treatment": str, "covariates": list, "caliper": (int, float), "replacement": bool, "label": str, "seed": int,
}
_SECTIONS = ("study", "columns", "values", "derive", "filter", "flags", "model", "kpi", "impact", "options")

KPI_FREQUENCIES: dict[str, str] = {
    "month": "M", "quarter": "Q", "year": "Y", "financial quarter": "Q-MAR", "financial year": "Y-MAR",
}
"""``[kpi] frequency`` in words and the pandas period frequency it means (financial years end in March)."""


@dataclass(frozen=True)
class KpiMeasure:
    """One KPI of ``[kpi]``: the outcome's rate overall, by a column (``by``) or among people with a flag (``flag``).

    ``target_percent`` is the target as a percentage (None: no target);
    ``improvement`` is ``"down"`` (lower is better, the default for
    reoffending) or ``"up"``; ``chart`` is ``"auto"`` (a p-chart, or an XmR
    chart when the median period counts 5,000 people or more), ``"p"`` or
    ``"xmr"``.

    Examples
    --------
    >>> KpiMeasure(flag="dv", target_percent=40.0).target
    0.4
    """

    label: str | None = None
    by: str | None = None
    flag: str | None = None
    target_percent: float | None = None
    improvement: str = "down"
    chart: str = "auto"

    @property
    def target(self) -> float | None:
        """The target as a proportion (the scale of a rate), or None."""
        return None if self.target_percent is None else float(self.target_percent) / 100


@dataclass(frozen=True)
class Impact:
    """The ``[impact]`` section: the 0/1 treatment column and how participants are matched (paper 07).

    ``covariates`` None means the study's ``[model] adjust`` columns plus its
    flags; ``caliper`` is in standard deviations of the logit of the
    propensity score; ``label`` names the intervention in the paper's
    sentences ("the housing programme").

    Examples
    --------
    >>> Impact(treatment="took_part").caliper, Impact(treatment="took_part").label
    (0.2, 'the programme')
    """

    treatment: str
    covariates: tuple[str, ...] | None = None
    caliper: float = 0.2
    replacement: bool = False
    label: str = "the programme"
    seed: int = 0


@dataclass(frozen=True)
class Kpi:
    """The ``[kpi]`` section: how to cut time into periods, the KPIs to track and the baseline of the adjusted trend.

    Examples
    --------
    >>> kpi = Kpi(date="cohort_start_date", frequency="quarter")
    >>> kpi.freq, [m.label for m in kpi.measures]
    ('Q', [None])
    """

    date: str | None = None
    frequency: str = "quarter"
    baseline: str | None = None
    extracted: str | None = None
    waiting_months: int | None = None
    measures: tuple[KpiMeasure, ...] = (KpiMeasure(),)

    @property
    def freq(self) -> str:
        """The pandas period frequency of ``frequency`` ("Q" for "quarter")."""
        return KPI_FREQUENCIES[self.frequency]


@dataclass(frozen=True)
class Study:
    """Everything a study file says, with the defaults filled in.

    The attributes follow the file's sections: the paper's words (``title``
    ... ``synthetic``), the mapping (``columns``, ``values``, ``derive``),
    ``filter``, the extra flags and labels (``flag_labels``), the model
    (``model_flags``, ``adjust``, ``interactions``, ``expected_casemix``; None
    means "the default for the data") and the reading options.
    """

    title: str = "Risk flags and reoffending"
    organisation: str | None = None
    author: str | None = None
    date: str | None = None
    version: str | None = None
    data_source: str | None = None
    extract: str | None = None
    outcome: str = DEFAULT_OUTCOME
    event: str = "reoffended"
    follow_up_months: int = 12
    area_label: str = "area"
    area_label_plural: str | None = None
    period: str | None = None
    expected_label: str = "the expected probability supplied with the extract"
    published: str | None = None
    synthetic: bool = False
    columns: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    derive: Mapping[str, str] = field(default_factory=dict)
    filter: str | None = None
    flag_labels: Mapping[str, str] = field(default_factory=dict)
    model_flags: tuple[str, ...] | None = None
    adjust: tuple[str, ...] | None = None
    interactions: tuple[str, ...] = ()
    expected_casemix: tuple[str, ...] | None = None
    missing_flags: str = "absent"
    delimiter: str | None = None
    decimal: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    age_bands: tuple[int, ...] = OGRS3_AGE_EDGES
    kpi: Kpi | None = None
    impact: Impact | None = None
    source: str | None = None

    # ----------------------------------------------------------------- words
    @property
    def area_plural(self) -> str:
        """The plural of ``area_label`` ("PUMAs", "local authorities")."""
        if self.area_label_plural:
            return self.area_label_plural
        label = self.area_label
        if label.endswith("y") and not label.endswith(("ay", "ey", "oy", "uy")):
            return label[:-1] + "ies"
        return label + ("es" if label.endswith(("s", "x", "ch", "sh")) else "s")

    def area_name(self, value: object) -> str:
        """An area as a sentence names it: a code without letters gets the label in front.

        A bare number in a sentence ("above expected: 11") reads as a count, so
        a code such as ``11`` becomes "residence area 11"; a name is kept as written.

        Examples
        --------
        >>> s = Study(area_label="residence area")
        >>> s.area_name(11), s.area_name("Dudley"), s.area_name("E08000027")
        ('residence area 11', 'Dudley', 'E08000027')
        """
        text = str(value).strip()
        return text if any(c.isalpha() for c in text) else f"{self.area_label} {text}"

    @property
    def extra_flags(self) -> tuple[str, ...]:
        """Flags declared in ``[flags]`` beyond the six."""
        return tuple(f for f in self.flag_labels if f not in FLAGS)

    @property
    def all_flags(self) -> tuple[str, ...]:
        """The six flags and the declared extras, in that order."""
        return (*FLAGS, *self.extra_flags)

    def flag_label(self, flag: str) -> str:
        """The label the paper uses for a flag."""
        return self.flag_labels.get(flag) or FLAG_LABELS.get(flag, flag.replace("_", " ").capitalize())

    def labels(self) -> dict[str, str]:
        """Every flag's label (the six and the extras)."""
        return {f: self.flag_label(f) for f in self.all_flags}

    @property
    def published_reference(self) -> str | None:
        """The full name of the published reference, if the study names one."""
        return PUBLISHED_REFERENCES.get(self.published) if self.published else None

    def resolve_extract(self) -> Path | None:
        """The extract named by the study, relative to the study file."""
        if not self.extract:
            return None
        path = Path(self.extract)
        if not path.is_absolute() and self.source:
            path = Path(self.source).resolve().parent / path
        return path

    def mapping(self) -> dict[str, Any]:
        """The mapping part, as the structure of an old mapping file."""
        return {
            "columns": dict(self.columns), "values": {k: dict(v) for k, v in self.values.items()},
            "derive": dict(self.derive), "options": {"missing_flags": self.missing_flags},
        }

    def to_dict(self) -> dict[str, Any]:
        """A plain structure (for JSON); :func:`study_from_dict` reads it back."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Kpi):
                value = asdict(value)
                value["measures"] = list(value["measures"])
            elif isinstance(value, Impact):
                value = asdict(value)
                if value["covariates"] is not None:
                    value["covariates"] = list(value["covariates"])
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in value.items()}
            out[f.name] = value
        return out

    def with_(self, **changes: Any) -> Study:
        """A copy with some attributes changed."""
        return replace(self, **changes)


def study_from_dict(data: Mapping[str, Any]) -> Study:
    """Rebuild a :class:`Study` from :meth:`Study.to_dict` output."""
    kwargs = dict(data)
    for name in ("model_flags", "adjust", "expected_casemix"):
        if kwargs.get(name) is not None:
            kwargs[name] = tuple(kwargs[name])
    for name in ("interactions", "age_bands"):
        if name in kwargs:
            kwargs[name] = tuple(kwargs[name])
    if isinstance(kwargs.get("kpi"), Mapping):
        kpi = dict(kwargs["kpi"])
        kpi["measures"] = tuple(KpiMeasure(**m) for m in kpi.get("measures", ()))
        kwargs["kpi"] = Kpi(**kpi)
    if isinstance(kwargs.get("impact"), Mapping):
        impact = dict(kwargs["impact"])
        if impact.get("covariates") is not None:
            impact["covariates"] = tuple(impact["covariates"])
        kwargs["impact"] = Impact(**impact)
    return Study(**kwargs)


def _check_keys(section: str, given: Mapping[str, Any], allowed: Mapping[str, Any], problems: list[Problem]) -> None:
    for key, value in given.items():
        if key not in allowed:
            problems.append(Problem("(study file)", f"[{section}] has an unknown key {key!r}",
                                    fix=f"use only {', '.join(allowed)} (docs/study-file.md)"))
        elif not isinstance(value, allowed[key]) or (allowed[key] is int and isinstance(value, bool)):
            kinds = allowed[key] if isinstance(allowed[key], tuple) else (allowed[key],)
            problems.append(Problem("(study file)", f"[{section}] {key} should be {' or '.join(k.__name__ for k in kinds)}, not {value!r}",
                                    fix="see docs/study-file.md"))


def _string_table(section: str, value: Any, problems: list[Problem], what: str | None = None) -> dict[str, str]:
    if not isinstance(value, Mapping):
        problems.append(Problem("(study file)", f"[{section}] should be a table of name = \"text\" lines", fix="see docs/study-file.md"))
        return {}
    out = {}
    for key, text in value.items():
        if not isinstance(text, str):
            message = (f"[{section}] {key}: {what} {text!r} is not text" if what else
                       f"[{section}] {key} should be text in quotes, not {text!r}")
            problems.append(Problem("(study file)", message, fix="put the value in quotes"))
            continue
        out[str(key).strip()] = text
    return out


def _kpi_measure(where: str, item: Any, known_flags: set[str], problems: list[Problem]) -> KpiMeasure | None:
    """One ``[[kpi.measures]]`` table, checked (problems are added); None when it is not a table."""
    if not isinstance(item, Mapping):
        problems.append(Problem("(study file)", f"[{where}] should be a table of label, by, flag, target_percent, improvement",
                                fix='write each KPI as [[kpi.measures]] followed by its keys, e.g. flag = "dv"'))
        return None
    _check_keys(where, item, _MEASURE_KEYS, problems)
    if item.get("by") is not None and item.get("flag") is not None:
        problems.append(Problem("(study file)", f"[{where}] has both by and flag",
                                fix="track a rate by a column or among people with a flag: give one of them, or two measures"))
    flag = item.get("flag")
    if isinstance(flag, str) and flag not in known_flags:
        problems.append(Problem("(study file)", f"[{where}] flag = {flag!r} is not a flag",
                                fix=f"use one of the six ({', '.join(FLAGS)}) or a flag declared in [flags]"))
    target = item.get("target_percent")
    if isinstance(target, (int, float)) and not isinstance(target, bool) and not 0 <= target <= 100:
        problems.append(Problem("(study file)", f"[{where}] target_percent = {target!r} is not a percentage",
                                fix="give the target as a percentage between 0 and 100, e.g. target_percent = 40"))
    improvement = item.get("improvement", "down")
    if isinstance(improvement, str) and improvement not in ("down", "up"):
        problems.append(Problem("(study file)", f"[{where}] improvement = {improvement!r} is not a direction",
                                fix='use "down" (lower is better, as for reoffending) or "up" (higher is better)'))
    chart = item.get("chart", "auto")
    if isinstance(chart, str) and chart not in CHART_KINDS:
        problems.append(Problem("(study file)", f"[{where}] chart = {chart!r} is not a chart",
                                fix='use "auto" (a p-chart, or an XmR chart when denominators are large), "p" or "xmr"'))
    try:
        return KpiMeasure(label=item.get("label"), by=item.get("by"), flag=flag,
                          target_percent=None if target is None else float(target), improvement=str(improvement),
                          chart=str(chart))
    except (TypeError, ValueError):  # a wrong type, already or soon reported by a problem: the section is not used
        return None


def _kpi(section: Any, flag_labels: Mapping[str, str], problems: list[Problem]) -> Kpi | None:
    """The ``[kpi]`` section, checked (problems are added, not raised); None when the study has none."""
    if section is None:
        return None
    if not isinstance(section, Mapping):
        problems.append(Problem("(study file)", "[kpi] should be a table", fix="see docs/study-file.md, section [kpi]"))
        return None
    before = len(problems)
    _check_keys("kpi", section, _KPI_KEYS, problems)
    frequency = section.get("frequency", "quarter")
    if isinstance(frequency, str) and frequency not in KPI_FREQUENCIES:
        problems.append(Problem("(study file)", f"[kpi] frequency = {frequency!r} is not a frequency",
                                fix=f"use one of {', '.join(repr(f) for f in KPI_FREQUENCIES)}"))
    waiting = section.get("waiting_months")
    if isinstance(waiting, int) and not isinstance(waiting, bool) and waiting < 0:
        problems.append(Problem("(study file)", "[kpi] waiting_months should be a whole number of months, 0 or more",
                                fix="e.g. waiting_months = 6 (proven reoffending: offences proven within a further 6 months)"))
    extracted = section.get("extracted")
    if isinstance(extracted, str):
        try:
            extracted = _dt.date.fromisoformat(extracted)
        except ValueError:
            problems.append(Problem("(study file)", f"[kpi] extracted = {extracted!r} is not a date",
                                    fix="write the date the data were extracted as YYYY-MM-DD, e.g. extracted = 2018-03-31"))
    known_flags = {*FLAGS, *flag_labels}
    measures: list[KpiMeasure] = []
    raw = section.get("measures", [{}])
    for i, item in enumerate(raw if isinstance(raw, list) else [], 1):
        measure = _kpi_measure(f"kpi.measures {i}", item, known_flags, problems)
        if measure is not None and len(problems) == before:
            measures.append(measure)
    if isinstance(raw, list) and not raw:
        problems.append(Problem("(study file)", "[kpi] measures is empty", fix="leave it out to track the overall rate, or add [[kpi.measures]]"))
    if len(problems) > before:
        return None
    return Kpi(date=section.get("date"), frequency=frequency, baseline=section.get("baseline"),
               extracted=extracted.isoformat() if isinstance(extracted, _dt.date) else None,
               waiting_months=waiting, measures=tuple(measures))


def _impact(section: Any, problems: list[Problem]) -> Impact | None:
    """The ``[impact]`` section, checked (problems are added, not raised); None when the study has none.

    Examples
    --------
    >>> problems = []
    >>> _impact({"caliper": -1}, problems), [p.message for p in problems]
    (None, ['[impact] has no treatment', '[impact] caliper = -1 is not a positive number of standard deviations'])
    """
    if section is None:
        return None
    if not isinstance(section, Mapping):
        problems.append(Problem("(study file)", "[impact] should be a table", fix="see docs/study-file.md, section [impact]"))
        return None
    before = len(problems)
    _check_keys("impact", section, _IMPACT_KEYS, problems)
    treatment = section.get("treatment")
    if treatment is None or (isinstance(treatment, str) and not treatment.strip()):
        problems.append(Problem("(study file)", "[impact] has no treatment",
                                fix='name the 0/1 column marking who took part, e.g. treatment = "took_part" (recode Y/N in [values])'))
    covariates = section.get("covariates")
    if isinstance(covariates, list):
        if not covariates or not all(isinstance(c, str) and c for c in covariates):
            problems.append(Problem("(study file)", "[impact] covariates should be a list of column names in quotes",
                                    fix='e.g. covariates = ["sex", "age_band", "substance_misuse"], or leave it out for the '
                                        "[model] adjust columns and the flags"))
        elif isinstance(treatment, str) and treatment in covariates:
            problems.append(Problem("(study file)", f"[impact] covariates include the treatment {treatment!r}",
                                    fix="leave the treatment out of the covariates: the score models who takes part from the others"))
    caliper = section.get("caliper", 0.2)
    if isinstance(caliper, (int, float)) and not isinstance(caliper, bool) and not caliper > 0:
        problems.append(Problem("(study file)", f"[impact] caliper = {caliper!r} is not a positive number of standard deviations",
                                fix="give the caliper in standard deviations of the logit of the score, e.g. caliper = 0.2 (the default)"))
    seed = section.get("seed", 0)
    if isinstance(seed, int) and not isinstance(seed, bool) and seed < 0:
        problems.append(Problem("(study file)", f"[impact] seed = {seed!r} is negative", fix="give a whole number 0 or more, e.g. seed = 1"))
    if len(problems) > before:
        return None
    return Impact(treatment=str(treatment), covariates=tuple(covariates) if covariates is not None else None,
                  caliper=float(caliper), replacement=bool(section.get("replacement", False)),
                  label=section.get("label", "the programme"), seed=int(seed))


def _filter_keep(filt: Any, problems: list[Problem]) -> str | None:
    """``[filter] keep``, checked (problems are added); None when there is none or it is unusable."""
    if not isinstance(filt, Mapping):
        problems.append(Problem("(study file)", "[filter] should be a table", fix='write [filter] keep = "expression"'))
        return None
    extra = [k for k in filt if k != "keep"]
    if extra:
        problems.append(Problem("(study file)", f"[filter] has unknown key(s) {extra}", fix='write [filter] keep = "expression"'))
    keep = filt.get("keep")
    if keep is not None and not isinstance(keep, str):
        problems.append(Problem("(study file)", "[filter] keep should be an expression in quotes", fix='e.g. keep = "age >= 18"'))
        return None
    return keep


def _options_checked(options: Mapping[str, Any], problems: list[Problem]) -> tuple[str, tuple[int, ...]]:
    """``[options] missing_flags`` and ``age_bands``, checked (problems are added; a bad age band list falls back to OGRS3's)."""
    policy = str(options.get("missing_flags", "absent"))
    if policy not in MISSING_FLAG_POLICIES:
        problems.append(Problem("(study file)", f"[options] missing_flags = {policy!r} is not a policy", fix=f"use one of {', '.join(MISSING_FLAG_POLICIES)}"))
    age_bands = tuple(options.get("age_bands", OGRS3_AGE_EDGES))
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in age_bands) or list(age_bands) != sorted(set(age_bands)) or not age_bands:
        problems.append(Problem("(study file)", f"[options] age_bands should be increasing whole numbers (lower edges), not {list(age_bands)}",
                                fix="e.g. age_bands = [18, 21, 25, 30, 35, 40, 50]"))
        age_bands = OGRS3_AGE_EDGES
    return policy, age_bands


def study_from_mapping(spec: Mapping[str, Any], *, source: str | None = None) -> Study:
    """A :class:`Study` from the parsed TOML (or an equivalent dict), checked.

    Raises
    ------
    CohortError
        Listing every problem with the file: unknown sections or keys, wrong
        types, unknown policies.

    Examples
    --------
    >>> study_from_mapping({"study": {"title": "Rearrest"}}).title
    'Rearrest'
    >>> study_from_mapping({"stduy": {}})
    Traceback (most recent call last):
    ...
    analysis.errors.CohortError: The cohort 'study file' cannot be used: 1 problem found.
      1. (study file): unknown section(s) [stduy]. Fix: use only [study], [columns], [values], [derive], [filter], [flags], [model], [kpi], [impact], [options] (docs/study-file.md)
    """
    problems: list[Problem] = []
    name = source or "study file"
    unknown = [s for s in spec if s not in _SECTIONS]
    if unknown:
        problems.append(Problem("(study file)", f"unknown section(s) {', '.join('[' + s + ']' for s in unknown)}",
                                fix=f"use only {', '.join('[' + s + ']' for s in _SECTIONS)} (docs/study-file.md)"))
    head = spec.get("study", {}) or {}
    if not isinstance(head, Mapping):
        problems.append(Problem("(study file)", "[study] should be a table", fix="see docs/study-file.md"))
        head = {}
    _check_keys("study", head, _STUDY_KEYS, problems)
    model = spec.get("model", {}) or {}
    _check_keys("model", model, _MODEL_KEYS, problems)
    options = spec.get("options", {}) or {}
    _check_keys("options", options, _OPTION_KEYS, problems)

    columns = _string_table("columns", spec.get("columns", {}), problems)
    raw_derive = spec.get("derive", {}) or {}
    if isinstance(raw_derive, Mapping):  # TOML: unemployed = 0 is the constant 0
        raw_derive = {k: str(v) if isinstance(v, (bool, int, float)) else v for k, v in raw_derive.items()}
    derive = _string_table("derive", raw_derive, problems, what="the derive expression")
    flag_labels = _string_table("flags", spec.get("flags", {}), problems)
    values = spec.get("values", {}) or {}
    if not isinstance(values, Mapping) or any(not isinstance(v, Mapping) for v in values.values()):
        problems.append(Problem("(study file)", "[values.COLUMN] sections should be tables of \"value in the file\" = new value",
                                fix="e.g. [values.reoffended] Y = 1 and N = 0"))
        values = {}
    keep = _filter_keep(spec.get("filter", {}) or {}, problems)
    policy, age_bands = _options_checked(options, problems)
    published = head.get("published") or None
    if published and published not in PUBLISHED_REFERENCES:
        problems.append(Problem("(study file)", f"[study] published = {published!r} is not a known published reference",
                                fix=f"use one of {', '.join(PUBLISHED_REFERENCES)}, or leave it out"))
    follow_up = head.get("follow_up_months", 12)
    if isinstance(follow_up, int) and follow_up <= 0:
        problems.append(Problem("(study file)", "[study] follow_up_months should be a positive number of months", fix="e.g. 12 or 36"))
    for key in ("flags", "adjust", "expected"):
        items = model.get(key)
        if items is not None and not all(isinstance(i, str) for i in items):
            problems.append(Problem("(study file)", f"[model] {key} should be a list of column names in quotes", fix=f'e.g. {key} = ["sex", "age_band"]'))
    interactions = model.get("interactions", [])
    for term in interactions or []:
        if not isinstance(term, str) or term.count(":") != 1:
            problems.append(Problem("(study file)", f"[model] interactions: {term!r} is not of the form \"flag:column\"", fix='e.g. interactions = ["dv:area"]'))
    kpi = _kpi(spec.get("kpi"), flag_labels, problems)
    impact = _impact(spec.get("impact"), problems)
    if problems:
        raise CohortError(name, problems)

    date = head.get("date")
    return Study(
        title=head.get("title", Study.title),
        organisation=head.get("organisation"),
        author=head.get("author"),
        date=date.isoformat() if isinstance(date, _dt.date) else date,
        version=str(head["version"]) if "version" in head else None,
        data_source=head.get("data_source"),
        extract=head.get("extract"),
        outcome=head.get("outcome", DEFAULT_OUTCOME),
        event=head.get("event", "reoffended"),
        follow_up_months=int(follow_up),
        area_label=head.get("area_label", "area"),
        area_label_plural=head.get("area_label_plural"),
        period=head.get("period"),
        expected_label=head.get("expected_label", Study.expected_label),
        published=published,
        synthetic=bool(head.get("synthetic", False)),
        columns=columns,
        values={str(k): {str(kk).strip(): vv for kk, vv in v.items()} for k, v in values.items()},
        derive=derive,
        filter=keep,
        flag_labels=flag_labels,
        model_flags=tuple(model["flags"]) if "flags" in model else None,
        adjust=tuple(model["adjust"]) if "adjust" in model else None,
        interactions=tuple(interactions or ()),
        expected_casemix=tuple(model["expected"]) if "expected" in model else None,
        missing_flags=policy,
        delimiter=options.get("delimiter"),
        decimal=options.get("decimal"),
        encoding=options.get("encoding"),
        sheet=options.get("sheet"),
        age_bands=age_bands,
        kpi=kpi,
        impact=impact,
        source=source,
    )


def read_study(path: str | Path | None) -> Study:
    """Read and check a study (or mapping) file; ``None`` gives the defaults.

    Examples
    --------
    >>> read_study(None).outcome
    'Proven reoffending within 12 months'
    """
    if path is None:
        return Study()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CohortError(str(path), [Problem("(study file)", "the study file does not exist", fix="check the path given as --study (or --mapping)")]) from None
    except (UnicodeDecodeError, IsADirectoryError):
        raise CohortError(str(path), [Problem("(study file)", "the study file is not a UTF-8 text file", fix="save it as UTF-8 text (TOML)")]) from None
    try:
        spec = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CohortError(str(path), [Problem("(study file)", f"the study file is not valid TOML: {exc}",
                                              fix="correct the TOML syntax; see docs/study-file.md")]) from None
    return study_from_mapping(spec, source=str(path))
