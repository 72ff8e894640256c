"""hydra/launcher=slurm on a real Slurm (scripts/local-slurm start): sweeps, refusals, requeues, an Optuna search.

Each sweep's results are compared with the same sweep on Hydra's basic launcher. Without a reachable Slurm the
`slurm` tests are skipped with the reason, or fail when $RNNLAB_REQUIRE_SLURM is set (.ci/run sets it once it has
started the local cluster, so a broken cluster cannot pass as a skip).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hydra.utils import instantiate

from rnnlab.record.jobs import find_jobs
from rnnlab.sweeps.slurm_launcher import refusal_message, slurm_executor
from tests.helpers import ROOT, compose_run
from tests.sweeps.slurm_helpers import STEP_SLEEP

# Tiny runs: a checkpoint every 5 steps, epochs of 5 steps, each ending with a validation.
TINY = {
    "hidden_size": 8,
    "seq_len": 10,
    "batch_size": 16,
    "max_steps": 20,
    "checkpoint.every_n_steps": 5,
    "task.train_batches": 5,
    "task.val_batches": 2,
    "+callbacks.faults._target_": "tests.helpers.faults.Faults",
    "+callbacks.slow._target_": "tests.sweeps.slurm_helpers.Slow",
}
NAMED_BY_GRID = "hydra.job.config.override_dirname.exclude_keys=[threads,trainer.enable_progress_bar,{}]".format(
    ",".join(key.lstrip("+") for key in TINY)
)
ARGS = [f"{key}={value}" for key, value in TINY.items()] + ["trainer.enable_progress_bar=false", NAMED_BY_GRID]
RESULT_KEYS = ("status", "steps", "final", "best", "baseline", "diverged_at_step", "error")
SLURM = ["hydra/launcher=slurm"]


def sweep(sweep_dir: Path, *args: str, env: dict | None = None, timeout: int = 400, wait: bool = True):
    command = [sys.executable, "-m", "rnnlab.train", "-m", f"hydra.sweep.dir={sweep_dir}", *ARGS, *args]
    kwargs = dict(cwd=ROOT, text=True, env={**os.environ, **(env or {})})
    if not wait:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    return subprocess.run(command, capture_output=True, timeout=timeout, **kwargs)


def results(sweep_dir: Path) -> dict[str, dict]:
    """Each job's metrics.json without what depends on the machine or the moment (`timing`)."""
    return {job.name: {k: job.metrics.get(k) for k in RESULT_KEYS} for job in find_jobs(sweep_dir) if job.metrics}


def squeue(*fields: str) -> list[list[str]]:
    out = subprocess.run(["squeue", "-h", "-r", "-o", "|".join(fields)], capture_output=True, text=True, check=True)
    return [line.split("|") for line in out.stdout.splitlines()]


