"""Pictures for TensorBoard's IMAGES tab, where one figure reads better than dozens of scalar lines.

Built on `matplotlib.figure.Figure` (no pyplot: no global figure registry, no GUI backend), small enough that a
figure every 50 steps costs little; imported only by the callbacks that draw.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

SIZE, DPI = (4.8, 3.4), 80  # 384 x 272 pixels: a few kB of PNG per image


def grad_profile_figure(
    profiles: Sequence[Sequence[float]],
    step: int,
    theory: Sequence[float] | np.ndarray | None = None,
    theory_note: str | None = None,
) -> Figure:
    """log10 ‖dL/dh_t‖ against t, a line per layer: the gradient's way back in time at optimizer step `step`.

    A line falling towards t = 0 is a vanishing gradient, rising is an exploding one; its slope is the per-step
    rate (the log10 of the decay factor). Zero norms (underflow) are left out of a line rather than drawn at -inf.
    `theory`: the mean-field prediction for layer 0 relative to its last step (rnnlab.theory), drawn dashed and
    anchored at the measured last step; `theory_note`: a line of text instead (why there is no prediction).
    """
    fig = Figure(figsize=SIZE, dpi=DPI)
    ax = fig.add_subplot()
    for k, profile in enumerate(profiles):
        values = np.asarray(profile, dtype=float)
        with np.errstate(divide="ignore"):
            logs = np.where(values > 0, np.log10(values), np.nan)
        ax.plot(np.arange(len(values)), logs, label=f"layer {k}")
        if k == 0 and theory is not None and np.isfinite(logs[-1]):
            line = np.asarray(theory, dtype=float) + logs[-1]
            ax.plot(np.arange(len(line)), line, "k--", linewidth=1, label="mean-field theory")
    if theory_note:
        ax.text(0.02, 0.03, theory_note, transform=ax.transAxes, fontsize="x-small", color="0.3", wrap=True)
    ax.set_xlabel("time step t (the loss at the end)")
    ax.set_ylabel("log10 |dL/dh_t|")
    ax.set_title(f"gradient through time, step {step}")
    ax.grid(alpha=0.3)
    if len(profiles) > 1 or theory is not None:
        ax.legend(fontsize="small")
    fig.subplots_adjust(left=0.16, right=0.97, bottom=0.15, top=0.91)  # fixed margins: tight_layout costs more
    return fig


# The init profile's y-range, the same for every run: float32 underflows below 1e-38, so a float32 profile relative
# to its last step lies within +-38 decades unless it overflows; a float64 one past +-40 is drawn along the edge
# (its number is the HParams column hp/grad_log10_ratio_init).
INIT_DECADES = 40.0


def grad_init_profile_figure(profiles: Sequence[Sequence[float]]) -> Figure:
    """log10 (‖dL/dh_t‖ / ‖dL/dh_last‖) against t at initialisation, a line per layer, on the fixed y-range
    ±`INIT_DECADES`: every run of a sweep (and of any sweep) on the same axes, so a profile falling one decade and
    one falling twenty look different, and their slopes (log10 decay per step) compare tile to tile. Relative to the
    last step, each line ends at 0 and its start is the run's `log10_first_over_last` indicator."""
    fig = Figure(figsize=SIZE, dpi=DPI)
    ax = fig.add_subplot()
    ax.axhline(0.0, color="0.6", linewidth=1)
    for k, profile in enumerate(profiles):
        values = np.asarray(profile, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where(values > 0, np.log10(values), np.nan)
        relative = logs - logs[-1] if len(logs) and np.isfinite(logs[-1]) else logs * np.nan
        relative = np.clip(relative, -INIT_DECADES, INIT_DECADES)  # past the range: along its edge, not off it
        ax.plot(np.arange(len(values)), relative, label=f"layer {k}")
    ax.set_ylim(-INIT_DECADES, INIT_DECADES)
    ax.set_xlabel("time step t (the loss at the end)")
    ax.set_ylabel("log10 |dL/dh_t| / |dL/dh_last|")
    ax.set_title("gradient through time at initialisation")
    ax.grid(alpha=0.3)
    if len(profiles) > 1:
        ax.legend(fontsize="small")
    fig.subplots_adjust(left=0.16, right=0.97, bottom=0.15, top=0.91)
    return fig


def eigenvalue_figure(eigenvalues: Mapping[str, np.ndarray], step: int) -> Figure:
    """Each W_hh's eigenvalues in the complex plane with the unit circle: outside it a direction grows at every
    step, inside it shrinks. `eigenvalues` maps a layer name (`layer0`, `layer0_reverse`...) to complex values."""
    fig = Figure(figsize=(SIZE[1] + 0.6, SIZE[1]), dpi=DPI)
    ax = fig.add_subplot()
    angle = np.linspace(0, 2 * math.pi, 200)
    ax.plot(np.cos(angle), np.sin(angle), color="0.6", linewidth=1)
    reach = 1.0
    for name, values in eigenvalues.items():
        values = np.asarray(values)
        ax.scatter(values.real, values.imag, s=8, label=name)
        if values.size:
            reach = max(reach, float(np.abs(values).max()))
    reach *= 1.08
    ax.set_xlim(-reach, reach)
    ax.set_ylim(-reach, reach)
    ax.set_aspect("equal")
    ax.set_xlabel("Re")
    ax.set_ylabel("Im")
    ax.set_title(f"eigenvalues of W_hh, step {step}")
    if len(eigenvalues) > 1:
        ax.legend(fontsize="small", loc="upper right")
    fig.subplots_adjust(left=0.18, right=0.97, bottom=0.15, top=0.91)
    return fig


def lyapunov_figure(exponents: Mapping[str, np.ndarray], step: int) -> Figure:
    """The finite-time Lyapunov spectrum: per-step log10 singular values of J_{T-1}⋯J_1, largest first, a line
    per layer and direction. Above 0 a direction grows at every step (chaos), below it shrinks (order)."""
    fig = Figure(figsize=SIZE, dpi=DPI)
    ax = fig.add_subplot()
    for name, values in exponents.items():
        values = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(values) + 1), values, marker=".", markersize=3, label=name)
    ax.axhline(0.0, color="0.6", linewidth=1)
    ax.set_xlabel("index i (largest first)")
    ax.set_ylabel("log10 sigma_i / (T - 1)")
    ax.set_title(f"Jacobian over the sequence, step {step}")
    ax.grid(alpha=0.3)
    if len(exponents) > 1:
        ax.legend(fontsize="small")
    fig.subplots_adjust(left=0.18, right=0.97, bottom=0.15, top=0.91)
    return fig


def log_figure(writer, tag: str, figure: Figure, step: int) -> None:
    """Write `figure` as an image under `tag` at `step` (SummaryWriter.add_figure, without pyplot's close)."""
    writer.add_figure(tag, figure, global_step=step, close=False)
