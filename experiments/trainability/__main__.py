"""`python -m experiments.trainability [--quick]`: the trainability map from the study's sweep, with the
mean-field depth scale drawn over it (Chen, Pennington & Schoenholz 2018).

Run the sweep first: `python -m rnnlab.train -m experiment=trainability[_quick]` (multirun/trainability[_quick]).
Writes experiments/trainability/ (or trainability/quick/): jobs.csv, trainability.png, report.md, and the sweep's
own report (`python -m rnnlab.report`: its gradient figure carries the theory's line per job).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from experiments.theory_study import ROOT, write_atomically
from rnnlab.sweeps.report_files import write_report
from rnnlab.sweeps.table import sweep_table
from rnnlab.theory import chi_star, depth_scale

HERE = Path(__file__).resolve().parent
MEAN_SQUARE = 1 / 6  # the adding task's inputs per feature: (E[U(0,1)²] + a marker's 2/T) / 2 -> 1/6 for long T
MULTIPLES = (1, 6)  # T = ξ and T = 6ξ: Schoenholz et al. 2017 found training fails beyond about 6ξ


def xi(sigma_w: float) -> float:
    """|ξ| = 1/|ln χ*| for tanh at σ_b = 0 and the adding task's input mean square (steps)."""
    return abs(depth_scale(chi_star(MEAN_SQUARE, sigma_w, 0.0, "tanh")))


def trainability_figure(table: pd.DataFrame, path: Path, title: str) -> None:
    done = table[table["status"] == "completed"]
    mean = done.groupby(["seq_len", "init_scale"])["final_over_baseline"].mean().unstack("init_scale")
    ws, ts = list(mean.columns), list(mean.index)
    fig = Figure(figsize=(6.4, 4.4), dpi=100)
    ax = fig.add_subplot()
    values = mean.to_numpy(dtype=float)
    mesh = ax.pcolormesh(ws, ts, values, shading="nearest", cmap="viridis_r", norm=LogNorm(0.05, 3.0))
    fig.colorbar(mesh, ax=ax, label="final val loss / baseline (seed mean; < 1 learned)")
    for (i, t), (j, w) in ((a, b) for a in enumerate(ts) for b in enumerate(ws)):
        ax.text(w, t, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=7, color="w")
    fine = np.linspace(min(ws), max(ws), 200)
    scale = np.array([xi(w) for w in fine])
    for k, style in zip(MULTIPLES, ("-", "--")):
        ax.plot(fine, k * scale, "r" + style, linewidth=1.5, label=f"theory: T = {k} xi, xi = 1/|ln chi*|")
    ax.set_yscale("log")
    ax.set_yticks(ts, [f"{t:g}" for t in ts])
    ax.minorticks_off()
    ax.set_ylim(min(ts) / 1.6, max(ts) * 1.6)
    ax.set_xlim(min(ws) - 0.3, max(ws) + 0.3)
    ax.set_xlabel("sigma_w (init=gaussian, tanh, sigma_b = 0)")
    ax.set_ylabel("sequence length T")
    ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="x-small", loc="upper right")
    fig.tight_layout()
    fig.savefig(path)


def summary(table: pd.DataFrame, study: str) -> str:
    done = table[table["status"] == "completed"]
    grouped = done.groupby(["init_scale", "seq_len"])["final_over_baseline"]
    stats = grouped.agg(["mean", "std", "count"]).reset_index()
    budget = int(done["steps"].max()) if len(done) else 0
    minutes = float(table["wall_time_s"].sum()) / 60
    lines = [
        f"# {study}: trainability against σ_w and sequence length",
        "",
        f"From the sweep `python -m rnnlab.train -m experiment={study}` ({len(table)} jobs, "
        f"{len(done)} completed, {minutes:.1f} min of training wall time on the shared CPU) and "
        f"`python -m experiments.trainability{' --quick' if 'quick' in study else ''}`.",
        "",
        f"Budget: {budget} Adam steps (lr 0.003, batch 64, gradient clipping 1.0), hidden_size 32, tanh, "
        "init=gaussian (W_hh ~ N(0, σ_w²/N), W_ih ~ N(0, 1/I), zero biases), the adding task.",
        "",
        "![trainability](trainability.png)",
        "",
        "| σ_w | T | final/baseline (mean ± sd over seeds) | seeds | theory ξ = 1/|ln χ*| |",
        "|---|---|---|---|---|",
    ]
    for r in stats.itertuples():
        sd = f"{r.std:.3f}" if r.count > 1 else "-"
        lines.append(f"| {r.init_scale:g} | {r.seq_len:g} | {r.mean:.3f} ± {sd} | {r.count} | {xi(r.init_scale):.2f} |")
    lines += [
        "",
        "What differs from Chen, Pennington & Schoenholz (2018): they train on MNIST read pixel by pixel with "
        "SGD for thousands of steps over a fine (σ_w, T) grid and find the trainable region bounded by a few ξ; "
        "here the task is the adding problem, the budget is a few hundred Adam steps with clipping, the width "
        "is 32 (their mean-field limit is wide), and the grid is coarse, so the map shows the trend, not the "
        "boundary. ξ is computed for σ_b = 0 and stationary inputs of the adding task's mean square (1/6).",
        "",
    ]
    return "\n".join(lines)


def run(quick: bool) -> Path:
    study = "trainability_quick" if quick else "trainability"
    out = HERE / "quick" if quick else HERE
    out.mkdir(exist_ok=True)
    sweep = ROOT / "multirun" / study
    table, _ = sweep_table(sweep)
    write_report(sweep, out)  # jobs.csv, report.md of the sweep (with the theory table), its figures
    (out / "report.md").replace(out / "sweep_report.md")
    trainability_figure(table, out / "trainability.png", f"{study}: final loss over (sigma_w, T)")
    write_atomically(
        out / "report.md", summary(table, study) + "\nThe sweep's own report: [sweep_report.md](sweep_report.md)\n"
    )
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.trainability", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the small grid (experiment=trainability_quick)")
    args = parser.parse_args(argv)
    print(f"wrote {run(args.quick)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
