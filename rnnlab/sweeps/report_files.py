"""`python -m rnnlab.report SWEEP_DIR [SWEEP_DIR ...] [--out DIR]`: sweeps as report.md, jobs.csv and PNG plots.

Safe on a sweep that is still running or partly failed: it reads what is on disk now and changes nothing there
but its own outputs (in SWEEP_DIR unless --out says otherwise). A sweep with a `seed` axis is reported per group
(the other varied keys) with each group's mean and spread; several sweeps are compared side by side, their groups
labelled by sweep (`--out` required). Every file is written atomically, and nothing in jobs.csv, report.md or the
figures depends on timing (wall times go to timings.csv), so re-reporting an unchanged sweep rewrites the same bytes.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from rnnlab.record.atomic import write_atomically
from rnnlab.record.formatting import markdown
from rnnlab.record.jobs import CORRUPT
from rnnlab.sweeps.compare import sweep_tables
from rnnlab.sweeps.plots import final_loss_plot, grad_through_time_plot, learning_curves_plot
from rnnlab.sweeps.spread import group_keys, spread_cell, spread_table, with_bound
from rnnlab.sweeps.theory import measured_vs_predicted

CSV, MARKDOWN, TIMINGS = "jobs.csv", "report.md", "timings.csv"
# Columns that change when only the machine's speed does: kept out of jobs.csv and report.md (timings.csv has them).
TIMING_COLUMNS = ["wall_time_s"]
# The Markdown table's columns after the swept keys (the CSV keeps every column, the job's directory included).
SUMMARY_COLUMNS = [
    "status",
    "steps",
    "final_val_loss",
    "best_val_loss",
    "baseline",
    "final_over_baseline",
    "best_over_baseline",
    "final_val_acc",
    "grad_log10_ratio_start",
    "grad_log10_per_step_start",
    "grad_log10_ratio_end",
]
# The group table's metrics: each as "mean ± sd (min – max)" over the group's completed seeds.
GROUP_METRICS = [
    "final_over_baseline",
    "best_over_baseline",
    "final_val_acc",
    "grad_log10_ratio_start",
    "grad_log10_per_step_start",
]


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def _bounded_cells(table: pd.DataFrame) -> pd.DataFrame:
    """The gradient ratios as text, "< −307.7" where float64 could only bound them: a bound is never a value."""
    shown = table.astype(object)
    for column in ("grad_log10_ratio_start", "grad_log10_ratio_end", "grad_log10_per_step_start"):
        bound_column = column.replace("per_step", "ratio") + "_bound"
        if column in table and bound_column in table:
            shown[column] = [
                v
                if b is None or (isinstance(b, float) and math.isnan(b)) or isinstance(v, str) or _cell(v) == ""
                else with_bound(_cell(v), int(b))
                for v, b in zip(table[column], table[bound_column])
            ]
    return shown


def group_markdown(table: pd.DataFrame, metrics: list[str] | None = None) -> str:
    """The groups over seeds: keys, seeds, completed, and each metric's "mean ± sd (min – max)"."""
    metrics = [m for m in (metrics or GROUP_METRICS) if m in table.columns and table[m].notna().any()]
    groups = spread_table(table, metrics)
    keys = groups.attrs["keys"]
    shown = groups[keys + ["seeds", "completed"]].astype(object)
    for metric in metrics:
        shown[metric] = [spread_cell(row, metric) for _, row in groups.iterrows()]
    return markdown_table(shown, keys + ["seeds", "completed"] + metrics)


def _write_text(path: Path, text: str) -> Path:
    write_atomically(path, lambda f: f.write(text.encode()))
    return path


def markdown_table(table: pd.DataFrame, columns: list[str]) -> str:
    """A GitHub-flavoured Markdown table of `columns` (pandas' to_markdown needs `tabulate`; this needs nothing)."""
    return markdown(columns, [[_cell(row[c]) for c in columns] for _, row in table.iterrows()])


