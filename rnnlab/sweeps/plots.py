"""The report's figures (matplotlib, Agg): final and best loss per group, ‖dL/dh_t‖ against t, learning curves.

Rules every figure keeps, so that a reader can trust it at a glance:
- a line or point is a *group* (the jobs that differ only in `seed`, `rnnlab.sweeps.spread`): its mean, with the
  spread over seeds drawn as error bars (min – max) or a band; each seed's own value is a small dot;
- labels name only the varied keys, whole (wrapped at a comma, never cut);
- a categorical study (no numeric varied key) gets a categorical axis, one tick per group, not a fractional "job";
- curves meant to be compared share their y-axis, on a log scale where the quantity spans decades;
- the final and the best loss are both drawn (the final value is one noisy evaluation);
- a value float64 could not hold (a gradient beyond its range) is drawn as a bound (▼ / ▲), never as a point.
Files are written atomically and byte-identically for identical data (no timestamp or version in the PNG).
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window: reports run on servers and in tests
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from rnnlab.record.atomic import write_atomically  # noqa: E402
from rnnlab.sweeps.spread import COMPLETED, group_keys, groups  # noqa: E402
from rnnlab.sweeps.table import grad_through_time  # noqa: E402
from rnnlab.sweeps.theory import theory_line  # noqa: E402

MAX_PANELS = 12
LABEL_WIDTH = 28  # characters per legend line; a label longer than that wraps at a comma
FLOOR = math.log10(np.finfo(np.float64).tiny)  # log10 of float64's smallest normal: an underflow below it


# ---- what goes where ------------------------------------------------------------------------------------------


def axis_and_panels(table: pd.DataFrame) -> tuple[str | None, list[str]]:
    """The x-axis key (init_scale if swept, else the first numeric swept key but `seed`; None: categorical) and the
    keys that split panels (the other group keys)."""
    keys = group_keys(table)
    numeric = [k for k in keys if pd.api.types.is_numeric_dtype(table[k]) and not pd.api.types.is_bool_dtype(table[k])]
    x_key = "init_scale" if "init_scale" in keys else (numeric[0] if numeric else None)
    return x_key, [k for k in keys if k != x_key]


def _value(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def label(keys: list[str], values) -> str:
    """`key=value, key=value` for the given keys, wrapped at commas to LABEL_WIDTH: whole, never cut."""
    values = values if isinstance(values, tuple) else (values,)
    text = ", ".join(f"{k}={_value(v)}" for k, v in zip(keys, values)) or "all jobs"
    return "\n".join(textwrap.wrap(text, LABEL_WIDTH, break_long_words=False, break_on_hyphens=False))


def _panels(table: pd.DataFrame, keys: list[str]) -> list:
    return groups(table, keys)[:MAX_PANELS]


def _figure(n: int, sharey: bool = True):
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.8 * cols, 3.8 * rows), squeeze=False, sharey=sharey)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat)


def _colours(n: int) -> list:
    """Ordered colours for an ordered key (viridis), the categorical cycle otherwise."""
    if n <= 10:
        return [plt.get_cmap("tab10")(i) for i in range(n)]
    return [plt.get_cmap("viridis")(i / max(n - 1, 1)) for i in range(n)]


# ---- final and best loss ----------------------------------------------------------------------------------------


def final_loss_plot(table: pd.DataFrame, path: Path) -> Path:
    """Final (filled) and best (open) validation loss per group: mean, min – max over seeds, each seed a dot;
    against the x-axis key, or one tick per group for a categorical study; baseline dashed; diverged jobs as x."""
    x_key, line_keys = axis_and_panels(table)
    keys = group_keys(table)
    categorical = x_key is None
    width = max(6.5, 0.9 * len(groups(table, keys))) if categorical else 6.5
    fig, ax = plt.subplots(figsize=(min(width, 16), 4.6))
    lines = groups(table, [] if categorical else line_keys)
    colours = _colours(len(lines))
    ticks: list[str] = []
    for colour, (values, group) in zip(colours, lines):
        rows = groups(group, keys if x_key is None else [x_key])
        xs, stats = [], []
        for x_values, cell in rows:
            x = len(ticks) if categorical else x_values[0]
            if categorical:
                ticks.append(label(keys, x_values))
            done = cell[cell["status"] == COMPLETED]
            xs.append(x)
            stats.append(
                {
                    m: (done[m].mean(), done[m].min(), done[m].max(), done[m].to_numpy())
                    for m in ("final_val_loss", "best_val_loss")
                }
            )
            diverged = int((cell["status"] == "diverged").sum())
            if diverged:
                ax.plot([x], [1.0], "x", ms=9, color=colour, transform=ax.get_xaxis_transform(), clip_on=False)
        offset = 0.12 if categorical else 0.0
        for metric, marker, fill, shift, style in (
            ("final_val_loss", "o", colour, -offset, "-"),
            ("best_val_loss", "s", "white", offset, ":"),
        ):
            means = np.array([s[metric][0] for s in stats], dtype=float)
            lows = np.array([s[metric][1] for s in stats], dtype=float)
            highs = np.array([s[metric][2] for s in stats], dtype=float)
            # side by side: best a little right of final (multiplicatively: the x-axis may be log)
            px = (
                np.array(xs, dtype=float) + shift
                if categorical
                else np.array(xs, dtype=float) * (1.015 if shift >= 0 and metric == "best_val_loss" else 1.0)
            )
            kind = "final" if metric == "final_val_loss" else "best"
            name = f"{label(line_keys, values)} ({kind})" if not categorical and line_keys else kind
            ax.errorbar(
                px, means, yerr=[np.maximum(means - lows, 0), np.maximum(highs - means, 0)], fmt=marker + ("" if categorical else style),
                color=colour, mfc=fill, ms=6, capsize=3, lw=1.2, label=name if not categorical or colour is colours[0] else None,
            )  # fmt: skip
            for x, s in zip(px, stats):
                seeds = s[metric][3]
                ax.plot([x] * len(seeds), seeds, ".", color="0.35", ms=3, zorder=3)
    for baseline in table["baseline"].dropna().unique():
        ax.axhline(baseline, ls="--", color="grey", lw=1, label=f"baseline {baseline:.3g}")
    if x_key is None:  # categorical
        ax.set_xticks(range(len(ticks)), ticks, fontsize=7, rotation=0 if len(ticks) <= 6 else 45, ha="center")
        ax.set_xlim(-0.6, len(ticks) - 0.4)
    else:
        x = table[x_key].astype(float)
        if x_key == "init_scale" or ((x > 0).all() and x.max() / max(x.min(), 1e-300) > 100):
            ax.set_xscale("log")
        if x.nunique() <= MAX_PANELS:  # ticks at the swept values only: no fractional num_layers
            ax.set_xticks(sorted(x.unique()), [_value(v) for v in sorted(x.unique())], fontsize=7)
            ax.minorticks_off()
        ax.set_xlabel(x_key)
    if (table[["final_val_loss", "best_val_loss"]].dropna() > 0).all().all():
        ax.set_yscale("log")
    sizes = sorted({len(group) for _, group in groups(table, keys)})  # jobs per group: its seeds
    seeds = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]}"
    ax.set_ylabel("val/loss")
    ax.set_title(
        f"final (●) and best (□) val/loss: mean, min – max over {seeds} seed{'s' * (sizes[-1] > 1)}; "
        "dots: each seed; x on top: diverged",
        fontsize=8,
    )
    _legend(ax)
    return _save(fig, path)


# ---- gradient through time --------------------------------------------------------------------------------------


@dataclass
class Curve:
    """One group's log10 ‖dL/dh_t‖ against t: mean, min and max over seeds; `bounded` where a seed's value was
    beyond float64's range (the mean is then only an upper bound, drawn as ▼)."""

    label: str
    t: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    bounded: np.ndarray
    colour: object = None
    seeds: list = field(default_factory=list)
    theory: pd.Series | None = None  # the mean-field prediction at init (log10), where the jobs logged one


