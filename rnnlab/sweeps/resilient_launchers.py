"""Hydra's basic and joblib launchers, made so that no job's fault ends the sweep.

Hydra's own launchers stop the sweep at the first job whose setup raises (its directory cannot be made: a file in
the way, a name over 255 characters) and, with joblib, at the first worker killed (out of memory, say: joblib's
TerminatedWorkerError loses every job in flight and the rest of the sweep). Here:

- a job whose setup raises is recorded in the sweep (rnnlab.record.unlaunched), listed as failed by the summary,
  and the next job runs;
- when a joblib worker dies, the jobs that had not returned run again, one worker each, so a job that dies again
  is the culprit alone: it stays without metrics.json and the summary lists it as killed;
- a joblib worker whose sweep process is gone (killed) ends itself instead of running on as an orphan;
- a joblib worker whose job was interrupted (SIGTERM, SIGINT: rnnlab.train exits 143 / 130) dies as a killed one
  does, so the sweep survives it the same way (Hydra would re-raise the SystemExit in the sweep process);
- a sweep whose every finished job was run with another configuration (a config file edited since) is refused up
  front in one line, exit 2, nothing run (rnnlab.record.identity); a sweep with some changed jobs runs the others.

The classes Hydra registers are thin subclasses in `hydra_plugins.rnnlab_launchers` (Hydra loads launchers only from that package).
"""

import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_launcher import BasicLauncher
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job, setup_globals
from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher
from omegaconf import OmegaConf, open_dict

from rnnlab.record.identity import describe, differences, resolved
from rnnlab.record.run_record import read_record
from rnnlab.record.unlaunched import job_name, update_unlaunched

log = logging.getLogger(__name__)
ATTEMPTS = 2  # a job whose worker died runs once more, alone; dying again, it is recorded as killed


def _not_started(overrides: Sequence[str], why: str) -> JobReturn:
    """The return of a job that could not start: completed with no value, as rnnlab.train returns for a failure
    (Hydra's sweepers re-raise a failed job's exception, which would end the sweep)."""
    print(f"rnnlab sweep: job {job_name(list(overrides))} {why}", file=sys.stderr, flush=True)
    return JobReturn(overrides=list(overrides), status=JobStatus.COMPLETED, _return_value=None)


def _dir_name(launcher, overrides: Sequence[str]) -> str:
    """The job's directory under the sweep (its overrides as Hydra names it), or its overrides joined."""
    try:
        config = launcher.hydra_context.config_loader.load_sweep_config(launcher.config, list(overrides))
        return str(OmegaConf.select(config, "hydra.sweep.subdir", throw_on_missing=True))
    except Exception:
        return job_name(list(overrides))


def _why(error: BaseException) -> str:
    return f"could not start: {type(error).__name__}: {error}".splitlines()[0]


