"""A Hydra callback that ends a multirun with its jobs' statuses: one line per failed job, non-zero exit if any.

Hydra alone stops reporting at the first failed job; here every job runs (rnnlab.train's main returns instead of
raising inside a multirun) and the sweep's end reads each job's metrics.json, so the summary is the same whatever
the launcher (basic, joblib, submitit) and covers jobs finished by earlier runs of the same sweep directory.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from rnnlab.record.jobs import CORRUPT, INCOMPLETE, Job, find_jobs
from rnnlab.record.notes import REFUSED, RUNNING_ELSEWHERE

# refused: its directory holds another configuration's run; running elsewhere: another process held it
BAD = (
    "failed",
    INCOMPLETE,
    CORRUPT,
    REFUSED,
    RUNNING_ELSEWHERE,
)  # at a sweep's end an incomplete job was killed (out of memory, time limit...)


def summary_lines(sweep_dir: str | Path, jobs: list[Job]) -> list[str]:
    """`rnnlab sweep DIR: N jobs: ...` and one line per job that failed or never ended."""
    counts = Counter(job.status for job in jobs)
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    lines = [f"rnnlab sweep {sweep_dir}: {len(jobs)} jobs: {tally or 'none ran'}"]
    for job in jobs:
        if job.status in BAD:
            reason = job.error or "no metrics.json: the job was killed before it ended"
            lines.append(f"  {job.status.upper()} {job.name}: {reason}")
    return lines


class SweepSummary(Callback):
    """Print the sweep's summary at its end; exit with status 1 if a job failed or never ended.

    Hydra turns a callback's exception into a warning and exits 0; a summary that could not be made must fail the
    sweep instead, so every error here ends in one line and exit status 1.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        # before the sweeper starts: Optuna's SQLite storage (optuna.db in the sweep directory) needs the directory
        Path(config.hydra.sweep.dir).mkdir(parents=True, exist_ok=True)

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = config.hydra.sweep.dir
        try:
            jobs = find_jobs(sweep_dir) if Path(sweep_dir).is_dir() else []
            lines = summary_lines(sweep_dir, jobs)
            bad = any(job.status in BAD for job in jobs)
        except Exception as error:
            print(
                f"rnnlab sweep {sweep_dir}: no summary could be made ({type(error).__name__}: {error}); "
                "the sweep's result is unknown",
                file=sys.stderr,
                flush=True,
            )
            sys.exit(1)
        print("\n".join(lines), file=sys.stderr if bad else sys.stdout, flush=True)
        if bad:
            sys.exit(1)
