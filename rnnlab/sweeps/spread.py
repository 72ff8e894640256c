"""Seeds and spread: a sweep's jobs grouped by every varied key but `seed`, each group's mean, sd, min and max.

A single job's number is one draw of the seed; a claim compares groups, and holds only where their spreads do not
overlap. Every table and figure of the report reads its groups from here, so they agree on what a group is.

A metric may carry a bound column (`METRIC_bound`: 0 a value, -1 the true value is below it, +1 above it; see
`rnnlab.diagnostics.through_time`): a group with a bounded member gets a bounded mean, written "< x" or "> x".
"""

from __future__ import annotations

import math

import pandas as pd

SEED = "seed"
COMPLETED = "completed"


def group_keys(table: pd.DataFrame) -> list[str]:
    """The keys that tell groups apart: the varied keys but `seed` (a job per seed in each group)."""
    return [key for key in table.attrs.get("varied", []) if key != SEED]


def groups(table: pd.DataFrame, keys: list[str] | None = None):
    """(values tuple, sub-table) per group, in the table's order (its rows are sorted by the varied keys)."""
    keys = group_keys(table) if keys is None else keys
    if not keys:
        return [((), table)]
    return [(v if isinstance(v, tuple) else (v,), g) for v, g in table.groupby(keys, sort=False, dropna=False)]


def bound_of(group: pd.DataFrame, metric: str) -> int:
    """The side a group's statistics of `metric` are bounded on: 0 none, -1 below, +1 above (mixed: 0 and nan)."""
    column = f"{metric}_bound"
    if column not in group:
        return 0
    sides = {int(b) for b in group[column].dropna() if b != 0}
    return sides.pop() if len(sides) == 1 else (0 if not sides else 2)


def spread_table(table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """One row per group: its keys, `seeds` (jobs), `completed`, and per metric over its completed jobs
    `M_mean`, `M_sd` (sample sd; nan for one job), `M_min`, `M_max`, `M_bound`."""
    keys = group_keys(table)
    rows = []
    for values, group in groups(table, keys):
        done = group[group["status"] == COMPLETED]
        row = dict(zip(keys, values))
        row.update(seeds=len(group), completed=len(done))
        for metric in metrics:
            series = pd.to_numeric(done[metric], errors="coerce").dropna() if metric in done else pd.Series()
            row[f"{metric}_mean"] = series.mean() if len(series) else math.nan
            sd = series.std(ddof=1) if len(series) > 1 else math.nan
            # equal values give a rounding residue (1e-17), not a spread
            row[f"{metric}_sd"] = 0.0 if sd <= 1e-12 * max(abs(series.mean()), 1e-300) else sd
            row[f"{metric}_min"] = series.min() if len(series) else math.nan
            row[f"{metric}_max"] = series.max() if len(series) else math.nan
            row[f"{metric}_bound"] = bound_of(done, metric) if len(series) else 0
        rows.append(row)
    result = pd.DataFrame(rows)
    result.attrs["keys"] = keys
    return result


def number(value: float, digits: int = 3) -> str:
    """A number as a reader compares it: `digits` significant figures, a true minus sign."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}g}".replace("-", "−")


def with_bound(text: str, bound: int) -> str:
    """ "< x" / "> x" for a bounded statistic; "?" where a group is bounded on both sides (nothing is known)."""
    return {0: text, -1: f"< {text}", 1: f"> {text}"}.get(bound, "?")


def spread_cell(row, metric: str, digits: int = 4) -> str:
    """ "mean ± sd (min – max)" of a group, "value" for a single job, bounds marked; empty when nothing was measured."""
    mean, sd, lo, hi = (row[f"{metric}_{s}"] for s in ("mean", "sd", "min", "max"))
    if isinstance(mean, float) and math.isnan(mean):
        return ""
    bound = int(row[f"{metric}_bound"])
    if isinstance(sd, float) and math.isnan(sd):
        return with_bound(number(mean, digits), bound)
    low = with_bound(number(lo, digits), bound if bound == -1 else 0)
    high = with_bound(number(hi, digits), bound if bound == 1 else 0)
    return f"{with_bound(number(mean, digits), bound)} ± {number(sd, 2)} ({low} – {high})"


def separated(low: pd.Series, high: pd.Series) -> bool:
    """True when every value of `low` lies below every value of `high`: their spreads do not overlap."""
    return len(low) > 0 and len(high) > 0 and float(low.max()) < float(high.min())
