"""The sweep's progress lines: the job count Hydra will launch, a line per finished job, the time left."""

from __future__ import annotations

import json
import os

from omegaconf import OmegaConf

from rnnlab.record.formatting import duration
from rnnlab.record.study import expected_jobs, varied_keys
from rnnlab.sweeps.sweep_progress import SweepProgress, count_line, job_line, table


def sweep_config(sweep_dir, task=(), params=None, **sweeper):
    return OmegaConf.create(
        {
            "hydra": {
                "sweep": {"dir": str(sweep_dir)},
                "overrides": {"task": list(task)},
                "sweeper": {"params": params, **sweeper},
            }
        }
    )


def write_job(sweep_dir, name, status, loss=None, baseline=0.2, seconds=3.0, error=None, mtime=None):
    job = sweep_dir / name
    job.mkdir(parents=True, exist_ok=True)
    record = {
        "status": status,
        "steps": 5,
        "final": {"val/loss": loss},
        "best": {},
        "baseline": baseline,
        "config": {},
        "timing": {"wall_time_s": seconds},
        **({"error": error} if error else {}),
    }
    record["overrides"] = [name, "max_steps=5"]
    (job / "metrics.json").write_text(json.dumps(record))
    if mtime is not None:
        os.utime(job / "metrics.json", (mtime, mtime))


def test_expected_jobs_is_the_product_of_the_swept_values(tmp_path):
    assert expected_jobs(sweep_config(tmp_path, ["seed=0,1", "nonlinearity=tanh,relu", "max_steps=5"])) == 4
    # an experiment's sweeper params and the command line combine, the command line winning for the same key
    assert expected_jobs(sweep_config(tmp_path, ["seed=0,1"], {"init_scale": "0.5,1.0,1.5"})) == 6
    assert expected_jobs(sweep_config(tmp_path, ["init_scale=2"], {"init_scale": "0.5,1.0,1.5"})) == 1
    assert expected_jobs(sweep_config(tmp_path, ["seed=range(0,5)"])) == 5
    assert expected_jobs(sweep_config(tmp_path, [], {"lr": "interval(0.1,1)"}, n_trials=20)) == 20  # Optuna
    assert varied_keys(sweep_config(tmp_path, ["seed=0,1", "+x=2", "lr=0.1,0.2"], {"init_scale": "1"})) == [
        "seed",
        "lr",
    ]
    # Optuna's search space is what it varies
    assert varied_keys(sweep_config(tmp_path, [], {"+lr": "interval(0.1,1)", "seed": "0,1"}, n_trials=20)) == [
        "lr",
        "seed",
    ]


def test_count_line_says_done_statuses_and_the_time_left():
    statuses = ["completed", "diverged", "completed"]
    # 3 jobs in 30 s: 10 s each; 11 left -> 110 s
    assert count_line(statuses, 14, elapsed=30.0, new_done=3) == "3/14 done, 1 diverged, about 2 min left"
    assert count_line(statuses + ["failed"], 4, elapsed=30.0, new_done=4) == "4/4 done, 1 diverged, 1 failed"
    assert count_line(statuses, None, elapsed=30.0, new_done=3) == "3/? done, 1 diverged"
    assert [duration(s) for s in (0.2, 40, 600, 7200)] == ["1 s", "40 s", "10 min", "2.0 h"]


def test_poll_prints_each_job_once_as_it_finishes(tmp_path, capsys):
    sweep_dir = tmp_path / "sweep"
    write_job(sweep_dir, "seed=0", "completed", loss=0.05, mtime=1_000_000)  # from an earlier run of the sweep
    progress = SweepProgress(poll_seconds=3600)  # the test polls by hand
    progress.on_multirun_start(sweep_config(sweep_dir, ["seed=0,1,2"]))
    assert "1 of 3 jobs already finished" in capsys.readouterr().out
    assert progress.poll() == []

    write_job(sweep_dir, "seed=1", "diverged", loss=None, seconds=1.25)
    write_job(sweep_dir, "seed=2", "failed", error="ValueError: boom", seconds=0.5)
    lines = progress.poll()
    assert [line.split("  |  ")[0] for line in sorted(lines)] == [
        "[2/3] seed=1: diverged, 1.2 s",
        "[3/3] seed=2: failed, 0.5 s (ValueError: boom)",
    ] or [line.split("  |  ")[0] for line in lines] == [
        "[2/3] seed=2: failed, 0.5 s (ValueError: boom)",
        "[3/3] seed=1: diverged, 1.2 s",
    ]
    assert lines[-1].endswith("3/3 done, 1 diverged, 1 failed")
    assert progress.poll() == []  # nothing new

    write_job(sweep_dir, "seed=2", "completed", loss=0.1, seconds=2.0, mtime=2_000_000_000)  # re-run: rewritten
    (line,) = progress.poll()
    assert line.startswith("[3/3] seed=2: completed, final/baseline 0.5, 2.0 s")
    progress.on_multirun_end(sweep_config(sweep_dir))
    out = capsys.readouterr().out.splitlines()
    assert out[-4].split() == ["job", "status", "final/baseline", "time"]
    assert [row.split() for row in out[-3:]] == [
        ["seed=0", "completed", "0.25", "3.0", "s"],
        ["seed=1", "diverged", "-", "1.2", "s"],
        ["seed=2", "completed", "0.5", "2.0", "s"],
    ]


def test_job_line_without_a_total_or_a_loss():
    from rnnlab.sweeps.sweep_progress import Finished

    job = Finished(name="lr=1", status="failed", final_over_baseline=None, wall_time_s=None, error="boom")
    assert job_line(job, 2, None) == "[2/?] lr=1: failed (boom)"
    assert table([job]) == ["job   status  final/baseline  time", "lr=1  failed  -               -"]


def test_the_callback_pickles_without_its_thread(tmp_path):
    """joblib and submitit pickle the launcher with Hydra's callbacks."""
    import pickle

    progress = SweepProgress(poll_seconds=7)
    progress.on_multirun_start(sweep_config(tmp_path / "sweep", ["seed=0,1"]))
    try:
        copy = pickle.loads(pickle.dumps(progress))
    finally:
        progress.on_multirun_end(sweep_config(tmp_path / "sweep"))
    assert copy.poll_seconds == 7 and copy._thread is None
