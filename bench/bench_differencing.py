"""Benchmark: the differencing audit across the count tables of one paper.

A seeded synthetic cohort (25 areas of very different sizes, 2 sexes, 8 age
bands, 7 flags, 20 offence groups, a reoffending outcome) is tabulated into
the tables of a typical evidence paper, each with ``n`` and ``reoffenders``:

* area x sex x age band, area x sex, area x age band, area, sex x age band,
* each of 7 flags by area (complete: flagged and not flagged rows),
* offence group, and the grand total.

The primary rule (counts below 10, zeros included; non-events below 10) is
applied by :func:`analysis.differencing.audit_differencing` itself, which then
adds secondary suppression across the tables. The script prints the number of
tables, hidden cells before and after, the LP size and the wall and CPU time of
the audit, and checks the result with :func:`feasible_ranges`.

Usage::

    .venv/bin/python bench/bench_differencing.py            # the typical paper
    .venv/bin/python bench/bench_differencing.py --people 4000 --areas 30

Not a test.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from analysis.differencing import CountTable, _Paper, audit_differencing, feasible_ranges
from analysis.disclosure import DisclosureLog


def cohort(people: int, areas: int, seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weights = rng.gamma(3.0, size=areas)
    frame = pd.DataFrame({
        "area": rng.choice([f"area{i:02d}" for i in range(areas)], people, p=weights / weights.sum()),
        "sex": rng.choice(["Male", "Female"], people, p=[0.85, 0.15]),
        "age_band": rng.choice([f"age{i}" for i in range(8)], people, p=np.array([3, 5, 6, 6, 5, 4, 2, 1]) / 32),
        "offence_group": rng.choice([f"off{i:02d}" for i in range(20)], people, p=rng.dirichlet(np.ones(20))),
    })
    for k in range(7):
        frame[f"flag{k}"] = (rng.random(people) < 0.05 + 0.05 * k).astype(int)
    frame["reoffended"] = (rng.random(people) < 0.3 + 0.04 * frame[[f"flag{k}" for k in range(7)]].sum(axis=1)).astype(int)
    return frame


def tables(frame: pd.DataFrame) -> list[CountTable]:
    def tab(name: str, keys: list[str]) -> CountTable:
        if keys:
            data = frame.groupby(keys, observed=True).agg(n=("reoffended", "size"), reoffenders=("reoffended", "sum"))
            data = data.reset_index()
        else:
            data = pd.DataFrame({"n": [len(frame)], "reoffenders": [int(frame["reoffended"].sum())]})
        return CountTable(name, data, tuple(keys), ("n", "reoffenders"))

    out = [tab("by area, sex and age band", ["area", "sex", "age_band"]), tab("by area and sex", ["area", "sex"]),
           tab("by area and age band", ["area", "age_band"]), tab("by area", ["area"]),
           tab("by sex and age band", ["sex", "age_band"])]
    out += [tab(f"flag{k} by area", ["area", f"flag{k}"]) for k in range(7)]
    out += [tab("by offence group", ["offence_group"]), tab("total", [])]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=80000)
    parser.add_argument("--areas", type=int, default=25)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    paper = tables(cohort(args.people, args.areas, args.seed))
    log = DisclosureLog()
    times = []
    for _ in range(args.repeat):
        log = DisclosureLog()
        w0, c0 = time.perf_counter(), time.process_time()
        safe = audit_differencing(paper, log=log)
        times.append((time.perf_counter() - w0, time.process_time() - c0))
    frame = log.to_frame()
    structure = _Paper(safe, 10**9)
    full = args.areas * 2 * 8 * 2 ** 7 * 20 * 2  # every key level x reoffended or not
    print(f"tables: {len(paper)}; published counts: {sum(len(t.data) * len(t.counts) for t in paper)}")
    print(f"primary suppressions: {(frame['rule'] == 'primary').sum()}; "
          f"secondary: {(frame['rule'] == 'secondary').sum()}")
    print(f"LP unknowns: {sum(u.nvar for u in structure.universes):,} "
          f"(the full cross-classification would have {full:,})")
    for wall, cpu in times:
        print(f"audit: {wall:.2f} s wall, {cpu:.2f} s CPU")
    print(f"best: {min(w for w, _ in times):.2f} s wall")
    ranges = feasible_ranges(safe)
    print(f"hidden cells (incl. non-events): {len(ranges)}; narrowest range: {ranges['width'].min()}")


if __name__ == "__main__":
    main()
