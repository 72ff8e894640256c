"""A sweep of small jobs through the real CLI: Hydra's joblib launcher (2 jobs at a time) against its basic one.

Each launcher runs `python -m rnnlab.train -m seed=0,1,...` in a fresh subprocess, exactly as a user types it, into
its own sweep directory; the wall time covers everything the user waits for. The basic launcher runs the jobs one
after the other in its one process, so Python, torch and Lightning are imported once; joblib starts worker processes
that import them again, then runs the jobs two at a time. Parallelism pays only when the jobs are long enough for
that startup not to dominate: the job size is part of the result.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The directory holding the `rnnlab` package this process imported: the sweeps run that same code, installed or not.
PACKAGE_PARENT = Path(__file__).resolve().parents[2]
# One job: the default experiment (nn.RNN, 64 units, adding problem T=30, every diagnostic on, one thread, no
# progress bar) at 2000 steps: long enough that training, not startup, dominates. Startup costs a joblib sweep more
# than a basic one (the workers import torch and Lightning again), so short jobs favour the basic launcher (README,
# Speed, has the measurements).
FULL_JOB = ("max_steps=2000", "threads=1", "trainer.enable_progress_bar=false")
QUICK_JOB = (
    "max_steps=20",
    "hidden_size=16",
    "seq_len=10",
    "task.train_batches=10",
    "task.val_batches=2",
    "threads=1",
    "trainer.enable_progress_bar=false",
)
LAUNCHERS = {
    "basic": (),
    "joblib": ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2"),
}


def sweep_command(launcher: str, jobs: int, job: tuple[str, ...], sweep_dir: Path) -> list[str]:
    """The command line of a sweep of `jobs` seeds of `job` with `launcher`, into `sweep_dir`."""
    if launcher not in LAUNCHERS:
        raise ValueError(f"launcher must be one of {sorted(LAUNCHERS)}, got {launcher!r}")
    seeds = ",".join(str(seed) for seed in range(jobs))
    return [
        sys.executable,
        "-m",
        "rnnlab.train",
        "-m",
        *LAUNCHERS[launcher],
        *job,
        f"seed={seeds}",
        f"hydra.sweep.dir={sweep_dir}",
    ]


def time_sweep(launcher: str, jobs: int, job: tuple[str, ...], workdir: Path) -> float:
    """Wall seconds of one sweep, start of the process to its exit; raises if any job did not complete."""
    sweep_dir = Path(tempfile.mkdtemp(dir=workdir, prefix=f"{launcher}-"))
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_PARENT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start = time.perf_counter()
    result = subprocess.run(
        sweep_command(launcher, jobs, job, sweep_dir), cwd=workdir, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    completed = sorted(sweep_dir.glob("*/metrics.json"))
    if result.returncode != 0 or len(completed) != jobs:
        raise RuntimeError(
            f"the {launcher} sweep failed ({len(completed)}/{jobs} jobs wrote metrics.json, exit "
            f"{result.returncode}):\n{result.stderr[-2000:]}"
        )
    return seconds


def compare(jobs: int, job: tuple[str, ...], workdir: Path) -> dict:
    """Wall seconds of the same sweep with each launcher (basic first, then joblib), and joblib's ratio to basic."""
    seconds = {launcher: time_sweep(launcher, jobs, job, workdir) for launcher in LAUNCHERS}
    return {
        "jobs": jobs,
        "job": list(job),
        "n_jobs": 2,
        "basic_s": seconds["basic"],
        "joblib_s": seconds["joblib"],
        "ratio": seconds["joblib"] / seconds["basic"],
    }
