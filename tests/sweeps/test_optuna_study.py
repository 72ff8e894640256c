"""Optuna searches that continue (hydra_plugins/rnnlab_sweepers, rnnlab.sweeps.optuna_study): a re-run adds new
trials and repeats none, an interrupted trial is resumed, two processes on one SQLite study never share a trial or a
directory, a damaged database is one line and the study is rebuilt from the job records. Real searches, tiny runs."""

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf

from rnnlab.sweeps.continuing_optuna import ContinuingStudy, _gone
from tests.helpers import ROOT
from tests.helpers.faults import EXIT_AT_STEP, KILLED

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)

TINY = [
    "hparams_search=optuna",
    "max_steps=6",
    "checkpoint.every_n_steps=2",
    "seq_len=5",
    "task.train_batches=3",
    "task.val_batches=1",
    "trainer.enable_progress_bar=false",
    # the same (inert unless the environment says when to exit) in every run, so the configurations are equal
    "+callbacks.faults._target_=tests.helpers.faults.Faults",
]


def search(sweep_dir: Path, n_trials: int, env: dict | None = None, wait: bool = True):
    """`python -m rnnlab.train hparams_search=optuna` into `sweep_dir`: its CompletedProcess, or the Popen."""
    command = [sys.executable, "-m", "rnnlab.train", *TINY, f"hydra.sweep.dir={sweep_dir}"]
    command.append(f"hydra.sweeper.n_trials={n_trials}")
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "HYDRA_FULL_ERROR": "", **(env or {})}
    environment.pop(EXIT_AT_STEP, None) if not env else None
    if not wait:
        return subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)


def trials(sweep_dir: Path) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name="rnnlab", storage=f"sqlite:///{sweep_dir}/optuna.db").trials


def record(sweep_dir: Path, name: str) -> dict:
    return json.loads((sweep_dir / name / "metrics.json").read_text())


@pytest.fixture(scope="module")
def continued(tmp_path_factory) -> Path:
    """A search of 2 trials, then the same command with n_trials=2 again."""
    sweep_dir = tmp_path_factory.mktemp("continued")
    for _ in range(2):
        result = search(sweep_dir, 2)
        assert result.returncode == 0, result.stderr[-3000:]
    return sweep_dir


@pytest.mark.slow
def test_a_rerun_adds_new_trials_informed_by_the_stored_ones_and_repeats_none(continued, tmp_path):
    done = trials(continued)
    assert [t.number for t in done] == [0, 1, 2, 3]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in done)
    assert len({tuple(sorted(t.params.items())) for t in done}) == 4
    assert sorted(p.name for p in continued.glob("trial-*")) == [f"trial-000{i}" for i in range(4)]
    for t in done:  # each directory holds its own trial's values and result
        config = record(continued, t.system_attrs["rnnlab_dir"])
        assert {k: config["config"][k] for k in t.params} == t.params
        assert config["best"]["val/loss"] == pytest.approx(t.value)
    # One search of 4 trials draws the very same values: continuing is the same as having asked for more.
    whole = tmp_path / "whole"
    assert search(whole, 4).returncode == 0
    assert [t.params for t in trials(whole)] == [t.params for t in done]


