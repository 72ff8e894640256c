"""hydra/launcher=slurm on a real Slurm (scripts/local-slurm start): sweeps, refusals, requeues, an Optuna search.

Each sweep's results are compared with the same sweep on Hydra's basic launcher. The tests own their cluster: they
run only against the Slurm scripts/local-slurm starts (ClusterName rnnlab-local) or one named in
$RNNLAB_SLURM_CLUSTER, and look only at their own jobs (their user, their sweep directory in the job's command).
Without such a Slurm the `slurm` tests are skipped with the reason, or fail when $RNNLAB_REQUIRE_SLURM is set
(.ci/run sets it once it has started the local cluster, so a broken cluster cannot pass as a skip); where .ci/run
says it skips them, it sets $RNNLAB_SLURM_SKIP and they are skipped with its reason.
"""

from __future__ import annotations

import getpass
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
    return {j.name: {k: j.record.to_json().get(k) for k in RESULT_KEYS} for j in find_jobs(sweep_dir) if j.record}


LOCAL_CLUSTER = "rnnlab-local"  # scripts/local-slurm's ClusterName


def squeue(mine: Path, *fields: str) -> list[list[str]]:
    """`fields` of this user's jobs whose command (submitit's script) lies under `mine`: the test's own jobs, never
    another user's or another test's on a shared cluster."""
    out = subprocess.run(
        ["squeue", "-h", "-r", "-u", getpass.getuser(), "-o", "|".join([*fields, "%o"])],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [line.split("|") for line in out.stdout.splitlines()]
    return [row[:-1] for row in rows if row[-1].startswith(str(mine))]


def cluster_name() -> str | None:
    """The ClusterName of the Slurm that answers, or None."""
    done = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True)
    match = re.search(r"^ClusterName\s*=\s*(\S+)", done.stdout, re.MULTILINE)
    return match.group(1) if done.returncode == 0 and match else None


def cluster_refusal() -> str | None:
    """Why the slurm tests must not run here, or None: .ci/run's reason, no Slurm, or a Slurm not theirs."""
    if os.environ.get("RNNLAB_SLURM_SKIP"):
        return f".ci/run: {os.environ['RNNLAB_SLURM_SKIP']}"
    if shutil.which("sbatch") is None:
        return "no sbatch on PATH (run scripts/local-slurm start, as root)"
    done = subprocess.run(["squeue", "-h"], capture_output=True, text=True)
    if done.returncode != 0:
        return f"Slurm does not answer: {done.stderr.strip()} (scripts/local-slurm start)"
    wanted, name = os.environ.get("RNNLAB_SLURM_CLUSTER", LOCAL_CLUSTER), cluster_name()
    if name != wanted:
        return (
            f"the Slurm that answers is cluster {name!r}, not {wanted!r} (scripts/local-slurm's); "
            "set RNNLAB_SLURM_CLUSTER to its name to test against it"
        )
    return None


class ReleaseRequeued(threading.Thread):
    """Start requeued jobs now: Slurm holds a requeued batch job two minutes (Reason=BeginTime) before it may run
    again, which the tests need not wait for. Nothing else about the requeue changes."""

    def __init__(self, mine: Path) -> None:
        super().__init__(daemon=True)
        self.mine = mine
        self.stopped = threading.Event()
        self.released: set[str] = set()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            for job_id, reason in squeue(self.mine, "%i", "%r"):
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
    """The tests' own Slurm, or a skip saying why (a failure where $RNNLAB_REQUIRE_SLURM is set)."""
    reason = cluster_refusal()
    if reason:
        if os.environ.get("RNNLAB_REQUIRE_SLURM") and not os.environ.get("RNNLAB_SLURM_SKIP"):
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
    with ReleaseRequeued(tmp_path) as releaser:
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
        (job_id,) = [job_id for (job_id,) in squeue(tmp_path, "%i")]
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
    assert job.record.resumed_from_step >= 5  # from checkpoints/last.ckpt, not from scratch
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
    assert job.record.resumed_from_step >= 5
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


