"""The mean-field line in a sweep's report: read back from each job's event file (GradThroughTime logs the
prediction for the initial weights beside its measurement), never recomputed, so the report needs no torch.

`draw_theory_line(ax, scalars)` adds a job's predicted ‖dL/dh_t‖ at init, dashed, to the gradient figure;
`measured_vs_predicted(table, scalars)` is the report's table. A job whose configuration lies outside the theory
(rnnlab.theory.predict.setup_for) logged no prediction: its row says so.
"""

from __future__ import annotations

import math

import pandas as pd

from rnnlab.record import tags

THEORY_T_PREFIX = tags.grad_h_theory_norm(0, "t")


def theory_line(scalars: dict[str, pd.Series]) -> pd.Series:
    """The predicted ‖dL/dh_t‖ of layer 0 at init, indexed by t; empty where the job logged none."""
    found = {
        int(tag[len(THEORY_T_PREFIX) :]): series.iloc[0]
        for tag, series in scalars.items()
        if tag.startswith(THEORY_T_PREFIX) and tag[len(THEORY_T_PREFIX) :].isdigit() and len(series)
    }
    return pd.Series(found, dtype=float).sort_index()


def draw_theory_line(ax, scalars: dict[str, pd.Series], color=None) -> bool:
    """Draw the job's predicted profile dashed on `ax` (log scale, as the measured one); False if it has none."""
    line = theory_line(scalars)
    if line.empty or not (line > 0).all():
        return False
    ax.semilogy(line.index, line.clip(lower=1e-300), "--", color=color, linewidth=1, alpha=0.8)
    return True


def _first(scalars: dict[str, pd.Series], tag: str) -> float:
    series = scalars.get(tag)
    return float(series.iloc[0]) if series is not None and len(series) else math.nan


def measured_vs_predicted(table: pd.DataFrame, scalars: dict[str, dict[str, pd.Series]]) -> pd.DataFrame:
    """Per job: the measured and predicted log10 first/last ratio of layer 0 at the first logged step (init), and
    their difference; `theory` says "outside the theory" where the job logged no prediction."""
    rows = []
    for job in table["job"]:
        measured = _first(scalars[job], tags.grad_h_log10_ratio(0))
        predicted = _first(scalars[job], tags.grad_h_theory_log10_ratio(0))
        rows.append(
            {
                "job": job,
                "measured_log10_ratio": measured,
                "predicted_log10_ratio": predicted,
                "difference": measured - predicted,
                "theory": "mean-field, initial weights" if math.isfinite(predicted) else "outside the theory",
            }
        )
    return pd.DataFrame(rows)
