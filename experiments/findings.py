"""A study's findings as checks on its jobs.csv: each claim names its groups, metric and the test it passes.

`experiments/STUDY/findings.yaml` lists the study's paper and its findings; `python -m experiments.report STUDY`
renders them, with the numbers measured now, into the README's measured block, and `tests/test_findings.py` checks
every one against the committed jobs.csv. A claim is stated only where the data carry it: every group it reads has
at least MIN_SEEDS completed seeds, and a comparison holds only where the groups' spreads do not overlap.

Kinds of finding (every group is a `where: {key: value}` selection of jobs, one job per seed):
- `separated`: `metric` of every job of group `low` lies below every job of group `high`;
- `overlapping`: the spreads of groups `low` and `high` overlap: at these seeds the data cannot tell them apart
  (the honest form of "no difference");
- `within`: `metric` of every job of group `where` lies in [`within`[0], `within`[1]];
- `crossing`: per seed, the `x` at which `metric` crosses 0 (interpolated in log x between the grid's bracketing
  values); every seed's crossing lies in `within`.
- `agree`: within each cell of the `by` keys (e.g. seed x bidirectional), `metric` of the jobs of `where` differs
  from the cell's first by at most `rtol` (relative): the implementations compute the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from rnnlab.sweeps.spread import COMPLETED, SEED, number, separated

MIN_SEEDS = 3
KINDS = ("separated", "overlapping", "within", "crossing", "agree")


@dataclass
class Result:
    """A finding checked: `holds`, the numbers as text (`measured`), and why it fails when it does."""

    finding: dict
    holds: bool
    measured: str
    reason: str = ""


def load(path: Path) -> dict:
    """The study's findings.yaml: `paper` (what it reproduces) and `findings` (a list), each kind known."""
    spec = yaml.safe_load(Path(path).read_text())
    for finding in spec.get("findings", []):
        if finding.get("kind") not in KINDS:
            raise ValueError(f"{path}: finding kind={finding.get('kind')!r} is invalid; allowed: {', '.join(KINDS)}")
    return spec


def select(table: pd.DataFrame, where: dict) -> pd.DataFrame:
    """The completed jobs whose columns equal `where`'s values (numbers compared as numbers)."""
    mask = table["status"] == COMPLETED
    for key, value in where.items():
        column = table[key]
        if isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            numbers = pd.to_numeric(column, errors="coerce")
            mask &= np.any([np.isclose(numbers, float(v)) for v in value], axis=0)
        elif isinstance(value, list):  # any of these values
            mask &= column.astype(str).str.lower().isin([str(v).lower() for v in value])
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            mask &= np.isclose(pd.to_numeric(column, errors="coerce"), float(value))
        else:
            mask &= column.astype(str).str.lower() == str(value).lower()
    return table[mask]


def spread_text(values: pd.Series, seeds: int | None = None) -> str:
    """The values' "mean (min – max), n seeds" ("n jobs, s seeds each" where the group pools several cells)."""
    count = f"{len(values)} seeds" if seeds in (None, len(values)) else f"{len(values)} jobs, {seeds} seeds each"
    return f"{number(values.mean(), 4)} ({number(values.min(), 4)} – {number(values.max(), 4)}), {count}"


def _group_name(where: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in where.items())


def _seeds(group: pd.DataFrame) -> int:
    return group[SEED].nunique() if SEED in group else len(group)


def crossings(table: pd.DataFrame, where: dict, metric: str, x: str) -> pd.Series:
    """Per seed, the x at which `metric` first crosses 0 from below, interpolated in log x; nan if it never does."""
    group = select(table, where)
    result = {}
    for seed, jobs in group.groupby(SEED):
        jobs = jobs.sort_values(x)
        xs, ys = jobs[x].astype(float).to_numpy(), jobs[metric].astype(float).to_numpy()
        result[seed] = math.nan
        for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
            if y0 < 0 <= y1:
                log_x = math.log(x0) + (0 - y0) * (math.log(x1) - math.log(x0)) / (y1 - y0)
                result[seed] = math.exp(log_x)
                break
    return pd.Series(result, dtype=float)


def check(finding: dict, table: pd.DataFrame) -> Result:
    """Evaluate one finding on the study's table."""
    kind, metric = finding["kind"], finding["metric"]
    bound = f"{metric}_bound"
    if kind in ("separated", "overlapping"):
        low, high = select(table, finding["low"]), select(table, finding["high"])
        measured = (
            f"{_group_name(finding['low'])}: {spread_text(low[metric])}; "
            f"{_group_name(finding['high'])}: {spread_text(high[metric])}"
        )
        groups = (low, high)
        apart = separated(low[metric], high[metric]) or separated(high[metric], low[metric])
        holds = separated(low[metric], high[metric]) if kind == "separated" else not apart
        reason = "" if holds else ("the groups' spreads overlap" if kind == "separated" else "the groups separate")
    elif kind == "within":
        group = select(table, finding["where"])
        lo, hi = finding["within"]
        measured = spread_text(group[metric], _seeds(group))
        groups = (group,)
        holds = len(group) > 0 and bool(((group[metric] >= lo) & (group[metric] <= hi)).all())
        reason = "" if holds else f"a value lies outside [{lo}, {hi}]"
    elif kind == "agree":
        group = select(table, finding["where"])
        cells = [cell[metric].astype(float) for _, cell in group.groupby(finding["by"])]
        worst = max((float((c - c.iloc[0]).abs().max() / abs(c.iloc[0])) for c in cells if len(c)), default=math.nan)
        measured = f"largest relative difference {number(worst, 2)} over {len(cells)} cells of {len(group)} jobs"
        groups = (group,)
        holds = bool(worst <= finding["rtol"]) and all(len(c) > 1 for c in cells)
        reason = "" if holds else f"a cell differs by more than rtol={finding['rtol']}"
    else:
        values = crossings(table, finding["where"], metric, finding["x"])
        lo, hi = finding["within"]
        measured = spread_text(values)
        groups = (select(table, finding["where"]),)
        holds = len(values) > 0 and bool(((values >= lo) & (values <= hi)).all())
        reason = "" if holds else f"a seed's crossing lies outside [{lo}, {hi}] (or it never crosses)"
    for group in groups:
        if bound in group and (group[bound].fillna(0) != 0).any():
            holds, reason = False, f"{metric} is only a bound for some job: a bound is not a measurement"
        if _seeds(group) < MIN_SEEDS:
            holds, reason = False, f"a group has {_seeds(group)} completed seeds (at least {MIN_SEEDS} needed)"
    return Result(finding, holds, measured, reason)


def check_all(spec: dict, table: pd.DataFrame) -> list[Result]:
    return [check(finding, table) for finding in spec.get("findings", [])]


def render(spec: dict, results: list[Result]) -> str:
    """The README's findings: each claim, the lab's measured number and spread, the paper's number beside it."""
    lines = [f"Reproduces: {spec['paper']}", ""] if spec.get("paper") else []
    lines += ["| finding | measured here (mean (min – max) over seeds) | the paper / theory |", "|---|---|---|"]
    for r in results:
        mark = "" if r.holds else f" **(does not hold: {r.reason})**"
        lines.append(f"| {r.finding['text']}{mark} | {r.measured} | {r.finding.get('paper', '—')} |")
    return "\n".join(lines)
