"""`python -m rnnlab.report SWEEP_DIR [--out DIR]`: a sweep directory as report.md, jobs.csv and PNG plots.

Safe on a sweep that is still running or partly failed: it reads what is on disk now and changes nothing there
but its own outputs (in SWEEP_DIR unless --out says otherwise).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from rnnlab.record.formatting import markdown
from rnnlab.record.jobs import CORRUPT
from rnnlab.sweeps.plots import final_loss_plot, grad_through_time_plot, learning_curves_plot
from rnnlab.sweeps.table import sweep_table
from rnnlab.sweeps.theory import measured_vs_predicted

CSV, MARKDOWN = "jobs.csv", "report.md"
# The Markdown table's columns after the swept keys (the CSV keeps every column, the job's directory included).
SUMMARY_COLUMNS = [
    "status",
    "steps",
    "final_val_loss",
    "best_val_loss",
    "baseline",
    "final_over_baseline",
    "final_val_acc",
    "grad_log10_ratio_start",
    "grad_log10_ratio_end",
    "wall_time_s",
]


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def markdown_table(table: pd.DataFrame, columns: list[str]) -> str:
    """A GitHub-flavoured Markdown table of `columns` (pandas' to_markdown needs `tabulate`; this needs nothing)."""
    return markdown(columns, [[_cell(row[c]) for c in columns] for _, row in table.iterrows()])


def write_report(sweep_dir: str | Path, out: str | Path | None = None) -> dict[str, Path]:
    """Write the CSV, the Markdown report and the plots; return their paths by kind."""
    sweep_dir = Path(sweep_dir)
    table, scalars = sweep_table(sweep_dir)  # first: a mistyped SWEEP_DIR must not be created
    out = Path(out) if out is not None else sweep_dir
    out.mkdir(parents=True, exist_ok=True)
    written = {"csv": out / CSV}
    table.to_csv(written["csv"], index=False)
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
    parts = [
        f"# Sweep {sweep_dir}",
        "",
        f"{len(table)} jobs: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none yet") + ".",
        f"Shared overrides: `{fixed}`." if fixed else "",
        "Losses are validation losses; `final_over_baseline` < 1 means the job beat the best constant predictor. "
        "`grad_log10_ratio_*`: log10 ‖dL/dh_first‖/‖dL/dh_last‖ of the first layer at the first and last logged "
        "step (< 0: gradients vanish towards the start of the sequence, > 0: they explode).",
        "",
        markdown_table(table, columns) if len(table) else "(no jobs yet)",
        "",
    ]
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
    written["markdown"] = out / MARKDOWN
    written["markdown"].write_text("\n".join(parts) + "\n")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnlab.report", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", help="a multirun's sweep directory (hydra.sweep.dir)")
    parser.add_argument("--out", help="where to write the report (default: the sweep directory)")
    args = parser.parse_args(argv)
    try:
        written = write_report(args.sweep_dir, args.out)
    except FileNotFoundError as error:
        print(f"rnnlab.report: {error}", file=sys.stderr)
        return 2
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0