def fake_slurm(bin_dir: Path, monkeypatch, squeue_out: str, cluster: str = LOCAL_CLUSTER) -> Path:
    """squeue, scancel and scontrol stand-ins on PATH: squeue prints `squeue_out`, scancel logs its arguments."""
    bin_dir.mkdir()
    calls = bin_dir / "calls"
    scripts = {
        "squeue": f"cat <<'OUT'\n{squeue_out}\nOUT",
        "scancel": f'echo "scancel $*" >> {calls}',
        "scontrol": f"echo 'ClusterName             = {cluster}'",
        "sbatch": "exit 0",
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


def test_only_the_tests_own_jobs_are_counted(tmp_path, monkeypatch):
    """Another user's job, another test's job and ours: squeue() sees ours alone (the issue's `too many values`)."""
    mine = tmp_path / "sweep"
    user = getpass.getuser()
    fake_slurm(
        tmp_path / "bin",
        monkeypatch,
        f"7|BeginTime|{mine}/.submitit/7/7_submission.sh\n8|None|/elsewhere/.submitit/8/8_submission.sh\n"
        f"9|None|{tmp_path}/other/.submitit/9_submission.sh",
    )
    assert squeue(mine, "%i", "%r") == [["7", "BeginTime"]]
    assert user  # squeue is asked with -u: the fake ignores it, a real one filters by user as well


@pytest.mark.parametrize(
    "env, cluster, expected",
    [
        ({"RNNLAB_SLURM_SKIP": "scripts/local-slurm start failed: dpkg lock"}, LOCAL_CLUSTER, ".ci/run: scripts/"),
        ({}, "somebody-elses", "the Slurm that answers is cluster 'somebody-elses', not 'rnnlab-local'"),
        ({"RNNLAB_SLURM_CLUSTER": "somebody-elses"}, "somebody-elses", None),
        ({}, LOCAL_CLUSTER, None),
    ],
)
def test_the_tests_run_only_on_their_own_cluster_and_skip_when_ci_says_so(
    tmp_path, monkeypatch, env, cluster, expected
):
    fake_slurm(tmp_path / "bin", monkeypatch, "", cluster)
    for key in ("RNNLAB_SLURM_SKIP", "RNNLAB_SLURM_CLUSTER"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reason = cluster_refusal()
    assert reason == expected if expected is None else reason.startswith(expected), reason


class _FakeJob:
    def __init__(self, job_id: str, folder: Path) -> None:
        self.job_id = job_id
        self.paths = type("Paths", (), {"result_pickle": folder / f"{job_id}_result.pkl"})()


@pytest.mark.parametrize("reason", ["PartitionConfig", "PartitionTimeLimit", "QOSMaxCpuPerJobLimit"])
def test_a_job_that_can_never_start_is_one_line_within_seconds_and_cancelled(tmp_path, monkeypatch, capsys, reason):
    from rnnlab.sweeps.slurm_launcher import SlurmLauncher

    calls = fake_slurm(tmp_path / "bin", monkeypatch, f"41_0|PENDING|{reason}\n41_1|PENDING|Priority")
    launcher = SlurmLauncher.__new__(SlurmLauncher)
    launcher.params = {"partition": None, "cpus_per_task": 64, "mem_gb": 2, "timeout_min": 60}
    started = time.monotonic()
    with pytest.raises(SystemExit) as exited:
        list(launcher._as_ended_or_exit([_FakeJob("41_0", tmp_path), _FakeJob("41_1", tmp_path)]))
    assert exited.value.code == 2 and time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"rnnlab: Slurm cannot start job 41_0: pending with reason {reason}")
    assert "hydra.launcher.cpus_per_task=64" in err
    assert calls.read_text() == "scancel 41\n"


def test_a_job_waiting_for_resources_is_waited_for(tmp_path, monkeypatch):
    """Priority, Resources, BeginTime...: a wait that ends; the launcher polls on (here: until the result shows)."""
    from rnnlab.sweeps import slurm_launcher

    fake_slurm(tmp_path / "bin", monkeypatch, "5_0|PENDING|Resources")
    job = _FakeJob("5_0", tmp_path)
    monkeypatch.setattr(slurm_launcher, "POLL_SECONDS", 0.01)
    polls = iter(range(3))
    real_states = slurm_launcher._job_states

    def states(ids):
        if next(polls, None) is None:
            job.paths.result_pickle.write_bytes(b"")
        return real_states(ids)

    monkeypatch.setattr(slurm_launcher, "_job_states", states)
    assert [j.job_id for j in slurm_launcher._as_ended([job])] == ["5_0"]
