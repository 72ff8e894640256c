"""Sweeps through the real CLI: divergence and failure recorded, every job run, resume after a crash, launchers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from rnnlab.record.jobs import find_jobs
from rnnlab.record.overrides import parse_overrides
from rnnlab.training.hparams import sweep_mark
from tests.helpers import ROOT
from tests.helpers.faults import EXIT_AT_STEP

# Tiny runs: 4 epochs of 5 steps, a checkpoint and a validation at each epoch's end.
TINY = {
    "hidden_size": 8,
    "seq_len": 10,
    "batch_size": 16,
    "max_steps": 20,
    "task.train_batches": 5,
    "task.val_batches": 2,
    "checkpoint.every_n_steps": 5,
    "+callbacks.faults._target_": "tests.helpers.faults.Faults",
}
# Job directories named by the grid alone (every override would pass the file system's 255-character limit).
NAMED_BY_GRID = "hydra.job.config.override_dirname.exclude_keys=[threads,trainer.enable_progress_bar,{}]".format(
    ",".join(key.lstrip("+") for key in TINY)
)
ARGS = [f"{key}={value}" for key, value in TINY.items()] + ["trainer.enable_progress_bar=false", NAMED_BY_GRID]
# init_scale 1e20 with relu overflows at the first step (diverged); raise_at_step=3 fails the job that does not.
GRID = ["nonlinearity=relu", "init=normal", "init_scale=0.5,1e20", "+callbacks.faults.raise_at_step=null,3"]
RESULT_KEYS = ("status", "steps", "final", "best", "baseline", "diverged_at_step")


def progress_lines(run: subprocess.CompletedProcess) -> list[str]:
    """The sweep's progress lines (rnnlab.sweeps.sweep_progress): `[k/N] JOB: STATUS...  |  k/N done...`."""
    return [line for line in run.stdout.splitlines() if line.startswith("[") and "  |  " in line]


def sweep(sweep_dir: Path, *args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "rnnlab.train", "-m", f"hydra.sweep.dir={sweep_dir}", *ARGS, *args]
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


def statuses(sweep_dir: Path) -> dict[tuple[str, str], str]:
    """(init_scale, raise_at_step) -> status of every job."""
    return {
        (job.overrides["init_scale"], job.overrides["callbacks.faults.raise_at_step"]): job.status
        for job in find_jobs(sweep_dir)
    }


def results(sweep_dir: Path) -> dict[str, dict]:
    """Each job's metrics.json without what depends on the machine or the moment."""
    return {j.name: {k: j.record.to_json().get(k) for k in RESULT_KEYS} for j in find_jobs(sweep_dir) if j.record}


EXPECTED = {
    ("0.5", "null"): "completed",
    ("1e+20", "null"): "diverged",
    ("0.5", "3"): "failed",
    ("1e+20", "3"): "diverged",
}


@pytest.fixture(scope="module")
def basic_sweep(tmp_path_factory) -> dict:
    """The grid on Hydra's basic launcher: killed at step 12 of its first job, then re-run, then re-run again."""
    sweep_dir = tmp_path_factory.mktemp("basic") / "sweep"
    killed = sweep(sweep_dir, *GRID, env={EXIT_AT_STEP: "12"})
    after_kill = {
        job.name: (job.status, (job.dir / "checkpoints" / "last.ckpt").exists()) for job in find_jobs(sweep_dir)
    }
    resumed = sweep(sweep_dir, *GRID)
    first_results = results(sweep_dir)
    again = sweep(sweep_dir, *GRID)
    return {
        "dir": sweep_dir,
        "killed": killed,
        "after_kill": after_kill,
        "resumed": resumed,
        "first_results": first_results,
        "again": again,
    }


