"""The report's figures (matplotlib, Agg): final loss against the swept scale, ‖dL/dh_t‖ against t, learning curves.

Each figure draws one panel per combination of the swept keys other than the x-axis key (`init_scale` when it is
swept), and one line or point per remaining job, so any grid reads the same way.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window: reports run on servers and in tests
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from rnnlab.record import tags  # noqa: E402
from rnnlab.sweeps.table import grad_through_time  # noqa: E402
from rnnlab.sweeps.theory import draw_theory_line  # noqa: E402

MAX_PANELS = 12


def axis_and_panels(table: pd.DataFrame) -> tuple[str | None, list[str]]:
    """The x-axis key (init_scale if swept, else the first numeric swept key) and the keys that split panels."""
    varied = list(table.attrs.get("varied", []))
    numeric = [k for k in varied if pd.api.types.is_numeric_dtype(table[k])]
    x_key = "init_scale" if "init_scale" in varied else (numeric[0] if numeric else None)
    return x_key, [k for k in varied if k != x_key]


def _panels(table: pd.DataFrame, keys: list[str]):
    groups = list(table.groupby(keys, sort=False, dropna=False)) if keys else [((), table)]
    return groups[:MAX_PANELS]


def _title(keys: list[str], values) -> str:
    values = values if isinstance(values, tuple) else (values,)
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in zip(keys, values)) or "all jobs"


def _figure(n: int):
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat)


def final_loss_plot(table: pd.DataFrame, path: Path) -> Path:
    """Final validation loss against the x-axis key, one line per panel group; baseline dashed, diverged as x."""
    x_key, line_keys = axis_and_panels(table)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    x = table[x_key] if x_key else pd.Series(range(len(table)), index=table.index)
    for values, group in _panels(table.assign(_x=x), line_keys):
        done = group[group.status == "completed"].sort_values("_x")
        (line,) = ax.plot(done["_x"], done["final_val_loss"], "o-", label=_title(line_keys, values))
        diverged = group[group.status == "diverged"]
        ax.plot(
            diverged["_x"],
            [1.0] * len(diverged),
            "x",
            ms=10,
            color=line.get_color(),
            transform=ax.get_xaxis_transform(),
            clip_on=False,
        )
    for baseline in table["baseline"].dropna().unique():
        ax.axhline(baseline, ls="--", color="grey", lw=1, label=f"baseline {baseline:.3g}")
    if x_key == "init_scale" or (x_key and (x > 0).all() and x.max() / max(x.min(), 1e-300) > 100):
        ax.set_xscale("log")
    if (table["final_val_loss"].dropna() > 0).all():
        ax.set_yscale("log")
    ax.set_xlabel(x_key or "job")
    ax.set_ylabel(f"final {tags.VAL_LOSS} (x on top: diverged)")
    _legend(ax)
    return _save(fig, path)


def grad_through_time_plot(table: pd.DataFrame, scalars: dict, path: Path) -> Path | None:
    """‖dL/dh_t‖ of the first layer against t at the first logged step, a line per x-axis value; None if no data."""
    x_key, panel_keys = axis_and_panels(table)
    curves = {name: grad_through_time(scalars[name]) for name in table["job"]}
    if not any(len(c) for c in curves.values()):
        return None
    panels = _panels(table, panel_keys)
    fig, axes = _figure(len(panels))
    for ax, (values, group) in zip(axes, panels):
        for _, row in group.iterrows():
            curve = curves[row["job"]]
            if len(curve) and (curve > 0).any():
                label = f"{x_key}={row[x_key]:g}" if x_key and isinstance(row[x_key], float) else row["job"][:30]
                (drawn,) = ax.semilogy(curve.index, curve.clip(lower=1e-38), "o-", ms=3, label=label)
                draw_theory_line(ax, scalars[row["job"]], drawn.get_color())  # dashed: the mean-field theory at init
        ax.set_title(_title(panel_keys, values), fontsize=8)
        ax.set_xlabel("time step t")
        ax.set_ylabel("‖dL/dh_t‖ (at the first logged step)")
        _legend(ax)
    return _save(fig, path)


def learning_curves_plot(table: pd.DataFrame, scalars: dict, path: Path, tag: str = tags.VAL_LOSS) -> Path | None:
    """`tag` against the optimizer step for every job, a panel per group; None if no job logged it."""
    x_key, panel_keys = axis_and_panels(table)
    if not any(tag in scalars[name] for name in table["job"]):
        return None
    panels = _panels(table, panel_keys)
    fig, axes = _figure(len(panels))
    for ax, (values, group) in zip(axes, panels):
        for _, row in group.iterrows():
            series = scalars[row["job"]].get(tag)
            if series is not None and len(series):
                label = f"{x_key}={row[x_key]:g}" if x_key and isinstance(row[x_key], float) else row["job"][:30]
                ax.plot(series.index, series.values, label=label)
        for baseline in group["baseline"].dropna().unique():
            ax.axhline(baseline, ls="--", color="grey", lw=1)
        ax.set_title(_title(panel_keys, values), fontsize=8)
        ax.set_xlabel("step")
        ax.set_ylabel(tag)
        _legend(ax)
    return _save(fig, path)


def _legend(ax) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
