"""The record never lies, through the real CLI: a directory of another configuration is refused (finished or
resumable, also in a sweep); a second process on a run directory is refused; SIGTERM and SIGINT end a run as an
interruption that resumes exactly; a crafted checkpoint never runs; a job failing in setup is recorded `failed`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnlab.record.jobs import find_jobs
from tests.helpers import ROOT
from tests.helpers.cli import read_record, run_cli, without_timing
from tests.helpers.faults import EXIT_AT_STEP, KILLED, SIGNAL_AT_STEP

pytestmark = pytest.mark.slow  # each run starts Python, torch and Lightning (seconds)

BASE = [
    "hidden_size=8",
    "seq_len=8",
    "batch_size=8",
    "task.train_batches=10",
    "task.val_batches=2",
    "max_steps=30",
    "checkpoint.every_n_steps=7",
    "trainer.enable_progress_bar=false",
    "+callbacks.faults._target_=tests.helpers.faults.Faults",
]


# A sweep's job directories are named by its overrides: few and short (a name over 255 characters cannot be made).
SWEEP = ["hidden_size=8", "seq_len=8", "batch_size=8", "task.train_batches=5", "task.val_batches=1", "max_steps=5"]


def tree(run_dir: Path) -> dict[str, bytes]:
    """Every file of the run's record (Hydra's own .hydra/ and log aside, and the lock file a killed run leaves,
    which the next process takes over), by name: what "untouched" compares."""
    return {
        p.relative_to(run_dir).as_posix(): p.read_bytes()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and ".hydra" not in p.parts and p.suffix not in (".log", ".lock")
    }


def last_line(result) -> str:
    return result.stderr.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """The uninterrupted run's record, and its directory (to re-run into)."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    result = run_cli(run_dir, *BASE)
    assert result.returncode == 0, result.stderr
    return {"dir": run_dir, "record": read_record(run_dir)}


@pytest.fixture(scope="module")
def killed_at_17(tmp_path_factory) -> Path:
    """The run killed at step 17: last.ckpt at step 14, previous.ckpt at step 7, no metrics.json."""
    run_dir = tmp_path_factory.mktemp("killed") / "run"
    assert run_cli(run_dir, *BASE, env={EXIT_AT_STEP: "17"}).returncode == KILLED
    return run_dir


def copy(run_dir: Path, tmp_path: Path) -> Path:
    import shutil

    shutil.copytree(run_dir, tmp_path / "run")
    return tmp_path / "run"


# ---- a run is its configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change,named",
    [
        (["lr=0.1"], "lr: 0.003 -> 0.1"),
        (["model=myrnn", "num_layers=2"], "num_layers: 1 -> 2"),
        (["trainer.fast_dev_run=true"], "trainer.fast_dev_run: false -> true"),
    ],
)
def test_a_finished_run_of_another_configuration_is_refused_and_untouched(change, named, reference, tmp_path):
    run_dir = copy(reference["dir"], tmp_path)
    before = tree(run_dir)
    result = run_cli(run_dir, *BASE, *change)
    assert result.returncode == 2, result.stderr
    line = last_line(result)
    assert line.startswith(f"rnnlab: {run_dir} holds a completed run of another configuration") and named in line
    assert "Traceback" not in result.stderr and "skipped" not in result.stdout
    assert tree(run_dir) == before


def test_bookkeeping_changes_skip_the_finished_run(reference, tmp_path):
    run_dir = copy(reference["dir"], tmp_path)
    before = tree(run_dir)
    result = run_cli(run_dir, *BASE, "trainer.log_every_n_steps=1", "checkpoint.every_n_steps=3")
    assert result.returncode == 0 and "already completed (metrics.json): skipped" in result.stdout
    assert tree(run_dir) == before


@pytest.mark.parametrize("change,named", [(["hidden_size=16"], "hidden_size: 8 -> 16"), (["lr=0.1"], "lr: 0.003")])
def test_an_interrupted_run_is_not_resumed_with_another_configuration(change, named, killed_at_17, tmp_path):
    run_dir = copy(killed_at_17, tmp_path)
    before = tree(run_dir)
    result = run_cli(run_dir, *[o for o in BASE if not o.startswith(change[0].split("=")[0] + "=")], *change)
    assert result.returncode == 2, result.stderr
    line = last_line(result)
    assert "last.ckpt holds a step-14 checkpoint of another configuration" in line and named in line
    assert "size mismatch" not in result.stderr and "Traceback" not in result.stderr
    assert tree(run_dir) == before  # no metrics.json, no checkpoint moved