@pytest.mark.slow
def test_hparams_name_each_trial_by_what_the_sweep_varies(basic_sweep):
    """The swept keys (not nonlinearity and init, fixed on the command line) rank first and name the trial; a swept
    callbacks key is no hyper-parameter column (bookkeeping), but it still tells the trials apart."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    named = {}
    for job in find_jobs(basic_sweep["dir"]):
        if job.status == "failed":  # a failed run writes no HParams summaries
            continue
        events = EventAccumulator(str(job.dir))
        events.Reload()
        content = events.PluginTagToContent("hparams")
        start, experiment = (
            plugin_data_pb2.HParamsPluginData.FromString(content[f"_hparams_/{name}"])
            for name in ("session_start_info", "experiment")
        )
        differs = {info.name for info in experiment.experiment.hparam_infos if info.differs}
        assert differs == {"init_scale", "sweep"}, job.name  # the sweep's name is a column ranked with them
        named[start.session_start_info.group_name] = job.status
    mark = sweep_mark(str(basic_sweep["dir"]))
    assert named == {f"0.5 null {mark}": "completed", f"1e+20 null {mark}": "diverged", f"1e+20 3 {mark}": "diverged"}


@pytest.mark.slow
def test_a_killed_sweep_leaves_its_running_job_incomplete(basic_sweep):
    assert basic_sweep["killed"].returncode == 3, basic_sweep["killed"].stderr[-2000:]
    # the first job, with the checkpoint it resumes from; the others never started
    assert list(basic_sweep["after_kill"].values()) == [("incomplete", True)]


@pytest.mark.slow
def test_the_rerun_resumes_runs_every_job_and_reports_each_failure(basic_sweep):
    run = basic_sweep["resumed"]
    assert run.returncode == 1, run.stderr[-3000:]
    assert statuses(basic_sweep["dir"]) == EXPECTED
    summary = [line for line in run.stderr.splitlines() if "rnnlab sweep" in line or line.startswith("  FAILED")]
    assert summary[0].endswith("4 jobs: 1 completed, 2 diverged, 1 failed"), run.stderr[-3000:]
    assert len(summary) == 2 and "init_scale=0.5" in summary[1] and "raise_at_step=3" in summary[1]
    assert "RuntimeError: injected fault at step 3" in summary[1]
    # Progress: a line per job as it finished, counted to 4, with the statuses and the table at the end.
    lines = progress_lines(run)
    assert [line.split("]")[0] for line in lines] == ["[1/4", "[2/4", "[3/4", "[4/4"], run.stdout[-3000:]
    assert lines[-1].endswith("4/4 done, 2 diverged, 1 failed")
    assert sorted(line.split(": ")[1].split(",")[0] for line in lines) == [
        "completed",
        "diverged",
        "diverged",
        "failed",
    ]
    assert "about" in lines[0] and "left" in lines[0]  # an estimate while jobs remain
    out = run.stdout.splitlines()
    header = next(i for i, line in enumerate(out) if line.split() == ["job", "status", "final/baseline", "time"])
    assert sorted(line.split()[1] for line in out[header + 1 : header + 5]) == [
        "completed",
        "diverged",
        "diverged",
        "failed",
    ]  # the table at the end
    (resumed,) = [job for job in find_jobs(basic_sweep["dir"]) if job.record and job.record.resumed_from_step]
    assert resumed.record.resumed_from_step == 10 and resumed.status == "completed"
    failed = next(job for job in find_jobs(basic_sweep["dir"]) if job.status == "failed")
    assert "injected fault" in (failed.dir / "train.log").read_text()  # the traceback stays with the job


@pytest.mark.slow
def test_a_third_run_skips_finished_jobs_and_changes_nothing(basic_sweep):
    run = basic_sweep["again"]
    assert run.returncode == 1  # the failed job is run again, and fails again
    assert run.stdout.count("skipped") == 3, run.stdout[-3000:]
    assert "3 of 4 jobs already finished" in run.stdout
    (line,) = progress_lines(run)  # only the failed job ran again
    assert line.startswith("[4/4]") and ": failed" in line and line.endswith("4/4 done, 2 diverged, 1 failed")
    assert results(basic_sweep["dir"]) == basic_sweep["first_results"]


@pytest.mark.slow
def test_joblib_runs_the_grid_in_parallel_and_matches_the_resumed_basic_sweep(basic_sweep, tmp_path):
    # Two jobs at a time, one torch thread each (threads: 1): 2 cores, no oversubscription.
    run = sweep(tmp_path / "sweep", *GRID, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    assert run.returncode == 1, run.stderr[-3000:]
    # joblib's own "Joblib.Parallel(n_jobs=2 ..." line is filtered by the lab's quiet console; the launcher it ran:
    launcher = OmegaConf.load(tmp_path / "sweep" / "multirun.yaml").hydra.launcher
    assert "joblib" in launcher._target_ and launcher.n_jobs == 2
    assert "Joblib.Parallel" not in run.stdout + run.stderr
    assert len(progress_lines(run)) == 4 and progress_lines(run)[-1].endswith("4/4 done, 2 diverged, 1 failed")
    assert statuses(tmp_path / "sweep") == EXPECTED
    # The resumed job's result equals the uninterrupted run's; so do all the others.
    assert results(tmp_path / "sweep") == basic_sweep["first_results"]
    assert all(job.record and job.record.config["threads"] == 1 for job in find_jobs(tmp_path / "sweep"))


@pytest.mark.slow
def test_submitit_local_runs_each_job_in_its_own_process(basic_sweep, tmp_path):
    run = sweep(
        tmp_path / "sweep",
        "nonlinearity=relu",
        "init=normal",
        "init_scale=0.5,1e20",
        "+callbacks.faults.raise_at_step=null",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=5",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "4 jobs" not in run.stdout and "2 jobs: 1 completed, 1 diverged" in run.stdout
    assert [line.split("]")[0] for line in progress_lines(run)] == ["[1/2", "[2/2"], run.stdout[-3000:]
    assert statuses(tmp_path / "sweep") == {k: v for k, v in EXPECTED.items() if k[1] == "null"}
    # each job named by what its sweep varies: here init_scale alone, there init_scale and raise_at_step
    diverged = results(tmp_path / "sweep")["init_scale=1e+20"]
    assert diverged == basic_sweep["first_results"]["+callbacks.faults.raise_at_step=null,init_scale=1e+20"]


def test_parse_overrides_keeps_values_as_written():
    assert parse_overrides(["+a.b=1e+20", "model=torch", "~x", "c=x=y"]) == {
        "a.b": "1e+20",
        "model": "torch",
        "x": "",
        "c": "x=y",
    }


@pytest.mark.slow
def test_the_report_on_the_real_sweep_holds_each_jobs_numbers(basic_sweep, tmp_path):
    import pandas as pd

    from rnnlab.sweeps.report_files import write_report

    written = write_report(basic_sweep["dir"], tmp_path)
    table = pd.read_csv(written["csv"])
    jobs = {job.name: job for job in find_jobs(basic_sweep["dir"])}
    assert sorted(table["job"]) == sorted(jobs)
    for row in table.itertuples():
        record = jobs[row.job].record
        assert record is not None and row.status == record.status and row.steps == record.steps
        final = record.final.get("val/loss")
        assert (pd.isna(row.final_val_loss) and final is None) or row.final_val_loss == pytest.approx(final, rel=1e-12)
    timings = pd.read_csv(tmp_path / "timings.csv").set_index("job")["wall_time_s"]  # apart: they change every run
    for name, job in jobs.items():
        if job.record:
            assert timings[name] == pytest.approx(job.record.wall_time_s)
    assert {"final_loss", "learning_curves", "markdown"} <= set(written)
    assert all(path.stat().st_size > 0 for path in written.values())
    assert "## Failures" in written["markdown"].read_text()


@pytest.mark.slow
def test_a_bad_configuration_fails_its_job_only(tmp_path):
    done = sweep(tmp_path / "sweep", "num_layers=0,1", "max_steps=5")
    assert done.returncode == 1
    jobs = {job.overrides["num_layers"]: job for job in find_jobs(tmp_path / "sweep")}
    assert jobs["1"].status == "completed" and jobs["0"].status == "failed"
    assert "num_layers=0 is invalid" in jobs["0"].error
    assert "FAILED" in done.stderr and "num_layers=0 is invalid" in done.stderr


@pytest.mark.slow
def test_the_optuna_preset_runs_a_study_whose_jobs_record_their_results(tmp_path):
    done = sweep(
        tmp_path / "optuna",
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.sampler.n_startup_trials=2",
        "max_steps=5",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    jobs = find_jobs(tmp_path / "optuna")
    assert len(jobs) == 3 and all(job.status == "completed" for job in jobs)
    assert {"lr", "init_scale", "hidden_size"} <= set(jobs[0].overrides)  # each trial's sampled values
    assert all(0.0003 <= float(job.overrides["lr"]) <= 0.03 for job in jobs)
