"""Sweeps outlive their jobs (the real CLI): a job whose directory cannot be made, a joblib worker killed as the
out-of-memory killer would, and a killed sweep whose workers must not run on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnlab.record.jobs import find_jobs
from tests.helpers import ROOT

pytestmark = pytest.mark.slow  # each sweep starts Python, torch and Lightning (seconds), joblib's workers too

# Tiny jobs, named by the grid's `+note` alone.
TINY = [
    "max_steps=6",
    "task.train_batches=3",
    "task.val_batches=1",
    "hidden_size=8",
    "seq_len=8",
    "batch_size=8",
    "checkpoint.every_n_steps=2",
    "trainer.enable_progress_bar=false",
    "callbacks=none",
    "+callbacks.faults._target_=tests.helpers.faults.Faults",
    "hydra.job.config.override_dirname.exclude_keys=[max_steps,task.train_batches,task.val_batches,hidden_size,"
    "seq_len,batch_size,checkpoint.every_n_steps,trainer.enable_progress_bar,callbacks,"
    "callbacks.faults._target_]",
]
LONG = "x" * 300  # a directory name over the file system's 255 characters


def sweep(sweep_dir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "rnnlab.train", "-m", f"hydra.sweep.dir={sweep_dir}", *TINY, *args]
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=400, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )


def test_jobs_whose_directory_cannot_be_made_are_recorded_and_the_others_run(tmp_path):
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    (sweep_dir / "+note=blocked").write_text("a file where the job's directory should go")
    result = sweep(sweep_dir, f"+note=blocked,ok,{LONG}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    statuses = {job.name: job.status for job in find_jobs(sweep_dir)}
    assert statuses == {"+note=blocked": "failed", "+note=ok": "completed", f"+note={LONG}": "failed"}
    lines = result.stderr.splitlines()
    assert any(line.startswith("  FAILED +note=blocked: could not start: FileExistsError") for line in lines)
    assert any(line.startswith(f"  FAILED +note={LONG}: could not start: OSError") for line in lines)

    # The way cleared, the same command runs the blocked job; the summary forgets its failure.
    (sweep_dir / "+note=blocked").unlink()
    again = sweep(sweep_dir, f"+note=blocked,ok,{LONG}")
    statuses = {job.name: job.status for job in find_jobs(sweep_dir)}
    assert statuses == {"+note=blocked": "completed", "+note=ok": "completed", f"+note={LONG}": "failed"}
    assert again.returncode == 1 and "1 failed" in again.stderr


def test_a_killed_joblib_worker_takes_only_its_own_job(tmp_path):
    # Two healthy jobs and two that SIGKILL themselves at step 3, every time they run (an out-of-memory kill).
    sweep_dir = tmp_path / "sweep"
    result = sweep(
        sweep_dir,
        "hydra/launcher=rnnlab_joblib",
        "hydra.launcher.n_jobs=2",
        "+note=a,b",
        "+callbacks.faults.kill_at_step=null,3",
    )
    assert result.returncode == 1
    assert "a worker died" in result.stderr and "TerminatedWorkerError" not in result.stderr.replace(
        "a worker died (", ""
    )
    statuses = {
        (job.overrides["note"], job.overrides["callbacks.faults.kill_at_step"]): job.status
        for job in find_jobs(sweep_dir)
    }
    assert statuses == {
        ("a", "null"): "completed",
        ("b", "null"): "completed",
        ("a", "3"): "incomplete",
        ("b", "3"): "incomplete",
    }
    assert result.stderr.count("  INCOMPLETE ") == 2 and "2 completed, 2 incomplete" in result.stderr


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(p) for p in (task / "children").read_text().split()}
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from /proc (Linux)")
def test_killing_the_sweep_ends_its_workers(tmp_path):
    sweep_dir = tmp_path / "sweep"
    command = [
        sys.executable,
        "-m",
        "rnnlab.train",
        "-m",
        f"hydra.sweep.dir={sweep_dir}",
        *TINY,
        "max_steps=100000",
        "hydra/launcher=rnnlab_joblib",
        "hydra.launcher.n_jobs=2",
        "+note=a,b",
    ]
    parent = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while len(list(sweep_dir.glob("*/events.*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)  # both jobs training in their workers
        workers = {pid for child in _children(parent.pid) for pid in {child} | _children(child)}
        assert workers, "no worker processes found"
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.5)
    survivors = [pid for pid in workers if _alive(pid)]
    for pid in survivors:  # do not leave them running if the test fails
        os.kill(pid, signal.SIGKILL)
    assert not survivors