@pytest.mark.slow
def test_a_damaged_database_is_one_line_and_the_study_is_rebuilt_from_the_records(continued, tmp_path):
    sweep_dir = tmp_path / "sweep"
    shutil.copytree(continued, sweep_dir)
    db = sweep_dir / "optuna.db"
    original = [(t.number, t.state, t.value, t.params) for t in trials(sweep_dir)]
    for damage in (lambda: os.truncate(db, db.stat().st_size // 2), lambda: db.write_bytes(b"\0garbage" * 512)):
        damage()
        result = search(sweep_dir, 1)
        assert result.returncode == 1
        line = result.stderr.strip().splitlines()[-1]
        assert line.startswith(f"rnnlab: the study database {db} is damaged (")
        assert f"python -m rnnlab.sweeps.optuna_study rebuild {sweep_dir}" in line
        assert "Traceback" not in result.stderr
    # the way out the line names
    db.rename(sweep_dir / "optuna.db.damaged")
    rebuilt = subprocess.run(
        [sys.executable, "-m", "rnnlab.sweeps.optuna_study", "rebuild", str(sweep_dir)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rebuilt.returncode == 0 and "from 4 trial records" in rebuilt.stdout, rebuilt.stderr
    assert [(t.number, t.state, t.value, t.params) for t in trials(sweep_dir)] == original
    # and the search goes on from it: one new trial, in a new directory
    assert search(sweep_dir, 1).returncode == 0
    after = trials(sweep_dir)
    assert len(after) == 5 and after[-1].params not in [t.params for t in after[:-1]]
    assert (sweep_dir / "trial-0004" / "metrics.json").exists()


@pytest.mark.slow
def test_a_trial_interrupted_with_its_search_is_resumed_by_the_next_run(tmp_path):
    killed = search(tmp_path, 2, env={EXIT_AT_STEP: "3"})
    assert killed.returncode == KILLED
    (running,) = trials(tmp_path)
    assert running.state == optuna.trial.TrialState.RUNNING
    assert not (tmp_path / "trial-0000" / "metrics.json").exists()

    again = search(tmp_path, 1)
    assert again.returncode == 0, again.stderr[-3000:]
    failed, retried = trials(tmp_path)
    assert failed.state == optuna.trial.TrialState.FAIL and retried.state == optuna.trial.TrialState.COMPLETE
    assert retried.params == failed.params and retried.system_attrs["failed_trial"] == 0
    # resumed in its own directory from its last checkpoint (step 2), not started afresh elsewhere
    assert sorted(p.name for p in tmp_path.glob("trial-*")) == ["trial-0000"]
    resumed = record(tmp_path, "trial-0000")
    assert resumed["status"] == "completed" and resumed["timing"]["resumed_from_step"] == 2
    assert resumed["best"]["val/loss"] == pytest.approx(retried.value)


@pytest.mark.slow
def test_two_processes_joining_one_study_share_no_trial_and_no_directory(tmp_path):
    first, second = (search(tmp_path, 2, wait=False) for _ in range(2))
    outputs = [p.communicate(timeout=600) for p in (first, second)]
    owners = {}
    for t in trials(tmp_path):
        owners.setdefault(t.system_attrs["rnnlab_owner"], []).append(t)
    done = [t for t in trials(tmp_path) if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 4 and len(owners) == 2 and all(len(ts) == 2 for ts in owners.values())
    assert len({t.system_attrs["rnnlab_dir"] for t in done}) == 4
    assert len({tuple(sorted(t.params.items())) for t in done}) == 4
    for t in done:  # one process's events in each directory, and its own values in its record
        events = list((tmp_path / t.system_attrs["rnnlab_dir"]).glob("events.out.tfevents.*"))
        assert {e.name.split(".")[-2] for e in events} == {t.system_attrs["rnnlab_owner"].split()[1]}  # NAME.HOST.PID.N
        assert record(tmp_path, t.system_attrs["rnnlab_dir"])["timing"]["resumed_from_step"] is None
    for proc, (_, err) in zip((first, second), outputs):
        # The first to end may see the other's trial still running (no metrics.json yet): the sweep summary calls
        # it INCOMPLETE (rnnlab.sweeps.job_statuses reads directories, not the study) -- nothing else may be wrong.
        assert proc.returncode in (0, 1), err.decode()[-3000:]
        bad = [
            line for line in err.decode().splitlines() if line.strip().startswith(("FAILED", "INCOMPLETE", "CORRUPT"))
        ]
        assert all(line.strip().startswith("INCOMPLETE") for line in bad), bad


def study_of(space: dict, seed: int = 0):
    """A ContinuingStudy over `space` and an in-memory study, without Hydra."""
    sweeper = ContinuingStudy(None, "minimize", None, "s", 1, 1, 1.0, None, None, OmegaConf.create(space))
    sweeper.config = OmegaConf.create(
        {"hydra": {"sweeper": {"sampler": {"_target_": "optuna.samplers.TPESampler", "seed": seed}}}}
    )
    from hydra_plugins.hydra_optuna_sweeper._impl import create_params_from_overrides

    distributions, fixed = create_params_from_overrides([f"{k}={v}" for k, v in space.items()])
    return sweeper, optuna.create_study(), distributions, fixed


def test_a_drawn_configuration_equal_to_a_stored_one_is_drawn_again_until_none_is_left():
    sweeper, study, distributions, fixed = study_of({"x": "choice(1, 2, 3)"})
    seen = []
    for _ in range(3):
        trial, overrides = sweeper._configure_one(study.ask(), distributions, fixed)
        seen.append(trial.params["x"])
        study.tell(trial, 1.0)
        assert overrides[-1] == f"hydra.sweep.subdir=trial-{trial.number:04d}"
    assert sorted(seen) == [1, 2, 3]
    redrawn = [t for t in study.trials if "rnnlab_duplicate_of" in t.system_attrs]
    assert all(t.state == optuna.trial.TrialState.FAIL for t in redrawn)
    with pytest.raises(RuntimeError, match="no configuration left to try"):
        sweeper._configure_one(study.ask(), distributions, fixed)


def test_each_trial_is_seeded_by_its_number_so_processes_draw_apart_and_a_fresh_study_repeats():
    def draws(asks: int) -> list[float]:
        sweeper, study, distributions, fixed = study_of({"lr": "interval(0.0001, 0.1)"})
        out = []
        for _ in range(asks):
            trial, _ = sweeper._configure_one(study.ask(), distributions, fixed)
            out.append(trial.params["lr"])
        return out

    once, again = draws(3), draws(3)
    assert once == again and len(set(once)) == 3


def test_a_trial_owner_is_gone_only_if_it_was_a_dead_process_of_this_machine():
    import socket

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    assert _gone(f"{host} {dead.pid}")
    assert not _gone(f"{host} {os.getpid()}") and not _gone(f"{host} 1")
    assert not _gone(f"another-{host} {dead.pid}") and not _gone(None)
