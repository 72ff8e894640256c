"""Several sweeps as one table, side by side: each job labelled by its sweep, `sweep` the first varied key.

So the report's groups (every varied key but `seed`) are per sweep: the same configuration run in two sweeps (two
commits, two machines, two studies) stands as two groups, each with its own spread, in one table and one figure.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rnnlab.sweeps.table import _number, sweep_table

SWEEP = "sweep"


def labels(dirs: list[Path]) -> list[str]:
    """Each sweep's label: its directory's name, or its whole path where two names coincide."""
    names = [d.name or str(d) for d in dirs]
    return [name if names.count(name) == 1 else str(d) for name, d in zip(names, dirs)]


def sweep_tables(dirs: list[Path]) -> tuple[pd.DataFrame, dict[str, dict[str, pd.Series]]]:
    """`rnnlab.sweeps.table.sweep_table` of one sweep; of several, their rows stacked with a `sweep` column, job
    names prefixed by the sweep's label (`LABEL/JOB`, so that scalars stay apart), varied = sweep + every key any
    sweep varies, fixed = the overrides all sweeps share with the same value."""
    if len(dirs) == 1:
        return sweep_table(dirs[0])
    tables, scalars = [], {}
    varied: list[str] = []
    fixed: dict | None = None
    for label, d in zip(labels(dirs), dirs):
        table, own = sweep_table(d)
        table = table.assign(job=[f"{label}/{job}" for job in table["job"]])
        table.insert(1, SWEEP, label)
        scalars.update({f"{label}/{job}": series for job, series in own.items()})
        varied += [k for k in table.attrs.get("varied", []) if k not in varied]
        own_fixed = table.attrs.get("fixed", {})
        fixed = dict(own_fixed) if fixed is None else {k: v for k, v in fixed.items() if own_fixed.get(k) == v}
        tables.append(table)
    # a key one sweep fixes and another varies is varied in the comparison: its fixed value fills that sweep's rows
    for table in tables:
        for key, value in table.attrs.get("fixed", {}).items():
            if key in varied and key not in table:
                table[key] = _number(str(value))
    merged = pd.concat(tables, ignore_index=True)
    for key in varied:
        if key not in merged:
            merged[key] = None
    varied = [SWEEP] + varied
    merged = merged[["job"] + varied + [c for c in merged.columns if c not in varied and c != "job"]]
    merged.attrs["varied"] = varied
    merged.attrs["fixed"] = {k: v for k, v in (fixed or {}).items() if k not in varied}
    return merged, scalars
