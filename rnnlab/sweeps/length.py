"""Generalisation to length: a sweep's loss (over the task's baseline) against the length it is evaluated at.

One line per group of jobs that differ only by seed (the mean over seeds, the band their min-max), the training
length marked: a line that stays under 1 past it generalises; one that climbs to the baseline or above does not.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: runs on servers and in tests
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def length_figure(evals: pd.DataFrame, path: Path) -> Path:
    """Draw `evals` (rnnlab.api.read_evals' table, split val) as loss/baseline against seq_len; save to `path`."""
    varied = [k for k in evals.attrs.get("varied", []) if k not in ("seed", "seq_len")]
    only_length = evals["overrides"].map(lambda o: all(x.startswith("seq_len=") for x in o))
    data = evals[(evals["split"] == "val") & only_length].copy()  # other variants (seed=7...) are other questions
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    groups = data.groupby(varied, sort=True, dropna=False) if varied else [((), data)]
    for values, group in groups:
        values = values if isinstance(values, tuple) else (values,)
        label = ", ".join(f"{k}={v}" for k, v in zip(varied, values)) or "all runs"
        by_len = group.groupby("seq_len")["loss_over_baseline"]
        mean, low, high = by_len.mean(), by_len.min(), by_len.max()
        seeds = group["job"].nunique()
        (line,) = ax.plot(mean.index, mean.values, marker="o", label=f"{label} ({seeds} run{'s' * (seeds > 1)})")
        if seeds > 1:
            ax.fill_between(mean.index, low.values, high.values, color=line.get_color(), alpha=0.2, linewidth=0)
    for trained in sorted(data["trained_seq_len"].dropna().unique()):
        ax.axvline(trained, color="grey", linestyle=":", linewidth=1)
        ax.text(trained, 0.02, f" trained at T={trained:g}", transform=ax.get_xaxis_transform(), fontsize=8,
                color="grey")  # fmt: skip
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label="baseline (best constant predictor)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")  # a relu network's loss can grow by orders of magnitude past its training length
    lengths = sorted(data["seq_len"].unique())
    ax.set_xticks(lengths, [f"{t:g}" for t in lengths])
    ax.minorticks_off()
    ax.set_xlabel("evaluation length T (seq_len)")
    ax.set_ylabel("val loss / baseline (log)")
    ax.set_title("Generalisation to length (mean over seeds, band: min-max)")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