def write_report(sweep_dirs, out: str | Path | None = None) -> dict[str, Path]:
    """Write the CSV, the Markdown report and the plots of one sweep (or several, compared); return their paths."""
    dirs = [Path(d) for d in ([sweep_dirs] if isinstance(sweep_dirs, (str, Path)) else sweep_dirs)]
    table, scalars = sweep_tables(dirs)  # first: a mistyped SWEEP_DIR must not be created
    if out is None and len(dirs) > 1:
        raise ValueError("--out is required when comparing several sweeps (where should the comparison go?)")
    out = Path(out) if out is not None else dirs[0]
    out.mkdir(parents=True, exist_ok=True)
    timed = [c for c in TIMING_COLUMNS if c in table.columns]
    written = {"csv": _write_text(out / CSV, table.drop(columns=timed).to_csv(index=False))}
    if timed:
        _write_text(out / TIMINGS, table[["job", *timed]].to_csv(index=False))
    plots: dict[str, Path] = {}
    if len(table):
        drawn = {
            "final_loss": final_loss_plot(table, out / "final_loss.png"),
            "grad_through_time": grad_through_time_plot(table, scalars, out / "grad_through_time.png"),
            "learning_curves": learning_curves_plot(table, scalars, out / "learning_curves.png"),
        }
        plots = {k: v for k, v in drawn.items() if v is not None}
    written.update(plots)

    varied = table.attrs.get("varied", [])
    columns = varied + [c for c in SUMMARY_COLUMNS if c in table.columns]
    counts = table["status"].value_counts().to_dict() if len(table) else {}
    fixed = " ".join(f"{k}={v}" for k, v in table.attrs.get("fixed", {}).items())
    title = ", ".join(str(d) for d in dirs)
    parts = [
        f"# Sweep{'s' if len(dirs) > 1 else ''} {title}",
        "",
        f"{len(table)} jobs: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none yet") + ".",
        f"Shared overrides: `{fixed}`." if fixed else "",
        "Losses are validation losses; `final_over_baseline` < 1 means the job beat the best constant predictor "
        "(`best_over_baseline`: its best validation loss). `grad_log10_ratio_*`: log10 ‖dL/dh_first‖/‖dL/dh_last‖ "
        "of the first layer, the last step being the last one that carries loss, at the first and last logged "
        "step (< 0: gradients vanish towards the start of the sequence, > 0: they explode); "
        '`grad_log10_per_step_start` is the same per step of the scored span. Computed in float64: "< x" '
        "means the gradient fell below float64's range, so x is only a bound.",
        "",
    ]
    if len(table) and (len(group_keys(table)) < len(varied) or len(dirs) > 1):
        parts += [
            "## Groups",
            "",
            "Each group's jobs differ only in `seed`: mean ± sd (min – max) over its completed jobs.",
            "",
            group_markdown(table),
            "",
            "## Jobs",
            "",
        ]
    parts += [markdown_table(_bounded_cells(table), columns) if len(table) else "(no jobs yet)", ""]
    failures = table[table["status"].isin(["failed", CORRUPT])] if len(table) else table
    if len(failures):
        parts += (
            ["## Failures", ""] + [f"- `{row.job}` ({row.status}): {row.error}" for row in failures.itertuples()] + [""]
        )
    theory = measured_vs_predicted(table, scalars) if len(table) else None
    if theory is not None and (theory["theory"] != "outside the theory").any():
        parts += [
            "## Gradient at initialisation: measured and the mean-field theory (dashed in the gradient figure)",
            "",
            markdown_table(theory, list(theory.columns)),
            "",
        ]
    parts += [f"![{name}]({path.name})" for name, path in plots.items()]
    written["markdown"] = _write_text(out / MARKDOWN, "\n".join(parts) + "\n")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnlab.report", description=__doc__.splitlines()[0])
    parser.add_argument(
        "sweep_dirs", nargs="+", metavar="SWEEP_DIR", help="a multirun's sweep directory; several: compared"
    )
    parser.add_argument("--out", help="where to write the report (default: the sweep directory; several: required)")
    args = parser.parse_args(argv)
    try:
        written = write_report(args.sweep_dirs, args.out)
    except (FileNotFoundError, ValueError) as error:
        print(f"rnnlab.report: {error}", file=sys.stderr)
        return 2
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0
