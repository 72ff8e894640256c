"""The edge-of-chaos figure and report: the measured rate over (σ_w, σ_b) with the theory's critical lines."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from rnnlab.theory import critical_line


def _zero_crossing(xs: np.ndarray, ys: np.ndarray) -> float:
    """The first x where ys (increasing in x, roughly) crosses 0, by linear interpolation (nan: none)."""
    for i in range(len(xs) - 1):
        if ys[i] < 0 <= ys[i + 1]:
            return float(xs[i] + (xs[i + 1] - xs[i]) * (-ys[i]) / (ys[i + 1] - ys[i]))
    return math.nan


def crossings(table: pd.DataFrame) -> pd.DataFrame:
    """Per σ_b: the measured critical σ_w (per seed, then mean and std), the finite-time prediction's, and χ* = 1's."""
    m = float(table["input_mean_square"].mean())
    rows = []
    for sigma_b, group in table.groupby("sigma_b"):
        per_seed = [
            _zero_crossing(g["sigma_w"].to_numpy(), g["measured_rate"].to_numpy())
            for _, g in group.sort_values("sigma_w").groupby("seed")
        ]
        mean = group.groupby("sigma_w")[["predicted_rate"]].mean().reset_index()
        rows.append(
            {
                "sigma_b": sigma_b,
                "measured_critical_mean": float(np.nanmean(per_seed)),
                "measured_critical_std": float(np.nanstd(per_seed, ddof=1)) if len(per_seed) > 1 else math.nan,
                "seeds": int(np.isfinite(per_seed).sum()),
                "predicted_finite_T": _zero_crossing(mean["sigma_w"].to_numpy(), mean["predicted_rate"].to_numpy()),
                "chi_star_1": float(critical_line([sigma_b], m, "tanh")[0]),
            }
        )
    return pd.DataFrame(rows)


def phase_figure(table: pd.DataFrame, path: Path, title: str) -> None:
    mean = table.groupby(["sigma_b", "sigma_w"])[["measured_rate", "predicted_rate"]].mean()
    spread = table.groupby(["sigma_b", "sigma_w"])["measured_rate"].std()
    ws, bs = sorted(table["sigma_w"].unique()), sorted(table["sigma_b"].unique())
    grid = mean["measured_rate"].unstack("sigma_w").loc[bs, ws].to_numpy()
    fig = Figure(figsize=(10, 4.2), dpi=100)
    ax, bx = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    limit = max(float(np.nanmax(np.abs(grid))), 1e-3)
    mesh = ax.pcolormesh(ws, bs, grid, shading="nearest", cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -limit, limit))
    fig.colorbar(mesh, ax=ax, label="measured log10 rate per step (seed mean)")
    fine = np.linspace(min(bs), max(bs), 60)
    m = float(table["input_mean_square"].mean())
    ax.plot(critical_line(fine, m, "tanh"), fine, "k-", linewidth=2, label="theory: chi* = 1 (stationary inputs)")
    found = crossings(table)
    ax.plot(found["predicted_finite_T"], found["sigma_b"], "k--", label="theory: predicted ratio 0 (these inputs, T)")
    ax.errorbar(
        found["measured_critical_mean"], found["sigma_b"], xerr=found["measured_critical_std"], fmt="o",
        color="gold", mec="k", label="measured: rate 0 (mean ± sd of seeds)",
    )  # fmt: skip
    ax.set_xlim(min(ws) - 0.1, max(ws) + 0.1)
    ax.set_xlabel("sigma_w (init=gaussian: W_hh ~ N(0, sigma_w^2/N))")
    ax.set_ylabel("sigma_b")
    ax.set_title(f"{title}: ordered (blue) | chaotic (red)", fontsize="medium")
    ax.set_ylim(min(bs) - 0.5 * (bs[1] - bs[0]), max(bs) + 0.5 * (bs[1] - bs[0]))
    fig.legend(*ax.get_legend_handles_labels(), fontsize="x-small", loc="lower left", ncols=3)
    pairs = mean.reset_index()
    bx.errorbar(
        pairs["predicted_rate"], pairs["measured_rate"], yerr=spread.reindex(mean.index).to_numpy(), fmt=".",
        alpha=0.7, label="grid points (error bar: sd of seeds)",
    )  # fmt: skip
    edge = [
        float(pairs[["predicted_rate", "measured_rate"]].min().min()),
        float(pairs[["predicted_rate", "measured_rate"]].max().max()),
    ]
    bx.plot(edge, edge, "k-", linewidth=1, label="measured = predicted")
    bx.set_xlabel("predicted log10 rate per step")
    bx.set_ylabel("measured log10 rate per step")
    bx.set_title("every grid point against the theory", fontsize="medium")
    bx.grid(alpha=0.3)
    bx.legend(fontsize="x-small")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path)


def summary(table: pd.DataFrame, study: str, seconds: float) -> str:
    found = crossings(table)
    errors = table["measured_rate"] - table["predicted_rate"]
    config = table.iloc[0]
    lines = [
        f"# {study}: the edge of chaos at initialisation",
        "",
        f"Written by `python -m experiments.edge_of_chaos{' --quick' if 'quick' in study else ''}` "
        f"({len(table)} probes, {seconds:.0f} s on this machine's shared CPU). tanh, init=gaussian "
        f"(W_hh ~ N(0, σ_w²/N)), biases N(0, σ_b²), the adding task's inputs (mean square "
        f"{config['input_mean_square']:.3f} per feature), float64, batch 0 of each seed's training data.",
        "",
        "![phase diagram](phase.png)" if "quick" not in study else "![phase diagram](phase.png)",
        "",
        "## The critical σ_w per σ_b",
        "",
        "Measured: where the seed's measured rate crosses 0 between grid points (linear interpolation), mean ± sd over "
        "seeds. Theory: where the predicted rate over the same inputs and T crosses 0, and where χ* = 1 for "
        "stationary inputs of the same mean square.",
        "",
        "| σ_b | measured critical σ_w | seeds | theory (these inputs, T) | theory χ* = 1 |",
        "|---|---|---|---|---|",
    ]
    for _, r in found.iterrows():
        lines.append(
            f"| {r.sigma_b:g} | {r.measured_critical_mean:.3f} ± {r.measured_critical_std:.3f} | {int(r.seeds)} "
            f"| {r.predicted_finite_T:.3f} | {r.chi_star_1:.3f} |"
        )
    lines += [
        "",
        "## Measured against predicted, every grid point",
        "",
        f"Per-step rate: RMS(measured - predicted) = {math.sqrt(float((errors**2).mean())):.4f} log10 per step "
        f"(total over T - 1 steps: {math.sqrt(float(((table['measured_log10_ratio'] - table['predicted_log10_ratio']) ** 2).mean())):.3f} decades) "
        f"over {len(table)} probes.",
        "",
    ]
    return "\n".join(lines)