def curve_of(name: str, jobs: list[str], scalars: dict) -> Curve | None:
    """The Curve of a group's jobs (their grad_h profiles at the first logged step); None if none was logged."""
    profiles = [grad_through_time(scalars[job]) for job in jobs]
    profiles = [p for p in profiles if len(p)]
    if not profiles:
        return None
    frame = pd.concat(profiles, axis=1).sort_index()
    values = frame.to_numpy(dtype=float)
    bounded = ~np.isfinite(values) | (values <= FLOOR + 1e-3)  # TensorBoard keeps float32: the floor, rounded
    shown = np.where(bounded, FLOOR, values)
    predicted = [theory_line(scalars[job]) for job in jobs]
    predicted = [np.log10(p[p > 0]) for p in predicted if len(p)]
    return Curve(
        name,
        frame.index.to_numpy(),
        shown.mean(axis=1),
        shown.min(axis=1),
        shown.max(axis=1),
        bounded.any(axis=1),
        seeds=[shown[:, i] for i in range(shown.shape[1])],
        theory=pd.concat(predicted, axis=1).mean(axis=1) if predicted else None,
    )


def grad_through_time_figure(panels: list[tuple[str, list[Curve]]]):
    """The gradient-through-time figure from its curves: a panel per (title, curves), shared y in log10 units.

    Returns (figure, axes) so that a caller can add to a panel (a theory line) before saving.
    """
    fig, axes = _figure(len(panels))
    for ax, (title, curves) in zip(axes, panels):
        for curve in curves:
            exact = ~curve.bounded
            curve.low, curve.high = np.where(exact, curve.low, np.nan), np.where(exact, curve.high, np.nan)
            (line,) = ax.plot(curve.t[exact], curve.mean[exact], "o-", ms=3, color=curve.colour, label=curve.label)
            if len(curve.seeds) > 1:
                ax.fill_between(curve.t, curve.low, curve.high, color=line.get_color(), alpha=0.2, lw=0)
            if curve.theory is not None:  # dashed: the mean-field theory at init (rnnlab.sweeps.theory)
                ax.plot(curve.theory.index, curve.theory.values, "--", color=line.get_color(), lw=1, alpha=0.8)
            if curve.bounded.any():  # on the bottom edge, outside the data's scale: a bound, not a point
                ax.plot(curve.t[curve.bounded], [0.0] * int(curve.bounded.sum()), "v", ms=8, color=line.get_color(),
                        transform=ax.get_xaxis_transform(), clip_on=False)  # fmt: skip
        if any(c.bounded.any() for c in curves):
            ax.text(0.01, 0.02, "▼ on the axis: below float64's range (< 1e-308), or exactly 0 (no loss reaches it)",
                    fontsize=6, transform=ax.transAxes)  # fmt: skip
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("time step t (t = 0: first step)")
        ax.set_ylabel("log10 ‖dL/dh_t‖, first layer, at init")
        ax.grid(alpha=0.3)
        _legend(ax)
    return fig, axes