def _prepare(launcher) -> Path:
    """What Hydra's launchers do before their first job: globals, logging, the sweep directory (returned)."""
    setup_globals()
    assert launcher.hydra_context is not None and launcher.config is not None and launcher.task_function is not None
    configure_log(launcher.config.hydra.hydra_logging, launcher.config.hydra.verbose)
    sweep_dir = Path(str(launcher.config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    return sweep_dir


def refuse_changed_sweep(launcher, job_overrides: Sequence[Sequence[str]], sweep_dir: Path) -> None:
    """Exit 2 with one line if every finished job of the sweep holds a run of another configuration than now."""
    changed, finished = [], 0
    for overrides in job_overrides:
        try:
            config = launcher.hydra_context.config_loader.load_sweep_config(launcher.config, list(overrides))
            job_dir = Path(str(config.hydra.sweep.dir)) / str(OmegaConf.select(config, "hydra.sweep.subdir"))
            record = read_record(job_dir)
        except Exception:  # no directory, a corrupt record...: the job's own check answers
            continue
        if record is None or not record.finished:
            continue
        finished += 1
        changes = differences(record.config, resolved(config))
        if not changes:
            return  # a finished job of this configuration: the sweep is this one, and each job is checked alone
        changed.append(changes)
    if finished:
        common = [change for change in changed[0] if all(change in other for other in changed)]
        print(
            f"rnnlab sweep {sweep_dir}: all {finished} finished jobs were run with another configuration "
            f"({describe(common or changed[0])}; recorded -> now): nothing was run; run the sweep in a new "
            "directory (hydra.sweep.dir=...)",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(2)


class ResilientBasicLauncher(BasicLauncher):
    """Hydra's basic launcher (one job after another, in-process); a job whose setup raises does not end the sweep."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        assert self.config is not None and self.hydra_context is not None and self.task_function is not None  # setup()
        sweep_dir = _prepare(self)
        refuse_changed_sweep(self, job_overrides, sweep_dir)
        log.info(f"Launching {len(job_overrides)} jobs locally")
        runs, failed, started = [], {}, []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            try:
                sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
                with open_dict(sweep_config):
                    sweep_config.hydra.job.id = idx
                    sweep_config.hydra.job.num = idx
                runs.append(
                    run_job(
                        hydra_context=self.hydra_context,
                        task_function=self.task_function,
                        config=sweep_config,
                        job_dir_key="hydra.sweep.dir",
                        job_subdir_key="hydra.sweep.subdir",
                    )
                )
                started.append(_dir_name(self, overrides))
            except Exception as error:
                failed[_dir_name(self, overrides)] = _why(error)
                runs.append(_not_started(overrides, _why(error)))
            configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        update_unlaunched(sweep_dir, failed, started)
        return runs


def _end_with_parent(parent: int) -> None:
    """In a joblib worker: exit once the sweep process that started it is gone (a killed sweep leaves no orphan)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="rnnlab-end-with-parent", daemon=True).start()


_watching = False


def execute_job_safely(parent: int, *args: Any) -> tuple[JobReturn | None, str | None]:
    """joblib's execute_job in a worker: (its return, None), or (None, why) if the job's setup raised."""
    global _watching
    if not _watching and os.getpid() != parent:  # n_jobs=1: joblib runs the job in the sweep's own process
        _end_with_parent(parent)
        _watching = True
    from hydra_plugins.hydra_joblib_launcher._core import execute_job

    try:
        return execute_job(*args), None
    except Exception as error:
        return None, _why(error)
    except SystemExit as stop:
        if os.getpid() != parent and isinstance(stop.code, int) and stop.code > 128:  # interrupted by a signal
            os._exit(stop.code)  # as a killed worker: the sweep reruns its jobs, which resume
        raise


class ResilientJoblibLauncher(JoblibLauncher):
    """Hydra's joblib launcher (jobs in parallel worker processes); neither a setup error nor a killed worker ends
    the sweep."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from hydra.core.singleton import Singleton
        from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg
        from joblib import Parallel, delayed
        from joblib.externals.loky.process_executor import TerminatedWorkerError

        sweep_dir = _prepare(self)
        refuse_changed_sweep(self, job_overrides, sweep_dir)
        joblib_cfg = dict(self.joblib)
        joblib_cfg["backend"] = "loky"  # as Hydra's: the threading backend is incompatible with Hydra
        process_joblib_cfg(joblib_cfg)
        singleton_state = Singleton.get_state()
        log.info(f"Joblib.Parallel({joblib_cfg}) is launching {len(job_overrides)} jobs")

        def batch(indices: list[int], cfg: dict) -> list[tuple[JobReturn | None, str | None]]:
            return Parallel(**cfg)(
                delayed(execute_job_safely)(
                    os.getpid(),
                    initial_job_idx + i,
                    job_overrides[i],
                    self.hydra_context,
                    self.config,
                    self.task_function,
                    singleton_state,
                )
                for i in indices
            )

        outcomes: dict[int, tuple[JobReturn | None, str | None]] = {}
        attempts = dict.fromkeys(range(len(job_overrides)), 0)
        pending = list(range(len(job_overrides)))
        alone = False  # after a worker died: one job per worker pool, so a death takes only its own job
        while pending:
            groups = [[i] for i in pending] if alone else [pending]
            for group in groups:
                for i in group:
                    attempts[i] += 1
                try:
                    # alone: still in a worker process (joblib runs n_jobs=1 in the sweep's own process)
                    outcomes.update(zip(group, batch(group, {**joblib_cfg, "n_jobs": 2} if alone else joblib_cfg)))
                except TerminatedWorkerError as error:
                    print(
                        f"rnnlab sweep: a worker died ({str(error).splitlines()[0][:160]}); the jobs it took "
                        "down run again, one at a time",
                        file=sys.stderr,
                        flush=True,
                    )
            pending = [i for i in pending if i not in outcomes and attempts[i] < ATTEMPTS]
            alone = True

        runs, failed, started = [], {}, []
        for i, overrides in enumerate(job_overrides):
            name = _dir_name(self, overrides)
            ret, why = outcomes.get(i, (None, None))
            if ret is not None:
                runs.append(ret)
                started.append(name)
            elif why is not None:
                failed[name] = why
                runs.append(_not_started(overrides, why))
            else:  # killed twice: its directory (without metrics.json) shows it as killed in the summary
                started.append(name)
                runs.append(JobReturn(overrides=list(overrides), status=JobStatus.COMPLETED, _return_value=None))
        update_unlaunched(sweep_dir, failed, started)
        return runs