class ReleaseRequeued(threading.Thread):
    """Start requeued jobs now: Slurm holds a requeued batch job two minutes (Reason=BeginTime) before it may run
    again, which the tests need not wait for. Nothing else about the requeue changes."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stopped = threading.Event()
        self.released: set[str] = set()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            for job_id, reason in squeue("%i", "%r"):
                if reason == "BeginTime":
                    subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], capture_output=True)
                    self.released.add(job_id)

    def __enter__(self) -> ReleaseRequeued:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.join()


@pytest.fixture(scope="module")
def cluster():
    """A Slurm that answers (squeue), or a skip saying why (a failure where $RNNLAB_REQUIRE_SLURM is set)."""
    reason = None
    if shutil.which("sbatch") is None:
        reason = "no sbatch on PATH (run scripts/local-slurm start, as root)"
    else:
        done = subprocess.run(["squeue", "-h"], capture_output=True, text=True)
        if done.returncode != 0:
            reason = f"Slurm does not answer: {done.stderr.strip()} (scripts/local-slurm start)"
    if reason:
        if os.environ.get("RNNLAB_REQUIRE_SLURM"):
            pytest.fail(f"RNNLAB_REQUIRE_SLURM is set but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def grid(cluster, tmp_path_factory) -> dict:
    """A completing and a failing job, on Slurm with the preset's defaults and on the basic launcher; then the
    Slurm sweep submitted again."""
    root = tmp_path_factory.mktemp("grid")
    jobs = ["seed=0", "+callbacks.faults.raise_at_step=null,7"]
    basic = sweep(root / "basic", *jobs)
    slurm = sweep(root / "slurm", *jobs, *SLURM)
    slurm_results = results(root / "slurm")
    again = sweep(root / "slurm", *jobs, *SLURM)
    return {"root": root, "basic": basic, "slurm": slurm, "slurm_results": slurm_results, "again": again}


@pytest.mark.slurm
def test_a_sweep_on_slurm_with_the_presets_defaults_matches_the_basic_launcher(grid):
    run = grid["slurm"]
    assert run.returncode == 1, run.stderr[-3000:]  # one job failed: the sweep says so
    assert grid["basic"].returncode == 1, grid["basic"].stderr[-3000:]
    assert grid["slurm_results"] == results(grid["root"] / "basic")
    statuses = {
        job.overrides["callbacks.faults.raise_at_step"]: job.status for job in find_jobs(grid["root"] / "slurm")
    }
    assert statuses == {"null": "completed", "7": "failed"}
    # one line per submitted job, with its Slurm id and log, one per finished job; no submitit warnings
    submitted = re.findall(r"rnnlab: #\d Slurm job (\d+_\d): .* \(log (\S+)\)", run.stdout)
    assert len(submitted) == 2 and all(Path(log).exists() for _, log in submitted)
    assert {
        re.search(r"Slurm job \S+ (\w+):", line).group(1)
        for line in run.stdout.splitlines()
        if re.search(r"Slurm job \S+ (completed|failed):", line)
    } == {"completed", "failed"}
    assert "sacct" not in run.stdout + run.stderr and "WARNING" not in run.stdout + run.stderr
    # the resources follow threads (1) and the preset's modest memory
    script = next((grid["root"] / "slurm" / ".submitit").rglob("*_submission.sh")).read_text()
    assert "#SBATCH --cpus-per-task=1\n" in script and "#SBATCH --mem=2GB\n" in script
    assert "#SBATCH --requeue\n" in script


@pytest.mark.slurm
def test_a_failed_slurm_job_is_recorded_and_listed_in_the_summary(grid):
    summary = [line for line in grid["slurm"].stderr.splitlines() if "rnnlab sweep" in line or "FAILED" in line]
    assert summary[0].endswith("2 jobs: 1 completed, 1 failed"), grid["slurm"].stderr[-3000:]
    assert "raise_at_step=7" in summary[1] and "RuntimeError: injected fault at step 7" in summary[1]


@pytest.mark.slurm
def test_a_resubmitted_sweep_queues_only_its_unfinished_jobs(grid):
    again = grid["again"]
    assert again.returncode == 1, again.stderr[-3000:]
    assert again.stdout.count("already completed, not submitted") == 1
    assert len(re.findall(r"rnnlab: #\d Slurm job \S+: ", again.stdout)) == 1  # the failed job only, run again
    assert results(grid["root"] / "slurm") == grid["slurm_results"]


@pytest.mark.slurm
@pytest.mark.parametrize(
    "override, key",
    [
        ("hydra.launcher.mem_gb=100000", "hydra.launcher.mem_gb=100000"),
        ("hydra.launcher.partition=nowhere", "hydra.launcher.partition=nowhere"),
        ("threads=64", "hydra.launcher.cpus_per_task=64"),
    ],
)
def test_a_refused_submission_is_one_line_naming_the_key(cluster, tmp_path, override, key):
    run = sweep(tmp_path / "sweep", "seed=0,1", *SLURM, override)
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and key in run.stderr, run.stderr[-3000:]
    assert run.stderr.startswith("rnnlab: Slurm refused the jobs: ")
    assert not (tmp_path / "sweep").exists()  # nothing half-written


def _interrupted(tmp_path: Path, interrupt, max_steps: int, step_sleep: float, *args: str):
    """The job run on Slurm and interrupted by `interrupt(job_id)` once its first checkpoint exists; and the same
    job on the basic launcher. Steps are slowed so the job is mid-run when interrupted."""
    with ReleaseRequeued() as releaser:
        running = sweep(
            tmp_path / "slurm",
            "seed=0",
            f"max_steps={max_steps}",
            *SLURM,
            *args,
            env={STEP_SLEEP: str(step_sleep)},
            wait=False,
        )
        deadline = time.time() + 180
        while not list((tmp_path / "slurm").glob("*/checkpoints/last.ckpt")) and time.time() < deadline:
            time.sleep(0.5)
        (job_id,) = [job_id for (job_id,) in squeue("%i")]
        interrupt(job_id)
        stdout, stderr = running.communicate(timeout=400)
    basic = sweep(tmp_path / "basic", "seed=0", f"max_steps={max_steps}")
    assert basic.returncode == 0, basic.stderr[-3000:]
    run = subprocess.CompletedProcess(running.args, running.returncode, stdout, stderr)
    return run, {"released": releaser.released, "job_id": job_id}, results(tmp_path / "basic")


@pytest.mark.slurm
def test_a_requeued_job_resumes_from_its_checkpoint_and_ends_as_the_uninterrupted_run(cluster, tmp_path):
    run, info, uninterrupted = _interrupted(
        tmp_path, lambda job_id: subprocess.run(["scontrol", "requeue", job_id], check=True), 40, 0.4
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert info["released"] == {info["job_id"]}  # Slurm held it after the requeue: it was requeued, once
    (job,) = find_jobs(tmp_path / "slurm")
    assert job.metrics["timing"]["resumed_from_step"] >= 5  # from checkpoints/last.ckpt, not from scratch
    assert results(tmp_path / "slurm") == uninterrupted
    assert len(re.findall(r"Slurm job \S+: ", run.stdout)) == 1  # submitted once: the user re-submitted nothing


@pytest.mark.slurm
def test_a_job_past_its_time_limit_is_requeued_by_submitit_and_ends_as_the_uninterrupted_run(cluster, tmp_path):
    # A 1-minute limit, the requeue signal 5 s before it: Slurm checks limits every 30 s, so the signal comes 25 to
    # 55 s into a run (after submitit has set its handler, ~10 s) and the job has ~65 s of work: it is signalled at
    # least once, and each requeue resumes from the last checkpoint, so it ends within max_num_timeout requeues.
    run, info, uninterrupted = _interrupted(
        tmp_path,
        lambda job_id: None,
        80,
        0.7,
        "hydra.launcher.timeout_min=1",
        "hydra.launcher.signal_delay_s=5",
        "hydra.launcher.max_num_timeout=5",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    (job,) = find_jobs(tmp_path / "slurm")
    log = next((tmp_path / "slurm" / ".submitit").rglob("*_log.out")).read_text()
    assert "this job is timed-out" in log and re.search(r"Requeued job \d+ \(\d remaining timeouts\)", log)
    assert info["released"] == {info["job_id"]}
    assert job.metrics["timing"]["resumed_from_step"] >= 5
    assert results(tmp_path / "slurm") == uninterrupted


@pytest.mark.slurm
def test_an_optuna_search_runs_its_trials_as_slurm_jobs_and_resumes_from_its_storage(cluster, tmp_path):
    import optuna

    search = [
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.sampler.n_startup_trials=2",
        "max_steps=10",
    ]
    on_slurm = sweep(tmp_path / "slurm", *search, *SLURM)
    assert on_slurm.returncode == 0, on_slurm.stderr[-3000:]
    # two batches of two trials, each batch one job array
    arrays = {job_id.split("_")[0] for job_id in re.findall(r"Slurm job (\d+_\d): ", on_slurm.stdout)}
    assert len(arrays) == 2 and len(re.findall(r"Slurm job \S+: ", on_slurm.stdout)) == 4
    storage = f"sqlite:///{tmp_path / 'slurm' / 'optuna.db'}"
    trials = optuna.load_study(study_name="rnnlab", storage=storage).trials
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    # the same search on the basic launcher samples the same trials and gets the same values
    basic = sweep(tmp_path / "basic", *search)
    assert basic.returncode == 0, basic.stderr[-3000:]
    basic_trials = optuna.load_study(study_name="rnnlab", storage=f"sqlite:///{tmp_path / 'basic' / 'optuna.db'}")
    assert [(t.params, t.value) for t in basic_trials.trials] == [(t.params, t.value) for t in trials]
    assert results(tmp_path / "basic").values() and sorted(map(str, results(tmp_path / "basic").values())) == sorted(
        map(str, results(tmp_path / "slurm").values())
    )
    # Run again while a second search process joins the same study: the stored trials are loaded, each process
    # adds two, informed by them.
    two_more = [*search[:1], "hydra.sweeper.n_trials=2", *search[2:], *SLURM]
    resumed = sweep(tmp_path / "slurm", *two_more, wait=False)
    joined = sweep(tmp_path / "joined", *two_more, f"hydra.sweeper.storage={storage}", wait=False)
    for process in (resumed, joined):
        out, err = process.communicate(timeout=400)
        assert process.returncode == 0, err[-3000:]
    trials_after = optuna.load_study(study_name="rnnlab", storage=storage).trials
    assert len(trials_after) == 8 and [(t.params, t.value) for t in trials_after[:4]] == [
        (t.params, t.value) for t in trials
    ]
    assert all(t.state.name == "COMPLETE" for t in trials_after)
    assert len(find_jobs(tmp_path / "slurm")) == 6 and len(find_jobs(tmp_path / "joined")) == 2
    assert not (tmp_path / "joined" / "optuna.db").exists()


def test_the_preset_requests_cpus_memory_and_gpus_as_configured(tmp_path):
    """The sbatch script the preset writes (submitit builds it; nothing is submitted)."""

    def script(*overrides: str) -> str:
        cfg = compose_run(tmp_path, ["hydra/launcher=slurm", f"hydra.sweep.dir={tmp_path}", *overrides])
        launcher = instantiate(cfg.hydra.launcher)
        return slurm_executor(launcher.params)._executor._make_submission_file_text("python -m x", "uid")

    default = script()
    assert "#SBATCH --cpus-per-task=1\n" in default and "#SBATCH --mem=2GB\n" in default
    assert "gpus" not in default and "--partition" not in default and "#SBATCH --time=60\n" in default
    assert "#SBATCH --signal=USR2@120\n" in default and "#SBATCH --requeue\n" in default
    gpu = script(
        "trainer=gpu",
        "threads=4",
        "hydra.launcher.gpus_per_node=2",
        "hydra.launcher.partition=gpu",
        "hydra.launcher.mem_gb=16",
    )
    assert "#SBATCH --gpus-per-node=2\n" in gpu and "#SBATCH --partition=gpu\n" in gpu
    assert "#SBATCH --cpus-per-task=4\n" in gpu and "#SBATCH --mem=16GB\n" in gpu


def test_a_refusal_names_the_key_that_decides_it():
    params = {"mem_gb": 100, "cpus_per_task": 1, "gpus_per_node": None, "partition": "p"}
    said = (
        "sbatch: error: Memory specification can not be satisfied\n"
        "sbatch: error: Batch job submission failed: Requested node configuration is not available"
    )
    assert (
        refusal_message(said, params)
        == "Slurm refused the jobs: Memory specification can not be satisfied: change hydra.launcher.mem_gb=100"
    )
    assert (
        refusal_message("sbatch: error: Batch job submission failed: Something new", params)
        == "Slurm refused the jobs: Batch job submission failed: Something new (see the hydra.launcher.* keys)"
    )