def grad_through_time_plot(table: pd.DataFrame, scalars: dict, path: Path) -> Path | None:
    """log10 ‖dL/dh_t‖ of the first layer against t at the first logged step: a panel per panel group, a line per
    x value (or per group, for a categorical study), mean and min – max band over seeds; None if no data."""
    panels = _curve_panels(table, lambda jobs, name: curve_of(name, jobs, scalars))
    if not panels:
        return None
    fig, _ = grad_through_time_figure(panels)
    return _save(fig, path)


def _curve_panels(table: pd.DataFrame, make) -> list[tuple[str, list]]:
    """[(panel title, [curve per line])] with lines per x value (numeric study) or per group (categorical)."""
    x_key, panel_keys = axis_and_panels(table)
    keys = group_keys(table)
    if x_key is None:
        panel_keys = []
    line_keys = [x_key] if x_key else keys
    panels = []
    for values, group in _panels(table, panel_keys):
        lines = groups(group, line_keys)
        curves = []
        for colour, (line_values, cell) in zip(_colours(len(lines)), lines):
            curve = make(list(cell["job"]), label(line_keys, line_values))
            if curve is not None:
                curve.colour = colour
                curves.append(curve)
        if curves:
            panels.append((label(panel_keys, values).replace("\n", " "), curves))
    return panels


# ---- learning curves --------------------------------------------------------------------------------------------


def _learning_curve(jobs: list[str], name: str, scalars: dict, tag: str) -> Curve | None:
    series = [scalars[job].get(tag) for job in jobs]
    series = [s for s in series if s is not None and len(s)]
    if not series:
        return None
    frame = pd.concat(series, axis=1).sort_index().dropna()  # the steps every seed logged
    values = frame.to_numpy(dtype=float)
    return Curve(
        name, frame.index.to_numpy(), values.mean(axis=1), values.min(axis=1), values.max(axis=1),
        np.zeros(len(frame), dtype=bool), seeds=[values[:, i] for i in range(values.shape[1])],
    )  # fmt: skip


def learning_curves_plot(table: pd.DataFrame, scalars: dict, path: Path, tag: str = "val/loss") -> Path | None:
    """`tag` against the optimizer step: mean over seeds with a min – max band, panels as the gradient figure,
    one shared log y-axis; None if no job logged it."""
    panels = _curve_panels(table, lambda jobs, name: _learning_curve(jobs, name, scalars, tag))
    if not panels:
        return None
    fig, axes = _figure(len(panels))
    for ax, (title, curves) in zip(axes, panels):
        for curve in curves:
            (line,) = ax.plot(curve.t, curve.mean, color=curve.colour, label=curve.label, lw=1.3)
            if len(curve.seeds) > 1:
                ax.fill_between(curve.t, curve.low, curve.high, color=line.get_color(), alpha=0.2, lw=0)
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("step")
        ax.set_ylabel(f"{tag} (mean, band: min – max over seeds)", fontsize=8)
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
        _legend(ax)
    baselines = table["baseline"].dropna().unique()
    for ax in axes[: len(panels)]:
        for baseline in baselines:
            ax.axhline(baseline, ls="--", color="grey", lw=1)
    return _save(fig, path)


# ---- output -----------------------------------------------------------------------------------------------------


def _legend(ax) -> None:
    """Inside the axes for a few entries; beside them for more, where it hides no data."""
    handles = ax.get_legend_handles_labels()[0]
    if len(handles) > 5:
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    elif handles:
        ax.legend(fontsize=6)


def _save(fig, path: Path) -> Path:
    """PNG bytes fixed by the data alone (no 'Software' stamp), written atomically."""
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    write_atomically(Path(path), lambda f: f.write(buffer.getvalue()))
    return Path(path)
