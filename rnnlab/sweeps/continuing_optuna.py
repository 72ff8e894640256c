"""Optuna's Hydra sweeper (hydra-optuna-sweeper 1.3), made to continue a study rather than repeat it.

The plugin as shipped builds its sampler once from the config (`TPESampler(seed=0)`), so every search process
draws the same sequence: a re-run's "new" trials were trials 0 and 1 again, and two processes joining one study
sampled the same configurations into the same directories. It also never looks at trials a killed process left
RUNNING. This subclass changes four things and keeps the rest (search space, batches, failures, results file):

- each trial's sampler is seeded by (the configured seed, the trial's number): numbers are unique in a study, so
  a re-run or a second process draws new values, and a fresh study still repeats itself exactly;
- a configuration equal to one the study already holds (finished, running or queued) is not run: that trial is
  marked failed (system attribute `rnnlab_duplicate_of`) and another is asked for;
- each trial runs in its own directory `trial-NNNN` (its number), which two processes cannot share; its values
  are in its record and the study;
- a trial left RUNNING by a process that is gone (its heartbeat stale, or its owner a dead process of this
  machine) is failed and enqueued again with its values, in its own directory: the next run resumes it from its
  checkpoint. A damaged study database is one line (rnnlab.sweeps.optuna_study).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import warnings
from typing import Any

import optuna
from hydra.utils import instantiate
from hydra_plugins.hydra_optuna_sweeper._impl import OptunaSweeperImpl
from optuna.trial import TrialState

from rnnlab.sweeps.optuna_study import HEARTBEAT_S, DamagedStudy, damaged, is_damage, open_storage

log = logging.getLogger(__name__)

OWNER = "rnnlab_owner"  # "host pid" of the process that runs the trial
DIRECTORY = "rnnlab_dir"  # the trial's job directory, relative to the sweep directory (kept by its retries)
SEED_STRIDE = 1_000_003  # a prime: (seed, number) pairs map to distinct seeds for any realistic study
MAX_REDRAWS = 100


def owner() -> str:
    return f"{socket.gethostname()} {os.getpid()}"


def _gone(trial_owner: str | None) -> bool:
    """Whether `trial_owner` was a process of this machine that no longer exists."""
    host, _, pid = (trial_owner or "").partition(" ")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class ContinuingStudy(OptunaSweeperImpl):
    def setup(self, *, hydra_context, task_function, config) -> None:
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        self.launcher = _Heartbeats(self.launcher, self)  # type: ignore[assignment]  # a Launcher in all but name
        self._batch: list[optuna.trial.Trial] = []

    def sweep(self, arguments: list[str]) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        url = str(self.storage)
        try:
            self.storage = open_storage(url)
            study = optuna.create_study(
                study_name=self.study_name,
                storage=self.storage,
                directions=self._get_directions(),
                load_if_exists=True,
            )
            self._release_interrupted(study)
            return super().sweep(arguments)
        except SQLAlchemyError as error:
            if not is_damage(error):
                raise
            line = str(damaged(url, error))
        except DamagedStudy as error:
            line = str(error)
        print(line, file=sys.stderr)
        sys.exit(1)

    def _release_interrupted(self, study: optuna.Study) -> None:
        """Fail the trials whose process is gone and enqueue their values again (RetryFailedTrialCallback)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)  # heartbeats older than the grace period
            storage, retry = study._storage, study._storage.get_failed_trial_callback()
            assert retry is not None  # the study is opened with RetryFailedTrialCallback (open_study)
            for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                if _gone(trial.system_attrs.get(OWNER)) and storage.set_trial_state(trial._trial_id, TrialState.FAIL):
                    retry(study, storage.get_trial(trial._trial_id))
                    log.info(f"Trial {trial.number} was interrupted: enqueued again")

    def _configure_trials(self, trials, search_space_distributions, fixed_params):
        overrides = []
        for i in range(len(trials)):
            trials[i], trial_overrides = self._configure_one(trials[i], search_space_distributions, fixed_params)
            overrides.append(trial_overrides)
        self._batch = list(trials)
        return overrides

    def _configure_one(self, trial, search_space_distributions, fixed_params) -> tuple[Any, tuple[str, ...]]:
        for _ in range(MAX_REDRAWS):
            self._reseed(trial)
            (trial_overrides,) = super()._configure_trials([trial], search_space_distributions, fixed_params)
            duplicate = None if "failed_trial" in trial.system_attrs else self._duplicate_of(trial)
            if duplicate is None:
                break
            trial.set_system_attr("rnnlab_duplicate_of", duplicate)
            trial.study.tell(trial, state=TrialState.FAIL)
            log.info(f"Trial {trial.number} drew the values of trial {duplicate}: drawn again")
            trial = trial.study.ask()
        else:
            raise RuntimeError(f"no configuration left to try: {MAX_REDRAWS} draws repeated earlier trials")
        directory = trial.system_attrs.get(DIRECTORY) or f"trial-{trial.number:04d}"
        trial.set_system_attr(DIRECTORY, directory)
        trial.set_system_attr(OWNER, owner())
        trial.study._storage.record_heartbeat(trial._trial_id)
        return trial, (*trial_overrides, f"hydra.sweep.subdir={directory}")

    def _reseed(self, trial) -> None:
        """A sampler seeded by (the configured seed, this trial's number), unique within the study."""
        assert self.config is not None  # setup()
        sampler_cfg = self.config.hydra.sweeper.sampler
        seed = sampler_cfg.get("seed") if "_target_" in sampler_cfg else None
        if seed is not None:
            trial.study.sampler = instantiate(sampler_cfg, seed=(seed * SEED_STRIDE + trial.number) % 2**32)

    @staticmethod
    def _duplicate_of(trial) -> int | None:
        """The number of a finished, running or queued trial with these very values, if any."""
        states = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
        for other in trial.study.get_trials(deepcopy=False, states=states):
            if other.number != trial.number and other.params == trial.params:
                return other.number
        return None


class _Heartbeats:
    """The launcher, with the running batch's trials' heartbeats recorded while it runs them."""

    def __init__(self, launcher, sweeper: ContinuingStudy) -> None:
        self.launcher, self.sweeper = launcher, sweeper

    def launch(self, job_overrides, initial_job_idx):
        stop = threading.Event()
        trials = list(self.sweeper._batch)

        def beat() -> None:
            while not stop.wait(HEARTBEAT_S):
                for trial in trials:
                    try:
                        trial.study._storage.record_heartbeat(trial._trial_id)
                    except Exception:  # noqa: BLE001 (a busy database: the next beat tries again)
                        log.debug("heartbeat not recorded", exc_info=True)

        thread = threading.Thread(target=beat, name="rnnlab-heartbeat", daemon=True)
        thread.start()
        try:
            return self.launcher.launch(job_overrides, initial_job_idx=initial_job_idx)
        finally:
            stop.set()
            thread.join()