def test_a_smoke_test_leaves_no_record_a_real_run_takes_as_finished(tmp_path):
    smoke = run_cli(tmp_path, *BASE, "trainer.fast_dev_run=true")
    assert smoke.returncode == 0, smoke.stderr
    real = run_cli(tmp_path, *BASE)
    assert real.returncode == 2 and "trainer.fast_dev_run: true -> false" in last_line(real)
    assert read_record(tmp_path)["steps"] == 1  # the smoke test's record, untouched and not taken as the run


# ---- one process per run directory ---------------------------------------------------------------------------


def test_a_second_process_on_a_running_directory_writes_nothing(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time\nfrom rnnlab.record.lock import RunLock\n"
            "with RunLock(sys.argv[1]):\n print('held', flush=True); time.sleep(120)",
            str(tmp_path),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        result = run_cli(tmp_path, *BASE)
        assert result.returncode == 2, result.stderr
        assert last_line(result).startswith(f"rnnlab: {tmp_path} is being run by pid {holder.pid} on ")
        assert not (tmp_path / "metrics.json").exists() and not (tmp_path / "checkpoints").exists()
    finally:
        holder.kill()
        holder.wait()
    assert run_cli(tmp_path, *BASE).returncode == 0  # the holder gone, its lock is no obstacle


# ---- signals -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,code,step", [("TERM", 143, 17), ("INT", 130, 23), ("TERM", 143, 20)])
def test_a_signal_ends_the_run_as_an_interruption_that_resumes_exactly(name, code, step, reference, tmp_path):
    """Step 20 ends an epoch: the checkpoint waits for the epoch's validation (SIGINT) or is not taken (SIGTERM,
    which Lightning stops right after validation); either way the resume is exact."""
    result = run_cli(tmp_path, *BASE, env={SIGNAL_AT_STEP: f"{step}:{name}"})
    assert result.returncode == code, result.stderr
    assert f"interrupted by SIG{name}" in last_line(result) and "Traceback" not in result.stderr
    assert not (tmp_path / "metrics.json").exists() and not (tmp_path / ".rnnlab.lock").exists()
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    assert saved == (step if step % 10 else (14 if name == "TERM" else 20))
    again = run_cli(tmp_path, *BASE)
    assert again.returncode == 0, again.stderr
    record = read_record(tmp_path)
    assert without_timing(record) == without_timing(reference["record"])
    assert record["timing"]["resumed_from_step"] == saved


def test_an_interrupted_basic_sweep_does_not_exit_0(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rnnlab.train", "-m", f"hydra.sweep.dir={tmp_path}", *BASE, "seed=0,1"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), SIGNAL_AT_STEP: "5:TERM"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 143, result.stderr[-2000:]
    assert "interrupted by SIGTERM at step 5" in result.stderr


def test_a_signalled_joblib_worker_is_survived_like_a_killed_one(tmp_path):
    """Two healthy jobs and one whose worker gets SIGTERM at step 3 at every run: the sweep goes on, reruns it once
    alone, and lists it incomplete (exit 1), as for a SIGKILLed worker (tests/sweeps/test_sweep_faults.py)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rnnlab.train",
            "-m",
            f"hydra.sweep.dir={tmp_path}",
            *[o for o in SWEEP if not o.startswith("max_steps=")],
            "max_steps=6",
            "checkpoint.every_n_steps=2",
            "callbacks=none",
            "hydra/launcher=rnnlab_joblib",
            "hydra.launcher.n_jobs=2",
            "+callbacks.faults._target_=tests.helpers.faults.Faults",
            "+callbacks.faults.term_at_step=null,3",
            "seed=0,1",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "a worker died" in result.stderr
    statuses = {
        (job.overrides["seed"], job.overrides["callbacks.faults.term_at_step"]): job.status
        for job in find_jobs(tmp_path)
    }
    assert statuses == {
        ("0", "null"): "completed",
        ("1", "null"): "completed",
        ("0", "3"): "incomplete",
        ("1", "3"): "incomplete",
    }


# ---- crafted checkpoints -------------------------------------------------------------------------------------


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_checkpoint_is_refused_unrun_and_the_previous_one_resumes(killed_at_17, reference, tmp_path):
    run_dir = copy(killed_at_17, tmp_path)
    marker = tmp_path / "payload-ran"
    last = run_dir / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)
    checkpoint["hyper_parameters"] = Payload(marker)
    torch.save(checkpoint, last)
    result = run_cli(run_dir, *BASE)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()  # the payload never ran
    (line,) = [line for line in result.stderr.splitlines() if "set aside" in line]
    assert str(last) in line and "refused" in line and "system" in line and "resuming from step 7" in line
    record = read_record(run_dir)
    assert without_timing(record) == without_timing(reference["record"])
    assert record["timing"]["resumed_from_step"] == 7 and (run_dir / "checkpoints" / "last.ckpt.unreadable").exists()


# ---- failures before training --------------------------------------------------------------------------------


def test_a_run_failing_while_it_is_built_is_recorded_failed_with_its_error(tmp_path):
    result = run_cli(tmp_path, *BASE, "+callbacks.boom._target_=tests.helpers.faults.FailToBuild")
    assert result.returncode == 1
    record = read_record(tmp_path)
    assert record["status"] == "failed" and record["steps"] == 0
    assert record["error"] == "MemoryError: injected: cannot allocate memory while building the run"


def test_in_a_sweep_a_job_failing_in_setup_is_failed_not_killed(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rnnlab.train",
            "-m",
            f"hydra.sweep.dir={tmp_path}",
            *SWEEP,
            "+callbacks.boom._target_=tests.helpers.faults.FailToBuild",
            "+callbacks.boom.fail=true,false",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    jobs = {job.overrides["callbacks.boom.fail"]: job for job in find_jobs(tmp_path)}
    assert jobs["False"].status == "completed"
    failing = jobs["True"]
    assert failing.status == "failed" and "MemoryError: injected" in failing.error
    assert "MemoryError: injected" in result.stderr and "was killed" not in result.stderr


# ---- sweeps: a changed job refused, a changed sweep refused up front -----------------------------------------


def sweep(sweep_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "rnnlab.train",
            *[a for a in args if a.startswith("--")],  # Hydra's options before the overrides
            "-m",
            f"hydra.sweep.dir={sweep_dir}",
            *SWEEP,
            *[a for a in args if not a.startswith("--")],
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_sweep_refuses_its_changed_job_and_runs_the_others_and_refuses_a_wholly_changed_sweep(tmp_path):
    """A user's experiment file (`--config-dir`; `experiment` stays out of job names) edited between two runs of
    the same sweep: every job changed, refused up front. Then one job's record made another configuration's."""
    conf, sweep_dir = tmp_path / "conf", tmp_path / "sweep"
    (conf / "experiment").mkdir(parents=True)
    study = conf / "experiment" / "mine.yaml"
    study.write_text("# @package _global_\nlr: 0.003\n")
    args = [f"--config-dir={conf}", "experiment=mine", "seed=0,1"]
    first = sweep(sweep_dir, *args)
    assert first.returncode == 0, first.stderr[-2000:]
    records = {job.name: tree(job.dir) for job in find_jobs(sweep_dir)}
    study.write_text("# @package _global_\nlr: 0.01\n")
    edited = sweep(sweep_dir, *args)
    assert edited.returncode == 2, edited.stderr[-2000:]
    (line,) = [line for line in edited.stderr.splitlines() if line.startswith("rnnlab sweep")]
    assert "all 2 finished jobs were run with another configuration (lr: 0.003 -> 0.01" in line
    assert "skipped" not in edited.stdout
    assert {job.name: tree(job.dir) for job in find_jobs(sweep_dir)} == records
    # one job's directory holds another configuration's run (made so by hand): it alone is refused
    study.write_text("# @package _global_\nlr: 0.003\n")
    job = next(job for job in find_jobs(sweep_dir) if job.overrides["seed"] == "1")
    record = read_record(job.dir)
    record["config"]["hidden_size"] = 99
    (job.dir / "metrics.json").write_text(json.dumps(record))
    again = sweep(sweep_dir, *args[:2], "seed=0,1,2")
    assert again.returncode == 1, again.stderr[-2000:]
    statuses = {job.overrides["seed"]: job.status for job in find_jobs(sweep_dir)}
    assert statuses == {"0": "completed", "1": "refused", "2": "completed"}
    assert "REFUSED" in again.stderr and "hidden_size: 99 -> 8" in again.stderr
    assert read_record(job.dir)["config"]["hidden_size"] == 99  # untouched
