"""A sweep as a table: one row per job with its swept values, status, final and best metrics against the task's
baseline, the gradient decay ratio through time at its first and last logged step, and its wall time.

Works on any sweep directory at any moment: a job without metrics.json shows as `incomplete`, a job without the
diagnostics' `grad_h/` tags (diagnostics off, or not logged yet) gets empty gradient columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rnnlab.record import tags
from rnnlab.record.jobs import Job, find_jobs
from rnnlab.record.study import study_keys

# Written by rnnlab.diagnostics.GradThroughTime: log10(‖dL/dh_first‖ / ‖dL/dh_last‖) of the first layer, and
# ‖dL/dh_t‖ at a spread of steps t (tags grad_h/layer0/t00, t05, ...). < 0: vanishing; > 0: exploding.
GRAD_RATIO_TAG = tags.grad_h_log10_ratio(0)
GRAD_BOUND_TAG = tags.grad_h_log10_ratio_bound(0)  # -1: the ratio is at most the value (float64's floor); +1: at least
GRAD_RATE_TAG = tags.grad_h_log10_rate(0)
GRAD_T_PREFIX = tags.grad_h_prefix(0) + "t"
GRAD_LOG10_T_PREFIX = tags.grad_h_prefix(0) + "log10_t"


def read_scalars(job_dir: str | Path) -> dict[str, pd.Series]:
    """Every scalar tag of the job's TensorBoard event files, as a Series indexed by step.

    A resumed job has two event files covering some steps twice; the later write of a step wins.
    """
    events = EventAccumulator(str(job_dir), size_guidance={"scalars": 0})
    events.Reload()
    scalars = {}
    for tag in events.Tags()["scalars"]:
        points = sorted(events.Scalars(tag), key=lambda e: e.wall_time)
        series = pd.Series({e.step: e.value for e in points}, dtype=float, name=tag)
        scalars[tag] = series.sort_index()
    return scalars


def grad_through_time(scalars: dict[str, pd.Series], at: str = "first") -> pd.Series:
    """log10 ‖dL/dh_t‖ of the first layer against t, at the first (or last) step it was logged; empty if never.

    From the `log10_t{t}` tags (float64's range; the floor, log10 of float64's tiny, marks an underflow), else from
    the older `t{t}` norms (float32 in TensorBoard: a 0 there is an underflow, returned as -inf).
    """

    def digits(prefix: str) -> list[str]:
        return [tag for tag in scalars if tag.startswith(prefix) and tag[len(prefix) :].isdigit()]

    prefix, from_norms = (GRAD_LOG10_T_PREFIX, False) if digits(GRAD_LOG10_T_PREFIX) else (GRAD_T_PREFIX, True)
    found = digits(prefix)
    if not found:
        return pd.Series(dtype=float)
    pick = (lambda s: s.iloc[0]) if at == "first" else (lambda s: s.iloc[-1])
    curve = pd.Series({int(tag[len(prefix) :]): pick(scalars[tag]) for tag in found}, dtype=float).sort_index()
    if from_norms:
        with np.errstate(divide="ignore"):
            curve = pd.Series(np.log10(curve.to_numpy()), index=curve.index)
    return curve


def _number(value: str):
    """A swept value as written ("0.01", "tanh", "true") -> a float where it is one, for sorting and plotting."""
    try:
        return float(value)
    except ValueError:
        return value


def job_row(job: Job, keys: list[str], scalars: dict[str, pd.Series]) -> dict:
    record = job.record
    final, best = (record.final, record.best) if record is not None else ({}, {})
    ratio, bound, rate = scalars.get(GRAD_RATIO_TAG), scalars.get(GRAD_BOUND_TAG), scalars.get(GRAD_RATE_TAG)
    if rate is None:  # runs of 2026-12-04 logged the rate under its first name
        rate = scalars.get(tags.grad_h_prefix(0) + "log10_per_step")
    row: dict[str, Any] = {"job": job.name}
    row.update({key: _number(job.overrides[key]) if key in job.overrides else None for key in keys})
    row.update(
        {
            "status": job.status,
            "steps": record.steps if record is not None else None,
            "final_val_loss": final.get(tags.VAL_LOSS),
            "best_val_loss": best.get(tags.VAL_LOSS),
            "baseline": record.baseline if record is not None else None,
            "final_over_baseline": record.final_over_baseline if record is not None else None,
            "best_over_baseline": record.best_over_baseline if record is not None else None,
            "final_train_loss": final.get(tags.TRAIN_LOSS),
        }
    )
    if tags.VAL_ACC in final or tags.VAL_ACC in best:
        row.update(final_val_acc=final.get(tags.VAL_ACC), best_val_acc=best.get(tags.VAL_ACC))
    if tags.TEST_ACC in final:  # tasks with a held-out test split (rnnlab.tasks.dataset)
        row.update(test_acc=final.get(tags.TEST_ACC), test_balanced_acc=final.get(tags.TEST_BALANCED_ACC))
    row.update(
        {
            "grad_log10_ratio_start": _at(ratio, 0),
            "grad_log10_ratio_start_bound": _at(bound, 0),
            "grad_log10_per_step_start": _at(rate, 0),
            "grad_log10_ratio_end": _at(ratio, -1),
            "grad_log10_ratio_end_bound": _at(bound, -1),
            "diverged_at_step": record.diverged_at_step if record is not None else None,
            "wall_time_s": record.wall_time_s if record is not None else None,
            "resumed_from_step": record.resumed_from_step if record is not None else None,
            "error": job.error,
        }
    )
    return row


def _at(series: pd.Series | None, position: int, default=None):
    """The series' first (0) or last (-1) logged value; `default` if it was never logged."""
    return series.iloc[position] if series is not None and len(series) else default


def _sort_key(value) -> tuple:
    return (0, value, "") if isinstance(value, float) else (1, 0.0, str(value))


def sweep_table(sweep_dir: str | Path) -> tuple[pd.DataFrame, dict[str, dict[str, pd.Series]]]:
    """(the table, one row per job sorted by its swept values; each job's TensorBoard scalars by job name).

    `table.attrs` holds `varied` (the swept keys, the table's first columns) and `fixed` (overrides all jobs share).
    """
    jobs = find_jobs(sweep_dir)
    keys = study_keys(sweep_dir, [job.overrides for job in jobs])
    jobs.sort(key=lambda job: tuple(_sort_key(_number(job.overrides.get(key, ""))) for key in keys))
    scalars = {job.name: read_scalars(job.dir) for job in jobs}
    table = pd.DataFrame([job_row(job, keys, scalars[job.name]) for job in jobs])
    table.attrs["varied"] = keys
    table.attrs["fixed"] = {k: v for k, v in (jobs[0].overrides.items() if jobs else []) if k not in keys}
    return table, scalars
